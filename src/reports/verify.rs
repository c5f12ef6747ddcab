//! Every figure recomputed from the tickets and their events, the slow way: no facts, no marks,
//! no cells, no folding; one pass over every ticket for each period asked. What the aggregates
//! are checked against (the tests, and `benches/reports.rs` at 100,000 tickets).
//!
//! Figures are named counts and sums (`resolved`, `first_response_seconds`...), grouped by
//! channel × type, so a difference names the group and the figure.

use super::report::{Figures, Overview};
use crate::domain::{ActorRole, ChannelKind, Event, EventKind, Ticket, TicketState};
use crate::rules::Rules;
use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::BTreeMap;

/// `(channel, type)` → figure name → value.
pub type Tally = BTreeMap<(String, String), BTreeMap<&'static str, i64>>;

/// The figures of the local days `from..=to`, by channel × type, from the tickets and their
/// events.
pub fn recompute(rules: &Rules, history: &[(Ticket, Vec<Event>)], from: Date, to: Date) -> Tally {
    let sla = rules.sla_calendar();
    let tz = sla.time_zone.clone();
    let within = |at: Timestamp| {
        let d = at.to_zoned_datetime(tz.clone()).date();
        from <= d && d <= to
    };
    let mut out: Tally = BTreeMap::new();
    for (t, events) in history {
        let group = (t.channel.clone(), t.ticket_type.map(|k| k.code().to_string()).unwrap_or_default());
        let mut add = |name: &'static str, value: i64| {
            *out.entry(group.clone()).or_default().entry(name).or_default() += value;
        };
        let of = |kind: EventKind| events.iter().filter(move |e| e.kind == kind);
        let start = crate::domain::ticket::deadline_start(t);
        let first_taken = of(EventKind::TakenInCharge).map(|e| e.at).min();
        let first_resolved = of(EventKind::Resolved).map(|e| e.at).min();
        let last_resolved = of(EventKind::Resolved).map(|e| e.at).max();
        let reminders: Vec<Timestamp> = of(EventKind::Reminder).map(|e| e.at).collect();
        let requester_messages =
            events.iter().filter(|e| e.kind == EventKind::Message && e.actor.role == ActorRole::Requester).count();

        if within(t.created_at) {
            add("received", 1);
            let open =
                rules.channels.get(&t.channel).is_none_or(|ch| rules.calendar(ch.schedule).is_open(t.created_at));
            add("out_of_hours", i64::from(!open));
        }
        let ended_within = within(t.closed_at.unwrap_or(t.created_at));
        match t.state {
            TicketState::NotServed if ended_within => add("not_served", 1),
            TicketState::AutoResolved if ended_within => add("auto_resolved", 1),
            TicketState::AutoClosed if ended_within => add("auto_closed", 1),
            TicketState::Resolved | TicketState::Closed => {
                if let Some(at) = last_resolved.filter(|at| within(*at)) {
                    add("resolved", 1);
                    add("resolution_seconds", at.duration_since(start).as_secs().max(0));
                    let second_contact =
                        !reminders.is_empty() || (t.channel_kind != ChannelKind::Chat && requester_messages > 1);
                    add("first_contact_resolved", i64::from(t.escalations.is_empty() && !second_contact));
                }
            }
            _ => {}
        }
        if let Some(at) = first_taken.filter(|at| within(*at)) {
            add("first_responses", 1);
            add("first_response_seconds", at.duration_since(start).as_secs().max(0));
        }
        for d in &t.deadlines {
            let (met, breached) = match d.kind.as_str() {
                "first_response" => ("sla_met:first_response", "sla_breached:first_response"),
                "resolution" => ("sla_met:resolution", "sla_breached:resolution"),
                _ => continue,
            };
            let ended = first_resolved.or(t.closed_at.filter(|_| t.state.is_final()));
            let met_at =
                if d.kind == "first_response" { [first_taken, ended].into_iter().flatten().min() } else { ended };
            let late = d.breached_at.is_some() || met_at.is_some_and(|at| at > d.due);
            match met_at {
                _ if late && within(d.due) => add(breached, 1),
                _ if late => {}
                Some(at) if within(at) => add(met, 1),
                _ => {}
            }
        }
        for e in &t.escalations {
            add("escalations", i64::from(within(e.sent_at)));
            add("notices", i64::from(e.notice_at.is_some_and(within)));
        }
        add("reminders", reminders.iter().filter(|at| within(**at)).count() as i64);
        // The bot: the conversation's latest outcome note, read straight off the events.
        let bot_end = events
            .iter()
            .filter(|e| e.kind == EventKind::Note && e.detail.get("chat").and_then(|v| v.as_str()) == Some("outcome"))
            .max_by_key(|e| e.at);
        if let Some(e) = bot_end.filter(|e| within(e.at)) {
            let outcome = e.detail.get("outcome").and_then(|v| v.as_str()).unwrap_or_default();
            add("bot_conversations", 1);
            add("bot_contained", i64::from(outcome == "contained"));
            add("bot_handed_off", i64::from(outcome == "handed_off"));
            if outcome != "contained" {
                let reason = e.detail.get("reason").and_then(|v| v.as_str()).unwrap_or("other");
                let reason = if super::metric::HANDOFF_REASONS.contains(&reason) { reason } else { "other" };
                add(handoff_name(reason), 1);
            }
        }
        if let Some(s) = &t.survey {
            add("surveys_sent", i64::from(s.sent_at.is_some_and(within)));
            add("survey_responses", i64::from(s.rating.is_some() && s.answered_at.is_some_and(within)));
        }
    }
    for figures in out.values_mut() {
        figures.retain(|_, v| *v != 0);
    }
    out.retain(|_, f| !f.is_empty());
    out
}

