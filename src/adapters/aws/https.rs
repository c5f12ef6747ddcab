//! The HTTPS client of the AWS SDK and of the webhooks: HTTP/1.1 over hyper and rustls (ring),
//! trusting Mozilla's root program compiled in as ready trust anchors (`webpki-roots`). Nothing
//! is read or parsed to set it up: no certificate file (reading and parsing the system's bundle
//! was more than half of a cold start), no PEM, no DER. AWS endpoints (and the client apps'
//! webhooks) use public CAs, and DynamoDB, SQS, SES, S3 and Secrets Manager all speak HTTP/1.1,
//! so the SDK's own client (HTTP/2, PEM trust stores, proxies) is not linked.
//!
//! Errors are classified as the SDK's hyper client classifies them (aws-smithy-http-client,
//! `downcast_error`), so that its retry strategy sees the same kinds: a refused or dropped
//! connection is an I/O error, a connect or read timeout is a timeout.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::{CaptureConnection, HttpConnector as TcpConnector, HttpInfo};
use hyper_util::rt::TokioIo;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

/// TLS as both clients use it: rustls over ring (not the SDK's default aws-lc, a larger C
/// library in every function's binary), the compiled-in anchors only. Built once; the anchors
/// are borrowed from the binary, so this is a few allocations, no parsing.
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: LazyLock<Arc<rustls::ClientConfig>> = LazyLock::new(|| {
        Arc::new(tls_config_with(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }))
    });
    CONFIG.clone()
}

fn tls_config_with(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The webhooks' and the console's sign-in client: the same TLS, HTTP/1.1, hyper's pool.
pub fn outbound_client<B>() -> hyper_util::client::legacy::Client<HttpsConnector<TcpConnector>, B>
where
    B: hyper::body::Body + Send,
    B::Data: Send,
{
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(rustls::ClientConfig::clone(&tls_config()))
        .https_or_http()
        .enable_http1()
        .build();
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector)
}

/// The SDK's HTTP client: one per function, shared by every SDK client built from the same
/// configuration (and so one connection pool).
pub fn sdk_http_client() -> SharedHttpClient {
    SharedHttpClient::new(SdkHttpsClient::new(tls_config()))
}

/// One connector (hyper client and its pool) per distinct pair of timeouts the SDK asks for, as
/// the SDK's own client does; in practice every service client of a function asks for the same.
#[derive(Debug)]
struct SdkHttpsClient {
    tls: Arc<rustls::ClientConfig>,
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

type Timeouts = (Option<Duration>, Option<Duration>);

impl SdkHttpsClient {
    fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        Self { tls, connectors: Mutex::new(Vec::new()) }
    }
}

impl HttpClient for SdkHttpsClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, connector)) = connectors.iter().find(|(t, _)| *t == timeouts) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(Connector::new(&self.tls, timeouts));
        connectors.push((timeouts, connector.clone()));
        connector
    }

    /// What the SDK's hyper client says of itself (it goes into the user agent).
    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("hyper", Some("1.x".into())))
    }
}

type Client = hyper_util::client::legacy::Client<ConnectTimeout, SdkBody>;

#[derive(Debug)]
struct Connector {
    client: Client,
    read_timeout: Option<Duration>,
}

impl Connector {
    fn new(tls: &Arc<rustls::ClientConfig>, (connect_timeout, read_timeout): Timeouts) -> Self {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(rustls::ClientConfig::clone(tls))
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            // Idle connections are closed by the pool's timer (90 s), as in the SDK's client.
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(ConnectTimeout { inner: https, timeout: connect_timeout });
        Self { client, read_timeout }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        // Lets the SDK close a connection after a transient error instead of reusing it.
        let captured = hyper_util::client::legacy::connect::capture_connection(&mut request);
        if let Some(capture) = request.extensions().get::<CaptureSmithyConnection>() {
            capture.set_connection_retriever(move || connection_metadata(&captured));
        }
        let responding = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                None => responding.await,
                Some(after) => match tokio::time::timeout(after, responding).await {
                    Ok(response) => response,
                    Err(_) => return Err(ConnectorError::timeout(TimedOut { what: "HTTP read", after }.into())),
                },
            };
            match response {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|e| ConnectorError::other(e.into(), None)),
                Err(e) => Err(connector_error(e.into())),
            }
        })
    }
}

fn connection_metadata(captured: &CaptureConnection) -> Option<ConnectionMetadata> {
    let connected = captured.connection_metadata();
    let mut extras = hyper::http::Extensions::new();
    connected.as_ref()?.get_extras(&mut extras);
    let info = extras.get::<HttpInfo>();
    let captured = captured.clone();
    let mut metadata = ConnectionMetadata::builder().proxied(false).poison_fn(move || {
        if let Some(connected) = captured.connection_metadata().as_ref() {
            connected.poison();
        }
    });
    metadata.set_local_addr(info.map(HttpInfo::local_addr)).set_remote_addr(info.map(HttpInfo::remote_addr));
    Some(metadata.build())
}

/// The SDK's hyper client's classification (`downcast_error`, `to_connector_error`), less what
/// only HTTP/2 and the SDK's own DNS resolver raise.
fn connector_error(error: BoxError) -> ConnectorError {
    if find::<TimedOut>(error.as_ref()).is_some() {
        return ConnectorError::timeout(error);
    }
    if let Some(hyper_error) = find::<hyper::Error>(error.as_ref()) {
        if hyper_error.is_timeout() {
            return ConnectorError::timeout(error);
        }
        if hyper_error.is_user() {
            return ConnectorError::user(error);
        }
        if hyper_error.is_closed() || hyper_error.is_canceled() || find::<std::io::Error>(hyper_error).is_some() {
            return ConnectorError::io(error);
        }
        // A connection closed before the response was complete (S3 does it at times).
        if hyper_error.is_incomplete_message() {
            return ConnectorError::other(error, Some(ErrorKind::TransientError));
        }
        return ConnectorError::other(error, None);
    }
    if let Some(client_error) = find::<hyper_util::client::legacy::Error>(error.as_ref())
        && (client_error.is_connect() || find::<std::io::Error>(client_error).is_some())
    {
        return ConnectorError::io(error);
    }
    ConnectorError::other(error, None)
}

fn find<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

/// A connect or read timeout, told apart from other errors by its type.
#[derive(Debug)]
struct TimedOut {
    what: &'static str,
    after: Duration,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} timeout occurred after {:?}", self.what, self.after)
    }
}

impl Error for TimedOut {}

/// The connector under a connect timeout covering the TCP connection and the TLS handshake, as
/// the SDK's does.
#[derive(Clone, Debug)]
struct ConnectTimeout {
    inner: HttpsConnector<TcpConnector>,
    timeout: Option<Duration>,
}

type Stream = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

impl tower::Service<Uri> for ConnectTimeout {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let Some(after) = self.timeout else { return Box::pin(connecting) };
        Box::pin(async move {
            tokio::time::timeout(after, connecting).await.map_err(|_| TimedOut { what: "HTTP connect", after })?
        })
    }
}

#[cfg(test)]
mod tests;
