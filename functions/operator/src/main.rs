//! The operator API on AWS Lambda: the library's axum router behind API Gateway (HTTP API) with
//! a JWT authorizer. The authorizer's claims become the caller's identity and roles.
//!
//! Environment: `SPORTELLO_TABLE`, `SPORTELLO_STEP_QUEUE_URL` (and `SPORTELLO_STEP_DLQ_URL`),
//! `SPORTELLO_RULES` (default `rules`), optional `AWS_ENDPOINT_URL`; escalation settings
//! (`SPORTELLO_ESCALATION_FROM`, `SPORTELLO_QUEUE_URL_<QUEUE>`, `SPORTELLO_REPLY_QUEUE`,
//! `SPORTELLO_REPLY_EMAIL`) and each target's notice secret (`SPORTELLO_TARGET_SECRET_<TARGET>`).

use lambda_http::request::RequestContext;
use lambda_http::{Error, RequestExt};
use sportello::adapters::aws::{AwsEscalation, DynamoStore, SesMailer, SqsQueue, load_config};
use sportello::engine::{Engine, EscalationSettings, Ports};
use sportello::http::operator::{NoticeSecrets, OperatorApi, router};
use sportello::http::operator_auth::{Authenticator, AuthorizerClaims};
use sportello::rules::Rules;
use std::sync::Arc;
use std::time::Duration;

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).ok().filter(|v| !v.is_empty()).ok_or_else(|| format!("{name} is not set").into())
}

/// Clients and the rulebook, built once per cold start.
async fn bootstrap() -> Result<Engine, Error> {
    let rules_path = std::env::var("SPORTELLO_RULES").unwrap_or_else(|_| "rules".into());
    let rules = Rules::load(std::path::Path::new(&rules_path)).map_err(|diagnostics| {
        let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        format!("rulebook `{rules_path}` has errors:\n{}", text.join("\n"))
    })?;
    let table = env("SPORTELLO_TABLE")?;
    let step_queue = env("SPORTELLO_STEP_QUEUE_URL")?;
    let step_dlq = std::env::var("SPORTELLO_STEP_DLQ_URL").unwrap_or_default();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok().filter(|v| !v.is_empty());
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
            step_queue,
            step_dlq,
            Duration::from_secs(24 * 3600),
        )),
        mailer: Arc::new(SesMailer::new(ses.clone())),
        escalations: Arc::new(AwsEscalation::new(sqs, ses, dynamodb, table)),
    };
    Ok(Engine::new(Arc::new(rules), ports))
}

/// The JWT authorizer's claims (HTTP API payload v2), handed to the router as an extension.
fn with_claims(mut req: axum::extract::Request) -> axum::extract::Request {
    let claims = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).map(|jwt| serde_json::json!(jwt.claims))
        }
        _ => None,
    };
    if let Some(claims) = claims {
        req.extensions_mut().insert(AuthorizerClaims(claims));
    }
    req
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let engine = bootstrap().await?;
    let escalation = EscalationSettings::from_env(&engine.rules.book);
    let secrets = NoticeSecrets::from_env(&engine.rules.book);
    let api = OperatorApi::new(engine, Authenticator::Claims, escalation, secrets);
    let app = router::<()>(api).layer(axum::middleware::map_request(|req| async move { with_claims(req) }));
    lambda_http::run(app).await
}
