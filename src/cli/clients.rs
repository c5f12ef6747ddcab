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
        /// How long the key works (`90d`); for ever when absent.
        expires_in: Option<String>,
    },
    List {
        keys: PathBuf,
    },
    Revoke {
        key_id: String,
        keys: PathBuf,
    },
    /// A new key for the same client; the old one works for `grace` more (`1h`), then stops.
    Rotate {
        key_id: String,
        keys: PathBuf,
        grace: Option<String>,
        expires_in: Option<String>,
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
        ClientsAction::Add { client, keys, rules, expires_in } => match expiry(expires_in.as_deref(), now) {
            Ok(expires_at) => add(&client, &keys, &rules, now, expires_at),
            Err(e) => (format!("{e}\n"), 2),
        },
        ClientsAction::Rotate { key_id, keys, grace, expires_in } => {
            rotate(&key_id, &keys, grace.as_deref(), expires_in.as_deref(), now)
        }
        ClientsAction::Webhook { client, url, file } => webhook(&client, &url, &file),
        ClientsAction::List { keys } => match KeyFile::read(&keys) {
            Err(e) => (format!("{e}\n"), 1),
            Ok(file) if file.keys.is_empty() => (format!("no API keys in {}\n", keys.display()), 0),
            Ok(file) => {
                let mut out = format!("{:<10} {:<16} {:<26} status\n", "key id", "client", "created");
                for k in &file.keys {
                    let status = match (k.revoked_at, k.expires_at) {
                        (Some(t), _) => format!("revoked {t}"),
                        (None, Some(t)) if t <= now => format!("expired {t}"),
                        (None, Some(t)) => format!("active until {t}"),
                        (None, None) => "active".to_string(),
                    };
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

fn expiry(expires_in: Option<&str>, now: Timestamp) -> Result<Option<Timestamp>, String> {
    let Some(text) = expires_in else { return Ok(None) };
    let d = crate::secrets::parse_duration(text).map_err(|e| format!("--expires-in: {e}"))?;
    now.checked_add(d).map(Some).map_err(|e| format!("--expires-in: {e}"))
}

fn rotate(key_id: &str, keys: &Path, grace: Option<&str>, expires_in: Option<&str>, now: Timestamp) -> (String, u8) {
    let grace = match grace.map(crate::secrets::parse_duration).transpose() {
        Ok(g) => g.unwrap_or(jiff::SignedDuration::ZERO),
        Err(e) => return (format!("--grace: {e}\n"), 2),
    };
    let expires_at = match expiry(expires_in, now) {
        Ok(e) => e,
        Err(e) => return (format!("{e}\n"), 2),
    };
    let mut file = match KeyFile::read(keys) {
        Ok(f) => f,
        Err(e) => return (format!("{e}\n"), 1),
    };
    let (stored, key) = match file.rotate(key_id, now, grace, expires_at) {
        Ok(k) => k,
        Err(e) => return (format!("{e}\n"), 2),
    };
    if let Err(e) = file.write(keys) {
        return (format!("{e}\n"), 1);
    }
    let old = if grace.is_zero() {
        format!("key {key_id} is revoked")
    } else {
        format!("key {key_id} keeps working until {}", now.checked_add(grace).unwrap_or(now))
    };
    (
        format!(
            "new key {} for client `{}` ({old}):\n\n  {key}\n\n\
             It is shown only now: give it to the client over a safe channel.\n",
            stored.id, stored.client
        ),
        0,
    )
}

fn add(client: &str, keys: &Path, rules: &Path, now: Timestamp, expires_at: Option<Timestamp>) -> (String, u8) {
    let rules = match Rules::load(rules) {
        Ok(r) => r,
        Err(errors) => {
            let text: String = errors.iter().map(|e| format!("{e}\n")).collect();
            return (format!("the rulebook {} has errors:\n{text}", rules.display()), 1);
        }
    };
    let clients = &rules.clients;
    // The telephony platform calls as the client named after its voice channel.
    let telephony: Vec<&str> = rules
        .channels
        .iter()
        .filter(|(_, c)| c.kind == crate::domain::ChannelKind::Voice)
        .map(|(id, _)| id.as_str())
        .collect();
    if !clients.contains_key(client) && !telephony.contains(&client) {
        let known = clients.keys().map(|k| k.as_str()).chain(telephony.iter().copied());
        let hint = did_you_mean(client, known).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
        let apps: Vec<&str> = clients.keys().map(|k| k.as_str()).collect();
        return (
            format!(
                "unknown client `{client}`{hint}; the rulebook's client apps: {}; telephony platforms: {}\n",
                apps.join(", "),
                telephony.join(", ")
            ),
            2,
        );
    }
    let mut file = match KeyFile::read(keys) {
        Ok(f) => f,
        Err(e) => return (format!("{e}\n"), 1),
    };
    let (stored, key) = file.add_until(client, now, expires_at);
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
