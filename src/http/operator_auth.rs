//! Who is calling the operator API, and what each role may do.
//!
//! - Locally, operators send `Authorization: Bearer <token>`. Tokens live in a JSON file
//!   (`SPORTELLO_OPERATORS`, default `data/operators.json`) as SHA-256 hashes only; the admin
//!   manages it with `sportello operators add|list|revoke`, which prints a new token once.
//! - On AWS, API Gateway's JWT authorizer has checked the token; the Lambda function hands its
//!   claims to the router as an [`AuthorizerClaims`] extension, and the roles are the
//!   `cognito:groups` claim (or a `roles` claim).
//!
//! [`MATRIX`] is the one table of which role may call which endpoint.

use super::Problem;
use crate::domain::{Actor, ActorRole};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    PrivacyOperator,
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Operator, Role::PrivacyOperator, Role::Supervisor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::PrivacyOperator => "privacy_operator",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    fn actor_role(self) -> ActorRole {
        match self {
            Role::Operator => ActorRole::Operator,
            Role::PrivacyOperator => ActorRole::PrivacyOperator,
            Role::Supervisor => ActorRole::Supervisor,
            Role::Admin => ActorRole::Admin,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operator API's endpoints, as the authorization matrix names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    WhoAmI,
    Queue,
    Ticket,
    Suggestions,
    TakeInCharge,
    Classify,
    Categorize,
    Note,
    CloseContact,
    Escalate,
    Resolve,
    EscalationPreview,
    Reassign,
    ErasurePreview,
    Erase,
    ReminderLookup,
    CheckIncidents,
    DeclareIncident,
    UpdateIncident,
    ResolveIncident,
    /// The reports and the dashboard.
    Reports,
    /// Run the sweep now (what a crash left undone), rather than at the next clock tick.
    Sweep,
}

use Role::*;

/// Which roles may call each endpoint. Privacy tickets additionally need [`PRIVACY_ROLE`].
/// Admins manage operators and the rulebook, not tickets.
pub const MATRIX: &[(Endpoint, &[Role])] = &[
    (Endpoint::WhoAmI, &[Operator, PrivacyOperator, Supervisor, Admin]),
    (Endpoint::Queue, &[Operator, PrivacyOperator, Supervisor]),
    (Endpoint::Ticket, &[Operator, PrivacyOperator, Supervisor]),
    (Endpoint::Suggestions, &[Operator, PrivacyOperator]),
    (Endpoint::TakeInCharge, &[Operator, PrivacyOperator]),
    (Endpoint::Classify, &[Operator, PrivacyOperator]),
    // An operator may move a ticket into a privacy category (it hands it to the privacy team).
    (Endpoint::Categorize, &[Operator, PrivacyOperator]),
    (Endpoint::Note, &[Operator, PrivacyOperator, Supervisor]),
    (Endpoint::CloseContact, &[Operator, PrivacyOperator]),
    (Endpoint::Escalate, &[Operator, PrivacyOperator]),
    (Endpoint::Resolve, &[Operator, PrivacyOperator]),
    (Endpoint::EscalationPreview, &[Operator, PrivacyOperator]),
    // Another operator's ticket changes hands only this way (privacy tickets: a supervisor who is
    // also on the privacy team).
    (Endpoint::Reassign, &[Supervisor]),
    // GDPR art. 17, by the privacy team only.
    (Endpoint::ErasurePreview, &[PrivacyOperator]),
    (Endpoint::Erase, &[PrivacyOperator]),
    (Endpoint::ReminderLookup, &[Operator, PrivacyOperator]),
    (Endpoint::CheckIncidents, &[Operator, PrivacyOperator]),
    (Endpoint::DeclareIncident, &[Supervisor, Admin]),
    (Endpoint::UpdateIncident, &[Supervisor, Admin]),
    (Endpoint::ResolveIncident, &[Supervisor, Admin]),
    // A privacy operator sees the privacy team's figures only (http/reports.rs).
    (Endpoint::Reports, &[Supervisor, Admin, PrivacyOperator]),
    (Endpoint::Sweep, &[Supervisor, Admin]),
];

/// Privacy tickets are seen and worked only by the privacy team.
pub const PRIVACY_ROLE: Role = PrivacyOperator;

pub fn allowed_roles(endpoint: Endpoint) -> &'static [Role] {
    MATRIX.iter().find(|(e, _)| *e == endpoint).map_or(&[], |(_, roles)| roles)
}

