//! Reminders: the operator finds the ticket a reminder chases (by its reference, else by the
//! requester), sees where it stands, and the chased ticket records the reminder.

use crate::support::app::{TestApp, ok};
use axum::http::{Method, StatusCode};
use serde_json::json;
use sportello::domain::{EventKind, Requester, TicketReference};
use sportello::engine::NewContact;
use sportello::http::operator_auth::Role;

const FISCAL_CODE: &str = "RSSMRA85T10A562S";

async fn reminder(d: &TestApp, channel: &str, key: &str, related: Option<&str>, requester: Requester) -> String {
    let contact = NewContact {
        channel: channel.into(),
        idempotency_key: key.into(),
        category: Some("reminder".into()),
        message: Some("Vi ho già scritto e non ho avuto risposta.".into()),
        requester,
        related: related.map(|r| TicketReference::find_in(r).unwrap()),
        ..NewContact::default()
    };
    let created = d.engine.open(contact).await.unwrap();
    d.engine.triage(&created.ticket.id).await.unwrap();
    created.ticket.reference.to_string()
}

async fn take_and_classify(d: &TestApp, reference: &str) {
    take_and_classify_as(d, reference, "Q").await;
}

async fn take_and_classify_as(d: &TestApp, reference: &str, ticket_type: &str) {
    let base = format!("/operator/tickets/{reference}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": ticket_type})))
        .await);
}

#[tokio::test]
async fn a_reminder_quoting_a_reference_shows_that_tickets_status_and_is_recorded_on_it() {
    let d = TestApp::new();
    let earlier = d.open("email", "specialist_support", "earlier").await;
    take_and_classify_as(&d, &earlier, "A").await;
    ok(d.call(
        Role::Operator,
        Method::POST,
        &format!("/operator/tickets/{earlier}/escalate"),
        Some(json!({"target": "pagopa_specialists", "summary": "Verificare"})),
    )
    .await);

    // A mail with an address the answer can go to (an answer that cannot be delivered keeps the
    // ticket open: `operator::answers`).
    let writer = Requester { email: Some("mario.rossi@example.it".into()), ..Requester::default() };
    let r = reminder(&d, "email", "sollecito-1", Some(&earlier), writer).await;
    let path = format!("/operator/tickets/{r}/reminder-lookup");
    let (status, p) = d.call(Role::Operator, Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(p["detail"], "the flow expects take_in_charge before check_referenced_ticket_status");
    take_and_classify(&d, &r).await;

    let found = ok(d.call(Role::Operator, Method::POST, &path, None).await);
    assert_eq!(found["found_by"], "reference");
    let t = &found["referenced"];
    assert_eq!(t["reference"], earlier.as_str());
    assert_eq!(t["state"], "awaiting_resolution_notice");
    assert_eq!(t["team"], "first_level");
    assert_eq!(t["escalations"][0]["target"], "pagopa_specialists");
    assert!(t["escalations"][0]["notice_at"].is_null());
    assert!(!t["deadlines"].as_array().unwrap().is_empty(), "{t}");

    // Looking again records nothing more.
    ok(d.call(Role::Operator, Method::POST, &path, None).await);
    let id = d.engine.ticket_by_reference(&earlier).await.unwrap().id;
    let events = d.engine.ports.events.list(&id).await.unwrap();
    let chased: Vec<_> = events.iter().filter(|e| e.kind == EventKind::Reminder).collect();
    assert_eq!(chased.len(), 1);
    assert_eq!(chased[0].detail["reminder"], r.as_str());
    assert_eq!(chased[0].actor.id, "op-1");

    // And the reminder is answered as usual.
    let resolved = ok(d
        .call(
            Role::Operator,
            Method::POST,
            &format!("/operator/tickets/{r}/resolve"),
            Some(json!({"answer": "La sua pratica è presso gli specialisti."})),
        )
        .await);
    assert_eq!(resolved["state"], "resolved");
}

#[tokio::test]
async fn without_a_reference_the_requesters_open_ticket_is_found() {
    let d = TestApp::new();
    let by_fiscal_code = || Requester { fiscal_code: Some(FISCAL_CODE.into()), ..Requester::default() };
    let mailable = Requester { email: Some("mario.rossi@example.it".into()), ..by_fiscal_code() };
    let done = d.open_with("email", "basic_info", "old", mailable).await;
    d.work(&done, "Q", "Risposta.").await;
    let open = d.open_with("api", "basic_info", "open", by_fiscal_code()).await;
    d.open_with("email", "basic_info", "someone-else", Requester::default()).await;

    let r = reminder(&d, "voice", "call-1", None, by_fiscal_code()).await;
    take_and_classify(&d, &r).await;
    let found = ok(d.call(Role::Operator, Method::POST, &format!("/operator/tickets/{r}/reminder-lookup"), None).await);
    assert_eq!(found["found_by"], "requester");
    assert_eq!(found["referenced"]["reference"], open.as_str(), "the open one before the resolved one");
    assert_eq!(found["others"], json!([{"reference": done, "state": "resolved"}]));

    // A requester with no other ticket: nothing to find, and the operator is told so.
    let lonely = Requester { phone: Some("+390612345678".into()), ..Requester::default() };
    let r = reminder(&d, "voice", "call-2", None, lonely).await;
    take_and_classify(&d, &r).await;
    let (status, p) =
        d.call(Role::Operator, Method::POST, &format!("/operator/tickets/{r}/reminder-lookup"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("quotes no reference"), "{p}");
}

#[tokio::test]
async fn only_reminder_flows_look_up_a_ticket() {
    let d = TestApp::new();
    let q = d.open("email", "basic_info", "q").await;
    take_and_classify(&d, &q).await;
    let (status, p) =
        d.call(Role::Operator, Method::POST, &format!("/operator/tickets/{q}/reminder-lookup"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(p["detail"], "the flow of this ticket has no check_referenced_ticket_status; it expects resolve");
}
