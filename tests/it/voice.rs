//! The voice channel, called in-process: in hours a welcome and a ticket for the operators; out
//! of hours the closed message with the other channels and a call recorded as not served; one
//! ticket per call id, in the plain contract and the Amazon Connect event alike.

use crate::support::app::TestApp;
use crate::support::http::{Reply, json_post, request};
use axum::http::Method;
use serde_json::{Value, json};
use sportello::domain::TicketState;
use sportello::http::MAX_BODY_BYTES;

const CONNECT: &str = include_str!("../fixtures/events/connect-contact-flow.json");

struct Voice {
    app: TestApp,
    /// The telephony platform's credentials.
    auth: String,
}

fn at(now: &str) -> Voice {
    let app = TestApp::at(now);
    // The telephony platform's key, as `sportello clients add voice` makes it.
    let key = app.client_key("voice");
    Voice { app, auth: format!("Bearer {key}") }
}

impl Voice {
    async fn call(&self, body: &Value) -> Reply {
        self.app.send(json_post("/voice/calls", &[("authorization", &self.auth)], body)).await
    }
    async fn connect(&self, body: &Value) -> Reply {
        self.app.send(json_post("/voice/connect", &[("authorization", &self.auth)], body)).await
    }
}

fn message(v: &Voice, id: &str, lang: &str) -> String {
    v.app.engine.rules.messages[id][lang].clone()
}

#[tokio::test]
async fn in_hours_the_caller_is_welcomed_and_queued_with_a_ticket() {
    // Wednesday 2 December 2026, 10:00 in Rome.
    let v = at("2026-12-02T10:00:00+01:00");
    let call = json!({"call_id": "c-1", "caller": "+39 347 1234567", "language": "en", "menu": 2});
    let r = v.call(&call).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["open"], true);
    assert_eq!(r.body["language"], "en");
    assert_eq!(r.body["prompt"], message(&v, "ivr_welcome", "en").as_str());
    assert_eq!(r.body["state"], "new");
    assert!(r.body.get("next_opening").is_none());
    let reference = r.body["reference"].as_str().unwrap().to_string();

    let engine = &v.app.engine;
    let t = engine.ticket_by_reference(&reference).await.unwrap();
    assert_eq!(t.channel, "voice");
    assert_eq!(t.category.as_deref(), Some("malfunction"), "menu 2 is a malfunction report");
    assert_eq!(t.requester.phone.as_deref(), Some("+39 347 1234567"));
    assert!(t.triaged_at.is_some(), "triaged before the answer");
    assert_eq!(t.team, "first_level");

    // The platform retries: same ticket, same answer. The call was triaged before the answer,
    // so no triage step was queued, and the retry changes nothing.
    let again = v.call(&call).await;
    assert_eq!(again.body, r.body);
    assert_eq!(engine.run_pending_steps(10).await.unwrap(), 0);
    assert_eq!(engine.ticket(&t.id).await.unwrap().version, t.version);

    // Italian by default; no menu choice → the operator starts from a basic request.
    let r = v.call(&json!({"call_id": "c-2", "caller": "anonymous"})).await;
    assert_eq!(r.body["language"], "it");
    assert_eq!(r.body["prompt"], message(&v, "ivr_welcome", "it").as_str());
    let t = engine.ticket_by_reference(r.body["reference"].as_str().unwrap()).await.unwrap();
    assert_eq!(t.requester.phone, None, "a withheld number is no number");
    assert_eq!(t.category.as_deref(), Some("basic_info"));
}

