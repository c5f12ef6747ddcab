//! Cold start of the Lambda functions: the time from exec to the function's first
//! `GET /2018-06-01/runtime/invocation/next`, which is what Lambda reports as "Init Duration".
//! A Runtime API emulator (below) records that call; each function runs against moto_server for
//! DynamoDB, SQS and SES (over plain HTTP, so no TLS handshake is part of the figure), with the
//! environment of `scripts/lambda-smoke.sh`.
//!
//! Each function is compared to `hello-lambda` (benches/hello_lambda), the same `lambda_runtime`
//! with nothing else, measured the same way and interleaved with them (target: at most 2×).
//!
//! The binaries are release builds found beside this benchmark's own executable (or in
//! `COLDSTART_BIN_DIR`); `scripts/bench` builds them. `COLDSTART_RUNS` (10) runs per binary.
//! `COLDSTART_BASELINE_DIR` names a folder of the same binaries from another commit: they run
//! interleaved with these, as "<name> (baseline)", so a before/after comparison shares one
//! moment of a shared machine. `COLDSTART_ONLY` (comma-separated names) runs only those
//! binaries besides hello-lambda, for a profile of one. `COLDSTART_BASELINE_UNSET`
//! (comma-separated variables) leaves those out of the baseline's environment, to measure a
//! change of the deployment's environment rather than of the code.
//!
//! Each function logs where its init went (`init done`, `sportello::lambda::InitTimes`, and
//! `warm-up done` when its warm-up calls end): a second table gives the median of each part, so
//! the warm-up calls' share is read apart from the rest.
//!
//! Then the emulator hands the function its first event (the first line of
//! `tests/fixtures/events/invoke.txt` for that function, as `scripts/lambda-smoke.sh` sends it;
//! hello-lambda gets a small JSON object) and times the first invocation: from the `/next` that
//! carries it to its response. So an init that leaves work to the first request shows it there,
//! and `exec → first response` is what the first caller of a cold function waits for in all.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const HELLO: &str = "hello-lambda";
/// How a baseline's binary is named in the results.
const BASELINE: &str = " (baseline)";

/// What the columns of the init's parts mean (`sportello::lambda::InitTimes`).
const INIT_PARTS: &str = "`sdk_config` the SDK's configuration and clients; `warm_up_start` the warm-up tasks' first \
turn on the init's thread (requests built and signed, DNS look-ups started); `secrets` Secrets \
Manager reads; \
`rulebook` the compiled rulebook (or the YAML) loaded; `build` the engine and the handler built, \
the rulebook included; \
`warm_up` the warm-up calls of DynamoDB and SQS from their start to their end, and `mail_warm_up` \
SES's, in the functions that send mail (concurrent with the parts after \
`sdk_config`, and with the first invocation when the init does not wait for them); \
`warm_up_wait` what the init waited for them once the rest was ready (a build that does not \
wait logs none); `total` from `run` to the end of the init (so the process start, the loader \
and the async runtime are the exec → /next figure less `total`)";

/// One cold start as the emulator saw it: exec → first `/next` (the init), and that `/next` →
/// the first invocation's response.
struct Start {
    init: Duration,
    first: Duration,
}

/// Per binary: its cold starts, its failures, and the parts of each init as it logged them.
type Results = Vec<(String, Vec<Start>, Vec<String>, Vec<BTreeMap<String, f64>>)>;
const INIT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the emulator saw: a function asking for its first event, answering it, or reporting a
/// failed init or invocation.
#[derive(Debug)]
enum Seen {
    Next(Instant),
    Response(Instant),
    InitError(String),
    InvocationError(String),
}

