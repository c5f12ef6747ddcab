//! The escalation message is a public contract: the checked-in JSON Schema and the Rust type
//! must agree. Regenerate the file after a deliberate change with
//! `SPORTELLO_WRITE_SCHEMA=1 cargo test --test escalation_schema`.

use sportello::ports::escalation::{ESCALATION_SCHEMA, escalation_schema};
use std::path::Path;

const FILE: &str = "docs/escalation-message.schema.json";

fn checked_in() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE);
    if std::env::var_os("SPORTELLO_WRITE_SCHEMA").is_some() {
        let text = serde_json::to_string_pretty(&escalation_schema()).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn checked_in_schema_matches_the_type() {
    assert_eq!(
        checked_in(),
        escalation_schema(),
        "{FILE} is out of date: rerun with SPORTELLO_WRITE_SCHEMA=1 and review the diff"
    );
}

fn sample() -> serde_json::Value {
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
fn schema_accepts_valid_messages_and_refuses_broken_ones() {
    let validator = jsonschema::validator_for(&checked_in()).unwrap();
    let good = sample();
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
    let validator = jsonschema::validator_for(&checked_in()).unwrap();
    let mut reminder = sample();
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

    let plain: sportello::ports::EscalationMessage = serde_json::from_value(sample()).unwrap();
    let json = serde_json::to_value(&plain).unwrap();
    assert!(json.get("kind").is_none() && json.get("reminds").is_none(), "{json}");
    let mut orphan = plain.clone();
    orphan.kind = sportello::ports::MessageKind::Reminder;
    assert!(orphan.validate().is_err(), "a reminder names what it reminds of");
}
