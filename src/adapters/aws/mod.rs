//! The AWS adapters (cargo feature `aws`): DynamoDB for tickets, events and idempotency records
//! (single table, see `docs/dynamodb.md`), SQS for step queues, SES for mail.
//!
//! Build the SDK configuration once per cold start ([`load_config`]) and share the clients.

mod call_count;
mod dedup;
pub mod email_inbound;
mod escalation;
mod incidents;
mod kb_candidates;
pub mod lambda;
mod mailer;
mod queue;
pub mod reply_queue;
pub mod report_export;
pub mod reports;
pub mod roots;
pub mod secrets;
pub mod table;
mod tickets;
pub mod trace;
mod warm_up;

pub use call_count::{CallCounter, IamAccess, Resource, Units};
pub use escalation::AwsEscalation;
pub use incidents::DynamoIncidents;
pub use kb_candidates::DynamoKbCandidates;
pub use mailer::SesMailer;
pub use queue::{SqsQueue, create_queue_with_dlq};
pub use report_export::S3Export;
pub use reports::DynamoReports;
pub use tickets::DynamoStore;
pub use warm_up::warm_up;

use crate::ports::StoreError;
use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;

/// The SDK configuration from the environment (credentials, region), optionally aimed at another
/// endpoint (moto in tests, LocalStack on a laptop). HTTPS trusts the compiled-in roots
/// ([`roots`]), so no certificate file is read at a cold start.
pub async fn load_config(endpoint: Option<&str>) -> SdkConfig {
    let mut loader = config_loader();
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The SDK's configuration loader with Sportello's HTTPS client ([`roots::sdk_http_client`]).
/// The SDK crates are built without a default HTTPS client, so every configuration starts here.
pub fn config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(roots::sdk_http_client())
}

/// The SDK clients the ports share, built once per cold start from one configuration (and so
/// over one HTTP connection pool). The S3 client is built by the functions that use it
/// ([`Clients::s3`]), so the others' binaries leave S3's SDK out.
#[derive(Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_ses::Client,
    /// Secret settings, read once at init.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// What [`Clients::s3`] builds its client from.
    config: SdkConfig,
    counter: Option<CallCounter>,
}

/// S3 by path (`http://host/bucket/key`) when the endpoint is another one (moto, LocalStack),
/// which serves no bucket subdomains; by virtual host on AWS.
fn s3_config(config: &SdkConfig) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some())
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            ses: aws_sdk_ses::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            config: config.clone(),
            counter: None,
        }
    }

    /// The same clients, with every API call counted in `counter` (benchmarks, tests).
    pub fn counted(config: &SdkConfig, counter: &CallCounter) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(config).interceptor(counter.clone()).build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(config).interceptor(counter.clone()).build(),
            ),
            ses: aws_sdk_ses::Client::from_conf(
                aws_sdk_ses::config::Builder::from(config).interceptor(counter.clone()).build(),
            ),
            secrets: aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(config).interceptor(counter.clone()).build(),
            ),
            config: config.clone(),
            counter: Some(counter.clone()),
        }
    }

    /// An S3 client over the same configuration (and counter): inbound mail SES stored, the
    /// analysts' export. Built by the functions that use S3 only, at their init.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let mut config = s3_config(&self.config);
        if let Some(counter) = &self.counter {
            config = config.interceptor(counter.clone());
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }
}

/// Every port of the engine on AWS: DynamoDB (tickets, events, idempotency), the SQS step queue
/// and its dead-letter queue, SES for mail and escalations. `dedup_window` is how long a
/// published step's deduplication id is remembered.
pub fn ports(
    config: &SdkConfig,
    table: &str,
    step_queue_url: impl Into<String>,
    step_dlq_url: impl Into<String>,
    dedup_window: std::time::Duration,
) -> crate::engine::Ports {
    ports_with(&Clients::new(config), table, step_queue_url, step_dlq_url, dedup_window)
}

/// [`ports`] over clients built beforehand (shared with a warm-up, or counted).
pub fn ports_with(
    clients: &Clients,
    table: &str,
    step_queue_url: impl Into<String>,
    step_dlq_url: impl Into<String>,
    dedup_window: std::time::Duration,
) -> crate::engine::Ports {
    use std::sync::Arc;
    let Clients { dynamodb, sqs, ses, .. } = clients.clone();
    let store = Arc::new(DynamoStore::new(dynamodb.clone(), table));
    crate::engine::Ports {
        tickets: store.clone(),
        events: store.clone(),
        idempotency: store,
        steps: Arc::new(SqsQueue::new(
            sqs.clone(),
            dynamodb.clone(),
            table,
            "steps",
            step_queue_url,
            step_dlq_url,
            dedup_window,
        )),
        mailer: Arc::new(SesMailer::new(ses.clone())),
        escalations: Arc::new(AwsEscalation::new(sqs, ses, dynamodb.clone(), table)),
        incidents: Arc::new(DynamoIncidents::new(dynamodb.clone(), table)),
        kb_candidates: Arc::new(DynamoKbCandidates::new(dynamodb, table)),
        reports: Arc::new(crate::ports::NoReports),
    }
}

/// Keys per `BatchGetItem` (DynamoDB's limit).
const BATCH_GET_KEYS: usize = 100;
/// Requests for one batch of keys before giving up on those left unprocessed.
const BATCH_GET_TRIES: u32 = 6;

/// The items of `keys` that exist, in no particular order: `BatchGetItem`, 100 keys a request
/// (strongly consistent), asking again with back-off for the keys DynamoDB left unprocessed.
pub(crate) async fn batch_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
) -> Result<Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>, StoreError> {
    let mut items = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH_GET_KEYS) {
        let mut pending = Some(
            aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        );
        let mut tries = 0;
        while let Some(request) = pending.take() {
            tries += 1;
            let out = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| unavailable("BatchGetItem", e))?;
            items.extend(out.responses.and_then(|mut r| r.remove(table)).unwrap_or_default());
            pending = out.unprocessed_keys.and_then(|mut u| u.remove(table)).filter(|k| !k.keys().is_empty());
            if pending.is_some() {
                if tries >= BATCH_GET_TRIES {
                    return Err(StoreError::Unavailable("BatchGetItem: keys left unprocessed after retries".into()));
                }
                // Unprocessed keys mean the table is throttled: back off before asking again.
                tokio::time::sleep(std::time::Duration::from_millis(50 << tries)).await;
            }
        }
    }
    Ok(items)
}

/// An SDK call failed in a way the caller can only retry. The text names the operation and the
/// service's error code; AWS error messages name attributes, not their values.
pub(crate) fn unavailable<E, R>(op: &str, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(format!("{op}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))
}
