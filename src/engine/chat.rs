//! The mobile chat (section 3.2): a chat session is a ticket on the rulebook's chat channel.
//!
//! Welcome, then the bot answers from the knowledge base. The user either confirms an answer
//! solved it (type B, resolved and closed automatically, at any hour) or asks for an operator:
//! in service hours the chat is handed off (triage routes it to its team's work queue), out of
//! hours it is closed automatically with the other channels to try.
//!
//! Everything said stays on the ticket as `Message` events (`detail.from` is `user`, `bot` or
//! `operator`; a bot message's `detail.turn` says whether it answered, asked back or found
//! nothing). Chat bookkeeping is kept in `Note` events whose `detail.chat` says what they are:
//! `session` (the hash of a session token and the language), `handoff`, and `outcome` (how the
//! bot conversation ended, for the reports: contained, handed off or closed, and why; no
//! personal data).
//!
//! The bot answers only when it is sure; otherwise it asks back with two or three guides
//! ("Intendevi…?"), which the user picks by number or title, and offers an operator. It reads the
//! user's earlier messages too, and a message that only asks for a person hands the chat over.
//!
//! A session authenticates its follow-up calls with a bearer token returned at the start: only
//! its SHA-256 is stored, so neither the store nor an operator can act as the user, and a
//! reference alone (printed in every message) opens nothing.

use super::Refusal;
use super::retry::Attempts;
use super::triage::TRIAGE_TEAM;
use super::{Engine, EngineError, NewContact, TRIAGE};
use crate::domain::{
    Actor, ActorRole, ChannelKind, Event, EventKind, Outcome, Requester, Ticket, TicketId, TicketState, TicketType,
};
use crate::knowledge::search::{BotAnswer, Hit, Question, detect_language, pick_suggestion};
use crate::ports::{StepMessage, StoreError};
use crate::rules::resolved::Bot;
use crate::rules::{ChannelId, Contact, Decision, Facts};
use crate::text::sha256_hex;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

/// Longest message a user or an operator may write into a chat (bytes).
pub const MAX_CHAT_MESSAGE_BYTES: usize = 4 * 1024;
/// Session ids are the client's retry key: long enough to be random, short enough to index.
const SESSION_ID_LEN: std::ops::RangeInclusive<usize> = 16..=128;

/// A chat session the app starts.
#[derive(Debug, Clone, Default)]
pub struct NewChatSession {
    /// The client's id for the session (a UUID): a retried start returns the same ticket.
    pub session_id: String,
    /// `it` or `en` (a rulebook language); otherwise detected from the first message.
    pub lang: Option<String>,
    /// The category the app suggests (its menu), kept on the ticket for reporting.
    pub category: Option<String>,
    /// Who the app's login says the user is.
    pub requester: Requester,
}

/// One message of the conversation, as the app shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    /// Position in the conversation, from 1: poll with `after` = the last one seen.
    pub seq: usize,
    pub at: Timestamp,
    /// `user`, `bot` or `operator`.
    pub from: String,
    pub body: String,
    /// The knowledge-base article a bot answer comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
    /// Articles the bot offers when unsure, in the order it lists them (the user may answer
    /// with their number).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
    /// The bot offers an operator here: the app shows its "talk to an operator" button.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub operator_offered: bool,
}

/// A started (or resumed) session.
#[derive(Debug, Clone)]
pub struct StartedChat {
    pub ticket: Ticket,
    /// The bearer token for the session's follow-up calls. Shown once; only its hash is kept.
    pub token: String,
    /// The session language, if known yet.
    pub lang: Option<String>,
    /// The same session id had started this chat before.
    pub replayed: bool,
    /// The conversation so far (the welcome, for a new session).
    pub messages: Vec<ChatMessage>,
    pub handed_off: bool,
}

/// What one call added to the conversation, and where the chat stands.
#[derive(Debug, Clone)]
pub struct ChatReply {
    pub ticket: Ticket,
    pub messages: Vec<ChatMessage>,
    /// An operator has the chat: the user's messages wait for them, the bot is silent.
    pub handed_off: bool,
}

/// The conversation after a cursor.
#[derive(Debug, Clone)]
pub struct ChatTranscript {
    pub ticket: Ticket,
    pub messages: Vec<ChatMessage>,
    /// The `after` to poll with next.
    pub next: usize,
    pub handed_off: bool,
    /// The `cursor` to poll with next: a poll by cursor reads only what is newer.
    pub cursor: String,
}

/// Where a poll stopped: messages seen, whether the chat was handed off by then, and the store's
/// position in the ticket's log (see [`crate::ports::EventLog::tail`]). `<seen>.<0|1>.<position>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PollCursor {
    seen: usize,
    handed_off: bool,
    position: String,
}

impl PollCursor {
    fn encode(&self) -> String {
        format!("{}.{}.{}", self.seen, u8::from(self.handed_off), self.position)
    }

    fn decode(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '.');
        // At most 9 digits, as the OpenAPI document's pattern says (no chat has a billion messages).
        let seen = parts.next().filter(|s| (1..=9).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))?;
        let seen = seen.parse().ok()?;
        let handed_off = match parts.next()? {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        let position = parts.next()?;
        let ok = !position.is_empty()
            && position.len() <= 100
            && position.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
        ok.then(|| Self { seen, handed_off, position: position.to_string() })
    }
}

