//! Why the flow refuses a request that is well formed: each kind tells a caller what to do about
//! it (HTTP renders each as a 409 problem of its own `type`, see `http::problem`). The text says,
//! for a person, what is expected instead; it names no HTTP route (the engine serves several
//! callers).

/// A refusal of the flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The flow, or the rulebook, expects another step first (triage, the incident check, an
    /// escalation target it names).
    #[error("{0}")]
    Flow(String),
    /// The ticket (or its chat, or its survey) is in a state that takes no such action now.
    #[error("{0}")]
    State(String),
    /// It is done already, by this caller or another (a survey answered, a ticket in another
    /// operator's charge).
    #[error("{0}")]
    Done(String),
    /// The request belongs to another channel or client than the ticket's.
    #[error("{0}")]
    Channel(String),
    /// This deployment or rulebook has nothing to do it with (no report figures, no `email:`
    /// block, no chat channel, no bot on the channel).
    #[error("{0}")]
    Unsupported(String),
    /// Nothing to act on matched what was confirmed (an erasure preview gone stale) or a hold
    /// stops it; preview again.
    #[error("{0}")]
    Held(String),
    /// Concurrent changes kept winning over this one; asking again may succeed.
    #[error("{0}")]
    Contended(String),
    /// The flow types this ticket by the incident check, not by classify: the caller runs the
    /// check on ticket `reference`.
    #[error(
        "the flow types this ticket by {step}: Q when an incident is active on the service, I (escalated to \
         incident management) when none is; check for incidents on {reference} instead of classifying it"
    )]
    TypedByIncidentCheck { reference: String, step: &'static str },
}

impl Refusal {
    /// The kind, as a short stable word: the last segment of the HTTP problem type, and what a
    /// log line shows.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Flow(_) => "flow",
            Self::State(_) => "state",
            Self::Done(_) => "done",
            Self::Channel(_) => "channel",
            Self::Unsupported(_) => "unsupported",
            Self::Held(_) => "held",
            Self::Contended(_) => "contended",
            Self::TypedByIncidentCheck { .. } => "typed-by-incident-check",
        }
    }
}
