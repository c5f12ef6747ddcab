//! What every Lambda function of Sportello shares (feature `aws`): its init, built once per cold
//! start from its settings, and the handler it runs.
//!
//! Each binary under `functions/` is one [`Function`]: `main` calls [`run`] with that function's
//! own builder ([`api`], [`chat`], ... [`reports`]), so its binary links only its own handler and
//! the engine's parts it uses, not every function's (smaller zips; see BENCHMARKS.md). The init
//! ([`Init`]) reads the settings the function needs and nothing else (every variable is listed
//! in [`crate::settings::SETTINGS`]), loads the secrets named by `SPORTELLO_SECRETS` from Secrets
//! Manager, opens the AWS clients and starts warming their connections; the builder then makes
//! the engine and the handler. On an on-demand cold start the first event is asked for without
//! waiting for the warm-up (see [`run`]). Tests run [`build`], which picks the same builder by
//! [`Function`], on moto with the environment the SAM template gives each function
//! (`tests/it/infra/grants.rs`).
//!
//! Settings common to all: `SPORTELLO_TABLE`, `SPORTELLO_STEP_QUEUE_URL` (and
//! `SPORTELLO_STEP_DLQ_URL`, default `<url>-dlq`), `SPORTELLO_RULES` (default `rules`, then
//! `/var/task/rules`; its `rulebook.compiled` when current, else the YAML: see
//! [`crate::rules::compiled`]), `RUST_LOG` or `SPORTELLO_LOG` and `SPORTELLO_LOG_FORMAT` (JSON lines unless
//! `text`; EMF metrics in namespace `SPORTELLO_METRICS_NAMESPACE`, default `Sportello`: see
//! [`crate::logging`]), and
//! `AWS_ENDPOINT_URL` for moto or LocalStack. Functions
//! that send mail check at init that their senders are on `SPORTELLO_MAIL_DOMAIN`, the SES
//! identity their policy covers.

use crate::adapters::aws::email_inbound::{StoredMail, handle_mail_batch};
use crate::adapters::aws::lambda::{SqsBatchResponse, SqsEvent, handle_batch_idempotent};
use crate::adapters::aws::reply_queue::{NoticeDeadLetters, handle_notice_batch};
use crate::adapters::aws::{Clients, http_api, load_config, warm_up, warm_up_mail};
use crate::app::AppBuilder;
use crate::engine::{Engine, EscalationSettings, handle_step};
use crate::http::AppState;
use crate::http::served;
use crate::rules::Rules;
use crate::settings::Settings;
use axum::Router;
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::request::LambdaRequest;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

pub type Error = lambda_http::Error;

/// How long a published step's deduplication id is remembered.
const STEP_DEDUP_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// The init-time warm-up's limit per call: well within Lambda's 10 s init, and a handshake
/// that takes longer is better left to the first request.
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(2);

/// The functions of `infra/template.yaml`, one per binary under `functions/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    Api,
    Chat,
    Voice,
    Operator,
    EmailHttp,
    EmailSqs,
    Triage,
    Notices,
    Clock,
    Reports,
}

/// Which senders a function's init checks against the SES identity its policy covers.
struct Sends {
    /// Mail from the rulebook's address (acknowledgements, answers).
    requesters: bool,
    /// Mail to escalation targets (from `SPORTELLO_ESCALATION_FROM`).
    escalations: bool,
}

impl Function {
    pub const ALL: [Function; 10] = [
        Function::Api,
        Function::Chat,
        Function::Voice,
        Function::Operator,
        Function::EmailHttp,
        Function::EmailSqs,
        Function::Triage,
        Function::Notices,
        Function::Clock,
        Function::Reports,
    ];

    /// The binary (and SAM `BuildProperties.Binary`) that runs it.
    pub fn binary(self) -> &'static str {
        match self {
            Function::Api => "sportello-api",
            Function::Chat => "sportello-chat",
            Function::Voice => "sportello-voice",
            Function::Operator => "sportello-operator",
            Function::EmailHttp => "sportello-email-http",
            Function::EmailSqs => "sportello-email-sqs",
            Function::Triage => "sportello-triage",
            Function::Notices => "sportello-notices",
            Function::Clock => "sportello-clock",
            Function::Reports => "sportello-reports",
        }
    }

    pub fn from_binary(binary: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.binary() == binary)
    }

    /// Whether it sends any mail (so builds its SES client, and warms SES up, at its init).
    fn sends_mail(self) -> bool {
        let sends = self.sends();
        sends.requesters || sends.escalations
    }

    fn sends(self) -> Sends {
        let (requesters, escalations) = match self {
            Function::Api | Function::Chat | Function::Voice | Function::Notices | Function::Reports => (false, false),
            Function::Operator => (true, true),
            Function::EmailHttp | Function::EmailSqs | Function::Triage => (true, false),
            Function::Clock => (false, true),
        };
        Sends { requesters, escalations }
    }
}

/// How long each part of a function's init took, logged once at its end (`init done`, in ms):
/// what Lambda's Init Duration is made of, apart (CloudWatch, and `benches/coldstart.rs`).
#[derive(Debug, Default, Clone, Copy)]
pub struct InitTimes {
    /// The SDK's configuration loaded and its clients built.
    pub sdk_config: Duration,
    /// Of `sdk_config`, the clients' construction (each service's configuration and runtime
    /// plugins, checked).
    pub sdk_clients: Duration,
    /// The warm-up tasks' first turn on the init's thread: their requests built and signed,
    /// their DNS look-ups started.
    pub warm_up_start: Duration,
    /// The secrets read from Secrets Manager (nothing when `SPORTELLO_SECRETS` names none).
    pub secrets: Duration,
    /// The rulebook loaded (its compiled form, or the YAML checked).
    pub rulebook: Duration,
    /// The warm-up calls, from their start to their end (the longer of DynamoDB's and SQS's task
    /// and, in a function that sends mail, SES's): they run beside the secrets' read,
    /// the rulebook's load and the handler's build, not after them (once waited for).
    pub warm_up: Duration,
    /// What the init waited for the warm-up calls once everything else was ready: nothing on an
    /// on-demand cold start (see [`run`]).
    pub warm_up_wait: Duration,
}

