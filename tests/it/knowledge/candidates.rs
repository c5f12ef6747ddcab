//! Example questions learnt from operators: the candidate store's contract on every adapter set
//! (the embedded store and, with `--features aws`, DynamoDB as served by moto), what is cut
//! from or refused in a citizen's message, and the whole path from a chat the bot handed over to
//! an operator's answer with an article.

use crate::support::backend::Backend;
use jiff::{SignedDuration, Timestamp};
use sportello::knowledge::candidates::{CandidateRefusal, scrub};
use sportello::knowledge::search::KnowledgeIndex;
use sportello::ports::{CandidateStatus, NewCandidate, StoreError};
use sportello::rules::Rules;
use std::path::Path;
use std::sync::LazyLock;

const NOW: i64 = 1_800_000_000;

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(NOW).unwrap() + SignedDuration::from_mins(minutes)
}

fn new(lang: &str, article: &str, question: &str) -> NewCandidate {
    NewCandidate { lang: lang.into(), article: article.into(), question: question.into() }
}

async fn record_count_and_decide(b: &dyn Backend) {
    let store = b.store().kb_candidates;
    assert!(matches!(store.get("nope").await, Err(StoreError::NotFound(_))));
    assert!(store.list(None, 10).await.unwrap().is_empty());

    let first = store.record(&new("it", "payment-receipt", "dove trovo la ricevuta?"), at(0)).await.unwrap();
    assert_eq!(first.status, CandidateStatus::Pending);
    assert_eq!((first.times, first.first_seen, first.last_seen), (1, at(0), at(0)));
    assert_eq!(first.question, "dove trovo la ricevuta?");

    // The same question again, however punctuated: counted, not listed twice.
    let again = store.record(&new("it", "payment-receipt", "Dove trovo la RICEVUTA"), at(5)).await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!((again.times, again.first_seen, again.last_seen), (2, at(0), at(5)));
    assert_eq!(again.question, "dove trovo la ricevuta?", "the first wording is kept");
    // Another article or language is another candidate.
    let other = store.record(&new("it", "payment-fees", "dove trovo la ricevuta?"), at(6)).await.unwrap();
    assert_ne!(other.id, first.id);
    let english = store.record(&new("en", "payment-receipt", "where is my receipt"), at(7)).await.unwrap();

    // Most often seen first, then most recent.
    let all = store.list(None, 10).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, [first.id.as_str(), english.id.as_str(), other.id.as_str()]);
    assert_eq!(store.list(None, 1).await.unwrap().len(), 1);

    let promoted = store.decide(&first.id, CandidateStatus::Promoted, "adm-1", at(10)).await.unwrap();
    assert_eq!(promoted.status, CandidateStatus::Promoted);
    assert_eq!((promoted.decided_at, promoted.decided_by.as_deref()), (Some(at(10)), Some("adm-1")));
    assert_eq!(store.get(&first.id).await.unwrap(), promoted);
    store.decide(&other.id, CandidateStatus::Rejected, "adm-1", at(11)).await.unwrap();
    let pending = store.list(Some(CandidateStatus::Pending), 10).await.unwrap();
    assert_eq!(pending.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [english.id.as_str()]);
    let rejected = store.list(Some(CandidateStatus::Rejected), 10).await.unwrap();
    assert_eq!(rejected.len(), 1);

    // Seen again after a decision: counted, the decision stays.
    let seen = store.record(&new("it", "payment-fees", "dove trovo la ricevuta?"), at(20)).await.unwrap();
    assert_eq!((seen.status, seen.times), (CandidateStatus::Rejected, 2));

    assert!(matches!(
        store.decide("nope", CandidateStatus::Rejected, "adm-1", at(12)).await,
        Err(StoreError::NotFound(_))
    ));
    // The data survives new clients.
    assert_eq!(b.reopen().await.kb_candidates.get(&first.id).await.unwrap(), promoted);
}

async fn concurrent_records_all_count(b: &dyn Backend) {
    let store = b.store().kb_candidates;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.record(&new("en", "io-app-access", "can't log in to IO"), at(i)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let c = store.list(None, 10).await.unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].times, 8, "no count lost");
}

