//! Incidents in the embedded store: one row per incident (its JSON document) and one per linked
//! ticket. The tables are created on open, beside the store's own migrations.

use super::Db;
use super::db::WithSchema;
use super::db::unavailable;
use crate::domain::TicketId;
use crate::ports::{Incident, IncidentStore, StoreError, StoreResult};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS incidents (
    id          TEXT PRIMARY KEY,
    service     TEXT NOT NULL,
    state       TEXT NOT NULL,
    declared_ms INTEGER NOT NULL,
    doc         TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS incidents_by_service ON incidents (service, state, declared_ms);
CREATE TABLE IF NOT EXISTS incident_links (
    incident_id TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    PRIMARY KEY (incident_id, ticket_id)
) STRICT, WITHOUT ROWID;
"#;

#[derive(Clone)]
pub struct SqliteIncidents {
    db: WithSchema,
}

impl SqliteIncidents {
    pub fn new(db: Db) -> Self {
        Self { db: WithSchema::new(db, SCHEMA) }
    }
}

fn parse(id: &str, doc: &str) -> StoreResult<Incident> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("incident {id}: {e}")))
}

#[async_trait]
impl IncidentStore for SqliteIncidents {
    async fn save(&self, incident: &Incident) -> StoreResult<()> {
        let doc = serde_json::to_string(incident).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let i = incident.clone();
        let state = serde_json::to_value(i.state).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        self.db
            .call(move |c| {
                // The look-up columns are keys (in DynamoDB too): an incident cannot move.
                let written = c
                    .execute(
                        "INSERT INTO incidents (id, service, state, declared_ms, doc) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (id) DO UPDATE SET state = excluded.state, doc = excluded.doc
                     WHERE service = excluded.service AND declared_ms = excluded.declared_ms",
                        params![i.id, i.service, state, i.declared_at.as_millisecond(), doc],
                    )
                    .map_err(unavailable)?;
                if written == 0 {
                    return Err(StoreError::Invalid(format!(
                        "incident {}: its service and declaration time cannot change",
                        i.id
                    )));
                }
                Ok(())
            })
            .await
    }

    async fn get(&self, id: &str) -> StoreResult<Incident> {
        let id = id.to_string();
        self.db
            .call(move |c| {
                let doc: Option<String> = c
                    .query_row("SELECT doc FROM incidents WHERE id = ?1", [&id], |r| r.get(0))
                    .optional()
                    .map_err(unavailable)?;
                parse(&id, &doc.ok_or_else(|| StoreError::NotFound(format!("incident {id}")))?)
            })
            .await
    }

    async fn active(&self, service: &str) -> StoreResult<Option<Incident>> {
        let service = service.to_string();
        self.db
            .call(move |c| {
                let row: Option<(String, String)> = c
                    .query_row(
                        "SELECT id, doc FROM incidents WHERE service = ?1 AND state = 'active'
                         ORDER BY declared_ms DESC LIMIT 1",
                        [&service],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(unavailable)?;
                row.map(|(id, doc)| parse(&id, &doc)).transpose()
            })
            .await
    }

    async fn link(&self, incident: &str, ticket: &TicketId) -> StoreResult<()> {
        let (incident, ticket) = (incident.to_string(), ticket.to_string());
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO incident_links (incident_id, ticket_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![incident, ticket],
                )
                .map_err(unavailable)?;
                Ok(())
            })
            .await
    }

    async fn linked_count(&self, incident: &str) -> StoreResult<u64> {
        let incident = incident.to_string();
        self.db
            .call(move |c| {
                c.query_row("SELECT count(*) FROM incident_links WHERE incident_id = ?1", [&incident], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n as u64)
                .map_err(unavailable)
            })
            .await
    }

    async fn list(&self, limit: usize) -> StoreResult<Vec<Incident>> {
        let limit = limit.min(1000) as i64;
        self.db
            .call(move |c| {
                let mut stmt = c
                    .prepare_cached("SELECT id, doc FROM incidents ORDER BY declared_ms DESC, id LIMIT ?1")
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map([limit], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                    .map_err(unavailable)?;
                rows.map(|row| {
                    let (id, doc) = row.map_err(unavailable)?;
                    parse(&id, &doc)
                })
                .collect()
            })
            .await
    }

    async fn linked(&self, incident: &str, after: Option<&TicketId>, limit: usize) -> StoreResult<Vec<TicketId>> {
        let incident = incident.to_string();
        let after = after.map(ToString::to_string).unwrap_or_default();
        let limit = limit.clamp(1, 1000) as i64;
        self.db
            .call(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT ticket_id FROM incident_links WHERE incident_id = ?1 AND ticket_id > ?2
                         ORDER BY ticket_id LIMIT ?3",
                    )
                    .map_err(unavailable)?;
                let rows =
                    stmt.query_map(params![incident, after, limit], |r| r.get::<_, String>(0)).map_err(unavailable)?;
                rows.map(|r| r.map(TicketId).map_err(unavailable)).collect()
            })
            .await
    }
}
