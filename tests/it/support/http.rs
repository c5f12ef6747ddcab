//! Requests to the HTTP routers in-process (tower `oneshot`), and what comes back.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use tower::ServiceExt;

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON; `Null` when it is not JSON.
    pub body: serde_json::Value,
    pub text: String,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// A problem+json error: its status matches, and it says where (`field`).
    #[track_caller]
    pub fn assert_problem(&self, status: u16, field: Option<&str>, detail_contains: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.content_type(), "application/problem+json", "{}", self.text);
        assert_eq!(self.body["status"], status, "{}", self.text);
        assert_eq!(self.body["field"].as_str(), field, "{}", self.text);
        let detail = self.body["detail"].as_str().unwrap_or("");
        assert!(detail.contains(detail_contains), "`{detail}` does not say `{detail_contains}`");
    }
}

/// One request through a router that has its state.
pub async fn send_to(router: Router, request: Request<Body>) -> Reply {
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Reply { status, headers, body, text }
}

pub fn request(method: Method, uri: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).unwrap()
}

pub fn json_post(uri: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> Request<Body> {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    request(Method::POST, uri, &all, body.to_string())
}
