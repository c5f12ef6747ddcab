//! The client against local servers: what the SDK's retry strategy and timeouts see, and which
//! certificates it accepts. The AWS contract tests (tests/it, moto) use it for every call.

use super::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");

/// What the test server does with each connection, in order.
#[derive(Clone, Copy)]
enum Then {
    /// Closes it at once.
    Drop,
    /// Reads the request and never answers.
    Hold,
    /// Answers `200 {}`.
    Answer,
}

/// A server on 127.0.0.1 that treats its connections as `plan` says, over TLS when `tls` is
/// given. Returns its port and the number of connections it accepted.
fn serve(plan: Vec<Then>, tls: Option<Arc<rustls::ServerConfig>>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for then in plan {
            let Ok((tcp, _)) = listener.accept() else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let tls = tls.clone();
            std::thread::spawn(move || match tls {
                Some(config) => {
                    let connection = rustls::ServerConnection::new(config).unwrap();
                    respond(rustls::StreamOwned::new(connection, tcp), then);
                }
                None => respond(tcp, then),
            });
        }
    });
    (port, accepted)
}

fn respond(mut stream: impl Read + Write, then: Then) {
    if let Then::Drop = then {
        return;
    }
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    match then {
        Then::Hold => std::thread::sleep(Duration::from_secs(5)),
        _ => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}",
            );
            let _ = stream.flush();
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn server_tls() -> Arc<rustls::ServerConfig> {
    let chain = CertificateDer::pem_file_iter(format!("{FIXTURES}/server.pem")).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(format!("{FIXTURES}/server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(config)
}

/// A DynamoDB client on `endpoint` over [`sdk_http_client`], with quick retries.
fn dynamodb(
    endpoint: &str,
    retry: aws_config::retry::RetryConfig,
    timeouts: aws_config::timeout::TimeoutConfigBuilder,
) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-south-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("key", "secret", None, None, "test"))
        .endpoint_url(endpoint)
        .http_client(sdk_http_client())
        .retry_config(retry)
        .timeout_config(timeouts.build())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn get(url: &str) -> HttpRequest {
    let request = hyper::Request::get(url).body(SdkBody::empty()).unwrap();
    HttpRequest::try_from(request).unwrap()
}

/// The error and its sources on one line.
fn chain(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        line = format!("{line}: {source}");
        next = source.source();
    }
    line
}

/// The connector's error under the SDK's error, when the request could not be sent or answered.
fn dispatch_failure<E: std::fmt::Debug>(error: &aws_sdk_dynamodb::error::SdkError<E, HttpResponse>) -> &ConnectorError {
    match error {
        aws_sdk_dynamodb::error::SdkError::DispatchFailure(failure) => {
            failure.as_connector_error().unwrap_or_else(|| panic!("a connector error: {error:?}"))
        }
        _ => panic!("a dispatch failure: {error:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_an_io_error() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let connector = Connector::new(&tls_config(), (None, None));
    let error = connector.call(get(&format!("http://127.0.0.1:{port}/"))).await.unwrap_err();
    assert!(error.is_io(), "{error:?}");
}

#[tokio::test]
async fn the_sdk_retries_a_dropped_connection() {
    let (port, accepted) = serve(vec![Then::Drop, Then::Answer], None);
    let retry =
        aws_config::retry::RetryConfig::standard().with_max_attempts(2).with_initial_backoff(Duration::from_millis(1));
    let client = dynamodb(&format!("http://127.0.0.1:{port}"), retry, aws_config::timeout::TimeoutConfig::builder());
    let listed = client.list_tables().send().await;
    assert!(listed.is_ok(), "{listed:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "one dropped connection, then one answered");
}

#[tokio::test]
async fn a_server_that_never_answers_hits_the_read_timeout() {
    let (port, _) = serve(vec![Then::Hold], None);
    let timeouts = aws_config::timeout::TimeoutConfig::builder().read_timeout(Duration::from_millis(300));
    let client = dynamodb(&format!("http://127.0.0.1:{port}"), aws_config::retry::RetryConfig::disabled(), timeouts);
    let started = std::time::Instant::now();
    let error = client.list_tables().send().await.unwrap_err();
    assert!(dispatch_failure(&error).is_timeout(), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the read timeout ended it, not the SDK's stalled-stream protection (5 s)"
    );
}

#[tokio::test]
async fn a_tls_handshake_that_never_comes_hits_the_connect_timeout() {
    // Plain TCP accepted and held: the TLS handshake never completes.
    let (port, _) = serve(vec![Then::Hold], None);
    let timeouts = aws_config::timeout::TimeoutConfig::builder().connect_timeout(Duration::from_millis(300));
    let client = dynamodb(&format!("https://localhost:{port}"), aws_config::retry::RetryConfig::disabled(), timeouts);
    let started = std::time::Instant::now();
    let error = client.list_tables().send().await.unwrap_err();
    assert!(dispatch_failure(&error).is_timeout(), "{error:?}");
    // The SDK's stalled-stream protection would also end it as a timeout, but after 5 s.
    assert!(started.elapsed() < Duration::from_secs(3), "the connect timeout ended it");
}

#[tokio::test]
async fn a_certificate_from_a_ca_outside_the_anchors_is_refused() {
    let (port, _) = serve(vec![Then::Answer, Then::Answer], Some(server_tls()));
    let url = format!("https://localhost:{port}/");

    let error = Connector::new(&tls_config(), (None, None)).call(get(&url)).await.unwrap_err();
    assert!(chain(&error).contains("UnknownIssuer"), "{}", chain(&error));

    // The same server is trusted once its CA is an anchor: the refusal above is the anchors'.
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    roots.add(CertificateDer::from_pem_file(format!("{FIXTURES}/ca.pem")).unwrap()).unwrap();
    let trusting = Connector::new(&Arc::new(tls_config_with(roots)), (None, None));
    let response = trusting.call(get(&url)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
}
