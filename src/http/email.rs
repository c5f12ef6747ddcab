//! `POST /email/inbound`: raw MIME handed over by a mail gateway (`Content-Type: message/rfc822`).
//!
//! The sender authenticates with a shared secret in `X-Sportello-Mail-Token`. Sportello keeps only
//! its SHA-256 (hex, in `SPORTELLO_MAIL_TOKEN_SHA256`), so the secret itself is in no
//! configuration; make one with `openssl rand -hex 32` and store
//! `printf %s "$TOKEN" | sha256sum`. Checks run before the body is read: token (401), content
//! type (415), declared length (413); then the body, read up to [`MAX_EMAIL_BYTES`] (413), must
//! be a mail message (422 otherwise).
//!
//! Answers `202 Accepted` with what happened: `opened`, `threaded`, `reminder`,
//! `ignored_bounce`, `ignored_own` (and `rejected_verdict` on the SES path), the ticket
//! reference, and whether the acknowledgement went out.

use super::{AppState, Problem};
use crate::email::MAX_EMAIL_BYTES;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const MAIL_TOKEN_HEADER: &str = "x-sportello-mail-token";
pub const MAIL_TOKEN_ENV: &str = "SPORTELLO_MAIL_TOKEN_SHA256";

/// The SHA-256 of the shared secret mail gateways present (and, after a rotation, of the ones
/// still accepted until their grace period ends).
#[derive(Clone)]
pub struct MailToken {
    sha256: [u8; 32],
    previous: Vec<([u8; 32], jiff::Timestamp)>,
}

impl std::fmt::Debug for MailToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailToken(..)")
    }
}

impl MailToken {
    /// From the hex SHA-256 of the secret (64 hex digits).
    pub fn from_sha256_hex(hex: &str) -> Result<Self, String> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{MAIL_TOKEN_ENV} must be 64 hex digits (a SHA-256)"));
        }
        let mut sha256 = [0u8; 32];
        for (i, byte) in sha256.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
        }
        Ok(Self { sha256, previous: Vec::new() })
    }

    /// For tests and tools: the token of a known secret.
    pub fn for_secret(secret: &str) -> Self {
        Self { sha256: Sha256::digest(secret.as_bytes()).into(), previous: Vec::new() }
    }

    /// The current secret of a rotated file, and those still in their grace period.
    pub fn for_rotating(secret: &crate::secrets::Rotating) -> Self {
        Self {
            sha256: Sha256::digest(secret.current.as_bytes()).into(),
            previous: secret.previous.iter().map(|(s, until)| (Sha256::digest(s.as_bytes()).into(), *until)).collect(),
        }
    }

    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(&crate::settings::environment().lookup())
    }

    /// [`Self::from_env`] from another source of settings (a Lambda function's).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let hex = var(MAIL_TOKEN_ENV).ok_or_else(|| format!("{MAIL_TOKEN_ENV} is not set"))?;
        Self::from_sha256_hex(&hex)
    }

    /// Compares digests in constant time: how far a guess matched does not show in the timing.
    /// A retired secret is accepted until its grace period ends.
    pub fn verify(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        let now = jiff::Timestamp::now();
        let mut ok: bool = digest.ct_eq(&self.sha256).into();
        for (retired, until) in &self.previous {
            let same: bool = digest.ct_eq(retired).into();
            ok |= same && *until > now;
        }
        ok
    }
}

pub fn router(token: MailToken) -> Router<AppState> {
    Router::new()
        .route("/email/inbound", post(inbound))
        .layer(DefaultBodyLimit::max(MAX_EMAIL_BYTES))
        // Token and content type are checked before the body is read.
        .route_layer(middleware::from_fn(move |request: Request, next: Next| {
            let token = token.clone();
            async move {
                match check_headers(&token, request.headers()) {
                    Ok(()) => next.run(request).await,
                    Err(problem) => problem.into_response(),
                }
            }
        }))
}

fn too_large() -> Problem {
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE, format!("a message may be at most {MAX_EMAIL_BYTES} bytes"))
}

fn check_headers(token: &MailToken, headers: &HeaderMap) -> Result<(), Problem> {
    let presented = headers.get(MAIL_TOKEN_HEADER).ok_or_else(|| {
        Problem::new(StatusCode::UNAUTHORIZED, "send the mail gateway's token in `X-Sportello-Mail-Token`")
            .at("X-Sportello-Mail-Token")
    })?;
    if !token.verify(presented.as_bytes()) {
        return Err(Problem::new(StatusCode::UNAUTHORIZED, "the mail token is not valid").at("X-Sportello-Mail-Token"));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("message/rfc822") {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the raw message as `Content-Type: message/rfc822`",
        )
        .at("Content-Type"));
    }
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_EMAIL_BYTES as u64) {
        return Err(too_large());
    }
    Ok(())
}

async fn inbound(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Response, Problem> {
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        status => Problem::new(status, e.body_text()),
    })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::unprocessable("body", "the body is empty: send the raw message"));
    }
    let outcome = state.engine.receive_email(&body, None).await.map_err(|e| match Problem::from(e) {
        p if p.status == 422 && p.field.as_deref() == Some("message") => {
            Problem::unprocessable("body", format!("not a usable email message: {}", p.detail))
        }
        p => p,
    })?;
    Ok((StatusCode::ACCEPTED, Json(outcome)).into_response())
}
