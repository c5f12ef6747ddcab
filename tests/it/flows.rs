//! Every flow of sections 3.1–3.5 of the source, walked as real HTTP requests against Sportello
//! served on a TCP port (the local server's engine and routers on a temp SQLite store, with a
//! clock the tests set; `sportello::demo::Sandbox`): a contact comes in on its channel, the
//! operator acts, the escalation goes out, the notice comes back, the ticket is resolved and the
//! answer reaches the requester on their channel. The step workers run between requests.
//!
//! One table lists the walks: channel × category × the path the operator takes. Each row checks
//! states, types, teams, the events and who did them, what the escalation carried and where the
//! answer went. The rulebook's expectations are written out here (not read from the rulebook),
//! so a rulebook that drifts from the document fails these tests.
//!
//! Every contact comes in over HTTP. Chat and the API name every category; the IVR menu names
//! four and an inbound mail is a basic question or a reminder. For the other categories on voice
//! and e-mail, the call or mail comes in as a basic question and the operator, having heard or
//! read it, sets the category (`categorize`): the rulebook then routes the ticket again (a privacy
//! category hands it to the privacy team).

use serde_json::{Value, json};
use sportello::demo::{OPERATOR_ID, PRIVACY_OPERATOR_ID, REPLY_QUEUE, Reply, Sandbox, Staff, Stage};
use std::path::Path;

/// Monday 7 December 2026, 10:00 in Rome: in service hours.
const NOW: &str = "2026-12-07T10:00:00+01:00";
/// Sunday 6 December 2026, 22:00 in Rome: closed.
const CLOSED: &str = "2026-12-06T22:00:00+01:00";

const NAME: &str = "Mario Rossi";
const EMAIL: &str = "mario.rossi@example.it";
const PHONE: &str = "+393331234567";
const FISCAL_CODE: &str = "RSSMRA85T10A562S";

async fn sandbox(at: &str) -> Sandbox {
    let rules = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    Sandbox::start(rules, at.parse().unwrap()).await.expect("the sandbox starts")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Voice,
    Chat,
    Email,
    Api,
}

impl Channel {
    /// A call or a chat: the operator ends the contact (`close_contact`).
    fn synchronous(self) -> bool {
        matches!(self, Channel::Voice | Channel::Chat)
    }
}

