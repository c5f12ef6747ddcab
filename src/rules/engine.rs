//! A loaded, checked rulebook ready to decide contacts: calendars compiled once, then one
//! decision per contact.

use super::calendar;
use super::diagnostic::{Diagnostic, did_you_mean};
use super::load::{self, Source};
use super::model::Rulebook;
use super::schedule;
use super::walk::{Facts, Walk, walk};
use crate::domain::{Outcome, TicketType};
use crate::knowledge::KnowledgeBase;
use jiff::{Timestamp, ZonedDateTime};
use std::collections::BTreeMap;
use std::path::Path;

pub struct Rules {
    pub book: Rulebook,
    pub calendars: BTreeMap<String, calendar::Schedule>,
    pub knowledge: KnowledgeBase,
    /// Warnings of the check, kept for `rules check` and the logs at start-up.
    pub warnings: Vec<Diagnostic>,
    pub file: String,
}

/// A contact to decide: where and when it arrived, about what, and the facts known.
#[derive(Debug, Clone)]
pub struct Contact<'a> {
    pub channel: &'a str,
    pub category: &'a str,
    pub at: Timestamp,
    /// `in_service_hours` here is ignored: it is computed from `at`.
    pub facts: Facts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineInfo {
    /// `first_response`, `resolution`, `gdpr_data_subject_request`, `gdpr_breach_notification`.
    pub kind: &'static str,
    pub due: ZonedDateTime,
    /// How it is counted: "4h business time (sla)" or "1 month (GDPR art. 12(3))".
    pub basis: String,
}

/// The path a contact takes and everything derived from it.
#[derive(Debug, Clone)]
pub struct Decision<'r> {
    pub walk: Walk<'r>,
    pub local_time: ZonedDateTime,
    pub in_service_hours: bool,
    /// When the channel's operators are next available, if they are not now.
    pub next_opening: Option<ZonedDateTime>,
    /// Holiday or closure that explains being closed today.
    pub closure_reason: Option<&'r str>,
    pub deadlines: Vec<DeadlineInfo>,
}

impl Decision<'_> {
    pub fn outcome(&self) -> Option<Outcome> {
        self.walk.outcome
    }
    pub fn ticket_type(&self) -> Option<TicketType> {
        self.walk.ticket_type
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("unknown channel `{name}`{}", hint(.suggestion, .known))]
    UnknownChannel { name: String, suggestion: Option<String>, known: Vec<String> },
    #[error("unknown category `{name}`{}", hint(.suggestion, .known))]
    UnknownCategory { name: String, suggestion: Option<String>, known: Vec<String> },
    #[error("category `{category}` does not arrive on channel `{channel}` (it arrives on: {})", .arrives_on.join(", "))]
    CategoryNotOnChannel { category: String, channel: String, arrives_on: Vec<String> },
}

fn hint(suggestion: &Option<String>, known: &[String]) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => format!(" (known: {})", known.join(", ")),
    }
}

fn unknown<V>(name: &str, map: &BTreeMap<String, V>) -> (String, Option<String>, Vec<String>) {
    let known: Vec<String> = map.keys().cloned().collect();
    let suggestion = did_you_mean(name, known.iter().map(String::as_str)).map(str::to_string);
    (name.to_string(), suggestion, known)
}

impl Rules {
    /// Loads and checks a rulebook file or folder. Errors are every problem found, located.
    pub fn load(path: &Path) -> Result<Rules, Vec<Diagnostic>> {
        let (checked, source) = load::load(path)?;
        Self::build(checked, &source)
    }

    /// Loads a rulebook from text (tests, benchmarks, an embedded default); `dir` is where its
    /// relative paths (the knowledge base) are read from.
    pub fn from_text(file: &str, dir: &Path, text: &str) -> Result<Rules, Vec<Diagnostic>> {
        let source = Source::from_text(file, dir.to_path_buf(), text.to_string());
        let checked = load::check(&source)?;
        Self::build(checked, &source)
    }

    fn build(checked: load::Checked, source: &Source) -> Result<Rules, Vec<Diagnostic>> {
        let load::Checked { book, warnings, knowledge } = checked;
        let mut calendars = BTreeMap::new();
        for (id, s) in &book.schedules {
            let compiled = schedule::compile(s).map_err(|e| vec![Diagnostic::error(format!("/schedules/{id}"), e)])?;
            calendars.insert(id.clone(), compiled);
        }
        Ok(Rules { book, calendars, knowledge, warnings, file: source.file.clone() })
    }

