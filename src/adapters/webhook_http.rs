//! Webhook POSTs over HTTP. With the `aws` feature, `https://` and `http://` through hyper and
//! rustls (the AWS SDK's own stack and TLS settings: `adapters::aws::https`); without it,
//! plain `http://` over a TCP stream, enough for local development, and `https://` is refused
//! with a reason rather than pulling a TLS stack into the local build.

use crate::ports::webhook::check_url;
use crate::ports::webhook::{SIGNATURE_HEADER, WebhookRequest, WebhookSender};
use crate::ports::{StoreError, StoreResult};
use async_trait::async_trait;
use std::time::Duration;

/// How long one POST may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(feature = "aws")]
type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<axum::body::Bytes>,
>;

#[derive(Clone, Default)]
pub struct HttpWebhookSender {
    /// Built at the first POST, so a cold start does not set up TLS for a webhook it may never send.
    #[cfg(feature = "aws")]
    client: std::sync::Arc<std::sync::OnceLock<HttpsClient>>,
}

impl HttpWebhookSender {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(feature = "aws")]
    fn client(&self) -> &HttpsClient {
        self.client.get_or_init(crate::adapters::aws::https::outbound_client)
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("webhook POST failed: {e}"))
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn post(&self, request: &WebhookRequest) -> StoreResult<u16> {
        check_url(&request.url).map_err(StoreError::Invalid)?;
        #[cfg(feature = "aws")]
        {
            let client = self.client();
            let req = axum::http::Request::post(request.url.as_str())
                .header("content-type", "application/json")
                .header("user-agent", "sportello-webhook/1")
                .header(SIGNATURE_HEADER, request.signature.as_str())
                .body(http_body_util::Full::new(axum::body::Bytes::from(request.body.clone())))
                .map_err(|e| StoreError::Invalid(format!("webhook request: {e}")))?;
            let response = tokio::time::timeout(TIMEOUT, client.request(req))
                .await
                .map_err(|_| unavailable("timed out"))?
                .map_err(unavailable)?;
            Ok(response.status().as_u16())
        }
        #[cfg(not(feature = "aws"))]
        {
            tokio::time::timeout(TIMEOUT, plain_http_post(request)).await.map_err(|_| unavailable("timed out"))?
        }
    }
}

/// One HTTP/1.1 POST on a fresh connection, reading only the status line.
#[cfg(not(feature = "aws"))]
async fn plain_http_post(request: &WebhookRequest) -> StoreResult<u16> {
    let Some(rest) = request.url.strip_prefix("http://") else {
        return Err(StoreError::Invalid(
            "https webhooks need the `aws` build (TLS); this build posts http:// only".into(),
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let address = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let stream = tokio::net::TcpStream::connect(&address).await.map_err(unavailable)?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         User-Agent: sportello-webhook/1\r\n{SIGNATURE_HEADER}: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        request.signature,
        request.body.len()
    );
    write_all(&stream, head.as_bytes()).await.map_err(unavailable)?;
    write_all(&stream, &request.body).await.map_err(unavailable)?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.contains(&b'\n') && buf.len() < 4096 {
        stream.readable().await.map_err(unavailable)?;
        match stream.try_read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(unavailable(e)),
        }
    }
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|_| line.starts_with("HTTP/1."))
        .ok_or_else(|| unavailable("the answer is not HTTP"))
}

/// Writes all of `bytes` with the stream's readiness API (tokio's `io-util` is not built here).
#[cfg(not(feature = "aws"))]
async fn write_all(stream: &tokio::net::TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::ports::webhook::check_url;

    #[test]
    fn webhook_urls_are_checked() {
        assert!(check_url("https://io.example.org/hooks/sportello").is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("https://user:pw@x.example").is_err());
        assert!(check_url("https:///path").is_err());
        assert!(check_url("https://x.example/a b").is_err());
    }
}
