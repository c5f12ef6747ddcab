//! A loaded, checked rulebook ready to decide contacts: calendars compiled once, then one
//! decision per contact.

use super::calendar;
use super::check_cache::OwnCheck;
use super::diagnostic::{Diagnostic, did_you_mean};
use super::ids::{ScheduleIx, TargetId, TeamId};
use super::load::{self, Source};
use super::resolved::{self, Model, Path};
use super::schedule;
use super::walk::Facts;
use crate::domain::{Outcome, TicketType};
use crate::knowledge::LazyKnowledgeBase;
use jiff::{Timestamp, ZonedDateTime};
use std::path::Path as FilePath;

/// The engine's model of a checked rulebook, with its calendars.
type Resolution = (Model, Vec<calendar::Calendar>);

/// A loaded rulebook: the checked [`Model`] (what the engine reads; `Rules` derefs to it), its
/// service hours compiled into calendars, and its knowledge base.
pub struct Rules {
    pub model: Model,
    /// By schedule, in the order of `model.schedules`.
    calendars: Vec<calendar::Calendar>,
    /// Read with the YAML; from a compiled rulebook, at its first use.
    pub knowledge: LazyKnowledgeBase,
    /// Warnings of the check, kept for `rules check` and the logs at start-up.
    pub warnings: Vec<Diagnostic>,
    pub file: String,
}

impl std::ops::Deref for Rules {
    type Target = Model;

