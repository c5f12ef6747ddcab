//! The reports, as the HTTP API, the dashboard and the CLI ask for them: each one catches the
//! aggregates up with the events stored so far, reads the cells it needs, and builds the report.

use super::Refusal;
use super::{Engine, EngineError};
use crate::domain::TicketId;
use crate::ports::ReportStore;
use crate::reports::facts::{date_of, day_number};
use crate::reports::report::{
    AgeBucket, Backlog, BadParameter, DrillDown, Escalations, GdprClocks, Incidents, ListedTicket, Overview, cube_for,
};
use crate::reports::{Cube, Dim, Period, Scope};
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// Tickets one drill-down page lists at most.
pub const MAX_LISTED: usize = 1_000;

impl From<BadParameter> for EngineError {
    fn from(b: BadParameter) -> Self {
        EngineError::invalid(b.parameter, b.message)
    }
}

/// Where a drill-down continues: the day and ticket after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub day: Date,
    pub ticket: TicketId,
}

impl ListCursor {
    pub fn parse(s: &str) -> Result<ListCursor, EngineError> {
        let bad = || EngineError::invalid("after", "pass back the `next` of the previous page");
        let (day, ticket) = s.split_once('/').ok_or_else(bad)?;
        // Only YYYY-MM-DD (jiff also reads other ISO 8601 forms, which no `next` is).
        if day.len() != 10 {
            return Err(bad());
        }
        let day: Date = day.parse().map_err(|_| bad())?;
        // Ticket ids are UUIDs; the OpenAPI document's pattern for `after` says the same.
        let id_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        if ticket.is_empty() || ticket.len() > 64 || !ticket.chars().all(id_char) {
            return Err(bad());
        }
        Ok(ListCursor { day, ticket: TicketId(ticket.to_string()) })
    }
}

impl std::fmt::Display for ListCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.day, self.ticket)
    }
}

/// One page of the tickets behind a figure.
#[derive(Debug, Clone)]
pub struct TicketPage {
    pub tickets: Vec<ListedTicket>,
    pub next: Option<ListCursor>,
}

impl Engine {
    fn report_store(&self) -> Result<&dyn ReportStore, EngineError> {
        let store = self.ports.reports.as_ref();
        if !store.keeps_figures() {
            return Err(Refusal::Unsupported("this deployment keeps no report aggregates".into()).into());
        }
        Ok(store)
    }

    /// The rulebook's time zone (its SLA schedule's), where report days begin and end.
    pub fn report_time_zone(&self) -> TimeZone {
        self.rules.sla_calendar().time_zone.clone()
    }

    pub fn report_today(&self) -> Date {
        self.now().to_zoned_datetime(self.report_time_zone()).date()
    }

    async fn caught_up(&self) -> Result<&dyn ReportStore, EngineError> {
        let store = self.report_store()?;
        let folded = store.catch_up().await?;
        if folded > 0 {
            tracing::debug!(events = folded, "reports: caught up before reading");
        }
        Ok(store)
    }

    pub async fn report_overview(&self, period: Period, by: &[Dim], scope: &Scope) -> Result<Overview, EngineError> {
        let store = self.caught_up().await?;
        let (from, to) = period.days();
        let (cube, _) = cube_for(by);
        let slim = store.cells(Cube::Slim, from, to).await?;
        let cells = if cube == Cube::Slim { slim.clone() } else { store.cells(cube, from, to).await? };
        Ok(Overview::build(period, &self.report_time_zone(), by, scope, &cells, &slim))
    }

