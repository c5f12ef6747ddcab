//! What the rulebook lets an operator do on a ticket, and what its flow expects next.
//!
//! A ticket's flow depends on facts an operator learns while working it (can they solve it, is an
//! incident active), so the guard walks the ticket's channel × category with every combination of
//! facts and keeps the paths an operator works (those with `take_in_charge`). Once the ticket has a
//! type, only the paths that classify into that type still apply.

use super::refusal::Refusal;
use crate::domain::{Ticket, TicketState, TicketType};
use crate::rules::Model;
use crate::rules::resolved::{Path, StepDetail};
use std::collections::BTreeSet;

/// The step that checks for incidents; what follows it in the flow says how a report is typed,
/// and where it goes with no incident.
pub const CHECK_INCIDENTS: &str = "check_active_incidents";

/// The operator paths of one channel × category: the rulebook's paths that take the ticket in
/// charge, worked out when the rulebook was loaded.
#[derive(Debug, Clone)]
pub struct FlowGuard<'r> {
    pub channel: String,
    pub category: String,
    model: &'r Model,
    paths: Vec<&'r Path>,
}

/// The flow's verdict on an action.
pub type Verdict = Result<(), Refusal>;

impl<'r> FlowGuard<'r> {
    pub fn new(model: &'r Model, channel: &str, category: &str) -> Self {
        let paths = model
            .route_of(channel, category)
            .map(|r| r.paths.iter().filter(|p| p.has_step("take_in_charge")).collect())
            .unwrap_or_default();
        Self { channel: channel.into(), category: category.into(), model, paths }
    }

    /// The guard of a ticket's flow; a ticket not yet triaged has no category and no flow.
    pub fn of(model: &'r Model, ticket: &Ticket) -> Option<Self> {
        ticket.category.as_deref().map(|c| Self::new(model, &ticket.channel, c))
    }

    /// An operator works this flow at all (a bot-only category has no operator path).
    pub fn has_operator_path(&self) -> bool {
        !self.paths.is_empty()
    }

    /// The paths still open to a ticket of this type (every path while it has none).
    fn paths_for(&self, ticket_type: Option<TicketType>) -> impl Iterator<Item = &'r Path> + '_ {
        self.paths.iter().copied().filter(move |p| ticket_type.is_none_or(|t| classifies_into(p).any(|c| c == t)))
    }

    /// The types an operator may classify this ticket into.
    pub fn classify_types(&self) -> BTreeSet<TicketType> {
        self.paths.iter().flat_map(|p| classifies_into(p)).collect()
    }

    /// Whether the flow has the operator set a type at all.
    pub fn classifies(&self) -> bool {
        !self.classify_types().is_empty()
    }

    /// The targets the flow escalates to for a ticket of this type, in rulebook order.
    pub fn escalation_targets(&self, ticket_type: Option<TicketType>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in self.paths_for(ticket_type).flat_map(|p| p.escalate_to.iter()) {
            let id = self.model.targets.key(*t);
            if !out.iter().any(|o| id == o) {
                out.push(id.to_string());
            }
        }
        out
    }

    /// Some path of this type has the step.
    pub fn allows_step(&self, ticket_type: Option<TicketType>, step: &str) -> bool {
        self.paths_for(ticket_type).any(|p| p.has_step(step))
    }

    /// Every path of this type waits for a resolution notice before `resolve`.
    pub fn needs_notice(&self, ticket_type: Option<TicketType>) -> bool {
        let mut paths = self.paths_for(ticket_type).peekable();
        paths.peek().is_some() && paths.all(|p| p.has_step("await_resolution_notice"))
    }

