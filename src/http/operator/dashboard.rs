//! The supervisors' dashboard: one server-rendered page of a period's figures, with charts drawn
//! as SVG from the aggregates (no scripts), and a page listing the tickets behind a figure, which
//! every bar and count links to. Same access as the reports (`GET /operator/reports/...`):
//! supervisors and admins, and privacy operators for the privacy team's figures.

use super::OperatorApi;
use super::reports::{ReportQuery, drill_down, scope};
use crate::engine::reports::ListCursor;
use crate::http::operator_auth::OperatorIdentity;
use crate::reports::TimeStats;
use crate::reports::report::{AgeBucket, Figures, shown};
use crate::reports::svg::{Bar, bars, columns, escape};
use crate::reports::{Dim, Period};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
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

pub fn router() -> Router<OperatorApi> {
    Router::new()
        .route("/operator/reports/dashboard", get(dashboard))
        .route("/operator/reports/dashboard/tickets", get(tickets))
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;color:#17324d;margin:0 auto;max-width:72rem;padding:1rem 1.5rem}\
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.8rem 0 .4rem}\
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.8rem;margin:1rem 0}\
.tile{border:1px solid #c5cfd9;border-radius:.4rem;padding:.6rem .8rem}.tile b{display:block;font-size:1.5rem}\
table{border-collapse:collapse;margin:.4rem 0}th,td{border-bottom:1px solid #c5cfd9;padding:.3rem .7rem;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}a{color:#0059b3}form{margin:.6rem 0}\
label{margin-right:.4rem}input,select,button{font:inherit;padding:.2rem .4rem}.late{font-weight:700}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    );
    crate::http::survey::private_html(status, html)
}

/// A refusal as the page says it: its status and body.
pub fn problem_body(base: Base, p: &crate::http::Problem) -> (StatusCode, String) {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let at = p.field.as_deref().map(|f| format!(" (<code>{}</code>)", escape(f))).unwrap_or_default();
    let body = format!(
        "<h1>Reports</h1><p role=\"alert\">{}{at}</p><p><a href=\"{}\">Back to this month</a></p>",
        escape(&p.detail),
        base.path
    );
    (status, body)
}

fn problem_page(p: crate::http::Problem) -> Response {
    let (status, body) = problem_body(API, &p);
    page(status, "Reports: error", &body)
}

fn percent(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{:.1}%", x * 100.0))
}

