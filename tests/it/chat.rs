//! The mobile chat over HTTP (section 3.2): welcome, bot answers from the knowledge base, bot
//! resolution (type B), handoff to the operators in hours, automatic close out of hours, operator
//! messages reaching the app's poll, session tokens, and bad input.

use crate::support::app::TestApp;
use crate::support::http::Reply;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use sportello::domain::{Actor, ActorRole, EventKind, TicketState, TicketType};
use sportello::engine::{EngineError, NewContact, Refusal};

/// A Wednesday morning in Rome: the operators are there.
const IN_HOURS: &str = "2026-12-02T10:00:00+01:00";
/// Boxing Day evening: closed.
const BOXING_DAY_NIGHT: &str = "2026-12-26T21:30:00+01:00";

struct App {
    app: TestApp,
}

fn app(now: &str) -> App {
    App { app: TestApp::at(now) }
}

impl std::ops::Deref for App {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

trait Messages {
    /// Bodies of the messages in the reply.
    fn texts(&self) -> Vec<String>;
}

impl Messages for Reply {
    fn texts(&self) -> Vec<String> {
        self.body["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_string()).collect()
    }
}

impl App {
    async fn call(&self, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    async fn start(&self, body: Value) -> Session {
        let r = self.call(Method::POST, "/chat/sessions", None, Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        Session {
            reference: r.body["reference"].as_str().unwrap().to_string(),
            token: r.body["token"].as_str().unwrap().to_string(),
            welcome: r.texts().join("\n"),
        }
    }

    async fn say(&self, s: &Session, text: &str) -> Reply {
        let uri = format!("/chat/sessions/{}/messages", s.reference);
        self.call(Method::POST, &uri, Some(&s.token), Some(json!({"text": text}))).await
    }

    async fn post(&self, s: &Session, what: &str) -> Reply {
        self.call(Method::POST, &format!("/chat/sessions/{}/{what}", s.reference), Some(&s.token), None).await
    }

    async fn poll(&self, s: &Session, after: usize) -> Reply {
        let uri = format!("/chat/sessions/{}/messages?after={after}", s.reference);
        self.call(Method::GET, &uri, Some(&s.token), None).await
    }

    async fn ticket(&self, s: &Session) -> sportello::domain::Ticket {
        self.engine.ticket_by_reference(&s.reference).await.unwrap()
    }

    /// `from: body` of every message event on the ticket.
    async fn conversation(&self, s: &Session) -> Vec<String> {
        let t = self.ticket(s).await;
        let events = self.engine.ports.events.list(&t.id).await.unwrap();
        events
            .iter()
            .filter(|e| e.kind == EventKind::Message)
            .map(|e| format!("{}: {}", e.detail["from"].as_str().unwrap(), e.detail["body"].as_str().unwrap()))
            .collect()
    }
}

struct Session {
    reference: String,
    token: String,
    welcome: String,
}

fn session_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn the_bot_solves_an_italian_question_and_the_chat_closes_as_type_b() {
    let app = app(IN_HOURS);
    let s = app.start(json!({"session_id": session_id(), "lang": "it", "category": "basic_info"})).await;
    assert_eq!(s.welcome, "Ciao! Sono l'assistente virtuale di PagoPA. Scrivimi la tua domanda.");

    let r = app.say(&s, "come faccio a pagare un avviso pagopa dal tabaccaio?").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bot = &r.body["messages"][1];
    assert_eq!((bot["from"].as_str(), bot["article"].as_str()), (Some("bot"), Some("pay-pagopa-notice")), "{}", r.body);
    assert!(bot["body"].as_str().unwrap().contains("Ti ho aiutato?"), "{}", bot["body"]);
    assert_eq!(r.body["handed_off"], false);

    let r = app.post(&s, "resolved").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["state"].as_str(), r.body["ticket_type"].as_str()), (Some("auto_resolved"), Some("B")));
    assert_eq!(r.texts(), [format!("Bene, la tua richiesta {} è risolta. Grazie per averci scritto!", s.reference)]);

