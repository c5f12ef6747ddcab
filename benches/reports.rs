//! Reports at volume, on the embedded store: a history generated through the engine (by default
//! 100,000 tickets over 90 days, on every channel: questions answered by operators, chats the bot
//! solves and chats handed off, calls in and out of hours, escalations with notices and without,
//! requesters' reminders, an incident a day with its linked reports and closing notice, privacy
//! requests whose 72-hour clock breaches, surveys answered), then:
//!
//! 1. the added cost of the aggregates: each simulated day's events are folded right after the day
//!    is generated; the fold time over the engine time of the same day, summed (target ≤ 5%);
//! 2. a month's report grouped by channel × type, server time (engine call, aggregates caught up),
//!    median and p90 of 30 runs (target ≤ 100 ms);
//! 3. redelivered events: the fold cursor is moved back over the last 50,000 events and they are
//!    folded again; every figure must be unchanged;
//! 4. every figure of each month equal to a brute-force recomputation from the tickets and events.
//!
//! `cargo bench --bench reports` (`REPORT_TICKETS`, `REPORT_DAYS` to change the volume). Prints a
//! Markdown report; exits non-zero if a figure differs.

use sportello::adapters::embedded::{Db, SqliteReports, ports};
use sportello::domain::{Actor, ActorRole, ChannelKind, Requester, TicketReference, TicketType};
use sportello::engine::survey::SurveyAnswer;
use sportello::engine::{Engine, EscalationSettings, NewChatSession, NewContact};
use sportello::reports::{Dim, Period, Projector, Scope, verify};
use sportello::rules::Rules;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn op(id: &str) -> Actor {
    Actor { id: id.into(), role: ActorRole::Operator }
}

fn settings() -> EscalationSettings {
    EscalationSettings {
        mail_from: "sportello@pagopa.example".into(),
        reply_email: Some("notices@pagopa.example".into()),
        ..EscalationSettings::default()
    }
}

struct Lab {
    engine: Engine,
    reports: SqliteReports,
    clock: Arc<Mutex<jiff::Timestamp>>,
    db: Db,
}

impl Lab {
    fn now(&self) -> jiff::Timestamp {
        *self.clock.lock().unwrap()
    }
    fn set(&self, at: jiff::Timestamp) {
        *self.clock.lock().unwrap() = at;
    }

    async fn contact(
        &self,
        channel: &str,
        category: &str,
        key: &str,
        related: Option<TicketReference>,
    ) -> sportello::domain::Ticket {
        let requester = Requester { email: Some(format!("user{}@example.it", key.len())), ..Requester::default() };
        let contact = NewContact {
            channel: channel.into(),
            idempotency_key: key.into(),
            category: Some(category.into()),
            subject: Some("Avviso pagato due volte".into()),
            message: Some("Ho pagato due volte lo stesso avviso pagoPA.".into()),
            requester,
            related,
            ..NewContact::default()
        };
        let created = self.engine.open(contact).await.expect("open");
        let _ = self.engine.triage(&created.ticket.id).await;
        self.engine.ticket(&created.ticket.id).await.expect("ticket")
    }

    async fn work(&self, t: &sportello::domain::Ticket, ty: TicketType) -> bool {
        let o = op("op-1");
        self.engine.take_in_charge(&t.id, &o).await.is_ok() && self.engine.classify(&t.id, &o, ty).await.is_ok()
    }

    async fn resolve(&self, t: &sportello::domain::Ticket) -> bool {
        self.engine.answer_and_resolve(&t.id, &op("op-1"), "Ecco la risposta.").await.is_ok()
    }

