//! infra/template.yaml against the workspace: every Lambda binary under functions/ is deployed,
//! nothing else is, and the SQS wiring follows Lambda's rules (partial batch failures, visibility
//! timeout at least 6x the function timeout). `grants`: each function as the template deploys it,
//! on moto, making only the AWS calls its policy allows and reading only the settings it is given.

#[cfg(feature = "aws")]
mod grants;
#[cfg(feature = "aws")]
mod operations;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn template() -> Value {
    let text = std::fs::read_to_string(crate::support::root().join("infra/template.yaml"))
        .expect("infra/template.yaml is readable");
    serde_saphyr::from_str(&text).expect("infra/template.yaml is YAML")
}

/// The crate folders under functions/ and the binaries each builds.
fn function_crates() -> BTreeMap<String, Vec<String>> {
    let functions = crate::support::root().join("functions");
    let mut crates = BTreeMap::new();
    for entry in std::fs::read_dir(functions).expect("functions/ is readable") {
        let dir = entry.expect("a directory entry").path();
        if dir.join("Cargo.toml").exists() {
            let name = dir.file_name().and_then(|n| n.to_str()).expect("a folder name").to_string();
            crates.insert(name, binaries(&dir));
        }
    }
    crates
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
    function_crates().into_values().flatten().collect()
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
    let crates = function_crates();
    let mut deployed = BTreeSet::new();
    for (name, f) in functions(&t) {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}: BuildMethod");
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or_else(|| panic!("{name}: Binary"));
        // The function's own crate, as SAM's Rust guide wants: cargo-lambda builds the binary
        // there (the workspace root is a package too, whose default binary is not a function).
        let code = f["Properties"]["CodeUri"].as_str().unwrap_or_else(|| panic!("{name}: CodeUri"));
        let folder = code.strip_prefix("../functions/").unwrap_or_else(|| panic!("{name}: CodeUri {code}"));
        let builds = crates.get(folder).unwrap_or_else(|| panic!("{name}: no crate at functions/{folder}"));
        assert!(builds.contains(&binary.to_string()), "{name}: functions/{folder} builds {builds:?}, not {binary}");
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
    // Each index as `sportello::adapters::aws::table` declares it: name, keys, projection.
    let indexes: BTreeSet<String> = table["GlobalSecondaryIndexes"]
        .as_array()
        .expect("GSIs")
        .iter()
        .map(|i| {
            let key = |n: usize| i["KeySchema"][n]["AttributeName"].as_str().unwrap_or("?").to_string();
            let projection = &i["Projection"];
            let mut included: Vec<&str> =
                projection["NonKeyAttributes"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).collect();
            included.sort_unstable();
            format!(
                "{} {} {} {} {}",
                i["IndexName"].as_str().unwrap_or("?"),
                key(0),
                key(1),
                projection["ProjectionType"].as_str().unwrap_or("?"),
                included.join(",")
            )
        })
        .collect();
    use sportello::adapters::aws::table::{INDEXES, Projected};
    let expected: BTreeSet<String> = INDEXES
        .iter()
        .map(|i| {
            let (kind, mut included) = match i.projected {
                Projected::All => ("ALL", vec![]),
                Projected::KeysOnly => ("KEYS_ONLY", vec![]),
                Projected::Include(names) => ("INCLUDE", names.to_vec()),
            };
            included.sort_unstable();
            format!("{} {} {} {kind} {}", i.name, i.pk, i.sk, included.join(","))
        })
        .collect();
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
    for f in ["OperatorFunction", "ClockFunction"] {
        assert_eq!(reference(&env(f)["SPORTELLO_REPLY_QUEUE"]).as_deref(), Some("ReplyQueue"), "{f}");
    }
    // The key is generated in Secrets Manager and read at init by every function that mints
    // tokens (escalations, reminders) or checks them (inbound mail).
    let key = &r["ReplyTokenKeySecret"]["Properties"]["GenerateSecretString"];
    assert_eq!(key["GenerateStringKey"], "SPORTELLO_REPLY_TOKEN_KEY");
    for f in ["OperatorFunction", "ClockFunction", "EmailHttpFunction", "EmailSqsFunction"] {
        let secrets = serde_json::to_string(&env(f)["SPORTELLO_SECRETS"]).unwrap();
        assert!(secrets.contains("ReplyTokenKeySecret"), "{f}: SPORTELLO_SECRETS {secrets}");
        assert_eq!(reference(&env(f)["SPORTELLO_REPLY_EMAIL"]).as_deref(), Some("ThirdPartyReplyAddress"), "{f}");
    }
}

