//! Reports over the operator API: `GET /operator/reports/{overview,backlog,escalations,
//! incidents,gdpr,tickets}`, as JSON or, with `format=csv` (or `Accept: text/csv`), as CSV.
//!
//! Supervisors and admins see every team's figures; a privacy operator sees the privacy team's
//! (and no incidents report, which is about the first level's malfunction reports). No report
//! carries personal data: counts, times, ids and references only.

use super::{ByOperator, OperatorApi};
use crate::engine::reports::ListCursor;
use crate::http::Problem;
use crate::http::operator_auth::{Endpoint, OperatorIdentity, Role};
use crate::reports::csv::{self, Dialect, Table};
use crate::reports::report::{AgeBucket, DrillDown, Figure};
use crate::reports::{Cube, Dim, Period, Scope};
use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<OperatorApi> {
    Router::new()
        .route("/operator/reports/overview", get(overview))
        .route("/operator/reports/backlog", get(backlog))
        .route("/operator/reports/escalations", get(escalations))
        .route("/operator/reports/incidents", get(incidents))
        .route("/operator/reports/gdpr", get(gdpr))
        .route("/operator/reports/tickets", get(tickets))
}

/// Every parameter the report endpoints take; each endpoint refuses those it does not use.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub period: Option<String>,
    pub date: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub format: Option<String>,
    pub dialect: Option<String>,
    pub figure: Option<String>,
    pub age: Option<String>,
    pub channel: Option<String>,
    pub category: Option<String>,
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
    pub team: Option<String>,
    pub operator: Option<String>,
    pub target: Option<String>,
    pub after: Option<String>,
    pub limit: Option<usize>,
}

