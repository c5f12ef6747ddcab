//! From cells to figures: the period asked for, the dimensions to group by, who may see what,
//! and each report (overview, backlog, escalations, incidents, GDPR clocks, the tickets behind
//! a figure).

use super::facts::{CellKey, Cube, NO_TARGET, TicketFacts, Watched, cells, date_of, day_number};
use super::metric::{DeadlineKind, HANDOFF_REASONS, Histogram, MetricKey, Metrics, OPEN_STATES, TimeStats, key};
use crate::domain::TicketState;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The longest period one report covers.
pub const MAX_PERIOD_DAYS: i32 = 400;

/// A dimension to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    Channel,
    Category,
    #[serde(rename = "type")]
    Type,
    Team,
    Operator,
    Target,
}

impl Dim {
    pub const ALL: [Dim; 6] = [Dim::Channel, Dim::Category, Dim::Type, Dim::Team, Dim::Operator, Dim::Target];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Channel => "channel",
            Dim::Category => "category",
            Dim::Type => "type",
            Dim::Team => "team",
            Dim::Operator => "operator",
            Dim::Target => "target",
        }
    }

    pub fn parse(s: &str) -> Option<Dim> {
        match s.trim() {
            "ticket_type" => Some(Dim::Type),
            other => Self::ALL.into_iter().find(|d| d.as_str() == other),
        }
    }

    /// `channel,type` → the dimensions, each once, in the order given. Spaces around a name and
    /// empty items are allowed, nothing else (the OpenAPI document's pattern for `by` says the same).
    pub fn parse_list(s: &str) -> Result<Vec<Dim>, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(|p| p.trim_matches(' ')).filter(|p| !p.is_empty()) {
            let found =
                Self::ALL.into_iter().find(|d| d.as_str() == part).or((part == "ticket_type").then_some(Dim::Type));
            let dim = found.ok_or_else(|| {
                format!("unknown dimension `{part}`; group by any of {}", Dim::ALL.map(|d| d.as_str()).join(", "))
            })?;
            if !out.contains(&dim) {
                out.push(dim);
            }
        }
        Ok(out)
    }

    pub fn value(self, k: &CellKey) -> &str {
        match self {
            Dim::Channel => &k.dims.channel,
            Dim::Category => &k.dims.category,
            Dim::Type => &k.dims.ticket_type,
            Dim::Team => &k.dims.team,
            Dim::Operator => &k.dims.operator,
            Dim::Target => &k.target,
        }
    }

    pub fn value_of_facts(self, f: &TicketFacts) -> Vec<&str> {
        match self {
            Dim::Channel => vec![&f.dims.channel],
            Dim::Category => vec![&f.dims.category],
            Dim::Type => vec![&f.dims.ticket_type],
            Dim::Team => vec![&f.dims.team],
            Dim::Operator => vec![&f.dims.operator],
            Dim::Target => f.targets.iter().map(String::as_str).collect(),
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The label a report shows for an empty value of a dimension.
pub fn shown(dim: Dim, value: &str) -> String {
    match (dim, value) {
        (Dim::Operator, "") => "(nobody)".into(),
        (Dim::Target, NO_TARGET) => "(no escalation)".into(),
        (_, "") => "(none)".into(),
        (_, v) => v.to_string(),
    }
}

/// A stretch of local days, both ends included, in the rulebook's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: Date,
    pub to: Date,
    /// `day`, `week`, `month` or `custom`.
    pub kind: &'static str,
    pub label: String,
}

/// A problem with the parameters of a report: which one, and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParameter {
    pub parameter: String,
    pub message: String,
}

impl BadParameter {
    pub fn new(parameter: &str, message: impl Into<String>) -> Self {
        Self { parameter: parameter.to_string(), message: message.into() }
    }
}

impl fmt::Display for BadParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.parameter, self.message)
    }
}

fn parse_date(parameter: &str, s: &str) -> Result<Date, BadParameter> {
    s.trim().parse::<Date>().map_err(|_| BadParameter::new(parameter, format!("`{s}` is not a date: use YYYY-MM-DD")))
}

