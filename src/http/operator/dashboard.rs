//! The supervisors' dashboard: one server-rendered page of a period's figures, with charts drawn
//! as SVG from the aggregates (no scripts), and a page listing the tickets behind a figure, which
//! every bar and count links to. Same access as the reports (`GET /operator/reports/...`):
//! supervisors and admins, and privacy operators for the privacy team's figures.

use super::OperatorApi;
use super::reports::{Params, ReportQuery, drill_down, params, scope};
use crate::engine::Engine;
use crate::engine::reports::ListCursor;
use crate::http::operator_auth::OperatorIdentity;
use crate::i18n::{self, Lang, Tr, fill};
use crate::reports::NO_TARGET;
use crate::reports::TimeStats;
use crate::reports::report::{AgeBucket, Figures};
use crate::reports::svg::{Bar, bars, columns, escape};
use crate::reports::{Dim, Period, Scope};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use std::fmt::Write;

/// Where the dashboard is served: over the operator API (a bearer token or the identity
/// provider's JWT), or inside the operators' console (its sign-in session).
#[derive(Debug, Clone, Copy)]
pub struct Base {
    /// The dashboard's path; its drill-down is `<path>/tickets`.
    pub path: &'static str,
    /// Where a listed ticket's reference links to (`<prefix><reference>`), if anywhere.
    pub ticket_page: Option<&'static str>,
}

/// The operator API's dashboard.
pub const API: Base = Base { path: "/operator/reports/dashboard", ticket_page: None };

/// The page's language for a tool on the operator API: English when the request prefers it,
/// else Italian (the console's own pages follow the reader's choice instead).
pub fn language(headers: &HeaderMap) -> Tr {
    let first = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    Tr { lang: if first.starts_with("en") { Lang::En } else { Lang::It } }
}

