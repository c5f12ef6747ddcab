//! What an operator's desk reads besides one ticket: paged work queues, where each deadline
//! stands (in business time for SLAs), and search by reference, notice code or requester. The
//! web console shows these; the flow rules stay in
//! [`super::FlowGuard`].

use super::{Engine, EngineError};
use crate::domain::{Deadline, Event, Ticket, TicketType};
use crate::ports::queue_page::MAX_QUEUE_PAGE;
use crate::ports::{Hidden, QueuePage, QueueQuery, RequesterKey};
use crate::rules::ids::TeamId;
use crate::rules::resolved::FieldFormat;
use jiff::{SignedDuration, Timestamp};

/// Most tickets a search answers.
pub const MAX_SEARCH_RESULTS: usize = 50;

/// Where one deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlaState {
    /// No longer watched: the ticket's state met it.
    Met,
    OnTime,
    /// `sla.warn_at_percent` of its time is used.
    Warning,
    Breached,
}

impl SlaState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::OnTime => "on_time",
            Self::Warning => "warning",
            Self::Breached => "breached",
        }
    }
}

/// One deadline as the desk shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineStatus {
    pub kind: String,
    pub due: Timestamp,
    pub state: SlaState,
    /// Time left until due (negative once past): business time on the SLA calendar for SLA
    /// targets, calendar time for the GDPR clocks.
    pub left: SignedDuration,
    pub business_time: bool,
}

/// How a search names what it looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchBy {
    Reference,
    NoticeCode,
    Email,
    Phone,
    FiscalCode,
}

impl SearchBy {
    pub const ALL: [SearchBy; 5] = [Self::Reference, Self::NoticeCode, Self::Email, Self::Phone, Self::FiscalCode];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::NoticeCode => "notice_code",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::FiscalCode => "fiscal_code",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// What a search text most likely is: a reference (`SP-…`), an e-mail address, a fiscal
    /// code (16 characters), a notice code (18 digits), else a phone number.
    pub fn guess(text: &str) -> Self {
        let t = text.trim();
        let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        if t.to_ascii_uppercase().starts_with("SP-") {
            Self::Reference
        } else if t.contains('@') {
            Self::Email
        } else if compact.len() == 16 && compact.chars().all(|c| c.is_ascii_alphanumeric()) {
            Self::FiscalCode
        } else if compact.len() == 18 && compact.chars().all(|c| c.is_ascii_digit()) {
            Self::NoticeCode
        } else {
            Self::Phone
        }
    }
}

impl Engine {
    /// What a caller without the privacy role must never see: the privacy categories of the
    /// rulebook and the privacy ticket types.
    pub fn privacy_hidden(&self) -> Hidden {
        Hidden {
            categories: self.rules.categories.iter().filter(|(_, c)| c.privacy).map(|(id, _)| id.to_string()).collect(),
            types: TicketType::ALL.into_iter().filter(|t| t.is_privacy()).collect(),
        }
    }

    /// The operator teams (the bot's holding team is none), privacy team last.
    pub fn operator_teams(&self, with_privacy: bool) -> Vec<String> {
        let mut teams: Vec<(&TeamId, bool)> = self
            .rules
            .teams
            .iter()
            .filter(|(_, t)| with_privacy || !t.privacy)
            .map(|(id, t)| (id, t.privacy))
            .collect();
        teams.sort_by_key(|(id, privacy)| (*privacy, id.as_str()));
        teams.into_iter().map(|(id, _)| id.to_string()).collect()
    }

    /// One page of a work queue (see [`QueueQuery`]).
    pub async fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, EngineError> {
        if let Some(team) = query.teams.iter().find(|t| !self.rules.teams.contains_key(t)) {
            let known: Vec<&str> = self.rules.teams.keys().map(TeamId::as_str).collect();
            return Err(EngineError::invalid("team", format!("unknown team `{team}`; teams: {}", known.join(", "))));
        }
        if !(1..=MAX_QUEUE_PAGE).contains(&query.limit) {
            return Err(EngineError::invalid("limit", format!("1 to {MAX_QUEUE_PAGE}")));
        }
        if let Some(state) = query.state.filter(|s| !s.is_open()) {
            return Err(EngineError::invalid("state", format!("`{state}` is not a state of a work queue")));
        }
        Ok(self.ports.tickets.queue_page(query).await?)
    }

