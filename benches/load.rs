//! Throughput of the local server, in one run so the figures compare: the release `sportello
//! serve` runs as a child process on a temporary data folder, and N keep-alive connections drive
//! three workloads for a fixed time each, interleaved over a few rounds because the machine is
//! shared and noisy:
//!
//! - `trivial`: `GET /health`, the ceiling of the HTTP stack on this machine;
//! - `intake`: `POST /api/v1/tickets` with a client's API key and a new idempotency key each time;
//! - `lifecycle`: intake, then (once the in-process step worker has triaged the ticket) take in
//!   charge, classify and answer-and-resolve through the operator API.
//!
//! The headline is intake throughput as a share of the trivial endpoint's (target: at least 30%).
//! Settings (environment): `LOAD_CONNECTIONS` (16), `LOAD_SECONDS` per workload and round (5),
//! `LOAD_ROUNDS` (3); `LOAD_SERVER_BIN`, another `sportello` binary to serve (the release
//! profile's, say, against the benchmark profile's that is built with this benchmark);
//! `LOAD_PREFILL`, a number of tickets (say 1000000): a second server then runs on a store that
//! already holds that many closed tickets, with their events folded into the reports, and a
//! fourth workload, intake on that server, is interleaved with the others (the store's growth
//! must not slow intake down); `LOAD_WORKLOADS`, the workloads to run, by name (`trivial`,
//! `intake`, `filled`, `lifecycle`, comma-separated; all by default), to profile one of them;
//! `LOAD_PREFILL_DIR`, a folder that keeps the filled store between runs (filled once, at the first
//! run that names it; a later run serves it as it is, with the tickets earlier runs' intake added,
//! a few percent of a million), since filling a million tickets takes minutes.
//! Prints a Markdown report.

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sportello::adapters::embedded::{Db, FOLD_BATCH, SqliteReports, SqliteStore};
use sportello::domain::{Actor, ActorRole, ChannelKind, Event, EventKind, Ticket, TicketState, TicketType};
use sportello::ports::StoreError;
use sportello::ports::ticket_store::NewTicket;
use sportello::reports::Projector;
use sportello::rules::Rules;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The client's category used for every ticket (`basic_info`: take in charge, classify Q, resolve).
const CATEGORY: &str = "io_pagamenti_pagopa";
const TRIAGE_TIMEOUT: Duration = Duration::from_secs(60);
const TRIAGE_POLL: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Workload {
    Trivial,
    Intake,
    Lifecycle,
    /// Intake on the second server, whose store was filled first (`LOAD_PREFILL`).
    IntakeFilled,
}

impl Workload {
    const ALL: [Workload; 4] = [Workload::Trivial, Workload::Intake, Workload::IntakeFilled, Workload::Lifecycle];

    fn name(self) -> &'static str {
        match self {
            Workload::Trivial => "trivial (GET /health)",
            Workload::Intake => "intake (POST /api/v1/tickets)",
            Workload::Lifecycle => "lifecycle (intake → triage → take in charge → classify → resolve)",
            Workload::IntakeFilled => "intake, store filled first (POST /api/v1/tickets)",
        }
    }

    /// The name `LOAD_WORKLOADS` knows it by.
    fn key(self) -> &'static str {
        match self {
            Workload::Trivial => "trivial",
            Workload::Intake => "intake",
            Workload::Lifecycle => "lifecycle",
            Workload::IntakeFilled => "filled",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Workload::Lifecycle => "lifecycles/s",
            _ => "req/s",
        }
    }
}

struct Settings {
    connections: usize,
    duration: Duration,
    rounds: usize,
    /// Tickets stored before the second server starts; none: no second server.
    prefill: usize,
    /// The workloads to run, by [`Workload::key`]; all when not set.
    only: Option<Vec<String>>,
}

fn setting<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v} is not a valid number")),
        Err(_) => default,
    }
}