/// The emulator's state: where it reports, and the event the next `/next` hands out (one per
/// cold start; the `/next` after it is held open, and the process is killed).
#[derive(Clone)]
struct Emulated {
    tx: mpsc::UnboundedSender<Seen>,
    event: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

/// The Runtime API, as far as an init and one invocation need it.
fn emulator(state: Emulated) -> Router {
    Router::new()
        .route(
            "/2018-06-01/runtime/invocation/next",
            get(|State(state): State<Emulated>| async move {
                let _ = state.tx.send(Seen::Next(Instant::now()));
                let event = state.event.lock().expect("the event").take();
                let Some(event) = event else {
                    std::future::pending::<()>().await;
                    unreachable!()
                };
                let deadline = std::time::SystemTime::now() + Duration::from_secs(60);
                let deadline = deadline.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
                axum::response::Response::builder()
                    .header("lambda-runtime-aws-request-id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
                    .header("lambda-runtime-deadline-ms", deadline.to_string())
                    .header(
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:eu-south-1:123456789012:function:coldstart",
                    )
                    .header(
                        "lambda-runtime-trace-id",
                        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
                    )
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(event))
                    .expect("a /next response")
            }),
        )
        .route(
            "/2018-06-01/runtime/init/error",
            post(|State(state): State<Emulated>, body: String| async move {
                let _ = state.tx.send(Seen::InitError(body));
                StatusCode::ACCEPTED
            }),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(|State(state): State<Emulated>| async move {
                let _ = state.tx.send(Seen::Response(Instant::now()));
                StatusCode::ACCEPTED
            }),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(|State(state): State<Emulated>, body: String| async move {
                let _ = state.tx.send(Seen::InvocationError(body));
                StatusCode::ACCEPTED
            }),
        )
        .with_state(state)
}

/// Each function's first event: the first line of `tests/fixtures/events/invoke.txt` that names
/// it, its placeholders (a ticket stored by earlier invocations, in the smoke test) filled with
/// ids that name no ticket.
fn first_events(root: &Path) -> BTreeMap<String, String> {
    let events = root.join("tests/fixtures/events");
    let mapping = std::fs::read_to_string(events.join("invoke.txt")).expect("tests/fixtures/events/invoke.txt");
    let mut first = BTreeMap::new();
    for line in mapping.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let mut words = line.split_whitespace();
        let (Some(function), Some(file)) = (words.next(), words.next()) else { continue };
        if first.contains_key(function) {
            continue;
        }
        let text = std::fs::read_to_string(events.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let text = text
            .replace("@TICKET_ID@", "01JF0000000000000000000000")
            .replace("@REFERENCE@", "SP-2612-00000")
            .replace("@ESCALATION_ID@", "01JF0000000000000000000001");
        first.insert(function.to_string(), text);
    }
    first.insert(HELLO.to_string(), r#"{"cold":"start"}"#.to_string());
    first
}

/// The functions: every binary of every crate under functions/ (its `[[bin]]` names, or the
/// package name when it declares none), as scripts/lambda-smoke.sh finds them.
fn functions(root: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("functions"))
        .expect("functions/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("a manifest");
        let (mut section, mut package, mut bins) = (String::new(), None, Vec::new());
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_string();
            } else if let Some(value) = line.strip_prefix("name = ") {
                let value = value.trim_matches('"').to_string();
                match section.as_str() {
                    "[package]" => package = package.or(Some(value)),
                    "[[bin]]" => bins.push(value),
                    _ => {}
                }
            }
        }
        if bins.is_empty() {
            bins.extend(package);
        }
        names.extend(bins);
    }
    names
}

