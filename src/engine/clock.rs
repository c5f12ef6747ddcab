//! The clock: the scheduled step (an EventBridge-scheduled Lambda on AWS, a timer in the local
//! server) that watches the deadlines and escalations of open tickets.
//!
//! Each tick, for every open ticket of every team of the rulebook (a team's queue, page by page):
//! - a deadline not yet met whose `sla.warn_at_percent` share of time is used gets a warning, one
//!   past due a breach: the ticket is stamped (`warned_at`, `breached_at`), a `deadline_warning`
//!   or `deadline_breached` event is appended, and the team's `notify` mailboxes get a mail with
//!   the reference, the deadline and its due time (no personal data);
//! - an escalation whose reminder time (`due`) has passed with no resolution notice is sent again
//!   to its target, once, as a `reminder`, and an `escalation_reminded` event is appended;
//! - what a crash, a lost message or an expired lease left undone is finished (the sweep,
//!   `engine/sweep.rs`): intake steps never published, tickets whose triage never ran;
//! - then closed tickets past retention are purged.
//!
//! Side effects come before the stamp, each under its own [`run_once`] key: a crash between the
//! mail and the stamp leaves the deadline unstamped, the next tick finds it again, the key says
//! the mail went already, and only the stamp is written. The stamps make ticks idempotent.

use super::operator::{Bodies, Envelope, EscalationSettings, escalation_message, target_route};
use super::retry::Attempts;
use super::sweep::{SWEEP_GRACE, SweepReport};
use super::{Engine, EngineError};
use crate::domain::{Actor, Deadline, Event, EventKind, Ticket};
use crate::ports::{
    MessageKind, OutgoingMail, PageStart, QueueKey, QueueQuery, RunOnce, RunOnceError, StoreError, run_once,
};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;
use std::time::Duration;

/// Tickets read at once from a team's open tickets. The tick reads every queue to its end,
/// page by page, so the backlog has no limit but the tick's time (see [`CLOCK_BUDGET`]).
pub const CLOCK_PAGE: usize = 200;
const _: () = assert!(CLOCK_PAGE <= crate::ports::queue_page::MAX_QUEUE_PAGE);
/// Tickets of one page worked at the same time: each due one costs a few sequential calls
/// (events, mail, stamp), and a backlog's breaches come in bursts.
pub const CLOCK_PARALLEL: usize = 8;
/// How long a tick may spend on deadlines and reminders before it leaves the rest to the next
/// one; the sweep and the purge run after it in the time left (the clock Lambda's timeout is
/// 50 s). Stamped tickets are skipped at the cost of a read, so each tick gets further.
pub const CLOCK_BUDGET: Duration = Duration::from_secs(35);
/// A reminder's escalation id is the reminded escalation's, with this after it; a notice may
/// quote either.
pub(super) const REMINDER_SUFFIX: &str = "-reminder";
/// A claimed notification or reminder that never completed may be retried after this.
const EFFECT_LEASE: Duration = Duration::from_secs(120);
/// Sent effects are remembered this long: far longer than the gap between a send and its stamp
/// (the same tick, or the next one after a crash). After the stamp, the stamp itself is the record.
const EFFECT_KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// What one tick did. Counts only: no ids, no personal data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClockReport {
    /// Open tickets looked at.
    pub scanned: usize,
    pub warned: usize,
    pub breached: usize,
    /// Escalation targets reminded.
    pub reminded: usize,
    pub purged: usize,
    /// Tickets, notifications or reminders left for the next tick after an error (logged).
    pub failed: usize,
    /// Queues (team and state) whose reading the time budget cut short: the next tick reads them
    /// on from where this one stopped, then from their oldest ticket again.
    pub unfinished: usize,
    /// What the sweep finished.
    pub sweep: SweepReport,
}

impl ClockReport {
    /// One log line of the counts, as the local timer and the Lambda function both write it.
    pub fn log(&self) {
        tracing::info!(
            scanned = self.scanned,
            warned = self.warned,
            breached = self.breached,
            reminded = self.reminded,
            purged = self.purged,
            failed = self.failed,
            unfinished = self.unfinished,
            swept_published = self.sweep.published,
            swept_triaged = self.sweep.triaged,
            "clock tick"
        );
    }
}

/// What a deadline is owed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alarm {
    Warning,
    Breach,
}

impl Alarm {
    fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Breach => "breach",
        }
    }
}

