//! The operator API on AWS Lambda: the library's axum router behind API Gateway (HTTP API) with
//! a JWT authorizer. The authorizer's claims become the caller's identity and roles.
//!
//! Environment: `SPORTELLO_TABLE`, `SPORTELLO_STEP_QUEUE_URL` (and `SPORTELLO_STEP_DLQ_URL`),
//! `SPORTELLO_RULES` (default `rules`), optional `AWS_ENDPOINT_URL`; escalation settings
//! (`SPORTELLO_ESCALATION_FROM`, `SPORTELLO_QUEUE_URL_<QUEUE>`, `SPORTELLO_REPLY_QUEUE`,
//! `SPORTELLO_REPLY_EMAIL`) and each target's notice secret (`SPORTELLO_TARGET_SECRET_<TARGET>`).
//!
//! It also serves the operators' web console (every path the API Gateway routes to it besides
//! `/operator/*`): sign-in with OpenID Connect (`SPORTELLO_OIDC_ISSUER`, `SPORTELLO_OIDC_CLIENT_ID`,
//! `SPORTELLO_OIDC_CLIENT_SECRET`, `SPORTELLO_OIDC_LOGOUT_URL`), sessions signed with
//! `SPORTELLO_CONSOLE_SESSION_KEY`, redirects to `SPORTELLO_CONSOLE_URL`.

use lambda_http::request::RequestContext;
use lambda_http::{Error, RequestExt};
use sportello::console::{Console, SignIn, oidc, session::SessionKey};
use sportello::engine::EscalationSettings;
use sportello::http::operator::{NoticeSecrets, OperatorApi, router};
use sportello::http::operator_auth::{Authenticator, AuthorizerClaims};
use std::sync::Arc;

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
    let console = console(api.clone())?;
    let app = router::<()>(api).layer(axum::middleware::map_request(|req| async move { with_claims(req) }));
    let app = match console {
        Some(console) => app.merge(sportello::console::router(console)),
        None => app,
    };
    lambda_http::run(app).await
}

/// The console, when its sign-in is configured; without it the function serves the API alone.
fn console(api: OperatorApi) -> Result<Option<Console>, Error> {
    let Some(config) = oidc::OidcConfig::from_env()? else {
        tracing::warn!("SPORTELLO_OIDC_ISSUER is not set: the web console is not served");
        return Ok(None);
    };
    let key = std::env::var("SPORTELLO_CONSOLE_SESSION_KEY")
        .map_err(|_| "SPORTELLO_CONSOLE_SESSION_KEY is not set: the console signs its sessions with it")?;
    let public_url = std::env::var("SPORTELLO_CONSOLE_URL").ok().filter(|u| !u.trim().is_empty());
    let sign_in = SignIn::Oidc(Arc::new(oidc::Oidc::new(config)));
    // API Gateway serves HTTPS only: cookies are Secure and host-only.
    Ok(Some(Console::new(api, sign_in, SessionKey::new(key.into_bytes())?, public_url).secure()))
}
