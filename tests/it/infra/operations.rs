//! The operations block of infra/template.yaml, as SAM's transform expands it: every function
//! traced by X-Ray and logging JSON into a log group with retention; every dead-letter queue
//! watched by an alarm; every alarm notifying the on-call topic; every metric an alarm or the
//! dashboard names is one the code emits (run here, through the JSON log's EMF blocks), so a
//! renamed metric or dimension fails; the dashboard's body is JSON whose widgets name resources
//! of the stack.

use crate::support::stack::transformed_template;
use serde_json::{Map, Value, json};
use sportello::reports::metric::DeadlineKind;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

fn template() -> &'static Value {
    static T: OnceLock<Value> = OnceLock::new();
    T.get_or_init(transformed_template)
}

fn resources() -> &'static Map<String, Value> {
    template()["Resources"].as_object().expect("Resources")
}

fn of_type(kind: &str) -> BTreeMap<&'static str, &'static Value> {
    resources().iter().filter(|(_, r)| r["Type"] == kind).map(|(k, r)| (k.as_str(), &r["Properties"])).collect()
}

fn reference(name: &str) -> Value {
    json!({"Ref": name})
}

fn get_att(name: &str, attribute: &str) -> Value {
    json!({"Fn::GetAtt": [name, attribute]})
}

/// The namespace the functions' EMF metrics go to, as the template sets it for every function.
fn metrics_namespace() -> Value {
    let namespaces: BTreeSet<String> = of_type("AWS::Lambda::Function")
        .values()
        .map(|f| f["Environment"]["Variables"]["SPORTELLO_METRICS_NAMESPACE"].to_string())
        .collect();
    assert_eq!(namespaces.len(), 1, "one metrics namespace for every function: {namespaces:?}");
    let namespace: Value = serde_json::from_str(namespaces.first().unwrap()).unwrap();
    assert_eq!(namespace, json!({"Fn::Sub": "Sportello/${AWS::StackName}"}), "one namespace per stack");
    namespace
}

#[test]
fn every_function_is_traced_and_logs_json_into_a_log_group_with_retention() {
    let functions = of_type("AWS::Lambda::Function");
    assert!(functions.len() >= 9, "{:?}", functions.keys());
    let log_groups = of_type("AWS::Logs::LogGroup");
    let retention = &template()["Parameters"]["LogRetentionDays"];
    let days: Vec<u64> =
        retention["AllowedValues"].as_array().expect("retention choices").iter().map(|d| d.as_u64().unwrap()).collect();
    assert!(days.iter().all(|d| (1..=3653).contains(d)), "a finite retention only: {days:?}");
    let levels = &template()["Parameters"]["ApplicationLogLevel"]["AllowedValues"];
    // The metric lines are INFO (see the metric test below): a higher level would drop them.
    for level in levels.as_array().unwrap() {
        assert!(["TRACE", "DEBUG", "INFO"].contains(&level.as_str().unwrap()), "ApplicationLogLevel offers {level}");
    }
    for (name, f) in functions {
        assert_eq!(f["TracingConfig"]["Mode"], "Active", "{name}: X-Ray active tracing");
        let role = f["Role"]["Fn::GetAtt"][0].as_str().unwrap_or_else(|| panic!("{name}: a role of the stack"));
        let policies = resources()[role]["Properties"]["ManagedPolicyArns"].to_string();
        assert!(policies.contains("AWSXrayWriteOnlyAccess"), "{name}: may send its traces ({policies})");
        let logging = &f["LoggingConfig"];
        assert_eq!(logging["LogFormat"], "JSON", "{name}");
        assert_eq!(logging["ApplicationLogLevel"], reference("ApplicationLogLevel"), "{name}");
        assert_eq!(logging["SystemLogLevel"], reference("SystemLogLevel"), "{name}");
        assert_eq!(f["Environment"]["Variables"]["SPORTELLO_LOG"], reference("ApplicationLogLevel"), "{name}");
        // Lambda writes to /aws/lambda/<function name> unless told otherwise.
        assert!(logging.get("LogGroup").is_none(), "{name}: its own log group is the default one");
        let own = json!({"Fn::Sub": format!("/aws/lambda/${{{name}}}")});
        let group = log_groups.values().find(|g| g["LogGroupName"] == own);
        let group = group.unwrap_or_else(|| panic!("{name}: no log group named /aws/lambda/${{{name}}}"));
        assert_eq!(group["RetentionInDays"], reference("LogRetentionDays"), "{name}: its logs expire");
    }
}