pub use crate::domain::ticket::deadline_start;

/// GDPR clocks run day and night; SLA targets in business time on `sla.schedule`.
pub fn counts_calendar_time(kind: &str) -> bool {
    kind.starts_with("gdpr_")
}

/// Whether a deadline no longer needs watching. First response: met once an operator took the
/// ticket in charge (the state left `new`, and never comes back). Resolution and the GDPR clocks:
/// met once the ticket was resolved (answered to the requester) — a reopened ticket's first
/// resolution met them; the requester writing back starts no new clock.
pub fn deadline_met(kind: &str, ticket: &Ticket, ever_resolved: bool) -> bool {
    ever_resolved || Deadline::met_by_state(kind, ticket.state)
}

/// Something done this tick, to be stamped on the ticket.
enum Done {
    Deadline { kind: String, alarm: Alarm, notified: usize },
    Reminder { target: String, sent_at: Timestamp, reminder_id: String, reminds: String, transport_id: Option<String> },
}

impl Engine {
    /// One tick of the clock: deadline warnings and breaches, escalation reminders, the purge.
    /// Errors on one ticket are logged and counted (`failed`); the tick goes on with the others.
    pub async fn clock_tick(&self, settings: &EscalationSettings) -> Result<ClockReport, EngineError> {
        self.clock_tick_within(settings, CLOCK_BUDGET).await
    }

    /// [`Self::clock_tick`], spending at most about `budget` on deadlines and reminders. Every
    /// open queue is read to its end, a page of each in turn, so no queue waits for another's
    /// backlog; when the budget runs out the queues not read to their end are counted
    /// (`unfinished`), where each stopped is stored for the next tick to read on from, and the
    /// sweep and purge still run.
    pub async fn clock_tick_within(
        &self,
        settings: &EscalationSettings,
        budget: Duration,
    ) -> Result<ClockReport, EngineError> {
        let started = std::time::Instant::now();
        let now = self.now();
        let mut report = ClockReport::default();
        // Queues the last tick did not finish are read on from where it stopped: under a backlog
        // larger than a tick reads, the last tickets come round too. A team's open tickets are one
        // queue, in the console's order (nearest deadline first): one index on DynamoDB serves
        // both, so a ticket's writes keep one queue entry, not two (`docs/dynamodb.md`).
        let remembered = self.ports.tickets.clock_positions().await?;
        let mut queues: Vec<(&str, Option<QueueKey>)> =
            self.rules.teams.keys().map(|t| (t.as_str(), remembered.get(t.as_str()).cloned())).collect();
        // Where each queue's reading stands at the end of the tick (`None`: read to its end).
        let mut reached: Vec<(&str, Option<QueueKey>)> = Vec::new();
        // Round-robin, a page of each queue per round: a queue whose reading the budget cuts
        // short has still had its first tickets looked at, as have all the others.
        while !queues.is_empty() {
            let mut next_round = Vec::with_capacity(queues.len());
            let mut left = queues.into_iter();
            for (team, after) in left.by_ref() {
                let mut query = QueueQuery::team(team, CLOCK_PAGE);
                if let Some(key) = &after {
                    query.start = PageStart::After(key.clone());
                }
                let page = self.ports.tickets.queue_page(&query).await?;
                let Some(last) = page.tickets.last() else {
                    reached.push((team, None));
                    continue;
                };
                let position = QueueKey::of(last);
                report.scanned += page.tickets.len();
                self.tick_page(page.tickets, now, settings, &mut report).await;
                if page.more_after {
                    next_round.push((team, Some(position)));
                } else {
                    reached.push((team, None));
                }
                if started.elapsed() >= budget {
                    break;
                }
            }
            next_round.extend(left);
            queues = next_round;
            if !queues.is_empty() && started.elapsed() >= budget {
                report.unfinished = queues.len();
                tracing::warn!(
                    unfinished = queues.len(),
                    budget_s = budget.as_secs(),
                    "clock: time budget spent; the next tick goes on from where this one stopped"
                );
                reached.append(&mut queues);
                break;
            }
        }
        for (team, position) in reached {
            if remembered.get(team) != position.as_ref() {
                self.ports.tickets.set_clock_position(team, position.as_ref()).await?;
            }
        }
        // After the deadlines: a ticket the sweep triages now is watched from the next tick.
        report.sweep = self.sweep(SWEEP_GRACE).await?;
        report.purged = self.purge_expired().await?;
        Ok(report)
    }