pub fn router() -> Router<OperatorApi> {
    Router::new()
        .route("/operator/reports/dashboard", get(dashboard))
        .route("/operator/reports/dashboard/tickets", get(tickets))
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;color:#17324d;margin:0 auto;max-width:72rem;padding:1rem 1.5rem}\
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.8rem 0 .4rem}\
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.8rem;margin:1rem 0;padding:0;list-style:none}\
.tile{border:1px solid #c5cfd9;border-radius:.4rem;padding:.6rem .8rem}.tile b{display:block;font-size:1.5rem}\
table{border-collapse:collapse;margin:.4rem 0}th,td{border-bottom:1px solid #c5cfd9;padding:.3rem .7rem;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}a{color:#0059b3}form{margin:.6rem 0}\
label{margin-right:.4rem}input,select,button{font:inherit;padding:.2rem .4rem}.late{font-weight:700;color:#a61b1b}\
.periods{display:flex;gap:1.5rem;flex-wrap:wrap}svg{max-width:100%;height:auto;display:block}";

fn page(status: StatusCode, t: Tr, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        t.lang.code(),
        escape(title)
    );
    crate::http::survey::private_html(status, html)
}

/// A refusal as the page says it: its status and body. The reason is the engine's (English), as
/// the console shows every refusal.
pub fn problem_body(base: Base, t: Tr, p: &crate::http::Problem) -> (StatusCode, String) {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let at = p.field.as_deref().map(|f| format!(" (<code>{}</code>)", escape(f))).unwrap_or_default();
    let body = format!(
        "<h1>{}</h1><p role=\"alert\">{} <span lang=\"en\">{}</span>{at}</p><p><a href=\"{}\">{}</a></p>",
        escape(t.nav_reports()),
        escape(t.engine_says()),
        escape(&p.detail),
        base.path,
        escape(t.rep_back_to_month()),
    );
    (status, body)
}

fn problem_page(t: Tr, p: crate::http::Problem) -> Response {
    let (status, body) = problem_body(API, t, &p);
    page(status, t, t.rep_error_title(), &body)
}

/// `1.234` in Italian, `1,234` in English.
pub fn count(t: Tr, n: i64) -> String {
    let sep = if t.lang == Lang::It { '.' } else { ',' };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `92,5%` in Italian, `92.5%` in English.
pub fn percent(t: Tr, x: Option<f64>) -> String {
    match x {
        None => t.rep_none().into(),
        Some(x) => {
            let s = format!("{:.1}%", x * 100.0);
            if t.lang == Lang::It { s.replace('.', ",") } else { s }
        }
    }
}

fn seconds(t: Tr, s: i64) -> String {
    if s < 60 { "< 1 min".into() } else { i18n::span(t, jiff::SignedDuration::from_secs(s)) }
}

fn duration(t: Tr, stats: &TimeStats) -> String {
    match (stats.p50_seconds, stats.p90_seconds) {
        (Some(a), Some(b)) => format!("{} / {}", seconds(t, a), seconds(t, b)),
        _ => t.rep_none().into(),
    }
}

/// `07/12/2026`.
fn day(d: jiff::civil::Date) -> String {
    d.strftime("%d/%m/%Y").to_string()
}

fn month_name(t: Tr, month: i8) -> &'static str {
    i18n::lookup(t, &format!("month_{month}")).unwrap_or("?")
}

/// The period as a person names it: `dicembre 2026`, `settimana dal 30/11/2026 al 06/12/2026`.
fn period_name(t: Tr, p: &Period) -> String {
    let (from, to) = (day(p.from), day(p.to));
    match p.kind {
        "day" => fill(t.rep_period_day(), &[("date", &from)]),
        "week" => fill(t.rep_period_week(), &[("from", &from), ("to", &to)]),
        "month" => fill(
            t.rep_period_month(),
            &[("month", month_name(t, p.from.month())), ("year", &p.from.year().to_string())],
        ),
        _ => fill(t.rep_period_custom(), &[("from", &from), ("to", &to)]),
    }
}

/// The periods of the same kind just before and after `p` (none for custom dates).
fn nearby(p: &Period, today: jiff::civil::Date) -> Option<(Period, Period)> {
    if !matches!(p.kind, "day" | "week" | "month") {
        return None;
    }
    let around = |d: jiff::civil::Date| Period::parse(Some(p.kind), Some(&d.to_string()), None, None, today).ok();
    Some((around(p.from.yesterday().ok()?)?, around(p.to.tomorrow().ok()?)?))
}

/// A hand-off reason in words.
fn handoff_label(t: Tr, reason: &str) -> &'static str {
    i18n::lookup(t, &format!("handoff_{reason}")).unwrap_or(t.handoff_other())
}

fn age_label(t: Tr, b: AgeBucket) -> &'static str {
    match b {
        AgeBucket::Today => t.age_today(),
        AgeBucket::OneToTwo => t.age_one_to_two(),
        AgeBucket::ThreeToSeven => t.age_three_to_seven(),
        AgeBucket::EightToThirty => t.age_eight_to_thirty(),
        AgeBucket::OverThirty => t.age_over_thirty(),
    }
}

fn deadline_label(t: Tr, kind: &str) -> &'static str {
    match kind {
        "first_response" => t.deadline_first_response(),
        "resolution" => t.deadline_resolution(),
        "gdpr_data_subject_request" => t.deadline_gdpr_data_subject_request(),
        "gdpr_breach_notification" => t.deadline_gdpr_breach_notification(),
        other => i18n::lookup(t, other).unwrap_or("?"),
    }
}

fn ticket_type(t: Tr, code: &str) -> &'static str {
    i18n::type_label(t, code.parse().ok())
}

/// A figure's name (as the JSON reports and the drill-down's `figure` say it) in words.
pub fn figure_label(t: Tr, name: &str) -> String {
    if let Some(text) = i18n::lookup(t, &format!("figure_{name}")) {
        return text.into();
    }
    let (what, arg) = name.split_once(':').unwrap_or((name, ""));
    match what {
        "rating" => fill(t.figure_rating(), &[("n", arg)]),
        "handoff" => fill(t.figure_handoff(), &[("reason", handoff_label(t, arg))]),
        "sla_met" => fill(t.figure_sla_met(), &[("deadline", deadline_label(t, arg))]),
        "sla_breached" => fill(t.figure_sla_breached(), &[("deadline", deadline_label(t, arg))]),
        "open" => {
            let state = crate::reports::metric::OPEN_STATES
                .iter()
                .find(|s| s.as_str() == arg)
                .map_or(arg, |s| i18n::state_label(t, *s));
            fill(t.figure_open_state(), &[("state", state)])
        }
        _ => name.into(),
    }
}

