//! The log of `sportello serve` and of the Lambda functions, at the levels `RUST_LOG` asks for
//! (`info`, `debug`, `sportello=debug,aws_config=warn`...), or the one level `SPORTELLO_LOG`
//! names; `info` by default.
//!
//! Two formats (`SPORTELLO_LOG_FORMAT=json|text` chooses; otherwise JSON on Lambda and whenever
//! standard output is not a terminal, text on a terminal):
//! - **json**: one JSON object per line, for CloudWatch Logs Insights: `timestamp`, `level`,
//!   `target`, `message`, the event's fields, and the fields of the spans it happened in: the
//!   HTTP request's `request_id`, the step's `step`, `ticket` and `reference`, and on Lambda the
//!   invocation's `aws_request_id` and `xray_trace_id`. Metric events ([`crate::metrics`]) are
//!   written as CloudWatch embedded-metric-format (EMF) blocks.
//! - **text**: plain lines, coloured on a terminal only; metrics are left out.
//!
//! Sportello's own lines carry ticket ids and references, never personal data, at every level.
//! Some libraries print what they carry at their finest levels: axum's rejections quote the
//! sender's JSON (its keys included), and the AWS SDK and the HTTP stack print request and
//! response bodies at TRACE. Those targets are capped, whatever `RUST_LOG` says.

use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write as _;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Targets whose finer levels print bodies, and the most they may log.
const CAPS: &[(&str, LevelFilter)] = &[
    ("axum::rejection", LevelFilter::OFF),
    ("aws_smithy_runtime", LevelFilter::DEBUG),
    ("aws_smithy_runtime_api", LevelFilter::DEBUG),
    ("aws_smithy_http", LevelFilter::DEBUG),
    ("aws_smithy_http_client", LevelFilter::DEBUG),
    ("aws_smithy_types", LevelFilter::DEBUG),
    ("aws_sdk_dynamodb", LevelFilter::DEBUG),
    ("aws_sdk_sqs", LevelFilter::DEBUG),
    ("aws_sdk_ses", LevelFilter::DEBUG),
    // Raw inbound mail, and secrets.
    ("aws_sdk_s3", LevelFilter::DEBUG),
    ("aws_sdk_secretsmanager", LevelFilter::DEBUG),
    ("aws_config", LevelFilter::DEBUG),
    ("lambda_runtime", LevelFilter::DEBUG),
    ("lambda_http", LevelFilter::DEBUG),
    ("hyper", LevelFilter::DEBUG),
    ("hyper_util", LevelFilter::DEBUG),
    ("h2", LevelFilter::DEBUG),
    ("rustls", LevelFilter::DEBUG),
];

/// What the environment asks for, with the caps applied; a warning when `RUST_LOG` cannot be
/// read (then `info`).
pub fn filter_from_env() -> (Targets, Option<String>) {
    let env = crate::settings::environment();
    filter_from(env.get("RUST_LOG"), env.get("SPORTELLO_LOG"))
}

/// [`filter_from_env`] from given values of `RUST_LOG` and `SPORTELLO_LOG`.
pub fn filter_from(rust_log: Option<String>, sportello_log: Option<String>) -> (Targets, Option<String>) {
    let (asked, warning) = match (rust_log, sportello_log) {
        (Some(spec), _) => match spec.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (
                Targets::new().with_default(LevelFilter::INFO),
                Some(format!("RUST_LOG=`{spec}` is not `level` or `target=level,...` ({e}); logging at info")),
            ),
        },
        (None, Some(level)) => match level.parse::<LevelFilter>() {
            Ok(l) => (Targets::new().with_default(l), None),
            Err(_) => (
                Targets::new().with_default(LevelFilter::INFO),
                Some(format!("SPORTELLO_LOG=`{level}` is not a level; logging at info")),
            ),
        },
        (None, None) => (Targets::new().with_default(LevelFilter::INFO), None),
    };
    (capped(&asked), warning)
}

