//! Satisfaction surveys: sent once on resolution on the requester's channel (a signed,
//! single-use page for e-mail, a message in the chat, the API's status, the IVR's digit),
//! answered once, counted in the reports, the comment erased with the requester.

use crate::support::app::{TestApp, operator};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sportello::adapters::embedded::OutboxMailer;
use sportello::domain::{ChannelKind, EventKind, TicketType};
use sportello::engine::reply_token::ReplyTokens;
use sportello::engine::survey::SurveyAnswer;
use sportello::engine::{Engine, EngineError};
use sportello::http::AppState;
use sportello::ports::RequesterKey;
use sportello::reports::{Period, Scope};
use std::sync::Arc;
use tower::ServiceExt;

fn with_key(d: &TestApp) -> Engine {
    let mut engine = d.engine.clone();
    engine.reply_tokens = Some(Arc::new(ReplyTokens::new([7u8; 32], None).unwrap()));
    engine
}

async fn resolve(engine: &Engine, d: &TestApp, channel: &str, key: &str) -> sportello::domain::Ticket {
    let reference = d.open(channel, "basic_info", key).await;
    let id = engine.ticket_by_reference(&reference).await.unwrap().id;
    let op = operator("op-1");
    engine.take_in_charge(&id, &op).await.unwrap();
    engine.classify(&id, &op, TicketType::Q).await.unwrap();
    engine.answer_and_resolve(&id, &op, "Ecco come ottenere il rimborso.").await.unwrap()
}