/// What [`run`] reads of a function's settings before its [`Init`]: the log's, first, so that
/// what the init says (the warm-up's failures among it) is logged (`RUST_LOG`, `SPORTELLO_LOG`,
/// and `SPORTELLO_METRICS_NAMESPACE` for the EMF metrics: the SAM template names one per stack,
/// and its alarms and dashboard read that one), and whether the init waits for its warm-up
/// calls ([`waits_for_warm_up`]). The tests that check what each function reads
/// (`tests/it/infra/grants.rs`) read them with the same [`RunSettings::read`].
#[derive(Debug)]
pub struct RunSettings {
    rust_log: Option<String>,
    sportello_log: Option<String>,
    metrics_namespace: Option<String>,
    waits_for_warm_up: bool,
}

impl RunSettings {
    pub fn read(settings: &Settings) -> RunSettings {
        RunSettings {
            rust_log: settings.get("RUST_LOG"),
            sportello_log: settings.get("SPORTELLO_LOG"),
            metrics_namespace: settings.get("SPORTELLO_METRICS_NAMESPACE"),
            waits_for_warm_up: waits_for_warm_up(settings),
        }
    }

    /// The process's log and metrics, as [`crate::logging`] makes them for a Lambda function.
    fn install_log(&mut self) {
        if let Some(namespace) = &self.metrics_namespace {
            crate::logging::set_metrics_namespace(namespace);
        }
        crate::logging::init_with(true, self.rust_log.take(), self.sportello_log.take());
    }
}

/// The warm-up calls, started when the clients exist (and SES's when the function is known to
/// send mail); each task reports how long it took.
type Warming = tokio::task::JoinHandle<Duration>;

/// What every function's init starts from: its settings (secrets loaded) and the AWS clients.
pub struct Init {
    /// The function being started: its builder must be this function's ([`engine_for`] checks).
    pub function: Function,
    pub settings: Settings,
    pub clients: Clients,
    /// The engine's clock: the system's, unless a test sets another.
    pub clock: Option<crate::engine::Clock>,
    /// The warm-up calls under way, until [`Init::warmed`] waits for them.
    warming: Mutex<Vec<Warming>>,
    times: Mutex<InitTimes>,
}

impl Init {
    /// `function`'s, from the process environment: the SDK configuration and clients, then the
    /// secrets.
    pub async fn from_env(function: Function) -> Result<Init, Error> {
        Init::from_settings(function, Settings::from_env()).await
    }

    /// `function`'s, from settings already read: the SDK configuration and clients, then the
    /// secrets.
    pub async fn from_settings(function: Function, settings: Settings) -> Result<Init, Error> {
        let started = Instant::now();
        Init::check_sdk_partition(&settings)?;
        let endpoint = settings.get("AWS_ENDPOINT_URL");
        let config = load_config(endpoint.as_deref()).await;
        let loaded = started.elapsed();
        let clients = Clients::new(&config);
        let sdk_config = started.elapsed();
        let init = Init::new(function, settings, clients).await?;
        let mut times = init.times();
        times.sdk_config += sdk_config;
        times.sdk_clients += sdk_config - loaded;
        drop(times);
        Ok(init)
    }

    /// Refuses a partition table the SDK could not read ([`crate::adapters::aws::partitions`]):
    /// checked before the first client is built, which is when the SDK reads it.
    pub fn check_sdk_partition(settings: &Settings) -> Result<(), Error> {
        use crate::adapters::aws::partitions::{CUSTOM_PARTITION_VAR, check_custom_partition};
        // A blank value is unset in the settings, but the SDK reads the variable itself, and a
        // blank one would make it panic.
        let blank = || crate::settings::blank_in_environment(CUSTOM_PARTITION_VAR).then(String::new);
        let value = settings.get(CUSTOM_PARTITION_VAR).or_else(blank);
        check_custom_partition(value)?;
        Ok(())
    }

    /// `function`'s, from given settings and clients (tests give moto's, and counted ones). The
    /// warm-up calls start here, before the secrets are read, and run while the rest of the init
    /// does. A function that sends mail builds its SES client here (counted with the other
    /// clients) and warms SES up on a task of its own; the others never build it.
    pub async fn new(function: Function, mut settings: Settings, clients: Clients) -> Result<Init, Error> {
        let mut warming: Vec<Warming> = start_warm_up(&settings, &clients).into_iter().collect();
        let mut times = InitTimes::default();
        if function.sends_mail() {
            let started = Instant::now();
            let ses = clients.ses.get().clone();
            times.sdk_clients = started.elapsed();
            times.sdk_config = times.sdk_clients;
            warming.push(start_mail_warm_up(ses));
        }
        // The functions run on tokio's current-thread runtime (see [`run`]): the warm-up tasks
        // run only when the init awaits. One turn now lets them build and sign their requests
        // and start their DNS look-ups (on blocking threads), so their connections open while
        // the rest of the init runs instead of after it.
        let started = Instant::now();
        tokio::task::yield_now().await;
        times.warm_up_start = started.elapsed();
        let started = Instant::now();
        if settings.get(crate::adapters::aws::secrets::SECRETS_ENV).is_some_and(|named| !named.trim().is_empty()) {
            crate::adapters::aws::secrets::load_secrets(&clients.secrets(), &mut settings).await?;
        }
        times.secrets = started.elapsed();
        Ok(Init { function, settings, clients, clock: None, warming: Mutex::new(warming), times: Mutex::new(times) })
    }

