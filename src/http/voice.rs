//! Voice / IVR: what the telephony platform calls when a call starts. In service hours the caller
//! hears the welcome and waits for an operator, with a ticket open; out of hours, the closed
//! message and the other channels, and the call is recorded as not served.
//!
//! Two shapes of the same thing: a plain JSON contract (`POST /voice/calls`) and the event an
//! Amazon Connect contact flow sends its Lambda (`POST /voice/connect`, or the event itself, see
//! `functions/voice`). A retried call (same call id) gets the same ticket and the same answer.

use super::auth::{ClientAuthenticator, ClientIdentity, client_routes};
use super::{ApiJson, AppState, Problem};
use crate::domain::{Actor, ActorRole, ChannelKind, Requester, TicketState};
use crate::engine::{Engine, NewContact};
use crate::rules::resolved::Channel;
use crate::rules::{Contact, Facts, Rules};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

const MAX_CALL_ID: usize = 128;

/// What callers' numbers look like when the network withholds them.
const WITHHELD: &[&str] = &["anonymous", "unknown", "private", "restricted", "unavailable"];

/// The routes, authenticating the telephony platform as the environment says (see
/// [`ClientAuthenticator::from_env`]).
pub fn router() -> Router<AppState> {
    router_with(ClientAuthenticator::from_env())
}

/// The routes with the given authenticator. The telephony platform is a client like the ticket
/// API's: an API key locally, the API Gateway authorizer's identity on AWS. An Amazon Connect
/// contact flow that invokes the voice function directly is authorized by IAM instead (see
/// `lambda::voice_event`).
pub fn router_with(auth: impl Into<Arc<ClientAuthenticator>>) -> Router<AppState> {
    let routes = Router::new()
        .route("/voice/calls", post(call))
        .route("/voice/connect", post(connect))
        .route("/voice/survey", post(survey));
    client_routes(routes, auth)
}

/// Calls come from the telephony platform: a client named after a voice channel of the rulebook
/// (`voice`). A client app's key opens no calls.
fn telephony(engine: &Engine, who: &ClientIdentity) -> Result<(), Problem> {
    let book = &engine.rules;
    if book.channels.get(&who.client_id).is_some_and(|c| c.kind == ChannelKind::Voice) {
        return Ok(());
    }
    let voice: Vec<&str> =
        book.channels.iter().filter(|(_, c)| c.kind == ChannelKind::Voice).map(|(id, _)| id.as_str()).collect();
    let Some(first) = voice.first() else {
        return Err(Problem::new(axum::http::StatusCode::NOT_FOUND, "this rulebook has no channel of kind `voice`"));
    };
    Err(Problem::new(
        axum::http::StatusCode::FORBIDDEN,
        format!(
            "client `{}` is not a telephony platform: calls come from the client of a voice channel ({}); \
             give the platform its own key (`sportello clients add {first}`)",
            who.client_id,
            voice.join(", "),
        ),
    ))
}

/// `POST /voice/calls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallStart {
    /// The platform's call id: a retry with the same id is the same call.
    pub call_id: String,
    /// The caller's number (E.164), or `anonymous`.
    #[serde(default)]
    pub caller: Option<String>,
    /// `it` or `en` (the rulebook's languages); the first one when absent.
    #[serde(default)]
    pub language: Option<String>,
    /// The IVR menu choice: a key of the voice channel's `menu` in the rulebook.
    #[serde(default)]
    pub menu: Option<Value>,
}

/// What the IVR plays and does next.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CallAnswer {
    pub call_id: String,
    pub reference: String,
    /// True: queue the call for an operator. False: play the prompt and hang up.
    pub open: bool,
    pub state: TicketState,
    pub language: String,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_opening: Option<Timestamp>,
}

impl CallAnswer {
    /// The flat string map a Connect contact flow reads (`$.External.open`...).
    pub fn to_connect(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::from([
            ("open".to_string(), self.open.to_string()),
            ("prompt".to_string(), self.prompt.clone()),
            ("reference".to_string(), self.reference.clone()),
            ("language".to_string(), self.language.clone()),
            ("state".to_string(), self.state.to_string()),
        ]);
        if let Some(t) = self.next_opening {
            out.insert("next_opening".into(), t.to_string());
        }
        out
    }
}

