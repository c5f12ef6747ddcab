//! `sportello kb`: check, ask, eval and candidates, on copies of the default rulebook folder, with
//! the mistakes authors make and the bad input admins type.

use sportello::adapters::embedded::{Db, SqliteKbCandidates};
use sportello::cli::kb::{CandidatesAction, KbAction, run};
use sportello::ports::{CandidateStatus, KnowledgeCandidates, NewCandidate};
use std::path::{Path, PathBuf};

fn default_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// A copy of the default rulebook folder to break.
fn rules_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    };
    copy(&default_rules(), dir.path());
    copy(&default_rules().join("knowledge"), &dir.path().join("knowledge"));
    dir
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn check_passes_on_the_default_knowledge_base() {
    let (out, code) = run(KbAction::Check { rules: default_rules() });
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("42 articles in 84 files (it, en)"), "{out}");
    assert!(out.contains("No problems found."), "{out}");
}

#[test]
fn check_reports_what_authors_get_wrong() {
    let dir = rules_copy();
    let kb = dir.path().join("knowledge");
    // A broken link, a link over plain http, a link to an article without this language.
    edit(&kb.join("pay-traffic-fine.it.md"), "(dispute-with-creditor-entity)", "(dispute-with-creditor-entty)");
    edit(
        &kb.join("payment-fees.en.md"),
        "## When to contact us",
        "See [the rules](http://example.com/x).\n\n## When to contact us",
    );
    // A missing translation.
    std::fs::remove_file(kb.join("io-push-notifications.en.md")).unwrap();
    // The same example in two articles.
    edit(&kb.join("payment-fees.it.md"), "  - commisione pagamento", "  - dove trovo la ricevuta del pagamento?");
    // A duplicate id in another file.
    std::fs::copy(kb.join("cie-pin-puk.it.md"), kb.join("cie-pin-puk-copy.it.md")).unwrap();
    // Too few examples.
    let spid = kb.join("spid-get-and-recover.en.md");
    let text = std::fs::read_to_string(&spid).unwrap();
    let start = text.find("examples:").unwrap();
    let end = text[start..].find("\n---").unwrap() + start;
    std::fs::write(&spid, format!("{}examples:\n  - forgot my spid password{}", &text[..start], &text[end..])).unwrap();

    let (out, code) = run(KbAction::Check { rules: dir.path().to_path_buf() });
    assert_eq!(code, 1, "{out}");
    for expected in [
        "pay-traffic-fine.it.md:",
        "links to `dispute-with-creditor-entty`, which is no article",
        "did you mean `dispute-with-creditor-entity`?",
        "links to `http://example.com/x` over plain http",
        "knowledge article `io-push-notifications` has no `en` version",
        "links to `io-push-notifications`, which has no `en` version",
        "both list the example \"dove trovo la ricevuta del pagamento?\"",
        "repeats id `cie-pin-puk` in `it`",
        "should be named `cie-pin-puk.it.md`",
        "has 1 example questions; at least 5",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // The broken link says where it is: file and line.
    let line = out.lines().find(|l| l.contains("dispute-with-creditor-entty`, which")).unwrap();
    let located = line.split("pay-traffic-fine.it.md:").nth(1).unwrap();
    assert!(located.split(' ').next().unwrap().parse::<usize>().unwrap() > 20, "{line}");
}

#[test]
fn check_without_a_readable_rulebook_says_so() {
    let (out, code) = run(KbAction::Check { rules: PathBuf::from("/nonexistent/rules") });
    assert_eq!(code, 1);
    assert!(out.contains("/nonexistent/rules"), "{out}");
}

#[test]
fn ask_shows_terms_typos_the_ranking_and_the_decision() {
    let (out, code) = run(KbAction::Ask {
        question: "nn trovo la ricevta del pagamneto".into(),
        lang: Some("it".into()),
        earlier: vec![],
        rules: default_rules(),
    });
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(typo: \"ricevta\")") && out.contains("(typo: \"pagamneto\")"), "{out}");
    assert!(out.contains("Decision: answer with `payment-receipt`"), "{out}");
    assert!(out.contains("1. payment-receipt"), "{out}");
    assert!(out.contains("closest: "), "{out}");

    let (out, _) = run(KbAction::Ask {
        question: "come la pago?".into(),
        lang: Some("it".into()),
        earlier: vec!["ho preso una multa".into()],
        rules: default_rules(),
    });
    assert!(out.contains("earlier message 1: \"ho preso una multa\""), "{out}");
    assert!(out.contains("(read with the earlier messages)"), "{out}");
    assert!(out.contains("pay-traffic-fine"), "{out}");

    let (out, _) = run(KbAction::Ask {
        question: "pagamento".into(),
        lang: Some("it".into()),
        earlier: vec![],
        rules: default_rules(),
    });
    assert!(out.contains("Decision: ask back"), "{out}");

    let (out, code) = run(KbAction::Ask { question: " ".into(), lang: None, earlier: vec![], rules: default_rules() });
    assert_eq!(code, 2, "{out}");
    let (out, code) = run(KbAction::Ask {
        question: "ricevuta".into(),
        lang: Some("fr".into()),
        earlier: vec![],
        rules: default_rules(),
    });
    assert_eq!(code, 2);
    assert!(out.contains("languages are it, en"), "{out}");
}

