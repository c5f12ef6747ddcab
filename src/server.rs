//! The local server: every endpoint on one port, the step workers and the clock in-process, on
//! the embedded store. The same routers and engine as the Lambda functions.

use crate::adapters::embedded::{self, Db};
use crate::app::{Access, AppBuilder};
use crate::engine::Engine;
use crate::rules::Rules;
use crate::settings::environment as env;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Folder for the SQLite database; it survives restarts.
    pub data_dir: PathBuf,
    /// Rulebook file or folder.
    pub rules: PathBuf,
    /// Timeouts and the cap on connections (see [`crate::listener`]).
    pub limits: crate::listener::Limits,
}

/// How often idle workers look at the queue when nothing was published (delayed and retried
/// messages become visible by time), and how often the clock ticks.
const WORKER_IDLE: Duration = Duration::from_millis(200);
const CLOCK_TICK: Duration = Duration::from_secs(60);
/// How often the report aggregates fold in new events (reports catch up before reading anyway).
const REPORTS_EVERY: Duration = Duration::from_secs(2);

/// Opens the store and the rulebook. Errors are for a person at a terminal.
pub fn engine(config: &ServerConfig) -> Result<Engine, String> {
    open(config).map(|(engine, _)| engine)
}

/// The rulebook at `path`, or all its errors in one message, for the commands that need it.
pub fn load_rules(path: &Path) -> Result<Rules, String> {
    Rules::load(path).map_err(|errors| {
        let shown: String = errors.iter().map(|d| format!("{d}\n")).collect();
        format!("the rulebook `{}` has errors:\n\n{shown}", path.display())
    })
}

/// The database of a server's data folder, for the commands that read or change what the server
/// stored: it must be there already, and private.
pub fn open_existing_db(data: &Path) -> Result<Db, String> {
    let path = data.join("sportello.db");
    if !path.exists() {
        return Err(format!("no database at `{}`: pass --data with the server's data folder", path.display()));
    }
    crate::secrets::check_private(&path)?;
    Db::open(&path).map_err(|e| format!("cannot open `{}`: {e}", path.display()))
}

/// The engine and the database it runs on (the reply queue lives there too).
pub fn open(config: &ServerConfig) -> Result<(Engine, Db), String> {
    let rules = load_rules(&config.rules)?;
    crate::secrets::create_private_dir(&config.data_dir)?;
    check_secret_files(config)?;
    let db_path = config.data_dir.join("sportello.db");
    crate::secrets::create_private_file(&db_path)?;
    let db = Db::open(&db_path).map_err(|e| format!("cannot open `{}`: {e}", db_path.display()))?;
    // The supervisors' figures, folded from the events as they are written.
    let reports = embedded::SqliteReports::new(db.clone(), Arc::new(crate::reports::Projector::new(&rules)));
    let webhooks = crate::engine::webhook::WebhookFile::read(&webhooks_file(config))?;
    let sender = Arc::new(crate::adapters::webhook_http::HttpWebhookSender::new());
    let engine = AppBuilder::new(Arc::new(rules), embedded::ports(&db))
        .reply_tokens(Some(reply_tokens(config)?))
        .webhooks(crate::engine::webhook::Webhooks::new(webhooks.webhooks, sender))
        .reports(Arc::new(reports))
        .engine();
    Ok((engine, db))
}

/// How the local server recognises its callers: operator tokens, API keys and the mail secret
/// from the data folder (or where the environment says); escalation settings and targets'
/// notice secrets from the environment.
pub fn access(config: &ServerConfig, rules: &Rules) -> Result<Access, String> {
    let mut escalation = crate::engine::EscalationSettings::from_env(rules);
    escalation.reply_queue.get_or_insert_with(|| embedded::LOCAL_REPLY_QUEUE.into());
    Ok(Access {
        operators: crate::http::operator_auth::OperatorAuthenticator::Tokens(
            crate::http::operator_auth::TokenFile::new(operators_file(config)),
        ),
        escalation,
        notice_secrets: crate::http::operator::NoticeSecrets::from_env(rules),
        mail_token: mail_token(config)?,
        api_clients: crate::http::auth::ClientAuthenticator::api_keys(api_keys_file(config)),
    })
}