#[tokio::test]
async fn out_of_hours_the_caller_hears_the_other_channels_and_the_call_is_not_served() {
    // Boxing Day 2026, 21:30 in Rome: closed until Monday 28 at 08:00.
    let v = at("2026-12-26T21:30:00+01:00");
    let r = v.call(&json!({"call_id": "c-night", "caller": "+393471234567", "language": "it"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["open"], false);
    assert_eq!(r.body["state"], "not_served");
    assert_eq!(r.body["next_opening"], "2026-12-28T07:00:00Z");
    let prompt = r.body["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with("Benvenuto nel servizio di assistenza di PagoPA. Gli operatori ora non sono disponibili")
    );
    assert!(prompt.contains("28/12/2026 08:00"), "{prompt}");
    let book = &v.app.engine.rules;
    for alt in ["email", "chat"] {
        let point = &book.channels[alt].contact_point["it"];
        assert!(prompt.contains(point.as_str()), "names {alt}: {prompt}");
    }
    assert!(!prompt.contains('{'), "every placeholder filled: {prompt}");
    let t = v.app.engine.ticket_by_reference(r.body["reference"].as_str().unwrap()).await.unwrap();
    assert_eq!(t.state, TicketState::NotServed, "the contact is recorded as not served");
}

#[tokio::test]
async fn a_connect_contact_flow_event_gets_the_flat_map_connect_reads() {
    let v = at("2026-12-02T10:00:00+01:00");
    let event: Value = serde_json::from_str(CONNECT).unwrap();
    let r = v.connect(&event).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let map = r.body.as_object().unwrap();
    assert!(map.values().all(Value::is_string), "Connect reads string values only: {}", r.text);
    assert_eq!(map["open"], "true");
    assert_eq!(map["language"], "it");
    assert_eq!(map["prompt"], message(&v, "ivr_welcome", "it").as_str());
    let reference = map["reference"].as_str().unwrap();
    let t = v.app.engine.ticket_by_reference(reference).await.unwrap();
    assert_eq!(t.category.as_deref(), Some("malfunction"), "the menu attribute of the contact");
    assert_eq!(t.requester.phone.as_deref(), Some("+393471234567"));

    // The same contact in the plain contract is the same call.
    let plain = v.call(&json!({"call_id": "4a573372-1f28-4e26-b97b-1f3c0a9e2d11", "language": "it"})).await;
    assert_eq!(plain.body["reference"], reference);

    // Parameters win over attributes; LanguageCode is the fallback language.
    let mut event2 = event.clone();
    event2["Details"]["ContactData"]["ContactId"] = json!("second-contact");
    event2["Details"]["ContactData"]["InitialContactId"] = json!("second-contact");
    event2["Details"]["ContactData"]["LanguageCode"] = json!("en-US");
    event2["Details"]["Parameters"] = json!({"menu": "3"});
    let r = v.connect(&event2).await;
    assert_eq!(r.body["language"], "en", "{}", r.text);
    let t = v.app.engine.ticket_by_reference(r.body["reference"].as_str().unwrap()).await.unwrap();
    assert_eq!(t.category.as_deref(), Some("reminder"));
    // Connect sends null for what it does not know.
    event2["Details"]["ContactData"]["CustomerEndpoint"] = Value::Null;
    event2["Details"]["ContactData"]["Attributes"] = Value::Null;
    event2["Details"]["Parameters"] = Value::Null;
    assert_eq!(v.connect(&event2).await.status, 200);
    // An endpoint that is not an object is refused, not read as an unknown caller.
    let mut wrong = event2.clone();
    wrong["Details"]["ContactData"]["CustomerEndpoint"] = json!([{"Address": "+390612345678"}]);
    v.connect(&wrong).await.assert_problem(422, Some("/Details/ContactData/CustomerEndpoint"), "invalid type");
    // A wrong field inside it is named by its whole path.
    wrong["Details"]["ContactData"]["CustomerEndpoint"] = json!({"Address": 390612345678u64});
    v.connect(&wrong).await.assert_problem(422, Some("/Details/ContactData/CustomerEndpoint/Address"), "invalid type");

    // A flow locale the rulebook does not speak is no caller's choice: the default language.
    event2["Details"]["ContactData"]["ContactId"] = json!("third-contact");
    event2["Details"]["ContactData"]["InitialContactId"] = json!("third-contact");
    event2["Details"]["ContactData"]["LanguageCode"] = json!("de-DE");
    let r = v.connect(&event2).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["language"], "it");
    // One named in the flow's parameters still has to be the rulebook's.
    event2["Details"]["Parameters"] = json!({"language": "de"});
    let r = v.connect(&event2).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["field"], "/Details/Parameters/language");
}

#[tokio::test]
async fn bad_calls_get_a_located_problem() {
    let v = at("2026-12-02T10:00:00+01:00");
    for (body, field, why) in [
        (json!({"call_id": "", "caller": "+393471234567"}), "/call_id", "1 to 128"),
        (json!({"call_id": "a b"}), "/call_id", "no spaces"),
        (json!({"call_id": " c-1 "}), "/call_id", "no spaces"),
        (json!({"call_id": "x".repeat(129)}), "/call_id", "1 to 128"),
        (json!({"call_id": "c", "language": "fr"}), "/language", "`fr` is not one of: it, en"),
        (json!({"call_id": "c", "menu": "7"}), "/menu", "no menu choice `7`"),
        (json!({"call_id": "c", "menu": [1]}), "/menu", "a digit"),
        (json!({"call_id": "c", "caller": "mario"}), "/caller", "not a phone number"),
        (json!({"call_id": 42}), "/call_id", "invalid type"),
        (json!({"caller": "+393471234567"}), "/call_id", "missing field `call_id`"),
        (json!({"call_id": "c", "dtmf": "1"}), "/dtmf", "unknown field"),
    ] {
        v.call(&body).await.assert_problem(422, Some(field), why);
    }
    let event: Value = serde_json::from_str(CONNECT).unwrap();
    let mut bad = event.clone();
    bad["Details"]["ContactData"]["ContactId"] = json!("");
    bad["Details"]["ContactData"]["InitialContactId"] = Value::Null;
    v.connect(&bad).await.assert_problem(422, Some("/Details/ContactData/ContactId"), "1 to 128");
    let mut bad = event.clone();
    bad["Details"]["Parameters"]["language"] = json!("de");
    v.connect(&bad).await.assert_problem(422, Some("/Details/Parameters/language"), "`de`");
    let mut bad = event;
    bad["Details"]["ContactData"].as_object_mut().unwrap().remove("ContactId");
    v.connect(&bad).await.assert_problem(422, Some("/Details/ContactData/ContactId"), "missing field `ContactId`");

    for uri in ["/voice/calls", "/voice/connect"] {
        let post = |ct: &str, body: String| {
            request(Method::POST, uri, &[("content-type", ct), ("authorization", &v.auth)], body)
        };
        v.app.send(post("application/xml", "<call/>".into())).await.assert_problem(
            415,
            Some("Content-Type"),
            "application/json",
        );
        let huge = json!({"call_id": "c", "caller": "1".repeat(MAX_BODY_BYTES)}).to_string();
        v.app.send(post("application/json", huge)).await.assert_problem(413, None, "larger than");
        v.app.send(post("application/json", "{\"call_id\": ".into())).await.assert_problem(400, None, "line 1 column");
        // A wrong method (every router's 404 and 405: `http::every_router_of_the_local_server...`).
        let r = v.app.send(request(Method::GET, uri, &[], "")).await;
        r.assert_problem(405, None, "does not take GET");
    }
}