    fn times(&self) -> std::sync::MutexGuard<'_, InitTimes> {
        self.times.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The init's times so far (the warm-up's once [`Init::warmed`] waited for it).
    pub fn times_so_far(&self) -> InitTimes {
        *self.times()
    }

    /// Waits for the warm-up calls (each has its own time limit) and returns the init's times:
    /// `warm_up` is the longest of their tasks.
    pub async fn warmed(&self) -> InitTimes {
        let warming = std::mem::take(&mut *self.warming.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if !warming.is_empty() {
            let started = Instant::now();
            let mut took = Duration::ZERO;
            for task in warming {
                took = took.max(task.await.unwrap_or_default());
            }
            let mut times = self.times();
            times.warm_up = took;
            times.warm_up_wait = started.elapsed();
        }
        *self.times()
    }

    fn var(&self) -> impl Fn(&str) -> Option<String> + '_ {
        self.settings.lookup()
    }
}

/// The warm-up calls (see [`warm_up`]) on their own task, when the settings name a table and a
/// step queue (without them the init fails anyway): a cold start pays its TLS handshakes beside
/// the rest of its work instead of after it. The task logs `warm-up done` with its time when it
/// ends, which on an on-demand cold start is after the init (see [`run`]).
fn start_warm_up(settings: &Settings, clients: &Clients) -> Option<Warming> {
    let table = settings.get("SPORTELLO_TABLE")?;
    let queue_url = settings.get("SPORTELLO_STEP_QUEUE_URL")?;
    let clients = clients.clone();
    Some(tokio::spawn(async move {
        let started = Instant::now();
        warm_up(&clients, &table, &queue_url, WARM_UP_TIMEOUT).await;
        let took = started.elapsed();
        tracing::info!(warm_up_ms = took.as_secs_f64() * 1000.0, "warm-up done");
        took
    }))
}

/// SES's warm-up call on its own task, for a function that sends mail.
fn start_mail_warm_up(ses: aws_sdk_ses::Client) -> Warming {
    tokio::spawn(async move {
        let started = Instant::now();
        warm_up_mail(&ses, WARM_UP_TIMEOUT).await;
        let took = started.elapsed();
        tracing::info!(mail_warm_up_ms = took.as_secs_f64() * 1000.0, "mail warm-up done");
        took
    })
}

/// Whether the init waits for its warm-up calls before asking for the first event: only when
/// Lambda runs it ahead of any request (provisioned concurrency, `AWS_LAMBDA_INITIALIZATION_TYPE`),
/// where the wait delays no caller. On an on-demand cold start the request is already waiting,
/// and the SDK's connection pool makes waiting pointless: a request that finds no open
/// connection opens its own and, meanwhile, takes the warm-up's as soon as that one is free
/// (hyper-util's pool races the two), so the first invocation never waits longer for a
/// connection than it would with no warm-up at all, and usually less. Waiting would only move
/// the warm-up's round trips from the invocation's time into the Init Duration, and add the part
/// of them the invocation's own work would have hidden.
fn waits_for_warm_up(settings: &Settings) -> bool {
    settings.get("AWS_LAMBDA_INITIALIZATION_TYPE").as_deref() == Some("provisioned-concurrency")
}

/// The rulebook folder: `SPORTELLO_RULES`, or `rules` beside the binary's working directory, or
/// where a bundled function finds its files.
fn rules_path(settings: &Settings) -> PathBuf {
    if let Some(p) = settings.get("SPORTELLO_RULES") {
        return PathBuf::from(p);
    }
    ["rules", "/var/task/rules"].into_iter().map(PathBuf::from).find(|p| p.exists()).unwrap_or_else(|| "rules".into())
}

/// What a builder's optional engine parts are made from (see [`engine_for`]).
struct Parts<'a> {
    init: &'a Init,
    rules: &'a Arc<Rules>,
    table: &'a str,
    tickets: Arc<dyn crate::ports::TicketStore>,
}

/// The engine over DynamoDB, SQS and SES, with what `function` needs of the settings. `parts`
/// adds what only some functions have (report figures, webhooks, reply tokens): each builder
/// names its own, so a binary links only those.
async fn engine_for(
    function: Function,
    init: &Init,
    parts: impl FnOnce(AppBuilder, Parts<'_>) -> Result<AppBuilder, Error>,
) -> Result<Engine, Error> {
    // A `main` that names one function and another's builder would warm up and check mail for
    // the wrong one: refused at the init, where a deployment's first start shows it.
    if function != init.function {
        return Err(format!(
            "{} was started with the builder of {}: its main must pair Function::{:?} with its own builder",
            init.function.binary(),
            function.binary(),
            init.function
        )
        .into());
    }
    let settings = &init.settings;
    let table = settings.required("SPORTELLO_TABLE")?;
    let queue_url = settings.required("SPORTELLO_STEP_QUEUE_URL")?;
    let dlq_url = settings.get("SPORTELLO_STEP_DLQ_URL").unwrap_or_else(|| format!("{queue_url}-dlq"));
    let path = rules_path(settings);
    let started = Instant::now();
    let rules = Rules::load_compiled_or_yaml(&path).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("rulebook {} has errors:\n{}", path.display(), text.join("\n"))
    })?;
    init.times().rulebook = started.elapsed();
    let sends = function.sends();
    if function.sends_mail() {
        let from = sends.escalations.then(|| escalation_settings(init, &rules).mail_from);
        let requesters = rules.email.as_ref().map(|e| e.from.as_str()).filter(|_| sends.requesters);
        let senders = requesters.into_iter().chain(from.as_deref());
        check_mail_domain(settings.get("SPORTELLO_MAIL_DOMAIN").as_deref(), senders)?;
    }
    let ports = crate::adapters::aws::ports_with(&init.clients, &table, queue_url, dlq_url, STEP_DEDUP_WINDOW);
    let tickets = ports.tickets.clone();
    let rules = Arc::new(rules);
    let mut app = AppBuilder::new(rules.clone(), ports);
    if let Some(clock) = &init.clock {
        app = app.clock(clock.clone());
    }
    let app = parts(app, Parts { init, rules: &rules, table: &table, tickets })?;
    let engine = app.engine();
    tracing::info!(function = function.binary(), rulebook = %engine.rules.file, "engine ready");
    Ok(engine)
}