#[test]
fn eval_prints_the_figures_and_fails_when_a_target_is_missed() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "questions:\n  - {lang: it, q: \"dove trovo la ricevuta del pagamento?\", expect: payment-receipt}\n  - {lang: en, q: \"tell me a joke\", expect: none}\n",
    )
    .unwrap();
    let (out, code) =
        run(KbAction::Eval { sets: vec![good.clone()], verbose: true, sweep: false, rules: default_rules() });
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 questions (1 with an article, 1 with none)"), "{out}");
    assert!(out.contains("| top-1 right article | 1/1 = 100.0 % | >= 90 % met |"), "{out}");
    assert!(out.contains("| no fitting article, answered anyway | 0/1 | 0 met |"), "{out}");

    // A confident wrong answer misses a target: status 1, and -v says which question.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "questions:\n  - {lang: it, q: \"dove trovo la ricevuta del pagamento?\", expect: payment-fees}\n",
    )
    .unwrap();
    let (out, code) = run(KbAction::Eval { sets: vec![bad], verbose: true, sweep: true, rules: default_rules() });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MISSED"), "{out}");
    assert!(out.contains("confident and wrong:\n  [it] \"dove trovo la ricevuta del pagamento?\": expected payment-fees, answered payment-receipt"), "{out}");
    assert!(out.contains("Thresholds (coverage × margin)"), "{out}");

    // Without files: the articles' example questions.
    let (out, _) = run(KbAction::Eval { sets: vec![], verbose: false, sweep: false, rules: default_rules() });
    assert!(out.contains("the articles' example questions:"), "{out}");
}

#[test]
fn eval_refuses_a_malformed_set_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("set.yaml");
    std::fs::write(&file, "questions:\n  - {lang: it, q: \"x\", expected: payment-receipt}\n").unwrap();
    let (out, code) =
        run(KbAction::Eval { sets: vec![file.clone()], verbose: false, sweep: false, rules: default_rules() });
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("set.yaml:2:"), "{out}");
    assert!(out.contains("expected"), "{out}");

    std::fs::write(&file, "questions:\n  - {lang: it, q: \"x\", expect: payment-recipt}\n").unwrap();
    let (out, code) = run(KbAction::Eval { sets: vec![file], verbose: false, sweep: false, rules: default_rules() });
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("`expect` names no article: payment-recipt"), "{out}");

    let (out, code) = run(KbAction::Eval {
        sets: vec![dir.path().join("missing.yaml")],
        verbose: false,
        sweep: false,
        rules: default_rules(),
    });
    assert_eq!(code, 2);
    assert!(out.contains("cannot read"), "{out}");
}

#[test]
fn candidates_are_listed_promoted_into_the_article_and_rejected() {
    let rules = rules_copy();
    let data = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = Db::open(data.path().join("sportello.db")).unwrap();
    let store = SqliteKbCandidates::new(db);
    let now = jiff::Timestamp::now();
    let (keep, drop) = runtime.block_on(async {
        let keep = NewCandidate {
            lang: "it".into(),
            article: "payment-receipt".into(),
            question: "la quietanza del bollo dove si prende".into(),
        };
        let drop = NewCandidate { lang: "it".into(), article: "payment-fees".into(), question: "ma che fate".into() };
        store.record(&keep, now).await.unwrap();
        store.record(&keep, now).await.unwrap();
        store.record(&drop, now).await.unwrap();
        (keep.id(), drop.id())
    });
    let candidates = |action| run(KbAction::Candidates { action, data: data.path().to_path_buf() });

    let (out, code) = candidates(CandidatesAction::List { status: "pending".into(), limit: 50 });
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("2 candidate(s) (pending)"), "{out}");
    let first = out.lines().nth(2).unwrap();
    assert!(first.starts_with(&keep) && first.contains("    2  it") && first.contains("payment-receipt"), "{out}");

    let (out, code) =
        candidates(CandidatesAction::Promote { id: keep.clone(), rules: rules.path().into(), by: "adm-1".into() });
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("added \"la quietanza del bollo dove si prende\" to the examples of"), "{out}");
    let file = rules.path().join("knowledge/payment-receipt.it.md");
    assert!(std::fs::read_to_string(&file).unwrap().contains("  - \"la quietanza del bollo dove si prende\"\n---"));
    let (out, code) = run(KbAction::Check { rules: rules.path().into() });
    assert_eq!(code, 0, "the article is still well formed: {out}");
    // Promoting again changes nothing.
    let (out, code) =
        candidates(CandidatesAction::Promote { id: keep.clone(), rules: rules.path().into(), by: "adm-1".into() });
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already promoted"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap().matches("la quietanza del bollo").count(), 1);

    let (out, code) = candidates(CandidatesAction::Reject { id: drop.clone(), by: "adm-1".into() });
    assert_eq!(code, 0, "{out}");
    let (out, _) = candidates(CandidatesAction::List { status: "pending".into(), limit: 50 });
    assert!(out.starts_with("0 candidate(s) (pending)"), "{out}");
    let (out, _) = candidates(CandidatesAction::List { status: "all".into(), limit: 50 });
    assert!(out.contains("promoted") && out.contains("rejected"), "{out}");
    let decided = runtime.block_on(store.get(&keep)).unwrap();
    assert_eq!((decided.status, decided.decided_by.as_deref()), (CandidateStatus::Promoted, Some("adm-1")));

    // Bad input.
    let (out, code) = candidates(CandidatesAction::List { status: "open".into(), limit: 50 });
    assert_eq!(code, 2);
    assert!(out.contains("use pending, promoted, rejected or all"), "{out}");
    let (out, code) = candidates(CandidatesAction::Reject { id: "nope".into(), by: "adm-1".into() });
    assert_eq!(code, 1);
    assert!(out.contains("no candidate `nope`"), "{out}");
    let (out, code) = run(KbAction::Candidates {
        action: CandidatesAction::List { status: "all".into(), limit: 5 },
        data: data.path().join("elsewhere"),
    });
    assert_eq!(code, 1);
    assert!(out.contains("give --data"), "{out}");
}
