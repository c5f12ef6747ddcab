//! Knowledge-base search on the real articles of `rules/knowledge`, with questions written the way
//! citizens write them to the chat and by email.

use proptest::prelude::*;
use sportello::knowledge::load_dir;
use sportello::knowledge::search::{BotAnswer, KnowledgeIndex, detect_language};
use std::path::Path;
use std::sync::LazyLock;

static INDEX: LazyLock<KnowledgeIndex> = LazyLock::new(|| {
    let kb = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/knowledge")).unwrap();
    assert!(kb.broken.is_empty(), "{:?}", kb.broken);
    KnowledgeIndex::build(&kb)
});

const PAY: &str = "pay-pagopa-notice";
const RECEIPT: &str = "payment-receipt";
const TWICE: &str = "double-payment-refund";
const PAID_OR_EXPIRED: &str = "notice-already-paid-or-expired";
const ACCESS: &str = "io-app-access";
const LOST: &str = "io-app-lost-device";
const BREACH: &str = "privacy-data-breach";
const RIGHTS: &str = "privacy-rights-in-io";
const REMINDER: &str = "reminder-ticket-status";
const SEND: &str = "send-notifications";
const BROKEN: &str = "service-malfunction";

/// (language, question, expected article)
const QUERIES: &[(&str, &str, &str)] = &[
    ("it", "ho pagato due volte la multa", TWICE),
    ("it", "non riesco ad entrare in IO con lo SPID", ACCESS),
    ("it", "ho ricevuto una raccomandata di SEND cosa devo fare", SEND),
    ("it", "voglio cancellare il mio account IO", RIGHTS),
    ("it", "il pagamento non va a buon fine, errore", BROKEN),
    ("it", "ho già scritto la settimana scorsa e nessuno mi ha risposto", REMINDER),
    ("it", "come faccio a pagare un avviso pagopa dal tabaccaio?", PAY),
    ("it", "mi hanno rubato il telefono, come blocco l'app IO?", LOST),
    ("it", "dove trovo la ricevuta del pagamento che ho fatto con la carta", RECEIPT),
    ("it", "l'avviso risulta già pagato ma io non l'ho pagato", PAID_OR_EXPIRED),
    ("it", "mi dice avviso scaduto, non posso più pagare", PAID_OR_EXPIRED),
    ("it", "ho sbagliato importo, rivoglio i miei soldi", TWICE),
    ("it", "qualcuno è entrato nella mia app IO senza permesso", BREACH),
    ("it", "mi è arrivata una mail di nuovo accesso a IO ma non sono stato io", BREACH),
    ("it", "come scarico una copia dei miei dati personali da IO", RIGHTS),
    ("it", "l'app IO si blocca appena la apro", BROKEN),
    ("it", "a che punto è la mia pratica SP-7K3Q9XWD?", REMINDER),
    ("it", "ho perso il cellulare e dentro avevo IO e lo SPID", LOST),
    ("it", "il PIN della CIE non funziona per entrare nell'app", ACCESS),
    ("it", "ho dimenticato il codice di sblocco di IO", ACCESS),
    ("it", "come si legge una notifica digitale su SEND?", SEND),
    ("it", "mi hanno addebitato i soldi ma il pagamento non risulta", BROKEN),
    ("it", "non mi è arrivata la ricevuta via email dopo aver pagato su checkout", RECEIPT),
    ("it", "dove posso pagare il bollettino pagoPA? in posta si può?", PAY),
    ("it", "ho pagato due volte lo stesso avviso, come mi ridate i soldi?", TWICE),
    ("it", "ho ricevuto su IO un messaggio con i dati di un'altra persona", BREACH),
    ("it", "voglio esercitare il diritto all'oblio, cancellate i miei dati", RIGHTS),
    ("it", "vorrei sapere lo stato della mia segnalazione", REMINDER),
    ("it", "che cos'è il domicilio digitale e la PEC per le notifiche?", SEND),
    (
        "it",
        "esce errore PAA_PAGAMENTO_SCONOSCIUTO quando inserisco il codice avviso 301000000012345678",
        PAID_OR_EXPIRED,
    ),
    ("it", "la pagina di pagamento resta bianca e non carica", BROKEN),
    ("it", "ho perso lo smartphone, come esco da IO sul vecchio dispositivo?", LOST),
    ("it", "dove trovo il codice avviso e il codice fiscale dell'ente per pagare?", PAY),
    ("it", "ho perso la ricevuta del bollo pagato l'anno scorso", RECEIPT),
    ("it", "mi è arrivata una multa su IO tramite SEND, come la pago?", SEND),
    ("it", "sessione scaduta, mi chiede sempre di rifare l'accesso", ACCESS),
    ("en", "someone accessed my IO account", BREACH),
    ("en", "where do I find the receipt of my payment", RECEIPT),
    ("en", "I paid the same notice twice, how do I get my money back?", TWICE),
    ("en", "I can't log in to the IO app with my CIE", ACCESS),
    ("en", "my phone was stolen, what should I do about IO?", LOST),
    ("en", "the payment page keeps giving an error", BROKEN),
    ("en", "I want to delete my IO account", RIGHTS),
    ("en", "I wrote to you two weeks ago and still no answer", REMINDER),
    ("en", "how can I pay a pagoPA notice at the post office?", PAY),
    ("en", "it says the notice is already paid but I never paid it", PAID_OR_EXPIRED),
    ("en", "I got a registered letter from SEND, what is it?", SEND),
    ("en", "the app crashes every time I open it", BROKEN),
    ("en", "how do I download a copy of my personal data from IO", RIGHTS),
    ("en", "I got an email about a new login to IO that wasn't me", BREACH),
    ("en", "I forgot my unlock code", ACCESS),
    ("en", "the notice has expired, can I still pay it?", PAID_OR_EXPIRED),
    ("en", "I paid the wrong amount for the school canteen", TWICE),
    ("en", "what is a digital notification and how do I read it", SEND),
    ("en", "any update on my ticket SP-4H7R2MZQ?", REMINDER),
    ("en", "I lost my receipt, can I get another copy?", RECEIPT),
    ("en", "I lost my phone, can I log out of IO remotely?", LOST),
    ("en", "money was taken from my card but the payment failed", BROKEN),
    ("en", "how do I exercise my GDPR rights?", RIGHTS),
    ("en", "I received someone else's notification in IO", BREACH),
    ("en", "where can I find the notice code to pay?", PAY),
];

