//! The operator API under `/operator/...`: the work queue, a ticket with its events, and the
//! actions of the flow (take in charge, categorize, classify, notes, close contact, escalate, resolve,
//! knowledge suggestions), plus the endpoint where targets post resolution notices, signed with
//! HMAC-SHA256 per target.
//!
//! Beside the ticket actions here: `incidents` (declare, update, resolve, check), `reminders`
//! (the reminder lookup), `reports` and `dashboard` (the supervisors' figures).
//!
//! Errors are problem+json: 401 without a valid identity, 403 naming the role needed, 409 saying
//! what the flow expects next, 422 pointing at the wrong field.

pub mod dashboard;
mod incidents;
mod reminders;
pub mod reports;

use crate::domain::{Ticket, TicketId, TicketReference, TicketType};
use crate::engine::operator::MAX_SUGGESTIONS;
use crate::engine::{Engine, EngineError, EscalationSettings};
use crate::http::operator_auth::{Endpoint, OperatorAuthenticator, OperatorIdentity, unauthorized};
use crate::http::{ApiJson, MAX_BODY_BYTES, OptionalApiJson, Problem};
use crate::knowledge::search::LazyIndex;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Header with the Unix time (seconds) a notice was signed at.
pub const TIMESTAMP_HEADER: &str = "x-sportello-timestamp";
/// Header with `sha256=<hex>`: HMAC-SHA256 of `<timestamp>.<body>` with the target's secret.
pub const SIGNATURE_HEADER: &str = "x-sportello-signature";
/// A signed notice is accepted this long after (or before) its timestamp, in seconds.
pub const REPLAY_WINDOW_SECONDS: i64 = 300;
const DEFAULT_QUEUE_LIMIT: usize = 50;
const MAX_QUEUE_LIMIT: usize = 200;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Each target's secret for signing notices.
#[derive(Clone, Default)]
pub struct NoticeSecrets(BTreeMap<String, Vec<u8>>);

impl std::fmt::Debug for NoticeSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl NoticeSecrets {
    pub fn insert(&mut self, target: impl Into<String>, secret: impl Into<Vec<u8>>) {
        self.0.insert(target.into(), secret.into());
    }

    /// `SPORTELLO_TARGET_SECRET_<TARGET>` (target id upper-cased, `-` as `_`) for each target of the rulebook.
    pub fn from_env(rules: &crate::rules::Model) -> Self {
        Self::from_vars(rules, &crate::settings::environment().lookup())
    }

    /// [`Self::from_env`] from another source of settings (a Lambda function's).
    pub fn from_vars(rules: &crate::rules::Model, var: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut secrets = Self::default();
        for id in rules.targets.keys().map(|t| t.as_str()) {
            if let Some(secret) = var(&crate::settings::member("SPORTELLO_TARGET_SECRET_", id)) {
                secrets.insert(id.to_string(), secret.into_bytes());
            }
        }
        secrets
    }

    /// `sha256=<hex>` for a body signed at `timestamp`: what a target sends.
    pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn verify(&self, target: &str, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), Problem> {
        let secret =
            self.0.get(target).ok_or_else(|| unauthorized(format!("target `{target}` has no notice secret")))?;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let timestamp: i64 = header(TIMESTAMP_HEADER)
            .ok_or_else(|| unauthorized("sign the notice: the timestamp header is missing").at(TIMESTAMP_HEADER))?
            .parse()
            .map_err(|_| unauthorized("the timestamp is Unix seconds").at(TIMESTAMP_HEADER))?;
        if (now - timestamp).abs() > REPLAY_WINDOW_SECONDS {
            return Err(unauthorized(format!(
                "the signature is older (or newer) than {REPLAY_WINDOW_SECONDS} seconds; sign again"
            ))
            .at(TIMESTAMP_HEADER));
        }
        let tag = header(SIGNATURE_HEADER)
            .and_then(|s| s.strip_prefix("sha256="))
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| unauthorized("the signature header is `sha256=<hex>`").at(SIGNATURE_HEADER))?;
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // verify_slice compares in constant time.
        mac.verify_slice(&tag).map_err(|_| unauthorized("the signature does not match").at(SIGNATURE_HEADER))
    }
}

