//! Who is calling the ticket API. Locally: API keys, stored as SHA-256 hashes in a JSON file
//! (`sportello clients add` prints a key once and keeps only its hash). On AWS: the identity API
//! Gateway already checked, read from the Lambda request context (a Lambda or JWT authorizer's
//! `client_id`, or the IAM principal of a SigV4-signed call).

use super::Problem;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use subtle::ConstantTimeEq;

/// Where API keys live unless `SPORTELLO_API_KEYS` says otherwise.
pub const DEFAULT_KEYS_FILE: &str = "data/api-keys.json";
/// Keys start with this, so a leaked one is recognisable (secret scanners, logs).
pub const KEY_PREFIX: &str = "spk_";

/// An authenticated API client: `client_id` is a key of the rulebook's `clients`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub client_id: String,
    /// How it was recognised, for the logs: `api-key:<key id>`, `authorizer`, `iam`.
    pub via: String,
}

/// One stored key: its hash, never the key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredKey {
    pub id: String,
    pub client: String,
    /// Hex SHA-256 of the whole key.
    pub sha256: String,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    /// After this the key no longer works: set when it is created with an expiry, or when it is
    /// rotated (the end of its grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    pub keys: Vec<StoredKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path} is not an API key file (line {line}, column {column}): {message}")]
    Parse { path: String, line: usize, column: usize, message: String },
    #[error("cannot write {path}: {error}")]
    Write { path: String, error: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

pub use crate::text::sha256_hex;

impl KeyFile {
    /// Reads the file; a missing file is an empty one (no client can call yet).
    pub fn read(path: &Path) -> Result<Self, KeyFileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(error) => return Err(KeyFileError::Read { path: path.display().to_string(), error }),
        };
        serde_json::from_str(&text).map_err(|e| KeyFileError::Parse {
            path: path.display().to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// Writes through a temporary file and a rename, so readers never see half a file; the
    /// file is readable by its owner only.
    pub fn write(&self, path: &Path) -> Result<(), KeyFileError> {
        let text = serde_json::to_string_pretty(self).expect("key files serialise") + "\n";
        crate::secrets::write_private(path, text.as_bytes()).map_err(KeyFileError::Invalid)
    }

    /// Adds a key for `client`; returns the key, which is shown once and stored only hashed.
    pub fn add(&mut self, client: &str, now: Timestamp) -> (StoredKey, String) {
        self.add_until(client, now, None)
    }

    /// Adds a key for `client` that stops working at `expires_at`.
    pub fn add_until(&mut self, client: &str, now: Timestamp, expires_at: Option<Timestamp>) -> (StoredKey, String) {
        let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        // Two v4 UUIDs: 244 random bits from the OS generator.
        let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let key = format!("{KEY_PREFIX}{id}_{secret}");
        let stored = StoredKey {
            id,
            client: client.to_string(),
            sha256: sha256_hex(key.as_bytes()),
            created_at: now,
            revoked_at: None,
            expires_at,
        };
        self.keys.push(stored.clone());
        (stored, key)
    }

    /// A new key for the client of key `id`; the old one keeps working for `grace` (so the client
    /// can switch without an outage), then stops. Returns the new key, shown once.
    pub fn rotate(
        &mut self,
        id: &str,
        now: Timestamp,
        grace: jiff::SignedDuration,
        expires_at: Option<Timestamp>,
    ) -> Result<(StoredKey, String), KeyFileError> {
        let old = self
            .keys
            .iter_mut()
            .find(|k| k.id == id && k.revoked_at.is_none())
            .ok_or_else(|| KeyFileError::Invalid(format!("no active key `{id}`; see `sportello clients list`")))?;
        let end = now.checked_add(grace).map_err(|e| KeyFileError::Invalid(format!("grace period: {e}")))?;
        if grace.is_zero() {
            old.revoked_at = Some(now);
        } else {
            old.expires_at = Some(old.expires_at.map_or(end, |at| at.min(end)));
        }
        let client = old.client.clone();
        Ok(self.add_until(&client, now, expires_at))
    }

    /// Revokes a key by id; false when there is no such key.
    pub fn revoke(&mut self, id: &str, now: Timestamp) -> bool {
        let mut found = false;
        for k in self.keys.iter_mut().filter(|k| k.id == id) {
            k.revoked_at.get_or_insert(now);
            found = true;
        }
        found
    }

    /// The client of a presented key. Every live hash is compared, in constant time, whatever
    /// matches first: how long this takes says nothing about the key. Revoked and expired keys
    /// are no keys.
    pub fn client_of(&self, presented: &str) -> Option<&StoredKey> {
        let hash = Sha256::digest(presented.as_bytes());
        let now = Timestamp::now();
        let mut found = None;
        for k in &self.keys {
            let Some(stored) = decode_hex(&k.sha256) else { continue };
            let equal: bool = stored.as_slice().ct_eq(hash.as_slice()).into();
            if equal && k.revoked_at.is_none() && k.expires_at.is_none_or(|at| at > now) {
                found = Some(k);
            }
        }
        found
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The key file, read again when it changes on disk (a revoked key stops working without a
/// restart).
pub struct ApiKeys {
    path: PathBuf,
    cache: Mutex<(Option<SystemTime>, Arc<KeyFile>)>,
}

impl ApiKeys {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), cache: Mutex::new((None, Arc::new(KeyFile::default()))) }
    }

    /// `SPORTELLO_API_KEYS`, or `data/api-keys.json`.
    pub fn path_from_env() -> PathBuf {
        crate::settings::environment().path("SPORTELLO_API_KEYS").unwrap_or_else(|| PathBuf::from(DEFAULT_KEYS_FILE))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn current(&self) -> Result<Arc<KeyFile>, KeyFileError> {
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if modified.is_none() || cache.0 != modified {
            cache.1 = Arc::new(KeyFile::read(&self.path)?);
            cache.0 = modified;
        }
        Ok(cache.1.clone())
    }
}

/// An IAM principal a client calls as. HTTP APIs have no resource policies, so a caller from
/// another account assumes a role of this account; its calls then carry the assumed-role ARN
/// (`arn:aws:sts::<account>:assumed-role/<role>/<session>`), which names the role without its
/// path and with a session name the caller chooses. A role therefore matches by account and
/// name, whatever the session; a user matches by its exact ARN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum IamPrincipal {
    Role { account: String, name: String },
    User(String),
}

impl IamPrincipal {
    /// A configured principal: a role ARN (`arn:aws:iam::<account>:role/<path/><name>`, or an
    /// assumed-role ARN, whose session is ignored) or a user ARN.
    pub fn configured(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, _partition, service, _region, account, resource] = parts[..] else {
            return Err(format!("`{arn}` is not an IAM ARN"));
        };
        let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if prefix != "arn" || !valid_account {
            return Err(format!("`{arn}` is not an IAM ARN with a 12-digit account"));
        }
        match (service, resource.split_once('/')) {
            ("iam", Some(("role", path_and_name))) => {
                let name = path_and_name.rsplit('/').next().unwrap_or_default();
                Ok(Self::Role { account: account.into(), name: name.into() })
            }
            ("sts", Some(("assumed-role", role_and_session))) => {
                let name = role_and_session.split('/').next().unwrap_or_default();
                Ok(Self::Role { account: account.into(), name: name.into() })
            }
            ("iam", Some(("user", _))) => Ok(Self::User(arn.into())),
            _ => Err(format!("`{arn}` names neither an IAM role nor an IAM user (a whole account is not a client)")),
        }
    }

    /// The principal behind a caller's ARN as API Gateway's IAM authorizer reports it.
    pub fn caller(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (_, _, service, _, account, resource) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        match (service, resource.split_once('/')) {
            ("sts", Some(("assumed-role", role_and_session))) => {
                let (name, _session) = role_and_session.split_once('/')?;
                Some(Self::Role { account: account.into(), name: name.into() })
            }
            ("iam", Some(("user", _))) => Some(Self::User(arn.into())),
            _ => None,
        }
    }
}

/// `SPORTELLO_IAM_CLIENTS`: `arn=client,arn=client`, read into principal → client id.
pub fn parse_iam_clients(text: &str) -> Result<BTreeMap<IamPrincipal, String>, String> {
    let mut clients = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((arn, client)) = pair.rsplit_once('=') else {
            return Err(format!("SPORTELLO_IAM_CLIENTS: `{pair}` is not `<IAM ARN>=<client id>`"));
        };
        let (arn, client) = (arn.trim(), client.trim());
        if client.is_empty() {
            return Err(format!("SPORTELLO_IAM_CLIENTS: `{arn}` has no client id"));
        }
        let principal = IamPrincipal::configured(arn).map_err(|e| format!("SPORTELLO_IAM_CLIENTS: {e}"))?;
        if let Some(other) = clients.insert(principal, client.to_string())
            && other != client
        {
            return Err(format!("SPORTELLO_IAM_CLIENTS: `{arn}` is given to both `{other}` and `{client}`"));
        }
    }
    Ok(clients)
}