/// Written after the ranking was tuned on [`QUERIES`] and never tuned on: how it does on
/// questions it has not seen.
const HELD_OUT: &[(&str, &str, &str)] = &[
    ("it", "mi hanno clonato lo SPID e qualcuno ha usato i miei dati", BREACH),
    ("it", "come si paga la tari con l'app IO?", PAY),
    ("it", "ho pagato il ticket sanitario ma non trovo la ricevuta", RECEIPT),
    ("it", "il comune mi ha fatto pagare due volte la mensa, come riavere i soldi", TWICE),
    ("it", "l'avviso che mi è arrivato dice pagamento in corso, cosa significa?", PAID_OR_EXPIRED),
    ("it", "non riesco a fare il login su IO, mi dà errore con la CIE", ACCESS),
    ("it", "ho cambiato telefono e ho paura che qualcuno usi IO sul vecchio", LOST),
    ("it", "come chiedo la cancellazione dei miei dati personali?", RIGHTS),
    ("it", "sono passati 10 giorni e la mia richiesta è ancora aperta", REMINDER),
    ("it", "cos'è l'avviso di avvenuta ricezione che ho trovato nella cassetta della posta?", SEND),
    ("it", "il sito checkout non si carica", BROKEN),
    ("it", "ho ricevuto un SMS sospetto che sembra di pagoPA con un link", BREACH),
    ("en", "how do I pay a fine I received through SEND?", SEND),
    ("en", "the app says my session expired and I have to log in again", ACCESS),
    ("en", "can you send me the receipt for the payment I made yesterday", RECEIPT),
    ("en", "I was charged twice for the same bill", TWICE),
    ("en", "the notice code isn't recognised when I try to pay", PAID_OR_EXPIRED),
    ("en", "IO keeps freezing on the payments screen", BROKEN),
    ("en", "I'd like to know what personal data you hold about me", RIGHTS),
    ("en", "still waiting for a reply to my request from last month", REMINDER),
    ("en", "somebody stole my smartphone with the IO app on it", LOST),
    ("en", "I got a notification meant for another person", BREACH),
];