fn dim_label(t: Tr, d: Dim) -> &'static str {
    match d {
        Dim::Channel => t.col_channel(),
        Dim::Category => t.col_category(),
        Dim::Type => t.col_type(),
        Dim::Team => t.col_team(),
        Dim::Operator => t.col_operator(),
        Dim::Target => t.esc_target(),
    }
}

/// A group's value in words: the rulebook's name, the type's, or what an empty value means.
fn dim_value(engine: &Engine, t: Tr, d: Dim, v: &str) -> String {
    match (d, v) {
        (Dim::Target, NO_TARGET) => t.dim_no_target().into(),
        (Dim::Type, "") => t.filter_untyped().into(),
        (_, "") => t.dim_none().into(),
        (Dim::Channel, v) => i18n::channel_name(engine, t.lang, v).into(),
        (Dim::Category, v) => i18n::category_name(engine, t.lang, Some(v)).into(),
        (Dim::Type, v) => ticket_type(t, v).into(),
        (Dim::Team, v) => i18n::team_name(engine, t.lang, v).into(),
        (Dim::Target, v) => i18n::target_name(engine, t.lang, v).into(),
        (Dim::Operator, v) => v.into(),
    }
}

/// The query string of a drill-down over the period.
fn tickets_href(base: Base, figure: &str, period: &Period, filter: &[(&str, &str)]) -> String {
    let mut href = format!("{}/tickets?figure={figure}&from={}&to={}", base.path, period.from, period.to);
    for (k, v) in filter {
        let _ = write!(href, "&{k}={}", urlencoding(v));
    }
    href
}

/// A ticket's reference, linked to its page where the caller has ticket pages (the console).
fn ticket_link(base: Base, reference: &str) -> String {
    match base.ticket_page {
        Some(prefix) => {
            format!("<a href=\"{}\">{}</a>", escape(&format!("{prefix}{}", urlencoding(reference))), escape(reference))
        }
        None => escape(reference),
    }
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn tile(label: &str, value: &str, href: Option<String>) -> String {
    let value = match href {
        Some(h) => format!("<a href=\"{}\">{}</a>", escape(&h), escape(value)),
        None => escape(value),
    };
    format!("<li class=\"tile\">{}<b>{value}</b></li>", escape(label))
}

async fn dashboard(State(api): State<OperatorApi>, who: OperatorIdentity, headers: HeaderMap, q: Params) -> Response {
    let t = language(&headers);
    show(t, render(View::Dashboard, &api, &who, q, API, t).await)
}

fn show(t: Tr, rendered: Result<(String, String), crate::http::Problem>) -> Response {
    match rendered {
        Ok((title, body)) => page(StatusCode::OK, t, &title, &body),
        Err(p) => problem_page(t, p),
    }
}

/// The report pages: the dashboard of a period, and the tickets behind one of its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Dashboard,
    Tickets,
}

/// A report page asked for, once the caller's scope and the query are known.
struct Page<'a> {
    api: &'a OperatorApi,
    scope: Scope,
    q: ReportQuery,
    base: Base,
    t: Tr,
}

/// The page `view` of the query, in `t`'s language: its title and its body (HTML).
pub async fn render(
    view: View,
    api: &OperatorApi,
    who: &OperatorIdentity,
    q: Params,
    base: Base,
    t: Tr,
) -> Result<(String, String), crate::http::Problem> {
    let page = Page { api, scope: scope(api, who)?, q: params(q)?, base, t };
    match view {
        View::Dashboard => dashboard_page(page).await,
        View::Tickets => tickets_page(page).await,
    }
}

