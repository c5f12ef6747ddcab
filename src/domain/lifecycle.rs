//! The ticket lifecycle as a state machine.
//!
//! ```text
//! new ─▶ taken_in_charge ─▶ in_progress ⇄ awaiting_resolution_notice
//!  │            │                │
//!  │            └───────────────▶ resolved ─▶ closed
//!  │                               │  ▲
//!  │                               └──┘ (reopened: back to in_progress)
//!  └─▶ auto_resolved | auto_closed | not_served   (no operator involved)
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// Opened by a contact, waiting for an operator.
    New,
    /// An operator took it in charge (C).
    TakenInCharge,
    /// Being worked on (L).
    InProgress,
    /// Escalated: waiting for PagoPA's or a third party's resolution notice.
    AwaitingResolutionNotice,
    /// Resolved by the operator service with its answer (R).
    Resolved,
    /// Closed after resolution; nothing more happens.
    Closed,
    /// Resolved and closed by the chatbot (type B).
    AutoResolved,
    /// Closed automatically: chat out of hours that the bot did not solve.
    AutoClosed,
    /// A call out of service hours: the caller heard the closed message.
    NotServed,
}

impl TicketState {
    pub const ALL: [TicketState; 9] = [
        Self::New,
        Self::TakenInCharge,
        Self::InProgress,
        Self::AwaitingResolutionNotice,
        Self::Resolved,
        Self::Closed,
        Self::AutoResolved,
        Self::AutoClosed,
        Self::NotServed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::TakenInCharge => "taken_in_charge",
            Self::InProgress => "in_progress",
            Self::AwaitingResolutionNotice => "awaiting_resolution_notice",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::AutoResolved => "auto_resolved",
            Self::AutoClosed => "auto_closed",
            Self::NotServed => "not_served",
        }
    }

    /// The states that can follow this one.
    pub fn successors(self) -> &'static [TicketState] {
        use TicketState::*;
        match self {
            New => &[TakenInCharge, AutoResolved, AutoClosed, NotServed],
            // Back to `New` when a new category hands the ticket to a team its operator is not on.
            TakenInCharge => &[InProgress, AwaitingResolutionNotice, Resolved, New],
            InProgress => &[AwaitingResolutionNotice, Resolved, New],
            AwaitingResolutionNotice => &[InProgress],
            // A requester who writes back after the answer reopens the ticket.
            Resolved => &[Closed, InProgress],
            Closed | AutoResolved | AutoClosed | NotServed => &[],
        }
    }

    /// No further change is possible.
    pub fn is_final(self) -> bool {
        self.successors().is_empty()
    }

    /// Still waiting for the operator service or a target: counts against SLAs.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::TakenInCharge | Self::InProgress | Self::AwaitingResolutionNotice)
    }

    pub fn transition(self, to: TicketState) -> Result<TicketState, LifecycleError> {
        if self.successors().contains(&to) { Ok(to) } else { Err(LifecycleError::IllegalTransition { from: self, to }) }
    }
}

impl fmt::Display for TicketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("a ticket cannot go from `{from}` to `{to}`")]
    IllegalTransition { from: TicketState, to: TicketState },
}

#[cfg(test)]
mod tests {
    use super::TicketState::*;
    use super::*;

    #[test]
    fn the_operator_path_is_legal() {
        let path = [TakenInCharge, InProgress, AwaitingResolutionNotice, InProgress, Resolved, Closed];
        let mut state = New;
        for next in path {
            state = state.transition(next).unwrap();
        }
        assert_eq!(state, Closed);
        assert!(state.is_final());
    }

    #[test]
    fn illegal_transitions_are_typed_errors() {
        assert_eq!(New.transition(Resolved), Err(LifecycleError::IllegalTransition { from: New, to: Resolved }));
        assert!(Closed.transition(InProgress).is_err());
        assert!(AwaitingResolutionNotice.transition(Resolved).is_err());
        let msg = AutoClosed.transition(TakenInCharge).unwrap_err().to_string();
        assert_eq!(msg, "a ticket cannot go from `auto_closed` to `taken_in_charge`");
    }

    #[test]
    fn a_ticket_handed_to_another_team_is_new_again() {
        assert_eq!(TakenInCharge.transition(New), Ok(New));
        assert_eq!(InProgress.transition(New), Ok(New));
        assert!(AwaitingResolutionNotice.transition(New).is_err(), "an escalated ticket stays with its operator");
        assert!(Resolved.transition(New).is_err());
    }

    #[test]
    fn every_state_is_reachable_from_new() {
        let mut seen = vec![New];
        let mut frontier = vec![New];
        while let Some(s) = frontier.pop() {
            for &n in s.successors() {
                if !seen.contains(&n) {
                    seen.push(n);
                    frontier.push(n);
                }
            }
        }
        assert_eq!(seen.len(), TicketState::ALL.len());
    }
}
