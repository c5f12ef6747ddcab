//! The retention purge in pages: the longest closed first, a page per store call, and a tick
//! short of time leaves the rest to the next one.

use crate::support::app::TestApp;
use crate::support::backend::Backend;
use jiff::{SignedDuration, Timestamp};
use sportello::domain::{Actor, ChannelKind, Ticket, TicketState};
use sportello::engine::PURGE_PAGE;
use std::time::Duration;

async fn closed(b: &dyn Backend, days_ago: i64, now: Timestamp) -> Ticket {
    let at = now - SignedDuration::from_hours(days_ago * 24);
    let t = Ticket::new("email", ChannelKind::Email, "first_level", at);
    let p = b.ports();
    let created = p.tickets.create(&format!("purge-{}", t.id), &t, &Actor::system()).await.unwrap().ticket;
    let mut done = created.clone();
    done.move_to(TicketState::AutoClosed, at).unwrap();
    p.tickets.update(&done, &[]).await.unwrap()
}

async fn the_purge_goes_a_page_at_a_time(b: &dyn Backend) {
    let now: Timestamp = "2027-06-01T10:00:00Z".parse().unwrap();
    let p = b.ports();
    let mut old = Vec::new();
    for n in 0..5 {
        old.push(closed(b, 400 + 10 * (5 - n), now).await.id); // the first closed longest ago
    }
    let recent = closed(b, 1, now).await.id;
    let days = 365;
    let first = p.tickets.purge_closed(days, now, 2).await.unwrap();
    assert_eq!(first, old[..2].to_vec(), "the longest closed first");
    assert_eq!(p.tickets.purge_closed(days, now, 2).await.unwrap(), old[2..4].to_vec());
    assert_eq!(p.tickets.purge_closed(days, now, 2).await.unwrap(), old[4..].to_vec());
    assert!(p.tickets.purge_closed(days, now, 2).await.unwrap().is_empty());
    assert!(p.tickets.get(&recent).await.is_ok(), "recently closed stays");
}

async fn a_tick_short_of_time_purges_one_page(b: &dyn Backend) {
    let engine = TestApp::builder().at("2027-06-01T12:00:00+02:00").engine_on(b.store());
    let now = engine.now();
    let days = i64::from(engine.rules.retention.closed_ticket_days);
    let extra = 7;
    for _ in 0..PURGE_PAGE + extra {
        closed(b, days + 30, now).await;
    }
    assert_eq!(engine.purge_expired_within(Duration::ZERO).await.unwrap(), PURGE_PAGE, "one page");
    assert_eq!(engine.purge_expired_within(Duration::ZERO).await.unwrap(), extra, "the rest, next time");
    assert_eq!(engine.purge_expired().await.unwrap(), 0);
}

on_every_store!(the_purge_goes_a_page_at_a_time, a_tick_short_of_time_purges_one_page);