/// The dashboard of the period the query asks for.
async fn dashboard_page(page: Page<'_>) -> Result<(String, String), crate::http::Problem> {
    let Page { api, scope, q, base, t } = page;
    if let Some(other) = [("by", q.by.is_some()), ("figure", q.figure.is_some()), ("format", q.format.is_some())]
        .iter()
        .find(|(_, given)| *given)
    {
        return Err(crate::http::Problem::unprocessable(other.0, "the dashboard takes period, date, from and to"));
    }
    let today = api.engine.report_today();
    let period = Period::parse(q.period.as_deref(), q.date.as_deref(), q.from.as_deref(), q.to.as_deref(), today)
        .map_err(|b| crate::http::Problem::unprocessable(b.parameter, b.message))?;
    let e = &api.engine;
    let overview = e.report_overview(period.clone(), &[Dim::Type], &scope).await?;
    let daily = e.report_daily(&period, &scope).await?;
    let backlog = e.report_backlog(&[], &scope).await?;
    let escalations = e.report_escalations(period.clone(), &scope).await?;
    let gdpr = e.report_gdpr(&scope).await?;
    let f: &Figures = &overview.total;
    let n = |x: i64| count(t, x);
    let name = period_name(t, &period);
    let title = fill(t.rep_title(), &[("period", &name)]);

    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{}</h1><p>{}</p>",
        escape(&title),
        escape(&fill(
            t.rep_intro(),
            &[("from", &day(period.from)), ("to", &day(period.to)), ("zone", &overview.time_zone)]
        )),
    );
    let option = |value: &str, text: &str| {
        let selected = if period.kind == value { " selected" } else { "" };
        format!("<option value=\"{value}\"{selected}>{}</option>", escape(text))
    };
    let _ = write!(
        body,
        "<form method=\"get\" aria-label=\"{form}\"><label for=\"period\">{label}</label>\
         <select id=\"period\" name=\"period\">{day}{week}{month}</select> \
         <label for=\"date\">{around}</label><input id=\"date\" name=\"date\" type=\"date\" value=\"{from}\"> \
         <button type=\"submit\" class=\"btn btn-primary\">{show}</button></form>",
        form = escape(t.rep_period_form()),
        label = escape(t.rep_period_label()),
        day = option("day", t.rep_day()),
        week = option("week", t.rep_week()),
        month = option("month", t.rep_month()),
        around = escape(t.rep_around()),
        from = period.from,
        show = escape(t.rep_show()),
    );
    if let Some((before, after)) = nearby(&period, today) {
        let href = |p: &Period| format!("{}?period={}&date={}", base.path, p.kind, p.from);
        let _ = write!(
            body,
            "<nav class=\"periods\" aria-label=\"{}\"><a href=\"{}\" rel=\"prev\">← {}</a><a href=\"{}\" rel=\"next\">{} →</a></nav>",
            escape(t.rep_periods_nav()),
            escape(&href(&before)),
            escape(&fill(t.rep_previous(), &[("period", &period_name(t, &before))])),
            escape(&href(&after)),
            escape(&fill(t.rep_next(), &[("period", &period_name(t, &after))])),
        );
    }

    let _ = write!(
        body,
        "<h2 id=\"glance\">{}</h2><ul class=\"tiles\" aria-labelledby=\"glance\">",
        escape(t.rep_at_a_glance())
    );
    let of = |part: i64, whole: i64| fill(t.rep_of(), &[("part", &n(part)), ("whole", &n(whole))]);
    // A figure links to its tickets when there are some: an empty list is not worth a click.
    for (label, value, figure) in [
        (t.tile_contacts(), n(f.contacts.received), Some(("contacts", f.contacts.received))),
        (t.tile_out_of_hours(), n(f.contacts.out_of_hours), Some(("out_of_hours", f.contacts.out_of_hours))),
        (t.tile_resolved(), n(f.tickets.resolved), Some(("resolved", f.tickets.resolved))),
        (t.tile_auto_resolved(), n(f.tickets.auto_resolved), Some(("auto_resolved", f.tickets.auto_resolved))),
        (t.tile_containment(), percent(t, f.tickets.containment_rate), None),
        (
            t.tile_first_contact(),
            percent(t, f.tickets.first_contact_resolution_rate),
            Some(("first_contact_resolved", f.tickets.first_contact_resolved)),
        ),
        (t.tile_first_response(), duration(t, &f.first_response.business), None),
        (t.tile_resolution(), duration(t, &f.resolution.business), None),
        (t.tile_escalations(), n(f.escalations.sent), Some(("escalations", f.escalations.sent))),
        (t.tile_reminders(), n(f.reminders.received), Some(("reminders", f.reminders.received))),
        (
            t.tile_bot_solved(),
            fill(
                t.rep_of_share(),
                &[
                    ("part", &n(f.bot.contained)),
                    ("whole", &n(f.bot.conversations)),
                    ("share", &percent(t, f.bot.containment_rate)),
                ],
            ),
            Some(("bot_contained", f.bot.contained)),
        ),
        (t.tile_bot_handed_off(), n(f.bot.handed_off), Some(("bot_handed_off", f.bot.handed_off))),
        (t.tile_csat(), percent(t, f.csat.satisfied_share), Some(("survey_responses", f.csat.responses))),
        (t.tile_surveys(), of(f.csat.responses, f.csat.surveys_sent), Some(("survey_responses", f.csat.responses))),
    ] {
        let href = figure.filter(|(_, behind)| *behind > 0).map(|(fig, _)| tickets_href(base, fig, &period, &[]));
        body.push_str(&tile(label, &value, href));
    }
    body.push_str("</ul>");

    // Contacts per day.
    let contacts =
        |x: i64| if x == 1 { t.chart_contact_one().to_string() } else { fill(t.chart_contacts(), &[("n", &n(x))]) };
    let per_day: Vec<Bar> = daily
        .iter()
        .map(|(date, d)| Bar {
            label: date.strftime("%d/%m").to_string(),
            value: d.contacts.received as f64,
            shown: contacts(d.contacts.received),
            href: Some(format!("{}/tickets?figure=contacts&from={date}&to={date}", base.path)),
        })
        .collect();
    let busiest = daily.iter().max_by_key(|(_, d)| d.contacts.received);
    let description = match busiest {
        Some((date, d)) if d.contacts.received > 0 => fill(
            t.chart_per_day_desc(),
            &[
                ("total", &n(f.contacts.received)),
                ("days", &daily.len().to_string()),
                ("busiest", &day(*date)),
                ("most", &n(d.contacts.received)),
            ],
        ),
        _ => t.chart_per_day_empty().into(),
    };
    let _ = write!(body, "<h2 id=\"per-day\">{}</h2>", escape(t.chart_per_day()));
    body.push_str(&columns("contacts-per-day", t.chart_per_day(), &description, &per_day));

    // SLA compliance per type.
    for (kind, heading, description) in [
        ("first_response", t.chart_sla_first_response(), t.chart_sla_first_response_desc()),
        ("resolution", t.chart_sla_resolution(), t.chart_sla_resolution_desc()),
    ] {
        let rows: Vec<Bar> = overview
            .rows
            .iter()
            .filter_map(|r| {
                let s = r.figures.sla.get(kind)?;
                let ty = r.group.get(&Dim::Type).cloned().unwrap_or_default();
                (s.met + s.breached > 0).then(|| Bar {
                    label: dim_value(e, t, Dim::Type, &ty),
                    value: s.compliance.unwrap_or(0.0),
                    shown: fill(t.chart_sla_bar(), &[("share", &percent(t, s.compliance)), ("late", &n(s.breached))]),
                    href: Some(tickets_href(base, &format!("sla_breached:{kind}"), &period, &[("type", &ty)])),
                })
            })
            .collect();
        let _ = write!(body, "<h2>{}</h2>", escape(heading));
        body.push_str(&bars(&format!("sla-{kind}"), heading, description, &rows, 1.0, t.rep_no_data()));
    }

    // Why chats left the bot.
    let left = f.bot.handed_off + f.bot.closed_out_of_hours;
    let rows: Vec<Bar> = crate::reports::metric::HANDOFF_REASONS
        .iter()
        .map(|reason| (*reason, f.bot.handoff_reasons.get(*reason).copied().unwrap_or(0)))
        // Earlier builds' `not_sure` and the catch-all only when they happened.
        .filter(|(reason, count)| *count > 0 || !matches!(*reason, "not_sure" | "other"))
        .map(|(reason, count)| Bar {
            label: handoff_label(t, reason).to_string(),
            value: count as f64,
            shown: fill(t.chart_chats(), &[("n", &n(count))]),
            href: Some(tickets_href(base, &format!("handoff:{reason}"), &period, &[])),
        })
        .collect();
    let max = rows.iter().map(|r| r.value).fold(0.0, f64::max);
    let _ = write!(
        body,
        "<h2>{}</h2>",
        escape(&fill(t.chart_handoff(), &[("left", &n(left)), ("total", &n(f.bot.conversations))]))
    );
    body.push_str(&bars(
        "handoff-reasons",
        t.chart_handoff_title(),
        &fill(t.chart_handoff_desc(), &[("handed", &n(f.bot.handed_off)), ("closed", &n(f.bot.closed_out_of_hours))]),
        &rows,
        max,
        t.rep_no_data(),
    ));

    // Backlog by age.
    let rows: Vec<Bar> = AgeBucket::ALL
        .iter()
        .map(|b| {
            let open: i64 = backlog.total.by_age.get(b).map_or(0, |s| s.values().sum());
            Bar {
                label: age_label(t, *b).to_string(),
                value: open as f64,
                shown: fill(t.chart_open(), &[("n", &n(open))]),
                href: Some(format!("{}/tickets?figure=open&age={}", base.path, b.as_str())),
            }
        })
        .collect();
    let max = rows.iter().map(|r| r.value).fold(0.0, f64::max);
    let _ = write!(body, "<h2>{}</h2>", escape(&fill(t.chart_backlog(), &[("n", &n(backlog.total.open))])));
    body.push_str(&bars("backlog", t.chart_backlog_title(), t.chart_backlog_desc(), &rows, max, t.rep_no_data()));

    // Escalations outstanding per target.
    let _ = write!(body, "<h2 id=\"escalations\">{}</h2>", escape(t.esc_heading()));
    if escalations.rows.is_empty() {
        let _ = write!(body, "<p>{}</p>", escape(t.esc_none()));
    } else {
        let heads = [t.esc_target(), t.esc_outstanding(), t.esc_old(), t.esc_sent(), t.esc_notices(), t.esc_wait()];
        let _ = write!(body, "<table aria-labelledby=\"escalations\">{}<tbody>", column_heads(&heads));
        for r in &escalations.rows {
            let target = r.group.get(&Dim::Target).cloned().unwrap_or_default();
            let old: i64 = [AgeBucket::EightToThirty, AgeBucket::OverThirty]
                .iter()
                .filter_map(|b| r.figures.outstanding_by_age.get(b))
                .sum();
            let href = format!("{}/tickets?figure=outstanding_escalations&target={}", base.path, urlencoding(&target));
            let waiting = if r.figures.outstanding > 0 {
                format!("<a href=\"{}\">{}</a>", escape(&href), n(r.figures.outstanding))
            } else {
                n(r.figures.outstanding)
            };
            let _ = write!(
                body,
                "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(&dim_value(e, t, Dim::Target, &target)),
                waiting,
                n(old),
                n(r.figures.sent),
                n(r.figures.notices),
                escape(&duration(t, &r.figures.notice_wait.business)),
            );
        }
        body.push_str("</tbody></table>");
    }

    // GDPR clocks.
    let _ = write!(body, "<h2 id=\"gdpr\">{}</h2>", escape(t.gdpr_heading()));
    if gdpr.data_subject_requests.is_empty() && gdpr.breach_notifications.is_empty() {
        let _ = write!(body, "<p>{}</p>", escape(t.gdpr_none()));
    } else {
        let heads = [t.gdpr_ticket(), t.gdpr_clock(), t.gdpr_due(), t.gdpr_left()];
        let _ = write!(body, "<table aria-labelledby=\"gdpr\">{}<tbody>", column_heads(&heads));
        let zone = e.rules.sla_calendar().time_zone.clone();
        for c in gdpr.breach_notifications.iter().chain(&gdpr.data_subject_requests) {
            let left = match (c.days_left, c.hours_left) {
                (Some(d), _) => fill(t.gdpr_days_left(), &[("n", &n(d.abs()))]),
                (_, Some(h)) => fill(t.gdpr_hours_left(), &[("n", &n(h.abs()))]),
                _ => String::new(),
            };
            let clock = if c.hours_left.is_some() { t.gdpr_breach() } else { t.gdpr_request() };
            // Late says so in words (and bold), not by colour alone.
            let left = if c.overdue {
                format!("<span class=\"late\">{}</span>", escape(&fill(t.gdpr_overdue_by(), &[("left", &left)])))
            } else {
                escape(&left)
            };
            let reference = ticket_link(base, &c.reference);
            let _ = write!(
                body,
                "<tr><th scope=\"row\">{reference}</th><td>{}</td><td>{}</td><td>{left}</td></tr>",
                escape(clock),
                c.due.to_zoned_datetime(zone.clone()).strftime("%d/%m/%Y %H:%M"),
            );
        }
        body.push_str("</tbody></table>");
    }
    Ok((title, body))
}

