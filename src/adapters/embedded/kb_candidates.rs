//! Candidate example questions in the embedded store: one row each, created on first use beside
//! the store's own migrations (like the incidents' tables).

use super::Db;
use super::db::WithSchema;
use super::db::unavailable;
use crate::ports::kb_candidates::MAX_CANDIDATES_LISTED;
use crate::ports::{Candidate, CandidateStatus, KnowledgeCandidates, NewCandidate, StoreError, StoreResult};
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS kb_candidates (
    id            TEXT PRIMARY KEY,
    lang          TEXT NOT NULL,
    article       TEXT NOT NULL,
    question      TEXT NOT NULL,
    status        TEXT NOT NULL,
    times         INTEGER NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL,
    decided_ms    INTEGER,
    decided_by    TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS kb_candidates_by_status ON kb_candidates (status, times DESC, last_seen_ms DESC);
"#;

const COLUMNS: &str = "id, lang, article, question, status, times, first_seen_ms, last_seen_ms, decided_ms, decided_by";

#[derive(Clone)]
pub struct SqliteKbCandidates {
    db: WithSchema,
}

impl SqliteKbCandidates {
    pub fn new(db: Db) -> Self {
        Self { db: WithSchema::new(db, SCHEMA) }
    }
}

fn time(ms: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn candidate(r: &Row<'_>) -> rusqlite::Result<Candidate> {
    let status: String = r.get(4)?;
    Ok(Candidate {
        id: r.get(0)?,
        lang: r.get(1)?,
        article: r.get(2)?,
        question: r.get(3)?,
        status: CandidateStatus::parse(&status).unwrap_or(CandidateStatus::Pending),
        times: r.get(5)?,
        first_seen: time(r.get(6)?)?,
        last_seen: time(r.get(7)?)?,
        decided_at: r.get::<_, Option<i64>>(8)?.map(time).transpose()?,
        decided_by: r.get(9)?,
    })
}

fn get(c: &rusqlite::Connection, id: &str) -> StoreResult<Candidate> {
    c.query_row(&format!("SELECT {COLUMNS} FROM kb_candidates WHERE id = ?1"), [id], candidate)
        .optional()
        .map_err(unavailable)?
        .ok_or_else(|| StoreError::NotFound(format!("candidate {id}")))
}

#[async_trait]
impl KnowledgeCandidates for SqliteKbCandidates {
    async fn record(&self, new: &NewCandidate, at: Timestamp) -> StoreResult<Candidate> {
        let (id, n) = (new.id(), new.clone());
        let at = at.as_millisecond();
        self.db.call(move |c| {
            c.execute(
                "INSERT INTO kb_candidates (id, lang, article, question, status, times, first_seen_ms, last_seen_ms)
                 VALUES (?1, ?2, ?3, ?4, 'pending', 1, ?5, ?5)
                 ON CONFLICT (id) DO UPDATE SET times = times + 1, last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)",
                params![id, n.lang, n.article, n.question, at],
            )
            .map_err(unavailable)?;
            get(c, &id)
        })
        .await
    }

    async fn get(&self, id: &str) -> StoreResult<Candidate> {
        let id = id.to_string();
        self.db.call(move |c| get(c, &id)).await
    }

    async fn list(&self, status: Option<CandidateStatus>, limit: usize) -> StoreResult<Vec<Candidate>> {
        let limit = limit.clamp(1, MAX_CANDIDATES_LISTED) as i64;
        let status = status.map(|s| s.as_str().to_string());
        self.db
            .call(move |c| {
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM kb_candidates WHERE ?1 IS NULL OR status = ?1
                     ORDER BY times DESC, last_seen_ms DESC, id LIMIT ?2"
                    ))
                    .map_err(unavailable)?;
                let rows = stmt.query_map(params![status, limit], candidate).map_err(unavailable)?;
                rows.map(|r| r.map_err(unavailable)).collect()
            })
            .await
    }

    async fn decide(&self, id: &str, status: CandidateStatus, by: &str, at: Timestamp) -> StoreResult<Candidate> {
        let (id, by) = (id.to_string(), by.to_string());
        self.db
            .call(move |c| {
                let changed = c
                    .execute(
                        "UPDATE kb_candidates SET status = ?2, decided_ms = ?3, decided_by = ?4 WHERE id = ?1",
                        params![id, status.as_str(), at.as_millisecond(), by],
                    )
                    .map_err(unavailable)?;
                if changed == 0 {
                    return Err(StoreError::NotFound(format!("candidate {id}")));
                }
                get(c, &id)
            })
            .await
    }
}
