//! The mobile chat's HTTP API (section 3.2).
//!
//! ```text
//! POST /chat/sessions                           start (or resume) a session: welcome + token
//! POST /chat/sessions/{reference}/messages      the user writes; the bot answers
//! GET  /chat/sessions/{reference}/messages?after=N   poll the conversation after message N
//! GET  /chat/sessions/{reference}/messages?cursor=C  poll what is new since the poll that gave C
//! POST /chat/sessions/{reference}/resolved      the user confirms the bot solved it
//! POST /chat/sessions/{reference}/operator      the user asks for an operator
//! ```
//!
//! Authentication: the start returns a random `token` (256 bits of hex, shown once; the server
//! keeps only its SHA-256). Every call on a session sends `Authorization: Bearer <token>`. A
//! missing or malformed header is 401; a token that does not open the session is answered like an
//! unknown reference (404), so references cannot be probed. A retried start (same `session_id`)
//! returns the same ticket with a new token; the session id is the client's secret (a UUID).

use super::requester::RequesterIn;
use super::{ApiJson, AppState, Problem};
use crate::domain::{Requester, Ticket, TicketState, TicketType};
use crate::engine::{ChatMessage, MAX_CHAT_MESSAGE_BYTES, NewChatSession};
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Largest chat request body: a 4 KB message with JSON escaping to spare.
pub const MAX_CHAT_BODY_BYTES: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat/sessions", post(start))
        .route("/chat/sessions/{reference}/messages", post(user_message).get(poll))
        .route("/chat/sessions/{reference}/resolved", post(resolved))
        .route("/chat/sessions/{reference}/operator", post(operator))
        .route("/chat/sessions/{reference}/survey", post(survey))
        .layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    session_id: String,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    category: Option<String>,
    /// Who the app's login says the user is: an object or null, checked as the ticket API's is.
    #[serde(default, deserialize_with = "super::object_or_null")]
    requester: Option<RequesterIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    text: String,
}

/// Where a session stands, and what the call added.
#[derive(Debug, Serialize)]
struct SessionView {
    reference: String,
    state: TicketState,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket_type: Option<TicketType>,
    /// An operator has the chat: user messages go to them, the bot is silent.
    handed_off: bool,
    messages: Vec<ChatMessage>,
    /// Poll with `after` = this.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<usize>,
    /// Poll with `cursor` = this: only what is newer is read (a poll answers with one).
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

impl SessionView {
    fn of(ticket: &Ticket, handed_off: bool, messages: Vec<ChatMessage>) -> Self {
        Self {
            reference: ticket.reference.to_string(),
            state: ticket.state,
            ticket_type: ticket.ticket_type,
            handed_off,
            next: messages.last().map(|m| m.seq),
            cursor: None,
            messages,
        }
    }
}

#[derive(Debug, Serialize)]
struct Started {
    #[serde(flatten)]
    view: SessionView,
    token: String,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<String>,
}

/// JSON that must not be cached: chat content and tokens.
fn private_json(status: StatusCode, body: &impl Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `ApiJson` with the chat's own body limit in its message.
struct ChatJson<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ChatJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match ApiJson::<T>::from_request(req, state).await {
            Ok(ApiJson(v)) => Ok(ChatJson(v)),
            Err(p) if p.status == StatusCode::PAYLOAD_TOO_LARGE => Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {MAX_CHAT_BODY_BYTES} bytes"),
            )),
            Err(p) => Err(p),
        }
    }
}

/// The session token of `Authorization: Bearer <token>`.
struct SessionToken(String);

impl<S: Send + Sync> FromRequestParts<S> for SessionToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The session's token travels in `Authorization` (the document's `chatSession` scheme), so
        // that is the field at fault; the challenge is RFC 6750's, its own realm apart from the
        // client apps' keys, with `invalid_request` when a header was sent but is not a bearer token.
        let unauthorized = |detail: &str, challenge: &'static str| {
            let mut r = Problem::new(StatusCode::UNAUTHORIZED, detail).at("Authorization").into_response();
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            r
        };
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "send the session's token as `Authorization: Bearer <token>`",
                r#"Bearer realm="sportello-chat""#,
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty() && t.len() <= 256);
        match token {
            Some(t) => Ok(SessionToken(t.to_string())),
            None => Err(unauthorized(
                "the Authorization header must be `Bearer <token>`, the token `POST /chat/sessions` returned",
                r#"Bearer realm="sportello-chat", error="invalid_request""#,
            )),
        }
    }
}

