//! Where tickets live: never lost, never duplicated.

use super::idempotency::Lease;
use super::queue_page::{QueuePage, QueueQuery};
use super::step_queue::Outboxed;
use super::{StepMessage, StoreError, StoreResult};
use crate::domain::{Actor, Event, EventKind, Requester, Ticket, TicketId, TicketReference, TicketState};
use async_trait::async_trait;
use jiff::Timestamp;

/// The most events one update may carry (DynamoDB transactions hold 100 items; this leaves room).
pub const MAX_EVENTS_PER_WRITE: usize = 50;
/// Idempotency keys are opaque client strings (an `Idempotency-Key` header, a contact id).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The most steps one intake may queue with its ticket.
pub const MAX_STEPS_PER_INTAKE: usize = 4;

/// Everything one contact writes when it opens a ticket: stored together or not at all, so a
/// crash leaves either no trace (the client's retry opens the ticket) or all of it (the retry
/// finds it).
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Same key, same ticket: the channel's retry never opens a second one.
    pub idempotency_key: String,
    /// A digest of the request, kept with the key, so a replay can tell "the same request again"
    /// from "another request under a used key".
    pub fingerprint: Option<String>,
    pub ticket: Ticket,
    /// Who opened it: the actor of the `Created` event.
    pub actor: Actor,
    /// What comes with the ticket after `Created` (the first message, a mail's envelope, a chat's
    /// welcome), in order.
    pub events: Vec<Event>,
    /// The steps that follow intake (triage), queued with the ticket: a store whose queue is
    /// elsewhere keeps them in an outbox until they are published (see [`Created::outbox`]).
    pub steps: Vec<StepMessage>,
    /// Idempotency keys the intake takes for itself (the acknowledgement of a new mail): written
    /// with the ticket, so the first intake holds them and a replay finds them held.
    pub claims: Vec<Lease>,
}

impl NewTicket {
    /// A ticket with nothing else: its `Created` event only.
    pub fn bare(idempotency_key: &str, ticket: &Ticket, actor: &Actor) -> Self {
        Self {
            idempotency_key: idempotency_key.to_owned(),
            fingerprint: None,
            ticket: ticket.clone(),
            actor: actor.clone(),
            events: Vec::new(),
            steps: Vec::new(),
            claims: Vec::new(),
        }
    }
}

/// What a ticket's write carries besides its events (see [`TicketStore::update_queueing`]).
#[derive(Debug, Clone, Default)]
pub struct FollowUps {
    /// The steps that would produce what the write makes due, should its writer not.
    pub steps: Vec<StepMessage>,
    /// The keys of those effects, taken for the writer. A store that keeps the steps in its
    /// outbox holds them out of every worker's reach until the writer drops or publishes them
    /// (or the sweep does, after [`crate::engine::SWEEP_GRACE`], longer than any request lives):
    /// there the outbox items are the claims, and the store need not write them. A later claim
    /// of such a key is then acquired, and whoever takes the effect over looks in the ticket's
    /// history for its record before acting.
    pub claims: Vec<Lease>,
}

impl FollowUps {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.claims.is_empty()
    }
}

/// The result of [`TicketStore::open`].
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub ticket: Ticket,
    /// The key had been used before: this is the ticket created then, nothing new was written.
    pub replayed: bool,
    /// On a replay, the fingerprint the key was first used with (`None` for records kept before
    /// fingerprints were, or when the first request gave none).
    pub fingerprint: Option<String>,
    /// Steps stored with the ticket and not yet on the step queue (a crash came between the two):
    /// the caller publishes them, then calls [`TicketStore::outbox_done`]. Always empty for a
    /// store that queues them in the ticket's own transaction.
    pub outbox: Vec<Outboxed>,
}

/// One way to recognise a requester. Values are compared normalised (see [`RequesterKey::normalized`]).
#[derive(Clone, PartialEq, Eq)]
pub enum RequesterKey {
    Email(String),
    Phone(String),
    FiscalCode(String),
}