    /// One ticket of the mix; `i` picks the flow. Returns the reference of a ticket a later
    /// reminder may chase, and an escalation whose notice comes back later.
    async fn ticket(&self, i: usize, related: Option<TicketReference>, incident_active: bool) -> Outcome {
        let key = format!("k-{i}");
        let mut outcome = Outcome::default();
        match i % 20 {
            0..=4 => {
                let channel = if i.is_multiple_of(2) { "email" } else { "api" };
                let t = self.contact(channel, "basic_info", &key, None).await;
                if self.work(&t, TicketType::Q).await && self.resolve(&t).await && i.is_multiple_of(3) {
                    let kind = if channel == "email" { ChannelKind::Email } else { ChannelKind::Api };
                    let t = self.engine.ticket(&t.id).await.unwrap();
                    let answer =
                        SurveyAnswer { rating: (i % 5 + 1) as i64, comment: i.is_multiple_of(7).then(|| "ok".into()) };
                    let _ = self.engine.answer_survey(&t, kind, &answer).await;
                }
                outcome.answered = Some(t.reference.clone());
            }
            5..=7 => {
                let session = format!("session-{i:012}");
                let started = self
                    .engine
                    .chat_start(NewChatSession {
                        session_id: session,
                        lang: Some("it".into()),
                        category: None,
                        requester: Requester::default(),
                    })
                    .await
                    .expect("chat");
                let reference = started.ticket.reference.to_string();
                let _ = self.engine.chat_user_message(&reference, &started.token, "Come pago un avviso?").await;
                if i % 20 == 7 {
                    // Handed off: an operator answers in the chat (in hours), else it closes.
                    if let Ok(reply) = self.engine.chat_request_operator(&reference, &started.token).await
                        && reply.handed_off
                    {
                        let _ = self.engine.triage(&reply.ticket.id).await;
                        let t = self.engine.ticket(&reply.ticket.id).await.unwrap();
                        if self.work(&t, TicketType::Q).await {
                            self.resolve(&t).await;
                        }
                    }
                } else {
                    let _ = self.engine.chat_resolved(&reference, &started.token).await;
                }
            }
            8 => {
                let t = self.contact("voice", "basic_info", &key, None).await;
                if t.state.is_open() && self.work(&t, TicketType::Q).await {
                    self.resolve(&t).await;
                }
            }
            9..=10 => {
                let t = self.contact("email", "specialist_support", &key, None).await;
                if self.work(&t, TicketType::A).await
                    && let Ok(e) =
                        self.engine.escalate(&t.id, &op("op-1"), "pagopa_specialists", "Verificare", &settings()).await
                    && !i.is_multiple_of(4)
                {
                    // Most notices come back a few hours later; the rest stay outstanding.
                    let escalation = e.ticket.escalations.last().unwrap().escalation_id.clone();
                    outcome.notice = Some((e.ticket.reference.clone(), escalation));
                }
            }
            11 => {
                let t = self.contact("email", "reminder", &key, related).await;
                if self.work(&t, TicketType::Q).await {
                    let _ = self.engine.reminder_lookup(&t.id, &op("op-1")).await;
                }
            }
            12 => {
                let t = self.contact("email", "malfunction", &key, None).await;
                if self.engine.take_in_charge(&t.id, &op("op-1")).await.is_ok() && incident_active {
                    let _ = self.engine.check_incidents(&t.id, &op("op-1"), "pagopa", &settings()).await;
                }
            }
            13 => {
                // Privacy requests: most answered, some left to run out their clock.
                let t = self.contact("email", "privacy_issue", &key, None).await;
                if !i.is_multiple_of(3) {
                    let p = Actor { id: "priv-1".into(), role: ActorRole::PrivacyOperator };
                    if self.engine.take_in_charge(&t.id, &p).await.is_ok()
                        && self.engine.classify(&t.id, &p, TicketType::PI).await.is_ok()
                    {
                        let _ = self.engine.answer_and_resolve(&t.id, &p, "Segnalazione presa in carico.").await;
                    }
                }
            }
            _ => {
                // Questions that wait: some taken, some answered later, some still new.
                let t = self.contact("email", "advanced_info", &key, None).await;
                if i.is_multiple_of(3) && self.work(&t, TicketType::Q).await {
                    self.resolve(&t).await;
                }
            }
        }
        outcome
    }
}

#[derive(Default)]
struct Outcome {
    answered: Option<TicketReference>,
    notice: Option<(TicketReference, String)>,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    let tickets = env_number("REPORT_TICKETS", 100_000);
    let days = env_number("REPORT_DAYS", 90).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rules = Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
    let projector = Arc::new(Projector::new(&rules));
    let db = Db::open(dir.path().join("sportello.db")).unwrap();
    // Monday 2026-09-07, 00:00 in Rome.
    let start: jiff::Timestamp = "2026-09-06T22:00:00Z".parse().unwrap();
    let clock = Arc::new(Mutex::new(start));
    let read = clock.clone();
    let reports = SqliteReports::new(db.clone(), projector);
    let mut ports = ports(&db);
    ports.reports = Arc::new(reports.clone());
    let engine = Engine::new(Arc::new(rules), ports).with_clock(Arc::new(move || *read.lock().unwrap()));
    let lab = Arc::new(Lab { engine, reports, clock, db });

