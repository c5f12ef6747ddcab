//! Incidents: supervisors declare, update and resolve them; everyone sees the active ones with
//! their restoration information, how many tickets are linked, and the resolution's fan-out.

use super::Console;
use super::auth::{Desk, Posted, html, see_other};
use super::view::{self, Frame};
use crate::engine::EngineError;
use crate::http::Problem;
use crate::http::operator_auth::Endpoint;
use crate::i18n::fill;
use crate::ports::IncidentState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

const LISTED: usize = 30;

pub struct IncidentView {
    pub id: String,
    pub service: String,
    pub title: String,
    pub restoration_info: String,
    pub declared: String,
    pub linked: String,
    pub resolved: Option<String>,
    pub closing_text: String,
    pub fanout: Option<String>,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    frame: Frame,
    flash: Option<String>,
    error: Option<(String, &'static str, String)>,
    may_manage: bool,
    active: Vec<IncidentView>,
    resolved: Vec<IncidentView>,
    draft: HashMap<String, String>,
}

impl IncidentsPage {
    fn error_for(&self, action: &str) -> Option<(&'static str, &str)> {
        self.error.as_ref().filter(|(a, _, _)| a == action).map(|(_, title, detail)| (*title, detail.as_str()))
    }

    fn draft(&self, key: &str) -> &str {
        self.draft.get(key).map(String::as_str).unwrap_or_default()
    }
}

async fn render(
    console: &Console,
    desk: &Desk,
    flash: Option<String>,
    error: Option<(String, &'static str, String)>,
    draft: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let t = desk.t;
    let engine = &console.api.engine;
    let mut active = Vec::new();
    let mut resolved = Vec::new();
    {
        let store = &engine.ports.incidents;
        let listed = match store.list(LISTED).await {
            Ok(l) => l,
            Err(e) => return super::ticket::refusal_page(desk, EngineError::from(e).into()),
        };
        for i in listed {
            let linked = store.linked_count(&i.id).await.unwrap_or(0);
            let fanout = (i.state == IncidentState::Resolved).then(|| match i.fanout_done_at {
                Some(_) => t.incident_fanout_done().to_string(),
                None => fill(
                    t.incident_fanout(),
                    &[("done", &i.notified.unwrap_or(0).to_string()), ("total", &linked.to_string())],
                ),
            });
            let v = IncidentView {
                id: i.id.clone(),
                service: i.service.clone(),
                title: i.title.clone(),
                restoration_info: i.restoration_info.clone().unwrap_or_default(),
                declared: fill(
                    t.incident_declared(),
                    &[("by", &i.declared_by), ("at", &view::when(engine, i.declared_at))],
                ),
                linked: fill(t.incident_linked(), &[("count", &linked.to_string())]),
                resolved: i.resolved_at.map(|at| fill(t.incident_resolved_at(), &[("at", &view::when(engine, at))])),
                closing_text: i.closing_text.clone().unwrap_or_default(),
                fanout,
                active: i.state == IncidentState::Active,
            };
            if v.active { active.push(v) } else { resolved.push(v) }
        }
    }
    let page = IncidentsPage {
        frame: desk.frame_at(t.incidents_title().to_string(), "incidents", "/incidents"),
        flash,
        error,
        may_manage: desk.who.require(Endpoint::DeclareIncident).is_ok(),
        active,
        resolved,
        draft,
    };
    html(status, &page)
}

pub async fn page(State(console): State<Console>, desk: Desk, Query(q): Query<HashMap<String, String>>) -> Response {
    let t = desk.t;
    let flash = q.get("done").map(|d| match d.as_str() {
        "declare" => t.done_declare().to_string(),
        "update" => t.done_update_incident().to_string(),
        "resolve" => t.done_resolve_incident().to_string(),
        _ => String::new(),
    });
    render(&console, &desk, flash.filter(|f| !f.is_empty()), None, HashMap::new(), StatusCode::OK).await
}

fn refused(desk: &Desk, action: &str, p: Problem) -> (String, &'static str, String) {
    let t = desk.t;
    let title = match p.status {
        409 => t.refused_conflict(),
        403 | 401 => t.refused_forbidden(),
        404 => t.refused_not_found(),
        422 | 400 => t.refused_invalid(),
        _ => t.refused_unavailable(),
    };
    (action.to_string(), title, p.detail)
}

fn opt(form: &HashMap<String, String>, k: &str) -> Option<String> {
    form.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

pub async fn declare(State(console): State<Console>, Posted { desk, form }: Posted) -> Response {
    let result: Result<(), Problem> = match desk.who.require(Endpoint::DeclareIncident) {
        Err(p) => Err(p),
        Ok(actor) => console
            .api
            .engine
            .declare_incident(
                &actor,
                form.get("service").map(|s| s.trim()).unwrap_or_default(),
                form.get("title").map(String::as_str).unwrap_or_default(),
                opt(&form, "restoration_info").as_deref(),
            )
            .await
            .map(drop)
            .map_err(Into::into),
    };
    match result {
        Ok(()) => see_other("/incidents?done=declare"),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            render(&console, &desk, None, Some(refused(&desk, "declare", p)), form, status).await
        }
    }
}

pub async fn act(
    State(console): State<Console>,
    Path((id, action)): Path<(String, String)>,
    Posted { desk, form }: Posted,
) -> Response {
    let engine = &console.api.engine;
    let not_found = |e: EngineError| -> Problem {
        match e {
            EngineError::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, format!("no incident `{id}`")),
            other => other.into(),
        }
    };
    let result: Result<(), Problem> = match action.as_str() {
        "update" => match desk.who.require(Endpoint::UpdateIncident) {
            Err(p) => Err(p),
            Ok(_) => {
                let (title, info) = (opt(&form, "title"), opt(&form, "restoration_info"));
                if title.is_none() && info.is_none() {
                    Err(Problem::unprocessable("/restoration_info", "give a title or restoration_info to change"))
                } else {
                    engine.update_incident(&id, title.as_deref(), info.as_deref()).await.map(drop).map_err(not_found)
                }
            }
        },
        "resolve" => match desk.who.require(Endpoint::ResolveIncident) {
            Err(p) => Err(p),
            Ok(_) => engine
                .resolve_incident(&id, form.get("closing_text").map(String::as_str).unwrap_or_default())
                .await
                .map(drop)
                .map_err(not_found),
        },
        _ => Err(Problem::new(StatusCode::NOT_FOUND, "no such action")),
    };
    match result {
        Ok(()) => see_other(&format!("/incidents?done={action}")),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let mut draft = form;
            draft.insert("incident".into(), id.clone());
            render(&console, &desk, None, Some(refused(&desk, &format!("{action}-{id}"), p)), draft, status).await
        }
    }
}