macro_rules! contract {
    ($set:ident, $backend:expr) => {
        mod $set {
            contract!(@cases $backend, [record_count_and_decide, concurrent_records_all_count]);
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

static INDEX: LazyLock<KnowledgeIndex> = LazyLock::new(|| {
    let rules = Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
    KnowledgeIndex::build(&rules.knowledge)
});

#[test]
fn identifiers_are_cut_from_the_question() {
    let cases = [
        ("ho pagato l'avviso 301000000012345678 due volte, rimborso?", "ho pagato l'avviso … due volte, rimborso?"),
        ("ho pagato l'avviso 3010 0000 0001 2345 678 due volte", "ho pagato l'avviso … due volte"),
        (
            "scrivetemi a mario.rossi@example.com per il rimborso del pagamento",
            "scrivetemi a … per il rimborso del pagamento",
        ),
        (
            "chiamatemi al +39 333 123 4567 per la ricevuta del pagamento",
            "chiamatemi al … per la ricevuta del pagamento",
        ),
        (
            "il mio codice fiscale RSSMRA80A01H501U e la ricevuta del pagamento",
            "il mio codice fiscale … e la ricevuta del pagamento",
        ),
        (
            "rimborso sul conto IT60X0542811101000000123456 del pagamento doppio",
            "rimborso sul conto … del pagamento doppio",
        ),
        ("novità sulla richiesta SP-7K3Q9XWD? nessuna risposta", "novità sulla richiesta … nessuna risposta"),
        ("ho pagato 12,50 euro due volte la stessa multa", "ho pagato 12,50 euro due volte la stessa multa"),
        ("la ricevuta è su https://example.com/r/123 ma non si apre", "la ricevuta è su … ma non si apre"),
    ];
    for (message, kept) in cases {
        assert_eq!(scrub(message, "it", &INDEX).as_deref(), Ok(kept), "{message}");
    }
}

#[test]
fn a_message_that_may_name_someone_is_refused() {
    for message in [
        "mi chiamo Mario Rossi e non trovo la ricevuta del pagamento",
        "buongiorno sono il signor rossi, ho pagato due volte",
        "my name is John and I paid twice",
        "ho pagato la multa di Giuseppe Verdi due volte",
        "il pagamento fatto per mia madre Carla non risulta",
    ] {
        assert_eq!(
            scrub(message, if message.starts_with("my") { "en" } else { "it" }, &INDEX),
            Err(CandidateRefusal::MayNameSomeone),
            "{message}"
        );
    }
    // Capitalized words the articles use, acronyms and the first word are not names.
    assert!(scrub("Non riesco ad accedere a IO con SPID", "it", &INDEX).is_ok());
    assert!(scrub("Dove trovo la ricevuta di pagoPA?", "it", &INDEX).is_ok());
}

#[test]
fn a_message_that_is_not_a_question_is_refused() {
    assert_eq!(scrub("ok grazie", "it", &INDEX), Err(CandidateRefusal::NotAQuestion));
    assert_eq!(scrub("voglio parlare con un operatore", "it", &INDEX), Err(CandidateRefusal::NotAQuestion));
    assert_eq!(scrub("301000000012345678", "it", &INDEX), Err(CandidateRefusal::NotAQuestion));
    assert_eq!(scrub(&"pagamento ricevuta ".repeat(20), "it", &INDEX), Err(CandidateRefusal::TooLong));
}

mod learning {
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode, header};
    use serde_json::{Value, json};
    use sportello::adapters::embedded::{Db, SqliteKbCandidates, ports};
    use sportello::domain::{Actor, ActorRole, TicketType};
    use sportello::engine::{Engine, EngineError};
    use sportello::http::AppState;
    use sportello::ports::{CandidateStatus, KnowledgeCandidates};
    use sportello::rules::Rules;
    use std::path::Path;
    use std::sync::Arc;
    use tower::ServiceExt;

    async fn call(router: &axum::Router, uri: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut req = Request::builder().method(Method::POST).uri(uri).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let resp = router.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// A chat the bot could not answer reaches an operator, who answers with an article: the
    /// citizen's question, without the notice code and the e-mail address they wrote, waits for
    /// review as a candidate example question of that article.
    #[tokio::test]
    async fn an_operators_answer_with_an_article_teaches_a_candidate_question() {
        let dir = tempfile::tempdir().unwrap();
        let rules = Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
        let db = Db::open(dir.path().join("sportello.db")).unwrap();
        let now: jiff::Timestamp = "2026-12-02T10:00:00+01:00".parse().unwrap();
        let store = Arc::new(SqliteKbCandidates::new(db.clone()));
        let engine = Engine::new(Arc::new(rules), ports(&db)).with_clock(Arc::new(move || now));
        let chat = sportello::http::chat::router().with_state(AppState { engine: engine.clone() });

        let (status, started) =
            call(&chat, "/chat/sessions", None, json!({"session_id": uuid::Uuid::new_v4().to_string(), "lang": "it"}))
                .await;
        assert_eq!(status, StatusCode::CREATED, "{started}");
        let (reference, token) = (started["reference"].as_str().unwrap(), started["token"].as_str().unwrap());
        let say = |text: &str| {
            let (chat, uri, token) = (chat.clone(), format!("/chat/sessions/{reference}/messages"), token.to_string());
            let body = json!({"text": text});
            async move { call(&chat, &uri, Some(&token), body).await }
        };
        let (_, r) =
            say("l'avviso 301000000012345678 mi chiede soldi che secondo me ho già dato, scrivetemi a m.r@example.com")
                .await;
        assert_eq!(r["messages"][1]["article"], Value::Null, "the bot is not sure: {r}");
        let (status, r) = call(&chat, &format!("/chat/sessions/{reference}/operator"), Some(token), json!(null)).await;
        assert_eq!((status, r["handed_off"].as_bool()), (StatusCode::OK, Some(true)), "{r}");
        engine.run_pending_steps(10).await.unwrap();

        let t = engine.ticket_by_reference(reference).await.unwrap();
        let operator = Actor { id: "op-1".into(), role: ActorRole::Operator };
        engine.take_in_charge(&t.id, &operator).await.unwrap();
        engine.classify(&t.id, &operator, TicketType::Q).await.unwrap();
        // An unknown article is refused, with a suggestion.
        let refused = engine
            .answer_from_article_and_resolve(&t.id, &operator, "Ecco la guida.", Some("paid-but-entity-say-unpaid"))
            .await;
        match refused {
            Err(EngineError::Invalid { field, message }) => {
                assert_eq!(field, "/article");
                assert!(message.contains("did you mean `paid-but-entity-says-unpaid`"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        engine
            .answer_from_article_and_resolve(&t.id, &operator, "Ecco la guida.", Some("paid-but-entity-says-unpaid"))
            .await
            .unwrap();

        let pending = store.list(Some(CandidateStatus::Pending), 10).await.unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        let c = &pending[0];
        assert_eq!((c.lang.as_str(), c.article.as_str()), ("it", "paid-but-entity-says-unpaid"));
        assert_eq!(c.question, "l'avviso … mi chiede soldi che secondo me ho già dato, scrivetemi a …");
        let events = engine.ports.events.list(&t.id).await.unwrap();
        let answered = events.iter().find(|e| e.kind == sportello::domain::EventKind::Answered).unwrap();
        assert_eq!(answered.detail["article"], "paid-but-entity-says-unpaid");
        // Said in the chat, naming the answer it carries: its delivery's record.
        let said = events.iter().rfind(|e| e.detail["from"] == "operator").unwrap();
        assert_eq!(
            (said.detail["body"].as_str(), &said.detail["answer_id"]),
            (Some("Ecco la guida."), &answered.detail["answer_id"])
        );
    }

    /// Without a candidate store, or for other channels, answering with an article learns
    /// nothing and still resolves.
    #[tokio::test]
    async fn an_answer_with_an_article_on_another_channel_learns_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let rules = Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
        let db = Db::open(dir.path().join("sportello.db")).unwrap();
        let store = Arc::new(SqliteKbCandidates::new(db.clone()));
        let engine = Engine::new(Arc::new(rules), ports(&db));
        let created = engine
            .open(sportello::engine::NewContact {
                channel: "email".into(),
                idempotency_key: "k1".into(),
                category: Some("basic_info".into()),
                message: Some("dove trovo la ricevuta del pagamento?".into()),
                requester: sportello::domain::Requester { email: Some("a@example.com".into()), ..Default::default() },
                ..Default::default()
            })
            .await
            .unwrap();
        engine.triage(&created.ticket.id).await.unwrap();
        let operator = Actor { id: "op-1".into(), role: ActorRole::Operator };
        engine.take_in_charge(&created.ticket.id, &operator).await.unwrap();
        engine.classify(&created.ticket.id, &operator, TicketType::Q).await.unwrap();
        engine
            .answer_from_article_and_resolve(&created.ticket.id, &operator, "La ricevuta è…", Some("payment-receipt"))
            .await
            .unwrap();
        assert!(store.list(None, 10).await.unwrap().is_empty());
    }
}
