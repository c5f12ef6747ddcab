//! The resolution notice on the reply queue is a public contract: the checked-in JSON Schema, the
//! Rust type and the engine's reader must agree. Regenerate the file after a deliberate change
//! with `SPORTELLO_WRITE_SCHEMA=1 cargo test --test notice_schema`.

use serde_json::{Value, json};
use sportello::ports::notice::{NOTICE_SCHEMA, NoticeMessage, notice_schema};
use std::path::Path;

const FILE: &str = "docs/resolution-notice.schema.json";

fn checked_in() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE);
    if std::env::var_os("SPORTELLO_WRITE_SCHEMA").is_some() {
        let text = serde_json::to_string_pretty(&notice_schema()).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn checked_in_schema_matches_the_type() {
    assert_eq!(
        checked_in(),
        notice_schema(),
        "{FILE} is out of date: rerun with SPORTELLO_WRITE_SCHEMA=1 and review the diff"
    );
}

fn sample() -> Value {
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
fn the_examples_pass_and_broken_messages_fail_in_both_the_schema_and_the_reader() {
    // `format` is only an annotation in draft 2020-12 unless asked for; targets should check it.
    let validator = jsonschema::options().should_validate_formats(true).build(&checked_in()).unwrap();
    let good = sample();
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
