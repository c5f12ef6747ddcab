//! Satisfaction surveys (CSAT). When an operator resolves a ticket on a channel whose rulebook
//! entry has a `survey`, the ticket records the survey as sent and the answer carries the
//! question on the requester's own channel:
//! - chat: a message in the session; the app posts the rating to the session;
//! - e-mail: the question and a signed, single-use link to the survey page;
//! - API: the ticket's status shows the question; the client app posts the rating;
//! - voice: the telephony platform posts the digit the caller pressed.
//!
//! A survey is answered once, with a rating from 1 to 5 and an optional comment. The comment is
//! the requester's words: it stays on the ticket (erased with the requester), never in an event.

use super::Refusal;
use super::{Engine, EngineError};
use crate::domain::{Actor, ActorRole, ChannelKind, Event, EventKind, Survey, Ticket};
use crate::ports::StoreError;
use jiff::Timestamp;
use serde_json::json;

/// The longest comment kept, in characters.
pub const MAX_SURVEY_COMMENT_CHARS: usize = 1_000;

/// A requester's answer, as a channel hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyAnswer {
    pub rating: i64,
    pub comment: Option<String>,
}

impl SurveyAnswer {
    fn check(&self) -> Result<(u8, Option<String>), EngineError> {
        let rating = u8::try_from(self.rating)
            .ok()
            .filter(|r| (1..=5).contains(r))
            .ok_or_else(|| EngineError::invalid("/rating", format!("a rating is 1 to 5, not {}", self.rating)))?;
        let comment = self.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
        if let Some(c) = comment {
            if c.chars().count() > MAX_SURVEY_COMMENT_CHARS {
                return Err(EngineError::invalid("/comment", format!("at most {MAX_SURVEY_COMMENT_CHARS} characters")));
            }
            if c.chars().any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t')) {
                return Err(EngineError::invalid("/comment", "control characters are not allowed"));
            }
        }
        Ok((rating, comment.map(str::to_string)))
    }
}

impl Engine {
    /// Marks the survey sent on a ticket being resolved, if its channel sends one and none went
    /// out before (a reopened ticket is not asked twice). Returns the event to record.
    pub(crate) fn survey_on_resolution(&self, t: &mut Ticket, now: Timestamp) -> Option<Event> {
        if t.survey.is_some() || self.rules.channels.get(&t.channel)?.survey.is_none() {
            return None;
        }
        t.survey = Some(Survey {
            channel: t.channel.clone(),
            sent_at: Some(now),
            answered_at: None,
            rating: None,
            comment: None,
            commented: false,
        });
        Some(Event {
            ticket_id: t.id.clone(),
            at: now,
            actor: Actor::system(),
            kind: EventKind::Note,
            detail: json!({"step": "survey_sent", "channel": t.channel}),
        })
    }

    /// The survey question for a ticket whose survey was sent and not answered yet, in `lang`
    /// (else the rulebook's first language).
    pub fn survey_question(&self, t: &Ticket, lang: Option<&str>) -> Option<String> {
        let survey = t.survey.as_ref().filter(|s| s.sent_at.is_some() && s.answered_at.is_none())?;
        let settings = self.rules.channels.get(&survey.channel)?.survey.as_ref()?;
        let first = self.rules.languages.first()?;
        lang.and_then(|l| settings.question.get(l)).or_else(|| settings.question.get(first)).cloned()
    }

    /// The survey page's link for an e-mail ticket, when the channel has a page and the
    /// deployment a signing key.
    pub fn survey_link(&self, t: &Ticket) -> Option<String> {
        let page = self.rules.channels.get(&t.channel)?.survey.as_ref()?.page.as_ref()?;
        let token = self.reply_tokens.as_ref()?.survey_token(&t.reference);
        Some(format!("{}/{token}", page.trim_end_matches('/')))
    }

    /// The ticket a survey link's token names; a token not minted with our key names none.
    pub async fn survey_ticket(&self, token: &str) -> Result<Ticket, EngineError> {
        let not_found = || EngineError::NotFound("survey link (it may be mistyped or from an older key)".into());
        let tokens = self.reply_tokens.as_ref().ok_or_else(not_found)?;
        let reference = tokens.survey_reference(token).ok_or_else(not_found)?;
        self.ticket_by_reference(&reference.to_string()).await
    }

    /// Records the requester's answer, once. `via`: the channel kind it came by, which must be
    /// the ticket's own.
    pub async fn answer_survey(
        &self,
        ticket: &Ticket,
        via: ChannelKind,
        answer: &SurveyAnswer,
    ) -> Result<Ticket, EngineError> {
        let (rating, comment) = answer.check()?;
        if ticket.channel_kind != via {
            return Err(Refusal::Channel(format!(
                "ticket {} came by {}: its survey is answered there",
                ticket.reference, ticket.channel
            ))
            .into());
        }
        let mut current = ticket.clone();
        for _ in 0..3 {
            let now = self.now();
            let survey = match &mut current.survey {
                None => {
                    return Err(Refusal::State(format!(
                        "ticket {} has no survey to answer: one is sent when an operator resolves it",
                        current.reference
                    ))
                    .into());
                }
                Some(s) if s.answered_at.is_some() => {
                    return Err(Refusal::Done("this survey was answered already: thank you".into()).into());
                }
                Some(s) => s,
            };
            survey.answered_at = Some(now);
            survey.rating = Some(rating);
            survey.commented = comment.is_some();
            survey.comment = comment.clone();
            current.updated_at = now;
            let event = Event {
                ticket_id: current.id.clone(),
                at: now,
                actor: Actor { id: current.channel.clone(), role: ActorRole::Requester },
                kind: EventKind::Note,
                detail: json!({"step": "survey_answered", "rating": rating, "commented": comment.is_some()}),
            };
            match self.ports.tickets.update(&current, &[event]).await {
                Ok(saved) => {
                    tracing::info!(ticket = %saved.id, reference = %saved.reference, rating, "survey answered");
                    return Ok(saved);
                }
                Err(StoreError::Conflict { .. }) => current = self.ports.tickets.get(&ticket.id).await?,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Refusal::Contended("the ticket keeps changing; retry".into()).into())
    }
}