/// What the operator does with the ticket, per the source's flow.
#[derive(Debug, Clone, Copy)]
enum Walk {
    /// Q / PQ: answer from the knowledge base (self-service directions for PQ) and resolve.
    Answer(&'static str),
    /// Advanced information solved by the operator service alone.
    Solve(&'static str),
    /// Escalated to a target; resolved on its notice.
    Escalate(&'static str, &'static str),
    /// A reminder: look up the ticket it chases, answer and resolve.
    Reminder,
    /// A malfunction during an active incident: Q with the restoration info.
    Incident,
    /// A malfunction during an incident, left open: the incident's resolution answers it.
    IncidentFanOut,
    /// A malfunction with no incident: I, escalated to incident management, resolved on the notice.
    NoIncident,
}

/// A contact that came in.
struct Opened {
    reference: String,
    /// The chat session's bearer token.
    chat_token: Option<String>,
    /// The Message-ID of the mail that opened the ticket.
    mail_id: Option<String>,
    /// The category the channel gave, when the operator must change it to the flow's.
    intake: Option<&'static str>,
}

fn ok(reply: Reply) -> Value {
    assert!(reply.is_success(), "HTTP {}: {}", reply.status, reply.text);
    reply.body
}

fn is_privacy(category: &str) -> bool {
    category.starts_with("privacy_")
}

fn staff_for(category: &str) -> (Staff, &'static str) {
    if is_privacy(category) { (Staff::PrivacyOperator, PRIVACY_OPERATOR_ID) } else { (Staff::Operator, OPERATOR_ID) }
}

/// The key of the rulebook's IVR menu that leads to `category`.
fn voice_menu(sb: &Sandbox, category: &str) -> Option<String> {
    let rules = &sb.engine.rules;
    rules.channels["voice"].menu.iter().find(|(_, c)| rules.categories.key(**c) == category).map(|(k, _)| k.clone())
}

/// The IO app's category tree (rules/rulebook.yaml `clients.io`) for each of our categories.
fn io_category(category: &str) -> (&'static str, Option<&'static str>) {
    match category {
        "basic_info" => ("io_pagamenti_pagopa", Some("pagamenti_pagopa_metodi_pagamento")),
        "advanced_info" => ("io_pagamenti_pagopa", Some("pagamenti_pagopa_avviso_non_trovato")),
        "specialist_support" => ("io_pagamenti_pagopa", Some("pagamenti_pagopa_doppio_addebito")),
        "reminder" => ("io_solleciti", None),
        "malfunction" => ("io_pagamenti_pagopa", Some("pagamenti_pagopa_blocco")),
        "privacy_question" => ("io_privacy", Some("privacy_cancellazione_account")),
        "privacy_activity" => ("io_privacy", Some("privacy_accesso_dati")),
        "privacy_issue" => ("io_privacy", Some("privacy_violazione_dati")),
        other => panic!("no IO category for {other}"),
    }
}

fn mail(message_id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {NAME} <{EMAIL}>\r\nTo: assistenza@sportello.pagopa.it\r\nDate: Mon, 07 Dec 2026 09:30:00 +0100\r\n\
         Message-ID: <{message_id}>\r\nSubject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A contact of `category` on `channel`, as the channel makes it; then the step workers run.
async fn open(sb: &Sandbox, channel: Channel, category: &str, chases: Option<&str>) -> Opened {
    let key = uuid::Uuid::new_v4().simple().to_string();
    let opened = match channel {
        Channel::Voice => {
            // A category the menu does not offer comes in as a basic question.
            let menu = voice_menu(sb, category).or(voice_menu(sb, "basic_info"));
            let call = json!({"call_id": format!("call-{key}"), "caller": PHONE, "menu": menu});
            let answer = ok(sb.voice_call(&call).await.unwrap());
            assert_eq!(answer["open"], true, "in hours the call is put through: {answer}");
            assert_eq!(answer["state"], "new", "{answer}");
            let welcome = &sb.engine.rules.messages["ivr_welcome"]["it"];
            assert_eq!(answer["prompt"].as_str(), Some(welcome.as_str()), "the IVR's welcome");
            Opened {
                reference: answer["reference"].as_str().unwrap().into(),
                chat_token: None,
                mail_id: None,
                intake: voice_menu(sb, category).is_none().then_some("basic_info"),
            }
        }
        Channel::Chat => {
            let start = json!({
                "session_id": uuid::Uuid::new_v4().to_string(), "lang": "it", "category": category,
                "requester": {"fiscal_code": FISCAL_CODE, "name": NAME, "email": EMAIL},
            });
            let started = ok(sb.client().post_json("/chat/sessions", &[], &start).await.unwrap());
            let reference = started["reference"].as_str().unwrap().to_string();
            let token = started["token"].as_str().unwrap().to_string();
            let auth = format!("Bearer {token}");
            let text = match chases {
                Some(earlier) => format!("Sollecito per la richiesta {earlier}: nessuna risposta."),
                None => "Ho un problema con un pagamento pagoPA fatto con l'app IO.".to_string(),
            };
            let said = ok(sb
                .client()
                .post_json(
                    &format!("/chat/sessions/{reference}/messages"),
                    &[("authorization", &auth)],
                    &json!({"text": text}),
                )
                .await
                .unwrap());
            assert!(
                said["messages"].as_array().unwrap().iter().any(|m| m["from"] == "bot"),
                "the bot answers first: {said}"
            );
            let handed = ok(sb
                .client()
                .request(
                    "POST",
                    &format!("/chat/sessions/{reference}/operator"),
                    &[("authorization", &auth)],
                    Vec::new(),
                )
                .await
                .unwrap());
            assert_eq!(handed["handed_off"], true, "{handed}");
            Opened { reference, chat_token: Some(token), mail_id: None, intake: None }
        }
        Channel::Email => {
            // A mail is a basic question or a reminder; the operator reads it and sets the rest.
            let as_sent = category == "basic_info" || (category == "reminder" && chases.is_some());
            let id = format!("{key}@mail.example.it");
            let raw = match chases {
                Some(earlier) => {
                    mail(&id, "Richiesta senza risposta", &format!("Sollecito: ho scritto per la richiesta {earlier}."))
                }
                None => mail(&id, "Pagamento di un avviso pagoPA", "Come posso pagare un avviso pagoPA?"),
            };
            let got = ok(sb.mail_in(&raw).await.unwrap());
            assert_eq!(got["action"], "opened", "{got}");
            assert_eq!(got["acknowledgement"]["status"], "sent", "{got}");
            Opened {
                reference: got["reference"].as_str().unwrap().into(),
                chat_token: None,
                mail_id: Some(id),
                intake: (!as_sent).then_some("basic_info"),
            }
        }
        Channel::Api => {
            let (client_category, subcategory) = io_category(category);
            let message = match chases {
                Some(earlier) => format!("Sollecito per {earlier}"),
                None => "Il pagamento dell'avviso non va a buon fine.".into(),
            };
            let body = json!({
                "category": client_category, "subcategory": subcategory, "subject": "Assistenza pagamento",
                "message": message,
                "requester": {"name": NAME, "email": EMAIL, "fiscal_code": FISCAL_CODE},
                "fields": {"notice_code": "302001234567890123", "creditor_fiscal_code": "15376371009", "app_version": "2.71.0"},
            });
            let created = sb.api_post(&key, &body).await.unwrap();
            assert_eq!(created.status, 201, "{}", created.text);
            assert_eq!(created.str("/category"), category, "the client's category maps onto ours");
            Opened { reference: created.str("/reference").into(), chat_token: None, mail_id: None, intake: None }
        }
    };
    sb.settle().await.unwrap();
    opened
}

async fn act(sb: &Sandbox, who: Staff, method: &str, path: &str, body: Option<Value>) -> Reply {
    sb.staff(who, method, path, body.as_ref()).await.unwrap()
}

/// A refusal: 409 problem+json saying what the flow expects instead.
#[track_caller]
fn assert_conflict(reply: &Reply, expects: &str) {
    assert_eq!(reply.status, 409, "{}", reply.text);
    assert_eq!(reply.content_type, "application/problem+json", "{}", reply.text);
    let detail = reply.str("/detail");
    assert!(detail.contains(expects), "`{detail}` does not say `{expects}`");
}

async fn view(sb: &Sandbox, who: Staff, reference: &str) -> Value {
    ok(act(sb, who, "GET", &format!("/operator/tickets/{reference}"), None).await)
}

/// The events of `kind`, as (actor id, actor role, detail).
fn events<'a>(view: &'a Value, kind: &str) -> Vec<(&'a str, &'a str, &'a Value)> {
    view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| (e["actor"]["id"].as_str().unwrap(), e["actor"]["role"].as_str().unwrap(), &e["detail"]))
        .collect()
}

/// Escalates to `target` and checks what left: only the target's allowed fields, the envelope to
/// answer with, the delivery (queue or mail), and no requester data where the target may not see it.
async fn escalate(sb: &Sandbox, who: Staff, reference: &str, target: &str, with_text: bool) {
    let base = format!("/operator/tickets/{reference}");
    let done = ok(act(
        sb,
        who,
        "POST",
        &format!("{base}/escalate"),
        Some(json!({"target": target, "summary": "Da verificare"})),
    )
    .await);
    assert_eq!(done["ticket"]["state"], "awaiting_resolution_notice", "{done}");
    let allowed = &sb.engine.rules.targets[target].fields;
    let sent: Vec<&str> = done["fields_sent"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    for f in &sent {
        assert!(allowed.iter().any(|a| a == f), "{target} got `{f}`, not among its fields {allowed:?}");
    }
    assert!(sent.contains(&"created_at"), "{sent:?}");
    if allowed.iter().any(|f| f == "description") {
        assert_eq!(
            sent.contains(&"description"),
            with_text,
            "the request's first message goes as the description: {sent:?}"
        );
    }
    let requester_fields = sent.iter().filter(|f| f.starts_with("requester.")).count();
    match target {
        "third_parties" | "pagopa_incident_management" => {
            assert_eq!(requester_fields, 0, "{target} gets no requester data: {sent:?}")
        }
        "pagopa_privacy" => assert!(requester_fields > 0, "the DPO gets the data subject: {sent:?}"),
        _ => {}
    }
    match sb.queue_of(target) {
        Some(queue) => {
            let picked = sb.take_escalations(&queue).await.unwrap();
            assert_eq!(picked.len(), 1, "one message on {queue}: {picked:?}");
            let m = &picked[0];
            assert_eq!((m["reference"].as_str(), m["target"].as_str()), (Some(reference), Some(target)));
            assert_eq!(m["reply_to"], REPLY_QUEUE);
            assert_eq!(m["summary"], "Da verificare");
            let keys: Vec<&str> = m["fields"].as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, sent, "the queued message carries what the operator was told");
            if requester_fields == 0 {
                let text = m.to_string();
                assert!(!text.contains(EMAIL) && !text.contains(FISCAL_CODE) && !text.contains(PHONE), "{text}");
            }
        }
        None => {
            let sportello::rules::resolved::Delivery::Email { to } = &sb.engine.rules.targets[target].delivery else {
                panic!("{target} has no queue and no mailbox");
            };
            let mails = sb.outbox().await.unwrap();
            let m = mails
                .iter()
                .find(|m| m.recipients == *to && m.ticket_reference.as_deref() == Some(reference))
                .unwrap_or_else(|| panic!("no escalation mail to {to:?}"));
            let raw = String::from_utf8_lossy(&m.raw);
            // A subject with the reply token is long enough to travel as encoded words.
            let parsed = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
            let subject = parsed.subject().unwrap_or_default();
            assert!(subject.starts_with(&format!("[{reference}] Escalation to {target}")), "{subject}");
            assert!(
                !raw.contains(EMAIL) && !raw.contains(FISCAL_CODE) && !raw.contains(PHONE) && !raw.contains(NAME),
                "{raw}"
            );
        }
    }
}

/// The id of the escalation of `reference` to `target` still waiting for its notice, as the
/// escalation message told the target.
async fn open_escalation(sb: &Sandbox, reference: &str, target: &str) -> String {
    let t = sb.engine.ticket_by_reference(reference).await.unwrap();
    let e = t.escalations.iter().rev().find(|e| e.target == target && e.notice_at.is_none());
    e.unwrap_or_else(|| panic!("no open escalation of {reference} to {target}")).escalation_id.clone()
}

/// The target's signed notice; the ticket goes back to its operator.
async fn notice(sb: &Sandbox, reference: &str, target: &str) {
    let escalation_id = open_escalation(sb, reference, target).await;
    let r = ok(sb.notice(target, reference, &escalation_id, "Verifica conclusa, problema risolto.").await.unwrap());
    assert_eq!(r["state"], "in_progress", "{r}");
}

/// The team a ticket of this category ends on.
fn team_of(category: &str) -> &'static str {
    if is_privacy(category) { "privacy" } else { "first_level" }
}

