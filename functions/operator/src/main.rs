//! The operator API on AWS Lambda: the library's axum router behind API Gateway (HTTP API) with
//! a JWT authorizer. The authorizer's claims become the caller's identity and roles.
//!
//! Environment: `SPORTELLO_TABLE`, `SPORTELLO_STEP_QUEUE_URL` (and `SPORTELLO_STEP_DLQ_URL`),
//! `SPORTELLO_RULES` (default `rules`), optional `AWS_ENDPOINT_URL`; escalation settings
//! (`SPORTELLO_ESCALATION_FROM`, `SPORTELLO_QUEUE_URL_<QUEUE>`, `SPORTELLO_REPLY_QUEUE`,
//! `SPORTELLO_REPLY_EMAIL`) and each target's notice secret (`SPORTELLO_TARGET_SECRET_<TARGET>`).

use lambda_http::request::RequestContext;
use lambda_http::{Error, RequestExt};
use sportello::engine::EscalationSettings;
use sportello::http::operator::{NoticeSecrets, OperatorApi, router};
use sportello::http::operator_auth::{Authenticator, AuthorizerClaims};

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
    sportello::lambda::init_tracing();
    let engine = sportello::lambda::engine_from_env().await?;
    let escalation = EscalationSettings::from_env(&engine.rules);
    let secrets = NoticeSecrets::from_env(&engine.rules);
    let api = OperatorApi::new(engine, Authenticator::Claims, escalation, secrets);
    let app = router::<()>(api).layer(axum::middleware::map_request(|req| async move { with_claims(req) }));
    lambda_http::run(app).await
}