/// Runs queued steps until the process ends; on AWS, SQS invokes the step functions instead.
pub async fn run_workers(engine: Engine, published: Arc<tokio::sync::Notify>) {
    loop {
        match engine.run_pending_steps(50).await {
            Ok(0) => {
                // Woken by a publish (a new ticket's triage) at once, or by time.
                let _ = tokio::time::timeout(WORKER_IDLE, published.notified()).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "step worker: queue unavailable");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The scheduled work (deadline warnings and breaches, escalation reminders, the retention
/// purge: `Engine::clock_tick`): on AWS an EventBridge schedule, here a timer.
pub async fn run_clock(engine: Engine) {
    let settings = crate::engine::EscalationSettings::from_env(&engine.rules);
    let mut tick = tokio::time::interval(CLOCK_TICK);
    loop {
        tick.tick().await;
        match engine.clock_tick(&settings).await {
            Ok(r) => r.log(),
            Err(e) => tracing::warn!(error = %e, "clock: tick failed"),
        }
    }
}

pub async fn serve(config: ServerConfig) -> Result<(), String> {
    let (engine, db) = open(&config)?;
    let engine = match clock_start()? {
        Some(clock) => engine.with_clock(clock),
        None => engine,
    };
    for w in &engine.rules.warnings {
        tracing::warn!("rulebook: {}", w.message);
    }
    // Before taking requests: whatever the last run left undone (it stopped, or was killed, with
    // steps in flight) is finished now rather than at the first clock tick. Nothing of this
    // process is in flight yet, so no grace period is needed, and the claims the last run held
    // (an acknowledgement half-sent) are nobody's: a retry runs them again.
    if let Err(e) = embedded::SqliteStore::new(db.clone()).release_claims_of_a_stopped_run().await {
        tracing::warn!(error = %e, "could not release the last run's claims; they run out with their lease");
    }
    match engine.sweep(Duration::ZERO).await {
        Ok(r) if !r.is_empty() => say(format!(
            "Finished what the last run left undone: {} step(s) published, {} ticket(s) triaged, {} still failing.",
            r.published, r.triaged, r.failed
        )),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "start-up sweep failed; the clock retries it"),
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Credentials are read before anything starts, so a bad secret file stops the server here.
    let (router, operators) = crate::app::router_and_operators(&engine, access(&config, &engine.rules)?);
    let router = crate::http::served(router.merge(crate::console::router(console(&config, operators)?)));
    tokio::spawn(run_workers(engine.clone(), db.published()));
    tokio::spawn(run_clock(engine.clone()));
    tokio::spawn(
        embedded::SqliteReports::new(db.clone(), Arc::new(crate::reports::Projector::new(&engine.rules)))
            .run(REPORTS_EVERY),
    );
    tokio::spawn(embedded::ReplyQueue::new(db, reply_queue_name()).run(engine.clone()));
    say(banner(addr, &config));
    let (signal_tx, signal_rx) = tokio::sync::oneshot::channel();
    let shutdown = async move {
        let _ = signal_tx.send(stop_signal().await);
    };
    let cut = crate::listener::serve(listener, router, config.limits, shutdown).await.map_err(|e| e.to_string())?;
    let signal = signal_rx.await.unwrap_or("a signal");
    let unfinished = match cut {
        0 => "every request under way answered".to_string(),
        n => format!("{n} connection(s) cut after 10 s"),
    };
    say(format!(
        "Sportello stopped on {signal}: {unfinished}; tickets stay in {}.",
        config.data_dir.join("sportello.db").display()
    ));
    Ok(())
}

/// A message for the person running the server: on standard output, unless that carries the
/// JSON log (one object per line), then on standard error.
fn say(text: String) {
    if crate::logging::stdout_is_json() {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM (what `kill`, systemd and container runtimes send) and
/// names it.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "Ctrl-C";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    }
}

/// `SPORTELLO_CLOCK_START` (RFC 3339): the server's clock starts there and runs on, for demos,
/// training and the console's browser tests, which need service hours whatever the day.
fn clock_start() -> Result<Option<crate::engine::Clock>, String> {
    let Some(start) = env().parsed::<jiff::Timestamp>("SPORTELLO_CLOCK_START", "an RFC 3339 time")? else {
        return Ok(None);
    };
    let began = std::time::Instant::now();
    tracing::warn!(start = %start, "the clock is set: times start at SPORTELLO_CLOCK_START");
    Ok(Some(std::sync::Arc::new(move || {
        start + jiff::SignedDuration::try_from(began.elapsed()).unwrap_or(jiff::SignedDuration::ZERO)
    })))
}

/// The web console at `/`: operators sign in with their token (or, with
/// `SPORTELLO_OIDC_ISSUER`, through OpenID Connect); sessions are signed with
/// `SPORTELLO_CONSOLE_SESSION_KEY`, else a key kept in `console-session-key.txt`.
fn console(config: &ServerConfig, api: crate::http::operator::OperatorApi) -> Result<crate::console::Console, String> {
    use crate::console::{Console, SignIn, oidc, session::SessionKey};
    let key = match env().get("SPORTELLO_CONSOLE_SESSION_KEY") {
        Some(k) => k,
        // Rotating it (a new current key) ends every session: operators sign in again.
        None => crate::secrets::load_or_create(&config.data_dir.join(CONSOLE_KEY_FILE))?.current,
    };
    let sign_in = match oidc::OidcConfig::from_env()? {
        Some(c) => SignIn::Oidc(std::sync::Arc::new(oidc::Oidc::new(c))),
        None => SignIn::Tokens(std::sync::Arc::new(crate::http::operator_auth::TokenFile::new(operators_file(config)))),
    };
    let public_url = env().get("SPORTELLO_CONSOLE_URL");
    Ok(Console::new(api, sign_in, SessionKey::new(key.into_bytes())?, public_url))
}

/// Every file of the local server that holds a secret or personal data.
pub fn secret_files(config: &ServerConfig) -> Vec<PathBuf> {
    let data = &config.data_dir;
    let mut files: Vec<PathBuf> = ["sportello.db", "sportello.db-wal", "sportello.db-shm"]
        .into_iter()
        .chain([MAIL_TOKEN_FILE, REPLY_TOKEN_KEY_FILE, CONSOLE_KEY_FILE])
        .map(|f| data.join(f))
        .collect();
    files.extend([api_keys_file(config), operators_file(config), webhooks_file(config)]);
    files
}

/// Refuses to start on a secret file other users can read, saying how to fix it.
fn check_secret_files(config: &ServerConfig) -> Result<(), String> {
    let refused: Vec<String> =
        secret_files(config).iter().filter_map(|f| crate::secrets::check_private(f).err()).collect();
    if refused.is_empty() { Ok(()) } else { Err(refused.join("\n")) }
}

/// The file, in the data folder, of the key that signs the console's sessions.
pub const CONSOLE_KEY_FILE: &str = "console-session-key.txt";
/// The file, in the data folder, of the mail gateway's token (`sportello secrets rotate
/// mail-token`).
pub const MAIL_TOKEN_FILE: &str = "mail-token.txt";
/// The file, in the data folder, of the reply-token key (`sportello secrets rotate
/// reply-token-key`).
pub const REPLY_TOKEN_KEY_FILE: &str = "reply-token-key.txt";

/// The secret the mail gateway presents on `POST /email/inbound`: `SPORTELLO_MAIL_TOKEN_SHA256`
/// when set, else a random one kept in `mail-token.txt` in the data folder (with the ones it
/// replaced, until their grace period ends).
fn mail_token(config: &ServerConfig) -> Result<crate::http::email::MailToken, String> {
    if env().get(crate::http::email::MAIL_TOKEN_ENV).is_some() {
        return crate::http::email::MailToken::from_env();
    }
    let secret = crate::secrets::load_or_create(&config.data_dir.join(MAIL_TOKEN_FILE))?;
    Ok(crate::http::email::MailToken::for_rotating(&secret))
}

/// The key of escalation e-mails' reply tokens: `SPORTELLO_REPLY_TOKEN_KEY` when set, else a
/// random one kept in `reply-token-key.txt` in the data folder (so tokens outlive a restart; a
/// rotated key keeps answering the tokens already sent for its grace period).
fn reply_tokens(config: &ServerConfig) -> Result<crate::engine::reply_token::ReplyTokens, String> {
    use crate::engine::reply_token::ReplyTokens;
    if let Some(tokens) = ReplyTokens::from_env()? {
        return Ok(tokens);
    }
    let key = crate::secrets::load_or_create(&config.data_dir.join(REPLY_TOKEN_KEY_FILE))?;
    ReplyTokens::rotating(&key, env().get("SPORTELLO_REPLY_EMAIL"))
}

/// The local reply queue: `SPORTELLO_REPLY_QUEUE`, else `sportello-resolution-notices`.
fn reply_queue_name() -> String {
    env().get("SPORTELLO_REPLY_QUEUE").unwrap_or_else(|| embedded::LOCAL_REPLY_QUEUE.into())
}

/// API clients' webhooks: `SPORTELLO_WEBHOOKS`, else `webhooks.json` beside the API key file
/// (`sportello clients add <client> --webhook <url>` writes it).
pub fn webhooks_file(config: &ServerConfig) -> PathBuf {
    env().path("SPORTELLO_WEBHOOKS").unwrap_or_else(|| api_keys_file(config).with_file_name("webhooks.json"))
}

/// Where client API keys live: `SPORTELLO_API_KEYS`, else `api-keys.json` in the data folder.
pub fn api_keys_file(config: &ServerConfig) -> PathBuf {
    env().path("SPORTELLO_API_KEYS").unwrap_or_else(|| config.data_dir.join("api-keys.json"))
}

/// Where operator tokens live: `SPORTELLO_OPERATORS`, else `operators.json` in the data folder.
pub fn operators_file(config: &ServerConfig) -> PathBuf {
    env().path("SPORTELLO_OPERATORS").unwrap_or_else(|| config.data_dir.join("operators.json"))
}

fn banner(addr: SocketAddr, config: &ServerConfig) -> String {
    format!(
        "Sportello is running on http://{addr}
  the operators' console: http://{addr}/   (sign in with a token: cargo run -- operators add anna --role operator)
  rulebook: {}   data: {}

Try:
  curl http://{addr}/health
  curl -X POST http://{addr}/chat/sessions -H 'content-type: application/json' \\
       -d '{{\"session_id\": \"3f1c2d9e-5b6a-4c7d-8e9f-0a1b2c3d4e5f\", \"lang\": \"it\"}}'
  cargo run -- operators add anna --role operator      # a token for the operator API
  cargo run -- rules explain --channel voice --category reminder --at 2026-12-02T10:00
  email: POST /email/inbound (message/rfc822) with X-Sportello-Mail-Token from {}

Stop with Ctrl-C (or SIGTERM); tickets stay in {}.",
        config.rules.display(),
        config.data_dir.display(),
        config.data_dir.join("mail-token.txt").display(),
        config.data_dir.join("sportello.db").display()
    )
}