fn duration(t: &TimeStats) -> String {
    match (t.p50_seconds, t.p90_seconds) {
        (Some(a), Some(b)) => format!("{} / {}", crate::text::human_duration(a), crate::text::human_duration(b)),
        _ => "–".into(),
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

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// A hand-off reason in words.
fn handoff_label(reason: &str) -> &str {
    match reason {
        "asked_for_operator" => "Asked for an operator",
        "no_fitting_article" => "No fitting article",
        "ask_back_unresolved" => "Suggestions did not fit",
        "privacy" => "Privacy request",
        "not_sure" => "Bot not sure (earlier)",
        _ => "Other",
    }
}

fn tile(label: &str, value: &str, href: Option<String>) -> String {
    let value = match href {
        Some(h) => format!("<a href=\"{}\">{}</a>", escape(&h), escape(value)),
        None => escape(value),
    };
    format!("<div class=\"tile\">{}<b>{value}</b></div>", escape(label))
}

type Params = Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>;

async fn dashboard(State(api): State<OperatorApi>, who: OperatorIdentity, q: Params) -> Response {
    match render(&api, &who, q, API).await {
        Ok((title, body)) => page(StatusCode::OK, &title, &body),
        Err(p) => problem_page(p),
    }
}

/// The dashboard of the period the query asks for: its title and its body (HTML).
pub async fn render(
    api: &OperatorApi,
    who: &OperatorIdentity,
    q: Params,
    base: Base,
) -> Result<(String, String), crate::http::Problem> {
    let scope = scope(api, who)?;
    let Query(q) = q.map_err(|e| crate::http::Problem::bad_request(e.body_text()))?;
    if let Some(other) = [("by", q.by.is_some()), ("figure", q.figure.is_some()), ("format", q.format.is_some())]
        .iter()
        .find(|(_, given)| *given)
    {
        return Err(crate::http::Problem::unprocessable(other.0, "the dashboard takes period, date, from and to"));
    }
    let period = Period::parse(
        q.period.as_deref(),
        q.date.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        api.engine.report_today(),
    )
    .map_err(|b| crate::http::Problem::unprocessable(b.parameter, b.message))?;
    let e = &api.engine;
    let overview = e.report_overview(period.clone(), &[Dim::Type], &scope).await?;
    let daily = e.report_daily(&period, &scope).await?;
    let backlog = e.report_backlog(&[], &scope).await?;
    let escalations = e.report_escalations(period.clone(), &scope).await?;
    let gdpr = e.report_gdpr(&scope).await?;
    let t: &Figures = &overview.total;

    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Reports: {label}</h1><p>{from} to {to}, {tz}. Figures are counted on the day they happened; \
         every count and bar opens the tickets behind it.</p>\
         <form method=\"get\" aria-label=\"Period\"><label for=\"period\">Period</label>\
         <select id=\"period\" name=\"period\"><option>day</option><option>week</option><option selected>month</option></select> \
         <label for=\"date\">around</label><input id=\"date\" name=\"date\" type=\"date\" value=\"{from}\"> \
         <button type=\"submit\">Show</button></form>",
        label = escape(&period.label),
        from = period.from,
        to = period.to,
        tz = escape(&overview.time_zone),
    );
    body.push_str("<h2>At a glance</h2><div class=\"tiles\">");
    for (label, value, figure) in [
        ("Contacts received", t.contacts.received.to_string(), Some("contacts")),
        ("Out of hours", t.contacts.out_of_hours.to_string(), Some("out_of_hours")),
        ("Resolved by operators", t.tickets.resolved.to_string(), Some("resolved")),
        ("Solved by the bot", t.tickets.auto_resolved.to_string(), Some("auto_resolved")),
        ("Containment (bot share)", percent(t.tickets.containment_rate), None),
        ("First-contact resolution", percent(t.tickets.first_contact_resolution_rate), Some("first_contact_resolved")),
        ("First response p50 / p90 (business)", duration(&t.first_response.business), None),
        ("Resolution p50 / p90 (business)", duration(&t.resolution.business), None),
        ("Escalations sent", t.escalations.sent.to_string(), Some("escalations")),
        ("Reminders (solleciti)", t.reminders.received.to_string(), Some("reminders")),
        (
            "Chats the bot solved",
            format!("{} of {} ({})", t.bot.contained, t.bot.conversations, percent(t.bot.containment_rate)),
            Some("bot_contained"),
        ),
        ("Chats handed to an operator", t.bot.handed_off.to_string(), Some("bot_handed_off")),
        ("CSAT (4–5 of 5)", percent(t.csat.satisfied_share), Some("survey_responses")),
        ("Survey responses", format!("{} of {}", t.csat.responses, t.csat.surveys_sent), Some("survey_responses")),
    ] {
        body.push_str(&tile(label, &value, figure.map(|f| tickets_href(base, f, &period, &[]))));
    }
    body.push_str("</div>");

    // Contacts per day.
    let per_day: Vec<Bar> = daily
        .iter()
        .map(|(date, f)| Bar {
            label: date.strftime("%d/%m").to_string(),
            value: f.contacts.received as f64,
            shown: format!("{} contacts", f.contacts.received),
            href: Some(format!("{}/tickets?figure=contacts&from={date}&to={date}", base.path)),
        })
        .collect();
    let busiest = daily.iter().max_by_key(|(_, f)| f.contacts.received);
    let description = match busiest {
        Some((d, f)) if f.contacts.received > 0 => format!(
            "{} contacts over {} days; the busiest day was {d} with {}.",
            t.contacts.received,
            daily.len(),
            f.contacts.received
        ),
        _ => "No contacts in this period.".into(),
    };
    body.push_str("<h2 id=\"per-day\">Contacts per day</h2>");
    body.push_str(&columns("contacts-per-day", "Contacts received per day", &description, &per_day));

    // SLA compliance per type.
    for (kind, heading) in [("first_response", "First response"), ("resolution", "Resolution")] {
        let rows: Vec<Bar> = overview
            .rows
            .iter()
            .filter_map(|r| {
                let s = r.figures.sla.get(kind)?;
                let ty = r.group.get(&Dim::Type).cloned().unwrap_or_default();
                (s.met + s.breached > 0).then(|| Bar {
                    label: format!("type {}", shown(Dim::Type, &ty)),
                    value: s.compliance.unwrap_or(0.0),
                    shown: format!("{} ({} late)", percent(s.compliance), s.breached),
                    href: Some(tickets_href(base, &format!("sla_breached:{kind}"), &period, &[("type", &ty)])),
                })
            })
            .collect();
        let _ = write!(body, "<h2>{heading}: SLA met, by type</h2>");
        let description =
            format!("Share of {} deadlines met per ticket type; the link lists the late ones.", heading.to_lowercase());
        body.push_str(&bars(
            &format!("sla-{kind}"),
            &format!("{heading} SLA compliance by type"),
            &description,
            &rows,
            1.0,
        ));
    }

    // Why chats left the bot.
    let left = t.bot.handed_off + t.bot.closed_out_of_hours;
    let rows: Vec<Bar> = crate::reports::metric::HANDOFF_REASONS
        .iter()
        .map(|reason| (*reason, t.bot.handoff_reasons.get(*reason).copied().unwrap_or(0)))
        // Earlier builds' `not_sure` and the catch-all only when they happened.
        .filter(|(reason, n)| *n > 0 || !matches!(*reason, "not_sure" | "other"))
        .map(|(reason, n)| Bar {
            label: handoff_label(reason).to_string(),
            value: n as f64,
            shown: format!("{n} chats"),
            href: Some(tickets_href(base, &format!("handoff:{reason}"), &period, &[])),
        })
        .collect();
    let max = rows.iter().map(|r| r.value).fold(0.0, f64::max);
    let _ = write!(body, "<h2>Why chats left the bot: {left} of {} conversations</h2>", t.bot.conversations);
    body.push_str(&bars(
        "handoff-reasons",
        "Why chats left the bot",
        &format!(
            "Conversations the bot did not solve ({} handed to an operator, {} closed out of hours), by why the user left it.",
            t.bot.handed_off, t.bot.closed_out_of_hours
        ),
        &rows,
        max,
    ));

    // Backlog by age.
    let rows: Vec<Bar> = AgeBucket::ALL
        .iter()
        .map(|b| {
            let n: i64 = backlog.total.by_age.get(b).map_or(0, |s| s.values().sum());
            Bar {
                label: b.label().to_string(),
                value: n as f64,
                shown: format!("{n} open"),
                href: Some(format!("{}/tickets?figure=open&age={}", base.path, b.as_str())),
            }
        })
        .collect();
    let max = rows.iter().map(|r| r.value).fold(0.0, f64::max);
    let _ = write!(body, "<h2>Backlog now: {} open tickets, by age</h2>", backlog.total.open);
    body.push_str(&bars(
        "backlog",
        "Open tickets by age",
        "Open tickets now, by days since they were opened.",
        &rows,
        max,
    ));

    // Escalations outstanding per target.
    body.push_str(
        "<h2>Escalations waiting for a notice</h2><table><thead><tr><th scope=\"col\">Target</th>\
        <th scope=\"col\">Outstanding</th><th scope=\"col\">Over 7 days</th><th scope=\"col\">Sent</th>\
        <th scope=\"col\">Notices</th><th scope=\"col\">Wait p50 / p90 (business)</th></tr></thead><tbody>",
    );
    for r in &escalations.rows {
        let target = r.group.get(&Dim::Target).cloned().unwrap_or_default();
        let old: i64 = [AgeBucket::EightToThirty, AgeBucket::OverThirty]
            .iter()
            .filter_map(|b| r.figures.outstanding_by_age.get(b))
            .sum();
        let href = format!("{}/tickets?figure=outstanding_escalations&target={}", base.path, urlencoding(&target));
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td class=\"n\"><a href=\"{}\">{}</a></td><td class=\"n\">{old}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&shown(Dim::Target, &target)),
            escape(&href),
            r.figures.outstanding,
            r.figures.sent,
            r.figures.notices,
            duration(&r.figures.notice_wait.business),
        );
    }
    body.push_str("</tbody></table>");

    // GDPR clocks.
    body.push_str("<h2>GDPR clocks running</h2>");
    if gdpr.data_subject_requests.is_empty() && gdpr.breach_notifications.is_empty() {
        body.push_str("<p>No data-subject request or breach report is open.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th scope=\"col\">Ticket</th><th scope=\"col\">Clock</th>\
            <th scope=\"col\">Due</th><th scope=\"col\">Left</th></tr></thead><tbody>",
        );
        for c in gdpr.breach_notifications.iter().chain(&gdpr.data_subject_requests) {
            let left = match (c.days_left, c.hours_left) {
                (Some(d), _) => format!("{d} days"),
                (_, Some(h)) => format!("{h} hours"),
                _ => String::new(),
            };
            let clock = if c.hours_left.is_some() {
                "Breach report, 72 hours (art. 33)"
            } else {
                "Data-subject request, one month (art. 12(3))"
            };
            let left = if c.overdue {
                format!("<span class=\"late\">OVERDUE</span> ({})", escape(&left))
            } else {
                escape(&left)
            };
            let _ = write!(
                body,
                "<tr><th scope=\"row\">{}</th><td>{clock}</td><td>{}</td><td>{left}</td></tr>",
                escape(&c.reference),
                c.due.strftime("%Y-%m-%d %H:%M UTC"),
            );
        }
        body.push_str("</tbody></table>");
    }
    Ok((format!("Reports: {}", period.label), body))
}

