//! The few HTTP requests the console makes itself (an OpenID provider's discovery and token
//! endpoints). With the `aws` feature, `https://` and `http://` through hyper and rustls (the
//! AWS SDK's own stack and TLS settings); without it, plain `http://` only, which is what a local test
//! provider needs, and `https://` is refused with a reason.

use axum::body::Body;
use axum::http::{Request, header};
use std::time::Duration;

#[cfg(feature = "aws")]
type TlsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Body,
>;

#[derive(Clone, Default)]
pub struct HttpClient {
    /// Built at the first request (a sign-in), not at a cold start, for a console that most
    /// invocations never show. TLS as the AWS SDK's client has it (`adapters::aws::https`).
    #[cfg(feature = "aws")]
    tls: std::sync::Arc<std::sync::OnceLock<TlsClient>>,
}

impl HttpClient {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(feature = "aws")]
    fn tls(&self) -> &TlsClient {
        self.tls.get_or_init(crate::adapters::aws::https::outbound_client)
    }

    pub async fn get(&self, url: &str, timeout: Duration, max: usize) -> Result<(u16, Vec<u8>), String> {
        let req = Request::get(url)
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .map_err(|e| format!("request to {url}: {e}"))?;
        self.send(req, timeout, max).await
    }

    pub async fn post_form(
        &self,
        url: &str,
        form: &str,
        authorization: Option<&str>,
        timeout: Duration,
        max: usize,
    ) -> Result<(u16, Vec<u8>), String> {
        let mut req = Request::post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(a) = authorization {
            req = req.header(header::AUTHORIZATION, a);
        }
        let req = req.body(Body::from(form.to_string())).map_err(|e| format!("request to {url}: {e}"))?;
        self.send(req, timeout, max).await
    }

    async fn send(&self, req: Request<Body>, timeout: Duration, max: usize) -> Result<(u16, Vec<u8>), String> {
        let url = req.uri().to_string();
        let answer = tokio::time::timeout(timeout, self.round_trip(req))
            .await
            .map_err(|_| format!("{url} did not answer within {} s", timeout.as_secs()))??;
        let status = answer.status().as_u16();
        let body = axum::body::to_bytes(Body::new(answer.into_body()), max)
            .await
            .map_err(|e| format!("reading the answer of {url}: {e}"))?;
        Ok((status, body.to_vec()))
    }

    async fn round_trip(&self, req: Request<Body>) -> Result<axum::http::Response<hyper::body::Incoming>, String> {
        #[cfg(feature = "aws")]
        return self.tls().request(req).await.map_err(|e| format!("HTTP request failed: {e}"));
        #[cfg(not(feature = "aws"))]
        plain_http(req).await
    }
}

/// One request on a fresh plain-HTTP connection.
#[cfg(not(feature = "aws"))]
async fn plain_http(mut req: Request<Body>) -> Result<axum::http::Response<hyper::body::Incoming>, String> {
    let uri = req.uri().clone();
    if uri.scheme_str() != Some("http") {
        return Err(format!("{uri}: https needs the `aws` build (TLS); this build speaks plain http:// only"));
    }
    let host = uri.host().ok_or_else(|| format!("{uri} has no host"))?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream =
        tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("connecting to {uri}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| format!("connecting to {uri}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or(host);
    req.headers_mut().insert(header::HOST, authority.parse().map_err(|_| format!("{uri}: bad host"))?);
    let path = uri.path_and_query().map_or("/".to_string(), |p| p.to_string());
    *req.uri_mut() = path.parse().map_err(|_| format!("{uri}: bad path"))?;
    sender.send_request(req).await.map_err(|e| format!("request to {uri}: {e}"))
}
