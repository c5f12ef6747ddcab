//! The AWS adapters for real, over HTTP, against the binary's moto server; each backend has its
//! own table and queues.

use super::Backend;
use crate::support::moto::{MotoServer, Space, sdk_config, server};
use crate::support::stream::TableStream;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use sportello::adapters::aws::DynamoStore;
use sportello::adapters::aws::{Clients, DynamoReports, SqsQueue, create_queue_with_dlq, table};
use sportello::domain::{Event, Ticket, TicketId};
use sportello::engine::Ports;
use sportello::lambda::ReportFeed;
use sportello::ports::TicketStore;
use sportello::ports::{EscalationRoute, ReportStore, StepQueue};
use sportello::reports::Projector;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub struct MotoBackend {
    server: &'static MotoServer,
    pub config: SdkConfig,
    pub table: String,
    /// The engine's step queue and its dead-letter queue.
    pub steps: (String, String),
    names: AtomicU32,
    tag: String,
    /// The table's stream, read as the reports function's event source mapping reads it.
    pub stream: TableStream,
}

impl MotoBackend {
    /// A new table and step queue on moto, and SES's sending domain verified.
    pub async fn new() -> Self {
        let Space { config, tag, table, steps } = Space::new(3).await;
        let stream = TableStream::new(server(), config.clone(), &table);
        let backend = Self { server: server(), config, table, steps, names: AtomicU32::new(0), tag, stream };
        backend.verify_domain("sportello.example").await;
        backend
    }

    fn store_on(&self, config: &SdkConfig) -> Ports {
        let (url, dlq) = self.steps.clone();
        sportello::adapters::aws::ports_with(&Clients::new(config), &self.table, url, dlq, Duration::from_secs(300))
    }

    /// The reports function's handler over this table (without an export bucket).
    pub fn report_feed(&self) -> ReportFeed {
        let projector = Arc::new(Projector::new(&crate::support::default_rules()));
        ReportFeed { reports: self.dynamo_reports(projector.clone()), export: None, projector }
    }

    fn dynamo_reports(&self, projector: Arc<Projector>) -> DynamoReports {
        let client = aws_sdk_dynamodb::Client::new(&self.config);
        DynamoReports::new(client, &self.table, self.store().tickets, projector)
    }

    /// Hands `records` to the reports function in batches of the template's size; every batch
    /// must be folded whole.
    pub async fn hand_over(&self, feed: &ReportFeed, records: Vec<serde_json::Value>) -> usize {
        // An event item holds one event (`doc`) or the run a write stored together (`docs`).
        let events = records
            .iter()
            .filter(|r| r["dynamodb"]["Keys"]["sk"]["S"].as_str().is_some_and(|sk| sk.starts_with("E#")))
            .map(|r| {
                let image = &r["dynamodb"]["NewImage"];
                image["docs"]["S"]
                    .as_str()
                    .and_then(|docs| serde_json::from_str::<Vec<serde_json::Value>>(docs).ok())
                    .map_or(1, |docs| docs.len())
            })
            .sum();
        for batch in records.chunks(500) {
            let answer = feed.handle(&serde_json::json!({"Records": batch})).await.expect("a stream batch");
            assert_eq!(answer["batchItemFailures"], serde_json::json!([]), "the batch was folded");
        }
        events
    }

    /// A name no other queue of this binary has.
    fn name(&self, prefix: &str) -> String {
        format!("{prefix}-{}-{}", self.tag, self.names.fetch_add(1, Ordering::SeqCst))
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    /// Lets SES send from `domain` (moto keeps one list for the whole server).
    pub async fn verify_domain(&self, domain: &str) {
        aws_sdk_ses::Client::new(&self.config)
            .verify_domain_identity()
            .domain(domain)
            .send()
            .await
            .expect("verify SES domain");
    }

    /// A new queue and its dead-letter queue: their URLs.
    pub async fn queue_with_dlq(&self, prefix: &str, max_attempts: u32) -> (String, String) {
        create_queue_with_dlq(&self.sqs(), &self.name(prefix), max_attempts).await.expect("create queues")
    }
}

#[async_trait]
impl Backend for MotoBackend {
    fn store(&self) -> Ports {
        self.store_on(&self.config)
    }

    async fn reopen(&self) -> Ports {
        self.store_on(&sdk_config(self.server).await)
    }

