//! What `sportello operators add|list|revoke` do: the admin manages the local operator token file
//! (hashes only; a new token is printed once). Kept in the library so tests can run it.

use crate::http::operator_auth::{OperatorFile, Role};
use std::path::Path;

pub enum OperatorsAction {
    Add { id: String, roles: Vec<String> },
    List,
    Revoke { id: String },
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
                out.push_str(&format!("{}\t{}\tsince {}\n", o.id, roles.join(","), o.created_at));
            }
            (out, 0)
        }
        OperatorsAction::Add { id, roles } => {
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
            let token = match file.add(&id, parsed, now) {
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
        let add =
            |id: &str, roles: &str| run(&path, OperatorsAction::Add { id: id.into(), roles: vec![roles.into()] }, now);
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
