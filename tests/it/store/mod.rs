//! One contract, every adapter set: what "tickets that are never lost or duplicated" means.
//! Each `async fn` below runs against the embedded store and, with `--features aws`, against
//! DynamoDB/SQS/SES as served by moto.

mod bad_data;
mod incidents;
mod old_layout;
mod open_many;

use crate::support::backend::Backend;
use jiff::{SignedDuration, Timestamp};
use sportello::domain::{
    Actor, ActorRole, ChannelKind, Event, EventKind, Ticket, TicketId, TicketReference, TicketState,
};
use sportello::ports::{
    Claim, Completion, EscalationMessage, EscalationRoute, FollowUps, Lease, NewTicket, OutgoingMail, QueuePosition,
    RequesterKey, RunOnce, StepMessage, StoreError, run_once,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const NOW: i64 = 1_800_000_000; // 2027-01-15

fn now() -> Timestamp {
    Timestamp::from_second(NOW).unwrap()
}

fn days_ago(days: i64) -> Timestamp {
    now() - SignedDuration::from_hours(days * 24)
}

fn operator() -> Actor {
    Actor { id: "op-17".into(), role: ActorRole::Operator }
}

fn ticket(team: &str, created_at: Timestamp) -> Ticket {
    Ticket::new("email", ChannelKind::Email, team, created_at)
}

fn note(t: &Ticket, at: Timestamp, text: &str) -> Event {
    Event {
        ticket_id: t.id.clone(),
        at,
        actor: operator(),
        kind: EventKind::Note,
        detail: serde_json::json!({ "text": text }),
    }
}

fn key() -> String {
    format!("idem-{}", uuid::Uuid::new_v4())
}

async fn idempotent_create(b: &dyn Backend) {
    let p = b.ports();
    let k = key();
    let first = ticket("first_level", days_ago(1));
    let created = p.tickets.create(&k, &first, &Actor::system()).await.unwrap();
    assert!(!created.replayed);
    assert_eq!(created.ticket, first);

    // A retry builds a new ticket (new id, new reference): the key still wins.
    let retry = ticket("first_level", days_ago(1));
    let again = p.tickets.create(&k, &retry, &Actor::system()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.ticket, first);
    assert!(matches!(p.tickets.get(&retry.id).await, Err(StoreError::NotFound(_))));

    assert_eq!(p.tickets.get(&first.id).await.unwrap(), first);
    assert_eq!(p.tickets.get_by_reference(&first.reference).await.unwrap(), first);
    let events = p.events.list(&first.id).await.unwrap();
    assert_eq!(events.len(), 1, "one Created event, not one per call");
    assert_eq!(events[0].kind, EventKind::Created);
    assert_eq!(events[0].actor, Actor::system());

    // Concurrent retries of one key create one ticket.
    let k2 = key();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (tickets, k2) = (p.tickets.clone(), k2.clone());
            tokio::spawn(
                async move { tickets.create(&k2, &ticket("first_level", days_ago(1)), &Actor::system()).await },
            )
        })
        .collect();
    let mut ids = Vec::new();
    let mut fresh = 0;
    for t in tasks {
        let c = t.await.unwrap().unwrap();
        fresh += usize::from(!c.replayed);
        ids.push(c.ticket.id);
    }
    assert_eq!(fresh, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1);

    // Another key cannot take a reference (or an id) that is in use.
    let mut clash = ticket("first_level", days_ago(1));
    clash.reference = first.reference.clone();
    assert!(matches!(p.tickets.create(&key(), &clash, &Actor::system()).await, Err(StoreError::Duplicate(_))));
    let mut clash = ticket("first_level", days_ago(1));
    clash.id = first.id.clone();
    assert!(matches!(p.tickets.create(&key(), &clash, &Actor::system()).await, Err(StoreError::Duplicate(_))));

    assert!(matches!(p.tickets.create("", &ticket("t", now()), &Actor::system()).await, Err(StoreError::Invalid(_))));
    let mut versioned = ticket("t", now());
    versioned.version = 3;
    assert!(matches!(p.tickets.create(&key(), &versioned, &Actor::system()).await, Err(StoreError::Invalid(_))));
}

async fn one_winner_among_concurrent_updates(b: &dyn Backend) {
    let p = b.ports();
    let t = ticket("first_level", days_ago(1));
    p.tickets.create(&key(), &t, &Actor::system()).await.unwrap();
    let read = p.tickets.get(&t.id).await.unwrap();
    assert_eq!(read.version, 0);

    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let tickets = p.tickets.clone();
            let mut mine = read.clone();
            tokio::spawn(async move {
                mine.assignee = Some(format!("op-{i}"));
                mine.move_to(TicketState::TakenInCharge, now()).unwrap();
                let ev = note(&mine, now(), &format!("taken by op-{i}"));
                tickets.update(&mine, &[ev]).await
            })
        })
        .collect();
    let (mut winners, mut conflicts) = (Vec::new(), 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(t) => winners.push(t),
            Err(StoreError::Conflict { expected: 0, found: 1 }) => conflicts += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner");
    assert_eq!(conflicts, 49);
    let stored = p.tickets.get(&t.id).await.unwrap();
    assert_eq!(stored, winners[0]);
    assert_eq!(stored.version, 1);
    assert_eq!(stored.state, TicketState::TakenInCharge);
    let events = p.events.list(&t.id).await.unwrap();
    let notes: Vec<_> = events.iter().filter(|e| e.kind == EventKind::Note).collect();
    assert_eq!(notes.len(), 1, "the losers' events were not written");
    assert_eq!(notes[0].detail["text"], format!("taken by {}", stored.assignee.clone().unwrap()));

    // The winner's next update goes through from the version it got back.
    let mut next = stored.clone();
    next.move_to(TicketState::InProgress, now()).unwrap();
    assert_eq!(p.tickets.update(&next, &[]).await.unwrap().version, 2);
    assert!(matches!(p.tickets.update(&next, &[]).await, Err(StoreError::Conflict { expected: 1, found: 2 })));
}

async fn update_refuses_bad_input(b: &dyn Backend) {
    let p = b.ports();
    let t = ticket("first_level", days_ago(1));
    assert!(matches!(p.tickets.update(&t, &[]).await, Err(StoreError::NotFound(_))));
    p.tickets.create(&key(), &t, &Actor::system()).await.unwrap();
    let other = ticket("first_level", days_ago(1));
    assert!(matches!(p.tickets.update(&t, &[note(&other, now(), "x")]).await, Err(StoreError::Invalid(_))));
    let mut moved = t.clone();
    moved.reference = TicketReference::generate();
    assert!(matches!(p.tickets.update(&moved, &[]).await, Err(StoreError::Invalid(_))));
    assert_eq!(p.tickets.get(&t.id).await.unwrap().version, 0, "nothing was written");
    assert!(matches!(p.tickets.get(&TicketId::new()).await, Err(StoreError::NotFound(_))));
    assert!(matches!(p.tickets.get_by_reference(&TicketReference::generate()).await, Err(StoreError::NotFound(_))));
    assert!(matches!(p.events.append(&[note(&other, now(), "x")]).await, Err(StoreError::NotFound(_))));
    assert!(p.events.list(&TicketId::new()).await.unwrap().is_empty());
}

async fn corrupt_records_are_errors_not_panics(b: &dyn Backend) {
    let p = b.ports();
    let team = format!("team-{}", uuid::Uuid::new_v4());
    let good = ticket(&team, days_ago(2));
    let bad = ticket(&team, days_ago(1));
    p.tickets.create(&key(), &good, &Actor::system()).await.unwrap();
    p.tickets.create(&key(), &bad, &Actor::system()).await.unwrap();
    b.corrupt_ticket(&bad.id).await;
    assert!(matches!(p.tickets.get(&bad.id).await, Err(StoreError::Corrupt(_))));
    assert!(matches!(p.tickets.get_by_reference(&bad.reference).await, Err(StoreError::Corrupt(_))));
    assert!(matches!(p.tickets.work_queue(&team, TicketState::New, 10).await, Err(StoreError::Corrupt(_))));
    let err = p.tickets.get(&bad.id).await.unwrap_err().to_string();
    assert!(err.contains(&bad.id.0), "{err}");
    assert!(!err.contains("not json"), "the message does not quote stored data: {err}");
    assert_eq!(p.tickets.get(&good.id).await.unwrap(), good, "other tickets still read");
}

