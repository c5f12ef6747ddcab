//! The demo's six scenes. Each makes the requests a user, an operator, a supervisor or a target
//! would, says what Sportello answered, and checks the outcome the source's flow expects.

use super::Narrator;
use super::cast;
use super::client::Reply;
use super::stage::{Staff, Stage, queue_of};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;

type SceneFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + 'a>>;

/// When a scene can happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hours {
    /// The operators are in (the demo sets `--at`).
    In,
    /// The service is closed (the demo sets `--closed-at`).
    Out,
    /// Whenever: the bot, e-mail and the API take requests at any hour.
    Any,
}

pub struct Scene {
    pub title: &'static str,
    pub hours: Hours,
    pub run: for<'a> fn(&'a dyn Stage, &'a mut Narrator) -> SceneFuture<'a>,
}

/// A scene of `ALL`: its title, when it plays, and the function that plays it.
macro_rules! scene {
    ($title:expr, $hours:ident, $play:ident) => {
        Scene { title: $title, hours: Hours::$hours, run: |s, o| Box::pin($play(s, o)) }
    };
}

pub const ALL: [Scene; 6] = [
    scene!("1. A chat solved by the bot (section 3.2)", Any, chat_solved_by_the_bot),
    scene!("2. A call out of hours (section 3.1)", Out, call_out_of_hours),
    scene!(
        "3. An email question answered from the knowledge base (section 3.3)",
        Any,
        email_answered_from_the_knowledge_base
    ),
    scene!(
        "4. A specialist request escalated and resolved on the notice (section 3.4)",
        Any,
        specialist_request_escalated
    ),
    scene!("5. A malfunction report during an incident (section 3.1)", In, malfunction_during_an_incident),
    scene!("6. A privacy breach (section 3.5)", Any, privacy_breach),
];

fn expect(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why()) }
}

/// The first line of a text, cut to a readable length.
fn short(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
    let cut: String = line.chars().take(110).collect();
    if cut.len() < line.len() { format!("{cut}…") } else { cut }
}

/// "SP-…: in_progress, type Q, team first_level, assignee op-101".
fn ticket_line(t: &Value) -> String {
    let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
    format!(
        "{}: state {}, type {}, team {}, assignee {}",
        s("reference"),
        s("state"),
        s("ticket_type"),
        s("team"),
        s("assignee")
    )
}

/// An operator-API request, narrated; a non-2xx answer ends the scene.
async fn staff(
    sb: &dyn Stage,
    out: &mut Narrator,
    who: Staff,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Reply, String> {
    let id = sb.staff_id(who).to_string();
    let shown = body.as_ref().map(|b| format!(" {}", short(&b.to_string()))).unwrap_or_default();
    out.say(format!("   → {id}: {method} {path}{shown}"));
    sb.staff(who, method, path, body.as_ref()).await?.ok(&format!("{method} {path}"))
}

/// The ticket at `base` resolved by `who` with `answer`, narrated.
async fn resolve(sb: &dyn Stage, out: &mut Narrator, who: Staff, base: &str, answer: &str) -> Result<Reply, String> {
    let done = staff(sb, out, who, "POST", &format!("{base}/resolve"), Some(json!({"answer": answer}))).await?;
    out.say(format!("   ← {}", ticket_line(&done.body)));
    Ok(done)
}

/// A target's resolution notice on escalation `escalation_id`, narrated; `how` says how it is
/// signed.
async fn send_notice(
    sb: &dyn Stage,
    out: &mut Narrator,
    target: &str,
    reference: &str,
    escalation_id: &str,
    notice: &str,
    how: &str,
) -> Result<(), String> {
    out.say(format!("   → {target}: POST /operator/targets/{target}/notices ({how}) \"{notice}\""));
    let r = sb.notice(target, reference, escalation_id, notice).await?.ok("the notice")?;
    out.say(format!("   ← {reference}: state {}", r.str("/state")));
    Ok(())
}

/// The operator's view of a ticket.
async fn ticket(sb: &dyn Stage, who: Staff, reference: &str) -> Result<Value, String> {
    Ok(sb.staff(who, "GET", &format!("/operator/tickets/{reference}"), None).await?.ok("GET ticket")?.body)
}

/// A raw mail's subject, decoded as a mail client shows it (long subjects travel as encoded words).
pub fn mail_subject(raw: &[u8]) -> String {
    mail_parser::MessageParser::default().parse(raw).and_then(|m| m.subject().map(str::to_string)).unwrap_or_default()
}

/// A raw mail's In-Reply-To, as `<id>`, or "".
pub fn mail_in_reply_to(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.in_reply_to().as_text().map(|id| format!("<{id}>")))
        .unwrap_or_default()
}

