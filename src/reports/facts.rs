//! What the reports know of one ticket, and what it adds to the aggregates.
//!
//! The projector folds a ticket's events into its [`TicketFacts`] (once per event id), takes
//! the ticket's current record for what it is now (channel, category, type, team, operator,
//! state, deadlines, escalations, survey), and works out the ticket's [`Mark`]s: each figure it
//! counts in, on which day, with which value. The facts keep the marks last applied, so a change
//! is applied to the aggregates as the difference between the old marks and the new ones: a
//! ticket that moves from Q to A moves its counts, a reopened ticket stops counting as resolved,
//! and an event delivered twice is folded once and changes nothing the second time.

use super::hours::RememberedHours;
use super::metric::{DeadlineKind, Histogram, MetricKey, bucket, handoff_reason_key, key, open_state_key};
use crate::domain::{ActorRole, ChannelKind, EventKind, Ticket, TicketId, TicketState};
use crate::rules::Rules;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// An event as the feed delivers it: with the id its store gave it (unique per event).
///
/// The ids of one feed sort in the order the store wrote them ([`later_id`]): the embedded
/// store's sequence numbers as integers, DynamoDB's ids as text (sort keys of one length that
/// start with the event's time; events stored together in one item add `.<nnn>` after it).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    pub id: String,
    pub event: crate::domain::Event,
}

/// Whether feed id `a` comes after `b` (see [`FeedEvent`]).
pub fn later_id(a: &str, b: &str) -> bool {
    let number = |id: &str| !id.is_empty() && id.bytes().all(|c| c.is_ascii_digit());
    if number(a) && number(b) { (a.len(), a) > (b.len(), b) } else { a > b }
}

/// How a feed orders each ticket's events: what a ticket's facts must remember so that every
/// event is folded exactly once, without keeping every id it ever folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOrder {
    /// Strictly by id (the embedded store: one writer numbers the events, the fold reads them in
    /// that order): an event at or below the highest id folded was folded.
    Strict,
    /// By id, except that an event may arrive after events with higher ids whose times are up to
    /// this much later (DynamoDB: sort keys start with the event's time, and two writers to one
    /// ticket may commit in the other order). The ids folded within that window of the newest
    /// event are kept; an event older than the window and below the highest id was folded.
    Within(jiff::SignedDuration),
}

/// Which of a ticket's events are folded in: the highest id, and under [`FeedOrder::Within`]
/// the ids of the newest events. Stays small however long the ticket's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Folded {
    /// The highest feed id folded in (`""`: none yet).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// The newest event time folded in ([`FeedOrder::Within`] only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<Timestamp>,
    /// The ids folded in whose events are within the window of `newest`, with their times.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<(String, Timestamp)>,
}

impl Folded {
    /// Whether `fe` has not been folded in yet.
    pub fn is_new(&self, fe: &FeedEvent, order: FeedOrder) -> bool {
        if self.to.is_empty() || later_id(&fe.id, &self.to) {
            return true;
        }
        match order {
            FeedOrder::Strict => false,
            FeedOrder::Within(window) => {
                !self.recent.iter().any(|(id, _)| *id == fe.id)
                    && self.newest.is_none_or(|newest| fe.event.at >= window_start(newest, window))
            }
        }
    }

    /// Records `fe` as folded in.
    fn note(&mut self, fe: &FeedEvent, order: FeedOrder) {
        if self.to.is_empty() || later_id(&fe.id, &self.to) {
            self.to = fe.id.clone();
        }
        if let FeedOrder::Within(window) = order {
            let newest = self.newest.map_or(fe.event.at, |n| n.max(fe.event.at));
            self.newest = Some(newest);
            self.recent.push((fe.id.clone(), fe.event.at));
            let start = window_start(newest, window);
            self.recent.retain(|(_, at)| *at >= start);
        }
    }
}

/// Where the window of `window` before `newest` starts (jiff's earliest instant at the least).
fn window_start(newest: Timestamp, window: jiff::SignedDuration) -> Timestamp {
    newest.checked_sub(window).unwrap_or(Timestamp::MIN)
}

/// Which aggregate a cell belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cube {
    /// Figures of a period, by every dimension (operator and escalation target included).
    Period = 0,
    /// The same figures without operator and target: what most reports read.
    Slim = 1,
    /// What is open now (tickets by state, escalations without a notice), by opening day.
    Open = 2,
    /// Tickets linked to incidents, by incident and day of linking.
    Incident = 3,
}

