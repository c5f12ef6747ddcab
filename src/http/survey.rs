//! Satisfaction surveys over HTTP: the body every channel posts, and the tiny page an e-mail's
//! signed link opens (`GET /survey/{token}` shows the question, `POST` records the answer once).
//! The chat, API and voice routes sit with their channels' routers.

use super::AppState;
use crate::domain::ChannelKind;
use crate::engine::Refusal;
use crate::engine::survey::{MAX_SURVEY_COMMENT_CHARS, SurveyAnswer};
use crate::engine::{Engine, EngineError};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// What a chat session, a client app or the survey page posts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyBody {
    /// 1 (very unsatisfied) to 5 (very satisfied).
    #[serde(deserialize_with = "super::whole_number")]
    pub rating: i64,
    #[serde(default)]
    pub comment: Option<String>,
}

impl From<SurveyBody> for SurveyAnswer {
    fn from(b: SurveyBody) -> Self {
        SurveyAnswer { rating: b.rating, comment: b.comment }
    }
}

/// The answer, as the channels acknowledge it (no comment echoed back).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SurveyRecorded {
    pub reference: String,
    pub rating: u8,
    pub answered_at: jiff::Timestamp,
}

impl SurveyRecorded {
    pub fn of(t: &crate::domain::Ticket) -> Option<SurveyRecorded> {
        let s = t.survey.as_ref()?;
        Some(SurveyRecorded { reference: t.reference.to_string(), rating: s.rating?, answered_at: s.answered_at? })
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/survey/{token}", get(page).post(submit))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A page of the survey: small, readable, with no scripts and no third-party assets.
fn document(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"it\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title}</title>\
         <style>body{{font:18px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#17324d}}\
         fieldset{{border:0;padding:0}} label{{display:inline-block;margin:.3rem .6rem .3rem 0;padding:.4rem .8rem;\
         border:2px solid #0066cc;border-radius:.4rem}} textarea{{width:100%;font:inherit}}\
         button{{font:inherit;padding:.5rem 1.2rem;background:#0066cc;color:#fff;border:0;border-radius:.4rem}}</style>\
         </head><body><main>{body}</main></body></html>",
        title = escape(title)
    );
    // The token is in the address: the page stays out of caches (and `no-referrer` above keeps it
    // from other sites).
    private_html(status, html)
}

/// A page that no cache keeps, with no scripts and nothing loaded from elsewhere.
pub fn private_html(status: StatusCode, html: String) -> Response {
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
    );
    response
}

fn failure(e: EngineError) -> Response {
    let (status, text) = match &e {
        EngineError::NotFound(_) => (StatusCode::NOT_FOUND, "Questo link non è valido. / This link is not valid."),
        EngineError::Refused(Refusal::Done(_)) => {
            (StatusCode::CONFLICT, "Ha già risposto: grazie! / You have answered already: thank you!")
        }
        EngineError::Invalid { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "Scelga un voto da 1 a 5. / Choose a rating from 1 to 5.")
        }
        _ => (StatusCode::CONFLICT, "Questo questionario non è disponibile. / This survey is not available."),
    };
    document(status, "Sportello", &format!("<h1>Sportello</h1><p role=\"alert\">{text}</p>"))
}

async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let ticket = match state.engine.survey_ticket(&token).await {
        Ok(t) => t,
        Err(e) => return failure(e),
    };
    if ticket.survey.as_ref().is_some_and(|s| s.answered_at.is_some()) {
        return failure(Refusal::Done("this survey was answered already".into()).into());
    }
    let Some(question) = state.engine.survey_question(&ticket, None) else {
        return failure(Refusal::State("no survey".into()).into());
    };
    let choices: String = (1..=5)
        .map(|r| format!("<label><input type=\"radio\" name=\"rating\" value=\"{r}\" required> {r}</label>"))
        .collect();
    let body = format!(
        "<h1>Pratica {reference}</h1><form method=\"post\"><fieldset><legend>{question}</legend>\
         <p>1 = per nulla soddisfatto, 5 = molto soddisfatto</p>{choices}</fieldset>\
         <p><label for=\"comment\" style=\"border:0;padding:0\">Un commento (facoltativo)</label>\
         <textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"{MAX_SURVEY_COMMENT_CHARS}\"></textarea></p>\
         <button type=\"submit\">Invia</button></form>",
        reference = ticket.reference,
        question = escape(&question),
    );
    document(StatusCode::OK, "Sportello: la sua opinione", &body)
}

#[derive(Debug, Deserialize)]
struct FormBody {
    rating: Option<String>,
    comment: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<axum::Form<FormBody>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return failure(EngineError::invalid("/rating", "a form with `rating`"));
    };
    let rating = form.rating.as_deref().and_then(|r| r.trim().parse::<i64>().ok()).unwrap_or(0);
    let answer = SurveyAnswer { rating, comment: form.comment };
    match record(&state.engine, &token, &answer).await {
        Ok(()) => document(
            StatusCode::OK,
            "Sportello: grazie",
            "<h1>Grazie!</h1><p role=\"status\">La sua risposta è stata registrata. / Your answer has been recorded.</p>",
        ),
        Err(e) => failure(e),
    }
}

async fn record(engine: &Engine, token: &str, answer: &SurveyAnswer) -> Result<(), EngineError> {
    let ticket = engine.survey_ticket(token).await?;
    engine.answer_survey(&ticket, ChannelKind::Email, answer).await.map(|_| ())
}