/// The ticket holds the requester's words (a call opened by the IVR holds none).
fn has_text(channel: Channel) -> bool {
    channel != Channel::Voice
}

/// Ends the call or chat; an e-mail or API contact is already asynchronous.
async fn close(sb: &Sandbox, who: Staff, base: &str, channel: Channel) {
    let closed = act(sb, who, "POST", &format!("{base}/close-contact"), None).await;
    if channel.synchronous() {
        assert!(ok(closed)["state"].as_str().is_some());
    } else {
        assert_conflict(&closed, "already asynchronous");
    }
}

async fn classify(sb: &Sandbox, who: Staff, base: &str, ty: &str, category: &str) {
    let t = ok(act(sb, who, "POST", &format!("{base}/classify"), Some(json!({"ticket_type": ty}))).await);
    assert_eq!((t["ticket_type"].as_str(), t["state"].as_str()), (Some(ty), Some("in_progress")), "{t}");
    assert_eq!(t["team"], team_of(category));
}

async fn resolve(sb: &Sandbox, who: Staff, base: &str, text: &str) {
    let t = ok(act(sb, who, "POST", &format!("{base}/resolve"), Some(json!({"answer": text}))).await);
    assert_eq!(t["state"], "resolved", "{t}");
}

/// Walks one flow end to end and checks everything it should leave behind.
async fn walk(channel: Channel, category: &str, walk: Walk) {
    let sb = sandbox(NOW).await;
    let earlier = match walk {
        Walk::Reminder => Some(open(&sb, channel, "basic_info", None).await.reference),
        _ => None,
    };
    let opened = open(&sb, channel, category, earlier.as_deref()).await;
    let r = opened.reference.clone();
    let base = format!("/operator/tickets/{r}");
    let (who, who_id) = staff_for(category);
    let answer = "La sua richiesta e' stata lavorata: trova i dettagli nella guida.";

    // The channel could not name the category: the first-level operator takes the contact and
    // sets it; a privacy category hands the ticket to the privacy team.
    if let Some(intake) = opened.intake {
        let v = view(&sb, Staff::Operator, &r).await;
        assert_eq!(v["ticket"]["state"], "new", "{v}");
        assert_eq!(v["ticket"]["category"], intake);
        assert_eq!(v["ticket"]["team"], team_of(intake), "triage routes the ticket");
        assert_eq!(v["expected_next"], "take_in_charge");
        assert_eq!(events(&v, "triaged")[0].1, "system");
        assert_eq!(events(&v, "created")[0].1, "requester", "the channel opened it for the requester");
        let to = json!({"category": category});
        let early = act(&sb, Staff::Operator, "POST", &format!("{base}/categorize"), Some(to.clone())).await;
        assert_conflict(&early, "the flow expects take_in_charge before categorize");
        let t = ok(act(&sb, Staff::Operator, "POST", &format!("{base}/take-in-charge"), None).await);
        assert_eq!((t["state"].as_str(), t["assignee"].as_str()), (Some("taken_in_charge"), Some(OPERATOR_ID)));
        let t = ok(act(&sb, Staff::Operator, "POST", &format!("{base}/categorize"), Some(to)).await);
        assert_eq!((t["category"].as_str(), t["team"].as_str()), (Some(category), Some(team_of(category))), "{t}");
        if is_privacy(category) {
            assert_eq!((t["state"].as_str(), t["assignee"].as_str()), (Some("new"), None), "handed over: {t}");
            let gone = act(&sb, Staff::Operator, "GET", &base, None).await;
            assert_eq!(gone.status, 403, "the operator no longer sees it: {}", gone.text);
        } else {
            assert_eq!((t["state"].as_str(), t["assignee"].as_str()), (Some("taken_in_charge"), Some(OPERATOR_ID)));
        }
        let v = view(&sb, who, &r).await;
        let set = events(&v, "categorized");
        assert_eq!(set.len(), 1, "{v}");
        assert_eq!((set[0].0, set[0].1), (OPERATOR_ID, "operator"));
        assert_eq!((set[0].2["from"].as_str(), set[0].2["to"].as_str()), (Some(intake), Some(category)));
        let routed = events(&v, "routed_to_team");
        assert_eq!(routed.len(), usize::from(is_privacy(category)), "{v}");
    }

    let v = view(&sb, who, &r).await;
    assert_eq!(v["ticket"]["category"], category);
    assert_eq!(v["ticket"]["team"], team_of(category), "the rulebook routes the ticket");
    assert_eq!(events(&v, "triaged")[0].1, "system");
    assert_eq!(events(&v, "created")[0].1, "requester", "the channel opened it for the requester");
    // A non-privacy category set by its operator leaves the ticket in their charge.
    let in_charge = opened.intake.is_some() && !is_privacy(category);
    if !in_charge {
        assert_eq!(v["ticket"]["state"], "new", "{v}");
        assert_eq!(v["expected_next"], "take_in_charge");

        // Nothing before C.
        let early = act(&sb, who, "POST", &format!("{base}/resolve"), Some(json!({"answer": answer}))).await;
        assert_conflict(&early, "the flow expects take_in_charge before resolve");
        if is_privacy(category) {
            let refused = act(&sb, Staff::Operator, "POST", &format!("{base}/take-in-charge"), None).await;
            assert_eq!(refused.status, 403, "privacy tickets are for the privacy team: {}", refused.text);
        }
        let t = ok(act(&sb, who, "POST", &format!("{base}/take-in-charge"), None).await);
        assert_eq!((t["state"].as_str(), t["assignee"].as_str()), (Some("taken_in_charge"), Some(who_id)));
    }
    let other = if who == Staff::Operator { Staff::PrivacyOperator } else { Staff::Operator };
    if !is_privacy(category) {
        let taken = act(&sb, other, "POST", &format!("{base}/take-in-charge"), None).await;
        assert_conflict(&taken, &format!("already in charge of operator {who_id}"));
    }

    let mut answered_by = who_id;
    let mut answer_text = answer;
    let expected_type: &str;
    let mut escalated_to: Vec<&str> = Vec::new();
    match walk {
        Walk::Answer(ty) => {
            expected_type = ty;
            let wrong = act(&sb, who, "POST", &format!("{base}/classify"), Some(json!({"ticket_type": "PI"}))).await;
            // A type of the rulebook the flow does not allow for this ticket: refused by the flow.
            assert_eq!((wrong.status, wrong.str("/type")), (409, "/problems/flow"), "{}", wrong.text);
            classify(&sb, who, &base, ty, category).await;
            let hints = ok(act(&sb, who, "GET", &format!("{base}/suggestions"), None).await);
            let hints = hints["suggestions"].as_array().unwrap();
            if has_text(channel) {
                assert!(!hints.is_empty(), "the knowledge base has articles for the request's text");
            } else {
                // A call opened by the IVR has no text to search: the operator asks the caller and
                // searches with their words.
                assert!(hints.is_empty(), "{hints:?}");
                let searched = ok(act(&sb, who, "GET", &format!("{base}/suggestions?q=avviso%20pagoPA"), None).await);
                assert!(!searched["suggestions"].as_array().unwrap().is_empty(), "{searched}");
            }
            let no = act(
                &sb,
                who,
                "POST",
                &format!("{base}/escalate"),
                Some(json!({"target": "third_parties", "summary": "x"})),
            )
            .await;
            assert_conflict(&no, "does not escalate");
            resolve(&sb, who, &base, answer).await;
            close(&sb, who, &base, channel).await;
        }
        Walk::Solve(ty) => {
            expected_type = ty;
            classify(&sb, who, &base, ty, category).await;
            close(&sb, who, &base, channel).await;
            resolve(&sb, who, &base, answer).await;
        }
        Walk::Escalate(ty, target) => {
            expected_type = ty;
            let before =
                act(&sb, who, "POST", &format!("{base}/escalate"), Some(json!({"target": target, "summary": "x"})))
                    .await;
            assert_conflict(&before, "the flow expects classify");
            classify(&sb, who, &base, ty, category).await;
            close(&sb, who, &base, channel).await;
            escalate(&sb, who, &r, target, has_text(channel)).await;
            escalated_to.push(target);
            let waiting = act(&sb, who, "POST", &format!("{base}/resolve"), Some(json!({"answer": answer}))).await;
            assert_conflict(&waiting, &format!("the resolution notice from {target}"));
            let stranger = if target == "third_parties" { "pagopa_specialists" } else { "third_parties" };
            let theirs = open_escalation(&sb, &r, target).await;
            let wrong = sb.notice(stranger, &r, &theirs, "non richiesto").await.unwrap();
            assert_eq!((wrong.status, wrong.str("/field")), (422, "target"), "{}", wrong.text);
            assert!(wrong.str("/detail").contains(&format!("was not sent to {stranger}")), "{}", wrong.text);
            notice(&sb, &r, target).await;
            resolve(&sb, who, &base, answer).await;
        }
        Walk::Reminder => {
            expected_type = "Q";
            let early = act(&sb, who, "POST", &format!("{base}/reminder-lookup"), None).await;
            assert_conflict(&early, "the flow expects classify (as Q)");
            classify(&sb, who, &base, "Q", category).await;
            let found = ok(act(&sb, who, "POST", &format!("{base}/reminder-lookup"), None).await);
            let earlier = earlier.as_deref().unwrap();
            assert_eq!(found["referenced"]["reference"], earlier, "{found}");
            assert_eq!(found["referenced"]["state"], "new");
            let by = if opened.mail_id.is_some() { "reference" } else { "requester" };
            assert_eq!(found["found_by"], by, "{found}");
            let chased = view(&sb, who, earlier).await;
            assert_eq!(events(&chased, "reminder").len(), 1, "the chased ticket records the reminder: {chased}");
            resolve(&sb, who, &base, answer).await;
            close(&sb, who, &base, channel).await;
        }
        Walk::Incident | Walk::IncidentFanOut => {
            expected_type = "Q";
            let declared = act(
                &sb,
                Staff::Supervisor,
                "POST",
                "/operator/incidents",
                Some(json!({"service": "pagopa", "title": "Pagamenti in errore", "restoration_info": "Ripristino previsto entro le 12."})),
            )
            .await;
            assert_eq!(declared.status, 201, "{}", declared.text);
            let incident = declared.str("/id").to_string();
            let checked =
                ok(act(&sb, who, "POST", &format!("{base}/check-incidents"), Some(json!({"service": "pagopa"}))).await);
            assert_eq!(checked["ticket"]["ticket_type"], "Q", "{checked}");
            assert_eq!(checked["incident"]["restoration_info"], "Ripristino previsto entro le 12.");
            assert!(checked["escalation_id"].is_null(), "no escalation during an incident");
            let again =
                act(&sb, who, "POST", &format!("{base}/check-incidents"), Some(json!({"service": "pagopa"}))).await;
            assert_conflict(&again, "before check_active_incidents");
            let closing = "Il servizio e' di nuovo disponibile.";
            if matches!(walk, Walk::Incident) {
                resolve(&sb, who, &base, "Ripristino previsto entro le 12.").await;
                answer_text = "Ripristino previsto entro le 12.";
                close(&sb, who, &base, channel).await;
            } else {
                close(&sb, who, &base, channel).await;
                ok(act(
                    &sb,
                    Staff::Supervisor,
                    "POST",
                    &format!("/operator/incidents/{incident}/resolve"),
                    Some(json!({"closing_text": closing})),
                )
                .await);
                sb.settle().await.unwrap();
                answered_by = "system";
                answer_text = closing;
            }
            let v = view(&sb, who, &r).await;
            assert!(
                events(&v, "note")
                    .iter()
                    .any(|(_, _, d)| d["step"] == "check_active_incidents" && d["incident"] == incident.as_str()),
                "the check is on the ticket: {v}"
            );
        }
        Walk::NoIncident => {
            expected_type = "I";
            let checked =
                ok(act(&sb, who, "POST", &format!("{base}/check-incidents"), Some(json!({"service": "pagopa"}))).await);
            assert_eq!(checked["ticket"]["ticket_type"], "I", "{checked}");
            assert_eq!(checked["ticket"]["state"], "awaiting_resolution_notice");
            assert!(checked["incident"].is_null());
            escalated_to.push("pagopa_incident_management");
            let queue = sb.queue_of("pagopa_incident_management").unwrap();
            let picked = sb.take_escalations(&queue).await.unwrap();
            assert_eq!(picked.len(), 1, "{picked:?}");
            assert_eq!(picked[0]["reference"], r.as_str());
            assert_eq!(picked[0]["ticket_type"], "I");
            let allowed = &sb.engine.rules.targets["pagopa_incident_management"].fields;
            for f in picked[0]["fields"].as_object().unwrap().keys() {
                assert!(allowed.contains(f), "incident management got `{f}`");
            }
            assert!(!picked[0].to_string().contains(EMAIL) && !picked[0].to_string().contains(PHONE));
            close(&sb, who, &base, channel).await;
            let waiting = act(&sb, who, "POST", &format!("{base}/resolve"), Some(json!({"answer": answer}))).await;
            assert_conflict(&waiting, "the resolution notice from pagopa_incident_management");
            notice(&sb, &r, "pagopa_incident_management").await;
            resolve(&sb, who, &base, answer).await;
        }
    }
    sb.settle().await.unwrap();

    // Where it ended, and who did what.
    let v = view(&sb, who, &r).await;
    let t = &v["ticket"];
    assert_eq!(t["state"], "resolved", "{v}");
    assert_eq!(t["ticket_type"], expected_type, "{v}");
    assert_eq!(t["team"], team_of(category));
    let role = if who == Staff::Operator { "operator" } else { "privacy_operator" };
    let (first_taken, handed) = (json!({"assignee": OPERATOR_ID}), json!({"assignee": who_id}));
    let mut taken = Vec::new();
    if opened.intake.is_some() && is_privacy(category) {
        // The first-level operator took the contact before it turned out to be a privacy matter.
        taken.push((OPERATOR_ID, "operator", &first_taken));
    }
    taken.push((who_id, role, &handed));
    assert_eq!(events(&v, "taken_in_charge"), taken);
    assert!(events(&v, "classified").iter().all(|(id, _, _)| *id == who_id), "{v}");
    if is_privacy(category) {
        assert!(events(&v, "routed_to_team").is_empty() || events(&v, "routed_to_team")[0].2["to"] == "privacy");
    }
    let escalations = events(&v, "escalated");
    assert_eq!(escalations.iter().map(|(_, _, d)| d["target"].as_str().unwrap()).collect::<Vec<_>>(), escalated_to);
    assert!(escalations.iter().all(|(id, _, _)| *id == who_id));
    let notices = events(&v, "notice_received");
    assert_eq!(
        notices.iter().map(|(id, role, _)| (*id, *role)).collect::<Vec<_>>(),
        escalated_to.iter().map(|t| (*t, "target")).collect::<Vec<_>>()
    );
    let answered = events(&v, "answered");
    assert_eq!(answered.len(), 1, "{v}");
    assert_eq!((answered[0].0, answered[0].2["body"].as_str()), (answered_by, Some(answer_text)));
    assert_eq!(events(&v, "resolved")[0].2["ticket_type"], expected_type);
    let closed = events(&v, "contact_closed");
    assert_eq!(closed.len(), usize::from(channel.synchronous()), "close_contact on calls and chats only");

    // The answer reached the requester on their channel.
    match channel {
        Channel::Email => {
            let mails = sb.outbox().await.unwrap();
            let reply = mails
                .iter()
                .rev()
                .find(|m| m.recipients == [EMAIL] && m.ticket_reference.as_deref() == Some(r.as_str()))
                .expect("the answer is mailed");
            let raw = String::from_utf8_lossy(&reply.raw);
            assert!(raw.contains(&format!("[{r}]")), "{raw}");
            assert!(raw.contains(answer_text), "{raw}");
            if let Some(id) = &opened.mail_id {
                assert!(raw.contains(&format!("In-Reply-To: <{id}>")), "threaded on the requester's mail: {raw}");
            }
        }
        Channel::Chat => {
            let auth = format!("Bearer {}", opened.chat_token.as_deref().unwrap());
            let poll = ok(sb
                .client()
                .get(&format!("/chat/sessions/{r}/messages?after=0"), &[("authorization", &auth)])
                .await
                .unwrap());
            let last = poll["messages"]
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .find(|m| m["from"] == "operator")
                .cloned()
                .unwrap_or(Value::Null);
            assert_eq!(last["body"].as_str(), Some(answer_text), "the app reads the answer: {poll}");
        }
        Channel::Api => {
            let status = ok(sb.api_status(&r).await.unwrap());
            assert_eq!(
                (status["state"].as_str(), status["ticket_type"].as_str()),
                (Some("resolved"), Some(expected_type)),
                "{status}"
            );
        }
        Channel::Voice => {
            let callback =
                events(&v, "note").into_iter().find(|(_, _, d)| d.get("callback").is_some()).map(|(_, _, d)| d.clone());
            let callback = callback.unwrap_or_else(|| panic!("a call-back is noted: {v}"));
            assert_eq!(
                (callback["callback"]["status"].as_str(), callback["callback"]["phone"].as_str()),
                (Some("to_call"), Some(PHONE))
            );
        }
    }

    // Resolved means done: nothing more from the operator or the targets.
    let again = act(&sb, who, "POST", &format!("{base}/resolve"), Some(json!({"answer": answer}))).await;
    assert_conflict(&again, "the ticket is resolved");
}

