//! The ticket API for PagoPA's client applications (the IO app, Checkout...): open a ticket with
//! the client's own category tree, and read a ticket's status by its reference.
//!
//! Every call names its client (see [`super::auth`]); a client sees only its own tickets.

use super::auth::{ClientAuthenticator, ClientIdentity, client_routes};
use super::requester::RequesterIn;
use super::{ApiJson, AppState, Problem};
use crate::domain::{Actor, ActorRole, ChannelKind, EventKind, Ticket, TicketState, TicketType};
use crate::engine::{Engine, NewContact, validate_fields};
use crate::ports::Created;
use crate::rules::resolved::FieldFormat;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The routes, authenticating clients as the environment says (see [`ClientAuthenticator::from_env`]).
pub fn router() -> Router<AppState> {
    router_with(ClientAuthenticator::from_env())
}

pub fn router_with(auth: impl Into<Arc<ClientAuthenticator>>) -> Router<AppState> {
    let routes = Router::new()
        .route("/api/v1/tickets", post(create_ticket))
        .route("/api/v1/tickets/{reference}", get(ticket_status))
        .route("/api/v1/tickets/{reference}/survey", post(survey));
    client_routes(routes, auth)
}

/// `POST /api/v1/tickets`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    /// The client's category, e.g. `io_pagamenti_pagopa`.
    pub category: String,
    /// The client's subcategory, e.g. `pagamenti_pagopa_blocco`.
    #[serde(default)]
    pub subcategory: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    pub message: String,
    /// An object (never an array), checked as the chat's is.
    #[serde(default, deserialize_with = "super::object")]
    pub requester: RequesterIn,
    /// Custom fields of the rulebook: `notice_code`, `creditor_fiscal_code`, `rpt_id`,
    /// `app_version`, `failure_code`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// What a client may know about its ticket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TicketStatus {
    pub reference: String,
    pub state: TicketState,
    /// Our category (the rulebook's), which the operator may change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<TicketType>,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// The operator's answer, once the ticket is resolved. Notes, escalations and notices stay
    /// internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<PublicAnswer>,
    /// The satisfaction survey, once the ticket is resolved on a channel that sends one: the
    /// app shows the question and posts the rating to `/api/v1/tickets/{reference}/survey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<PublicSurvey>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicSurvey {
    /// Absent once answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    pub answered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
}

/// The part of the operator's answer the requester's app shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicAnswer {
    pub text: String,
    pub answered_at: Timestamp,
}

/// The latest answer on a resolved (or closed) ticket.
async fn public_answer(engine: &Engine, ticket: &Ticket) -> Result<Option<PublicAnswer>, Problem> {
    if !matches!(ticket.state, TicketState::Resolved | TicketState::Closed) {
        return Ok(None);
    }
    let events = engine.ports.events.list(&ticket.id).await.map_err(crate::engine::EngineError::from)?;
    Ok(events.iter().rev().filter(|e| e.kind == EventKind::Answered).find_map(|e| {
        let text = e.detail.get("body")?.as_str()?;
        Some(PublicAnswer { text: text.to_string(), answered_at: e.at })
    }))
}

impl From<&Ticket> for TicketStatus {
    fn from(t: &Ticket) -> Self {
        Self {
            reference: t.reference.to_string(),
            state: t.state,
            category: t.category.clone(),
            ticket_type: t.ticket_type,
            created_at: t.created_at,
            closed_at: t.closed_at,
            answer: None,
            survey: None,
        }
    }
}

fn location(t: &Ticket) -> HeaderValue {
    HeaderValue::from_str(&format!("/api/v1/tickets/{}", t.reference)).expect("references are ASCII")
}

