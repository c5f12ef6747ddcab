//! Reports: the aggregates kept as events are folded equal a recomputation from the tickets and
//! their events; the HTTP reports (JSON and CSV) show them to supervisors only, without personal
//! data; bad parameters are refused with the parameter named; the CLI prints them.

mod bot;
mod store;
mod surveys;

use crate::support::app::{TestApp, ok, operator};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sportello::adapters::embedded::{SqliteReports, ports};
use sportello::domain::{Requester, TicketReference};
use sportello::engine::{EscalationSettings, NewChatSession, NewContact};
use sportello::http::operator_auth::Role;
use sportello::reports::report::Overview;
use sportello::reports::{Dim, Period, Projector, Scope, verify};
use std::sync::Arc;
use tower::ServiceExt;

const MAIL: &str = "mario.rossi@example.it";

fn settings() -> EscalationSettings {
    EscalationSettings {
        mail_from: "sportello@pagopa.example".into(),
        reply_email: Some("notices@pagopa.example".into()),
        ..EscalationSettings::default()
    }
}

async fn escalate(d: &TestApp, reference: &str, ticket_type: &str, target: &str) -> String {
    let base = format!("/operator/tickets/{reference}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": ticket_type})))
        .await);
    let id = d.engine.ticket_by_reference(reference).await.unwrap().id;
    let escalated =
        d.engine.escalate(&id, &operator("op-1"), target, "Verificare il doppio addebito", &settings()).await;
    escalated.unwrap().ticket.escalations.last().unwrap().escalation_id.clone()
}

async fn bot_solves(d: &TestApp, session: &str) {
    let requester = Requester { email: Some(MAIL.into()), ..Requester::default() };
    let started = d
        .engine
        .chat_start(NewChatSession { session_id: session.into(), lang: Some("it".into()), category: None, requester })
        .await
        .unwrap();
    let reference = started.ticket.reference.to_string();
    d.engine.chat_user_message(&reference, &started.token, "Come pago un avviso pagoPA?").await.unwrap();
    d.engine.chat_resolved(&reference, &started.token).await.unwrap();
}

/// Two days of work on every written channel, the chat's bot, an escalation and its notice, a
/// reminder, a privacy request and a contact out of hours.
async fn history(d: &TestApp) -> Vec<String> {
    let mut refs = Vec::new();
    for (i, channel) in ["email", "api", "email"].iter().enumerate() {
        let r = d.open(channel, "basic_info", &format!("q-{i}")).await;
        d.work(&r, "Q", "Ecco la ricevuta del rimborso.").await;
        refs.push(r);
    }
    refs.push(d.open("email", "basic_info", "left-open").await);
    let escalated = d.open("email", "specialist_support", "spec-1").await;
    let escalation = escalate(d, &escalated, "A", "pagopa_specialists").await;
    refs.push(escalated.clone());
    bot_solves(d, "session-0000000001").await;
    bot_solves(d, "session-0000000002").await;
    refs.push(d.open("email", "privacy_issue", "priv-1").await);

    // The next day: the notice comes back, the requester chases an answered ticket, one more
    // contact arrives at night.
    d.clock.set("2026-12-03T11:30:00+01:00".parse().unwrap());
    let reference = TicketReference::find_in(&escalated).unwrap();
    d.engine
        .receive_resolution_notice("pagopa_specialists", &reference, &escalation, "Rimborso disposto.", None)
        .await
        .unwrap();
    let contact = NewContact {
        channel: "email".into(),
        idempotency_key: "sollecito-1".into(),
        category: Some("reminder".into()),
        message: Some("Vi ho già scritto.".into()),
        related: Some(TicketReference::find_in(&refs[3]).unwrap()),
        ..NewContact::default()
    };
    let created = d.engine.open(contact).await.unwrap();
    d.engine.triage(&created.ticket.id).await.unwrap();
    let chase = created.ticket.reference.to_string();
    let base = format!("/operator/tickets/{chase}");
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/classify"), Some(json!({"ticket_type": "Q"}))).await);
    ok(d.call(Role::Operator, Method::POST, &format!("{base}/reminder-lookup"), None).await);
    d.clock.set("2026-12-03T23:10:00+01:00".parse().unwrap());
    refs.push(d.open("email", "basic_info", "night").await);
    refs
}

