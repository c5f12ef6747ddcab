//! Where the report aggregates live (see [`crate::reports`]).

use super::StoreResult;
use crate::domain::TicketId;
use crate::reports::{CellKey, Cube, Metrics, TicketFacts, Watched};
use async_trait::async_trait;

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Folds in every event stored and not folded yet, where the store feeds itself (the
    /// embedded one reads its own event table); one fed by a stream (DynamoDB's) has nothing
    /// to do. Returns how many events it folded.
    async fn catch_up(&self) -> StoreResult<usize> {
        Ok(0)
    }

    /// The cells of a cube on the local days `from..=to` (day numbers, see
    /// [`crate::reports::facts::day_number`]).
    async fn cells(&self, cube: Cube, from: i32, to: i32) -> StoreResult<Vec<(CellKey, Metrics)>>;

    /// Every cell of the open cube (what is open now, by opening day).
    async fn open_cells(&self) -> StoreResult<Vec<(CellKey, Metrics)>>;

    /// The GDPR clocks running on open tickets.
    async fn watched(&self) -> StoreResult<Vec<Watched>>;

    /// The facts of tickets with a mark on local day `day`, in ticket-id order after `after`,
    /// at most `limit`: what a drill-down reads, one day at a time.
    async fn facts_on(&self, day: i32, after: Option<&TicketId>, limit: usize) -> StoreResult<Vec<TicketFacts>>;

    async fn facts(&self, ticket: &TicketId) -> StoreResult<Option<TicketFacts>>;

    /// Whether this store keeps figures at all ([`NoReports`] does not): the engine refuses
    /// report reads up front rather than answer with empty figures.
    fn keeps_figures(&self) -> bool {
        true
    }
}

/// The report store of a deployment that keeps no report figures: every report is refused
/// (saying so), and nothing is folded.
pub struct NoReports;

#[async_trait]
impl ReportStore for NoReports {
    async fn cells(&self, _: Cube, _: i32, _: i32) -> StoreResult<Vec<(CellKey, Metrics)>> {
        Ok(Vec::new())
    }

    async fn open_cells(&self) -> StoreResult<Vec<(CellKey, Metrics)>> {
        Ok(Vec::new())
    }

    async fn watched(&self) -> StoreResult<Vec<Watched>> {
        Ok(Vec::new())
    }

    async fn facts_on(&self, _: i32, _: Option<&TicketId>, _: usize) -> StoreResult<Vec<TicketFacts>> {
        Ok(Vec::new())
    }

    async fn facts(&self, _: &TicketId) -> StoreResult<Option<TicketFacts>> {
        Ok(None)
    }

    fn keeps_figures(&self) -> bool {
        false
    }
}