impl Cube {
    pub const ALL: [Cube; 4] = [Cube::Period, Cube::Slim, Cube::Open, Cube::Incident];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Cube> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The dimensions a report groups by, as they were when the marks were made. Empty means none
/// (a ticket not yet classified has no type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Dims {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub category: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ticket_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub team: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operator: String,
}

/// The value the target dimension takes on a ticket without escalations.
pub const NO_TARGET: &str = "-";
/// Separates the parts of a stored cell key. Ids never contain control characters.
const SEP: char = '\u{1f}';

/// Where one aggregate cell is: cube, local day (days since 1970-01-01 in the rulebook's time
/// zone), dimensions, escalation target (`""` for the row not split by target) and, for
/// incidents, the incident id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub cube: Cube,
    pub day: i32,
    pub dims: Dims,
    pub target: String,
    pub incident: String,
}

impl CellKey {
    /// The dimensions as one string, for the stores' keys.
    pub fn dims_key(&self) -> String {
        let d = &self.dims;
        [&d.channel, &d.category, &d.ticket_type, &d.team, &d.operator, &self.target, &self.incident]
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(&SEP.to_string())
    }

    pub fn from_parts(cube: Cube, day: i32, dims_key: &str) -> Option<CellKey> {
        let parts: Vec<&str> = dims_key.split(SEP).collect();
        let [channel, category, ticket_type, team, operator, target, incident] = parts.as_slice() else {
            return None;
        };
        Some(CellKey {
            cube,
            day,
            dims: Dims {
                channel: channel.to_string(),
                category: category.to_string(),
                ticket_type: ticket_type.to_string(),
                team: team.to_string(),
                operator: operator.to_string(),
            },
            target: target.to_string(),
            incident: incident.to_string(),
        })
    }
}

/// One figure a ticket counts in: stored compactly as `[cube, day, target, incident, key, value]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "(u8, i32, String, String, MetricKey, i64)", try_from = "(u8, i32, String, String, MetricKey, i64)")]
pub struct Mark {
    pub cube: Cube,
    pub day: i32,
    /// `""`: a figure of the ticket; a target id: a figure of one escalation.
    pub target: String,
    pub incident: String,
    pub key: MetricKey,
    pub value: i64,
}

impl From<Mark> for (u8, i32, String, String, MetricKey, i64) {
    fn from(m: Mark) -> Self {
        (m.cube.code(), m.day, m.target, m.incident, m.key, m.value)
    }
}

impl TryFrom<(u8, i32, String, String, MetricKey, i64)> for Mark {
    type Error = String;
    fn try_from(
        (cube, day, target, incident, key, value): (u8, i32, String, String, MetricKey, i64),
    ) -> Result<Self, String> {
        let cube = Cube::from_code(cube).ok_or_else(|| format!("unknown cube {cube}"))?;
        Ok(Mark { cube, day, target, incident, key, value })
    }
}

/// An open GDPR clock, for the list of what is running out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watched {
    pub due: Timestamp,
    pub kind: String,
    pub ticket_id: TicketId,
    pub reference: String,
    pub team: String,
    pub state: TicketState,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ticket_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breached_at: Option<Timestamp>,
}

/// What the reports know of one ticket. No personal data: ids, the reference, times, counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketFacts {
    pub ticket_id: TicketId,
    #[serde(default)]
    pub reference: String,
    /// Which events are folded in.
    #[serde(default)]
    pub folded: Folded,
    /// Facts written before [`Folded`] listed every event id folded in (`applied`). Under
    /// [`FeedOrder::Strict`] the list becomes `folded.to` at the next fold; under
    /// [`FeedOrder::Within`] it is kept as it is (it no longer grows) and still consulted.
    #[serde(default, rename = "applied", skip_serializing_if = "BTreeSet::is_empty")]
    pub applied_before: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_taken_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_resolved_at: Option<Timestamp>,
    /// The latest resolution (a reopened ticket is resolved again later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_resolved_at: Option<Timestamp>,
    /// Messages the requester wrote on the ticket (the one that opened it included).
    #[serde(default)]
    pub requester_messages: u32,
    /// When the requester's reminders (solleciti) about this ticket came.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reminders: Vec<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_linked_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_reached_at: Option<Timestamp>,
    /// How the chat's conversation with the bot ended (its latest `outcome` note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotEnd>,

    /// The ticket as the marks saw it.
    #[serde(default)]
    pub dims: Dims,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<TicketState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub version: u64,
    /// Its escalation targets (none: [`NO_TARGET`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<Watched>,
}

