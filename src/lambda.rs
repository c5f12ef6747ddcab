//! What every Lambda function of Sportello shares (feature `aws`): the engine, built once per
//! cold start from the environment, and the runtimes the functions hand it to.
//!
//! Environment:
//! - `SPORTELLO_TABLE`: the DynamoDB table (tickets, events, idempotency records, incidents);
//! - `SPORTELLO_STEP_QUEUE_URL` (and `SPORTELLO_STEP_DLQ_URL`, default `<url>-dlq`): the step queue;
//! - `SPORTELLO_RULES`: the rulebook folder bundled with the function (default `rules`, then
//!   `/var/task/rules`);
//! - `SPORTELLO_REPLY_TOKEN_KEY` and `SPORTELLO_REPLY_EMAIL`: e-mail escalations' reply tokens
//!   (the operator function mints them, the email functions check them);
//! - `SPORTELLO_WEBHOOK_<CLIENT>` and `SPORTELLO_WEBHOOK_SECRET_<CLIENT>`: API clients' webhooks;
//! - `SPORTELLO_NOTICE_DLQ_URL`: the notices function's dead-letter queue for refused notices;
//! - `AWS_ENDPOINT_URL`: another endpoint for every AWS service (moto in tests);
//! - `RUST_LOG` (`info`, `debug`, `sportello=debug,aws_config=warn`...) or `SPORTELLO_LOG` (one
//!   level): what is logged (see `logging`); JSON lines unless
//!   `SPORTELLO_LOG_FORMAT=text`, with EMF metrics in namespace `SPORTELLO_METRICS_NAMESPACE`
//!   (default `Sportello`).

use crate::adapters::aws::lambda::{SqsBatchResponse, SqsEvent, handle_batch_idempotent};
use crate::adapters::aws::{Clients, DynamoIncidents, load_config, warm_up};
use crate::engine::{Engine, handle_step};
use crate::http::AppState;
use crate::rules::Rules;
use axum::Router;
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::{Service, request::LambdaRequest};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub type Error = lambda_http::Error;

/// How long a published step's deduplication id is remembered.
const STEP_DEDUP_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// The init-time warm-up's limit per call: well within Lambda's 10 s init, and a handshake
/// that takes longer is better left to the first request.
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(2);

fn required(name: &str) -> Result<String, Error> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("{name} is not set").into())
}

/// The rulebook folder: `SPORTELLO_RULES`, or `rules` beside the binary's working directory, or
/// where a bundled function finds its files.
pub fn rules_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SPORTELLO_RULES") {
        return PathBuf::from(p);
    }
    ["rules", "/var/task/rules"].into_iter().map(PathBuf::from).find(|p| p.exists()).unwrap_or_else(|| "rules".into())
}

/// The engine over DynamoDB, SQS and SES, as the environment describes them.
pub async fn engine_from_env() -> Result<Engine, Error> {
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
    let clients = Clients::new(&config);
    // Cold starts pay their TLS handshakes here, during init, not on the first request.
    warm_up(&clients, &table, &queue_url, WARM_UP_TIMEOUT).await;
    let ports = crate::adapters::aws::ports_with(&clients, &table, queue_url, dlq_url, STEP_DEDUP_WINDOW);
    let incidents = Arc::new(DynamoIncidents::new(clients.dynamodb.clone(), &table));
    tracing::info!(rulebook = %rules.file, "engine ready");
    let webhooks = crate::engine::webhook::Webhooks::from_env(
        &rules,
        Arc::new(crate::adapters::webhook_http::HttpWebhookSender::new()),
    );
    let engine = Engine::new(Arc::new(rules), ports).with_webhooks(webhooks).with_incidents(incidents);
    // Functions that mint or check e-mail escalations' reply tokens have the key.
    Ok(match crate::engine::reply_token::ReplyTokens::from_env()? {
        Some(tokens) => engine.with_reply_tokens(tokens),
        None => engine,
    })
}

