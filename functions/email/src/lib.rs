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
use sportello::adapters::aws::{AwsEscalation, DynamoStore, SesMailer, SqsQueue, load_config};
use sportello::engine::{Engine, Ports};
use sportello::http::email::MailToken;
use sportello::http::{AppState, health};
use sportello::rules::Rules;
use std::sync::Arc;
use std::time::Duration;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

fn required(name: &str) -> Result<String, Error> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("{name} is not set").into())
}

/// The engine over DynamoDB, SQS and SES, as the environment describes them.
pub async fn engine_from_env() -> Result<Engine, Error> {
    let table = required("SPORTELLO_TABLE")?;
    let queue_url = required("SPORTELLO_STEP_QUEUE_URL")?;
    let dlq_url = std::env::var("SPORTELLO_STEP_DLQ_URL").unwrap_or_else(|_| format!("{queue_url}-dlq"));
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok().filter(|e| !e.is_empty());
    let path = std::env::var("SPORTELLO_RULES").unwrap_or_else(|_| "rules".into());
    let rules = Rules::load(std::path::Path::new(&path)).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("rulebook {path} has errors:\n{}", text.join("\n"))
    })?;
    let config = load_config(endpoint.as_deref()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let ses = aws_sdk_ses::Client::new(&config);
    let store = Arc::new(DynamoStore::new(dynamodb.clone(), table.clone()));
    let ports = Ports {
        tickets: store.clone(),
        events: store.clone(),
        idempotency: store,
        steps: Arc::new(SqsQueue::new(
            sqs.clone(),
            dynamodb.clone(),
            table.clone(),
            "steps",
            queue_url,
            dlq_url,
            Duration::from_secs(24 * 3600),
        )),
        mailer: Arc::new(SesMailer::new(ses.clone())),
        escalations: Arc::new(AwsEscalation::new(sqs, ses, dynamodb, table)),
    };
    Ok(Engine::new(Arc::new(rules), ports))
}

/// The HTTP function's routes.
pub fn app(engine: Engine, token: MailToken) -> Router {
    health().merge(sportello::http::email::router(token)).with_state(AppState { engine })
}

/// Plain log lines (no colours: CloudWatch keeps bytes), without timestamps (it adds its own).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt().with_ansi(false).without_time().with_target(false).try_init();
}
