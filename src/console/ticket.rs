//! The ticket page: the requester (as much as the role may see), the whole conversation, the
//! audit timeline, the deadlines with the time left, the rulebook path with the current step,
//! and exactly the actions the flow allows next; and the actions themselves, each calling the
//! engine function the operator API calls.

use super::Console;
use super::auth::{Desk, Posted, desk_message, html, see_other};
use super::view::{self, Choice, Frame};
use crate::domain::{Event, EventKind, Ticket, TicketState, TicketType};
use crate::engine::flow_path::{PathNode, StepMark, flow_path};
use crate::engine::{Engine, FlowGuard, SlaState};
use crate::http::Problem;
use crate::http::operator::{authorize, check_reassign_privacy, is_privacy};
use crate::http::operator_auth::{Endpoint, PRIVACY_ROLE, Role};
use crate::i18n::{Tr, fill, lookup, step_label};
use crate::ports::EscalationRoute;
use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// A refusal shown beside the action that caused it.
pub struct ActionRefusal {
    pub action: String,
    pub title: &'static str,
    pub detail: String,
    /// The engine's words are English; marked so a screen reader reads them as such.
    pub detail_lang: &'static str,
}

fn refusal(t: Tr, action: &str, p: &Problem) -> ActionRefusal {
    let title = match p.status {
        409 => t.refused_conflict(),
        422 | 400 => t.refused_invalid(),
        401 | 403 => t.refused_forbidden(),
        404 => t.refused_not_found(),
        _ => t.refused_unavailable(),
    };
    ActionRefusal { action: action.to_string(), title, detail: p.detail.clone(), detail_lang: "en" }
}

/// A whole page for a refusal that has no action to sit beside.
pub fn refusal_page(desk: &Desk, p: Problem) -> Response {
    let r = refusal(desk.t, "", &p);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    desk_message(desk, status, r.title, &r.detail)
}

pub struct Pair {
    pub label: String,
    pub value: String,
}

pub struct DeadlineRow {
    pub label: String,
    pub due: String,
    pub left: String,
    pub state: &'static str,
    pub state_label: &'static str,
}

pub struct EscalationRow {
    pub sent: String,
    pub notice: Option<(String, String)>,
}

pub struct Said {
    pub seq: usize,
    pub who: String,
    /// `requester`, `bot`, `operator`, `note`, `system`: how it is drawn.
    pub side: &'static str,
    pub at: String,
    pub subject: Option<String>,
    pub body: String,
    pub attachments: Vec<String>,
}

impl Said {
    /// A line with no subject nor attachments (a note, an answer sent); numbered later.
    fn plain(who: String, side: &'static str, at: String, body: String) -> Said {
        Said { seq: 0, who, side, at, subject: None, body, attachments: Vec::new() }
    }
}

pub struct TimelineRow {
    pub at: String,
    pub actor: String,
    pub what: String,
    pub detail: String,
}

pub struct Suggestion {
    pub id: String,
    pub title: String,
    pub excerpt: String,
    pub text: String,
}

pub struct Preview {
    pub target: String,
    /// Ticket data the target does not get, by the rulebook's reason (the reason in words, the
    /// fields).
    pub withheld: Vec<(&'static str, Vec<String>)>,
    pub name: String,
    pub heading: String,
    pub route: String,
    pub subject: Option<String>,
    pub body: String,
    pub fields: Vec<String>,
    pub selected: bool,
}

pub struct ReminderView {
    pub text: String,
    pub how: &'static str,
    pub reference: String,
    pub may_open: bool,
}

#[derive(Default)]
pub struct Actions {
    pub take: bool,
    /// The types the operator may choose while taking the ticket in charge (none: no choice).
    pub take_types: Vec<Choice>,
    pub categorize: Vec<Choice>,
    pub classify: Vec<Choice>,
    pub check_incidents: bool,
    pub reminder: bool,
    pub reminder_result: Option<ReminderView>,
    pub answer: bool,
    pub suggestions: Option<Vec<Suggestion>>,
    pub kb_query: String,
    pub answer_text: String,
    pub escalate: Vec<Preview>,
    pub summary: String,
    pub close_contact: bool,
    pub note: bool,
    pub note_text: String,
    pub chat: bool,
    pub chat_text: String,
    /// A supervisor moves the ticket to another operator (or back to the queue).
    pub reassign: bool,
    pub reassign_to: String,
    pub reassign_reason: String,
}

impl Actions {
    pub fn any(&self) -> bool {
        self.take
            || !self.categorize.is_empty()
            || !self.classify.is_empty()
            || self.check_incidents
            || self.reminder
            || self.answer
            || !self.escalate.is_empty()
            || self.close_contact
            || self.reassign
    }
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    frame: Frame,
    reference: String,
    heading: String,
    flash: Option<String>,
    error: Option<ActionRefusal>,
    summary: Vec<Pair>,
    requester: Vec<Pair>,
    requester_note: Option<&'static str>,
    fields: Vec<Pair>,
    deadlines: Vec<DeadlineRow>,
    escalations: Vec<EscalationRow>,
    conversation: Conversation,
    timeline: Vec<TimelineRow>,
    path_html: String,
    actions: Actions,
    state_class: &'static str,
    state_label: String,
}

impl TicketPage {
    fn error_for(&self, action: &str) -> Option<&ActionRefusal> {
        self.error.as_ref().filter(|e| e.action == action)
    }

