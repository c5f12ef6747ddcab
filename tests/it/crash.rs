//! The real server (the `sportello` binary) under concurrent intake on every channel (voice,
//! chat, e-mail, API), killed with SIGKILL mid-load, restarted on the same data, and every
//! request that got no answer retried with its key, as a client would. Several rounds, each
//! checking from the database file itself that:
//! - every acknowledged ticket is there, exactly once (one ticket per key, none without one);
//! - every retried request gets a 2xx and its ticket (the one stored under its key);
//! - every ticket reaches triage (or the end its flow gives it out of hours), once the sweep has
//!   run: the test asks the server for one (`POST /operator/sweep`) instead of waiting for the
//!   clock, so a slow machine changes the timings, never the verdict.
//!
//! The figures of each round are printed: `scripts/test` runs it on its own, after the rest, as
//! `cargo test --all-features --test it crash:: -- --nocapture`.

use axum::body::Body;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sportello::http::auth::KeyFile;
use sportello::http::operator_auth::{OperatorFile, Role};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROUNDS: usize = 3;
/// Clients sending at once; each has one request in flight at a time.
const CLIENTS: usize = 16;
const MAIL_SECRET: &str = "crash-test-mail-gateway-secret";
const CHANNELS: [Channel; 4] = [Channel::Voice, Channel::Chat, Channel::Email, Channel::Api];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Channel {
    Voice,
    Chat,
    Email,
    Api,
}

/// One contact the load sent, and what became of it.
#[derive(Debug, Clone)]
struct Contact {
    channel: Channel,
    /// The client's key: call id, chat session id, Message-ID, Idempotency-Key.
    key: String,
    /// The reference the server answered with; `None` while unanswered.
    reference: Option<String>,
    /// A chat asks for an operator after its start; done once the handoff was answered.
    handed_off: bool,
    chat_token: Option<String>,
    /// Answered, but not with a 2xx (before the kill): retried after the restart like the rest.
    refused: bool,
}

impl Contact {
    /// The key the store keeps it under (`ticket_idempotency.key`).
    fn store_key(&self) -> String {
        match self.channel {
            Channel::Voice => format!("voice:{}", self.key),
            Channel::Chat => format!("chat:{}", self.key),
            // Inbound Message-IDs are kept hashed: they can carry the sender's address.
            Channel::Email => format!("email-id:{}", hex(&Sha256::digest(self.key.as_bytes()))),
            Channel::Api => format!("api:io:{}", hex(&Sha256::digest(self.key.as_bytes()))),
        }
    }