    // The intake's triage finds a closed chat and leaves it as it is.
    app.engine.run_pending_steps(10).await.unwrap();
    let t = app.ticket(&s).await;
    assert_eq!(t.state, TicketState::AutoResolved);
    assert!(t.state.is_final() && t.closed_at.is_some(), "resolved and closed");
    assert_eq!(t.ticket_type, Some(TicketType::B));
    assert_eq!(t.category.as_deref(), Some("basic_info"), "the category the user started from stays");
    let said = app.conversation(&s).await;
    assert_eq!(said.len(), 4, "{said:?}");
    assert!(said[1].starts_with("user: come faccio a pagare"));
    let events = app.engine.ports.events.list(&t.id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == EventKind::AutoResolved));

    // Saying it twice is harmless; writing to a closed chat says why not.
    assert_eq!(app.post(&s, "resolved").await.status, StatusCode::OK);
    let r = app.say(&s, "un'altra domanda").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.content_type(), "application/problem+json");
    assert!(r.body["detail"].as_str().unwrap().contains("already closed"), "{}", r.body);
    let r = app.post(&s, "operator").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}

#[tokio::test]
async fn an_english_question_is_answered_in_english_and_resolved_as_bot_category() {
    let app = app(BOXING_DAY_NIGHT);
    // No language given: the welcome is in the service's first language, the first message decides.
    let s = app.start(json!({"session_id": session_id()})).await;
    assert!(s.welcome.starts_with("Ciao!"));
    let r = app.say(&s, "I paid the same notice twice, how do I get my money back?").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bot = &r.body["messages"][1];
    assert_eq!(bot["article"], "double-payment-refund", "{}", r.body);
    assert!(bot["body"].as_str().unwrap().contains("Did this solve your problem?"), "{}", bot["body"]);

    // The bot closes it at any hour, even out of service hours.
    let r = app.post(&s, "resolved").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.texts(), [format!("Great, your request {} is resolved. Thank you for writing!", s.reference)]);
    let t = app.ticket(&s).await;
    assert_eq!((t.state, t.ticket_type), (TicketState::AutoResolved, Some(TicketType::B)));
    assert_eq!(t.category.as_deref(), Some("bot"), "no category from the app: the chatbot's");
    assert_eq!(app.conversation(&s).await.len(), 4);
}