impl Settings {
    fn from_env() -> Self {
        let connections = setting("LOAD_CONNECTIONS", 16usize).max(1);
        let seconds = setting("LOAD_SECONDS", 5.0f64).max(0.5);
        let rounds = setting("LOAD_ROUNDS", 3usize).max(1);
        let prefill = setting("LOAD_PREFILL", 0usize);
        let only = std::env::var("LOAD_WORKLOADS")
            .ok()
            .map(|v| v.split(',').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect::<Vec<_>>());
        if let Some(names) = &only {
            let known: Vec<&str> = Workload::ALL.iter().map(|w| w.key()).collect();
            if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
                panic!("LOAD_WORKLOADS: unknown workload `{unknown}`; the workloads are {}", known.join(", "));
            }
        }
        Self { connections, duration: Duration::from_secs_f64(seconds), rounds, prefill, only }
    }

    fn wants(&self, workload: Workload) -> bool {
        self.only.as_ref().is_none_or(|names| names.iter().any(|n| n == workload.key()))
    }
}

/// The server under test with its credentials; killed on drop, its data folder removed.
struct Server {
    child: Child,
    addr: SocketAddr,
    api_key: String,
    operator_token: String,
    _dir: tempfile::TempDir,
}

/// The data folder of the filled store: `LOAD_PREFILL_DIR`'s, filled there once (a marker file
/// names the count), or one inside the server's temporary folder, filled now.
fn filled_data(temp: &Path, rules: &Path, count: usize) -> PathBuf {
    let Some(kept) = std::env::var_os("LOAD_PREFILL_DIR").map(PathBuf::from) else {
        let data = temp.join("data");
        prefill(&data, rules, count);
        return data;
    };
    let data = kept.join("data");
    let marker = kept.join(format!("prefilled-{count}"));
    if marker.exists() {
        eprintln!("prefill: reusing the store of {count} tickets in {}", kept.display());
    } else {
        if data.exists() {
            std::fs::remove_dir_all(&data).expect("an old, unfinished filled store removed");
        }
        std::fs::create_dir_all(&kept).expect("LOAD_PREFILL_DIR created");
        prefill(&data, rules, count);
        std::fs::write(&marker, b"").expect("the prefill marker");
    }
    data
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_cli(bin: &str, args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "sportello {args:?} failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

/// A closed ticket of the past, with what a real one carries (a requester, a message, its
/// resolution), as the API's intake would have stored it and the operators closed it.
fn past_ticket(i: usize, now: jiff::Timestamp) -> NewTicket {
    let channels = [("api", ChannelKind::Api), ("email", ChannelKind::Email), ("chat", ChannelKind::Chat)];
    let (channel, kind) = channels[i % channels.len()];
    // Spread over the last year, one every few seconds.
    let created = now - jiff::SignedDuration::from_secs(30 + (i as i64 * 31) % (365 * 86_400));
    let mut ticket = Ticket::new(channel, kind, "first_level", created);
    ticket.category = Some("basic_info".into());
    ticket.ticket_type = Some(TicketType::Q);
    ticket.requester.email = Some(format!("citizen{i}@example.org"));
    ticket.subject = Some("Pagamento non riuscito".into());
    ticket.fields.insert("notice_code".into(), format!("3{i:017}"));
    let closed = created + jiff::SignedDuration::from_secs(3_600);
    ticket.state = TicketState::Resolved;
    ticket.triaged_at = Some(created);
    ticket.updated_at = closed;
    ticket.closed_at = Some(closed);
    let actor = Actor { id: "client:io".into(), role: ActorRole::Requester };
    let event = |at, kind, detail| Event { ticket_id: ticket.id.clone(), at, actor: actor.clone(), kind, detail };
    let events = vec![
        event(created, EventKind::Message, json!({"text": "Ho pagato l'avviso ma risulta ancora da pagare."})),
        event(closed, EventKind::Resolved, json!({"answer": "Il pagamento risulta registrato."})),
    ];
    NewTicket {
        idempotency_key: format!("prefill-{i}"),
        fingerprint: None,
        ticket: ticket.clone(),
        actor,
        events,
        steps: Vec::new(),
        claims: Vec::new(),
    }
}

/// Fills the data folder's store with `count` closed tickets through the store itself, 10,000
/// per transaction, then folds their events into the reports as the server would have done.
fn prefill(data: &Path, rules: &Path, count: usize) {
    const BATCH: usize = 10_000;
    let started = Instant::now();
    sportello::secrets::create_private_dir(data).expect("the data folder");
    let file = data.join("sportello.db");
    sportello::secrets::create_private_file(&file).expect("the database file");
    let db = Db::open(&file).expect("the database");
    let store = SqliteStore::new(db.clone());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let now = jiff::Timestamp::now();
    runtime.block_on(async {
        let mut done = 0;
        while done < count {
            let range = done..(done + BATCH).min(count);
            done = range.end;
            let batch_started = Instant::now();
            // References are 40 random bits: past half a million tickets one of them collides now
            // and then, which refuses its call of intakes. Built again, the batch's tickets have
            // new references; those already stored are replays of their keys.
            let mut attempts = 0;
            while let Err(e) = store.open_many(range.clone().map(|i| past_ticket(i, now)).collect()).await {
                attempts += 1;
                assert!(matches!(e, StoreError::Duplicate(_)) && attempts < 5, "a batch of tickets stored: {e}");
            }
            // Each batch's own time: one that grows with the store is work that grows with it.
            eprintln!(
                "prefill: {done} tickets stored ({:.0} s; this batch {:.2} s)",
                started.elapsed().as_secs_f64(),
                batch_started.elapsed().as_secs_f64()
            );
        }
        let rules = Rules::load(rules).expect("the rulebook");
        let reports = SqliteReports::new(db.clone(), Arc::new(Projector::new(&rules)));
        let mut folded = 0;
        loop {
            let n = reports.project_pending(FOLD_BATCH).await.expect("reports folded");
            if n == 0 {
                break;
            }
            folded += n;
            if folded % 200_000 < n {
                eprintln!(
                    "prefill: {folded} events folded into the reports ({:.0} s)",
                    started.elapsed().as_secs_f64()
                );
            }
        }
    });
    eprintln!("prefill: {count} tickets stored and folded in {:.0} s", started.elapsed().as_secs_f64());
}

fn start_server(prefilled: usize) -> Server {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var("LOAD_SERVER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_sportello").to_string());
    let bin = bin.as_str();
    let rules = root.join("rules");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let data = if prefilled > 0 { filled_data(dir.path(), &rules, prefilled) } else { dir.path().join("data") };
    let keys = dir.path().join("api-keys.json");
    let operators = dir.path().join("operators.json");

    let out = run_cli(bin, &["clients", "add", "io", "--keys", path_str(&keys), "--rules", path_str(&rules)], &[]);
    // The key is the one indented line of the output.
    let api_key = out
        .lines()
        .find(|l| l.starts_with("  ") && !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .expect("`clients add` prints the key");
    let out =
        run_cli(bin, &["operators", "add", "op-bench", "--role", "operator"], &[("SPORTELLO_OPERATORS", &operators)]);
    let operator_token = out.lines().last().expect("`operators add` prints the token").trim().to_string();

    let log = dir.path().join("server.log");
    let server_log = std::fs::File::create(&log).expect("the server log");
    let child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data", path_str(&data)])
        .args(["--rules", path_str(&rules)])
        .env("SPORTELLO_API_KEYS", &keys)
        .env("SPORTELLO_OPERATORS", &operators)
        .stdin(Stdio::null())
        // The banner goes to stderr when stdout carries the JSON log: both into one file.
        .stdout(server_log.try_clone().expect("the server log"))
        .stderr(server_log)
        .spawn()
        .expect("start `sportello serve`");
    let mut server = Server { child, addr: "127.0.0.1:0".parse().unwrap(), api_key, operator_token, _dir: dir };
    server.addr = wait_for_banner(&mut server.child, &log);
    server
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary paths")
}

/// The banner's first line names the address the server bound (`--listen 127.0.0.1:0`).
fn wait_for_banner(child: &mut Child, log: &PathBuf) -> SocketAddr {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(rest) = text.split("Sportello is running on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            return addr.parse().unwrap_or_else(|_| panic!("unexpected banner address `{addr}`"));
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited ({status}): {text}");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the server did not start within 60 s: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What every connection needs to build its requests.
struct Target {
    addr: SocketAddr,
    api_key: String,
    operator_token: String,
    /// Makes idempotency keys unique across runs on the same data folder.
    run_id: String,
}

type Sender = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

async fn call(
    sender: &mut Sender,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Result<(StatusCode, Bytes), String> {
    sender.ready().await.map_err(|e| format!("connection: {e}"))?;
    let mut req = Request::builder().method(method).uri(path).header("host", "127.0.0.1");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Full::new(Bytes::from(b.to_string()))
        }
        None => Full::new(Bytes::new()),
    };
    let req = req.body(body).map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| format!("{path}: {e}"))?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await.map_err(|e| format!("{path}: body: {e}"))?.to_bytes();
    Ok((status, bytes))
}

fn expect(status: StatusCode, want: StatusCode, what: &str, body: &Bytes) -> Result<(), String> {
    if status == want {
        Ok(())
    } else {
        Err(format!("{what}: {status} {}", String::from_utf8_lossy(&body[..body.len().min(300)])))
    }
}

/// Opens one ticket through the API; returns its reference.
async fn intake(sender: &mut Sender, target: &Target, key: &str) -> Result<String, String> {
    let auth = format!("Bearer {}", target.api_key);
    let body = json!({
        "category": CATEGORY,
        "subject": "Pagamento non riuscito",
        "message": "Ho provato a pagare un avviso pagoPA dall'app ma il pagamento non va a buon fine.",
        "requester": {"email": "bench@example.it"},
    });
    let (status, bytes) = call(
        sender,
        Method::POST,
        "/api/v1/tickets",
        &[("authorization", &auth), ("idempotency-key", key)],
        Some(body),
    )
    .await?;
    expect(status, StatusCode::CREATED, "intake", &bytes)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("intake: {e}"))?;
    v["reference"].as_str().map(str::to_string).ok_or_else(|| "intake: no reference".into())
}

/// Polls the operator view until the step worker has triaged the ticket; returns the requests made.
async fn wait_triaged(sender: &mut Sender, target: &Target, reference: &str) -> Result<u64, String> {
    let auth = format!("Bearer {}", target.operator_token);
    let path = format!("/operator/tickets/{reference}");
    let start = Instant::now();
    let mut requests = 0;
    loop {
        let (status, bytes) = call(sender, Method::GET, &path, &[("authorization", &auth)], None).await?;
        requests += 1;
        expect(status, StatusCode::OK, "operator view", &bytes)?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("operator view: {e}"))?;
        if !v["ticket"]["triaged_at"].is_null() {
            return Ok(requests);
        }
        if start.elapsed() > TRIAGE_TIMEOUT {
            return Err(format!("{reference} not triaged after {TRIAGE_TIMEOUT:?}"));
        }
        tokio::time::sleep(TRIAGE_POLL).await;
    }
}

