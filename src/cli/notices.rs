//! The `sportello notices` commands: the local reply queue, for a person or a script standing in
//! for an SQS target. `pending` lists the escalations waiting for a notice, with the
//! `escalation_id` each notice must quote (a notice settles that escalation only, once); `send`
//! queues a notice message, from a file as it is (the running server records it, or dead-letters
//! it with the reason in its log) or composed from its fields; `dead-letters` shows what was
//! refused.

use crate::adapters::embedded::{Db, LOCAL_REPLY_QUEUE, ReplyQueue};
use crate::domain::TicketState;
use crate::ports::notice::{NOTICE_SCHEMA, NoticeMessage};
use std::path::{Path, PathBuf};

/// A notice written on the command line instead of in a file.
#[derive(Debug, Clone)]
pub struct Composed {
    pub reference: String,
    pub escalation_id: String,
    pub target: String,
    pub notice: String,
}

pub enum NoticesAction {
    /// Queues the message in `file` (`-`: standard input), or the one `composed` describes.
    Send {
        file: Option<PathBuf>,
        composed: Option<Composed>,
        data: PathBuf,
    },
    DeadLetters {
        data: PathBuf,
    },
    /// The escalations still waiting for their notice.
    Pending {
        data: PathBuf,
        rules: PathBuf,
    },
}

/// The message `composed` describes, checked as the engine will read it.
fn compose(c: &Composed) -> Result<Vec<u8>, String> {
    let value = serde_json::json!({
        "schema": NOTICE_SCHEMA,
        "escalation_id": c.escalation_id,
        "reference": c.reference,
        "target": c.target,
        "notice": c.notice,
    });
    let raw = value.to_string().into_bytes();
    NoticeMessage::parse(&raw).map_err(|e| format!("{}: {}", e.pointer, e.message))?;
    Ok(raw)
}

async fn pending(data: &Path, rules: &Path) -> Result<String, String> {
    let rules = crate::server::load_rules(rules)?;
    let path = data.join("sportello.db");
    let db = Db::open(&path).map_err(|e| format!("cannot open `{}`: {e}", path.display()))?;
    let store = crate::adapters::embedded::SqliteStore::new(db);
    let mut out = String::new();
    for team in rules.teams.keys().map(|t| t.as_str()) {
        let waiting = crate::ports::TicketStore::work_queue(&store, team, TicketState::AwaitingResolutionNotice, 1000)
            .await
            .map_err(|e| e.to_string())?;
        for t in waiting {
            for e in t.escalations.iter().filter(|e| e.notice_at.is_none()) {
                let due = e.due.map_or_else(|| "-".to_string(), |d| d.to_string());
                out.push_str(&format!(
                    "{}  {:<28} {:<38} sent {}  due {due}\n",
                    t.reference, e.target, e.escalation_id, e.sent_at
                ));
            }
        }
    }
    Ok(if out.is_empty() { "no escalation is waiting for a notice\n".into() } else { out })
}

fn queue(data: &Path) -> Result<ReplyQueue, String> {
    let path = data.join("sportello.db");
    let db = Db::open(&path).map_err(|e| format!("cannot open `{}`: {e}", path.display()))?;
    let name = crate::settings::environment().get("SPORTELLO_REPLY_QUEUE");
    Ok(ReplyQueue::new(db, name.unwrap_or_else(|| LOCAL_REPLY_QUEUE.into())))
}

/// Runs a notices command; returns what it prints and its exit status.
pub fn run(action: NoticesAction) -> (String, u8) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return (format!("{e}\n"), 1),
    };
    runtime.block_on(async {
        match action {
            NoticesAction::Pending { data, rules } => match pending(&data, &rules).await {
                Ok(out) => (out, 0),
                Err(e) => (format!("{e}\n"), 1),
            },
            NoticesAction::Send { file, composed, data } => {
                let raw = match (file, composed) {
                    (Some(file), None) => {
                        let read = if file.as_os_str() == "-" {
                            let mut buf = Vec::new();
                            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
                        } else {
                            std::fs::read(&file)
                        };
                        match read {
                            Ok(r) => r,
                            Err(e) => return (format!("cannot read `{}`: {e}\n", file.display()), 1),
                        }
                    }
                    (None, Some(c)) => match compose(&c) {
                        Ok(r) => r,
                        Err(e) => return (format!("the notice is not valid: {e}\n"), 2),
                    },
                    _ => {
                        return (
                            "give a message file (or - for standard input), or --reference, --escalation-id, \
                             --target and --notice\n"
                                .into(),
                            2,
                        );
                    }
                };
                let queue = match queue(&data) {
                    Ok(q) => q,
                    Err(e) => return (format!("{e}\n"), 1),
                };
                match queue.publish(&raw).await {
                    Ok(p) if p.duplicate => (format!("already queued as {}\n", p.message_id), 0),
                    Ok(p) => (format!("queued on {} as {}\n", queue.name(), p.message_id), 0),
                    Err(e) => (format!("{e}\n"), 1),
                }
            }
            NoticesAction::DeadLetters { data } => {
                let queue = match queue(&data) {
                    Ok(q) => q,
                    Err(e) => return (format!("{e}\n"), 1),
                };
                match queue.dead_letters(100).await {
                    Ok(dead) if dead.is_empty() => ("no refused notices\n".into(), 0),
                    Ok(dead) => {
                        let mut out = String::new();
                        for d in dead {
                            // The raw message is what the target sent: shown to the person asking.
                            let body = match serde_json::from_str::<serde_json::Value>(&d.raw_body) {
                                Ok(serde_json::Value::String(text)) => text,
                                _ => d.raw_body.clone(),
                            };
                            out.push_str(&format!("{} ({} attempts)\n  {body}\n", d.message_id, d.attempts));
                        }
                        (out, 0)
                    }
                    Err(e) => (format!("{e}\n"), 1),
                }
            }
        }
    })
}