/// `asked`, with no capped target (or anything under it) logging finer than its cap.
pub fn capped(asked: &Targets) -> Targets {
    let cap_of = |target: &str| {
        CAPS.iter()
            .filter(|(prefix, _)| target == *prefix || target.starts_with(&format!("{prefix}::")))
            .map(|(_, cap)| *cap)
            .min()
    };
    let default = asked.default_level().unwrap_or(LevelFilter::OFF);
    let mut out = Targets::new().with_default(default);
    for (target, level) in asked.iter() {
        let level = cap_of(target).map_or(level, |cap| level.min(cap));
        out = out.with_target(target, level);
    }
    for (prefix, cap) in CAPS {
        let asked_here = asked.iter().filter(|(t, _)| prefix.starts_with(*t)).max_by_key(|(t, _)| t.len());
        let level = asked_here.map_or(default, |(_, l)| l);
        if asked.iter().all(|(t, _)| t != *prefix) {
            out = out.with_target(*prefix, level.min(*cap));
        }
    }
    out
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// `SPORTELLO_LOG_FORMAT`, else JSON on Lambda or when standard output is not a terminal; a
/// warning when the variable says something else.
pub fn format_from_env(lambda: bool) -> (LogFormat, Option<String>) {
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let default = if lambda || !terminal { LogFormat::Json } else { LogFormat::Text };
    match crate::settings::environment().get("SPORTELLO_LOG_FORMAT").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => (default, None),
        Some("json") => (LogFormat::Json, None),
        Some("text") => (LogFormat::Text, None),
        Some(other) => (default, Some(format!("SPORTELLO_LOG_FORMAT=`{other}` is not `json` or `text`"))),
    }
}

/// `filter`, with the metric events on in JSON (unless `RUST_LOG` names their target) and off in
/// text, and the spans that carry ids (the Lambda runtime's invocation, Sportello's requests and
/// steps) kept whatever the level.
fn with_fixed_targets(filter: Targets, format: LogFormat) -> Targets {
    let named = |target: &str| filter.iter().any(|(t, _)| t == target);
    let mut out = filter.clone();
    if !named(crate::metrics::TARGET) {
        let level = if format == LogFormat::Json { LevelFilter::INFO } else { LevelFilter::OFF };
        out = out.with_target(crate::metrics::TARGET, level);
    }
    for spans in [LAMBDA_SPAN_TARGET, SPAN_TARGET] {
        if !named(spans) {
            out = out.with_target(spans, LevelFilter::INFO);
        }
    }
    out
}

/// Where lambda_runtime opens the span of each invocation (`requestId`, `xrayTraceId`).
/// The target of the spans that give log lines their context (`request_id`, `step`...): on
/// whatever the level, so no line loses them (see `logging`).
pub const SPAN_TARGET: &str = "sportello::span";

const LAMBDA_SPAN_TARGET: &str = "lambda_runtime::layers::trace";

static FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

/// Whether standard output carries the JSON log, so that messages for people (the server's
/// banner) go to standard error instead.
pub fn stdout_is_json() -> bool {
    FORMAT.get() == Some(&LogFormat::Json)
}

/// The JSON log as `init` installs it (the environment's levels, metrics and id-carrying spans
/// on), writing to `make_writer`: for tests that read the log.
pub fn json_subscriber<W>(make_writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = with_fixed_targets(filter_from_env().0, LogFormat::Json);
    tracing_subscriber::registry().with(JsonLines::new(make_writer).with_filter(filter))
}

/// Installs the subscriber. `lambda`: text lines get no time stamps (CloudWatch adds its own).
pub fn init(lambda: bool) {
    let (filter, warning) = filter_from_env();
    install(lambda, filter, warning);
}

/// [`init`] with given values of `RUST_LOG` and `SPORTELLO_LOG` (a Lambda function's settings).
pub fn init_with(lambda: bool, rust_log: Option<String>, sportello_log: Option<String>) {
    let (filter, warning) = filter_from(rust_log, sportello_log);
    install(lambda, filter, warning);
}

fn install(lambda: bool, filter: Targets, warning: Option<String>) {
    let (format, format_warning) = format_from_env(lambda);
    let warning = warning.or(format_warning);
    let filter = with_fixed_targets(filter, format);
    let _ = FORMAT.set(format);
    let installed = match format {
        LogFormat::Json => {
            tracing_subscriber::registry().with(JsonLines::new(std::io::stdout).with_filter(filter)).try_init()
        }
        LogFormat::Text => {
            let ansi = !lambda && std::io::IsTerminal::is_terminal(&std::io::stdout());
            let fmt = tracing_subscriber::fmt().with_target(false).with_ansi(ansi).with_max_level(LevelFilter::TRACE);
            if lambda {
                fmt.without_time().finish().with(filter).try_init()
            } else {
                fmt.finish().with(filter).try_init()
            }
        }
    };
    if installed.is_ok()
        && let Some(w) = warning
    {
        tracing::warn!("{w}");
    }
}