// Personal data: a Debug that prints the value would leak it into logs and panics.
impl std::fmt::Debug for RequesterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequesterKey::{}(..)", self.kind())
    }
}

impl RequesterKey {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::Phone(_) => "phone",
            Self::FiscalCode(_) => "fiscal_code",
        }
    }

    /// The form stores index and compare: e-mail lower-cased, phone reduced to `+` and digits,
    /// fiscal code upper-cased without spaces. Empty keys are refused: they would match nobody
    /// (or, worse, everybody without one).
    pub fn normalized(&self) -> StoreResult<String> {
        let value = match self {
            Self::Email(v) => v.trim().to_lowercase(),
            Self::Phone(v) => normalize_phone(v),
            Self::FiscalCode(v) => v.split_whitespace().collect::<String>().to_uppercase(),
        };
        if value.is_empty() || value == "+" {
            return Err(StoreError::Invalid(format!("empty requester {} key", self.kind())));
        }
        Ok(value)
    }

    /// The one key given among an e-mail address, a phone number and a fiscal code; `Err` says
    /// how many were given instead (0, or more than 1).
    pub fn one_of(email: Option<String>, phone: Option<String>, fiscal_code: Option<String>) -> Result<Self, usize> {
        let mut keys: Vec<Self> = [email.map(Self::Email), phone.map(Self::Phone), fiscal_code.map(Self::FiscalCode)]
            .into_iter()
            .flatten()
            .collect();
        if keys.len() == 1 { Ok(keys.remove(0)) } else { Err(keys.len()) }
    }

    /// The normalised keys a requester can be found by.
    pub fn of(requester: &Requester) -> RequesterKeys {
        let key = |k: Option<RequesterKey>| k.and_then(|k| k.normalized().ok());
        RequesterKeys {
            email: key(requester.email.clone().map(Self::Email)),
            phone: key(requester.phone.clone().map(Self::Phone)),
            fiscal_code: key(requester.fiscal_code.clone().map(Self::FiscalCode)),
        }
    }
}

fn normalize_phone(raw: &str) -> String {
    let trimmed = raw.trim();
    let mut out = String::with_capacity(trimmed.len());
    if trimmed.starts_with('+') {
        out.push('+');
    }
    out.extend(trimmed.chars().filter(char::is_ascii_digit));
    out
}

/// The normalised, indexable keys of one requester.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequesterKeys {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub fiscal_code: Option<String>,
}

impl RequesterKeys {
    pub fn matches(&self, key: &RequesterKey) -> bool {
        let Ok(wanted) = key.normalized() else {
            return false;
        };
        let have = match key {
            RequesterKey::Email(_) => &self.email,
            RequesterKey::Phone(_) => &self.phone,
            RequesterKey::FiscalCode(_) => &self.fiscal_code,
        };
        have.as_deref() == Some(wanted.as_str())
    }
}

/// Where a paged read of a work queue stopped: the order of a queue is creation time, then id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePosition {
    pub created_at: Timestamp,
    pub id: TicketId,
}

impl QueuePosition {
    /// The position just after `ticket`.
    pub fn of(ticket: &Ticket) -> Self {
        Self { created_at: ticket.created_at, id: ticket.id.clone() }
    }
}

/// Where the clock stopped reading each team's open tickets when its last tick ran out of time:
/// the queue key of the last ticket it read (queue order, [`super::QueueKey`]), by team.
pub type ClockPositions = std::collections::HashMap<String, super::QueueKey>;

/// One stored clock position, from its parts as a store keeps them; `None` for a damaged one
/// (that team's queue then starts from its first ticket).
pub fn clock_position(team: &str, due_us: i64, created_us: i64, id: &str) -> Option<(String, super::QueueKey)> {
    let id_ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    (id_ok && created_us >= 0 && due_us >= 0)
        .then(|| (team.to_owned(), super::QueueKey { due_us, created_us, id: id.to_owned() }))
}