async fn work_queue_is_oldest_first(b: &dyn Backend) {
    let p = b.ports();
    let team = format!("team-{}", uuid::Uuid::new_v4());
    let mut expected = Vec::new();
    for age in [3, 9, 1, 7, 5] {
        let t = ticket(&team, days_ago(age));
        p.tickets.create(&key(), &t, &Actor::system()).await.unwrap();
        expected.push((age, t.id));
    }
    // Noise: another team, and a ticket of this team in another state.
    p.tickets.create(&key(), &ticket("elsewhere", days_ago(20)), &Actor::system()).await.unwrap();
    let mut taken = ticket(&team, days_ago(30));
    p.tickets.create(&key(), &taken, &Actor::system()).await.unwrap();
    taken.move_to(TicketState::TakenInCharge, now()).unwrap();
    p.tickets.update(&taken, &[]).await.unwrap();

    expected.sort_by_key(|(age, _)| -age);
    let got: Vec<_> =
        p.tickets.work_queue(&team, TicketState::New, 3).await.unwrap().into_iter().map(|t| t.id).collect();
    let want: Vec<_> = expected.iter().take(3).map(|(_, id)| id.clone()).collect();
    assert_eq!(got, want);
    assert_eq!(p.tickets.work_queue(&team, TicketState::New, 100).await.unwrap().len(), 5);
    let in_charge = p.tickets.work_queue(&team, TicketState::TakenInCharge, 10).await.unwrap();
    assert_eq!(in_charge.len(), 1);
    assert_eq!(in_charge[0].id, taken.id);
    assert!(p.tickets.work_queue(&team, TicketState::Closed, 10).await.unwrap().is_empty());

    // Several states at once (a team's work queue): each state's, oldest first, `limit` each.
    let states = [TicketState::New, TicketState::TakenInCharge, TicketState::Closed];
    let both: Vec<_> = p.tickets.work_queues(&team, &states, 3).await.unwrap().into_iter().map(|t| t.id).collect();
    let mut want_both = want.clone();
    want_both.push(taken.id.clone());
    assert_eq!(both, want_both);
    assert!(p.tickets.work_queues(&team, &states, 0).await.unwrap().is_empty());
    assert!(p.tickets.work_queues(&team, &[TicketState::Closed], 10).await.unwrap().is_empty());
}

fn deadline(kind: &str, due: Timestamp) -> sportello::domain::Deadline {
    sportello::domain::Deadline { kind: kind.into(), due, warned_at: None, breached_at: None }
}

async fn queue_pages_put_the_nearest_running_deadline_first(b: &dyn Backend) {
    use sportello::domain::TicketType;
    use sportello::ports::{AssigneeFilter, Hidden, PageStart, QueueKey, QueueQuery};
    let p = b.ports();
    let team = format!("team-{}", uuid::Uuid::new_v4().simple());
    let other = format!("team-{}", uuid::Uuid::new_v4().simple());
    let hours = |h: i64| now() + SignedDuration::from_hours(h);
    // (name, team, channel, hours to first response, hours to resolution, state, assignee, category, type)
    type Spec<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<i64>,
        Option<i64>,
        TicketState,
        Option<&'a str>,
        &'a str,
        Option<TicketType>,
    );
    let specs: Vec<Spec> = vec![
        ("due-in-5", &team, "email", Some(5), Some(40), TicketState::New, None, "basic_info", None),
        ("due-in-2", &team, "voice", Some(2), Some(30), TicketState::New, None, "basic_info", None),
        // Its first response (in 1 h) is met: it sorts by its resolution, in 20 h.
        (
            "taken-due-in-20",
            &team,
            "email",
            Some(1),
            Some(20),
            TicketState::InProgress,
            Some("op-17"),
            "advanced_info",
            Some(TicketType::A),
        ),
        ("no-deadline", &team, "chat", None, None, TicketState::New, None, "basic_info", None),
        ("due-in-3-other-team", &other, "email", Some(3), Some(50), TicketState::New, None, "basic_info", None),
        ("privacy-due-in-4", &team, "email", Some(4), Some(60), TicketState::New, None, "privacy_issue", None),
        (
            "typed-pi-due-in-70",
            &team,
            "api",
            Some(6),
            Some(70),
            TicketState::InProgress,
            Some("op-18"),
            "basic_info",
            Some(TicketType::PI),
        ),
        (
            "resolved-due-in-1",
            &team,
            "email",
            Some(1),
            Some(1),
            TicketState::Resolved,
            Some("op-17"),
            "basic_info",
            Some(TicketType::Q),
        ),
    ];
    let mut ids = BTreeMap::new();
    for (i, (name, t_team, channel, first, resolution, state, assignee, category, ty)) in specs.into_iter().enumerate()
    {
        let mut t =
            Ticket::new(channel, ChannelKind::Email, t_team, days_ago(10) + SignedDuration::from_secs(i as i64));
        t.category = Some(category.into());
        t.deadlines =
            [first.map(|h| deadline("first_response", hours(h))), resolution.map(|h| deadline("resolution", hours(h)))]
                .into_iter()
                .flatten()
                .collect();
        p.tickets.create(&key(), &t, &Actor::system()).await.unwrap();
        if state != TicketState::New {
            t.move_to(TicketState::TakenInCharge, now()).unwrap();
            if state != TicketState::TakenInCharge {
                t.move_to(TicketState::InProgress, now()).unwrap();
            }
            if state == TicketState::Resolved {
                t.move_to(TicketState::Resolved, now()).unwrap();
            }
            t.assignee = assignee.map(str::to_string);
            t.ticket_type = ty;
            p.tickets.update(&t, &[]).await.unwrap();
        }
        ids.insert(t.id.clone(), name);
    }
    let names = |page: &sportello::ports::QueuePage| -> Vec<&str> { page.tickets.iter().map(|t| ids[&t.id]).collect() };

    let mut q = QueueQuery::team(team.clone(), 3);
    let first = p.tickets.queue_page(&q).await.unwrap();
    assert_eq!(names(&first), ["due-in-2", "privacy-due-in-4", "due-in-5"]);
    assert!(first.more_after && !first.more_before);
    if let Some(total) = first.total {
        assert_eq!(total, 6, "open tickets of the team");
    }
    q.start = PageStart::After(QueueKey::of(first.tickets.last().unwrap()));
    let second = p.tickets.queue_page(&q).await.unwrap();
    assert_eq!(names(&second), ["taken-due-in-20", "typed-pi-due-in-70", "no-deadline"]);
    assert!(second.more_before);
    q.start = PageStart::After(QueueKey::of(second.tickets.last().unwrap()));
    let past_the_end = p.tickets.queue_page(&q).await.unwrap();
    assert!(past_the_end.tickets.is_empty() && !past_the_end.more_after);
    q.start = PageStart::Before(QueueKey::of(&second.tickets[0]));
    let back = p.tickets.queue_page(&q).await.unwrap();
    assert_eq!(names(&back), names(&first), "the previous page is the first one again");
    assert!(back.more_after && !back.more_before);

    // Filters, alone and together.
    let tickets = p.tickets.clone();
    let page = |q: QueueQuery| {
        let tickets = tickets.clone();
        async move { tickets.queue_page(&q).await.unwrap() }
    };
    let mut by_channel = QueueQuery::team(team.clone(), 50);
    by_channel.channel = Some("voice".into());
    assert_eq!(names(&page(by_channel).await), ["due-in-2"]);
    let mut by_type = QueueQuery::team(team.clone(), 50);
    by_type.ticket_type = Some(TicketType::A);
    assert_eq!(names(&page(by_type).await), ["taken-due-in-20"]);
    let mut by_state = QueueQuery::team(team.clone(), 50);
    by_state.state = Some(TicketState::InProgress);
    assert_eq!(names(&page(by_state).await), ["taken-due-in-20", "typed-pi-due-in-70"]);
    let mut mine = QueueQuery::team(team.clone(), 50);
    mine.assignee = Some(AssigneeFilter::Operator("op-17".into()));
    assert_eq!(names(&page(mine).await), ["taken-due-in-20"], "a resolved ticket is no longer queued");
    let mut unassigned = QueueQuery::team(team.clone(), 50);
    unassigned.assignee = Some(AssigneeFilter::Unassigned);
    unassigned.channel = Some("email".into());
    assert_eq!(names(&page(unassigned).await), ["privacy-due-in-4", "due-in-5"]);
    let mut hidden = QueueQuery::team(team.clone(), 50);
    hidden.hidden = Hidden { categories: vec!["privacy_issue".into()], types: vec![TicketType::PI] };
    let visible = page(hidden).await;
    assert_eq!(names(&visible), ["due-in-2", "due-in-5", "taken-due-in-20", "no-deadline"]);
    if let Some(total) = visible.total {
        assert_eq!(total, 4, "the count leaves hidden tickets out too");
    }
    // Several teams merge into one order.
    let mut both = QueueQuery::team(team.clone(), 3);
    both.teams.push(other.clone());
    assert_eq!(names(&page(both).await), ["due-in-2", "due-in-3-other-team", "privacy-due-in-4"]);
    assert!(page(QueueQuery::team(format!("team-{}", uuid::Uuid::new_v4()), 10)).await.tickets.is_empty());
}