    /// One page of a queue, [`CLOCK_PARALLEL`] tickets at a time.
    async fn tick_page(
        &self,
        page: Vec<Ticket>,
        now: Timestamp,
        settings: &EscalationSettings,
        report: &mut ClockReport,
    ) {
        let mut running = tokio::task::JoinSet::new();
        for ticket in page {
            if running.len() >= CLOCK_PARALLEL {
                merge(report, running.join_next().await);
            }
            let (engine, settings) = (self.clone(), settings.clone());
            // In the tick's span, so its lines keep the invocation's ids.
            let work = async move {
                let mut own = ClockReport::default();
                if let Err(e) = engine.tick_ticket(&ticket, now, &settings, &mut own).await {
                    own.failed += 1;
                    tracing::warn!(ticket = %ticket.id, reference = %ticket.reference, error = %e, "clock: ticket skipped");
                }
                own
            };
            running.spawn(tracing::Instrument::in_current_span(work));
        }
        while let Some(done) = running.join_next().await {
            merge(report, Some(done));
        }
    }

    /// What a deadline is owed at `now`, if anything; `met` is not checked here.
    pub fn deadline_alarm(&self, ticket: &Ticket, d: &Deadline, now: Timestamp) -> Option<Alarm> {
        if d.breached_at.is_some() {
            return None;
        }
        if now >= d.due {
            return Some(Alarm::Breach);
        }
        if d.warned_at.is_some() {
            return None;
        }
        let start = deadline_start(ticket);
        let (used, total) = if counts_calendar_time(&d.kind) {
            (now.duration_since(start), d.due.duration_since(start))
        } else {
            let cal = self.rules.sla_calendar();
            (cal.business_time_between(start, now), cal.business_time_between(start, d.due))
        };
        let percent = i128::from(self.rules.sla.warn_at_percent);
        let reached = total > SignedDuration::ZERO && used.as_millis() * 100 >= total.as_millis() * percent;
        reached.then_some(Alarm::Warning)
    }

