//! `SqliteStore::open_many`, the bulk intake that fills a store with history: every ticket of a
//! batch larger than one writer call is stored once, and a replayed batch stores nothing new.

use sportello::adapters::embedded::{Db, SqliteStore};
use sportello::domain::{Actor, ActorRole, ChannelKind, Ticket};
use sportello::ports::{NewTicket, StoreError};

fn intake(i: usize) -> NewTicket {
    let mut ticket =
        Ticket::new("api", ChannelKind::Api, "first_level", jiff::Timestamp::from_second(1_800_000_000).unwrap());
    ticket.fields.insert("notice_code".into(), format!("3{i:017}"));
    NewTicket {
        idempotency_key: format!("bulk-{i}"),
        fingerprint: None,
        ticket,
        actor: Actor { id: "client:io".into(), role: ActorRole::Requester },
        events: Vec::new(),
        steps: Vec::new(),
        claims: Vec::new(),
    }
}

fn count(path: &std::path::Path, table: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_bulk_intake_larger_than_one_writer_call_stores_each_ticket_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::new(Db::open(&path).unwrap());
    let batch: Vec<NewTicket> = (0..1_000).map(intake).collect();
    let again: Vec<NewTicket> = (0..1_000).map(intake).collect();

    assert_eq!(store.open_many(batch).await.unwrap(), 1_000);
    assert_eq!(store.open_many(again).await.unwrap(), 0, "replayed keys open nothing");
    assert_eq!(count(&path, "tickets"), 1_000);
    assert_eq!(count(&path, "ticket_idempotency"), 1_000);
    assert_eq!(count(&path, "ticket_fields"), 1_000);
    assert_eq!(count(&path, "events"), 1_000, "one Created event each");
}

#[tokio::test]
async fn a_bulk_intake_with_a_bad_ticket_is_refused_before_anything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::new(Db::open(&path).unwrap());
    let mut batch: Vec<NewTicket> = (0..300).map(intake).collect();
    batch[250].idempotency_key.clear();

    let err = store.open_many(batch).await.expect_err("an empty idempotency key is refused");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(count(&path, "tickets"), 0);
}