async fn tickets_are_found_by_a_custom_field(b: &dyn Backend) {
    let p = b.ports();
    let code = format!("3020{:014}", uuid::Uuid::new_v4().as_u128() % 100_000_000_000_000);
    let mut older = ticket("first_level", days_ago(3));
    older.fields.insert("notice_code".into(), code.clone());
    older.requester.fiscal_code = Some("RSSMRA80A01H501U".into());
    older.fields.insert("payer".into(), "RSSMRA80A01H501U".into());
    let mut newer = ticket("first_level", days_ago(1));
    newer.fields.insert("notice_code".into(), code.clone());
    let mut unrelated = ticket("first_level", days_ago(2));
    unrelated.fields.insert("notice_code".into(), format!("{code}9"));
    for t in [&older, &newer, &unrelated] {
        p.tickets.create(&key(), t, &Actor::system()).await.unwrap();
    }
    let found: Vec<TicketId> =
        p.tickets.find_by_field("notice_code", &code, 10).await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(found, [newer.id.clone(), older.id.clone()], "newest first");
    assert_eq!(p.tickets.find_by_field("notice_code", &code, 1).await.unwrap().len(), 1);
    assert!(p.tickets.find_by_field("rpt_id", &code, 10).await.unwrap().is_empty(), "another field");
    // A field that repeats the requester's identifier goes with an erasure, and so does its look-up.
    let payer = p.tickets.find_by_field("payer", "RSSMRA80A01H501U", 10).await.unwrap();
    assert!(payer.iter().any(|t| t.id == older.id));
    let key_cf = RequesterKey::FiscalCode("RSSMRA80A01H501U".into());
    p.tickets.erase_requester(&key_cf, &operator(), now()).await.unwrap();
    let payer = p.tickets.find_by_field("payer", "RSSMRA80A01H501U", 10).await.unwrap();
    assert!(!payer.iter().any(|t| t.id == older.id), "erased");
    assert_eq!(p.tickets.find_by_field("notice_code", &code, 10).await.unwrap().len(), 2, "not a personal field");
}

async fn work_queue_reads_on_page_by_page(b: &dyn Backend) {
    let p = b.ports();
    let team = format!("team-{}", uuid::Uuid::new_v4());
    // Three tickets created at the same instant: the id orders them, and a page may end among them.
    let mut tickets: Vec<Ticket> = [4, 2, 2, 2, 1].into_iter().map(|age| ticket(&team, days_ago(age))).collect();
    for t in &tickets {
        p.tickets.create(&key(), t, &Actor::system()).await.unwrap();
    }
    tickets.sort_by(|a, b| (a.created_at, &a.id.0).cmp(&(b.created_at, &b.id.0)));
    let mut read = Vec::new();
    let mut after: Option<QueuePosition> = None;
    loop {
        let page = p.tickets.work_queue_after(&team, TicketState::New, after.as_ref(), 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(QueuePosition::of(last));
        read.extend(page.into_iter().map(|t| t.id));
    }
    assert_eq!(read, tickets.iter().map(|t| t.id.clone()).collect::<Vec<_>>(), "each once, in queue order");
    let past_the_end = QueuePosition::of(tickets.last().unwrap());
    assert!(p.tickets.work_queue_after(&team, TicketState::New, Some(&past_the_end), 2).await.unwrap().is_empty());
}

/// Personal data used below; none of it may survive an erasure.
const PII: [&str; 5] = ["Mario Rossi", "mario.rossi@example.it", "3331234567", "RSSMRA80A01H501U", "via Roma 1"];

async fn erasure_leaves_no_personal_data(b: &dyn Backend) {
    let p = b.ports();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("mario.rossi+{tag}@example.it");
    let fiscal = format!("RSSMRA80A01H{}", &tag[..4].to_uppercase());
    let mut mine = Vec::new();
    for age in [5, 2] {
        let mut t = ticket("privacy", days_ago(age));
        t.requester.name = Some("Mario Rossi".into());
        t.requester.email = Some(email.clone());
        t.requester.phone = Some("+39 333 123 4567".into());
        t.requester.fiscal_code = Some(fiscal.clone());
        t.subject = Some("Mario Rossi: pagamento non registrato".into());
        t.fields.insert("payer_fiscal_code".into(), fiscal.clone());
        t.fields.insert("notice_code".into(), "302000100000009424".into());
        p.tickets.create(&key(), &t, &Actor::system()).await.unwrap();
        let msg = Event {
            ticket_id: t.id.clone(),
            at: days_ago(age) + SignedDuration::from_secs(60),
            actor: Actor { id: "email".into(), role: ActorRole::Requester },
            kind: EventKind::Message,
            detail: serde_json::json!({"body": format!("Sono Mario Rossi, via Roma 1, scrivetemi a {email}")}),
        };
        p.events.append(&[msg]).await.unwrap();
        mine.push(t);
    }
    let mut someone_else = ticket("privacy", days_ago(3));
    someone_else.requester.email = Some(format!("luigi+{tag}@example.it"));
    p.tickets.create(&key(), &someone_else, &Actor::system()).await.unwrap();

    // Found by any of the keys, whatever the formatting.
    let by_email = p.tickets.find_by_requester(&RequesterKey::Email(email.to_uppercase())).await.unwrap();
    assert_eq!(by_email.iter().map(|t| &t.id).collect::<Vec<_>>(), mine.iter().map(|t| &t.id).collect::<Vec<_>>());
    assert_eq!(p.tickets.find_by_requester(&RequesterKey::FiscalCode(fiscal.to_lowercase())).await.unwrap().len(), 2);
    assert!(p.tickets.find_by_requester(&RequesterKey::Phone("+39-333-1234567".into())).await.unwrap().len() >= 2);

    let privacy_operator = Actor { id: "dpo-2".into(), role: ActorRole::PrivacyOperator };
    let erased =
        p.tickets.erase_requester(&RequesterKey::FiscalCode(fiscal.clone()), &privacy_operator, now()).await.unwrap();
    let mut erased_ids = erased.tickets.clone();
    erased_ids.sort();
    let mut mine_ids: Vec<_> = mine.iter().map(|t| t.id.clone()).collect();
    mine_ids.sort();
    assert_eq!(erased_ids, mine_ids);

    let pii: Vec<String> =
        PII.iter().map(|s| s.to_lowercase()).chain([email.to_lowercase(), fiscal.to_lowercase()]).collect();
    for t in &mine {
        let stored = p.tickets.get(&t.id).await.unwrap();
        assert!(stored.requester.is_empty());
        assert_eq!(stored.version, 1, "erasure is an update like any other");
        assert_eq!(stored.fields.get("notice_code").map(String::as_str), Some("302000100000009424"));
        let events = p.events.list(&t.id).await.unwrap();
        let text = format!("{}{}", serde_json::to_string(&stored).unwrap(), serde_json::to_string(&events).unwrap())
            .to_lowercase();
        for secret in &pii {
            assert!(!text.contains(secret.as_str()), "`{secret}` survived the erasure");
        }
        let audit: Vec<_> = events.iter().filter(|e| e.kind == EventKind::RequesterErased).collect();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].actor, privacy_operator);
        assert_eq!(audit[0].at, now());
        assert_eq!(events.len(), 3, "Created, Message, RequesterErased: the trail keeps its shape");
    }
    assert!(p.tickets.find_by_requester(&RequesterKey::Email(email.clone())).await.unwrap().is_empty());
    assert!(p.tickets.find_by_requester(&RequesterKey::FiscalCode(fiscal.clone())).await.unwrap().is_empty());
    let untouched = p.tickets.get(&someone_else.id).await.unwrap();
    assert_eq!(untouched, someone_else);

    // Erasing again finds nothing to do; a blank key is refused.
    assert!(
        p.tickets
            .erase_requester(&RequesterKey::FiscalCode(fiscal), &privacy_operator, now())
            .await
            .unwrap()
            .tickets
            .is_empty()
    );
    assert!(matches!(
        p.tickets.erase_requester(&RequesterKey::Email("  ".into()), &privacy_operator, now()).await,
        Err(StoreError::Invalid(_))
    ));
}