/// How a conversation with the bot ended: what the chat's `outcome` note says, ids and words
/// of the engine's own only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotEnd {
    pub at: Timestamp,
    /// `contained`, `handed_off` or `closed_out_of_hours`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub asked_back: bool,
}

impl BotEnd {
    /// The outcome note's detail, if `detail` is one.
    pub fn of(at: Timestamp, detail: &serde_json::Value) -> Option<BotEnd> {
        let text = |k: &str| detail.get(k).and_then(|v| v.as_str());
        if text("chat") != Some("outcome") {
            return None;
        }
        Some(BotEnd {
            at,
            outcome: text("outcome")?.to_string(),
            reason: text("reason").map(str::to_string),
            asked_back: detail.get("asked_back").and_then(|v| v.as_u64()).is_some_and(|n| n > 0),
        })
    }

    /// The figures it counts in.
    pub fn keys(&self) -> Vec<MetricKey> {
        let mut out = vec![key::BOT_CONVERSATIONS];
        match self.outcome.as_str() {
            "contained" => out.push(key::BOT_CONTAINED),
            "handed_off" => out.push(key::BOT_HANDED_OFF),
            "closed_out_of_hours" => out.push(key::BOT_CLOSED_OUT_OF_HOURS),
            _ => {}
        }
        if self.outcome != "contained" {
            out.push(handoff_reason_key(self.reason.as_deref().unwrap_or("other")));
        }
        if self.asked_back {
            out.push(key::BOT_ASKED_BACK);
        }
        out
    }
}

impl TicketFacts {
    pub fn new(ticket_id: TicketId) -> Self {
        Self { ticket_id, ..Self::default() }
    }

    /// The days the marks fall on: where the drill-down finds the ticket.
    pub fn days(&self) -> BTreeSet<i32> {
        self.marks.iter().map(|m| m.day).collect()
    }

    /// Whether `fe` has not been folded in yet.
    pub fn is_new(&self, fe: &FeedEvent, order: FeedOrder) -> bool {
        !self.applied_before.contains(&fe.id) && self.folded.is_new(fe, order)
    }

    /// Folds one event in; false if it was folded before (a redelivery).
    pub fn fold(&mut self, fe: &FeedEvent, order: FeedOrder) -> bool {
        if order == FeedOrder::Strict && !self.applied_before.is_empty() {
            // In strict order every id up to the highest listed was folded.
            let listed = std::mem::take(&mut self.applied_before);
            if let Some(highest) = listed.iter().reduce(|a, b| if later_id(b, a) { b } else { a })
                && (self.folded.to.is_empty() || later_id(highest, &self.folded.to))
            {
                self.folded.to = highest.clone();
            }
        }
        if !self.is_new(fe, order) {
            return false;
        }
        self.folded.note(fe, order);
        let e = &fe.event;
        let min = |slot: &mut Option<Timestamp>, at: Timestamp| {
            if slot.is_none_or(|t| at < t) {
                *slot = Some(at);
            }
        };
        match e.kind {
            EventKind::TakenInCharge => min(&mut self.first_taken_at, e.at),
            EventKind::Resolved => {
                min(&mut self.first_resolved_at, e.at);
                if self.last_resolved_at.is_none_or(|t| e.at > t) {
                    self.last_resolved_at = Some(e.at);
                }
            }
            EventKind::Message if e.actor.role == ActorRole::Requester => self.requester_messages += 1,
            EventKind::Reminder => {
                let at = self.reminders.partition_point(|t| *t <= e.at);
                self.reminders.insert(at, e.at);
            }
            EventKind::Note => {
                let text = |k: &str| e.detail.get(k).and_then(|v| v.as_str());
                if text("step") == Some("check_active_incidents")
                    && let Some(incident) = text("incident")
                {
                    self.incident = Some(incident.to_string());
                    min(&mut self.incident_linked_at, e.at);
                }
                if let Some(incident) = text("incident_resolved") {
                    self.incident.get_or_insert_with(|| incident.to_string());
                    min(&mut self.incident_reached_at, e.at);
                }
                if let Some(end) = BotEnd::of(e.at, &e.detail)
                    && self.bot.as_ref().is_none_or(|b| b.at <= end.at)
                {
                    self.bot = Some(end);
                }
            }
            _ => {}
        }
        true
    }
}

/// Works out marks from facts and tickets: the rulebook's time zone for days, its SLA calendar
/// for business time, each channel's schedule for "in hours" (each calendar's open hours
/// remembered by day, [`RememberedHours`]).
#[derive(Debug, Clone)]
pub struct Projector {
    pub time_zone: TimeZone,
    sla: Option<RememberedHours>,
    channel_schedules: BTreeMap<String, RememberedHours>,
}

