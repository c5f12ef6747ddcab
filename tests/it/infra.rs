//! infra/template.yaml against the workspace: every Lambda binary under functions/ is deployed,
//! nothing else is, and the SQS wiring follows Lambda's rules (partial batch failures, visibility
//! timeout at least 6x the function timeout).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn template() -> Value {
    let text = std::fs::read_to_string(crate::support::root().join("infra/template.yaml"))
        .expect("infra/template.yaml is readable");
    serde_saphyr::from_str(&text).expect("infra/template.yaml is YAML")
}

/// `[[bin]]` names of one Cargo.toml (or the package name for an implicit src/main.rs).
fn binaries(crate_dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(crate_dir.join("Cargo.toml")).expect("Cargo.toml is readable");
    let mut section = String::new();
    let mut package = None;
    let mut bins = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().trim_matches('"').to_string();
        match (section.as_str(), key.trim()) {
            ("[[bin]]", "name") => bins.push(value),
            ("[package]", "name") => package = Some(value),
            _ => {}
        }
    }
    if bins.is_empty() && crate_dir.join("src/main.rs").exists() {
        bins.extend(package);
    }
    bins
}

fn workspace_binaries() -> BTreeSet<String> {
    let functions = crate::support::root().join("functions");
    let mut all = BTreeSet::new();
    for entry in std::fs::read_dir(functions).expect("functions/ is readable") {
        let dir = entry.expect("a directory entry").path();
        if dir.join("Cargo.toml").exists() {
            all.extend(binaries(&dir));
        }
    }
    all
}

fn functions(t: &Value) -> BTreeMap<String, Value> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(name, r)| (name.clone(), r.clone()))
        .collect()
}

#[test]
fn every_binary_under_functions_is_deployed_and_nothing_else() {
    let t = template();
    let mut deployed = BTreeSet::new();
    for (name, f) in functions(&t) {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}: BuildMethod");
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or_else(|| panic!("{name}: Binary"));
        // The workspace root: cargo-lambda builds there and SAM finds target/lambda/<binary>.
        assert_eq!(f["Properties"]["CodeUri"], "..", "{name}: CodeUri");
        assert!(deployed.insert(binary.to_string()), "{binary} is deployed twice");
    }
    let built = workspace_binaries();
    assert!(built.contains("sportello-clock") && built.contains("sportello-chat"), "found {built:?}");
    let missing: Vec<_> = built.difference(&deployed).collect();
    assert!(missing.is_empty(), "binaries under functions/ that the template does not deploy: {missing:?}");
    let unknown: Vec<_> = deployed.difference(&built).collect();
    assert!(unknown.is_empty(), "the template deploys binaries no crate under functions/ builds: {unknown:?}");
}

#[test]
fn functions_run_on_al2023_arm64_with_the_rulebook_layer() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], serde_json::json!(["arm64"]));
    assert_eq!(globals["Environment"]["Variables"]["SPORTELLO_RULES"], "/opt");
    assert_eq!(t["Resources"]["RulesLayer"]["Properties"]["ContentUri"], "../rules");
    for (name, f) in functions(&t) {
        for key in ["Runtime", "Architectures", "Layers"] {
            assert!(f["Properties"].get(key).is_none(), "{name} overrides the global {key}");
        }
    }
}