/// lambda_runtime's names, in the log's own style.
fn member_name(field: &Field) -> &'static str {
    match field.name() {
        "requestId" => "aws_request_id",
        "xrayTraceId" => "xray_trace_id",
        "tenantId" => "tenant_id",
        other => other,
    }
}

/// `text` as a JSON string.
fn json_string(text: &str) -> String {
    // Serializing a string cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

/// Span and event fields, each value already written as JSON text: a span's are written once,
/// when it opens, and every line inside it copies them as they are.
#[derive(Default)]
struct JsonFields(Vec<(&'static str, String)>);

impl JsonFields {
    fn put(&mut self, field: &Field, json: String) {
        let name = member_name(field);
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(member) => member.1 = json,
            None => self.0.push((name, json)),
        }
    }
}

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, json_string(&format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, json_string(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.to_string());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value).to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.to_string());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, json_string(&value.to_string()));
    }
}

/// A metric event's fields as JSON values, for its EMF block.
#[derive(Default)]
struct MetricFields(serde_json::Map<String, Value>);

impl MetricFields {
    fn put(&mut self, field: &Field, value: Value) {
        self.0.insert(member_name(field).to_string(), value);
    }
}

impl Visit for MetricFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
}

/// The JSON log: one object per line on the writer `W` makes.
pub struct JsonLines<W> {
    make_writer: W,
    namespace: String,
}

static METRICS_NAMESPACE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The metrics' namespace from a function's settings, for the JSON log installed after it;
/// the first one set stays.
pub fn set_metrics_namespace(namespace: &str) {
    let _ = METRICS_NAMESPACE.set(namespace.to_string());
}

impl<W> JsonLines<W> {
    pub fn new(make_writer: W) -> Self {
        let namespace = METRICS_NAMESPACE
            .get()
            .cloned()
            .or_else(|| crate::settings::environment().get("SPORTELLO_METRICS_NAMESPACE"))
            .filter(|n| !n.trim().is_empty() && n.len() <= 255)
            .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.to_string());
        Self { make_writer, namespace }
    }
}

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = JsonFields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<JsonFields>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let now = jiff::Timestamp::now();
        // Every member but the first three, by name; the nearest span's value wins, and the
        // event's own over any span's.
        let mut members: BTreeMap<Cow<'static, str>, String> = BTreeMap::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<JsonFields>() {
                    members.extend(fields.0.iter().map(|(k, v)| (Cow::Borrowed(*k), v.clone())));
                }
            }
        }
        if meta.target() == crate::metrics::TARGET {
            let mut own = MetricFields::default();
            event.record(&mut own);
            let mut block = serde_json::Map::new();
            emf(&mut block, own.0, &self.namespace, now.as_millisecond());
            members.extend(block.into_iter().map(|(k, v)| (Cow::Owned(k), v.to_string())));
        } else {
            let mut own = JsonFields::default();
            event.record(&mut own);
            members.extend(own.0.into_iter().map(|(k, v)| (Cow::Borrowed(k), v)));
        }
        let text = ordered_line(&format!("{now:.6}"), meta.level().as_str(), meta.target(), members);
        // A log that cannot be written has nowhere to say so.
        let _ = self.make_writer.make_writer().write_all(text.as_bytes());
    }
}

/// One line: `timestamp`, `level`, `target` and `message` first for the eye, the other members
/// after them in name order.
fn ordered_line(
    timestamp: &str,
    level: &str,
    target: &str,
    mut members: BTreeMap<Cow<'static, str>, String>,
) -> String {
    let mut text = String::with_capacity(256);
    for (name, value) in [("timestamp", timestamp), ("level", level), ("target", target)] {
        members.remove(name);
        text.push(if text.is_empty() { '{' } else { ',' });
        text.push_str(&json_string(name));
        text.push(':');
        text.push_str(&json_string(value));
    }
    if let Some(message) = members.remove("message") {
        text.push_str(",\"message\":");
        text.push_str(&message);
    }
    for (name, value) in members {
        text.push(',');
        text.push_str(&json_string(&name));
        text.push(':');
        text.push_str(&value);
    }
    text.push_str("}\n");
    text
}

