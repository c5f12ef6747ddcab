use super::Backend;
use async_trait::async_trait;
use sportello::adapters::embedded::{Db, OutboxMailer, SqliteQueue, SqliteReports};
use sportello::domain::{Event, Ticket, TicketId};
use sportello::engine::Ports;
use sportello::ports::{EscalationRoute, ReportStore, StepQueue};
use sportello::reports::Projector;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub struct EmbeddedBackend {
    _dir: tempfile::TempDir,
    path: PathBuf,
    db: Db,
    queues: AtomicU32,
}

impl EmbeddedBackend {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sportello.db");
        let db = Db::open(&path).expect("open db");
        Self { _dir: dir, path, db, queues: AtomicU32::new(0) }
    }

    fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("second connection")
    }
}

#[async_trait]
impl Backend for EmbeddedBackend {
    fn store(&self) -> Ports {
        sportello::adapters::embedded::ports(&self.db)
    }

    async fn reopen(&self) -> Ports {
        sportello::adapters::embedded::ports(&Db::open(&self.path).expect("reopen db"))
    }

    async fn queue(&self, max_attempts: u32) -> Arc<dyn StepQueue> {
        let n = self.queues.fetch_add(1, Ordering::SeqCst);
        Arc::new(SqliteQueue::new(self.db.clone(), format!("steps-{n}"), max_attempts, Duration::from_secs(300)))
    }

    async fn sent_mail(&self) -> Vec<String> {
        OutboxMailer::new(self.db.clone())
            .sent(1000)
            .await
            .expect("outbox")
            .into_iter()
            .map(|e| String::from_utf8(e.raw).expect("utf-8 mime"))
            .collect()
    }

    async fn corrupt_ticket(&self, id: &TicketId) {
        let n = self
            .raw()
            .execute("UPDATE tickets SET doc = '{\"id\": 42, not json' WHERE id = ?1", [&id.0])
            .expect("corrupt");
        assert_eq!(n, 1);
    }

    async fn die_during_update(&self, _: &Ticket, _: &[Event]) {
        // One SQLite transaction: a process that dies before its commit leaves nothing.
    }

    async fn escalation_queue(&self) -> EscalationRoute {
        let n = self.queues.fetch_add(1, Ordering::SeqCst);
        EscalationRoute::Queue { queue: format!("escalations-{n}") }
    }

    async fn stored_text(&self) -> String {
        let c = self.raw();
        let tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut text = String::new();
        for table in tables {
            let mut stmt = c.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let columns = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                for i in 0..columns {
                    match row.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                            text.push_str(&String::from_utf8_lossy(t));
                        }
                        other => text.push_str(&format!("{other:?}")),
                    }
                    text.push('\t');
                }
                text.push('\n');
            }
        }
        text
    }

    fn reports(&self) -> Arc<dyn ReportStore> {
        Arc::new(SqliteReports::new(self.db.clone(), Arc::new(Projector::new(&crate::support::default_rules()))))
    }

    async fn feed_reports(&self) -> usize {
        self.reports().catch_up().await.expect("fold the event table")
    }

    async fn redeliver_reports(&self) -> usize {
        self.raw().execute("UPDATE report_feed SET seq = 0", []).expect("move the cursor back");
        self.feed_reports().await
    }

    async fn list_folded_events(&self, ticket: &TicketId) {
        let c = self.raw();
        let ids: Vec<String> = c
            .prepare("SELECT seq FROM events WHERE ticket_id = ?1")
            .unwrap()
            .query_map([&ticket.0], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|seq| seq.unwrap().to_string())
            .collect();
        let doc: String =
            c.query_row("SELECT doc FROM report_facts WHERE ticket_id = ?1", [&ticket.0], |r| r.get(0)).unwrap();
        let mut facts: serde_json::Value = serde_json::from_str(&doc).unwrap();
        facts.as_object_mut().unwrap().remove("folded").expect("facts in the current form");
        facts["applied"] = serde_json::json!(ids);
        c.execute("UPDATE report_facts SET doc = ?1 WHERE ticket_id = ?2", [facts.to_string(), ticket.0.clone()])
            .unwrap();
    }

    async fn escalation_bodies(&self, route: &EscalationRoute) -> Vec<String> {
        let EscalationRoute::Queue { queue } = route else { panic!("not a queue route") };
        let q = SqliteQueue::new(self.db.clone(), queue.clone(), 5, Duration::from_secs(300));
        let got = q.receive(10, Duration::from_secs(30)).await.expect("receive");
        got.into_iter().map(|d| d.message.body.to_string()).collect()
    }
}