const OFF_TOPIC: &[(&str, &str)] = &[
    ("it", "qual è la capitale della Francia"),
    ("en", "weather tomorrow in Rome"),
    ("it", "mi dai la ricetta della carbonara?"),
    ("en", "who won the football match yesterday"),
    ("it", "quanto costa un biglietto del treno per Milano"),
    ("en", "tell me a joke"),
];

struct Score {
    right: usize,
    confident: usize,
    confident_wrong: Vec<String>,
    misses: Vec<String>,
}

fn evaluate(name: &str, set: &[(&str, &str, &str)]) -> Score {
    let mut score = Score { right: 0, confident: 0, confident_wrong: Vec::new(), misses: Vec::new() };
    for &(lang, q, expected) in set {
        let hits = INDEX.search(q, lang, 3);
        assert!(hits.iter().all(|h| h.lang == lang && (0.0..=1.0).contains(&h.score)), "{hits:?}");
        let top = hits.first().map(|h| h.id.as_str()).unwrap_or("-");
        if top == expected {
            score.right += 1;
        } else {
            let found: Vec<_> = hits.iter().map(|h| format!("{} {:.2}", h.id, h.score)).collect();
            score.misses.push(format!("  [{lang}] {q:?}: expected {expected}, got {found:?}"));
        }
        if let BotAnswer::Confident(hit) = INDEX.answer(q, lang) {
            score.confident += 1;
            if hit.id != expected {
                score.confident_wrong.push(format!("  [{lang}] {q:?}: confidently {}", hit.id));
            }
        }
    }
    let n = set.len();
    println!("{name}: top-1 accuracy {}/{n} = {:.1}%", score.right, score.right as f64 * 100.0 / n as f64);
    println!("{name}: bot confident on {}/{n}, wrong {}", score.confident, score.confident_wrong.len());
    println!("{name}: misses:\n{}", score.misses.join("\n"));
    println!("{name}: confident and wrong:\n{}", score.confident_wrong.join("\n"));
    score
}

#[test]
fn top_article_for_citizens_questions() {
    let n = QUERIES.len();
    let s = evaluate("tuning set", QUERIES);
    assert!(n >= 40);
    assert!(s.right * 10 >= n * 9, "top-1 accuracy {}/{n}: {:#?}", s.right, s.misses);
    // A confident answer goes to the citizen as it is: it must be right.
    assert!(s.confident_wrong.is_empty(), "{:#?}", s.confident_wrong);
    assert!(s.confident * 10 >= n * 8, "the bot should answer most questions by itself: {}/{n}", s.confident);
}

#[test]
fn held_out_questions() {
    let n = HELD_OUT.len();
    let s = evaluate("held-out set", HELD_OUT);
    // Looser than the tuning set on purpose: this is the estimate of how it does on new questions.
    assert!(s.right * 10 >= n * 8, "top-1 accuracy {}/{n}: {:#?}", s.right, s.misses);
    assert!(s.confident_wrong.len() <= 1, "{:#?}", s.confident_wrong);
}

#[test]
fn off_topic_questions_are_not_answered() {
    for &(lang, q) in OFF_TOPIC {
        let a = INDEX.answer(q, lang);
        assert!(matches!(a, BotAnswer::NoMatch | BotAnswer::Unsure(_)), "{q:?}: {a:?}");
    }
    assert_eq!(INDEX.answer("qual è la capitale della Francia", "it"), BotAnswer::NoMatch);
    assert_eq!(INDEX.answer("weather tomorrow in Rome", "en"), BotAnswer::NoMatch);
}

#[test]
fn hits_carry_a_plain_excerpt() {
    let hits = INDEX.search("come pagare un avviso", "it", 5);
    assert!(!hits.is_empty() && hits.len() <= 5);
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score), "{hits:?}");
    for h in &hits {
        assert!(!h.excerpt.is_empty() && h.excerpt.chars().count() <= 401, "{}", h.excerpt);
        assert!(!h.excerpt.contains("**") && !h.excerpt.contains('#') && !h.excerpt.contains("]("), "{}", h.excerpt);
        assert!(h.excerpt.ends_with(['.', '!', '?', '…']), "{}", h.excerpt);
    }
    let pay = &hits[0];
    assert_eq!(pay.id, "pay-pagopa-notice");
    assert!(pay.excerpt.starts_with("Puoi pagare un avviso pagoPA"), "{}", pay.excerpt);
    assert!(pay.title.starts_with("Come pagare"));
    assert!(INDEX.search("come pagare un avviso", "it", 0).is_empty());
}

