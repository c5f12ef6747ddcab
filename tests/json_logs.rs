//! The JSON log of the Lambda functions over a whole flow: every line one JSON object with its
//! time, level, target and message; the lines of an invocation carry the Lambda request id and
//! trace id (a queued step's, the trace of the invocation that queued it), those of an HTTP
//! request its `request_id`, those of a step its step, ticket and reference; and the metric lines
//! are EMF blocks CloudWatch accepts.
#![cfg(feature = "aws")]

use serde_json::Value;
use sportello::adapters::aws::lambda::SqsEvent;
use sportello::domain::{Actor, ActorRole, ChannelKind, Ticket, TicketType};
use sportello::engine::NewContact;
use sportello::http::auth::Authenticator;
use sportello::http::{AppState, api};
use sportello::lambda::handle_steps;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use tracing::Instrument;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The engine on a SQLite file in `dir`, its clock stopped at `now`.
fn engine_at(dir: &Path, now: &str) -> sportello::engine::Engine {
    let rules = sportello::rules::Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
    let db = sportello::adapters::embedded::Db::open(dir.join("sportello.db")).unwrap();
    let now: jiff::Timestamp = now.parse().unwrap();
    sportello::engine::Engine::new(Arc::new(rules), sportello::adapters::embedded::ports(&db))
        .with_clock(Arc::new(move || now))
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events").join(name)).unwrap()
}

const TRACE_ID: &str = "Root=1-6753a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";
/// The trace of the invocation that queued the triage step (SQS's `AWSTraceHeader`).
const SENDER_TRACE_ID: &str = "Root=1-6753a1a0-fedcba9876543210fedcba98;Parent=0123456789abcdef;Sampled=1";

/// One invocation as lambda_runtime runs it: inside the span its tracing layer opens (same
/// target, name and fields), with this request id.
fn invocation(request_id: &str) -> tracing::Span {
    tracing::info_span!(target: "lambda_runtime::layers::trace", "Lambda runtime invoke", requestId = request_id, xrayTraceId = TRACE_ID)
}