    rt.block_on(async {
        let per_day = tickets.div_ceil(days);
        let mut engine_time = Duration::ZERO;
        let mut fold_time = Duration::ZERO;
        let mut events = 0usize;
        let mut previous = Vec::new();
        let generated = Instant::now();
        let mut i = 0;
        for day in 0..days {
            let day_start = start + jiff::SignedDuration::from_hours(24 * day as i64);
            let t0 = Instant::now();
            // An incident from 09:00 to 15:00 every third day.
            let incident = if day % 3 == 0 {
                lab.set(day_start + jiff::SignedDuration::from_hours(9));
                lab.engine.declare_incident(&op("sup-1"), "pagopa", "Pagamenti in errore", Some("Ripristino in giornata.")).await.ok()
            } else {
                None
            };
            // Hour by hour, nights included (out of hours); the tickets of an hour arrive at the
            // same moment and are worked concurrently, as operators would.
            let today = per_day.min(tickets - i);
            for hour in 0..24 {
                let slot = day_start + jiff::SignedDuration::from_hours(hour);
                lab.set(slot);
                let in_slot = (today * (hour as usize + 1)) / 24 - (today * hour as usize) / 24;
                let mut tasks = tokio::task::JoinSet::new();
                for _ in 0..in_slot {
                    let related = previous.get(previous.len().saturating_sub(7 + i % 50)).cloned();
                    let active = incident.is_some() && (9..15).contains(&hour);
                    let lab = Arc::clone(&lab);
                    let n = i;
                    tasks.spawn(async move { lab.ticket(n, related, active).await });
                    i += 1;
                }
                let mut notices = Vec::new();
                while let Some(done) = tasks.join_next().await {
                    let outcome = done.expect("ticket task");
                    previous.extend(outcome.answered);
                    notices.extend(outcome.notice);
                }
                // The notices come back three hours later.
                lab.set(slot + jiff::SignedDuration::from_hours(3));
                let mut tasks = tokio::task::JoinSet::new();
                for (reference, escalation) in notices {
                    let lab = Arc::clone(&lab);
                    tasks.spawn(async move {
                        let _ = lab
                            .engine
                            .receive_resolution_notice("pagopa_specialists", &reference, &escalation, "Risolto.", None)
                            .await;
                    });
                }
                while tasks.join_next().await.is_some() {}
            }
            lab.set(day_start + jiff::SignedDuration::from_hours(23));
            if let Some(inc) = &incident {
                let _ = lab.engine.resolve_incident(&inc.id, "Servizio ripristinato.").await;
            }
            let _ = lab.engine.clock_tick(&settings()).await;
            while lab.engine.run_pending_steps(1_000).await.unwrap_or(0) > 0 {}
            engine_time += t0.elapsed();
            let t1 = Instant::now();
            let mut folded = 0;
            loop {
                let n = lab.reports.project_pending(sportello::adapters::embedded::FOLD_BATCH).await.unwrap();
                folded += n;
                if n < sportello::adapters::embedded::FOLD_BATCH {
                    break;
                }
            }
            fold_time += t1.elapsed();
            events += folded;
            if day % 10 == 9 || day + 1 == days {
                eprintln!(
                    "day {}/{days}: {i} tickets, {events} events, engine {:.1}s, folding {:.2}s ({:.1}%)",
                    day + 1,
                    engine_time.as_secs_f64(),
                    fold_time.as_secs_f64(),
                    100.0 * fold_time.as_secs_f64() / engine_time.as_secs_f64()
                );
            }
        }
        let generated = generated.elapsed();

        // Reports: a month grouped by channel × type, server time.
        let last = lab.now();
        let month = Period::parse(Some("month"), Some("2026-10-15"), None, None, lab.engine.report_today()).unwrap();
        let mut times = Vec::new();
        let mut report = None;
        for _ in 0..30 {
            let t = Instant::now();
            report = Some(lab.engine.report_overview(month.clone(), &[Dim::Channel, Dim::Type], &Scope::all()).await.unwrap());
            times.push(t.elapsed());
        }
        times.sort();
        let report = report.unwrap();

        // Redelivery: fold the last 50,000 events again.
        let before: Vec<_> = {
            let mut all = Vec::new();
            for m in ["2026-09-15", "2026-10-15", "2026-11-15", "2026-12-15"] {
                let p = Period::parse(Some("month"), Some(m), None, None, lab.engine.report_today()).unwrap();
                all.push(lab.engine.report_overview(p, &[Dim::Channel, Dim::Type], &Scope::all()).await.unwrap());
            }
            all
        };
        let replayed = 50_000.min(events) as i64;
        let conn = rusqlite::Connection::open(dir.path().join("sportello.db")).unwrap();
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        conn.execute("UPDATE report_feed SET seq = seq - ?1", [replayed]).unwrap();
        drop(conn);
        let t = Instant::now();
        lab.engine.report_overview(month.clone(), &[], &Scope::all()).await.unwrap();
        let refold_time = t.elapsed();
        let mut unchanged = true;
        for (k, m) in ["2026-09-15", "2026-10-15", "2026-11-15", "2026-12-15"].iter().enumerate() {
            let p = Period::parse(Some("month"), Some(m), None, None, lab.engine.report_today()).unwrap();
            let again = lab.engine.report_overview(p, &[Dim::Channel, Dim::Type], &Scope::all()).await.unwrap();
            unchanged &= again == before[k];
        }

        // Brute force, month by month.
        let t = Instant::now();
        let history = lab.reports.history().await.unwrap();
        let mut differences = Vec::new();
        let mut checked = 0;
        for m in ["2026-09-15", "2026-10-15", "2026-11-15", "2026-12-15"] {
            let p = Period::parse(Some("month"), Some(m), None, None, lab.engine.report_today()).unwrap();
            let expected = verify::recompute(&lab.engine.rules, &history, p.from, p.to);
            let got = lab.engine.report_overview(p.clone(), &[Dim::Channel, Dim::Type], &Scope::all()).await.unwrap();
            checked += expected.values().map(|f| f.len()).sum::<usize>();
            differences.extend(verify::differences(&expected, &verify::tally_overview(&got)).into_iter().map(|d| format!("{}: {d}", p.label)));
        }
        let brute = t.elapsed();
        let db_size = std::fs::metadata(dir.path().join("sportello.db")).map(|m| m.len()).unwrap_or(0);
        let _ = &lab.db;

        let total = &report.total;
        println!("## Reports at volume (embedded store)\n");
        println!("{} tickets over {days} days ({} events), generated through the engine in {:.0} s; last event {last}.\n", history.len(), events, generated.as_secs_f64());
        println!("| measure | target | result |\n| --- | --- | --- |");
        println!(
            "| a month's report by channel × type (2026-10, {} contacts, {} rows), server time | ≤ 100 ms | median **{:.1} ms**, p90 {:.1} ms (30 runs) |",
            total.contacts.received,
            report.rows.len(),
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.9).as_secs_f64() * 1e3
        );
        println!(
            "| aggregate updates over the engine's own work, day by day | ≤ 5 % | **{:.2} %** ({:.2} s folding {} events vs {:.1} s of engine work; {:.1} µs per event) |",
            100.0 * fold_time.as_secs_f64() / engine_time.as_secs_f64(),
            fold_time.as_secs_f64(),
            events,
            engine_time.as_secs_f64(),
            fold_time.as_secs_f64() * 1e6 / events.max(1) as f64
        );
        println!(
            "| the last {replayed} events delivered again | figures unchanged | **{}** (refolded in {:.2} s) |",
            if unchanged { "unchanged" } else { "CHANGED" },
            refold_time.as_secs_f64()
        );
        println!(
            "| every figure of 4 months by channel × type vs a recomputation from tickets and events | equal | **{}** ({checked} figures; recomputation {:.1} s) |",
            if differences.is_empty() { "equal".to_string() } else { format!("{} differences", differences.len()) },
            brute.as_secs_f64()
        );
        println!("\nMonth 2026-10: received {}, out of hours {}, resolved {}, bot {}, containment {:.1} %, escalations {}, reminders {}, survey responses {}; database {:.0} MiB.",
            total.contacts.received, total.contacts.out_of_hours, total.tickets.resolved, total.tickets.auto_resolved,
            100.0 * total.tickets.containment_rate.unwrap_or(0.0), total.escalations.sent, total.reminders.received,
            total.csat.responses, db_size as f64 / 1048576.0);
        for d in differences.iter().take(20) {
            println!("- {d}");
        }
        if !differences.is_empty() || !unchanged {
            std::process::exit(1);
        }
    });
}