macro_rules! flows {
    ($($name:ident: $channel:ident, $category:literal, $walk:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            walk(Channel::$channel, $category, $walk).await;
        }
    )*};
}

flows! {
    // 3.1 Voice
    voice_basic_question_answered: Voice, "basic_info", Walk::Answer("Q");
    voice_advanced_solved_by_the_operator: Voice, "advanced_info", Walk::Solve("A");
    voice_advanced_escalated_to_third_parties: Voice, "advanced_info", Walk::Escalate("A", "third_parties");
    voice_specialist_escalated_to_pagopa: Voice, "specialist_support", Walk::Escalate("A", "pagopa_specialists");
    voice_reminder_answered_with_the_status: Voice, "reminder", Walk::Reminder;
    voice_malfunction_during_an_incident: Voice, "malfunction", Walk::Incident;
    voice_malfunction_without_incident_escalated: Voice, "malfunction", Walk::NoIncident;
    // 3.2 Mobile chat (handed to an operator)
    chat_basic_question_answered: Chat, "basic_info", Walk::Answer("Q");
    chat_advanced_solved_by_the_operator: Chat, "advanced_info", Walk::Solve("A");
    chat_advanced_escalated_to_pagopa: Chat, "advanced_info", Walk::Escalate("A", "pagopa_specialists");
    chat_specialist_escalated_to_third_parties: Chat, "specialist_support", Walk::Escalate("A", "third_parties");
    chat_reminder_answered_with_the_status: Chat, "reminder", Walk::Reminder;
    chat_malfunction_during_an_incident: Chat, "malfunction", Walk::Incident;
    chat_malfunction_without_incident_escalated: Chat, "malfunction", Walk::NoIncident;
    chat_unsolved_bot_request_answered: Chat, "bot", Walk::Answer("Q");
    // 3.3 Email
    email_basic_question_answered_in_thread: Email, "basic_info", Walk::Answer("Q");
    email_advanced_solved_by_the_operator: Email, "advanced_info", Walk::Solve("A");
    email_advanced_escalated_to_third_parties: Email, "advanced_info", Walk::Escalate("A", "third_parties");
    email_specialist_escalated_to_pagopa: Email, "specialist_support", Walk::Escalate("A", "pagopa_specialists");
    email_reminder_answered_with_the_status: Email, "reminder", Walk::Reminder;
    email_malfunction_during_an_incident: Email, "malfunction", Walk::Incident;
    email_malfunction_answered_when_the_incident_is_resolved: Email, "malfunction", Walk::IncidentFanOut;
    email_malfunction_without_incident_escalated: Email, "malfunction", Walk::NoIncident;
    // 3.4 API (the document types advanced and specialist requests Q here)
    api_basic_question_answered: Api, "basic_info", Walk::Answer("Q");
    api_advanced_solved_by_the_operator: Api, "advanced_info", Walk::Solve("Q");
    api_advanced_escalated_to_pagopa: Api, "advanced_info", Walk::Escalate("Q", "pagopa_specialists");
    api_specialist_escalated_to_third_parties: Api, "specialist_support", Walk::Escalate("Q", "third_parties");
    api_reminder_answered_with_the_status: Api, "reminder", Walk::Reminder;
    api_malfunction_during_an_incident: Api, "malfunction", Walk::Incident;
    api_malfunction_answered_when_the_incident_is_resolved: Api, "malfunction", Walk::IncidentFanOut;
    api_malfunction_without_incident_escalated: Api, "malfunction", Walk::NoIncident;
    // 3.5 Privacy, on every channel
    voice_privacy_question_self_service: Voice, "privacy_question", Walk::Answer("PQ");
    voice_privacy_activity_to_the_dpo: Voice, "privacy_activity", Walk::Escalate("PA", "pagopa_privacy");
    voice_privacy_breach_to_the_dpo: Voice, "privacy_issue", Walk::Escalate("PI", "pagopa_privacy");
    chat_privacy_question_self_service: Chat, "privacy_question", Walk::Answer("PQ");
    chat_privacy_activity_to_the_dpo: Chat, "privacy_activity", Walk::Escalate("PA", "pagopa_privacy");
    chat_privacy_breach_to_the_dpo: Chat, "privacy_issue", Walk::Escalate("PI", "pagopa_privacy");
    email_privacy_question_self_service: Email, "privacy_question", Walk::Answer("PQ");
    email_privacy_activity_to_the_dpo: Email, "privacy_activity", Walk::Escalate("PA", "pagopa_privacy");
    email_privacy_breach_to_the_dpo: Email, "privacy_issue", Walk::Escalate("PI", "pagopa_privacy");
    api_privacy_question_self_service: Api, "privacy_question", Walk::Answer("PQ");
    api_privacy_activity_to_the_dpo: Api, "privacy_activity", Walk::Escalate("PA", "pagopa_privacy");
    api_privacy_breach_to_the_dpo: Api, "privacy_issue", Walk::Escalate("PI", "pagopa_privacy");
}

