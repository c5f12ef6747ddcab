//! `sportello erase preview|run`: a privacy operator carries out an art. 17 erasure on the local
//! store, as the operator API does (`POST /operator/erasures/preview`, `POST /operator/erasures`):
//! first the preview, which lists the tickets (by reference, never the data) and prints the
//! confirmation; then the erasure with that confirmation, in the name of a privacy operator of
//! the token file.

use crate::app::AppBuilder;
use crate::domain::{Actor, ActorRole};
use crate::engine::{Engine, EngineError};
use crate::http::operator_auth::{OperatorFile, Role};
use crate::ports::RequesterKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How the requester is found: exactly one of these.
#[derive(Debug, Clone, Default)]
pub struct RequesterLookup {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub fiscal_code: Option<String>,
}

impl RequesterLookup {
    fn key(&self) -> Result<RequesterKey, String> {
        RequesterKey::one_of(self.email.clone(), self.phone.clone(), self.fiscal_code.clone()).map_err(|given| {
            if given == 0 {
                "find the requester by one of --email, --phone, --fiscal-code".into()
            } else {
                "one of --email, --phone, --fiscal-code at a time".into()
            }
        })
    }

    /// The flag to repeat in the command line printed after a preview, without the value (it is
    /// personal data: the operator has it).
    fn flag(&self) -> &'static str {
        match (&self.email, &self.phone) {
            (Some(_), _) => "--email <the same address>",
            (None, Some(_)) => "--phone <the same number>",
            _ => "--fiscal-code <the same code>",
        }
    }
}

pub enum EraseAction {
    Preview { found: RequesterLookup },
    Run { found: RequesterLookup, confirm: String, operator: String, operators: PathBuf },
}

fn engine(data: &Path, rules: &Path) -> Result<Engine, String> {
    let rules = crate::server::load_rules(rules)?;
    let db = crate::server::open_existing_db(data)?;
    Ok(AppBuilder::new(Arc::new(rules), crate::adapters::embedded::ports(&db)).engine())
}

/// The operator the erasure is recorded under: an operator of the token file with the privacy
/// role.
fn privacy_operator(operators: &Path, id: &str) -> Result<Actor, String> {
    let file = OperatorFile::read(operators)?;
    let entry = file
        .operators
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(|| format!("--as: no operator `{id}` in {}", operators.display()))?;
    if !entry.roles.contains(&Role::PrivacyOperator) {
        return Err(format!(
            "--as: operator `{id}` has not the role `privacy_operator`: erasures are the privacy team's"
        ));
    }
    Ok(Actor { id: id.to_string(), role: ActorRole::PrivacyOperator })
}

/// Runs an erase command on the store in `data`; returns what it prints and its exit status.
pub fn run(action: EraseAction, data: &Path, rules: &Path) -> (String, u8) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return (format!("{e}\n"), 1),
    };
    runtime.block_on(async {
        let engine = match engine(data, rules) {
            Ok(e) => e,
            Err(e) => return (format!("{e}\n"), 1),
        };
        match action {
            EraseAction::Preview { found } => {
                let key = match found.key() {
                    Ok(k) => k,
                    Err(e) => return (format!("{e}\n"), 2),
                };
                match engine.erasure_preview(&key).await {
                    Ok(p) => (preview_text(&p, &found), 0),
                    Err(e) => (format!("{e}\n"), 1),
                }
            }
            EraseAction::Run { found, confirm, operator, operators } => {
                let key = match found.key() {
                    Ok(k) => k,
                    Err(e) => return (format!("{e}\n"), 2),
                };
                let actor = match privacy_operator(&operators, &operator) {
                    Ok(a) => a,
                    Err(e) => return (format!("{e}\n"), 2),
                };
                match engine.erase_requester(&key, &actor, confirm.trim()).await {
                    Ok(done) => {
                        let copies: Vec<String> = done.copies.iter().map(|(k, n)| format!("{n} {k}")).collect();
                        (
                            format!(
                                "erased the requester's data on {} ticket(s): {}\nwith it: {}\nrecorded as `requester_erased` by {}\n",
                                done.tickets.len(),
                                done.tickets.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
                                copies.join(", "),
                                actor.id
                            ),
                            0,
                        )
                    }
                    Err(EngineError::Refused(why)) => (format!("not erased: {why}\n"), 1),
                    Err(e) => (format!("not erased: {e}\n"), 1),
                }
            }
        }
    })
}

fn preview_text(p: &crate::engine::ErasurePreview, found: &RequesterLookup) -> String {
    if p.tickets.is_empty() {
        return format!("no tickets of a requester with that {}: nothing to erase\n", p.matched_on);
    }
    let mut out = format!("An erasure by {} reaches {} ticket(s):\n", p.matched_on, p.tickets.len());
    for t in &p.tickets {
        out.push_str(&format!(
            "  {}  {:<6} {:<20} {:<3} {:<26} {}\n",
            t.reference,
            t.channel,
            t.category.as_deref().unwrap_or("-"),
            t.ticket_type.map_or("-", |ty| ty.code()),
            t.state.as_str(),
            t.created_at
        ));
    }
    let copies: Vec<String> = p.copies.iter().map(|(k, n)| format!("{n} {k}")).collect();
    out.push_str(&format!("and with them: {}\n", copies.join(", ")));
    match &p.hold {
        Some(hold) => out.push_str(&format!("\nOn hold, it cannot run now: {}\n", hold.reason)),
        None => out.push_str(&format!(
            "\nTo erase exactly this, run:\n  sportello erase run {} --as <privacy operator id> \\\n    --confirm {}\n",
            found.flag(),
            p.confirm
        )),
    }
    out
}
