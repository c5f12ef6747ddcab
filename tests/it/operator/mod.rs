//! The operator API end to end over HTTP on the embedded store, with a fixed clock: the flows of
//! the default rulebook, escalations with per-target fields, signed resolution notices, privacy
//! visibility, and the authorization matrix (every endpoint × every role).

mod answers;
mod incidents;
mod reminders;
mod take_and_classify;

use crate::support::app::{TestApp, ok};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use sportello::adapters::embedded::{OutboxMailer, SqliteQueue};
use sportello::domain::{Requester, TicketState};
use sportello::engine::EscalationSettings;
use sportello::http::operator::{
    NoticeSecrets, OperatorApi, REPLAY_WINDOW_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER, router,
};
use sportello::http::operator_auth::{Endpoint, MATRIX, OperatorAuthenticator, OperatorFile, Role};
use sportello::ports::StepQueue;
use std::time::Duration;
use tower::ServiceExt;

const SECRET: &[u8] = b"specialists-secret";
const FISCAL_CODE: &str = "RSSMRA85T10A562S";
const EMAIL: &str = "mario.rossi@example.it";

/// The operators' desk, where PagoPA's specialists can sign their notices.
fn desk() -> TestApp {
    TestApp::builder().notice_secret("pagopa_specialists", SECRET).build()
}

/// Opens a contact with a notice code from a requester known by e-mail and fiscal code, and
/// triages it, as a channel would.
async fn open(d: &TestApp, channel: &str, category: &str, key: &str) -> String {
    let requester =
        Requester { email: Some(EMAIL.into()), fiscal_code: Some(FISCAL_CODE.into()), ..Requester::default() };
    let mut contact = TestApp::contact(channel, category, key, requester);
    contact.fields.insert("notice_code".to_string(), "302001234567890123".to_string());
    d.open_contact(contact).await
}

/// A target's resolution notice, signed with `secret` at `timestamp`.
async fn signed_notice(d: &TestApp, target: &str, body: &Value, timestamp: i64, secret: &[u8]) -> (StatusCode, Value) {
    let text = body.to_string();
    let req = Request::post(format!("/operator/targets/{target}/notices"))
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, NoticeSecrets::sign(secret, timestamp, text.as_bytes()))
        .body(Body::from(text))
        .unwrap();
    d.raw(req).await
}

fn now(d: &TestApp) -> i64 {
    d.engine.now().as_second()
}