/// What an erasure did: the tickets whose requester data is gone, and how many of the store's
/// other copies of it went too, by kind (see [`TicketStore::copies_of`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erasure {
    pub tickets: Vec<TicketId>,
    pub copies: std::collections::BTreeMap<String, usize>,
}

#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Opens a ticket once per idempotency key. The ticket, its `Created` event (by `actor`), the
    /// events that come with it, the idempotency record (with the fingerprint) and the steps are
    /// written atomically: all of them or none. The same key again returns the ticket created the
    /// first time, flagged `replayed`, whatever the new request says, with the steps still in
    /// the outbox. A reference or id already taken by another ticket is `Duplicate`: generate new
    /// ones and retry.
    async fn open(&self, new: &NewTicket) -> StoreResult<Created>;

    /// [`Self::open`] for a bare ticket: no events but `Created`, no steps.
    async fn create(&self, idempotency_key: &str, ticket: &Ticket, actor: &Actor) -> StoreResult<Created> {
        self.open(&NewTicket::bare(idempotency_key, ticket, actor)).await
    }

    /// Removes steps from the outbox once they are on the step queue. Removing one twice, or one
    /// that is not there, is harmless.
    async fn outbox_done(&self, items: &[Outboxed]) -> StoreResult<()>;

    /// Steps left in the outbox since before `before`, oldest first, at most `limit`: what a crash
    /// between an intake's write and its publish left behind, for the sweep to publish.
    async fn outbox_pending(&self, before: Timestamp, limit: usize) -> StoreResult<Vec<Outboxed>>;

    async fn get(&self, id: &TicketId) -> StoreResult<Ticket>;

    async fn get_by_reference(&self, reference: &TicketReference) -> StoreResult<Ticket>;

    /// Writes `ticket`, which must carry the version it was read at, together with `events`,
    /// atomically. Returns the stored ticket with its version bumped. If the stored version
    /// differs, nothing is written and the answer is `Conflict`: re-read, re-apply, retry.
    async fn update(&self, ticket: &Ticket, events: &[Event]) -> StoreResult<Ticket>;

    /// [`Self::update`], with the steps that follow the change and the idempotency keys it takes
    /// for its writer ([`Lease`]) in the same write: a resolution, its answer's delivery step and
    /// the claim on that delivery. A store whose queue is elsewhere keeps the steps in its outbox
    /// and returns them: the caller removes them ([`Self::outbox_done`]) once what they would do
    /// is done, or publishes them; the sweep publishes what a crash left. A store that queues
    /// them in its own transaction returns none.
    async fn update_queueing(
        &self,
        ticket: &Ticket,
        events: &[Event],
        follow: &FollowUps,
    ) -> StoreResult<(Ticket, Vec<Outboxed>)>;

    /// A team's tickets in one state, oldest first, at most `limit`.
    async fn work_queue(&self, team: &str, state: TicketState, limit: usize) -> StoreResult<Vec<Ticket>> {
        self.work_queue_after(team, state, None, limit).await
    }

    /// A team's tickets in each of `states`, oldest first within each state, at most `limit` per
    /// state: what a team's work queue is made of. A store that keeps a team's open tickets
    /// together reads them once instead of once per state.
    async fn work_queues(&self, team: &str, states: &[TicketState], limit: usize) -> StoreResult<Vec<Ticket>> {
        let mut all = Vec::new();
        for state in states {
            all.extend(self.work_queue(team, *state, limit).await?);
        }
        Ok(all)
    }

    /// The same queue read page by page: the tickets after `after` (exclusive; `None` from the
    /// start), oldest first, `limit` of them (at most 1,000) or, at the end of the queue, fewer. Pass [`QueuePosition::of`] the last ticket of a page to read on.
    async fn work_queue_after(
        &self,
        team: &str,
        state: TicketState,
        after: Option<&QueuePosition>,
        limit: usize,
    ) -> StoreResult<Vec<Ticket>>;

    /// Every ticket of a requester, oldest first.
    async fn find_by_requester(&self, key: &RequesterKey) -> StoreResult<Vec<Ticket>>;

    /// One page of open tickets of some teams, nearest running deadline first, filtered as
    /// `query` says (see [`QueueQuery::matches`]). A page holds at most
    /// [`super::queue_page::MAX_QUEUE_PAGE`] tickets.
    async fn queue_page(&self, query: &QueueQuery) -> StoreResult<QueuePage>;

    /// Tickets whose custom field `name` (set at intake) is exactly `value`, newest first, at
    /// most `limit`.
    async fn find_by_field(&self, name: &str, value: &str, limit: usize) -> StoreResult<Vec<Ticket>>;

    /// GDPR art. 17: blanks requester data on every ticket of the requester and scrubs their
    /// events' details, leaving a `RequesterErased` event (by `actor`, with no personal data).
    /// Every other copy the store keeps of those tickets' data goes too ([`Self::copies_of`]).
    async fn erase_requester(&self, key: &RequesterKey, actor: &Actor, now: Timestamp) -> StoreResult<Erasure>;

    /// The copies of these tickets' data the store keeps besides the tickets and their events,
    /// by kind (`outbox`: mail sent; `queued_messages`: messages still queued that carry more than
    /// ids; `dead_letters`): what an erasure of their requester also removes. A store that keeps
    /// none has nothing to count.
    async fn copies_of(&self, _tickets: &[Ticket]) -> StoreResult<std::collections::BTreeMap<String, usize>> {
        Ok(std::collections::BTreeMap::new())
    }

    /// Where the clock stopped reading each team's open tickets ([`Self::queue_page`] order),
    /// when its last tick ran out of time: the next tick reads on from there, so a backlog larger
    /// than a tick's reading still has its last tickets looked at (see `engine/clock.rs`).
    async fn clock_positions(&self) -> StoreResult<ClockPositions>;

    /// Remembers where the clock stopped reading a team's open tickets; `None` forgets it (read
    /// to the end: the next tick starts from the first).
    async fn set_clock_position(&self, team: &str, position: Option<&super::QueueKey>) -> StoreResult<()>;

    /// Deletes tickets closed (in a final state) more than `retention_days` before `now`, with
    /// their events and records, the longest closed first, at most `limit` of them. Open and
    /// recently closed tickets stay. Returns what went: fewer than `limit` when none is left.
    async fn purge_closed(&self, retention_days: u32, now: Timestamp, limit: usize) -> StoreResult<Vec<TicketId>>;
}