/// An authenticated caller of the operator API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorIdentity {
    /// An operator id (`op-017`), never a name or an e-mail address.
    pub id: String,
    pub roles: Vec<Role>,
}

impl OperatorIdentity {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The actor for an action on `endpoint`, or a 403 naming the roles that may call it.
    pub fn require(&self, endpoint: Endpoint) -> Result<Actor, Problem> {
        let allowed = allowed_roles(endpoint);
        match allowed.iter().find(|r| self.has(**r)) {
            Some(role) => Ok(Actor { id: self.id.clone(), role: role.actor_role() }),
            None => Err(forbidden(allowed)),
        }
    }

    /// Like [`require`](Self::require), for a privacy ticket: only the privacy role will do.
    pub fn require_privacy(&self, endpoint: Endpoint) -> Result<Actor, Problem> {
        self.require(endpoint)?;
        if !self.has(PRIVACY_ROLE) || !allowed_roles(endpoint).contains(&PRIVACY_ROLE) {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!("privacy tickets are for the privacy team: this needs the role `{PRIVACY_ROLE}`"),
            ));
        }
        Ok(Actor { id: self.id.clone(), role: ActorRole::PrivacyOperator })
    }
}

fn forbidden(allowed: &[Role]) -> Problem {
    let names: Vec<String> = allowed.iter().map(|r| format!("`{r}`")).collect();
    let detail = if names.is_empty() {
        "no role may call this endpoint".to_string()
    } else {
        format!("this needs one of the roles {}", names.join(", "))
    };
    Problem::new(StatusCode::FORBIDDEN, detail)
}

pub fn unauthorized(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, detail)
}

/// The claims of API Gateway's authorizer, set by the Lambda function on each request. Requests
/// from the network cannot set extensions, so the local server never sees one.
#[derive(Debug, Clone)]
pub struct AuthorizerClaims(pub serde_json::Value);

impl AuthorizerClaims {
    /// The identity the claims describe: `sub` (or the user name) and the roles among
    /// `cognito:groups` / `roles`. API Gateway HTTP APIs flatten arrays to `"[a b]"`; both forms
    /// are read.
    pub fn identity(&self) -> Result<OperatorIdentity, Problem> {
        let claim = |k: &str| self.0.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
        let id = claim("sub")
            .or_else(|| claim("cognito:username"))
            .or_else(|| claim("username"))
            .ok_or_else(|| unauthorized("the token has no subject"))?;
        let mut roles = Vec::new();
        for key in ["cognito:groups", "roles"] {
            let names: Vec<String> = match self.0.get(key) {
                Some(serde_json::Value::Array(items)) => {
                    items.iter().filter_map(|v| v.as_str()).map(str::to_string).collect()
                }
                Some(serde_json::Value::String(s)) => s
                    .trim_matches(|c| c == '[' || c == ']')
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            };
            for role in names.iter().filter_map(|n| Role::parse(n)) {
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
        }
        if roles.is_empty() {
            return Err(Problem::new(StatusCode::FORBIDDEN, "the token carries no operator role"));
        }
        Ok(OperatorIdentity { id: id.to_string(), roles })
    }
}

/// An expiry must lie ahead.
pub fn check_expiry(expires_at: Option<jiff::Timestamp>, now: jiff::Timestamp) -> Result<(), String> {
    match expires_at {
        Some(at) if at <= now => Err(format!("the expiry {at} is not in the future")),
        _ => Ok(()),
    }
}

/// One operator in the token file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorEntry {
    pub id: String,
    pub roles: Vec<Role>,
    /// SHA-256 of the token, hex. The token itself is shown once and never stored.
    pub token_sha256: String,
    pub created_at: jiff::Timestamp,
    /// After this the token no longer works (`operators rotate` gives a new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorFile {
    pub operators: Vec<OperatorEntry>,
}

