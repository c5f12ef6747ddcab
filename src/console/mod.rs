//! The operators' web console: a server-rendered face of the same engine as the operator API,
//! for first-level operators, the privacy team and supervisors. Mounted at `/` by the local
//! server and by the operator Lambda function.
//!
//! Every action calls the engine function the operator API calls, through the same role matrix
//! and privacy rule (`http::operator::authorize`), so what the API refuses the console cannot do;
//! refusals are shown beside the action. Pages are askama templates (`templates/`), with a small
//! stylesheet and script of our own (`assets/`); nothing is loaded from another origin
//! (`Content-Security-Policy: default-src 'self'`).

// Handlers answer a refusal with the page that says so: an axum `Response` as the error type.
#![allow(clippy::result_large_err)]

pub mod assets;
pub mod auth;
mod erasure;
pub mod http_client;
mod incidents;
pub mod oidc;
mod queue;
mod reports;
mod search;
pub mod session;
mod ticket;
mod view;

use crate::http::operator::OperatorApi;
use crate::http::operator_auth::TokenFile;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use std::sync::Arc;

pub use auth::Desk;
use session::{Cookies, SessionKey};

/// How operators sign in.
pub enum SignIn {
    /// Local operator tokens (`sportello operators add`), exchanged for a session.
    Tokens(Arc<TokenFile>),
    /// The organisation's OpenID Connect provider.
    Oidc(Arc<oidc::Oidc>),
}

/// What the console's handlers share.
#[derive(Clone)]
pub struct Console {
    pub api: OperatorApi,
    pub sign_in: Arc<SignIn>,
    pub key: SessionKey,
    pub cookies: Cookies,
    /// The console's public address (`https://desk.example.org`), for the sign-in's redirect;
    /// without it, the request's own host.
    pub public_url: Option<String>,
}

impl Console {
    pub fn new(api: OperatorApi, sign_in: SignIn, key: SessionKey, public_url: Option<String>) -> Self {
        let public_url = public_url.map(|u| u.trim_end_matches('/').to_string());
        let secure = public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
        Self { api, sign_in: Arc::new(sign_in), key, cookies: Cookies { secure }, public_url }
    }

    /// Cookies marked `Secure` (and `__Host-`), for a console served over HTTPS without a
    /// configured public URL (API Gateway).
    pub fn secure(mut self) -> Self {
        self.cookies = Cookies { secure: true };
        self
    }
}

/// The console's routes, ready to merge into the local server's or a Lambda's router.
pub fn router<S: Clone + Send + Sync + 'static>(console: Console) -> Router<S> {
    Router::new()
        .route("/", get(auth::home))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in_with_token))
        .route("/sign-in/oidc", get(auth::oidc_start))
        .route("/auth/callback", get(auth::oidc_callback))
        .route("/sign-out", post(auth::sign_out))
        .route("/lang/{code}", get(auth::switch_language))
        .route("/assets/{name}", get(assets::serve))
        .route("/queue", get(queue::page))
        .route("/queue/rows", get(queue::rows))
        .route("/search", get(search::page))
        .route("/tickets/{reference}", get(ticket::page))
        .route("/tickets/{reference}/conversation", get(ticket::conversation))
        .route("/tickets/{reference}/{action}", post(ticket::act))
        .route("/incidents", get(incidents::page).post(incidents::declare))
        .route("/incidents/{id}/{action}", post(incidents::act))
        .route("/reports", get(reports::dashboard))
        .route("/reports/tickets", get(reports::tickets))
        .route("/privacy/erasure", get(erasure::show))
        .route("/privacy/erasure/{action}", post(erasure::act))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(crate::http::MAX_BODY_BYTES))
        .with_state(console)
}

/// Headers on every console response: nothing from other origins, no framing, no caching of
/// pages that hold personal data (assets set their own caching).
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