/// moto_server from the project's .venv with the table and the step queue, as the smoke test
/// provisions them (scripts/lambda_smoke.py).
struct Moto {
    child: Child,
    endpoint: String,
    queue_url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

fn start_moto(root: &Path) -> Moto {
    let python = root.join(".venv/bin/python");
    let helper = root.join("scripts/lambda_smoke.py");
    assert!(python.exists(), "{} not found: run scripts/test-env.sh", python.display());
    let port = free_port();
    let child = Command::new(&python)
        .arg(&helper)
        .args(["moto", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut moto = Moto { child, endpoint, queue_url: String::new() };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(60), "moto_server did not start within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let tag = format!("coldstart-{}", std::process::id());
    let out = Command::new(&python)
        .arg(&helper)
        .args(["provision", &moto.endpoint, &format!("sportello-{tag}"), &format!("steps-{tag}")])
        .output()
        .expect("provision moto");
    assert!(out.status.success(), "provisioning moto failed: {}", String::from_utf8_lossy(&out.stderr));
    moto.queue_url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    moto
}

/// The environment Lambda gives a function, plus Sportello's (as in scripts/lambda-smoke.sh).
fn environment(root: &Path, moto: &Moto, runtime_api: &str, function: &str) -> Vec<(String, String)> {
    let tag = format!("coldstart-{}", std::process::id());
    // The gateway's secret and the other values scripts/lambda-smoke.sh sets, so that each
    // first event (the smoke test's) is served as it is there.
    let mail_token = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"test-mail-gateway-secret"))
    };
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "coldstart".to_string()),
        ("SPORTELLO_TABLE", format!("sportello-{tag}")),
        ("SPORTELLO_STEP_QUEUE_URL", moto.queue_url.clone()),
        ("SPORTELLO_STEP_DLQ_URL", format!("{}-dlq", moto.queue_url)),
        ("SPORTELLO_RULES", root.join("rules").display().to_string()),
        // As infra/template.yaml sets it: the SDK's partition table cut to the stack's partition.
        (
            "SMITHY_CLIENT_SDK_CUSTOM_PARTITION",
            root.join("infra/sdk-layer/aws-partitions/aws.json").display().to_string(),
        ),
        ("SPORTELLO_API_KEYS", root.join("target/no-such-keys.json").display().to_string()),
        ("SPORTELLO_MAIL_TOKEN_SHA256", mail_token),
        ("SPORTELLO_IAM_CLIENTS", "arn:aws:sts::123456789012:assumed-role/telephony-platform/telephony=voice".into()),
        ("SPORTELLO_OIDC_ISSUER", "http://127.0.0.1:9".to_string()),
        ("SPORTELLO_OIDC_CLIENT_ID", "sportello-console".to_string()),
        ("SPORTELLO_CONSOLE_SESSION_KEY", "smoke-test-console-session-key-32-bytes-or-more".to_string()),
        ("SPORTELLO_CONSOLE_URL", "https://abc123defg.execute-api.eu-south-1.amazonaws.com".to_string()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "eu-south-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Where the release binaries are: `COLDSTART_BIN_DIR`, else the profile folder this benchmark
/// runs from (target/release/deps/coldstart-… → target/release).
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("COLDSTART_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("the benchmark's path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps").to_path_buf()
}

/// One cold start: exec to the first `/next`, then the first invocation (the emulator hands it
/// `event`), or why there was none.
async fn cold_start(
    binary: &Path,
    env: &[(String, String)],
    (emulated, event): (&Emulated, &str),
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    log: &Path,
) -> Result<Start, String> {
    while rx.try_recv().is_ok() {}
    *emulated.event.lock().expect("the event") = Some(event.to_string());
    let stderr = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let stdout = stderr.try_clone().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let last_line = || std::fs::read_to_string(log).unwrap_or_default().lines().last().unwrap_or_default().to_string();
    let init = match tokio::time::timeout(INIT_TIMEOUT, rx.recv()).await {
        Ok(Some(Seen::Next(at))) => Ok(at),
        Ok(Some(Seen::InitError(body))) => Err(format!("init error: {body}")),
        Ok(Some(other)) => Err(format!("{other:?} before the first /next")),
        Ok(None) => Err("the emulator stopped".into()),
        Err(_) => Err(format!("no call to /next within {INIT_TIMEOUT:?}: {}", last_line())),
    };
    let first = match init {
        Ok(_) => match tokio::time::timeout(INIT_TIMEOUT, rx.recv()).await {
            Ok(Some(Seen::Response(at))) => Ok(at),
            Ok(Some(Seen::InvocationError(body))) => Err(format!("first invocation failed: {body}")),
            Ok(Some(other)) => Err(format!("{other:?} before the first response")),
            Ok(None) => Err("the emulator stopped".into()),
            Err(_) => Err(format!("no response to the first event within {INIT_TIMEOUT:?}: {}", last_line())),
        },
        Err(_) => Err(String::new()),
    };
    // The warm-up's own log line, when it ends after the init, comes with the first invocation
    // or just after: a moment for it before the process goes.
    if first.is_ok() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let next = init?;
    let response = first?;
    Ok(Start { init: next.saturating_duration_since(started), first: response.saturating_duration_since(next) })
}

/// The machine's load average, as /proc/loadavg gives it: the figures mean little without it.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The parts of an init as the function logged them: the `*_ms` fields of its `init done` line,
/// and of its `warm-up done` and `mail warm-up done` lines when the warm-up ends after the init.
fn init_parts(log: &Path) -> Option<BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(log).ok()?;
    let lines: Vec<serde_json::Value> =
        text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).collect();
    let message = |l: &serde_json::Value| l.get("message").and_then(|m| m.as_str()).map(str::to_string);
    let init = lines.iter().find(|l| message(l).as_deref() == Some("init done"))?;
    let warm_ups = lines.iter().filter(|l| matches!(message(l).as_deref(), Some("warm-up done" | "mail warm-up done")));
    let fields = init.as_object()?.iter().chain(warm_ups.filter_map(|w| w.as_object()).flatten());
    Some(fields.filter_map(|(k, v)| Some((k.strip_suffix("_ms")?.to_string(), v.as_f64()?))).collect())
}

