//! The chat bot in the reports: containment (the B share of all tickets, and the bot's own share
//! of its conversations) and why the conversations it did not solve left it, in JSON, CSV, the
//! CLI and the dashboard, equal to a recomputation from the events.

use super::{get, overview, recomputed};
use crate::support::app::TestApp;
use axum::http::StatusCode;
use serde_json::Value;
use sportello::domain::Requester;
use sportello::engine::NewChatSession;
use sportello::http::operator_auth::Role;
use sportello::reports::{Dim, verify};

/// A chat session: its reference and token.
async fn start(d: &TestApp, session: &str, lang: &str, category: Option<&str>) -> (String, String) {
    let started = d
        .engine
        .chat_start(NewChatSession {
            session_id: session.into(),
            lang: Some(lang.into()),
            category: category.map(str::to_string),
            requester: Requester::default(),
        })
        .await
        .unwrap();
    (started.ticket.reference.to_string(), started.token)
}

/// Five conversations, each ending differently; their references by how they ended.
async fn conversations(d: &TestApp) -> [String; 5] {
    let e = &d.engine;
    // Solved by the bot.
    let (contained, token) = start(d, "session-bot-000001", "it", None).await;
    e.chat_user_message(&contained, &token, "Come pago un avviso pagoPA?").await.unwrap();
    e.chat_resolved(&contained, &token).await.unwrap();
    // The bot found nothing, the user asked for a person.
    let (no_article, token) = start(d, "session-bot-000002", "it", None).await;
    e.chat_user_message(&no_article, &token, "qual è la capitale della Francia").await.unwrap();
    e.chat_request_operator(&no_article, &token).await.unwrap();
    // The bot asked back, none of its suggestions fitted.
    let (ask_back, token) = start(d, "session-bot-000003", "it", None).await;
    e.chat_user_message(&ask_back, &token, "pagamento").await.unwrap();
    e.chat_request_operator(&ask_back, &token).await.unwrap();
    // Straight to a person, nothing asked.
    let (operator, token) = start(d, "session-bot-000004", "it", None).await;
    e.chat_request_operator(&operator, &token).await.unwrap();
    // A privacy request the bot may not close.
    let (privacy, token) = start(d, "session-bot-000005", "it", Some("privacy_issue")).await;
    e.chat_user_message(&privacy, &token, "qualcuno ha usato i miei dati personali nell'app IO").await.unwrap();
    e.chat_resolved(&privacy, &token).await.unwrap();
    e.run_pending_steps(20).await.unwrap();
    [contained, no_article, ask_back, operator, privacy]
}

#[tokio::test]
async fn containment_and_handoff_reasons_equal_a_recomputation() {
    let d = TestApp::new();
    let refs = conversations(&d).await;

    let report = overview(&d, &[Dim::Channel, Dim::Type]).await;
    let differences = verify::differences(&recomputed(&d).await, &verify::tally_overview(&report));
    assert!(differences.is_empty(), "{differences:#?}");
    let bot = &report.total.bot;
    assert_eq!((bot.conversations, bot.contained, bot.handed_off, bot.closed_out_of_hours), (5, 1, 4, 0), "{bot:#?}");
    assert_eq!(bot.containment_rate, Some(0.2));
    assert!(bot.asked_back >= 1, "the ask-back conversation: {bot:#?}");
    let reasons: Vec<(&str, i64)> =
        bot.handoff_reasons.iter().filter(|(_, n)| **n > 0).map(|(r, n)| (r.as_str(), *n)).collect();
    assert_eq!(
        reasons,
        [("ask_back_unresolved", 1), ("asked_for_operator", 1), ("no_fitting_article", 1), ("privacy", 1)],
        "{bot:#?}"
    );
    // The B share of every ticket opened: the bot's one of five.
    assert_eq!(report.total.tickets.containment_rate, Some(0.2));
    let b = report.rows.iter().find(|r| r.group[&Dim::Type] == "B").expect("a row of type B");
    assert_eq!((b.figures.bot.contained, b.figures.bot.handed_off), (1, 0));

    // JSON over HTTP, and the tickets behind a reason.
    let path = "/operator/reports/overview?period=day&date=2026-12-02&by=type";
    let (status, _, body) = get(&d, Role::Supervisor, path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["total"]["bot"]["handoff_reasons"]["no_fitting_article"], 1, "{body}");
    assert_eq!(v["total"]["bot"]["containment_rate"], 0.2, "{body}");
    for (figure, reference) in
        [("handoff:no_fitting_article", &refs[1]), ("handoff:privacy", &refs[4]), ("bot_contained", &refs[0])]
    {
        let path = format!("/operator/reports/tickets?figure={figure}&period=day&date=2026-12-02");
        let (status, _, body) = get(&d, Role::Supervisor, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let listed: Vec<&str> =
            v["tickets"].as_array().unwrap().iter().map(|t| t["reference"].as_str().unwrap()).collect();
        assert_eq!(listed, [reference.as_str()], "{figure}: {body}");
    }
    let (status, _, body) = get(&d, Role::Supervisor, "/operator/reports/tickets?figure=handoff:boredom", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("handoff:<reason>"), "the known figures are listed: {body}");

    // CSV: a column per reason, in the total row.
    let (status, _, csv) = get(&d, Role::Supervisor, &format!("{path}&format=csv&dialect=rfc4180"), None).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let total: Vec<&str> = lines.last().unwrap().split(',').collect();
    let column = |name: &str| total[header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{name}: {csv}"))];
    assert_eq!(column("bot_conversations"), "5");
    assert_eq!(column("bot_contained"), "1");
    assert_eq!(column("bot_containment_rate"), "0.2");
    assert_eq!(column("handoff_ask_back_unresolved"), "1");
    assert_eq!(column("handoff_privacy"), "1");
    assert_eq!(column("handoff_other"), "0");

    // The dashboard: the bot's tiles and a chart of the reasons, each bar opening its tickets.
    let (status, _, html) =
        get(&d, Role::Supervisor, "/operator/reports/dashboard?period=day&date=2026-12-02", None).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Chat risolte dal bot<b><a href="), "{html}");
    assert!(html.contains("1 su 5 (20,0%)"), "{html}");
    assert!(html.contains("Perché le chat hanno lasciato il bot: 4 su 5 conversazioni"), "{html}");
    assert!(html.contains("aria-label=\"Nessun articolo adatto: 1 chat\""), "{html}");
    assert!(html.contains("figure=handoff:privacy&amp;from=2026-12-02"), "{html}");
}

#[test]
fn the_cli_prints_the_bots_figures() {
    let d = TestApp::new();
    tokio::runtime::Runtime::new().unwrap().block_on(conversations(&d));
    let (out, code) = super::run_cli(&d, &["--period", "day", "--date", "2026-12-02"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.lines().next().unwrap().contains("Overview"), "{out}");
    assert!(
        out.contains(
            "Bot: 5 conversations, 1 solved (20.0%), 4 handed off, 0 closed out of hours; why they left: \
             asked_for_operator 1, no_fitting_article 1, ask_back_unresolved 1, privacy 1"
        ),
        "{out}"
    );
}
