//! Memory of the local server under hostile mail: the release `sportello serve` runs as a child
//! process and receives, on `POST /email/inbound`, a 9 MB message of 88,000 MIME parts, one at a
//! time and then eight at once, beside a 9 MB message of one attachment (what a big mail of the
//! same size costs). The server's resident memory (`VmRSS` from /proc) is sampled every 10 ms:
//! the report gives, per phase, the peak over the idle baseline and what is still held 3 s after.
//!
//! `cargo bench --bench mime_memory` (or `scripts/bench mime`). Linux only (reads /proc).

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MAIL_SECRET: &str = "bench-mail-gateway-secret";
const PARTS: usize = 88_000;
const TARGET_BYTES: usize = 9 * 1024 * 1024;

struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let log = dir.path().join("server.log");
    let token: String = Sha256::digest(MAIL_SECRET.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let server_log = std::fs::File::create(&log).expect("the server log");
    let child = Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .arg("--rules")
        .arg(root.join("rules"))
        .env("SPORTELLO_MAIL_TOKEN_SHA256", token)
        .env("SPORTELLO_OPERATORS", dir.path().join("operators.json"))
        .stdin(Stdio::null())
        // The banner goes to stderr when stdout carries the JSON log: both into one file.
        .stdout(server_log.try_clone().expect("the server log"))
        .stderr(server_log)
        .spawn()
        .expect("start `sportello serve`");
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        assert!(Instant::now() < deadline, "the server did not start");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find_map(|l| l.strip_prefix("Sportello is running on http://")) {
            break line.trim().to_string();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Server { child, addr, _dir: dir }
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A 9 MB message of `PARTS` small text parts.
fn many_parts(n: usize) -> Vec<u8> {
    let mut raw = format!(
        "From: Mario Rossi <mario.rossi@example.it>\r\nTo: assistenza@sportello.pagopa.it\r\n\
         Subject: Molte parti\r\nMessage-ID: <parts-{n}-{}@bench.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
        uuid::Uuid::new_v4().simple()
    );
    let filler = "x".repeat(TARGET_BYTES / PARTS - 40);
    for _ in 0..PARTS {
        raw.push_str("--b\r\nContent-Type: text/plain\r\n\r\n");
        raw.push_str(&filler);
        raw.push_str("\r\n");
    }
    raw.push_str("--b--\r\n");
    raw.into_bytes()
}

/// A 9 MB message of one base64 attachment.
fn one_attachment(n: usize) -> Vec<u8> {
    let mut raw = format!(
        "From: Mario Rossi <mario.rossi@example.it>\r\nTo: assistenza@sportello.pagopa.it\r\n\
         Subject: Un allegato\r\nMessage-ID: <attachment-{n}-{}@bench.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
         In allegato la ricevuta.\r\n--b\r\nContent-Type: application/pdf; name=\"ricevuta.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
        uuid::Uuid::new_v4().simple()
    );
    let line = format!("{}\r\n", "QUJD".repeat(19));
    while raw.len() < TARGET_BYTES {
        raw.push_str(&line);
    }
    raw.push_str("--b--\r\n");
    raw.into_bytes()
}

async fn post(addr: &str, raw: Vec<u8>) -> (u16, String, Duration) {
    let started = Instant::now();
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(conn);
    let request = Request::post("/email/inbound")
        .header("host", addr)
        .header("content-type", "message/rfc822")
        .header("x-sportello-mail-token", MAIL_SECRET)
        .body(Full::new(Bytes::from(raw)))
        .unwrap();
    let response = sender.send_request(request).await.expect("a response");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let what = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("action").or_else(|| v.get("detail")).and_then(|a| a.as_str()).map(str::to_string))
        .unwrap_or_else(|| text.chars().take(80).collect());
    (status, what, started.elapsed())
}

/// Runs `mails` at once; returns (peak RSS over the phase, RSS 3 s after, answers).
async fn phase(addr: &str, pid: u32, mails: Vec<Vec<u8>>) -> (u64, u64, Vec<(u16, String, Duration)>) {
    let peak = Arc::new(AtomicU64::new(rss_kib(pid)));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                peak.fetch_max(rss_kib(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let tasks: Vec<_> = mails.into_iter().map(|m| tokio::spawn(post_owned(addr.to_string(), m))).collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("a request task"));
    }
    done.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    (peak.load(Ordering::SeqCst), rss_kib(pid), answers)
}

async fn post_owned(addr: String, raw: Vec<u8>) -> (u16, String, Duration) {
    post(&addr, raw).await
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sample = many_parts(0);
    println!("## Hostile mail and memory (`cargo bench --bench mime_memory`)\n");
    println!(
        "{} parts in {:.1} MiB per hostile message; each phase on a freshly started server.\n",
        PARTS,
        sample.len() as f64 / 1_048_576.0
    );
    println!("| phase | answers | slowest | RSS at rest | peak RSS (over rest) | RSS 3 s after |");
    println!("| --- | --- | --- | --- | --- | --- |");
    type Mails = fn() -> Vec<Vec<u8>>;
    let phases: [(&str, Mails); 4] = [
        ("one 9 MB mail, one attachment", || vec![one_attachment(1)]),
        ("one 9 MB mail, 88,000 parts", || vec![many_parts(1)]),
        ("eight 9 MB mails, one attachment each, at once", || (2..10).map(one_attachment).collect()),
        ("eight 9 MB mails, 88,000 parts each, at once", || (2..10).map(many_parts).collect()),
    ];
    for (name, mails) in phases {
        let server = start_server();
        let pid = server.child.id();
        runtime.block_on(async {
            // Warm the server (rulebook, first intake) before the baseline.
            let _ = post(&server.addr, one_attachment(0)[..4096].to_vec()).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let baseline = rss_kib(pid);
            let (peak, after, answers) = phase(&server.addr, pid, mails()).await;
            let mut kinds: Vec<String> = answers.iter().map(|(s, what, _)| format!("{s} {what}")).collect();
            kinds.dedup();
            let slowest = answers.iter().map(|a| a.2).max().unwrap_or_default();
            println!(
                "| {name} | {} | {:.2} s | {} | {} (+{}) | {} |",
                kinds.join(", "),
                slowest.as_secs_f64(),
                mib(baseline),
                mib(peak),
                mib(peak.saturating_sub(baseline)),
                mib(after),
            );
        });
    }
}