async fn chat_solved_by_the_bot(sb: &dyn Stage, out: &mut Narrator) -> Result<String, String> {
    let session = uuid::Uuid::new_v4().to_string();
    out.say("   → user (IO app): POST /chat/sessions");
    let started = sb
        .client()
        .post_json("/chat/sessions", &[], &json!({"session_id": session, "lang": "it"}))
        .await?
        .ok("start the chat")?;
    let reference = started.str("/reference").to_string();
    let token = started.str("/token").to_string();
    out.say(format!(
        "   ← {} {reference} ({}); the bot says: \"{}\"",
        started.status,
        started.str("/state"),
        short(started.str("/messages/0/body"))
    ));
    let auth = format!("Bearer {token}");
    let question = "Dove posso pagare un avviso pagoPA?";
    out.say(format!("   → user: POST /chat/sessions/{reference}/messages \"{question}\""));
    let answered = sb
        .client()
        .post_json(
            &format!("/chat/sessions/{reference}/messages"),
            &[("authorization", &auth)],
            &json!({"text": question}),
        )
        .await?
        .ok("write to the bot")?;
    let bot = answered.body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["from"] == "bot"))
        .cloned()
        .unwrap_or(Value::Null);
    let article = bot["article"].as_str().unwrap_or("");
    out.say(format!(
        "   ← the bot answers from the knowledge base (article `{article}`): \"{}\"",
        short(bot["body"].as_str().unwrap_or(""))
    ));
    expect(!article.is_empty(), || format!("the bot found no article: {}", answered.text))?;
    out.say(format!("   → user: POST /chat/sessions/{reference}/resolved (\"yes, that solved it\")"));
    let done = sb
        .client()
        .request("POST", &format!("/chat/sessions/{reference}/resolved"), &[("authorization", &auth)], Vec::new())
        .await?
        .ok("confirm the bot solved it")?;
    out.say(format!(
        "   ← {reference}: state {}, type {}; the bot says: \"{}\"",
        done.str("/state"),
        done.str("/ticket_type"),
        short(done.str("/messages/0/body"))
    ));
    expect(done.str("/state") == "auto_resolved" && done.str("/ticket_type") == "B", || {
        format!("expected auto_resolved, type B: {}", done.text)
    })?;
    let t = ticket(sb, Staff::Operator, &reference).await?;
    let operator_events = t["events"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["actor"]["role"] == "operator").count())
        .unwrap_or(usize::MAX);
    expect(operator_events == 0, || "an operator acted on a chat the bot solved".into())?;
    Ok(format!("{reference} resolved and closed by the bot, type B, no operator involved"))
}

