//! "Take in charge and classify" as one request: `take-in-charge` with `{"ticket_type": ...}`
//! makes the two changes in one write, with the same checks as the two requests in sequence, and
//! refuses both (writing nothing) when either is refused.

use super::{desk, open};
use crate::support::app::{TestApp, ok};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use sportello::domain::{Actor, ActorRole, EventKind};
use sportello::http::operator_auth::Role;

/// The ticket as the operator API shows it, and its events' kinds.
async fn seen(d: &TestApp, base: &str) -> (Value, Vec<String>) {
    let view = ok(d.call(Role::Operator, Method::GET, base, None).await);
    let kinds = view["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect();
    (view["ticket"].clone(), kinds)
}

/// A take-in-charge request with this body and content type, as the operator.
async fn take_with(d: &TestApp, base: &str, content_type: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut req = Request::post(format!("{base}/take-in-charge"))
        .header("authorization", format!("Bearer {}", d.tokens[&Role::Operator]));
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    d.raw(req.body(Body::from(body.to_string())).unwrap()).await
}

#[tokio::test]
async fn a_type_given_with_the_taking_in_charge_classifies_in_the_same_write() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "tc-1").await;
    let base = format!("/operator/tickets/{r}");
    let (before, _) = seen(&d, &base).await;

    let t = ok(d
        .call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), Some(json!({"ticket_type": "Q"})))
        .await);
    assert_eq!(
        (t["state"].as_str(), t["assignee"].as_str(), t["ticket_type"].as_str()),
        (Some("in_progress"), Some("op-1"), Some("Q")),
        "{t}"
    );
    // One write: the version moves by one where the two requests move it by two.
    assert_eq!(t["version"].as_u64().unwrap(), before["version"].as_u64().unwrap() + 1, "{t}");

    let view = ok(d.call(Role::Operator, Method::GET, &base, None).await);
    let events = view["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["created", "message", "triaged", "taken_in_charge", "classified"]);
    let (taken, classified) = (&events[3], &events[4]);
    assert_eq!(taken["detail"], json!({"assignee": "op-1"}));
    assert_eq!(classified["detail"], json!({"from": null, "to": "Q"}));
    assert_eq!(taken["actor"], json!({"id": "op-1", "role": "operator"}));
    assert_eq!(classified["actor"], taken["actor"]);
    assert_eq!(view["expected_next"], "resolve");

    // The flow goes on as after the two requests.
    let t = ok(d
        .call(Role::Operator, Method::POST, &format!("{base}/resolve"), Some(json!({"answer": "Ecco la risposta."})))
        .await);
    assert_eq!(t["state"], "resolved");
}

#[tokio::test]
async fn a_privacy_type_routes_the_ticket_in_the_same_write() {
    let d = desk();
    let r = open(&d, "api", "privacy_issue", "tc-priv").await;
    let base = format!("/operator/tickets/{r}");
    let t = ok(d
        .call(
            Role::PrivacyOperator,
            Method::POST,
            &format!("{base}/take-in-charge"),
            Some(json!({"ticket_type": "PI"})),
        )
        .await);
    assert_eq!((t["state"].as_str(), t["ticket_type"].as_str()), (Some("in_progress"), Some("PI")), "{t}");
    let view = ok(d.call(Role::PrivacyOperator, Method::GET, &base, None).await);
    let kinds: Vec<&str> = view["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let from = kinds.iter().position(|k| *k == "taken_in_charge").unwrap();
    assert_eq!(kinds[from..kinds.len().min(from + 2)], ["taken_in_charge", "classified"], "{kinds:?}");
}

#[tokio::test]
async fn a_type_the_flow_refuses_leaves_the_ticket_untouched() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "tc-2").await;
    let base = format!("/operator/tickets/{r}");
    let before = seen(&d, &base).await;

    let (status, p) = d
        .call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), Some(json!({"ticket_type": "A"})))
        .await;
    assert_eq!((status, p["type"].as_str()), (StatusCode::CONFLICT, Some("/problems/flow")), "{p}");
    assert_eq!(p["detail"], "the rulebook classifies category `basic_info` on channel `email` only as Q");
    // Not a half-done taking in charge: the ticket is new, in nobody's charge, same version,
    // same history.
    assert_eq!(seen(&d, &base).await, before);
    assert_eq!(before.0["state"], "new");

    // Another operator may still take it.
    let t = ok(d
        .call(Role::PrivacyOperator, Method::POST, &format!("{base}/take-in-charge"), Some(json!({"ticket_type": "Q"})))
        .await);
    assert_eq!(t["assignee"], "priv-1");
}

#[tokio::test]
async fn a_flow_typed_by_the_incident_check_refuses_the_type_and_writes_nothing() {
    let d = desk();
    let r = open(&d, "email", "malfunction", "tc-3").await;
    let base = format!("/operator/tickets/{r}");
    let before = seen(&d, &base).await;
    let (status, p) = d
        .call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), Some(json!({"ticket_type": "Q"})))
        .await;
    assert_eq!((status, p["type"].as_str()), (StatusCode::CONFLICT, Some("/problems/typed-by-incident-check")), "{p}");
    assert_eq!(seen(&d, &base).await, before);
}