fn reference(path: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    path.map(|Path(r)| r).map_err(|e| Problem::bad_request(e.body_text()).at("reference"))
}

async fn start(State(state): State<AppState>, ChatJson(body): ChatJson<StartBody>) -> Result<Response, Problem> {
    let requester = match &body.requester {
        Some(r) => r.checked("/requester")?,
        None => Requester::default(),
    };
    let started = state
        .engine
        .chat_start(NewChatSession { session_id: body.session_id, lang: body.lang, category: body.category, requester })
        .await?;
    let status = if started.replayed { StatusCode::OK } else { StatusCode::CREATED };
    let view = SessionView::of(&started.ticket, started.handed_off, started.messages);
    let body = Started { view, token: started.token, token_type: "Bearer", lang: started.lang };
    let mut response = private_json(status, &body);
    if let Ok(location) = HeaderValue::from_str(&format!("/chat/sessions/{}/messages", body.view.reference)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn user_message(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    SessionToken(token): SessionToken,
    ChatJson(body): ChatJson<MessageBody>,
) -> Result<Response, Problem> {
    let reference = reference(path)?;
    if body.text.len() > MAX_CHAT_MESSAGE_BYTES {
        return Err(
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, format!("at most {MAX_CHAT_MESSAGE_BYTES} bytes")).at("/text")
        );
    }
    let reply = state.engine.chat_user_message(&reference, &token, &body.text).await?;
    Ok(private_json(StatusCode::OK, &SessionView::of(&reply.ticket, reply.handed_off, reply.messages)))
}

async fn poll(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    SessionToken(token): SessionToken,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let reference = reference(path)?;
    let mut after = None;
    let mut cursor = None;
    for pair in query.as_deref().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("after", value) => {
                // At most u32::MAX, as the OpenAPI document declares (no chat is that long).
                after = Some(value.parse::<u32>().map(|n| n as usize).map_err(|_| {
                    Problem::unprocessable("after", "`after` is the number of the last message seen (0 for all)")
                })?);
            }
            // Cursors are ASCII letters, digits and dots: nothing to percent-decode.
            ("cursor", value) => cursor = Some(value.to_string()),
            _ => {}
        }
    }
    let t = match (cursor, after) {
        (Some(_), Some(_)) => {
            return Err(Problem::unprocessable("cursor", "poll with `cursor` or with `after`, not both"));
        }
        (Some(cursor), None) => state.engine.chat_poll(&reference, &token, &cursor).await?,
        (None, after) => state.engine.chat_messages(&reference, &token, after.unwrap_or(0)).await?,
    };
    let mut view = SessionView::of(&t.ticket, t.handed_off, t.messages);
    view.next = Some(t.next);
    view.cursor = Some(t.cursor);
    Ok(private_json(StatusCode::OK, &view))
}

async fn resolved(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    SessionToken(token): SessionToken,
) -> Result<Response, Problem> {
    let reference = reference(path)?;
    let reply = state.engine.chat_resolved(&reference, &token).await?;
    Ok(private_json(StatusCode::OK, &SessionView::of(&reply.ticket, reply.handed_off, reply.messages)))
}

/// `POST /chat/sessions/{reference}/survey`: the user's rating of the operator's answer.
async fn survey(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    SessionToken(token): SessionToken,
    ChatJson(body): ChatJson<super::survey::SurveyBody>,
) -> Result<Response, Problem> {
    let reference = reference(path)?;
    let ticket = state.engine.chat_survey(&reference, &token, &body.into()).await?;
    Ok(private_json(StatusCode::OK, &super::survey::SurveyRecorded::of(&ticket)))
}

async fn operator(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    SessionToken(token): SessionToken,
) -> Result<Response, Problem> {
    let reference = reference(path)?;
    let reply = state.engine.chat_request_operator(&reference, &token).await?;
    Ok(private_json(StatusCode::OK, &SessionView::of(&reply.ticket, reply.handed_off, reply.messages)))
}
