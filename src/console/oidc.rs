//! Sign-in with the organisation's OpenID Connect provider (Cognito in the SAM template):
//! authorization code with PKCE (S256), `state` and `nonce`, a confidential or public client.
//!
//! The ID token comes straight from the token endpoint over the connection Sportello opened to
//! the issuer, so, as OpenID Connect Core 1.0 §3.1.3.7 allows, TLS stands for its signature;
//! its issuer, audience, expiry and nonce are checked. An `http://` issuer is accepted only on
//! a loopback address (a test provider).

use super::session::{OidcPending, pkce_challenge, random_text};
use crate::http::operator_auth::{AuthorizerClaims, OperatorIdentity};
use base64::Engine as _;
use serde::Deserialize;
use std::time::Duration;

/// How long the provider may take to answer Sportello (discovery, token).
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from the provider.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// How long a started sign-in may take at the provider.
pub const PENDING_SECONDS: i64 = 600;

#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: String,
    /// Where the provider signs the user out (`end_session_endpoint`, or Cognito's `/logout`
    /// URL with its parameters), if anywhere.
    pub logout_url: Option<String>,
}

impl OidcConfig {
    /// `SPORTELLO_OIDC_ISSUER`, `SPORTELLO_OIDC_CLIENT_ID`, optional `SPORTELLO_OIDC_CLIENT_SECRET`,
    /// `SPORTELLO_OIDC_SCOPES` (default `openid email profile`) and `SPORTELLO_OIDC_LOGOUT_URL`.
    /// `None` without an issuer.
    pub fn from_env() -> Result<Option<Self>, String> {
        Self::from_vars(&crate::settings::environment().lookup())
    }

    /// The same, read through `lookup` (a Lambda function's settings, secrets included).
    pub fn from_vars(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let var = |k: &str| lookup(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let Some(issuer) = var("SPORTELLO_OIDC_ISSUER") else {
            return Ok(None);
        };
        let client_id = var("SPORTELLO_OIDC_CLIENT_ID")
            .ok_or("SPORTELLO_OIDC_ISSUER is set but SPORTELLO_OIDC_CLIENT_ID is not: give the app client's id")?;
        let config = Self {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id,
            client_secret: var("SPORTELLO_OIDC_CLIENT_SECRET"),
            scopes: var("SPORTELLO_OIDC_SCOPES").unwrap_or_else(|| "openid email profile".into()),
            logout_url: var("SPORTELLO_OIDC_LOGOUT_URL"),
        };
        check_url(&config.issuer)?;
        Ok(Some(config))
    }
}

/// `https://`, or `http://` on a loopback host.
pub fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let host = url
        .strip_prefix("http://")
        .and_then(|r| r.split(['/', '?', '#']).next())
        .map(|a| a.rsplit_once(':').map_or(a, |(h, _)| h))
        .unwrap_or_default();
    if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        Ok(())
    } else {
        Err(format!("the OpenID provider's URL `{url}` must be https:// (http:// only on a loopback address)"))
    }
}

/// The provider's endpoints, from its discovery document.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

pub struct Oidc {
    pub config: OidcConfig,
    discovery: tokio::sync::OnceCell<Discovery>,
    client: super::http_client::HttpClient,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Self {
        Self { config, discovery: tokio::sync::OnceCell::new(), client: super::http_client::HttpClient::new() }
    }

