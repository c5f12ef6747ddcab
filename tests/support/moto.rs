//! Runs the AWS adapters for real, over HTTP, against moto's server from the project's `.venv`
//! (`scripts/test-env.sh` creates it). One server is shared by the tests of a binary that run
//! at the same time, and killed when the last of them drops it; each test has its own table
//! and queues.

use super::{Backend, Ports};
use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use sportello::adapters::aws::{
    AwsEscalation, DynamoIncidents, DynamoKbCandidates, DynamoStore, SesMailer, SqsQueue, create_queue_with_dlq, table,
};
use sportello::domain::TicketId;
use sportello::ports::{EscalationRoute, StepQueue};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// moto's own `moto_server` entry point with one change: requests are served one at a time.
/// moto's DynamoDB backend is not thread-safe (a failed transaction restores a snapshot of the
/// whole table, undoing writes that other threads committed meanwhile), while DynamoDB itself
/// serialises conditional writes per item; serving requests in turn restores that guarantee.
const LAUNCHER: &str = r#"
import sys
import moto.server as server
run_simple = server.run_simple
def serial(*args, **kwargs):
    kwargs["threaded"] = False
    return run_simple(*args, **kwargs)
server.run_simple = serial
server.main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"#;

pub struct MotoServer {
    child: Child,
    pub port: u16,
}

impl MotoServer {
    fn start() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let moto = root.join(".venv/bin/moto_server");
        let python = root.join(".venv/bin/python");
        assert!(
            moto.exists() && python.exists(),
            "{} not found: run `scripts/test-env.sh` to create the test virtualenv with moto",
            moto.display()
        );
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = Command::new(&python)
            .args(["-c", LAUNCHER, &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let server = Self { child, port };
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
        head.starts_with("HTTP/1.0 200")
            .then(|| body.to_string())
            .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_string()))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static SHARED: Mutex<Weak<MotoServer>> = Mutex::new(Weak::new());

pub fn server() -> Arc<MotoServer> {
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = shared.upgrade() {
        return s;
    }
    let s = Arc::new(MotoServer::start());
    *shared = Arc::downgrade(&s);
    s
}

pub async fn sdk_config(server: &MotoServer) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(server.endpoint())
        .region(Region::new("eu-south-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

pub struct MotoBackend {
    server: Arc<MotoServer>,
    config: SdkConfig,
    table: String,
    names: AtomicU32,
    tag: String,
}

impl MotoBackend {
    pub async fn new() -> Self {
        let server = tokio::task::spawn_blocking(server).await.expect("moto");
        let config = sdk_config(&server).await;
        let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let table = format!("sportello-{tag}");
        table::create_table(&aws_sdk_dynamodb::Client::new(&config), &table).await.expect("create table");
        aws_sdk_ses::Client::new(&config)
            .verify_domain_identity()
            .domain("sportello.example")
            .send()
            .await
            .expect("verify SES domain");
        Self { server, config, table, names: AtomicU32::new(0), tag }
    }

    fn ports_on(&self, config: &SdkConfig) -> Ports {
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        let store = Arc::new(DynamoStore::new(dynamodb.clone(), self.table.clone()));
        Ports {
            tickets: store.clone(),
            events: store.clone(),
            idempotency: store,
            mailer: Arc::new(SesMailer::new(aws_sdk_ses::Client::new(config))),
            escalation: Arc::new(AwsEscalation::new(
                aws_sdk_sqs::Client::new(config),
                aws_sdk_ses::Client::new(config),
                dynamodb.clone(),
                self.table.clone(),
            )),
            incidents: Arc::new(DynamoIncidents::new(dynamodb.clone(), self.table.clone())),
            kb_candidates: Arc::new(DynamoKbCandidates::new(dynamodb, self.table.clone())),
        }
    }

    fn name(&self, prefix: &str) -> String {
        format!("{prefix}-{}-{}", self.tag, self.names.fetch_add(1, Ordering::SeqCst))
    }
}

#[async_trait]
impl Backend for MotoBackend {
    fn ports(&self) -> Ports {
        self.ports_on(&self.config)
    }

    async fn reopen(&self) -> Ports {
        self.ports_on(&sdk_config(&self.server).await)
    }

    async fn queue(&self, max_attempts: u32) -> Arc<dyn StepQueue> {
        let sqs = aws_sdk_sqs::Client::new(&self.config);
        let name = self.name("steps");
        let (url, dlq) = create_queue_with_dlq(&sqs, &name, max_attempts).await.expect("create queues");
        Arc::new(SqsQueue::new(
            sqs,
            aws_sdk_dynamodb::Client::new(&self.config),
            self.table.clone(),
            name,
            url,
            dlq,
            Duration::from_secs(300),
        ))
    }

    async fn sent_mail(&self) -> Vec<String> {
        let server = self.server.clone();
        let data = tokio::task::spawn_blocking(move || server.get("/moto-api/data.json"))
            .await
            .unwrap()
            .expect("moto data.json");
        let data: serde_json::Value = serde_json::from_str(&data).expect("data.json is JSON");
        data["ses"]["RawMessage"]
            .as_array()
            .map(|all| all.iter().filter_map(|m| m["raw_data"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    async fn corrupt_ticket(&self, id: &TicketId) {
        aws_sdk_dynamodb::Client::new(&self.config)
            .update_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(format!("T#{id}")))
            .key(table::SK, AttributeValue::S("TICKET".into()))
            .update_expression("SET #doc = :bad")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#doc", "doc")
            .expression_attribute_values(":bad", AttributeValue::S("{\"id\": 42, not json".into()))
            .send()
            .await
            .expect("corrupt the ticket item");
    }

    async fn escalation_queue(&self) -> EscalationRoute {
        let url = aws_sdk_sqs::Client::new(&self.config)
            .create_queue()
            .queue_name(self.name("escalations"))
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        EscalationRoute::Queue { queue: url }
    }

    async fn stored_text(&self) -> String {
        let client = aws_sdk_dynamodb::Client::new(&self.config);
        let mut text = String::new();
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan the table");
            for item in page.items.unwrap_or_default() {
                text.push_str(&format!("{item:?}\n"));
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return text;
            }
        }
    }

    async fn escalation_bodies(&self, route: &EscalationRoute) -> Vec<String> {
        let EscalationRoute::Queue { queue } = route else { panic!("not a queue route") };
        aws_sdk_sqs::Client::new(&self.config)
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| m.body)
            .collect()
    }
}

/// A received SQS message as the Lambda event source mapping hands it to a function: one record
/// of an SQS event.
pub fn sqs_record(m: &aws_sdk_sqs::types::Message) -> serde_json::Value {
    use serde_json::json;
    let attributes: serde_json::Map<String, serde_json::Value> = m
        .message_attributes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, json!({"stringValue": v.string_value, "dataType": v.data_type})))
        .collect();
    json!({
        "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": attributes,
        "eventSource": "aws:sqs",
    })
}
