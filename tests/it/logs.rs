//! Logs carry ticket ids and references, never names, e-mail addresses, phone numbers, fiscal
//! codes or message bodies, up to DEBUG and including the AWS SDK's own output. (At TRACE the
//! SDK prints HTTP bodies: `aws_smithy_*` must never run at TRACE in production.)

use crate::support::backend::Backend;
use jiff::Timestamp;
use sportello::domain::{Actor, ActorRole, ChannelKind, Event, EventKind, Ticket, TicketState};
use sportello::ports::{OutgoingMail, RequesterKey, StepMessage};
use std::time::Duration;

const SECRETS: [&str; 6] = [
    "Giuseppina Verdi",
    "giuseppina.verdi@example.it",
    "3479876543",
    "VRDGPP75C41F205X",
    "pagato due volte",
    "corso Garibaldi",
];

async fn a_day_of_work(b: &dyn Backend) -> Ticket {
    let p = b.ports();
    let now = Timestamp::now();
    let mut t = Ticket::new("email", ChannelKind::Email, "privacy", now);
    t.requester.name = Some(SECRETS[0].into());
    t.requester.email = Some(SECRETS[1].into());
    t.requester.phone = Some(SECRETS[2].into());
    t.requester.fiscal_code = Some(SECRETS[3].into());
    t.subject = Some(format!("{}: {}", SECRETS[0], SECRETS[4]));
    p.tickets.create(&format!("k-{}", t.id), &t, &Actor::system()).await.unwrap();
    let mut t = p.tickets.get(&t.id).await.unwrap();
    t.move_to(TicketState::TakenInCharge, now).unwrap();
    let message = Event {
        ticket_id: t.id.clone(),
        at: now,
        actor: Actor { id: "email".into(), role: ActorRole::Requester },
        kind: EventKind::Message,
        detail: serde_json::json!({"body": format!("{} abito in {} e ho {}", SECRETS[0], SECRETS[5], SECRETS[4])}),
    };
    let t = p.tickets.update(&t, &[message]).await.unwrap();
    // A stale update is refused: the refusal is logged too.
    assert!(p.tickets.update(&Ticket { version: 0, ..t.clone() }, &[]).await.is_err());
    let mail = OutgoingMail {
        from: "assistenza@sportello.example".into(),
        to: vec![SECRETS[1].into()],
        subject: format!("[{}] {}", t.reference, SECRETS[4]),
        text: format!("Gentile {}, ...", SECRETS[0]),
        html: None,
        message_id: format!("{}@sportello.example", uuid::Uuid::new_v4()),
        in_reply_to: None,
        references: vec![],
        ticket: Some(t.reference.clone()),
        auto_submitted: None,
        reply_to: None,
    };
    p.mailer.send(&mail).await.unwrap();
    let q = b.queue(3).await;
    q.publish(
        &StepMessage::new("notify", format!("n-{}", t.id), serde_json::json!({"text": SECRETS[4]}))
            .with_attribute("reference", t.reference.0.clone()),
    )
    .await
    .unwrap();
    for d in q.receive(10, Duration::from_secs(5)).await.unwrap() {
        q.ack(&d.receipt).await.unwrap();
    }
    let privacy = Actor { id: "dpo-1".into(), role: ActorRole::PrivacyOperator };
    p.tickets.erase_requester(&RequesterKey::Email(SECRETS[1].into()), &privacy, now).await.unwrap();
    t
}

fn assert_clean(logs: &str, t: &Ticket) {
    assert!(logs.contains(&t.id.0), "the ticket id is logged");
    assert!(logs.contains(&t.reference.0), "the reference is logged");
    for secret in SECRETS {
        if let Some(at) = logs.find(secret) {
            let line_start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = logs[at..].find('\n').map_or(logs.len(), |i| at + i);
            let line = &logs[line_start..line_end];
            panic!("`{secret}` reached the logs: {}", &line[..line.len().min(400)]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_data_in_logs() {
    let logs = crate::support::logs::record();
    let embedded = crate::support::backend::embedded::EmbeddedBackend::new().await;
    let t = a_day_of_work(&embedded).await;
    assert_clean(&logs.text(), &t);

    #[cfg(feature = "aws")]
    {
        let aws = crate::support::backend::aws::MotoBackend::new().await;
        logs.clear();
        let t = a_day_of_work(&aws).await;
        assert_clean(&logs.text(), &t);
    }
}