/// An erasure reaches every copy the store keeps of a requester's data, not only the ticket and
/// its events: the mail sent to them, messages still queued about the ticket (an escalation with
/// their fields, a step's payload), and whatever else the adapter stores.
async fn erasure_reaches_every_copy_the_store_keeps(b: &dyn Backend) {
    let p = b.ports();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("anna.neri+{tag}@example.it");
    let secrets = [email.clone(), "Anna Neri".into(), "via Garibaldi 7".into(), "NRENNA80A41H501X".into()];
    let mut t = ticket("first_level", days_ago(1));
    t.requester.name = Some("Anna Neri".into());
    t.requester.email = Some(email.clone());
    t.requester.fiscal_code = Some("NRENNA80A41H501X".into());
    t.subject = Some("Anna Neri, via Garibaldi 7".into());
    p.tickets.create(&key(), &t, &Actor::system()).await.unwrap();
    let body = format!("Sono Anna Neri, via Garibaldi 7, NRENNA80A41H501X, {email}");
    let msg = Event {
        ticket_id: t.id.clone(),
        at: days_ago(1),
        actor: Actor { id: "email".into(), role: ActorRole::Requester },
        kind: EventKind::Message,
        detail: serde_json::json!({"from": "requester", "sender": email, "body": body}),
    };
    p.events.append(&[msg]).await.unwrap();
    // The acknowledgement that went to them.
    let mut ack = mail(&format!("ack-{tag}@sportello.example"));
    ack.to = vec![email.clone()];
    ack.text = format!("Gentile Anna Neri, abbiamo ricevuto: {body}");
    ack.ticket = Some(t.reference.clone());
    p.mailer.send(&ack).await.unwrap();
    // An escalation still waiting on a queue, with the fields the target may see.
    let mut esc = escalation(&t);
    esc.fields.insert("requester.email".into(), email.clone());
    esc.fields.insert("description".into(), body.clone());
    let route = b.escalation_queue().await;
    p.escalations.deliver(&route, &esc).await.unwrap();
    // A queued step about the ticket.
    let q = b.queue(3).await;
    q.publish(
        &StepMessage::new("notify", format!("n-{tag}"), serde_json::json!({"ticket_id": t.id, "text": body}))
            .with_attribute("reference", t.reference.0.clone()),
    )
    .await
    .unwrap();
    let before = b.stored_text().await.to_lowercase();
    assert!(before.contains(&email.to_lowercase()), "the store holds the address before");

    let privacy_operator = Actor { id: "dpo-3".into(), role: ActorRole::PrivacyOperator };
    let erased = p.tickets.erase_requester(&RequesterKey::Email(email.clone()), &privacy_operator, now()).await;
    assert_eq!(erased.unwrap().tickets, [t.id.clone()]);
    let after = b.stored_text().await.to_lowercase();
    for secret in &secrets {
        if let Some(at) = after.find(&secret.to_lowercase()) {
            let start = at.saturating_sub(200);
            panic!("`{secret}` survived the erasure in: …{}…", &after[start..(at + 200).min(after.len())]);
        }
    }
}

/// An erasure also reaches what intake stored with the ticket: a step still waiting (on the
/// store's queue, or in its outbox) that carries more than ids, and the digest of the request
/// kept with its key. A step of ids only stays, so the ticket is still triaged; the key stays, so
/// a retry still finds its ticket.
async fn erasure_reaches_what_intake_stored(b: &dyn Backend) {
    let p = b.ports();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("lucia.bianchi+{tag}@example.it");
    let mut t = ticket("awaiting_triage", days_ago(1));
    t.requester.email = Some(email.clone());
    let triage = StepMessage::new("triage", format!("{}.triage", t.id), serde_json::json!({"ticket_id": t.id}));
    let notify = StepMessage::new(
        "notify",
        format!("{}.notify", t.id),
        serde_json::json!({"ticket_id": t.id, "text": format!("Gentile Lucia Bianchi ({email})")}),
    );
    let digest = format!("digest-{tag}");
    let new = NewTicket {
        idempotency_key: key(),
        fingerprint: Some(digest.clone()),
        ticket: t.clone(),
        actor: Actor::system(),
        events: Vec::new(),
        steps: vec![triage.clone(), notify],
        claims: Vec::new(),
    };
    let created = p.tickets.open(&new).await.unwrap();
    let before = b.stored_text().await.to_lowercase();
    assert!(before.contains(&digest) && before.contains("lucia bianchi"), "stored before");
    let copies = p.tickets.copies_of(std::slice::from_ref(&t)).await.unwrap();
    assert_eq!(copies.get("queued_messages"), Some(&1), "{copies:?}");

    let privacy_operator = Actor { id: "dpo-4".into(), role: ActorRole::PrivacyOperator };
    let erased =
        p.tickets.erase_requester(&RequesterKey::Email(email.clone()), &privacy_operator, now()).await.unwrap();
    assert_eq!(erased.tickets, [t.id.clone()]);
    assert_eq!(erased.copies.get("queued_messages"), Some(&1), "{:?}", erased.copies);
    let after = b.stored_text().await.to_lowercase();
    for secret in [digest.as_str(), &email, "lucia bianchi"] {
        assert!(!after.contains(&secret.to_lowercase()), "`{secret}` survived the erasure");
    }
    if !created.outbox.is_empty() {
        // A store that keeps intake steps in an outbox keeps the one of ids only.
        let pending = p.tickets.outbox_pending(now(), 1000).await.unwrap();
        let left: Vec<&StepMessage> = pending.iter().filter(|o| o.ticket == t.id).map(|o| &o.step).collect();
        assert_eq!(left, [&triage]);
    }
    let again = p.tickets.open(&new).await.unwrap();
    assert!(again.replayed);
    assert_eq!((again.ticket.id, again.fingerprint), (t.id, None));
}

