//! Search: by reference, notice code (NAV), or the requester's e-mail, phone or fiscal code.
//! Privacy tickets appear only to the privacy team, as in every list.

use super::Console;
use super::auth::{Desk, html, see_other};
use super::view::{self, Choice, Frame};
use crate::engine::SearchBy;
use crate::http::operator::is_privacy;
use crate::http::operator_auth::{Endpoint, PRIVACY_ROLE};
use crate::i18n::fill;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct SearchParams {
    q: Option<String>,
    by: Option<String>,
}

pub struct Found {
    pub reference: String,
    pub channel: String,
    pub category: String,
    pub ticket_type: String,
    pub state: String,
    pub team: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    frame: Frame,
    q: String,
    by: Vec<Choice>,
    searched: bool,
    heading: String,
    results: Vec<Found>,
    error: Option<String>,
}

fn by_label(t: crate::i18n::Tr, by: SearchBy) -> &'static str {
    match by {
        SearchBy::Reference => t.search_by_reference(),
        SearchBy::NoticeCode => t.search_by_notice_code(),
        SearchBy::Email => t.search_by_email(),
        SearchBy::Phone => t.search_by_phone(),
        SearchBy::FiscalCode => t.search_by_fiscal_code(),
    }
}

pub async fn page(State(console): State<Console>, desk: Desk, Query(p): Query<SearchParams>) -> Response {
    let t = desk.t;
    let engine = &console.api.engine;
    let q = p.q.clone().unwrap_or_default();
    let chosen = p.by.as_deref().and_then(SearchBy::parse);
    let mut by = vec![Choice { value: String::new(), label: t.search_by_auto().into(), selected: chosen.is_none() }];
    by.extend(SearchBy::ALL.into_iter().map(|b| Choice {
        value: b.as_str().into(),
        label: by_label(t, b).into(),
        selected: chosen == Some(b),
    }));
    let mut page = SearchPage {
        frame: desk.frame(t.search_title().to_string(), "search"),
        q: q.clone(),
        by,
        searched: false,
        heading: String::new(),
        results: Vec::new(),
        error: None,
    };
    if let Err(p) = desk.who.require(Endpoint::Ticket) {
        page.error = Some(p.detail);
        return html(StatusCode::FORBIDDEN, &page);
    }
    if q.trim().is_empty() {
        return html(StatusCode::OK, &page);
    }
    let how = chosen.unwrap_or_else(|| SearchBy::guess(&q));
    page.searched = true;
    page.heading = fill(t.search_results(), &[("by", by_label(t, how))]);
    match engine.search(how, &q).await {
        Ok(found) => {
            let privacy = desk.who.has(PRIVACY_ROLE);
            let visible: Vec<_> = found.into_iter().filter(|tk| privacy || !is_privacy(engine, tk)).collect();
            // A reference that names one visible ticket opens it.
            if how == SearchBy::Reference && visible.len() == 1 {
                return see_other(&format!("/tickets/{}", visible[0].reference));
            }
            page.results = visible
                .iter()
                .map(|tk| Found {
                    reference: tk.reference.to_string(),
                    channel: view::channel_name(engine, t.lang, &tk.channel).into(),
                    category: view::category_name(engine, t.lang, tk.category.as_deref()).into(),
                    ticket_type: view::type_label(t, tk.ticket_type).into(),
                    state: view::state_label(t, tk.state).into(),
                    team: view::team_name(engine, t.lang, &tk.team).into(),
                    created: view::when(engine, tk.created_at),
                })
                .collect();
            html(StatusCode::OK, &page)
        }
        Err(e) => {
            let problem: crate::http::Problem = e.into();
            page.error = Some(problem.detail);
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}
