//! The work queue: a team's open tickets, nearest deadline first, with filters, paged by key
//! (so a page stays put while tickets come and go), refreshed in place by the page's script.

use super::Console;
use super::auth::{Desk, desk_message, html};
use super::view::{self, Choice, Frame};
use crate::domain::{TicketState, TicketType};
use crate::engine::SlaState;
use crate::http::operator_auth::{Endpoint, PRIVACY_ROLE, Role};
use crate::i18n::fill;
use crate::ports::{AssigneeFilter, PageStart, QueueKey, QueueQuery};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

const PAGE_SIZE: usize = 50;
const ALL_TEAMS: &str = "all";

#[derive(Debug, Default, Deserialize)]
pub struct QueueParams {
    team: Option<String>,
    channel: Option<String>,
    #[serde(rename = "type")]
    ticket_type: Option<String>,
    state: Option<String>,
    who: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub struct QueueRow {
    pub reference: String,
    pub channel: String,
    pub category: String,
    pub ticket_type: String,
    pub state: String,
    pub age: String,
    pub created: String,
    pub sla: &'static str,
    pub sla_class: &'static str,
    /// When the nearest running deadline falls: the time today, else the date and time.
    pub due: String,
    pub assignee: String,
    pub team: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    frame: Frame,
    heading: String,
    teams: Vec<Choice>,
    channels: Vec<Choice>,
    types: Vec<Choice>,
    states: Vec<Choice>,
    who: Vec<Choice>,
    rows_html: String,
}

#[derive(Template)]
#[template(path = "queue_rows.html")]
struct Rows {
    frame_t: crate::i18n::Tr,
    rows: Vec<QueueRow>,
    show_team: bool,
    status: String,
    updated: String,
    first_href: Option<String>,
    prev_href: Option<String>,
    next_href: Option<String>,
    rows_href: String,
}

fn choice(value: &str, label: impl Into<String>, current: Option<&str>) -> Choice {
    Choice { value: value.to_string(), label: label.into(), selected: current == Some(value) }
}

/// Reads the filters into a query the caller may run; an error is a page to show.
fn query(console: &Console, desk: &Desk, p: &QueueParams) -> Result<(QueueQuery, Vec<String>, String), Response> {
    let t = desk.t;
    let engine = &console.api.engine;
    let privacy = desk.who.has(PRIVACY_ROLE);
    let visible = engine.operator_teams(privacy);
    let book = &engine.rules;
    let default_team = if privacy { book.privacy_team() } else { None }.unwrap_or(book.default_team()).to_string();
    let team = blank(&p.team).unwrap_or(&default_team).to_string();
    let teams = if team == ALL_TEAMS && desk.who.has(Role::Supervisor) {
        visible.clone()
    } else if visible.contains(&team) {
        vec![team.clone()]
    } else {
        // Another team's queue the caller may not see (the privacy team's, without the role),
        // or no team at all: a page that says so, as the API's 403/422 would.
        let text = if book.teams.contains_key(&team) { t.requester_restricted() } else { t.not_found_text() };
        return Err(desk_message(desk, StatusCode::FORBIDDEN, t.forbidden_title(), text));
    };
    let mut q = QueueQuery::team(String::new(), PAGE_SIZE);
    q.teams = teams;
    q.channel = blank(&p.channel).filter(|c| book.channels.contains_key(c)).map(str::to_string);
    q.ticket_type = blank(&p.ticket_type).and_then(|s| s.parse().ok());
    q.state = blank(&p.state).and_then(|s| TicketState::ALL.into_iter().find(|st| st.as_str() == s && st.is_open()));
    q.assignee = match blank(&p.who) {
        Some("mine") => Some(AssigneeFilter::Operator(desk.who.id.clone())),
        Some("unassigned") => Some(AssigneeFilter::Unassigned),
        _ => None,
    };
    if !privacy {
        q.hidden = engine.privacy_hidden();
    }
    q.start = match (blank(&p.after).and_then(QueueKey::decode), blank(&p.before).and_then(QueueKey::decode)) {
        (Some(k), _) => PageStart::After(k),
        (None, Some(k)) => PageStart::Before(k),
        _ => PageStart::First,
    };
    Ok((q, visible, team))
}

fn filters_of(p: &QueueParams) -> String {
    let mut pairs = Vec::new();
    for (k, v) in
        [("team", &p.team), ("channel", &p.channel), ("type", &p.ticket_type), ("state", &p.state), ("who", &p.who)]
    {
        if let Some(v) = blank(v) {
            pairs.push((k, v));
        }
    }
    super::oidc::form(&pairs)
}

async fn load_rows(console: &Console, desk: &Desk, p: &QueueParams, q: &QueueQuery) -> Result<Rows, Response> {
    let t = desk.t;
    let engine = &console.api.engine;
    let page = engine.queue_page(q).await.map_err(|e| super::ticket::refusal_page(desk, e.into()))?;
    let now = engine.now();
    let lang = t.lang;
    let rows: Vec<QueueRow> = page
        .tickets
        .iter()
        .map(|tk| {
            let sla = engine.sla_state(tk, now);
            QueueRow {
                reference: tk.reference.to_string(),
                channel: view::channel_name(engine, lang, &tk.channel).to_string(),
                category: view::category_name(engine, lang, tk.category.as_deref()).to_string(),
                ticket_type: view::type_label(t, tk.ticket_type).to_string(),
                state: view::state_label(t, tk.state).to_string(),
                age: view::span(t, now.duration_since(tk.created_at)),
                created: view::when(engine, tk.created_at),
                sla: view::sla_label(t, sla),
                due: tk.next_due().map(|d| view::short_when(engine, d, now)).unwrap_or_default(),
                sla_class: sla.map_or("none", SlaState::as_str),
                assignee: match &tk.assignee {
                    Some(a) if a == &desk.who.id => t.you().to_string(),
                    Some(a) => a.clone(),
                    None => t.nobody().to_string(),
                },
                team: view::team_name(engine, lang, &tk.team).to_string(),
            }
        })
        .collect();
    let filters = filters_of(p);
    let join = |extra: String| {
        if filters.is_empty() { format!("/queue?{extra}") } else { format!("/queue?{filters}&{extra}") }
    };
    let first_key = page.tickets.first().map(QueueKey::of);
    let last_key = page.tickets.last().map(QueueKey::of);
    let prev_href =
        (page.more_before).then(|| first_key.as_ref().map(|k| join(format!("before={}", k.encode())))).flatten();
    let next_href =
        (page.more_after).then(|| last_key.as_ref().map(|k| join(format!("after={}", k.encode())))).flatten();
    let first_href =
        page.more_before.then(|| if filters.is_empty() { "/queue".to_string() } else { format!("/queue?{filters}") });
    let status = if rows.is_empty() {
        t.queue_empty().to_string()
    } else {
        let from = 1;
        let to = rows.len();
        match page.total {
            Some(total) if !page.more_before => fill(
                t.queue_range(),
                &[("from", &from.to_string()), ("to", &to.to_string()), ("total", &total.to_string())],
            ),
            Some(total) => fill(t.queue_page_count(), &[("n", &to.to_string()), ("total", &total.to_string())]),
            None => fill(t.queue_range_open(), &[("from", &from.to_string()), ("to", &to.to_string())]),
        }
    };
    // The refresh reads the same page: from the same key, so the rows the operator is reading
    // stay where they are.
    let cursor = match &q.start {
        PageStart::First => String::new(),
        PageStart::After(k) => format!("after={}", k.encode()),
        PageStart::Before(k) => format!("before={}", k.encode()),
    };
    let rows_href = match (filters.is_empty(), cursor.is_empty()) {
        (true, true) => "/queue/rows".to_string(),
        (false, true) => format!("/queue/rows?{filters}"),
        (true, false) => format!("/queue/rows?{cursor}"),
        (false, false) => format!("/queue/rows?{filters}&{cursor}"),
    };
    Ok(Rows {
        frame_t: t,
        show_team: q.teams.len() > 1 || blank(&p.team) == Some(ALL_TEAMS),
        rows,
        status,
        updated: fill(t.queue_updated(), &[("time", &view::clock(engine, now))]),
        first_href,
        prev_href,
        next_href,
        rows_href,
    })
}

pub async fn page(State(console): State<Console>, desk: Desk, Query(p): Query<QueueParams>) -> Response {
    if let Err(p) = desk.who.require(Endpoint::Queue) {
        return desk_message(&desk, StatusCode::FORBIDDEN, desk.t.forbidden_title(), &p.detail);
    }
    let t = desk.t;
    let (q, visible, team) = match query(&console, &desk, &p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let rows = match load_rows(&console, &desk, &p, &q).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let engine = &console.api.engine;
    let lang = t.lang;
    let heading = if q.teams.len() > 1 || team == ALL_TEAMS {
        format!("{} · {}", t.queue_title(), t.queue_all_teams())
    } else {
        format!("{} · {}", t.queue_title(), view::team_name(engine, lang, &q.teams[0]))
    };
    let mut teams: Vec<Choice> =
        visible.iter().map(|id| choice(id, view::team_name(engine, lang, id), Some(team.as_str()))).collect();
    if desk.who.has(Role::Supervisor) {
        teams.push(choice(ALL_TEAMS, t.queue_all_teams(), Some(team.as_str())));
    }
    let current = |v: &Option<String>| blank(v).map(str::to_string);
    let ch = current(&p.channel);
    let mut channels = vec![choice("", t.filter_any(), ch.as_deref().or(Some("")))];
    channels.extend(
        engine
            .rules
            .channels
            .keys()
            .map(|id| id.as_str())
            .map(|id| choice(id, view::channel_name(engine, lang, id), ch.as_deref())),
    );
    let ty = current(&p.ticket_type);
    let mut types = vec![choice("", t.filter_any(), ty.as_deref().or(Some("")))];
    types.extend(
        TicketType::ALL
            .into_iter()
            .filter(|x| x != &TicketType::B && (desk.who.has(PRIVACY_ROLE) || !x.is_privacy()))
            .map(|x| choice(x.code(), view::type_label(t, Some(x)), ty.as_deref())),
    );
    let st = current(&p.state);
    let mut states = vec![choice("", t.filter_any(), st.as_deref().or(Some("")))];
    states.extend(
        TicketState::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .map(|s| choice(s.as_str(), view::state_label(t, s), st.as_deref())),
    );
    let who_now = current(&p.who);
    let who = vec![
        choice("", t.filter_any(), who_now.as_deref().or(Some(""))),
        choice("mine", t.filter_mine(), who_now.as_deref()),
        choice("unassigned", t.filter_unassigned(), who_now.as_deref()),
    ];
    let frame = desk.frame(heading.clone(), "queue");
    let rows_html = askama::Template::render(&rows).unwrap_or_default();
    html(StatusCode::OK, &QueuePage { frame, heading, teams, channels, types, states, who, rows_html })
}

/// The rows and status line alone, for the page's refresh.
pub async fn rows_fragment(console: &Console, desk: &Desk, p: &QueueParams) -> Response {
    if let Err(p) = desk.who.require(Endpoint::Queue) {
        return desk_message(desk, StatusCode::FORBIDDEN, desk.t.forbidden_title(), &p.detail);
    }
    let (q, _, _) = match query(console, desk, p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match load_rows(console, desk, p, &q).await {
        Ok(r) => html(StatusCode::OK, &r),
        Err(r) => r,
    }
}

pub async fn rows(State(console): State<Console>, desk: Desk, Query(p): Query<QueueParams>) -> Response {
    rows_fragment(&console, &desk, &p).await
}