async fn call_out_of_hours(sb: &dyn Stage, out: &mut Narrator) -> Result<String, String> {
    let rules = sb.rules();
    // The caller asks a basic question: the menu key of the default category, if it has one.
    let menu = cast::menu_key(rules, |c| c == rules.roles.default_category);
    let call = json!({"call_id": format!("demo-call-{}", uuid::Uuid::new_v4().simple()), "caller": "+390612345678", "menu": menu});
    out.say(format!("   → telephony platform: POST /voice/calls {call}"));
    let answer = sb.voice_call(&call).await?.ok("the call")?;
    let reference = answer.str("/reference").to_string();
    out.say(format!(
        "   ← {reference}: open={}, state {}, next opening {}",
        answer.body["open"],
        answer.str("/state"),
        answer.str("/next_opening")
    ));
    out.say(format!("     the IVR says: \"{}\"", answer.str("/prompt")));
    expect(answer.body["open"] == false && answer.str("/state") == "not_served", || {
        format!("expected a call not served: {}", answer.text)
    })?;
    let prompt = answer.str("/prompt");
    let alternatives = cast::voice_alternatives(rules);
    expect(alternatives.iter().any(|a| prompt.contains(a.as_str())), || {
        format!("no alternative channels in `{prompt}`")
    })?;
    sb.run_steps().await?;
    let queue = staff(sb, out, Staff::Operator, "GET", "/operator/queue", None).await?;
    let waiting =
        queue.body["tickets"].as_array().is_some_and(|t| t.iter().any(|t| t["reference"] == reference.as_str()));
    out.say(format!("   ← the operators' queue {} the call", if waiting { "shows" } else { "does not show" }));
    expect(!waiting, || "a call not served is in the operators' queue".into())?;
    Ok(format!("{reference} not served; the caller heard the hours and the other channels"))
}

async fn email_answered_from_the_knowledge_base(sb: &dyn Stage, out: &mut Narrator) -> Result<String, String> {
    let message_id = format!("demo-{}@mail.example.com", uuid::Uuid::new_v4().simple());
    let raw = format!(
        "From: Giulia Bianchi <giulia.bianchi@example.com>\r\nTo: assistenza@sportello.pagopa.it\r\n\
         Date: Mon, 07 Dec 2026 09:40:00 +0100\r\nMessage-ID: <{message_id}>\r\nSubject: Come pagare un avviso pagoPA\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Buongiorno, ho ricevuto un avviso di pagamento pagoPA: dove e come posso pagarlo?\r\nGrazie, Giulia\r\n"
    );
    out.say("   → mail gateway: POST /email/inbound (message/rfc822, \"Come pagare un avviso pagoPA\")");
    let got = sb.mail_in(raw.as_bytes()).await?.ok("hand over the mail")?;
    let reference = got.str("/reference").to_string();
    out.say(format!(
        "   ← {} {}: {reference}, acknowledgement {}",
        got.status,
        got.str("/action"),
        got.body["acknowledgement"]
    ));
    expect(got.str("/action") == "opened", || format!("expected a new ticket: {}", got.text))?;
    sb.run_steps().await?;
    let base = format!("/operator/tickets/{reference}");
    let t = staff(sb, out, Staff::Operator, "POST", &format!("{base}/take-in-charge"), None).await?;
    out.say(format!("   ← {}", ticket_line(&t.body)));
    let t =
        staff(sb, out, Staff::Operator, "POST", &format!("{base}/classify"), Some(json!({"ticket_type": "Q"}))).await?;
    out.say(format!("   ← {}", ticket_line(&t.body)));
    let hints = staff(sb, out, Staff::Operator, "GET", &format!("{base}/suggestions?limit=3"), None).await?;
    let top = hints.body["suggestions"].get(0).cloned().unwrap_or(Value::Null);
    for s in hints.body["suggestions"].as_array().into_iter().flatten() {
        out.say(format!(
            "   ← suggestion `{}`: \"{}\"",
            s["id"].as_str().unwrap_or(""),
            s["title"].as_str().unwrap_or("")
        ));
    }
    expect(top["id"] == "pay-pagopa-notice", || {
        format!("expected the article on paying a notice first: {}", hints.text)
    })?;
    let answer = format!(
        "Gentile utente,\n\n{}\n\n{}\n\nCordiali saluti,\nil Servizio Operatori di PagoPA",
        top["title"].as_str().unwrap_or(""),
        top["excerpt"].as_str().unwrap_or("")
    );
    let done = resolve(sb, out, Staff::Operator, &base, &answer).await?;
    expect(done.str("/state") == "resolved", || format!("expected resolved: {}", done.text))?;
    sb.run_steps().await?;
    // The reply is on the ticket (over HTTP), with the ids it was threaded on.
    let t = ticket(sb, Staff::Operator, &reference).await?;
    let reply = t["events"]
        .as_array()
        .and_then(|e| e.iter().rev().find(|e| e["kind"] == "message" && e["detail"]["from"] == "operator"))
        .map(|e| e["detail"].clone())
        .ok_or("no reply recorded on the ticket")?;
    let in_reply_to = reply["in_reply_to"].as_str().unwrap_or("");
    out.say(format!(
        "   ← reply mailed to the requester: \"{}\", In-Reply-To <{in_reply_to}>",
        reply["subject"].as_str().unwrap_or("")
    ));
    expect(in_reply_to == message_id, || format!("the reply is not threaded on the question: `{in_reply_to}`"))?;
    if let Some(mails) = sb.sent_mail().await? {
        let mailed = mails.iter().rev().find(|m| m.message_id == reply["message_id"].as_str().unwrap_or("-"));
        let mailed = mailed.ok_or("the reply is not in the outbox")?;
        out.say(format!(
            "   ← in the outbox: to {}, Message-ID <{}>, In-Reply-To {}",
            mailed.recipients.join(", "),
            mailed.message_id,
            mail_in_reply_to(&mailed.raw)
        ));
        let header = mail_in_reply_to(&mailed.raw);
        expect(header == format!("<{message_id}>"), || format!("the mail's In-Reply-To is `{header}`"))?;
        expect(mailed.recipients == ["giulia.bianchi@example.com"], || format!("mailed to {:?}", mailed.recipients))?;
    }
    Ok(format!("{reference} answered with the knowledge-base article, reply threaded on the requester's mail"))
}

