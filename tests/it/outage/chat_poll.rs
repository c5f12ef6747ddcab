//! A chat app polls every few seconds: by cursor, a poll reads only what is new, numbers messages
//! as the whole conversation does, keeps the handoff, and opens only with the session's token.

use crate::support::app::TestApp;
use crate::support::backend::Backend;
use axum::http::{Method, StatusCode};
use sportello::domain::Requester;
use sportello::engine::{EngineError, NewChatSession};

async fn polls_by_cursor_read_only_what_is_new(b: &dyn Backend) {
    // A Wednesday morning: operators are in, so the handoff goes to them.
    let engine = TestApp::builder().at("2026-12-02T10:00:00+01:00").engine_on(b.store());
    let started = engine
        .chat_start(NewChatSession {
            session_id: uuid::Uuid::new_v4().to_string(),
            lang: Some("it".into()),
            requester: Requester::default(),
            ..NewChatSession::default()
        })
        .await
        .unwrap();
    let (reference, token) = (started.ticket.reference.to_string(), started.token.clone());
    engine.chat_user_message(&reference, &token, "come pago un avviso pagopa?").await.unwrap();
    let first = engine.chat_messages(&reference, &token, 0).await.unwrap();
    assert_eq!(first.next, 3, "the welcome, the question, the answer");

    let idle = engine.chat_poll(&reference, &token, &first.cursor).await.unwrap();
    assert!(idle.messages.is_empty());
    assert_eq!((idle.next, idle.handed_off), (3, false));
    // Polled again from the same cursor: the same answer.
    assert_eq!(engine.chat_poll(&reference, &token, &first.cursor).await.unwrap().cursor, idle.cursor);

    engine.chat_user_message(&reference, &token, "e se ho già pagato due volte?").await.unwrap();
    let news = engine.chat_poll(&reference, &token, &idle.cursor).await.unwrap();
    let whole = engine.chat_messages(&reference, &token, 3).await.unwrap();
    assert_eq!(news.messages, whole.messages, "numbered as the whole conversation numbers them");
    assert_eq!(news.next, 5);

    engine.chat_request_operator(&reference, &token).await.unwrap();
    let handed = engine.chat_poll(&reference, &token, &news.cursor).await.unwrap();
    assert!(handed.handed_off, "the handoff is seen by cursor");
    assert!(!handed.messages.is_empty(), "the bot says an operator will answer");
    let later = engine.chat_poll(&reference, &token, &handed.cursor).await.unwrap();
    assert!(later.handed_off && later.messages.is_empty(), "and kept by the next cursor");

    // A second token for the same session (a retried start) opens it too; others do not.
    let again = engine
        .chat_start(NewChatSession { session_id: "not-the-same-session-id-0001".into(), ..NewChatSession::default() })
        .await
        .unwrap();
    for wrong in ["", "f00d", again.token.as_str()] {
        let refused = engine.chat_poll(&reference, wrong, &later.cursor).await;
        assert!(matches!(refused, Err(EngineError::NotFound(_))), "{wrong}: {refused:?}");
    }
    for bad in ["", "x", "3.2.1", "3.0.", "3.0.a/b", "-1.0.5"] {
        let refused = engine.chat_poll(&reference, &token, bad).await;
        assert!(matches!(refused, Err(EngineError::Invalid { .. })), "{bad}: {refused:?}");
    }
    // Nobody else's chat by cursor either.
    let other = again.ticket.reference.to_string();
    assert!(matches!(engine.chat_poll(&other, &token, &later.cursor).await, Err(EngineError::NotFound(_))));
}

on_every_store!(polls_by_cursor_read_only_what_is_new);

#[tokio::test]
async fn the_poll_answers_with_a_cursor_over_http() {
    let app = TestApp::new();
    let (status, started) = app
        .request(
            Method::POST,
            "/chat/sessions",
            None,
            Some(serde_json::json!({"session_id": uuid::Uuid::new_v4().to_string()})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let (reference, token) = (started["reference"].as_str().unwrap(), started["token"].as_str().unwrap());
    let path = format!("/chat/sessions/{reference}/messages");
    let (status, first) = app.request(Method::GET, &format!("{path}?after=1"), Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let cursor = first["cursor"].as_str().expect("a cursor").to_string();
    let (status, idle) = app.request(Method::GET, &format!("{path}?cursor={cursor}"), Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{idle}");
    assert_eq!(idle["messages"], serde_json::json!([]));
    assert_eq!(idle["next"], first["next"]);
    let (status, both) = app.request(Method::GET, &format!("{path}?cursor={cursor}&after=1"), Some(token), None).await;
    assert_eq!((status, both["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor")), "{both}");
    let (status, bad) = app.request(Method::GET, &format!("{path}?cursor=nope"), Some(token), None).await;
    assert_eq!((status, bad["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor")), "{bad}");
}