/// How the API recognises its clients; one per router, shared by every request.
pub struct ClientAuthenticator {
    pub keys: Option<ApiKeys>,
    /// IAM principal → client id, for SigV4-signed calls (`SPORTELLO_IAM_CLIENTS`).
    pub iam: BTreeMap<IamPrincipal, String>,
}

/// `routes` served to clients: each request's client authenticated by `auth` (see
/// [`ClientIdentity`]), bodies up to [`super::MAX_BODY_BYTES`], errors as problem+json.
pub fn client_routes(
    routes: axum::Router<super::AppState>,
    auth: impl Into<Arc<ClientAuthenticator>>,
) -> axum::Router<super::AppState> {
    routes
        .layer(axum::Extension(auth.into()))
        .layer(axum::extract::DefaultBodyLimit::max(super::MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(super::errors::problem_json))
}

impl ClientAuthenticator {
    pub fn api_keys(path: impl Into<PathBuf>) -> Self {
        Self { keys: Some(ApiKeys::new(path)), iam: BTreeMap::new() }
    }

    /// API keys from `SPORTELLO_API_KEYS` (or the default file) and IAM principals from
    /// `SPORTELLO_IAM_CLIENTS` (a malformed entry is logged and left out).
    pub fn from_env() -> Self {
        let iam = parse_iam_clients(&crate::settings::environment().get("SPORTELLO_IAM_CLIENTS").unwrap_or_default())
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "IAM clients not read");
                BTreeMap::new()
            });
        Self { keys: Some(ApiKeys::new(ApiKeys::path_from_env())), iam }
    }

    /// For a Lambda function: the identity API Gateway checked, clients of IAM principals from
    /// `SPORTELLO_IAM_CLIENTS`; a malformed entry fails the init, with what is wrong.
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let iam = parse_iam_clients(&var("SPORTELLO_IAM_CLIENTS").unwrap_or_default())?;
        Ok(Self { keys: None, iam })
    }

    fn by_key(&self, parts: &Parts) -> Result<ClientIdentity, Unauthorized> {
        let presented = presented_key(parts)?;
        let Some(keys) = &self.keys else {
            return Err(Unauthorized::new("this endpoint does not accept API keys"));
        };
        let file = keys.current().map_err(|e| {
            tracing::error!(error = %e, "API key file unreadable");
            Unauthorized::new("API keys cannot be checked right now")
        })?;
        match file.client_of(presented) {
            Some(k) => Ok(ClientIdentity { client_id: k.client.clone(), via: format!("api-key:{}", k.id) }),
            None => Err(Unauthorized::new("the API key is not valid (unknown or revoked)").invalid()),
        }
    }

    #[cfg(feature = "aws")]
    fn by_context(&self, context: &lambda_http::request::RequestContext) -> Result<ClientIdentity, Unauthorized> {
        use lambda_http::request::RequestContext;
        let RequestContext::ApiGatewayV2(ctx) = context else {
            return Err(Unauthorized::new("requests must come through the HTTP API"));
        };
        let Some(authorizer) = &ctx.authorizer else {
            return Err(Unauthorized::new("the request carries no authorizer identity"));
        };
        if let Some(client) = authorizer.fields.get("client_id").and_then(|v| v.as_str()) {
            return Ok(ClientIdentity { client_id: client.to_string(), via: "authorizer".into() });
        }
        if let Some(client) = authorizer.jwt.as_ref().and_then(|j| j.claims.get("client_id")) {
            return Ok(ClientIdentity { client_id: client.clone(), via: "jwt".into() });
        }
        if let Some(arn) = authorizer.iam.as_ref().and_then(|i| i.user_arn.as_deref()) {
            return match IamPrincipal::caller(arn).and_then(|p| self.iam.get(&p)) {
                Some(client) => Ok(ClientIdentity { client_id: client.clone(), via: "iam".into() }),
                None => {
                    // The ARN names a role or user of PagoPA's accounts, no person: safe to log.
                    tracing::info!(caller = arn, "IAM caller is no known client");
                    Err(Unauthorized::new("this IAM principal is not a known client").invalid())
                }
            };
        }
        Err(Unauthorized::new("the authorizer named no client"))
    }

    /// Recognises the caller of a request.
    pub fn identify(&self, parts: &Parts) -> Result<ClientIdentity, Unauthorized> {
        #[cfg(feature = "aws")]
        if let Some(context) = parts.extensions.get::<lambda_http::request::RequestContext>() {
            return self.by_context(context);
        }
        self.by_key(parts)
    }
}

