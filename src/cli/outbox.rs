//! `sportello outbox`: the mail the local server sent (acknowledgements, answers, escalations to
//! e-mail targets, reminders), which locally goes to the database's outbox instead of SES. `list`
//! shows one line per message, newest last; `show` prints one as its recipient reads it, or
//! `--raw` as the `.eml` file it would have been.

use crate::adapters::embedded::{Db, OutboxEntry, OutboxMailer};
use mail_parser::{Address, Message, MessageParser, MimeHeaders};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub enum OutboxAction {
    /// The latest `limit` messages, those about ticket `ticket` only when given.
    List { data: PathBuf, ticket: Option<String>, limit: usize },
    /// Message `id` (the number `list` shows); `raw`: the MIME message as it is.
    Show { data: PathBuf, id: i64, raw: bool },
}

/// Runs an outbox command; returns what it prints (bytes: `--raw` prints the message as it is)
/// and its exit status.
pub fn run(action: OutboxAction) -> (Vec<u8>, u8) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return (format!("{e}\n").into_bytes(), 1),
    };
    runtime.block_on(async {
        let data = match &action {
            OutboxAction::List { data, .. } | OutboxAction::Show { data, .. } => data.clone(),
        };
        let outbox = match open(&data) {
            Ok(o) => o,
            Err(e) => return (format!("{e}\n").into_bytes(), 1),
        };
        let sent = match outbox.sent(10_000).await {
            Ok(s) => s,
            Err(e) => return (format!("cannot read the outbox: {e}\n").into_bytes(), 1),
        };
        match action {
            OutboxAction::List { ticket, limit, .. } => {
                let chosen: Vec<&OutboxEntry> = sent
                    .iter()
                    .filter(|m| ticket.as_deref().is_none_or(|t| m.ticket_reference.as_deref() == Some(t)))
                    .collect();
                let shown = &chosen[chosen.len().saturating_sub(limit)..];
                (list(shown, chosen.len(), ticket.as_deref()).into_bytes(), 0)
            }
            OutboxAction::Show { id, raw, .. } => match sent.iter().find(|m| m.id == id) {
                Some(m) if raw => (m.raw.clone(), 0),
                Some(m) => (show(m).into_bytes(), 0),
                None => {
                    let hint = sent.last().map_or_else(
                        || "the outbox is empty".to_string(),
                        |last| {
                            format!("the outbox holds messages 1 to {}; `sportello outbox list` shows them", last.id)
                        },
                    );
                    (format!("no message {id} in the outbox: {hint}\n").into_bytes(), 1)
                }
            },
        }
    })
}

fn open(data: &Path) -> Result<OutboxMailer, String> {
    let path = data.join("sportello.db");
    if !path.exists() {
        return Err(format!(
            "no database at `{}`: start the server (`sportello serve`) on this data folder first, or name another with --data",
            path.display()
        ));
    }
    let db = Db::open(&path).map_err(|e| format!("cannot open `{}`: {e}", path.display()))?;
    Ok(OutboxMailer::new(db))
}

fn sent_at(m: &OutboxEntry) -> String {
    jiff::Timestamp::from_millisecond(m.created_ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "?".into())
}

fn list(shown: &[&OutboxEntry], total: usize, ticket: Option<&str>) -> String {
    if shown.is_empty() {
        return match ticket {
            Some(t) => format!("no mail about {t} in the outbox\n"),
            None => "the outbox is empty: the server has sent no mail yet\n".into(),
        };
    }
    let rows: Vec<[String; 5]> = shown
        .iter()
        .map(|m| {
            let parsed = MessageParser::default().parse_headers(&m.raw);
            let subject = parsed.as_ref().and_then(|p| p.subject()).unwrap_or("(no subject)").to_string();
            [
                m.id.to_string(),
                sent_at(m),
                m.ticket_reference.clone().unwrap_or_else(|| "-".into()),
                m.recipients.join(", "),
                subject,
            ]
        })
        .collect();
    let header = ["#", "sent (UTC)", "ticket", "to", "subject"].map(String::from);
    let mut widths = [0; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let _ = writeln!(
            out,
            "{:>w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
    if total > shown.len() {
        let _ = writeln!(out, "({} older not shown; --limit shows more)", total - shown.len());
    }
    let _ = writeln!(out, "`sportello outbox show <#>` prints one message.");
    out
}

fn addresses(a: Option<&Address>) -> String {
    let Some(a) = a else { return String::new() };
    a.iter()
        .map(|addr| match (addr.name(), addr.address()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (None, Some(e)) => e.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn show(m: &OutboxEntry) -> String {
    let mut out = String::new();
    let Some(parsed): Option<Message> = MessageParser::default().parse(&m.raw) else {
        return format!("message {} is not readable MIME; `--raw` prints it as stored\n", m.id);
    };
    let mut header = |name: &str, value: String| {
        if !value.is_empty() {
            let _ = writeln!(out, "{name:<13}{value}");
        }
    };
    header("From:", addresses(parsed.from()));
    header("To:", addresses(parsed.to()));
    header("Cc:", addresses(parsed.cc()));
    header("Subject:", parsed.subject().unwrap_or_default().to_string());
    header("Date:", sent_at(m));
    header("Message-ID:", format!("<{}>", m.message_id));
    header("In-Reply-To:", parsed.in_reply_to().as_text().map(|t| format!("<{t}>")).unwrap_or_default());
    header("Ticket:", m.ticket_reference.clone().unwrap_or_default());
    out.push('\n');
    let body = parsed.body_text(0).map(|b| b.into_owned()).unwrap_or_else(|| "(no text part)".into());
    out.push_str(body.trim_end());
    out.push('\n');
    let attached: Vec<String> =
        parsed.attachments().map(|a| a.attachment_name().unwrap_or("(unnamed)").to_string()).collect();
    if !attached.is_empty() {
        let _ = writeln!(out, "\nattachments: {}", attached.join(", "));
    }
    out
}