#[tokio::test]
async fn bad_bodies_say_what_and_where_and_write_nothing() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "tc-4").await;
    let base = format!("/operator/tickets/{r}");
    let before = seen(&d, &base).await;
    let json_type = Some("application/json");
    let cases: [(Option<&str>, &str, StatusCode, Option<&str>); 9] = [
        (json_type, r#"{"ticket_type": "Z"}"#, StatusCode::UNPROCESSABLE_ENTITY, Some("/ticket_type")),
        (json_type, r#"{"ticket_type": "q"}"#, StatusCode::UNPROCESSABLE_ENTITY, Some("/ticket_type")),
        (json_type, r#"{"ticket_type": 7}"#, StatusCode::UNPROCESSABLE_ENTITY, Some("/ticket_type")),
        (json_type, r#"{"ticket_type": null}"#, StatusCode::UNPROCESSABLE_ENTITY, Some("/ticket_type")),
        (json_type, r#"{"ticket_type": "Q", "team": "x"}"#, StatusCode::UNPROCESSABLE_ENTITY, Some("/team")),
        (json_type, r#"["Q"]"#, StatusCode::UNPROCESSABLE_ENTITY, None),
        (json_type, r#"{"ticket_type": "Q""#, StatusCode::BAD_REQUEST, None),
        (Some("text/plain"), r#"{"ticket_type": "Q"}"#, StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("Content-Type")),
        (None, r#"{"ticket_type": "Q"}"#, StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("Content-Type")),
    ];
    for (content_type, body, status, field) in cases {
        let (got, p) = take_with(&d, &base, content_type, body).await;
        assert_eq!((got, p["field"].as_str()), (status, field), "{content_type:?} {body}: {p}");
        assert!(!p["detail"].as_str().unwrap_or_default().is_empty(), "{p}");
        assert_eq!(seen(&d, &base).await, before, "{body}");
    }
}

#[tokio::test]
async fn no_body_an_empty_body_or_no_type_take_in_charge_only() {
    let d = desk();
    for (i, (content_type, body)) in
        [(None, ""), (Some("application/json"), ""), (Some("application/json"), "{}"), (None, "  \n")]
            .into_iter()
            .enumerate()
    {
        let r = open(&d, "email", "basic_info", &format!("tc-5-{i}")).await;
        let base = format!("/operator/tickets/{r}");
        let (status, t) = take_with(&d, &base, content_type, body).await;
        assert_eq!(status, StatusCode::OK, "{body:?}: {t}");
        assert_eq!(
            (t["state"].as_str(), t["assignee"].as_str(), t["ticket_type"].as_str()),
            (Some("taken_in_charge"), Some("op-1"), None),
            "{body:?}"
        );
        let (_, kinds) = seen(&d, &base).await;
        assert_eq!(kinds.last().map(String::as_str), Some("taken_in_charge"), "{body:?}");
    }
}

#[tokio::test]
async fn taking_ones_own_ticket_again_with_a_type_classifies_it() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "tc-6").await;
    let base = format!("/operator/tickets/{r}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    let t = ok(d
        .call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), Some(json!({"ticket_type": "Q"})))
        .await);
    assert_eq!((t["state"].as_str(), t["ticket_type"].as_str()), (Some("in_progress"), Some("Q")));
    let (_, kinds) = seen(&d, &base).await;
    assert_eq!(kinds.iter().filter(|k| *k == "taken_in_charge").count(), 1, "{kinds:?}");
    // Another operator is told who has it, with or without a type.
    let (status, p) = d
        .call(Role::PrivacyOperator, Method::POST, &format!("{base}/take-in-charge"), Some(json!({"ticket_type": "Q"})))
        .await;
    assert_eq!((status, p["type"].as_str()), (StatusCode::CONFLICT, Some("/problems/done")), "{p}");
}

/// Two operators take the same ticket with a type at once: one wins, the other is told who has
/// it, and the ticket records one taking in charge and one classification.
#[tokio::test]
async fn two_operators_racing_to_take_and_classify() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "tc-race").await;
    let id = d.engine.ticket_by_reference(&r).await.unwrap().id;
    let actor = |id: &str| Actor { id: id.into(), role: ActorRole::Operator };
    let (op_a, op_b) = (actor("op-a"), actor("op-b"));
    let q = Some(sportello::domain::TicketType::Q);
    let (a, b) = tokio::join!(d.engine.take_in_charge_as(&id, &op_a, q), d.engine.take_in_charge_as(&id, &op_b, q));
    assert!(a.is_ok() != b.is_ok(), "exactly one wins: {a:?} {b:?}");
    let loser = a.as_ref().err().or(b.as_ref().err()).unwrap().to_string();
    assert!(loser.starts_with("the ticket is already in charge of operator op-"), "{loser}");
    let events = d.engine.ports.events.list(&id).await.unwrap();
    let count = |k: EventKind| events.iter().filter(|e| e.kind == k).count();
    assert_eq!((count(EventKind::TakenInCharge), count(EventKind::Classified)), (1, 1));
    let winner = a.or(b).unwrap();
    let taken = events.iter().find(|e| e.kind == EventKind::TakenInCharge).unwrap();
    assert_eq!(Some(&taken.actor.id), winner.assignee.as_ref());
}