/// The Amazon Connect contact-flow Lambda event (only what Sportello reads; Connect sends more).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectEvent {
    pub details: ConnectDetails,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectDetails {
    pub contact_data: ContactData,
    /// The contact flow's parameters for this invocation (`language`, `menu`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameters: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactData {
    pub contact_id: String,
    #[serde(default)]
    pub initial_contact_id: Option<String>,
    #[serde(default, deserialize_with = "super::object_or_null")]
    pub customer_endpoint: Option<Endpoint>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: BTreeMap<String, String>,
    /// The flow's language, e.g. `it-IT`.
    #[serde(default)]
    pub language_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Endpoint {
    #[serde(default)]
    pub address: Option<String>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl ConnectEvent {
    /// The same call in the plain contract: parameters win over contact attributes. The contact's
    /// `LanguageCode` is the flow's locale, not something the caller chose: one whose language is
    /// not among `languages` (the rulebook's) leaves the language to the rulebook's default.
    pub fn to_call(&self, languages: &[String]) -> CallStart {
        let data = &self.details.contact_data;
        let pick = |name: &str| self.details.parameters.get(name).or_else(|| data.attributes.get(name)).cloned();
        let spoken = |l: &String| languages.iter().any(|x| x.eq_ignore_ascii_case(l));
        let language = pick("language").or_else(|| {
            data.language_code.as_deref().and_then(|c| c.split(['-', '_']).next()).map(str::to_lowercase).filter(spoken)
        });
        CallStart {
            // A transferred contact gets a new id; the initial one identifies the call.
            call_id: data
                .initial_contact_id
                .clone()
                .filter(|i| !i.is_empty())
                .unwrap_or_else(|| data.contact_id.clone()),
            caller: data.customer_endpoint.as_ref().and_then(|e| e.address.clone()),
            language,
            menu: pick("menu").map(Value::String),
        }
    }
}

/// The category the caller chose in the IVR menu (the rulebook's `menu` of the voice channel);
/// none when they chose nothing.
fn menu_category<'r>(rules: &'r Rules, channel: &Channel, menu: &Option<Value>) -> Result<Option<&'r str>, Problem> {
    let choice = match menu {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().to_string(),
        // `4` and `4.0` are the same key, as JSON Schema counts integers.
        Some(Value::Number(n)) => match n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e15) {
            Some(whole) => (whole as i64).to_string(),
            None => n.to_string(),
        },
        Some(_) => {
            return Err(Problem::unprocessable(
                "/menu",
                "the menu choice is the key the caller pressed (a digit, `*` or `#`), as a string or a number",
            ));
        }
    };
    match channel.menu.get(&choice) {
        Some(category) => Ok(Some(rules.categories.key(*category).as_str())),
        None => {
            let known: Vec<String> =
                channel.menu.iter().map(|(key, c)| format!("{key} ({})", rules.categories.key(*c))).collect();
            let known = if known.is_empty() { "none, this IVR has no menu".to_string() } else { known.join(", ") };
            Err(Problem::unprocessable("/menu", format!("no menu choice `{choice}`; choices: {known}")))
        }
    }
}

fn caller_phone(caller: &Option<String>) -> Result<Option<String>, Problem> {
    let Some(raw) = caller.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    if WITHHELD.iter().any(|w| raw.eq_ignore_ascii_case(w)) {
        return Ok(None);
    }
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    let allowed = raw.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
    if !allowed || !(3..=20).contains(&digits) || raw.len() > 32 {
        return Err(Problem::unprocessable("/caller", "not a phone number (e.g. +390612345678) or `anonymous`"));
    }
    Ok(Some(raw.to_string()))
}

fn language(engine: &Engine, asked: &Option<String>) -> Result<String, Problem> {
    let languages = &engine.rules.languages;
    match asked.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(languages.first().cloned().unwrap_or_else(|| "it".into())),
        Some(l) if languages.iter().any(|x| x.eq_ignore_ascii_case(l)) => Ok(l.to_lowercase()),
        Some(l) => Err(Problem::unprocessable("/language", format!("`{l}` is not one of: {}", languages.join(", ")))),
    }
}

