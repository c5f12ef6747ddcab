//! A ticket's row in SQLite: its JSON document read back, and the columns and field rows a work
//! queue sorts and filters by. Shared by the store and by the migration that fills those columns
//! for tickets written before they existed.

use super::sql::{corrupt, micros, unavailable};
use crate::domain::Ticket;
use crate::ports::{QueueKey, StoreError, StoreResult};
use rusqlite::{Connection, params};

pub(super) fn read_ticket(id: &str, doc: &str, version: i64) -> StoreResult<Ticket> {
    let mut ticket: Ticket = serde_json::from_str(doc).map_err(|e| corrupt(&format!("ticket {id}"), &e))?;
    if ticket.id.0 != id {
        return Err(StoreError::Corrupt(format!("ticket {id}: its record names another id")));
    }
    // The column is what version checks compare, so it is the truth.
    ticket.version =
        u64::try_from(version).map_err(|_| StoreError::Corrupt(format!("ticket {id}: negative version")))?;
    Ok(ticket)
}

/// Tickets of a query whose first columns are `id, doc, version`.
pub(super) fn list(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<Vec<Ticket>> {
    let mut stmt = conn.prepare_cached(sql).map_err(unavailable)?;
    let rows = stmt
        .query_map(params, |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
        .map_err(unavailable)?;
    rows.map(|row| {
        let (id, doc, version) = row.map_err(unavailable)?;
        read_ticket(&id, &doc, version)
    })
    .collect()
}

/// The columns a work queue sorts and filters by, and the custom fields' look-up rows: for the
/// migration that fills them in. A ticket's own writes set the columns in the statement that
/// writes its row ([`queue_columns`]) and its field rows with [`insert_fields`] or [`replace_fields`].
pub(super) fn write_queue_columns(tx: &Connection, t: &Ticket) -> StoreResult<()> {
    let (due, channel, ticket_type, assignee, category) = queue_columns(t);
    tx.prepare_cached(
        "UPDATE tickets SET queue_due = ?2, channel = ?3, ticket_type = ?4, assignee = ?5, category = ?6
         WHERE id = ?1",
    )
    .map_err(unavailable)?
    .execute(params![t.id.0, due, channel, ticket_type, assignee, category])
    .map_err(unavailable)?;
    replace_fields(tx, t)
}

/// `queue_due`, `channel`, `ticket_type`, `assignee` and `category`, in that order.
pub(super) fn queue_columns(t: &Ticket) -> (i64, &str, Option<&'static str>, Option<&str>, Option<&str>) {
    (
        QueueKey::of(t).due_us,
        &t.channel,
        t.ticket_type.map(|ty| ty.code()),
        t.assignee.as_deref(),
        t.category.as_deref(),
    )
}

/// The custom fields' look-up rows of a ticket just inserted, which has none yet.
pub(super) fn insert_fields(tx: &Connection, t: &Ticket) -> StoreResult<()> {
    if t.fields.is_empty() {
        return Ok(());
    }
    let mut insert = tx
        .prepare_cached("INSERT INTO ticket_fields (ticket_id, name, value, created_at) VALUES (?1, ?2, ?3, ?4)")
        .map_err(unavailable)?;
    for (name, value) in &t.fields {
        insert.execute(params![t.id.0, name, value, micros(t.created_at)]).map_err(unavailable)?;
    }
    Ok(())
}

/// The custom fields' look-up rows of a stored ticket, replacing those of its last write.
pub(super) fn replace_fields(tx: &Connection, t: &Ticket) -> StoreResult<()> {
    tx.prepare_cached("DELETE FROM ticket_fields WHERE ticket_id = ?1")
        .map_err(unavailable)?
        .execute([&t.id.0])
        .map_err(unavailable)?;
    insert_fields(tx, t)
}

/// Fills the queue columns and field rows of tickets written before they existed (migration 5).
pub(super) fn backfill_queue_columns(tx: &Connection) -> StoreResult<()> {
    let tickets = list(tx, "SELECT id, doc, version FROM tickets", [])?;
    for t in &tickets {
        write_queue_columns(tx, t)?;
    }
    Ok(())
}