fn is_handoff(e: &Event) -> bool {
    e.kind == EventKind::Note && e.detail.get("chat").and_then(|v| v.as_str()) == Some("handoff")
}

/// Whether `token` is one of the session's, comparing every digest in constant time.
fn token_opens(digests: &[String], token: &str) -> bool {
    let hash = sha256_hex(token.as_bytes());
    let mut known = false;
    for stored in digests {
        known |= bool::from(subtle::ConstantTimeEq::ct_eq(stored.as_bytes(), hash.as_bytes()));
    }
    !token.is_empty() && known
}

/// What the events say about a session.
#[derive(Debug, Default)]
struct Session {
    token_hashes: Vec<String>,
    lang: Option<String>,
    handoff_at: Option<Timestamp>,
    messages: Vec<ChatMessage>,
    user_messages: usize,
    /// What the user wrote to the bot (before any handoff), oldest first.
    user_texts: Vec<String>,
    /// The bot's last reply to the user, if any.
    last_turn: Option<BotTurn>,
    /// How many times the bot asked back.
    asked_back: usize,
    /// The last article the bot answered with.
    last_article: Option<String>,
}

/// What a bot reply did (`detail.turn` of its message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BotTurn {
    Answer,
    AskBack,
    NoMatch,
}

impl BotTurn {
    fn name(self) -> &'static str {
        match self {
            BotTurn::Answer => "answer",
            BotTurn::AskBack => "ask_back",
            BotTurn::NoMatch => "no_match",
        }
    }

    fn of(name: &str) -> Option<BotTurn> {
        [BotTurn::Answer, BotTurn::AskBack, BotTurn::NoMatch].into_iter().find(|t| t.name() == name)
    }
}

/// How a bot conversation ended, for the reports (a `Note` with `detail.chat = "outcome"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BotOutcome {
    /// The user confirmed the bot solved it: a type B ticket.
    Contained,
    HandedOff,
    ClosedOutOfHours,
}

/// Why the user left the bot for an operator.
fn handoff_reason(session: &Session) -> &'static str {
    match session.last_turn {
        // The bot could not answer: its suggestions did not fit, or it found nothing.
        Some(BotTurn::AskBack) => "ask_back_unresolved",
        Some(BotTurn::NoMatch) => "no_fitting_article",
        _ => "asked_for_operator",
    }
}

/// The outcome note: counts and article ids only, never what was said.
fn outcome_note(
    ticket: &Ticket,
    at: Timestamp,
    bot: &Actor,
    outcome: BotOutcome,
    reason: Option<&str>,
    session: &Session,
    lang: &str,
) -> Event {
    let name = match outcome {
        BotOutcome::Contained => "contained",
        BotOutcome::HandedOff => "handed_off",
        BotOutcome::ClosedOutOfHours => "closed_out_of_hours",
    };
    event(
        &ticket.id,
        at,
        bot,
        EventKind::Note,
        json!({
            "chat": "outcome",
            "outcome": name,
            "reason": reason,
            "category": ticket.category,
            "lang": lang,
            "user_messages": session.user_texts.len(),
            "asked_back": session.asked_back,
            "article": session.last_article,
        }),
    )
}

impl Session {
    fn of(events: &[Event]) -> Option<Session> {
        let mut s = Session::default();
        let mut started = false;
        for e in events {
            let d = &e.detail;
            let text = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_string);
            match (e.kind, text("chat").as_deref()) {
                (EventKind::Note, Some("session")) => {
                    started = true;
                    s.token_hashes.extend(text("token_sha256"));
                    if s.lang.is_none() {
                        s.lang = text("lang");
                    }
                }
                (EventKind::Note, Some("handoff")) => {
                    s.handoff_at.get_or_insert(e.at);
                }
                (EventKind::Message, _) => {
                    match text("from").as_deref() {
                        Some("user") => {
                            s.user_messages += 1;
                            if s.lang.is_none() {
                                s.lang = text("lang");
                            }
                            if s.handoff_at.is_none() {
                                s.user_texts.extend(text("body"));
                            }
                        }
                        Some("bot") => {
                            if let Some(turn) = text("turn").as_deref().and_then(BotTurn::of) {
                                s.last_turn = Some(turn);
                                s.asked_back += usize::from(turn == BotTurn::AskBack);
                                if turn == BotTurn::Answer {
                                    s.last_article = text("article");
                                }
                            }
                        }
                        _ => {}
                    }
                    s.messages.push(message_of(s.messages.len() + 1, e));
                }
                _ => {}
            }
        }
        started.then_some(s)
    }

    /// The messages among `events` (about to be appended), numbered after the ones there.
    fn numbered(&self, events: &[Event]) -> Vec<ChatMessage> {
        let seq = self.messages.len();
        events
            .iter()
            .filter(|e| e.kind == EventKind::Message)
            .enumerate()
            .map(|(i, e)| message_of(seq + i + 1, e))
            .collect()
    }
}

fn message_of(seq: usize, e: &Event) -> ChatMessage {
    let text = |k: &str| e.detail.get(k).and_then(|v| v.as_str()).map(str::to_string);
    ChatMessage {
        seq,
        at: e.at,
        from: text("from").unwrap_or_default(),
        body: text("body").unwrap_or_default(),
        article: text("article"),
        suggestions: e
            .detail
            .get("suggestions")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        operator_offered: e.detail.get("operator_offered").and_then(|v| v.as_bool()).unwrap_or(false),
    }
}

