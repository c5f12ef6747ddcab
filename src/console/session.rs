//! Sessions and CSRF tokens of the console, signed with one key (HMAC-SHA256), kept in cookies:
//! nothing to store server-side, so any Lambda instance reads any session.
//!
//! - The session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` and the `__Host-` prefix over
//!   HTTPS) holds the operator id, their roles, how they signed in, a random session id and the
//!   expiry. A token sign-in also keeps the token's SHA-256, so revoking the token (or changing
//!   its roles) takes effect on the next request.
//! - Every form carries a CSRF token: an HMAC of the session id, or before sign-in of a random
//!   value in its own cookie (double submit, so a sign-in form cannot be forged either).

use super::super::http::operator_auth::Role;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// How long a session lasts: a long shift and then some; then the operator signs in again.
pub const SESSION_HOURS: i64 = 12;
/// The session key must be at least this long.
pub const MIN_KEY_BYTES: usize = 32;

/// The key that signs sessions, CSRF tokens and the sign-in's state.
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    pub fn new(key: impl Into<Vec<u8>>) -> Result<Self, String> {
        let key = key.into();
        if key.len() < MIN_KEY_BYTES {
            return Err(format!("the console's session key needs at least {MIN_KEY_BYTES} bytes"));
        }
        Ok(Self(key))
    }

    /// A fresh random key (for a process that keeps no key: sessions end with it).
    pub fn random() -> Self {
        Self(random_bytes(48))
    }

    fn mac(&self, purpose: &str, data: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"|");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// `<payload>.<signature>`, both base64url.
    pub fn seal<T: Serialize>(&self, purpose: &str, value: &T) -> String {
        let payload = B64.encode(serde_json::to_vec(value).unwrap_or_default());
        let sig = B64.encode(self.mac(purpose, payload.as_bytes()));
        format!("{payload}.{sig}")
    }

    /// The value [`Self::seal`] sealed for `purpose`; `None` for anything forged or damaged.
    pub fn open<T: for<'de> Deserialize<'de>>(&self, purpose: &str, sealed: &str) -> Option<T> {
        let (payload, sig) = sealed.split_once('.')?;
        let sig = B64.decode(sig).ok()?;
        let expected = self.mac(purpose, payload.as_bytes());
        if !bool::from(expected.ct_eq(&sig)) {
            return None;
        }
        serde_json::from_slice(&B64.decode(payload).ok()?).ok()
    }

    /// The CSRF token of a session (or of a pre-session value).
    pub fn csrf_token(&self, sid: &str) -> String {
        B64.encode(&self.mac("csrf", sid.as_bytes())[..24])
    }

    pub fn csrf_ok(&self, sid: &str, token: &str) -> bool {
        let expected = self.csrf_token(sid);
        !token.is_empty() && bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
    }
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        out.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    out.truncate(n);
    out
}

/// A random value for a URL or a cookie (base64url).
pub fn random_text(bytes: usize) -> String {
    B64.encode(random_bytes(bytes))
}

/// How the operator signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Via {
    /// A local operator token; its SHA-256 is checked against the token file on every request.
    Token { token_sha256: String },
    /// The organisation's OpenID Connect provider; roles as its ID token gave them.
    Oidc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Random; the CSRF tokens are bound to it.
    pub sid: String,
    pub operator: String,
    pub roles: Vec<Role>,
    #[serde(flatten)]
    pub via: Via,
    /// Unix seconds.
    pub expires: i64,
}

impl Session {
    pub fn new(operator: String, roles: Vec<Role>, via: Via, now: i64) -> Self {
        Self { sid: random_text(18), operator, roles, via, expires: now + SESSION_HOURS * 3600 }
    }
}

/// What a sign-in with OpenID Connect keeps between the redirect and the callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcPending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// Where to go once signed in (a path of the console).
    pub next: String,
    pub expires: i64,
}

/// Cookie names and attributes for plain HTTP (local) or HTTPS.
#[derive(Debug, Clone, Copy)]
pub struct Cookies {
    pub secure: bool,
}

pub const SESSION_PURPOSE: &str = "session";
pub const OIDC_PURPOSE: &str = "oidc";

impl Cookies {
    pub fn session_name(self) -> &'static str {
        if self.secure { "__Host-sportello_session" } else { "sportello_session" }
    }

    pub fn pre_name(self) -> &'static str {
        if self.secure { "__Host-sportello_pre" } else { "sportello_pre" }
    }

    pub fn oidc_name(self) -> &'static str {
        if self.secure { "__Host-sportello_oidc" } else { "sportello_oidc" }
    }

    pub fn lang_name(self) -> &'static str {
        "sportello_lang"
    }

    /// A `Set-Cookie` value. `same_site` is `Strict` but for the sign-in's state, which must
    /// come back with the identity provider's (cross-site) redirect.
    pub fn set(self, name: &str, value: &str, max_age: i64, same_site: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}")
    }

    pub fn clear(self, name: &str) -> String {
        self.set(name, "", 0, "Strict")
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() < 4096)
}

/// PKCE (RFC 7636): a verifier and its S256 challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    use sha2::Digest;
    B64.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_purpose() {
        let key = SessionKey::new(vec![7u8; 32]).unwrap();
        let s = Session::new("op-1".into(), vec![Role::Operator], Via::Oidc, 1_800_000_000);
        let sealed = key.seal(SESSION_PURPOSE, &s);
        assert_eq!(key.open::<Session>(SESSION_PURPOSE, &sealed), Some(s.clone()));
        assert_eq!(key.open::<Session>(OIDC_PURPOSE, &sealed), None, "another purpose");
        let other = SessionKey::new(vec![8u8; 32]).unwrap();
        assert_eq!(other.open::<Session>(SESSION_PURPOSE, &sealed), None, "another key");
        // A payload changed by hand (a role added) no longer matches its signature.
        let (_, sig) = sealed.split_once('.').unwrap();
        let mut forged = s.clone();
        forged.roles.push(Role::Supervisor);
        let payload = B64.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(key.open::<Session>(SESSION_PURPOSE, &format!("{payload}.{sig}")), None);
        assert_eq!(key.open::<Session>(SESSION_PURPOSE, "garbage"), None);
        assert!(SessionKey::new(vec![1u8; 31]).is_err());
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let key = SessionKey::new(vec![7u8; 32]).unwrap();
        let t = key.csrf_token("sid-1");
        assert!(key.csrf_ok("sid-1", &t));
        assert!(!key.csrf_ok("sid-2", &t));
        assert!(!key.csrf_ok("sid-1", ""));
    }

    #[test]
    fn pkce_matches_the_rfc_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn cookies_over_https_are_secure_and_host_only() {
        let c = Cookies { secure: true }.set("__Host-sportello_session", "v", 60, "Strict");
        assert_eq!(c, "__Host-sportello_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure");
        let c = Cookies { secure: false }.set("sportello_session", "v", 60, "Strict");
        assert!(!c.contains("Secure") && c.contains("HttpOnly") && c.contains("SameSite=Strict"));
    }
}