/// One whole lifecycle; returns the requests it took.
async fn lifecycle(sender: &mut Sender, target: &Target, key: &str) -> Result<u64, String> {
    let reference = intake(sender, target, key).await?;
    let polls = wait_triaged(sender, target, &reference).await?;
    let auth = format!("Bearer {}", target.operator_token);
    let base = format!("/operator/tickets/{reference}");
    let steps = [
        ("take-in-charge", None),
        ("classify", Some(json!({"ticket_type": "Q"}))),
        ("resolve", Some(json!({"answer": "Il pagamento è stato annullato: può ripeterlo dall'app."}))),
    ];
    for (step, body) in steps {
        let (status, bytes) =
            call(sender, Method::POST, &format!("{base}/{step}"), &[("authorization", &auth)], body).await?;
        expect(status, StatusCode::OK, step, &bytes)?;
    }
    Ok(1 + polls + 3)
}

#[derive(Default)]
struct Tally {
    ops: u64,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    latencies_us: Vec<u32>,
    elapsed: Duration,
    /// The last ticket each connection opened (intake), to wait for the triage backlog.
    last_references: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.ops += other.ops;
        self.requests += other.requests;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies_us.extend(other.latencies_us);
        self.elapsed = self.elapsed.max(other.elapsed);
        self.last_references.extend(other.last_references);
    }

    fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