#[tokio::test]
async fn a_basic_email_question_is_taken_classified_and_resolved() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "mail-1").await;
    let base = format!("/operator/tickets/{r}");

    let view = ok(d.call(Role::Operator, Method::GET, &base, None).await);
    assert_eq!(view["expected_next"], "take_in_charge");
    assert_eq!(view["classify_types"], json!(["Q"]));

    // Resolving first: the flow says what it expects.
    let (status, p) =
        d.call(Role::Operator, Method::POST, &format!("{base}/resolve"), Some(json!({"answer": "x"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(p["detail"], "the flow expects take_in_charge before resolve");

    let t = ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    assert_eq!((t["state"].as_str(), t["assignee"].as_str()), (Some("taken_in_charge"), Some("op-1")));
    let (status, p) =
        d.call(Role::Operator, Method::POST, &format!("{base}/resolve"), Some(json!({"answer": "x"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(p["detail"], "the flow expects classify (as Q) before resolve");

    let t =
        ok(d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "Q"}))).await);
    assert_eq!(t["state"], "in_progress");
    let n =
        d.call(Role::Operator, Method::POST, &format!("{base}/notes"), Some(json!({"text": "refund article"}))).await;
    assert_eq!(n.0, StatusCode::CREATED);
    let s = ok(d.call(Role::Operator, Method::GET, &format!("{base}/suggestions"), None).await);
    assert!(!s["suggestions"].as_array().unwrap().is_empty(), "{s}");

    let t = ok(d
        .call(
            Role::Operator,
            Method::POST,
            &format!("{base}/resolve"),
            Some(json!({"answer": "Ecco come chiedere il rimborso."})),
        )
        .await);
    assert_eq!(t["state"], "resolved");

    let view = ok(d.call(Role::Operator, Method::GET, &base, None).await);
    let events: Vec<(&str, &str)> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["actor"]["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events,
        [
            ("created", "email"),
            ("message", "email"),
            ("triaged", "system"),
            ("taken_in_charge", "op-1"),
            ("classified", "op-1"),
            ("note", "op-1"),
            ("answered", "op-1"),
            ("resolved", "op-1"),
            // The satisfaction survey, sent with the answer.
            ("note", "system"),
            // The answer, mailed to the requester.
            ("message", "op-1"),
        ]
    );
}

#[tokio::test]
async fn a_specialist_request_waits_for_the_signed_notice() {
    let d = desk();
    let r = open(&d, "email", "specialist_support", "mail-2").await;
    let base = format!("/operator/tickets/{r}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "A"}))).await);

    // A target the flow does not use.
    let (status, p) = d
        .call(
            Role::Operator,
            Method::POST,
            &format!("{base}/escalate"),
            Some(json!({"target": "pagopa_privacy", "summary": "s"})),
        )
        .await;
    // A target of the rulebook, but not of this ticket's flow: refused by the flow (409).
    assert_eq!((status, p["type"].as_str()), (StatusCode::CONFLICT, Some("/problems/flow")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("pagopa_specialists, third_parties"), "{p}");
    // Its type is a page for whoever follows it, under the problem's own title.
    let page = d.send(crate::support::http::request(Method::GET, "/problems/flow?lang=en", &[], "")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(&format!("<h1>{}</h1>", p["title"].as_str().unwrap())), "{p}: {}", page.text);

    // To PagoPA's specialists by queue, and to the third party by e-mail.
    let e = ok(d
        .call(
            Role::Operator,
            Method::POST,
            &format!("{base}/escalate"),
            Some(json!({"target": "pagopa_specialists", "summary": "Verificare la riconciliazione"})),
        )
        .await);
    assert_eq!(e["ticket"]["state"], "awaiting_resolution_notice");
    let queue = SqliteQueue::new(d.db.clone(), "sportello-escalations-pagopa-specialists", 5, Duration::from_secs(60));
    let got = queue.receive(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 1);
    let body = &got[0].message.body;
    assert_eq!(body["reference"], r.as_str());
    assert_eq!(body["fields"]["requester.fiscal_code"], FISCAL_CODE, "the specialists may see the fiscal code");
    assert_eq!(body["fields"]["custom.notice_code"], "302001234567890123");
    assert!(!body.to_string().contains(EMAIL), "but not the e-mail address: {body}");

    let third = ok(d
        .call(
            Role::Operator,
            Method::POST,
            &format!("{base}/escalate"),
            Some(json!({"target": "third_parties", "summary": "Verificare il pagamento"})),
        )
        .await);
    let mail = OutboxMailer::new(d.db.clone()).sent(10).await.unwrap();
    assert_eq!(mail.len(), 1);
    let parsed = mail_parser::MessageParser::default().parse(&mail[0].raw).unwrap();
    let text = parsed.body_text(0).unwrap().to_string();
    assert!(text.contains(&r) && text.contains("302001234567890123"), "{text}");
    assert!(!text.contains(FISCAL_CODE) && !text.contains(EMAIL), "third parties get no personal data: {text}");
    assert!(!text.contains("\"channel\": \"email\""), "nor the channel, which they may not see: {text}");

    // Resolve too early.
    let (status, p) =
        d.call(Role::Operator, Method::POST, &format!("{base}/resolve"), Some(json!({"answer": "fatto"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        p["detail"],
        "the flow expects the resolution notice from pagopa_specialists and third_parties before resolve"
    );

    // A forged and a stale notice are refused; a signed one brings the ticket back.
    let notice = json!({"reference": r, "escalation_id": e["escalation_id"], "notice": "Rimborso disposto il 1/12."});
    let (status, p) = signed_notice(&d, "pagopa_specialists", &notice, now(&d), b"wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{p}");
    assert_eq!(p["field"], SIGNATURE_HEADER);
    let (status, p) =
        signed_notice(&d, "pagopa_specialists", &notice, now(&d) - REPLAY_WINDOW_SECONDS - 1, SECRET).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{p}");
    assert_eq!(p["field"], TIMESTAMP_HEADER);
    let (status, _) = signed_notice(&d, "third_parties", &notice, now(&d), SECRET).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a target without a secret cannot post");
    let (status, _) = signed_notice(&d, "nobody", &notice, now(&d), SECRET).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An operator token does not sign notices.
    let (status, _) = d
        .call(Role::Operator, Method::POST, "/operator/targets/pagopa_specialists/notices", Some(notice.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let n = ok(signed_notice(&d, "pagopa_specialists", &notice, now(&d), SECRET).await);
    assert_eq!(n["state"], "awaiting_resolution_notice", "the third party has not answered yet");
    // Once more: nothing changes.
    ok(signed_notice(&d, "pagopa_specialists", &notice, now(&d), SECRET).await);
    let (status, p) =
        d.call(Role::Operator, Method::POST, &format!("{base}/resolve"), Some(json!({"answer": "fatto"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(p["detail"], "the flow expects the resolution notice from third_parties before resolve");
    let id = d.engine.ticket_by_reference(&r).await.unwrap().id;
    let third_id = third["escalation_id"].as_str().unwrap();
    d.engine
        .receive_resolution_notice("third_parties", &r.parse_ref(), third_id, "Nessuna anomalia.", None)
        .await
        .unwrap();
    let t = d.engine.ticket(&id).await.unwrap();
    assert_eq!((t.state, t.assignee.as_deref()), (TicketState::InProgress, Some("op-1")), "back to its operator");

    let t = ok(d
        .call(Role::Operator, Method::POST, &format!("{base}/resolve"), Some(json!({"answer": "Rimborsato."})))
        .await);
    assert_eq!(t["state"], "resolved");
    let view = ok(d.call(Role::Operator, Method::GET, &base, None).await);
    let notices: Vec<&Value> =
        view["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "notice_received").collect();
    assert_eq!(notices.len(), 2);
    assert_eq!(notices[0]["actor"], json!({"id": "pagopa_specialists", "role": "target"}));
    assert_eq!(notices[0]["detail"]["notice"], "Rimborso disposto il 1/12.");
}

trait ParseRef {
    fn parse_ref(&self) -> sportello::domain::TicketReference;
}

impl ParseRef for String {
    fn parse_ref(&self) -> sportello::domain::TicketReference {
        sportello::domain::TicketReference::find_in(self).unwrap()
    }
}

#[tokio::test]
async fn privacy_tickets_are_for_the_privacy_team() {
    let d = desk();
    let r = open(&d, "email", "privacy_activity", "mail-3").await;
    let plain = open(&d, "email", "basic_info", "mail-4").await;
    let base = format!("/operator/tickets/{r}");
    for (method, path) in [(Method::GET, base.clone()), (Method::POST, format!("{base}/take-in-charge"))] {
        let (status, p) = d.call(Role::Operator, method, &path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(p["detail"].as_str().unwrap().contains("privacy_operator"), "{p}");
    }
    let (status, _) = d.call(Role::Supervisor, Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = d.call(Role::Operator, Method::GET, "/operator/queue?team=privacy", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let q = ok(d.call(Role::PrivacyOperator, Method::GET, "/operator/queue", None).await);
    assert_eq!(q["team"], "privacy");
    let refs: Vec<&str> = q["tickets"].as_array().unwrap().iter().map(|t| t["reference"].as_str().unwrap()).collect();
    assert_eq!(refs, [r.as_str()]);
    let q = ok(d.call(Role::Operator, Method::GET, "/operator/queue", None).await);
    let refs: Vec<&str> = q["tickets"].as_array().unwrap().iter().map(|t| t["reference"].as_str().unwrap()).collect();
    assert_eq!(refs, [plain.as_str()]);

    ok(d.call(Role::PrivacyOperator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    let t = ok(d
        .call(Role::PrivacyOperator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "PA"})))
        .await);
    assert_eq!(t["team"], "privacy");
    let view = ok(d.call(Role::PrivacyOperator, Method::GET, &base, None).await);
    assert_eq!(view["expected_next"], "escalate (to pagopa_privacy)");
    let taken = view["events"].as_array().unwrap().iter().find(|e| e["kind"] == "taken_in_charge").unwrap().clone();
    assert_eq!(taken["actor"], json!({"id": "priv-1", "role": "privacy_operator"}));
}

#[tokio::test]
async fn wrong_actions_say_what_the_flow_allows() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "mail-5").await;
    let base = format!("/operator/tickets/{r}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);

    let (status, p) =
        d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "A"}))).await;
    // A type of the rulebook that this ticket's flow does not allow: refused by the flow (409).
    assert_eq!((status, p["type"].as_str()), (StatusCode::CONFLICT, Some("/problems/flow")), "{p}");
    assert_eq!(p["detail"], "the rulebook classifies category `basic_info` on channel `email` only as Q");
    let (status, p) =
        d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "Z"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (status, p) = d.call(Role::Operator, Method::POST, &format!("{base}/close-contact"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(p["detail"].as_str().unwrap().contains("already asynchronous"), "{p}");
    assert_eq!(p["type"], "/problems/flow", "{p}");
    let (status, p) = d.call(Role::PrivacyOperator, Method::POST, &format!("{base}/take-in-charge"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(p["detail"], "the ticket is already in charge of operator op-1");
    assert_eq!(p["type"], "/problems/done", "{p}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "Q"}))).await);
    let (status, p) = d
        .call(
            Role::Operator,
            Method::POST,
            &format!("{base}/escalate"),
            Some(json!({"target": "third_parties", "summary": "s"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(p["detail"], "the flow of this ticket does not escalate; it expects resolve");
    let (status, p) = d.call(Role::Operator, Method::POST, &format!("{base}/notes"), Some(json!({"text": " "}))).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/text")));
    let (status, _) = d.call(Role::Operator, Method::GET, "/operator/tickets/SP-00000000", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = d.call(Role::Operator, Method::GET, "/operator/queue?team=nobody", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A call, by contrast, is closed and goes on asynchronously; only once.
    let call = open(&d, "voice", "advanced_info", "call-1").await;
    let base = format!("/operator/tickets/{call}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "A"}))).await);
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/close-contact"), None).await);
    let (status, p) = d.call(Role::Operator, Method::POST, &format!("{base}/close-contact"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(p["detail"].as_str().unwrap().contains("already closed"), "{p}");
    // An advanced request the operator can solve needs no escalation.
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/resolve"), Some(json!({"answer": "Risolto."}))).await);
}

#[tokio::test]
async fn the_queue_puts_the_nearest_deadline_first() {
    let d = desk();
    let question = open(&d, "email", "basic_info", "q").await; // Q: 4h to first response
    let issue = open(&d, "email", "malfunction", "m").await; // walks to I: 1h
    let q = ok(d.call(Role::Operator, Method::GET, "/operator/queue", None).await);
    let refs: Vec<&str> = q["tickets"].as_array().unwrap().iter().map(|t| t["reference"].as_str().unwrap()).collect();
    assert_eq!(refs, [issue.as_str(), question.as_str()]);
}

/// Every endpoint × every role, plus no token and a bad token.
#[tokio::test]
async fn the_authorization_matrix_holds_for_every_endpoint_and_role() {
    let d = desk();
    let cases: Vec<(Endpoint, Method, &str, Option<Value>)> = vec![
        (Endpoint::WhoAmI, Method::GET, "/operator/whoami", None),
        (Endpoint::Queue, Method::GET, "/operator/queue", None),
        (Endpoint::Ticket, Method::GET, "", None),
        (Endpoint::Suggestions, Method::GET, "/suggestions", None),
        (Endpoint::TakeInCharge, Method::POST, "/take-in-charge", None),
        (Endpoint::Classify, Method::POST, "/classify", Some(json!({"ticket_type": "Q"}))),
        (Endpoint::Categorize, Method::POST, "/categorize", Some(json!({"category": "advanced_info"}))),
        (Endpoint::Note, Method::POST, "/notes", Some(json!({"text": "n"}))),
        (Endpoint::CloseContact, Method::POST, "/close-contact", None),
        (Endpoint::Escalate, Method::POST, "/escalate", Some(json!({"target": "third_parties", "summary": "s"}))),
        (Endpoint::Resolve, Method::POST, "/resolve", Some(json!({"answer": "a"}))),
        (Endpoint::EscalationPreview, Method::POST, "/escalation-preview", Some(json!({}))),
        (Endpoint::Reassign, Method::POST, "/reassign", Some(json!({"to": "op-2", "reason": "r"}))),
        (Endpoint::ErasurePreview, Method::POST, "/operator/erasures/preview", Some(json!({"email": EMAIL}))),
        (Endpoint::Erase, Method::POST, "/operator/erasures", Some(json!({"email": EMAIL, "confirm": "00"}))),
        (Endpoint::ReminderLookup, Method::POST, "/reminder-lookup", None),
        (Endpoint::CheckIncidents, Method::POST, "/check-incidents", Some(json!({"service": "pagopa"}))),
        (
            Endpoint::DeclareIncident,
            Method::POST,
            "/operator/incidents",
            Some(json!({"service": "io", "title": "Login IO non disponibile"})),
        ),
        (Endpoint::UpdateIncident, Method::PATCH, "/operator/incidents/INC-none", Some(json!({"title": "t"}))),
        (
            Endpoint::ResolveIncident,
            Method::POST,
            "/operator/incidents/INC-none/resolve",
            Some(json!({"closing_text": "c"})),
        ),
        (Endpoint::Sweep, Method::POST, "/operator/sweep", Some(json!({"older_than_seconds": 120}))),
        (Endpoint::Reports, Method::GET, "/operator/reports/overview", None),
    ];
    assert_eq!(cases.len(), MATRIX.len(), "every endpoint of the matrix is exercised");
    for (endpoint, method, suffix, body) in &cases {
        for role in Role::ALL {
            // A fresh ticket each time, so a permitted action is not refused by the flow instead.
            let r = open(&d, "email", "basic_info", &format!("{endpoint:?}-{role}")).await;
            let path = if suffix.starts_with("/operator") {
                suffix.to_string()
            } else {
                format!("/operator/tickets/{r}{suffix}")
            };
            let (status, p) = d.call(role, method.clone(), &path, body.clone()).await;
            let allowed = MATRIX.iter().find(|(e, _)| e == endpoint).unwrap().1.contains(&role);
            if allowed {
                assert_ne!(status, StatusCode::FORBIDDEN, "{endpoint:?} as {role}: {p}");
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{endpoint:?} as {role}: {p}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{endpoint:?} as {role} must be forbidden: {p}");
                assert!(p["detail"].as_str().unwrap().contains("needs one of the roles"), "{p}");
            }
        }
        let path = if suffix.starts_with("/operator") {
            suffix.to_string()
        } else {
            format!("/operator/tickets/SP-00000000{suffix}")
        };
        let (status, _) = d.request(method.clone(), &path, None, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{endpoint:?} without a token");
        let (status, p) = d.request(method.clone(), &path, Some("spo_forged"), body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{endpoint:?} with a forged token");
        assert_eq!(p["field"], "Authorization");
    }
}

#[tokio::test]
async fn a_revoked_token_stops_working_without_a_restart() {
    let d = desk();
    ok(d.call(Role::Operator, Method::GET, "/operator/whoami", None).await);
    let path = d.dir.path().join("operators.json");
    let mut file = OperatorFile::read(&path).unwrap();
    file.revoke("op-1").unwrap();
    // Make sure the modification time moves even on coarse file systems.
    std::thread::sleep(Duration::from_millis(20));
    file.write(&path).unwrap();
    let f = std::fs::File::options().append(true).open(&path).unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5)).unwrap();
    let (status, _) = d.call(Role::Operator, Method::GET, "/operator/whoami", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// On AWS the identity comes from the JWT authorizer's claims, which the Lambda function puts on
/// the request; a bearer token alone is not accepted there.
#[tokio::test]
async fn on_aws_the_authorizer_claims_are_the_identity() {
    use sportello::http::operator_auth::AuthorizerClaims;
    let d = desk();
    let r = open(&d, "email", "privacy_question", "mail-aws").await;
    let api = OperatorApi::new(
        d.engine.clone(),
        OperatorAuthenticator::Claims,
        EscalationSettings::default(),
        NoticeSecrets::default(),
    );
    let app: Router = router(api);
    let get = |claims: Option<Value>| {
        let mut req = Request::get(format!("/operator/tickets/{r}")).body(Body::empty()).unwrap();
        if let Some(c) = claims {
            req.extensions_mut().insert(AuthorizerClaims(c));
        }
        app.clone().oneshot(req)
    };
    let status = |resp: axum::response::Response| resp.status();
    assert_eq!(status(get(None).await.unwrap()), StatusCode::UNAUTHORIZED);
    let operator = json!({"sub": "8f0c-op", "cognito:groups": "[operator]"});
    assert_eq!(status(get(Some(operator)).await.unwrap()), StatusCode::FORBIDDEN, "a privacy ticket");
    let privacy = json!({"sub": "8f0c-priv", "cognito:groups": "[operator privacy_operator]"});
    assert_eq!(status(get(Some(privacy)).await.unwrap()), StatusCode::OK);
    let nobody = json!({"sub": "8f0c-x", "cognito:groups": "[]"});
    assert_eq!(status(get(Some(nobody)).await.unwrap()), StatusCode::FORBIDDEN);
}

/// Two operators take the same ticket at once: the version check lets one win, the other is told
/// who has it, and the ticket records one taking in charge.
#[tokio::test]
async fn two_operators_racing_for_a_ticket() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "race").await;
    let id = d.engine.ticket_by_reference(&r).await.unwrap().id;
    let actor = |id: &str| sportello::domain::Actor { id: id.into(), role: sportello::domain::ActorRole::Operator };
    let (op_a, op_b) = (actor("op-a"), actor("op-b"));
    let (a, b) = tokio::join!(d.engine.take_in_charge(&id, &op_a), d.engine.take_in_charge(&id, &op_b));
    assert!(a.is_ok() != b.is_ok(), "exactly one wins: {a:?} {b:?}");
    let loser = a.err().or(b.err()).unwrap().to_string();
    assert!(loser.starts_with("the ticket is already in charge of operator op-"), "{loser}");
    let events = d.engine.ports.events.list(&id).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == sportello::domain::EventKind::TakenInCharge).count(), 1);
}

/// The operator sets the category the channel could not name; the rulebook decides the rest again.
#[tokio::test]
async fn the_operator_confirms_or_changes_the_category() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "cat-1").await;
    let base = format!("/operator/tickets/{r}");
    let cat = |c: &str| Some(json!({"category": c}));
    let (status, p) = d.call(Role::Operator, Method::POST, &format!("{base}/categorize"), cat("advanced_info")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["detail"], "the flow expects take_in_charge before categorize");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);

    let (status, p) = d.call(Role::Operator, Method::POST, &format!("{base}/categorize"), cat("nonsense")).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/category")), "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("unknown category `nonsense`"), "{detail}");
    assert!(
        detail.contains("specialist_support") && detail.contains("privacy_issue"),
        "lists the valid ones: {detail}"
    );
    assert!(!detail.contains("bot"), "the bot category is chat only: {detail}");
    let (status, p) = d.call(Role::Operator, Method::POST, &format!("{base}/categorize"), cat("bot")).await;
    // Another channel's category: well formed, wrong for this ticket (409).
    assert_eq!((status, p["type"].as_str()), (StatusCode::CONFLICT, Some("/problems/channel")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("does not arrive on channel `email`"), "{p}");
    let (status, p) = d.call(Role::Operator, Method::POST, &format!("{base}/categorize"), cat(&"x".repeat(5000))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(p["detail"].as_str().unwrap().len() < 1000, "the input is not echoed back: {p}");
    let (status, p) =
        d.call(Role::Operator, Method::POST, &format!("{base}/categorize"), Some(json!({"category": 7}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");

    // Basic (Q: 4h first response) becomes specialist support (A: other deadlines, same team).
    let before = d.engine.ticket_by_reference(&r).await.unwrap();
    let t = ok(d.call(Role::Operator, Method::POST, &format!("{base}/categorize"), cat("specialist_support")).await);
    assert_eq!(t["category"], "specialist_support");
    assert_eq!((t["state"].as_str(), t["assignee"].as_str()), (Some("taken_in_charge"), Some("op-1")));
    assert_eq!(t["team"], "first_level");
    let after = d.engine.ticket_by_reference(&r).await.unwrap();
    assert_ne!(before.deadlines, after.deadlines, "the deadlines follow the new category's type");
    assert!(!after.deadlines.is_empty());
    let view = ok(d.call(Role::Operator, Method::GET, &base, None).await);
    assert_eq!(view["classify_types"], json!(["A"]));
    assert_eq!(view["expected_next"], "classify (as A)");
    let events: Vec<&Value> =
        view["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "categorized").collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"], json!({"id": "op-1", "role": "operator"}));
    assert_eq!(
        (events[0]["detail"]["from"].as_str(), events[0]["detail"]["to"].as_str()),
        (Some("basic_info"), Some("specialist_support"))
    );
    assert!(view["events"].as_array().unwrap().iter().all(|e| e["kind"] != "routed_to_team"), "same team");
    // The same category again changes nothing.
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/categorize"), cat("specialist_support")).await);
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "A"}))).await);
    let (status, p) = d.call(Role::Operator, Method::POST, &format!("{base}/categorize"), cat("advanced_info")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("already classified as A"), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("escalate (to pagopa_specialists or third_parties)"), "{p}");
}

/// An operator who finds a privacy matter moves it to the privacy team, and loses it.
#[tokio::test]
async fn a_privacy_category_hands_the_ticket_to_the_privacy_team() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "cat-priv").await;
    let base = format!("/operator/tickets/{r}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    let t = ok(d
        .call(Role::Operator, Method::POST, &format!("{base}/categorize"), Some(json!({"category": "privacy_issue"})))
        .await);
    assert_eq!((t["team"].as_str(), t["state"].as_str()), (Some("privacy"), Some("new")), "{t}");
    assert!(t["assignee"].is_null(), "{t}");
    let kinds: Vec<&str> = t["deadlines"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"gdpr_breach_notification"), "a breach gets its GDPR clock: {kinds:?}");

    let (status, _) = d.call(Role::Operator, Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the operator no longer sees it");
    let q = ok(d.call(Role::Operator, Method::GET, "/operator/queue", None).await);
    assert!(q["tickets"].as_array().unwrap().iter().all(|t| t["reference"] != r.as_str()), "{q}");
    let q = ok(d.call(Role::PrivacyOperator, Method::GET, "/operator/queue", None).await);
    assert!(q["tickets"].as_array().unwrap().iter().any(|t| t["reference"] == r.as_str()), "{q}");

    ok(d.call(Role::PrivacyOperator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    let view = ok(d.call(Role::PrivacyOperator, Method::GET, &base, None).await);
    assert_eq!(view["expected_next"], "classify (as PI)");
    let routed = view["events"].as_array().unwrap().iter().find(|e| e["kind"] == "routed_to_team").unwrap().clone();
    assert_eq!(routed["actor"]["id"], "op-1");
    assert_eq!(routed["detail"], json!({"from": "first_level", "to": "privacy", "unassigned": "op-1"}));
    // Back out of privacy by the privacy operator: the ticket stays theirs.
    let t = ok(d
        .call(
            Role::PrivacyOperator,
            Method::POST,
            &format!("{base}/categorize"),
            Some(json!({"category": "advanced_info"})),
        )
        .await);
    assert_eq!(
        (t["team"].as_str(), t["state"].as_str(), t["assignee"].as_str()),
        (Some("first_level"), Some("taken_in_charge"), Some("priv-1"))
    );
}

/// The operator's own search text, for tickets with no text of their own.
#[tokio::test]
async fn suggestions_search_the_operators_text_when_given() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "sugg-q").await;
    let base = format!("/operator/tickets/{r}/suggestions");
    let own = ok(d.call(Role::Operator, Method::GET, &base, None).await);
    let searched = ok(d.call(Role::Operator, Method::GET, &format!("{base}?q=cancellare%20account%20IO"), None).await);
    let ids = |v: &Value| v["suggestions"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect::<Vec<_>>();
    assert!(!ids(&searched).is_empty(), "{searched}");
    assert_ne!(ids(&own), ids(&searched), "the search text, not the ticket's, decides");
    let (status, p) = d.call(Role::Operator, Method::GET, &format!("{base}?q={}", "a".repeat(501)), None).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("q")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("500"), "{p}");
    let (status, p) = d.call(Role::Operator, Method::GET, &format!("{base}?q=%20%20"), None).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("q")), "{p}");
    let ok500 = d.call(Role::Operator, Method::GET, &format!("{base}?q={}", "a".repeat(500)), None).await;
    assert_eq!(ok500.0, StatusCode::OK, "{}", ok500.1);
    // `limit` is 1 to 20, as the OpenAPI document says: more is refused, not cut silently.
    for bad in ["0", "21", "100000"] {
        let (status, p) = d.call(Role::Operator, Method::GET, &format!("{base}?limit={bad}"), None).await;
        assert_eq!((status, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("limit")), "{bad}: {p}");
    }
    let twenty = ok(d.call(Role::Operator, Method::GET, &format!("{base}?limit=20"), None).await);
    assert!(twenty["suggestions"].as_array().unwrap().len() <= 20, "{twenty}");
}

/// A signed notice names the escalation it answers and settles that one, once: replayed within
/// its signature's window after the ticket went back to the same target, it answers nothing new.
#[tokio::test]
async fn a_signed_notice_answers_one_escalation_once() {
    let d = desk();
    let r = open(&d, "email", "specialist_support", "replay-1").await;
    let base = format!("/operator/tickets/{r}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "A"}))).await);
    let escalate_path = format!("{base}/escalate");
    let escalate = || {
        d.call(
            Role::Operator,
            Method::POST,
            &escalate_path,
            Some(json!({"target": "pagopa_specialists", "summary": "Verificare la riconciliazione"})),
        )
    };
    let first = ok(escalate().await);
    let first_id = first["escalation_id"].as_str().unwrap().to_string();

    // Without the escalation it answers, a notice is refused: it could settle any of them.
    let unbound = json!({"reference": r, "notice": "Rimborso disposto."});
    let (status, p) = signed_notice(&d, "pagopa_specialists", &unbound, now(&d), SECRET).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "/escalation_id", "{p}");
    let (status, p) = signed_notice(
        &d,
        "pagopa_specialists",
        &json!({"reference": r, "escalation_id": "no-such-escalation", "notice": "x"}),
        now(&d),
        SECRET,
    )
    .await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::NOT_FOUND, Some("/escalation_id")), "{p}");

    let signed = json!({"reference": r, "escalation_id": first_id, "notice": "Rimborso disposto."});
    let at = now(&d);
    let answered = ok(signed_notice(&d, "pagopa_specialists", &signed, at, SECRET).await);
    assert_eq!((answered["state"].as_str(), answered["replayed"].as_bool()), (Some("in_progress"), Some(false)));

    // The operator asks the same target again; the captured request is replayed, same signature.
    let second = ok(escalate().await);
    assert_ne!(second["escalation_id"], first["escalation_id"]);
    let replayed = ok(signed_notice(&d, "pagopa_specialists", &signed, at, SECRET).await);
    assert_eq!(replayed["replayed"], true, "{replayed}");
    assert_eq!(replayed["state"], "awaiting_resolution_notice", "the second escalation is still open: {replayed}");
    let t = d.engine.ticket_by_reference(&r).await.unwrap();
    assert_eq!(t.state, TicketState::AwaitingResolutionNotice);
    assert!(t.escalations[1].notice_at.is_none(), "the replay did not answer the new escalation");
    // Another text for an escalation already answered is a conflict, not an overwrite.
    let (status, p) = signed_notice(
        &d,
        "pagopa_specialists",
        &json!({"reference": r, "escalation_id": first_id, "notice": "Altro."}),
        now(&d),
        SECRET,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    let view = ok(d.call(Role::Operator, Method::GET, &base, None).await);
    let notices: Vec<&Value> =
        view["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "notice_received").collect();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0]["detail"]["escalation_id"], first_id.as_str());
    assert_eq!(notices[0]["detail"]["via"], "callback");
}

/// An operator cannot work a ticket another operator has in charge; a supervisor reassigns it,
/// and the reassignment is recorded.
#[tokio::test]
async fn only_a_recorded_reassignment_moves_a_ticket_between_operators() {
    let d = desk();
    let r = open(&d, "email", "basic_info", "reassign-1").await;
    let base = format!("/operator/tickets/{r}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);

    for (path, body) in [
        ("classify", json!({"ticket_type": "Q"})),
        ("categorize", json!({"category": "advanced_info"})),
        ("resolve", json!({"answer": "fatto"})),
    ] {
        let (status, p) = d.call_as("op-2", Method::POST, &format!("{base}/{path}"), Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {p}");
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains("in charge of operator op-1") && detail.contains("reassign"), "{path}: {detail}");
    }
    // A supervisor may not act on it directly either (the matrix), only reassign it.
    let reassign = format!("{base}/reassign");
    let (status, p) = d.call(Role::Operator, Method::POST, &reassign, Some(json!({"to": "op-2", "reason": "x"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p}");
    let (status, p) = d.call(Role::Supervisor, Method::POST, &reassign, Some(json!({"to": "op-2"}))).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/reason")), "{p}");
    let (status, p) =
        d.call(Role::Supervisor, Method::POST, &reassign, Some(json!({"to": "Mario Rossi", "reason": "r"}))).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/to")), "{p}");
    let t = ok(d
        .call(Role::Supervisor, Method::POST, &reassign, Some(json!({"to": "op-2", "reason": "op-1 is off sick"})))
        .await);
    assert_eq!((t["assignee"].as_str(), t["state"].as_str()), (Some("op-2"), Some("taken_in_charge")), "{t}");

    ok(d.call_as("op-2", Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "Q"}))).await);
    let (status, _) =
        d.call(Role::Operator, Method::POST, &format!("{base}/resolve"), Some(json!({"answer": "a"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "op-1 no longer has it");
    let view = ok(d.call(Role::Supervisor, Method::GET, &base, None).await);
    let reassigned: Vec<&Value> =
        view["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "reassigned").collect();
    assert_eq!(reassigned.len(), 1, "{view}");
    assert_eq!(reassigned[0]["actor"], json!({"id": "sup-1", "role": "supervisor"}));
    assert_eq!(
        reassigned[0]["detail"],
        json!({"from": "op-1", "to": "op-2", "reason": "op-1 is off sick", "state": "taken_in_charge"})
    );
    // Back to the team's queue: nobody has it, anybody on the team may take it.
    let t =
        ok(d.call(Role::Supervisor, Method::POST, &reassign, Some(json!({"to": null, "reason": "rebalance"}))).await);
    assert_eq!((t["assignee"].as_str(), t["state"].as_str()), (None, Some("new")), "{t}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);

    // Privacy tickets are reassigned only by a supervisor of the privacy team.
    let p = open(&d, "email", "privacy_question", "reassign-2").await;
    let pbase = format!("/operator/tickets/{p}");
    ok(d.call(Role::PrivacyOperator, Method::POST, &format!("{pbase}/take-in-charge"), None).await);
    let body = json!({"to": "psup-1", "reason": "r"});
    let (status, _) = d.call(Role::Supervisor, Method::POST, &format!("{pbase}/reassign"), Some(body.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    ok(d.call_as("psup-1", Method::POST, &format!("{pbase}/reassign"), Some(body)).await);
}

/// A target not cleared for free text gets none of the requester's words: the operator's summary
/// is the question, and the preview shows exactly what will leave, target by target.
#[tokio::test]
async fn free_text_leaves_only_for_targets_cleared_for_it_and_the_preview_shows_it() {
    let d = desk();
    let r = open(&d, "email", "specialist_support", "free-text-1").await;
    let base = format!("/operator/tickets/{r}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "A"}))).await);

    let summary = "Il pagamento dell'avviso risulta doppio: verificare la riconciliazione.";
    let preview = ok(d
        .call(Role::Operator, Method::POST, &format!("{base}/escalation-preview"), Some(json!({"summary": summary})))
        .await);
    let previews = preview["previews"].as_array().unwrap();
    let targets: Vec<&str> = previews.iter().map(|p| p["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["pagopa_specialists", "third_parties"], "the flow's targets: {preview}");
    let third = &previews[1];
    assert_eq!(third["free_text"], false);
    assert_eq!(third["message"]["summary"], summary);
    let fields = third["message"]["fields"].as_object().unwrap();
    assert!(!fields.contains_key("subject") && !fields.contains_key("description"), "{third}");
    assert_eq!(third["message"]["fields"]["custom.notice_code"], "302001234567890123");
    let withheld: Vec<&str> =
        third["withheld"].as_array().unwrap().iter().map(|w| w["field"].as_str().unwrap()).collect();
    assert!(withheld.contains(&"subject") && withheld.contains(&"description"), "{third}");
    assert_eq!(third["delivery"], json!({"email": ["escalations@third-party.example"]}));
    let mail_text = third["mail"]["text"].as_str().unwrap();
    assert!(mail_text.contains(summary) && !mail_text.contains("Ho pagato due volte"), "{mail_text}");
    let specialists = &previews[0];
    assert_eq!(specialists["free_text"], true);
    assert!(specialists["message"]["fields"]["description"].as_str().unwrap().contains("Ho pagato due volte"));
    // One target only; and a target the flow does not use is refused.
    let one = ok(d
        .call(
            Role::Operator,
            Method::POST,
            &format!("{base}/escalation-preview"),
            Some(json!({"target": "third_parties"})),
        )
        .await);
    assert_eq!(one["previews"].as_array().unwrap().len(), 1);
    let (status, p) = d
        .call(
            Role::Operator,
            Method::POST,
            &format!("{base}/escalation-preview"),
            Some(json!({"target": "pagopa_privacy"})),
        )
        .await;
    assert_eq!((status, p["type"].as_str()), (StatusCode::CONFLICT, Some("/problems/flow")), "{p}");
    let (status, p) = d
        .call(
            Role::Operator,
            Method::POST,
            &format!("{base}/escalation-preview"),
            Some(json!({"target": "no_such_target"})),
        )
        .await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/target")), "{p}");

    // What leaves is what the preview showed.
    let sent = ok(d
        .call(
            Role::Operator,
            Method::POST,
            &format!("{base}/escalate"),
            Some(json!({"target": "third_parties", "summary": summary})),
        )
        .await);
    let fields_sent: Vec<&str> = sent["fields_sent"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    let previewed: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(fields_sent, previewed);
    let mail = OutboxMailer::new(d.db.clone()).sent(10).await.unwrap();
    let raw = String::from_utf8_lossy(&mail.last().unwrap().raw).to_string();
    assert!(!raw.contains("Ho pagato due volte") && !raw.contains("Avviso pagato due volte"), "{raw}");
}

/// Art. 17: a privacy operator finds the requester by e-mail, phone or fiscal code, sees what will
/// go, and erases it; refused with the reason while a breach report of theirs is open.
#[tokio::test]
async fn a_privacy_operator_erases_a_requester_after_a_preview() {
    let d = desk();
    let first = open(&d, "email", "basic_info", "erase-1").await;
    let second = open(&d, "api", "privacy_question", "erase-2").await;
    let preview_path = "/operator/erasures/preview";
    let (status, _) = d.call(Role::Operator, Method::POST, preview_path, Some(json!({"email": EMAIL}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the privacy team");
    let (status, p) = d.call(Role::PrivacyOperator, Method::POST, preview_path, Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("one of `email`, `phone`, `fiscal_code`"), "{p}");
    assert!(p.get("field").is_none(), "no one field is at fault, and none is named: {p}");
    let (status, p) =
        d.call(Role::PrivacyOperator, Method::POST, preview_path, Some(json!({"email": EMAIL, "phone": "1"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "one key at a time: {p}");
    assert!(p.get("field").is_none(), "{p}");

    let preview = ok(d.call(Role::PrivacyOperator, Method::POST, preview_path, Some(json!({"email": EMAIL}))).await);
    let refs: Vec<&str> =
        preview["tickets"].as_array().unwrap().iter().map(|t| t["reference"].as_str().unwrap()).collect();
    assert_eq!(refs, [first.as_str(), second.as_str()], "{preview}");
    assert!(preview["hold"].is_null(), "{preview}");
    assert!(preview["copies"]["events"].as_u64().unwrap() >= 4, "{preview}");
    let confirm = preview["confirm"].as_str().unwrap().to_string();
    assert!(!preview.to_string().contains(FISCAL_CODE), "the preview lists tickets, not the data: {preview}");

    // Without the preview's confirmation, or with a stale one, nothing is erased.
    let (status, p) =
        d.call(Role::PrivacyOperator, Method::POST, "/operator/erasures", Some(json!({"email": EMAIL}))).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/confirm")), "{p}");
    let (status, p) = d
        .call(
            Role::PrivacyOperator,
            Method::POST,
            "/operator/erasures",
            Some(json!({"email": EMAIL, "confirm": "0000"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("preview"), "{p}");

    // A breach report of theirs, still open: a legal hold.
    let breach = open(&d, "api", "privacy_issue", "erase-3").await;
    let held =
        ok(d.call(Role::PrivacyOperator, Method::POST, preview_path, Some(json!({"fiscal_code": FISCAL_CODE}))).await);
    assert_eq!(held["hold"]["tickets"], json!([breach]), "{held}");
    let (status, p) = d
        .call(
            Role::PrivacyOperator,
            Method::POST,
            "/operator/erasures",
            Some(json!({"fiscal_code": FISCAL_CODE, "confirm": held["confirm"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains(&breach) && detail.contains("breach"), "{detail}");
    assert!(d.engine.ticket_by_reference(&first).await.unwrap().requester.email.is_some(), "nothing erased");

    // The breach report closed, the erasure goes through, audited without personal data.
    let bid = d.engine.ticket_by_reference(&breach).await.unwrap().id;
    let mut t = d.engine.ticket(&bid).await.unwrap();
    t.move_to(TicketState::TakenInCharge, t.created_at).unwrap();
    t.move_to(TicketState::Resolved, t.created_at).unwrap();
    d.engine.ports.tickets.update(&t, &[]).await.unwrap();
    let again =
        ok(d.call(Role::PrivacyOperator, Method::POST, preview_path, Some(json!({"phone": "+39 333 000"}))).await);
    assert!(again["tickets"].as_array().unwrap().is_empty(), "nobody with that phone: {again}");
    let preview =
        ok(d.call(Role::PrivacyOperator, Method::POST, preview_path, Some(json!({"fiscal_code": FISCAL_CODE}))).await);
    assert!(preview["hold"].is_null(), "{preview}");
    let done = ok(d
        .call(
            Role::PrivacyOperator,
            Method::POST,
            "/operator/erasures",
            Some(json!({"fiscal_code": FISCAL_CODE, "confirm": preview["confirm"]})),
        )
        .await);
    assert_eq!(done["erased"].as_array().unwrap().len(), 3, "{done}");
    for r in [&first, &second, &breach] {
        let t = d.engine.ticket_by_reference(r).await.unwrap();
        assert!(t.requester.is_empty(), "{r}");
        let events = d.engine.ports.events.list(&t.id).await.unwrap();
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains(EMAIL) && !text.contains(FISCAL_CODE) && !text.contains("Ho pagato"), "{text}");
        let audit = events.iter().find(|e| e.kind == sportello::domain::EventKind::RequesterErased).unwrap();
        assert_eq!(audit.actor.id, "priv-1");
    }
    let _ = confirm;
}