async fn tickets(State(api): State<OperatorApi>, who: OperatorIdentity, headers: HeaderMap, q: Params) -> Response {
    let t = language(&headers);
    show(t, render(View::Tickets, &api, &who, q, API, t).await)
}

/// The tickets behind a figure.
async fn tickets_page(page: Page<'_>) -> Result<(String, String), crate::http::Problem> {
    let Page { api, scope, q, base, t } = page;
    let listed = async {
        let (drill, period, age) = drill_down(api, &q, scope)?;
        let after = q.after.as_deref().map(ListCursor::parse).transpose()?;
        let limit = super::reports::listed_limit(&q)?;
        let page = api.engine.report_tickets(&drill, after.as_ref(), limit).await?;
        Ok::<_, crate::http::Problem>((q, drill, period, age, page))
    };
    let (q, drill, period, age, listed) = listed.await?;
    let e = &api.engine;
    let figure = figure_label(t, &drill.figure.name);
    let title = fill(t.rep_title_tickets(), &[("figure", &figure)]);
    let when = match (&period, age) {
        (Some(p), _) => fill(t.drill_period(), &[("from", &day(p.from)), ("to", &day(p.to))]),
        (None, Some(a)) => fill(t.drill_open_now_age(), &[("age", age_label(t, a))]),
        (None, None) => t.drill_open_now().into(),
    };
    let filter: Vec<String> =
        drill.filter.iter().map(|(d, v)| format!("{} {}", dim_label(t, *d), dim_value(e, t, *d, v))).collect();
    let within = if filter.is_empty() {
        String::new()
    } else {
        format!("; {}", fill(t.drill_within(), &[("filter", &filter.join(", "))]))
    };
    let mut body = format!(
        "<p><a href=\"{}\">{}</a></p><h1>{}</h1><p>{}</p>",
        base.path,
        escape(t.drill_back()),
        escape(&title),
        escape(&format!("{when}{within}")),
    );
    if listed.tickets.is_empty() {
        let _ = write!(body, "<p>{}</p>", escape(t.drill_none()));
    } else {
        let zone = e.rules.sla_calendar().time_zone.clone();
        let heads = [
            t.col_reference(),
            t.col_channel(),
            t.col_type(),
            t.col_team(),
            t.col_state(),
            t.col_created(),
            t.drill_counted_on(),
        ];
        let _ = write!(
            body,
            "<table><caption>{}</caption>{}<tbody>",
            escape(&fill(t.drill_count(), &[("n", &n_of(t, listed.tickets.len()))])),
            column_heads(&heads),
        );
        for ticket in &listed.tickets {
            let days: Vec<String> = ticket.days.iter().map(|d| day(*d)).collect();
            let reference = ticket_link(base, &ticket.reference);
            let _ = write!(
                body,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                reference,
                escape(&dim_value(e, t, Dim::Channel, &ticket.channel)),
                escape(&dim_value(e, t, Dim::Type, &ticket.ticket_type)),
                escape(&dim_value(e, t, Dim::Team, &ticket.team)),
                escape(ticket.state.map(|s| i18n::state_label(t, s)).unwrap_or_default()),
                ticket
                    .created_at
                    .map(|c| c.to_zoned_datetime(zone.clone()).strftime("%d/%m/%Y %H:%M").to_string())
                    .unwrap_or_default(),
                escape(&days.join(", ")),
            );
        }
        body.push_str("</tbody></table>");
    }
    if let Some(next) = &listed.next {
        let mut href = format!("{}/tickets?", base.path);
        let mut params: Vec<(String, String)> = vec![("figure".into(), drill.figure.name.clone())];
        for (k, v) in [("period", &q.period), ("date", &q.date), ("from", &q.from), ("to", &q.to), ("age", &q.age)] {
            if let Some(v) = v {
                params.push((k.into(), v.clone()));
            }
        }
        for (d, v) in &drill.filter {
            params.push((d.as_str().into(), v.clone()));
        }
        params.push(("after".into(), next.to_string()));
        href.push_str(&params.iter().map(|(k, v)| format!("{k}={}", urlencoding(v))).collect::<Vec<_>>().join("&"));
        let _ = write!(body, "<p><a href=\"{}\" rel=\"next\">{} →</a></p>", escape(&href), escape(t.page_next()));
    }
    Ok((fill(t.rep_title_tickets(), &[("figure", &figure)]), body))
}

