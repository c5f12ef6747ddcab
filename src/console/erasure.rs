//! The privacy team's erasure door (GDPR art. 17): find a requester by e-mail, phone or fiscal
//! code, see what would be erased (their tickets, and the copies the store keeps), then confirm.
//! The engine refuses while a breach report of theirs is open, and erases only what the preview
//! showed.

use super::Console;
use super::auth::{Desk, Posted, html};
use super::view::{self, Choice, Frame};
use crate::engine::ErasurePreview;
use crate::http::Problem;
use crate::http::operator_auth::Endpoint;
use crate::i18n::{Tr, fill, lookup};
use crate::ports::RequesterKey;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::BTreeMap;

pub struct Listed {
    pub reference: String,
    pub state: String,
    pub category: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "erasure.html")]
struct ErasurePage {
    frame: Frame,
    kinds: Vec<Choice>,
    kind: String,
    value: String,
    preview: Option<PreviewView>,
    done: Option<String>,
    error: Option<(&'static str, String)>,
}

struct PreviewView {
    tickets: Vec<Listed>,
    /// What goes with the tickets, in words: "5 timeline entries, 1 mail sent".
    copies: String,
    /// The references of the open breach reports that hold the erasure.
    hold: Option<Vec<String>>,
    confirm: String,
}

/// The store's copies in the reader's words, those there are.
fn copies_text(t: Tr, copies: &BTreeMap<String, usize>) -> String {
    copies
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(kind, n)| match lookup(t, &format!("erasure_copy_{kind}{}", if *n == 1 { "_one" } else { "" })) {
            Some(text) => fill(text, &[("n", &n.to_string())]),
            None => format!("{kind}: {n}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn key_of(kind: &str, value: &str) -> Result<RequesterKey, Problem> {
    let value = value.trim().to_string();
    let key = match kind {
        "email" => RequesterKey::Email(value),
        "phone" => RequesterKey::Phone(value),
        "fiscal_code" => RequesterKey::FiscalCode(value),
        _ => return Err(Problem::unprocessable("kind", "find the requester by `email`, `phone` or `fiscal_code`")),
    };
    key.normalized().map_err(|_| Problem::unprocessable(format!("/{kind}"), "must not be empty"))?;
    Ok(key)
}

fn page(console: &Console, desk: &Desk, kind: &str, value: &str) -> ErasurePage {
    let t = desk.t;
    let kinds =
        [("email", t.requester_email()), ("phone", t.requester_phone()), ("fiscal_code", t.requester_fiscal_code())]
            .into_iter()
            .map(|(value, label)| Choice { value: value.into(), label: label.into(), selected: value == kind })
            .collect();
    let _ = console;
    ErasurePage {
        frame: desk.frame_at(t.erasure_title().to_string(), "erasure", "/privacy/erasure"),
        kinds,
        kind: kind.to_string(),
        value: value.to_string(),
        preview: None,
        done: None,
        error: None,
    }
}

fn preview_view(console: &Console, desk: &Desk, p: ErasurePreview) -> PreviewView {
    let engine = &console.api.engine;
    let t = desk.t;
    PreviewView {
        tickets: p
            .tickets
            .iter()
            .map(|x| Listed {
                reference: x.reference.to_string(),
                state: view::state_label(t, x.state).into(),
                category: view::category_name(engine, t.lang, x.category.as_deref()).into(),
                created: view::when(engine, x.created_at),
            })
            .collect(),
        copies: copies_text(t, &p.copies),
        hold: p.hold.map(|h| h.tickets.iter().map(|r| r.to_string()).collect()),
        confirm: p.confirm,
    }
}

fn refused(desk: &Desk, p: &Problem) -> (&'static str, String) {
    let t = desk.t;
    let title = match p.status {
        409 => t.refused_conflict(),
        403 | 401 => t.refused_forbidden(),
        _ => t.refused_invalid(),
    };
    (title, p.detail.clone())
}

pub async fn show(State(console): State<Console>, desk: Desk) -> Response {
    let mut p = page(&console, &desk, "email", "");
    if let Err(e) = desk.who.require(Endpoint::ErasurePreview) {
        p.error = Some(refused(&desk, &e));
        return html(StatusCode::FORBIDDEN, &p);
    }
    html(StatusCode::OK, &p)
}

/// `POST /privacy/erasure/preview` and `POST /privacy/erasure`.
pub async fn act(
    State(console): State<Console>,
    axum::extract::Path(action): axum::extract::Path<String>,
    Posted { desk, form }: Posted,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let mut p = page(&console, &desk, get("kind"), get("value"));
    let engine = &console.api.engine;
    let result: Result<(), Problem> = async {
        let key = key_of(get("kind"), get("value"))?;
        match action.as_str() {
            "preview" => {
                desk.who.require(Endpoint::ErasurePreview)?;
                let preview = engine.erasure_preview(&key).await?;
                p.preview = Some(preview_view(&console, &desk, preview));
            }
            "erase" => {
                let actor = desk.who.require(Endpoint::Erase)?;
                let done = engine.erase_requester(&key, &actor, get("confirm").trim()).await?;
                let refs: Vec<String> = done.tickets.iter().map(|r| r.to_string()).collect();
                let mut text =
                    fill(desk.t.erasure_done(), &[("n", &refs.len().to_string()), ("references", &refs.join(", "))]);
                let copies = copies_text(desk.t, &done.copies);
                if !copies.is_empty() {
                    text = format!("{text} {}", fill(desk.t.erasure_copies(), &[("copies", &copies)]));
                }
                p.done = Some(text);
                p.value = String::new();
            }
            _ => return Err(Problem::new(StatusCode::NOT_FOUND, "no such action")),
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => html(StatusCode::OK, &p),
        Err(problem) => {
            let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            p.error = Some(refused(&desk, &problem));
            // A refused erasure shows the preview again: what holds it, and what would go.
            if let (Ok(key), true) = (key_of(get("kind"), get("value")), action == "erase")
                && let Ok(preview) = engine.erasure_preview(&key).await
            {
                p.preview = Some(preview_view(&console, &desk, preview));
            }
            html(status, &p)
        }
    }
}