async fn page(engine: &Engine, method: &str, path: &str, form: Option<&str>) -> (StatusCode, String) {
    let app = sportello::http::survey::router().with_state(AppState { engine: engine.clone() });
    let mut req = Request::builder().method(method).uri(path);
    if form.is_some() {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    let req = req.body(form.map_or_else(Body::empty, |f| Body::from(f.to_string()))).unwrap();
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn an_answer_mail_links_to_a_signed_single_use_survey_page() {
    let d = TestApp::new();
    let engine = with_key(&d);
    let ticket = resolve(&engine, &d, "email", "mail-1").await;
    let survey = ticket.survey.as_ref().expect("the e-mail channel sends a survey");
    assert_eq!((survey.channel.as_str(), survey.sent_at.is_some()), ("email", true));

    // The answer mail ends with the question and the link.
    let mail = OutboxMailer::new(d.db.clone()).sent(10).await.unwrap();
    let raw = String::from_utf8(mail.last().unwrap().raw.clone()).unwrap();
    let link = engine.survey_link(&ticket).unwrap();
    assert!(link.starts_with("https://assistenza.pagopa.it/survey/SP-"), "{link}");
    assert!(raw.contains("Quanto è soddisfatto") || raw.contains("Quanto =C3=A8"), "{raw}");
    let token = link.rsplit('/').next().unwrap();
    assert!(raw.contains(token), "the mail carries the link:\n{raw}");

    let (status, html) = page(&engine, "GET", &format!("/survey/{token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&ticket.reference.to_string()) && html.contains("name=\"rating\" value=\"5\""), "{html}");
    assert!(!html.contains("mario"), "no personal data on the page");

    // A token for another reference, or tampered with, opens nothing.
    let mut forged = token.to_string();
    forged.replace_range(forged.len() - 1.., if forged.ends_with('0') { "1" } else { "0" });
    let (status, _) = page(&engine, "GET", &format!("/survey/{forged}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = page(&engine, "GET", "/survey/not-a-token", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, html) = page(&engine, "POST", &format!("/survey/{token}"), Some("rating=9")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let (status, html) =
        page(&engine, "POST", &format!("/survey/{token}"), Some("rating=4&comment=Gentili+e+rapidi")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Grazie"), "{html}");
    let (status, html) = page(&engine, "POST", &format!("/survey/{token}"), Some("rating=1")).await;
    assert_eq!(status, StatusCode::CONFLICT, "single use: {html}");
    let (status, _) = page(&engine, "GET", &format!("/survey/{token}"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let saved = engine.ticket(&ticket.id).await.unwrap();
    let s = saved.survey.unwrap();
    assert_eq!((s.rating, s.comment.as_deref(), s.commented), (Some(4), Some("Gentili e rapidi"), true));
    // The event says a survey was answered, never what the comment says.
    let events = engine.ports.events.list(&ticket.id).await.unwrap();
    let answered = events.iter().find(|e| e.detail["step"] == "survey_answered").expect("an event");
    assert_eq!(answered.kind, EventKind::Note);
    assert!(!answered.detail.to_string().contains("Gentili"), "{}", answered.detail);
}

#[tokio::test]
async fn ratings_are_checked_and_taken_once_on_the_tickets_own_channel() {
    let d = TestApp::new();
    let engine = with_key(&d);
    let api = resolve(&engine, &d, "api", "api-1").await;
    let rate = |rating: i64, comment: Option<&str>| SurveyAnswer { rating, comment: comment.map(str::to_string) };

    for (answer, field) in [
        (rate(0, None), "/rating"),
        (rate(6, None), "/rating"),
        (rate(3, Some(&"x".repeat(1001))), "/comment"),
        (rate(3, Some("bell\u{7}")), "/comment"),
    ] {
        match engine.answer_survey(&api, ChannelKind::Api, &answer).await {
            Err(EngineError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{answer:?}: {other:?}"),
        }
    }
    let wrong = engine.answer_survey(&api, ChannelKind::Email, &rate(5, None)).await.unwrap_err();
    assert!(wrong.to_string().contains("its survey is answered there"), "{wrong}");

    let saved = engine.answer_survey(&api, ChannelKind::Api, &rate(5, None)).await.unwrap();
    assert_eq!(saved.survey.as_ref().unwrap().rating, Some(5));
    let again = engine.answer_survey(&saved, ChannelKind::Api, &rate(1, None)).await.unwrap_err();
    assert!(again.to_string().contains("answered already"), "{again}");

    // A ticket not resolved yet has no survey.
    let open = d.open("api", "basic_info", "api-open").await;
    let open = engine.ticket_by_reference(&open).await.unwrap();
    let none = engine.answer_survey(&open, ChannelKind::Api, &rate(4, None)).await.unwrap_err();
    assert!(none.to_string().contains("has no survey"), "{none}");
}

#[tokio::test]
async fn surveys_count_in_the_reports_and_the_comment_goes_with_the_requester() {
    let d = TestApp::new();
    let engine = with_key(&d);
    let mut rated = Vec::new();
    for (i, rating) in [5, 4, 2].into_iter().enumerate() {
        let t = resolve(&engine, &d, "email", &format!("m-{i}")).await;
        let answer = SurveyAnswer { rating, comment: (rating == 2).then(|| "Troppo lenti".to_string()) };
        rated.push(engine.answer_survey(&t, ChannelKind::Email, &answer).await.unwrap());
    }
    resolve(&engine, &d, "email", "unanswered").await;

    let period = Period::parse(Some("day"), None, None, None, engine.report_today()).unwrap();
    let report = engine.report_overview(period, &[], &Scope::all()).await.unwrap();
    let csat = &report.total.csat;
    assert_eq!((csat.surveys_sent, csat.responses, csat.comments), (4, 3, 1), "{csat:?}");
    assert_eq!(csat.ratings, [0, 1, 0, 1, 1]);
    assert_eq!(csat.response_rate, Some(0.75));
    assert!((csat.mean_rating.unwrap() - 11.0 / 3.0).abs() < 1e-9);
    assert!((csat.satisfied_share.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert!(!serde_json::to_string(&report).unwrap().contains("lenti"), "no comment in a report");

    // Erasing the requester takes the comment; the rating still counts.
    let mut ticket = rated[2].clone();
    let key = RequesterKey::Email("mario.rossi@example.it".into());
    sportello::ports::ticket_store::erase_ticket(&mut ticket, &key, &operator("priv-1"), jiff::Timestamp::now());
    let s = ticket.survey.unwrap();
    assert_eq!((s.comment, s.rating, s.commented), (None, Some(2), true));
}

fn rules_with(edit: impl Fn(&str) -> String) -> Result<sportello::rules::Rules, String> {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    let text = std::fs::read_to_string(dir.join("rulebook.yaml")).unwrap();
    sportello::rules::Rules::from_text("rulebook.yaml", dir, &edit(&text))
        .map_err(|errors| errors.iter().map(|d| format!("{d}\n")).collect())
}

#[test]
fn the_rulebook_says_per_channel_whether_a_survey_is_sent() {
    let rules = rules_with(|t| t.to_string()).unwrap();
    for channel in ["voice", "chat", "email", "api"] {
        let survey = rules.channels.get(channel).unwrap().survey.as_ref().expect(channel);
        assert!(survey.question["it"].contains("soddisfatto") && survey.question.contains_key("en"), "{channel}");
    }
    let api_block = "    survey:\n      question:\n        it: Quanto è soddisfatto della risposta? Da 1 a 5.\n        en: How satisfied are you with the answer? 1 to 5.\n";
    let without = rules_with(|t| {
        assert!(t.contains(api_block), "the API channel's survey block moved: update this test");
        t.replace(api_block, "")
    })
    .unwrap();
    assert!(without.channels.get("api").unwrap().survey.is_none());

    let no_page = rules_with(|t| t.replace("      page: https://assistenza.pagopa.it/survey\n", "")).err().unwrap();
    assert!(no_page.contains("/channels/email/survey") || no_page.contains("survey"), "{no_page}");
    assert!(no_page.contains("needs `page`"), "{no_page}");
    let no_english =
        rules_with(|t| t.replace("        en: How satisfied are you with our answer? Rate it from 1 to 5.\n", ""))
            .err()
            .unwrap();
    assert!(no_english.contains("the survey question has no `en` text"), "{no_english}");
}

/// A request through every endpoint with `auth` as the authorization header and `body` as JSON
/// text (sent as is, so it may be broken).
async fn send(d: &TestApp, path: &str, auth: Option<&str>, body: &str) -> crate::support::http::Reply {
    let mut req = Request::builder().method("POST").uri(path).header("content-type", "application/json");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    d.send(req.body(Body::from(body.to_string())).unwrap()).await
}

#[tokio::test]
async fn a_chat_survey_is_answered_over_http_once_with_the_session_token() {
    let d = TestApp::new();
    let started = send(&d, "/chat/sessions", None, r#"{"session_id": "session-survey-0001", "lang": "it"}"#).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let reference = started.body["reference"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {}", started.body["token"].as_str().unwrap());
    let path = format!("/chat/sessions/{reference}/survey");

    // Before an operator resolves the chat there is nothing to rate.
    let early = send(&d, &path, Some(&bearer), r#"{"rating": 5}"#).await;
    early.assert_problem(409, None, "has no survey");

    let handoff = send(&d, &format!("/chat/sessions/{reference}/operator"), Some(&bearer), "").await;
    assert_eq!(handoff.status, StatusCode::OK, "{}", handoff.text);
    d.engine.run_pending_steps(10).await.unwrap();
    d.work(&reference, "Q", "Ecco come pagare l'avviso.").await;
    let events = d.engine.ports.events.list(&d.engine.ticket_by_reference(&reference).await.unwrap().id).await;
    assert!(events.unwrap().iter().any(|e| e.detail["survey"] == true), "the question is asked in the session");

    // Bad input, each refused with where it is wrong; nothing is recorded.
    for (auth, body, status, field, says) in [
        (None, r#"{"rating": 5}"#, 401, Some("Authorization"), "Bearer"),
        (Some("Bearer not-the-token"), r#"{"rating": 5}"#, 404, None, ""),
        (Some(bearer.as_str()), r#"{"rating": 0}"#, 422, Some("/rating"), "1 to 5"),
        (Some(bearer.as_str()), r#"{"rating": 6}"#, 422, Some("/rating"), "1 to 5"),
        (Some(bearer.as_str()), r#"{"rating": "cinque"}"#, 422, Some("/rating"), ""),
        (Some(bearer.as_str()), r#"{"comment": "ottimo"}"#, 422, None, "missing field `rating`"),
        (Some(bearer.as_str()), r#"{"rating": 4, "mood": "ok"}"#, 422, None, "`mood`"),
        (Some(bearer.as_str()), r#"{"rating": 4"#, 400, None, ""),
    ] {
        let r = send(&d, &path, auth, body).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text);
        assert_eq!(r.content_type(), "application/problem+json", "{body}: {}", r.text);
        if let Some(field) = field {
            assert_eq!(r.body["field"].as_str(), Some(field), "{body}: {}", r.text);
        }
        assert!(r.body["detail"].as_str().unwrap_or_default().contains(says), "{body}: {}", r.text);
    }
    let long = format!(r#"{{"rating": 4, "comment": "{}"}}"#, "x".repeat(1001));
    send(&d, &path, Some(&bearer), &long).await.assert_problem(422, Some("/comment"), "at most 1000 characters");
    let unknown = send(&d, "/chat/sessions/SP-AAAAAAAA/survey", Some(&bearer), r#"{"rating": 4}"#).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);

    let answered = send(&d, &path, Some(&bearer), r#"{"rating": 4, "comment": "Gentili"}"#).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text);
    assert_eq!(answered.body["reference"], reference.as_str());
    assert_eq!(answered.body["rating"], 4);
    assert!(!answered.text.contains("Gentili"), "the comment is not echoed: {}", answered.text);
    send(&d, &path, Some(&bearer), r#"{"rating": 1}"#).await.assert_problem(409, None, "answered already");

    let saved = d.engine.ticket_by_reference(&reference).await.unwrap().survey.unwrap();
    assert_eq!((saved.rating, saved.comment.as_deref()), (Some(4), Some("Gentili")));
    let period = Period::parse(Some("day"), None, None, None, d.engine.report_today()).unwrap();
    let csat = d.engine.report_overview(period, &[], &Scope::all()).await.unwrap().total.csat;
    assert_eq!((csat.surveys_sent, csat.responses, csat.ratings), (1, 1, [0, 0, 0, 1, 0]), "{csat:?}");
}

#[tokio::test]
async fn a_voice_survey_digit_is_taken_over_http_from_the_telephony_platform_only() {
    let d = TestApp::new();
    let telephony = format!("Bearer {}", d.client_key("voice"));
    let call = send(&d, "/voice/calls", Some(&telephony), r#"{"call_id": "c-survey-1", "caller": "+39 347 1234567"}"#);
    let call = call.await;
    assert_eq!(call.status, StatusCode::OK, "{}", call.text);
    let reference = call.body["reference"].as_str().unwrap().to_string();
    let digit = |d: &str| format!(r#"{{"reference": "{reference}", "digit": "{d}"}}"#);

    send(&d, "/voice/survey", Some(&telephony), &digit("5")).await.assert_problem(409, None, "has no survey");
    d.work(&reference, "Q", "Richiamato: spiegato come pagare.").await;
    assert!(d.engine.ticket_by_reference(&reference).await.unwrap().survey.is_some_and(|s| s.sent_at.is_some()));

    // Another client's key, an operator's token, none: refused.
    let app_key = format!("Bearer {}", d.client_key("io"));
    let r = send(&d, "/voice/survey", Some(&app_key), &digit("5")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = send(&d, "/voice/survey", None, &digit("5")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let operator = format!("Bearer {}", d.tokens[&sportello::http::operator_auth::Role::Supervisor]);
    let r = send(&d, "/voice/survey", Some(&operator), &digit("5")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);

    for (body, field, says) in [
        (digit("0"), Some("/digit"), "from 1 to 5"),
        (digit("9"), Some("/digit"), "from 1 to 5"),
        (digit("#"), Some("/digit"), "`#`"),
        (digit(""), Some("/digit"), "from 1 to 5"),
        (r#"{"reference": "yesterday's call", "digit": "4"}"#.to_string(), Some("/reference"), "SP-"),
        // A body that is not the event's shape: the problem names what is missing or unknown.
        (format!(r#"{{"reference": "{reference}"}}"#), None, "missing field `digit`"),
        (format!(r#"{{"reference": "{reference}", "digit": 4}}"#), Some("/digit"), "string"),
        (format!(r#"{{"reference": "{reference}", "digit": "4", "caller": "x"}}"#), None, "`caller`"),
    ] {
        let r = send(&d, "/voice/survey", Some(&telephony), &body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        assert_eq!(r.content_type(), "application/problem+json", "{body}");
        if let Some(field) = field {
            assert_eq!(r.body["field"].as_str(), Some(field), "{body}: {}", r.text);
        }
        assert!(r.body["detail"].as_str().unwrap_or_default().contains(says), "{body}: {}", r.text);
    }
    let r = send(&d, "/voice/survey", Some(&telephony), r#"{"reference": "SP-AAAAAAAA", "digit": "4"}"#).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // A ticket of another channel is rated on its own channel.
    let mail = d.open("email", "basic_info", "mail-survey").await;
    d.work(&mail, "Q", "Fatto.").await;
    let other = format!(r#"{{"reference": "{mail}", "digit": "4"}}"#);
    send(&d, "/voice/survey", Some(&telephony), &other).await.assert_problem(409, None, "answered there");

    let r = send(&d, "/voice/survey", Some(&telephony), &digit(" 2 ")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["reference"].as_str(), r.body["rating"].as_u64()), (Some(reference.as_str()), Some(2)));
    send(&d, "/voice/survey", Some(&telephony), &digit("5")).await.assert_problem(409, None, "answered already");
    let saved = d.engine.ticket_by_reference(&reference).await.unwrap().survey.unwrap();
    assert_eq!((saved.rating, saved.comment), (Some(2), None));
}