/// Turns a metric event's fields into an EMF block on `line`: `metric`, `unit` and `value` name
/// the metric, every other field of the event is a dimension.
fn emf(
    line: &mut serde_json::Map<String, Value>,
    mut fields: serde_json::Map<String, Value>,
    namespace: &str,
    ms: i64,
) {
    let name = fields.remove("metric").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "Unnamed".into());
    let unit = fields.remove("unit").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "Count".into());
    let value = fields.remove("value").unwrap_or(Value::from(1));
    fields.remove("message");
    let mut dimensions = Vec::new();
    for (key, value) in fields {
        // A dimension's value is a non-empty string.
        let text = match value {
            Value::String(s) if !s.is_empty() => s,
            Value::String(_) | Value::Null => "none".into(),
            other => other.to_string(),
        };
        line.insert(key.clone(), Value::String(text));
        dimensions.push(Value::String(key));
    }
    dimensions.truncate(30);
    line.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions],
                "Metrics": [{"Name": name, "Unit": unit}],
            }],
        }),
    );
    line.insert(name, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(t: &Targets, target: &str) -> Option<LevelFilter> {
        // The most specific directive wins, as the filter itself decides.
        t.iter()
            .filter(|(prefix, _)| target == *prefix || target.starts_with(&format!("{prefix}::")))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, l)| l)
            .or(t.default_level())
    }

    /// Collects what the layer writes.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_puts_the_fixed_members_first_and_takes_the_nearest_value_of_each_field() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(JsonLines::new(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!("outer", ticket = "T-1", step = "triage", requestId = "inv-1");
            let _outer = outer.enter();
            let inner = tracing::info_span!("inner", step = "answer", client = tracing::field::Empty);
            inner.record("client", "io");
            let _inner = inner.enter();
            tracing::info!(ticket = "T-2", count = 3u64, ok = true, note = "say \"hi\"\n", "done");
            crate::metrics::contact("api");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let line = lines[0];
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(v["message"], "done");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["ticket"], "T-2", "the event's own value over its span's");
        assert_eq!(v["step"], "answer", "the nearest span's value");
        assert_eq!(v["client"], "io", "recorded after the span opened");
        assert_eq!(v["aws_request_id"], "inv-1");
        assert_eq!(
            (v["count"].as_u64(), v["ok"].as_bool(), v["note"].as_str()),
            (Some(3), Some(true), Some("say \"hi\"\n"))
        );
        assert!(v["timestamp"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok(), "{line}");
        let at = |member: &str| line.find(&format!("\"{member}\":")).unwrap_or_else(|| panic!("no {member}: {line}"));
        let order = [
            "timestamp",
            "level",
            "target",
            "message",
            "aws_request_id",
            "client",
            "count",
            "note",
            "ok",
            "step",
            "ticket",
        ];
        assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "members out of order: {line}");
        // The metric: an EMF block, the spans' fields beside it, no message.
        let metric: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(metric["Contacts"], 1);
        assert_eq!(metric["channel"], "api");
        assert_eq!(metric["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "Contacts");
        assert_eq!(metric["client"], "io");
        assert!(metric.get("message").is_none(), "{}", lines[1]);
    }

    #[test]
    fn what_is_asked_is_kept_and_body_printing_targets_are_capped() {
        let asked: Targets = "trace".parse().unwrap();
        let t = capped(&asked);
        assert_eq!(level(&t, "sportello::engine"), Some(LevelFilter::TRACE));
        assert_eq!(level(&t, "aws_smithy_runtime::client::orchestrator"), Some(LevelFilter::DEBUG));
        assert_eq!(level(&t, "axum::rejection"), Some(LevelFilter::OFF));

        let asked: Targets = "warn,aws_smithy_runtime::client=trace,sportello=debug".parse().unwrap();
        let t = capped(&asked);
        assert_eq!(level(&t, "aws_smithy_runtime::client::x"), Some(LevelFilter::DEBUG), "clamped");
        assert_eq!(level(&t, "aws_smithy_runtime"), Some(LevelFilter::WARN), "as the default asks");
        assert_eq!(level(&t, "sportello::server"), Some(LevelFilter::DEBUG));
        assert_eq!(level(&t, "other"), Some(LevelFilter::WARN));
    }
}
