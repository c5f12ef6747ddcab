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

use sportello::adapters::aws::{AwsEscalation, DynamoStore, SesMailer, SqsQueue, load_config};
use sportello::engine::{Engine, Ports};
use sportello::http::AppState;
use sportello::rules::Rules;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

type Error = lambda_http::Error;

/// How long a published step's deduplication id is remembered.
const STEP_DEDUP_WINDOW: Duration = Duration::from_secs(24 * 3600);

fn required(name: &str) -> Result<String, Error> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("{name} is not set").into())
}

fn rules_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SPORTELLO_RULES") {
        return PathBuf::from(p);
    }
    ["rules", "/var/task/rules"].into_iter().map(PathBuf::from).find(|p| p.exists()).unwrap_or_else(|| "rules".into())
}

async fn engine_from_env() -> Result<Engine, Error> {
    let table = required("SPORTELLO_TABLE")?;
    let queue_url = required("SPORTELLO_STEP_QUEUE_URL")?;
    let dlq_url = std::env::var("SPORTELLO_STEP_DLQ_URL").unwrap_or_else(|_| format!("{queue_url}-dlq"));
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok().filter(|e| !e.is_empty());
    let path = rules_path();
    let rules = Rules::load(&path).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("rulebook {} has errors:\n{}", path.display(), text.join("\n"))
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
            STEP_DEDUP_WINDOW,
        )),
        mailer: Arc::new(SesMailer::new(ses.clone())),
        escalations: Arc::new(AwsEscalation::new(sqs, ses, dynamodb, table)),
    };
    tracing::info!(rulebook = %rules.file, "engine ready");
    Ok(Engine::new(Arc::new(rules), ports))
}

fn init_tracing() {
    let level = match std::env::var("SPORTELLO_LOG").unwrap_or_default().to_ascii_lowercase().as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "debug" => tracing::Level::DEBUG,
        _ => tracing::Level::INFO,
    };
    // Plain lines: CloudWatch keeps the bytes as they are.
    let _ = tracing_subscriber::fmt().with_max_level(level).with_ansi(false).without_time().try_init();
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let engine = engine_from_env().await?;
    lambda_http::run(sportello::http::chat::router().with_state(AppState { engine })).await
}