/// Plain log lines at the levels `RUST_LOG` (or `SPORTELLO_LOG`) asks for; no colours
/// (CloudWatch keeps bytes). See [`crate::logging`].
pub fn init_tracing() {
    crate::logging::init(true);
}

/// Serves an HTTP router (API Gateway HTTP API events) with the engine from the environment.
pub async fn run_http(router: Router<AppState>) -> Result<(), Error> {
    init_tracing();
    let engine = engine_from_env().await?;
    let router = router.layer(axum::middleware::from_fn(crate::http::in_request_span));
    lambda_http::run(router.with_state(AppState { engine })).await
}

/// Serves the voice function: Amazon Connect invokes it with a contact-flow event and reads a
/// flat string map back; an HTTP API event goes through the router like any other.
pub async fn run_voice(router: Router<AppState>) -> Result<(), Error> {
    init_tracing();
    let engine = engine_from_env().await?;
    let router = router.layer(axum::middleware::from_fn(crate::http::in_request_span));
    let app = router.with_state(AppState { engine: engine.clone() });
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<Value>| {
        let (app, engine) = (app.clone(), engine.clone());
        async move { voice_event(&engine, app, event).await }
    }))
    .await
}

/// One invocation of the voice function, whichever its source.
pub async fn voice_event(engine: &Engine, app: Router, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let LambdaEvent { payload, context } = event;
    if payload.pointer("/Details/ContactData").is_some() {
        let connect: crate::http::voice::ConnectEvent =
            serde_json::from_value(payload).map_err(|e| format!("not an Amazon Connect contact-flow event: {e}"))?;
        // An error takes the contact flow's error branch, which plays its own message.
        return match crate::http::voice::answer_call(engine, &connect.to_call()).await {
            Ok(answer) => Ok(serde_json::to_value(answer.to_connect())?),
            Err(problem) => {
                let problem = crate::http::voice::connect_pointer(problem);
                Err(format!("{} ({})", problem.detail, problem.field.unwrap_or_default()).into())
            }
        };
    }
    let request: LambdaRequest =
        serde_json::from_value(payload).map_err(|e| format!("neither a Connect event nor an HTTP API event: {e}"))?;
    let mut adapter = lambda_http::Adapter::from(app);
    let response = adapter.call(LambdaEvent { payload: request, context }).await?;
    Ok(serde_json::to_value(response)?)
}

/// Runs the step messages of an SQS batch; failed ones are reported for redelivery. Each step
/// handler is idempotent by itself, so no idempotency record is kept per message (two writes
/// fewer per step); see [`handle_batch_idempotent`].
pub async fn handle_steps(engine: &Engine, event: SqsEvent) -> SqsBatchResponse {
    handle_batch_idempotent(event, |message| async move { handle_step(engine, &message).await }).await
}

/// Serves a step function (SQS event source mapping with `ReportBatchItemFailures`).
pub async fn run_steps() -> Result<(), Error> {
    init_tracing();
    let engine = engine_from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<SqsEvent>| {
        let engine = engine.clone();
        async move { Ok::<_, Error>(handle_steps(&engine, event.payload).await) }
    }))
    .await
}

/// Serves the notices function: the reply queue's batches (SQS event source mapping with
/// `ReportBatchItemFailures`); refused notices go to `SPORTELLO_NOTICE_DLQ_URL`.
pub async fn run_notices() -> Result<(), Error> {
    use crate::adapters::aws::reply_queue::{NoticeDeadLetters, handle_notice_batch};
    init_tracing();
    let engine = engine_from_env().await?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok().filter(|e| !e.is_empty());
    let dead_letters = match std::env::var("SPORTELLO_NOTICE_DLQ_URL").ok().filter(|v| !v.trim().is_empty()) {
        Some(url) => {
            Some(NoticeDeadLetters { sqs: aws_sdk_sqs::Client::new(&load_config(endpoint.as_deref()).await), url })
        }
        None => None,
    };
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (engine, dead_letters) = (engine.clone(), dead_letters.clone());
        async move { Ok::<_, Error>(handle_notice_batch(&engine, event.payload, dead_letters.as_ref()).await) }
    }))
    .await
}
