//! The email channel's Lambda functions and what they share.
//!
//! - `sportello-email-http`: API Gateway (HTTP API) → `POST /email/inbound` (raw MIME, see
//!   `sportello::http::email`), plus `GET /health`.
//! - `sportello-email-sqs`: the SQS queue an SES receipt rule feeds through SNS; partial batch
//!   failures (`ReportBatchItemFailures` on the event source mapping).
//!
//! Environment: `SPORTELLO_TABLE`, `SPORTELLO_STEP_QUEUE_URL` (and `SPORTELLO_STEP_DLQ_URL`,
//! default `<url>-dlq`), `SPORTELLO_RULES` (the rulebook folder, default `rules`), optional
//! `AWS_ENDPOINT_URL`; the HTTP function also needs `SPORTELLO_MAIL_TOKEN_SHA256`.

use axum::Router;
use sportello::engine::Engine;
use sportello::http::email::MailToken;
use sportello::http::{AppState, health};

pub use sportello::lambda::{Error, engine_from_env, init_tracing};

/// The HTTP function's routes.
pub fn app(engine: Engine, token: MailToken) -> Router {
    health().merge(sportello::http::email::router(token)).with_state(AppState { engine })
}