/// Every queue the stack sends what failed to: redrive targets, the scheduler's and the
/// function's on-failure destinations, the DLQs the functions move messages to themselves.
fn dead_letter_queues() -> BTreeSet<String> {
    fn arns_in(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::Array(a)) = o.get("Fn::GetAtt")
                    && a.get(1) == Some(&json!("Arn"))
                {
                    out.insert(a[0].as_str().unwrap().to_string());
                }
                o.values().for_each(|v| arns_in(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| arns_in(v, out)),
            _ => {}
        }
    }
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    if ["deadLetterTargetArn", "DeadLetterConfig", "OnFailure"].contains(&k.as_str()) {
                        arns_in(v, out);
                    } else if k.ends_with("_DLQ_URL") {
                        out.extend(v["Ref"].as_str().map(str::to_string));
                    } else {
                        walk(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(&template()["Resources"], &mut out);
    let queues = of_type("AWS::SQS::Queue");
    out.retain(|q| queues.contains_key(q.as_str()));
    out
}

#[test]
fn every_dead_letter_queue_has_an_alarm_on_any_message() {
    let dlqs = dead_letter_queues();
    for expected in ["StepDeadLetterQueue", "ReplyDeadLetterQueue", "InboundMailDeadLetterQueue", "ClockFailureQueue"] {
        assert!(dlqs.contains(expected), "{expected} found among {dlqs:?}");
    }
    assert!(dlqs.contains("ClockFunctionEveryMinuteQueue"), "the scheduler's DLQ SAM makes: {dlqs:?}");
    let alarms = of_type("AWS::CloudWatch::Alarm");
    for q in &dlqs {
        let watched = alarms.values().any(|a| {
            a["Namespace"] == "AWS/SQS"
                && a["MetricName"] == "ApproximateNumberOfMessagesVisible"
                && a["Dimensions"] == json!([{"Name": "QueueName", "Value": get_att(q, "QueueName")}])
                && a["Threshold"] == 0
                && a["ComparisonOperator"] == "GreaterThanThreshold"
                && a["Statistic"] == "Maximum"
        });
        assert!(watched, "no alarm fires on the first message in {q}");
    }
}

#[test]
fn every_alarm_notifies_the_on_call_topic_and_every_function_is_watched() {
    let alarms = of_type("AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 20, "{:?}", alarms.keys());
    assert_eq!(resources()["AlarmTopic"]["Type"], "AWS::SNS::Topic");
    for (name, a) in &alarms {
        assert_eq!(a["AlarmActions"], json!([reference("AlarmTopic")]), "{name}: fires to the topic");
        assert_eq!(a["OKActions"], json!([reference("AlarmTopic")]), "{name}: says when it clears");
        let description = a["AlarmDescription"].to_string();
        assert!(description.contains("docs/operations.md#"), "{name}: points to its runbook entry");
    }
    // The on-call's address is subscribed only when given.
    let subscription = &resources()["AlarmEmailSubscription"];
    assert_eq!(subscription["Condition"], "HasAlarmEmail");
    assert_eq!(subscription["Properties"]["Endpoint"], reference("AlarmEmail"));
    assert_eq!(subscription["Properties"]["TopicArn"], reference("AlarmTopic"));
    assert_eq!(
        template()["Conditions"]["HasAlarmEmail"],
        json!({"Fn::Not": [{"Fn::Equals": [reference("AlarmEmail"), ""]}]})
    );
    assert_eq!(template()["Parameters"]["AlarmEmail"]["Default"], "");

    for function in of_type("AWS::Lambda::Function").keys() {
        for metric in ["Errors", "Throttles"] {
            let watched = alarms.values().any(|a| {
                a["Namespace"] == "AWS/Lambda"
                    && a["MetricName"] == metric
                    && a["Dimensions"] == json!([{"Name": "FunctionName", "Value": reference(function)}])
            });
            assert!(watched, "{function}: no alarm on {metric}");
        }
    }
    let step_age =
        alarms.values().find(|a| a["MetricName"] == "ApproximateAgeOfOldestMessage").expect("a step-age alarm");
    assert_eq!(step_age["Dimensions"][0]["Value"], get_att("StepQueue", "QueueName"));
    assert_eq!(step_age["Threshold"], reference("StepAgeAlarmSeconds"));
    let sla = &resources()["SlaBreachesAlarm"]["Properties"];
    assert_eq!(sla["Threshold"], reference("SlaBreachAlarmThreshold"));
}

/// A metric as CloudWatch keys it: name and dimensions (name to value).
type Metric = (String, BTreeMap<String, String>);

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

/// Every metric `sportello::metrics` emits, read back from the EMF blocks of the JSON log, with
/// the deadline kinds the engine knows and a sample of the other dimensions' values.
fn emitted_metrics() -> BTreeSet<Metric> {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing::subscriber::with_default(sportello::logging::json_subscriber(move || writer.clone()), || {
        use sportello::metrics::*;
        for channel in ["voice", "chat", "email", "api"] {
            contact(channel);
            answer_undelivered(channel);
        }
        ticket_ended(Some("Q"), "resolved");
        escalation("pagopa_specialists");
        for kind in DeadlineKind::ALL {
            deadline(kind.as_str(), false);
            deadline(kind.as_str(), true);
        }
        step_retry("triage");
        step_dead_letter("triage");
    });
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let mut metrics = BTreeSet::new();
    for line in text.lines() {
        let line: Value = serde_json::from_str(line).expect("a JSON line");
        let Some(block) = line["_aws"]["CloudWatchMetrics"].as_array() else { continue };
        // Lambda filters JSON lines on their level: the metric lines must pass at INFO.
        assert_eq!(line["level"], "INFO", "{line}");
        for directive in block {
            for m in directive["Metrics"].as_array().unwrap() {
                for set in directive["Dimensions"].as_array().unwrap() {
                    let dims = set
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| {
                            let d = d.as_str().unwrap();
                            (d.to_string(), line[d].as_str().unwrap().to_string())
                        })
                        .collect();
                    metrics.insert((m["Name"].as_str().unwrap().to_string(), dims));
                }
            }
        }
    }
    assert!(metrics.len() >= 10, "{metrics:?}");
    metrics
}

/// `{"Name": .., "Value": ..}` dimensions as a map; values that are not plain strings (a `!Ref`)
/// are kept as their JSON text.
fn dimensions(v: &Value) -> BTreeMap<String, String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    let value = d["Value"].as_str().map_or_else(|| d["Value"].to_string(), str::to_string);
                    (d["Name"].as_str().unwrap().to_string(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The metrics an alarm reads: its own, or those of its metric-math expression.
fn alarm_metrics(a: &Value) -> Vec<(Value, Metric)> {
    if let Some(queries) = a["Metrics"].as_array() {
        let ids: BTreeSet<&str> = queries.iter().filter_map(|q| q["Id"].as_str()).collect();
        for q in queries.iter().filter_map(|q| q["Expression"].as_str()) {
            for word in q.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                let lower = word.chars().next().is_some_and(|c| c.is_ascii_lowercase());
                assert!(!lower || ids.contains(word), "{q}: {word} is no query of the alarm");
            }
        }
        queries
            .iter()
            .filter(|q| q.get("MetricStat").is_some())
            .map(|q| {
                let m = &q["MetricStat"]["Metric"];
                (m["Namespace"].clone(), (m["MetricName"].as_str().unwrap().to_string(), dimensions(&m["Dimensions"])))
            })
            .collect()
    } else {
        vec![(a["Namespace"].clone(), (a["MetricName"].as_str().unwrap().to_string(), dimensions(&a["Dimensions"])))]
    }
}

/// What AWS itself publishes and the alarms and dashboard read.
const AWS_METRICS: &[(&str, &str)] = &[
    ("AWS/Lambda", "Errors"),
    ("AWS/Lambda", "Throttles"),
    ("AWS/Lambda", "Duration"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
];

#[test]
fn every_metric_the_alarms_and_the_dashboard_name_is_one_the_code_emits() {
    let emitted = emitted_metrics();
    let namespace = metrics_namespace();
    let names: BTreeSet<&str> = emitted.iter().map(|(n, _)| n.as_str()).collect();
    let mut ours = 0;
    for (name, a) in of_type("AWS::CloudWatch::Alarm") {
        for (ns, metric) in alarm_metrics(a) {
            if ns == namespace {
                ours += 1;
                assert!(
                    emitted.contains(&metric),
                    "{name} reads {metric:?}, which the code never emits; it emits {emitted:?}"
                );
            } else {
                let ns = ns.as_str().unwrap_or_else(|| panic!("{name}: namespace {ns}"));
                assert!(
                    AWS_METRICS.contains(&(ns, metric.0.as_str())),
                    "{name}: {ns} {} is not a metric AWS publishes",
                    metric.0
                );
            }
        }
    }
    assert!(ours >= 4, "the SLA and GDPR alarms read Sportello's metrics");
    let breach_report = alarm_metrics(&resources()["BreachReportAtRiskAlarm"]["Properties"]);
    let at_risk =
        ("GdprDeadlinesAtRisk".to_string(), [("deadline".to_string(), "gdpr_breach_notification".to_string())].into());
    assert_eq!(breach_report, [(namespace.clone(), at_risk)]);

    // The dashboard: plain metric lines, and SEARCH expressions whose schema is a dimension set.
    let (body, _) = dashboard();
    let mut shown = BTreeSet::new();
    for metric in dashboard_metrics(&body) {
        match metric {
            Shown::Line(ns, name, dims) if ns == "Sportello/@AWS::StackName" => {
                assert!(
                    emitted.contains(&(name.clone(), dims.clone())),
                    "the dashboard shows {name} {dims:?}, never emitted"
                );
                shown.insert(name);
            }
            Shown::Line(ns, name, _) => {
                assert!(AWS_METRICS.contains(&(ns.as_str(), name.as_str())), "the dashboard shows {ns} {name}");
            }
            Shown::Search(ns, name, keys) => {
                assert_eq!(ns, "Sportello/@AWS::StackName", "{name}");
                let found =
                    emitted.iter().any(|(n, d)| *n == name && d.keys().cloned().collect::<BTreeSet<_>>() == keys);
                assert!(found, "the dashboard searches {name} by {keys:?}, which the code never emits");
                shown.insert(name);
            }
        }
    }
    let missing: Vec<_> = names.iter().filter(|n| !shown.contains(**n)).collect();
    assert!(missing.is_empty(), "metrics the code emits that the dashboard does not show: {missing:?}");
}

enum Shown {
    Line(String, String, BTreeMap<String, String>),
    Search(String, String, BTreeSet<String>),
}

fn dashboard_metrics(body: &Value) -> Vec<Shown> {
    let mut out = Vec::new();
    for w in body["widgets"].as_array().unwrap().iter().filter(|w| w["type"] == "metric") {
        for line in w["properties"]["metrics"].as_array().unwrap() {
            let line = line.as_array().unwrap();
            if let Some(expression) = line[0]["expression"].as_str() {
                out.push(search(expression));
                continue;
            }
            let parts: Vec<&str> = line.iter().filter_map(Value::as_str).collect();
            let dims = parts[2..].chunks(2).map(|p| (p[0].to_string(), p[1].to_string())).collect();
            out.push(Shown::Line(parts[0].to_string(), parts[1].to_string(), dims));
        }
    }
    out
}

/// `SEARCH('{"<namespace>",dim,...} MetricName="<name>"', ...)`.
fn search(expression: &str) -> Shown {
    let schema = expression.split_once('{').and_then(|(_, r)| r.split_once('}')).expect(expression).0;
    let mut parts = schema.split(',').map(|p| p.trim().trim_matches('"').to_string());
    let namespace = parts.next().unwrap();
    let name = expression.split_once("MetricName=\"").and_then(|(_, r)| r.split_once('"')).expect(expression).0;
    Shown::Search(namespace, name.to_string(), parts.collect())
}

/// The dashboard's body with its `${...}` filled in (a resource `X` as `@X`, `X.Attr` as
/// `@X.Attr`, a parameter as its default, `AWS::...` as `@AWS::...`), parsed; and the names
/// it substituted. A name that is none of those fails.
fn dashboard() -> (Value, BTreeSet<String>) {
    let dashboards = of_type("AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1);
    let body = dashboards.values().next().unwrap()["DashboardBody"]["Fn::Sub"].as_str().expect("a !Sub body");
    let parameters = template()["Parameters"].as_object().unwrap();
    let mut text = String::new();
    let mut named = BTreeSet::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        text.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed ${") + start;
        let name = &rest[start + 2..end];
        let logical = name.split('.').next().unwrap();
        if name.starts_with("AWS::") || resources().contains_key(logical) {
            text.push_str(&format!("@{name}"));
        } else if let Some(p) = parameters.get(name) {
            text.push_str(p["Default"].to_string().trim_matches('"'));
        } else {
            panic!("the dashboard names ${{{name}}}, which is no resource or parameter of the stack");
        }
        named.insert(name.to_string());
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("the dashboard body is not JSON: {e}\n{text}"));
    (body, named)
}

#[test]
fn the_dashboard_is_json_whose_widgets_show_the_stacks_resources() {
    let (body, _) = dashboard();
    let widgets = body["widgets"].as_array().expect("widgets");
    assert!(widgets.len() >= 10, "{}", widgets.len());
    let functions = of_type("AWS::Lambda::Function");
    let queues = of_type("AWS::SQS::Queue");
    let alarms = of_type("AWS::CloudWatch::Alarm");
    let (mut functions_shown, mut dlqs_shown, mut alarms_shown) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for w in widgets {
        let (x, width) = (w["x"].as_u64().unwrap(), w["width"].as_u64().unwrap());
        assert!(x + width <= 24 && w["height"].as_u64().unwrap() > 0, "on the 24-column grid: {w}");
        let p = &w["properties"];
        match w["type"].as_str().unwrap() {
            "text" => assert!(p["markdown"].as_str().unwrap().contains("docs/operations.md")),
            "alarm" => {
                for arn in p["alarms"].as_array().unwrap() {
                    let alarm =
                        arn.as_str().unwrap().strip_prefix('@').and_then(|a| a.strip_suffix(".Arn")).expect("@X.Arn");
                    assert!(alarms.contains_key(alarm), "the alarm widget shows {alarm}, no alarm of the stack");
                    alarms_shown.insert(alarm);
                }
            }
            "metric" => {
                assert_eq!(p["region"], "@AWS::Region");
                assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()));
                for metric in dashboard_metrics(&json!({"widgets": [w]})) {
                    let Shown::Line(ns, name, dims) = metric else { continue };
                    for (dim, value) in &dims {
                        match (ns.as_str(), dim.as_str()) {
                            ("AWS/Lambda", "FunctionName") => {
                                let f = value.strip_prefix('@').unwrap();
                                assert!(functions.contains_key(f), "{name}: {f} is no function");
                                functions_shown.insert(f.to_string());
                            }
                            ("AWS/SQS", "QueueName") => {
                                let q = value.strip_prefix('@').and_then(|q| q.strip_suffix(".QueueName")).unwrap();
                                assert!(queues.contains_key(q), "{name}: {q} is no queue");
                                if name == "ApproximateNumberOfMessagesVisible" {
                                    dlqs_shown.insert(q.to_string());
                                }
                            }
                            (ns, dim) if ns.starts_with("Sportello/") => assert!(!value.starts_with('@'), "{dim}"),
                            other => panic!("unexpected dimension {other:?}"),
                        }
                    }
                }
            }
            other => panic!("unexpected widget type {other}"),
        }
    }
    let all_functions: BTreeSet<String> = functions.keys().map(|f| f.to_string()).collect();
    assert_eq!(functions_shown, all_functions, "every function's errors and duration");
    assert_eq!(dlqs_shown, dead_letter_queues(), "every dead-letter queue's depth");
    assert_eq!(alarms_shown, alarms.keys().copied().collect(), "every alarm's state");
}