    fn deref(&self) -> &Model {
        &self.model
    }
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
    pub path: &'r Path,
    /// The team the path ends with.
    pub team: &'r TeamId,
    /// The targets the path escalates to or offers.
    pub escalate_to: Vec<&'r TargetId>,
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
        self.path.outcome
    }
    pub fn ticket_type(&self) -> Option<TicketType> {
        self.path.ticket_type
    }
    pub fn step_names(&self) -> Vec<&str> {
        self.path.step_names()
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

fn unknown<K: AsRef<str>>(name: &str, ids: impl Iterator<Item = K>) -> (String, Option<String>, Vec<String>) {
    let known: Vec<String> = ids.map(|k| k.as_ref().to_string()).collect();
    let suggestion = did_you_mean(name, known.iter().map(String::as_str)).map(str::to_string);
    (name.to_string(), suggestion, known)
}

impl Rules {
    /// Loads and checks a rulebook file or folder. Errors are every problem found, located.
    pub fn load(path: &FilePath) -> Result<Rules, Vec<Diagnostic>> {
        let (checked, source) = load::load(path)?;
        Self::build(checked, &source)
    }

    /// A parsed rulebook's own checks, located in its text.
    pub(super) fn own_check(book: &super::model::Rulebook, source: &Source) -> OwnCheck {
        let mut diagnostics = super::validate::check_rulebook(book);
        diagnostics.iter_mut().for_each(|d| d.locate(&source.file, &source.text, &source.map));
        let mut knowledge_at = Diagnostic::error("/knowledge", "");
        knowledge_at.locate(&source.file, &source.text, &source.map);
        OwnCheck {
            diagnostics,
            knowledge_at: knowledge_at.location.expect("just located"),
            knowledge_folder: book.knowledge.clone(),
            languages: book.languages.clone(),
            categories: book.categories.keys().map(|c| c.to_string()).collect(),
        }
    }

    /// Loads a rulebook from text (tests, benchmarks, an embedded default); `dir` is where its
    /// relative paths (the knowledge base) are read from.
    pub fn from_text(file: &str, dir: &FilePath, text: &str) -> Result<Rules, Vec<Diagnostic>> {
        let source = Source::from_text(file, dir.to_path_buf(), text.to_string());
        let checked = load::check(&source)?;
        Self::build(checked, &source)
    }

    fn build(checked: load::Checked, source: &Source) -> Result<Rules, Vec<Diagnostic>> {
        let load::Checked { book, warnings, knowledge } = checked;
        let (model, calendars) = Self::resolve_located(&book, source)?;
        Ok(Rules {
            model,
            calendars,
            knowledge: LazyKnowledgeBase::ready(knowledge),
            warnings,
            file: source.file.clone(),
        })
    }

    /// The checked YAML model resolved into the engine's, with its calendars; errors located.
    pub(super) fn resolve_located(
        book: &super::model::Rulebook,
        source: &Source,
    ) -> Result<Resolution, Vec<Diagnostic>> {
        let locate = |mut errors: Vec<Diagnostic>| {
            errors.iter_mut().for_each(|d| d.locate(&source.file, &source.text, &source.map));
            errors
        };
        let model = resolved::resolve(book).map_err(locate)?;
        let calendars = book
            .schedules
            .iter()
            .map(|(id, s)| schedule::compile(s).map_err(|e| vec![Diagnostic::error(format!("/schedules/{id}"), e)]))
            .collect::<Result<Vec<_>, _>>()
            .map_err(locate)?;
        Ok((model, calendars))
    }

    /// A rulebook from its compiled form (`rules::compiled`): checked when it was compiled, so
    /// only the calendars are worked out again (time zones are not stored).
    pub(super) fn from_checked_parts(
        model: Model,
        knowledge: LazyKnowledgeBase,
        warnings: Vec<Diagnostic>,
        file: String,
    ) -> Result<Rules, String> {
        let calendars = model
            .schedules
            .iter()
            .map(|(id, s)| schedule::compile(s).map_err(|e| format!("schedule `{id}`: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rules { model, calendars, knowledge, warnings, file })
    }

    pub fn calendar(&self, schedule: ScheduleIx) -> &calendar::Calendar {
        &self.calendars[schedule.index()]
    }

    /// The calendar SLA targets count business time in.
    pub fn sla_calendar(&self) -> &calendar::Calendar {
        self.calendar(self.model.sla.schedule)
    }

    pub fn time_zone_of(&self, channel: &str) -> Option<&jiff::tz::TimeZone> {
        let ch = self.model.channels.get(channel)?;
        Some(&self.calendar(ch.schedule).time_zone)
    }

    /// Fills a message's placeholders for a contact on `channel`. `{reference}` stays for the
    /// ticket store to fill once the ticket exists.
    pub fn fill(&self, template: &str, decision: &Decision<'_>, lang: &str, channel: &str) -> String {
        let m = &self.model;
        let ch = m.channels.get(channel);
        let alternatives: Vec<String> = ch.map_or_else(Vec::new, |ch| {
            ch.alternative_channels.iter().filter_map(|alt| m.channels[*alt].contact_point.get(lang).cloned()).collect()
        });
        let next = decision.next_opening.as_ref().map(|z| z.strftime("%d/%m/%Y %H:%M").to_string()).unwrap_or_default();
        let channel_name = ch.and_then(|c| c.name.get(lang)).cloned().unwrap_or_default();
        template
            .replace("{alternative_channels}", &alternatives.join("; "))
            .replace("{next_opening}", &next)
            .replace("{channel}", &channel_name)
    }

    /// Decides the path of one contact.
    pub fn evaluate<'r>(&'r self, contact: &Contact<'_>) -> Result<Decision<'r>, EvalError> {
        let m = &self.model;
        let Some((ch, channel)) = m.channels.ix(contact.channel).map(|ix| (ix, &m.channels[ix])) else {
            let (name, suggestion, known) = unknown(contact.channel, m.channels.keys());
            return Err(EvalError::UnknownChannel { name, suggestion, known });
        };
        let Some((cat, category)) = m.categories.ix(contact.category).map(|ix| (ix, &m.categories[ix])) else {
            let (name, suggestion, known) = unknown(contact.category, m.categories.keys());
            return Err(EvalError::UnknownCategory { name, suggestion, known });
        };
        let Some(route) = m.route(ch, cat) else {
            return Err(EvalError::CategoryNotOnChannel {
                category: contact.category.to_string(),
                channel: contact.channel.to_string(),
                arrives_on: category.channels.iter().map(|c| m.channels.key(*c).to_string()).collect(),
            });
        };
        let cal = self.calendar(channel.schedule);
        let local_time = contact.at.to_zoned_datetime(cal.time_zone.clone());
        let in_service_hours = cal.is_open(contact.at);
        let next_opening = if in_service_hours {
            None
        } else {
            cal.next_opening(contact.at).map(|t| t.to_zoned_datetime(cal.time_zone.clone()))
        };
        let closure_reason = cal.closure_reason(local_time.date());
        let path = route.path(&Facts { in_service_hours, ..contact.facts });
        let deadlines = self.deadlines(path, contact.at);
        Ok(Decision {
            path,
            team: m.teams.key(path.team),
            escalate_to: path.escalate_to.iter().map(|t| m.targets.key(*t)).collect(),
            local_time,
            in_service_hours,
            next_opening,
            closure_reason,
            deadlines,
        })
    }

    /// SLA targets and GDPR clocks that start with the contact, for the type its path sets.
    pub fn deadlines(&self, path: &Path, at: Timestamp) -> Vec<DeadlineInfo> {
        let mut out = Vec::new();
        let (Some(t), Some(Outcome::Resolved)) = (path.ticket_type, path.outcome) else {
            return out;
        };
        let cal = self.sla_calendar();
        if let Some(target) = self.model.sla.target(t) {
            for (kind, time) in [("first_response", &target.first_response), ("resolution", &target.resolution)] {
                if let Some(due) = cal.add_business_time(at, time.duration) {
                    out.push(DeadlineInfo {
                        kind,
                        due: due.to_zoned_datetime(cal.time_zone.clone()),
                        basis: format!("{} of business time ({t} SLA)", time.text),
                    });
                }
            }
        }
        let gdpr = &self.model.gdpr;
        for (kind, clock) in [
            ("gdpr_data_subject_request", &gdpr.data_subject_request),
            ("gdpr_breach_notification", &gdpr.breach_notification),
        ] {
            if clock.applies_to.contains(&t)
                && let Ok(due) = at.to_zoned_datetime(cal.time_zone.clone()).checked_add(clock.span)
            {
                out.push(DeadlineInfo { kind, due, basis: format!("{} ({})", clock.deadline, clock.legal_basis) });
            }
        }
        out
    }
}