/// The engine as it is: none of the optional parts.
fn no_parts(app: AppBuilder, _: Parts<'_>) -> Result<AppBuilder, Error> {
    Ok(app)
}

/// The report aggregates the reports function keeps, read by the operator API's reports.
fn report_figures(app: AppBuilder, parts: &Parts<'_>) -> AppBuilder {
    let projector = Arc::new(crate::reports::Projector::new(parts.rules));
    let dynamodb = parts.init.clients.dynamodb.clone();
    let reports = crate::adapters::aws::DynamoReports::new(dynamodb, parts.table, parts.tickets.clone(), projector);
    app.reports(Arc::new(reports))
}

/// Answers to API tickets go to the client's webhook (queued, or posted).
fn webhooks(app: AppBuilder, parts: &Parts<'_>) -> AppBuilder {
    let sender = Arc::new(crate::adapters::webhook_http::HttpWebhookSender::new());
    app.webhooks(crate::engine::webhook::Webhooks::from_vars(parts.rules, sender, &parts.init.var()))
}

/// E-mail reply tokens: minted for escalations and reminders, checked on inbound mail.
fn reply_tokens(app: AppBuilder, parts: &Parts<'_>) -> Result<AppBuilder, Error> {
    let tokens = crate::engine::reply_token::ReplyTokens::from_vars(&parts.init.var())?;
    if tokens.is_none() {
        tracing::warn!("SPORTELLO_REPLY_TOKEN_KEY is not set: e-mail targets' replies cannot be matched");
    }
    Ok(app.reply_tokens(tokens))
}

fn escalation_settings(init: &Init, rules: &Rules) -> EscalationSettings {
    EscalationSettings::from_vars(rules, &init.var())
}

/// Every address a function sends from must be on the SES identity its policy grants
/// (`ses:SendRawEmail` on `identity/<domain>`), or every mail it sends is refused: say so at init.
pub fn check_mail_domain<'a>(domain: Option<&str>, senders: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let Some(domain) = domain.map(|d| d.trim().to_ascii_lowercase()) else {
        tracing::warn!("SPORTELLO_MAIL_DOMAIN is not set: the senders are not checked against the SES identity");
        return Ok(());
    };
    for sender in senders {
        let sender_domain = sender.rsplit_once('@').map(|(_, d)| d.trim().to_ascii_lowercase());
        if sender_domain.as_deref() != Some(domain.as_str()) {
            return Err(format!(
                "the sender `{sender}` is not on the mail domain `{domain}` that SES may send from \
                 (SPORTELLO_MAIL_DOMAIN, the template's MailDomain): set MailDomain to the rulebook's \
                 `email.from` domain, or change the sender"
            ));
        }
    }
    Ok(())
}

/// What a function does with each invocation: the event as Lambda hands it, the answer Lambda
/// returns. Each builder below returns its own kind, so a function's binary links only that one.
pub trait Invoke {
    fn invoke(&self, event: LambdaEvent<Value>) -> impl Future<Output = Result<Value, Error>>;
}

/// API Gateway (HTTP API) events through an axum router.
pub struct HttpEvents(pub Router);

/// Amazon Connect contact-flow events, or HTTP API events.
pub struct VoiceEvents {
    pub engine: Engine,
    pub app: Router,
}

/// Step batches from the step queue.
pub struct StepBatches(pub Engine);

/// SES notifications from the inbound-mail queue (the mail itself read from S3).
pub struct MailBatches {
    pub engine: Engine,
    pub stored: StoredMail,
}

/// Resolution notices from the reply queue.
pub struct NoticeBatches {
    pub engine: Engine,
    pub dead_letters: Option<NoticeDeadLetters>,
}

/// The clock's tick.
pub struct ClockTicks {
    pub engine: Engine,
    pub settings: EscalationSettings,
}

/// Any function, built: what [`build`] returns, for tests that build each function by name.
pub enum Handler {
    Http(HttpEvents),
    Voice(VoiceEvents),
    Steps(StepBatches),
    Mail(MailBatches),
    Notices(NoticeBatches),
    Clock(ClockTicks),
    /// New events from the tickets table's stream: folded into the report aggregates, and
    /// written to the analysts' export when a bucket is set.
    Reports(ReportFeed),
}

impl Handler {
    /// One invocation, as the function's binary would run it (in its X-Ray trace).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        match self {
            Handler::Http(h) => traced(h, event).await,
            Handler::Voice(h) => traced(h, event).await,
            Handler::Steps(h) => traced(h, event).await,
            Handler::Mail(h) => traced(h, event).await,
            Handler::Notices(h) => traced(h, event).await,
            Handler::Clock(h) => traced(h, event).await,
            Handler::Reports(h) => traced(h, event).await,
        }
    }
}