/// The IO app opens a ticket for `request` through the ticket API, and its triage runs: the
/// first act of the scenes that escalate a client's request. Gives the ticket's reference.
async fn open_by_api(
    sb: &dyn Stage,
    out: &mut Narrator,
    request: &cast::ClientRequest,
    subject: &str,
    message: &str,
) -> Result<String, String> {
    let body = api_request(sb.rules(), request, subject, message);
    out.say(format!(
        "   → IO app: POST /api/v1/tickets ({} / {})",
        request.category,
        request.subcategory.as_deref().unwrap_or("-")
    ));
    let created = sb.api_post(&uuid::Uuid::new_v4().to_string(), &body).await?.ok("open the ticket")?;
    let reference = created.str("/reference").to_string();
    out.say(format!(
        "   ← {} {reference}: state {}, category {}",
        created.status,
        created.str("/state"),
        created.str("/category")
    ));
    sb.run_steps().await?;
    Ok(reference)
}

fn api_request(rules: &crate::rules::Model, request: &cast::ClientRequest, subject: &str, message: &str) -> Value {
    json!({
        "category": request.category,
        "subcategory": request.subcategory,
        "subject": subject,
        "message": message,
        "requester": {"name": "Mario Rossi", "email": "mario.rossi@example.it", "fiscal_code": "RSSMRA85T10A562S"},
        "fields": cast::payment_fields(rules),
    })
}

