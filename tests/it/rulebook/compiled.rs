//! The compiled rulebook (`sportello rules compile`): the same rulebook as the YAML, refused
//! with a clear reason when missing, stale, damaged or of another format version, and then the
//! YAML is loaded instead. Its knowledge articles are checked and read at their first use, and
//! read from their folder when they are stale.

use super::copy_of_default_rules;
use sportello::cli::rules::{RulesAction, run};
use sportello::rules::compiled::{self, CompiledError, FORMAT_VERSION, HEADER_LEN};
use sportello::rules::{Contact, Facts, Rules};
use std::path::Path;

fn compile(dir: &Path) -> String {
    let (out, code) = run(RulesAction::Compile { path: dir.to_path_buf() });
    assert_eq!(code, 0, "{out}");
    out
}

fn loaded(dir: &Path) -> Rules {
    compiled::load(dir).unwrap_or_else(|e| panic!("the compiled rulebook should load: {e}"))
}

fn refusal(dir: &Path) -> CompiledError {
    match compiled::load(dir) {
        Ok(_) => panic!("the compiled rulebook should have been refused"),
        Err(e) => e,
    }
}

/// Why the compiled knowledge articles are not used (they are read from their folder instead).
fn knowledge_refusal(dir: &Path) -> CompiledError {
    match compiled::load_knowledge(dir) {
        Ok(_) => panic!("the compiled articles should have been refused"),
        Err(e) => e,
    }
}

fn json(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).expect("JSON")
}

#[test]
fn the_compiled_rulebook_is_the_checked_yaml() {
    let (_tmp, dir) = copy_of_default_rules();
    let out = compile(&dir);
    assert!(out.contains("SUCCESS"), "compile prints the check's summary: {out}");
    assert!(out.contains("rulebook.compiled") && out.contains(&format!("format version {FORMAT_VERSION}")), "{out}");
    let from_yaml = Rules::load(&dir).expect("the YAML loads");
    let from_compiled = loaded(&dir);
    assert!(!from_compiled.knowledge.is_read(), "the articles wait for their first use");
    assert_eq!(json(&from_compiled.model), json(&from_yaml.model));
    assert_eq!(from_compiled.file, from_yaml.file);
    let messages = |r: &Rules| r.warnings.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(
        messages(&from_compiled),
        messages(&from_yaml),
        "the check's warnings, located as rules check shows them"
    );
    assert_eq!(from_compiled.knowledge.folder, from_yaml.knowledge.folder);
    assert_eq!(from_compiled.knowledge.articles.len(), from_yaml.knowledge.articles.len());
    for (c, y) in from_compiled.knowledge.articles.iter().zip(&from_yaml.knowledge.articles) {
        assert_eq!(
            (&c.file, &c.meta.id, &c.meta.lang, &c.body, c.body_line),
            (&y.file, &y.meta.id, &y.meta.lang, &y.body, y.body_line)
        );
        assert_eq!(c.meta.examples, y.meta.examples);
    }
    // The calendars are worked out again from the stored schedules: the same decision at night.
    let contact = Contact {
        channel: "voice",
        category: "malfunction",
        at: "2026-12-26T21:30:00+01:00".parse().expect("a time"),
        facts: Facts::default(),
    };
    let (a, b) = (from_compiled.evaluate(&contact).expect("decided"), from_yaml.evaluate(&contact).expect("decided"));
    assert_eq!(format!("{:?}", a.next_opening), format!("{:?}", b.next_opening));
    assert_eq!(format!("{:?}", a.deadlines), format!("{:?}", b.deadlines));
}

#[test]
fn the_compiled_search_index_answers_as_one_built_from_the_articles() {
    use sportello::knowledge::search::KnowledgeIndex;
    let (_tmp, dir) = copy_of_default_rules();
    compile(&dir);
    let (base, stored) = compiled::load_knowledge(&dir).expect("current");
    let stored = stored.expect("the index is stored with the articles");
    let built = KnowledgeIndex::build(&base);
    let questions = [
        ("come pago un avviso pagoPA?", "it"),
        ("non ho ricevuto la ricevuta del pagamento", "it"),
        ("ho pagato due volte, voglio il rimborso", "it"),
        ("bolletino pagamneto", "it"),
        ("how do I pay a pagoPA notice?", "en"),
        ("I was charged twice", "en"),
    ];
    for (question, lang) in questions {
        let (a, b) = (stored.search(question, lang, 5), built.search(question, lang, 5));
        assert!(!b.is_empty(), "{question}: the built index finds something");
        assert_eq!(a, b, "{question}");
        assert_eq!(stored.answer(question, lang), built.answer(question, lang), "{question}");
    }
    // The engine takes it from the compiled rulebook once, then builds when asked again.
    let rules = loaded(&dir);
    let taken = rules.knowledge.index();
    assert_eq!(taken.search("rimborso", "it", 3), built.search("rimborso", "it", 3));
}

