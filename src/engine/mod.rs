//! The engine: the one place where contacts become tickets and tickets move along their flow.
//! Channels (HTTP routers, Lambda handlers) and step workers call it; it talks to storage,
//! queues and mail only through the ports.

mod answer;
pub mod budget;
mod categorize;
mod chat;
mod clock;
pub mod desk;
mod email;
pub mod erasure;
pub mod flow_guard;
pub mod flow_path;
mod incidents;
mod intake;
mod notices;
pub mod operator;
pub mod refusal;
mod reminder;
pub mod reply_token;
pub mod reports;
pub mod retry;
mod steps;
pub mod survey;
mod sweep;
mod triage;
pub mod webhook;

pub use crate::domain::notice::{notice_body, with_notice_bodies};
pub use answer::{AnswerDelivery, DELIVER_ANSWER, MAX_GIVEN_BY_CHARS, Resolution};
pub use chat::{ChatMessage, ChatReply, ChatTranscript, MAX_CHAT_MESSAGE_BYTES, NewChatSession, StartedChat};
pub use clock::{Alarm, CLOCK_BUDGET, CLOCK_PAGE, CLOCK_PARALLEL, ClockReport, deadline_start};
pub use desk::{DeadlineStatus, SearchBy, SlaState};
pub use email::{Acknowledgement, EmailAction, EmailOutcome, outgoing_message_id, reference_in_message_id};
pub use erasure::{ErasableTicket, Erased, ErasurePreview, LegalHold};
pub use flow_guard::FlowGuard;
pub use incidents::{CheckedIncidents, INCIDENT_BATCH, INCIDENT_PAGE_BUDGET, INCIDENT_PARALLEL, INCIDENT_RESOLVED};
pub use intake::{NewContact, validate_fields};
pub use notices::NoticeRoute;
pub use operator::{Escalated, EscalationPreview, EscalationSettings, TicketView, Withheld};
pub use refusal::Refusal;
pub use reminder::{CHECK_REFERENCED, FoundBy, ReminderLookup};
pub use steps::{PURGE_BUDGET, PURGE_PAGE};
pub use steps::{TRIAGE, handle_step};
pub use sweep::{SWEEP_GRACE, SWEEP_LIMIT, SweepReport};
pub use triage::{TRIAGE_TEAM, Triaged};

use crate::domain::{Ticket, TicketId, TicketReference};
use crate::knowledge::search::LazyIndex;
use crate::ports::{
    EscalationDelivery, EventLog, IdempotencyStore, IncidentStore, KnowledgeCandidates, Mailer, ReportStore, StepQueue,
    StoreError, TicketStore,
};
use crate::rules::Rules;
use jiff::Timestamp;
use std::sync::Arc;

/// The ports the engine works through; both adapter sets provide them.
#[derive(Clone)]
pub struct Ports {
    pub tickets: Arc<dyn TicketStore>,
    pub events: Arc<dyn EventLog>,
    pub steps: Arc<dyn StepQueue>,
    pub mailer: Arc<dyn Mailer>,
    pub escalations: Arc<dyn EscalationDelivery>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Incidents on PagoPA's services, which the malfunction flows check.
    pub incidents: Arc<dyn IncidentStore>,
    /// Where example questions learnt from operators' answers wait for review.
    pub kb_candidates: Arc<dyn KnowledgeCandidates>,
    /// The report aggregates; [`crate::ports::NoReports`] where a deployment keeps none.
    pub reports: Arc<dyn ReportStore>,
}

/// What time it is; tests and replays set it.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

#[derive(Clone)]
pub struct Engine {
    pub rules: Arc<Rules>,
    pub ports: Ports,
    pub clock: Clock,
    /// The chatbot's search index over `rules.knowledge`, built on first use and shared.
    pub knowledge: Arc<LazyIndex>,
    /// The key of escalation e-mails' reply tokens; without it, e-mail notices are refused.
    pub reply_tokens: Option<Arc<reply_token::ReplyTokens>>,
    /// API clients' webhooks ([`webhook::Webhooks::none`] until set): without one, a client reads
    /// its tickets' status.
    pub webhooks: Arc<webhook::Webhooks>,
}