/// The epoch the day numbers count from.
const EPOCH: jiff::civil::Date = jiff::civil::date(1970, 1, 1);

impl Projector {
    pub fn new(rules: &Rules) -> Self {
        let sla = rules.sla_calendar().clone();
        let time_zone = sla.time_zone.clone();
        let channel_schedules = rules
            .channels
            .iter()
            .map(|(id, ch)| (id.as_str().to_string(), RememberedHours::new(rules.calendar(ch.schedule).clone())))
            .collect();
        Self { time_zone, sla: Some(RememberedHours::new(sla)), channel_schedules }
    }

    /// The local day of an instant, as days since 1970-01-01.
    pub fn day(&self, at: Timestamp) -> i32 {
        day_number(at.to_zoned_datetime(self.time_zone.clone()).date())
    }

    fn business_seconds(&self, from: Timestamp, to: Timestamp) -> i64 {
        match &self.sla {
            Some(cal) => cal.business_time_between(from, to).as_secs().max(0),
            None => to.duration_since(from).as_secs().max(0),
        }
    }

    fn in_hours(&self, channel: &str, at: Timestamp) -> bool {
        self.channel_schedules.get(channel).is_none_or(|s| s.is_open(at))
    }

    /// Folds `events` into `facts` and, with the ticket as it is now, works out its marks again.
    /// Without the ticket (purged meanwhile) the marks stay as they were.
    pub fn project(
        &self,
        mut facts: TicketFacts,
        ticket: Option<&Ticket>,
        events: &[FeedEvent],
        order: FeedOrder,
    ) -> TicketFacts {
        for e in events {
            facts.fold(e, order);
        }
        let Some(t) = ticket else {
            return facts;
        };
        facts.reference = t.reference.to_string();
        facts.dims = Dims {
            channel: t.channel.clone(),
            category: t.category.clone().unwrap_or_default(),
            ticket_type: t.ticket_type.map(|t| t.code().to_string()).unwrap_or_default(),
            team: t.team.clone(),
            operator: t.assignee.clone().unwrap_or_default(),
        };
        facts.state = Some(t.state);
        facts.created_at = Some(t.created_at);
        facts.version = t.version;
        let mut targets: Vec<String> = t.escalations.iter().map(|e| e.target.clone()).collect();
        targets.sort();
        targets.dedup();
        if targets.is_empty() {
            targets.push(NO_TARGET.to_string());
        }
        facts.targets = targets;
        facts.marks = self.marks(&facts, t);
        facts.watch = watch(&facts, t);
        facts
    }

