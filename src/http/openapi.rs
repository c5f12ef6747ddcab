//! `GET /openapi.yaml` and `GET /openapi.json`: docs/openapi.yaml, the description of every
//! endpoint, built into the binary. `tests/it/openapi.rs` checks it against the routers.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::OnceLock;

/// The document as written.
pub const OPENAPI_YAML: &str = include_str!("../../docs/openapi.yaml");

/// The document as JSON, converted once. A document that does not parse is a build mistake the
/// tests catch; here it becomes a 500 with a problem rather than a panic.
pub fn openapi_json() -> Result<&'static serde_json::Value, &'static str> {
    static JSON: OnceLock<Result<serde_json::Value, String>> = OnceLock::new();
    JSON.get_or_init(|| serde_saphyr::from_str(OPENAPI_YAML).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(String::as_str)
}

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/openapi.yaml", get(yaml)).route("/openapi.json", get(json))
}

async fn yaml() -> Response {
    let mut response = OPENAPI_YAML.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/yaml; charset=utf-8"));
    response
}

async fn json() -> Response {
    match openapi_json() {
        Ok(doc) => axum::Json(doc).into_response(),
        Err(e) => {
            super::Problem::new(StatusCode::INTERNAL_SERVER_ERROR, format!("docs/openapi.yaml: {e}")).into_response()
        }
    }
}
