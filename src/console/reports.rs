//! The supervisors' dashboard inside the console, on the operator's sign-in session: the same
//! page the operator API serves at `/operator/reports/dashboard` (same figures, same access:
//! supervisors and admins, the privacy team for its own), in the console's frame, with the
//! tickets behind a figure linking to their pages here.

use super::Console;
use super::auth::{Desk, html};
use super::view::Frame;
use crate::http::operator::dashboard::{self, Base, View};
use crate::http::operator::reports::Params;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

const CONSOLE: Base = Base { path: "/reports", ticket_page: Some("/tickets/") };

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    frame: Frame,
    /// Built by `http::operator::dashboard` from the aggregates, every value escaped there.
    body: String,
}

fn show(desk: &Desk, rendered: Result<(String, String), crate::http::Problem>) -> Response {
    let (status, title, body) = match rendered {
        Ok((title, body)) => (StatusCode::OK, title, body),
        Err(p) => {
            let (status, body) = dashboard::problem_body(CONSOLE, desk.t, &p);
            (status, desk.t.rep_error_title().to_string(), body)
        }
    };
    html(status, &ReportsPage { frame: desk.frame(title, "reports"), body })
}

pub async fn dashboard(State(console): State<Console>, desk: Desk, q: Params) -> Response {
    let rendered = dashboard::render(View::Dashboard, &console.api, &desk.who, q, CONSOLE, desk.t).await;
    show(&desk, rendered)
}

pub async fn tickets(State(console): State<Console>, desk: Desk, q: Params) -> Response {
    let rendered = dashboard::render(View::Tickets, &console.api, &desk.who, q, CONSOLE, desk.t).await;
    show(&desk, rendered)
}