    fn marks(&self, f: &TicketFacts, t: &Ticket) -> Vec<Mark> {
        let mut out = Vec::new();
        let mut push = |cube: Cube, at_day: i32, target: &str, key: MetricKey, value: i64| {
            out.push(Mark { cube, day: at_day, target: target.to_string(), incident: String::new(), key, value });
        };
        let created = self.day(t.created_at);
        push(Cube::Period, created, "", key::CONTACTS, 1);
        if !self.in_hours(&t.channel, t.created_at) {
            push(Cube::Period, created, "", key::CONTACTS_OUT_OF_HOURS, 1);
        }
        let start = crate::domain::ticket::deadline_start(t);
        let closed_day = t.closed_at.map(|at| self.day(at));
        match t.state {
            TicketState::NotServed => push(Cube::Period, closed_day.unwrap_or(created), "", key::NOT_SERVED, 1),
            TicketState::AutoResolved => push(Cube::Period, closed_day.unwrap_or(created), "", key::AUTO_RESOLVED, 1),
            TicketState::AutoClosed => push(Cube::Period, closed_day.unwrap_or(created), "", key::AUTO_CLOSED, 1),
            TicketState::Resolved | TicketState::Closed => {
                if let Some(at) = f.last_resolved_at {
                    let day = self.day(at);
                    push(Cube::Period, day, "", key::RESOLVED, 1);
                    let seconds = at.duration_since(start).as_secs().max(0);
                    let business = self.business_seconds(start, at);
                    push(Cube::Period, day, "", key::RESOLUTION_SECONDS, seconds);
                    push(Cube::Period, day, "", key::RESOLUTION_BUSINESS_SECONDS, business);
                    push(Cube::Period, day, "", Histogram::Resolution.key(bucket(seconds)), 1);
                    push(Cube::Period, day, "", Histogram::ResolutionBusiness.key(bucket(business)), 1);
                    let second_contact =
                        !f.reminders.is_empty() || (t.channel_kind != ChannelKind::Chat && f.requester_messages > 1);
                    if t.escalations.is_empty() && !second_contact {
                        push(Cube::Period, day, "", key::FIRST_CONTACT_RESOLVED, 1);
                    }
                }
            }
            state => {
                if let Some(k) = open_state_key(state) {
                    push(Cube::Open, created, "", k, 1);
                }
            }
        }
        if let Some(at) = f.first_taken_at {
            let day = self.day(at);
            let seconds = at.duration_since(start).as_secs().max(0);
            let business = self.business_seconds(start, at);
            push(Cube::Period, day, "", key::FIRST_RESPONSES, 1);
            push(Cube::Period, day, "", key::FIRST_RESPONSE_SECONDS, seconds);
            push(Cube::Period, day, "", key::FIRST_RESPONSE_BUSINESS_SECONDS, business);
            push(Cube::Period, day, "", Histogram::FirstResponse.key(bucket(seconds)), 1);
            push(Cube::Period, day, "", Histogram::FirstResponseBusiness.key(bucket(business)), 1);
        }
        for d in &t.deadlines {
            let Some(kind) = DeadlineKind::parse(&d.kind) else {
                continue;
            };
            let resolved_or_closed = f.first_resolved_at.or(t.closed_at.filter(|_| t.state.is_final()));
            let met_at = match kind {
                DeadlineKind::FirstResponse => match (f.first_taken_at, resolved_or_closed) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
                _ => resolved_or_closed,
            };
            match met_at {
                _ if d.breached_at.is_some() => push(Cube::Period, self.day(d.due), "", kind.breached(), 1),
                Some(at) if at > d.due => push(Cube::Period, self.day(d.due), "", kind.breached(), 1),
                Some(at) => push(Cube::Period, self.day(at), "", kind.met(), 1),
                None => {}
            }
        }
        for e in &t.escalations {
            let target = e.target.as_str();
            push(Cube::Period, self.day(e.sent_at), target, key::ESCALATIONS, 1);
            match e.notice_at {
                Some(at) => {
                    let day = self.day(at);
                    let seconds = at.duration_since(e.sent_at).as_secs().max(0);
                    let business = self.business_seconds(e.sent_at, at);
                    push(Cube::Period, day, target, key::NOTICES, 1);
                    push(Cube::Period, day, target, key::NOTICE_WAIT_SECONDS, seconds);
                    push(Cube::Period, day, target, key::NOTICE_WAIT_BUSINESS_SECONDS, business);
                    push(Cube::Period, day, target, Histogram::NoticeWait.key(bucket(seconds)), 1);
                    push(Cube::Period, day, target, Histogram::NoticeWaitBusiness.key(bucket(business)), 1);
                }
                None => push(Cube::Open, self.day(e.sent_at), target, key::OPEN_ESCALATIONS, 1),
            }
            if let Some(at) = e.reminded_at {
                push(Cube::Period, self.day(at), target, key::ESCALATION_REMINDERS, 1);
            }
        }
        for at in &f.reminders {
            push(Cube::Period, self.day(*at), "", key::REMINDERS, 1);
        }
        if let Some(first) = f.reminders.first() {
            push(Cube::Period, self.day(*first), "", key::TICKETS_CHASED, 1);
        }
        if let Some(s) = &t.survey {
            if let Some(at) = s.sent_at {
                push(Cube::Period, self.day(at), "", key::SURVEYS_SENT, 1);
            }
            if let (Some(at), Some(rating)) = (s.answered_at, s.rating) {
                let day = self.day(at);
                push(Cube::Period, day, "", key::SURVEY_RESPONSES, 1);
                push(Cube::Period, day, "", key::RATING_BASE + u32::from(rating.clamp(1, 5)), 1);
                push(Cube::Period, day, "", key::RATING_SUM, i64::from(rating.clamp(1, 5)));
                if s.commented {
                    push(Cube::Period, day, "", key::SURVEY_COMMENTS, 1);
                }
            }
        }
        if let Some(bot) = &f.bot {
            let day = self.day(bot.at);
            for k in bot.keys() {
                push(Cube::Period, day, "", k, 1);
            }
        }
        if let (Some(incident), Some(linked)) = (&f.incident, f.incident_linked_at) {
            let day = self.day(linked);
            let mut mark = |key: MetricKey, value: i64| {
                out.push(Mark {
                    cube: Cube::Incident,
                    day,
                    target: String::new(),
                    incident: incident.clone(),
                    key,
                    value,
                })
            };
            mark(key::INCIDENT_LINKED, 1);
            if let Some(reached) = f.incident_reached_at {
                let seconds = reached.duration_since(t.created_at).as_secs().max(0);
                mark(key::INCIDENT_REACHED, 1);
                mark(key::INCIDENT_WAIT_SECONDS, seconds);
                mark(Histogram::IncidentWait.key(bucket(seconds)), 1);
            }
        }
        out
    }
}

