//! Incidents: supervisors declare, update and resolve them; malfunction reports check them
//! (Q with the restoration info, or I escalated to incident management); a resolution reaches
//! every linked ticket once, page by page through the step queue.

use crate::support::app::{TestApp, ok, operator};
use axum::http::{Method, StatusCode};
use serde_json::json;
use sportello::domain::{EventKind, Requester, TicketState};
use sportello::engine::{INCIDENT_BATCH, NewContact, handle_step};
use sportello::http::operator_auth::Role;
use std::time::Duration;

#[tokio::test]
async fn a_malfunction_with_an_active_incident_is_answered_with_the_restoration_info() {
    let d = TestApp::new();
    let (status, p) =
        d.call(Role::Operator, Method::POST, "/operator/incidents", Some(json!({"service": "io", "title": "t"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p}");
    let (status, p) = d
        .call(Role::Supervisor, Method::POST, "/operator/incidents", Some(json!({"service": "IO!", "title": "t"})))
        .await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/service")));

    let (status, inc) = d
        .call(
            Role::Supervisor,
            Method::POST,
            "/operator/incidents",
            Some(json!({"service": "pagopa", "title": "Pagamenti con carta in errore"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    let id = inc["id"].as_str().unwrap().to_string();
    let inc = ok(d
        .call(
            Role::Admin,
            Method::PATCH,
            &format!("/operator/incidents/{id}"),
            Some(json!({"restoration_info": "Ripristino previsto entro le 14."})),
        )
        .await);
    assert_eq!(inc["restoration_info"], "Ripristino previsto entro le 14.");
    let (status, _) =
        d.call(Role::Supervisor, Method::PATCH, "/operator/incidents/INC-nope", Some(json!({"title": "x"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A report on the service with the incident: Q, linked, with the restoration info.
    let r = d.open("email", "malfunction", "m-1").await;
    let base = format!("/operator/tickets/{r}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    let c = ok(d
        .call(Role::Operator, Method::POST, &format!("{base}/check-incidents"), Some(json!({"service": "pagopa"})))
        .await);
    assert_eq!(c["ticket"]["ticket_type"], "Q");
    assert_eq!(c["incident"]["id"], id.as_str());
    assert_eq!(c["incident"]["restoration_info"], "Ripristino previsto entro le 14.");
    let (status, p) = d
        .call(Role::Operator, Method::POST, &format!("{base}/check-incidents"), Some(json!({"service": "pagopa"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "checked once: {p}");

    // A report on a service without one: I, escalated to incident management.
    let other = d.open("email", "malfunction", "m-2").await;
    let base2 = format!("/operator/tickets/{other}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base2}/take-in-charge"), None).await);
    // The check types a malfunction report, not the operator: with no incident declared on `send`,
    // a Q would leave the report unescalated.
    for ticket_type in ["Q", "I"] {
        let (status, p) = d
            .call(Role::Operator, Method::POST, &format!("{base2}/classify"), Some(json!({"ticket_type": ticket_type})))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{ticket_type}: {p}");
        assert_eq!(p["type"], "/problems/typed-by-incident-check", "{p}");
        assert!(p["detail"].as_str().unwrap().contains("/check-incidents instead of classify"), "{p}");
    }
    let c = ok(d
        .call(Role::Operator, Method::POST, &format!("{base2}/check-incidents"), Some(json!({"service": "send"})))
        .await);
    assert_eq!(c["ticket"]["ticket_type"], "I");
    assert_eq!(c["ticket"]["state"], "awaiting_resolution_notice");
    assert_eq!(c["ticket"]["escalations"][0]["target"], "pagopa_incident_management");
    assert!(c["incident"].is_null());

    // Only malfunction flows check incidents.
    let q = d.open("email", "basic_info", "q-1").await;
    ok(d.call(Role::Operator, Method::POST, &format!("/operator/tickets/{q}/take-in-charge"), None).await);
    let (status, p) = d
        .call(
            Role::Operator,
            Method::POST,
            &format!("/operator/tickets/{q}/check-incidents"),
            Some(json!({"service": "io"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(p["detail"].as_str().unwrap().contains("has no check_active_incidents"), "{p}");

    // Resolving the incident resolves the linked ticket with its closing text.
    let inc = ok(d
        .call(
            Role::Supervisor,
            Method::POST,
            &format!("/operator/incidents/{id}/resolve"),
            Some(json!({"closing_text": "Il servizio è stato ripristinato."})),
        )
        .await);
    assert_eq!(inc["state"], "resolved");
    d.engine.run_pending_steps(50).await.unwrap();
    let t = d.engine.ticket_by_reference(&r).await.unwrap();
    assert_eq!(t.state, TicketState::Resolved);
    let events = d.engine.ports.events.list(&t.id).await.unwrap();
    let answered = events.iter().find(|e| e.kind == EventKind::Answered).unwrap();
    assert_eq!(answered.detail["body"], "Il servizio è stato ripristinato.");
    let (status, _) = d
        .call(Role::Supervisor, Method::PATCH, &format!("/operator/incidents/{id}"), Some(json!({"title": "x"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a resolved incident is not updated");
}

/// 2,000 linked tickets, each page delivered twice: every ticket gets exactly one notice.
#[tokio::test]
async fn a_resolution_reaches_thousands_of_tickets_once_each_in_pages() {
    const TICKETS: usize = 2_000;
    let d = TestApp::new();
    let store = d.engine.ports.incidents.clone();
    let inc = d.engine.declare_incident(&operator("sup-1"), "io", "App IO non raggiungibile", None).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..TICKETS {
        let contact = NewContact {
            channel: "api".into(),
            idempotency_key: format!("io-{n}"),
            category: Some("malfunction".into()),
            message: Some("L'app non si apre".into()),
            requester: Requester::default(),
            ..NewContact::default()
        };
        let t = d.engine.open(contact).await.unwrap().ticket;
        store.link(&inc.id, &t.id).await.unwrap();
        ids.push(t.id);
    }
    // Intake queued a triage per ticket: out of the way first.
    while d.engine.run_pending_steps(500).await.unwrap() > 0 {}

    d.engine.resolve_incident(&inc.id, "L'app IO funziona di nuovo.").await.unwrap();
    let mut pages = 0;
    loop {
        let batch = d.engine.ports.steps.receive(10, Duration::from_secs(60)).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for delivery in batch {
            assert_eq!(delivery.message.step, "incident_resolved");
            // Delivered twice, as SQS may.
            handle_step(&d.engine, &delivery.message).await.unwrap();
            handle_step(&d.engine, &delivery.message).await.unwrap();
            d.engine.ports.steps.ack(&delivery.receipt).await.unwrap();
            pages += 1;
        }
    }
    assert_eq!(pages, TICKETS / INCIDENT_BATCH + 1, "full pages, then the empty one that ends it");
    for id in &ids {
        let events = d.engine.ports.events.list(id).await.unwrap();
        let notices = events.iter().filter(|e| e.detail.get("incident_resolved").is_some()).count();
        assert_eq!(notices, 1, "ticket {id}");
    }
}