    fn any_target_selected(&self) -> bool {
        self.actions.escalate.iter().any(|p| p.selected)
    }

    fn conversation_html(&self) -> String {
        self.conversation.render().unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "conversation.html")]
pub struct Conversation {
    pub t: Tr,
    pub items: Vec<Said>,
    pub live: bool,
    pub poll_href: String,
}

/// What the request asked beyond the page itself: a knowledge-base search, an article to use,
/// a preview of an escalation, text the operator had typed before a refusal.
#[derive(Default)]
struct Draft {
    kb_query: Option<String>,
    use_article: Option<String>,
    target: Option<String>,
    summary: String,
    answer: String,
    note: String,
    chat: String,
    reassign_to: String,
    reassign_reason: String,
}

async fn load(console: &Console, desk: &Desk, reference: &str) -> Result<(Ticket, Vec<Event>), Response> {
    let (ticket, _) = authorize(&console.api, &desk.who, Endpoint::Ticket, reference).await.map_err(|p| {
        if p.status == 404 || p.status == 403 {
            // A privacy ticket is answered like a missing one: its existence is not shown.
            desk_message(desk, StatusCode::NOT_FOUND, desk.t.not_found_title(), desk.t.not_found_text())
        } else {
            refusal_page(desk, p)
        }
    })?;
    let events = console
        .api
        .engine
        .ports
        .events
        .list(&ticket.id)
        .await
        .map_err(|e| refusal_page(desk, crate::engine::EngineError::from(e).into()))?;
    Ok((ticket, events))
}

/// The ticket a page shows, with its events, once the signed-in operator may see it; rejected
/// with the page that says why (sign-in, not found, the store failing).
pub struct Shown {
    desk: Desk,
    ticket: Ticket,
    events: Vec<Event>,
}

impl FromRequestParts<Console> for Shown {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let desk = Desk::from_request_parts(parts, console).await?;
        let Path(reference) =
            Path::<String>::from_request_parts(parts, console).await.map_err(IntoResponse::into_response)?;
        let (ticket, events) = load(console, &desk, &reference).await?;
        Ok(Shown { desk, ticket, events })
    }
}

pub async fn page(
    State(console): State<Console>,
    Shown { desk, ticket, events }: Shown,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let draft = Draft {
        kb_query: q.get("q").filter(|s| !s.trim().is_empty()).cloned(),
        use_article: q.get("use").cloned(),
        ..Draft::default()
    };
    let flash = q.get("done").map(|d| done_text(&console.api.engine, desk.t, d, &q, &ticket, &events));
    render(&console, &desk, ticket, events, draft, flash, None, StatusCode::OK).await
}