/// No `NoEcho` parameter reaches a function's environment, where `GetFunctionConfiguration`
/// shows it whole: secrets go through Secrets Manager (`SPORTELLO_SECRETS`).
#[test]
fn secret_parameters_never_reach_an_environment() {
    let t = template();
    let secret_params: Vec<&String> = t["Parameters"]
        .as_object()
        .expect("Parameters")
        .iter()
        .filter(|(_, p)| p["NoEcho"] == true)
        .map(|(name, _)| name)
        .collect();
    assert!(secret_params.len() >= 6, "{secret_params:?}");
    let mut environments = vec![("Globals".to_string(), t["Globals"]["Function"]["Environment"].clone())];
    environments.extend(functions(&t).into_iter().map(|(name, f)| (name, f["Properties"]["Environment"].clone())));
    for (name, environment) in environments {
        let text = serde_json::to_string(&environment).unwrap();
        for param in &secret_params {
            assert!(!text.contains(param.as_str()), "{name}'s environment uses the NoEcho parameter {param}");
        }
    }
}

/// The SES identity the policies grant is the rulebook's sending domain, and the addresses the
/// template receives and sends on are on it.
#[cfg(feature = "aws")]
#[test]
fn the_mail_domain_is_the_rulebooks_sending_domain() {
    let t = template();
    let rules = sportello::rules::Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("rulebook");
    let from = rules.email.as_ref().expect("an email block").from.clone();
    let domain = t["Parameters"]["MailDomain"]["Default"].as_str().expect("MailDomain default");
    assert_eq!(from.rsplit_once('@').map(|(_, d)| d), Some(domain), "rulebook email.from {from}");
    for p in ["SupportAddress", "EscalationSender", "ThirdPartyReplyAddress"] {
        let address = t["Parameters"][p]["Default"].as_str().expect("a default");
        assert!(address.ends_with(&format!("@{domain}")), "{p}: {address} is not on {domain}");
    }
    // The same check at init, for a deployment with other parameters or another rulebook.
    assert!(sportello::lambda::check_mail_domain(Some(domain), [from.as_str()]).is_ok());
    let refused = sportello::lambda::check_mail_domain(Some("sportello.example.org"), [from.as_str()]).unwrap_err();
    assert!(refused.contains("not on the mail domain `sportello.example.org`"), "{refused}");
}