/// What the reports function does with a batch of the table's stream.
pub struct ReportFeed {
    pub reports: crate::adapters::aws::DynamoReports,
    pub export: Option<crate::adapters::aws::S3Export>,
    pub projector: Arc<crate::reports::Projector>,
}

impl ReportFeed {
    /// One batch: the export first (a batch retried writes the same objects), then the fold.
    /// Answers Lambda's partial batch response: the first record of the first ticket that
    /// could not be folded, so the batch is retried from there (what was folded is not folded
    /// twice).
    pub async fn handle(&self, payload: &Value) -> Result<Value, Error> {
        let records = crate::adapters::aws::reports::stream_records(payload)?;
        // Events written ahead of a ticket write count once the ticket records it.
        let (records, wait_from) = self.reports.committed(records, jiff::Timestamp::now()).await;
        let events: Vec<(String, crate::reports::FeedEvent)> =
            records.iter().flat_map(|r| r.events.iter().map(|e| (r.sequence.clone(), e.clone()))).collect();
        let first_of = |pick: &dyn Fn(&crate::reports::FeedEvent) -> bool| {
            events.iter().find(|(_, e)| pick(e)).map(|(seq, _)| seq.clone())
        };
        if let Some(export) = &self.export
            && let Err(e) = export.write(&events, &self.projector).await
        {
            tracing::warn!(error = %e, "reports: the export failed; the batch is retried");
            let first = records.first().map(|r| r.sequence.clone()).or(wait_from);
            return Ok(batch_failures(first.into_iter().collect()));
        }
        let failed = self.reports.fold(events.iter().map(|(_, e)| e.clone()).collect()).await;
        let retry_from =
            failed.iter().filter_map(|(ticket, _)| first_of(&|e| &e.event.ticket_id == ticket)).chain(wait_from).min();
        tracing::info!(records = records.len(), events = events.len(), failed = failed.len(), "reports: batch folded");
        Ok(batch_failures(retry_from.into_iter().collect()))
    }
}

fn batch_failures(sequences: Vec<String>) -> Value {
    let items: Vec<Value> = sequences.into_iter().map(|s| serde_json::json!({"itemIdentifier": s})).collect();
    serde_json::json!({"batchItemFailures": items})
}

/// Builds the function `init` starts, with the builder its binary runs, and waits for the init's
/// warm-up calls, as [`run`] does with provisioned concurrency: so that a test's count of AWS
/// calls per invocation holds that invocation's calls only.
pub async fn build(init: &Init) -> Result<Handler, Error> {
    let handler = build_only(init).await?;
    init.warmed().await;
    Ok(handler)
}

async fn build_only(init: &Init) -> Result<Handler, Error> {
    Ok(match init.function {
        Function::Api => Handler::Http(api(init).await?),
        Function::Chat => Handler::Http(chat(init).await?),
        Function::Voice => Handler::Voice(voice(init).await?),
        Function::Operator => Handler::Http(operator(init).await?),
        Function::EmailHttp => Handler::Http(email_http(init).await?),
        Function::EmailSqs => Handler::Mail(email_sqs(init).await?),
        Function::Triage => Handler::Steps(triage(init).await?),
        Function::Notices => Handler::Notices(notices(init).await?),
        Function::Clock => Handler::Clock(clock(init).await?),
        Function::Reports => Handler::Reports(reports(init).await?),
    })
}

/// The ticket API for client apps, behind API Gateway's IAM authorizer.
pub async fn api(init: &Init) -> Result<HttpEvents, Error> {
    let engine = engine_for(Function::Api, init, no_parts).await?;
    let auth = crate::http::auth::ClientAuthenticator::from_vars(&init.var())?;
    let app = crate::http::api::router_with(auth).with_state(AppState { engine });
    Ok(HttpEvents(served(app)))
}

/// The mobile chat.
pub async fn chat(init: &Init) -> Result<HttpEvents, Error> {
    let engine = engine_for(Function::Chat, init, no_parts).await?;
    Ok(HttpEvents(served(crate::http::chat::router().with_state(AppState { engine }))))
}

/// Calls: Amazon Connect contact flows, or the voice routes through API Gateway.
pub async fn voice(init: &Init) -> Result<VoiceEvents, Error> {
    let engine = engine_for(Function::Voice, init, no_parts).await?;
    // The telephony platform is a client, known by its IAM role (SPORTELLO_IAM_CLIENTS).
    let auth = crate::http::auth::ClientAuthenticator::from_vars(&init.var())?;
    let app = crate::http::voice::router_with(auth).with_state(AppState { engine: engine.clone() });
    Ok(VoiceEvents { engine, app: served(app) })
}

/// The operator API and console: answers inline (mail, chat, webhooks), escalates, declares
/// incidents, shows reports.
pub async fn operator(init: &Init) -> Result<HttpEvents, Error> {
    let engine = engine_for(Function::Operator, init, |app, parts| {
        let app = webhooks(report_figures(app, &parts), &parts);
        reply_tokens(app, &parts)
    })
    .await?;
    Ok(HttpEvents(operator_app(engine, init)?))
}

/// Raw MIME over HTTP from the mail gateway: acknowledges, and checks targets' replies. Also the
/// public pages that need no engine: `/health` and the problem types' pages.
pub async fn email_http(init: &Init) -> Result<HttpEvents, Error> {
    let engine = engine_for(Function::EmailHttp, init, |app, parts| reply_tokens(app, &parts)).await?;
    let token = crate::http::email::MailToken::from_vars(&init.var())?;
    let app =
        crate::http::health().merge(crate::http::problem_pages::router()).merge(crate::http::email::router(token));
    Ok(HttpEvents(served(app.with_state(AppState { engine }))))
}