/// What the operator API's handlers share.
#[derive(Clone)]
pub struct OperatorApi {
    pub engine: Engine,
    pub auth: Arc<OperatorAuthenticator>,
    pub escalation: Arc<EscalationSettings>,
    pub secrets: Arc<NoticeSecrets>,
    /// The engine's index of the rulebook's knowledge base (built once, shared).
    pub knowledge: Arc<LazyIndex>,
}

impl OperatorApi {
    pub fn new(
        engine: Engine,
        auth: OperatorAuthenticator,
        escalation: EscalationSettings,
        secrets: NoticeSecrets,
    ) -> Self {
        let knowledge = engine.knowledge.clone();
        Self { engine, auth: Arc::new(auth), escalation: Arc::new(escalation), secrets: Arc::new(secrets), knowledge }
    }
}

impl FromRequestParts<OperatorApi> for OperatorIdentity {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &OperatorApi) -> Result<Self, Self::Rejection> {
        state.auth.identify(parts)
    }
}

/// The operator API, ready to merge into any router (the local server's, a Lambda's).
pub fn router<S: Clone + Send + Sync + 'static>(api: OperatorApi) -> Router<S> {
    Router::new()
        .route("/operator/whoami", get(whoami))
        .route("/operator/queue", get(queue))
        .route("/operator/tickets/{ticket}", get(ticket))
        .route("/operator/tickets/{ticket}/suggestions", get(suggestions))
        .route("/operator/tickets/{ticket}/take-in-charge", post(take_in_charge))
        .route("/operator/tickets/{ticket}/classify", post(classify))
        .route("/operator/tickets/{ticket}/categorize", post(categorize))
        .route("/operator/tickets/{ticket}/notes", post(note))
        .route("/operator/tickets/{ticket}/close-contact", post(close_contact))
        .route("/operator/tickets/{ticket}/escalate", post(escalate))
        .route("/operator/tickets/{ticket}/resolve", post(resolve))
        .route("/operator/tickets/{ticket}/escalation-preview", post(escalation_preview))
        .route("/operator/tickets/{ticket}/reassign", post(reassign))
        .route("/operator/erasures/preview", post(erasure_preview))
        .route("/operator/erasures", post(erase))
        .route("/operator/tickets/{ticket}/reminder-lookup", post(reminders::reminder_lookup))
        .route("/operator/tickets/{ticket}/check-incidents", post(incidents::check))
        .route("/operator/incidents", post(incidents::declare))
        .route("/operator/incidents/{incident}", axum::routing::patch(incidents::update))
        .route("/operator/incidents/{incident}/resolve", post(incidents::resolve))
        .route("/operator/targets/{target}/notices", post(notice))
        .merge(reports::router())
        .merge(dashboard::router())
        .route("/operator/sweep", post(sweep))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(api)
}

/// A privacy ticket: on the privacy team, of a privacy type, or of a privacy category (the
/// rulebook's policy, see `Model::is_privacy`).
pub fn is_privacy(engine: &Engine, ticket: &Ticket) -> bool {
    engine.rules.is_privacy(ticket)
}

/// Finds a ticket by reference (`SP-7K3Q9XWD`) or internal id.
async fn find(engine: &Engine, key: &str) -> Result<Ticket, Problem> {
    if key.len() > 64 {
        return Err(Problem::new(StatusCode::NOT_FOUND, "no such ticket").at("ticket"));
    }
    let found = if key.to_ascii_uppercase().starts_with("SP-") {
        engine.ticket_by_reference(key).await
    } else {
        engine.ticket(&TicketId(key.to_string())).await
    };
    found.map_err(|e| match e {
        EngineError::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, format!("no ticket `{key}`")).at("ticket"),
        other => other.into(),
    })
}