    /// Every deadline of the ticket with where it stands at `now`.
    pub fn deadline_statuses(&self, ticket: &Ticket, now: Timestamp) -> Vec<DeadlineStatus> {
        let calendar = self.rules.sla_calendar();
        let start = super::clock::deadline_start(ticket);
        let warn = i128::from(self.rules.sla.warn_at_percent);
        ticket
            .deadlines
            .iter()
            .map(|d| {
                let business_time = !super::clock::counts_calendar_time(&d.kind);
                let between = |a: Timestamp, b: Timestamp| match business_time {
                    true if a <= b => calendar.business_time_between(a, b),
                    true => -calendar.business_time_between(b, a),
                    false => b.duration_since(a),
                };
                let left = between(now, d.due);
                let state = if Deadline::met_by_state(&d.kind, ticket.state) {
                    SlaState::Met
                } else if d.breached_at.is_some() || now >= d.due {
                    SlaState::Breached
                } else {
                    let (used, total) = (between(start, now), between(start, d.due));
                    let reached = total > SignedDuration::ZERO && used.as_millis() * 100 >= total.as_millis() * warn;
                    if reached || d.warned_at.is_some() { SlaState::Warning } else { SlaState::OnTime }
                };
                DeadlineStatus { kind: d.kind.clone(), due: d.due, state, left, business_time }
            })
            .collect()
    }

    /// The ticket's SLA badge: the worst of its running deadlines; `None` when none runs.
    pub fn sla_state(&self, ticket: &Ticket, now: Timestamp) -> Option<SlaState> {
        self.deadline_statuses(ticket, now).into_iter().map(|d| d.state).filter(|s| *s != SlaState::Met).max()
    }

    /// The custom fields that hold a pagoPA notice code (NAV).
    pub fn notice_code_fields(&self) -> Vec<&str> {
        self.rules
            .custom_fields
            .iter()
            .filter(|(_, f)| matches!(f.format, FieldFormat::NoticeCode))
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// Tickets by reference, notice code or requester (e-mail, phone, fiscal code), newest
    /// first, at most [`MAX_SEARCH_RESULTS`]. Who may see which is the caller's to filter.
    pub async fn search(&self, by: SearchBy, text: &str) -> Result<Vec<Ticket>, EngineError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(EngineError::invalid("q", "write what to look for"));
        }
        if text.chars().count() > 254 {
            return Err(EngineError::invalid("q", "at most 254 characters"));
        }
        let mut found = match by {
            SearchBy::Reference => match self.ticket_by_reference(text).await {
                Ok(t) => vec![t],
                Err(EngineError::NotFound(_)) => Vec::new(),
                Err(e) => return Err(e),
            },
            SearchBy::NoticeCode => {
                let code: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                crate::domain::codes::check_notice_code(&code).map_err(|m| EngineError::invalid("q", m))?;
                let mut all = Vec::new();
                for field in self.notice_code_fields() {
                    all.extend(self.ports.tickets.find_by_field(field, &code, MAX_SEARCH_RESULTS).await?);
                }
                all
            }
            SearchBy::Email | SearchBy::Phone | SearchBy::FiscalCode => {
                let key = match by {
                    SearchBy::Email => RequesterKey::Email(text.into()),
                    SearchBy::Phone => RequesterKey::Phone(text.into()),
                    _ => RequesterKey::FiscalCode(text.into()),
                };
                key.normalized().map_err(|_| EngineError::invalid("q", format!("not a {}", by.as_str())))?;
                self.ports.tickets.find_by_requester(&key).await?
            }
        };
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        found.dedup_by(|a, b| a.id == b.id);
        found.truncate(MAX_SEARCH_RESULTS);
        Ok(found)
    }

    /// Whether an operator's chat reply box belongs on this ticket: a chat handed off to the
    /// operators and still open.
    pub fn chat_is_live(ticket: &Ticket, events: &[Event]) -> bool {
        ticket.channel_kind == crate::domain::ChannelKind::Chat
            && !ticket.state.is_final()
            && events.iter().any(Event::is_chat_handoff)
    }
}

#[cfg(test)]
mod tests {
    use super::SearchBy;

    #[test]
    fn a_search_text_says_what_it_is() {
        assert_eq!(SearchBy::guess(" sp-7k3q9xwd "), SearchBy::Reference);
        assert_eq!(SearchBy::guess("mario.rossi@example.it"), SearchBy::Email);
        assert_eq!(SearchBy::guess("RSSMRA85T10A562S"), SearchBy::FiscalCode);
        assert_eq!(SearchBy::guess("3020 0123 4567 8901 23"), SearchBy::NoticeCode);
        assert_eq!(SearchBy::guess("+39 333 123 4567"), SearchBy::Phone);
    }
}
