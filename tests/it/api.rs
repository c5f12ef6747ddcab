//! The ticket API for PagoPA's clients, called in-process: authentication, the client's category
//! tree, idempotency, ownership, and a clear problem+json for every kind of bad input.

use crate::support::app::TestApp;
use crate::support::http::{Reply, json_post, request};
use axum::http::Method;
use serde_json::{Value, json};
use sportello::domain::{EventKind, TicketState};
use sportello::http::MAX_BODY_BYTES;
use sportello::http::auth::KeyFile;

struct Api {
    app: TestApp,
    io_key: String,
    checkout_key: String,
    keys_path: std::path::PathBuf,
    io_key_id: String,
}

/// Wednesday 2 December 2026, 10:00 in Rome: the operators are in.
async fn api() -> Api {
    let app = TestApp::at("2026-12-02T10:00:00+01:00");
    // Where the app reads its API keys from.
    let keys_path = app.dir.path().join("api-keys.json");
    let mut file = KeyFile::default();
    let now = app.engine.now();
    let (io, io_key) = file.add("io", now);
    let (_, checkout_key) = file.add("checkout", now);
    file.write(&keys_path).unwrap();
    let stored = std::fs::read_to_string(&keys_path).unwrap();
    assert!(!stored.contains(&io_key) && stored.contains(&io.sha256), "the file keeps hashes, never keys");
    Api { app, io_key, checkout_key, keys_path, io_key_id: io.id }
}

fn ticket() -> Value {
    json!({
        "category": "io_pagamenti_pagopa",
        "subcategory": "pagamenti_pagopa_blocco",
        "subject": "Pagamento bloccato",
        "message": "Il pagamento resta in attesa da ieri.",
        "requester": {"name": "Mario Rossi", "email": "mario.rossi@example.it", "fiscal_code": "RSSMRA85T10A562S"},
        "fields": {
            "notice_code": "302001234567890123",
            "creditor_fiscal_code": "15376371009",
            "rpt_id": "15376371009302001234567890123",
            "app_version": "2.71.0",
            "failure_code": "PPT_PAGAMENTO_IN_CORSO"
        }
    })
}

impl Api {
    async fn post(&self, key: &str, idem: Option<&str>, body: &Value) -> Reply {
        let auth = format!("Bearer {key}");
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(i) = idem {
            headers.push(("idempotency-key", i));
        }
        self.app.send(json_post("/api/v1/tickets", &headers, body)).await
    }

    async fn get(&self, key: &str, reference: &str) -> Reply {
        let auth = format!("Bearer {key}");
        let uri = format!("/api/v1/tickets/{reference}");
        self.app.send(request(Method::GET, &uri, &[("authorization", &auth)], "")).await
    }
}