/// The `Idempotency-Key` header: 1 to 255 printable ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<String, Problem> {
    let at = "Idempotency-Key";
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Err(Problem::bad_request(
            "send an `Idempotency-Key` header (e.g. a UUID) so a retry never opens a second ticket",
        )
        .at(at));
    };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_IDEMPOTENCY_KEY {
        return Err(Problem::bad_request(format!("the key has 1 to {MAX_IDEMPOTENCY_KEY} characters")).at(at));
    }
    if !bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(Problem::bad_request("the key has printable ASCII characters only").at(at));
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// The client's configuration in the rulebook; a client authenticated but not configured there
/// cannot open tickets.
fn client_config<'r>(engine: &'r Engine, who: &ClientIdentity) -> Result<&'r crate::rules::resolved::Client, Problem> {
    engine.rules.clients.get(&who.client_id).ok_or_else(|| {
        Problem::new(StatusCode::FORBIDDEN, format!("client `{}` is not configured in the rulebook", who.client_id))
    })
}

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Turns the request into a contact, checking every field and saying which one is wrong.
fn contact_of(engine: &Engine, who: &ClientIdentity, key: &str, req: &CreateTicket) -> Result<NewContact, Problem> {
    let client = client_config(engine, who)?;
    // API tickets arrive on the rulebook's channel of kind `api`.
    let Some((_, channel, _)) = engine.rules.channel_of_kind(ChannelKind::Api) else {
        return Err(Problem::new(StatusCode::NOT_FOUND, "this rulebook has no channel of kind `api`"));
    };
    let category = req.category.trim();
    let subcategory = req.subcategory.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let Some(ours) = client.map(category, subcategory) else {
        let known = client.client_categories().join(", ");
        let detail = format!("`{category}` is not a category of client `{}`; known: {known}", who.client_id);
        // Another client's category is well formed but not this caller's (409); a name no client
        // has is malformed (422).
        let anothers = engine
            .rules
            .clients
            .values()
            .any(|c| c.categories.keys().any(|k| k.split('/').next().unwrap_or(k) == category));
        return Err(if anothers {
            Problem::refused(&crate::engine::Refusal::Channel(detail)).at("/category")
        } else {
            Problem::unprocessable("/category", detail)
        });
    };
    if req.message.trim().is_empty() {
        return Err(Problem::unprocessable("/message", "the message is empty"));
    }
    let requester = req.requester.checked("/requester")?;
    let fields: BTreeMap<String, String> =
        req.fields.iter().map(|(k, v)| (k.clone(), v.trim().to_string())).filter(|(_, v)| !v.is_empty()).collect();
    validate_fields(&engine.rules, &fields, "/fields").map_err(Problem::from)?;
    // An RptId is the creditor's fiscal code followed by the notice code: they must agree. The
    // fields are the rulebook's, found by their formats.
    let of_format = |format: FieldFormat| {
        let mut named = engine.rules.custom_fields.iter().filter(move |(_, f)| f.format == format);
        match (named.next(), named.next()) {
            (Some((id, _)), None) => fields.get_key_value(id.as_str()),
            _ => None,
        }
    };
    if let (Some((rpt_field, rpt)), Some((creditor_field, creditor)), Some((notice_field, notice))) =
        (of_format(FieldFormat::RptId), of_format(FieldFormat::EntityFiscalCode), of_format(FieldFormat::NoticeCode))
        && *rpt != format!("{creditor}{notice}")
    {
        return Err(Problem::unprocessable(
            format!("/fields/{rpt_field}"),
            format!("the RptId is not {creditor_field} followed by {notice_field}"),
        ));
    }
    Ok(NewContact {
        channel: channel.to_string(),
        // The client's own key, scoped to the client; hashed so any printable key fits the store.
        idempotency_key: format!("api:{}:{}", who.client_id, super::auth::sha256_hex(key.as_bytes())),
        category: Some(engine.rules.categories.key(ours).to_string()),
        subject: blank_to_none(req.subject.clone()),
        message: Some(req.message.clone()),
        requester,
        fields,
        related: None,
        actor: Some(Actor { id: who.client_id.clone(), role: ActorRole::Requester }),
        team: None,
        // The client app is the sender (the actor); the requester is who it names.
        sender: None,
    })
}

/// Whether the client opened this ticket: the `created` event names the client as its actor.
async fn owned_by(engine: &Engine, ticket: &Ticket, client_id: &str) -> Result<bool, Problem> {
    if engine.rules.channels.get(&ticket.channel).is_none_or(|c| c.kind != ChannelKind::Api) {
        return Ok(false);
    }
    let events =
        engine.ports.events.list(&ticket.id).await.map_err(|e| Problem::from(crate::engine::EngineError::from(e)))?;
    Ok(events.iter().any(|e| e.kind == EventKind::Created && e.actor.id == client_id))
}

