//! Resolution notices on the reply queue: what a target sends back when it has worked an
//! escalation. The same fields, less `schema` and `target`, make the body of the signed HTTP
//! callback (`POST /operator/targets/{target}/notices`).
//!
//! A notice is bound to one escalation by its `escalation_id` and is accepted once: the same
//! notice again changes nothing, another notice for an escalation already answered is refused,
//! and no notice ever answers a later escalation of the same ticket to the same target.
//!
//! Like the escalation message, this is a public contract: its JSON Schema is checked in at
//! `docs/resolution-notice.schema.json`, and a test keeps it and [`NoticeMessage`] in step.

use crate::domain::TicketReference;
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The value of `schema` in every notice of this version.
pub const NOTICE_SCHEMA: &str = "sportello.resolution-notice/v1";

/// Longest notice text (bytes), as on the HTTP callback.
pub const MAX_NOTICE_BYTES: usize = 32 * 1024;

/// A target's answer to one escalation, as it puts it on the reply queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Sportello resolution notice")]
pub struct NoticeMessage {
    /// Always `sportello.resolution-notice/v1` for this shape.
    #[schemars(extend("const" = "sportello.resolution-notice/v1"))]
    pub schema: String,
    /// The `escalation_id` of the escalation message this answers (of a reminder, its own id or
    /// the one it `reminds`). The notice settles that escalation and no other, once.
    #[schemars(length(min = 1, max = 128))]
    pub escalation_id: String,
    /// The ticket reference of the escalation message, e.g. `SP-7K3Q9XWD`.
    #[schemars(with = "String", regex(pattern = r"^SP-[0-9A-HJKMNP-TV-Z]{8}$"))]
    pub reference: TicketReference,
    /// The target answering: the `target` of the escalation message.
    #[schemars(length(min = 1, max = 80))]
    pub target: String,
    /// What the target found or did, for the operator (at most 32 KiB).
    #[schemars(length(min = 1, max = 32768))]
    pub notice: String,
    /// RFC 3339 instant the target resolved the case, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub resolved_at: Option<Timestamp>,
}

/// Why a notice message cannot be read: `pointer` says where (a JSON pointer, empty for the
/// whole message). The message never quotes the notice text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeError {
    pub pointer: String,
    pub message: String,
}

fn at(pointer: &str, message: impl Into<String>) -> NoticeError {
    NoticeError { pointer: pointer.to_string(), message: message.into() }
}

const FIELDS: [&str; 6] = ["schema", "escalation_id", "reference", "target", "notice", "resolved_at"];

impl NoticeMessage {
    /// Reads a message as it came off the queue, checking each field so that the error says
    /// which one is wrong.
    pub fn parse(raw: &[u8]) -> Result<Self, NoticeError> {
        let value: Value = serde_json::from_slice(raw)
            .map_err(|e| at("", format!("the message is not JSON (line {}, column {})", e.line(), e.column())))?;
        let Value::Object(object) = &value else {
            return Err(at("", "the message must be a JSON object"));
        };
        if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(at(
                &format!("/{}", escape_pointer(unknown)),
                format!("unknown field; a notice has {}", FIELDS.join(", ")),
            ));
        }
        let text = |name: &str, max: usize| -> Result<String, NoticeError> {
            let pointer = format!("/{name}");
            match object.get(name) {
                None | Some(Value::Null) => Err(at(&pointer, "is required")),
                Some(Value::String(s)) if s.trim().is_empty() => Err(at(&pointer, "must not be empty")),
                Some(Value::String(s)) if s.len() > max => Err(at(&pointer, format!("at most {max} bytes"))),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(at(&pointer, "must be a string")),
            }
        };
        let schema = text("schema", 80)?;
        if schema != NOTICE_SCHEMA {
            return Err(at("/schema", format!("must be `{NOTICE_SCHEMA}`")));
        }
        let escalation_id = text("escalation_id", 128)?;
        let reference = text("reference", 32)?;
        let reference = TicketReference::find_in(&reference)
            .filter(|r| r.as_str().len() == reference.trim().len())
            .ok_or_else(|| at("/reference", "a reference looks like SP-7K3Q9XWD"))?;
        let target = text("target", 80)?;
        let notice = text("notice", MAX_NOTICE_BYTES)?;
        let resolved_at = match object.get("resolved_at") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                Some(s.parse::<Timestamp>().map_err(|_| at("/resolved_at", "must be an RFC 3339 instant"))?)
            }
            Some(_) => return Err(at("/resolved_at", "must be an RFC 3339 instant")),
        };
        Ok(Self { schema, escalation_id, reference, target, notice, resolved_at })
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The JSON Schema of [`NoticeMessage`], as checked in under `docs/`.
pub fn notice_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(NoticeMessage)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Value {
        serde_json::json!({
            "schema": NOTICE_SCHEMA,
            "escalation_id": "0193a1b2-0000-7000-8000-000000000001",
            "reference": "SP-7K3Q9XWD",
            "target": "pagopa_specialists",
            "notice": "Payment reconciled.",
            "resolved_at": "2027-01-15T09:00:00Z"
        })
    }

    fn error_of(v: &Value) -> NoticeError {
        NoticeMessage::parse(v.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn reads_a_good_message() {
        let m = NoticeMessage::parse(good().to_string().as_bytes()).unwrap();
        assert_eq!(m.reference.as_str(), "SP-7K3Q9XWD");
        assert!(m.resolved_at.is_some());
        let mut v = good();
        v.as_object_mut().unwrap().remove("resolved_at");
        assert_eq!(NoticeMessage::parse(v.to_string().as_bytes()).unwrap().resolved_at, None);
    }

    #[test]
    fn errors_point_at_the_field() {
        assert_eq!(NoticeMessage::parse(b"{\"schema\": ").unwrap_err().pointer, "");
        assert_eq!(NoticeMessage::parse(b"[1]").unwrap_err().pointer, "");
        for (field, value, pointer) in [
            ("reference", serde_json::json!("SP-1"), "/reference"),
            ("notice", serde_json::json!("  "), "/notice"),
            ("target", serde_json::json!(7), "/target"),
            ("schema", serde_json::json!("other/v2"), "/schema"),
            ("resolved_at", serde_json::json!("yesterday"), "/resolved_at"),
            ("a/b", serde_json::json!(1), "/a~1b"),
        ] {
            let mut v = good();
            v[field] = value;
            assert_eq!(error_of(&v).pointer, pointer, "{field}");
        }
        let mut v = good();
        v.as_object_mut().unwrap().remove("escalation_id");
        assert_eq!(error_of(&v), at("/escalation_id", "is required"));
    }
}