fn field_names(v: &Value) -> Vec<String> {
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

async fn specialist_request_escalated(sb: &dyn Stage, out: &mut Narrator) -> Result<String, String> {
    let rules = sb.rules();
    let request = cast::client_request(
        rules,
        &["io_pagamenti_pagopa/pagamenti_pagopa_doppio_addebito", "pagamento/doppio_addebito"],
        |c| cast::is_specialist_request(rules, c),
    )?;
    let targets = cast::targets_of(rules, request.ours);
    let [specialists, third_party] = targets.as_slice() else {
        return Err(format!("expected a PagoPA target and a third party, the flow offers {targets:?}"));
    };
    let reference = open_by_api(
        sb,
        out,
        &request,
        "Addebito doppio",
        "Ho pagato lo stesso avviso due volte dall'app IO e vedo due addebiti sulla carta.",
    )
    .await?;
    let base = format!("/operator/tickets/{reference}");
    staff(sb, out, Staff::Operator, "POST", &format!("{base}/take-in-charge"), None).await?;
    let t =
        staff(sb, out, Staff::Operator, "POST", &format!("{base}/classify"), Some(json!({"ticket_type": "Q"}))).await?;
    out.say(format!("   ← {} (section 3.4 types API specialist requests Q)", ticket_line(&t.body)));
    let mut sent = Vec::new();
    for (target, summary) in [
        (specialists, "Doppio addebito sullo stesso avviso: verificare le due transazioni."),
        (third_party, "Doppio addebito: il PSP verifichi lo storno della seconda transazione."),
    ] {
        let done = staff(
            sb,
            out,
            Staff::Operator,
            "POST",
            &format!("{base}/escalate"),
            Some(json!({"target": target, "summary": summary})),
        )
        .await?;
        let fields: Vec<String> = done.body["fields_sent"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(String::from))
            .collect();
        out.say(format!(
            "   ← escalated to {target}: state {}, fields sent: {}",
            done.str("/ticket/state"),
            fields.join(", ")
        ));
        sent.push((target, fields, done.str("/escalation_id").to_string()));
    }
    let queue = queue_of(rules, specialists).ok_or_else(|| format!("{specialists} has no queue"))?;
    match sb.escalations_on(&queue).await? {
        Some(picked) => {
            let message = picked
                .iter()
                .find(|m| m["reference"] == reference.as_str())
                .ok_or("nothing on the specialists' queue")?;
            out.say(format!(
                "   ← on queue {queue}: {} for {}, reply to {}, fields {}",
                message["schema"].as_str().unwrap_or(""),
                message["reference"].as_str().unwrap_or(""),
                message["reply_to"].as_str().unwrap_or("-"),
                field_names(&message["fields"]).join(", ")
            ));
        }
        None => out.say(format!("   (queue {queue} is the server's: not read here)")),
    }
    if let Some(mails) = sb.sent_mail().await? {
        let mail = mails
            .iter()
            .rev()
            .find(|m| m.ticket_reference.as_deref() == Some(reference.as_str()))
            .ok_or("no escalation mail")?;
        out.say(format!("   ← mailed to {}: \"{}\"", mail.recipients.join(", "), mail_subject(&mail.raw)));
    }
    let third = &sent[1].1;
    expect(!third.iter().any(|f| f.starts_with("requester.")), || {
        format!("third parties got requester data: {third:?}")
    })?;
    expect(sent[0].1.iter().any(|f| f == "requester.fiscal_code"), || {
        "the specialists did not get the fiscal code".into()
    })?;

    out.say(format!("   → {}: POST {base}/resolve (too early)", sb.staff_id(Staff::Operator)));
    let early = sb.staff(Staff::Operator, "POST", &format!("{base}/resolve"), Some(&json!({"answer": "x"}))).await?;
    out.say(format!("   ← {} \"{}\"", early.status, early.str("/detail")));
    expect(early.status == 409, || format!("resolving before the notices should be refused: {}", early.text))?;

    for ((target, _, escalation_id), notice) in sent.iter().zip([
        "Confermato il doppio addebito; rimborso della seconda transazione avviato.",
        "Storno eseguito dal PSP il 7/12.",
    ]) {
        let how = format!("HMAC-signed, escalation {escalation_id}");
        send_notice(sb, out, target, &reference, escalation_id, notice, &how).await?;
    }
    let answer = "Il secondo addebito è stato stornato: lo vedrai sulla carta entro 5 giorni lavorativi.";
    resolve(sb, out, Staff::Operator, &base, answer).await?;
    out.say(format!("   → IO app: GET /api/v1/tickets/{reference}"));
    let status = sb.api_status(&reference).await?.ok("read the status")?;
    out.say(format!(
        "   ← {}: state {}, type {}",
        status.str("/reference"),
        status.str("/state"),
        status.str("/ticket_type")
    ));
    expect(status.str("/state") == "resolved", || format!("expected resolved: {}", status.text))?;
    Ok(format!("{reference} escalated to the specialists and a third party, resolved on both notices"))
}

async fn malfunction_during_an_incident(sb: &dyn Stage, out: &mut Narrator) -> Result<String, String> {
    let incident = staff(
        sb,
        out,
        Staff::Supervisor,
        "POST",
        "/operator/incidents",
        Some(json!({
            "service": "pagopa",
            "title": "Pagamenti con carta non disponibili",
            "restoration_info": "Il servizio di pagamento con carta sarà ripristinato entro le 12:00."
        })),
    )
    .await?;
    let incident_id = incident.str("/id").to_string();
    out.say(format!("   ← incident {incident_id} active on `pagopa`"));
    let rules = sb.rules();
    let menu =
        cast::menu_key(rules, |c| cast::is_malfunction(rules, c)).ok_or("the IVR menu offers no malfunction report")?;
    let call = json!({"call_id": format!("demo-call-{}", uuid::Uuid::new_v4().simple()), "caller": "+393331234567", "menu": menu});
    out.say(format!("   → telephony platform: POST /voice/calls {call}"));
    let answer = sb.voice_call(&call).await?.ok("the call")?;
    let reference = answer.str("/reference").to_string();
    out.say(format!("   ← {reference}: open={}, the IVR says: \"{}\"", answer.body["open"], answer.str("/prompt")));
    expect(answer.body["open"] == true, || format!("the call should reach an operator: {}", answer.text))?;
    sb.run_steps().await?;
    let base = format!("/operator/tickets/{reference}");
    staff(sb, out, Staff::Operator, "POST", &format!("{base}/take-in-charge"), None).await?;
    let checked =
        staff(sb, out, Staff::Operator, "POST", &format!("{base}/check-incidents"), Some(json!({"service": "pagopa"})))
            .await?;
    let info = checked.str("/incident/restoration_info").to_string();
    out.say(format!(
        "   ← {}; incident {}: \"{info}\"",
        ticket_line(&checked.body["ticket"]),
        checked.str("/incident/id")
    ));
    expect(checked.str("/ticket/ticket_type") == "Q" && !info.is_empty(), || {
        format!("expected Q with restoration info: {}", checked.text)
    })?;
    resolve(sb, out, Staff::Operator, &base, &info).await?;
    staff(sb, out, Staff::Operator, "POST", &format!("{base}/close-contact"), None).await?;
    out.say("   ← call ended");
    staff(
        sb,
        out,
        Staff::Supervisor,
        "POST",
        &format!("/operator/incidents/{incident_id}/resolve"),
        Some(json!({"closing_text": "I pagamenti con carta funzionano di nuovo."})),
    )
    .await?;
    sb.run_steps().await?;
    let t = ticket(sb, Staff::Operator, &reference).await?;
    let told = t["events"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["detail"]["incident_resolved"] == incident_id.as_str()));
    out.say(format!(
        "   ← the incident's closing notice {} on {reference}",
        if told { "is noted" } else { "is missing" }
    ));
    expect(t["ticket"]["state"] == "resolved" && told, || format!("expected resolved with the incident note: {t}"))?;
    Ok(format!("{reference} answered with the restoration info (type Q), no escalation"))
}

