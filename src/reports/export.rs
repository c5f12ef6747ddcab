//! The event history for analysts, without personal data: one JSON object per event (NDJSON
//! locally; on AWS the reports function writes the same records to S3, for Athena).
//!
//! An event's `detail` can quote what a requester wrote, so only an allow-list of keys is kept,
//! and only values that look like ids, codes, numbers, booleans or times (no spaces, at most 64
//! characters): a type, a team, a target, a deadline, a state. Names, addresses, subjects and
//! message bodies never leave.

use crate::domain::{ActorRole, EventKind};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

/// The detail keys an export keeps.
const KEPT: &[&str] = &[
    "article",
    "asked_back",
    "assignee",
    "category",
    "channel",
    "chat",
    "continues_as",
    "deadline",
    "due",
    "escalation_id",
    "found_by",
    "from",
    "in_service_hours",
    "incident",
    "incident_resolved",
    "outcome",
    "rating",
    "reason",
    "reminds",
    "service",
    "state",
    "step",
    "suggested_type",
    "target",
    "team",
    "ticket_type",
    "to",
];

/// One event as analysts get it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedEvent {
    /// Unique per event (the store's id for it): a record delivered twice has the same id.
    pub event_id: String,
    pub ticket_id: String,
    pub at: Timestamp,
    /// The local date (rulebook time zone), for partitions.
    pub date: String,
    pub kind: EventKind,
    pub actor_role: ActorRole,
    /// An operator, target or client id, or `system`: never a person's name or address.
    pub actor_id: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub detail: Map<String, Value>,
}

fn safe(value: &Value) -> Option<Value> {
    match value {
        Value::Bool(_) | Value::Number(_) => Some(value.clone()),
        Value::String(s)
            if s.len() <= 64
                && !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '+')) =>
        {
            Some(value.clone())
        }
        _ => None,
    }
}

impl ExportedEvent {
    pub fn of(fe: &super::FeedEvent, time_zone: &jiff::tz::TimeZone) -> Self {
        let e = &fe.event;
        let mut detail = Map::new();
        if let Value::Object(map) = &e.detail {
            for (k, v) in map {
                if KEPT.contains(&k.as_str())
                    && let Some(v) = safe(v)
                {
                    detail.insert(k.clone(), v);
                }
            }
        }
        // Requesters' ids are channel names or client ids; a staff id is an account id.
        let actor_id =
            if safe(&Value::String(e.actor.id.clone())).is_some() { e.actor.id.clone() } else { String::new() };
        ExportedEvent {
            event_id: fe.id.clone(),
            ticket_id: e.ticket_id.0.clone(),
            at: e.at,
            date: e.at.to_zoned_datetime(time_zone.clone()).date().to_string(),
            kind: e.kind,
            actor_role: e.actor.role,
            actor_id,
            detail,
        }
    }

    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, Event, TicketId};
    use serde_json::json;

    #[test]
    fn personal_data_stays_out() {
        let event = Event {
            ticket_id: TicketId("t-1".into()),
            at: Timestamp::from_second(1_800_000_000).unwrap(),
            actor: Actor { id: "email".into(), role: ActorRole::Requester },
            kind: EventKind::Message,
            detail: json!({
                "from": "requester",
                "sender": "mario.rossi@example.it",
                "body": "Ho pagato due volte",
                "subject": "Doppio",
                "team": "first_level",
                "to": "Mario Rossi",
                "reason": "spoke to Mario",
            }),
        };
        let line = ExportedEvent::of(&crate::reports::FeedEvent { id: "42".into(), event }, &jiff::tz::TimeZone::UTC)
            .to_line();
        assert!(!line.contains("mario") && !line.contains("Mario") && !line.contains("pagato"), "{line}");
        assert!(line.contains(r#""team":"first_level""#) && line.contains(r#""event_id":"42""#), "{line}");
    }
}