#[test]
fn a_compiled_rulebook_moves_with_its_folder() {
    let (tmp, dir) = copy_of_default_rules();
    compile(&dir);
    let moved = tmp.path().join("opt");
    std::fs::rename(&dir, &moved).expect("moved");
    let rules = loaded(&moved);
    assert_eq!(rules.file, moved.join("rulebook.yaml").display().to_string());
    assert_eq!(rules.knowledge.folder.as_deref(), Some(moved.join("knowledge").as_path()));
    assert!(rules.knowledge.articles.iter().all(|a| a.file.starts_with(moved.join("knowledge")) && a.file.is_file()));
}

#[test]
fn a_missing_compiled_rulebook_falls_back_to_the_yaml() {
    let (_tmp, dir) = copy_of_default_rules();
    let err = refusal(&dir);
    assert!(matches!(err, CompiledError::Missing(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("there is no compiled rulebook at `{}`", dir.join("rulebook.compiled").display())
    );
    let rules = Rules::load_compiled_or_yaml(&dir).expect("the YAML instead");
    assert!(!rules.model.channels.is_empty());
}

#[test]
fn an_edited_yaml_makes_the_compiled_rulebook_stale_and_the_edit_is_what_loads() {
    let (_tmp, dir) = copy_of_default_rules();
    compile(&dir);
    let yaml = dir.join("rulebook.yaml");
    let text = std::fs::read_to_string(&yaml).expect("the YAML");
    let edited = text.replace("We are putting you through to an operator.", "One moment, please.");
    assert_ne!(edited, text);
    std::fs::write(&yaml, edited).expect("edited");
    let err = refusal(&dir);
    assert!(matches!(err, CompiledError::Stale { .. }), "{err:?}");
    assert!(err.to_string().contains("is stale") && err.to_string().contains("rulebook.yaml"), "{err}");
    let rules = Rules::load_compiled_or_yaml(&dir).expect("the YAML instead");
    assert_eq!(
        rules.model.messages.get("ivr_welcome").and_then(|t| t.get("en")).map(String::as_str),
        Some("Welcome to PagoPA's support service. One moment, please.")
    );
    // Compiling again makes it current.
    compile(&dir);
    assert_eq!(
        loaded(&dir).model.messages.get("ivr_welcome").and_then(|t| t.get("en")),
        rules.model.messages.get("ivr_welcome").and_then(|t| t.get("en"))
    );
}

#[test]
fn an_edited_added_or_removed_article_makes_the_compiled_articles_stale_and_the_folder_is_read() {
    let (_tmp, dir) = copy_of_default_rules();
    let knowledge = dir.join("knowledge");
    let first = sportello::knowledge::article_files(&knowledge).expect("articles").remove(0);
    let original = std::fs::read_to_string(&first).expect("an article");
    let body_of = |rules: &Rules| {
        let article = rules.knowledge.articles.iter().find(|a| a.file == first).expect("the first article");
        article.body.clone()
    };

    compile(&dir);
    assert!(compiled::load_knowledge(&dir).is_ok(), "current after compiling");
    std::fs::write(&first, format!("{original}\nOne more line.\n")).expect("edited");
    let err = knowledge_refusal(&dir);
    assert!(matches!(err, CompiledError::Stale { .. }), "an edited article: {err:?}");
    assert!(err.to_string().contains("is stale: the articles in") && err.to_string().contains("knowledge"), "{err}");
    // The rulebook itself is current: it loads, and the articles come from their folder.
    let rules = loaded(&dir);
    assert!(body_of(&rules).ends_with("One more line.\n"), "the edited article is what the bot reads");
    std::fs::write(&first, &original).expect("restored");
    compiled::load_knowledge(&dir).expect("current again");
    assert!(!body_of(&loaded(&dir)).contains("One more line."));

    let added = knowledge.join("zz-new.en.md");
    std::fs::write(&added, original.replace("lang: it", "lang: en")).expect("added");
    let err = knowledge_refusal(&dir);
    assert!(matches!(err, CompiledError::Stale { .. }), "an added article: {err:?}");
    assert!(loaded(&dir).knowledge.articles.iter().any(|a| a.file == added), "the added article is read");
    std::fs::remove_file(&added).expect("removed again");
    compiled::load_knowledge(&dir).expect("current again");

    std::fs::remove_file(&first).expect("an article removed");
    assert!(matches!(knowledge_refusal(&dir), CompiledError::Stale { .. }), "a removed article");
    assert!(loaded(&dir).knowledge.articles.iter().all(|a| a.file != first), "the removed article is gone");
}

#[test]
fn a_compiled_rulebook_of_another_format_version_is_refused() {
    let (_tmp, dir) = copy_of_default_rules();
    compile(&dir);
    let file = dir.join("rulebook.compiled");
    let mut bytes = std::fs::read(&file).expect("the compiled file");
    bytes[16..20].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    std::fs::write(&file, bytes).expect("rewritten");
    let err = refusal(&dir);
    assert!(matches!(err, CompiledError::OtherVersion { found, .. } if found == FORMAT_VERSION + 1), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("format version {}; this build reads version {FORMAT_VERSION}", FORMAT_VERSION + 1)),
        "{err}"
    );
    assert!(Rules::load_compiled_or_yaml(&dir).is_ok(), "the YAML instead");
}

#[test]
fn a_damaged_compiled_rulebook_is_refused_with_what_is_wrong() {
    let (_tmp, dir) = copy_of_default_rules();
    compile(&dir);
    let file = dir.join("rulebook.compiled");
    let bytes = std::fs::read(&file).expect("the compiled file");

    // Cut short (a copy that stopped half-way).
    std::fs::write(&file, &bytes[..bytes.len() / 2]).expect("truncated");
    let err = refusal(&dir);
    assert!(matches!(err, CompiledError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("is damaged") && err.to_string().contains("its header says"), "{err}");

    // Shorter than its own header.
    std::fs::write(&file, &bytes[..30]).expect("truncated");
    assert!(matches!(refusal(&dir), CompiledError::Corrupt { .. }));

    // Right length, scrambled parts.
    let mut scrambled = bytes.clone();
    scrambled[HEADER_LEN..].iter_mut().for_each(|b| *b = 0xff);
    std::fs::write(&file, scrambled).expect("scrambled");
    let err = refusal(&dir);
    assert!(matches!(err, CompiledError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot decode it"), "{err}");

    // Only the knowledge part scrambled: the rulebook loads, the articles come from their folder.
    let mut scrambled = bytes.clone();
    let knowledge_at = bytes.len() - 1000;
    scrambled[knowledge_at..].iter_mut().for_each(|b| *b = 0xff);
    std::fs::write(&file, scrambled).expect("scrambled");
    let err = knowledge_refusal(&dir);
    assert!(matches!(err, CompiledError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot decode its knowledge articles"), "{err}");
    let rules = loaded(&dir);
    assert_eq!(rules.knowledge.articles.len(), Rules::load(&dir).expect("the YAML").knowledge.articles.len());

    // Not a compiled rulebook at all (the YAML under the compiled name).
    std::fs::copy(dir.join("rulebook.yaml"), &file).expect("copied");
    let err = refusal(&dir);
    assert!(matches!(err, CompiledError::NotCompiled(_)), "{err:?}");
    assert!(err.to_string().contains("is not a compiled rulebook"), "{err}");

    assert!(Rules::load_compiled_or_yaml(&dir).is_ok(), "the YAML instead");
}

#[test]
fn a_rulebook_with_errors_is_not_compiled() {
    let (_tmp, dir) = copy_of_default_rules();
    let yaml = dir.join("rulebook.yaml");
    let text = std::fs::read_to_string(&yaml).expect("the YAML");
    std::fs::write(&yaml, text.replacen("messages:", "mesages:", 1)).expect("broken");
    let (out, code) = run(RulesAction::Compile { path: dir.clone() });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("has errors") && out.contains("mesages") && out.contains("nothing was compiled"), "{out}");
    assert!(!dir.join("rulebook.compiled").exists());
    assert!(!dir.join("rulebook.compiled.partial").exists());
}
