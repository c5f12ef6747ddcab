//! moto's server from the project's `.venv` (`scripts/test-env.sh` creates it), started once per
//! test binary on a free loopback port and stopped when the binary exits. Tests do not share
//! state through it: each makes its own table and queues, named after a random tag.

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// moto's own `moto_server` entry point with three changes. Requests are served one at a time:
/// moto's DynamoDB backend is not thread-safe (a failed transaction restores a snapshot of the
/// whole table, undoing writes that other threads committed meanwhile), while DynamoDB itself
/// serialises conditional writes per item; serving requests in turn restores that guarantee.
/// `GET /sportello/sent-mail` lists the raw mails SES sent, as a JSON array of strings: moto's
/// `/moto-api/data.json` has them too, but dumps every stored object to get there, which takes
/// seconds once a few hundred tests have run. And the server exits when its stdin closes, that is
/// when the test binary exits, however it ends.
const LAUNCHER: &str = r#"
import json, os, sys, threading
import moto.server as server
def exit_with_the_tests():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=exit_with_the_tests, daemon=True).start()
def with_sent_mail(app):
    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") != "/sportello/sent-mail":
            return app(environ, start_response)
        from moto.ses.models import ses_backends
        raw = [m.raw_data for regions in ses_backends.values() for backend in regions.values()
               for m in backend.sent_messages if hasattr(m, "raw_data")]
        body = json.dumps(raw).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    return wsgi
run_simple = server.run_simple
def serial(host, port, app, **kwargs):
    kwargs["threaded"] = False
    return run_simple(host, port, with_sent_mail(app), **kwargs)
server.run_simple = serial
server.main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"#;

pub struct MotoServer {
    /// Its stdin stays open, never written, as long as the binary runs.
    _process: Child,
    pub port: u16,
}

impl MotoServer {
    fn start() -> Self {
        let root = super::root();
        let moto = root.join(".venv/bin/moto_server");
        let python = root.join(".venv/bin/python");
        assert!(
            moto.exists() && python.exists(),
            "{} not found: run `scripts/test-env.sh` to create the test virtualenv with moto",
            moto.display()
        );
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let process = Command::new(&python)
            .args(["-c", LAUNCHER, &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let server = Self { _process: process, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.get("/moto-api/").is_none() {
            assert!(Instant::now() < deadline, "moto_server did not answer on port {port} within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A plain HTTP/1.0 GET (moto's serial server closes each connection), the body if 200.
    pub fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut response = Vec::new();
        s.read_to_end(&mut response).ok()?;
        let text = String::from_utf8(response).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        (head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200")).then(|| body.to_string())
    }
}

/// The binary's moto server, started by the first test that asks (it blocks: call it through
/// `spawn_blocking` from async code).
pub fn server() -> &'static MotoServer {
    static SERVER: OnceLock<MotoServer> = OnceLock::new();
    SERVER.get_or_init(MotoServer::start)
}

pub async fn sdk_config(server: &MotoServer) -> SdkConfig {
    // Sportello's own HTTPS client, as the functions build it (the SDK crates have no default).
    sportello::adapters::aws::config_loader()
        .endpoint_url(server.endpoint())
        .region(Region::new("eu-south-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// What a test has of its own on the binary's moto server: a table, and a step queue with its
/// dead-letter queue, named after a random tag.
pub struct Space {
    pub config: SdkConfig,
    pub tag: String,
    pub table: String,
    /// The step queue's URL and its dead-letter queue's.
    pub steps: (String, String),
}

impl Space {
    /// Starts the server if it is not running yet; `max_attempts` deliveries before a step
    /// message goes to the dead-letter queue.
    pub async fn new(max_attempts: u32) -> Space {
        let server = tokio::task::spawn_blocking(server).await.expect("moto");
        let config = sdk_config(server).await;
        let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let table = format!("sportello-{tag}");
        sportello::adapters::aws::table::create_table(&aws_sdk_dynamodb::Client::new(&config), &table)
            .await
            .expect("create the table");
        let sqs = aws_sdk_sqs::Client::new(&config);
        let steps = sportello::adapters::aws::create_queue_with_dlq(&sqs, &format!("steps-{tag}"), max_attempts)
            .await
            .expect("create the step queues");
        Space { config, tag, table, steps }
    }
}