fn session_not_found() -> EngineError {
    EngineError::NotFound("chat session".into())
}

/// 244 random bits from the OS generator (two UUIDv4s), as 64 hex characters.
fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn event(ticket: &TicketId, at: Timestamp, actor: &Actor, kind: EventKind, detail: serde_json::Value) -> Event {
    Event { ticket_id: ticket.clone(), at, actor: actor.clone(), kind, detail }
}

/// The user, as the chat channel speaks for them.
fn requester(channel: &str) -> Actor {
    Actor { id: channel.into(), role: ActorRole::Requester }
}

/// Why a closed chat takes no more messages, and what to do instead.
fn closed(state: TicketState) -> EngineError {
    Refusal::State(match state {
        TicketState::AutoResolved => {
            "this chat is already closed: the request was resolved; start a new chat for another question".into()
        }
        TicketState::AutoClosed => "this chat is already closed: operators were not available; start a new chat \
                                    or use one of the other channels"
            .into(),
        s => format!("this chat is already closed (`{s}`); start a new chat for another question"),
    })
    .into()
}

/// Bot phrases the rulebook does not define (it may, under the same ids, to reword them).
fn builtin_phrase(id: &str, lang: &str) -> &'static str {
    match (id, lang) {
        ("chat_bot_answer_footer", "en") => "Did this solve your problem? Tell me it did, or ask for an operator.",
        ("chat_bot_answer_footer", _) => {
            "Ti ho aiutato? Confermalo se il problema è risolto, oppure chiedi un operatore."
        }
        ("chat_bot_unsure", "en") => "Did you mean…?",
        ("chat_bot_unsure", _) => "Intendevi…?",
        ("chat_bot_unsure_footer", "en") => {
            "Reply with the guide's number, ask in other words, or ask for an operator."
        }
        ("chat_bot_unsure_footer", _) => {
            "Rispondi con il numero della guida, prova a riformulare la domanda, oppure chiedi un operatore."
        }
        ("chat_bot_no_match", "en") => {
            "I couldn't find an answer to that in our guides. Try asking in other words, or ask for an operator."
        }
        ("chat_bot_no_match", _) => {
            "Non ho trovato una risposta nelle nostre guide. Prova a riformulare la domanda, oppure chiedi un operatore."
        }

        _ => "",
    }
}

impl Engine {
    /// The rulebook's chat channel: the one of kind `chat`.
    fn chat_channel(&self) -> Result<&ChannelId, EngineError> {
        self.rules.channel_of_kind(ChannelKind::Chat).map(|(_, id, _)| id).ok_or_else(|| {
            Refusal::Unsupported("the rulebook has no channel of kind `chat`, so chats cannot start".into()).into()
        })
    }

    /// The bot of the ticket's channel: the team that holds the chat while it talks, and the
    /// category of a chat it solves.
    fn bot_of(&self, ticket: &Ticket) -> Option<Bot> {
        self.rules.channels.get(&ticket.channel).and_then(|c| c.bot)
    }

    /// The bot, as the events name it: by its team.
    fn bot(&self, ticket: &Ticket) -> Actor {
        let id = match self.bot_of(ticket) {
            Some(bot) => self.rules.teams.key(bot.team).to_string(),
            None => ticket.channel.clone(),
        };
        Actor { id, role: ActorRole::Bot }
    }

    /// The satisfaction survey's question, asked in the session by the assistant (not in the
    /// operator's name) after the operator's answer.
    pub(super) async fn chat_survey_question(&self, ticket: &Ticket, question: String) -> Result<(), EngineError> {
        let mut asked = self.bot_says(ticket, self.now(), question);
        asked.detail["survey"] = json!(true);
        self.ports.events.append(&[asked]).await?;
        Ok(())
    }

    fn bot_says(&self, ticket: &Ticket, at: Timestamp, body: String) -> Event {
        event(&ticket.id, at, &self.bot(ticket), EventKind::Message, json!({"from": "bot", "body": body}))
    }

    /// A rulebook message in `lang` (or the first language that has it), placeholders filled.
    fn chat_text(&self, id: &str, lang: &str, decision: Option<&Decision<'_>>, ticket: &Ticket) -> String {
        let template = self.rules.message(id, lang).unwrap_or(builtin_phrase(id, lang));
        let filled = match decision {
            Some(d) => self.rules.fill(template, d, lang, &ticket.channel),
            None => template.to_string(),
        };
        filled.replace("{reference}", ticket.reference.as_str())
    }

    fn default_lang(&self) -> String {
        self.rules.default_language().to_string()
    }