impl Period {
    /// `period` (day, week, month) around `date` (default: today), or `from`..`to` (custom
    /// dates, both included; `to` defaults to `from`).
    pub fn parse(
        period: Option<&str>,
        date: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: Date,
    ) -> Result<Period, BadParameter> {
        if from.is_some() || to.is_some() {
            if period.is_some() || date.is_some() {
                return Err(BadParameter::new(
                    "from",
                    "give either `period` (with `date`) or `from` and `to`, not both",
                ));
            }
            let from_date = match from {
                Some(f) => parse_date("from", f)?,
                None => return Err(BadParameter::new("from", "`to` needs a `from` date")),
            };
            let to_date = match to {
                Some(t) => parse_date("to", t)?,
                None => from_date,
            };
            return Period::custom(from_date, to_date);
        }
        let at = match date {
            Some(d) => parse_date("date", d)?,
            None => today,
        };
        match period.map(str::trim).unwrap_or("month") {
            "day" => Ok(Period { from: at, to: at, kind: "day", label: at.to_string() }),
            "week" => {
                let monday = at
                    .checked_sub(jiff::Span::new().days(i64::from(at.weekday().to_monday_zero_offset())))
                    .map_err(|_| BadParameter::new("date", "out of range"))?;
                let sunday = monday
                    .checked_add(jiff::Span::new().days(6))
                    .map_err(|_| BadParameter::new("date", "out of range"))?;
                let iso = at.iso_week_date();
                Ok(Period {
                    from: monday,
                    to: sunday,
                    kind: "week",
                    label: format!("{}-W{:02}", iso.year(), iso.week()),
                })
            }
            "month" => {
                let first = at.first_of_month();
                Ok(Period {
                    from: first,
                    to: at.last_of_month(),
                    kind: "month",
                    label: first.strftime("%Y-%m").to_string(),
                })
            }
            other => Err(BadParameter::new("period", format!("`{other}` is not a period: use day, week or month"))),
        }
    }

    pub fn custom(from: Date, to: Date) -> Result<Period, BadParameter> {
        if to < from {
            return Err(BadParameter::new("to", format!("{to} is before {from}")));
        }
        let span = day_number(to) - day_number(from) + 1;
        if span > MAX_PERIOD_DAYS {
            return Err(BadParameter::new(
                "to",
                format!("at most {MAX_PERIOD_DAYS} days in one report ({span} asked)"),
            ));
        }
        Ok(Period { from, to, kind: "custom", label: format!("{from}..{to}") })
    }

    pub fn days(&self) -> (i32, i32) {
        (day_number(self.from), day_number(self.to))
    }
}

/// Who sees which tickets' figures: everyone's (supervisors, admins), or only some teams' (a
/// privacy operator sees the privacy team's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub teams: Option<Vec<String>>,
}

impl Scope {
    pub fn all() -> Self {
        Self { teams: None }
    }

    pub fn teams(teams: Vec<String>) -> Self {
        Self { teams: Some(teams) }
    }

    pub fn admits(&self, team: &str) -> bool {
        self.teams.as_ref().is_none_or(|ts| ts.iter().any(|t| t == team))
    }
}

/// Which cube answers a grouping, and which of its rows: the slim one unless operator or target
/// is asked for.
pub fn cube_for(by: &[Dim]) -> (Cube, TargetRows) {
    if by.contains(&Dim::Target) {
        (Cube::Period, TargetRows::PerTarget)
    } else if by.contains(&Dim::Operator) {
        (Cube::Period, TargetRows::Whole)
    } else {
        (Cube::Slim, TargetRows::Whole)
    }
}

/// Rows of the ticket as a whole (`target = ""`), or one per escalation target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRows {
    Whole,
    PerTarget,
}

impl TargetRows {
    pub fn admits(self, k: &CellKey) -> bool {
        match self {
            TargetRows::Whole => k.target.is_empty(),
            TargetRows::PerTarget => !k.target.is_empty(),
        }
    }
}

/// The group a cell falls in: its values of `by`.
pub type Group = Vec<(Dim, String)>;