/// Why the engine refused or failed. HTTP maps these onto status codes.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Bad input: `field` says where (a JSON pointer or a parameter name).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(String),
    /// The request does not fit the ticket's state or flow: the refusal says which, and what is
    /// expected instead.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The actor may not do this to this ticket (another operator has it in charge); says who
    /// may.
    #[error("{0}")]
    Forbidden(String),
    /// Another worker is producing this very effect now (it holds the effect's claim): nothing
    /// failed, and asking again shortly finds it done.
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => EngineError::NotFound(what),
            other => EngineError::Store(other),
        }
    }
}

/// A side effect run once (`ports::run_once`): the store's failure, or the effect's own error.
impl From<crate::ports::RunOnceError<EngineError>> for EngineError {
    fn from(e: crate::ports::RunOnceError<EngineError>) -> Self {
        match e {
            crate::ports::RunOnceError::Store(e) => e.into(),
            crate::ports::RunOnceError::Handler(e) => e,
        }
    }
}

/// A move the ticket's lifecycle does not allow from its state.
impl From<crate::domain::LifecycleError> for EngineError {
    fn from(e: crate::domain::LifecycleError) -> Self {
        Self::Refused(Refusal::State(e.to_string()))
    }
}

impl EngineError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    /// The error as a log line may show it. An `Invalid` field can be a key of the sender's own
    /// JSON (an unknown field of a notice), and a not-found can quote what the sender looked
    /// for: both stay out; the engine's own messages and storage errors (which carry no row
    /// data) stay in.
    pub fn for_log(&self) -> String {
        match self {
            Self::Invalid { message, .. } => format!("invalid input: {message}"),
            Self::NotFound(_) => "not found".into(),
            Self::Refused(why) => why.to_string(),
            Self::Forbidden(why) | Self::Busy(why) => why.clone(),
            Self::Store(e) => format!("storage: {e}"),
        }
    }
}

impl crate::ports::StepError for EngineError {
    fn is_busy(&self) -> bool {
        matches!(self, Self::Busy(_))
    }
}

/// A person's text field: not blank, at most `max_bytes`; says which field when it is not.
pub(crate) fn check_text(field: &str, text: &str, max_bytes: usize) -> Result<(), EngineError> {
    if text.trim().is_empty() {
        return Err(EngineError::invalid(field, "must not be empty"));
    }
    if text.len() > max_bytes {
        return Err(EngineError::invalid(field, format!("at most {max_bytes} bytes")));
    }
    Ok(())
}

impl Engine {
    pub fn new(rules: Arc<Rules>, ports: Ports) -> Self {
        let of = rules.clone();
        let knowledge = Arc::new(LazyIndex::new(move || of.knowledge.index()));
        Self {
            rules,
            ports,
            clock: Arc::new(Timestamp::now),
            knowledge,
            reply_tokens: None,
            webhooks: Arc::new(webhook::Webhooks::none()),
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_reply_tokens(mut self, tokens: reply_token::ReplyTokens) -> Self {
        self.reply_tokens = Some(Arc::new(tokens));
        self
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    pub async fn ticket(&self, id: &TicketId) -> Result<Ticket, EngineError> {
        Ok(self.ports.tickets.get(id).await?)
    }

    pub async fn ticket_by_reference(&self, reference: &str) -> Result<Ticket, EngineError> {
        let reference = TicketReference::find_in(reference)
            .filter(|r| r.as_str().len() == reference.trim().len())
            .ok_or_else(|| EngineError::invalid("reference", "a reference looks like SP-7K3Q9XWD"))?;
        Ok(self.ports.tickets.get_by_reference(&reference).await?)
    }
}