fn n_of(t: Tr, n: usize) -> String {
    count(t, i64::try_from(n).unwrap_or(i64::MAX))
}

/// A table's head row: one column header per label, escaped.
fn column_heads(labels: &[&str]) -> String {
    let cells: String = labels.iter().map(|l| format!("<th scope=\"col\">{}</th>", escape(l))).collect();
    format!("<thead><tr>{cells}</tr></thead>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_shares_read_the_italian_way() {
        let (it, en) = (Tr { lang: Lang::It }, Tr { lang: Lang::En });
        assert_eq!((count(it, 34_518), count(en, 34_518)), ("34.518".to_string(), "34,518".to_string()));
        assert_eq!((count(it, 999), count(it, -1_234_567)), ("999".to_string(), "-1.234.567".to_string()));
        assert_eq!((percent(it, Some(0.925)), percent(en, Some(0.925))), ("92,5%".to_string(), "92.5%".to_string()));
        assert_eq!(percent(it, None), "–");
    }

    #[test]
    fn every_figure_has_a_name_in_words() {
        let it = Tr { lang: Lang::It };
        for name in crate::reports::report::Figure::names() {
            let label = figure_label(it, &name);
            assert!(!label.contains('_') && !label.contains('?') && label != name, "{name}: {label}");
        }
        assert_eq!(figure_label(it, "sla_breached:resolution"), "Risoluzione: in ritardo sullo SLA");
        assert_eq!(figure_label(it, "open:awaiting_resolution_notice"), "Ticket aperti, in attesa di riscontro");
        assert_eq!(figure_label(it, "handoff:privacy"), "Chat lasciate al bot: Richiesta privacy");
    }

    #[test]
    fn every_age_and_hand_off_reason_has_a_name_in_words() {
        for t in [Tr { lang: Lang::It }, Tr { lang: Lang::En }] {
            for b in AgeBucket::ALL {
                assert!(!age_label(t, b).contains('?'), "{b:?}");
            }
            for reason in crate::reports::metric::HANDOFF_REASONS {
                assert!(reason == "other" || handoff_label(t, reason) != t.handoff_other(), "{reason}");
            }
        }
    }

    #[test]
    fn periods_are_named_and_have_neighbours() {
        let it = Tr { lang: Lang::It };
        let today = jiff::civil::date(2026, 12, 7);
        let month = Period::parse(Some("month"), Some("2026-12-02"), None, None, today).unwrap();
        assert_eq!(period_name(it, &month), "dicembre 2026");
        let (before, after) = nearby(&month, today).unwrap();
        assert_eq!(
            (period_name(it, &before).as_str(), period_name(it, &after).as_str()),
            ("novembre 2026", "gennaio 2027")
        );
        let week = Period::parse(Some("week"), Some("2026-12-02"), None, None, today).unwrap();
        assert_eq!(period_name(it, &week), "settimana dal 30/11/2026 al 06/12/2026");
        let custom = Period::parse(None, None, Some("2026-12-01"), Some("2026-12-15"), today).unwrap();
        assert!(nearby(&custom, today).is_none());
    }
}
