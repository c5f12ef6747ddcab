//! The reports as CSV.
//!
//! Two dialects, both RFC 4180 in their grammar (CRLF line ends, a header row, fields with the
//! separator, a quote or a line break in double quotes, quotes doubled):
//! - [`Dialect::ExcelIt`], the default: what Excel opens cleanly with Italian regional settings,
//!   which reads `;` as the list separator and `,` as the decimal mark, and needs a UTF-8
//!   byte-order mark to read accented text as UTF-8. So: `;` between fields, decimal comma,
//!   a BOM. Dates are ISO (`2026-12-03`), which Excel reads as dates.
//! - [`Dialect::Rfc4180`]: `,` between fields, decimal point, no BOM: for scripts.
//!
//! Durations are in seconds; rates are fractions (0,875). Empty fields mean "no value" (a rate
//! over nothing, a percentile of no tickets).

use super::metric::TimeStats;
use super::report::{
    AgeBucket, Backlog, BacklogFigures, Dim, Escalations, Figures, GdprClocks, Incidents, ListedTicket, Overview, Row,
    shown,
};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    ExcelIt,
    Rfc4180,
}

impl Dialect {
    pub fn parse(s: &str) -> Option<Dialect> {
        match s.trim() {
            "excel-it" | "excel_it" | "excel" => Some(Dialect::ExcelIt),
            "rfc4180" | "rfc" | "comma" => Some(Dialect::Rfc4180),
            _ => None,
        }
    }

    fn separator(self) -> char {
        match self {
            Dialect::ExcelIt => ';',
            Dialect::Rfc4180 => ',',
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Num(f64),
    Empty,
}

impl From<Option<f64>> for Value {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Value::Empty, Value::Num)
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::Empty, Value::Int)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

/// A table: column names and rows of values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsvTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl CsvTable {
    /// Adds a row from `(column, value)` pairs; the first row fixes the columns.
    fn push(&mut self, cells: Vec<(String, Value)>) {
        if self.columns.is_empty() && self.rows.is_empty() {
            self.columns = cells.iter().map(|(c, _)| c.clone()).collect();
        }
        self.rows.push(cells.into_iter().map(|(_, v)| v).collect());
    }

    pub fn to_csv(&self, dialect: Dialect) -> String {
        let mut out = String::new();
        if dialect == Dialect::ExcelIt {
            out.push('\u{feff}');
        }
        let sep = dialect.separator();
        let line = |out: &mut String, fields: Vec<String>| {
            let quoted: Vec<String> = fields.iter().map(|f| quote(f, sep)).collect();
            out.push_str(&quoted.join(&sep.to_string()));
            out.push_str("\r\n");
        };
        line(&mut out, self.columns.clone());
        for row in &self.rows {
            line(&mut out, row.iter().map(|v| format_value(v, dialect)).collect());
        }
        out
    }
}

fn format_value(v: &Value, dialect: Dialect) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Empty => String::new(),
        Value::Num(x) => {
            // Up to four decimals, trailing zeros dropped: 0.875, 12.5, 3.
            let mut s = format!("{x:.4}");
            if s.contains('.') {
                while s.ends_with('0') {
                    s.pop();
                }
                if s.ends_with('.') {
                    s.pop();
                }
            }
            if dialect == Dialect::ExcelIt { s.replace('.', ",") } else { s }
        }
    }
}