/// Where the token file is: `SPORTELLO_OPERATORS`, or `data/operators.json`.
pub fn operators_path() -> PathBuf {
    crate::settings::environment().path("SPORTELLO_OPERATORS").unwrap_or_else(|| PathBuf::from("data/operators.json"))
}

pub fn hash_token(token: &str) -> String {
    crate::text::sha256_hex(token.as_bytes())
}

/// A fresh token: two v4 UUIDs from the OS's generator (244 random bits), hex.
pub fn new_token() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    format!("spo_{}{}", a.simple(), b.simple())
}

pub use crate::domain::event::check_operator_id;

impl OperatorFile {
    pub fn read(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes through a temporary file and a rename, so a server never reads half a file; the
    /// file is readable by its owner only.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())? + "\n";
        crate::secrets::write_private(path, text.as_bytes())
    }

    /// Adds an operator; returns the token to hand over (shown once).
    pub fn add(&mut self, id: &str, roles: Vec<Role>, now: jiff::Timestamp) -> Result<String, String> {
        self.add_until(id, roles, now, None)
    }

    /// Adds an operator whose token stops working at `expires_at`.
    pub fn add_until(
        &mut self,
        id: &str,
        roles: Vec<Role>,
        now: jiff::Timestamp,
        expires_at: Option<jiff::Timestamp>,
    ) -> Result<String, String> {
        check_operator_id(id)?;
        if roles.is_empty() {
            return Err("give at least one role".into());
        }
        if self.operators.iter().any(|o| o.id == id) {
            return Err(format!("operator `{id}` exists; `sportello operators rotate {id}` gives it a new token"));
        }
        check_expiry(expires_at, now)?;
        let token = new_token();
        self.operators.push(OperatorEntry {
            id: id.into(),
            roles,
            token_sha256: hash_token(&token),
            created_at: now,
            expires_at,
        });
        Ok(token)
    }

    /// A new token for operator `id` (the old one stops working at once), valid until
    /// `expires_at`.
    pub fn rotate(
        &mut self,
        id: &str,
        now: jiff::Timestamp,
        expires_at: Option<jiff::Timestamp>,
    ) -> Result<String, String> {
        check_expiry(expires_at, now)?;
        let entry = self.operators.iter_mut().find(|o| o.id == id).ok_or_else(|| {
            format!("no operator `{id}`; `sportello operators list` shows them, `operators add` creates one")
        })?;
        let token = new_token();
        entry.token_sha256 = hash_token(&token);
        entry.created_at = now;
        entry.expires_at = expires_at;
        Ok(token)
    }

    pub fn revoke(&mut self, id: &str) -> Result<(), String> {
        let before = self.operators.len();
        self.operators.retain(|o| o.id != id);
        if self.operators.len() == before { Err(format!("no operator `{id}`")) } else { Ok(()) }
    }

    /// The operator of a presented token. Every stored hash is compared, in constant time,
    /// whatever matches first: how long this takes says nothing about the token. An expired
    /// token is no token.
    fn find(&self, token: &str, now: jiff::Timestamp) -> Option<OperatorIdentity> {
        let hash = Sha256::digest(token.as_bytes());
        let mut found = None;
        for o in &self.operators {
            let Ok(stored) = hex::decode(&o.token_sha256) else { continue };
            let equal: bool = stored.as_slice().ct_eq(hash.as_slice()).into();
            if equal && o.expires_at.is_none_or(|at| at > now) {
                found = Some(OperatorIdentity { id: o.id.clone(), roles: o.roles.clone() });
            }
        }
        found
    }
}

/// The token file, re-read when it changes on disk (the admin's CLI writes it while the server
/// runs).
pub struct TokenFile {
    path: PathBuf,
    cache: Mutex<Option<(Option<SystemTime>, OperatorFile)>>,
}

