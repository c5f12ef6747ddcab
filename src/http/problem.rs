//! Errors as RFC 9457 `application/problem+json`, with the field at fault when there is one.

use crate::engine::{EngineError, Refusal};
use crate::ports::StoreError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Where in the request the problem is: a JSON pointer, a header or a parameter name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: ABOUT_BLANK,
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        }
    }

    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A refusal of the flow: 409, typed by its kind (`/problems/flow`, `/problems/state`...),
    /// with the route to take where the refusal names another action.
    pub fn refused(refusal: &Refusal) -> Self {
        let detail = match refusal {
            Refusal::TypedByIncidentCheck { reference, .. } => {
                format!("{refusal}: POST /operator/tickets/{reference}/check-incidents instead of classify")
            }
            other => other.to_string(),
        };
        let mut problem = Self::new(StatusCode::CONFLICT, detail);
        problem.kind = refusal_type(refusal);
        // The title of the type's page (`GET /problems/<kind>`), the same on every occurrence.
        let title = format!("problem_{}_title", refusal.kind().replace('-', "_"));
        if let Some(title) = crate::i18n::lookup(crate::i18n::Tr { lang: crate::i18n::Lang::En }, &title) {
            problem.title = title.to_string();
        }
        problem
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn unprocessable(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail).at(field)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

impl From<EngineError> for Problem {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid { field, message } => Problem::unprocessable(field, message),
            EngineError::NotFound(what) => Problem::new(StatusCode::NOT_FOUND, format!("{what} not found")),
            EngineError::Refused(refusal) => Problem::refused(&refusal),
            EngineError::Busy(why) => Problem::new(StatusCode::CONFLICT, why),
            EngineError::Forbidden(why) => Problem::new(StatusCode::FORBIDDEN, why),
            EngineError::Store(StoreError::Conflict { .. }) => {
                Problem::new(StatusCode::CONFLICT, "the ticket changed meanwhile; read it again and retry")
            }
            EngineError::Store(StoreError::Invalid(why)) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, why),
            EngineError::Store(StoreError::Duplicate(why)) => Problem::new(StatusCode::CONFLICT, why),
            EngineError::Store(StoreError::NotFound(what)) => {
                Problem::new(StatusCode::NOT_FOUND, format!("{what} not found"))
            }
            EngineError::Store(e @ StoreError::Unavailable(_)) => {
                tracing::warn!(error = %e, "storage unavailable");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "storage is unavailable; retry shortly")
            }
            EngineError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error; the request was not applied")
            }
        }
    }
}

/// A problem the status says enough about.
pub const ABOUT_BLANK: &str = "about:blank";

/// Every problem type the API emits. docs/openapi.yaml describes each (`Problem.type`), and
/// tests/it/openapi.rs checks that it does, and that no other is written in the source; each
/// but `about:blank` has its page (`http::problem_pages`).
pub const PROBLEM_TYPES: &[&str] = &[
    ABOUT_BLANK,
    "/problems/flow",
    "/problems/state",
    "/problems/done",
    "/problems/channel",
    "/problems/unsupported",
    "/problems/held",
    "/problems/contended",
    "/problems/typed-by-incident-check",
];

/// The problem type of each kind of refusal: a URI reference relative to the API's root.
pub fn refusal_type(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::Flow(_) => "/problems/flow",
        Refusal::State(_) => "/problems/state",
        Refusal::Done(_) => "/problems/done",
        Refusal::Channel(_) => "/problems/channel",
        Refusal::Unsupported(_) => "/problems/unsupported",
        Refusal::Held(_) => "/problems/held",
        Refusal::Contended(_) => "/problems/contended",
        Refusal::TypedByIncidentCheck { .. } => "/problems/typed-by-incident-check",
    }
}

/// `Json<T>` whose rejections are problem+json that say what is wrong and where.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<super::Object<T>>::from_request(req, state).await {
            Ok(axum::Json(super::Object(value))) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

/// [`ApiJson`] for a body that may be left out: no body (or white space only) is `None` and
/// needs no `Content-Type`; any other body is read, and refused, as [`ApiJson`] reads it.
pub struct OptionalApiJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| json_problem(JsonRejection::from(e)))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        let ApiJson(value) = ApiJson::from_request(Request::from_parts(parts, bytes.into()), state).await?;
        Ok(Self(Some(value)))
    }
}

fn json_problem(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the body as `Content-Type: application/json`")
                .at("Content-Type")
        }
        JsonRejection::JsonDataError(e) => match path_error(&e) {
            Some(e) => data_problem(e),
            None => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
        },
        JsonRejection::JsonSyntaxError(e) => {
            let text = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_else(|| e.body_text());
            Problem::bad_request(format!("the body is not valid JSON: {text}"))
        }
        JsonRejection::BytesRejection(e) => {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(status, format!("the body is larger than {} bytes", super::MAX_BODY_BYTES))
            } else {
                Problem::new(status, e.body_text())
            }
        }
        other => Problem::new(other.status(), other.body_text()),
    }
}

/// A JSON object body read from bytes the handler needed whole first (a signature over them, an
/// optional body): the same problems as [`ApiJson`]'s.
pub fn json_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, super::Object<T>>(&mut de) {
        Ok(super::Object(value)) => {
            de.end().map_err(|e| Problem::bad_request(format!("the body is not valid JSON: {e}")))?;
            Ok(value)
        }
        Err(e) if e.inner().is_data() => Err(data_problem(&e)),
        Err(e) => Err(Problem::bad_request(format!("the body is not valid JSON: {}", e.inner()))),
    }
}

/// A body of the right syntax and the wrong shape: 422 at the value serde refused; a body of the
/// wrong type is at fault as a whole, with no field.
fn data_problem(e: &serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let message = e.inner().to_string();
    let problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, message.clone());
    match json_pointer(e.path(), &message) {
        pointer if pointer.is_empty() => problem,
        pointer => problem.at(pointer),
    }
}

/// The error with the path axum's `Json` records, somewhere in the rejection's chain of sources.
fn path_error<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e serde_path_to_error::Error<serde_json::Error>> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(found) = s.downcast_ref() {
            return Some(found);
        }
        source = s.source();
    }
    None
}

/// The JSON pointer (RFC 6901) of the value serde refused: `/items/0/code`. A missing field is
/// named in serde's message only (the path ends at the object that lacks it): it is added, so the
/// pointer names the field to send.
fn json_pointer(path: &serde_path_to_error::Path, message: &str) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    let mut push = |segment: &str| {
        pointer.push('/');
        pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    };
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => push(&index.to_string()),
            Segment::Map { key } => push(key),
            Segment::Enum { variant } => push(variant),
            Segment::Unknown => {}
        }
    }
    if let Some(missing) = message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
        push(missing);
    }
    pointer
}