/// Section 3.1, out of hours: the IVR greets, says the service is closed and when it opens,
/// names the other channels, and the call ends there: no ticket for the operators.
#[tokio::test]
async fn voice_out_of_hours_is_not_served_and_points_to_the_other_channels() {
    let sb = sandbox(CLOSED).await;
    let call = json!({"call_id": "call-night-1", "caller": PHONE, "menu": "1"});
    let answer = ok(sb.voice_call(&call).await.unwrap());
    assert_eq!((answer["open"].as_bool(), answer["state"].as_str()), (Some(false), Some("not_served")), "{answer}");
    let prompt = answer["prompt"].as_str().unwrap();
    let book = &sb.engine.rules;
    for channel in &book.channels["voice"].alternative_channels {
        let point = &book.channels[*channel].contact_point["it"];
        assert!(prompt.contains(point.as_str()), "`{prompt}` names {}", book.channels.key(*channel));
    }
    assert!(prompt.contains("07/12/2026 08:00"), "the next opening, Monday 8:00: `{prompt}`");
    assert_eq!(answer["next_opening"], "2026-12-07T07:00:00Z");
    // The same call retried gets the same answer, and no second ticket.
    let again = ok(sb.voice_call(&call).await.unwrap());
    assert_eq!(again["reference"], answer["reference"]);
    sb.settle().await.unwrap();

    let r = answer["reference"].as_str().unwrap();
    let v = view(&sb, Staff::Operator, r).await;
    assert_eq!(v["ticket"]["state"], "not_served");
    assert_eq!(events(&v, "not_served")[0].1, "system");
    let queue = ok(act(&sb, Staff::Operator, "GET", "/operator/queue", None).await);
    assert!(queue["tickets"].as_array().unwrap().is_empty(), "{queue}");
    let take = act(&sb, Staff::Operator, "POST", &format!("/operator/tickets/{r}/take-in-charge"), None).await;
    assert_conflict(&take, "nothing more: the ticket is not_served");
}