async fn purge_removes_only_closed_tickets_past_retention(b: &dyn Backend) {
    let p = b.ports();
    let team = format!("team-{}", uuid::Uuid::new_v4());
    let make = |state: Option<TicketState>, created: i64, closed: i64| {
        let mut t = ticket(&team, days_ago(created));
        if let Some(s) = state {
            if s == TicketState::Closed {
                t.move_to(TicketState::TakenInCharge, days_ago(created)).unwrap();
                t.move_to(TicketState::Resolved, days_ago(closed)).unwrap();
            }
            t.move_to(s, days_ago(closed)).unwrap();
        }
        t
    };
    let old_closed = make(Some(TicketState::Closed), 50, 40);
    let old_auto = make(Some(TicketState::AutoClosed), 45, 45);
    let recent_closed = make(Some(TicketState::NotServed), 20, 20);
    let mut resolved_long_ago = make(None, 60, 0);
    resolved_long_ago.move_to(TicketState::TakenInCharge, days_ago(60)).unwrap();
    resolved_long_ago.move_to(TicketState::Resolved, days_ago(59)).unwrap();
    let open_old = make(None, 90, 0);
    let all = [&old_closed, &old_auto, &recent_closed, &resolved_long_ago, &open_old];
    for t in all {
        // Created straight in their state: this is about the purge, not the lifecycle.
        p.tickets.create(&key(), t, &Actor::system()).await.unwrap();
        p.events.append(&[note(t, t.updated_at, "worked")]).await.unwrap();
    }
    let purged = p.tickets.purge_closed(30, now(), 1000).await.unwrap();
    for t in [&old_closed, &old_auto] {
        assert!(purged.contains(&t.id), "{} should be purged", t.state);
        assert!(matches!(p.tickets.get(&t.id).await, Err(StoreError::NotFound(_))));
        assert!(matches!(p.tickets.get_by_reference(&t.reference).await, Err(StoreError::NotFound(_))));
        assert!(p.events.list(&t.id).await.unwrap().is_empty(), "its events went with it");
    }
    for t in [&recent_closed, &resolved_long_ago, &open_old] {
        assert!(!purged.contains(&t.id), "{} must stay", t.state);
        assert_eq!(&p.tickets.get(&t.id).await.unwrap(), t);
        assert_eq!(p.events.list(&t.id).await.unwrap().len(), 2);
    }
    assert!(p.tickets.purge_closed(30, now(), 1000).await.unwrap().iter().all(|id| !all.iter().any(|t| &t.id == id)));
}

async fn nothing_acknowledged_is_lost(b: &dyn Backend) {
    let p = b.ports();
    let team = format!("team-{}", uuid::Uuid::new_v4());
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let p = p.clone();
            let team = team.clone();
            tokio::spawn(async move {
                let t = ticket(&team, days_ago(1) + SignedDuration::from_secs(i));
                p.tickets.create(&format!("{team}-{i}"), &t, &Actor::system()).await.unwrap();
                let mut t = p.tickets.get(&t.id).await.unwrap();
                t.subject = Some(format!("subject {i}"));
                let t = p.tickets.update(&t, &[note(&t, now(), &format!("n{i}"))]).await.unwrap();
                p.events.append(&[note(&t, now() + SignedDuration::from_secs(1), "later")]).await.unwrap();
                t
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for t in tasks {
        acknowledged.push(t.await.unwrap());
    }
    let reopened = b.reopen().await;
    for t in &acknowledged {
        assert_eq!(&reopened.tickets.get(&t.id).await.unwrap(), t);
        let kinds: Vec<_> = reopened.events.list(&t.id).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::Created, EventKind::Note, EventKind::Note]);
    }
    let queue = reopened.tickets.work_queue(&team, TicketState::New, 1000).await.unwrap();
    assert_eq!(queue.len(), 40);
    assert!(queue.windows(2).all(|w| w[0].created_at <= w[1].created_at));
}

/// A process that dies in the middle of an update leaves the ticket, its history, its chat
/// feed and the reports as they were; the update done again succeeds, and counts once.
async fn an_update_cut_short_leaves_no_trace(b: &dyn Backend) {
    let p = b.ports();
    let t = ticket("first_level", days_ago(2));
    p.tickets.create(&key(), &t, &Actor::system()).await.unwrap();
    let taken_at = |at: Timestamp| {
        let mut taken = t.clone();
        taken.state = TicketState::InProgress;
        taken.assignee = Some("op-17".into());
        taken.updated_at = at;
        let event = Event {
            ticket_id: t.id.clone(),
            at,
            actor: operator(),
            kind: EventKind::TakenInCharge,
            detail: serde_json::json!({ "assignee": "op-17" }),
        };
        (taken, event)
    };
    let (cut_short, lost) = taken_at(days_ago(1));
    b.die_during_update(&cut_short, std::slice::from_ref(&lost)).await;
    assert_eq!(p.tickets.get(&t.id).await.unwrap(), t, "the ticket is as it was");
    let kinds = |events: Vec<Event>| events.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(kinds(p.events.list(&t.id).await.unwrap()), [EventKind::Created]);
    assert_eq!(kinds(p.events.tail(&t.id, None).await.unwrap().events), [EventKind::Created]);

    // Done again later: it succeeds, and its events are the only ones of the update.
    let (retry, kept) = taken_at(days_ago(1) + SignedDuration::from_mins(5));
    let done = p.tickets.update(&retry, std::slice::from_ref(&kept)).await.unwrap();
    assert_eq!(done.version, t.version + 1);
    let history = p.events.list(&t.id).await.unwrap();
    assert_eq!(kinds(history.clone()), [EventKind::Created, EventKind::TakenInCharge]);
    assert_eq!(history[1].at, kept.at);
    assert_eq!(kinds(p.events.tail(&t.id, None).await.unwrap().events), [EventKind::Created, EventKind::TakenInCharge]);
    let reopened = b.reopen().await;
    assert_eq!(kinds(reopened.events.list(&t.id).await.unwrap()), [EventKind::Created, EventKind::TakenInCharge]);

    // The reports count the update done, not the one cut short.
    b.feed_reports().await;
    let facts = b.reports().facts(&t.id).await.unwrap().expect("the ticket's facts");
    assert_eq!(facts.first_taken_at, Some(kept.at));
}

/// Taking in charge and classifying in one request is one update with two events: they are
/// written together, in order, or not at all (the loser of a race writes neither).
async fn one_update_takes_in_charge_and_classifies(b: &dyn Backend) {
    let p = b.ports();
    let t = ticket("first_level", days_ago(2));
    p.tickets.create(&key(), &t, &Actor::system()).await.unwrap();
    let at = days_ago(1);
    let taken_by = |who: &str| {
        let mut done = t.clone();
        done.move_to(TicketState::TakenInCharge, at).unwrap();
        done.move_to(TicketState::InProgress, at).unwrap();
        done.assignee = Some(who.into());
        done.ticket_type = Some(sportello::domain::TicketType::Q);
        done.updated_at = at;
        let actor = Actor { id: who.into(), role: ActorRole::Operator };
        let event = |kind, detail| Event { ticket_id: t.id.clone(), at, actor: actor.clone(), kind, detail };
        let events = [
            event(EventKind::TakenInCharge, serde_json::json!({ "assignee": who })),
            event(EventKind::Classified, serde_json::json!({ "from": null, "to": "Q" })),
        ];
        (done, events)
    };
    let (a, a_events) = taken_by("op-a");
    let (b_ticket, b_events) = taken_by("op-b");
    let (won, lost) = tokio::join!(p.tickets.update(&a, &a_events), p.tickets.update(&b_ticket, &b_events));
    let (saved, loser) = match (won, lost) {
        (Ok(s), Err(e)) | (Err(e), Ok(s)) => (s, e),
        other => panic!("exactly one of two racing updates wins: {other:?}"),
    };
    assert!(matches!(loser, StoreError::Conflict { expected: 0, found: 1 }), "{loser:?}");
    assert_eq!(saved.version, t.version + 1, "one write");
    assert_eq!(p.tickets.get(&t.id).await.unwrap(), saved);
    let winner = saved.assignee.clone().unwrap();

    let expect = [
        (EventKind::Created, "system".to_string(), serde_json::Value::Null),
        (EventKind::TakenInCharge, winner.clone(), serde_json::json!({ "assignee": winner })),
        (EventKind::Classified, winner.clone(), serde_json::json!({ "from": null, "to": "Q" })),
    ];
    let seen = |events: Vec<Event>| {
        events
            .into_iter()
            .map(|e| {
                let detail = if e.kind == EventKind::Created { serde_json::Value::Null } else { e.detail };
                (e.kind, e.actor.id, detail)
            })
            .collect::<Vec<_>>()
    };
    let history = p.events.list(&t.id).await.unwrap();
    assert!(history[1..].iter().all(|e| e.at == at), "{history:?}");
    assert_eq!(seen(history), expect);
    assert_eq!(seen(p.events.tail(&t.id, None).await.unwrap().events), expect);
    assert_eq!(seen(b.reopen().await.events.list(&t.id).await.unwrap()), expect);

    b.feed_reports().await;
    let facts = b.reports().facts(&t.id).await.unwrap().expect("the ticket's facts");
    assert_eq!(facts.first_taken_at, Some(at));
}