#[tokio::test]
async fn a_whole_flow_logs_json_lines_with_their_ids_and_valid_emf() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(sportello::logging::json_subscriber(move || writer.clone())).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let state = AppState { engine: engine_at(dir.path(), "2026-12-02T10:00:00+01:00") };
    let engine = state.engine.clone();

    // The api function: a ticket from the IO app, through API Gateway.
    let app = api::router_with(Authenticator::api_keys(dir.path().join("none.json")))
        .layer(axum::middleware::from_fn(sportello::http::in_request_span));
    let request = lambda_http::request::from_str(&fixture("apigw-v2-create-ticket.json")).unwrap();
    let response = app.with_state(state.clone()).oneshot(request).instrument(invocation("inv-api")).await.unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.headers().contains_key("x-request-id"), "the request id goes back to the caller");

    // The email function opens a ticket (triaged by its intake); then a ticket waiting for its
    // triage step (as a chat's handoff leaves one), which the triage function runs (with a
    // poison message beside it, which fails and is retried); an operator answers and resolves it.
    let contact = NewContact { channel: "email".into(), idempotency_key: "mail-1".into(), ..NewContact::default() };
    engine.open(contact).instrument(invocation("inv-email")).await.unwrap();
    let waiting = Ticket::new("email", ChannelKind::Email, sportello::engine::TRIAGE_TEAM, engine.now());
    let system = Actor::system();
    let created = engine.ports.tickets.create("mail-2", &waiting, &system);
    let ticket = created.instrument(invocation("inv-email")).await.unwrap().ticket;
    let batch: SqsEvent = serde_json::from_str(
        &fixture("sqs-triage-batch.json")
            .replace("@TICKET_ID@", ticket.id.0.as_str())
            .replace("@REFERENCE@", ticket.reference.as_str()),
    )
    .unwrap();
    // The triage step was queued by the email function's invocation: SQS hands its trace over.
    let mut batch = batch;
    batch.records[0].attributes.insert("AWSTraceHeader".into(), SENDER_TRACE_ID.into());
    let traced_record = batch.records[0].message_id.clone().unwrap();
    let handled = handle_steps(&engine, batch).instrument(invocation("inv-triage")).await;
    assert_eq!(handled.batch_item_failures.len(), 1, "the poison message");
    let operator = Actor { id: "op-1".into(), role: ActorRole::Operator };
    async {
        engine.take_in_charge(&ticket.id, &operator).await.unwrap();
        engine.classify(&ticket.id, &operator, TicketType::Q).await.unwrap();
        engine.resolve(&ticket.id, &operator, "Il rimborso arriva.", None).await.unwrap();
    }
    .instrument(invocation("inv-operator"))
    .await;
    // The clock function, two weeks later: the deadlines of the open API ticket are breached.
    let later = engine_at(dir.path(), "2026-12-16T10:00:00+01:00");
    let settings = sportello::engine::EscalationSettings::from_env(&later.rules);
    later.clock_tick(&settings).instrument(invocation("inv-clock")).await.unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object ({e}): {l}")))
        .collect();
    assert!(lines.len() > 10, "{text}");
    for (line, raw) in lines.iter().zip(text.lines()) {
        for field in ["timestamp", "level", "target"] {
            assert!(line[field].is_string(), "no `{field}`: {raw}");
        }
        assert!(line["message"].is_string() || line["_aws"].is_object(), "no message: {raw}");
        assert!(line["timestamp"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok(), "{raw}");
        // Every line is inside an invocation here, as every line of a function is.
        assert!(line["aws_request_id"].as_str().is_some_and(|r| r.starts_with("inv-")), "{raw}");
        // The traced record's lines name its sender's trace; every other line its invocation's.
        let of_traced_record = line["aws_request_id"] == "inv-triage"
            && (line["message_id"] == traced_record.as_str() || line["ticket"] == ticket.id.0.as_str());
        let trace = if of_traced_record { SENDER_TRACE_ID } else { TRACE_ID };
        assert_eq!(line["xray_trace_id"], trace, "{raw}");
        if line["target"] == "sportello::engine::intake" || line["message"] == "ticket triaged" {
            assert!(line["reference"].as_str().is_some_and(|r| r.starts_with("SP-")), "{raw}");
        }
        if line["aws_request_id"] == "inv-api" {
            assert!(line["request_id"].is_string(), "inside the HTTP request: {raw}");
        }
        // What the step handler logs (the batch loop around it logs per message id).
        if line["aws_request_id"] == "inv-triage" && line["target"].as_str().unwrap().starts_with("sportello::engine") {
            assert_eq!(line["step"], "triage", "{raw}");
            assert!(line["reference"].is_string() && line["ticket"].is_string(), "{raw}");
        }
    }
    let traced = lines.iter().filter(|l| l["xray_trace_id"] == SENDER_TRACE_ID).count();
    assert!(traced >= 2, "the triage step's lines, in its sender's trace: {text}");
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    for expected in ["ticket opened", "ticket triaged", "answer delivered", "unreadable step message"] {
        assert!(messages.contains(&expected), "no `{expected}` line: {text}");
    }

    let metrics: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    for metric in &metrics {
        assert_valid_emf(metric);
    }
    let named = |name: &str| metrics.iter().filter(|m| m.get(name).is_some()).count();
    assert_eq!(named("Contacts"), 2, "the API ticket and the e-mail: {text}");
    assert!(metrics.iter().any(|m| m["Contacts"] == 1 && m["channel"] == "api"), "{text}");
    assert_eq!(named("TicketsEnded"), 1, "{text}");
    assert!(metrics.iter().any(|m| m["ticket_type"] == "Q" && m["outcome"] == "resolved"), "{text}");
    assert_eq!(named("StepRetries"), 1, "the poison message: {text}");
    assert!(named("SlaBreaches") >= 1, "the clock two weeks later: {text}");
}

/// What CloudWatch requires of an EMF block (the embedded metric format specification): `_aws`
/// with an integer `Timestamp` and `CloudWatchMetrics`, each directive with a `Namespace`, at
/// most one dimension set of at most 30 keys each naming a string member of the object, and
/// metrics each with a `Name` naming a numeric member and a `Unit` CloudWatch knows.
fn assert_valid_emf(block: &Value) {
    const UNITS: [&str; 27] = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];
    let aws = block["_aws"].as_object().unwrap_or_else(|| panic!("_aws is not an object: {block}"));
    assert!(aws["Timestamp"].as_i64().is_some_and(|t| t > 1_600_000_000_000), "{block}");
    let directives = aws["CloudWatchMetrics"].as_array().unwrap_or_else(|| panic!("{block}"));
    assert!(!directives.is_empty(), "{block}");
    for d in directives {
        let namespace = d["Namespace"].as_str().unwrap_or_default();
        assert!((1..=255).contains(&namespace.len()), "{block}");
        for set in d["Dimensions"].as_array().unwrap_or_else(|| panic!("{block}")) {
            let keys = set.as_array().unwrap_or_else(|| panic!("{block}"));
            assert!(!keys.is_empty() && keys.len() <= 30, "1 to 30 dimensions: {block}");
            for key in keys {
                let value = block[key.as_str().unwrap()].as_str();
                assert!(value.is_some_and(|v| !v.is_empty() && v.len() <= 1024), "dimension {key}: {block}");
            }
        }
        let metrics = d["Metrics"].as_array().unwrap_or_else(|| panic!("{block}"));
        assert!(!metrics.is_empty() && metrics.len() <= 100, "{block}");
        for m in metrics {
            let name = m["Name"].as_str().unwrap_or_default();
            assert!((1..=255).contains(&name.len()), "{block}");
            assert!(block[name].is_number(), "the value of {name}: {block}");
            assert!(UNITS.contains(&m["Unit"].as_str().unwrap_or("?")), "unit of {name}: {block}");
        }
    }
}
