//! `sportello serve` as an admin runs it: the real binary on a temp data folder and a free port,
//! talked to over real sockets. Its secret files, its log (`RUST_LOG`), slow clients, and the
//! commands that rotate its credentials and erase a requester's data.

use serde_json::{Value, json};
use sportello::demo::DemoClient;
use sportello::http::auth::KeyFile;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sportello");

fn rules() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))
}

/// The command with a clean environment: only what the test gives it.
fn sportello(data: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SPORTELLO_DATA", data)
        .env("SPORTELLO_RULES", rules())
        .env("SPORTELLO_OPERATORS", data.join("operators.json"))
        .env("SPORTELLO_API_KEYS", data.join("api-keys.json"));
    cmd
}

/// Runs a one-shot command; its exit status and everything it printed.
fn run(data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = sportello(data).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Server {
    child: Child,
    addr: SocketAddr,
    /// stdout and stderr as they come: the banner, then the log.
    output: Arc<Mutex<String>>,
    /// stdout alone: the log.
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `sportello serve` on a free port; `Err` with its output when it exits instead.
    fn start(data: &Path, envs: &[(&str, &str)], args: &[&str]) -> Result<Server, String> {
        let mut cmd = sportello(data);
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        Self::spawn(cmd)
    }

    /// Starts `cmd`, a command that serves, and waits for its banner.
    fn spawn(mut cmd: Command) -> Result<Server, String> {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let log = Arc::new(Mutex::new(String::new()));
        for (stream, is_log) in [
            (Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>, true),
            (Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>, false),
        ] {
            let (output, log) = (output.clone(), log.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                    if is_log {
                        let mut log = log.lock().unwrap();
                        log.push_str(&line);
                        log.push('\n');
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = output.lock().unwrap().clone();
            if let Some(at) = text.find("running on http://") {
                let rest = &text[at + "running on http://".len()..];
                let addr = rest.split_whitespace().next().unwrap().parse().unwrap();
                return Ok(Server { child, addr, output, log });
            }
            if let Some(status) = child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(200));
                return Err(format!("{status}\n{}", output.lock().unwrap()));
            }
            assert!(Instant::now() < deadline, "the server did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn client(&self) -> DemoClient {
        DemoClient::new(&format!("http://{}", self.addr)).unwrap()
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Stops it and returns everything it printed.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(200));
        self.output()
    }

    /// Stops it and returns its standard output: the log.
    fn stop_for_log(self) -> String {
        let log = self.log.clone();
        self.stop();
        log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// The server creates its secrets readable by its own user only, and refuses to start on one
/// that others can read, saying how to fix it.
#[test]
fn secret_files_are_private_and_a_readable_one_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _, err) = run(&data, &["operators", "add", "op-1", "--role", "operator"]);
    assert_eq!(code, 0, "{err}");
    let server = Server::start(&data, &[], &[]).expect("starts on a fresh folder");
    server.stop();
    for file in ["sportello.db", "mail-token.txt", "reply-token-key.txt", "operators.json"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    for file in ["mail-token.txt", "sportello.db", "operators.json"] {
        let path = data.join(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = Server::start(&data, &[], &[]).err().unwrap_or_else(|| panic!("started with {file} 0644"));
        assert!(refused.contains(&path.display().to_string()), "names the file: {refused}");
        assert!(refused.contains(&format!("chmod 600 {}", path.display())), "says how to fix it: {refused}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    Server::start(&data, &[], &[]).expect("starts again once fixed").stop();
}

const NAME: &str = "Giuseppina Verdi";
const EMAIL: &str = "giuseppina.verdi@example.it";
const PHONE: &str = "+393479876543";
const FISCAL_CODE: &str = "VRDGPP75C41F205I";
const BODY: &str = "ho pagato due volte l'avviso";
const MESSAGE_ID: &str = "giuseppina.verdi.1975@example.it";

/// A day's worth of contacts carrying personal data, on every channel, through `server`.
async fn a_day_of_contacts(server: &Server, data: &Path, api_key: &str, mail_token: &str) {
    let c = server.client();
    let mail = format!(
        "From: {NAME} <{EMAIL}>\r\nTo: assistenza@sportello.pagopa.it\r\nDate: Mon, 07 Dec 2026 09:30:00 +0100\r\n\
         Message-ID: <{MESSAGE_ID}>\r\nSubject: {NAME}: {BODY}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Sono {NAME}, codice fiscale {FISCAL_CODE}, telefono {PHONE}: {BODY}.\r\n"
    );
    let headers = [("content-type", "message/rfc822"), ("x-sportello-mail-token", mail_token)];
    let r = c.request("POST", "/email/inbound", &headers, mail.clone().into_bytes()).await.unwrap();
    assert_eq!(r.status, 202, "{}", r.text);
    // The same message again, and a reply quoting it.
    c.request("POST", "/email/inbound", &headers, mail.into_bytes()).await.unwrap();

    let auth = format!("Bearer {api_key}");
    let ticket = json!({
        "category": "io_pagamenti_pagopa",
        "subject": format!("{NAME}: {BODY}"),
        "message": format!("{BODY}, scrivetemi a {EMAIL}"),
        "requester": {"name": NAME, "email": EMAIL, "phone": PHONE, "fiscal_code": FISCAL_CODE},
    });
    let r = c.post_json("/api/v1/tickets", &[("authorization", &auth), ("idempotency-key", "k-1")], &ticket).await;
    assert_eq!(r.unwrap().status, 201);
    // A sender's own JSON keys are personal data too: the refusal must not log them.
    let mut odd = ticket.clone();
    odd[EMAIL] = json!(FISCAL_CODE);
    let r = c.post_json("/api/v1/tickets", &[("authorization", &auth), ("idempotency-key", "k-2")], &odd).await;
    assert_eq!(r.unwrap().status, 422);
    let mut odd = ticket.clone();
    odd["requester"][NAME] = json!(PHONE);
    let r = c.post_json("/api/v1/tickets", &[("authorization", &auth), ("idempotency-key", "k-3")], &odd).await;
    assert_eq!(r.unwrap().status, 422);

    let r = c
        .post_json(
            "/chat/sessions",
            &[],
            &json!({"session_id": uuid::Uuid::new_v4().to_string(), "lang": "it", "category": "privacy_issue"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text);
    let (reference, token) = (r.str("/reference").to_string(), r.str("/token").to_string());
    let said = c
        .post_json(
            &format!("/chat/sessions/{reference}/messages"),
            &[("authorization", &format!("Bearer {token}"))],
            &json!({"text": format!("sono {NAME}, {FISCAL_CODE}: qualcuno usa i miei dati")}),
        )
        .await
        .unwrap();
    assert_eq!(said.status, 200, "{}", said.text);
    // A target's notice with a key of its own (an address) on the reply queue: refused, and its
    // keys stay out of the log.
    let notice = json!({
        "schema": "sportello.resolution-notice/v1",
        "escalation_id": "e-1",
        "reference": "SP-7K3Q9XWD",
        "target": "pagopa_specialists",
        "notice": format!("{BODY} per {NAME}"),
        EMAIL: FISCAL_CODE,
    });
    let file = data.join("notice.json");
    std::fs::write(&file, notice.to_string()).unwrap();
    let (code, _, err) = run(data, &["notices", "send", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // The workers triage what came in, and the reply queue is drained.
    tokio::time::sleep(Duration::from_millis(2000)).await;
}

fn assert_no_personal_data(log: &str) {
    for secret in [NAME, EMAIL, PHONE, "3479876543", FISCAL_CODE, BODY, MESSAGE_ID, "giuseppina"] {
        if let Some(at) = log.to_lowercase().find(&secret.to_lowercase()) {
            let start = log[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = log[at..].find('\n').map_or(log.len(), |i| at + i);
            panic!("`{secret}` reached the log: {}", &log[start..end.min(start + 600)]);
        }
    }
}

fn credentials(data: &Path) -> (String, String) {
    std::fs::create_dir_all(data).unwrap();
    let mut keys = KeyFile::default();
    let (_, api_key) = keys.add("io", jiff::Timestamp::now());
    keys.write(&data.join("api-keys.json")).unwrap();
    let mail_token = "a-mail-gateway-secret-of-sufficient-length";
    let path = data.join("mail-token.txt");
    std::fs::write(&path, mail_token).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (api_key, mail_token.to_string())
}

/// `RUST_LOG` sets what `serve` logs; at every level, down to trace, the log holds ticket ids and
/// references but no names, addresses, numbers, fiscal codes, bodies or Message-IDs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_is_honoured_and_no_level_logs_personal_data() {
    for level in ["trace", "debug", "info"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (api_key, mail_token) = credentials(&data);
        let server = Server::start(&data, &[("RUST_LOG", level)], &[]).unwrap();
        a_day_of_contacts(&server, &data, &api_key, &mail_token).await;
        let log = server.stop();
        assert!(has_level(&log, "INFO") && log.contains("ticket opened"), "{level}: {log}");
        assert!(log.contains("SP-"), "references are logged: {log}");
        match level {
            "trace" => assert!(has_level(&log, "TRACE"), "RUST_LOG=trace shows trace lines"),
            "debug" => assert!(has_level(&log, "DEBUG") && !has_level(&log, "TRACE"), "RUST_LOG=debug: {log}"),
            _ => assert!(!has_level(&log, "DEBUG"), "RUST_LOG=info: {log}"),
        }
        assert_no_personal_data(&log);
    }
    // Quieter than the default, too.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (api_key, mail_token) = credentials(&data);
    let server = Server::start(&data, &[("RUST_LOG", "warn")], &[]).unwrap();
    a_day_of_contacts(&server, &data, &api_key, &mail_token).await;
    let log = server.stop();
    // Metrics (EMF blocks) are written whatever the level: CloudWatch's figures must not depend
    // on how much is logged.
    let info = log.lines().filter(|l| has_level(l, "INFO") && !l.contains(r#""_aws""#)).count();
    assert_eq!(info, 0, "RUST_LOG=warn: {log}");
    assert!(log.contains(r#""_aws""#), "metrics are still written: {log}");

    // Plain lines when asked for, as on a terminal (without its colours: this is a pipe).
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (api_key, mail_token) = credentials(&data);
    let server = Server::start(&data, &[("SPORTELLO_LOG_FORMAT", "text")], &[]).unwrap();
    a_day_of_contacts(&server, &data, &api_key, &mail_token).await;
    let log = server.stop_for_log();
    assert!(log.contains(" INFO ") && log.contains("ticket opened"), "{log}");
    assert!(!log.contains('\u{1b}'), "no ANSI codes off a terminal: {log}");
    assert!(!log.contains("_aws"), "metrics stay out of the text log: {log}");
    assert_no_personal_data(&log);
}

/// Whether `log` has a line at `level`, plain or JSON.
fn has_level(log: &str, level: &str) -> bool {
    log.contains(&format!(" {level} ")) || log.contains(&format!(r#""level":"{level}""#))
}

/// Whether the server has closed the connection (EOF, reset, or an error answer before closing).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 512];
    let closed = match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => true, // an error response (408, 503) then the close
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

fn health(addr: SocketAddr, within: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, within).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(within)).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: sportello\r\nConnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| format!("read after {:?}: {e}", started.elapsed()))?;
    if text.starts_with("HTTP/1.1 200") && text.contains("\"status\":\"ok\"") {
        Ok(started.elapsed())
    } else {
        Err(format!("not a healthy answer: {text}"))
    }
}

/// A thousand clients sending half a request header each do not stop `/health`: connections over
/// the cap are shed, headers that never finish time out, and idle keep-alive connections close.
#[test]
fn slow_clients_do_not_stop_health() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server =
        Server::start(&data, &[], &["--max-connections", "100", "--header-timeout", "3s", "--idle-timeout", "4s"])
            .expect("starts");
    let addr = server.addr;
    health(addr, Duration::from_secs(10)).expect("healthy at first");

    let mut slow = Vec::new();
    for _ in 0..1000 {
        let mut s = TcpStream::connect(addr).expect("the listener accepts");
        let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: sportello\r\nX-Slow: ");
        slow.push(s);
    }
    let took = health(addr, Duration::from_secs(10)).expect("/health answers under a thousand slow clients");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // Over the cap, the oldest half-open connections were shed to make room.
    std::thread::sleep(Duration::from_millis(500));
    let shed = slow.iter_mut().map(closed_by_server).filter(|closed| *closed).count();
    assert!(shed >= 850, "only {shed} of 1000 slow connections were closed with a cap of 100");
    // Headers that never finish time out.
    std::thread::sleep(Duration::from_secs(4));
    let open = slow.iter_mut().map(closed_by_server).filter(|closed| !*closed).count();
    assert_eq!(open, 0, "{open} slow connections outlived the header timeout");
    health(addr, Duration::from_secs(10)).expect("still healthy");

    // A keep-alive connection left idle is closed after the idle timeout.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: sportello\r\n\r\n").unwrap();
    let mut buf = [0u8; 1024];
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let n = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!closed_by_server(&mut s), "open right after a request");
    std::thread::sleep(Duration::from_secs(5));
    assert!(closed_by_server(&mut s), "closed once idle past the timeout");
    let log = server.stop();
    assert!(!log.contains("panicked"), "{log}");
}

fn token_in(out: &str) -> String {
    out.split_whitespace().find(|w| w.starts_with("spo_") || w.starts_with("spk_")).unwrap_or_default().to_string()
}

/// Operator tokens and API keys can carry an expiry and be rotated; the mail gateway's token and
/// the reply-token key rotate with a grace period for what is already out there.
#[test]
fn credentials_expire_and_rotate() {
    use sportello::http::operator_auth::TokenFile;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ops = data.join("operators.json");

    let (code, out, err) = run(&data, &["operators", "add", "op-1", "--role", "operator", "--expires-in", "30d"]);
    assert_eq!(code, 0, "{err}");
    let first = token_in(&out);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&ops).unwrap()).unwrap();
    assert!(file["operators"][0]["expires_at"].is_string(), "{file}");
    assert_eq!(mode(&ops), 0o600);
    let (code, out, err) = run(&data, &["operators", "rotate", "op-1"]);
    assert_eq!(code, 0, "{err}");
    let second = token_in(&out);
    assert!(!second.is_empty() && second != first, "{out}");
    let tokens = TokenFile::new(&ops);
    assert!(tokens.verify(&first).unwrap().is_none(), "the old token stops at once");
    assert_eq!(tokens.verify(&second).unwrap().unwrap().id, "op-1");
    let (code, _, err) = run(&data, &["operators", "rotate", "op-9"]);
    assert_ne!(code, 0);
    assert!(err.contains("op-9"), "{err}");
    // An expired token is refused like a revoked one.
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&ops).unwrap()).unwrap();
    file["operators"][0]["expires_at"] = json!("2020-01-01T00:00:00Z");
    std::fs::write(&ops, file.to_string()).unwrap();
    assert!(TokenFile::new(&ops).verify(&second).unwrap().is_none(), "expired");
    let (_, out, _) = run(&data, &["operators", "list"]);
    assert!(out.contains("expired"), "{out}");

    // API keys: a new key for the same client; the old one keeps working for the grace period.
    let keys = data.join("api-keys.json");
    let (code, out, err) = run(&data, &["clients", "add", "io", "--rules", rules().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let old_key = token_in(&out);
    let id = KeyFile::read(&keys).unwrap().keys[0].id.clone();
    let (code, out, err) = run(&data, &["clients", "rotate", &id, "--grace", "1h"]);
    assert_eq!(code, 0, "{err}");
    let new_key = token_in(&out);
    let file = KeyFile::read(&keys).unwrap();
    assert_eq!(file.client_of(&new_key).unwrap().client, "io");
    assert!(file.client_of(&old_key).is_some(), "still valid during the grace period");
    let mut raw: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    assert!(raw["keys"][0]["expires_at"].is_string(), "the old key ends with the grace period: {raw}");
    raw["keys"][0]["expires_at"] = json!("2020-01-01T00:00:00Z");
    std::fs::write(&keys, raw.to_string()).unwrap();
    assert!(KeyFile::read(&keys).unwrap().client_of(&old_key).is_none(), "not after it");
    assert!(KeyFile::read(&keys).unwrap().client_of(&new_key).is_some());

    // The mail gateway's token and the reply-token key.
    std::fs::create_dir_all(&data).unwrap();
    let (code, out, err) = run(&data, &["secrets", "rotate", "mail-token", "--grace", "10m"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("mail-token.txt"), "{out}");
    assert_eq!(mode(&data.join("mail-token.txt")), 0o600);
    let (code, out, err) = run(&data, &["secrets", "rotate", "reply-token-key", "--grace", "30d"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("reply-token-key.txt"), "{out}");
    let (code, out, err) = run(&data, &["secrets", "rotate", "reply-token-key", "--grace", "30d"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("keeps working until"), "{out}");
    let keyfile = std::fs::read_to_string(data.join("reply-token-key.txt")).unwrap();
    assert_eq!(keyfile.lines().count(), 2, "the new key, and the one it replaced: {keyfile}");
    assert_eq!(keyfile.lines().filter(|l| l.contains(" until ")).count(), 1, "{keyfile}");
    assert_eq!(mode(&data.join("reply-token-key.txt")), 0o600);
    Server::start(&data, &[], &[]).expect("the server reads the rotated files").stop();
}

/// The erasure door on the command line: a preview, then the erasure it confirms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privacy_operator_erases_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _, err) = run(&data, &["operators", "add", "priv-1", "--role", "privacy_operator"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&data, &["operators", "add", "op-1", "--role", "operator"]);
    assert_eq!(code, 0, "{err}");
    let (api_key, mail_token) = credentials(&data);
    let server = Server::start(&data, &[], &[]).unwrap();
    a_day_of_contacts(&server, &data, &api_key, &mail_token).await;
    server.stop();

    let (code, out, err) = run(&data, &["erase", "preview", "--email", EMAIL]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("SP-"), "lists the tickets: {out}");
    assert!(!out.to_lowercase().contains("giuseppina"), "but no personal data: {out}");
    let confirm = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("--confirm "))
        .unwrap_or_else(|| panic!("no confirmation in {out}"))
        .to_string();
    let (code, _, err) = run(&data, &["erase", "run", "--email", EMAIL, "--confirm", &confirm, "--as", "op-1"]);
    assert_ne!(code, 0, "an operator without the privacy role");
    assert!(err.contains("privacy_operator"), "{err}");
    let (code, _, err) = run(&data, &["erase", "run", "--email", EMAIL, "--confirm", "00", "--as", "priv-1"]);
    assert_ne!(code, 0);
    assert!(err.contains("preview"), "{err}");
    let (code, out, err) = run(&data, &["erase", "run", "--email", EMAIL, "--confirm", &confirm, "--as", "priv-1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("erased"), "{out}");

    let db = std::fs::read(data.join("sportello.db")).unwrap();
    let wal = std::fs::read(data.join("sportello.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        assert!(!text.contains(EMAIL), "the e-mail address is still in the database");
    }
    let (code, out, _) = run(&data, &["erase", "preview", "--email", EMAIL]);
    assert_eq!(code, 0);
    assert!(out.contains("no tickets"), "{out}");
}

/// The lines of `log` at WARN or ERROR, whether the server wrote plain lines or JSON objects.
fn warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains(" WARN ")
                || l.contains(" ERROR ")
                || l.contains(r#""level":"WARN""#)
                || l.contains(r#""level":"ERROR""#)
        })
        .collect()
}

/// `n` e-mails in, each acknowledged, triaged, taken in charge, classified and resolved by an
/// operator over HTTP; their references. `data` must hold operator `op-1`'s token file.
async fn answered_emails(server: &Server, operator_token: &str, mail_token: &str, n: usize) -> Vec<String> {
    let operator = format!("Bearer {operator_token}");
    let c = server.client();
    let headers = [("content-type", "message/rfc822"), ("x-sportello-mail-token", mail_token)];
    let mut references = Vec::new();
    for n in 0..n {
        let mail = format!(
            "From: Requester {n} <requester{n}@example.it>\r\nTo: assistenza@sportello.pagopa.it\r\n\
             Date: Mon, 07 Dec 2026 09:30:00 +0100\r\nMessage-ID: <happy-{n}@example.it>\r\n\
             Subject: Avviso pagato due volte\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHo pagato due volte.\r\n"
        );
        let r = c.request("POST", "/email/inbound", &headers, mail.into_bytes()).await.unwrap();
        assert_eq!(r.status, 202, "{}", r.text);
        references.push(r.str("/reference").to_string());
    }
    let auth = [("authorization", operator.as_str())];
    for reference in &references {
        let base = format!("/operator/tickets/{reference}");
        // Triage runs on the workers: the ticket is taken once it is in a team's queue.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = c.post_json(&format!("{base}/take-in-charge"), &auth, &json!({})).await.unwrap();
            if r.status == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "not taken: {} {}", r.status, r.text);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let r = c.post_json(&format!("{base}/classify"), &auth, &json!({"ticket_type": "Q"})).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text);
        let r =
            c.post_json(&format!("{base}/resolve"), &auth, &json!({"answer": "Il rimborso arriva."})).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text);
    }
    references
}

/// A fresh data folder with operator `op-1` and the mail gateway's token: (folder, operator token,
/// mail token).
fn desk() -> (tempfile::TempDir, PathBuf, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, out, err) = run(&data, &["operators", "add", "op-1", "--role", "operator"]);
    assert_eq!(code, 0, "{err}");
    let (_, mail_token) = credentials(&data);
    (dir, data, token_in(&out), mail_token)
}

/// The happy path logs no warning: e-mails come in, are acknowledged, triaged, taken in charge,
/// classified and resolved, and each answer is mailed once, with the inline delivery and its
/// queued step racing as they always do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_happy_path_logs_no_warning() {
    let (_dir, data, operator, mail_token) = desk();
    let server = Server::start(&data, &[], &[]).unwrap();
    let references = answered_emails(&server, &operator, &mail_token, 6).await;
    // The queued delivery steps run too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stdout = server.log.lock().unwrap().clone();
    let log = server.stop();
    // Off a terminal the log is JSON: one object per line, nothing else on standard output.
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string() && v["target"].is_string(), "{line}");
        if v["message"] == "ticket opened" || v["message"] == "answer delivered" {
            assert!(v["reference"].as_str().is_some_and(|r| r.starts_with("SP-")), "{line}");
            assert!(v["request_id"].is_string(), "inside its HTTP request: {line}");
        }
    }
    assert_eq!(log.matches("answer delivered").count(), references.len(), "{log}");
    // The default rulebook's own warnings (what `rules check` shows) are printed at start-up.
    let warned: Vec<&str> = warnings(&log).into_iter().filter(|l| !l.contains("rulebook: ")).collect();
    assert!(warned.is_empty(), "warnings on the happy path:\n{}", warned.join("\n"));
}

/// No command means `serve`, options and all; the help says so; SIGTERM stops the server with
/// one line saying so.
#[test]
fn no_command_means_serve_and_stopping_says_so() {
    let (code, help, err) = run(Path::new("unused"), &["--help"]);
    assert_eq!(code, 0, "{err}");
    assert!(help.contains("Without a command, Sportello serves"), "{help}");
    assert!(help.contains("sportello --listen"), "{help}");

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut cmd = sportello(&data);
    cmd.args(["--listen", "127.0.0.1:0"]);
    let server = Server::spawn(cmd).expect("`sportello --listen …` serves");
    let health = health(server.addr, Duration::from_secs(10));
    assert!(health.is_ok(), "{health:?}");
    let killed = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut server = server;
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 20 s after SIGTERM:\n{}", server.output());
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(200));
    let out = server.output();
    assert!(status.success(), "{status}: {out}");
    let stopped: Vec<&str> = out.lines().filter(|l| l.contains("stopped")).collect();
    assert_eq!(stopped.len(), 1, "one line at shutdown:\n{out}");
    assert!(stopped[0].starts_with("Sportello stopped on SIGTERM"), "{}", stopped[0]);
    assert!(stopped[0].contains("sportello.db"), "{}", stopped[0]);

    // An option that is not serve's is refused with serve's usage.
    let (code, _, err) = run(&data, &["--no-such-option"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--no-such-option"), "{err}");
}

/// `sportello outbox` lists the mail the local server sent, and shows one as its recipient reads
/// it (or as the .eml it would have been).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_lists_and_shows_the_mail_sent() {
    let (_dir, data, operator, mail_token) = desk();
    let (code, out, err) = run(&data, &["outbox"]);
    assert_ne!(code, 0, "no database yet: {out}");
    assert!(err.contains("sportello serve"), "says what to do: {err}");

    let server = Server::start(&data, &[], &[]).unwrap();
    let references = answered_emails(&server, &operator, &mail_token, 2).await;
    server.stop();
    let (code, list, err) = run(&data, &["outbox", "list"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].contains("sent (UTC)") && lines[0].contains("subject"), "{list}");
    // Each requester got the acknowledgement and the answer.
    assert_eq!(lines.iter().filter(|l| l.contains("@example.it")).count(), 4, "{list}");
    for reference in &references {
        assert_eq!(lines.iter().filter(|l| l.contains(reference.as_str())).count(), 2, "{list}");
    }
    let (code, bare, _) = run(&data, &["outbox"]);
    assert_eq!((code, bare.as_str()), (0, list.as_str()), "no subcommand lists");

    let (code, mine, err) = run(&data, &["outbox", "list", "--ticket", &references[1]]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mine.lines().filter(|l| l.contains("requester1@example.it")).count(), 2, "{mine}");
    assert!(!mine.contains("requester0@"), "{mine}");
    let answer_id = mine.lines().rev().find(|l| l.contains("requester1@")).unwrap().split_whitespace().next().unwrap();

    let (code, shown, err) = run(&data, &["outbox", "show", answer_id]);
    assert_eq!(code, 0, "{err}");
    assert!(shown.contains("\nTo:          requester1@example.it\n"), "{shown}");
    assert!(shown.contains(&format!("Subject:     [{}]", references[1])), "{shown}");
    assert!(shown.contains("In-Reply-To: <happy-1@example.it>"), "threaded on the requester's mail: {shown}");
    assert!(shown.contains("Il rimborso arriva."), "the answer's text: {shown}");
    let (code, raw, _) = run(&data, &["outbox", "show", answer_id, "--raw"]);
    assert_eq!(code, 0);
    assert!(raw.contains("MIME-Version: 1.0") && raw.contains("Message-ID: <"), "{raw}");

    let (code, _, err) = run(&data, &["outbox", "show", "999"]);
    assert_eq!(code, 1);
    assert!(err.contains("no message 999") && err.contains("outbox list"), "{err}");
    let (code, _, err) = run(&data, &["outbox", "show", "first"]);
    assert_eq!(code, 2, "{err}");
}