async fn events_keep_their_order(b: &dyn Backend) {
    let p = b.ports();
    let t = ticket("first_level", days_ago(3));
    p.tickets.create(&key(), &t, &Actor::system()).await.unwrap();
    let batch: Vec<_> = (0..5).map(|i| note(&t, days_ago(2), &format!("same instant {i}"))).collect();
    p.events.append(&batch).await.unwrap();
    p.events.append(&[note(&t, days_ago(1), "later")]).await.unwrap();
    let texts: Vec<_> = p
        .events
        .list(&t.id)
        .await
        .unwrap()
        .into_iter()
        .skip(1)
        .map(|e| e.detail["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        texts,
        ["same instant 0", "same instant 1", "same instant 2", "same instant 3", "same instant 4", "later"]
    );
    let other = ticket("first_level", now());
    assert!(matches!(
        p.events.append(&[note(&t, now(), "a"), note(&other, now(), "b")]).await,
        Err(StoreError::Invalid(_))
    ));
}

fn step(dedup: &str, ticket: &Ticket) -> StepMessage {
    StepMessage::new("triage", dedup, serde_json::json!({"ticket_id": ticket.id, "hint": "pagamento", "n": [1, 2, 3]}))
        .with_attribute("ticket_id", ticket.id.0.clone())
        .with_attribute("reference", ticket.reference.0.clone())
}

async fn publish_deduplicates(b: &dyn Backend) {
    let q = b.queue(5).await;
    let t = ticket("first_level", now());
    let first = q.publish(&step("d-1", &t)).await.unwrap();
    assert!(!first.duplicate);
    let again = q.publish(&step("d-1", &t)).await.unwrap();
    assert!(again.duplicate);
    assert!(!q.publish(&step("d-2", &t)).await.unwrap().duplicate);
    let mut got = Vec::new();
    for _ in 0..3 {
        got.extend(q.receive(10, Duration::from_secs(30)).await.unwrap());
    }
    let mut dedups: Vec<_> = got.iter().map(|d| d.message.dedup_id.clone()).collect();
    dedups.sort();
    assert_eq!(dedups, ["d-1", "d-2"], "one message per deduplication id");
    let d1 = got.iter().find(|d| d.message.dedup_id == "d-1").unwrap();
    assert_eq!(d1.message, step("d-1", &t), "step, body and attributes arrive whole");
    assert_eq!(d1.attempts, 1);
    assert!(matches!(
        q.publish(&StepMessage::new("bad step!", "x", serde_json::json!({}))).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(q.receive(0, Duration::from_secs(1)).await, Err(StoreError::Invalid(_))));
}

async fn redelivery_has_one_effect(b: &dyn Backend) {
    let p = b.ports();
    let q = b.queue(5).await;
    let t = ticket("first_level", days_ago(1));
    p.tickets.create(&key(), &t, &Actor::system()).await.unwrap();
    let dedup = format!("triage-{}", t.id);
    q.publish(&step(&dedup, &t)).await.unwrap();
    let runs = Arc::new(AtomicUsize::new(0));

    // The effect: a note on the ticket. The handler does it, then "crashes" before the ack.
    let handle = |delivery: sportello::ports::Delivery| {
        let (p, runs) = (p.clone(), runs.clone());
        async move {
            let key = delivery.message.idempotency_key();
            run_once(p.idempotency.as_ref(), &key, Duration::from_secs(60), Duration::from_secs(3600), || async {
                runs.fetch_add(1, Ordering::SeqCst);
                let id = TicketId(delivery.message.body["ticket_id"].as_str().unwrap().to_owned());
                let t = p.tickets.get(&id).await?;
                p.tickets.update(&t, &[note(&t, now(), "triaged")]).await
            })
            .await
        }
    };
    let first = q.receive(1, Duration::from_secs(30)).await.unwrap().pop().expect("delivered");
    assert!(matches!(handle(first.clone()).await, Ok(RunOnce::Ran(_))));
    q.nack(&first.receipt).await.unwrap(); // as if the visibility timeout ran out

    let second = q.receive(1, Duration::from_secs(30)).await.unwrap().pop().expect("delivered again");
    assert_eq!(second.message_id, first.message_id);
    assert_eq!(second.attempts, 2);
    assert!(matches!(handle(second.clone()).await, Ok(RunOnce::AlreadyDone)));
    q.ack(&second.receipt).await.unwrap();
    q.ack(&second.receipt).await.unwrap(); // acking twice is harmless

    // The same effect published again (a retried producer) is also recognised.
    q.publish(&step(&dedup, &t)).await.unwrap();
    for d in q.receive(10, Duration::from_secs(30)).await.unwrap() {
        assert!(matches!(handle(d.clone()).await, Ok(RunOnce::AlreadyDone)));
        q.ack(&d.receipt).await.unwrap();
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let notes = p.events.list(&t.id).await.unwrap().into_iter().filter(|e| e.kind == EventKind::Note).count();
    assert_eq!(notes, 1);
    assert_eq!(p.tickets.get(&t.id).await.unwrap().version, 1);
    assert!(q.receive(10, Duration::from_secs(30)).await.unwrap().is_empty());

    // A failed effect releases its claim: the retry runs it.
    let k = format!("step:failing:{}", uuid::Uuid::new_v4());
    let failed: Result<RunOnce<()>, _> =
        run_once(p.idempotency.as_ref(), &k, Duration::from_secs(60), Duration::from_secs(60), || async {
            Err("boom")
        })
        .await;
    assert!(failed.is_err());
    let retried = run_once(p.idempotency.as_ref(), &k, Duration::from_secs(60), Duration::from_secs(60), || async {
        Ok::<_, &str>(7)
    })
    .await;
    assert!(matches!(retried, Ok(RunOnce::Ran(7))));
    // A claim held by a live worker is left alone.
    let held = format!("step:held:{}", uuid::Uuid::new_v4());
    assert_eq!(p.idempotency.claim(&held, Duration::from_secs(60)).await.unwrap(), sportello::ports::Claim::Acquired);
    assert_eq!(p.idempotency.claim(&held, Duration::from_secs(60)).await.unwrap(), sportello::ports::Claim::InProgress);
}

async fn dead_letters_after_max_attempts_and_redrive(b: &dyn Backend) {
    let q = b.queue(3).await;
    let t = ticket("first_level", now());
    let sent = step("poison-1", &t);
    q.publish(&sent).await.unwrap();
    for attempt in 1..=3 {
        let d =
            q.receive(1, Duration::from_secs(30)).await.unwrap().pop().unwrap_or_else(|| panic!("attempt {attempt}"));
        assert_eq!(d.attempts, attempt);
        q.nack(&d.receipt).await.unwrap();
    }
    assert!(q.receive(10, Duration::from_secs(30)).await.unwrap().is_empty(), "moved after 3 attempts");
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message().unwrap(), sent, "kept whole");
    assert!(dead[0].attempts >= 3);
    assert_eq!(q.dead_letters(10).await.unwrap().len(), 1, "listing does not consume");

    assert_eq!(q.redrive(10).await.unwrap(), 1);
    assert!(q.dead_letters(10).await.unwrap().is_empty());
    let back = q.receive(1, Duration::from_secs(30)).await.unwrap().pop().expect("re-driven");
    assert_eq!(back.message, sent);
    assert_eq!(back.attempts, 1, "attempts start again");
    q.ack(&back.receipt).await.unwrap();
    assert!(q.receive(10, Duration::from_secs(30)).await.unwrap().is_empty());
}

async fn visibility_timeout_redelivers(b: &dyn Backend) {
    let q = b.queue(5).await;
    q.publish(&step("vis-1", &ticket("first_level", now()))).await.unwrap();
    let d = q.receive(1, Duration::from_secs(1)).await.unwrap().pop().expect("delivered");
    assert!(q.receive(10, Duration::from_secs(1)).await.unwrap().is_empty(), "hidden while in flight");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let again = q.receive(1, Duration::from_secs(30)).await.unwrap().pop().expect("visible again");
    assert_eq!(again.message_id, d.message_id);
    assert_eq!(again.attempts, 2);
    q.ack(&again.receipt).await.unwrap();
}

fn mail(message_id: &str) -> OutgoingMail {
    OutgoingMail {
        from: "assistenza@sportello.example".into(),
        to: vec!["cittadino@example.it".into()],
        subject: "Re: [SP-7K3Q9XWD] richiesta di assistenza".into(),
        text: "Gentile utente, la sua richiesta è stata risolta.".into(),
        html: None,
        message_id: message_id.into(),
        in_reply_to: Some("CAB123@mail.example.it".into()),
        references: vec!["CAA001@mail.example.it".into(), "CAB123@mail.example.it".into()],
        ticket: Some(TicketReference("SP-7K3Q9XWD".into())),
        auto_submitted: None,
        reply_to: None,
    }
}

async fn mail_is_sent_threaded(b: &dyn Backend) {
    let p = b.ports();
    let id = format!("{}@sportello.example", uuid::Uuid::new_v4());
    let sent = p.mailer.send(&mail(&id)).await.unwrap();
    assert_eq!(sent.message_id, id);
    assert!(!sent.transport_id.is_empty());
    let raw = b.sent_mail().await;
    let ours: Vec<_> = raw.iter().filter(|m| m.contains(&format!("Message-ID: <{id}>"))).collect();
    assert_eq!(ours.len(), 1, "sent once: {raw:?}");
    assert!(ours[0].contains("In-Reply-To: <CAB123@mail.example.it>"));
    assert!(ours[0].contains("References: <CAA001@mail.example.it> <CAB123@mail.example.it>"));
    assert!(ours[0].contains("X-Sportello-Reference: SP-7K3Q9XWD"));
    let mut bad = mail(&id);
    bad.to = vec![];
    assert!(matches!(p.mailer.send(&bad).await, Err(StoreError::Invalid(_))));
}

fn escalation(t: &Ticket) -> EscalationMessage {
    EscalationMessage {
        schema: sportello::ports::escalation::ESCALATION_SCHEMA.into(),
        escalation_id: format!("{}:pagopa_specialists:1", t.id),
        ticket_id: t.id.clone(),
        reference: t.reference.clone(),
        target: "pagopa_specialists".into(),
        ticket_type: Some(sportello::domain::TicketType::A),
        category: Some("specialist_support".into()),
        channel: Some("api".into()),
        escalated_at: now(),
        due: Some(now() + SignedDuration::from_hours(48)),
        summary: "Payment notice paid twice, please check the creditor's reconciliation.".into(),
        fields: BTreeMap::from([("notice_code".to_string(), "302000100000009424".to_string())]),
        reply_to: Some("https://sqs.eu-south-1.amazonaws.com/000000000000/sportello-notices".into()),
        kind: sportello::ports::MessageKind::Escalation,
        reminds: None,
        reply_token: None,
    }
}

async fn escalations_by_queue_and_mail(b: &dyn Backend) {
    let p = b.ports();
    let t = ticket("first_level", now());
    let msg = escalation(&t);
    let route = b.escalation_queue().await;
    p.escalations.deliver(&route, &msg).await.unwrap();
    let bodies = b.escalation_bodies(&route).await;
    assert_eq!(bodies.len(), 1);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/escalation-message.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let body: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    let errors: Vec<String> = validator.iter_errors(&body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(serde_json::from_value::<EscalationMessage>(body).unwrap(), msg);

    let route = EscalationRoute::Email {
        from: "escalation@sportello.example".into(),
        to: vec!["specialisti@pagopa.example".into()],
    };
    p.escalations.deliver(&route, &msg).await.unwrap();
    let mails = b.sent_mail().await;
    let ours: Vec<_> =
        mails.iter().filter(|m| m.contains(&format!("[{}] Escalation to pagopa_specialists", t.reference))).collect();
    assert_eq!(ours.len(), 1);
    assert!(ours[0].contains("302000100000009424"));
    let mut wrong = msg.clone();
    wrong.schema = "v0".into();
    assert!(matches!(p.escalations.deliver(&route, &wrong).await, Err(StoreError::Invalid(_))));
}

/// An intake's ticket, events and steps are written together: the steps are either on the
/// store's own queue already or waiting in its outbox, never lost; a replay says what the key was
/// first used with and what is still waiting.
async fn intake_writes_everything_at_once(b: &dyn Backend) {
    let p = b.ports();
    let t = ticket("first_level", days_ago(1));
    let step = StepMessage::new("triage", t.id.to_string(), serde_json::json!({"ticket_id": t.id}));
    let new = NewTicket {
        idempotency_key: key(),
        fingerprint: Some("digest-1".into()),
        ticket: t.clone(),
        actor: Actor::system(),
        events: vec![note(&t, t.created_at, "first message")],
        steps: vec![step.clone()],
        claims: Vec::new(),
    };
    let created = p.tickets.open(&new).await.unwrap();
    assert!(!created.replayed);
    let kinds: Vec<EventKind> = p.events.list(&t.id).await.unwrap().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Created, EventKind::Note]);
    // What the store did not queue itself waits in its outbox, and the sweep can find it.
    let pending = p.tickets.outbox_pending(now(), 10).await.unwrap();
    assert_eq!(pending, created.outbox);
    assert!(created.outbox.iter().all(|o| o.step == step && o.ticket == t.id), "{:?}", created.outbox);
    assert!(p.tickets.outbox_pending(days_ago(2), 10).await.unwrap().is_empty(), "nothing older");

    // The same key again: the first ticket, its fingerprint, and the steps still waiting.
    let retry = ticket("first_level", days_ago(1));
    let again =
        NewTicket { events: vec![note(&retry, retry.created_at, "first message")], ticket: retry, ..new.clone() };
    let again = p.tickets.open(&again).await;
    let again = again.unwrap();
    assert!(again.replayed);
    assert_eq!(again.ticket.id, t.id);
    assert_eq!(again.fingerprint.as_deref(), Some("digest-1"));
    assert_eq!(again.outbox, created.outbox);
    p.tickets.outbox_done(&created.outbox).await.unwrap();
    p.tickets.outbox_done(&created.outbox).await.unwrap();
    assert!(p.tickets.outbox_pending(now(), 10).await.unwrap().is_empty());
    assert!(p.tickets.open(&new).await.unwrap().outbox.is_empty(), "published: nothing left for a replay");
    assert_eq!(p.events.list(&t.id).await.unwrap().len(), 2, "a replay writes nothing");

    // An event of another ticket cannot come along, and then nothing is written at all.
    let other = ticket("first_level", days_ago(1));
    let stray = NewTicket {
        idempotency_key: key(),
        ticket: other.clone(),
        events: vec![note(&t, t.created_at, "not yours")],
        ..new.clone()
    };
    assert!(matches!(p.tickets.open(&stray).await, Err(StoreError::Invalid(_))));
    assert!(matches!(p.tickets.get(&other.id).await, Err(StoreError::NotFound(_))));
}

/// A ticket's write takes the claims it makes due for its writer and keeps the steps that follow
/// it (in the outbox of a store whose queue is elsewhere, or on its own queue); a refused write
/// takes and keeps nothing. The effect is then recorded, its claim completed and its step dropped
/// in one write, which refuses a ticket that is not there and then completes nothing.
async fn writes_claim_and_queue_what_they_make_due(b: &dyn Backend) {
    let p = b.ports();
    let (lease, keep) = (Duration::from_secs(60), Duration::from_secs(3600));
    let t = ticket("first_level", days_ago(1));
    let ack = format!("ack:{}", t.id);
    let new = NewTicket { claims: vec![Lease::new(&ack, lease)], ..NewTicket::bare(&key(), &t, &Actor::system()) };
    p.tickets.open(&new).await.unwrap();
    assert_eq!(p.idempotency.claim(&ack, lease).await.unwrap(), Claim::InProgress, "the intake holds it");

    let current = p.tickets.update(&t, &[note(&t, now(), "taken")]).await.unwrap();
    let answer = format!("answer:{}", t.id);
    let step = StepMessage::new("deliver_answer", format!("{}.answer", t.id), serde_json::json!({"ticket_id": t.id}));
    let follow = FollowUps { steps: vec![step.clone()], claims: vec![Lease::new(&answer, lease)] };
    let ours = |pending: Vec<sportello::ports::Outboxed>| -> Vec<_> {
        pending.into_iter().filter(|o| o.ticket == t.id).collect()
    };
    let later = now() + SignedDuration::from_hours(1);

    // Stale: nothing is written, neither the step nor the claim.
    let stale = p.tickets.update_queueing(&t, &[note(&t, now(), "stale")], &follow).await;
    assert!(matches!(stale, Err(StoreError::Conflict { .. })), "{stale:?}");
    assert!(ours(p.tickets.outbox_pending(later, 100).await.unwrap()).is_empty());
    assert_eq!(p.idempotency.claim(&answer, lease).await.unwrap(), Claim::Acquired, "not taken by the refused write");
    p.idempotency.release(&answer).await.unwrap();

    let mut resolving = current.clone();
    resolving.updated_at = now();
    let (saved, outbox) = p.tickets.update_queueing(&resolving, &[note(&t, now(), "resolved")], &follow).await.unwrap();
    assert_eq!(saved.version, current.version + 1);
    assert_eq!(ours(p.tickets.outbox_pending(later, 100).await.unwrap()), outbox, "what the store did not queue");
    // A store that queued the step holds the claim; one that kept it in its outbox holds the step
    // itself out of reach, and wrote no claim.
    let held_by_the_outbox = !outbox.is_empty();
    if held_by_the_outbox {
        assert_eq!(p.idempotency.claim(&answer, lease).await.unwrap(), Claim::Acquired, "no claim written");
        p.idempotency.release(&answer).await.unwrap();
    } else {
        assert_eq!(p.idempotency.claim(&answer, lease).await.unwrap(), Claim::InProgress, "the write holds it");
    }
    let queued: Vec<StepMessage> =
        p.steps.receive(10, Duration::from_secs(30)).await.unwrap().into_iter().map(|d| d.message).collect();
    let steps: Vec<&StepMessage> = outbox.iter().map(|o| &o.step).chain(&queued).collect();
    assert_eq!(steps, [&step], "the step, once: in the outbox or on the queue");

    let done = Completion { key: &answer, keep_for: keep, outbox_done: &outbox };
    p.events.append_completing(&[note(&t, now(), "delivered")], &done).await.unwrap();
    // Completed, or (the outbox held it) free, with the record in the history below.
    let after = if held_by_the_outbox { Claim::Acquired } else { Claim::Completed };
    assert_eq!(p.idempotency.claim(&answer, lease).await.unwrap(), after);
    assert!(ours(p.tickets.outbox_pending(later, 100).await.unwrap()).is_empty(), "the step is dropped");
    let texts: Vec<String> = p
        .events
        .list(&t.id)
        .await
        .unwrap()
        .iter()
        .filter_map(|e| e.detail["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(texts, ["taken", "resolved", "delivered"]);

    // A ticket that is not there: refused, and the key is not completed.
    let ghost = ticket("first_level", days_ago(1));
    let other = key();
    let refused = p
        .events
        .append_completing(&[note(&ghost, now(), "x")], &Completion { key: &other, keep_for: keep, outbox_done: &[] })
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound(_))), "{refused:?}");
    assert_eq!(p.idempotency.claim(&other, lease).await.unwrap(), Claim::Acquired);

    // The same with the key claimed on its own, not by a write of the ticket: still refused.
    let held = key();
    assert_eq!(p.idempotency.claim(&held, lease).await.unwrap(), Claim::Acquired);
    let refused = p
        .events
        .append_completing(&[note(&ghost, now(), "x")], &Completion { key: &held, keep_for: keep, outbox_done: &[] })
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound(_))), "{refused:?}");
    assert!(p.events.list(&ghost.id).await.unwrap_or_default().is_empty(), "no events of a ticket not there");
    if held_by_the_outbox {
        // Its outbox item gone (the sweep published it) and the ticket not there: refused, and
        // the events a store put first are taken back.
        let stray = sportello::ports::Outboxed { ticket: ghost.id.clone(), queued_at: now(), step: step.clone() };
        let done = Completion { key: &other, keep_for: keep, outbox_done: std::slice::from_ref(&stray) };
        let refused = p.events.append_completing(&[note(&ghost, now(), "x")], &done).await;
        assert!(matches!(refused, Err(StoreError::NotFound(_))), "{refused:?}");
        assert!(p.events.list(&ghost.id).await.unwrap_or_default().is_empty(), "taken back");
    }

    // A ticket that is there, whose claim its own write did not take (claimed by a step, or its
    // record gone): recorded, and the key completed.
    for claimed in [true, false] {
        let k = key();
        if claimed {
            assert_eq!(p.idempotency.claim(&k, lease).await.unwrap(), Claim::Acquired);
        }
        let text = format!("recorded, claimed on its own: {claimed}");
        let done = Completion { key: &k, keep_for: keep, outbox_done: &[] };
        p.events.append_completing(&[note(&t, now(), &text)], &done).await.unwrap();
        assert_eq!(p.idempotency.claim(&k, lease).await.unwrap(), Claim::Completed);
        let events = p.events.list(&t.id).await.unwrap();
        assert!(events.iter().any(|e| e.detail["text"] == text.as_str()), "{text}");
    }
}