    /// The team every path of this type ends with, when they agree (`route_to_privacy_team`).
    pub fn team_for(&self, ticket_type: TicketType) -> Option<&'r str> {
        let mut teams = self.paths_for(Some(ticket_type)).map(|p| p.team);
        let first = teams.next()?;
        teams.all(|t| t == first).then_some(self.model.teams.key(first).as_str())
    }

    /// What the flow does after `check_active_incidents` with (`active`) or without an incident:
    /// the type it sets and the target it escalates to, if any. `rules check` makes sure the
    /// paths agree on both.
    pub fn after_incident_check(&self, active: bool) -> Option<(TicketType, Option<String>)> {
        self.paths.iter().find_map(|p| {
            let at = p.steps.iter().position(|s| s.name == CHECK_INCIDENTS)?;
            let consistent = p.consulted.iter().all(|(f, v)| f != "incident_active" || *v == active);
            if !consistent {
                return None;
            }
            let after = &p.steps[at + 1..];
            let ticket_type = after.iter().find_map(|s| match s.detail {
                StepDetail::Classify(t) => Some(t),
                _ => None,
            })?;
            let target = after.iter().find_map(|s| match &s.detail {
                StepDetail::Escalate(targets) => targets.first().map(|t| self.model.targets.key(*t).to_string()),
                _ => None,
            });
            Some((ticket_type, target))
        })
    }

    /// What the flow expects the operator (or a target) to do next on `ticket`.
    pub fn expected_next(&self, ticket: &Ticket) -> String {
        // A chat closed by the bot or out of hours is never triaged: it is simply over.
        if ticket.triaged_at.is_none() && !ticket.state.is_final() {
            return "the rulebook's triage".into();
        }
        let pending = pending_targets(ticket);
        match ticket.state {
            TicketState::New => "take_in_charge".into(),
            TicketState::TakenInCharge | TicketState::InProgress => {
                if ticket.ticket_type.is_none() && self.classifies() {
                    format!("classify (as {})", join_types(&self.classify_types()))
                } else if !pending.is_empty() {
                    format!("the resolution notice from {}", pending.join(" and "))
                } else if self.needs_notice(ticket.ticket_type) && !has_notice(ticket) {
                    format!("escalate (to {})", self.escalation_targets(ticket.ticket_type).join(" or "))
                } else {
                    "resolve".into()
                }
            }
            TicketState::AwaitingResolutionNotice => {
                format!("the resolution notice from {}", pending.join(" and "))
            }
            TicketState::Resolved => "nothing more from the operator: the ticket is resolved".into(),
            other => format!("nothing more: the ticket is {other}"),
        }
    }

    /// A refusal that says what the flow expects instead of `action`.
    pub fn refuse(&self, ticket: &Ticket, action: &str) -> String {
        format!("the flow expects {} before {action}", self.expected_next(ticket))
    }

    /// May an operator take the ticket in charge now?
    pub fn check_take_in_charge(&self, ticket: &Ticket) -> Verdict {
        if ticket.triaged_at.is_none() || !self.has_operator_path() || ticket.state != TicketState::New {
            return Err(Refusal::Flow(self.refuse(ticket, "take_in_charge")));
        }
        Ok(())
    }

    /// May the ticket be classified as `to`? Wrong types are the caller's input error, so they come
    /// back as `Err(Ok(allowed))`; a wrong moment as `Err(Err(message))`.
    pub fn check_classify(&self, ticket: &Ticket, to: TicketType) -> Result<(), ClassifyRefusal> {
        if !matches!(ticket.state, TicketState::TakenInCharge | TicketState::InProgress) {
            return Err(ClassifyRefusal::Flow(self.refuse(ticket, "classify")));
        }
        if !ticket.escalations.is_empty() && ticket.ticket_type != Some(to) {
            return Err(ClassifyRefusal::Flow(format!(
                "the ticket was escalated as {}; its type cannot change now",
                ticket.ticket_type.map_or("-", TicketType::code)
            )));
        }
        let allowed = self.classify_types();
        if !allowed.contains(&to) {
            return Err(ClassifyRefusal::Type(format!(
                "the rulebook classifies category `{}` on channel `{}` only as {}",
                self.category,
                self.channel,
                join_types(&allowed)
            )));
        }
        Ok(())
    }

    pub fn check_close_contact(&self, ticket: &Ticket, already_closed: bool) -> Verdict {
        if !ticket.channel_kind.is_synchronous() {
            return Err(Refusal::Flow(format!(
                "a contact on the {} channel is already asynchronous; close_contact is for calls and chats",
                ticket.channel_kind
            )));
        }
        if !self.allows_step(ticket.ticket_type, "close_contact") {
            return Err(Refusal::Flow(format!(
                "the flow of this ticket has no close_contact; it expects {}",
                self.expected_next(ticket)
            )));
        }
        if already_closed {
            return Err(Refusal::Done("the contact is already closed; the ticket continues asynchronously".into()));
        }
        if ticket.state == TicketState::New || ticket.state.is_final() {
            return Err(Refusal::Flow(self.refuse(ticket, "close_contact")));
        }
        Ok(())
    }

    pub fn check_escalate(&self, ticket: &Ticket, target: &str) -> Result<(), EscalateRefusal> {
        let targets = self.escalation_targets(ticket.ticket_type);
        // An escalate step offers several targets: the operator may pick more than one, so a
        // ticket already waiting for one notice may go to another target too.
        let workable = matches!(
            ticket.state,
            TicketState::InProgress | TicketState::TakenInCharge | TicketState::AwaitingResolutionNotice
        );
        if !workable || (ticket.ticket_type.is_none() && self.classifies()) {
            return Err(EscalateRefusal::Flow(self.refuse(ticket, "escalate")));
        }
        if targets.is_empty() {
            return Err(EscalateRefusal::Flow(format!(
                "the flow of this ticket does not escalate; it expects {}",
                self.expected_next(ticket)
            )));
        }
        if !targets.iter().any(|t| t == target) {
            return Err(EscalateRefusal::Target(format!(
                "the flow escalates this ticket only to {}",
                targets.join(", ")
            )));
        }
        if pending_targets(ticket).contains(&target) {
            return Err(EscalateRefusal::Flow(format!(
                "the ticket already awaits the resolution notice from {target}"
            )));
        }
        Ok(())
    }

    pub fn check_resolve(&self, ticket: &Ticket) -> Verdict {
        let ready = matches!(ticket.state, TicketState::TakenInCharge | TicketState::InProgress)
            && (ticket.ticket_type.is_some() || !self.classifies())
            && pending_targets(ticket).is_empty()
            && (!self.needs_notice(ticket.ticket_type) || has_notice(ticket));
        if ready { Ok(()) } else { Err(Refusal::Flow(self.refuse(ticket, "resolve"))) }
    }
}

