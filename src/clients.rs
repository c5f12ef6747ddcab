//! The `sportello clients` commands: API keys of the ticket API's clients. A new key is printed
//! once; the file keeps only its SHA-256 hash.

use crate::http::auth::KeyFile;
use crate::rules::Rules;
use crate::rules::diagnostic::did_you_mean;
use jiff::Timestamp;
use std::path::{Path, PathBuf};

pub enum ClientsAction {
    Add {
        client: String,
        keys: PathBuf,
        rules: PathBuf,
    },
    List {
        keys: PathBuf,
    },
    Revoke {
        key_id: String,
        keys: PathBuf,
    },
    /// Registers (or replaces) a client's webhook in `file`; the new secret is printed once.
    Webhook {
        client: String,
        url: String,
        file: PathBuf,
    },
}

/// Runs a clients command; returns what it prints and its exit status.
pub fn run(action: ClientsAction, now: Timestamp) -> (String, u8) {
    match action {
        ClientsAction::Add { client, keys, rules } => add(&client, &keys, &rules, now),
        ClientsAction::Webhook { client, url, file } => webhook(&client, &url, &file),
        ClientsAction::List { keys } => match KeyFile::read(&keys) {
            Err(e) => (format!("{e}\n"), 1),
            Ok(file) if file.keys.is_empty() => (format!("no API keys in {}\n", keys.display()), 0),
            Ok(file) => {
                let mut out = format!("{:<10} {:<16} {:<26} status\n", "key id", "client", "created");
                for k in &file.keys {
                    let status = k.revoked_at.map_or("active".to_string(), |t| format!("revoked {t}"));
                    out.push_str(&format!("{:<10} {:<16} {:<26} {status}\n", k.id, k.client, k.created_at.to_string()));
                }
                (out, 0)
            }
        },
        ClientsAction::Revoke { key_id, keys } => {
            let mut file = match KeyFile::read(&keys) {
                Ok(f) => f,
                Err(e) => return (format!("{e}\n"), 1),
            };
            if !file.revoke(&key_id, now) {
                return (format!("no key `{key_id}` in {}; see `sportello clients list`\n", keys.display()), 1);
            }
            match file.write(&keys) {
                Ok(()) => (format!("revoked key {key_id}\n"), 0),
                Err(e) => (format!("{e}\n"), 1),
            }
        }
    }
}

fn add(client: &str, keys: &Path, rules: &Path, now: Timestamp) -> (String, u8) {
    let rules = match Rules::load(rules) {
        Ok(r) => r,
        Err(errors) => {
            let text: String = errors.iter().map(|e| format!("{e}\n")).collect();
            return (format!("the rulebook {} has errors:\n{text}", rules.display()), 1);
        }
    };
    let clients = &rules.clients;
    if !clients.contains_key(client) {
        let hint = did_you_mean(client, clients.keys().map(|k| k.as_str()))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        let known: Vec<&str> = clients.keys().map(|k| k.as_str()).collect();
        return (format!("unknown client `{client}`{hint}; the rulebook's clients: {}\n", known.join(", ")), 2);
    }
    let mut file = match KeyFile::read(keys) {
        Ok(f) => f,
        Err(e) => return (format!("{e}\n"), 1),
    };
    let (stored, key) = file.add(client, now);
    if let Err(e) = file.write(keys) {
        return (format!("{e}\n"), 1);
    }
    (
        format!(
            "new key {} for client `{client}` (stored hashed in {}):\n\n  {key}\n\n\
             It is shown only now: give it to the client over a safe channel.\n",
            stored.id,
            keys.display()
        ),
        0,
    )
}

fn webhook(client: &str, url: &str, file: &Path) -> (String, u8) {
    let mut hooks = match crate::engine::webhook::WebhookFile::read(file) {
        Ok(f) => f,
        Err(e) => return (format!("{e}\n"), 1),
    };
    let secret = match hooks.register(client, url) {
        Ok(s) => s,
        Err(e) => return (format!("webhook `{url}`: {e}\n"), 2),
    };
    if let Err(e) = hooks.write(file) {
        return (format!("{e}\n"), 1);
    }
    (
        format!(
            "webhook of client `{client}`: {url} (in {})\nsigning secret, shown only now:\n\n  {secret}\n\n\
             Each POST carries `Sportello-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>`.\n",
            file.display()
        ),
        0,
    )
}