#[tokio::test]
async fn a_client_opens_a_ticket_once_per_key_and_reads_its_status() {
    let a = api().await;
    let first = a.post(&a.io_key, Some("8d2f6c1e-4b7a"), &ticket()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let reference = first.body["reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("SP-"));
    assert_eq!(first.headers["location"], format!("/api/v1/tickets/{reference}").as_str());
    assert_eq!(first.body["state"], "new");
    assert_eq!(first.body["category"], "malfunction", "io_pagamenti_pagopa/pagamenti_pagopa_blocco → malfunction");

    let again = a.post(&a.io_key, Some("8d2f6c1e-4b7a"), &ticket()).await;
    assert_eq!(again.status, 200, "a replay answers 200: {}", again.text);
    assert_eq!(again.body, first.body, "and the same body");
    assert_eq!(again.headers["location"], first.headers["location"]);

    let mut other = ticket();
    other["message"] = json!("Un altro problema");
    a.post(&a.io_key, Some("8d2f6c1e-4b7a"), &other).await.assert_problem(
        422,
        Some("Idempotency-Key"),
        "different request",
    );
    // The same key from another client is another ticket.
    let mut checkout = ticket();
    checkout["category"] = json!("pagamento");
    checkout["subcategory"] = json!("doppio_addebito");
    let theirs = a.post(&a.checkout_key, Some("8d2f6c1e-4b7a"), &checkout).await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    assert_ne!(theirs.body["reference"], first.body["reference"]);
    assert_eq!(theirs.body["category"], "specialist_support");

    let engine = &a.app.engine;
    assert_eq!(engine.run_pending_steps(10).await.unwrap(), 0, "intake triaged both: no step follows");
    let t = engine.ticket_by_reference(&reference).await.unwrap();
    assert!(t.triaged_at.is_some(), "triaged in the intake's own write");
    assert_eq!(t.channel, "api");
    assert_eq!(t.fields["notice_code"], "302001234567890123");
    assert_eq!(t.requester.fiscal_code.as_deref(), Some("RSSMRA85T10A562S"));
    let events = engine.ports.events.list(&t.id).await.unwrap();
    assert_eq!(events[0].kind, EventKind::Created);
    assert_eq!(events[0].actor.id, "io", "the client is the ticket's actor");

    let status = a.get(&a.io_key, &reference).await;
    assert_eq!(status.status, 200, "{}", status.text);
    assert_eq!(status.body["reference"], reference.as_str());
    assert_eq!(status.body["state"], "new");
    // Another client cannot tell the ticket exists.
    a.get(&a.checkout_key, &reference).await.assert_problem(404, Some("reference"), "no ticket");
    a.get(&a.io_key, "SP-7K3Q9XWD").await.assert_problem(404, Some("reference"), "no ticket");
    a.get(&a.io_key, "not-a-reference").await.assert_problem(404, Some("reference"), "no ticket");
    assert_eq!(TicketState::New, t.state);
}

#[tokio::test]
async fn the_client_tree_maps_subcategories_and_refuses_unknown_categories() {
    let a = api().await;
    let mut body = ticket();
    body["subcategory"] = json!("pagamenti_pagopa_nuova_voce");
    let r = a.post(&a.io_key, Some("k-new-sub"), &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["category"], "basic_info", "a subcategory added later lands on the client's default");

    body["category"] = json!("io_pagamenti");
    let r = a.post(&a.io_key, Some("k-unknown"), &body).await;
    r.assert_problem(422, Some("/category"), "`io_pagamenti` is not a category of client `io`");
    assert!(r.body["detail"].as_str().unwrap().contains("io_notifiche_send"), "lists the known ones: {}", r.text);
    // The checkout's category from the IO app: well formed, but another client's (409, not 422).
    body["category"] = json!("pagamento");
    let r = a.post(&a.io_key, Some("k-anothers"), &body).await;
    r.assert_problem(409, Some("/category"), "`pagamento` is not a category of client `io`");
    assert_eq!(r.body["type"], "/problems/channel", "{}", r.text);

    let privacy = json!({"category": "io_privacy", "subcategory": "privacy_violazione_dati", "message": "Vedo i dati di un altro"});
    let r = a.post(&a.io_key, Some("k-privacy"), &privacy).await;
    assert_eq!(r.body["category"], "privacy_issue", "{}", r.text);
}

#[tokio::test]
async fn bad_input_gets_a_located_problem_never_a_500() {
    let a = api().await;
    let key = a.io_key.clone();
    let auth = format!("Bearer {key}");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = ticket();
        f(&mut b);
        b
    };
    // Field checks: which field, and why.
    for (body, field, why) in [
        (with(&|b| b["fields"]["notice_code"] = json!("30200123456789012")), "/fields/notice_code", "not 17"),
        (with(&|b| b["fields"]["notice_code"] = json!("902001234567890123")), "/fields/notice_code", "starts with"),
        (
            with(&|b| b["fields"]["creditor_fiscal_code"] = json!("15376371008")),
            "/fields/creditor_fiscal_code",
            "check digit",
        ),
        (with(&|b| b["fields"]["rpt_id"] = json!("15376371008302001234567890123")), "/fields/rpt_id", "RptId"),
        (with(&|b| b["fields"]["rpt_id"] = json!("80015010723302001234567890123")), "/fields/rpt_id", "followed by"),
        (
            with(&|b| b["requester"]["fiscal_code"] = json!("RSSMRA85T10A562X")),
            "/requester/fiscal_code",
            "check character",
        ),
        (with(&|b| b["requester"]["email"] = json!("mario.rossi")), "/requester/email", "e-mail"),
        (with(&|b| b["fields"]["iban"] = json!("IT60X0542811101000000123456")), "/fields/iban", "unknown field"),
        (with(&|b| b["message"] = json!("  ")), "/message", "empty"),
        // Wrong types: a JSON pointer to the value.
        (with(&|b| b["fields"]["notice_code"] = json!(302001234567890123u64)), "/fields/notice_code", "invalid type"),
        (with(&|b| b["requester"] = json!("Mario")), "/requester", "invalid type"),
        (with(&|b| b["category"] = json!(7)), "/category", "invalid type"),
        (with(&|b| b["colour"] = json!("red")), "/colour", "unknown field `colour`"),
        // A missing field is named too, though serde's path ends at the object that lacks it.
        (
            with(&|b| b.as_object_mut().unwrap().remove("message").map(drop).unwrap_or(())),
            "/message",
            "missing field `message`",
        ),
        (with(&|b| b["requester"]["fax"] = json!("0612345678")), "/requester/fax", "unknown field `fax`"),
        (with(&|b| b["fields"] = json!({"a/b~c": 1})), "/fields/a~1b~0c", "invalid type"),
    ] {
        let r = a.post(&key, Some("k-bad"), &body).await;
        r.assert_problem(422, Some(field), why);
    }
    let rpt_ok = with(&|b| b["fields"]["rpt_id"] = json!("80015010723302001234567890123"));
    assert_ne!(rpt_ok["fields"]["rpt_id"], ticket()["fields"]["rpt_id"]);

    // Idempotency-Key: required, printable, at most 255 characters.
    a.post(&key, None, &ticket()).await.assert_problem(400, Some("Idempotency-Key"), "Idempotency-Key");
    a.post(&key, Some(""), &ticket()).await.assert_problem(400, Some("Idempotency-Key"), "1 to 255");
    a.post(&key, Some(&"k".repeat(256)), &ticket()).await.assert_problem(400, Some("Idempotency-Key"), "1 to 255");
    let r = a
        .app
        .send(request(
            Method::POST,
            "/api/v1/tickets",
            &[("authorization", &auth), ("content-type", "application/json"), ("idempotency-key", "caf\u{e9}")],
            ticket().to_string(),
        ))
        .await;
    r.assert_problem(400, Some("Idempotency-Key"), "printable");

    // Content type, size, syntax.
    let post = |ct: &str, body: String| {
        request(
            Method::POST,
            "/api/v1/tickets",
            &[("authorization", &auth), ("content-type", ct), ("idempotency-key", "k-raw")],
            body,
        )
    };
    a.app.send(post("text/plain", ticket().to_string())).await.assert_problem(
        415,
        Some("Content-Type"),
        "application/json",
    );
    let huge = json!({"category": "io_accesso", "message": "x".repeat(MAX_BODY_BYTES)});
    a.app.send(post("application/json", huge.to_string())).await.assert_problem(413, None, "larger than");
    let r = a.app.send(post("application/json", "{\"category\": \"io_accesso\",\n \"message\": }".into())).await;
    r.assert_problem(400, None, "line 2 column");
    a.app.send(post("application/json", String::new())).await.assert_problem(400, None, "not valid JSON");
    a.app.send(post("application/json", "[1, 2]".into())).await.assert_problem(422, None, "expected an object");

    // Authentication: 401 with a challenge.
    for (headers, why) in [
        (vec![], "no API key"),
        (vec![("authorization", "Bearer spk_0000_nope")], "not valid"),
        (vec![("authorization", "Basic aW86c2VjcmV0")], "Bearer"),
        (vec![("authorization", "Bearer")], "Bearer"),
        (vec![("x-api-key", "spk_nope")], "not valid"),
    ] {
        let mut all = headers.clone();
        all.push(("idempotency-key", "k-auth"));
        let r = a.app.send(json_post("/api/v1/tickets", &all, &ticket())).await;
        r.assert_problem(401, Some("Authorization"), why);
        assert!(r.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer realm=\"sportello\""));
        let r = a.app.send(request(Method::GET, "/api/v1/tickets/SP-7K3Q9XWD", &headers, "")).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    // X-Api-Key works as well as Bearer.
    let r =
        a.app.send(json_post("/api/v1/tickets", &[("x-api-key", &key), ("idempotency-key", "k-x")], &ticket())).await;
    assert_eq!(r.status, 201, "{}", r.text);

    // A wrong method is problem+json too (each function's: `lambda::init`).
    let r = a.app.send(request(Method::DELETE, "/api/v1/tickets", &[("authorization", &auth)], "")).await;
    r.assert_problem(405, None, "does not take DELETE");
}

/// The chat's requester and the API's are one schema (`Requester` in docs/openapi.yaml): each bad
/// value is refused by both, at the same field and for the same reason, and blank fields are not
/// known on both.
#[tokio::test]
async fn the_chat_and_the_api_check_a_requester_alike() {
    let a = api().await;
    let start_chat = |n: usize, requester: &Value| {
        let session_id = format!("requester-check-{n:04}-0123456789");
        a.app.send(json_post("/chat/sessions", &[], &json!({"session_id": session_id, "requester": requester})))
    };
    let too_long_phone = format!("+39{}", "3".repeat(30));
    let too_long_email = format!("{}@example.it", "m".repeat(250));
    for (n, (requester, field, why)) in [
        (json!({"phone": "\u{d0}"}), "/requester/phone", "not a phone number"),
        (json!({"phone": "12345"}), "/requester/phone", "at least 6 digits"),
        (json!({"phone": too_long_phone}), "/requester/phone", "at most 32 bytes"),
        (json!({"email": "mario.rossi"}), "/requester/email", "not an e-mail address"),
        (json!({"email": "@example.it"}), "/requester/email", "not an e-mail address"),
        (json!({"email": "mario@localhost"}), "/requester/email", "not an e-mail address"),
        (json!({"email": too_long_email}), "/requester/email", "at most 254 bytes"),
        (json!({"fiscal_code": "RSSMRA85T10A562X"}), "/requester/fiscal_code", "check character"),
        (json!({"email": 5}), "/requester/email", "invalid type"),
        (json!({"phone": ["3331234567"]}), "/requester/phone", "invalid type"),
        (json!({"iban": "IT60X0542811101000000123456"}), "/requester/iban", "unknown field `iban`"),
        (json!(["Mario Rossi", "mario.rossi@example.it"]), "/requester", "invalid type"),
        (json!("Mario Rossi"), "/requester", "invalid type"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = ticket();
        body["requester"] = requester.clone();
        let api = a.post(&a.io_key, Some(&format!("k-requester-{n}")), &body).await;
        api.assert_problem(422, Some(field), why);
        let chat = start_chat(n, &requester).await;
        chat.assert_problem(422, Some(field), why);
        // The same words (serde's position in each body aside).
        let reason = |r: &Reply| r.body["detail"].as_str().unwrap().split(" at line ").next().unwrap().to_string();
        assert_eq!(reason(&api), reason(&chat), "{requester}");
    }

    // Blank is not known; the rest is trimmed, the fiscal code upper-cased: alike on both.
    let requester =
        json!({"name": " ", "email": " mario.rossi@example.it ", "phone": "", "fiscal_code": "rssmra85t10a562s"});
    let mut body = ticket();
    body["requester"] = requester.clone();
    let api = a.post(&a.io_key, Some("k-requester-blank"), &body).await;
    assert_eq!(api.status, 201, "{}", api.text);
    let chat = start_chat(100, &requester).await;
    assert_eq!(chat.status, 201, "{}", chat.text);
    for reply in [&api, &chat] {
        let reference = reply.body["reference"].as_str().unwrap();
        let ticket = a.app.engine.ticket_by_reference(reference).await.unwrap();
        assert_eq!(ticket.requester.name, None);
        assert_eq!(ticket.requester.phone, None);
        assert_eq!(ticket.requester.email.as_deref(), Some("mario.rossi@example.it"));
        assert_eq!(ticket.requester.fiscal_code.as_deref(), Some("RSSMRA85T10A562S"));
    }
}

#[tokio::test]
async fn a_revoked_key_stops_working_without_a_restart() {
    let a = api().await;
    let r = a.post(&a.io_key, Some("k-before"), &ticket()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // The file changes on disk (as `sportello clients revoke` does it); make sure its mtime moves.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut file = KeyFile::read(&a.keys_path).unwrap();
    assert!(file.revoke(&a.io_key_id, a.app.engine.now()));
    file.write(&a.keys_path).unwrap();
    let r = a.post(&a.io_key, Some("k-after"), &ticket()).await;
    r.assert_problem(401, Some("Authorization"), "revoked");
    assert_eq!(
        a.post(&a.checkout_key, Some("k-other"), &json!({"category": "pagamento", "message": "?"})).await.status,
        201
    );
}

#[tokio::test]
async fn a_client_missing_from_the_rulebook_is_refused() {
    let a = api().await;
    let mut file = KeyFile::read(&a.keys_path).unwrap();
    let (_, key) = file.add("send", a.app.engine.now());
    file.write(&a.keys_path).unwrap();
    a.post(&key, Some("k"), &ticket()).await.assert_problem(403, None, "`send` is not configured");
}

#[tokio::test]
async fn garbage_bodies_never_get_a_500() {
    let a = api().await;
    let auth = format!("Bearer {}", a.io_key);
    let samples: Vec<Vec<u8>> = vec![
        b"\xff\xfe\x00".to_vec(),
        b"null".to_vec(),
        b"{\"category\": null, \"message\": null}".to_vec(),
        b"{\"fields\": {\"notice_code\": {\"a\": 1}}}".to_vec(),
        "{\"category\": \"io_accesso\", \"message\": \"\u{0}\u{202e}\"}".as_bytes().to_vec(),
        format!("{{\"category\": \"io_accesso\", \"message\": \"m\", \"subject\": \"{}\"}}", "s".repeat(5000))
            .into_bytes(),
        "[".repeat(10_000).into_bytes(),
    ];
    for (i, body) in samples.into_iter().enumerate() {
        let key = format!("g-{i}");
        let r = a
            .app
            .send(request(
                Method::POST,
                "/api/v1/tickets",
                &[("authorization", &auth), ("content-type", "application/json"), ("idempotency-key", &key)],
                body,
            ))
            .await;
        assert!(r.status.as_u16() < 500, "sample {i}: {} {}", r.status, r.text);
        if r.status.is_client_error() {
            assert_eq!(r.content_type(), "application/problem+json", "sample {i}");
        }
    }
}

/// The client reads the operator's answer once the ticket is resolved, and nothing internal: no
/// notes, no escalation summary, no resolution notice.
#[tokio::test]
async fn a_client_reads_the_answer_and_never_the_internal_notes() {
    use sportello::domain::{Actor, ActorRole, TicketType};
    use sportello::engine::EscalationSettings;
    let a = api().await;
    let mut body = ticket();
    body["subcategory"] = json!("pagamenti_pagopa_doppio_addebito");
    let created = a.post(&a.io_key, Some("answer-1"), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["category"], "specialist_support");
    let reference = created.body["reference"].as_str().unwrap().to_string();
    let engine = &a.app.engine;
    engine.run_pending_steps(10).await.unwrap();
    let id = engine.ticket_by_reference(&reference).await.unwrap().id;
    let op = Actor { id: "op-1".into(), role: ActorRole::Operator };
    engine.take_in_charge(&id, &op).await.unwrap();
    engine.classify(&id, &op, TicketType::Q).await.unwrap();
    engine.add_note(&id, &op, "NOTA INTERNA: cliente gia' sentito").await.unwrap();
    let escalated = engine
        .escalate(
            &id,
            &op,
            "pagopa_specialists",
            "RIASSUNTO INTERNO per gli specialisti",
            &EscalationSettings::default(),
        )
        .await
        .unwrap();
    let r = sportello::domain::TicketReference::find_in(&reference).unwrap();
    let escalation_id = &escalated.message.escalation_id;
    engine
        .receive_resolution_notice("pagopa_specialists", &r, escalation_id, "NOTIFICA INTERNA: rimborso disposto", None)
        .await
        .unwrap();

    let open = a.get(&a.io_key, &reference).await;
    assert_eq!(open.status, 200, "{}", open.text);
    assert_eq!(open.body["state"], "in_progress");
    assert!(open.body.get("answer").is_none(), "no answer before it is resolved: {}", open.text);

    let answer = "Il rimborso del doppio addebito e' stato disposto: lo vedra' entro 10 giorni.";
    engine.answer_and_resolve(&id, &op, answer).await.unwrap();
    let done = a.get(&a.io_key, &reference).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["state"], "resolved");
    assert_eq!(done.body["answer"]["text"], answer);
    assert_eq!(done.body["answer"]["answered_at"], json!(engine.now()));
    for internal in ["NOTA INTERNA", "RIASSUNTO INTERNO", "NOTIFICA INTERNA", "pagopa_specialists", "op-1"] {
        assert!(!done.text.contains(internal), "`{internal}` leaked: {}", done.text);
    }
    let keys: Vec<&str> = done.body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["answer", "category", "created_at", "reference", "state", "survey", "ticket_type"]);

    // The app shows the survey's question and posts the rating, once; another client cannot.
    assert_eq!(done.body["survey"]["answered"], false);
    assert!(done.body["survey"]["question"].as_str().unwrap().contains("soddisfatto"), "{}", done.text);
    let survey = format!("/api/v1/tickets/{reference}/survey");
    let rate = |key: &str, body: Value| {
        let auth = format!("Bearer {key}");
        let req = json_post(&survey, &[("authorization", auth.as_str())], &body);
        a.app.send(req)
    };
    let other = rate(&a.checkout_key, json!({"rating": 5})).await;
    assert_eq!(other.status, 404, "{}", other.text);
    rate(&a.io_key, json!({"rating": 7})).await.assert_problem(422, Some("/rating"), "1 to 5");
    rate(&a.io_key, json!({"rating": 4, "mood": "ok"})).await.assert_problem(422, Some("/mood"), "unknown field");
    let ok = rate(&a.io_key, json!({"rating": 4, "comment": "Chiaro"})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["rating"], 4);
    assert!(!ok.text.contains("Chiaro"), "the comment is not echoed: {}", ok.text);
    rate(&a.io_key, json!({"rating": 2})).await.assert_problem(409, None, "answered already");
    let after = a.get(&a.io_key, &reference).await;
    assert_eq!(after.body["survey"], json!({"answered": true, "rating": 4}));
}