/// The ticket's GDPR clocks still running (not yet met), for the list of what runs out.
fn watch(f: &TicketFacts, t: &Ticket) -> Vec<Watched> {
    if !t.state.is_open() || f.first_resolved_at.is_some() {
        return Vec::new();
    }
    t.deadlines
        .iter()
        .filter(|d| d.kind.starts_with("gdpr_"))
        .map(|d| Watched {
            due: d.due,
            kind: d.kind.clone(),
            ticket_id: t.id.clone(),
            reference: t.reference.to_string(),
            team: t.team.clone(),
            state: t.state,
            ticket_type: f.dims.ticket_type.clone(),
            breached_at: d.breached_at,
        })
        .collect()
}

pub fn day_number(date: jiff::civil::Date) -> i32 {
    date.since((jiff::Unit::Day, EPOCH)).map_or(0, |s| s.get_days())
}

pub fn date_of(day: i32) -> jiff::civil::Date {
    EPOCH.checked_add(jiff::Span::new().days(i64::from(day))).unwrap_or(EPOCH)
}

/// The cells a ticket's marks add to, each with its amount. A figure of the ticket counts in
/// its row, in the rows of each of its targets (so a report by target shows it under each) and
/// in the slim cube; a figure of one escalation counts in the ticket's row, its target's row and
/// the slim cube.
pub fn cells(facts: &TicketFacts) -> BTreeMap<CellKey, super::Metrics> {
    cells_of(facts, &facts.marks)
}

/// The cells `marks` add to, for a ticket in the groups of `facts`.
fn cells_of(facts: &TicketFacts, marks: &[Mark]) -> BTreeMap<CellKey, super::Metrics> {
    /// Which of the ticket's dimensions a cell is in.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Group {
        /// All of them.
        Full,
        /// All but the operator (the slim cube).
        Slim,
        /// None (incidents).
        None,
    }
    // Summed under keys that borrow from the facts first: a ticket's marks fall in a few cells
    // (a short list, searched in order), so the dimensions' strings are copied and compared once
    // per cell instead of once per mark and target.
    type Sums<'a> = Vec<((Cube, i32, Group, &'a str, &'a str), super::Metrics)>;
    let mut sums: Sums<'_> = Vec::new();
    let mut add = |cube, day, group, target, incident, key, value| {
        let at: (Cube, i32, Group, &str, &str) = (cube, day, group, target, incident);
        match sums.iter_mut().find(|(k, _)| *k == at) {
            Some((_, metrics)) => metrics.add(key, value),
            None => {
                let mut metrics = super::Metrics::new();
                metrics.add(key, value);
                sums.push((at, metrics));
            }
        }
    };
    for m in marks {
        match m.cube {
            Cube::Period | Cube::Open => {
                add(m.cube, m.day, Group::Full, "", "", m.key, m.value);
                if m.cube == Cube::Period {
                    add(Cube::Slim, m.day, Group::Slim, "", "", m.key, m.value);
                }
                if m.target.is_empty() {
                    for t in &facts.targets {
                        add(m.cube, m.day, Group::Full, t, "", m.key, m.value);
                    }
                } else {
                    add(m.cube, m.day, Group::Full, &m.target, "", m.key, m.value);
                }
            }
            Cube::Slim => add(Cube::Slim, m.day, Group::Slim, "", "", m.key, m.value),
            Cube::Incident => add(Cube::Incident, m.day, Group::None, "", &m.incident, m.key, m.value),
        }
    }
    let slim = Dims { operator: String::new(), ..facts.dims.clone() };
    sums.into_iter()
        .filter(|(_, metrics)| !metrics.is_empty())
        .map(|((cube, day, group, target, incident), metrics)| {
            let dims = match group {
                Group::Full => facts.dims.clone(),
                Group::Slim => slim.clone(),
                Group::None => Dims::default(),
            };
            (CellKey { cube, day, dims, target: target.to_string(), incident: incident.to_string() }, metrics)
        })
        .collect()
}