/// The checks every store makes before opening a ticket.
/// Checks the steps and claims a write carries (see [`TicketStore::update_queueing`]).
pub fn validate_follow_ups(steps: &[StepMessage], claims: &[Lease]) -> StoreResult<()> {
    if steps.len() > MAX_STEPS_PER_INTAKE || claims.len() > MAX_STEPS_PER_INTAKE {
        return Err(StoreError::Invalid(format!("at most {MAX_STEPS_PER_INTAKE} steps and claims per write")));
    }
    for step in steps {
        step.validate()?;
    }
    for claim in claims {
        super::idempotency::validate_key(&claim.key)?;
    }
    Ok(())
}

pub fn validate_new(new: &NewTicket) -> StoreResult<()> {
    let (idempotency_key, ticket) = (new.idempotency_key.as_str(), &new.ticket);
    if new.events.len() + 1 > MAX_EVENTS_PER_WRITE {
        return Err(StoreError::Invalid(format!("at most {MAX_EVENTS_PER_WRITE} events per write")));
    }
    if let Some(e) = new.events.iter().find(|e| e.ticket_id != ticket.id) {
        return Err(StoreError::Invalid(format!(
            "an event of ticket {} cannot be written with ticket {}",
            e.ticket_id, ticket.id
        )));
    }
    validate_follow_ups(&new.steps, &new.claims)?;
    if new.fingerprint.as_ref().is_some_and(|f| f.is_empty() || f.len() > 128) {
        return Err(StoreError::Invalid("a request fingerprint has 1 to 128 characters".into()));
    }
    if idempotency_key.is_empty() || idempotency_key.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(StoreError::Invalid(format!("an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY_LEN} bytes")));
    }
    if idempotency_key.chars().any(char::is_control) {
        return Err(StoreError::Invalid("an idempotency key has no control characters".into()));
    }
    if ticket.version != 0 {
        return Err(StoreError::Invalid(format!("a new ticket has version 0, not {}", ticket.version)));
    }
    validate_ids(ticket)
}

