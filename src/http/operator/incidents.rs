//! Incidents over the operator API: supervisors and admins declare, update and resolve them; an
//! operator working a malfunction report checks them (`check_active_incidents`).

use super::{OnTicket, OperatorApi};
use crate::engine::EngineError;
use crate::http::operator_auth::{Endpoint, OperatorIdentity};
use crate::http::{ApiJson, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

fn not_found(id: &str) -> impl Fn(EngineError) -> Problem + '_ {
    move |e| match e {
        EngineError::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, format!("no incident `{id}`")).at("incident"),
        other => other.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeclareBody {
    service: String,
    title: String,
    restoration_info: Option<String>,
}

pub(super) async fn declare(
    State(api): State<OperatorApi>,
    who: OperatorIdentity,
    body: Result<ApiJson<DeclareBody>, Problem>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let actor = who.require(Endpoint::DeclareIncident)?;
    let ApiJson(b) = body?;
    let incident = api.engine.declare_incident(&actor, &b.service, &b.title, b.restoration_info.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(json!(incident))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateBody {
    title: Option<String>,
    restoration_info: Option<String>,
}

pub(super) async fn update(
    State(api): State<OperatorApi>,
    who: OperatorIdentity,
    Path(id): Path<String>,
    body: Result<ApiJson<UpdateBody>, Problem>,
) -> Result<Json<Value>, Problem> {
    who.require(Endpoint::UpdateIncident)?;
    let ApiJson(b) = body?;
    if b.title.is_none() && b.restoration_info.is_none() {
        return Err(Problem::unprocessable("/restoration_info", "give a title or restoration_info to change"));
    }
    let incident = api
        .engine
        .update_incident(&id, b.title.as_deref(), b.restoration_info.as_deref())
        .await
        .map_err(not_found(&id))?;
    Ok(Json(json!(incident)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResolveBody {
    closing_text: String,
}

pub(super) async fn resolve(
    State(api): State<OperatorApi>,
    who: OperatorIdentity,
    Path(id): Path<String>,
    body: Result<ApiJson<ResolveBody>, Problem>,
) -> Result<Json<Value>, Problem> {
    who.require(Endpoint::ResolveIncident)?;
    let ApiJson(b) = body?;
    let incident = api.engine.resolve_incident(&id, &b.closing_text).await.map_err(not_found(&id))?;
    Ok(Json(json!(incident)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckBody {
    service: String,
}

pub(super) async fn check(on: OnTicket, body: Result<ApiJson<CheckBody>, Problem>) -> Result<Json<Value>, Problem> {
    let (api, t, actor) = on.authorize(Endpoint::CheckIncidents).await?;
    let ApiJson(b) = body?;
    let done = api.engine.check_incidents(&t.id, &actor, &b.service, &api.escalation).await?;
    Ok(Json(json!({
        "ticket": done.ticket,
        "incident": done.incident,
        "escalation_id": done.escalated.as_ref().map(|e| &e.message.escalation_id),
    })))
}