async fn chat_session(sb: &Sandbox, text: &str) -> (String, String) {
    let start = json!({"session_id": uuid::Uuid::new_v4().to_string(), "lang": "it"});
    let started = ok(sb.client().post_json("/chat/sessions", &[], &start).await.unwrap());
    let welcome = &sb.engine.rules.messages["chat_welcome"]["it"];
    assert_eq!(started["messages"][0]["body"].as_str(), Some(welcome.as_str()), "the welcome: {started}");
    let reference = started["reference"].as_str().unwrap().to_string();
    let auth = format!("Bearer {}", started["token"].as_str().unwrap());
    let said = ok(sb
        .client()
        .post_json(&format!("/chat/sessions/{reference}/messages"), &[("authorization", &auth)], &json!({"text": text}))
        .await
        .unwrap());
    assert!(said["messages"].as_array().unwrap().iter().any(|m| m["from"] == "bot"), "{said}");
    (reference, auth)
}

/// Section 3.2: the bot solves it, the ticket is B, resolved and closed with no operator, at any hour.
#[tokio::test]
async fn chat_solved_by_the_bot_is_type_b_auto_resolved_in_and_out_of_hours() {
    for at in [NOW, CLOSED] {
        let sb = sandbox(at).await;
        let (r, auth) = chat_session(&sb, "Dove posso pagare un avviso pagoPA?").await;
        let done = ok(sb
            .client()
            .request("POST", &format!("/chat/sessions/{r}/resolved"), &[("authorization", &auth)], Vec::new())
            .await
            .unwrap());
        assert_eq!(
            (done["state"].as_str(), done["ticket_type"].as_str()),
            (Some("auto_resolved"), Some("B")),
            "{done}"
        );
        let text = sb.engine.rules.messages["chat_auto_resolved"]["it"].replace("{reference}", &r);
        assert_eq!(done["messages"][0]["body"].as_str(), Some(text.as_str()));
        sb.settle().await.unwrap();
        let v = view(&sb, Staff::Operator, &r).await;
        assert!(v["events"].as_array().unwrap().iter().all(|e| e["actor"]["role"] != "operator"), "no operator: {v}");
        assert_eq!(events(&v, "auto_resolved")[0].2["ticket_type"], "B");
        let queue = ok(act(&sb, Staff::Operator, "GET", "/operator/queue", None).await);
        assert!(queue["tickets"].as_array().unwrap().is_empty(), "{queue}");
        let take = act(&sb, Staff::Operator, "POST", &format!("/operator/tickets/{r}/take-in-charge"), None).await;
        assert_conflict(&take, "nothing more: the ticket is auto_resolved");
        // The user cannot ask for an operator on a closed chat.
        let late = sb
            .client()
            .request("POST", &format!("/chat/sessions/{r}/operator"), &[("authorization", &auth)], Vec::new())
            .await
            .unwrap();
        assert_eq!(late.status, 409, "{}", late.text);
    }
}