/// The checks every store makes before an update.
pub fn validate_update(ticket: &Ticket, events: &[Event]) -> StoreResult<()> {
    validate_ids(ticket)?;
    if events.len() > MAX_EVENTS_PER_WRITE {
        return Err(StoreError::Invalid(format!("at most {MAX_EVENTS_PER_WRITE} events per update")));
    }
    if let Some(e) = events.iter().find(|e| e.ticket_id != ticket.id) {
        return Err(StoreError::Invalid(format!(
            "an event of ticket {} cannot be written with ticket {}",
            e.ticket_id, ticket.id
        )));
    }
    Ok(())
}

fn validate_ids(ticket: &Ticket) -> StoreResult<()> {
    if ticket.id.0.is_empty() || ticket.reference.0.is_empty() || ticket.team.is_empty() {
        return Err(StoreError::Invalid("a ticket needs an id, a reference and a team".into()));
    }
    Ok(())
}

/// The `Created` event every store writes with a new ticket. No personal data in it.
pub fn created_event(ticket: &Ticket, actor: &Actor) -> Event {
    Event {
        ticket_id: ticket.id.clone(),
        at: ticket.created_at,
        actor: actor.clone(),
        kind: EventKind::Created,
        detail: serde_json::json!({
            "reference": ticket.reference,
            "channel": ticket.channel,
            "team": ticket.team,
            "state": ticket.state,
        }),
    }
}

/// Blanks the personal data of one ticket: the requester, the free-text subject, and any field
/// whose value repeats one of the requester's identifiers. Returns the erasure's audit event.
pub fn erase_ticket(ticket: &mut Ticket, key: &RequesterKey, actor: &Actor, now: Timestamp) -> Event {
    let keys = RequesterKey::of(&ticket.requester);
    let identifiers: Vec<String> =
        [&keys.email, &keys.phone, &keys.fiscal_code].into_iter().flatten().cloned().collect();
    let mut erased_fields: Vec<String> = Vec::new();
    ticket.fields.retain(|name, value| {
        let v = value.trim();
        let personal = identifiers.iter().any(|id| id.eq_ignore_ascii_case(v) || normalize_phone(v) == *id);
        if personal {
            erased_fields.push(name.clone());
        }
        !personal
    });
    ticket.requester = Requester::default();
    ticket.subject = None;
    // A target's notice may quote the requester; a long one lives in its (scrubbed) event.
    let mut notices_erased = false;
    for e in &mut ticket.escalations {
        notices_erased |= e.notice.take().is_some();
    }
    if notices_erased {
        erased_fields.push("escalations.notice".into());
    }
    let comment_erased = ticket.survey.as_mut().and_then(|s| s.comment.take()).is_some();
    if comment_erased {
        erased_fields.push("survey.comment".into());
    }
    ticket.updated_at = now;
    Event {
        ticket_id: ticket.id.clone(),
        at: now,
        actor: actor.clone(),
        kind: EventKind::RequesterErased,
        detail: serde_json::json!({
            "matched_on": key.kind(),
            "erased": ["requester", "subject", "event_details"],
            "erased_fields": erased_fields,
        }),
    }
}

/// Keys a queued step's body may hold and still carry nothing but ids: such a step (a triage, an
/// answer to deliver) outlives an erasure, it has nothing to erase.
const ID_KEYS: &[&str] = &["ticket_id", "answer_id", "client", "incident_id", "after", "page", "notified"];

