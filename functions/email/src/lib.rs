//! The email channel's Lambda functions and what they share.
//!
//! - `sportello-email-http`: API Gateway (HTTP API) → `POST /email/inbound` (raw MIME, see
//!   `sportello::http::email`), plus `GET /health`.
//! - `sportello-email-sqs`: the SQS queue an SES receipt rule feeds through SNS; partial batch
//!   failures (`ReportBatchItemFailures` on the event source mapping).
//!
//! Their init and handlers are the library's (`sportello::lambda`); this crate keeps the HTTP
//! function's routes for its tests.

use axum::Router;
use sportello::engine::Engine;
use sportello::http::email::MailToken;
use sportello::http::{AppState, health};

/// The HTTP function's routes.
pub fn app(engine: Engine, token: MailToken) -> Router {
    health().merge(sportello::http::email::router(token)).with_state(AppState { engine })
}
