//! The `sportello notices` commands: the local reply queue, for a person or a script standing in
//! for an SQS target. `send` queues a notice message as it is (the running server records it, or
//! dead-letters it with the reason in its log); `dead-letters` shows what was refused.

use crate::adapters::embedded::{Db, LOCAL_REPLY_QUEUE, ReplyQueue};
use std::path::{Path, PathBuf};

pub enum NoticesAction {
    /// Queues the message in `file` (`-`: standard input).
    Send {
        file: PathBuf,
        data: PathBuf,
    },
    DeadLetters {
        data: PathBuf,
    },
}

fn queue(data: &Path) -> Result<ReplyQueue, String> {
    let path = data.join("sportello.db");
    let db = Db::open(&path).map_err(|e| format!("cannot open `{}`: {e}", path.display()))?;
    let name = std::env::var("SPORTELLO_REPLY_QUEUE").ok().filter(|v| !v.trim().is_empty());
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
            NoticesAction::Send { file, data } => {
                let raw = if file.as_os_str() == "-" {
                    let mut buf = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
                } else {
                    std::fs::read(&file)
                };
                let raw = match raw {
                    Ok(r) => r,
                    Err(e) => return (format!("cannot read `{}`: {e}\n", file.display()), 1),
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
