//! Damaged or foreign data in the SQLite file gives typed errors, never a panic or a silent loss.

use sportello::adapters::embedded::{Db, SqliteQueue};
use sportello::ports::{StepMessage, StepQueue, StoreError};
use std::time::Duration;

#[tokio::test]
async fn an_unreadable_queued_message_is_dead_lettered_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let q = SqliteQueue::new(Db::open(&path).unwrap(), "steps", 5, Duration::from_secs(60));
    q.publish(&StepMessage::new("triage", "bad-1", serde_json::json!({"ok": true}))).await.unwrap();
    q.publish(&StepMessage::new("triage", "good-1", serde_json::json!({"ok": true}))).await.unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE queue_messages SET body = '{truncated' WHERE dedup_id = 'bad-1'", [])
        .unwrap();

    let got = q.receive(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 1, "the readable message is still delivered");
    assert_eq!(got[0].message.dedup_id, "good-1");
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].raw_body, "{truncated", "kept byte for byte");
    assert!(matches!(dead[0].message(), Err(StoreError::Corrupt(_))));
}

#[test]
fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    drop(Db::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = Db::open(&path).err().expect("refused");
    assert!(matches!(err, StoreError::Unavailable(ref m) if m.contains("newer")), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "these are not the tickets you are looking for, ".repeat(200)).unwrap();
    assert!(matches!(Db::open(&path), Err(StoreError::Unavailable(_))));
}