/// A field as RFC 4180 wants it. A leading `=`, `+`, `-` or `@` in text is left as it is:
/// every text field here is an id, a reference or a date, never free text.
fn quote(field: &str, sep: char) -> String {
    if field.contains(sep) || field.contains('"') || field.contains('\n') || field.contains('\r') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn group_columns(group: &BTreeMap<Dim, String>, by: &[Dim]) -> Vec<(String, Value)> {
    by.iter()
        .map(|d| (d.as_str().to_string(), Value::Text(shown(*d, group.get(d).map_or("", String::as_str)))))
        .collect()
}

fn time_columns(prefix: &str, t: &TimeStats) -> Vec<(String, Value)> {
    vec![
        (format!("{prefix}_count"), t.count.into()),
        (format!("{prefix}_mean_seconds"), t.mean_seconds.into()),
        (format!("{prefix}_p50_seconds"), t.p50_seconds.into()),
        (format!("{prefix}_p90_seconds"), t.p90_seconds.into()),
    ]
}

fn figure_columns(f: &Figures) -> Vec<(String, Value)> {
    let mut c: Vec<(String, Value)> = vec![
        ("contacts_received".into(), f.contacts.received.into()),
        ("contacts_in_hours".into(), f.contacts.in_hours.into()),
        ("contacts_out_of_hours".into(), f.contacts.out_of_hours.into()),
        ("not_served".into(), f.contacts.not_served.into()),
        ("opened".into(), f.tickets.opened.into()),
        ("resolved".into(), f.tickets.resolved.into()),
        ("auto_resolved".into(), f.tickets.auto_resolved.into()),
        ("auto_closed".into(), f.tickets.auto_closed.into()),
        ("containment_rate".into(), f.tickets.containment_rate.into()),
        ("first_contact_resolved".into(), f.tickets.first_contact_resolved.into()),
        ("first_contact_resolution_rate".into(), f.tickets.first_contact_resolution_rate.into()),
    ];
    c.extend(time_columns("first_response", &f.first_response.calendar));
    c.extend(time_columns("first_response_business", &f.first_response.business));
    c.extend(time_columns("resolution", &f.resolution.calendar));
    c.extend(time_columns("resolution_business", &f.resolution.business));
    for (kind, s) in &f.sla {
        c.push((format!("sla_{kind}_met"), s.met.into()));
        c.push((format!("sla_{kind}_breached"), s.breached.into()));
        c.push((format!("sla_{kind}_compliance"), s.compliance.into()));
    }
    c.push(("escalations_sent".into(), f.escalations.sent.into()));
    c.push(("notices_received".into(), f.escalations.notices.into()));
    c.push(("escalation_reminders".into(), f.escalations.reminders.into()));
    c.extend(time_columns("notice_wait", &f.escalations.notice_wait.calendar));
    c.extend(time_columns("notice_wait_business", &f.escalations.notice_wait.business));
    c.push(("reminders_received".into(), f.reminders.received.into()));
    c.push(("tickets_chased".into(), f.reminders.tickets_chased.into()));
    c.push(("reminders_per_chased_ticket".into(), f.reminders.per_ticket.into()));
    c.push(("surveys_sent".into(), f.csat.surveys_sent.into()));
    c.push(("survey_responses".into(), f.csat.responses.into()));
    c.push(("survey_response_rate".into(), f.csat.response_rate.into()));
    c.push(("mean_rating".into(), f.csat.mean_rating.into()));
    c.push(("csat_satisfied_share".into(), f.csat.satisfied_share.into()));
    for (i, n) in f.csat.ratings.iter().enumerate() {
        c.push((format!("ratings_{}", i + 1), (*n).into()));
    }
    c.push(("survey_comments".into(), f.csat.comments.into()));
    c.push(("bot_conversations".into(), f.bot.conversations.into()));
    c.push(("bot_contained".into(), f.bot.contained.into()));
    c.push(("bot_handed_off".into(), f.bot.handed_off.into()));
    c.push(("bot_closed_out_of_hours".into(), f.bot.closed_out_of_hours.into()));
    c.push(("bot_containment_rate".into(), f.bot.containment_rate.into()));
    c.push(("bot_asked_back".into(), f.bot.asked_back.into()));
    for reason in super::metric::HANDOFF_REASONS {
        c.push((format!("handoff_{reason}"), f.bot.handoff_reasons.get(reason).copied().unwrap_or(0).into()));
    }
    c
}

fn period_columns(from: &jiff::civil::Date, to: &jiff::civil::Date) -> Vec<(String, Value)> {
    vec![("from".into(), from.to_string().into()), ("to".into(), to.to_string().into())]
}

pub fn overview(r: &Overview) -> CsvTable {
    let mut t = CsvTable::default();
    let rows: Vec<&Row<Figures>> = r.rows.iter().collect();
    for row in rows {
        let mut cells = period_columns(&r.period.from, &r.period.to);
        cells.extend(group_columns(&row.group, &r.by));
        cells.extend(figure_columns(&row.figures));
        t.push(cells);
    }
    let mut total = period_columns(&r.period.from, &r.period.to);
    total.extend(r.by.iter().map(|d| (d.as_str().to_string(), Value::Text("(all)".into()))));
    total.extend(figure_columns(&r.total));
    t.push(total);
    t
}

fn backlog_columns(f: &BacklogFigures) -> Vec<(String, Value)> {
    let mut c: Vec<(String, Value)> = vec![("open".into(), f.open.into())];
    for state in super::metric::OPEN_STATES {
        c.push((format!("state_{}", state.as_str()), f.by_state.get(state.as_str()).copied().unwrap_or(0).into()));
    }
    for bucket in AgeBucket::ALL {
        let n: i64 = f.by_age.get(&bucket).map_or(0, |s| s.values().sum());
        c.push((format!("age_{}", bucket.as_str()), n.into()));
    }
    c
}

pub fn backlog(r: &Backlog) -> CsvTable {
    let mut t = CsvTable::default();
    let as_of = ("as_of".to_string(), Value::Text(r.as_of.to_string()));
    for row in &r.rows {
        let mut cells = vec![as_of.clone()];
        cells.extend(group_columns(&row.group, &r.by));
        cells.extend(backlog_columns(&row.figures));
        t.push(cells);
    }
    let mut total = vec![as_of];
    total.extend(r.by.iter().map(|d| (d.as_str().to_string(), Value::Text("(all)".into()))));
    total.extend(backlog_columns(&r.total));
    t.push(total);
    t
}

pub fn escalations(r: &Escalations) -> CsvTable {
    let mut t = CsvTable::default();
    for row in &r.rows {
        let f = &row.figures;
        let mut c = period_columns(&r.period.from, &r.period.to);
        c.extend(group_columns(&row.group, &[Dim::Target]));
        c.push(("outstanding".into(), f.outstanding.into()));
        for bucket in AgeBucket::ALL {
            c.push((
                format!("outstanding_{}", bucket.as_str()),
                f.outstanding_by_age.get(&bucket).copied().unwrap_or(0).into(),
            ));
        }
        c.push(("sent".into(), f.sent.into()));
        c.push(("notices_received".into(), f.notices.into()));
        c.push(("reminders".into(), f.reminders.into()));
        c.extend(time_columns("notice_wait", &f.notice_wait.calendar));
        c.extend(time_columns("notice_wait_business", &f.notice_wait.business));
        t.push(c);
    }
    if t.columns.is_empty() {
        t.columns = ["from", "to", "target", "outstanding"].map(String::from).to_vec();
    }
    t
}

pub fn incidents(r: &Incidents) -> CsvTable {
    let mut t = CsvTable::default();
    for i in &r.rows {
        let mut c = period_columns(&r.period.from, &r.period.to);
        c.push(("incident".into(), i.incident.clone().into()));
        c.push(("linked_tickets".into(), i.linked.into()));
        c.push(("reached_by_closing_notice".into(), i.reached.into()));
        c.extend(time_columns("time_to_closing_notice", &i.time_to_closing_notice));
        t.push(c);
    }
    if t.columns.is_empty() {
        t.columns = ["from", "to", "incident", "linked_tickets"].map(String::from).to_vec();
    }
    t
}

pub fn gdpr(r: &GdprClocks) -> CsvTable {
    let mut t = CsvTable { columns: Vec::new(), rows: Vec::new() };
    for c in r.data_subject_requests.iter().chain(&r.breach_notifications) {
        t.push(vec![
            ("reference".into(), c.reference.clone().into()),
            ("kind".into(), c.kind.clone().into()),
            ("due".into(), c.due.to_string().into()),
            ("days_left".into(), c.days_left.into()),
            ("hours_left".into(), c.hours_left.into()),
            ("overdue".into(), Value::Text(if c.overdue { "yes" } else { "no" }.into())),
            ("team".into(), c.team.clone().into()),
            ("state".into(), c.state.as_str().into()),
            ("type".into(), c.ticket_type.clone().into()),
        ]);
    }
    if t.columns.is_empty() {
        t.columns = ["reference", "kind", "due", "days_left", "hours_left", "overdue", "team", "state", "type"]
            .map(String::from)
            .to_vec();
    }
    t
}

pub fn tickets(list: &[ListedTicket]) -> CsvTable {
    let mut t = CsvTable::default();
    for l in list {
        t.push(vec![
            ("reference".into(), l.reference.clone().into()),
            ("channel".into(), l.channel.clone().into()),
            ("category".into(), l.category.clone().into()),
            ("type".into(), l.ticket_type.clone().into()),
            ("team".into(), l.team.clone().into()),
            ("operator".into(), l.operator.clone().into()),
            ("state".into(), l.state.map_or("", |s| s.as_str()).into()),
            ("created_at".into(), l.created_at.map(|t| t.to_string()).unwrap_or_default().into()),
            ("days".into(), l.days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" ").into()),
        ]);
    }
    if t.columns.is_empty() {
        t.columns = ["reference", "channel", "category", "type", "team", "operator", "state", "created_at", "days"]
            .map(String::from)
            .to_vec();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_italian_and_rfc_4180() {
        let t = CsvTable {
            columns: vec!["team".into(), "rate".into(), "note".into()],
            rows: vec![vec![Value::Text("primo; livello".into()), Value::Num(0.875), Value::Text("a \"b\"".into())]],
        };
        let it = t.to_csv(Dialect::ExcelIt);
        assert_eq!(it, "\u{feff}team;rate;note\r\n\"primo; livello\";0,875;\"a \"\"b\"\"\"\r\n");
        let rfc = t.to_csv(Dialect::Rfc4180);
        assert_eq!(rfc, "team,rate,note\r\nprimo; livello,0.875,\"a \"\"b\"\"\"\r\n");
        assert_eq!(format_value(&Value::Num(3.0), Dialect::ExcelIt), "3");
        assert_eq!(format_value(&Value::Num(12.5), Dialect::ExcelIt), "12,5");
        assert_eq!(format_value(&Value::Empty, Dialect::ExcelIt), "");
    }
}
