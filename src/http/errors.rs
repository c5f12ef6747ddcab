//! Errors axum itself produces (405 on a wrong method, a rejected path parameter...) come out as
//! plain text; this turns them into problem+json like every other error of the API.

use super::Problem;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// For `axum::middleware::map_response`: any 4xx/5xx that is not problem+json already becomes one.
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
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            match parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).filter(|a| !a.is_empty()) {
                Some(allow) => format!("this method is not allowed here; allowed: {allow}"),
                None => "this method is not allowed on this path".to_string(),
            }
        }
        _ if text.trim().is_empty() => status.canonical_reason().unwrap_or("error").to_string(),
        _ => text.trim().to_string(),
    };
    let mut out = Problem::new(status, detail).into_response();
    for name in [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