/// Mail of any size: SES stores it in S3 (SNS carries only 150 KB) and notifies an encrypted topic.
#[test]
fn inbound_mail_is_stored_in_s3_and_notified_on_an_encrypted_topic() {
    let t = template();
    let r = &t["Resources"];
    let rule = &r["InboundMailRule"]["Properties"]["Rule"];
    let actions = rule["Actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 1, "{actions:?}");
    let s3 = &actions[0]["S3Action"];
    assert!(serde_json::to_string(&s3["BucketName"]).unwrap().contains("InboundMailBucket"));
    assert!(serde_json::to_string(&s3["TopicArn"]).unwrap().contains("InboundMailTopic"));
    let key = serde_json::to_string(&r["InboundMailTopic"]["Properties"]["KmsMasterKeyId"]).unwrap();
    assert!(key.contains("InboundMailTopicKey"), "the inbound-mail topic is not encrypted with its key: {key}");
    let policy = serde_json::to_string(&r["EmailSqsFunction"]["Properties"]["Policies"]).unwrap();
    assert!(policy.contains("s3:GetObject") && policy.contains("InboundMailBucket"), "{policy}");
    // Expiring raw mail: it is personal data.
    let expiry = &r["InboundMailBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"];
    assert!(!expiry.is_null(), "the inbound-mail bucket keeps raw mail forever");
}

/// Every client of the rulebook calls as an IAM role the API function knows.
#[test]
fn every_rulebook_client_has_a_role_the_api_function_knows() {
    let t = template();
    let rules = sportello::rules::Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("rulebook");
    let clients = serde_json::to_string(
        &t["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]["SPORTELLO_IAM_CLIENTS"],
    )
    .unwrap();
    for client in rules.clients.keys() {
        assert!(clients.contains(&format!("Arn}}={client}")), "no role for client {client} in {clients}");
    }
}

/// The telephony platform calls the voice function as its own role, named as the client of the
/// rulebook's voice channel: the only client the voice routes let open calls.
#[test]
fn the_voice_function_knows_the_telephony_role_as_the_voice_channels_client() {
    use sportello::domain::ChannelKind;
    let t = template();
    let rules = sportello::rules::Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("rulebook");
    let voice: Vec<&str> =
        rules.channels.iter().filter(|(_, c)| c.kind == ChannelKind::Voice).map(|(id, _)| id.as_str()).collect();
    assert!(!voice.is_empty(), "the default rulebook has a voice channel");
    let clients = serde_json::to_string(
        &t["Resources"]["VoiceFunction"]["Properties"]["Environment"]["Variables"]["SPORTELLO_IAM_CLIENTS"],
    )
    .unwrap();
    let telephony = format!("${{TelephonyClientRole.Arn}}={}", voice[0]);
    assert!(clients.contains(&telephony), "VoiceFunction's SPORTELLO_IAM_CLIENTS lacks `{telephony}`: {clients}");
    // The role may call the voice routes and nothing else of the API.
    let policy = serde_json::to_string(&t["Resources"]["TelephonyClientRole"]["Properties"]["Policies"]).unwrap();
    assert!(policy.contains("/POST/voice/*") && !policy.contains("/api/"), "{policy}");
    assert!(!serde_json::to_string(&t["Resources"]["ApiFunction"]).unwrap().contains("TelephonyClientRole"));
}

/// Each route has its own throttle (docs/deploy.md sizes them), and each throttle a route.
#[test]
fn every_route_has_its_own_throttle() {
    let t = template();
    let settings = t["Resources"]["HttpApi"]["Properties"]["RouteSettings"].as_object().expect("RouteSettings");
    let mut routes = BTreeSet::new();
    for (name, f) in functions(&t) {
        let Some(events) = f["Properties"]["Events"].as_object() else { continue };
        for (event, e) in events.iter().filter(|(_, e)| e["Type"] == "HttpApi") {
            let p = &e["Properties"];
            let route = match (p["Method"].as_str().unwrap(), p["Path"].as_str().unwrap()) {
                // The catch-all route's key is `$default` alone, whatever the method.
                (_, "$default") => "$default".to_string(),
                (method, path) => format!("{method} {path}"),
            };
            assert!(settings.contains_key(&route), "{name}.{event}: no RouteSettings for `{route}`");
            routes.insert(route);
        }
    }
    for (route, s) in settings {
        assert!(routes.contains(route), "RouteSettings `{route}` matches no route");
        let (rate, burst) = (s["ThrottlingRateLimit"].as_u64().unwrap(), s["ThrottlingBurstLimit"].as_u64().unwrap());
        assert!(burst >= rate, "{route}: a burst below the rate ({burst} < {rate}) throttles steady traffic");
    }
}

/// The functions are built without the rulebook's JSON Schema pass (the `rulebook-schema`
/// feature, src/rules/load.rs): the validator and the regex engines it brings stay out of every
/// function's zip, while the YAML fallback itself (serde-saphyr) stays in.
#[test]
fn no_function_links_the_json_schema_validator() {
    for name in function_crates().keys() {
        let manifest = crate::support::root().join("functions").join(name).join("Cargo.toml");
        let out = std::process::Command::new(env!("CARGO"))
            .args(["tree", "--offline", "--edges", "normal", "--prefix", "none", "--manifest-path"])
            .arg(&manifest)
            .output()
            .expect("cargo tree runs");
        assert!(out.status.success(), "cargo tree for {name}: {}", String::from_utf8_lossy(&out.stderr));
        let tree = String::from_utf8_lossy(&out.stdout);
        let linked = |krate: &str| tree.lines().any(|l| l.starts_with(&format!("{krate} v")));
        assert!(linked("serde-saphyr"), "{name}: the YAML fallback is gone from the tree:\n{tree}");
        for left_out in ["jsonschema", "fancy-regex", "regex"] {
            assert!(
                !linked(left_out),
                "{name} depends on {left_out}: is `default-features = false` gone from its sportello dependency?"
            );
        }
    }
}

/// The functions are built without TRACE events (`functions/*/Cargo.toml`, docs/operations.md):
/// a crate that loses the feature ships them again, and a bigger zip.
#[test]
fn every_function_leaves_trace_events_out_of_its_release_build() {
    for name in function_crates().keys() {
        let manifest = crate::support::root().join("functions").join(name).join("Cargo.toml");
        let out = std::process::Command::new(env!("CARGO"))
            .args(["tree", "--offline", "-e", "features", "-i", "tracing", "--prefix", "none", "--manifest-path"])
            .arg(&manifest)
            .output()
            .expect("cargo tree runs");
        assert!(out.status.success(), "cargo tree for {name}: {}", String::from_utf8_lossy(&out.stderr));
        let tree = String::from_utf8_lossy(&out.stdout);
        assert!(
            tree.lines().any(|l| l.starts_with("tracing feature \"release_max_level_debug\"")),
            "{name} builds tracing without `release_max_level_debug`:\n{tree}"
        );
    }
}