    /// Each day of the period with its figures (every day listed, empty ones too): what the
    /// dashboard's charts over time draw.
    pub async fn report_daily(
        &self,
        period: &Period,
        scope: &Scope,
    ) -> Result<Vec<(Date, crate::reports::report::Figures)>, EngineError> {
        let store = self.caught_up().await?;
        let (from, to) = period.days();
        let slim = store.cells(Cube::Slim, from, to).await?;
        let mut by_day: std::collections::BTreeMap<i32, crate::reports::Metrics> =
            (from..=to).map(|d| (d, Default::default())).collect();
        for (k, m) in &slim {
            if k.target.is_empty() && scope.admits(&k.dims.team) {
                by_day.entry(k.day).or_default().merge(m, 1);
            }
        }
        Ok(by_day.into_iter().map(|(d, m)| (date_of(d), crate::reports::report::Figures::of(&m))).collect())
    }

    pub async fn report_backlog(&self, by: &[Dim], scope: &Scope) -> Result<Backlog, EngineError> {
        let store = self.caught_up().await?;
        let open = store.open_cells().await?;
        Ok(Backlog::build(self.now(), &self.report_time_zone(), by, scope, &open))
    }

    pub async fn report_escalations(&self, period: Period, scope: &Scope) -> Result<Escalations, EngineError> {
        let store = self.caught_up().await?;
        let (from, to) = period.days();
        let cells = store.cells(Cube::Period, from, to).await?;
        let open = store.open_cells().await?;
        Ok(Escalations::build(period, self.now(), &self.report_time_zone(), scope, &cells, &open))
    }

    pub async fn report_incidents(&self, period: Period) -> Result<Incidents, EngineError> {
        let store = self.caught_up().await?;
        let (from, to) = period.days();
        let cells = store.cells(Cube::Incident, from, to).await?;
        Ok(Incidents::build(period, &cells))
    }

    pub async fn report_gdpr(&self, scope: &Scope) -> Result<GdprClocks, EngineError> {
        let store = self.caught_up().await?;
        let watched = store.watched().await?;
        Ok(GdprClocks::build(self.now(), scope, &watched))
    }

    /// The open cube's days for an age bucket, seen from today.
    pub fn backlog_days(&self, bucket: AgeBucket) -> (i32, i32) {
        bucket.days(day_number(self.report_today()))
    }

    /// The tickets behind a figure, one page at a time, in (day, ticket) order; each ticket is
    /// listed once, on the first day it counts.
    pub async fn report_tickets(
        &self,
        drill: &DrillDown,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<TicketPage, EngineError> {
        let store = self.caught_up().await?;
        let limit = limit.clamp(1, MAX_LISTED);
        let days: Vec<i32> = if drill.figure.cube == Cube::Open {
            let mut days: Vec<i32> = store
                .open_cells()
                .await?
                .into_iter()
                .map(|(k, _)| k.day)
                .filter(|d| (drill.from_day..=drill.to_day).contains(d))
                .collect();
            days.sort();
            days.dedup();
            days
        } else {
            (drill.from_day..=drill.to_day).collect()
        };
        let start_day = after.map(|c| day_number(c.day));
        let mut tickets = Vec::new();
        for day in days.into_iter().filter(|d| start_day.is_none_or(|s| *d >= s)) {
            let mut cursor = after.filter(|_| Some(day) == start_day).map(|c| c.ticket.clone());
            loop {
                let batch = store.facts_on(day, cursor.as_ref(), 500).await?;
                let Some(last) = batch.last() else {
                    break;
                };
                cursor = Some(last.ticket_id.clone());
                let last_page = batch.len() < 500;
                for facts in batch {
                    let Some(listed) = drill.list(&facts) else {
                        continue;
                    };
                    // Listed on its first day in the range only.
                    if listed.days.first().map(|d| day_number(*d)) != Some(day) {
                        continue;
                    }
                    tickets.push(listed);
                    if tickets.len() == limit {
                        let next = ListCursor { day: date_of(day), ticket: facts.ticket_id.clone() };
                        return Ok(TicketPage { tickets, next: Some(next) });
                    }
                }
                if last_page {
                    break;
                }
            }
        }
        Ok(TicketPage { tickets, next: None })
    }
}
