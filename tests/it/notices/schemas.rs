//! The messages exchanged with targets are public contracts: the escalation message Sportello
//! sends and the resolution notice targets send back on the reply queue. For each, the
//! checked-in JSON Schema, the Rust type and the engine's reader must agree. Regenerate the files
//! after a deliberate change with `SPORTELLO_WRITE_SCHEMA=1 cargo test --test it notices::schemas`.

use serde_json::{Value, json};
use sportello::ports::escalation::{ESCALATION_SCHEMA, escalation_schema};
use sportello::ports::notice::{NOTICE_SCHEMA, NoticeMessage, notice_schema};

/// The schema checked in at `file`; rewritten from the type's first with `SPORTELLO_WRITE_SCHEMA`.
fn checked_in(file: &str, generated: &Value) -> Value {
    let path = crate::support::root().join(file);
    if std::env::var_os("SPORTELLO_WRITE_SCHEMA").is_some() {
        let text = serde_json::to_string_pretty(generated).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

// --- The escalation message ---

const ESCALATION_FILE: &str = "docs/escalation-message.schema.json";

fn escalation_checked_in() -> Value {
    checked_in(ESCALATION_FILE, &escalation_schema())
}

#[test]
fn the_escalation_schema_matches_the_type() {
    assert_eq!(
        escalation_checked_in(),
        escalation_schema(),
        "{ESCALATION_FILE} is out of date: rerun with SPORTELLO_WRITE_SCHEMA=1 and review the diff"
    );
}

fn escalation_sample() -> Value {
    serde_json::json!({
        "schema": ESCALATION_SCHEMA,
        "escalation_id": "0193a1b2-pagopa_specialists-1",
        "ticket_id": "0193a1b2-0000-7000-8000-000000000000",
        "reference": "SP-7K3Q9XWD",
        "target": "pagopa_specialists",
        "ticket_type": "A",
        "category": "specialist_support",
        "channel": "api",
        "escalated_at": "2027-01-15T08:00:00Z",
        "due": null,
        "summary": "Check the reconciliation.",
        "fields": {"notice_code": "302000100000009424"},
        "reply_to": null
    })
}

#[test]
fn the_escalation_schema_accepts_valid_messages_and_refuses_broken_ones() {
    let validator = jsonschema::validator_for(&escalation_checked_in()).unwrap();
    let good = escalation_sample();
    assert!(validator.is_valid(&good));
    // The type reads what the schema accepts.
    serde_json::from_value::<sportello::ports::EscalationMessage>(good.clone()).unwrap();

    let broken = [
        ("reference", serde_json::json!("SP-1234")),
        ("ticket_type", serde_json::json!("Z")),
        ("target", serde_json::json!(7)),
        ("unexpected", serde_json::json!("field")),
    ];
    for (field, value) in broken {
        let mut m = good.clone();
        m[field] = value;
        assert!(!validator.is_valid(&m), "{field} = {} passed", m[field]);
        assert!(serde_json::from_value::<sportello::ports::EscalationMessage>(m).is_err() || field == "reference");
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("escalated_at");
    assert!(!validator.is_valid(&missing));
}

/// A reminder is the same message with `kind` and `reminds`; a plain escalation leaves both out,
/// so consumers of the first version read it unchanged.
#[test]
fn reminders_extend_the_message_compatibly() {
    let validator = jsonschema::validator_for(&escalation_checked_in()).unwrap();
    let mut reminder = escalation_sample();
    reminder["escalation_id"] = serde_json::json!("0193a1b2-pagopa_specialists-1-reminder");
    reminder["kind"] = serde_json::json!("reminder");
    reminder["reminds"] = serde_json::json!("0193a1b2-pagopa_specialists-1");
    assert!(validator.is_valid(&reminder));
    let m: sportello::ports::EscalationMessage = serde_json::from_value(reminder.clone()).unwrap();
    assert_eq!(m.kind, sportello::ports::MessageKind::Reminder);
    m.validate().unwrap();

    let mut unknown = reminder.clone();
    unknown["kind"] = serde_json::json!("nudge");
    assert!(!validator.is_valid(&unknown));

    let plain: sportello::ports::EscalationMessage = serde_json::from_value(escalation_sample()).unwrap();
    let json = serde_json::to_value(&plain).unwrap();
    assert!(json.get("kind").is_none() && json.get("reminds").is_none(), "{json}");
    let mut orphan = plain.clone();
    orphan.kind = sportello::ports::MessageKind::Reminder;
    assert!(orphan.validate().is_err(), "a reminder names what it reminds of");
}

// --- The resolution notice ---

const NOTICE_FILE: &str = "docs/resolution-notice.schema.json";

fn notice_checked_in() -> Value {
    checked_in(NOTICE_FILE, &notice_schema())
}

#[test]
fn the_notice_schema_matches_the_type() {
    assert_eq!(
        notice_checked_in(),
        notice_schema(),
        "{NOTICE_FILE} is out of date: rerun with SPORTELLO_WRITE_SCHEMA=1 and review the diff"
    );
}

fn notice_sample() -> Value {
    json!({
        "schema": NOTICE_SCHEMA,
        "escalation_id": "0193a1b2-7c4d-7000-8000-00000000e5c1",
        "reference": "SP-7K3Q9XWD",
        "target": "pagopa_specialists",
        "notice": "The creditor reconciled the payment on 1 December; the refund is on its way.",
        "resolved_at": "2027-01-15T09:00:00Z"
    })
}

#[test]
fn the_notice_examples_pass_and_broken_messages_fail_in_both_the_schema_and_the_reader() {
    // `format` is only an annotation in draft 2020-12 unless asked for; targets should check it.
    let validator = jsonschema::options().should_validate_formats(true).build(&notice_checked_in()).unwrap();
    let good = notice_sample();
    let mut minimal = good.clone();
    minimal.as_object_mut().unwrap().remove("resolved_at");
    for example in [&good, &minimal] {
        assert!(validator.is_valid(example), "{example}");
        NoticeMessage::parse(example.to_string().as_bytes()).unwrap();
        serde_json::from_value::<NoticeMessage>(example.clone()).unwrap();
    }

    let broken = [
        ("reference", json!("SP-1234")),
        ("schema", json!("sportello.resolution-notice/v2")),
        ("target", json!(7)),
        ("notice", json!("")),
        ("resolved_at", json!("yesterday")),
        ("unexpected", json!("field")),
    ];
    for (field, value) in broken {
        let mut m = good.clone();
        m[field] = value;
        assert!(!validator.is_valid(&m), "schema: {field} = {} passed", m[field]);
        let err = NoticeMessage::parse(m.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.pointer, format!("/{field}"), "reader: {field}");
    }
    for required in ["schema", "escalation_id", "reference", "target", "notice"] {
        let mut m = good.clone();
        m.as_object_mut().unwrap().remove(required);
        assert!(!validator.is_valid(&m), "schema: {required} may be missing");
        assert_eq!(NoticeMessage::parse(m.to_string().as_bytes()).unwrap_err().pointer, format!("/{required}"));
    }
}