    pub fn time_zone_of(&self, channel: &str) -> Option<&jiff::tz::TimeZone> {
        let ch = self.book.channels.get(channel)?;
        self.calendars.get(&ch.schedule).map(|c| &c.time_zone)
    }

    /// Fills a message's placeholders for a contact on `channel`. `{reference}` stays for the
    /// ticket store to fill once the ticket exists.
    pub fn fill(&self, template: &str, decision: &Decision<'_>, lang: &str, channel: &str) -> String {
        let alternatives: Vec<String> = self.book.channels.get(channel).map_or_else(Vec::new, |ch| {
            ch.alternative_channels
                .iter()
                .filter_map(|alt| self.book.channels.get(alt))
                .filter_map(|alt| alt.contact_point.get(lang).cloned())
                .collect()
        });
        let next = decision.next_opening.as_ref().map(|z| z.strftime("%d/%m/%Y %H:%M").to_string()).unwrap_or_default();
        let channel_name = self.book.channels.get(channel).and_then(|c| c.name.get(lang)).cloned().unwrap_or_default();
        template
            .replace("{alternative_channels}", &alternatives.join("; "))
            .replace("{next_opening}", &next)
            .replace("{channel}", &channel_name)
    }

    /// Decides the path of one contact.
    pub fn evaluate<'r>(&'r self, contact: &Contact<'r>) -> Result<Decision<'r>, EvalError> {
        let Some(channel) = self.book.channels.get(contact.channel) else {
            let (name, suggestion, known) = unknown(contact.channel, &self.book.channels);
            return Err(EvalError::UnknownChannel { name, suggestion, known });
        };
        let Some(category) = self.book.categories.get(contact.category) else {
            let (name, suggestion, known) = unknown(contact.category, &self.book.categories);
            return Err(EvalError::UnknownCategory { name, suggestion, known });
        };
        if let Some(arrives_on) = &category.channels
            && !arrives_on.iter().any(|c| c == contact.channel)
        {
            return Err(EvalError::CategoryNotOnChannel {
                category: contact.category.to_string(),
                channel: contact.channel.to_string(),
                arrives_on: arrives_on.clone(),
            });
        }
        let cal = &self.calendars[&channel.schedule];
        let local_time = contact.at.to_zoned_datetime(cal.time_zone.clone());
        let in_service_hours = cal.is_open(contact.at);
        let next_opening = if in_service_hours {
            None
        } else {
            cal.next_opening(contact.at).map(|t| t.to_zoned_datetime(cal.time_zone.clone()))
        };
        let closure_reason = cal.closure_reason(local_time.date());
        let facts = Facts { in_service_hours, ..contact.facts };
        let walk = walk(&self.book, contact.channel, contact.category, facts, false);
        let deadlines = self.deadlines(&walk, contact.at);
        Ok(Decision { walk, local_time, in_service_hours, next_opening, closure_reason, deadlines })
    }

    /// SLA targets and GDPR clocks that start with the contact, for the type its path sets.
    pub fn deadlines(&self, walk: &Walk<'_>, at: Timestamp) -> Vec<DeadlineInfo> {
        let mut out = Vec::new();
        let (Some(t), Some(Outcome::Resolved)) = (walk.ticket_type, walk.outcome) else {
            return out;
        };
        let Some(cal) = self.calendars.get(&self.book.sla.schedule) else {
            return out;
        };
        if let Some(target) = self.book.sla.targets.get(t) {
            for (kind, text) in [("first_response", &target.first_response), ("resolution", &target.resolution)] {
                if let Ok(d) = schedule::business_duration(text)
                    && let Some(due) = cal.add_business_time(at, d)
                {
                    out.push(DeadlineInfo {
                        kind,
                        due: due.to_zoned_datetime(cal.time_zone.clone()),
                        basis: format!("{text} of business time ({t} SLA)"),
                    });
                }
            }
        }
        let gdpr = &self.book.gdpr;
        for (kind, clock) in [
            ("gdpr_data_subject_request", &gdpr.data_subject_request),
            ("gdpr_breach_notification", &gdpr.breach_notification),
        ] {
            if clock.applies_to.contains(&t)
                && let Ok(span) = schedule::calendar_span(&clock.deadline)
                && let Ok(due) = at.to_zoned_datetime(cal.time_zone.clone()).checked_add(span)
            {
                out.push(DeadlineInfo { kind, due, basis: format!("{} ({})", clock.deadline, clock.legal_basis) });
            }
        }
        out
    }
}