macro_rules! contract {
    ($set:ident, $backend:expr, [$($case:ident),* $(,)?]) => {
        mod $set {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = $backend.await;
                    super::$case(&backend).await;
                }
            )*
        }
    };
}

macro_rules! all_contracts {
    ($set:ident, $backend:expr) => {
        contract!(
            $set,
            $backend,
            [
                idempotent_create,
                intake_writes_everything_at_once,
                writes_claim_and_queue_what_they_make_due,
                one_winner_among_concurrent_updates,
                update_refuses_bad_input,
                corrupt_records_are_errors_not_panics,
                work_queue_is_oldest_first,
                queue_pages_put_the_nearest_running_deadline_first,
                tickets_are_found_by_a_custom_field,
                work_queue_reads_on_page_by_page,
                erasure_leaves_no_personal_data,
                erasure_reaches_every_copy_the_store_keeps,
                erasure_reaches_what_intake_stored,
                purge_removes_only_closed_tickets_past_retention,
                nothing_acknowledged_is_lost,
                events_keep_their_order,
                one_update_takes_in_charge_and_classifies,
                an_update_cut_short_leaves_no_trace,
                publish_deduplicates,
                redelivery_has_one_effect,
                dead_letters_after_max_attempts_and_redrive,
                visibility_timeout_redelivers,
                mail_is_sent_threaded,
                escalations_by_queue_and_mail,
            ]
        );
    };
}

all_contracts!(embedded, crate::support::backend::embedded::EmbeddedBackend::new());
#[cfg(feature = "aws")]
all_contracts!(aws, crate::support::backend::aws::MotoBackend::new());
