//! Reports for supervisors: what came in, what the bot contained, how fast first responses and
//! resolutions were, what is late, what waits on PagoPA or third parties, which GDPR clocks run
//! out, and what requesters thought of the answers.
//!
//! Figures come from aggregates kept as events happen, never from reading every ticket per
//! request:
//! - [`facts`]: the projector folds each ticket's events (once per event id) into its facts and
//!   works out the ticket's marks (each figure it counts in, on which local day); the change
//!   between the old marks and the new ones is added to the cells of the aggregates;
//! - [`report`]: reads the cells of a period, merges them by the dimensions asked for, and turns
//!   them into figures (counts, rates, mean/p50/p90 times, SLA compliance, backlog by age);
//! - [`csv`] and [`svg`]: the same reports as CSV for spreadsheets and as charts for the
//!   dashboard.
//!
//! The stores keep the cells ([`crate::ports::ReportStore`]): SQLite folds its own event table
//! in order (a cursor in the same transaction as the cells), DynamoDB is fed by the table's
//! stream (the `sportello-reports` function). [`verify`] recomputes every figure from the tickets
//! and their events, the slow way, to check the aggregates against.

pub mod csv;
pub mod export;
pub mod facts;
pub mod hours;
pub mod metric;
pub mod report;
pub mod svg;
pub mod verify;

pub use facts::{CellKey, Cube, Dims, FeedEvent, FeedOrder, Folded, Mark, NO_TARGET, Projector, TicketFacts, Watched};
pub use metric::{Metrics, TimeStats};
pub use report::{Dim, Period, Scope};