/// Merges cells by `by`, keeping those the scope and the row kind admit.
pub fn group_cells<'a>(
    cells: impl IntoIterator<Item = &'a (CellKey, Metrics)>,
    by: &[Dim],
    rows: TargetRows,
    scope: &Scope,
) -> BTreeMap<Group, Metrics> {
    let mut out: BTreeMap<Group, Metrics> = BTreeMap::new();
    for (k, m) in cells {
        if !rows.admits(k) || !scope.admits(&k.dims.team) {
            continue;
        }
        let group: Group = by.iter().map(|d| (*d, d.value(k).to_string())).collect();
        out.entry(group).or_default().merge(m, 1);
    }
    out
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Contacts {
    pub received: i64,
    pub in_hours: i64,
    pub out_of_hours: i64,
    /// Calls out of hours that heard the closed message.
    pub not_served: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TicketFigures {
    pub opened: i64,
    pub resolved: i64,
    pub auto_resolved: i64,
    pub auto_closed: i64,
    /// Auto-resolved by the bot (type B) over opened.
    pub containment_rate: Option<f64>,
    pub first_contact_resolved: i64,
    /// Resolved without an escalation and without a second contact, over resolved.
    pub first_contact_resolution_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Timed {
    /// Wall-clock time.
    pub calendar: TimeStats,
    /// Open time of the SLA schedule only.
    pub business: TimeStats,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlaFigure {
    pub met: i64,
    pub breached: i64,
    /// Met over met and breached.
    pub compliance: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EscalationFigures {
    pub sent: i64,
    pub notices: i64,
    /// Reminders sent to targets whose notice was overdue.
    pub reminders: i64,
    pub notice_wait: Timed,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReminderFigures {
    /// Requesters' reminders (solleciti) received.
    pub received: i64,
    /// Tickets chased (counted on the day of their first reminder).
    pub tickets_chased: i64,
    pub per_ticket: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Csat {
    pub surveys_sent: i64,
    pub responses: i64,
    pub response_rate: Option<f64>,
    pub mean_rating: Option<f64>,
    /// Ratings of 4 or 5 over all ratings: the CSAT score.
    pub satisfied_share: Option<f64>,
    /// How many gave 1, 2, 3, 4, 5.
    pub ratings: [i64; 5],
    pub comments: i64,
}

/// The chat bot: how its conversations ended, and why those it did not solve left it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BotFigures {
    /// Conversations with the bot that ended in the period.
    pub conversations: i64,
    /// Solved by the bot (type B tickets).
    pub contained: i64,
    pub handed_off: i64,
    /// Asked for an operator out of service hours: closed with the other channels to try.
    pub closed_out_of_hours: i64,
    /// Contained over conversations: the bot's own containment.
    pub containment_rate: Option<f64>,
    /// Conversations in which the bot asked back ("Intendevi…?") at least once.
    pub asked_back: i64,
    /// Why the conversations not contained left the bot, by reason (every known reason, zeros
    /// included): `asked_for_operator`, `no_fitting_article`, `ask_back_unresolved`, `privacy`,
    /// `not_sure` (earlier builds' word for the two before it), `other`.
    pub handoff_reasons: BTreeMap<String, i64>,
}

/// Every period figure of one group.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Figures {
    pub contacts: Contacts,
    pub tickets: TicketFigures,
    pub first_response: Timed,
    pub resolution: Timed,
    /// By deadline: `first_response`, `resolution`, `gdpr_data_subject_request`,
    /// `gdpr_breach_notification`.
    pub sla: BTreeMap<String, SlaFigure>,
    pub escalations: EscalationFigures,
    pub reminders: ReminderFigures,
    pub csat: Csat,
    pub bot: BotFigures,
}

impl Figures {
    pub fn of(m: &Metrics) -> Figures {
        let g = |k: MetricKey| m.get(k);
        let timed = |count: i64, sum: MetricKey, h: Histogram, sum_b: MetricKey, hb: Histogram| Timed {
            calendar: TimeStats::of(count, g(sum), m.histogram(h)),
            business: TimeStats::of(count, g(sum_b), m.histogram(hb)),
        };
        let opened = g(key::CONTACTS);
        let resolved = g(key::RESOLVED);
        let ratings = [1u32, 2, 3, 4, 5].map(|r| g(key::RATING_BASE + r));
        let responses = g(key::SURVEY_RESPONSES);
        Figures {
            contacts: Contacts {
                received: opened,
                in_hours: opened - g(key::CONTACTS_OUT_OF_HOURS),
                out_of_hours: g(key::CONTACTS_OUT_OF_HOURS),
                not_served: g(key::NOT_SERVED),
            },
            tickets: TicketFigures {
                opened,
                resolved,
                auto_resolved: g(key::AUTO_RESOLVED),
                auto_closed: g(key::AUTO_CLOSED),
                containment_rate: rate(g(key::AUTO_RESOLVED), opened),
                first_contact_resolved: g(key::FIRST_CONTACT_RESOLVED),
                first_contact_resolution_rate: rate(g(key::FIRST_CONTACT_RESOLVED), resolved),
            },
            first_response: timed(
                g(key::FIRST_RESPONSES),
                key::FIRST_RESPONSE_SECONDS,
                Histogram::FirstResponse,
                key::FIRST_RESPONSE_BUSINESS_SECONDS,
                Histogram::FirstResponseBusiness,
            ),
            resolution: timed(
                resolved,
                key::RESOLUTION_SECONDS,
                Histogram::Resolution,
                key::RESOLUTION_BUSINESS_SECONDS,
                Histogram::ResolutionBusiness,
            ),
            sla: DeadlineKind::ALL
                .into_iter()
                .map(|k| {
                    let (met, breached) = (g(k.met()), g(k.breached()));
                    (k.as_str().to_string(), SlaFigure { met, breached, compliance: rate(met, met + breached) })
                })
                .collect(),
            escalations: EscalationFigures {
                sent: g(key::ESCALATIONS),
                notices: g(key::NOTICES),
                reminders: g(key::ESCALATION_REMINDERS),
                notice_wait: timed(
                    g(key::NOTICES),
                    key::NOTICE_WAIT_SECONDS,
                    Histogram::NoticeWait,
                    key::NOTICE_WAIT_BUSINESS_SECONDS,
                    Histogram::NoticeWaitBusiness,
                ),
            },
            reminders: ReminderFigures {
                received: g(key::REMINDERS),
                tickets_chased: g(key::TICKETS_CHASED),
                per_ticket: rate(g(key::REMINDERS), g(key::TICKETS_CHASED)),
            },
            csat: Csat {
                surveys_sent: g(key::SURVEYS_SENT),
                responses,
                response_rate: rate(responses, g(key::SURVEYS_SENT)),
                mean_rating: rate(g(key::RATING_SUM), responses),
                satisfied_share: rate(ratings[3] + ratings[4], responses),
                ratings,
                comments: g(key::SURVEY_COMMENTS),
            },
            bot: BotFigures {
                conversations: g(key::BOT_CONVERSATIONS),
                contained: g(key::BOT_CONTAINED),
                handed_off: g(key::BOT_HANDED_OFF),
                closed_out_of_hours: g(key::BOT_CLOSED_OUT_OF_HOURS),
                containment_rate: rate(g(key::BOT_CONTAINED), g(key::BOT_CONVERSATIONS)),
                asked_back: g(key::BOT_ASKED_BACK),
                handoff_reasons: HANDOFF_REASONS
                    .iter()
                    .map(|r| (r.to_string(), g(super::metric::handoff_reason_key(r))))
                    .collect(),
            },
        }
    }
}

/// One row of a report: the group's values and its figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row<F> {
    pub group: BTreeMap<Dim, String>,
    #[serde(flatten)]
    pub figures: F,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Overview {
    pub report: &'static str,
    pub period: Period,
    pub time_zone: String,
    pub by: Vec<Dim>,
    pub rows: Vec<Row<Figures>>,
    pub total: Figures,
}

/// The period's cells, as a store hands them over.
pub type CellRows = Vec<(CellKey, Metrics)>;

impl Overview {
    /// `cells`: the cube [`cube_for`] names, over the period; `slim`: the slim cube over the
    /// same period (for the total, which must not count a ticket once per target).
    pub fn build(
        period: Period,
        time_zone: &TimeZone,
        by: &[Dim],
        scope: &Scope,
        cells: &CellRows,
        slim: &CellRows,
    ) -> Overview {
        let (_, rows_kind) = cube_for(by);
        let rows = group_cells(cells, by, rows_kind, scope)
            .into_iter()
            .map(|(group, m)| Row { group: group.into_iter().collect(), figures: Figures::of(&m) })
            .collect();
        let total = group_cells(slim, &[], TargetRows::Whole, scope).remove(&Vec::new()).unwrap_or_default();
        Overview {
            report: "overview",
            period,
            time_zone: time_zone.iana_name().unwrap_or("UTC").to_string(),
            by: by.to_vec(),
            rows,
            total: Figures::of(&total),
        }
    }
}

/// How old an open item is, in local days since it was opened (or sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum AgeBucket {
    #[serde(rename = "today")]
    Today,
    #[serde(rename = "1-2d")]
    OneToTwo,
    #[serde(rename = "3-7d")]
    ThreeToSeven,
    #[serde(rename = "8-30d")]
    EightToThirty,
    #[serde(rename = "over_30d")]
    OverThirty,
}

impl AgeBucket {
    pub const ALL: [AgeBucket; 5] =
        [Self::Today, Self::OneToTwo, Self::ThreeToSeven, Self::EightToThirty, Self::OverThirty];

    pub fn of_age(days: i32) -> AgeBucket {
        match days {
            ..=0 => Self::Today,
            1..=2 => Self::OneToTwo,
            3..=7 => Self::ThreeToSeven,
            8..=30 => Self::EightToThirty,
            _ => Self::OverThirty,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::OneToTwo => "1-2d",
            Self::ThreeToSeven => "3-7d",
            Self::EightToThirty => "8-30d",
            Self::OverThirty => "over_30d",
        }
    }

    pub fn parse(s: &str) -> Option<AgeBucket> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Today => "opened today",
            Self::OneToTwo => "1–2 days",
            Self::ThreeToSeven => "3–7 days",
            Self::EightToThirty => "8–30 days",
            Self::OverThirty => "over 30 days",
        }
    }

    /// The opening days (day numbers) of this bucket's items, seen from `today`.
    pub fn days(self, today: i32) -> (i32, i32) {
        match self {
            Self::Today => (today, i32::MAX),
            Self::OneToTwo => (today - 2, today - 1),
            Self::ThreeToSeven => (today - 7, today - 3),
            Self::EightToThirty => (today - 30, today - 8),
            Self::OverThirty => (i32::MIN, today - 31),
        }
    }
}

/// Open tickets of one group by age and state.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BacklogFigures {
    pub open: i64,
    /// `bucket → state → tickets`.
    pub by_age: BTreeMap<AgeBucket, BTreeMap<String, i64>>,
    pub by_state: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Backlog {
    pub report: &'static str,
    pub as_of: Timestamp,
    pub time_zone: String,
    pub by: Vec<Dim>,
    pub rows: Vec<Row<BacklogFigures>>,
    pub total: BacklogFigures,
}

fn backlog_figures(cells: &[(i32, &Metrics)], today: i32) -> BacklogFigures {
    let mut by_age: BTreeMap<AgeBucket, BTreeMap<String, i64>> = BTreeMap::new();
    let mut by_state: BTreeMap<String, i64> = BTreeMap::new();
    let mut open = 0;
    for (day, m) in cells {
        let bucket = AgeBucket::of_age(today - day);
        for (i, state) in OPEN_STATES.iter().enumerate() {
            let n = m.get(key::OPEN_BASE + i as u32);
            if n != 0 {
                *by_age.entry(bucket).or_default().entry(state.as_str().to_string()).or_default() += n;
                *by_state.entry(state.as_str().to_string()).or_default() += n;
                open += n;
            }
        }
    }
    BacklogFigures { open, by_age, by_state }
}

impl Backlog {
    /// `open`: every cell of the open cube.
    pub fn build(now: Timestamp, time_zone: &TimeZone, by: &[Dim], scope: &Scope, open: &CellRows) -> Backlog {
        let today = day_number(now.to_zoned_datetime(time_zone.clone()).date());
        let rows_kind = if by.contains(&Dim::Target) { TargetRows::PerTarget } else { TargetRows::Whole };
        let mut groups: BTreeMap<Group, Vec<(i32, &Metrics)>> = BTreeMap::new();
        let mut all: Vec<(i32, &Metrics)> = Vec::new();
        for (k, m) in open {
            if !scope.admits(&k.dims.team) {
                continue;
            }
            if k.target.is_empty() {
                all.push((k.day, m));
            }
            if rows_kind.admits(k) {
                groups.entry(by.iter().map(|d| (*d, d.value(k).to_string())).collect()).or_default().push((k.day, m));
            }
        }
        let rows = groups
            .into_iter()
            .map(|(group, cells)| Row { group: group.into_iter().collect(), figures: backlog_figures(&cells, today) })
            .filter(|r| r.figures.open != 0)
            .collect();
        Backlog {
            report: "backlog",
            as_of: now,
            time_zone: time_zone.iana_name().unwrap_or("UTC").to_string(),
            by: by.to_vec(),
            rows,
            total: backlog_figures(&all, today),
        }
    }
}

/// One escalation target's figures: what is outstanding now, by age, and what happened in the
/// period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetFigures {
    pub outstanding: i64,
    pub outstanding_by_age: BTreeMap<AgeBucket, i64>,
    pub sent: i64,
    pub notices: i64,
    pub reminders: i64,
    pub notice_wait: Timed,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Escalations {
    pub report: &'static str,
    pub period: Period,
    pub as_of: Timestamp,
    pub time_zone: String,
    pub rows: Vec<Row<TargetFigures>>,
}

impl Escalations {
    /// `period_cells`: the period cube over the period; `open`: the open cube.
    pub fn build(
        period: Period,
        now: Timestamp,
        time_zone: &TimeZone,
        scope: &Scope,
        period_cells: &CellRows,
        open: &CellRows,
    ) -> Escalations {
        let today = day_number(now.to_zoned_datetime(time_zone.clone()).date());
        let mut targets: BTreeMap<String, (Metrics, BTreeMap<AgeBucket, i64>)> = BTreeMap::new();
        for (k, m) in period_cells {
            if k.target.is_empty() || k.target == NO_TARGET || !scope.admits(&k.dims.team) {
                continue;
            }
            targets.entry(k.target.clone()).or_default().0.merge(m, 1);
        }
        for (k, m) in open {
            if k.target.is_empty() || k.target == NO_TARGET || !scope.admits(&k.dims.team) {
                continue;
            }
            let n = m.get(key::OPEN_ESCALATIONS);
            if n != 0 {
                *targets.entry(k.target.clone()).or_default().1.entry(AgeBucket::of_age(today - k.day)).or_default() +=
                    n;
            }
        }
        let rows = targets
            .into_iter()
            .map(|(target, (m, by_age))| {
                let f = Figures::of(&m);
                Row {
                    group: BTreeMap::from([(Dim::Target, target)]),
                    figures: TargetFigures {
                        outstanding: by_age.values().sum(),
                        outstanding_by_age: by_age,
                        sent: f.escalations.sent,
                        notices: f.escalations.notices,
                        reminders: f.escalations.reminders,
                        notice_wait: f.escalations.notice_wait,
                    },
                }
            })
            .collect();
        Escalations {
            report: "escalations",
            period,
            as_of: now,
            time_zone: time_zone.iana_name().unwrap_or("UTC").to_string(),
            rows,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IncidentFigures {
    pub incident: String,
    /// Tickets linked to it in the period.
    pub linked: i64,
    /// Of those, reached by its closing notice.
    pub reached: i64,
    /// From the ticket's contact to the closing notice reaching it.
    pub time_to_closing_notice: TimeStats,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Incidents {
    pub report: &'static str,
    pub period: Period,
    pub rows: Vec<IncidentFigures>,
}

impl Incidents {
    pub fn build(period: Period, cells: &CellRows) -> Incidents {
        let mut by: BTreeMap<String, Metrics> = BTreeMap::new();
        for (k, m) in cells {
            by.entry(k.incident.clone()).or_default().merge(m, 1);
        }
        let rows = by
            .into_iter()
            .map(|(incident, m)| IncidentFigures {
                incident,
                linked: m.get(key::INCIDENT_LINKED),
                reached: m.get(key::INCIDENT_REACHED),
                time_to_closing_notice: TimeStats::of(
                    m.get(key::INCIDENT_REACHED),
                    m.get(key::INCIDENT_WAIT_SECONDS),
                    m.histogram(Histogram::IncidentWait),
                ),
            })
            .collect();
        Incidents { report: "incidents", period, rows }
    }
}

/// One open GDPR clock and how much of it is left.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GdprClock {
    pub reference: String,
    pub ticket_id: String,
    /// `gdpr_data_subject_request` (art. 12(3)) or `gdpr_breach_notification` (art. 33).
    pub kind: String,
    pub due: Timestamp,
    pub team: String,
    pub state: TicketState,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ticket_type: String,
    /// Whole days left (data-subject requests); negative once late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    /// Whole hours left (breach notifications); negative once late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours_left: Option<i64>,
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GdprClocks {
    pub report: &'static str,
    pub as_of: Timestamp,
    pub data_subject_requests: Vec<GdprClock>,
    pub breach_notifications: Vec<GdprClock>,
}

impl GdprClocks {
    pub fn build(now: Timestamp, scope: &Scope, watched: &[Watched]) -> GdprClocks {
        let mut dsr = Vec::new();
        let mut breach = Vec::new();
        let mut sorted: Vec<&Watched> = watched.iter().filter(|w| scope.admits(&w.team)).collect();
        sorted.sort_by(|a, b| (a.due, &a.ticket_id, &a.kind).cmp(&(b.due, &b.ticket_id, &b.kind)));
        for w in sorted {
            let left = w.due.as_second() - now.as_second();
            // Rounded down: "0 days left" is the last day; -1 is a day late.
            let (days, hours) = (left.div_euclid(86_400), left.div_euclid(3_600));
            let breach_kind = w.kind == DeadlineKind::GdprBreachNotification.as_str();
            let clock = GdprClock {
                reference: w.reference.clone(),
                ticket_id: w.ticket_id.0.clone(),
                kind: w.kind.clone(),
                due: w.due,
                team: w.team.clone(),
                state: w.state,
                ticket_type: w.ticket_type.clone(),
                days_left: (!breach_kind).then_some(days),
                hours_left: breach_kind.then_some(hours),
                overdue: left < 0,
            };
            if breach_kind { breach.push(clock) } else { dsr.push(clock) }
        }
        GdprClocks { report: "gdpr", as_of: now, data_subject_requests: dsr, breach_notifications: breach }
    }
}

/// A figure whose tickets a drill-down lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    pub cube: Cube,
    pub key: MetricKey,
    pub name: String,
}

/// The period figures a drill-down takes by a fixed name, with the key each counts under.
const PERIOD_FIGURES: [(&str, MetricKey); 21] = [
    ("contacts", key::CONTACTS),
    ("opened", key::CONTACTS),
    ("out_of_hours", key::CONTACTS_OUT_OF_HOURS),
    ("not_served", key::NOT_SERVED),
    ("resolved", key::RESOLVED),
    ("auto_resolved", key::AUTO_RESOLVED),
    ("auto_closed", key::AUTO_CLOSED),
    ("first_contact_resolved", key::FIRST_CONTACT_RESOLVED),
    ("first_responses", key::FIRST_RESPONSES),
    ("escalations", key::ESCALATIONS),
    ("notices", key::NOTICES),
    ("escalation_reminders", key::ESCALATION_REMINDERS),
    ("reminders", key::REMINDERS),
    ("tickets_chased", key::TICKETS_CHASED),
    ("surveys_sent", key::SURVEYS_SENT),
    ("bot_conversations", key::BOT_CONVERSATIONS),
    ("bot_contained", key::BOT_CONTAINED),
    ("bot_handed_off", key::BOT_HANDED_OFF),
    ("bot_closed_out_of_hours", key::BOT_CLOSED_OUT_OF_HOURS),
    ("bot_asked_back", key::BOT_ASKED_BACK),
    ("survey_responses", key::SURVEY_RESPONSES),
];

impl Figure {
    /// Every name [`Figure::parse`] takes, in the order the error message lists them: the
    /// OpenAPI document's enum for `figure`.
    pub fn names() -> Vec<String> {
        let mut names: Vec<String> = PERIOD_FIGURES.iter().map(|(n, _)| n.to_string()).collect();
        names.extend((1..=5).map(|r| format!("rating:{r}")));
        names.extend(HANDOFF_REASONS.iter().map(|r| format!("handoff:{r}")));
        for kind in DeadlineKind::ALL {
            names.push(format!("sla_met:{}", kind.as_str()));
            names.push(format!("sla_breached:{}", kind.as_str()));
        }
        names.push("open".into());
        names.extend(OPEN_STATES.iter().map(|s| format!("open:{}", s.as_str())));
        names.push("outstanding_escalations".into());
        names
    }

    /// The figures a drill-down takes, by the names the JSON reports use.
    pub fn parse(name: &str) -> Result<Figure, BadParameter> {
        let period = |key| Ok(Figure { cube: Cube::Period, key, name: name.to_string() });
        if let Some((_, key)) = PERIOD_FIGURES.iter().find(|(n, _)| *n == name) {
            return period(*key);
        }
        if name == "outstanding_escalations" {
            return Ok(Figure { cube: Cube::Open, key: key::OPEN_ESCALATIONS, name: name.into() });
        }
        if let Some((what, deadline)) = name.split_once(':')
            && let Some(kind) = DeadlineKind::parse(deadline)
        {
            match what {
                "sla_met" => return period(kind.met()),
                "sla_breached" => return period(kind.breached()),
                _ => {}
            }
        }
        if let Some(state) = name.strip_prefix("open:")
            && let Some(i) = OPEN_STATES.iter().position(|s| s.as_str() == state)
        {
            return Ok(Figure { cube: Cube::Open, key: key::OPEN_BASE + i as u32, name: name.into() });
        }
        if name == "open" {
            return Ok(Figure { cube: Cube::Open, key: key::OPEN_BASE, name: name.into() });
        }
        if let Some(reason) = name.strip_prefix("handoff:")
            && HANDOFF_REASONS.contains(&reason)
        {
            return period(super::metric::handoff_reason_key(reason));
        }
        // Exactly one digit: `rating:01` or `rating:+1` are not names of the figure.
        if let Some(rating) = name.strip_prefix("rating:").filter(|r| r.len() == 1).and_then(|r| r.parse::<u32>().ok())
            && (1..=5).contains(&rating)
        {
            return period(key::RATING_BASE + rating);
        }
        Err(BadParameter::new(
            "figure",
            format!(
                "unknown figure `{name}`; use one of {}, rating:<1-5>, handoff:<reason>, sla_met:<deadline>, \
                 sla_breached:<deadline>, open, open:<state>, outstanding_escalations",
                PERIOD_FIGURES.map(|(n, _)| n).join(", ")
            ),
        ))
    }

    /// Whether a key of the figure's cube (or of the slim cube, for a period figure) counts in
    /// it (`open` stands for every open state).
    fn matches(&self, key: MetricKey) -> bool {
        if self.cube == Cube::Open && self.name == "open" {
            return (key::OPEN_BASE..key::OPEN_BASE + OPEN_STATES.len() as u32).contains(&key);
        }
        self.key == key
    }
}

/// A ticket behind a figure. Ids, the reference and what the report groups by: no personal
/// data.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ListedTicket {
    pub reference: String,
    pub ticket_id: String,
    pub channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub category: String,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub ticket_type: String,
    pub team: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub operator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TicketState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// The local days the figure counts the ticket on.
    pub days: Vec<Date>,
}

/// Which tickets count in a figure over some days, within a group.
#[derive(Debug, Clone)]
pub struct DrillDown {
    pub figure: Figure,
    pub from_day: i32,
    pub to_day: i32,
    pub filter: Vec<(Dim, String)>,
    pub scope: Scope,
}

impl DrillDown {
    /// The days (of the figure) on which `facts` counts in it, if any: the same cells the
    /// aggregates add it to, so the list adds up to the figure.
    pub fn days_of(&self, facts: &TicketFacts) -> Vec<Date> {
        if !self.scope.admits(&facts.dims.team) {
            return Vec::new();
        }
        let by_target = self.filter.iter().any(|(d, _)| *d == Dim::Target);
        let by_operator = self.filter.iter().any(|(d, _)| *d == Dim::Operator);
        let mut days: Vec<i32> = Vec::new();
        for (k, m) in cells(facts) {
            let wanted_cube = match (self.figure.cube, by_target || by_operator) {
                (Cube::Period, false) => Cube::Slim,
                (cube, _) => cube,
            };
            if k.cube != wanted_cube || k.day < self.from_day || k.day > self.to_day {
                continue;
            }
            if by_target == k.target.is_empty() {
                continue;
            }
            if !self.filter.iter().all(|(d, v)| d.value(&k) == v) {
                continue;
            }
            if m.iter().any(|(key, n)| n != 0 && self.figure.matches(key)) {
                days.push(k.day);
            }
        }
        days.sort();
        days.dedup();
        days.into_iter().map(date_of).collect()
    }

    pub fn list(&self, facts: &TicketFacts) -> Option<ListedTicket> {
        let days = self.days_of(facts);
        (!days.is_empty()).then(|| ListedTicket {
            reference: facts.reference.clone(),
            ticket_id: facts.ticket_id.0.clone(),
            channel: facts.dims.channel.clone(),
            category: facts.dims.category.clone(),
            ticket_type: facts.dims.ticket_type.clone(),
            team: facts.dims.team.clone(),
            operator: facts.dims.operator.clone(),
            state: facts.state,
            created_at: facts.created_at,
            days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn periods() {
        let today = date("2026-12-03");
        let month = Period::parse(None, None, None, None, today).unwrap();
        assert_eq!((month.from, month.to, month.label.as_str()), (date("2026-12-01"), date("2026-12-31"), "2026-12"));
        let week = Period::parse(Some("week"), Some("2026-12-03"), None, None, today).unwrap();
        assert_eq!((week.from, week.to, week.label.as_str()), (date("2026-11-30"), date("2026-12-06"), "2026-W49"));
        let day = Period::parse(Some("day"), None, None, None, today).unwrap();
        assert_eq!((day.from, day.to), (today, today));
        let custom = Period::parse(None, None, Some("2026-01-01"), Some("2026-03-31"), today).unwrap();
        assert_eq!(custom.kind, "custom");
        let bad = Period::parse(None, None, Some("2026-03-31"), Some("2026-01-01"), today).unwrap_err();
        assert_eq!(bad.parameter, "to");
        let bad = Period::parse(Some("year"), None, None, None, today).unwrap_err();
        assert!(bad.message.contains("day, week or month"), "{bad}");
        let bad = Period::parse(None, None, Some("03/12/2026"), None, today).unwrap_err();
        assert!(bad.message.contains("YYYY-MM-DD"), "{bad}");
        let bad = Period::parse(None, None, Some("2020-01-01"), Some("2026-01-01"), today).unwrap_err();
        assert!(bad.message.contains("at most"), "{bad}");
        assert!(Period::parse(Some("day"), None, Some("2026-01-01"), None, today).is_err());
    }

    #[test]
    fn dimensions() {
        assert_eq!(Dim::parse_list("channel, type,channel").unwrap(), [Dim::Channel, Dim::Type]);
        let err = Dim::parse_list("chanel").unwrap_err();
        assert!(err.contains("`chanel`") && err.contains("operator"), "{err}");
        assert_eq!(cube_for(&[Dim::Channel, Dim::Type]).0, Cube::Slim);
        assert_eq!(cube_for(&[Dim::Operator]), (Cube::Period, TargetRows::Whole));
        assert_eq!(cube_for(&[Dim::Target]), (Cube::Period, TargetRows::PerTarget));
    }

    #[test]
    fn figures_parse() {
        assert_eq!(Figure::parse("sla_breached:resolution").unwrap().key, DeadlineKind::Resolution.breached());
        assert_eq!(Figure::parse("open:new").unwrap().cube, Cube::Open);
        assert!(Figure::parse("sla_breached:nope").is_err());
        assert!(Figure::parse("rating:6").is_err());
    }

    #[test]
    fn age_buckets() {
        assert_eq!(AgeBucket::of_age(0), AgeBucket::Today);
        assert_eq!(AgeBucket::of_age(2), AgeBucket::OneToTwo);
        assert_eq!(AgeBucket::of_age(31), AgeBucket::OverThirty);
        for b in AgeBucket::ALL {
            let (lo, hi) = b.days(1000);
            for age in [0, 1, 2, 3, 7, 8, 30, 31, 400] {
                let day = 1000 - age;
                assert_eq!(lo <= day && day <= hi, AgeBucket::of_age(age) == b, "{b:?} age {age}");
            }
        }
    }
}