impl ReportQuery {
    /// Refuses parameters the endpoint does not take, naming the first.
    fn only(&self, allowed: &[&str]) -> Result<(), Problem> {
        let given = [
            ("period", self.period.is_some()),
            ("date", self.date.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("by", self.by.is_some()),
            ("figure", self.figure.is_some()),
            ("age", self.age.is_some()),
            ("channel", self.channel.is_some()),
            ("category", self.category.is_some()),
            ("type", self.ticket_type.is_some()),
            ("team", self.team.is_some()),
            ("operator", self.operator.is_some()),
            ("target", self.target.is_some()),
            ("after", self.after.is_some()),
            ("limit", self.limit.is_some()),
        ];
        match given.iter().find(|(name, is)| *is && !allowed.contains(name)) {
            Some((name, _)) => Err(Problem::unprocessable(
                *name,
                format!("this report takes no `{name}`; it takes: {}, format, dialect", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn period(&self, api: &OperatorApi) -> Result<Period, Problem> {
        Period::parse(
            self.period.as_deref(),
            self.date.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            api.engine.report_today(),
        )
        .map_err(|b| Problem::unprocessable(b.parameter, b.message))
    }

    fn by(&self) -> Result<Vec<Dim>, Problem> {
        Dim::parse_list(self.by.as_deref().unwrap_or_default()).map_err(|m| Problem::unprocessable("by", m))
    }

    fn filter(&self) -> Vec<(Dim, String)> {
        [
            (Dim::Channel, &self.channel),
            (Dim::Category, &self.category),
            (Dim::Type, &self.ticket_type),
            (Dim::Team, &self.team),
            (Dim::Operator, &self.operator),
            (Dim::Target, &self.target),
        ]
        .into_iter()
        .filter_map(|(d, v)| {
            v.as_ref().map(|v| (d, if v == "(none)" || v == "(nobody)" { String::new() } else { v.clone() }))
        })
        .collect()
    }
}

/// JSON, or CSV in a dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv(Dialect),
}

fn format(q: &ReportQuery, headers: &HeaderMap) -> Result<Format, Problem> {
    let dialect = match q.dialect.as_deref() {
        None => Dialect::default(),
        Some(d) => Dialect::parse(d)
            .ok_or_else(|| Problem::unprocessable("dialect", "a CSV dialect: `excel-it` (the default) or `rfc4180`"))?,
    };
    match q.format.as_deref() {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv(dialect)),
        Some(other) => Err(Problem::unprocessable("format", format!("`{other}` is not a format: json or csv"))),
        None => {
            let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
            Ok(if accept.contains("text/csv") { Format::Csv(dialect) } else { Format::Json })
        }
    }
}

/// Who may see reports, and which teams' figures.
pub fn scope(api: &OperatorApi, who: &OperatorIdentity) -> Result<Scope, Problem> {
    who.require(Endpoint::Reports)?;
    if who.has(Role::Supervisor) || who.has(Role::Admin) {
        return Ok(Scope::all());
    }
    let privacy: Vec<String> =
        api.engine.rules.teams.iter().filter(|(_, t)| t.privacy).map(|(id, _)| id.as_str().to_string()).collect();
    Ok(Scope::teams(privacy))
}

fn respond<T: Serialize>(report: &T, table: impl FnOnce() -> Table, format: Format, name: &str) -> Response {
    match format {
        Format::Json => axum::Json(report).into_response(),
        Format::Csv(dialect) => {
            let mut response = (StatusCode::OK, table().to_csv(dialect)).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8; header=present"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"sportello-{name}.csv\"")) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
    }
}

pub type Params = Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>;

pub fn params(q: Params) -> Result<ReportQuery, Problem> {
    q.map(|Query(q)| q).map_err(|e| Problem::bad_request(e.body_text()))
}

/// What every report endpoint is given: the caller, then its headers and its query (kept as
/// parsed, so that a bad query is refused only after the caller's scope is known).
type Asked = ByOperator<(HeaderMap, Params)>;

impl Asked {
    /// What every report does first, in this order: who may see which teams, the parameters
    /// (refusing those the report does not take), and the format asked for.
    fn accept(self, allowed: &[&str]) -> Result<(OperatorApi, Scope, ReportQuery, Format), Problem> {
        let scope = scope(&self.api, &self.who)?;
        self.accept_in(scope, Some(allowed))
    }

    /// The same, for a scope the endpoint has already looked at; `None` takes every parameter.
    fn accept_in(
        self,
        scope: Scope,
        allowed: Option<&[&str]>,
    ) -> Result<(OperatorApi, Scope, ReportQuery, Format), Problem> {
        let (headers, query) = self.then;
        let q = params(query)?;
        if let Some(allowed) = allowed {
            q.only(allowed)?;
        }
        let format = format(&q, &headers)?;
        Ok((self.api, scope, q, format))
    }
}

async fn overview(asked: Asked) -> Result<Response, Problem> {
    let (api, scope, q, format) = asked.accept(&["period", "date", "from", "to", "by"])?;
    let report = api.engine.report_overview(q.period(&api)?, &q.by()?, &scope).await?;
    Ok(respond(&report, || csv::overview(&report), format, &format!("overview-{}", report.period.label)))
}

async fn backlog(asked: Asked) -> Result<Response, Problem> {
    let (api, scope, q, format) = asked.accept(&["by"])?;
    let report = api.engine.report_backlog(&q.by()?, &scope).await?;
    Ok(respond(&report, || csv::backlog(&report), format, "backlog"))
}

async fn escalations(asked: Asked) -> Result<Response, Problem> {
    let (api, scope, q, format) = asked.accept(&["period", "date", "from", "to"])?;
    let report = api.engine.report_escalations(q.period(&api)?, &scope).await?;
    Ok(respond(&report, || csv::escalations(&report), format, &format!("escalations-{}", report.period.label)))
}

async fn incidents(asked: Asked) -> Result<Response, Problem> {
    let scope = scope(&asked.api, &asked.who)?;
    if scope.teams.is_some() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "the incidents report covers the first level's malfunction reports: it needs the role `supervisor` or `admin`",
        ));
    }
    let (api, _, q, format) = asked.accept_in(scope, Some(&["period", "date", "from", "to"]))?;
    let report = api.engine.report_incidents(q.period(&api)?).await?;
    Ok(respond(&report, || csv::incidents(&report), format, &format!("incidents-{}", report.period.label)))
}

