//! The contact-center domain: tickets, their types and lifecycle, and the events that record every
//! change. Nothing here knows about AWS, SQLite or HTTP.

pub mod codes;
pub mod event;
pub mod lifecycle;
pub mod notice;
pub mod ticket;
pub mod types;

pub use event::{Actor, ActorRole, Event, EventKind};
pub use lifecycle::{LifecycleError, TicketState};
pub use ticket::{Deadline, Escalation, Requester, Survey, Ticket, TicketId, TicketReference};
pub use types::{ChannelKind, Duty, Outcome, Party, TicketType};
