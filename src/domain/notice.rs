//! Where a resolution notice's text is: in the `notice_received` event that brought it, and not
//! on the ticket, whose escalation records only when it came (`notice_at`). A ticket record then
//! stays the same size however much a target writes: every write of it, and of its copy in the
//! queue index, is billed by the kilobyte, and a DynamoDB item holds at most 400 KB. Tickets
//! stored before kept notices of up to 1 KB on the escalation; readers of every layer find the
//! text here, in either place.

use super::{Escalation, Event, EventKind, Ticket};
use serde_json::Value;

/// The text of `escalation`'s resolution notice: in the `notice_received` event that brought it
/// (or, on a ticket stored before, on the escalation itself). `None` before the notice, or
/// after an erasure.
pub fn notice_body<'a>(escalation: &'a Escalation, events: &'a [Event]) -> Option<&'a str> {
    if let Some(text) = &escalation.notice {
        return Some(text);
    }
    escalation.notice_at?;
    events
        .iter()
        .rev()
        .filter(|e| e.kind == EventKind::NoticeReceived)
        .filter(|e| e.detail.get("escalation_id").and_then(Value::as_str) == Some(escalation.escalation_id.as_str()))
        .find_map(|e| e.detail.get("notice").and_then(Value::as_str))
        .filter(|_| !escalation.escalation_id.is_empty())
}

/// `ticket` with every notice body in place, as readers show it (see [`notice_body`]).
pub fn with_notice_bodies(mut ticket: Ticket, events: &[Event]) -> Ticket {
    for e in &mut ticket.escalations {
        if e.notice.is_none() {
            e.notice = notice_body(e, events).map(str::to_string);
        }
    }
    ticket
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, TicketId};
    use serde_json::json;

    fn escalation(id: &str, notice_at: bool, inline: Option<&str>) -> Escalation {
        Escalation {
            escalation_id: id.into(),
            target: "pagopa_specialists".into(),
            sent_at: "2026-12-02T09:00:00Z".parse().unwrap(),
            notice_at: notice_at.then(|| "2026-12-02T10:00:00Z".parse().unwrap()),
            notice: inline.map(str::to_string),
            due: None,
            reminded_at: None,
        }
    }

    fn received(id: &str, text: &str) -> Event {
        Event {
            ticket_id: TicketId("t-1".into()),
            at: "2026-12-02T10:00:00Z".parse().unwrap(),
            actor: Actor::system(),
            kind: EventKind::NoticeReceived,
            detail: json!({"escalation_id": id, "notice": text}),
        }
    }

    #[test]
    fn a_notice_is_read_from_its_own_event() {
        let events = [received("esc-1", "first"), received("esc-2", "second")];
        assert_eq!(notice_body(&escalation("esc-2", true, None), &events), Some("second"));
        assert_eq!(notice_body(&escalation("esc-1", true, None), &events), Some("first"));
        // No notice yet, or an escalation without an id: nothing to match.
        assert_eq!(notice_body(&escalation("esc-1", false, None), &events), None);
        assert_eq!(notice_body(&escalation("", true, None), &events), None);
    }

    #[test]
    fn a_notice_kept_on_a_ticket_stored_before_is_read_from_there() {
        let events = [received("esc-1", "in the event")];
        assert_eq!(notice_body(&escalation("esc-1", true, Some("on the ticket")), &events), Some("on the ticket"));
    }
}
