//! Ticket types, the C/L/R duties of the summary table, channels and outcomes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The "tipo ticket" attribute of section 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum TicketType {
    /// BOT: opened and fully resolved by the chatbot.
    B,
    /// QUESTION: answerable from the knowledge base or PagoPA's public sites.
    Q,
    /// ACTIVITY: needs investigation or non-standard work; may go to PagoPA or third parties.
    A,
    /// ISSUE: a possible anomaly of a PagoPA service (outage, degradation).
    I,
    /// PRIVACY - Question: answerable with standard procedures or self-service functions.
    PQ,
    /// PRIVACY - Activity: non-standard data-subject requests; always transferred to PagoPA.
    PA,
    /// PRIVACY - Issue: a possible personal-data breach; always transferred to PagoPA.
    PI,
}

impl TicketType {
    pub const ALL: [TicketType; 7] = [Self::B, Self::Q, Self::A, Self::I, Self::PQ, Self::PA, Self::PI];

    pub fn code(self) -> &'static str {
        match self {
            Self::B => "B",
            Self::Q => "Q",
            Self::A => "A",
            Self::I => "I",
            Self::PQ => "PQ",
            Self::PA => "PA",
            Self::PI => "PI",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::B => "BOT",
            Self::Q => "QUESTION",
            Self::A => "ACTIVITY",
            Self::I => "ISSUE",
            Self::PQ => "PRIVACY - Question",
            Self::PA => "PRIVACY - Activity",
            Self::PI => "PRIVACY - Issue",
        }
    }

    /// Privacy tickets (P*) are handled by the privacy referent's team (section 3).
    pub fn is_privacy(self) -> bool {
        matches!(self, Self::PQ | Self::PA | Self::PI)
    }
}

impl fmt::Display for TicketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ticket type `{0}` (expected one of B, Q, A, I, PQ, PA, PI)")]
pub struct UnknownTicketType(pub String);

impl FromStr for TicketType {
    type Err = UnknownTicketType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownTicketType(s.to_string()))
    }
}

/// The duties of section 2: taking in charge (C), working (L), resolving (R).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Duty {
    /// Presa in carico: taking the ticket in charge.
    C,
    /// Lavorazione: working on it.
    L,
    /// Risoluzione: resolving it, with the answer.
    R,
}

/// Who performs a step of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The first-level operator service (the contact center).
    OperatorService,
    /// The privacy referent's dedicated team, part of the operator service.
    PrivacyTeam,
    /// PagoPA specialists and/or third parties, reached by escalation.
    PagopaOrThirdParty,
    /// The chatbot.
    Bot,
    /// Sportello itself, or the IVR: automatic steps.
    System,
}

impl Party {
    pub fn label(self) -> &'static str {
        match self {
            Self::OperatorService => "operator service",
            Self::PrivacyTeam => "privacy team",
            Self::PagopaOrThirdParty => "PagoPA/third party",
            Self::Bot => "bot",
            Self::System => "system",
        }
    }
}

/// What kind of channel a contact arrives on; it decides which steps a flow may use there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Voice,
    Chat,
    Email,
    Api,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 4] = [Self::Voice, Self::Chat, Self::Email, Self::Api];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Chat => "chat",
            Self::Email => "email",
            Self::Api => "api",
        }
    }

    /// A synchronous contact (call, chat) can be "closed" and continue asynchronously.
    pub fn is_synchronous(self) -> bool {
        matches!(self, Self::Voice | Self::Chat)
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a contact's path ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Resolved by the operator service (R).
    Resolved,
    /// Resolved and closed by the chatbot (type B).
    AutoResolved,
    /// Closed automatically (chat out of hours, not solved by the bot).
    AutoClosed,
    /// Voice out of hours: the caller heard the closed message.
    NotServed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resolved => "resolved",
            Self::AutoResolved => "auto_resolved",
            Self::AutoClosed => "auto_closed",
            Self::NotServed => "not_served",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_type_codes_round_trip() {
        for t in TicketType::ALL {
            assert_eq!(t.code().parse::<TicketType>().unwrap(), t);
        }
        assert_eq!("pq".parse::<TicketType>().unwrap(), TicketType::PQ);
        let err = "X".parse::<TicketType>().unwrap_err();
        assert!(err.to_string().contains("`X`"));
    }

    #[test]
    fn only_p_types_are_privacy() {
        let privacy: Vec<_> = TicketType::ALL.into_iter().filter(|t| t.is_privacy()).collect();
        assert_eq!(privacy, [TicketType::PQ, TicketType::PA, TicketType::PI]);
    }
}