    async fn tick_ticket(
        &self,
        ticket: &Ticket,
        now: Timestamp,
        settings: &EscalationSettings,
        report: &mut ClockReport,
    ) -> Result<(), EngineError> {
        // What the state alone shows met is dropped before the events are read: most open
        // tickets have nothing due, and reading every ticket's events each minute would cost.
        let alarms: Vec<(&Deadline, Alarm)> = ticket
            .deadlines
            .iter()
            .filter(|d| !deadline_met(&d.kind, ticket, false))
            .filter_map(|d| self.deadline_alarm(ticket, d, now).map(|a| (d, a)))
            .collect();
        let overdue: Vec<usize> = (0..ticket.escalations.len())
            .filter(|&i| self.reminder_due(ticket, i).is_some_and(|due| now >= due))
            .collect();
        if alarms.is_empty() && overdue.is_empty() {
            return Ok(());
        }
        let events = self.ports.events.list(&ticket.id).await?;
        // An answer that never reached the requester undid its resolution: it meets no deadline.
        let count = |kind: EventKind| events.iter().filter(|e| e.kind == kind).count();
        let ever_resolved =
            count(EventKind::AutoResolved) > 0 || count(EventKind::Resolved) > count(EventKind::AnswerUndelivered);
        let mut done = Vec::new();
        for (d, alarm) in alarms {
            if deadline_met(&d.kind, ticket, ever_resolved) {
                continue;
            }
            match self.notify(ticket, d, alarm, settings).await {
                Ok(Some(notified)) => done.push(Done::Deadline { kind: d.kind.clone(), alarm, notified }),
                Ok(None) => {}
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(ticket = %ticket.id, deadline = %d.kind, error = %e, "clock: notification failed; retried next tick");
                }
            }
        }
        for i in overdue {
            match self.remind(ticket, i, &events, settings).await {
                Ok(Some(reminder)) => done.push(reminder),
                Ok(None) => {}
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(ticket = %ticket.id, target = %ticket.escalations[i].target, error = %e, "clock: reminder failed; retried next tick");
                }
            }
        }
        if !done.is_empty() {
            self.stamp(ticket, &done, now, ever_resolved, report).await?;
            for d in &done {
                if let Done::Deadline { kind, alarm, .. } = d {
                    crate::metrics::deadline(kind, *alarm == Alarm::Breach);
                }
            }
        }
        Ok(())
    }

    /// When escalation `i` of the ticket should be reminded: its `due`, or for a record from
    /// before `due` was kept, `sent_at` plus the target's `remind_after`. None once it got its
    /// notice or its reminder, or when the target has no `remind_after`.
    fn reminder_due(&self, ticket: &Ticket, i: usize) -> Option<Timestamp> {
        let e = &ticket.escalations[i];
        if e.notice_at.is_some() || e.reminded_at.is_some() {
            return None;
        }
        let Some(target) = self.rules.targets.get(&e.target) else {
            tracing::warn!(ticket = %ticket.id, target = %e.target, "clock: escalation target not in the rulebook; no reminder");
            return None;
        };
        e.due.or_else(|| self.remind_at(target.remind_after.as_ref(), e.sent_at))
    }

    /// Mails the team about a deadline, once per ticket, deadline and alarm. `Some(recipients)`
    /// when the deadline may be stamped (mail sent now or before, or nobody to tell); `None`
    /// when another tick is sending it right now.
    async fn notify(
        &self,
        ticket: &Ticket,
        d: &Deadline,
        alarm: Alarm,
        settings: &EscalationSettings,
    ) -> Result<Option<usize>, StoreError> {
        let to = self.rules.teams.get(&ticket.team).map(|t| t.notify.clone()).unwrap_or_default();
        if to.is_empty() {
            return Ok(Some(0));
        }
        let mail = self.deadline_mail(ticket, d, alarm, &settings.mail_from, &to);
        let key = format!("clock:{}:{}:{}", ticket.id, d.kind, alarm.as_str());
        let mailer = self.ports.mailer.clone();
        let sent = run_once(self.ports.idempotency.as_ref(), &key, EFFECT_LEASE, EFFECT_KEEP, || async move {
            mailer.send(&mail).await
        })
        .await;
        match sent {
            Ok(RunOnce::Ran(_) | RunOnce::AlreadyDone) => Ok(Some(to.len())),
            Ok(RunOnce::InProgress) => Ok(None),
            // A mail refused as invalid never goes: stamp the deadline anyway, the event and the
            // operator queue still show it.
            Err(RunOnceError::Handler(StoreError::Invalid(why))) => {
                tracing::warn!(ticket = %ticket.id, deadline = %d.kind, why, "clock: notification refused; deadline stamped without it");
                Ok(Some(0))
            }
            Err(RunOnceError::Handler(e) | RunOnceError::Store(e)) => Err(e),
        }
    }

    /// The notification: reference, deadline, due time, team, type and state. Nothing of the
    /// requester (no name, address, subject or message).
    fn deadline_mail(&self, ticket: &Ticket, d: &Deadline, alarm: Alarm, from: &str, to: &[String]) -> OutgoingMail {
        let domain = from.split_once('@').map_or("sportello.invalid", |(_, d)| d);
        let cal = self.rules.sla_calendar();
        let local_due = d.due.to_zoned_datetime(cal.time_zone.clone()).strftime("%d/%m/%Y %H:%M %Z").to_string();
        let (headline, state_line) = match alarm {
            Alarm::Warning => {
                ("due soon", format!("{}% of the time to `{}` is used.", self.rules.sla.warn_at_percent, d.kind))
            }
            Alarm::Breach => ("overdue", format!("The deadline `{}` has passed.", d.kind)),
        };
        let counted = if counts_calendar_time(&d.kind) {
            "calendar time (GDPR)".to_string()
        } else {
            format!("business time on the `{}` schedule", self.rules.schedules.key(self.rules.sla.schedule))
        };
        let text = format!(
            "Ticket {reference}: {state_line}\n\nDeadline: {kind}\nDue: {local_due} ({due})\nCounted in: {counted}\nTeam: {team}\nType: {ty}\nState: {state}\n\nOpen the ticket in the operator console to work it.\nThis message is automatic.\n",
            reference = ticket.reference,
            kind = d.kind,
            due = d.due,
            team = ticket.team,
            ty = ticket.ticket_type.map_or("-", |t| t.code()),
            state = ticket.state,
        );
        OutgoingMail {
            from: from.to_string(),
            to: to.to_vec(),
            subject: format!("[{}] {} {headline}, due {local_due}", ticket.reference, d.kind),
            text,
            html: None,
            message_id: format!("clock-{}-{}-{}@{domain}", ticket.id, d.kind, alarm.as_str()),
            in_reply_to: None,
            references: Vec::new(),
            ticket: Some(ticket.reference.clone()),
            auto_submitted: Some("auto-generated".into()),
            reply_to: None,
        }
    }

    /// Sends escalation `i` again to its target as a reminder, once. The message is built as the
    /// escalation was, with only the fields the target may see, and points at the escalation it
    /// reminds of.
    async fn remind(
        &self,
        ticket: &Ticket,
        i: usize,
        events: &[Event],
        settings: &EscalationSettings,
    ) -> Result<Option<Done>, EngineError> {
        let e = &ticket.escalations[i];
        let Some(target) = self.rules.targets.get(&e.target) else {
            return Ok(None);
        };
        let due = self.reminder_due(ticket, i);
        let (route, reply_to) = target_route(target, settings);
        let escalated = events.iter().find(|ev| {
            ev.kind == EventKind::Escalated
                && ev.at == e.sent_at
                && ev.detail.get("target").and_then(|t| t.as_str()) == Some(e.target.as_str())
        });
        let detail = |name: &str| escalated.and_then(|ev| ev.detail.get(name)).and_then(|v| v.as_str());
        let reminds = Some(e.escalation_id.clone())
            .filter(|id| !id.is_empty())
            .or_else(|| detail("escalation_id").map(str::to_string))
            .unwrap_or_else(|| format!("{}-{}-{}", ticket.id, e.target, e.sent_at.as_millisecond()));
        let summary = detail("summary").unwrap_or("Resolution notice overdue.").to_string();
        let reminder_id = format!("{reminds}{REMINDER_SUFFIX}");
        let description = self.first_message(&ticket.id).await?;
        let conversation = if target.fields.iter().any(|f| f == "conversation") && target.free_text {
            Some(self.conversation(&ticket.id).await?)
        } else {
            None
        };
        let mut message = escalation_message(
            ticket,
            &e.target,
            target.into(),
            Bodies { description: description.as_deref(), conversation: conversation.as_deref() },
            Envelope { escalation_id: &reminder_id, at: e.sent_at, due, summary: &summary, reply_to },
        );
        message.kind = MessageKind::Reminder;
        message.reminds = Some(reminds.clone());
        if target.delivery.queue().is_none() {
            // A reply to the reminder settles the escalation it reminds of.
            self.add_reply_token(&mut message, &reminds);
        }
        let key = format!("clock:reminder:{reminder_id}");
        let delivery = self.ports.escalations.clone();
        let sent = run_once(self.ports.idempotency.as_ref(), &key, EFFECT_LEASE, EFFECT_KEEP, || async move {
            delivery.deliver(&route, &message).await
        })
        .await;
        let transport_id = match sent {
            Ok(RunOnce::Ran(id)) => Some(id),
            Ok(RunOnce::AlreadyDone) => None,
            Ok(RunOnce::InProgress) => return Ok(None),
            Err(RunOnceError::Handler(e) | RunOnceError::Store(e)) => return Err(e.into()),
        };
        Ok(Some(Done::Reminder { target: e.target.clone(), sent_at: e.sent_at, reminder_id, reminds, transport_id }))
    }

    /// Writes what was done as stamps and events, in one update; on a version conflict reads the
    /// ticket again and stamps only what is still unstamped (another tick may have done it).
    async fn stamp(
        &self,
        read: &Ticket,
        done: &[Done],
        now: Timestamp,
        ever_resolved: bool,
        report: &mut ClockReport,
    ) -> Result<(), EngineError> {
        let mut attempts = Attempts::new(format!("the clock's stamps on ticket {}", read.reference));
        loop {
            let mut ticket = self.ports.tickets.get(&read.id).await?;
            let mut events = Vec::new();
            let (mut warned, mut breached, mut reminded) = (0, 0, 0);
            for item in done {
                match item {
                    Done::Deadline { kind, alarm, notified } => {
                        let met = deadline_met(kind, &ticket, ever_resolved);
                        let Some(d) = ticket.deadlines.iter_mut().find(|d| &d.kind == kind) else {
                            continue;
                        };
                        let (stamp, event_kind) = match alarm {
                            Alarm::Warning => (&mut d.warned_at, EventKind::DeadlineWarning),
                            Alarm::Breach => (&mut d.breached_at, EventKind::DeadlineBreached),
                        };
                        if met || stamp.is_some() {
                            continue;
                        }
                        *stamp = Some(now);
                        let detail = json!({"deadline": kind, "due": d.due, "notified": notified});
                        events.push(system_event(&ticket, event_kind, now, detail));
                        match alarm {
                            Alarm::Warning => warned += 1,
                            Alarm::Breach => breached += 1,
                        }
                    }
                    Done::Reminder { target, sent_at, reminder_id, reminds, transport_id } => {
                        let Some(e) =
                            ticket.escalations.iter_mut().find(|e| &e.target == target && e.sent_at == *sent_at)
                        else {
                            continue;
                        };
                        if e.reminded_at.is_some() || e.notice_at.is_some() {
                            continue;
                        }
                        e.reminded_at = Some(now);
                        let detail = json!({
                            "target": target,
                            "escalation_id": reminder_id,
                            "reminds": reminds,
                            "transport_id": transport_id,
                        });
                        events.push(system_event(&ticket, EventKind::EscalationReminded, now, detail));
                        reminded += 1;
                    }
                }
            }
            if events.is_empty() {
                return Ok(());
            }
            ticket.updated_at = now;
            match self.ports.tickets.update(&ticket, &events).await {
                Ok(saved) => {
                    for ev in &events {
                        let what = ev.detail.get("deadline").or_else(|| ev.detail.get("target"));
                        let what = what.and_then(|v| v.as_str()).unwrap_or_default();
                        tracing::info!(ticket = %saved.id, reference = %saved.reference, kind = ?ev.kind, what, "clock");
                    }
                    report.warned += warned;
                    report.breached += breached;
                    report.reminded += reminded;
                    return Ok(());
                }
                // Given up: the next tick finds the deadline unstamped and stamps it then.
                Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Adds one ticket's counts to the tick's. A task that panicked counts as failed: its ticket is
/// looked at again next tick.
fn merge(report: &mut ClockReport, done: Option<Result<ClockReport, tokio::task::JoinError>>) {
    match done {
        Some(Ok(own)) => {
            report.warned += own.warned;
            report.breached += own.breached;
            report.reminded += own.reminded;
            report.failed += own.failed;
        }
        Some(Err(e)) => {
            report.failed += 1;
            tracing::error!(error = %e, "clock: a ticket's work stopped");
        }
        None => {}
    }
}

fn system_event(ticket: &Ticket, kind: EventKind, at: Timestamp, detail: serde_json::Value) -> Event {
    Event { ticket_id: ticket.id.clone(), at, actor: Actor::system(), kind, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChannelKind, TicketState};

    fn ticket(kind: ChannelKind, state: TicketState) -> Ticket {
        let created = Timestamp::from_second(1_800_000_000).unwrap();
        let mut t = Ticket::new("any", kind, "first_level", created);
        t.triaged_at = Some(created + SignedDuration::from_mins(30));
        t.state = state;
        t
    }

    #[test]
    fn clocks_start_at_arrival_or_at_a_chat_handoff() {
        let mail = ticket(ChannelKind::Email, TicketState::New);
        assert_eq!(deadline_start(&mail), mail.created_at, "a queued triage does not eat into the SLA");
        let chat = ticket(ChannelKind::Chat, TicketState::New);
        assert_eq!(Some(deadline_start(&chat)), chat.triaged_at, "the bot's time is not the operators'");
    }

    #[test]
    fn what_meets_a_deadline() {
        let new = ticket(ChannelKind::Email, TicketState::New);
        let taken = ticket(ChannelKind::Email, TicketState::TakenInCharge);
        let reopened = ticket(ChannelKind::Email, TicketState::InProgress);
        assert!(!deadline_met("first_response", &new, false));
        assert!(deadline_met("first_response", &taken, false));
        assert!(!deadline_met("resolution", &taken, false));
        assert!(!deadline_met("gdpr_breach_notification", &taken, false));
        assert!(deadline_met("resolution", &reopened, true), "the first resolution met it");
        assert!(deadline_met("gdpr_data_subject_request", &ticket(ChannelKind::Api, TicketState::Closed), false));
        assert!(counts_calendar_time("gdpr_breach_notification") && !counts_calendar_time("resolution"));
    }
}