async fn tickets(State(api): State<OperatorApi>, who: OperatorIdentity, q: Params) -> Response {
    match render_tickets(&api, &who, q, API).await {
        Ok((title, body)) => page(StatusCode::OK, &title, &body),
        Err(p) => problem_page(p),
    }
}

/// The tickets behind a figure: the page's title and body (HTML).
pub async fn render_tickets(
    api: &OperatorApi,
    who: &OperatorIdentity,
    q: Params,
    base: Base,
) -> Result<(String, String), crate::http::Problem> {
    let listed = async {
        let scope = scope(api, who)?;
        let Query(q) = q.map_err(|e| crate::http::Problem::bad_request(e.body_text()))?;
        let (drill, period, age) = drill_down(api, &q, scope)?;
        let after = q.after.as_deref().map(ListCursor::parse).transpose()?;
        let limit = super::reports::listed_limit(&q)?;
        let page = api.engine.report_tickets(&drill, after.as_ref(), limit).await?;
        Ok::<_, crate::http::Problem>((q, drill, period, age, page))
    };
    let (q, drill, period, age, listed) = listed.await?;
    let when = match (&period, age) {
        (Some(p), _) => format!("{} to {}", p.from, p.to),
        (None, Some(a)) => format!("open now, {}", a.label()),
        (None, None) => "open now".into(),
    };
    let filter: Vec<String> = drill.filter.iter().map(|(d, v)| format!("{d} = {}", shown(*d, v))).collect();
    let mut body = format!(
        "<p><a href=\"{}\">← Dashboard</a></p><h1>Tickets behind “{}”</h1><p>{}{}</p>",
        base.path,
        escape(&drill.figure.name),
        escape(&when),
        if filter.is_empty() { String::new() } else { escape(&format!("; {}", filter.join(", "))) },
    );
    if listed.tickets.is_empty() {
        body.push_str("<p>No tickets.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th scope=\"col\">Reference</th><th scope=\"col\">Channel</th>\
            <th scope=\"col\">Type</th><th scope=\"col\">Team</th><th scope=\"col\">State</th>\
            <th scope=\"col\">Opened</th><th scope=\"col\">Counted on</th></tr></thead><tbody>",
        );
        for t in &listed.tickets {
            let days: Vec<String> = t.days.iter().map(ToString::to_string).collect();
            let reference = match base.ticket_page {
                Some(prefix) => format!(
                    "<a href=\"{}\">{}</a>",
                    escape(&format!("{prefix}{}", urlencoding(&t.reference))),
                    escape(&t.reference)
                ),
                None => escape(&t.reference),
            };
            let _ = write!(
                body,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                reference,
                escape(&t.channel),
                escape(&shown(Dim::Type, &t.ticket_type)),
                escape(&t.team),
                t.state.map(|s| s.as_str().to_string()).unwrap_or_default(),
                t.created_at.map(|c| c.strftime("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
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
        let _ = write!(body, "<p><a href=\"{}\">Next page</a></p>", escape(&href));
    }
    Ok((format!("Tickets: {}", drill.figure.name), body))
}