/// Section 3.2, out of hours and not solved by the bot: closed automatically, with the other channels.
#[tokio::test]
async fn chat_out_of_hours_not_solved_is_closed_with_the_other_channels() {
    let sb = sandbox(CLOSED).await;
    let (r, auth) = chat_session(&sb, "Ho un problema con un pagamento pagoPA fatto con l'app IO.").await;
    let closed = ok(sb
        .client()
        .request("POST", &format!("/chat/sessions/{r}/operator"), &[("authorization", &auth)], Vec::new())
        .await
        .unwrap());
    assert_eq!(
        (closed["state"].as_str(), closed["handed_off"].as_bool()),
        (Some("auto_closed"), Some(false)),
        "{closed}"
    );
    let said: Vec<&str> = closed["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    let book = &sb.engine.rules;
    assert_eq!(said[0], book.messages["chat_out_of_hours"]["it"].replace("{reference}", &r));
    for channel in &book.channels["chat"].alternative_channels {
        let point = &book.channels[*channel].contact_point["it"];
        assert!(said[1].contains(point.as_str()), "`{}` names {}", said[1], book.channels.key(*channel));
    }
    sb.settle().await.unwrap();
    let v = view(&sb, Staff::Operator, &r).await;
    assert_eq!(v["ticket"]["state"], "auto_closed");
    assert_eq!(events(&v, "auto_closed")[0].2["reason"], "out_of_service_hours");
    let take = act(&sb, Staff::Operator, "POST", &format!("/operator/tickets/{r}/take-in-charge"), None).await;
    assert_conflict(&take, "nothing more: the ticket is auto_closed");
    let write = sb
        .client()
        .post_json(&format!("/chat/sessions/{r}/messages"), &[("authorization", &auth)], &json!({"text": "ci sei?"}))
        .await
        .unwrap();
    assert_eq!(write.status, 409, "{}", write.text);
}

/// Section 3.3: e-mail never closes: a mail out of hours waits in the queue for the operators.
#[tokio::test]
async fn email_out_of_hours_waits_for_the_operators() {
    let sb = sandbox(CLOSED).await;
    let got =
        ok(sb.mail_in(&mail("night-1@mail.example.it", "Avviso pagoPA", "Come pago un avviso pagoPA?")).await.unwrap());
    sb.settle().await.unwrap();
    let r = got["reference"].as_str().unwrap();
    let queue = ok(act(&sb, Staff::Operator, "GET", "/operator/queue", None).await);
    assert_eq!(queue["tickets"][0]["reference"].as_str(), Some(r), "{queue}");
    assert_eq!(queue["tickets"][0]["state"], "new");
    sb.set_now(NOW.parse().unwrap());
    let t = ok(act(&sb, Staff::Operator, "POST", &format!("/operator/tickets/{r}/take-in-charge"), None).await);
    assert_eq!(t["state"], "taken_in_charge");
}

/// Notices come only from the target, signed, about a ticket it was sent.
#[tokio::test]
async fn notices_need_the_targets_signature_and_a_ticket_awaiting_it() {
    let sb = sandbox(NOW).await;
    let opened = open(&sb, Channel::Api, "specialist_support", None).await;
    let r = &opened.reference;
    let base = format!("/operator/tickets/{r}");
    ok(act(&sb, Staff::Operator, "POST", &format!("{base}/take-in-charge"), None).await);
    let early = sb.notice("pagopa_specialists", r, "0193a1b2-0000-7000-8000-000000000001", "fatto").await.unwrap();
    assert_eq!((early.status, early.str("/field")), (404, "/escalation_id"), "{}", early.text);
    classify(&sb, Staff::Operator, &base, "Q", "specialist_support").await;
    escalate(&sb, Staff::Operator, r, "pagopa_specialists", true).await;

    let escalation_id = open_escalation(&sb, r, "pagopa_specialists").await;
    let body = json!({"reference": r, "escalation_id": escalation_id, "notice": "fatto"}).to_string();
    let at = sb.now().as_second().to_string();
    let forged = sb
        .client()
        .request(
            "POST",
            "/operator/targets/pagopa_specialists/notices",
            &[
                ("content-type", "application/json"),
                ("x-sportello-timestamp", &at),
                ("x-sportello-signature", "sha256=00"),
            ],
            body.into_bytes(),
        )
        .await
        .unwrap();
    assert_eq!((forged.status, forged.str("/field")), (401, "x-sportello-signature"), "{}", forged.text);
    let unknown = sb.notice("pagopa_specialists", "SP-2222ZZZZ", &escalation_id, "fatto").await.unwrap();
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let nobody = sb
        .client()
        .post_json(
            "/operator/targets/nobody/notices",
            &[("x-sportello-timestamp", &at)],
            &json!({"reference": r, "notice": "x"}),
        )
        .await
        .unwrap();
    assert_eq!((nobody.status, nobody.str("/field")), (404, "target"), "{}", nobody.text);
    let v = view(&sb, Staff::Operator, r).await;
    assert_eq!(v["ticket"]["state"], "awaiting_resolution_notice", "nothing moved the ticket: {v}");
    assert_eq!(v["expected_next"], "the resolution notice from pagopa_specialists");

    notice(&sb, r, "pagopa_specialists").await;
    // The same notice again changes nothing.
    let twice =
        ok(sb.notice("pagopa_specialists", r, &escalation_id, "Verifica conclusa, problema risolto.").await.unwrap());
    assert_eq!((twice["state"].as_str(), twice["replayed"].as_bool()), (Some("in_progress"), Some(true)));
    assert_eq!(events(&view(&sb, Staff::Operator, r).await, "notice_received").len(), 1);
}