fn done_text(
    engine: &Engine,
    t: Tr,
    done: &str,
    q: &HashMap<String, String>,
    ticket: &Ticket,
    events: &[Event],
) -> String {
    match done {
        "take" if q.contains_key("classified") => t.done_take_classify().into(),
        "take" => t.done_take().into(),
        "categorize" => t.done_categorize().into(),
        "classify" => t.done_classify().into(),
        "note" => t.done_note().into(),
        "close-contact" => t.done_close_contact().into(),
        "resolve" => t.done_resolve().into(),
        "chat" => t.done_chat().into(),
        "reassign" => match q.get("to").filter(|to| !to.is_empty()) {
            Some(to) => fill(t.done_reassign(), &[("id", to)]),
            None => t.done_reassign_queue().into(),
        },
        "reminder" => String::new(),
        "escalate" => {
            let target = q.get("target").map(String::as_str).unwrap_or_default();
            fill(t.done_escalate(), &[("target", view::target_name(engine, t.lang, target))])
        }
        "check-incidents" => {
            let noted = events.iter().rev().find(|e| {
                e.kind == EventKind::Note
                    && e.detail.get("step").and_then(|s| s.as_str()) == Some("check_active_incidents")
            });
            match noted.and_then(|e| e.detail.get("incident")).and_then(|i| i.as_str()) {
                Some(id) => fill(
                    t.done_check_active(),
                    &[
                        ("title", id),
                        (
                            "info",
                            noted
                                .and_then(|e| e.detail.get("restoration_info"))
                                .and_then(|i| i.as_str())
                                .unwrap_or("—"),
                        ),
                    ],
                ),
                None if ticket.ticket_type == Some(TicketType::I) => t.done_check_none().into(),
                None => String::new(),
            }
        }
        _ => String::new(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    console: &Console,
    desk: &Desk,
    ticket: Ticket,
    events: Vec<Event>,
    draft: Draft,
    flash: Option<String>,
    error: Option<ActionRefusal>,
    status: StatusCode,
) -> Response {
    let t = desk.t;
    let lang = t.lang;
    let engine = &console.api.engine;
    let now = engine.now();
    let who = &desk.who;
    let reference = ticket.reference.to_string();
    let guard = FlowGuard::of(&engine.rules, &ticket);

    let mut summary = vec![
        Pair { label: t.field_type().into(), value: view::type_label(t, ticket.ticket_type).into() },
        Pair {
            label: t.field_category().into(),
            value: view::category_name(engine, lang, ticket.category.as_deref()).into(),
        },
        Pair { label: t.field_channel().into(), value: view::channel_name(engine, lang, &ticket.channel).into() },
        Pair { label: t.field_team().into(), value: view::team_name(engine, lang, &ticket.team).into() },
        Pair {
            label: t.field_assignee().into(),
            value: match &ticket.assignee {
                Some(a) if a == &who.id => format!("{a} ({})", t.you()),
                Some(a) => a.clone(),
                None => t.nobody().into(),
            },
        },
        Pair { label: t.field_opened().into(), value: view::when(engine, ticket.created_at) },
    ];
    if let Some(s) = &ticket.subject {
        summary.push(Pair { label: t.field_subject().into(), value: s.clone() });
    }
    if let Some(r) = &ticket.related {
        summary.push(Pair { label: t.field_related().into(), value: r.to_string() });
    }

    // The requester: whole for whoever works tickets; masked for a supervisor, who oversees
    // the work but does not contact citizens.
    let works_tickets = who.has(Role::Operator) || who.has(PRIVACY_ROLE);
    let mask = |v: &str| -> String {
        if works_tickets {
            return v.to_string();
        }
        let keep: String = v.chars().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
        format!("•••{keep}")
    };
    let r = &ticket.requester;
    let requester: Vec<Pair> = [
        (t.requester_name(), r.name.as_deref()),
        (t.requester_email(), r.email.as_deref()),
        (t.requester_phone(), r.phone.as_deref()),
        (t.requester_fiscal_code(), r.fiscal_code.as_deref()),
    ]
    .into_iter()
    .filter_map(|(label, v)| v.map(|v| Pair { label: label.into(), value: mask(v) }))
    .collect();
    let requester_note = if requester.is_empty() {
        Some(t.requester_none())
    } else if !works_tickets {
        Some(t.requester_masked())
    } else {
        None
    };
    let fields: Vec<Pair> = ticket
        .fields
        .iter()
        .map(|(name, value)| Pair {
            label: view::rulebook_text(engine.rules.custom_fields.get(name).map(|f| &f.label), lang, name).into(),
            value: value.clone(),
        })
        .collect();

    let deadlines = engine
        .deadline_statuses(&ticket, now)
        .into_iter()
        .map(|d| {
            let left = view::span(t, d.left);
            let text = match (d.left.is_negative(), d.business_time) {
                (false, true) => fill(t.left_business(), &[("left", &left)]),
                (false, false) => fill(t.left_calendar(), &[("left", &left)]),
                (true, true) => fill(t.overdue_business(), &[("left", &left)]),
                (true, false) => fill(t.overdue_calendar(), &[("left", &left)]),
            };
            DeadlineRow {
                label: lookup(t, &format!("deadline_{}", d.kind)).map_or(d.kind.clone(), str::to_string),
                due: fill(t.deadline_due(), &[("due", &view::when(engine, d.due))]),
                left: if d.state == SlaState::Met { String::new() } else { text },
                state: d.state.as_str(),
                state_label: view::sla_label(t, Some(d.state)),
            }
        })
        .collect();
    let escalations = ticket
        .escalations
        .iter()
        .map(|e| EscalationRow {
            sent: fill(
                t.escalation_sent(),
                &[("target", view::target_name(engine, lang, &e.target)), ("at", &view::when(engine, e.sent_at))],
            ),
            notice: e.notice_at.map(|at| {
                let body = crate::engine::notice_body(e, &events).unwrap_or_default().to_string();
                (fill(t.escalation_notice(), &[("at", &view::when(engine, at))]), body)
            }),
        })
        .collect();

    let conversation = conversation_of(engine, t, &ticket, &events, 0);
    let timeline = timeline_of(engine, t, &events);
    let path_html = path_html(t, engine, &flow_path(&engine.rules, &ticket, &events));

    // What the flow allows next, for this caller: the same checks the engine makes, so what is
    // shown is what would be accepted.
    let mut actions = Actions {
        summary: draft.summary.clone(),
        note_text: draft.note.clone(),
        chat_text: draft.chat.clone(),
        ..Actions::default()
    };
    // Another operator's ticket is theirs until a supervisor reassigns it (the engine's rule).
    let may = |e: Endpoint| {
        who.require(e).is_ok_and(|actor| crate::engine::operator::check_in_charge(&ticket, &actor).is_ok())
    };
    let working = matches!(ticket.state, TicketState::TakenInCharge | TicketState::InProgress);
    if let Some(g) = &guard {
        actions.take = may(Endpoint::TakeInCharge) && g.check_take_in_charge(&ticket).is_ok();
        let untyped = ticket.ticket_type.is_none() && ticket.escalations.is_empty();
        if may(Endpoint::Categorize) && working && untyped {
            actions.categorize = engine
                .operator_categories(&ticket.channel)
                .into_iter()
                .map(|id| Choice {
                    label: view::category_name(engine, lang, Some(&id)).into(),
                    selected: ticket.category.as_deref() == Some(id.as_str()),
                    value: id,
                })
                .collect();
        }
        let by_incidents = g.allows_step(None, "check_active_incidents");
        let types = || -> Vec<Choice> {
            g.classify_types()
                .into_iter()
                .map(|ty| Choice {
                    value: ty.code().into(),
                    label: view::type_label(t, Some(ty)).into(),
                    selected: false,
                })
                .collect()
        };
        let classifiable = ticket.ticket_type.is_none() && !by_incidents && may(Endpoint::Classify);
        if actions.take && classifiable {
            actions.take_types = types();
        }
        if classifiable && working {
            actions.classify = types();
        }
        actions.check_incidents =
            may(Endpoint::CheckIncidents) && working && ticket.ticket_type.is_none() && by_incidents;
        let typed_or_free = ticket.ticket_type.is_some() || !g.classifies();
        actions.reminder = may(Endpoint::ReminderLookup)
            && working
            && typed_or_free
            && g.allows_step(ticket.ticket_type, crate::engine::CHECK_REFERENCED);
        actions.reminder_result = reminder_view(engine, t, who.has(PRIVACY_ROLE), &events).await;
        actions.answer = may(Endpoint::Resolve) && g.check_resolve(&ticket).is_ok();
        if may(Endpoint::Escalate) && typed_or_free && !ticket.state.is_final() && ticket.state != TicketState::New {
            let offered: Vec<String> = g
                .escalation_targets(ticket.ticket_type)
                .into_iter()
                .filter(|target| g.check_escalate(&ticket, target).is_ok())
                .collect();
            if !offered.is_empty() {
                let summary =
                    if draft.summary.trim().is_empty() { t.summary_placeholder() } else { draft.summary.as_str() };
                // The engine builds each preview exactly as the escalation would.
                let previews =
                    engine.escalation_preview(&ticket.id, None, Some(summary), &console.api.escalation).await;
                for p in previews.unwrap_or_default().into_iter().filter(|p| offered.contains(&p.target)) {
                    actions.escalate.push(preview(engine, t, p, draft.target.as_deref()));
                }
            }
        }
        let contact_closed = events.iter().any(|e| e.kind == EventKind::ContactClosed);
        actions.close_contact = may(Endpoint::CloseContact) && g.check_close_contact(&ticket, contact_closed).is_ok();
    }
    actions.note = may(Endpoint::Note) && !ticket.state.is_final();
    actions.reassign = who.require(Endpoint::Reassign).is_ok()
        && ticket.assignee.is_some()
        && matches!(
            ticket.state,
            TicketState::TakenInCharge | TicketState::InProgress | TicketState::AwaitingResolutionNotice
        );
    actions.reassign_to = draft.reassign_to.clone();
    actions.reassign_reason = draft.reassign_reason.clone();
    actions.chat = may(Endpoint::Resolve)
        && Engine::chat_is_live(&ticket, &events)
        && ticket.assignee.as_deref() == Some(who.id.as_str());
    if actions.answer {
        let hits = engine
            .suggestions(&console.api.knowledge, &ticket.id, draft.kb_query.as_deref(), None, 4)
            .await
            .unwrap_or_default();
        actions.kb_query = draft.kb_query.clone().unwrap_or_default();
        let items: Vec<Suggestion> = hits
            .into_iter()
            .map(|h| Suggestion {
                text: article_text(engine, &h.id, &h.lang).unwrap_or_else(|| format!("{}\n\n{}", h.title, h.excerpt)),
                id: h.id,
                title: h.title,
                excerpt: h.excerpt,
            })
            .collect();
        actions.answer_text = match &draft.use_article {
            Some(id) => {
                items.iter().find(|s| &s.id == id).map(|s| s.text.clone()).unwrap_or_else(|| draft.answer.clone())
            }
            None => draft.answer.clone(),
        };
        actions.suggestions = Some(items);
    } else {
        // A refused answer stays in its box, beside the refusal.
        actions.answer_text = draft.answer.clone();
    }

    let state_label = view::state_label(t, ticket.state).to_string();
    let state_class = ticket.state.as_str();
    let heading = fill(t.ticket_title(), &[("reference", &reference)]);
    let page = TicketPage {
        frame: desk.frame_at(heading.clone(), "", &format!("/tickets/{reference}")),
        reference,
        heading,
        flash: flash.filter(|f| !f.is_empty()),
        error,
        summary,
        requester,
        requester_note,
        fields,
        deadlines,
        escalations,
        conversation,
        timeline,
        path_html,
        actions,
        state_class,
        state_label,
    };
    html(status, &page)
}

fn preview(engine: &Engine, t: Tr, p: crate::engine::EscalationPreview, selected: Option<&str>) -> Preview {
    let name = view::target_name(engine, t.lang, &p.target).to_string();
    let (route, subject, body) = match (&p.route, &p.mail) {
        (_, Some(mail)) => {
            (fill(t.preview_by_mail(), &[("to", &mail.to.join(", "))]), Some(mail.subject.clone()), mail.text.clone())
        }
        (EscalationRoute::Queue { queue }, None) => (
            fill(t.preview_by_queue(), &[("queue", queue)]),
            None,
            serde_json::to_string_pretty(&p.message).unwrap_or_default(),
        ),
        (_, None) => (String::new(), None, serde_json::to_string_pretty(&p.message).unwrap_or_default()),
    };
    let mut fields: Vec<String> = p.message.fields.keys().cloned().collect();
    for (present, name) in [
        (p.message.ticket_type.is_some(), "ticket_type"),
        (p.message.category.is_some(), "category"),
        (p.message.channel.is_some(), "channel"),
    ] {
        if present {
            fields.push(name.into());
        }
    }
    Preview {
        withheld: withheld_by_reason(t, &p.withheld),
        heading: fill(t.preview_title(), &[("target", &name)]),
        selected: selected == Some(p.target.as_str()),
        target: p.target,
        name,
        route,
        subject,
        body,
        fields,
    }
}

/// An article's text for an answer: its title and body, markdown marks dropped.
fn article_text(engine: &Engine, id: &str, lang: &str) -> Option<String> {
    let a = engine.rules.knowledge.articles.iter().find(|a| a.meta.id == id && a.meta.lang == lang)?;
    let body: Vec<String> = a
        .body
        .lines()
        .map(|l| {
            let l = l.trim_start_matches('#').trim_start();
            let l = l.strip_prefix("* ").map_or(l.to_string(), |r| format!("- {r}"));
            l.replace("**", "").replace('`', "")
        })
        .collect();
    Some(format!("{}\n\n{}", a.meta.title, body.join("\n").trim()))
}

async fn reminder_view(engine: &Engine, t: Tr, privacy_caller: bool, events: &[Event]) -> Option<ReminderView> {
    let noted = events.iter().rev().find(|e| {
        e.kind == EventKind::Note
            && e.detail.get("step").and_then(|s| s.as_str()) == Some(crate::engine::CHECK_REFERENCED)
    })?;
    let reference = noted.detail.get("referenced")?.as_str()?.to_string();
    let by_reference = noted.detail.get("found_by").and_then(|f| f.as_str()) == Some("reference");
    let referenced = engine.ticket_by_reference(&reference).await.ok();
    let may_open = referenced.as_ref().is_some_and(|r| privacy_caller || !is_privacy(engine, r));
    let state = referenced.as_ref().map(|r| view::state_label(t, r.state)).unwrap_or("—");
    Some(ReminderView {
        text: fill(t.reminder_found(), &[("reference", &reference), ("state", state)]),
        how: if by_reference { t.reminder_found_by_reference() } else { t.reminder_found_by_requester() },
        reference,
        may_open,
    })
}

fn text_of(v: Option<&serde_json::Value>) -> Option<String> {
    v.and_then(|v| v.as_str()).map(str::to_string)
}

/// The conversation in order: what the requester, the bot and the operators said, the mails'
/// attachments, the call's notes, and the answers sent.
pub fn conversation_of(engine: &Engine, t: Tr, ticket: &Ticket, events: &[Event], after: usize) -> Conversation {
    let mut items: Vec<Said> = Vec::new();
    // An answer delivered as a message (a mail, a chat line) is shown once, as that message.
    let delivered: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == EventKind::Message)
        .filter_map(|e| e.detail.get("answer_id").and_then(|a| a.as_str()))
        .collect();
    let mut first_mail = None;
    for e in events {
        let d = &e.detail;
        let at = view::when(engine, e.at);
        match e.kind {
            EventKind::Message | EventKind::Reminder if d.get("body").is_some() => {
                let from = d.get("from").and_then(|f| f.as_str()).unwrap_or("requester");
                let (who, side) = match from {
                    "user" => (t.from_user().to_string(), "requester"),
                    "bot" => (t.from_bot().to_string(), "bot"),
                    "sportello" | "system" => (t.from_system().to_string(), "bot"),
                    "operator" => (
                        fill(
                            t.from_operator(),
                            &[("id", d.get("operator").and_then(|o| o.as_str()).unwrap_or(&e.actor.id))],
                        ),
                        "operator",
                    ),
                    _ => (t.from_requester().to_string(), "requester"),
                };
                let attachments = attachment_names(d.get("attachments"));
                items.push(Said {
                    seq: 0,
                    who,
                    side,
                    at,
                    subject: text_of(d.get("subject")),
                    body: text_of(d.get("body")).unwrap_or_default(),
                    attachments,
                });
            }
            EventKind::Note if d.get("email").is_some() => {
                // The first mail's envelope, stored with the ticket (before or after its message,
                // as the intake wrote them): placed on the first message once all are read.
                first_mail = d.get("email");
            }
            EventKind::Note if d.get("text").is_some() && ticket.channel_kind == crate::domain::ChannelKind::Voice => {
                items.push(Said::plain(
                    format!("{} · {}", t.voice_note(), e.actor.id),
                    "note",
                    at,
                    text_of(d.get("text")).unwrap_or_default(),
                ));
            }
            EventKind::Note if d.get("callback").is_some() => {
                let phone = d.get("callback").and_then(|c| c.get("phone")).and_then(|p| p.as_str()).unwrap_or("—");
                items.push(Said::plain(
                    t.voice_note().to_string(),
                    "note",
                    at,
                    format!("{}: {phone}", t.callback_number()),
                ));
            }
            EventKind::Answered
                if ticket.channel_kind != crate::domain::ChannelKind::Chat
                    && !d.get("answer_id").and_then(|a| a.as_str()).is_some_and(|a| delivered.contains(&a)) =>
            {
                items.push(Said::plain(
                    format!("{} · {}", t.answer_sent(), e.actor.id),
                    "operator",
                    at,
                    text_of(d.get("body")).unwrap_or_default(),
                ));
            }
            _ => {}
        }
    }
    if let Some(mail) = first_mail
        && let Some(first) = items.iter_mut().find(|s| s.side == "requester")
    {
        if first.attachments.is_empty() {
            first.attachments = attachment_names(mail.get("attachments"));
        }
        if first.subject.is_none() {
            first.subject = text_of(mail.get("subject"));
        }
    }
    for (i, s) in items.iter_mut().enumerate() {
        s.seq = i + 1;
    }
    let items = items.into_iter().filter(|s| s.seq > after).collect();
    Conversation {
        t,
        items,
        live: Engine::chat_is_live(ticket, events),
        poll_href: format!("/tickets/{}/conversation", ticket.reference),
    }
}

fn attachment_names(v: Option<&serde_json::Value>) -> Vec<String> {
    v.and_then(|a| a.as_array())
        .map(|list| {
            list.iter()
                .filter(|a| !a.get("inline").and_then(|i| i.as_bool()).unwrap_or(false))
                .map(|a| {
                    let name = a.get("filename").and_then(|f| f.as_str()).unwrap_or("(senza nome)");
                    let size = a.get("size").and_then(|s| s.as_u64()).unwrap_or(0);
                    format!("{name} ({} KB)", size.div_ceil(1024))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn timeline_of(engine: &Engine, t: Tr, events: &[Event]) -> Vec<TimelineRow> {
    events
        .iter()
        .map(|e| {
            let kind =
                serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let d = &e.detail;
            let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let detail = match e.kind {
                EventKind::Classified => s("to"),
                EventKind::Categorized => {
                    format!("{} → {}", category(engine, t, &s("from")), category(engine, t, &s("to")))
                }
                EventKind::RoutedToTeam => format!("→ {}", view::team_name(engine, t.lang, &s("to"))),
                EventKind::Escalated | EventKind::NoticeReceived | EventKind::EscalationReminded => {
                    view::target_name(engine, t.lang, &s("target")).to_string()
                }
                EventKind::Note => {
                    if let Some(step) = d.get("step").and_then(|v| v.as_str()) {
                        step_label(t, step).to_string()
                    } else if d.get("incident_resolved").is_some() {
                        s("closing_text")
                    } else {
                        s("text")
                    }
                }
                EventKind::DeadlineWarning | EventKind::DeadlineBreached => {
                    lookup(t, &format!("deadline_{}", s("deadline"))).unwrap_or_default().to_string()
                }
                EventKind::Reminder => s("reminder"),
                EventKind::Reassigned => {
                    let to = d.get("to").and_then(|v| v.as_str()).unwrap_or(t.nobody());
                    format!("{} → {to}: {}", s("from"), s("reason"))
                }
                _ => String::new(),
            };
            TimelineRow {
                at: view::when(engine, e.at),
                actor: actor_label(engine, t, &e.actor),
                what: lookup(t, &format!("event_{kind}")).unwrap_or(kind.as_str()).to_string(),
                detail,
            }
        })
        .collect()
}

fn withheld_by_reason(t: Tr, withheld: &[crate::engine::Withheld]) -> Vec<(&'static str, Vec<String>)> {
    let mut groups: Vec<(&'static str, Vec<String>)> = Vec::new();
    for w in withheld {
        let label = if w.reason == crate::engine::Withheld::FREE_TEXT {
            t.preview_withheld_free_text()
        } else {
            t.preview_withheld_not_listed()
        };
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, fields)) => fields.push(w.field.clone()),
            None => groups.push((label, vec![w.field.clone()])),
        }
    }
    groups
}

/// Who did it, in the reader's words: people by their id, the rest by what they are (a channel
/// acting for the requester records the channel as its id, which says nothing to an operator).
fn actor_label(engine: &Engine, t: Tr, actor: &crate::domain::Actor) -> String {
    use crate::domain::ActorRole;
    match actor.role {
        ActorRole::System => t.from_system().into(),
        ActorRole::Bot => t.from_bot().into(),
        ActorRole::Requester => t.from_requester().into(),
        ActorRole::Target => view::target_name(engine, t.lang, &actor.id).into(),
        ActorRole::Operator | ActorRole::PrivacyOperator | ActorRole::Supervisor | ActorRole::Admin => actor.id.clone(),
    }
}

fn category(engine: &Engine, t: Tr, id: &str) -> String {
    view::category_name(engine, t.lang, (!id.is_empty()).then_some(id)).to_string()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The rulebook path drawn as nested lists: boxes joined by a line, forks side by side.
fn path_html(t: Tr, engine: &Engine, nodes: &[PathNode]) -> String {
    let mut out = String::from("<ol class=\"path\">");
    write_nodes(t, engine, nodes, &mut out);
    out.push_str("</ol>");
    out
}

fn write_nodes(t: Tr, engine: &Engine, nodes: &[PathNode], out: &mut String) {
    for n in nodes {
        match n {
            PathNode::Step(s) => {
                let (class, label) = match s.mark {
                    StepMark::Done => ("done", t.path_done()),
                    StepMark::Current => ("current", t.path_current()),
                    StepMark::Ahead => ("ahead", t.path_ahead()),
                    StepMark::NotTaken => ("not-taken", t.path_not_taken()),
                };
                let mut name = step_label(t, &s.name).to_string();
                if let Some(ty) = s.ticket_type {
                    name.push_str(&format!(" → {}", ty.code()));
                }
                if !s.targets.is_empty() {
                    let names: Vec<&str> = s.targets.iter().map(|x| view::target_name(engine, t.lang, x)).collect();
                    name.push_str(&format!(" → {}", names.join(" / ")));
                }
                let current = if s.mark == StepMark::Current { " aria-current=\"step\"" } else { "" };
                out.push_str(&format!(
                    "<li class=\"step {class}\"{current}><span class=\"step-name\">{}</span> <span class=\"step-mark\">{}</span></li>",
                    esc(&name),
                    esc(label)
                ));
            }
            PathNode::Branch { fact, arms, current } => {
                let question = lookup(t, &format!("fact_{fact}")).unwrap_or(fact.as_str());
                let cls = if *current { "fork current" } else { "fork" };
                let aria = if *current { " aria-current=\"step\"" } else { "" };
                out.push_str(&format!(
                    "<li class=\"{cls}\"{aria}><span class=\"fork-question\">{} {}?</span>",
                    esc(t.path_if()),
                    esc(question)
                ));
                if *current {
                    out.push_str(&format!(" <span class=\"step-mark\">{}</span>", esc(t.path_current())));
                }
                out.push_str("<div class=\"arms\">");
                for a in arms {
                    let taken = match a.taken {
                        Some(true) => " taken",
                        Some(false) => " not-taken",
                        None => "",
                    };
                    let answer = if a.value { t.path_yes() } else { t.path_no() };
                    out.push_str(&format!(
                        "<div class=\"arm{taken}\"><span class=\"arm-answer\">{}</span><ol>",
                        esc(answer)
                    ));
                    write_nodes(t, engine, &a.nodes, out);
                    out.push_str("</ol></div>");
                }
                out.push_str("</div></li>");
            }
        }
    }
}

/// `GET /tickets/{reference}/conversation?after=N`: the messages after the N-th, for the live
/// chat's refresh.
pub async fn conversation(
    State(console): State<Console>,
    Shown { desk, ticket, events }: Shown,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let after = q.get("after").and_then(|a| a.parse::<usize>().ok()).unwrap_or(0);
    let c = conversation_of(&console.api.engine, desk.t, &ticket, &events, after);
    #[derive(Template)]
    #[template(path = "conversation_items.html")]
    struct Items {
        t: Tr,
        items: Vec<Said>,
    }
    html(StatusCode::OK, &Items { t: desk.t, items: c.items })
}

/// `POST /tickets/{reference}/{action}`: one action of the flow.
pub async fn act(
    State(console): State<Console>,
    Path((reference, action)): Path<(String, String)>,
    Posted { desk, form }: Posted,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let engine = &console.api.engine;
    let endpoint = match action.as_str() {
        "take" => Endpoint::TakeInCharge,
        "categorize" => Endpoint::Categorize,
        "classify" => Endpoint::Classify,
        "check-incidents" => Endpoint::CheckIncidents,
        "reminder" => Endpoint::ReminderLookup,
        "resolve" => Endpoint::Resolve,
        "escalate" => Endpoint::Escalate,
        "close-contact" => Endpoint::CloseContact,
        "note" => Endpoint::Note,
        // Writing into a live chat answers the requester: the roles that resolve.
        "chat" => Endpoint::Resolve,
        "reassign" => Endpoint::Reassign,
        _ => return desk_message(&desk, StatusCode::NOT_FOUND, desk.t.not_found_title(), desk.t.not_found_text()),
    };
    let authorized = if endpoint == Endpoint::Reassign {
        reassign_authorize(&console, &desk, &reference).await
    } else {
        authorize(&console.api, &desk.who, endpoint, &reference).await
    };
    let (ticket, actor) = match authorized {
        Ok(x) => x,
        Err(p) if p.status == 404 => {
            return desk_message(&desk, StatusCode::NOT_FOUND, desk.t.not_found_title(), desk.t.not_found_text());
        }
        Err(p) => return back_with(&console, &desk, &reference, &action, &form, p).await,
    };
    let reference = ticket.reference.to_string();
    let id = ticket.id.clone();
    let mut done = action.clone();
    let result: Result<(), Problem> = match action.as_str() {
        // The type is chosen on the same form, or left for later (the field empty or absent).
        "take" => match get("ticket_type").trim() {
            "" => engine.take_in_charge(&id, &actor).await.map(drop).map_err(Into::into),
            ty => match ty.parse::<TicketType>() {
                Ok(ty) => match desk.who.require(Endpoint::Classify) {
                    Ok(_) => {
                        done = "take&classified=1".into();
                        engine.take_in_charge_as(&id, &actor, Some(ty)).await.map(drop).map_err(Into::into)
                    }
                    Err(p) => Err(p),
                },
                Err(e) => Err(Problem::unprocessable("/ticket_type", e.to_string())),
            },
        },
        "categorize" => engine.categorize(&id, &actor, get("category")).await.map(drop).map_err(Into::into),
        "classify" => match get("ticket_type").parse::<TicketType>() {
            Ok(ty) => engine.classify(&id, &actor, ty).await.map(drop).map_err(Into::into),
            Err(e) => Err(Problem::unprocessable("/ticket_type", e.to_string())),
        },
        "check-incidents" => engine
            .check_incidents(&id, &actor, get("service").trim(), &console.api.escalation)
            .await
            .map(drop)
            .map_err(Into::into),
        "reminder" => engine.reminder_lookup(&id, &actor).await.map(drop).map_err(Into::into),
        "resolve" => engine.answer_and_resolve(&id, &actor, get("answer")).await.map(drop).map_err(Into::into),
        "escalate" if form.contains_key("preview") => {
            let draft = Draft {
                target: Some(get("target").to_string()),
                summary: get("summary").to_string(),
                ..Draft::default()
            };
            let events = engine.ports.events.list(&id).await.unwrap_or_default();
            return render(&console, &desk, ticket, events, draft, None, None, StatusCode::OK).await;
        }
        "escalate" => {
            let target = get("target").to_string();
            done = format!("escalate&target={}", super::oidc::urlencode(&target));
            engine
                .escalate(&id, &actor, &target, get("summary"), &console.api.escalation)
                .await
                .map(drop)
                .map_err(Into::into)
        }
        "close-contact" => engine.close_contact(&id, &actor).await.map(drop).map_err(Into::into),
        "note" => engine.add_note(&id, &actor, get("text")).await.map(drop).map_err(Into::into),
        "chat" => engine.chat_operator_message(&id, &actor, get("text")).await.map(drop).map_err(Into::into),
        "reassign" => {
            let to = get("to").trim().to_string();
            done = format!("reassign&to={}", super::oidc::urlencode(&to));
            let to = (!to.is_empty()).then_some(to.as_str());
            engine.reassign(&id, &actor, to, get("reason")).await.map(drop).map_err(Into::into)
        }
        _ => unreachable!("matched above"),
    };
    match result {
        Ok(()) => {
            let anchor = if action == "chat" { "#chat" } else { "#actions" };
            see_other(&format!("/tickets/{reference}?done={done}{anchor}"))
        }
        Err(p) => back_with(&console, &desk, &reference, &action, &form, p).await,
    }
}

/// A supervisor's reassignment, authorized as the operator API does: the `Reassign` role, and
/// for a privacy ticket the privacy role too.
async fn reassign_authorize(
    console: &Console,
    desk: &Desk,
    reference: &str,
) -> Result<(Ticket, crate::domain::Actor), Problem> {
    let actor = desk.who.require(Endpoint::Reassign)?;
    let (ticket, _) = authorize(&console.api, &desk.who, Endpoint::Ticket, reference).await?;
    check_reassign_privacy(&console.api.engine, &desk.who, &ticket)?;
    Ok((ticket, actor))
}

/// The ticket page again, with the refusal beside the action and what the operator typed.
async fn back_with(
    console: &Console,
    desk: &Desk,
    reference: &str,
    action: &str,
    form: &HashMap<String, String>,
    p: Problem,
) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::CONFLICT);
    let (ticket, events) = match load(console, desk, reference).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let draft = Draft {
        target: form.get("target").cloned(),
        summary: get("summary"),
        answer: get("answer"),
        note: if action == "note" { get("text") } else { String::new() },
        chat: if action == "chat" { get("text") } else { String::new() },
        reassign_to: if action == "reassign" { get("to") } else { String::new() },
        reassign_reason: if action == "reassign" { get("reason") } else { String::new() },
        ..Draft::default()
    };
    let error = refusal(desk.t, action, &p);
    render(console, desk, ticket, events, draft, None, Some(error), status).await.into_response()
}