/// What changes in the aggregates when a ticket's facts go from `old` to `new`.
pub fn delta(old: Option<&TicketFacts>, new: &TicketFacts) -> BTreeMap<CellKey, super::Metrics> {
    // In the same groups, only the marks that changed move: most events change a few marks or
    // none, and the cells of a ticket's other marks need not be worked out twice.
    if let Some(old) = old
        && old.dims == new.dims
        && old.targets == new.targets
    {
        if old.marks == new.marks {
            return BTreeMap::new();
        }
        let (gone, came) = changed_marks(&old.marks, &new.marks);
        let mut out = cells_of(new, &came);
        for (k, m) in cells_of(old, &gone) {
            out.entry(k).or_default().merge(&m, -1);
        }
        out.retain(|_, v| !v.is_empty());
        return out;
    }
    let mut out = cells(new);
    if let Some(old) = old {
        for (k, m) in cells(old) {
            out.entry(k).or_default().merge(&m, -1);
        }
    }
    out.retain(|_, v| !v.is_empty());
    out
}

/// The marks only in `old`, and those only in `new` (as multisets: a mark made twice counts
/// twice).
fn changed_marks(old: &[Mark], new: &[Mark]) -> (Vec<Mark>, Vec<Mark>) {
    // The marks come out in the same order each time: most of the two lists is a shared start.
    let same = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let (old, new) = (&old[same..], &new[same..]);
    let mut came: Vec<Option<&Mark>> = new.iter().map(Some).collect();
    let mut gone = Vec::new();
    for m in old {
        match came.iter_mut().find(|c| c.is_some_and(|c| c == m)) {
            Some(slot) => *slot = None,
            None => gone.push(m.clone()),
        }
    }
    (gone, came.into_iter().flatten().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, Event};

    fn rules() -> Rules {
        Rules::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap()
    }

    fn event(t: &Ticket, kind: EventKind, at: Timestamp) -> Event {
        let actor = Actor { id: "op-1".into(), role: ActorRole::Operator };
        Event { ticket_id: t.id.clone(), at, actor, kind, detail: serde_json::Value::Null }
    }

    #[test]
    fn a_redelivered_event_changes_nothing() {
        let projector = Projector::new(&rules());
        let at: Timestamp = "2026-12-02T09:00:00Z".parse().unwrap();
        let mut t = Ticket::new("email", ChannelKind::Email, "first_level", at);
        t.ticket_type = Some(crate::domain::TicketType::Q);
        let taken = FeedEvent {
            id: "7".into(),
            event: event(&t, EventKind::TakenInCharge, at + jiff::SignedDuration::from_mins(5)),
        };
        let once = projector.project(
            TicketFacts::new(t.id.clone()),
            Some(&t),
            std::slice::from_ref(&taken),
            FeedOrder::Strict,
        );
        let first = delta(None, &once);
        assert!(!first.is_empty());
        let twice = projector.project(once.clone(), Some(&t), &[taken.clone(), taken], FeedOrder::Strict);
        assert_eq!(twice, once, "folded once");
        assert!(delta(Some(&once), &twice).is_empty(), "nothing added the second time");

        // A later event moves the ticket's marks: the delta takes the old ones out.
        t.state = TicketState::Resolved;
        let resolved_at = at + jiff::SignedDuration::from_hours(2);
        let resolved = FeedEvent { id: "9".into(), event: event(&t, EventKind::Resolved, resolved_at) };
        let later = projector.project(twice.clone(), Some(&t), &[resolved], FeedOrder::Strict);
        let change = delta(Some(&twice), &later);
        let slim: Vec<_> = change.iter().filter(|(k, _)| k.cube == Cube::Slim).collect();
        assert_eq!(slim.len(), 1, "{change:?}");
        assert_eq!(slim[0].1.get(key::RESOLVED), 1);
        assert_eq!(slim[0].1.get(key::CONTACTS), 0, "the contact was counted before");
    }

    fn feed(t: &Ticket, id: &str, at: &str) -> FeedEvent {
        FeedEvent { id: id.into(), event: event(t, EventKind::Note, at.parse().unwrap()) }
    }

    #[test]
    fn ids_sort_as_the_store_wrote_them() {
        assert!(later_id("10", "9"));
        assert!(later_id("100", "99"));
        assert!(!later_id("9", "10"));
        assert!(!later_id("7", "7"));
        assert!(later_id("E#00000000000000000002#a#000", "E#00000000000000000001#b#001"));
        // Events stored together in one item: `<sort key>.<nnn>`, still in time order.
        assert!(!later_id("E#00000000000000000001#a#000.001", "E#00000000000000000006#b#000"));
        assert!(later_id("E#00000000000000000001#a#000.001", "E#00000000000000000001#a#000.000"));
        assert!(later_id("E#00000000000000000001#a#000.000", "E#00000000000000000001#a#000"));
    }

    #[test]
    fn in_strict_order_only_the_highest_id_is_kept() {
        let t = Ticket::new("email", ChannelKind::Email, "first_level", "2026-12-02T09:00:00Z".parse().unwrap());
        let mut facts = TicketFacts::new(t.id.clone());
        for (id, at) in [("8", "2026-12-02T09:00:00Z"), ("9", "2026-12-02T09:00:00Z"), ("12", "2026-12-03T09:00:00Z")] {
            assert!(facts.fold(&feed(&t, id, at), FeedOrder::Strict), "{id} is new");
        }
        assert_eq!(facts.folded, Folded { to: "12".into(), ..Folded::default() }, "no list of ids");
        for id in ["8", "9", "12", "3"] {
            assert!(!facts.fold(&feed(&t, id, "2026-12-02T09:00:00Z"), FeedOrder::Strict), "{id} was folded");
        }
        assert!(facts.fold(&feed(&t, "13", "2026-12-01T09:00:00Z"), FeedOrder::Strict), "a higher id is new");
    }

    #[test]
    fn within_a_window_a_late_event_is_folded_once() {
        let order = FeedOrder::Within(jiff::SignedDuration::from_mins(15));
        let t = Ticket::new("chat", ChannelKind::Chat, "first_level", "2026-12-02T09:00:00Z".parse().unwrap());
        let mut facts = TicketFacts::new(t.id.clone());
        assert!(facts.fold(&feed(&t, "E#1000", "2026-12-02T09:00:00Z"), order));
        assert!(facts.fold(&feed(&t, "E#1030", "2026-12-02T09:00:30Z"), order));
        // Written at 09:00:20 but committed after the one of 09:00:30: still folded, once.
        let late = feed(&t, "E#1020", "2026-12-02T09:00:20Z");
        assert!(facts.fold(&late, order), "a late event is new");
        assert!(!facts.fold(&late, order), "and folded once");
        assert!(!facts.fold(&feed(&t, "E#1000", "2026-12-02T09:00:00Z"), order), "a redelivery");
        // An hour later the early ids are forgotten; below the highest id they count as folded.
        assert!(facts.fold(&feed(&t, "E#4600", "2026-12-02T10:00:00Z"), order));
        assert_eq!(facts.folded.recent.len(), 1, "{:?}", facts.folded);
        assert!(!facts.fold(&feed(&t, "E#1030", "2026-12-02T09:00:30Z"), order), "a redelivery");
        assert!(!facts.is_new(&feed(&t, "E#1020", "2026-12-02T09:00:20Z"), order));
    }

    #[test]
    fn facts_written_with_the_list_of_ids_are_read_and_fold_each_event_once() {
        let t = Ticket::new("email", ChannelKind::Email, "first_level", "2026-12-02T09:00:00Z".parse().unwrap());
        let old = format!(r#"{{"ticket_id":"{}","applied":["7","9","10"],"requester_messages":1}}"#, t.id);
        let within = FeedOrder::Within(jiff::SignedDuration::from_mins(15));
        for order in [FeedOrder::Strict, within] {
            let mut facts: TicketFacts = serde_json::from_str(&old).unwrap();
            assert_eq!(facts.applied_before.len(), 3);
            for id in ["7", "9", "10"] {
                assert!(!facts.is_new(&feed(&t, id, "2026-12-02T09:00:00Z"), order), "{id} was folded");
                assert!(!facts.fold(&feed(&t, id, "2026-12-02T09:00:00Z"), order), "{id} was folded");
            }
            assert!(facts.fold(&feed(&t, "11", "2026-12-02T10:00:00Z"), order), "a new event");
            let written = serde_json::to_string(&facts).unwrap();
            let again: TicketFacts = serde_json::from_str(&written).unwrap();
            assert_eq!(again, facts, "{written}");
            for id in ["7", "9", "10", "11"] {
                assert!(!again.is_new(&feed(&t, id, "2026-12-02T09:00:00Z"), order), "{id} was folded");
            }
            if order == FeedOrder::Strict {
                assert!(!written.contains("applied"), "the list is gone: {written}");
                assert_eq!(again.folded.to, "11");
            }
        }
    }
}
