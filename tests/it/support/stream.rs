//! A table's DynamoDB stream on moto, read as Lambda's event source mapping reads it (the
//! reports function's feed).

use super::moto::MotoServer;
use aws_config::SdkConfig;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A call to the DynamoDB Streams API (JSON over HTTP/1.0, as the SDK would send it, signed
/// for moto only: moto routes it by the credential scope and the target); the answer as JSON.
fn streams(server: &MotoServer, action: &str, body: &serde_json::Value) -> serde_json::Value {
    let body = body.to_string();
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).expect("moto");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(
        s,
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDBStreams_20120810.{action}\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261206/eu-south-1/dynamodb/aws4_request, \
         SignedHeaders=host, Signature=0\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = Vec::new();
    s.read_to_end(&mut response).expect("read");
    let text = String::from_utf8(response).expect("UTF-8");
    let (head, answer) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.contains(" 200 "), "DynamoDB Streams {action}: {head}\n{answer}");
    serde_json::from_str(answer).expect("a JSON answer")
}

/// A table's stream on moto, read as Lambda's event source mapping reads it: shard by shard,
/// from where the last read stopped.
pub struct TableStream {
    server: &'static MotoServer,
    config: SdkConfig,
    table: String,
    /// The last sequence number handed over, per shard.
    positions: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl TableStream {
    pub fn new(server: &'static MotoServer, config: SdkConfig, table: &str) -> Self {
        Self { server, config, table: table.to_string(), positions: Default::default() }
    }

    /// The records written since the last call (`from_start`: every record the stream holds),
    /// in the shape Lambda hands them to a function (`eventName`, `dynamodb.NewImage`...).
    pub async fn records(&self, from_start: bool) -> Vec<serde_json::Value> {
        use serde_json::json;
        let described =
            aws_sdk_dynamodb::Client::new(&self.config).describe_table().table_name(&self.table).send().await;
        let arn = described.expect("describe the table").table.and_then(|t| t.latest_stream_arn).expect("a stream");
        let positions = if from_start { Default::default() } else { self.positions.lock().unwrap().clone() };
        let server = self.server;
        let (records, last) = tokio::task::spawn_blocking(move || {
            let stream = streams(server, "DescribeStream", &json!({"StreamArn": arn}));
            let mut records = Vec::new();
            let mut last = positions.clone();
            for shard in stream["StreamDescription"]["Shards"].as_array().cloned().unwrap_or_default() {
                let id = shard["ShardId"].as_str().expect("a shard id").to_string();
                let start = match positions.get(&id) {
                    Some(seq) => json!({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seq}),
                    None => json!({"ShardIteratorType": "TRIM_HORIZON"}),
                };
                let mut request = json!({"StreamArn": arn, "ShardId": id});
                request.as_object_mut().unwrap().extend(start.as_object().unwrap().clone());
                let mut iterator = streams(server, "GetShardIterator", &request)["ShardIterator"].clone();
                loop {
                    let got = streams(server, "GetRecords", &json!({"ShardIterator": iterator, "Limit": 1000}));
                    let page = got["Records"].as_array().cloned().unwrap_or_default();
                    if page.is_empty() {
                        break;
                    }
                    if let Some(seq) = page.last().and_then(|r| r["dynamodb"]["SequenceNumber"].as_str()) {
                        last.insert(id.clone(), seq.to_string());
                    }
                    records.extend(page);
                    iterator = got["NextShardIterator"].clone();
                    if iterator.is_null() {
                        break;
                    }
                }
            }
            (records, last)
        })
        .await
        .expect("read the stream");
        if !from_start {
            *self.positions.lock().unwrap() = last;
        }
        records
    }
}