/// Whether a replayed request carries what the first one did: same key, other content is an
/// error (a client bug), never silently the old ticket. The digest kept with the key decides;
/// keys recorded before digests were kept are compared with the ticket.
async fn same_request(engine: &Engine, created: &Created, contact: &NewContact) -> Result<bool, Problem> {
    match &created.fingerprint {
        Some(first) => Ok(*first == contact.fingerprint()),
        None => same_as_ticket(engine, &created.ticket, contact).await,
    }
}

async fn same_as_ticket(engine: &Engine, ticket: &Ticket, contact: &NewContact) -> Result<bool, Problem> {
    let events =
        engine.ports.events.list(&ticket.id).await.map_err(|e| Problem::from(crate::engine::EngineError::from(e)))?;
    let message = events
        .iter()
        .find(|e| e.kind == EventKind::Message)
        .and_then(|e| e.detail.get("body"))
        .and_then(|b| b.as_str());
    Ok(ticket.category == contact.category
        && ticket.subject == contact.subject
        && ticket.requester == contact.requester
        && ticket.fields == contact.fields
        && message == contact.message.as_deref())
}

async fn create_ticket(
    State(state): State<AppState>,
    who: ClientIdentity,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateTicket>,
) -> Result<Response, Problem> {
    let key = idempotency_key(&headers)?;
    let contact = contact_of(&state.engine, &who, &key, &req)?;
    let created = state.engine.open(contact.clone()).await?;
    let ticket = &created.ticket;
    let status = if created.replayed {
        if !same_request(&state.engine, &created, &contact).await? {
            return Err(Problem::unprocessable(
                "Idempotency-Key",
                "this key was used for a different request; use a new key for a new ticket",
            ));
        }
        tracing::info!(reference = %ticket.reference, client = %who.client_id, "API request replayed");
        StatusCode::OK
    } else {
        // The engine's `ticket opened` line says it, inside the request's span, which names the client.
        StatusCode::CREATED
    };
    let mut response = (status, Json(TicketStatus::from(ticket))).into_response();
    response.headers_mut().insert(header::LOCATION, location(ticket));
    Ok(response)
}

/// The client's ticket by reference; another client's ticket is, for this client, no ticket at all.
async fn client_ticket(engine: &Engine, who: &ClientIdentity, reference: &str) -> Result<Ticket, Problem> {
    client_config(engine, who)?;
    let not_found =
        || Problem::new(StatusCode::NOT_FOUND, format!("no ticket `{reference}` for this client")).at("reference");
    let ticket = match engine.ticket_by_reference(reference).await {
        Ok(t) => t,
        Err(crate::engine::EngineError::NotFound(_) | crate::engine::EngineError::Invalid { .. }) => {
            return Err(not_found());
        }
        Err(e) => return Err(e.into()),
    };
    if !owned_by(engine, &ticket, &who.client_id).await? {
        return Err(not_found());
    }
    Ok(ticket)
}

async fn ticket_status(
    State(state): State<AppState>,
    who: ClientIdentity,
    Path(reference): Path<String>,
) -> Result<Json<TicketStatus>, Problem> {
    let ticket = client_ticket(&state.engine, &who, &reference).await?;
    let answer = public_answer(&state.engine, &ticket).await?;
    let survey = ticket.survey.as_ref().map(|s| PublicSurvey {
        question: state.engine.survey_question(&ticket, None),
        answered: s.answered_at.is_some(),
        rating: s.rating,
    });
    Ok(Json(TicketStatus { answer, survey, ..TicketStatus::from(&ticket) }))
}

/// `POST /api/v1/tickets/{reference}/survey`: the requester's rating, through the client's app.
async fn survey(
    State(state): State<AppState>,
    who: ClientIdentity,
    Path(reference): Path<String>,
    ApiJson(body): ApiJson<super::survey::SurveyBody>,
) -> Result<Json<super::survey::SurveyRecorded>, Problem> {
    let ticket = client_ticket(&state.engine, &who, &reference).await?;
    let saved = state.engine.answer_survey(&ticket, ChannelKind::Api, &body.into()).await?;
    super::survey::SurveyRecorded::of(&saved)
        .map(Json)
        .ok_or_else(|| Problem::new(StatusCode::CONFLICT, "not recorded"))
}
