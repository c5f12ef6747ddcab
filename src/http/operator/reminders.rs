//! `POST /operator/tickets/{ticket}/reminder-lookup`: the ticket a reminder chases, as the
//! operator needs it to answer (state, team, deadlines, escalations).

use super::{OperatorApi, authorize, is_privacy};
use crate::domain::Ticket;
use crate::http::Problem;
use crate::http::operator_auth::{Endpoint, OperatorIdentity, PRIVACY_ROLE};
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

pub(super) async fn reminder_lookup(
    State(api): State<OperatorApi>,
    who: OperatorIdentity,
    Path(key): Path<String>,
) -> Result<Json<Value>, Problem> {
    let (t, actor) = authorize(&api, &who, Endpoint::ReminderLookup, &key).await?;
    let found = api.engine.reminder_lookup(&t.id, &actor).await?;
    let may_see = |t: &Ticket| who.has(PRIVACY_ROLE) || !is_privacy(&api.engine, t);
    let referenced = api.engine.notice_bodies(found.referenced.clone()).await?;
    Ok(Json(json!({
        "reminder": found.reminder.reference,
        "found_by": found.found_by,
        "referenced": status(&referenced, may_see(&referenced)),
        "others": found.others.iter().map(|o| json!({"reference": o.reference, "state": o.state})).collect::<Vec<_>>(),
    })))
}

/// Where the ticket stands. A privacy ticket shown to an operator without the privacy role says
/// only its state and team.
fn status(t: &Ticket, full: bool) -> Value {
    if !full {
        return json!({"reference": t.reference, "state": t.state, "team": t.team, "restricted": true});
    }
    json!({
        "reference": t.reference,
        "state": t.state,
        "team": t.team,
        "category": t.category,
        "ticket_type": t.ticket_type,
        "assignee": t.assignee,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "closed_at": t.closed_at,
        "deadlines": t.deadlines,
        "escalations": t.escalations.iter().map(|e| json!({
            "target": e.target,
            "sent_at": e.sent_at,
            "notice_at": e.notice_at,
            "notice": e.notice,
            "due": e.due,
            "reminded_at": e.reminded_at,
        })).collect::<Vec<_>>(),
    })
}