impl TokenFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), cache: Mutex::new(None) }
    }

    /// The operator `id` whose token hashes to `token_sha256`, with the roles the file gives
    /// them now: how a console session, which keeps only the hash, sees a revoked token.
    pub fn verify_hash(&self, id: &str, token_sha256: &str) -> Result<Option<OperatorIdentity>, String> {
        self.with_file(|file| {
            file.operators
                .iter()
                .find(|o| o.id == id && o.token_sha256 == token_sha256)
                .map(|o| OperatorIdentity { id: o.id.clone(), roles: o.roles.clone() })
        })
    }

    fn with_file<T>(&self, f: impl FnOnce(&OperatorFile) -> Option<T>) -> Result<Option<T>, String> {
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = matches!(&*cache, Some((at, _)) if *at == modified && modified.is_some());
        if !fresh {
            *cache = Some((modified, OperatorFile::read(&self.path)?));
        }
        Ok(cache.as_ref().and_then(|(_, file)| f(file)))
    }

    pub fn verify(&self, token: &str) -> Result<Option<OperatorIdentity>, String> {
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = matches!(&*cache, Some((at, _)) if *at == modified && modified.is_some());
        if !fresh {
            *cache = Some((modified, OperatorFile::read(&self.path)?));
        }
        Ok(cache.as_ref().and_then(|(_, file)| file.find(token, jiff::Timestamp::now())))
    }
}

/// How the operator API authenticates its callers.
pub enum OperatorAuthenticator {
    /// Bearer tokens checked against the token file (local server).
    Tokens(TokenFile),
    /// API Gateway's authorizer claims (AWS Lambda).
    Claims,
}

impl OperatorAuthenticator {
    pub fn identify(&self, parts: &axum::http::request::Parts) -> Result<OperatorIdentity, Problem> {
        match self {
            OperatorAuthenticator::Claims => parts
                .extensions
                .get::<AuthorizerClaims>()
                .ok_or_else(|| unauthorized("no authorizer claims on the request"))?
                .identity(),
            OperatorAuthenticator::Tokens(file) => {
                let header = parts
                    .headers
                    .get(axum::http::header::AUTHORIZATION)
                    .ok_or_else(|| unauthorized("send `Authorization: Bearer <operator token>`").at("Authorization"))?;
                let token = header
                    .to_str()
                    .ok()
                    .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        unauthorized("the Authorization header is not `Bearer <token>`").at("Authorization")
                    })?;
                match file.verify(token) {
                    Ok(Some(identity)) => Ok(identity),
                    Ok(None) => Err(unauthorized("unknown or revoked operator token").at("Authorization")),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the operator token file");
                        Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "operator tokens cannot be read now"))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_keeps_hashes_and_finds_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ops.json");
        let mut file = OperatorFile::default();
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let token = file.add("op-1", vec![Operator], now).unwrap();
        assert!(file.add("op-1", vec![Operator], now).is_err());
        assert!(file.add("Mario Rossi", vec![Operator], now).is_err());
        file.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&token) && text.contains(&hash_token(&token)));
        let tokens = TokenFile::new(&path);
        assert_eq!(tokens.verify(&token).unwrap().unwrap().id, "op-1");
        assert_eq!(tokens.verify("spo_wrong").unwrap(), None);
    }

    #[test]
    fn claims_give_roles_in_either_form() {
        let c = AuthorizerClaims(serde_json::json!({"sub": "abc", "cognito:groups": "[operator privacy_operator]"}));
        assert_eq!(c.identity().unwrap().roles, [Operator, PrivacyOperator]);
        let c = AuthorizerClaims(serde_json::json!({"sub": "abc", "roles": ["supervisor", "unknown"]}));
        assert_eq!(c.identity().unwrap().roles, [Supervisor]);
        let c = AuthorizerClaims(serde_json::json!({"sub": "abc"}));
        assert_eq!(c.identity().unwrap_err().status, 403);
        assert_eq!(AuthorizerClaims(serde_json::json!({})).identity().unwrap_err().status, 401);
    }

    #[test]
    fn every_endpoint_is_in_the_matrix() {
        for e in [
            Endpoint::WhoAmI,
            Endpoint::Queue,
            Endpoint::Ticket,
            Endpoint::Suggestions,
            Endpoint::TakeInCharge,
            Endpoint::Classify,
            Endpoint::Categorize,
            Endpoint::Note,
            Endpoint::CloseContact,
            Endpoint::Escalate,
            Endpoint::Resolve,
        ] {
            assert!(!allowed_roles(e).is_empty(), "{e:?}");
        }
    }
}
