//! HTTP: the axum routers shared by the Lambda functions and the local server, and what every
//! endpoint has in common (problem+json errors, body limits, content-type checks).

pub mod api;
pub mod auth;
pub mod errors;
pub mod problem;
pub mod voice;

pub use problem::{ApiJson, Problem};

use crate::engine::Engine;
use axum::Router;
use axum::routing::get;

/// Largest request body any endpoint accepts; raw email has its own, larger limit.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

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
