//! Candidate example questions for the knowledge base, learnt from operators: when an operator
//! answers a chat the bot handed over with an article, the citizen's question (stripped of
//! personal data) and the article become a candidate; an admin reviews it and promotes it into
//! the article's `examples`, or rejects it (`sportello kb candidates`).
//!
//! A candidate holds no personal data and no link to the ticket or the operator: a language, an
//! article id, a question already scrubbed, counts and dates.

use super::StoreResult;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateStatus {
    /// Waiting for an admin.
    Pending,
    /// Added to the article's example questions.
    Promoted,
    Rejected,
}

impl CandidateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateStatus::Pending => "pending",
            CandidateStatus::Promoted => "promoted",
            CandidateStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [CandidateStatus::Pending, CandidateStatus::Promoted, CandidateStatus::Rejected]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// What is recorded: the same question for the same article again counts once more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCandidate {
    pub lang: String,
    pub article: String,
    /// The question, already stripped of personal data.
    pub question: String,
}

impl NewCandidate {
    /// The candidate's id: the same language, article and question (however punctuated or
    /// capitalized) always give the same id, so repeats are counted, not listed twice.
    pub fn id(&self) -> String {
        let key = format!("{}\n{}\n{}", self.lang, self.article, crate::knowledge::search::normalize(&self.question));
        crate::text::sha256_hex(key.as_bytes())[..16].to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: String,
    pub lang: String,
    pub article: String,
    pub question: String,
    pub status: CandidateStatus,
    /// How many times operators answered this question with this article.
    pub times: u32,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// The admin's account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

/// The longest list one call returns.
pub const MAX_CANDIDATES_LISTED: usize = 1000;

#[async_trait]
pub trait KnowledgeCandidates: Send + Sync {
    /// Records a candidate, or counts it once more (whatever its status).
    async fn record(&self, candidate: &NewCandidate, at: Timestamp) -> StoreResult<Candidate>;
    /// `NotFound` for an unknown id.
    async fn get(&self, id: &str) -> StoreResult<Candidate>;
    /// Candidates with `status` (all without), most often seen first, then most recent; at most
    /// `limit` (capped at [`MAX_CANDIDATES_LISTED`]).
    async fn list(&self, status: Option<CandidateStatus>, limit: usize) -> StoreResult<Vec<Candidate>>;
    /// Promotes or rejects a candidate (deciding again overwrites); `NotFound` for an unknown id.
    async fn decide(&self, id: &str, status: CandidateStatus, by: &str, at: Timestamp) -> StoreResult<Candidate>;
}