    fn done(&self) -> bool {
        self.reference.is_some() && (self.channel != Channel::Chat || self.handed_off)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server process and how to reach it.
struct Server {
    child: Child,
    url: String,
    /// The start-up sweep's line, when it found something to finish.
    startup: Option<String>,
}

impl Server {
    fn start(data: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sportello"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--rules")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
            .env("SPORTELLO_OPERATORS", data.join("operators.json"))
            .env("SPORTELLO_API_KEYS", data.join("api-keys.json"))
            .env("SPORTELLO_MAIL_TOKEN_SHA256", hex(&Sha256::digest(MAIL_SECRET.as_bytes())))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            // The log (JSON lines) is not read; the banner and the start-up line are on stderr.
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sportello");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut startup = None;
        let deadline = Instant::now() + Duration::from_secs(120);
        let url = loop {
            assert!(Instant::now() < deadline, "the server did not start within 120 s");
            let line = lines.next().expect("the server printed its address").unwrap();
            if line.starts_with("Finished what the last run left undone") {
                startup = Some(line.clone());
            }
            if let Some(rest) = line.strip_prefix("Sportello is running on ") {
                break rest.trim().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, url, startup }
    }

    /// SIGKILL: no shutdown, no flush, exactly as a crash.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// One HTTP/1.1 request on its own connection; `Err` when no answer came (refused, cut off).
async fn send(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<(u16, Value), String> {
    let authority = url.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut request = Request::builder().method(method).uri(path).header("host", &authority);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request.body(Body::from(body)).map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20).await.map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

struct Credentials {
    api_key: String,
    /// The telephony platform's key: calls come from the `voice` channel's client.
    voice_key: String,
    supervisor: String,
}

impl Credentials {
    fn create(data: &Path) -> Credentials {
        let now = jiff::Timestamp::now();
        let mut keys = KeyFile::default();
        let (_, api_key) = keys.add("io", now);
        let (_, voice_key) = keys.add("voice", now);
        keys.write(&data.join("api-keys.json")).unwrap();
        let mut operators = OperatorFile::default();
        let supervisor = operators.add("sup-1", vec![Role::Supervisor, Role::PrivacyOperator], now).unwrap();
        operators.write(&data.join("operators.json")).unwrap();
        Credentials { api_key, voice_key, supervisor }
    }
}

/// Sends one step of a contact: its intake, or a chat's handoff. `Ok(Ok(()))`: answered with a
/// 2xx; `Ok(Err(why))`: answered otherwise; `Err`: no answer.
async fn step(url: &str, creds: &Credentials, c: &mut Contact) -> Result<Result<(), String>, String> {
    if c.channel == Channel::Chat && c.reference.is_some() && c.chat_token.is_some() {
        let path = format!("/chat/sessions/{}/operator", c.reference.as_deref().unwrap());
        let auth = format!("Bearer {}", c.chat_token.as_deref().unwrap());
        let (status, body) = send(url, "POST", &path, &[("authorization", &auth)], Vec::new()).await?;
        c.handed_off = (200..300).contains(&status);
        return Ok(if c.handed_off { Ok(()) } else { Err(format!("{status} {body}")) });
    }
    let (status, body) = match c.channel {
        Channel::Voice => {
            let body = json!({"call_id": c.key, "caller": "+390612345678", "menu": "1"});
            let auth = format!("Bearer {}", creds.voice_key);
            let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
            send(url, "POST", "/voice/calls", &headers, body.to_string().into()).await?
        }
        Channel::Chat => {
            let body = json!({"session_id": c.key, "lang": "it"});
            send(url, "POST", "/chat/sessions", &[("content-type", "application/json")], body.to_string().into())
                .await?
        }
        Channel::Email => {
            let raw = format!(
                "From: Mario Rossi <mario.rossi@example.it>\r\nTo: assistenza@sportello.pagopa.it\r\n\
                 Subject: Avviso pagato due volte\r\nMessage-ID: <{}>\r\nDate: Wed, 02 Dec 2026 10:00:00 +0100\r\n\r\n\
                 Ho pagato due volte lo stesso avviso, come ottengo il rimborso?\r\n",
                c.key
            );
            let headers = [("content-type", "message/rfc822"), ("x-sportello-mail-token", MAIL_SECRET)];
            send(url, "POST", "/email/inbound", &headers, raw.into_bytes()).await?
        }
        Channel::Api => {
            let body = json!({
                "category": "io_pagamenti_pagopa",
                "subcategory": "pagamenti_pagopa_blocco",
                "message": "Il pagamento resta in attesa da ieri.",
                "requester": {"email": "mario.rossi@example.it"},
            });
            let auth = format!("Bearer {}", creds.api_key);
            let headers =
                [("content-type", "application/json"), ("authorization", auth.as_str()), ("idempotency-key", &c.key)];
            send(url, "POST", "/api/v1/tickets", &headers, body.to_string().into()).await?
        }
    };
    if !(200..300).contains(&status) {
        return Ok(Err(format!("{status} {body}")));
    }
    let reference = body["reference"].as_str().map(str::to_string);
    assert!(reference.is_some(), "{:?} {}: a 2xx without a reference: {body}", c.channel, c.key);
    if let (Some(known), Some(new)) = (&c.reference, &reference) {
        assert_eq!(known, new, "{:?} {}: the same key answered with another ticket", c.channel, c.key);
    }
    c.reference = reference;
    if c.channel == Channel::Chat {
        c.chat_token = body["token"].as_str().map(str::to_string);
    }
    Ok(Ok(()))
}

/// What one round saw.
#[derive(Debug, Default)]
struct Round {
    sent: usize,
    acknowledged_before_kill: usize,
    in_flight_at_kill: usize,
    in_flight_by_channel: BTreeMap<String, usize>,
    refused_before_kill: usize,
    retried: usize,
    startup_sweep: Option<String>,
    sweep: Value,
    tickets_total: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_tickets_survive_kill_9_and_every_retry_completes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let creds = Arc::new(Credentials::create(&data));
    let mut server = Server::start(&data);
    let mut all: Vec<Contact> = Vec::new();
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        let (next, contacts, figures) = crash_round(round, server, &data, &creds).await;
        server = next;
        all.extend(contacts);
        verify(&data, &all, round);
        rounds.push(figures);
    }
    server.kill();
    println!("\ncrash test: {ROUNDS} rounds, {CLIENTS} clients, channels voice/chat/email/api");
    println!(
        "round  sent  acked-before-kill  in-flight-at-kill (by channel)            refused  retried-2xx  start-up sweep / POST /operator/sweep  tickets"
    );
    for (i, r) in rounds.iter().enumerate() {
        println!(
            "{:>5}  {:>4}  {:>17}  {:>3} {:<36}  {:>7}  {:>11}  {} / {}  {:>7}",
            i + 1,
            r.sent,
            r.acknowledged_before_kill,
            r.in_flight_at_kill,
            format!("{:?}", r.in_flight_by_channel),
            r.refused_before_kill,
            r.retried,
            r.startup_sweep.as_deref().unwrap_or("nothing left undone"),
            r.sweep,
            r.tickets_total,
        );
    }
    println!(
        "every acknowledged ticket found exactly once, every retry answered 2xx with its ticket, every ticket triaged"
    );
}

/// Load, kill -9 mid-load, restart, retry what got no answer, sweep. Returns the restarted
/// server, the round's contacts and its figures.
async fn crash_round(
    round: usize,
    server: Server,
    data: &Path,
    creds: &Arc<Credentials>,
) -> (Server, Vec<Contact>, Round) {
    let contacts: Arc<Mutex<Vec<Contact>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    // A different moment each round: after 40 to 120 acknowledged contacts.
    let kill_after = 40 + (uuid::Uuid::new_v4().as_u128() % 81) as usize;
    let url = server.url.clone();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (contacts, stop, acked, creds, url) =
            (contacts.clone(), stop.clone(), acked.clone(), creds.clone(), url.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let channel = CHANNELS[(client + n) % CHANNELS.len()];
                let key = match channel {
                    Channel::Email => format!("r{round}-c{client}-{n}@crash.example"),
                    _ => format!("crash-r{round}-c{client}-{n}-{}", uuid::Uuid::new_v4().simple()),
                };
                let mut c =
                    Contact { channel, key, reference: None, handed_off: false, chat_token: None, refused: false };
                let at = {
                    let mut all = contacts.lock().unwrap();
                    all.push(c.clone());
                    all.len() - 1
                };
                n += 1;
                loop {
                    match step(&url, &creds, &mut c).await {
                        Ok(Ok(())) if c.done() => {
                            acked.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        Ok(Ok(())) => {} // a chat started: now its handoff
                        Ok(Err(_)) => {
                            c.refused = true; // retried after the restart
                            break;
                        }
                        Err(_) => {
                            contacts.lock().unwrap()[at] = c;
                            return; // the server is gone
                        }
                    }
                    contacts.lock().unwrap()[at] = c.clone();
                }
                contacts.lock().unwrap()[at] = c;
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while acked.load(Ordering::SeqCst) < kill_after {
        assert!(Instant::now() < deadline, "round {round}: only {} contacts in 300 s", acked.load(Ordering::SeqCst));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stop.store(true, Ordering::SeqCst);
    server.kill();
    for c in clients {
        c.await.unwrap();
    }
    let mut contacts = std::mem::take(&mut *contacts.lock().unwrap());
    let mut figures = Round { sent: contacts.len(), ..Round::default() };
    figures.acknowledged_before_kill = contacts.iter().filter(|c| c.done()).count();
    figures.refused_before_kill = contacts.iter().filter(|c| c.refused).count();
    // Unanswered: sent, and the kill came before the answer.
    let unanswered: Vec<&Contact> = contacts.iter().filter(|c| !c.done() && !c.refused).collect();
    for c in &unanswered {
        *figures.in_flight_by_channel.entry(format!("{:?}", c.channel).to_lowercase()).or_default() += 1;
    }
    figures.in_flight_at_kill = unanswered.len();

    let server = Server::start(data);
    figures.startup_sweep = server.startup.clone();
    for c in contacts.iter_mut().filter(|c| !c.done()) {
        // The client retries until it has an answer; the server is up, so a few tries at most.
        let mut tries = 0;
        while !c.done() {
            tries += 1;
            assert!(tries <= 5, "round {round}: {:?} {} still not answered with a 2xx", c.channel, c.key);
            match step(&server.url, creds, c).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) if tries < 5 => tokio::time::sleep(Duration::from_millis(200)).await,
                Ok(Err(why)) => panic!("round {round}: {:?} {}: the retry was refused: {why}", c.channel, c.key),
                Err(e) => panic!("round {round}: {:?} {}: no answer after the restart: {e}", c.channel, c.key),
            }
        }
        figures.retried += 1;
    }
    let auth = format!("Bearer {}", creds.supervisor);
    let body = json!({"older_than_seconds": 0}).to_string().into_bytes();
    let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
    let (status, report) = send(&server.url, "POST", "/operator/sweep", &headers, body).await.unwrap();
    assert_eq!(status, 200, "round {round}: the sweep answered {status}: {report}");
    figures.sweep = report;
    figures.tickets_total = count(data, "SELECT count(*) FROM tickets") as usize;
    (server, contacts, figures)
}

fn db(data: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(data.join("sportello.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

fn count(data: &Path, sql: &str) -> i64 {
    db(data).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Checks the database file against everything the clients were told.
fn verify(data: &Path, contacts: &[Contact], round: usize) {
    let conn = db(data);
    let mut keys: HashMap<String, String> = HashMap::new();
    let mut stmt = conn.prepare("SELECT key, ticket_id FROM ticket_idempotency").unwrap();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap() {
        let (k, id) = row.unwrap();
        keys.insert(k, id);
    }
    let mut tickets: HashMap<String, Value> = HashMap::new();
    let mut stmt = conn.prepare("SELECT id, doc FROM tickets").unwrap();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap() {
        let (id, doc) = row.unwrap();
        tickets.insert(id, serde_json::from_str(&doc).unwrap());
    }
    // Exactly once: one ticket per key, every ticket under a key the clients sent.
    let ours: HashSet<String> = contacts.iter().map(Contact::store_key).collect();
    let distinct: HashSet<&String> = keys.values().collect();
    assert_eq!(distinct.len(), keys.len(), "round {round}: two keys share a ticket");
    assert_eq!(tickets.len(), keys.len(), "round {round}: a ticket without a key, or a key without a ticket");
    for k in keys.keys() {
        assert!(ours.contains(k), "round {round}: a ticket under a key no client sent: {k}");
    }
    for c in contacts {
        let id = keys.get(&c.store_key()).unwrap_or_else(|| {
            panic!("round {round}: {:?} {} was answered {:?} but is not stored", c.channel, c.key, c.reference)
        });
        let t = &tickets[id];
        assert_eq!(t["reference"].as_str(), c.reference.as_deref(), "round {round}: {:?} {}", c.channel, c.key);
        // Reached triage, or the end the flow gives a contact out of hours.
        let state = t["state"].as_str().unwrap_or_default();
        let triaged = t.get("triaged_at").is_some_and(|v| !v.is_null());
        assert!(
            triaged || matches!(state, "not_served" | "auto_closed"),
            "round {round}: {:?} {} ({}) stuck in `{state}` without triage: {t}",
            c.channel,
            c.key,
            t["reference"]
        );
    }
    // Nothing left for later: the step queue's triages all ran or are harmless repeats.
    let messages: i64 = conn.query_row("SELECT count(*) FROM dead_letters", [], |r| r.get(0)).unwrap();
    assert_eq!(messages, 0, "round {round}: dead-lettered steps");
}