/// The median of each part over a binary's runs, in milliseconds.
fn median_parts(runs: &[BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let mut by_part: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for run in runs {
        for (part, v) in run {
            by_part.entry(part.clone()).or_default().push(*v);
        }
    }
    by_part
        .into_iter()
        .map(|(part, mut v)| {
            v.sort_by(f64::total_cmp);
            (part, v[(v.len() - 1) / 2])
        })
        .collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runs: usize = std::env::var("COLDSTART_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(10).max(1);
    let dir = bin_dir();
    let mut names = vec![HELLO.to_string()];
    let only: Option<Vec<String>> =
        std::env::var("COLDSTART_ONLY").ok().map(|v| v.split(',').map(|n| n.trim().to_string()).collect());
    names.extend(functions(root).into_iter().filter(|n| only.as_ref().is_none_or(|o| o.contains(n))));
    let missing: Vec<&String> = names.iter().filter(|n| !dir.join(n).is_file()).collect();
    // (label, binary): this build's, then the baseline's where it has the same binary.
    let mut binaries: Vec<(String, PathBuf)> = names.iter().map(|n| (n.clone(), dir.join(n))).collect();
    if let Some(baseline) = std::env::var_os("COLDSTART_BASELINE_DIR").map(PathBuf::from) {
        let old = names.iter().filter(|n| baseline.join(n).is_file());
        binaries.extend(old.map(|n| (format!("{n}{BASELINE}"), baseline.join(n))));
    }
    if !missing.is_empty() {
        eprintln!(
            "coldstart: not built in {}: {missing:?}\nbuild them first: cargo build --release -p hello-lambda -p sportello-api ... (scripts/bench does)",
            dir.display()
        );
        std::process::exit(2);
    }
    let baseline_unset: Vec<String> = std::env::var("COLDSTART_BASELINE_UNSET")
        .map(|v| v.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect())
        .unwrap_or_default();
    let events = first_events(root);
    let load_at_start = load_average();
    let moto = start_moto(root);
    let logs = tempfile::tempdir().expect("a temporary folder");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime");
    let results = runtime.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let emulated = Emulated { tx, event: Default::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the emulator");
        let api = listener.local_addr().expect("the emulator's address").to_string();
        let served = emulated.clone();
        tokio::spawn(async move { axum::serve(listener, emulator(served)).await });
        let mut results: Results =
            binaries.iter().map(|(n, _)| (n.clone(), Vec::new(), Vec::new(), Vec::new())).collect();
        // Interleaved: each round runs every binary once, so a noisy moment hits all alike; every
        // other round in reverse, as a binary's place in the round biases its figures (measured:
        // whichever build ran second in the round had init medians up to 1 ms higher).
        for round in 0..runs {
            let mut order: Vec<usize> = (0..binaries.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let ((name, starts, errors, parts), (_, binary)) = (&mut results[i], &binaries[i]);
                let function = binary.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                let mut env = environment(root, &moto, &api, function);
                if name.ends_with(BASELINE) {
                    env.retain(|(k, _)| !baseline_unset.contains(k));
                }
                let log = logs.path().join(format!("{}.log", name.replace(' ', "-")));
                let event = events.get(function).map_or(r#"{}"#, String::as_str);
                match cold_start(binary, &env, (&emulated, event), &mut rx, &log).await {
                    Ok(d) => {
                        starts.push(d);
                        parts.extend(init_parts(&log));
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        results
    });
    drop(moto);
    let load_at_end = load_average();

    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Cold start (exec → first /next), x86_64 release builds\n\n{runs} runs per binary, interleaved; \
         AWS services are moto_server over plain HTTP on 127.0.0.1: the init's warm-up calls \
         (DescribeTable, GetQueueAttributes; GetSendQuota in the functions that send mail) are in the figure, \
         their TLS handshakes are not. \
         Load average (1, 5, 15 min) at the start: {load_at_start}; at the end: {load_at_end}.\n"
    );
    if !baseline_unset.is_empty() {
        let _ = writeln!(out, "The baseline's environment leaves out {}.\n", baseline_unset.join(", "));
    }
    let _ = writeln!(
        out,
        "| binary | init median | p90 | min | median / hello | target ≤ 2× | first invocation median | min | \
         exec → first response median | min | failures |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let sorted = |starts: &[Start], of: &dyn Fn(&Start) -> Duration| {
        let mut v: Vec<Duration> = starts.iter().map(of).collect();
        v.sort();
        v
    };
    let hello_median = results
        .iter()
        .find(|(n, ..)| n == HELLO)
        .map(|(_, s, ..)| sorted(s, &|s| s.init))
        .and_then(|t| (!t.is_empty()).then(|| percentile(&t, 50.0)));
    let mut failures = String::new();
    for (name, starts, errors, _) in results.iter() {
        if starts.is_empty() {
            let _ = writeln!(out, "| {name} | – | – | – | – | – | – | – | – | – | {} |", errors.len());
        } else {
            let init = sorted(starts, &|s| s.init);
            let first = sorted(starts, &|s| s.first);
            let whole = sorted(starts, &|s| s.init + s.first);
            let median = percentile(&init, 50.0);
            let (ratio, verdict) = match hello_median {
                Some(h) if name != HELLO => {
                    let r = median.as_secs_f64() / h.as_secs_f64().max(1e-9);
                    (format!("{r:.2}×"), if r <= 2.0 { "met" } else { "missed" })
                }
                _ => ("1.00×".to_string(), "(yardstick)"),
            };
            let _ = writeln!(
                out,
                "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {ratio} | {verdict} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} |",
                ms(median),
                ms(percentile(&init, 90.0)),
                ms(init[0]),
                ms(percentile(&first, 50.0)),
                ms(first[0]),
                ms(percentile(&whole, 50.0)),
                ms(whole[0]),
                errors.len()
            );
        }
        if let Some(e) = errors.first() {
            let _ = writeln!(failures, "- {name}: {e}");
        }
    }
    // Where each function's init went, as it logged it (medians over its runs; the parts of
    // one run do not add up across medians exactly).
    let logged: Vec<(&String, BTreeMap<String, f64>)> =
        results.iter().filter(|(.., p)| !p.is_empty()).map(|(n, .., p)| (n, median_parts(p))).collect();
    // Every part any binary logged (a baseline may log other parts than this build).
    let columns: std::collections::BTreeSet<&String> = logged.iter().flat_map(|(_, p)| p.keys()).collect();
    if !columns.is_empty() {
        let _ = writeln!(
            out,
            "\nWhere the init goes, as each function logs it (`init done`, `warm-up done`; medians, ms): {}\n",
            INIT_PARTS
        );
        let _ = writeln!(out, "| binary | {} |", columns.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(out, "|---|{}", "---|".repeat(columns.len()));
        for (name, parts) in &logged {
            let cells: Vec<String> =
                columns.iter().map(|c| parts.get(*c).map_or("–".into(), |v| format!("{v:.2}"))).collect();
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        }
    }
    if !failures.is_empty() {
        let _ = writeln!(out, "\nFailures (first of each):\n{failures}");
    }
    print!("{out}");
}
