//! The AWS adapters (cargo feature `aws`): DynamoDB for tickets, events and idempotency records
//! (single table, see `docs/dynamodb.md`), SQS for step queues, SES for mail.
//!
//! Build the SDK configuration once per cold start ([`load_config`]) and share the clients.

mod call_count;
mod dedup;
pub mod email_inbound;
mod escalation;
pub mod http_api;
pub mod https;
mod incidents;
mod kb_candidates;
pub mod lambda;
mod mailer;
pub mod partitions;
mod queue;
pub mod reply_queue;
pub mod report_export;
pub mod reports;
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
pub use warm_up::{warm_up, warm_up_mail};

use crate::ports::StoreError;
use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;

/// The SDK configuration from the environment (credentials, region), optionally aimed at another
/// endpoint (moto in tests, LocalStack on a laptop). HTTPS trusts the compiled-in roots
/// ([`https`]), so no certificate file is read or parsed at a cold start.
pub async fn load_config(endpoint: Option<&str>) -> SdkConfig {
    let mut loader = config_loader();
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The SDK's configuration loader with Sportello's HTTPS client ([`https::sdk_http_client`]).
/// The SDK crates are built without a default HTTPS client, so every configuration starts here.
/// The credentials and the region come from the environment when they are there (on Lambda they
/// always are: see [`from_environment`]), else from the SDK's default chains.
pub fn config_loader() -> aws_config::ConfigLoader {
    let loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https::sdk_http_client());
    from_environment(loader, &|name| crate::settings::environment().get(name))
}

/// `loader` with the credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) and the region (`AWS_REGION`) that Lambda puts in a function's
/// environment, when all of them but the token are set. The SDK's default chains would find the
/// same values first, but only after building every provider they might fall back to (profile
/// files, SSO, web identity, ECS, IMDS); that was most of a cold start's SDK setup. On Lambda
/// (`AWS_LAMBDA_FUNCTION_NAME`) the shared config and credentials files are not looked for
/// either: a function has none. Elsewhere the SDK still reads them for its other settings.
fn from_environment(
    loader: aws_config::ConfigLoader,
    var: &dyn Fn(&str) -> Option<String>,
) -> aws_config::ConfigLoader {
    let (Some(key), Some(secret), Some(region)) =
        (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"), var("AWS_REGION"))
    else {
        return loader;
    };
    let credentials =
        aws_sdk_dynamodb::config::Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "Environment");
    let loader = loader.region(aws_config::Region::new(region)).credentials_provider(credentials);
    if var("AWS_LAMBDA_FUNCTION_NAME").is_none() {
        return loader;
    }
    // aws-config names the file set by these aliases (of aws-runtime's types, not a dependency
    // of ours); one empty config file stands for "no files".
    #[allow(deprecated)]
    let no_files = {
        use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
        ProfileFiles::builder().with_contents(ProfileFileKind::Config, "").build()
    };
    loader.profile_files(no_files)
}

/// The SDK clients the ports share, built once per cold start from one configuration (and so
/// over one HTTP connection pool). The S3 client is built by the functions that use it
/// ([`Clients::s3`]), so the others' binaries leave S3's SDK out.
#[derive(Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// Built when first used: five of the ten functions send no mail.
    pub ses: SesClient,
    /// What [`Clients::s3`] and [`Clients::secrets`] build their clients from.
    config: SdkConfig,
    counter: Option<CallCounter>,
}

/// The SES client, built at its first use and then shared by every clone. A function that sends
/// mail builds it at its init ([`crate::lambda`]); the others (API, chat, voice, notices,
/// reports) never do, and pay neither its construction (about 0.1 ms of a cold start) nor its
/// warm-up's TLS handshake.
#[derive(Clone)]
pub struct SesClient {
    config: SdkConfig,
    counter: Option<CallCounter>,
    client: std::sync::Arc<std::sync::OnceLock<aws_sdk_ses::Client>>,
}

impl SesClient {
    fn new(config: &SdkConfig, counter: Option<&CallCounter>) -> Self {
        Self { config: config.clone(), counter: counter.cloned(), client: Default::default() }
    }

    /// The client, built now if it was not yet.
    pub fn get(&self) -> &aws_sdk_ses::Client {
        self.client.get_or_init(|| {
            let mut config = aws_sdk_ses::config::Builder::from(&self.config);
            if let Some(counter) = &self.counter {
                config = config.interceptor(counter.clone());
            }
            aws_sdk_ses::Client::from_conf(config.build())
        })
    }

    /// Whether it was built (by a use, or by the init of a function that sends mail).
    pub fn is_built(&self) -> bool {
        self.client.get().is_some()
    }
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
            ses: SesClient::new(config, None),
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
            ses: SesClient::new(config, Some(counter)),
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

    /// A Secrets Manager client over the same configuration (and counter), for the secret
    /// settings read once at init. Built only by an init that names secrets
    /// (`SPORTELLO_SECRETS`): most functions name none, and each client's construction is part
    /// of the cold start.
    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        let mut config = aws_sdk_secretsmanager::config::Builder::from(&self.config);
        if let Some(counter) = &self.counter {
            config = config.interceptor(counter.clone());
        }
        aws_sdk_secretsmanager::Client::from_conf(config.build())
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::ProvideCredentials;
    use std::collections::BTreeMap;

    async fn loaded(vars: &[(&str, &str)]) -> SdkConfig {
        let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https::sdk_http_client());
        from_environment(loader, &|name| vars.get(name).cloned()).load().await
    }

    #[tokio::test]
    async fn lambdas_credentials_and_region_are_taken_from_its_environment() {
        let on_lambda = [
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_REGION", "eu-south-1"),
            ("AWS_LAMBDA_FUNCTION_NAME", "sportello-api"),
        ];
        for vars in [&on_lambda[..], &on_lambda[..4]] {
            let config = loaded(vars).await;
            assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-south-1"));
            let provider = config.credentials_provider().expect("a credentials provider");
            let credentials = provider.provide_credentials().await.expect("credentials");
            assert_eq!(credentials.access_key_id(), "ASIAEXAMPLE");
            assert_eq!(credentials.secret_access_key(), "secret");
            assert_eq!(credentials.session_token(), Some("token"));
        }
    }
}