#[tokio::test]
async fn not_solved_in_hours_goes_to_the_operators_with_the_whole_conversation() {
    let app = app(IN_HOURS);
    let s = app
        .start(json!({
            "session_id": session_id(),
            "lang": "it",
            "requester": {"fiscal_code": "RSSMRA80A01H501U"},
        }))
        .await;
    // Intake's triage runs while the bot talks: the chat is in no operator's queue yet.
    app.engine.run_pending_steps(10).await.unwrap();
    let queue = app.engine.ports.tickets.work_queue("first_level", TicketState::New, 50).await.unwrap();
    assert!(queue.is_empty(), "still with the bot");

    let r = app.say(&s, "xqzv wplk frumbo").await;
    let bot = r.body["messages"][1]["body"].as_str().unwrap().to_string();
    assert!(bot.contains("chiedi un operatore"), "{bot}");
    let r = app.say(&s, "il pagamento con la carta non funziona").await;
    assert_eq!(r.status, StatusCode::OK);

    let r = app.post(&s, "operator").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["state"].as_str(), r.body["handed_off"].as_bool()), (Some("new"), Some(true)));
    assert_eq!(r.texts(), [format!("Ti metto in contatto con un operatore. La tua richiesta è la {}.", s.reference)]);
    // Asking again changes nothing.
    let again = app.post(&s, "operator").await;
    assert_eq!((again.status, again.body["messages"].as_array().unwrap().len()), (StatusCode::OK, 0));

    assert!(app.engine.run_pending_steps(10).await.unwrap() >= 1, "the handoff queued triage");
    let t = app.ticket(&s).await;
    assert_eq!(
        (t.state, t.team.as_str(), t.category.as_deref()),
        (TicketState::New, "first_level", Some("basic_info"))
    );
    assert!(t.triaged_at.is_some() && !t.deadlines.is_empty());
    assert_eq!(t.requester.fiscal_code.as_deref(), Some("RSSMRA80A01H501U"));
    let queue = app.engine.ports.tickets.work_queue("first_level", TicketState::New, 50).await.unwrap();
    assert_eq!(queue.iter().map(|q| &q.id).collect::<Vec<_>>(), [&t.id]);

    // The user writes on: the message waits for the operator, the bot is silent.
    let r = app.say(&s, "grazie, aspetto").await;
    assert_eq!((r.status, r.body["handed_off"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(r.texts(), ["grazie, aspetto"]);
    let r = app.post(&s, "resolved").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body["detail"].as_str().unwrap().contains("operator"), "{}", r.body);

    let said = app.conversation(&s).await;
    assert_eq!(said.len(), 7, "welcome, 2 questions, 2 answers, handoff, last words: {said:?}");
    assert!(said[3].starts_with("user: il pagamento con la carta"));

    // The operator answers; the app's poll brings it.
    let polled = app.poll(&s, 0).await;
    assert_eq!(polled.status, StatusCode::OK);
    let seen = polled.body["next"].as_u64().unwrap() as usize;
    assert_eq!(seen, 7);
    let operator = Actor { id: "op-17".into(), role: ActorRole::Operator };
    let m = app.engine.chat_operator_message(&t.id, &operator, "Buongiorno, verifico il pagamento.").await.unwrap();
    assert_eq!((m.seq, m.from.as_str()), (8, "operator"));
    let polled = app.poll(&s, seen).await;
    assert_eq!(polled.texts(), ["Buongiorno, verifico il pagamento."]);
    assert_eq!(polled.body["messages"][0]["from"], "operator");
    assert_eq!(polled.body["next"], 8);
    assert_eq!(app.poll(&s, 8).await.body["messages"], json!([]));
    let events = app.engine.ports.events.list(&t.id).await.unwrap();
    assert_eq!(events.last().unwrap().actor, operator);
}

#[tokio::test]
async fn a_privacy_chat_handed_off_goes_to_the_privacy_team() {
    let app = app(IN_HOURS);
    let s = app.start(json!({"session_id": session_id(), "lang": "en", "category": "privacy_question"})).await;
    assert!(s.welcome.starts_with("Hi!"));
    app.say(&s, "how do I delete my data?").await;
    assert_eq!(app.post(&s, "operator").await.status, StatusCode::OK);
    app.engine.run_pending_steps(10).await.unwrap();
    let t = app.ticket(&s).await;
    assert_eq!((t.team.as_str(), t.state), ("privacy", TicketState::New));
    let queue = app.engine.ports.tickets.work_queue("privacy", TicketState::New, 50).await.unwrap();
    assert_eq!(queue.len(), 1);
}

#[tokio::test]
async fn not_solved_out_of_hours_closes_with_the_other_channels() {
    let app = app(BOXING_DAY_NIGHT);
    let s = app.start(json!({"session_id": session_id(), "lang": "it", "category": "advanced_info"})).await;
    // The bot is there at any hour.
    let r = app.say(&s, "non riesco ad entrare in IO con lo SPID").await;
    assert_eq!(r.body["messages"][1]["from"], "bot");
    app.engine.run_pending_steps(10).await.unwrap();
    assert_eq!(app.ticket(&s).await.state, TicketState::New, "triage waits for the bot's outcome");

    let r = app.post(&s, "operator").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "auto_closed");
    let texts = r.texts();
    assert_eq!(
        texts[0],
        format!(
            "Gli operatori ora non sono disponibili e questa chat viene chiusa. La tua richiesta è la {}.",
            s.reference
        )
    );
    let book = &app.engine.rules;
    let contact_point = |ch: &str| book.channels[ch].contact_point["it"].clone();
    assert_eq!(
        texts[1],
        format!("Puoi contattarci anche tramite: {}; {}.", contact_point("email"), contact_point("voice"))
    );
    let t = app.ticket(&s).await;
    assert_eq!((t.state, t.ticket_type), (TicketState::AutoClosed, None));
    assert!(t.closed_at.is_some());
    let said = app.conversation(&s).await;
    assert_eq!(said.len(), 5, "{said:?}");
    // Nothing more: the triage finds it closed; messages are refused with the reason.
    app.engine.run_pending_steps(10).await.unwrap();
    assert_eq!(app.ticket(&s).await.state, TicketState::AutoClosed);
    let r = app.say(&s, "ci sei?").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body["detail"].as_str().unwrap().contains("operators were not available"), "{}", r.body);
    // The poll still shows the closing messages.
    assert_eq!(app.poll(&s, 3).await.texts(), texts);
}

