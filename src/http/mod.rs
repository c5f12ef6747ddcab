//! HTTP: the axum routers shared by the Lambda functions and the local server, and what every
//! endpoint has in common (problem+json errors, body limits, content-type checks).

pub mod api;
pub mod auth;
pub mod chat;
pub mod email;
pub mod errors;
pub mod openapi;
pub mod operator;
pub mod operator_auth;
pub mod problem;
pub mod problem_pages;
pub mod requester;
pub mod survey;
pub mod voice;

pub use crate::logging::SPAN_TARGET;
pub use problem::{ApiJson, OptionalApiJson, Problem};

use crate::engine::Engine;
use axum::Router;
use axum::routing::get;

/// Largest request body any endpoint accepts; raw email has its own, larger limit.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// How the local server recognises each kind of caller; on AWS, API Gateway's authorizers do.
pub struct Credentials {
    /// Operator tokens (and their roles), escalation settings and target secrets.
    pub operators: operator::OperatorApi,
    /// The mail gateway's shared secret on `POST /email/inbound`.
    pub mail_token: email::MailToken,
    /// API keys of PagoPA's client apps and of the telephony platform.
    pub api_clients: auth::ClientAuthenticator,
}

/// Every endpoint of Sportello on one router: what the local server serves, once [`served`]. Each
/// Lambda function serves its own part of it.
pub fn app(engine: Engine, credentials: Credentials) -> Router {
    let Credentials { operators, mail_token, api_clients } = credentials;
    // The telephony platform and the client apps present keys from the same file.
    let api_clients = std::sync::Arc::new(api_clients);
    let channels = Router::new()
        .merge(health())
        .merge(voice::router_with(api_clients.clone()))
        .merge(chat::router())
        .merge(email::router(mail_token))
        .merge(api::router_with(api_clients))
        .merge(survey::router())
        .merge(openapi::router())
        .merge(problem_pages::router())
        .with_state(AppState { engine });
    channels.merge(operator::router(operators)).layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// What every served router has, the local server's and each Lambda function's alike: the one
/// 404/405 (see [`errors::with_problem_fallbacks`]) and the request span.
pub fn served(router: Router) -> Router {
    errors::with_problem_fallbacks(router).layer(axum::middleware::from_fn(in_request_span))
}

/// An integer of a JSON body as JSON Schema counts them: `4` and `4.0` alike (OpenAPI clients
/// may send either), never `4.5`.
pub(crate) fn whole_number<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::Deserialize;
    use serde::de::Error;
    let n = serde_json::Number::deserialize(d)?;
    let whole = n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64));
    let whole = whole.ok_or_else(|| D::Error::custom(format!("`{n}` is not a whole number")))?;
    T::try_from(whole).map_err(|_| D::Error::custom(format!("`{n}` is out of range")))
}

/// For `#[serde(deserialize_with)]`: a struct from a JSON object only. serde's derive reads a
/// struct from an array too (`["Mario", null]`), which no schema of the document allows; going
/// through the object's own entries keeps the path of a wrong field (`requester.email`) in the
/// error axum reports, and so in the problem's `field`.
pub(crate) fn object<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    d.deserialize_map(ObjectOnly(std::marker::PhantomData))
}

/// A JSON body that must be an object (see [`object`]): what [`ApiJson`] reads.
pub(crate) struct Object<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object(d).map(Object)
    }
}

/// [`object`], or null (or absent, with `#[serde(default)]`).
pub(crate) fn object_or_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    d.deserialize_option(ObjectOrNull(std::marker::PhantomData))
}

struct ObjectOnly<T>(std::marker::PhantomData<T>);

impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for ObjectOnly<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
    }
}

struct ObjectOrNull<T>(std::marker::PhantomData<T>);

impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for ObjectOrNull<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object or null")
    }

    fn visit_none<E>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        object(d).map(Some)
    }
}

/// Runs the request in a span carrying its `request_id`: the caller's `X-Request-Id` when it is a
/// plain token, else a new one; the response carries it back.
pub async fn in_request_span(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let given = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).filter(|v| {
        (1..=128).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    });
    let id = given.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    // `client` and `via` are filled in when an API client is recognised (`auth::ClientIdentity`).
    let span = tracing::info_span!(
        target: SPAN_TARGET,
        "request",
        request_id = %id,
        method = %request.method(),
        client = tracing::field::Empty,
        via = tracing::field::Empty
    );
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

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