    fn decide(&self, ticket: &Ticket, category: &str, bot_resolved: bool) -> Result<Decision<'_>, EngineError> {
        let contact = Contact {
            channel: &ticket.channel,
            category,
            at: self.now(),
            facts: Facts { bot_resolved, ..Facts::default() },
        };
        self.rules.evaluate(&contact).map_err(|e| EngineError::invalid("category", e.to_string()))
    }

    /// Starts a chat session: opens its ticket (once per session id) and says the welcome.
    /// A retried start returns the same ticket with a fresh token (the earlier ones stay valid:
    /// the client may have lost the first answer).
    pub async fn chat_start(&self, session: NewChatSession) -> Result<StartedChat, EngineError> {
        let id = session.session_id.trim();
        if !SESSION_ID_LEN.contains(&id.len())
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        {
            return Err(EngineError::invalid(
                "/session_id",
                "a session id has 16 to 128 of [A-Za-z0-9._:-]; use a random UUID per session",
            ));
        }
        if let Some(lang) = &session.lang
            && !self.rules.languages.contains(lang)
        {
            return Err(EngineError::invalid(
                "/lang",
                format!("`{lang}` is not a language of the service; use one of: {}", self.rules.languages.join(", ")),
            ));
        }
        let channel = self.chat_channel()?.to_string();
        // The bot holds the chat: no operator team sees it until the handoff.
        let bot_team =
            self.rules.channels.get(&channel).and_then(|c| c.bot).map(|bot| self.rules.teams.key(bot.team).to_string());
        let token = new_token();
        let lang = session.lang.clone();
        let welcome_lang = lang.clone().unwrap_or_else(|| self.default_lang());
        let now = self.now();
        let session_note = |ticket: &TicketId, lang: &Option<String>| {
            event(
                ticket,
                now,
                &requester(&channel),
                EventKind::Note,
                json!({"chat": "session", "lang": lang, "token_sha256": sha256_hex(token.as_bytes())}),
            )
        };
        // The session and the bot's welcome are stored with the ticket: a chat never exists
        // without them, whatever stops the start half-way.
        let opening = |t: &Ticket| {
            let welcome = self.chat_text("chat_welcome", &welcome_lang, None, t);
            vec![session_note(&t.id, &lang), self.bot_says(t, now, welcome)]
        };
        let contact = NewContact {
            channel: channel.clone(),
            idempotency_key: format!("chat:{id}"),
            category: session.category.clone(),
            requester: session.requester.clone(),
            actor: Some(requester(&channel)),
            team: bot_team,
            ..NewContact::default()
        };
        let created = self.open_with(contact, opening).await.map_err(|e| match e {
            EngineError::Invalid { field, message } if !field.starts_with('/') => {
                EngineError::Invalid { field: format!("/{field}"), message }
            }
            other => other,
        })?;
        if !created.replayed {
            tracing::info!(ticket = %created.ticket.id, reference = %created.ticket.reference, "chat session started");
            let messages = Session::default().numbered(&opening(&created.ticket));
            return Ok(StartedChat {
                ticket: created.ticket,
                token,
                lang,
                replayed: false,
                messages,
                handed_off: false,
            });
        }
        let mut attempts = Attempts::new(format!("restarting chat {}", created.ticket.reference));
        loop {
            let ticket = self.ports.tickets.get(&created.ticket.id).await?;
            if ticket.channel_kind != ChannelKind::Chat {
                return Err(Refusal::Channel("this session id belongs to another channel's contact".into()).into());
            }
            let events = self.ports.events.list(&ticket.id).await?;
            if let Some(existing) = Session::of(&events) {
                // A retry: one more token for the same session (the client may have lost the
                // first answer; the earlier tokens stay valid).
                self.ports.events.append(&[session_note(&ticket.id, &None)]).await?;
                return Ok(StartedChat {
                    lang: existing.lang.clone(),
                    ticket,
                    token,
                    replayed: true,
                    handed_off: existing.handoff_at.is_some(),
                    messages: existing.messages,
                });
            }
            // A chat opened before sessions were stored with their ticket, whose start stopped
            // half-way: start it now.
            let mut updated = ticket.clone();
            // While the bot talks the chat is its team's, in no operator's work queue; the
            // handoff's triage gives it the team its flow routes to.
            if let Some(bot) = self.bot_of(&ticket)
                && updated.state == TicketState::New
                && updated.triaged_at.is_none()
            {
                updated.team = self.rules.teams.key(bot.team).to_string();
            }
            updated.updated_at = now;
            let new_events = opening(&ticket);
            match self.ports.tickets.update(&updated, &new_events).await {
                Ok(saved) => {
                    tracing::info!(ticket = %saved.id, reference = %saved.reference, "chat session started");
                    let messages = Session::default().numbered(&new_events);
                    return Ok(StartedChat { ticket: saved, token, lang, replayed: true, messages, handed_off: false });
                }
                Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The session of `reference`, if `token` opens it. Unknown references, other channels'
    /// tickets and wrong tokens all look the same: not found.
    /// The user's rating of the operator's answer, given in the session.
    pub async fn chat_survey(
        &self,
        reference: &str,
        token: &str,
        answer: &super::survey::SurveyAnswer,
    ) -> Result<Ticket, EngineError> {
        let (ticket, _, _) = self.chat_session(reference, token).await?;
        self.answer_survey(&ticket, ChannelKind::Chat, answer).await
    }

    async fn chat_session(&self, reference: &str, token: &str) -> Result<(Ticket, Session, Vec<Event>), EngineError> {
        let ticket = self.chat_ticket(reference).await?;
        let events = self.ports.events.list(&ticket.id).await?;
        let session = Session::of(&events).ok_or_else(session_not_found)?;
        if !token_opens(&session.token_hashes, token) {
            return Err(session_not_found());
        }
        Ok((ticket, session, events))
    }

    /// The chat ticket of `reference`; anything else is the same not-found.
    async fn chat_ticket(&self, reference: &str) -> Result<Ticket, EngineError> {
        let ticket = match self.ticket_by_reference(reference).await {
            Ok(t) => t,
            Err(EngineError::NotFound(_) | EngineError::Invalid { .. }) => return Err(session_not_found()),
            Err(e) => return Err(e),
        };
        if ticket.channel_kind != ChannelKind::Chat {
            return Err(session_not_found());
        }
        Ok(ticket)
    }

    /// The user writes; the bot answers from the knowledge base (or, after the handoff, the
    /// message waits for the operator).
    pub async fn chat_user_message(&self, reference: &str, token: &str, text: &str) -> Result<ChatReply, EngineError> {
        super::check_text("/text", text, MAX_CHAT_MESSAGE_BYTES)?;
        let (ticket, session, _) = self.chat_session(reference, token).await?;
        if ticket.state.is_final() {
            return Err(closed(ticket.state));
        }
        let now = self.now();
        let detected = session.lang.is_none().then(|| detect_language(text).to_string());
        let lang = session.lang.clone().or(detected.clone()).unwrap_or_else(|| self.default_lang());
        let mut said = json!({"from": "user", "body": text});
        if let Some(l) = &detected {
            said["lang"] = json!(l);
        }
        let mut events = vec![event(&ticket.id, now, &requester(&ticket.channel), EventKind::Message, said)];
        if session.handoff_at.is_none() {
            match self.bot_reply(text, &lang, &session) {
                Some(detail) => events.push(event(&ticket.id, now, &self.bot(&ticket), EventKind::Message, detail)),
                // The message only asks for a person: the same as the app's operator button.
                None => {
                    self.ports.events.append(&events).await?;
                    let said = session.numbered(&events);
                    return match self.chat_request_operator(reference, token).await {
                        Ok(r) => Ok(ChatReply {
                            messages: said.into_iter().chain(r.messages).collect(),
                            ticket: r.ticket,
                            handed_off: r.handed_off,
                        }),
                        // No handoff for this chat now (the rulebook's choice): say so as the bot.
                        Err(EngineError::Refused(_)) => {
                            let detail = self.bot_no_match(&lang);
                            let reply = [event(&ticket.id, now, &self.bot(&ticket), EventKind::Message, detail)];
                            self.ports.events.append(&reply).await?;
                            let mut messages = said;
                            messages.push(message_of(messages.last().map_or(1, |m| m.seq + 1), &reply[0]));
                            Ok(ChatReply { messages, ticket, handed_off: false })
                        }
                        Err(e) => Err(e),
                    };
                }
            }
        }
        self.ports.events.append(&events).await?;
        Ok(ChatReply { messages: session.numbered(&events), ticket, handed_off: session.handoff_at.is_some() })
    }

    fn bot_phrase(&self, id: &str, lang: &str) -> String {
        self.rules.message(id, lang).unwrap_or(builtin_phrase(id, lang)).to_string()
    }

    fn bot_no_match(&self, lang: &str) -> serde_json::Value {
        json!({"from": "bot", "turn": BotTurn::NoMatch.name(), "body": self.bot_phrase("chat_bot_no_match", lang), "operator_offered": true})
    }

    /// The bot's reply to a user message (a `Message` detail), or `None` when the message asks for
    /// a person. A reply to an ask-back may pick one of its guides; otherwise the knowledge base
    /// is asked, with the user's earlier messages as context.
    fn bot_reply(&self, text: &str, lang: &str, session: &Session) -> Option<serde_json::Value> {
        let answer = |hit: Hit| {
            json!({
                "from": "bot",
                "turn": BotTurn::Answer.name(),
                "body": format!("{}\n\n{}\n\n{}", hit.title, hit.excerpt, self.bot_phrase("chat_bot_answer_footer", lang)),
                "article": hit.id,
            })
        };
        if session.last_turn == Some(BotTurn::AskBack)
            && let Some(asked) = session.messages.iter().rev().find(|m| m.from == "bot")
        {
            let offered: Vec<Hit> =
                asked.suggestions.iter().filter_map(|id| self.knowledge.article(id, lang)).collect();
            let titles: Vec<String> = offered.iter().map(|h| h.title.clone()).collect();
            if let Some(i) = pick_suggestion(text, &titles) {
                return Some(answer(offered[i].clone()));
            }
        }
        let question = Question { text, earlier: &session.user_texts };
        Some(match self.knowledge.answer_in(&question, lang) {
            BotAnswer::Confident(hit) => answer(hit),
            BotAnswer::Unsure(hits) => {
                let list: Vec<String> =
                    hits.iter().enumerate().map(|(i, h)| format!("{}. {}", i + 1, h.title)).collect();
                json!({
                    "from": "bot",
                    "turn": BotTurn::AskBack.name(),
                    "body": format!(
                        "{}\n{}\n{}",
                        self.bot_phrase("chat_bot_unsure", lang),
                        list.join("\n"),
                        self.bot_phrase("chat_bot_unsure_footer", lang)
                    ),
                    "suggestions": hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>(),
                    "operator_offered": true,
                })
            }
            BotAnswer::NoMatch => self.bot_no_match(lang),
            BotAnswer::WantsOperator => return None,
        })
    }

    /// The user confirms the bot solved it: type B, resolved and closed automatically, at any
    /// hour. The category the user started from stays on the ticket. Saying it twice is harmless.
    pub async fn chat_resolved(&self, reference: &str, token: &str) -> Result<ChatReply, EngineError> {
        let mut attempts = Attempts::new(format!("closing chat {reference}"));
        loop {
            let (mut ticket, session, _) = self.chat_session(reference, token).await?;
            match ticket.state {
                TicketState::AutoResolved => return Ok(ChatReply { ticket, messages: Vec::new(), handed_off: false }),
                s if s.is_final() => return Err(closed(s)),
                _ => {}
            }
            if session.handoff_at.is_some() {
                return Err(Refusal::State(
                    "an operator is handling this chat now; the operator resolves it with you".into(),
                )
                .into());
            }
            if session.user_messages == 0 {
                return Err(Refusal::State(
                    "nothing to confirm yet: write your question, the assistant answers, then confirm it solved it"
                        .into(),
                )
                .into());
            }
            // A chat the user started from no topic is filed under the bot's category.
            let category = match (&ticket.category, self.bot_of(&ticket)) {
                (Some(category), _) => category.clone(),
                (None, Some(bot)) => self.rules.categories.key(bot.category).to_string(),
                (None, None) => {
                    return Err(Refusal::Unsupported(
                        "this chat's channel has no assistant to close it; ask for an operator".into(),
                    )
                    .into());
                }
            };
            let decision = self.decide(&ticket, &category, true)?;
            let lang = session.lang.clone().unwrap_or_else(|| self.default_lang());
            let now = self.now();
            if decision.outcome() != Some(Outcome::AutoResolved) {
                if decision.step_names().contains(&"handoff_to_operator") {
                    // Section 3.5: a privacy request is never closed by the bot; whatever its
                    // directions did, the privacy team takes the ticket in charge. Until triage
                    // it waits where the sweep finds it, should its triage step be lost.
                    ticket.team = TRIAGE_TEAM.into();
                    ticket.updated_at = now;
                    let mut events =
                        self.handoff_events(&ticket, &decision, &lang, now, "chat_privacy_registered", true);
                    // The bot answered, but a privacy request goes to the privacy team all the same.
                    let bot = self.bot(&ticket);
                    let reason = Some("privacy");
                    events.push(outcome_note(&ticket, now, &bot, BotOutcome::HandedOff, reason, &session, &lang));
                    match self.ports.tickets.update(&ticket, &events).await {
                        Ok(saved) => {
                            self.queue_handoff_triage(&saved).await?;
                            tracing::info!(ticket = %saved.id, reference = %saved.reference, "chat handed off, not closed by the bot");
                            return Ok(ChatReply {
                                messages: session.numbered(&events),
                                ticket: saved,
                                handed_off: true,
                            });
                        }
                        Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
                        Err(e) => return Err(e.into()),
                    }
                }
                // The admin's rulebook sends this category to the operators even when the bot solved it.
                return Err(Refusal::Flow(format!(
                    "the rulebook does not let the assistant close `{category}` requests; ask for an operator"
                ))
                .into());
            }
            let ticket_type = decision.ticket_type().unwrap_or(TicketType::B);
            let text = self.chat_text("chat_auto_resolved", &lang, Some(&decision), &ticket);
            ticket.category = Some(category.clone());
            ticket.ticket_type = Some(ticket_type);
            ticket.move_to(TicketState::AutoResolved, now)?;
            let events = vec![
                event(
                    &ticket.id,
                    now,
                    &requester(&ticket.channel),
                    EventKind::AutoResolved,
                    json!({"ticket_type": ticket_type, "category": category}),
                ),
                self.bot_says(&ticket, now, text),
                outcome_note(&ticket, now, &self.bot(&ticket), BotOutcome::Contained, None, &session, &lang),
            ];
            match self.ports.tickets.update(&ticket, &events).await {
                Ok(saved) => {
                    tracing::info!(ticket = %saved.id, reference = %saved.reference, "chat resolved by the bot");
                    crate::metrics::ticket_ended(saved.ticket_type.map(|t| t.code()), saved.state.as_str());
                    return Ok(ChatReply { messages: session.numbered(&events), ticket: saved, handed_off: false });
                }
                Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The user asks for an operator. In service hours the chat is handed off and triage queued
    /// (it gives the ticket its team and deadlines); out of hours it is closed automatically with
    /// the other channels to try. Asking twice is harmless.
    pub async fn chat_request_operator(&self, reference: &str, token: &str) -> Result<ChatReply, EngineError> {
        let mut attempts = Attempts::new(format!("handing chat {reference} to an operator"));
        loop {
            let (mut ticket, session, _) = self.chat_session(reference, token).await?;
            if session.handoff_at.is_some() {
                // Queue triage again in case the first attempt stopped after the handoff was saved.
                if ticket.triaged_at.is_none() && ticket.state == TicketState::New {
                    self.queue_handoff_triage(&ticket).await?;
                }
                return Ok(ChatReply { ticket, messages: Vec::new(), handed_off: true });
            }
            match ticket.state {
                TicketState::AutoClosed => return Ok(ChatReply { ticket, messages: Vec::new(), handed_off: false }),
                s if s.is_final() => return Err(closed(s)),
                _ => {}
            }
            let category = ticket.category.clone().unwrap_or_else(|| self.rules.default_category().to_string());
            let decision = self.decide(&ticket, &category, false)?;
            let lang = session.lang.clone().unwrap_or_else(|| self.default_lang());
            let now = self.now();
            let steps = decision.step_names();
            let events = if steps.contains(&"handoff_to_operator") {
                // Out of the bot's hands: waiting for triage, where the sweep finds it should its
                // triage step be lost.
                ticket.team = TRIAGE_TEAM.into();
                ticket.updated_at = now;
                // In hours the user waits for an operator; a privacy request out of hours waits
                // for the privacy team's next opening (section 3.5).
                let says = if decision.in_service_hours { "chat_handoff" } else { "chat_handoff_out_of_hours" };
                let mut events = self.handoff_events(&ticket, &decision, &lang, now, says, false);
                let reason = Some(handoff_reason(&session));
                events.push(outcome_note(
                    &ticket,
                    now,
                    &self.bot(&ticket),
                    BotOutcome::HandedOff,
                    reason,
                    &session,
                    &lang,
                ));
                events
            } else if decision.outcome() == Some(Outcome::AutoClosed) {
                ticket.move_to(TicketState::AutoClosed, now)?;
                let mut events = vec![
                    event(
                        &ticket.id,
                        now,
                        &requester(&ticket.channel),
                        EventKind::AutoClosed,
                        json!({
                            "reason": "out_of_service_hours",
                            "next_opening": decision.next_opening.as_ref().map(|z| z.timestamp()),
                        }),
                    ),
                    self.bot_says(&ticket, now, self.chat_text("chat_out_of_hours", &lang, Some(&decision), &ticket)),
                    outcome_note(
                        &ticket,
                        now,
                        &self.bot(&ticket),
                        BotOutcome::ClosedOutOfHours,
                        Some(handoff_reason(&session)),
                        &session,
                        &lang,
                    ),
                ];
                if steps.contains(&"suggest_alternative_channels") {
                    let text = self.chat_text("alternative_channels", &lang, Some(&decision), &ticket);
                    events.push(self.bot_says(&ticket, now, text));
                }
                events
            } else {
                return Err(Refusal::Flow(format!(
                    "the rulebook has no operator handoff for `{category}` chats at this time"
                ))
                .into());
            };
            match self.ports.tickets.update(&ticket, &events).await {
                Ok(saved) => {
                    if saved.state == TicketState::New {
                        self.queue_handoff_triage(&saved).await?;
                        tracing::info!(ticket = %saved.id, reference = %saved.reference, "chat handed off");
                    } else {
                        tracing::info!(ticket = %saved.id, reference = %saved.reference, "chat closed out of hours");
                        crate::metrics::ticket_ended(saved.ticket_type.map(|t| t.code()), saved.state.as_str());
                    }
                    let handed_off = saved.state == TicketState::New;
                    return Ok(ChatReply { messages: session.numbered(&events), ticket: saved, handed_off });
                }
                Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The handoff note (what triage starts from) and what the bot tells the user.
    fn handoff_events(
        &self,
        ticket: &Ticket,
        decision: &Decision<'_>,
        lang: &str,
        now: Timestamp,
        says: &str,
        bot_resolved: bool,
    ) -> Vec<Event> {
        let mut note = json!({"chat": "handoff", "in_service_hours": decision.in_service_hours});
        if bot_resolved {
            note["bot_resolved"] = json!(true);
        }
        // A rulebook without the specific message says the plain handoff one.
        let says = if self.rules.messages.contains_key(says) { says } else { "chat_handoff" };
        vec![
            event(&ticket.id, now, &requester(&ticket.channel), EventKind::Note, note),
            self.bot_says(ticket, now, self.chat_text(says, lang, Some(decision), ticket)),
        ]
    }

    async fn queue_handoff_triage(&self, ticket: &Ticket) -> Result<(), EngineError> {
        // Its own dedup id: the triage queued at intake found the chat still with the bot.
        let step = StepMessage::new(TRIAGE, format!("{}.handoff", ticket.id), json!({"ticket_id": ticket.id}))
            .with_attribute("ticket_id", ticket.id.to_string())
            .with_attribute("reference", ticket.reference.to_string());
        self.ports.steps.publish(&step).await?;
        Ok(())
    }

    /// The conversation after message `after` (0 for all of it), for the app to poll. This reads
    /// the whole conversation; the answer's `cursor` makes the next poll cheap
    /// ([`Self::chat_poll`]).
    pub async fn chat_messages(
        &self,
        reference: &str,
        token: &str,
        after: usize,
    ) -> Result<ChatTranscript, EngineError> {
        let ticket = self.chat_ticket(reference).await?;
        let tail = self.ports.events.tail(&ticket.id, None).await?;
        let session = Session::of(&tail.events).ok_or_else(session_not_found)?;
        if !token_opens(&session.token_hashes, token) {
            return Err(session_not_found());
        }
        let next = session.messages.len();
        let handed_off = session.handoff_at.is_some();
        let cursor = PollCursor { seen: next, handed_off, position: tail.next }.encode();
        let messages = session.messages.into_iter().filter(|m| m.seq > after).collect();
        Ok(ChatTranscript { ticket, messages, next, handed_off, cursor })
    }

    /// The messages written since the poll that gave `cursor`: the store reads only the newer
    /// events and the session's token digests, so a poll with nothing new costs about the same
    /// however long the chat. A cursor that is not one is `Invalid` at `cursor`.
    pub async fn chat_poll(&self, reference: &str, token: &str, cursor: &str) -> Result<ChatTranscript, EngineError> {
        let from = PollCursor::decode(cursor).ok_or_else(|| {
            EngineError::invalid("cursor", "`cursor` is the one the last poll answered with; poll with `after` instead")
        })?;
        let ticket = self.chat_ticket(reference).await?;
        let tail = self.ports.events.tail(&ticket.id, Some(&from.position)).await?;
        if !token_opens(&tail.digests, token) {
            // A session whose digests were not kept apart (started before they were), or a wrong
            // token: the whole check.
            self.chat_session(reference, token).await?;
        }
        let handed_off = from.handed_off || tail.events.iter().any(is_handoff);
        let messages: Vec<ChatMessage> = tail
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Message)
            .enumerate()
            .map(|(i, e)| message_of(from.seen + i + 1, e))
            .collect();
        let next = from.seen + messages.len();
        let position = if tail.next.is_empty() { from.position } else { tail.next };
        let cursor = PollCursor { seen: next, handed_off, position }.encode();
        Ok(ChatTranscript { ticket, messages, next, handed_off, cursor })
    }

    /// After an operator answered a chat the bot handed over with an article: the citizen's latest
    /// question to the bot, stripped of personal data, becomes a candidate example question for
    /// that article. Never fails the answer: a refused or unrecordable question is only logged
    /// (without its text).
    pub(super) async fn learn_from_chat_answer(&self, ticket: &Ticket, article: &str) {
        let store = &self.ports.kb_candidates;
        if ticket.channel_kind != ChannelKind::Chat {
            return;
        }
        let events = match self.ports.events.list(&ticket.id).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(ticket = %ticket.id, error = %e, "candidate question not recorded");
                return;
            }
        };
        let Some(session) = Session::of(&events).filter(|s| s.handoff_at.is_some()) else { return };
        let lang = session.lang.clone().unwrap_or_else(|| self.default_lang());
        let mut refused = None;
        for text in session.user_texts.iter().rev() {
            match crate::knowledge::candidates::scrub(text, &lang, &self.knowledge) {
                Ok(question) => {
                    let candidate = crate::ports::NewCandidate { lang, article: article.to_string(), question };
                    match store.record(&candidate, self.now()).await {
                        Ok(c) => {
                            tracing::info!(ticket = %ticket.id, candidate = %c.id, article, "candidate question recorded")
                        }
                        Err(e) => tracing::warn!(ticket = %ticket.id, error = %e, "candidate question not recorded"),
                    }
                    return;
                }
                Err(why) => refused = Some(why),
            }
        }
        if let Some(why) = refused {
            tracing::info!(ticket = %ticket.id, reason = why.as_str(), "no candidate question: the chat's questions were refused");
        }
    }

    /// An operator writes into a chat handed off to them; the app reads it with its next poll.
    pub async fn chat_operator_message(
        &self,
        ticket_id: &TicketId,
        operator: &Actor,
        body: &str,
    ) -> Result<ChatMessage, EngineError> {
        self.chat_operator_said(ticket_id, operator, body, None).await
    }

    /// [`Self::chat_operator_message`]; with `answer_id` when it carries a resolution's answer,
    /// which its event then names: the record a later run of the delivery's step looks for.
    pub(crate) async fn chat_operator_said(
        &self,
        ticket_id: &TicketId,
        operator: &Actor,
        body: &str,
        answer_id: Option<&str>,
    ) -> Result<ChatMessage, EngineError> {
        super::check_text("/body", body, MAX_CHAT_MESSAGE_BYTES)?;
        let ticket = self.ticket(ticket_id).await?;
        super::operator::check_in_charge(&ticket, operator)?;
        if ticket.channel_kind != ChannelKind::Chat {
            return Err(Refusal::Channel(format!(
                "ticket {} came by {}, not chat: answer it on its own channel",
                ticket.reference, ticket.channel
            ))
            .into());
        }
        if ticket.state.is_final() {
            return Err(Refusal::State(format!(
                "chat {} is closed (`{}`): the user no longer reads it; answer by another channel",
                ticket.reference, ticket.state
            ))
            .into());
        }
        let events = self.ports.events.list(&ticket.id).await?;
        let session = Session::of(&events).unwrap_or_default();
        if session.handoff_at.is_none() {
            return Err(Refusal::State(format!(
                "chat {} is still with the assistant; it reaches the operators when the user asks for one",
                ticket.reference
            ))
            .into());
        }
        let mut detail = json!({"from": "operator", "body": body, "operator": operator.id});
        if let Some(answer_id) = answer_id {
            detail["answer_id"] = json!(answer_id);
        }
        let said = event(&ticket.id, self.now(), operator, EventKind::Message, detail);
        self.ports.events.append(std::slice::from_ref(&said)).await?;
        let mut numbered = session.numbered(&[said]);
        Ok(numbered.remove(0))
    }
}