/// Whether a step's body carries only ids (see [`ID_KEYS`]); anything else may quote personal
/// data, and goes with an erasure of the ticket's requester.
pub fn carries_only_ids(body: &serde_json::Value) -> bool {
    body.as_object().is_some_and(|map| map.keys().all(|k| ID_KEYS.contains(&k.as_str())))
}

/// Scrubs an event's detail. A store cannot tell a message body from a structured detail that
/// quotes one, so all of it goes; who, when and what kind of change stay.
pub fn scrub_event(event: &mut Event) -> bool {
    if event.detail.is_null() || event.kind == EventKind::RequesterErased {
        return false;
    }
    event.detail = serde_json::json!({"erased": true});
    true
}

/// The instant before which closed tickets are purged.
pub fn retention_cutoff(retention_days: u32, now: Timestamp) -> StoreResult<Timestamp> {
    let span = jiff::SignedDuration::from_hours(i64::from(retention_days) * 24);
    now.checked_sub(span).map_err(|_| StoreError::Invalid(format!("retention of {retention_days} days")))
}

/// A ticket the purge may delete: in a final state, closed before the cutoff.
pub fn purgeable(ticket: &Ticket, cutoff: Timestamp) -> bool {
    ticket.state.is_final() && ticket.closed_at.is_some_and(|at| at < cutoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalised() {
        assert_eq!(
            RequesterKey::Email(" Mario.Rossi@Example.IT ".into()).normalized(),
            Ok("mario.rossi@example.it".into())
        );
        assert_eq!(RequesterKey::Phone("+39 333 123-4567".into()).normalized(), Ok("+393331234567".into()));
        assert_eq!(RequesterKey::FiscalCode("rssmra80a01 h501u".into()).normalized(), Ok("RSSMRA80A01H501U".into()));
        assert!(RequesterKey::Phone(" - ".into()).normalized().is_err());
        assert!(RequesterKey::Email("".into()).normalized().is_err());
    }

    #[test]
    fn debug_hides_the_value() {
        let k = RequesterKey::Email("mario@example.it".into());
        assert_eq!(format!("{k:?}"), "RequesterKey::email(..)");
    }

    #[test]
    fn erasure_blanks_personal_fields_only() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut t = Ticket::new("email", crate::domain::ChannelKind::Email, "privacy", now);
        t.requester.email = Some("Mario@Example.it".into());
        t.requester.fiscal_code = Some("RSSMRA80A01H501U".into());
        t.subject = Some("Mario Rossi, my payment".into());
        t.fields.insert("payer".into(), "rssmra80a01h501u".into());
        t.fields.insert("notice_code".into(), "302000100000009424".into());
        let ev = erase_ticket(&mut t, &RequesterKey::Email("mario@example.it".into()), &Actor::system(), now);
        assert!(t.requester.is_empty());
        assert_eq!(t.subject, None);
        assert_eq!(t.fields.keys().collect::<Vec<_>>(), ["notice_code"]);
        assert_eq!(ev.kind, EventKind::RequesterErased);
        let text = ev.detail.to_string();
        assert!(!text.to_lowercase().contains("mario"), "{text}");
        assert!(text.contains("payer"));
    }

    #[test]
    fn only_final_tickets_past_the_cutoff_are_purgeable() {
        let day = 86_400;
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let cutoff = retention_cutoff(30, now).unwrap();
        assert_eq!(cutoff.as_second(), 1_800_000_000 - 30 * day);
        let old = Timestamp::from_second(1_800_000_000 - 31 * day).unwrap();
        let mut t = Ticket::new("chat", crate::domain::ChannelKind::Chat, "first_level", old);
        assert!(!purgeable(&t, cutoff), "open");
        t.move_to(TicketState::AutoClosed, old).unwrap();
        assert!(purgeable(&t, cutoff));
        let recent = Timestamp::from_second(1_800_000_000 - 29 * day).unwrap();
        t.closed_at = Some(recent);
        assert!(!purgeable(&t, cutoff));
    }
}
