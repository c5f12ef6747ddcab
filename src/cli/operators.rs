//! What `sportello operators add|list|rotate|revoke` do: the admin manages the local operator
//! token file (hashes only; a new token is printed once). Kept in the library so tests can run it.

use crate::http::operator_auth::{OperatorFile, Role};
use std::path::Path;

pub enum OperatorsAction {
    /// `expires_in`: how long the token works (`90d`, `12h`), for ever when absent.
    Add {
        id: String,
        roles: Vec<String>,
        expires_in: Option<String>,
    },
    List,
    /// A new token for the operator; the old one stops at once.
    Rotate {
        id: String,
        expires_in: Option<String>,
    },
    Revoke {
        id: String,
    },
}

fn expiry(expires_in: Option<&str>, now: jiff::Timestamp) -> Result<Option<jiff::Timestamp>, String> {
    let Some(text) = expires_in else { return Ok(None) };
    let d = crate::secrets::parse_duration(text).map_err(|e| format!("--expires-in: {e}"))?;
    now.checked_add(d).map(Some).map_err(|e| format!("--expires-in: {e}"))
}

/// Runs the command against the token file at `path`; returns what it prints and its exit status.
pub fn run(path: &Path, action: OperatorsAction, now: jiff::Timestamp) -> (String, u8) {
    let mut file = match OperatorFile::read(path) {
        Ok(f) => f,
        Err(e) => return (format!("cannot read the operator file: {e}\n"), 1),
    };
    match action {
        OperatorsAction::List => {
            let mut out = format!("{} operator(s) in {}\n", file.operators.len(), path.display());
            for o in &file.operators {
                let roles: Vec<&str> = o.roles.iter().map(|r| r.as_str()).collect();
                let until = match o.expires_at {
                    Some(at) if at <= now => format!("\texpired {at}"),
                    Some(at) => format!("\tuntil {at}"),
                    None => String::new(),
                };
                out.push_str(&format!("{}\t{}\tsince {}{until}\n", o.id, roles.join(","), o.created_at));
            }
            (out, 0)
        }
        OperatorsAction::Rotate { id, expires_in } => {
            let expires_at = match expiry(expires_in.as_deref(), now) {
                Ok(e) => e,
                Err(e) => return (format!("{e}\n"), 2),
            };
            let token = match file.rotate(&id, now, expires_at) {
                Ok(t) => t,
                Err(e) => return (format!("{e}\n"), 2),
            };
            if let Err(e) = file.write(path) {
                return (format!("cannot write the operator file: {e}\n"), 1);
            }
            let until = expires_at.map_or_else(String::new, |at| format!(" (until {at})"));
            (
                format!(
                    "operator `{id}` has a new token{until}; the old one no longer works. Shown this once:\n{token}\n"
                ),
                0,
            )
        }
        OperatorsAction::Add { id, roles, expires_in } => {
            let mut parsed = Vec::new();
            for name in roles.iter().flat_map(|r| r.split(',')).map(str::trim).filter(|r| !r.is_empty()) {
                match Role::parse(name) {
                    Some(role) if !parsed.contains(&role) => parsed.push(role),
                    Some(_) => {}
                    None => {
                        let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                        return (format!("--role: unknown role `{name}`; roles: {}\n", known.join(", ")), 2);
                    }
                }
            }
            let expires_at = match expiry(expires_in.as_deref(), now) {
                Ok(e) => e,
                Err(e) => return (format!("{e}\n"), 2),
            };
            let token = match file.add_until(&id, parsed, now, expires_at) {
                Ok(t) => t,
                Err(e) => return (format!("{e}\n"), 2),
            };
            if let Err(e) = file.write(path) {
                return (format!("cannot write the operator file: {e}\n"), 1);
            }
            (format!("operator `{id}` added. Its token, shown this once (only its hash is kept):\n{token}\n"), 0)
        }
        OperatorsAction::Revoke { id } => {
            if let Err(e) = file.revoke(&id) {
                return (format!("{e}\n"), 2);
            }
            if let Err(e) = file.write(path) {
                return (format!("cannot write the operator file: {e}\n"), 1);
            }
            (format!("operator `{id}` revoked; its token no longer works\n"), 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_list_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/operators.json");
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let add = |id: &str, roles: &str| {
            run(&path, OperatorsAction::Add { id: id.into(), roles: vec![roles.into()], expires_in: None }, now)
        };
        let (out, code) = add("op-1", "operator,privacy_operator");
        assert_eq!(code, 0, "{out}");
        let token = out.lines().last().unwrap().to_string();
        assert!(token.starts_with("spo_") && token.len() == 68);
        assert!(!std::fs::read_to_string(&path).unwrap().contains(&token));
        assert_eq!(add("op-2", "boss").1, 2);
        let (out, _) = run(&path, OperatorsAction::List, now);
        assert!(out.contains("op-1\toperator,privacy_operator") && !out.contains(&token), "{out}");
        assert_eq!(run(&path, OperatorsAction::Revoke { id: "op-1".into() }, now).1, 0);
        assert_eq!(run(&path, OperatorsAction::Revoke { id: "op-1".into() }, now).1, 2);
    }
}