/// The ticket and the actor, once the caller may act on it (privacy tickets need the privacy role).
pub(crate) async fn authorize(
    api: &OperatorApi,
    who: &OperatorIdentity,
    endpoint: Endpoint,
    key: &str,
) -> Result<(Ticket, crate::domain::Actor), Problem> {
    let actor = who.require(endpoint)?;
    let ticket = find(&api.engine, key).await?;
    let actor = if is_privacy(&api.engine, &ticket) { who.require_privacy(endpoint)? } else { actor };
    Ok((ticket, actor))
}

/// A request by an operator: the API, who is calling (authenticated first, as a handler taking
/// [`OperatorIdentity`] first would), then what the endpoint reads after that.
pub(crate) struct ByOperator<T> {
    pub(crate) api: OperatorApi,
    pub(crate) who: OperatorIdentity,
    pub(crate) then: T,
}

impl<T> FromRequestParts<OperatorApi> for ByOperator<T>
where
    T: FromRequestParts<OperatorApi>,
    T::Rejection: IntoResponse,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, api: &OperatorApi) -> Result<Self, Response> {
        let who = OperatorIdentity::from_request_parts(parts, api).await.map_err(IntoResponse::into_response)?;
        let then = T::from_request_parts(parts, api).await.map_err(IntoResponse::into_response)?;
        Ok(Self { api: api.clone(), who, then })
    }
}

/// A request about one ticket (`{ticket}` in the path: its id or reference) by an operator.
pub(crate) type OnTicket = ByOperator<Path<String>>;

impl OnTicket {
    /// [`authorize`] for `endpoint`: the API, the ticket and the actor the engine records.
    pub(crate) async fn authorize(
        self,
        endpoint: Endpoint,
    ) -> Result<(OperatorApi, Ticket, crate::domain::Actor), Problem> {
        let (ticket, actor) = authorize(&self.api, &self.who, endpoint, &self.then.0).await?;
        Ok((self.api, ticket, actor))
    }
}

fn ticket_json(t: &Ticket) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// `POST /operator/sweep`: finishes now what a crash, a lost message or an expired lease left
/// undone (see `engine/sweep.rs`), instead of at the next clock tick. The body may say how old a
/// step must be to be taken over (`{"older_than_seconds": 120}`); by default, all of them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepBody {
    #[serde(default, deserialize_with = "super::whole_number")]
    older_than_seconds: u64,
}

async fn sweep(
    State(api): State<OperatorApi>,
    who: OperatorIdentity,
    body: Bytes,
) -> Result<Json<crate::engine::SweepReport>, Problem> {
    let actor = who.require(Endpoint::Sweep)?;
    let body: SweepBody = if body.iter().all(u8::is_ascii_whitespace) {
        SweepBody::default()
    } else {
        crate::http::problem::json_object(&body)?
    };
    if body.older_than_seconds > 7 * 24 * 3600 {
        return Err(Problem::unprocessable("/older_than_seconds", "at most 604800 (a week)"));
    }
    let report = api.engine.sweep(std::time::Duration::from_secs(body.older_than_seconds)).await?;
    tracing::info!(by = %actor.id, published = report.published, triaged = report.triaged, failed = report.failed, "sweep run on request");
    Ok(Json(report))
}