/// The key of `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
fn presented_key(parts: &Parts) -> Result<&str, Unauthorized> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| Unauthorized::new("the Authorization header is not text").invalid())?;
        let Some((scheme, key)) = text.split_once(' ') else {
            return Err(Unauthorized::new("write `Authorization: Bearer <API key>`").invalid());
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Unauthorized::new(format!("the `{scheme}` scheme is not accepted; use Bearer")).invalid());
        }
        return Ok(key.trim());
    }
    if let Some(value) = parts.headers.get("x-api-key") {
        return value
            .to_str()
            .map(str::trim)
            .map_err(|_| Unauthorized::new("the X-Api-Key header is not text").invalid());
    }
    Err(Unauthorized::new("no API key: send `Authorization: Bearer <API key>`"))
}

/// 401 with a `WWW-Authenticate` challenge (RFC 6750).
#[derive(Debug)]
pub struct Unauthorized {
    detail: String,
    invalid: bool,
}

impl Unauthorized {
    fn new(detail: impl Into<String>) -> Self {
        Self { detail: detail.into(), invalid: false }
    }
    fn invalid(mut self) -> Self {
        self.invalid = true;
        self
    }
}

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        let challenge = if self.invalid {
            r#"Bearer realm="sportello", error="invalid_token""#
        } else {
            r#"Bearer realm="sportello""#
        };
        let mut response = Problem::new(StatusCode::UNAUTHORIZED, self.detail).at("Authorization").into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIdentity {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(auth) = parts.extensions.get::<Arc<ClientAuthenticator>>().cloned() else {
            tracing::error!("no authenticator installed on this router");
            return Err(
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "authentication is not configured").into_response()
            );
        };
        let who = auth.identify(parts).map_err(IntoResponse::into_response)?;
        // Every line of the request names its client (the request span declares the fields).
        let span = tracing::Span::current();
        span.record("client", who.client_id.as_str());
        span.record("via", who.via.as_str());
        Ok(who)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assumed_role_matches_its_role_whatever_the_session_and_path() {
        let clients = parse_iam_clients(
            "arn:aws:iam::111122223333:role/sportello/clients/SportelloIo=io, \
             arn:aws:iam::111122223333:user/ci-checkout=checkout",
        )
        .unwrap();
        let of = |arn: &str| IamPrincipal::caller(arn).and_then(|p| clients.get(&p)).map(String::as_str);
        assert_eq!(of("arn:aws:sts::111122223333:assumed-role/SportelloIo/io-backend-7f3a"), Some("io"));
        assert_eq!(of("arn:aws:sts::111122223333:assumed-role/SportelloIo/another-session"), Some("io"));
        assert_eq!(of("arn:aws:iam::111122223333:user/ci-checkout"), Some("checkout"));
        // Same role name in another account, another role, a user of the same name as a role.
        assert_eq!(of("arn:aws:sts::444455556666:assumed-role/SportelloIo/io-backend"), None);
        assert_eq!(of("arn:aws:sts::111122223333:assumed-role/SportelloIoAdmin/x"), None);
        assert_eq!(of("arn:aws:iam::111122223333:user/SportelloIo"), None);
        assert_eq!(of("arn:aws:sts::111122223333:assumed-role/SportelloIo"), None, "no session: not an STS ARN");
        assert_eq!(of("not an arn"), None);
    }

    #[test]
    fn bad_iam_client_entries_say_what_is_wrong() {
        let err = |text: &str| parse_iam_clients(text).unwrap_err();
        assert_eq!(
            err("arn:aws:iam::111122223333:role/A"),
            "SPORTELLO_IAM_CLIENTS: `arn:aws:iam::111122223333:role/A` is not `<IAM ARN>=<client id>`"
        );
        assert!(err("arn:aws:iam::111122223333:root=io").contains("a whole account is not a client"));
        assert!(err("arn:aws:iam::1234:role/A=io").contains("12-digit account"));
        assert!(err("arn:aws:iam::111122223333:role/A=").contains("has no client id"));
        let twice = err("arn:aws:iam::111122223333:role/x/A=io,arn:aws:iam::111122223333:role/A=checkout");
        assert!(twice.contains("given to both `io` and `checkout`"), "{twice}");
        assert!(parse_iam_clients("").unwrap().is_empty());
    }
}
