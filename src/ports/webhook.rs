//! Signed webhooks to API clients: the client registers a URL and gets a secret; Sportello POSTs
//! JSON events to the URL, signed like Stripe's so the client can check them:
//!
//! ```text
//! Sportello-Signature: t=<unix seconds>,v1=<hex of HMAC-SHA256(secret, "<t>.<raw body>")>
//! ```

use super::StoreResult;
use async_trait::async_trait;
use hmac::{KeyInit, Mac};

/// Checks a webhook URL when it is registered: `http(s)://host[:port][/path]`, no credentials.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("a webhook URL starts with https:// (or http:// for local development)")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a webhook URL needs a host, and no user, spaces or control characters".into());
    }
    Ok(())
}

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Sportello-Signature";

/// One POST to a client's webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub url: String,
    /// The `Sportello-Signature` value.
    pub signature: String,
    /// The JSON body, exactly as signed.
    pub body: Vec<u8>,
}

// Bodies hold the answer to a requester: keep them out of logs.
impl std::fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRequest").field("bytes", &self.body.len()).finish_non_exhaustive()
    }
}

#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// POSTs the request; `Ok` with the HTTP status when the client answered at all.
    async fn post(&self, request: &WebhookRequest) -> StoreResult<u16>;
}

/// The sender of a deployment with no webhooks registered: nothing is ever queued for it, and a
/// stray step is refused.
pub struct NoWebhookSender;

#[async_trait]
impl WebhookSender for NoWebhookSender {
    async fn post(&self, _: &WebhookRequest) -> StoreResult<u16> {
        Err(super::StoreError::Invalid("no webhooks configured".into()))
    }
}

/// The `Sportello-Signature` value of `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_stripe_shaped_and_depends_on_everything() {
        let s = sign(b"whsec_test", 1_796_205_600, b"{\"a\":1}");
        assert!(s.starts_with("t=1796205600,v1="), "{s}");
        assert_eq!(s.len(), "t=1796205600,v1=".len() + 64);
        assert_ne!(s, sign(b"whsec_other", 1_796_205_600, b"{\"a\":1}"));
        assert_ne!(s, sign(b"whsec_test", 1_796_205_601, b"{\"a\":1}"));
        assert_ne!(s, sign(b"whsec_test", 1_796_205_600, b"{\"a\":2}"));
    }
}