async fn whoami(who: OperatorIdentity) -> Result<Json<Value>, Problem> {
    who.require(Endpoint::WhoAmI)?;
    Ok(Json(json!({"id": who.id, "roles": who.roles})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueQuery {
    team: Option<String>,
    limit: Option<usize>,
}

async fn queue(
    State(api): State<OperatorApi>,
    who: OperatorIdentity,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, Problem> {
    who.require(Endpoint::Queue)?;
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let book = &api.engine.rules;
    let privacy_team = book.privacy_team().map(|t| t.as_str());
    let team = match q.team {
        Some(team) => team,
        None if who.has(crate::http::operator_auth::PRIVACY_ROLE) => {
            privacy_team.unwrap_or(book.default_team().as_str()).to_string()
        }
        None => book.default_team().to_string(),
    };
    if !book.teams.contains_key(&team) {
        let known: Vec<&str> = book.teams.keys().map(|k| k.as_str()).collect();
        return Err(Problem::unprocessable("team", format!("unknown team `{team}`; teams: {}", known.join(", "))));
    }
    let limit = q.limit.unwrap_or(DEFAULT_QUEUE_LIMIT);
    if !(1..=MAX_QUEUE_LIMIT).contains(&limit) {
        return Err(Problem::unprocessable("limit", format!("1 to {MAX_QUEUE_LIMIT}")));
    }
    let privacy_caller = who.has(crate::http::operator_auth::PRIVACY_ROLE);
    if privacy_team == Some(team.as_str()) && !privacy_caller {
        who.require_privacy(Endpoint::Queue)?;
    }
    let tickets = api.engine.work_queue(&team, limit).await?;
    let items: Vec<Value> = tickets
        .iter()
        .filter(|t| privacy_caller || !is_privacy(&api.engine, t))
        .map(|t| {
            json!({
                "id": t.id,
                "reference": t.reference,
                "state": t.state,
                "channel": t.channel,
                "category": t.category,
                "ticket_type": t.ticket_type,
                "assignee": t.assignee,
                "created_at": t.created_at,
                "next_deadline": crate::engine::operator::nearest_deadline(t),
            })
        })
        .collect();
    Ok(Json(json!({"team": team, "tickets": items})))
}

async fn ticket(on: OnTicket) -> Result<Json<Value>, Problem> {
    let (api, t, _) = on.authorize(Endpoint::Ticket).await?;
    let view = api.engine.ticket_view(&t.id).await?;
    Ok(Json(json!({
        "ticket": ticket_json(&view.ticket),
        "events": view.events,
        "expected_next": view.expected_next,
        "classify_types": view.classify_types,
        "escalation_targets": view.escalation_targets,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestionQuery {
    /// The operator's search text, instead of the ticket's own.
    q: Option<String>,
    lang: Option<String>,
    limit: Option<usize>,
}

async fn suggestions(
    on: OnTicket,
    query: Result<Query<SuggestionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let (api, t, _) = on.authorize(Endpoint::Suggestions).await?;
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    if let Some(lang) = &q.lang
        && !api.engine.rules.languages.contains(lang)
    {
        return Err(Problem::unprocessable("lang", format!("languages: {}", api.engine.rules.languages.join(", "))));
    }
    let limit = q.limit.unwrap_or(5);
    if !(1..=MAX_SUGGESTIONS).contains(&limit) {
        return Err(Problem::unprocessable("limit", format!("1 to {MAX_SUGGESTIONS}")));
    }
    let hits = api.engine.suggestions(&api.knowledge, &t.id, q.q.as_deref(), q.lang.as_deref(), limit).await?;
    let items: Vec<Value> = hits
        .iter()
        .map(|h| json!({"id": h.id, "lang": h.lang, "title": h.title, "score": h.score, "excerpt": h.excerpt}))
        .collect();
    Ok(Json(json!({"suggestions": items})))
}

/// Takes the ticket in charge; a body `{"ticket_type": "Q"}` classifies it as well, in the same
/// write (one request where an operator who already knows the type would make two).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TakeBody {
    #[serde(default, deserialize_with = "type_code")]
    ticket_type: Option<TicketType>,
}

/// A type given is its code, a string: a number or null is a wrong value at the field (422),
/// where serde's enum reading calls a number a syntax error.
fn type_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<TicketType>, D::Error> {
    use serde::de::Error;
    let code = String::deserialize(d)?;
    TicketType::ALL.into_iter().find(|t| t.code() == code).map(Some).ok_or_else(|| {
        let codes: Vec<&str> = TicketType::ALL.iter().map(|t| t.code()).collect();
        D::Error::custom(format!("unknown ticket type `{code}`; types: {}", codes.join(", ")))
    })
}

async fn take_in_charge(
    on: OnTicket,
    body: Result<OptionalApiJson<TakeBody>, Problem>,
) -> Result<Json<Value>, Problem> {
    let who = on.who.clone();
    let (api, t, actor) = on.authorize(Endpoint::TakeInCharge).await?;
    let OptionalApiJson(body) = body?;
    let to = body.and_then(|b| b.ticket_type);
    if to.is_some() {
        // Classifying asks the classify endpoint's roles as well.
        who.require(Endpoint::Classify)?;
    }
    Ok(Json(ticket_json(&api.engine.take_in_charge_as(&t.id, &actor, to).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifyBody {
    ticket_type: TicketType,
}

async fn classify(on: OnTicket, body: Result<ApiJson<ClassifyBody>, Problem>) -> Result<Json<Value>, Problem> {
    let (api, t, actor) = on.authorize(Endpoint::Classify).await?;
    let ApiJson(body) = body?;
    Ok(Json(ticket_json(&api.engine.classify(&t.id, &actor, body.ticket_type).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategorizeBody {
    category: String,
}

/// Confirms or changes the category. Moving a ticket into a privacy category is allowed to any
/// operator (they found it is a privacy matter); the ticket then belongs to the privacy team.
async fn categorize(on: OnTicket, body: Result<ApiJson<CategorizeBody>, Problem>) -> Result<Json<Value>, Problem> {
    let (api, t, actor) = on.authorize(Endpoint::Categorize).await?;
    let ApiJson(body) = body?;
    Ok(Json(ticket_json(&api.engine.categorize(&t.id, &actor, &body.category).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

async fn note(on: OnTicket, body: Result<ApiJson<NoteBody>, Problem>) -> Result<(StatusCode, Json<Value>), Problem> {
    let (api, t, actor) = on.authorize(Endpoint::Note).await?;
    let ApiJson(body) = body?;
    let event = api.engine.add_note(&t.id, &actor, &body.text).await?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(event).unwrap_or(Value::Null))))
}

async fn close_contact(on: OnTicket) -> Result<Json<Value>, Problem> {
    let (api, t, actor) = on.authorize(Endpoint::CloseContact).await?;
    Ok(Json(ticket_json(&api.engine.close_contact(&t.id, &actor).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalateBody {
    target: String,
    summary: String,
}

async fn escalate(on: OnTicket, body: Result<ApiJson<EscalateBody>, Problem>) -> Result<Json<Value>, Problem> {
    let (api, t, actor) = on.authorize(Endpoint::Escalate).await?;
    let ApiJson(body) = body?;
    let done = api.engine.escalate(&t.id, &actor, &body.target, &body.summary, &api.escalation).await?;
    Ok(Json(json!({
        "ticket": ticket_json(&done.ticket),
        "escalation_id": done.message.escalation_id,
        "transport_id": done.transport_id,
        "fields_sent": done.message.fields.keys().collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    /// One target of the flow; all of them when absent.
    #[serde(default)]
    target: Option<String>,
    /// The question the operator means to send.
    #[serde(default)]
    summary: Option<String>,
}

/// What an escalation would send, target by target: exactly what would leave, and what not.
async fn escalation_preview(on: OnTicket, body: Result<ApiJson<PreviewBody>, Problem>) -> Result<Json<Value>, Problem> {
    let (api, t, _) = on.authorize(Endpoint::EscalationPreview).await?;
    let ApiJson(body) = body?;
    let previews =
        api.engine.escalation_preview(&t.id, body.target.as_deref(), body.summary.as_deref(), &api.escalation).await?;
    let items: Vec<Value> = previews
        .iter()
        .map(|p| {
            let delivery = match &p.route {
                crate::ports::EscalationRoute::Queue { queue } => json!({"queue": queue}),
                crate::ports::EscalationRoute::Email { to, .. } => json!({"email": to}),
            };
            json!({
                "target": p.target,
                "party": p.party,
                "free_text": p.free_text,
                "delivery": delivery,
                "message": p.message,
                "mail": p.mail.as_ref().map(|m| json!({"from": m.from, "to": m.to, "subject": m.subject, "text": m.text})),
                "withheld": p.withheld,
            })
        })
        .collect();
    Ok(Json(json!({
        "reference": t.reference,
        "previews": items,
        "note": "the escalation id and, for e-mail targets, the reply token are assigned when it is sent",
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReassignBody {
    /// The operator who takes the ticket over; absent or null: back to the team's queue.
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// A supervisor moves a ticket from one operator to another (or back to the queue), recorded.
/// A privacy ticket is reassigned only by a supervisor of the privacy team (the console asks
/// the same).
pub fn check_reassign_privacy(engine: &Engine, who: &OperatorIdentity, ticket: &Ticket) -> Result<(), Problem> {
    if is_privacy(engine, ticket) && !who.has(crate::http::operator_auth::PRIVACY_ROLE) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "privacy tickets are reassigned by a supervisor of the privacy team: this needs the roles `supervisor` and `{}`",
                crate::http::operator_auth::PRIVACY_ROLE
            ),
        ));
    }
    Ok(())
}

async fn reassign(
    State(api): State<OperatorApi>,
    who: OperatorIdentity,
    Path(key): Path<String>,
    body: Result<ApiJson<ReassignBody>, Problem>,
) -> Result<Json<Value>, Problem> {
    let actor = who.require(Endpoint::Reassign)?;
    let t = find(&api.engine, &key).await?;
    check_reassign_privacy(&api.engine, &who, &t)?;
    let ApiJson(body) = body?;
    let reason = body.reason.unwrap_or_default();
    Ok(Json(ticket_json(&api.engine.reassign(&t.id, &actor, body.to.as_deref(), &reason).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErasureBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    fiscal_code: Option<String>,
    /// The preview's `confirm` (erasure only).
    #[serde(default)]
    confirm: Option<String>,
}

impl ErasureBody {
    /// The one key the requester is found by.
    fn key(&self) -> Result<crate::ports::RequesterKey, Problem> {
        let key = crate::ports::RequesterKey::one_of(self.email.clone(), self.phone.clone(), self.fiscal_code.clone())
            // No one field is at fault: the body as a whole names none, or more than one.
            .map_err(|given| {
                let detail = match given {
                    0 => "find the requester by one of `email`, `phone`, `fiscal_code`",
                    _ => "one key at a time: `email`, `phone` or `fiscal_code`",
                };
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
            })?;
        key.normalized().map_err(|_| Problem::unprocessable(format!("/{}", key.kind()), "must not be empty"))?;
        Ok(key)
    }
}

/// What an erasure by this key would reach, and the confirmation to carry it out.
async fn erasure_preview(
    State(api): State<OperatorApi>,
    who: OperatorIdentity,
    body: Result<ApiJson<ErasureBody>, Problem>,
) -> Result<Json<Value>, Problem> {
    who.require(Endpoint::ErasurePreview)?;
    let ApiJson(body) = body?;
    if body.confirm.is_some() {
        return Err(Problem::unprocessable(
            "/confirm",
            "a preview takes no confirmation; POST /operator/erasures does",
        ));
    }
    let preview = api.engine.erasure_preview(&body.key()?).await?;
    Ok(Json(serde_json::to_value(&preview).unwrap_or(Value::Null)))
}

/// GDPR art. 17: erases what the preview showed.
async fn erase(
    State(api): State<OperatorApi>,
    who: OperatorIdentity,
    body: Result<ApiJson<ErasureBody>, Problem>,
) -> Result<Json<Value>, Problem> {
    let actor = who.require(Endpoint::Erase)?;
    let ApiJson(body) = body?;
    let key = body.key()?;
    let Some(confirm) = body.confirm.as_deref().filter(|c| !c.trim().is_empty()) else {
        return Err(Problem::unprocessable(
            "/confirm",
            "preview the erasure first (POST /operator/erasures/preview) and send back its `confirm`",
        ));
    };
    let done = api.engine.erase_requester(&key, &actor, confirm.trim()).await?;
    Ok(Json(json!({"matched_on": done.matched_on, "erased": done.tickets, "copies": done.copies})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    answer: String,
    /// The knowledge-base article the answer is built on ("use in answer").
    #[serde(default)]
    article: Option<String>,
    /// How the operator gave the answer when the channel cannot carry it (`phone`...): then it
    /// is recorded, not sent.
    #[serde(default)]
    given_by: Option<String>,
}

/// The ticket after the resolution, with `answer_delivery` saying how the answer went: `email`,
/// `chat`, `api`, `callback`, `given_by_operator`, `queued` (retried), `already_delivered`, or
/// `undeliverable` with its `reason`, in which case the ticket is `in_progress` again.
async fn resolve(on: OnTicket, body: Result<ApiJson<ResolveBody>, Problem>) -> Result<Json<Value>, Problem> {
    let (api, t, actor) = on.authorize(Endpoint::Resolve).await?;
    let ApiJson(body) = body?;
    let done = api
        .engine
        .resolve_from_article(&t.id, &actor, &body.answer, body.given_by.as_deref(), body.article.as_deref())
        .await?;
    let mut out = ticket_json(&done.ticket);
    out["answer_delivery"] = serde_json::to_value(&done.delivery).unwrap_or(Value::Null);
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeBody {
    /// The ticket reference the escalation message named.
    reference: String,
    /// The escalation this notice answers (the `escalation_id` of the escalation message). Bodies
    /// from before it was required lack it: refused with a pointer, never matched by guess.
    #[serde(default)]
    escalation_id: Option<String>,
    notice: String,
    #[serde(default)]
    resolved_at: Option<jiff::Timestamp>,
}

/// `POST /operator/targets/{target}/notices`: a target's resolution notice, signed with its
/// secret. It settles the escalation it names, once; a replay (same notice, same escalation)
/// changes nothing and says so (`replayed: true`).
async fn notice(
    State(api): State<OperatorApi>,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    if !api.engine.rules.targets.contains_key(&target) {
        return Err(Problem::new(StatusCode::NOT_FOUND, format!("no target `{target}`")).at("target"));
    }
    api.secrets.verify(&target, &headers, &body, api.engine.now().as_second())?;
    let body: NoticeBody = crate::http::problem::json_object(&body)?;
    let reference = TicketReference::find_in(&body.reference)
        .filter(|r| r.as_str().len() == body.reference.trim().len())
        .ok_or_else(|| Problem::unprocessable("/reference", "a reference looks like SP-7K3Q9XWD"))?;
    let Some(escalation_id) = body.escalation_id.as_deref() else {
        return Err(Problem::unprocessable(
            "/escalation_id",
            "quote the escalation_id of the escalation message this notice answers: a notice settles that escalation only",
        ));
    };
    let (ticket, changed) = api
        .engine
        .receive_resolution_notice(&target, &reference, escalation_id, &body.notice, body.resolved_at)
        .await
        .map_err(|e| match e {
            EngineError::NotFound(what) if what.starts_with("escalation") => {
                Problem::new(StatusCode::NOT_FOUND, format!("no {what}")).at("/escalation_id")
            }
            EngineError::NotFound(_) => {
                Problem::new(StatusCode::NOT_FOUND, format!("no ticket {reference}")).at("/reference")
            }
            EngineError::Invalid { field, message } if field == "/target" => Problem::unprocessable("target", message),
            other => other.into(),
        })?;
    Ok(Json(json!({
        "reference": ticket.reference,
        "escalation_id": escalation_id,
        "state": ticket.state,
        "replayed": !changed,
    })))
}
