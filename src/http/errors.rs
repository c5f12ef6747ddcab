//! Errors no handler writes: a path no router serves (404), a method a path does not take (405),
//! and axum's own rejections (a path parameter it cannot read...), which come out as plain text.
//! All of them become problem+json like every other error of the API.

use super::Problem;
use axum::Router;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The one way Sportello answers an unknown path (404) and a method its path does not take (405,
/// with axum's `Allow` header): the same problem+json on the local server and on each function.
/// Call it once every route is on the router: a route added after it keeps axum's plain 405.
pub fn with_problem_fallbacks<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.fallback(no_such_endpoint).method_not_allowed_fallback(method_not_allowed)
}

async fn no_such_endpoint(method: Method, uri: Uri) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, format!("no endpoint {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> Problem {
    Problem::new(StatusCode::METHOD_NOT_ALLOWED, format!("{} does not take {method}", uri.path()))
}

/// For `axum::middleware::map_response` on the machine clients' routers: any 4xx/5xx that is not
/// problem+json already (axum's rejections) becomes one.
pub async fn problem_json(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/problem+json"));
    if is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum's own error bodies are one short line; anything longer is cut, not forwarded.
    let text =
        axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let detail = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_string(),
        text => text.to_string(),
    };
    let mut out = Problem::new(status, detail).into_response();
    for name in [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