    /// The discovery document, fetched once and kept.
    pub async fn discovery(&self) -> Result<&Discovery, String> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
                let (status, body) = self.client.get(&url, TIMEOUT, MAX_ANSWER_BYTES).await?;
                if status != 200 {
                    return Err(format!("discovery at {url} answered {status}"));
                }
                let d: Discovery =
                    serde_json::from_slice(&body).map_err(|e| format!("discovery at {url} is not valid: {e}"))?;
                if d.issuer.trim_end_matches('/') != self.config.issuer {
                    return Err(format!("discovery names issuer `{}`, not `{}`", d.issuer, self.config.issuer));
                }
                check_url(&d.authorization_endpoint)?;
                check_url(&d.token_endpoint)?;
                Ok(d)
            })
            .await
    }

    /// Starts a sign-in: the provider's URL to send the browser to, and what to keep until
    /// the callback.
    pub async fn start(&self, redirect_uri: &str, next: &str, now: i64) -> Result<(String, OidcPending), String> {
        let d = self.discovery().await?;
        let pending = OidcPending {
            state: random_text(24),
            nonce: random_text(24),
            verifier: random_text(48),
            next: next.to_string(),
            expires: now + PENDING_SECONDS,
        };
        let query = form(&[
            ("response_type", "code"),
            ("client_id", &self.config.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", &self.config.scopes),
            ("state", &pending.state),
            ("nonce", &pending.nonce),
            ("code_challenge", &pkce_challenge(&pending.verifier)),
            ("code_challenge_method", "S256"),
        ]);
        let sep = if d.authorization_endpoint.contains('?') { '&' } else { '?' };
        Ok((format!("{}{sep}{query}", d.authorization_endpoint), pending))
    }

    /// Finishes a sign-in: exchanges the code (with the PKCE verifier) and checks the ID token.
    pub async fn finish(
        &self,
        pending: &OidcPending,
        code: &str,
        redirect_uri: &str,
        now: i64,
    ) -> Result<OperatorIdentity, String> {
        let d = self.discovery().await?;
        let fields = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", self.config.client_id.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ];
        let basic = self.config.client_secret.as_ref().map(|secret| {
            let pair = format!("{}:{}", urlencode(&self.config.client_id), urlencode(secret));
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
        });
        let (status, body) = self
            .client
            .post_form(&d.token_endpoint, &form(&fields), basic.as_deref(), TIMEOUT, MAX_ANSWER_BYTES)
            .await?;
        if status != 200 {
            return Err(format!("the token endpoint answered {status}"));
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| format!("the token endpoint's answer has no ID token: {e}"))?;
        let claims = id_token_claims(&answer.id_token)?;
        self.check_claims(&claims, &pending.nonce, now)?;
        AuthorizerClaims(claims).identity().map_err(|p| p.detail)
    }

    fn check_claims(&self, claims: &serde_json::Value, nonce: &str, now: i64) -> Result<(), String> {
        let text = |k: &str| claims.get(k).and_then(|v| v.as_str());
        if text("iss").map(|i| i.trim_end_matches('/')) != Some(self.config.issuer.as_str()) {
            return Err("the ID token comes from another issuer".into());
        }
        let audience_ok = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => a == &self.config.client_id,
            Some(serde_json::Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(&self.config.client_id)),
            _ => false,
        };
        if !audience_ok {
            return Err("the ID token is not for this client".into());
        }
        let exp = claims.get("exp").and_then(|v| v.as_i64()).unwrap_or(0);
        if exp + 60 < now {
            return Err("the ID token has expired".into());
        }
        if text("nonce") != Some(nonce) {
            return Err("the ID token's nonce does not match this sign-in".into());
        }
        Ok(())
    }

    /// Where to send the browser to end the provider's session too, if anywhere.
    pub async fn logout_url(&self, after: &str) -> Option<String> {
        if let Some(url) = &self.config.logout_url {
            return Some(url.clone());
        }
        let end = self.discovery().await.ok()?.end_session_endpoint.clone()?;
        let sep = if end.contains('?') { '&' } else { '?' };
        Some(format!(
            "{end}{sep}{}",
            form(&[("client_id", &self.config.client_id), ("post_logout_redirect_uri", after)])
        ))
    }
}

/// The claims of a JWT, without checking its signature (see the module's note).
pub fn id_token_claims(jwt: &str) -> Result<serde_json::Value, String> {
    let mut parts = jwt.split('.');
    let (Some(_), Some(payload), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("the ID token is not a JWT".into());
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the ID token's claims are not base64url".to_string())?;
    serde_json::from_slice(&bytes).map_err(|_| "the ID token's claims are not JSON".into())
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_issuers() {
        assert!(check_url("https://cognito-idp.eu-south-1.amazonaws.com/eu-south-1_abc").is_ok());
        assert!(check_url("http://127.0.0.1:9400").is_ok());
        assert!(check_url("http://localhost:9400/x").is_ok());
        assert!(check_url("http://idp.example.org").is_err());
        assert!(check_url("ftp://x").is_err());
    }

    #[test]
    fn claims_are_read_and_checked() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            serde_json::json!({"iss": "http://127.0.0.1:1", "aud": "console", "exp": 2_000_000_000, "nonce": "n1",
                "sub": "op-9", "cognito:groups": ["operator"]})
            .to_string(),
        );
        let claims = id_token_claims(&format!("e30.{payload}.sig")).unwrap();
        let oidc = Oidc::new(OidcConfig {
            issuer: "http://127.0.0.1:1".into(),
            client_id: "console".into(),
            client_secret: None,
            scopes: "openid".into(),
            logout_url: None,
        });
        assert!(oidc.check_claims(&claims, "n1", 1_800_000_000).is_ok());
        assert!(oidc.check_claims(&claims, "n2", 1_800_000_000).unwrap_err().contains("nonce"));
        assert!(oidc.check_claims(&claims, "n1", 2_100_000_000).unwrap_err().contains("expired"));
        assert!(id_token_claims("not-a-jwt").is_err());
        assert_eq!(form(&[("a b", "c&d=é")]), "a%20b=c%26d%3D%C3%A9");
    }
}