/// SES notifications of stored mail: acknowledges, and checks targets' replies.
pub async fn email_sqs(init: &Init) -> Result<MailBatches, Error> {
    let engine = engine_for(Function::EmailSqs, init, |app, parts| reply_tokens(app, &parts)).await?;
    Ok(MailBatches { engine, stored: StoredMail::new(init.clients.s3()) })
}

/// The step queue: triage, answers' retries, the incident fan-out, webhooks' posts.
pub async fn triage(init: &Init) -> Result<StepBatches, Error> {
    let engine = engine_for(Function::Triage, init, |app, parts| Ok(webhooks(app, &parts))).await?;
    Ok(StepBatches(engine))
}

/// Targets' resolution notices from the reply queue.
pub async fn notices(init: &Init) -> Result<NoticeBatches, Error> {
    let engine = engine_for(Function::Notices, init, no_parts).await?;
    let url = init.settings.get("SPORTELLO_NOTICE_DLQ_URL");
    let dead_letters = url.map(|url| NoticeDeadLetters { sqs: init.clients.sqs.clone(), url });
    Ok(NoticeBatches { engine, dead_letters })
}

/// The clock: notifies teams, reminds targets (by queue, or by mail with a reply token).
pub async fn clock(init: &Init) -> Result<ClockTicks, Error> {
    let engine = engine_for(Function::Clock, init, |app, parts| reply_tokens(app, &parts)).await?;
    let settings = escalation_settings(init, &engine.rules);
    Ok(ClockTicks { engine, settings })
}

/// The reports function folds what the others write; it builds the same engine for its rulebook
/// and its ticket store.
pub async fn reports(init: &Init) -> Result<ReportFeed, Error> {
    let engine = engine_for(Function::Reports, init, no_parts).await?;
    let table = init.settings.required("SPORTELLO_TABLE")?;
    let projector = Arc::new(crate::reports::Projector::new(&engine.rules));
    let reports = crate::adapters::aws::DynamoReports::new(
        init.clients.dynamodb.clone(),
        table,
        engine.ports.tickets.clone(),
        projector.clone(),
    );
    let bucket = init.settings.get("SPORTELLO_EXPORT_BUCKET");
    if bucket.is_none() {
        tracing::warn!("SPORTELLO_EXPORT_BUCKET is not set: events are folded into the reports, not exported");
    }
    let export = bucket.map(|b| crate::adapters::aws::S3Export::new(init.clients.s3(), b));
    Ok(ReportFeed { reports, export, projector })
}

/// The operator API behind the JWT authorizer, whose claims become the caller's identity and
/// roles; targets' notices are checked against their secrets by the function itself. Beside it,
/// the console. Their settings are checked here, at the init; their routers are built at the
/// first request that needs each (see [`OperatorHalves`]).
fn operator_app(engine: Engine, init: &Init) -> Result<Router, Error> {
    use crate::http::operator::{NoticeSecrets, OperatorApi, router};
    use crate::http::operator_auth::OperatorAuthenticator;
    let escalation = escalation_settings(init, &engine.rules);
    let secrets = NoticeSecrets::from_vars(&engine.rules, &init.var());
    let api = OperatorApi::new(engine, OperatorAuthenticator::Claims, escalation, secrets);
    let console = operator_console(api.clone(), &init.var())?;
    let halves = OperatorHalves {
        api: built_on_use(move || {
            served(router::<()>(api).layer(axum::middleware::map_request(|req| async move { with_claims(req) })))
        }),
        console: built_on_use(move || served(console.map(crate::console::router).unwrap_or_default())),
    };
    // With provisioned concurrency the init runs ahead of any request: both are built then.
    if waits_for_warm_up(&init.settings) {
        LazyLock::force(&halves.api);
        LazyLock::force(&halves.console);
    }
    Ok(Router::new().fallback_service(halves))
}

/// A router built at its first use.
type BuiltOnUse = Arc<LazyLock<Router, Box<dyn FnOnce() -> Router + Send>>>;

fn built_on_use(make: impl FnOnce() -> Router + Send + 'static) -> BuiltOnUse {
    Arc::new(LazyLock::new(Box::new(make)))
}

/// The operator function's two routers: the operator API (`/operator/…`) and the console (every
/// other path, its 404s included). Each is built at the first request that needs it: a cold
/// start serves one request, which needs one of them, and building both was about a quarter of
/// the function's start (1.3 M instructions of axum's routing tables; BENCHMARKS.md, "The
/// operator's routers built at first use"). Each half is a whole served router (the problem
/// fallbacks, the request span), so it answers as the two merged did.
#[derive(Clone)]
struct OperatorHalves {
    api: BuiltOnUse,
    console: BuiltOnUse,
}

impl tower::Service<axum::extract::Request> for OperatorHalves {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = axum::routing::future::RouteFuture<std::convert::Infallible>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: axum::extract::Request) -> Self::Future {
        let half = if request.uri().path().starts_with("/operator/") { &self.api } else { &self.console };
        // A router is always ready (axum's own `poll_ready` says so).
        tower::Service::call(&mut Router::clone(half), request)
    }
}

