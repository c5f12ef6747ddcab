//! Tickets written in the table's earlier layout (before the keys-only requester indexes and the
//! slimmer ticket item) are read, found, updated, erased and purged as new ones are: a deployed
//! table keeps its items, and the new indexes are filled from the attributes old items already
//! carry (`docs/dynamodb.md`, "Migrations").

use super::{days_ago, key, note, now, operator, ticket};
use crate::support::backend::Backend;
use crate::support::backend::aws::MotoBackend;
use aws_sdk_dynamodb::types::AttributeValue;
use sportello::adapters::aws::table;
use sportello::domain::{Ticket, TicketState};
use sportello::ports::{QueueKey, QueueQuery, RequesterKey, StoreError};
use std::collections::HashMap;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn sortable(t: jiff::Timestamp) -> String {
    format!("{:020}", t.as_microsecond().max(0))
}

/// The ticket item exactly as the earlier layout wrote it: the whole ticket in `doc`, `rq_sk`
/// beside `queue_sk`, `queue_pk` on closed tickets too.
fn old_item(t: &Ticket) -> HashMap<String, AttributeValue> {
    let created = format!("{}#{}", sortable(t.created_at), t.id);
    let mut item = HashMap::from([
        ("pk".to_string(), s(format!("T#{}", t.id))),
        ("sk".to_string(), s("TICKET")),
        ("doc".to_string(), s(serde_json::to_string(t).unwrap())),
        ("version".to_string(), AttributeValue::N(t.version.to_string())),
        ("reference".to_string(), s(&t.reference.0)),
        ("state".to_string(), s(t.state.as_str())),
        ("queue_pk".to_string(), s(format!("Q#{}#{}", t.team, t.state))),
        ("queue_sk".to_string(), s(&created)),
        ("rq_sk".to_string(), s(&created)),
        ("channel".to_string(), s(&t.channel)),
    ]);
    let keys = RequesterKey::of(&t.requester);
    for (attr, value) in [("rq_email", keys.email), ("rq_phone", keys.phone), ("rq_fiscal_code", keys.fiscal_code)] {
        if let Some(v) = value {
            item.insert(attr.to_string(), s(v));
        }
    }
    if t.state.is_open() {
        item.insert("open_pk".to_string(), s(format!("O#{}", t.team)));
        item.insert("open_sk".to_string(), s(QueueKey::of(t).sortable()));
    }
    if let (true, Some(closed)) = (t.state.is_final(), t.closed_at) {
        item.insert("closed_pk".to_string(), s("CLOSED"));
        item.insert("closed_sk".to_string(), s(format!("{}#{}", sortable(closed), t.id)));
    }
    item
}