/// The tally's name of a hand-off reason.
fn handoff_name(reason: &str) -> &'static str {
    match reason {
        "asked_for_operator" => "handoff:asked_for_operator",
        "no_fitting_article" => "handoff:no_fitting_article",
        "ask_back_unresolved" => "handoff:ask_back_unresolved",
        "privacy" => "handoff:privacy",
        "not_sure" => "handoff:not_sure",
        _ => "handoff:other",
    }
}

/// The same names, read off a report's figures.
pub fn tally(f: &Figures) -> BTreeMap<&'static str, i64> {
    let sum = |t: &super::TimeStats| t.mean_seconds.map_or(0, |m| (m * t.count as f64).round() as i64);
    let sla = |kind: &str| f.sla.get(kind).map_or((0, 0), |s| (s.met, s.breached));
    let (fr_met, fr_breached) = sla("first_response");
    let (res_met, res_breached) = sla("resolution");
    let mut out = BTreeMap::from([
        ("received", f.contacts.received),
        ("out_of_hours", f.contacts.out_of_hours),
        ("not_served", f.contacts.not_served),
        ("resolved", f.tickets.resolved),
        ("auto_resolved", f.tickets.auto_resolved),
        ("auto_closed", f.tickets.auto_closed),
        ("first_contact_resolved", f.tickets.first_contact_resolved),
        ("resolution_seconds", sum(&f.resolution.calendar)),
        ("first_responses", f.first_response.calendar.count),
        ("first_response_seconds", sum(&f.first_response.calendar)),
        ("sla_met:first_response", fr_met),
        ("sla_breached:first_response", fr_breached),
        ("sla_met:resolution", res_met),
        ("sla_breached:resolution", res_breached),
        ("escalations", f.escalations.sent),
        ("notices", f.escalations.notices),
        ("reminders", f.reminders.received),
        ("surveys_sent", f.csat.surveys_sent),
        ("survey_responses", f.csat.responses),
        ("bot_conversations", f.bot.conversations),
        ("bot_contained", f.bot.contained),
        ("bot_handed_off", f.bot.handed_off),
    ]);
    for (reason, n) in &f.bot.handoff_reasons {
        out.insert(handoff_name(reason), *n);
    }
    out.retain(|_, v| *v != 0);
    out
}

/// An overview grouped by channel and type, as a [`Tally`].
pub fn tally_overview(r: &Overview) -> Tally {
    let mut out = Tally::new();
    for row in &r.rows {
        let value = |d| row.group.get(&d).cloned().unwrap_or_default();
        let t = tally(&row.figures);
        if !t.is_empty() {
            out.insert((value(super::Dim::Channel), value(super::Dim::Type)), t);
        }
    }
    out
}

/// Where two tallies differ, one line per figure; empty when they agree.
pub fn differences(expected: &Tally, got: &Tally) -> Vec<String> {
    let mut out = Vec::new();
    let groups: std::collections::BTreeSet<_> = expected.keys().chain(got.keys()).collect();
    let empty = BTreeMap::new();
    for g in groups {
        let (e, r) = (expected.get(g).unwrap_or(&empty), got.get(g).unwrap_or(&empty));
        let names: std::collections::BTreeSet<_> = e.keys().chain(r.keys()).collect();
        for n in names {
            let (a, b) = (e.get(n).copied().unwrap_or(0), r.get(n).copied().unwrap_or(0));
            if a != b {
                out.push(format!("{}/{} {n}: recomputed {a}, report {b}", g.0, g.1));
            }
        }
    }
    out
}
