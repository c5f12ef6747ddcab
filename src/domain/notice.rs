//! Where a resolution notice's text is: short ones on the ticket's escalation, long ones only in
//! the `notice_received` event that brought them (a ticket item must stay under DynamoDB's
//! 400 KB). Readers of every layer find the text here.

use super::{Escalation, Event, EventKind, Ticket};
use serde_json::Value;

/// Notices longer than this are kept in their `notice_received` event only, not on the ticket:
/// a ticket record stays small however many targets answer at length (a DynamoDB item holds
/// 400 KB, about twelve notices of 32 KB). Readers find the body with [`notice_body`].
pub const INLINE_NOTICE_BYTES: usize = 1024;

/// The text of `escalation`'s resolution notice: on the ticket, or, for a long one, in the
/// `notice_received` event that brought it. `None` before the notice, or after an erasure.
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