/// The operators' web console on every path the API Gateway routes here besides `/operator/*`:
/// sign-in with OpenID Connect (`SPORTELLO_OIDC_ISSUER` and the rest of
/// [`crate::console::oidc::OidcConfig`]), sessions signed with `SPORTELLO_CONSOLE_SESSION_KEY`,
/// redirects to `SPORTELLO_CONSOLE_URL`. Not served without an issuer.
fn operator_console(
    api: crate::http::operator::OperatorApi,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<crate::console::Console>, Error> {
    use crate::console::{Console, SignIn, oidc, session::SessionKey};
    let Some(config) = oidc::OidcConfig::from_vars(var)? else {
        tracing::warn!("SPORTELLO_OIDC_ISSUER is not set: the web console is not served");
        return Ok(None);
    };
    let key = var("SPORTELLO_CONSOLE_SESSION_KEY")
        .filter(|k| !k.trim().is_empty())
        .ok_or("SPORTELLO_CONSOLE_SESSION_KEY is not set: the console signs its sessions with it")?;
    let public_url = var("SPORTELLO_CONSOLE_URL").filter(|u| !u.trim().is_empty());
    let sign_in = SignIn::Oidc(std::sync::Arc::new(oidc::Oidc::new(config)));
    // API Gateway serves HTTPS only: cookies are Secure and host-only.
    Ok(Some(Console::new(api, sign_in, SessionKey::new(key.into_bytes())?, public_url).secure()))
}

/// The JWT authorizer's claims (HTTP API payload v2), handed to the router as an extension.
fn with_claims(mut req: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let claims = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).map(|jwt| serde_json::json!(jwt.claims))
        }
        _ => None,
    };
    if let Some(claims) = claims {
        req.extensions_mut().insert(crate::http::operator_auth::AuthorizerClaims(claims));
    }
    req
}

/// One invocation in the X-Ray trace Lambda gives it, which the step messages it sends carry on.
async fn traced(handler: &impl Invoke, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let trace = event.context.xray_trace_id.clone().or_else(crate::adapters::aws::trace::current);
    // Boxed: the handlers' futures are deep, and one more layer on top of them would exceed
    // the compiler's query depth in the function binaries.
    crate::adapters::aws::trace::within(trace, Box::pin(handler.invoke(event))).await
}

impl Invoke for HttpEvents {
    async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        http_event(self.0.clone(), event).await
    }
}

impl Invoke for VoiceEvents {
    async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        voice_event(&self.engine, self.app.clone(), event).await
    }
}

impl Invoke for StepBatches {
    async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        // Paged work (an incident's fan-out) stops in time and queues the rest.
        let deadline = crate::engine::budget::lambda_deadline(event.context.deadline, STEP_MARGIN);
        let batch = sqs_event(event)?;
        Ok(serde_json::to_value(crate::engine::budget::until(deadline, handle_steps(&self.0, batch)).await)?)
    }
}

impl Invoke for MailBatches {
    async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        Ok(serde_json::to_value(handle_mail_batch(&self.engine, Some(&self.stored), sqs_event(event)?).await)?)
    }
}

impl Invoke for NoticeBatches {
    async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let batch = sqs_event(event)?;
        Ok(serde_json::to_value(handle_notice_batch(&self.engine, batch, self.dead_letters.as_ref()).await)?)
    }
}

impl Invoke for ClockTicks {
    async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        // An error fails the invocation: the scheduler retries it, and the next tick runs anyway.
        let deadline = crate::engine::budget::lambda_deadline(event.context.deadline, STEP_MARGIN);
        let tick = self.engine.clock_tick_within(&self.settings, clock_budget(event.context.deadline));
        // The purge, last, takes what the deadlines left of the invocation.
        let report = crate::engine::budget::until(deadline, tick).await?;
        report.log();
        Ok(serde_json::to_value(report)?)
    }
}

impl Invoke for ReportFeed {
    async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        self.handle(&event.payload).await
    }
}

/// What a step batch keeps of its invocation's time for answering and for the messages' deletion.
const STEP_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

/// The clock's time for deadlines: what the invocation has left, less what the sweep and the
/// purge that follow need, capped at [`crate::engine::CLOCK_BUDGET`].
fn clock_budget(deadline_ms: u64) -> std::time::Duration {
    const AFTER_DEADLINES: std::time::Duration = std::time::Duration::from_secs(15);
    const AT_LEAST: std::time::Duration = std::time::Duration::from_secs(5);
    let left = crate::engine::budget::lambda_time_left(deadline_ms);
    left.saturating_sub(AFTER_DEADLINES).clamp(AT_LEAST, crate::engine::CLOCK_BUDGET)
}

fn sqs_event(event: LambdaEvent<Value>) -> Result<SqsEvent, Error> {
    serde_json::from_value(event.payload).map_err(|e| format!("not an SQS event: {e}").into())
}

async fn http_event(app: Router, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let LambdaEvent { payload, context } = event;
    let request: LambdaRequest =
        serde_json::from_value(payload).map_err(|e| format!("not an API Gateway HTTP API event: {e}"))?;
    Ok(serde_json::to_value(http_api::call(app, request, context).await?)?)
}

