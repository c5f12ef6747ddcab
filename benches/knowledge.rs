//! The chatbot's reply time with a 200-article knowledge base: how long the bot takes to read a
//! question and decide (answer, ask back, or nothing), and to build the index at start-up.
//!
//! The base is synthetic but shaped like the real one: 200 articles per language, each a copy of
//! one of the real articles (same length, same kind of examples and keywords) with a topic of its
//! own mixed in, so the vocabulary and the postings grow as a real base of that size would.

use criterion::{Criterion, criterion_group, criterion_main};
use sportello::knowledge::search::{KnowledgeIndex, Question};
use sportello::knowledge::{KnowledgeBase, load_dir};
use std::hint::black_box;
use std::path::Path;

const ARTICLES: usize = 200;

/// Deterministic pseudo-random words, so every run indexes the same base.
fn word(seed: u64) -> String {
    const SYLLABLES: &[&str] = &["ta", "ri", "mo", "ve", "sca", "pli", "den", "gor", "lu", "fe", "stro", "nia"];
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut w = String::new();
    for _ in 0..3 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        w.push_str(SYLLABLES[(x >> 33) as usize % SYLLABLES.len()]);
    }
    w
}

fn synthetic_base() -> KnowledgeBase {
    let real = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/knowledge")).unwrap();
    let per_lang = real.articles.len() / 2;
    let mut kb = KnowledgeBase::default();
    for lang in ["it", "en"] {
        let base: Vec<_> = real.articles.iter().filter(|a| a.meta.lang == lang).collect();
        for i in 0..ARTICLES {
            let mut a = base[i % per_lang].clone();
            let topic: Vec<String> = (0..4).map(|k| word((i * 7 + k) as u64)).collect();
            a.meta.id = format!("{}-{i}", a.meta.id);
            a.meta.title = format!("{} {}", a.meta.title, topic[0]);
            a.meta.keywords.extend(topic.iter().cloned());
            for (k, e) in a.meta.examples.iter_mut().enumerate() {
                e.push(' ');
                e.push_str(&topic[k % topic.len()]);
            }
            a.body = format!("{}\n\n{}", a.body, topic.join(" "));
            kb.articles.push(a);
        }
    }
    kb
}

fn bot_reply(c: &mut Criterion) {
    let kb = synthetic_base();
    assert_eq!(kb.articles.len(), 2 * ARTICLES);
    let index = KnowledgeIndex::build(&kb);
    let questions = [
        ("it", "dove trovo la ricevuta del pagamento che ho fatto ieri?"),
        ("it", "nn riesco a entrare nell'app io con lo spid, mi da errore"),
        ("it", "ho pagato due volte la stessa multa, come mi ridate i soldi"),
        ("en", "I lost my phone, how do I log out of IO?"),
        ("en", "what is a SEND notification and when does it count"),
        ("it", "bolletino pagopa smarito, come pago lo stesso?"),
        ("en", "weather tomorrow in Rome"),
    ];
    let mut n = 0;
    c.bench_function("knowledge/bot reply, 200 articles per language (one message)", |b| {
        b.iter(|| {
            let (lang, q) = questions[n % questions.len()];
            n += 1;
            black_box(index.answer(black_box(q), lang))
        })
    });
    let earlier = vec!["ho ricevuto una multa tramite SEND".to_string(), "la devo pagare entro quando?".to_string()];
    c.bench_function("knowledge/bot reply, 200 articles per language (with two earlier messages)", |b| {
        b.iter(|| black_box(index.answer_in(&Question { text: black_box("e come la pago?"), earlier: &earlier }, "it")))
    });
    let long = "non riesco a pagare l'avviso della tari perché mi dice errore ".repeat(60);
    c.bench_function("knowledge/bot reply, 200 articles per language (a 3.8 KB message)", |b| {
        b.iter(|| black_box(index.answer(black_box(&long), "it")))
    });
}

fn build(c: &mut Criterion) {
    let kb = synthetic_base();
    let real = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/knowledge")).unwrap();
    let mut group = c.benchmark_group("knowledge");
    group.sample_size(20);
    group.bench_function("build the index, the real knowledge base (42 articles per language)", |b| {
        b.iter(|| black_box(KnowledgeIndex::build(black_box(&real))))
    });
    group.bench_function("build the index, 200 articles per language", |b| {
        b.iter(|| black_box(KnowledgeIndex::build(black_box(&kb))))
    });
    group.finish();
}

criterion_group!(benches, bot_reply, build);
criterion_main!(benches);
