//! The mobile chat (section 3.2) as a Lambda function behind an API Gateway HTTP API:
//! `POST /chat/sessions`, `POST|GET /chat/sessions/{reference}/messages`,
//! `POST /chat/sessions/{reference}/resolved`, `POST /chat/sessions/{reference}/operator`.
//!
//! Environment: `SPORTELLO_TABLE` (DynamoDB), `SPORTELLO_STEP_QUEUE_URL` (and optionally
//! `SPORTELLO_STEP_DLQ_URL`, default `<url>-dlq`), `SPORTELLO_RULES` (the rulebook folder, default
//! `rules` then `/var/task/rules`), optional `AWS_ENDPOINT_URL` (moto, LocalStack) and
//! `SPORTELLO_LOG` (`error`, `warn`, `info`, `debug`).
//!
//! The engine and its clients are built once per cold start; every request goes through the
//! same router the local server mounts.

#[tokio::main]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run_http(sportello::http::chat::router()).await
}