#[test]
fn unknown_language_falls_back_to_the_query_language() {
    let hits = INDEX.search("where do I find my receipt", "fr", 1);
    assert_eq!((hits[0].id.as_str(), hits[0].lang.as_str()), ("payment-receipt", "en"));
    let hits = INDEX.search("dove trovo la ricevuta", "", 1);
    assert_eq!(hits[0].lang, "it");
}

#[test]
fn notice_codes_and_amounts_do_not_score() {
    assert!(INDEX.search("301000000012345678", "it", 3).is_empty());
    assert!(INDEX.search("12,50 € 18 11 2024", "it", 3).is_empty());
    assert_eq!(INDEX.answer("02438750586 301000000012345678", "en"), BotAnswer::NoMatch);
}

#[test]
fn language_detection() {
    let it = QUERIES.iter().filter(|q| q.0 == "it").filter(|q| detect_language(q.1) == "it").count();
    let en = QUERIES.iter().filter(|q| q.0 == "en").filter(|q| detect_language(q.1) == "en").count();
    let total = QUERIES.len();
    println!("language detected right on {}/{total}", it + en);
    assert!((it + en) * 100 >= total * 95, "{}/{total}", it + en);
    assert_eq!(detect_language(""), "it");
    assert_eq!(detect_language("🙂🙂🙂"), "it");
    assert_eq!(detect_language("IO SPID"), "it");
}

/// Deterministic pseudo-random bytes, so a failure can be replayed.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as u8
        })
        .collect()
}

#[test]
fn garbage_queries_return_without_panic() {
    let random = String::from_utf8_lossy(&noise(10 * 1024, 7)).into_owned();
    let queries = [
        String::new(),
        " \n\t ".into(),
        "?!.,;:-()[]{}\"'/\\*&%$#@".into(),
        "🙂😡🔥💸📱".repeat(50),
        random,
        "pagamento ".repeat(100_000),
        "a".repeat(50_000),
        "ricevuta".chars().cycle().take(9_000).collect(),
        "\u{0}\u{feff}\u{202e}ricevuta\u{200b}".into(),
        "支付收据 платёж εισπράξεις".into(),
    ];
    for q in &queries {
        for lang in ["it", "en", "xx"] {
            let hits = INDEX.search(q, lang, 10);
            assert!(hits.len() <= 10);
            assert!(hits.iter().all(|h| h.score.is_finite()));
            let _ = INDEX.answer(q, lang);
            let _ = detect_language(q);
        }
    }
    assert_eq!(INDEX.answer("", "it"), BotAnswer::NoMatch);
    assert_eq!(INDEX.answer("?!?!", "en"), BotAnswer::NoMatch);
    assert_eq!(INDEX.answer("🙂😡🔥", "it"), BotAnswer::NoMatch);
}

#[test]
fn an_empty_knowledge_base_finds_nothing() {
    let index = KnowledgeIndex::build(&Default::default());
    assert!(index.search("ricevuta", "it", 3).is_empty());
    assert_eq!(index.answer("ricevuta", "it"), BotAnswer::NoMatch);
}

proptest! {
    #[test]
    fn search_never_panics(query in any::<String>(), lang in "(it|en|de|)", limit in 0usize..20) {
        let hits = INDEX.search(&query, &lang, limit);
        prop_assert!(hits.len() <= limit);
        prop_assert!(hits.iter().all(|h| (0.0..=1.0).contains(&h.score)));
        let _ = INDEX.answer(&query, &lang);
    }

    #[test]
    fn search_never_panics_on_text_like_input(query in "[a-zàèéìòù' ?!.,0-9🙂-]{0,200}") {
        let _ = INDEX.search(&query, "it", 5);
        let _ = INDEX.search(&query, "en", 5);
    }
}
