//! A page of a work queue: open tickets of some teams, nearest running deadline first, filtered
//! the way an operator narrows a queue, paged by key so a page stays put while tickets come and
//! go around it.

use crate::domain::{Ticket, TicketState, TicketType};

/// Longest page a store answers.
pub const MAX_QUEUE_PAGE: usize = 200;

/// A ticket's place in a work queue: nearest running deadline first (tickets without one last),
/// then the oldest, then by id so the order is total.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueKey {
    /// Microseconds since the epoch of [`Ticket::next_due`]; `i64::MAX` when it has none.
    pub due_us: i64,
    pub created_us: i64,
    pub id: String,
}

impl QueueKey {
    pub const NO_DUE: i64 = i64::MAX;

    pub fn of(ticket: &Ticket) -> Self {
        Self {
            due_us: ticket.next_due().map_or(Self::NO_DUE, |t| t.as_microsecond()),
            created_us: ticket.created_at.as_microsecond(),
            id: ticket.id.0.clone(),
        }
    }

    /// The key as a cursor in a URL: `<due>.<created>.<id>`.
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.due_us, self.created_us, self.id)
    }

    /// Reads a cursor back; `None` for anything that is not one (a hand-edited URL).
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '.');
        let due_us = parts.next()?.parse().ok()?;
        let created_us = parts.next()?.parse().ok()?;
        let id = parts.next()?;
        let id_ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        id_ok.then(|| Self { due_us, created_us, id: id.to_string() })
    }

    /// The key as one sortable string (zero-padded numbers): what the DynamoDB index sorts by.
    pub fn sortable(&self) -> String {
        format!("{:020}#{:020}#{}", self.due_us.max(0), self.created_us.max(0), self.id)
    }
}

/// Whose tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// In charge of this operator.
    Operator(String),
    /// Nobody's yet.
    Unassigned,
}

/// Tickets a caller must not see at all: privacy tickets for someone without the privacy role
/// (the engine fills this from the rulebook's privacy categories and the privacy types).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hidden {
    pub categories: Vec<String>,
    pub types: Vec<TicketType>,
}

impl Hidden {
    pub fn hides(&self, t: &Ticket) -> bool {
        t.category.as_ref().is_some_and(|c| self.categories.contains(c))
            || t.ticket_type.is_some_and(|ty| self.types.contains(&ty))
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PageStart {
    #[default]
    First,
    /// The tickets after this key.
    After(QueueKey),
    /// The tickets before this key (a "previous" page), still returned in queue order.
    Before(QueueKey),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueQuery {
    /// At least one team; several for a supervisor's view of every queue.
    pub teams: Vec<String>,
    pub channel: Option<String>,
    pub ticket_type: Option<TicketType>,
    /// One open state; `None` for every open state.
    pub state: Option<TicketState>,
    pub assignee: Option<AssigneeFilter>,
    pub hidden: Hidden,
    pub start: PageStart,
    pub limit: usize,
}

impl QueueQuery {
    pub fn team(team: impl Into<String>, limit: usize) -> Self {
        Self {
            teams: vec![team.into()],
            channel: None,
            ticket_type: None,
            state: None,
            assignee: None,
            hidden: Hidden::default(),
            start: PageStart::First,
            limit,
        }
    }

    /// Whether `t` belongs on this queue (its page aside): what both stores filter by.
    pub fn matches(&self, t: &Ticket) -> bool {
        t.state.is_open()
            && self.teams.contains(&t.team)
            && self.channel.as_ref().is_none_or(|c| &t.channel == c)
            && self.ticket_type.is_none_or(|ty| t.ticket_type == Some(ty))
            && self.state.is_none_or(|s| t.state == s)
            && match &self.assignee {
                None => true,
                Some(AssigneeFilter::Operator(id)) => t.assignee.as_ref() == Some(id),
                Some(AssigneeFilter::Unassigned) => t.assignee.is_none(),
            }
            && !self.hidden.hides(t)
    }
}

/// One page, in queue order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueuePage {
    pub tickets: Vec<Ticket>,
    /// Tickets follow this page (its last key is the cursor for the next).
    pub more_after: bool,
    /// Tickets precede this page.
    pub more_before: bool,
    /// How many tickets the whole queue holds with these filters, where the store can say so
    /// cheaply (SQLite does; DynamoDB would have to read them all, so it does not).
    pub total: Option<u64>,
}