async fn connection_loop(
    workload: Workload,
    target: Arc<Target>,
    tag: String,
    start: Instant,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut sender = None;
    let mut seq = 0u64;
    while Instant::now() < deadline {
        if tally.errors > 100 && tally.ops == 0 {
            break; // nothing works: the report says why
        }
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(target.addr).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    tally.errors += 1;
                    tally.first_error.get_or_insert(e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        seq += 1;
        let key = format!("{}-{tag}-{seq}", target.run_id);
        let t0 = Instant::now();
        let result = match workload {
            Workload::Trivial => call(s, Method::GET, "/health", &[], None)
                .await
                .and_then(|(status, body)| expect(status, StatusCode::OK, "health", &body))
                .map(|()| 1),
            Workload::Intake | Workload::IntakeFilled => intake(s, &target, &key).await.map(|reference| {
                tally.last_references.truncate(0);
                tally.last_references.push(reference);
                1
            }),
            Workload::Lifecycle => lifecycle(s, &target, &key).await,
        };
        match result {
            Ok(requests) => {
                tally.ops += 1;
                tally.requests += requests;
                tally.latencies_us.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert(e);
                sender = None; // a fresh connection after any failure
            }
        }
    }
    tally.elapsed = start.elapsed();
    tally
}

async fn run_workload(workload: Workload, target: &Arc<Target>, settings: &Settings, round: usize) -> Tally {
    let start = Instant::now();
    let deadline = start + settings.duration;
    let tasks: Vec<_> = (0..settings.connections)
        .map(|c| {
            let tag = format!("{workload:?}-r{round}-c{c}");
            tokio::spawn(connection_loop(workload, target.clone(), tag, start, deadline))
        })
        .collect();
    let mut total = Tally::default();
    for t in tasks {
        total.merge(t.await.expect("a connection task"));
    }
    total
}

/// Waits until the step worker has triaged the given tickets (the intake workload leaves a
/// backlog, which must not slow the next workload down); returns how long that took.
async fn drain_triage(target: &Target, references: &[String]) -> Result<Duration, String> {
    let start = Instant::now();
    let mut sender = connect(target.addr).await?;
    for reference in references {
        wait_triaged(&mut sender, target, reference).await?;
    }
    Ok(start.elapsed())
}

/// Linux: resets the peak resident set size (`VmHWM`) of `pid`, so each workload has its own.
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

struct Row {
    workload: Workload,
    tally: Tally,
    peak_rss_kib: Option<u64>,
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported and not needed.
    let settings = Settings::from_env();
    let server = start_server(0);
    let pid = server.child.id();
    let target_of = |server: &Server| {
        Arc::new(Target {
            addr: server.addr,
            api_key: server.api_key.clone(),
            operator_token: server.operator_token.clone(),
            run_id: uuid::Uuid::new_v4().simple().to_string(),
        })
    };
    let target = target_of(&server);
    // The same server on a store filled first, when asked for.
    let filled = (settings.prefill > 0).then(|| start_server(settings.prefill));
    let filled_target = filled.as_ref().map(target_of);
    let workloads: Vec<Workload> = Workload::ALL
        .into_iter()
        .filter(|w| settings.wants(*w) && (*w != Workload::IntakeFilled || filled.is_some()))
        .collect();
    // One thread for the load generator, so it takes at most one core from the server.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let report = runtime.block_on(async {
        wait_healthy(&target).await;
        if let Some(t) = &filled_target {
            wait_healthy(t).await;
        }
        let rss_resettable = reset_peak_rss(pid);
        let mut rows: Vec<Row> = Vec::new();
        let mut rounds_text = String::new();
        for round in 1..=settings.rounds {
            let mut round_rates = Vec::new();
            for &workload in &workloads {
                let (target, pid) = match (workload, &filled_target, &filled) {
                    (Workload::IntakeFilled, Some(t), Some(s)) => (t, s.child.id()),
                    _ => (&target, pid),
                };
                reset_peak_rss(pid);
                let tally = run_workload(workload, target, &settings, round).await;
                let peak = peak_rss_kib(pid);
                let mut note = String::new();
                if workload != Workload::Trivial {
                    // The backlog this workload queued (triage; answer delivery) runs before the next one.
                    match drain_triage(target, &tally.last_references).await {
                        Ok(d) if matches!(workload, Workload::Intake | Workload::IntakeFilled) => {
                            let _ = write!(note, "; triage backlog drained {:.1} s after", d.as_secs_f64());
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let _ = write!(note, "; the triage backlog did not drain: {e}");
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                let _ = writeln!(
                    rounds_text,
                    "- round {round}, {}: {:.0} {} ({} ops, {} errors{note})",
                    workload.name(),
                    tally.rate(),
                    workload.unit(),
                    tally.ops,
                    tally.errors
                );
                round_rates.push((workload, tally.rate()));
                match rows.iter_mut().find(|r| r.workload == workload) {
                    Some(row) => {
                        let elapsed = row.tally.elapsed + tally.elapsed;
                        row.tally.merge(tally);
                        row.tally.elapsed = elapsed;
                        row.peak_rss_kib = row.peak_rss_kib.max(peak);
                    }
                    None => rows.push(Row { workload, tally, peak_rss_kib: peak }),
                }
            }
            let rate = |w: Workload| round_rates.iter().find(|(x, _)| *x == w).map(|r| r.1);
            let mut ratios = Vec::new();
            if let (Some(intake), Some(trivial)) = (rate(Workload::Intake), rate(Workload::Trivial)) {
                ratios.push(format!("intake/trivial = {:.1}%", 100.0 * intake / trivial.max(1e-9)));
            }
            if let (Some(filled), Some(intake)) = (rate(Workload::IntakeFilled), rate(Workload::Intake)) {
                ratios.push(format!("intake filled/empty = {:.2}", filled / intake.max(1e-9)));
            }
            if !ratios.is_empty() {
                let _ = writeln!(rounds_text, "- round {round}: {}", ratios.join(", "));
            }
        }
        render(&settings, &mut rows, &rounds_text, rss_resettable)
    });
    print!("{report}");
    drop(server);
    drop(filled);
}

async fn wait_healthy(target: &Target) {
    let start = Instant::now();
    loop {
        if let Ok(mut s) = connect(target.addr).await
            && let Ok((StatusCode::OK, _)) = call(&mut s, Method::GET, "/health", &[], None).await
        {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "GET /health did not answer 200 within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn render(settings: &Settings, rows: &mut [Row], rounds_text: &str, rss_resettable: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Local server throughput\n\n{} keep-alive connections, {:.1} s per workload and round, {} rounds \
         (interleaved); one load-generator thread on the same machine. Server: {}.\n",
        settings.connections,
        settings.duration.as_secs_f64(),
        settings.rounds,
        std::env::var("LOAD_SERVER_BIN").unwrap_or_else(|_| "this benchmark's build of `sportello`".into())
    );
    let _ = writeln!(
        out,
        "| workload | throughput | HTTP req/s | p50 | p99 | ops | errors | server peak RSS |\n|---|---|---|---|---|---|---|---|"
    );
    for row in rows.iter_mut() {
        row.tally.latencies_us.sort_unstable();
        let t = &row.tally;
        let rss = row.peak_rss_kib.map_or("?".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        let _ = writeln!(
            out,
            "| {} | {:.0} {} | {:.0} | {:.2} ms | {:.2} ms | {} | {} | {} |",
            row.workload.name(),
            t.rate(),
            row.workload.unit(),
            t.requests as f64 / t.elapsed.as_secs_f64().max(1e-9),
            percentile_ms(&t.latencies_us, 50.0),
            percentile_ms(&t.latencies_us, 99.0),
            t.ops,
            t.errors,
            rss
        );
    }
    let rate = |w: Workload| rows.iter().find(|r| r.workload == w).map(|r| r.tally.rate());
    out.push('\n');
    if let (Some(intake), Some(trivial)) = (rate(Workload::Intake), rate(Workload::Trivial)) {
        let ratio = 100.0 * intake / trivial.max(1e-9);
        let verdict = if ratio >= 30.0 { "met" } else { "missed" };
        let _ = writeln!(out, "**Intake / trivial: {ratio:.1}%** (target ≥ 30%: {verdict})\n");
    }
    if let (Some(filled), Some(intake)) = (rate(Workload::IntakeFilled), rate(Workload::Intake)) {
        let filled = filled / intake.max(1e-9);
        let verdict = if filled >= 0.9 { "met" } else { "missed" };
        let _ = writeln!(
            out,
            "**Intake with {} tickets stored / with an empty store: {filled:.2}** (target ≥ 0.9: {verdict})\n",
            settings.prefill
        );
    }
    let _ = writeln!(out, "Rounds:\n{rounds_text}");
    if !rss_resettable {
        let _ = writeln!(out, "(peak RSS could not be reset between workloads: each figure is the peak so far)\n");
    }
    for row in rows.iter() {
        if let Some(e) = &row.tally.first_error {
            let _ = writeln!(out, "First error of {}: {e}\n", row.workload.name());
        }
    }
    out
}