#[tokio::test]
async fn a_retried_start_returns_the_same_chat() {
    let app = app(IN_HOURS);
    let id = session_id();
    let first = app.start(json!({"session_id": id, "lang": "it"})).await;
    app.say(&first, "dove trovo la ricevuta del pagamento").await;
    let r = app.call(Method::POST, "/chat/sessions", None, Some(json!({"session_id": id, "lang": "it"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["reference"].as_str(), Some(first.reference.as_str()));
    assert_eq!(r.body["messages"].as_array().unwrap().len(), 3, "the conversation so far");
    let second = Session {
        reference: first.reference.clone(),
        token: r.body["token"].as_str().unwrap().to_string(),
        welcome: String::new(),
    };
    assert_ne!(second.token, first.token);
    // Either token opens the session (the first answer may have been lost).
    assert_eq!(app.poll(&first, 0).await.status, StatusCode::OK);
    assert_eq!(app.poll(&second, 0).await.status, StatusCode::OK);
    // The bot holds the chat: nothing is queued until a handoff.
    assert_eq!(app.engine.run_pending_steps(10).await.unwrap(), 0, "no step for a chat with the bot");
    assert_eq!(app.conversation(&first).await.len(), 3);
}

#[tokio::test]
async fn sessions_are_private_to_their_token() {
    let app = app(IN_HOURS);
    let mine = app.start(json!({"session_id": session_id(), "lang": "it"})).await;
    let other = app.start(json!({"session_id": session_id(), "lang": "it"})).await;
    app.say(&mine, "ho pagato due volte la multa").await;

    // Someone else's token, a made-up token, a reference that does not exist: all not found.
    let uri = format!("/chat/sessions/{}/messages?after=0", mine.reference);
    for token in [other.token.as_str(), "0123456789abcdef", &mine.token[..63]] {
        let r = app.call(Method::GET, &uri, Some(token), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{token}");
        assert_eq!(r.content_type(), "application/problem+json");
    }
    let r = app.call(Method::GET, "/chat/sessions/SP-0000ZZZZ/messages", Some(&mine.token), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.call(Method::GET, "/chat/sessions/not-a-reference/messages", Some(&mine.token), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // No token at all: 401 with the scheme to use.
    for (method, what) in [(Method::GET, "messages"), (Method::POST, "resolved"), (Method::POST, "operator")] {
        let r = app.call(method, &format!("/chat/sessions/{}/{what}", mine.reference), None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(r.headers.get(header::WWW_AUTHENTICATE).unwrap(), r#"Bearer realm="sportello-chat""#);
        assert_eq!(r.body["field"], "Authorization");
    }
    let r = app
        .send(
            Request::post(format!("/chat/sessions/{}/resolved", mine.reference))
                .header(header::AUTHORIZATION, format!("Basic {}", mine.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    r.assert_problem(401, Some("Authorization"), "Bearer <token>");
    assert_eq!(
        r.headers.get(header::WWW_AUTHENTICATE).unwrap(),
        r#"Bearer realm="sportello-chat", error="invalid_request""#
    );
    // Nothing was changed by the attempts; the other user's chat cannot be resolved with my token.
    let forged = Session { reference: other.reference.clone(), token: mine.token.clone(), welcome: String::new() };
    assert_eq!(app.post(&forged, "resolved").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.ticket(&other).await.state, TicketState::New);
    // Tokens are not stored as such.
    let t = app.ticket(&mine).await;
    let events = app.engine.ports.events.list(&t.id).await.unwrap();
    assert!(!serde_json::to_string(&events).unwrap().contains(&mine.token));
}

#[tokio::test]
async fn bad_input_gets_a_located_problem_never_a_500() {
    let app = app(IN_HOURS);
    let s = app.start(json!({"session_id": session_id(), "lang": "it"})).await;
    let messages = format!("/chat/sessions/{}/messages", s.reference);

    let problem = |r: &Reply, status: StatusCode, field: Option<&str>| {
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
        if let Some(field) = field {
            assert_eq!(r.body["field"].as_str(), Some(field), "{}", r.body);
        }
    };

    // Message size and emptiness.
    problem(&app.say(&s, &"a".repeat(4097)).await, StatusCode::PAYLOAD_TOO_LARGE, Some("/text"));
    assert_eq!(app.say(&s, &"è".repeat(2048)).await.status, StatusCode::OK, "4 KB exactly is fine");
    problem(&app.say(&s, "   \n").await, StatusCode::UNPROCESSABLE_ENTITY, Some("/text"));
    let huge = json!({"text": "a".repeat(40_000)});
    let r = app.call(Method::POST, &messages, Some(&s.token), Some(huge)).await;
    problem(&r, StatusCode::PAYLOAD_TOO_LARGE, None);
    assert!(r.body["detail"].as_str().unwrap().contains("16384"), "{}", r.body);

    // Content type, syntax, shape.
    let raw = |content_type: &str, body: &str| {
        Request::post(&messages)
            .header(header::AUTHORIZATION, format!("Bearer {}", s.token))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    problem(&app.send(raw("text/plain", r#"{"text":"ciao"}"#)).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, None);
    problem(&app.send(raw("application/json", r#"{"text": "ciao"#)).await, StatusCode::BAD_REQUEST, None);
    problem(
        &app.send(raw("application/json", r#"{"text": 42}"#)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/text"),
    );
    problem(
        &app.send(raw("application/json", r#"{"txt": "ciao"}"#)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/txt"),
    );
    problem(&app.send(raw("application/json", "{}")).await, StatusCode::UNPROCESSABLE_ENTITY, Some("/text"));
    problem(&app.send(raw("application/json", "[]")).await, StatusCode::UNPROCESSABLE_ENTITY, None);

    // Starting a session.
    let start = |body: Value| app.call(Method::POST, "/chat/sessions", None, Some(body));
    problem(&start(json!({"session_id": "short"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("/session_id"));
    problem(
        &start(json!({"session_id": "x".repeat(200)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/session_id"),
    );
    problem(
        &start(json!({"session_id": "with spaces in it 1234"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/session_id"),
    );
    problem(
        &start(json!({"session_id": session_id(), "lang": "fr"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/lang"),
    );
    problem(
        &start(json!({"session_id": session_id(), "category": "payments"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/category"),
    );
    problem(
        &start(json!({"session_id": session_id(), "requester": {"fiscal_code": "RSSMRA80A01H501X"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/requester/fiscal_code"),
    );
    problem(
        &start(json!({"session_id": session_id(), "requester": {"iban": "IT60X0542811101000000123456"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/requester/iban"),
    );
    // The requester's phone and e-mail are checked as the ticket API checks them (tests/it/api.rs
    // tries every bad value on both).
    problem(
        &start(json!({"session_id": session_id(), "requester": {"phone": "\u{d0}"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/requester/phone"),
    );
    problem(
        &start(json!({"session_id": session_id(), "requester": {"email": "mario.rossi"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/requester/email"),
    );
    problem(&start(json!({"lang": "it"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("/session_id"));
    // A requester of another type than an object (serde alone would read an array as one).
    for wrong in [json!([null, null]), json!("RSSMRA80A01H501U"), json!(7)] {
        problem(
            &start(json!({"session_id": session_id(), "requester": wrong})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/requester"),
        );
    }
    problem(
        &start(json!({"session_id": session_id(), "requester": {"email": 5}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/requester/email"),
    );
    let r = app.send(Request::post("/chat/sessions").body(Body::from("session_id=1")).unwrap()).await;
    problem(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("Content-Type"));

    // Polling with a bad cursor; a method the route does not serve.
    let r = app.call(Method::GET, &format!("{messages}?after=-1"), Some(&s.token), None).await;
    problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some("after"));
    let r = app.call(Method::GET, &format!("{messages}?after=0&cursor=1.0.abc"), Some(&s.token), None).await;
    problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some("cursor"));
    let r = app.call(Method::DELETE, &messages, Some(&s.token), None).await;
    problem(&r, StatusCode::METHOD_NOT_ALLOWED, None);

    // Confirming before asking anything: the flow says what comes first.
    let r = app.post(&s, "resolved").await;
    assert_eq!(r.status, StatusCode::OK, "a question was asked above: {}", r.body);
    let fresh = app.start(json!({"session_id": session_id()})).await;
    let r = app.post(&fresh, "resolved").await;
    problem(&r, StatusCode::CONFLICT, None);
    assert!(r.body["detail"].as_str().unwrap().contains("write your question"), "{}", r.body);
}

#[tokio::test]
async fn operator_messages_only_reach_chats_handed_off_to_them() {
    let app = app(IN_HOURS);
    let operator = Actor { id: "op-3".into(), role: ActorRole::Operator };
    let s = app.start(json!({"session_id": session_id(), "lang": "it"})).await;
    let t = app.ticket(&s).await;
    let refusal = |r: Result<_, EngineError>| match r {
        Err(EngineError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let why = refusal(app.engine.chat_operator_message(&t.id, &operator, "salve").await);
    assert!(matches!(&why, Refusal::State(m) if m.contains("still with the assistant")), "{why:?}");

    let mail = app
        .engine
        .open(NewContact { channel: "email".into(), idempotency_key: "m-1@example.it".into(), ..NewContact::default() })
        .await
        .unwrap()
        .ticket;
    let why = refusal(app.engine.chat_operator_message(&mail.id, &operator, "salve").await);
    assert!(matches!(&why, Refusal::Channel(m) if m.contains("not chat")), "{why:?}");

    app.say(&s, "devo parlare con qualcuno").await;
    app.post(&s, "operator").await;
    assert!(matches!(
        app.engine.chat_operator_message(&t.id, &operator, " ").await,
        Err(EngineError::Invalid { field, .. }) if field == "/body"
    ));
    assert!(app.engine.chat_operator_message(&t.id, &operator, &"x".repeat(5000)).await.is_err());
    assert!(app.engine.chat_operator_message(&t.id, &operator, "Eccomi").await.is_ok());
}

#[tokio::test]
async fn an_unclear_question_gets_a_few_guides_and_the_offer_of_an_operator() {
    let app = app(IN_HOURS);
    let s = app.start(json!({"session_id": session_id(), "lang": "it"})).await;
    let r = app.say(&s, "pagamento").await;
    let bot = &r.body["messages"][1];
    assert_eq!(bot["article"], Value::Null, "no single answer: {bot}");
    assert_eq!(bot["operator_offered"], true, "{bot}");
    let suggested: Vec<String> =
        bot["suggestions"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert!((2..=3).contains(&suggested.len()), "{bot}");
    let body = bot["body"].as_str().unwrap();
    assert!(body.starts_with("Intendevi…?"), "{body}");
    assert!(body.contains("chiedi un operatore"), "{body}");
    // Each suggested guide is listed by its number and title.
    let title = |id: &str| {
        let kb = &app.engine.rules.knowledge;
        kb.articles.iter().find(|a| a.meta.id == id && a.meta.lang == "it").unwrap().meta.title.clone()
    };
    for (i, id) in suggested.iter().enumerate() {
        assert!(body.contains(&format!("{}. {}", i + 1, title(id))), "{id} in {body}");
    }

    // The user picks the second guide by its number: the bot answers with it.
    let r = app.say(&s, "2").await;
    let bot = &r.body["messages"][1];
    assert_eq!(bot["article"].as_str(), Some(suggested[1].as_str()), "{bot}");
    assert!(bot["body"].as_str().unwrap().starts_with(&title(&suggested[1])), "{bot}");
    assert_eq!(bot.get("operator_offered"), None, "an answer offers no operator button: {bot}");

    // A number with no ask-back before it is just a message.
    let r = app.say(&s, "2").await;
    assert_eq!(r.body["messages"][1]["article"], Value::Null, "{}", r.body);
}

#[tokio::test]
async fn the_conversation_so_far_counts() {
    let app = app(IN_HOURS);
    // Alone, "come la pago?" could be any payment: the bot asks back.
    let s = app.start(json!({"session_id": session_id(), "lang": "it"})).await;
    let r = app.say(&s, "come la pago?").await;
    assert_eq!(r.body["messages"][1]["article"], Value::Null, "{}", r.body);
    assert!(r.body["messages"][1]["suggestions"].as_array().is_some_and(|s| !s.is_empty()), "{}", r.body);

    // After "ho preso una multa" it is about the fine.
    let s = app.start(json!({"session_id": session_id(), "lang": "it"})).await;
    let r = app.say(&s, "ho preso una multa").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.say(&s, "come la pago?").await;
    assert_eq!(r.body["messages"][1]["article"], "pay-traffic-fine", "{}", r.body);
}

#[tokio::test]
async fn typos_and_missing_accents_are_tolerated() {
    let app = app(IN_HOURS);
    let s = app.start(json!({"session_id": session_id(), "lang": "it"})).await;
    let r = app.say(&s, "nn trovo la riceuta del pagamneto").await;
    assert_eq!(r.body["messages"][1]["article"], "payment-receipt", "{}", r.body);
    // Without accents: the right guide comes first, as the answer or the first suggestion.
    let r = app.say(&s, "perche l'avviso risulta gia pagato?").await;
    let bot = &r.body["messages"][1];
    let first = bot["article"].as_str().or(bot["suggestions"][0].as_str());
    assert_eq!(first, Some("notice-already-paid-or-expired"), "{}", r.body);
}

/// The chat's outcome notes, as the reports read them.
async fn outcomes(app: &App, s: &Session) -> Vec<Value> {
    let t = app.ticket(s).await;
    let events = app.engine.ports.events.list(&t.id).await.unwrap();
    events
        .iter()
        .filter(|e| e.kind == EventKind::Note && e.detail["chat"] == "outcome")
        .map(|e| e.detail.clone())
        .collect()
}

#[tokio::test]
async fn asking_for_a_person_in_words_hands_the_chat_over() {
    let app = app(IN_HOURS);
    let s = app.start(json!({"session_id": session_id(), "lang": "it", "category": "basic_info"})).await;
    let r = app.say(&s, "dove trovo la ricevuta del pagamento?").await;
    assert_eq!(r.body["messages"][1]["article"], "payment-receipt", "{}", r.body);
    let r = app.say(&s, "voglio parlare con un operatore").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["handed_off"], true, "{}", r.body);
    let texts = r.texts();
    assert_eq!(texts[0], "voglio parlare con un operatore");
    assert!(texts.len() >= 2, "the handoff message follows: {texts:?}");
    let got = outcomes(&app, &s).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["outcome"], "handed_off");
    assert_eq!(got[0]["reason"], "asked_for_operator", "the bot had answered: {got:?}");
    assert_eq!(got[0]["article"], "payment-receipt");
    assert_eq!(got[0]["user_messages"], 2, "what was said to the bot, the request included: {got:?}");
    // No personal data: ids and counts only.
    let keys: Vec<&str> = got[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["article", "asked_back", "category", "chat", "lang", "outcome", "reason", "user_messages"]);
}

#[tokio::test]
async fn outcomes_say_why_the_bot_did_not_contain_a_chat() {
    // Asked back, then the operator button: the suggestions did not fit.
    let day = app(IN_HOURS);
    let s = day.start(json!({"session_id": session_id(), "lang": "it"})).await;
    day.say(&s, "pagamento").await;
    let r = day.post(&s, "operator").await;
    assert_eq!(r.body["handed_off"], true, "{}", r.body);
    let got = outcomes(&day, &s).await;
    assert_eq!(
        (got[0]["outcome"].as_str(), got[0]["reason"].as_str()),
        (Some("handed_off"), Some("ask_back_unresolved"))
    );
    assert_eq!(got[0]["asked_back"], 1);
    // Asking twice records one outcome.
    day.post(&s, "operator").await;
    assert_eq!(outcomes(&day, &s).await.len(), 1);

    // Out of hours the chat closes: that is the outcome, with the reason the user wanted a person
    // (the bot had no article for the question).
    let night = app(BOXING_DAY_NIGHT);
    let s = night.start(json!({"session_id": session_id(), "lang": "it"})).await;
    night.say(&s, "qual è la capitale della Francia").await;
    night.post(&s, "operator").await;
    let got = outcomes(&night, &s).await;
    assert_eq!(
        (got[0]["outcome"].as_str(), got[0]["reason"].as_str()),
        (Some("closed_out_of_hours"), Some("no_fitting_article"))
    );

    // Solved by the bot: contained, with the article.
    let s = night.start(json!({"session_id": session_id(), "lang": "en"})).await;
    night.say(&s, "I forgot my IO unlock code").await;
    night.post(&s, "resolved").await;
    let got = outcomes(&night, &s).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0]["outcome"].as_str(), got[0]["reason"].as_str()), (Some("contained"), None));
    assert_eq!(got[0]["article"], "io-app-access");
    assert_eq!(got[0]["category"], "bot");
}

/// Section 3.5: a privacy request is never closed by the bot. When the user says the bot's
/// directions helped, the ticket still goes to the privacy team (a breach starts its 72-hour
/// clock); out of hours it waits there instead of being closed.
#[tokio::test]
async fn a_privacy_chat_is_never_closed_by_the_bot() {
    for (now, category) in [(IN_HOURS, "privacy_issue"), (BOXING_DAY_NIGHT, "privacy_question")] {
        let app = app(now);
        let s = app.start(json!({"session_id": session_id(), "lang": "it", "category": category})).await;
        let r = app.say(&s, "qualcuno ha usato i miei dati personali nell'app IO").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = app.post(&s, "resolved").await;
        assert_eq!(r.status, StatusCode::OK, "{category} at {now}: {}", r.body);
        assert_ne!(r.body["state"], "auto_resolved", "{}", r.body);
        assert_eq!(r.body["handed_off"], true, "{}", r.body);
        assert!(r.texts().iter().any(|t| t.contains(&s.reference)), "the user is told the reference: {:?}", r.texts());
        app.engine.run_pending_steps(10).await.unwrap();
        let t = app.ticket(&s).await;
        assert_eq!((t.team.as_str(), t.state, t.ticket_type), ("privacy", TicketState::New, None), "{category}");
        if category == "privacy_issue" {
            assert!(t.deadlines.iter().any(|d| d.kind == "gdpr_breach_notification"), "{:?}", t.deadlines);
        }
        let queue = app.engine.ports.tickets.work_queue("privacy", TicketState::New, 50).await.unwrap();
        assert_eq!(queue.len(), 1);
        // Asking for an operator afterwards changes nothing; the chat is with the privacy team.
        assert_eq!(app.post(&s, "operator").await.body["handed_off"], true);
        // The reports count it as handed off, for privacy, once.
        let got = outcomes(&app, &s).await;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0]["outcome"].as_str(), got[0]["reason"].as_str()), (Some("handed_off"), Some("privacy")));
    }
    // Out of hours, asking for an operator opens the ticket for the privacy team too.
    let app = app(BOXING_DAY_NIGHT);
    let s = app.start(json!({"session_id": session_id(), "lang": "en", "category": "privacy_activity"})).await;
    app.say(&s, "I want a copy of all my data").await;
    let r = app.post(&s, "operator").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_ne!(r.body["state"], "auto_closed", "{}", r.body);
    app.engine.run_pending_steps(10).await.unwrap();
    let t = app.ticket(&s).await;
    assert_eq!((t.team.as_str(), t.state), ("privacy", TicketState::New));
}
