//! A small HTTP/1.1 client over hyper: one connection per request, JSON in and out. Enough for
//! the demo and the end-to-end tests to talk to Sportello as any client would.

use axum::body::Body;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Largest response body read.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// What came back.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The reply, or an error naming the request and what the server said.
    pub fn ok(self, what: &str) -> Result<Reply, String> {
        if self.is_success() { Ok(self) } else { Err(format!("{what}: HTTP {} {}", self.status, self.text)) }
    }

    /// A string at a JSON pointer (`/ticket/state`), or "".
    pub fn str(&self, pointer: &str) -> &str {
        self.body.pointer(pointer).and_then(Value::as_str).unwrap_or("")
    }
}

/// A client of one server (`http://host:port`).
#[derive(Debug, Clone)]
pub struct DemoClient {
    authority: String,
}

impl DemoClient {
    pub fn new(base_url: &str) -> Result<Self, String> {
        let rest = base_url
            .strip_prefix("http://")
            .ok_or_else(|| format!("`{base_url}`: only http:// URLs (e.g. http://127.0.0.1:8080)"))?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!("`{base_url}`: give the server's address only, e.g. http://127.0.0.1:8080"));
        }
        Ok(Self { authority: authority.to_string() })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.authority)
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        let fail = |e: &dyn std::fmt::Display| format!("{method} {path}: {e}");
        let stream = tokio::net::TcpStream::connect(&self.authority).await.map_err(|e| fail(&e))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| fail(&e))?;
        tokio::spawn(async move {
            // Ends with the response; an error here shows up as the request's error.
            let _ = connection.await;
        });
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.authority)
            .header("content-length", body.len().to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body)).map_err(|e| fail(&e))?;
        let response = sender.send_request(request).await.map_err(|e| fail(&e))?;
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let bytes =
            axum::body::to_bytes(Body::new(response.into_body()), MAX_RESPONSE_BYTES).await.map_err(|e| fail(&e))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, content_type, body, text })
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
        self.request("GET", path, headers, Vec::new()).await
    }

    pub async fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Result<Reply, String> {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.request("POST", path, &all, body.to_string().into_bytes()).await
    }
}
