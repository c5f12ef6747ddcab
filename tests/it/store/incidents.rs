//! The incident store's contract, on every adapter set: each case runs on the embedded store and,
//! with `--features aws`, on DynamoDB as served by moto.

use crate::support::backend::Backend;
use jiff::{SignedDuration, Timestamp};
use sportello::domain::TicketId;
use sportello::ports::{Incident, IncidentState, StoreError};

const NOW: i64 = 1_800_000_000; // 2027-01-15

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(NOW).unwrap() + SignedDuration::from_mins(minutes)
}

fn incident(service: &str, declared_at: Timestamp) -> Incident {
    Incident {
        id: format!("INC-{}", uuid::Uuid::now_v7().simple()),
        service: service.into(),
        title: "Payments fail at checkout".into(),
        restoration_info: Some("Retry after 14:00".into()),
        state: IncidentState::Active,
        declared_at,
        declared_by: "sup-1".into(),
        updated_at: declared_at,
        resolved_at: None,
        closing_text: None,
    }
}

fn resolved(mut i: Incident, when: Timestamp) -> Incident {
    i.state = IncidentState::Resolved;
    i.resolved_at = Some(when);
    i.updated_at = when;
    i.closing_text = Some("Payments work again.".into());
    i
}

async fn declare_update_resolve(b: &dyn Backend) {
    let store = b.store().incidents;
    // A service of its own, so earlier cases on a shared store cannot interfere.
    let service = format!("svc-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    assert!(matches!(store.get("INC-nope").await, Err(StoreError::NotFound(_))));
    assert_eq!(store.active(&service).await.unwrap(), None);

    let declared = incident(&service, at(0));
    store.save(&declared).await.unwrap();
    assert_eq!(store.get(&declared.id).await.unwrap(), declared);
    assert_eq!(store.active(&service).await.unwrap(), Some(declared.clone()));

    let mut updated = declared.clone();
    updated.title = "Payments slow at checkout".into();
    updated.restoration_info = Some("Expected back at 15:00".into());
    updated.updated_at = at(5);
    store.save(&updated).await.unwrap();
    assert_eq!(store.get(&declared.id).await.unwrap(), updated);
    assert_eq!(store.active(&service).await.unwrap(), Some(updated.clone()), "the look-up sees the update");

    let done = resolved(updated, at(30));
    store.save(&done).await.unwrap();
    assert_eq!(store.get(&declared.id).await.unwrap(), done);
    assert_eq!(store.active(&service).await.unwrap(), None, "resolved is no longer active");
    // Saving the resolved incident again changes nothing.
    store.save(&done).await.unwrap();
    assert_eq!(store.active(&service).await.unwrap(), None);

    // New clients over the same data see the same.
    let reopened = b.reopen().await.incidents;
    assert_eq!(reopened.get(&declared.id).await.unwrap(), done);
}

async fn active_is_per_service_and_newest(b: &dyn Backend) {
    let store = b.store().incidents;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let (pay, io) = (format!("pay-{tag}"), format!("io-{tag}"));
    let older = incident(&pay, at(0));
    let newer = incident(&pay, at(10));
    let other = incident(&io, at(20));
    // Saved out of order: the declaration instant decides, not the order of saves.
    for i in [&newer, &other, &older] {
        store.save(i).await.unwrap();
    }
    assert_eq!(store.active(&pay).await.unwrap(), Some(newer.clone()));
    assert_eq!(store.active(&io).await.unwrap(), Some(other.clone()));
    assert_eq!(store.active(&format!("send-{tag}")).await.unwrap(), None);

    store.save(&resolved(newer, at(40))).await.unwrap();
    assert_eq!(store.active(&pay).await.unwrap(), Some(older.clone()), "the older one is still active");
    store.save(&resolved(older, at(50))).await.unwrap();
    assert_eq!(store.active(&pay).await.unwrap(), None);
    assert_eq!(store.active(&io).await.unwrap(), Some(other));
}

async fn link_is_idempotent(b: &dyn Backend) {
    let store = b.store().incidents;
    let i = incident("pagopa", at(0));
    store.save(&i).await.unwrap();
    let t = TicketId::new();
    store.link(&i.id, &t).await.unwrap();
    store.link(&i.id, &t).await.unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, id, t) = (store.clone(), i.id.clone(), t.clone());
            tokio::spawn(async move { store.link(&id, &t).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.linked(&i.id, None, 100).await.unwrap(), vec![t.clone()]);
    assert_eq!(store.linked(&i.id, Some(&t), 100).await.unwrap(), Vec::<TicketId>::new());
    // Links belong to their incident only; an incident without links has an empty page.
    let other = incident("pagopa", at(1));
    store.save(&other).await.unwrap();
    assert!(store.linked(&other.id, None, 100).await.unwrap().is_empty());
    // The incident's own record is not a link.
    assert_eq!(store.get(&i.id).await.unwrap(), i);
}

async fn linked_tickets_come_in_pages(b: &dyn Backend) {
    let store = b.store().incidents;
    let i = incident("send", at(0));
    store.save(&i).await.unwrap();
    let noise = incident("send", at(1));
    store.save(&noise).await.unwrap();
    let mut all: Vec<TicketId> = (0..250).map(|_| TicketId::new()).collect();
    // Linked in an order unlike id order: pages come in id order all the same.
    all.reverse();
    for t in &all {
        store.link(&i.id, t).await.unwrap();
    }
    store.link(&noise.id, &TicketId::new()).await.unwrap();
    all.sort_by(|a, b| a.0.cmp(&b.0));

    let mut seen = Vec::new();
    let mut after: Option<TicketId> = None;
    let mut sizes = Vec::new();
    loop {
        let page = store.linked(&i.id, after.as_ref(), 100).await.unwrap();
        sizes.push(page.len());
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        seen.extend(page);
    }
    assert_eq!(sizes, vec![100, 100, 50, 0]);
    assert_eq!(seen, all, "every linked ticket once, in id order");

    // A limit of 0 still makes progress (one ticket); a huge one is capped, not an error.
    assert_eq!(store.linked(&i.id, None, 0).await.unwrap(), vec![all[0].clone()]);
    assert_eq!(store.linked(&i.id, None, usize::MAX).await.unwrap().len(), 250);
    // Paging from the middle.
    assert_eq!(store.linked(&i.id, Some(&all[199]), 100).await.unwrap(), all[200..].to_vec());
}

async fn an_incident_cannot_move(b: &dyn Backend) {
    let store = b.store().incidents;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let (pay, io) = (format!("pay-{tag}"), format!("io-{tag}"));
    let i = incident(&pay, at(0));
    store.save(&i).await.unwrap();

    let mut moved = i.clone();
    moved.service = io.clone();
    assert!(matches!(store.save(&moved).await, Err(StoreError::Invalid(_))));
    let mut redated = i.clone();
    redated.declared_at = at(60);
    assert!(matches!(store.save(&redated).await, Err(StoreError::Invalid(_))));

    // Refused whole: the incident and the look-ups are as they were.
    assert_eq!(store.get(&i.id).await.unwrap(), i);
    assert_eq!(store.active(&pay).await.unwrap(), Some(i.clone()));
    assert_eq!(store.active(&io).await.unwrap(), None);
}

async fn concurrent_saves_leave_one_consistent_incident(b: &dyn Backend) {
    let store = b.store().incidents;
    let service = format!("svc-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let i = incident(&service, at(0));
    store.save(&i).await.unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let store = store.clone();
            let mut mine = i.clone();
            mine.title = format!("update {n}");
            mine.updated_at = at(n + 1);
            tokio::spawn(async move { store.save(&mine).await.map(|()| mine) })
        })
        .collect();
    let mut written = Vec::new();
    for task in tasks {
        written.push(task.await.unwrap().unwrap());
    }
    // Last writer wins (the port has no version): whichever it was, the record and the
    // service's look-up agree on it.
    let stored = store.get(&i.id).await.unwrap();
    assert!(written.contains(&stored));
    assert_eq!(store.active(&service).await.unwrap(), Some(stored));
}

macro_rules! contract {
    ($set:ident, $backend:expr) => {
        mod $set {
            contract!(@cases $backend, [
                declare_update_resolve,
                active_is_per_service_and_newest,
                link_is_idempotent,
                linked_tickets_come_in_pages,
                an_incident_cannot_move,
                concurrent_saves_leave_one_consistent_incident,
            ]);
        }
    };
    (@cases $backend:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let backend = $backend.await;
                super::$case(&backend).await;
            }
        )*
    };
}

contract!(embedded, crate::support::backend::embedded::EmbeddedBackend::new());
#[cfg(feature = "aws")]
contract!(aws, crate::support::backend::aws::MotoBackend::new());