    async fn queue(&self, max_attempts: u32) -> Arc<dyn StepQueue> {
        let name = self.name("steps");
        let (url, dlq) = create_queue_with_dlq(&self.sqs(), &name, max_attempts).await.expect("create queues");
        Arc::new(SqsQueue::new(
            self.sqs(),
            aws_sdk_dynamodb::Client::new(&self.config),
            self.table.clone(),
            name,
            url,
            dlq,
            Duration::from_secs(300),
        ))
    }

    async fn sent_mail(&self) -> Vec<String> {
        let server = self.server;
        let sent = tokio::task::spawn_blocking(move || server.get("/sportello/sent-mail"))
            .await
            .unwrap()
            .expect("moto's sent mail");
        serde_json::from_str(&sent).expect("a JSON list of raw mails")
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

    async fn die_during_update(&self, ticket: &Ticket, events: &[Event]) {
        // The real adapter, whose client fails every `UpdateItem` before sending it, as a process
        // that died there would never send it.
        let config = aws_sdk_dynamodb::config::Builder::from(&self.config).interceptor(DiesBeforeUpdateItem).build();
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), &self.table);
        let refused = store.update(ticket, events).await;
        assert!(refused.is_err(), "the ticket item was written: {refused:?}");
    }

    async fn escalation_queue(&self) -> EscalationRoute {
        let url = self
            .sqs()
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

    fn reports(&self) -> Arc<dyn ReportStore> {
        Arc::new(self.dynamo_reports(Arc::new(Projector::new(&crate::support::default_rules()))))
    }

    async fn feed_reports(&self) -> usize {
        let records = self.stream.records(false).await;
        self.hand_over(&self.report_feed(), records).await
    }

    async fn redeliver_reports(&self) -> usize {
        let records = self.stream.records(true).await;
        self.hand_over(&self.report_feed(), records).await
    }

    async fn list_folded_events(&self, ticket: &TicketId) {
        let client = aws_sdk_dynamodb::Client::new(&self.config);
        let events = client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :events)")
            .expression_attribute_values(":pk", AttributeValue::S(format!("T#{}", ticket.0)))
            .expression_attribute_values(":events", AttributeValue::S("E#".into()))
            .send()
            .await
            .expect("the ticket's events");
        // The ids the feed gives: an item's sort key, or `<sk>.<nnn>` for events stored together.
        let ids: Vec<String> = events
            .items
            .unwrap_or_default()
            .iter()
            .flat_map(|item| {
                let sk = item["sk"].as_s().unwrap().clone();
                match item.get("docs") {
                    Some(docs) => {
                        let n = serde_json::from_str::<Vec<serde_json::Value>>(docs.as_s().unwrap()).unwrap().len();
                        (0..n).map(|i| format!("{sk}.{i:03}")).collect()
                    }
                    None => vec![sk],
                }
            })
            .collect();
        let got = client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("RF#{}", ticket.0)))
            .key("sk", AttributeValue::S("FACTS".into()))
            .send()
            .await
            .expect("the ticket's report facts");
        let mut item = got.item.expect("report facts");
        let mut facts: serde_json::Value = serde_json::from_str(item["doc"].as_s().unwrap()).unwrap();
        facts.as_object_mut().unwrap().remove("folded").expect("facts in the current form");
        facts["applied"] = serde_json::json!(ids);
        item.insert("doc".into(), AttributeValue::S(facts.to_string()));
        client.put_item().table_name(&self.table).set_item(Some(item)).send().await.expect("facts rewritten");
    }

    async fn escalation_bodies(&self, route: &EscalationRoute) -> Vec<String> {
        let EscalationRoute::Queue { queue } = route else { panic!("not a queue route") };
        self.sqs()
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

/// Fails every DynamoDB `UpdateItem` before it is sent (a process that dies just before it).
#[derive(Debug)]
struct DiesBeforeUpdateItem;

impl aws_sdk_dynamodb::config::Intercept for DiesBeforeUpdateItem {
    fn name(&self) -> &'static str {
        "DiesBeforeUpdateItem"
    }

    fn read_before_transmit(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        match cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>() {
            Some(op) if op.name() == "UpdateItem" => Err("the process died".into()),
            _ => Ok(()),
        }
    }
}