/// Opens (or finds again) the call's ticket, triages it at once so the answer is final, and
/// says what the IVR plays.
pub async fn answer_call(engine: &Engine, call: &CallStart) -> Result<CallAnswer, Problem> {
    // Exactly as sent: an id with spaces around it is refused, not trimmed into another call's.
    let call_id = call.call_id.as_str();
    if call_id.is_empty() || call_id.len() > MAX_CALL_ID || !call_id.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(Problem::unprocessable(
            "/call_id",
            format!("the call id has 1 to {MAX_CALL_ID} printable characters, no spaces"),
        ));
    }
    // Calls arrive on the rulebook's channel of kind `voice`.
    let rules = &engine.rules;
    let Some((_, channel_id, channel)) = rules.channel_of_kind(ChannelKind::Voice) else {
        return Err(Problem::new(StatusCode::NOT_FOUND, "this rulebook has no channel of kind `voice`"));
    };
    let channel_id = channel_id.as_str();
    let lang = language(engine, &call.language)?;
    let category = menu_category(rules, channel, &call.menu)?;
    let phone = caller_phone(&call.caller)?;
    let contact = NewContact {
        channel: channel_id.into(),
        idempotency_key: format!("voice:{call_id}"),
        category: category.map(str::to_string),
        requester: Requester { phone, ..Requester::default() },
        actor: Some(Actor { id: channel_id.into(), role: ActorRole::Requester }),
        ..NewContact::default()
    };
    // What the caller hears depends on triage, which intake did.
    let created = engine.open(contact).await?;
    let triaged = engine.triage_of(&created.ticket).await?;
    let ticket = &created.ticket;
    let decision = engine
        .rules
        .evaluate(&Contact {
            channel: channel_id,
            category: &triaged.category,
            at: ticket.created_at,
            facts: Facts::default(),
        })
        .map_err(|e| Problem::unprocessable("/menu", e.to_string()))?;
    let fill = |id: &str| rules.fill(rules.message(id, &lang).unwrap_or_default(), &decision, &lang, channel_id);
    let parts: Vec<String> = if decision.in_service_hours {
        vec![fill("ivr_welcome")]
    } else if !triaged.state.is_final() {
        // Out of hours, a privacy request still reaches the privacy team (section 3.5).
        vec![fill("ivr_out_of_hours"), fill("ivr_privacy_registered"), fill("alternative_channels")]
    } else {
        vec![fill("ivr_out_of_hours"), fill("alternative_channels")]
    };
    let prompt = parts.into_iter().filter(|p| !p.trim().is_empty()).collect::<Vec<_>>().join(" ");
    let answer = CallAnswer {
        call_id: call_id.to_string(),
        reference: ticket.reference.to_string(),
        open: decision.in_service_hours && triaged.state == TicketState::New,
        state: triaged.state,
        language: lang,
        prompt: prompt.replace("{reference}", ticket.reference.as_str()).trim().to_string(),
        next_opening: decision.next_opening.as_ref().map(|z| z.timestamp()),
    };
    tracing::info!(reference = %answer.reference, open = answer.open, replayed = created.replayed, "call answered");
    Ok(answer)
}

async fn call(
    State(state): State<AppState>,
    who: ClientIdentity,
    ApiJson(call): ApiJson<CallStart>,
) -> Result<Json<CallAnswer>, Problem> {
    telephony(&state.engine, &who)?;
    Ok(Json(answer_call(&state.engine, &call).await?))
}

/// `POST /voice/survey`: the digit a caller pressed when the IVR asked for a rating.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyDigit {
    /// The ticket the call-back was about.
    pub reference: String,
    /// `1` to `5`.
    pub digit: String,
}

async fn survey(
    State(state): State<AppState>,
    who: ClientIdentity,
    ApiJson(event): ApiJson<SurveyDigit>,
) -> Result<Json<super::survey::SurveyRecorded>, Problem> {
    telephony(&state.engine, &who)?;
    let rating = match event.digit.trim() {
        d @ ("1" | "2" | "3" | "4" | "5") => d.parse::<i64>().unwrap_or_default(),
        other => {
            return Err(Problem::unprocessable("/digit", format!("a rating is a key from 1 to 5, not `{other}`")));
        }
    };
    let ticket = state.engine.ticket_by_reference(&event.reference).await.map_err(|e| match e {
        crate::engine::EngineError::Invalid { .. } => {
            Problem::unprocessable("/reference", "a ticket reference such as SP-7K3Q9XWD")
        }
        e => e.into(),
    })?;
    let answer = crate::engine::survey::SurveyAnswer { rating, comment: None };
    let saved = state.engine.answer_survey(&ticket, ChannelKind::Voice, &answer).await?;
    super::survey::SurveyRecorded::of(&saved)
        .map(Json)
        .ok_or_else(|| Problem::new(StatusCode::CONFLICT, "not recorded"))
}

async fn connect(
    State(state): State<AppState>,
    who: ClientIdentity,
    ApiJson(event): ApiJson<ConnectEvent>,
) -> Result<Json<BTreeMap<String, String>>, Problem> {
    telephony(&state.engine, &who)?;
    let call = event.to_call(&state.engine.rules.languages);
    let answer = answer_call(&state.engine, &call).await.map_err(connect_pointer)?;
    Ok(Json(answer.to_connect()))
}

/// Errors about the plain contract's fields, pointed at where they sit in a Connect event.
pub fn connect_pointer(mut p: Problem) -> Problem {
    p.field = p.field.map(|f| match f.as_str() {
        "/call_id" => "/Details/ContactData/ContactId".to_string(),
        "/caller" => "/Details/ContactData/CustomerEndpoint/Address".to_string(),
        "/language" => "/Details/Parameters/language".to_string(),
        "/menu" => "/Details/Parameters/menu".to_string(),
        _ => f,
    });
    p
}