/// Writes `t` in the earlier layout, with its reference and idempotency items.
async fn store_old(b: &MotoBackend, t: &Ticket) {
    let client = aws_sdk_dynamodb::Client::new(&b.config);
    let idem = key();
    let items = [
        old_item(t),
        HashMap::from([
            ("pk".to_string(), s(format!("R#{}", t.reference))),
            ("sk".to_string(), s("REF")),
            ("ticket_id".to_string(), s(&t.id.0)),
            ("idempotency_key".to_string(), s(&idem)),
        ]),
        HashMap::from([
            ("pk".to_string(), s(format!("I#{idem}"))),
            ("sk".to_string(), s("IDEM")),
            ("ticket_id".to_string(), s(&t.id.0)),
        ]),
    ];
    for item in items {
        client.put_item().table_name(&b.table).set_item(Some(item)).send().await.expect("old-layout item");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_written_in_the_earlier_layout_are_read_found_updated_and_erased() {
    let b = MotoBackend::new().await;
    let p = b.ports();
    let team = format!("team-{}", uuid::Uuid::new_v4());
    let email = format!("old-{}@example.it", uuid::Uuid::new_v4().simple());
    let mut open = ticket(&team, days_ago(3));
    open.requester.email = Some(email.clone());
    open.requester.fiscal_code = Some("RSSMRA80A01H501U".into());
    open.subject = Some("Avviso pagato due volte".into());
    open.category = Some("payment_issue".into());
    store_old(&b, &open).await;

    // Read by id and by reference, whole.
    assert_eq!(p.tickets.get(&open.id).await.unwrap(), open);
    assert_eq!(p.tickets.get_by_reference(&open.reference).await.unwrap(), open);
    // Found through the new keys-only requester index (its keys are attributes old items carry).
    let found = p.tickets.find_by_requester(&RequesterKey::Email(email.to_uppercase())).await.unwrap();
    assert_eq!(found, vec![open.clone()]);
    // In its team's work queue and in the console's queue page.
    assert_eq!(p.tickets.work_queue(&team, TicketState::New, 10).await.unwrap(), vec![open.clone()]);
    let page = p.tickets.queue_page(&QueueQuery::team(team.clone(), 10)).await.unwrap();
    assert_eq!(page.tickets, vec![open.clone()]);

    // Updated through the version check on the old item; written back in the new layout.
    let mut taken = open.clone();
    taken.assignee = Some("op-17".into());
    taken.move_to(TicketState::TakenInCharge, days_ago(2)).unwrap();
    let taken = p.tickets.update(&taken, &[note(&taken, days_ago(2), "taken")]).await.unwrap();
    assert_eq!(p.tickets.get(&open.id).await.unwrap(), taken);
    assert!(matches!(p.tickets.update(&open, &[]).await, Err(StoreError::Conflict { .. })), "the old version is stale");
    let raw = aws_sdk_dynamodb::Client::new(&b.config)
        .get_item()
        .table_name(&b.table)
        .key(table::PK, s(format!("T#{}", open.id)))
        .key(table::SK, s("TICKET"))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!raw.contains_key(table::RQ_SK), "rewritten without the earlier sort key");
    let doc = raw["doc"].as_s().unwrap();
    assert!(!doc.contains(&open.reference.0), "the document no longer repeats the reference: {doc}");
    assert_eq!(p.tickets.work_queue(&team, TicketState::TakenInCharge, 10).await.unwrap(), vec![taken.clone()]);
    assert!(p.tickets.work_queue(&team, TicketState::New, 10).await.unwrap().is_empty(), "moved out of `new`");

    // Erased by requester, like any ticket.
    let erased = p.tickets.erase_requester(&RequesterKey::Email(email.clone()), &operator(), now()).await.unwrap();
    assert_eq!(erased.tickets, vec![open.id.clone()]);
    assert!(p.tickets.find_by_requester(&RequesterKey::Email(email)).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_tickets_written_in_the_earlier_layout_are_purged() {
    let b = MotoBackend::new().await;
    let p = b.ports();
    let team = format!("team-{}", uuid::Uuid::new_v4());
    let mut closed = ticket(&team, days_ago(50));
    closed.move_to(TicketState::TakenInCharge, days_ago(50)).unwrap();
    closed.move_to(TicketState::Resolved, days_ago(41)).unwrap();
    closed.move_to(TicketState::Closed, days_ago(40)).unwrap();
    store_old(&b, &closed).await;
    assert_eq!(p.tickets.get(&closed.id).await.unwrap(), closed);
    p.events.append(&[note(&closed, days_ago(40), "closed")]).await.unwrap();
    let purged = p.tickets.purge_closed(30, now(), 1000).await.unwrap();
    assert!(purged.contains(&closed.id), "{purged:?}");
    assert!(matches!(p.tickets.get(&closed.id).await, Err(StoreError::NotFound(_))));
    assert!(p.events.list(&closed.id).await.unwrap().is_empty());
}

/// The raw items of ticket `id`'s partition.
async fn partition(b: &MotoBackend, id: &sportello::domain::TicketId) -> Vec<HashMap<String, AttributeValue>> {
    aws_sdk_dynamodb::Client::new(&b.config)
        .query()
        .table_name(&b.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(format!("T#{id}")))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_leave_out_what_their_keys_hold_and_read_back_whole() {
    let b = MotoBackend::new().await;
    let p = b.ports();
    let team = format!("team-{}", uuid::Uuid::new_v4());
    let email = format!("slim-{}@example.it", uuid::Uuid::new_v4().simple());
    let mut t = ticket(&team, days_ago(3));
    t.requester.email = Some(email.clone());
    t.requester.fiscal_code = Some("RSSMRA80A01H501U".into());
    // Given not as its key keeps it (upper case), and created between two microseconds: these
    // copies stay in the document.
    let mut shouting = ticket(&team, days_ago(2));
    shouting.requester.email = Some(email.to_uppercase());
    shouting.created_at = jiff::Timestamp::from_nanosecond(shouting.created_at.as_nanosecond() + 1).unwrap();
    for x in [&t, &shouting] {
        p.tickets.create(&key(), x, &operator()).await.unwrap();
    }
    // Two events at one instant (a run), and one with nanoseconds below the microsecond.
    let at = days_ago(1);
    let odd = jiff::Timestamp::from_nanosecond(at.as_nanosecond() + 5).unwrap();
    let written = [note(&t, at, "first"), note(&t, at, "second"), note(&t, odd, "odd")];
    p.events.append(&written[..2]).await.unwrap();
    p.events.append(&written[2..]).await.unwrap();

    // Read back whole, as written.
    assert_eq!(p.tickets.get(&t.id).await.unwrap(), t);
    assert_eq!(p.tickets.get(&shouting.id).await.unwrap(), shouting);
    let listed = p.events.list(&t.id).await.unwrap();
    assert_eq!(&listed[listed.len() - 3..], &written[..]);
    assert_eq!(
        p.tickets.find_by_requester(&RequesterKey::Email(email.clone())).await.unwrap(),
        vec![t.clone(), shouting.clone()]
    );

    // Stored without the copies: the requester's keys the rq_* attributes hold as given, the
    // creation time queue_sk holds, and in every event the ticket and the instant of its key.
    let items = partition(&b, &t.id).await;
    let ticket_doc = items.iter().find(|i| i["sk"].as_s().unwrap() == "TICKET").unwrap()["doc"].as_s().unwrap();
    for copy in [email.as_str(), "RSSMRA80A01H501U", "created_at", "requester", "team", "channel_kind"] {
        assert!(!ticket_doc.contains(copy), "{copy} in {ticket_doc}");
    }
    let mut with_time = 0;
    for item in items.iter().filter(|i| i["sk"].as_s().unwrap().starts_with("E#")) {
        let stored = item.get("doc").or(item.get("docs")).unwrap().as_s().unwrap();
        assert!(!stored.contains(&t.id.0), "the ticket id is the partition: {stored}");
        with_time += stored.matches("\"at\"").count();
    }
    assert_eq!(with_time, 1, "only the event with nanoseconds keeps its time");
    let other = partition(&b, &shouting.id).await;
    let kept = other.iter().find(|i| i["sk"].as_s().unwrap() == "TICKET").unwrap()["doc"].as_s().unwrap();
    assert!(kept.contains(&email.to_uppercase()) && kept.contains("created_at"), "not the keys' copies: {kept}");

    // Closed, a ticket keeps its team in the document (it has no `open_pk`), and reads back whole.
    let mut closed = p.tickets.get(&shouting.id).await.unwrap();
    closed.move_to(TicketState::AutoClosed, now()).unwrap();
    let closed = p.tickets.update(&closed, &[]).await.unwrap();
    assert_eq!(p.tickets.get(&closed.id).await.unwrap(), closed);
    let item = partition(&b, &closed.id).await.into_iter().find(|i| i["sk"].as_s().unwrap() == "TICKET").unwrap();
    assert!(item["doc"].as_s().unwrap().contains(&team), "{:?}", item["doc"]);

    // The reports' stream reader puts them back the same way.
    let records: Vec<serde_json::Value> = items
        .iter()
        .filter(|i| i["sk"].as_s().unwrap().starts_with("E#"))
        .enumerate()
        .map(|(n, i)| {
            let image: serde_json::Map<String, serde_json::Value> =
                i.iter().map(|(k, v)| (k.clone(), serde_json::json!({"S": v.as_s().unwrap()}))).collect();
            serde_json::json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": n.to_string(), "NewImage": image}})
        })
        .collect();
    let fed = sportello::adapters::aws::reports::stream_records(&serde_json::json!({ "Records": records })).unwrap();
    let events: Vec<_> = fed.into_iter().flat_map(|r| r.events).map(|f| f.event).collect();
    assert_eq!(events, listed, "the stream gives every event whole, once");

    // An event item written before (ticket and time in each event) reads as it did.
    let before = note(&t, days_ago(0), "written before");
    aws_sdk_dynamodb::Client::new(&b.config)
        .put_item()
        .table_name(&b.table)
        .item("pk", s(format!("T#{}", t.id)))
        .item("sk", s(format!("E#{}#0", sortable(before.at))))
        .item("doc", s(serde_json::to_string(&before).unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(p.events.list(&t.id).await.unwrap().last(), Some(&before));
}