/// Why a classification was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassifyRefusal {
    /// The type is not one the rulebook allows here (the request is wrong).
    Type(String),
    /// Not now (the flow is elsewhere).
    Flow(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalateRefusal {
    Target(String),
    Flow(String),
}

fn classifies_into(path: &Path) -> impl Iterator<Item = TicketType> + '_ {
    path.steps.iter().filter_map(|s| match s.detail {
        StepDetail::Classify(t) => Some(t),
        _ => None,
    })
}

/// Targets escalated to that have not sent their notice yet.
pub fn pending_targets(ticket: &Ticket) -> Vec<&str> {
    ticket.escalations.iter().filter(|e| e.notice_at.is_none()).map(|e| e.target.as_str()).collect()
}

fn has_notice(ticket: &Ticket) -> bool {
    ticket.escalations.iter().any(|e| e.notice_at.is_some())
}

fn join_types(types: &BTreeSet<TicketType>) -> String {
    let codes: Vec<&str> = types.iter().map(|t| t.code()).collect();
    match codes.len() {
        0 => "nothing (this flow sets no type)".into(),
        1 => codes[0].into(),
        _ => format!("{} or {}", codes[..codes.len() - 1].join(", "), codes[codes.len() - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChannelKind, Escalation};
    use crate::rules::Rules;
    use jiff::Timestamp;

    fn rules() -> Rules {
        Rules::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap()
    }

    fn ticket(channel: &str, kind: ChannelKind, category: &str) -> Ticket {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut t = Ticket::new(channel, kind, "first_level", now);
        t.category = Some(category.into());
        t.triaged_at = Some(now);
        t
    }

    #[test]
    fn classify_types_come_from_the_rulebook_paths() {
        let r = rules();
        let types = |ch: &str, cat: &str| FlowGuard::new(&r, ch, cat).classify_types();
        assert_eq!(types("email", "basic_info"), [TicketType::Q].into());
        assert_eq!(types("email", "malfunction"), [TicketType::Q, TicketType::I].into());
        // Section 3.4's quirk: advanced API requests are Q.
        assert_eq!(types("api", "advanced_info"), [TicketType::Q].into());
        assert_eq!(types("voice", "privacy_issue"), [TicketType::PI].into());
        // A chat the bot could not solve goes to an operator as a basic request.
        assert_eq!(types("chat", "bot"), [TicketType::Q].into());
    }

    #[test]
    fn escalation_targets_depend_on_the_type() {
        let r = rules();
        let g = FlowGuard::new(&r, "email", "malfunction");
        assert_eq!(g.escalation_targets(Some(TicketType::I)), ["pagopa_incident_management"]);
        assert!(g.escalation_targets(Some(TicketType::Q)).is_empty(), "an active incident: no escalation");
        let g = FlowGuard::new(&r, "email", "specialist_support");
        assert_eq!(g.escalation_targets(Some(TicketType::A)), ["pagopa_specialists", "third_parties"]);
        assert!(g.needs_notice(Some(TicketType::A)));
        let g = FlowGuard::new(&r, "email", "advanced_info");
        assert!(!g.needs_notice(Some(TicketType::A)), "the operator may solve it without escalating");
    }

    #[test]
    fn resolve_waits_for_the_notice_and_says_so() {
        let r = rules();
        let mut t = ticket("email", ChannelKind::Email, "specialist_support");
        let g = FlowGuard::of(&r, &t).unwrap();
        assert_eq!(
            g.check_resolve(&t).unwrap_err(),
            Refusal::Flow("the flow expects take_in_charge before resolve".into())
        );
        t.state = TicketState::InProgress;
        assert_eq!(
            g.check_resolve(&t).unwrap_err(),
            Refusal::Flow("the flow expects classify (as A) before resolve".into())
        );
        t.ticket_type = Some(TicketType::A);
        assert_eq!(
            g.check_resolve(&t).unwrap_err(),
            Refusal::Flow("the flow expects escalate (to pagopa_specialists or third_parties) before resolve".into())
        );
        t.state = TicketState::AwaitingResolutionNotice;
        t.escalations.push(Escalation {
            escalation_id: String::new(),
            target: "pagopa_specialists".into(),
            sent_at: t.created_at,
            notice_at: None,
            notice: None,
            due: None,
            reminded_at: None,
        });
        assert_eq!(
            g.check_resolve(&t).unwrap_err(),
            Refusal::Flow("the flow expects the resolution notice from pagopa_specialists before resolve".into())
        );
        t.escalations[0].notice_at = Some(t.created_at);
        t.state = TicketState::InProgress;
        assert_eq!(g.check_resolve(&t), Ok(()));
    }

    #[test]
    fn close_contact_only_on_synchronous_paths_that_have_it() {
        let r = rules();
        let mut mail = ticket("email", ChannelKind::Email, "basic_info");
        mail.state = TicketState::InProgress;
        let g = FlowGuard::of(&r, &mail).unwrap();
        assert!(
            matches!(g.check_close_contact(&mail, false), Err(Refusal::Flow(m)) if m.contains("already asynchronous"))
        );
        let mut call = ticket("voice", ChannelKind::Voice, "advanced_info");
        call.state = TicketState::InProgress;
        call.ticket_type = Some(TicketType::A);
        let g = FlowGuard::of(&r, &call).unwrap();
        assert_eq!(g.check_close_contact(&call, false), Ok(()));
        assert!(matches!(g.check_close_contact(&call, true), Err(Refusal::Done(m)) if m.contains("already closed")));
    }

    #[test]
    fn privacy_types_route_to_the_privacy_team() {
        let r = rules();
        let g = FlowGuard::new(&r, "email", "privacy_activity");
        assert_eq!(g.team_for(TicketType::PA), Some("privacy"));
        let g = FlowGuard::new(&r, "email", "basic_info");
        assert_eq!(g.team_for(TicketType::Q), Some("first_level"));
    }
}