async fn privacy_breach(sb: &dyn Stage, out: &mut Narrator) -> Result<String, String> {
    let rules = sb.rules();
    let request = cast::client_request(rules, &["io_privacy/privacy_violazione_dati"], |c| cast::is_breach(rules, c))?;
    let dpo =
        cast::targets_of(rules, request.ours).into_iter().next().ok_or("the breach flow escalates to no target")?;
    let privacy_team = rules.privacy_team().map_or("", |t| t.as_str());
    let reference = open_by_api(
        sb,
        out,
        &request,
        "Vedo i dati di un'altra persona",
        "Nell'app IO vedo i documenti e le ricevute di un'altra persona.",
    )
    .await?;
    let base = format!("/operator/tickets/{reference}");
    out.say(format!("   → {}: POST {base}/take-in-charge (no privacy role)", sb.staff_id(Staff::Operator)));
    let refused = sb.staff(Staff::Operator, "POST", &format!("{base}/take-in-charge"), None).await?;
    out.say(format!("   ← {} \"{}\"", refused.status, refused.str("/detail")));
    expect(refused.status == 403, || format!("privacy tickets are for the privacy team: {}", refused.text))?;
    staff(sb, out, Staff::PrivacyOperator, "POST", &format!("{base}/take-in-charge"), None).await?;
    let t =
        staff(sb, out, Staff::PrivacyOperator, "POST", &format!("{base}/classify"), Some(json!({"ticket_type": "PI"})))
            .await?;
    out.say(format!("   ← {}", ticket_line(&t.body)));
    let breach = t.body["deadlines"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["kind"].as_str().is_some_and(|k| k.contains("breach"))))
        .cloned()
        .unwrap_or(Value::Null);
    let due: Option<jiff::Timestamp> = breach["due"].as_str().and_then(|d| d.parse().ok());
    let opened: Option<jiff::Timestamp> = t.body["created_at"].as_str().and_then(|d| d.parse().ok());
    let hours = due.zip(opened).map(|(d, o)| (d.as_second() - o.as_second()) / 3600);
    out.say(format!(
        "   ← deadline {} due {} ({} h after the report)",
        breach["kind"].as_str().unwrap_or("-"),
        breach["due"].as_str().unwrap_or("-"),
        hours.map_or_else(|| "?".to_string(), |h| h.to_string())
    ));
    expect(t.str("/team") == privacy_team && hours == Some(72), || {
        format!("expected the privacy team and the 72 h breach deadline: {}", t.text)
    })?;
    let done = staff(
        sb,
        out,
        Staff::PrivacyOperator,
        "POST",
        &format!("{base}/escalate"),
        Some(
            json!({"target": dpo, "summary": "Possibile violazione di dati personali: dati di terzi visibili in IO."}),
        ),
    )
    .await?;
    out.say(format!("   ← escalated to {dpo}: state {}", done.str("/ticket/state")));
    let escalation_id = done.str("/escalation_id").to_string();
    let queue = queue_of(rules, &dpo).ok_or_else(|| format!("{dpo} has no queue"))?;
    match sb.escalations_on(&queue).await? {
        Some(picked) => {
            let message =
                picked.iter().find(|m| m["reference"] == reference.as_str()).ok_or("nothing on the privacy queue")?;
            out.say(format!("   ← on queue {queue}: fields {}", field_names(&message["fields"]).join(", ")));
        }
        None => out.say(format!("   (queue {queue} is the server's: not read here)")),
    }
    let notice = "Violazione confermata e notificata al Garante; l'utente è stato informato.";
    send_notice(sb, out, &dpo, &reference, &escalation_id, notice, "HMAC-signed").await?;
    let answer = "Abbiamo verificato la segnalazione con il DPO di PagoPA: l'accesso è stato bloccato.";
    let done = resolve(sb, out, Staff::PrivacyOperator, &base, answer).await?;
    expect(done.str("/state") == "resolved", || format!("expected resolved: {}", done.text))?;
    Ok(format!("{reference} typed PI on the privacy team, escalated to the DPO within the 72 h clock, resolved"))
}
