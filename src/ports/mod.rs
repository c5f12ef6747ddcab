//! Ports: the small traits the engine uses to keep tickets, record events, chain steps, send mail
//! and escalate. Two adapter sets implement them: `adapters::embedded` (SQLite, local) and
//! `adapters::aws` (DynamoDB, SQS, SES). Both pass the same contract suite in `tests/`.

pub mod error;
pub mod escalation;
pub mod event_log;
pub mod idempotency;
pub mod incidents;
pub mod kb_candidates;
pub mod mailer;
pub mod notice;
pub mod queue_page;
pub mod reports;
pub mod step_queue;
pub mod ticket_store;
pub mod webhook;

pub use error::{StoreError, StoreResult};
pub use escalation::{EscalationDelivery, EscalationMessage, EscalationRoute, MessageKind};
pub use event_log::{Completion, EventLog, EventTail};
pub use idempotency::{Claim, IdempotencyStore, Lease, RunOnce, RunOnceError, run_claimed, run_once};
pub use incidents::{Incident, IncidentState, IncidentStore};
pub use kb_candidates::{Candidate, CandidateStatus, KnowledgeCandidates, NewCandidate};
pub use mailer::{Mailer, OutgoingMail, SentMail};
pub use queue_page::{AssigneeFilter, Hidden, PageStart, QueueKey, QueuePage, QueueQuery};
pub use reports::{NoReports, ReportStore};
pub use step_queue::{DeadLetter, Delivery, Outboxed, Published, StepError, StepMessage, StepQueue};
pub use ticket_store::ClockPositions;
pub use ticket_store::{Created, Erasure, FollowUps, NewTicket, QueuePosition, RequesterKey, TicketStore};
