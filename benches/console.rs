//! The web console's server time on the embedded store: the queue page with 10,000 open tickets
//! (first page, a filtered page, a page deep in the queue, the refresh) and a ticket page with
//! its actions, suggestions and path. Requests go through the console's router in-process, with
//! a signed-in operator's cookie; the figures are server time, without a network.
//!
//! `cargo bench --bench console` (targets: queue page ≤ 100 ms, ticket page ≤ 30 ms).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use sportello::adapters::embedded::{Db, ports};
use sportello::console::session::{SESSION_PURPOSE, Session, SessionKey, Via};
use sportello::console::{Console, SignIn, router};
use sportello::domain::{Actor, ActorRole, ChannelKind, Deadline, Ticket, TicketState, TicketType};
use sportello::engine::{Engine, EscalationSettings, NewContact};
use sportello::http::operator::{NoticeSecrets, OperatorApi};
use sportello::http::operator_auth::{OperatorAuthenticator, OperatorFile, Role, TokenFile, hash_token};
use sportello::ports::QueueKey;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const OPEN_TICKETS: usize = 10_000;

struct Bench {
    _dir: tempfile::TempDir,
    app: axum::Router,
    cookie: String,
    reference: String,
    deep_cursor: String,
}

async fn setup(rt_now: Timestamp) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let rules = sportello::rules::Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
    let db = Db::open(dir.path().join("sportello.db")).unwrap();
    let engine = Engine::new(Arc::new(rules), ports(&db)).with_clock(Arc::new(move || rt_now));

    // 10,000 open tickets of the first-level team: every channel, new and in progress, with
    // deadlines spread over the next days.
    let channels = [
        ("voice", ChannelKind::Voice),
        ("chat", ChannelKind::Chat),
        ("email", ChannelKind::Email),
        ("api", ChannelKind::Api),
    ];
    let mut pending = Vec::new();
    for i in 0..OPEN_TICKETS {
        let (channel, kind) = channels[i % 4];
        let created = rt_now - SignedDuration::from_mins((i % 5000) as i64);
        let mut t = Ticket::new(channel, kind, "first_level", created);
        t.category = Some(if i % 3 == 0 { "advanced_info" } else { "basic_info" }.into());
        t.triaged_at = Some(created);
        t.deadlines = vec![
            Deadline {
                kind: "first_response".into(),
                due: created + SignedDuration::from_hours(1),
                warned_at: None,
                breached_at: None,
            },
            Deadline {
                kind: "resolution".into(),
                due: created + SignedDuration::from_hours(8 + (i % 40) as i64),
                warned_at: None,
                breached_at: None,
            },
        ];
        if i % 2 == 1 {
            t.state = TicketState::InProgress;
            t.assignee = Some(format!("op-{}", i % 20));
            t.ticket_type = Some(if i % 3 == 0 { TicketType::A } else { TicketType::Q });
        }
        let store = engine.ports.tickets.clone();
        pending.push(tokio::spawn(async move {
            store.create(&format!("bench-{i}"), &t, &Actor::system()).await.unwrap();
        }));
        if pending.len() == 256 {
            for p in pending.drain(..) {
                p.await.unwrap();
            }
        }
    }
    for p in pending {
        p.await.unwrap();
    }

    // One ticket with a story: a mail, taken in charge, classified, a note.
    let contact = NewContact {
        channel: "email".into(),
        idempotency_key: "bench-story".into(),
        category: Some("basic_info".into()),
        subject: Some("Come pagare un avviso".into()),
        message: Some("Buongiorno, come posso pagare un avviso pagoPA con l'app IO?".into()),
        ..NewContact::default()
    };
    let story = engine.open(contact).await.unwrap().ticket;
    engine.triage(&story.id).await.unwrap();
    let me = Actor { id: "op-1".into(), role: ActorRole::Operator };
    engine.take_in_charge(&story.id, &me).await.unwrap();
    engine.classify(&story.id, &me, TicketType::Q).await.unwrap();
    engine.add_note(&story.id, &me, "Richiamata alle 10:30").await.unwrap();

    let mut file = OperatorFile::default();
    let token = file.add("op-1", vec![Role::Operator], rt_now).unwrap();
    let path = dir.path().join("operators.json");
    file.write(&path).unwrap();
    let api = OperatorApi::new(
        engine.clone(),
        OperatorAuthenticator::Tokens(TokenFile::new(&path)),
        EscalationSettings::default(),
        NoticeSecrets::default(),
    );
    let key = SessionKey::new(vec![7u8; 32]).unwrap();
    let session = Session::new(
        "op-1".into(),
        vec![Role::Operator],
        Via::Token { token_sha256: hash_token(&token) },
        jiff::Timestamp::now().as_second(),
    );
    let cookie = format!("sportello_session={}", key.seal(SESSION_PURPOSE, &session));
    let console = Console::new(api, SignIn::Tokens(Arc::new(TokenFile::new(&path))), key, None);

    // A cursor 100 pages into the queue.
    let mut q = sportello::ports::QueueQuery::team("first_level", 200);
    let mut cursor = None;
    for _ in 0..25 {
        let page = engine.queue_page(&q).await.unwrap();
        cursor = page.tickets.last().map(QueueKey::of);
        q.start = sportello::ports::PageStart::After(cursor.clone().unwrap());
    }
    Bench {
        _dir: dir,
        app: router(console),
        cookie,
        reference: story.reference.to_string(),
        deep_cursor: cursor.unwrap().encode(),
    }
}

async fn get(b: &Bench, path: &str) -> usize {
    let req = Request::get(path).header(header::COOKIE, &b.cookie).body(Body::empty()).unwrap();
    let resp = b.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.into_body().collect().await.unwrap().to_bytes().len()
}

fn console(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let now: Timestamp = "2026-12-07T10:00:00+01:00".parse().unwrap();
    let started = std::time::Instant::now();
    let bench = rt.block_on(setup(now));
    eprintln!("console bench: {OPEN_TICKETS} open tickets stored in {:.1} s", started.elapsed().as_secs_f64());
    eprintln!("console assets: {} bytes (CSS, JS, icon)", sportello::console::assets::total_bytes());
    let deep = format!("/queue?after={}", bench.deep_cursor);
    let ticket = format!("/tickets/{}", bench.reference);
    for (name, path) in [
        ("console/queue page (10,000 open tickets, first page of 50)", "/queue"),
        ("console/queue page (filtered: email, in progress, mine)", "/queue?channel=email&state=in_progress&who=mine"),
        ("console/queue page (5,000 tickets in)", deep.as_str()),
        ("console/queue refresh (rows only)", "/queue/rows"),
        ("console/ticket page (actions, suggestions, path, timeline)", ticket.as_str()),
    ] {
        let bytes = rt.block_on(get(&bench, path));
        eprintln!("{name}: {bytes} bytes of HTML");
        c.bench_function(name, |b| b.to_async(&rt).iter(|| get(&bench, path)));
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = console
}
criterion_main!(benches);
