//! HTTP: the axum routers shared by the Lambda functions and the local server, and what every
//! endpoint has in common (problem+json errors, body limits, content-type checks).

pub mod api;
pub mod auth;
pub mod chat;
pub mod dashboard;
pub mod email;
pub mod errors;
pub mod openapi;
pub mod operator;
pub mod operator_auth;
mod operator_incidents;
mod operator_reminders;
pub mod problem;
pub mod reports;
pub mod survey;
pub mod voice;

pub use problem::{ApiJson, Problem};

use crate::engine::Engine;
use axum::Router;
use axum::routing::get;

/// Largest request body any endpoint accepts; raw email has its own, larger limit.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// How the local server recognises each kind of caller; on AWS, API Gateway's authorizers do.
pub struct Credentials {
    /// Operator tokens (and their roles), escalation settings and target secrets.
    pub operators: operator::OperatorApi,
    /// The mail gateway's shared secret on `POST /email/inbound`.
    pub mail_token: email::MailToken,
    /// API keys of PagoPA's client apps and of the telephony platform.
    pub api_clients: auth::Authenticator,
}

/// Every endpoint of Sportello on one router: what the local server serves. Each Lambda function
/// serves its own part of it.
pub fn app(engine: Engine, credentials: Credentials) -> Router {
    let Credentials { operators, mail_token, api_clients } = credentials;
    // The telephony platform and the client apps present keys from the same file.
    let api_clients = std::sync::Arc::new(api_clients);
    let channels = Router::new()
        .merge(health())
        .merge(voice::router_with(api_clients.clone()))
        .merge(chat::router())
        .merge(email::router(mail_token))
        .merge(api::router_with(api_clients))
        .merge(survey::router())
        .with_state(AppState { engine });
    channels
        .merge(operator::router(operators))
        .merge(openapi::router())
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
}

/// `GET /health`: the process is up and its rulebook loaded.
pub fn health() -> Router<AppState> {
    Router::new().route(
        "/health",
        get(|axum::extract::State(state): axum::extract::State<AppState>| async move {
            axum::Json(serde_json::json!({
                "status": "ok",
                "rulebook": state.engine.rules.file,
            }))
        }),
    )
}

async fn no_such_endpoint(method: axum::http::Method, uri: axum::http::Uri) -> Problem {
    Problem::new(axum::http::StatusCode::NOT_FOUND, format!("no endpoint {method} {}", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Problem {
    Problem::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, format!("{} does not take {method}", uri.path()))
}