/// The SQS event sources: partial batch failures, and a queue visibility timeout of at least 6x
/// the function's timeout (else a message can reappear while a slow batch still runs).
#[test]
fn sqs_event_sources_report_item_failures_and_outlast_the_function() {
    let t = template();
    let default_timeout = t["Globals"]["Function"]["Timeout"].as_u64().expect("global Timeout");
    let mut seen = 0;
    for (name, f) in functions(&t) {
        let timeout = f["Properties"]["Timeout"].as_u64().unwrap_or(default_timeout);
        let Some(events) = f["Properties"]["Events"].as_object() else { continue };
        for (event, e) in events.iter().filter(|(_, e)| e["Type"] == "SQS") {
            seen += 1;
            let props = &e["Properties"];
            assert_eq!(
                props["FunctionResponseTypes"],
                serde_json::json!(["ReportBatchItemFailures"]),
                "{name}.{event}"
            );
            let queue =
                queue_of(&props["Queue"]).unwrap_or_else(|| panic!("{name}.{event}: Queue is not !GetAtt X.Arn"));
            let q = &t["Resources"][&queue]["Properties"];
            let visibility = q["VisibilityTimeout"].as_u64().unwrap_or(30);
            assert!(visibility >= 6 * timeout, "{queue}: visibility {visibility}s < 6 x {name}'s {timeout}s");
            assert!(q["RedrivePolicy"]["maxReceiveCount"].as_u64().is_some(), "{queue} has no redrive to a DLQ");
        }
    }
    assert!(seen >= 2, "expected the step queue and the inbound-mail queue as event sources");
}

/// `!GetAtt Name.Arn` as the YAML reader gives it: a plain `Name.Arn` string or `{"Fn::GetAtt": ...}`.
fn queue_of(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => match o.get("Fn::GetAtt")? {
            Value::String(s) => s.clone(),
            Value::Array(a) => format!("{}.Arn", a.first()?.as_str()?),
            _ => return None,
        },
        _ => return None,
    };
    text.strip_suffix(".Arn").map(str::to_string)
}

#[test]
fn the_table_matches_docs_dynamodb() {
    let t = template();
    let table = &t["Resources"]["TicketsTable"]["Properties"];
    assert_eq!(table["DeletionProtectionEnabled"], true);
    assert_eq!(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], "expires_at");
    let indexes: BTreeSet<&str> = table["GlobalSecondaryIndexes"]
        .as_array()
        .expect("GSIs")
        .iter()
        .filter_map(|i| i["IndexName"].as_str())
        .collect();
    // The names of `sportello::adapters::aws::table` (feature `aws`).
    let expected: BTreeSet<&str> = ["by_queue", "by_email", "by_phone", "by_fiscal_code", "by_closed"].into();
    assert_eq!(indexes, expected);
}

/// Resolution notices come back by the reply queue (read by the notices function, refused ones
/// moved to its DLQ) and by e-mail (reply tokens minted by the operator function, checked by the
/// email functions with the same key).
#[test]
fn the_reply_queue_and_reply_tokens_are_wired() {
    let t = template();
    let r = &t["Resources"];
    let env = |f: &str| r[f]["Properties"]["Environment"]["Variables"].clone();
    // `!Ref X` as the YAML reader gives it: `X`, or `{"Ref": "X"}`.
    let reference = |v: &Value| v.as_str().or_else(|| v.get("Ref").and_then(Value::as_str)).map(str::to_string);
    let notices = &r["NoticesFunction"]["Properties"];
    assert_eq!(notices["Events"]["Notices"]["Type"], "SQS");
    assert_eq!(queue_of(&notices["Events"]["Notices"]["Properties"]["Queue"]).as_deref(), Some("ReplyQueue"));
    assert_eq!(reference(&env("NoticesFunction")["SPORTELLO_NOTICE_DLQ_URL"]).as_deref(), Some("ReplyDeadLetterQueue"));
    assert_eq!(
        queue_of(&r["ReplyQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]).as_deref(),
        Some("ReplyDeadLetterQueue")
    );
    assert_eq!(reference(&env("OperatorFunction")["SPORTELLO_REPLY_QUEUE"]).as_deref(), Some("ReplyQueue"));
    for f in ["OperatorFunction", "EmailHttpFunction", "EmailSqsFunction"] {
        assert_eq!(reference(&env(f)["SPORTELLO_REPLY_TOKEN_KEY"]).as_deref(), Some("ReplyTokenKey"), "{f}");
    }
    for f in ["EmailHttpFunction", "EmailSqsFunction"] {
        assert_eq!(reference(&env(f)["SPORTELLO_REPLY_EMAIL"]).as_deref(), Some("ThirdPartyReplyAddress"), "{f}");
    }
    assert_eq!(t["Parameters"]["ReplyTokenKey"]["NoEcho"], true);
}