/// A function's `main`: `function`'s init from the environment, `build` (its own builder above,
/// the only handler its binary links; another function's builder is refused), then its invocations
/// until the end. An init that fails returns its error, which Lambda logs and reports as the init
/// failure.
///
/// Every `main` runs it on tokio's current-thread runtime. Lambda hands a function one event at
/// a time, and a 256 MB function has about a seventh of a vCPU once its init is over, so worker
/// threads bring no parallelism; they cost their creation at each cold start and a hop between
/// threads at each wake-up (BENCHMARKS.md, "Cold start on the current-thread runtime").
pub async fn run<H: Invoke>(
    function: Function,
    build: impl AsyncFnOnce(&Init) -> Result<H, Error>,
) -> Result<(), Error> {
    let started = Instant::now();
    // The log first, so that what the init says (the warm-up's failures among it) is logged.
    let settings = Settings::from_env();
    let mut before = RunSettings::read(&settings);
    before.install_log();
    let wait = before.waits_for_warm_up;
    let init = Init::from_settings(function, settings).await?;
    let building = Instant::now();
    let handler = build(&init).await?;
    let built = building.elapsed();
    // The warm-up's own time is in its `warm-up done` line (see `start_warm_up`).
    let times = if wait { init.warmed().await } else { init.times_so_far() };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    tracing::info!(
        sdk_config_ms = ms(times.sdk_config),
        sdk_clients_ms = ms(times.sdk_clients),
        warm_up_start_ms = ms(times.warm_up_start),
        secrets_ms = ms(times.secrets),
        rulebook_ms = ms(times.rulebook),
        build_ms = ms(built),
        warm_up_wait_ms = wait.then(|| ms(times.warm_up_wait)),
        total_ms = ms(started.elapsed()),
        "init done"
    );
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<Value>| traced(handler, event))).await
}

/// One invocation of the voice function, whichever its source.
pub async fn voice_event(engine: &Engine, app: Router, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let LambdaEvent { payload, context } = event;
    if payload.pointer("/Details/ContactData").is_some() {
        let connect: crate::http::voice::ConnectEvent =
            serde_json::from_value(payload).map_err(|e| format!("not an Amazon Connect contact-flow event: {e}"))?;
        // An error takes the contact flow's error branch, which plays its own message.
        return match crate::http::voice::answer_call(engine, &connect.to_call(&engine.rules.languages)).await {
            Ok(answer) => Ok(serde_json::to_value(answer.to_connect())?),
            Err(problem) => {
                let problem = crate::http::voice::connect_pointer(problem);
                Err(format!("{} ({})", problem.detail, problem.field.unwrap_or_default()).into())
            }
        };
    }
    let request: LambdaRequest =
        serde_json::from_value(payload).map_err(|e| format!("neither a Connect event nor an HTTP API event: {e}"))?;
    Ok(serde_json::to_value(http_api::call(app, request, context).await?)?)
}

/// Runs the step messages of an SQS batch; failed ones are reported for redelivery. Each step
/// handler is idempotent by itself, so no idempotency record is kept per message (two writes
/// fewer per step); see [`handle_batch_idempotent`].
pub async fn handle_steps(engine: &Engine, event: SqsEvent) -> SqsBatchResponse {
    handle_batch_idempotent(event, |message| async move { handle_step(engine, &message).await }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(initialization: Option<&str>) -> RunSettings {
        let values = initialization.map(|v| ("AWS_LAMBDA_INITIALIZATION_TYPE".to_string(), v.to_string()));
        RunSettings::read(&Settings::from_map(values.into_iter().collect()))
    }

    #[test]
    fn only_an_init_ahead_of_any_request_waits_for_its_warm_up() {
        assert!(read(Some("provisioned-concurrency")).waits_for_warm_up);
        assert!(!read(Some("on-demand")).waits_for_warm_up);
        assert!(!read(None).waits_for_warm_up, "outside Lambda, or an older runtime: on-demand");
    }

    /// A half that says which it is, and counts how often it was built.
    fn half(name: &'static str, built: &Arc<std::sync::atomic::AtomicUsize>) -> BuiltOnUse {
        let built = built.clone();
        built_on_use(move || {
            built.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            served(
                Router::new()
                    .route("/operator/queue", axum::routing::get(move || async move { name }))
                    .route("/queue", axum::routing::get(move || async move { name })),
            )
        })
    }

    async fn answer(halves: &OperatorHalves, method: &str, path: &str) -> (u16, String) {
        use tower::ServiceExt;
        let request = axum::extract::Request::builder().method(method).uri(path).body(axum::body::Body::empty());
        let response = halves.clone().oneshot(request.unwrap()).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn each_half_of_the_operator_function_is_built_at_the_first_request_that_needs_it() {
        let (api_built, console_built) = (Arc::default(), Arc::default());
        let halves = OperatorHalves { api: half("api", &api_built), console: half("console", &console_built) };
        let count = |n: &Arc<std::sync::atomic::AtomicUsize>| n.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!((count(&api_built), count(&console_built)), (0, 0), "nothing is built before a request");

        assert_eq!(answer(&halves, "GET", "/operator/queue").await, (200, "api".into()));
        assert_eq!((count(&api_built), count(&console_built)), (1, 0));
        assert_eq!(answer(&halves, "GET", "/operator/queue").await, (200, "api".into()));
        assert_eq!(count(&api_built), 1, "built once");

        // Every path outside `/operator/` is the console's, its 404s and 405s included.
        assert_eq!(answer(&halves, "GET", "/queue").await, (200, "console".into()));
        let (status, body) = answer(&halves, "GET", "/operator").await;
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("no endpoint GET /operator"), "{body}");
        assert_eq!(answer(&halves, "POST", "/queue").await.0, 405);
        assert_eq!(answer(&halves, "POST", "/operator/queue").await.0, 405);
        assert_eq!((count(&api_built), count(&console_built)), (1, 1));
    }

    #[test]
    fn what_run_reads_before_the_init_is_noted() {
        let settings = Settings::from_map(Default::default());
        RunSettings::read(&settings);
        let read = settings.names_read();
        for name in ["RUST_LOG", "SPORTELLO_LOG", "SPORTELLO_METRICS_NAMESPACE", "AWS_LAMBDA_INITIALIZATION_TYPE"] {
            assert!(read.contains(name), "{name} not noted: {read:?}");
        }
    }
}