async fn overview(d: &TestApp, by: &[Dim]) -> Overview {
    let period = Period::parse(Some("month"), Some("2026-12-02"), None, None, d.engine.report_today()).unwrap();
    d.engine.report_overview(period, by, &Scope::all()).await.unwrap()
}

async fn recomputed(d: &TestApp) -> verify::Tally {
    let reports = SqliteReports::new(d.db.clone(), Arc::new(Projector::new(&d.engine.rules)));
    let history = reports.history().await.unwrap();
    let (from, to) = (jiff::civil::date(2026, 12, 1), jiff::civil::date(2026, 12, 31));
    verify::recompute(&d.engine.rules, &history, from, to)
}

async fn get(d: &TestApp, role: Role, path: &str, accept: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::builder().uri(path).header("authorization", format!("Bearer {}", d.tokens[&role]));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = d.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ct, String::from_utf8(bytes.to_vec()).unwrap())
}

/// A page's visible text (tags dropped), to look for words left in another language.
fn words(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The dashboard as a supervisor's tool asking for `language` sees it.
async fn get_in(d: &TestApp, path: &str, language: &str) -> String {
    let req = Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {}", d.tokens[&Role::Supervisor]))
        .header("accept-language", language);
    let resp = d.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn every_figure_equals_a_recomputation_from_the_events() {
    let d = TestApp::new();
    history(&d).await;
    let report = overview(&d, &[Dim::Channel, Dim::Type]).await;
    let expected = recomputed(&d).await;
    let differences = verify::differences(&expected, &verify::tally_overview(&report));
    assert!(differences.is_empty(), "{differences:#?}");

    let total = &report.total;
    assert_eq!(total.contacts.received, 10, "{total:#?}");
    assert_eq!(total.contacts.out_of_hours, 1, "the contact at 23:10");
    assert_eq!(total.tickets.auto_resolved, 2, "the bot's two");
    assert_eq!(total.tickets.containment_rate, Some(0.2));
    assert_eq!(total.tickets.resolved, expected.values().map(|f| f.get("resolved").copied().unwrap_or(0)).sum::<i64>());
    assert!(total.tickets.resolved >= 3, "{total:#?}");
    assert_eq!(total.escalations.sent, 1);
    assert_eq!(total.escalations.notices, 1);
    assert_eq!(total.reminders.received, 1);
    assert_eq!(total.tickets.first_contact_resolved, 3, "three answered at once; the chased one is not");
    let bot_row = report.rows.iter().find(|r| r.group[&Dim::Type] == "B").expect("a row of type B");
    assert_eq!(bot_row.figures.tickets.auto_resolved, 2);
    assert!(report.rows.iter().all(|r| r.group.contains_key(&Dim::Channel) && r.group.contains_key(&Dim::Type)));

    // Asked again, nothing changes: every event was folded once.
    let again = overview(&d, &[Dim::Channel, Dim::Type]).await;
    assert_eq!(again, report);
}

#[tokio::test]
async fn a_report_folds_what_happened_since_the_last_one() {
    let d = TestApp::new();
    let r = d.open("email", "basic_info", "q-1").await;
    let before = overview(&d, &[]).await;
    assert_eq!((before.total.contacts.received, before.total.tickets.resolved), (1, 0));
    d.work(&r, "Q", "Fatto.").await;
    let after = overview(&d, &[]).await;
    assert_eq!((after.total.contacts.received, after.total.tickets.resolved), (1, 1));
    assert_eq!(after.total.first_response.calendar.count, 1);

    // Reclassified later, the ticket moves its counts: it is not counted twice.
    let by_type = overview(&d, &[Dim::Type]).await;
    assert_eq!(by_type.rows.len(), 1);
    assert_eq!(by_type.rows[0].group[&Dim::Type], "Q");
}

#[tokio::test]
async fn supervisors_get_json_and_csv_operators_are_refused() {
    let d = TestApp::new();
    history(&d).await;
    let path = "/operator/reports/overview?period=month&date=2026-12-02&by=channel,type";
    let (status, ct, body) = get(&d, Role::Supervisor, path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(ct.starts_with("application/json"), "{ct}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["total"]["contacts"]["received"], 10);
    assert_eq!(v["by"], json!(["channel", "type"]));
    assert!(!body.contains("mario") && !body.contains("rimborso"), "no personal data: {body}");

    // CSV for Italian Excel: a BOM, `;` between fields, decimal comma, CRLF.
    let (status, ct, csv) = get(&d, Role::Admin, &format!("{path}&format=csv"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(csv.starts_with('\u{feff}'), "BOM");
    let header = csv.trim_start_matches('\u{feff}').split("\r\n").next().unwrap();
    assert!(header.starts_with("from;to;channel;type;contacts_received;"), "{header}");
    assert!(csv.contains(";0,2;") || csv.contains(";0,2\r\n"), "containment as 0,2 in the total row:\n{csv}");
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    let columns = header.split(';').count();
    assert!(lines.iter().all(|l| l.split(';').count() == columns), "every row has {columns} fields:\n{csv}");

    // Asked by Accept, and in the plain dialect.
    let (_, ct, plain) = get(&d, Role::Supervisor, &format!("{path}&dialect=rfc4180"), Some("text/csv")).await;
    assert!(ct.starts_with("text/csv"));
    assert!(plain.starts_with("from,to,channel,type,"), "{plain}");

    let (status, _, body) = get(&d, Role::Operator, path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn a_privacy_operator_sees_the_privacy_teams_figures_only() {
    let d = TestApp::new();
    history(&d).await;
    let (status, _, body) =
        get(&d, Role::PrivacyOperator, "/operator/reports/overview?by=team&date=2026-12-02", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let teams: Vec<&str> = v["rows"].as_array().unwrap().iter().map(|r| r["group"]["team"].as_str().unwrap()).collect();
    assert_eq!(teams, ["privacy"], "{body}");
    assert_eq!(v["total"]["contacts"]["received"], 1);
    let (status, _, body) = get(&d, Role::PrivacyOperator, "/operator/reports/incidents", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Its GDPR clocks: the privacy request's, with time left.
    let (status, _, body) = get(&d, Role::PrivacyOperator, "/operator/reports/gdpr", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.contains("mario"), "{body}");
}

/// Fields of one CSV line as Excel reads it: `sep` between fields, double quotes around a field
/// that holds one, quotes doubled inside.
fn csv_fields(line: &str, sep: char) -> Vec<String> {
    let (mut fields, mut field, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Every report's CSV, as Italian Excel opens a file: the byte-order mark that makes it read
/// UTF-8, `;` between fields, CRLF, a header and as many fields on every row, every number with a
/// decimal comma (a decimal point would be read as a thousands separator or as text), every
/// date ISO.
#[tokio::test]
async fn every_csv_opens_cleanly_in_italian_excel() {
    let d = TestApp::new();
    history(&d).await;
    let paths = [
        "/operator/reports/overview?period=month&date=2026-12-02&by=channel,type,team,operator,target,category",
        "/operator/reports/backlog?by=team,type",
        "/operator/reports/escalations?period=month&date=2026-12-02",
        "/operator/reports/incidents?period=month&date=2026-12-02",
        "/operator/reports/gdpr",
        "/operator/reports/tickets?figure=contacts&period=month&date=2026-12-02",
    ];
    let decimal_point = |f: &str| {
        let (int, frac) = f.trim_start_matches('-').split_once('.').unwrap_or(("", ""));
        !int.is_empty() && !frac.is_empty() && int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    };
    for path in paths {
        let join = if path.contains('?') { '&' } else { '?' };
        let (status, ct, csv) = get(&d, Role::Supervisor, &format!("{path}{join}format=csv"), None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {csv}");
        assert!(ct.starts_with("text/csv; charset=utf-8"), "{path}: {ct}");
        let body = csv.strip_prefix('\u{feff}').unwrap_or_else(|| panic!("{path}: no byte-order mark"));
        assert!(body.ends_with("\r\n") && !body.replace("\r\n", "").contains('\n'), "{path}: CRLF only");
        let lines: Vec<&str> = body.trim_end_matches("\r\n").split("\r\n").collect();
        let header = csv_fields(lines[0], ';');
        assert!(header.len() > 1 && header.iter().all(|h| !h.is_empty()), "{path}: header {header:?}");
        // The history declares no incident: its table is the header alone.
        assert!(lines.len() > 1 || path.contains("incidents"), "{path}: a row besides the header:\n{csv}");
        let mut decimals = 0;
        for line in &lines[1..] {
            let fields = csv_fields(line, ';');
            assert_eq!(fields.len(), header.len(), "{path}: {line}");
            for f in &fields {
                assert!(!decimal_point(f), "{path}: `{f}` has a decimal point in {line}");
                decimals += usize::from(f.contains(',') && f.replace(',', "").parse::<u64>().is_ok());
            }
        }
        if path.contains("overview") {
            assert!(decimals > 0, "rates with a decimal comma in the overview:\n{csv}");
        }
        assert!(!csv.contains("mario") && !csv.contains("rimborso"), "{path}: no personal data");
    }
}

/// A privacy operator's reports hold the privacy team's tickets and nothing else: the figures,
/// the tickets behind them (JSON, CSV and the dashboard), the backlog, the escalations.
#[tokio::test]
async fn a_privacy_operator_lists_only_the_privacy_teams_tickets_everywhere() {
    let d = TestApp::new();
    let refs = history(&d).await;
    let privacy = refs[5].as_str();
    let others: Vec<&str> = refs.iter().map(String::as_str).filter(|r| *r != privacy).collect();
    let month = "period=month&date=2026-12-02";

    let (status, _, body) =
        get(&d, Role::PrivacyOperator, &format!("/operator/reports/tickets?figure=contacts&{month}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let listed: Vec<&str> = v["tickets"].as_array().unwrap().iter().map(|t| t["reference"].as_str().unwrap()).collect();
    assert_eq!(listed, [privacy], "{body}");
    // Naming another team in the filter does not widen the scope.
    let (status, _, body) = get(
        &d,
        Role::PrivacyOperator,
        &format!("/operator/reports/tickets?figure=contacts&{month}&team=first_level"),
        None,
    )
    .await;
    assert!(status == StatusCode::OK || status == StatusCode::FORBIDDEN, "{status}: {body}");
    assert!(others.iter().all(|r| !body.contains(r)), "{body}");

    let (status, _, csv) =
        get(&d, Role::PrivacyOperator, &format!("/operator/reports/tickets?figure=contacts&{month}&format=csv"), None)
            .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(csv.contains(privacy) && others.iter().all(|r| !csv.contains(r)), "{csv}");
    let (_, _, csv) =
        get(&d, Role::PrivacyOperator, &format!("/operator/reports/overview?{month}&by=team&format=csv"), None).await;
    assert!(csv.lines().skip(1).all(|l| !l.contains("first_level")), "{csv}");

    let (status, _, body) = get(&d, Role::PrivacyOperator, "/operator/reports/backlog?by=team", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["total"]["open"], 1, "the privacy report only: {body}");
    let (_, _, body) = get(&d, Role::PrivacyOperator, &format!("/operator/reports/escalations?{month}"), None).await;
    assert!(!body.contains("pagopa_specialists"), "another team's escalation: {body}");

    let (status, _, html) = get(&d, Role::PrivacyOperator, &format!("/operator/reports/dashboard?{month}"), None).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(">Contatti ricevuti<b><a href=") && html.contains("\">1</a></b>"), "{html}");
    assert!(html.contains("Ticket aperti adesso: 1, per età"), "{html}");
    assert!(!html.contains("Specialisti PagoPA") && !html.contains("pagopa_specialists"), "{html}");
    let (_, _, html) = get(
        &d,
        Role::PrivacyOperator,
        "/operator/reports/dashboard/tickets?figure=contacts&from=2026-12-01&to=2026-12-31",
        None,
    )
    .await;
    assert!(html.contains(privacy) && others.iter().all(|r| !html.contains(r)), "{html}");
}

#[tokio::test]
async fn backlog_escalations_and_the_tickets_behind_a_figure() {
    let d = TestApp::new();
    let refs = history(&d).await;
    let (status, _, body) = get(&d, Role::Supervisor, "/operator/reports/backlog?by=state", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "state is not a dimension: {body}");
    assert!(body.contains("\"field\":\"by\""), "{body}");

    let (status, _, body) = get(&d, Role::Supervisor, "/operator/reports/backlog?by=channel", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["total"].is_object(), "{body}");

    let (status, _, body) = get(&d, Role::Supervisor, "/operator/reports/escalations?date=2026-12-02", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("pagopa_specialists"), "{body}");

    // The tickets behind "resolved": the three answered on the first day, by reference.
    let path = "/operator/reports/tickets?figure=resolved&period=day&date=2026-12-02";
    let (status, _, body) = get(&d, Role::Supervisor, path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let mut listed: Vec<&str> =
        v["tickets"].as_array().unwrap().iter().map(|t| t["reference"].as_str().unwrap()).collect();
    listed.sort();
    let mut answered = refs[..3].iter().map(String::as_str).collect::<Vec<_>>();
    answered.sort();
    assert_eq!(listed, answered, "{body}");
    assert!(!body.contains("mario"), "{body}");

    // Paged, with the cursor handed back.
    let (_, _, first) = get(&d, Role::Supervisor, &format!("{path}&limit=2"), None).await;
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["tickets"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().expect("a next page");
    let (_, _, second) = get(&d, Role::Supervisor, &format!("{path}&limit=2&after={next}"), None).await;
    let second: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(second["tickets"].as_array().unwrap().len(), 1, "{second}");
    assert!(second["next"].is_null());
}

#[tokio::test]
async fn bad_parameters_are_named() {
    let d = TestApp::new();
    let cases = [
        ("/operator/reports/overview?by=colour", "by", "unknown dimension `colour`"),
        ("/operator/reports/overview?period=year", "period", "use day, week or month"),
        ("/operator/reports/overview?from=2026-12-10&to=2026-12-01", "to", "is before"),
        ("/operator/reports/overview?from=2026-13-01", "from", "YYYY-MM-DD"),
        ("/operator/reports/overview?from=2024-01-01&to=2026-12-01", "to", "at most 400 days"),
        ("/operator/reports/overview?format=xlsx", "format", "json or csv"),
        ("/operator/reports/overview?dialect=tsv", "dialect", "excel-it"),
        ("/operator/reports/gdpr?by=team", "by", "this report takes no `by`"),
        ("/operator/reports/tickets", "figure", "which figure"),
        ("/operator/reports/tickets?figure=happiness", "figure", ""),
        ("/operator/reports/tickets?figure=resolved&after=yesterday", "after", "`next`"),
        ("/operator/reports/tickets?figure=resolved&limit=0", "limit", "1 to"),
        // Exactly what the OpenAPI document's pattern for `by` and enum for `figure` allow.
        ("/operator/reports/overview?by=channel,%09type", "by", "unknown dimension"),
        ("/operator/reports/overview?by=CHANNEL", "by", "unknown dimension"),
        ("/operator/reports/tickets?figure=rating:01", "figure", "unknown figure"),
        ("/operator/reports/tickets?figure=rating:%2B1", "figure", "unknown figure"),
        ("/operator/reports/tickets?figure=", "figure", "unknown figure"),
        ("/operator/reports/overview?period=day&from=2026-12-01", "from", "not both"),
        ("/operator/reports/overview?to=2026-12-01", "from", "needs a `from`"),
        ("/operator/reports/tickets?figure=open&period=day", "period", "give `age`"),
        ("/operator/reports/tickets?figure=resolved&age=today", "age", "give a period"),
    ];
    for (path, field, says) in cases {
        let (status, ct, body) = get(&d, Role::Supervisor, path, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(ct, "application/problem+json", "{path}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["field"], field, "{path}: {body}");
        assert!(v["detail"].as_str().unwrap().contains(says), "{path}: {body}");
    }
    let (status, _, body) = get(&d, Role::Supervisor, "/operator/reports/overview?colour=red", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("colour"), "{body}");
    // Spaces around names and empty items are what the pattern allows, and are taken.
    let (status, _, body) =
        get(&d, Role::Supervisor, "/operator/reports/overview?by=%20channel%20,,ticket_type", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The document served at /openapi.json lists every figure a drill-down takes, and each one it
/// lists is taken (period figures with a period, open ones with no period).
#[tokio::test]
async fn every_figure_the_document_lists_is_taken() {
    let d = TestApp::new();
    let doc = sportello::http::openapi::for_rulebook(&d.engine.rules).unwrap();
    let figures = doc.pointer("/components/parameters/ReportFigure/schema/enum").and_then(Value::as_array).unwrap();
    assert!(figures.len() > 40, "{figures:?}");
    for figure in figures {
        let name = figure.as_str().unwrap();
        let path = format!("/operator/reports/tickets?figure={}", name.replace(':', "%3A"));
        let (status, _, body) = get(&d, Role::Supervisor, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

#[tokio::test]
async fn a_deployment_without_aggregates_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let rules =
        sportello::rules::Rules::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
    let db = sportello::adapters::embedded::Db::open(dir.path().join("s.db")).unwrap();
    let engine = sportello::engine::Engine::new(Arc::new(rules), ports(&db));
    let period = Period::parse(None, None, None, None, engine.report_today()).unwrap();
    let err = engine.report_overview(period, &[], &Scope::all()).await.unwrap_err();
    assert!(err.to_string().contains("keeps no report aggregates"), "{err}");
}

/// `sportello report` with `extra` arguments over the app's data folder: what it prints, and its
/// exit code.
fn run_cli(d: &TestApp, extra: &[&str]) -> (String, u8) {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: sportello::cli::report::ReportArgs,
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.dir.path().join("sportello.db"), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let rules = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    let mut argv = vec!["report".to_string()];
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv.extend(["--data".into(), d.dir.path().display().to_string(), "--rules".into(), rules.display().to_string()]);
    sportello::cli::report::run(Cli::try_parse_from(argv).unwrap().args)
}

#[test]
fn the_cli_prints_a_table_json_and_csv() {
    let d = TestApp::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(history(&d));
    let run = |extra: &[&str]| run_cli(&d, extra);
    let (out, code) = run(&["--from", "2026-12-01", "--to", "2026-12-31", "--by", "channel,type"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Overview 2026-12-01..2026-12-31"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("chat") && l.contains(" B ")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("(all)")), "{out}");

    let (out, code) = run(&["--date", "2026-12-02", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["total"]["contacts"]["received"], 10);

    let (out, code) = run(&["backlog", "--by", "team", "--format", "csv", "--dialect", "rfc4180"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("as_of,team,open,"), "{out}");
    assert!(out.lines().any(|l| l.contains(",privacy,1,")), "{out}");

    let (out, code) = run(&["--by", "mood"]);
    assert_eq!(code, 2);
    assert!(out.contains("--by: unknown dimension `mood`"), "{out}");
}

#[tokio::test]
async fn the_dashboard_draws_the_period_and_links_every_figure_to_its_tickets() {
    let d = TestApp::new();
    let refs = history(&d).await;
    let (status, ct, html) =
        get(&d, Role::Supervisor, "/operator/reports/dashboard?period=month&date=2026-12-02", None).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(ct.starts_with("text/html"), "{ct}");
    std::fs::create_dir_all(concat!(env!("CARGO_TARGET_TMPDIR"), "/reports")).unwrap();
    std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/reports/dashboard.html"), &html).unwrap();
    // Charts are images with a title and a description; values are text, not colour; all of it
    // in Italian, as the console speaks.
    assert!(html.starts_with("<!doctype html>\n<html lang=\"it\">"), "{html}");
    assert_eq!(html.matches("<svg").count(), 5, "per day, two SLA charts, the bot's hand-offs, backlog");
    assert!(html.contains("role=\"group\" aria-labelledby=\"contacts-per-day-t contacts-per-day-d\""), "{html}");
    assert!(html.contains("<h1>Report: dicembre 2026</h1>"), "{html}");
    assert!(
        html.contains("10 contatti in 31 giorni; il giorno con più contatti è stato il 02/12/2026, con 8."),
        "{html}"
    );
    assert!(html.contains("aria-label=\"02/12: 8 contatti\""), "{html}");
    assert!(html.contains(
        "href=\"/operator/reports/dashboard/tickets?figure=contacts&amp;from=2026-12-02&amp;to=2026-12-02\""
    ));
    assert!(html.contains("Contenimento (quota del bot)<b>20,0%</b>"), "{html}");
    assert!(html.contains("rel=\"prev\">← Periodo precedente: novembre 2026</a>"), "{html}");
    assert!(html.contains("Inoltri in attesa di riscontro"), "{html}");
    assert!(
        html.contains("Richiesta dell&#39;interessato") || html.contains("Violazione di dati"),
        "the privacy request's clock: {html}"
    );
    assert!(!html.contains("mario") && !html.contains("<script"), "no personal data, no scripts");
    let text = words(&html);
    for english in ["Contacts", "contacts", "Backlog", "Resolved", "Escalations", "tickets", " by type", "Why chats"] {
        assert!(!text.contains(english), "`{english}` left in English: {text}");
    }
    // A tool that asks for English gets it.
    let english = get_in(&d, "/operator/reports/dashboard?period=month&date=2026-12-02", "en-GB,en;q=0.8").await;
    assert!(english.starts_with("<!doctype html>\n<html lang=\"en\">"), "{english}");
    assert!(english.contains("Containment (bot share)<b>20.0%</b>"), "{english}");
    assert!(english.contains("10 contacts over 31 days; the busiest day was 02/12/2026 with 8."), "{english}");

    // A bar's link lists the tickets behind it.
    let (status, _, list) = get(
        &d,
        Role::Supervisor,
        "/operator/reports/dashboard/tickets?figure=resolved&from=2026-12-02&to=2026-12-02",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    for r in &refs[..3] {
        assert!(list.contains(r.as_str()), "{r} in {list}");
    }
    let (status, _, list) =
        get(&d, Role::Supervisor, "/operator/reports/dashboard/tickets?figure=open&age=today", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");

    let (status, _, page) = get(&d, Role::Supervisor, "/operator/reports/dashboard?period=fortnight", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("role=\"alert\"")
            && page.contains("use day, week or month")
            && page.contains("<code>period</code>")
            && page.contains("Torna al mese in corso"),
        "{page}"
    );
    let (status, _, page) = get(&d, Role::Operator, "/operator/reports/dashboard", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    let (status, _, page) = get(&d, Role::Supervisor, "/operator/reports/dashboard/tickets?figure=nope", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
}

#[test]
fn the_export_is_one_event_a_line_without_personal_data() {
    let d = TestApp::new();
    tokio::runtime::Runtime::new().unwrap().block_on(history(&d));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.dir.path().join("sportello.db"), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args(["report", "export", "--from", "2026-12-01", "--to", "2026-12-31", "--data"])
        .arg(d.dir.path())
        .args(["--rules", concat!(env!("CARGO_MANIFEST_DIR"), "/rules")])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    assert!(lines.len() > 40, "{}", lines.len());
    assert!(stderr.contains(&format!("exported {} events", lines.len())), "{stderr}");
    let ids: std::collections::BTreeSet<&str> = lines.iter().map(|l| l["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), lines.len(), "one line per event");
    assert!(lines.iter().any(|l| l["kind"] == "resolved" && l["date"] == "2026-12-02"));
    for personal in ["mario", "Mario", "pagato", "rimborso", "Verificare"] {
        assert!(!stdout.contains(personal), "`{personal}` in the export");
    }
    // Only the first day: fewer lines, all of that day.
    let day = std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args(["report", "export", "--period", "day", "--date", "2026-12-03", "--data"])
        .arg(d.dir.path())
        .args(["--rules", concat!(env!("CARGO_MANIFEST_DIR"), "/rules")])
        .output()
        .unwrap();
    let day = String::from_utf8(day.stdout).unwrap();
    assert!(day.lines().count() > 0 && day.lines().count() < lines.len());
    assert!(day.lines().all(|l| l.contains("\"date\":\"2026-12-03\"")), "{day}");
}