async fn gdpr(asked: Asked) -> Result<Response, Problem> {
    let (api, scope, _, format) = asked.accept(&[])?;
    let report = api.engine.report_gdpr(&scope).await?;
    Ok(respond(&report, || csv::gdpr(&report), format, "gdpr"))
}

#[derive(Serialize)]
struct TicketList<'a> {
    report: &'static str,
    figure: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<&'a Period>,
    #[serde(skip_serializing_if = "Option::is_none")]
    age: Option<AgeBucket>,
    filter: std::collections::BTreeMap<Dim, String>,
    tickets: &'a [crate::reports::report::ListedTicket],
    /// Pass as `after` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// How many tickets a page lists: 1 to [`crate::engine::reports::MAX_LISTED`], 100 when not
/// said; more is refused (JSON and the dashboard alike), as the OpenAPI document declares.
pub(super) fn listed_limit(q: &ReportQuery) -> Result<usize, Problem> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=crate::engine::reports::MAX_LISTED).contains(&limit) {
        return Err(Problem::unprocessable("limit", format!("1 to {}", crate::engine::reports::MAX_LISTED)));
    }
    Ok(limit)
}

/// The drill-down a query describes: the figure, its days (a period, or an age bucket of the
/// open cube), the group's values, and who is asking.
pub fn drill_down(
    api: &OperatorApi,
    q: &ReportQuery,
    scope: Scope,
) -> Result<(DrillDown, Option<Period>, Option<AgeBucket>), Problem> {
    let name = q.figure.as_deref().ok_or_else(|| {
        Problem::unprocessable("figure", "say which figure: `figure=resolved`, `figure=sla_breached:resolution`...")
    })?;
    let figure = Figure::parse(name).map_err(|b| Problem::unprocessable(b.parameter, b.message))?;
    let (from_day, to_day, period, age) = if figure.cube == Cube::Open {
        if q.period.is_some() || q.date.is_some() || q.from.is_some() || q.to.is_some() {
            return Err(Problem::unprocessable(
                "period",
                "open tickets are counted now: give `age` (today, 1-2d, 3-7d, 8-30d, over_30d), not a period",
            ));
        }
        match q.age.as_deref() {
            Some(a) => {
                let bucket = AgeBucket::parse(a)
                    .ok_or_else(|| Problem::unprocessable("age", "one of today, 1-2d, 3-7d, 8-30d, over_30d"))?;
                let (lo, hi) = api.engine.backlog_days(bucket);
                (lo, hi, None, Some(bucket))
            }
            None => (i32::MIN, i32::MAX, None, None),
        }
    } else {
        if q.age.is_some() {
            return Err(Problem::unprocessable("age", "`age` is for open tickets (`figure=open...`); give a period"));
        }
        let period = q.period(api)?;
        let (from, to) = period.days();
        (from, to, Some(period), None)
    };
    let drill = DrillDown { figure, from_day, to_day, filter: q.filter(), scope };
    Ok((drill, period, age))
}

async fn tickets(asked: Asked) -> Result<Response, Problem> {
    let scope = scope(&asked.api, &asked.who)?;
    let (api, scope, q, format) = asked.accept_in(scope, None)?;
    let (drill, period, age) = drill_down(&api, &q, scope)?;
    let after = q.after.as_deref().map(ListCursor::parse).transpose()?;
    let limit = listed_limit(&q)?;
    let page = api.engine.report_tickets(&drill, after.as_ref(), limit).await?;
    let list = TicketList {
        report: "tickets",
        figure: &drill.figure.name,
        period: period.as_ref(),
        age,
        filter: drill.filter.iter().cloned().collect(),
        tickets: &page.tickets,
        next: page.next.as_ref().map(ToString::to_string),
    };
    Ok(respond(
        &list,
        || csv::tickets(&page.tickets),
        format,
        &format!("tickets-{}", drill.figure.name.replace(':', "-")),
    ))
}
