//! Loading plus validating the default rulebook, and deciding one contact's path.

use criterion::{Criterion, criterion_group, criterion_main};
use sportello::domain::TicketType;
use sportello::engine::FlowGuard;
use sportello::rules::{Contact, Facts, Rules, compiled, load, resolved};
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn rules_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))
}

/// A copy of the default rules with their compiled form (`sportello rules compile`), in a
/// temporary folder.
fn compiled_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("knowledge")).unwrap();
    std::fs::copy(rules_dir().join("rulebook.yaml"), dir.join("rulebook.yaml")).unwrap();
    for entry in std::fs::read_dir(rules_dir().join("knowledge")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("knowledge").join(path.file_name().unwrap())).unwrap();
    }
    tmp
}

/// `sportello rules check` of a rulebook folder that passes; the report's length.
fn check(dir: &Path, cache: bool) -> usize {
    let (out, code) =
        sportello::cli::rules::run(sportello::cli::rules::RulesAction::Check { path: dir.to_path_buf(), cache });
    assert_eq!(code, 0, "{out}");
    out.len()
}

fn load_and_validate(c: &mut Criterion) {
    // What a cold start pays: the first load in a process (the YAML's builds the schema and its
    // validator first). Criterion's loops below leave that out.
    let started = std::time::Instant::now();
    black_box(Rules::load(rules_dir()).unwrap());
    let first_yaml = started.elapsed();
    let copy = compiled_copy();
    let (_, code) =
        sportello::cli::rules::run(sportello::cli::rules::RulesAction::Compile { path: copy.path().to_path_buf() });
    assert_eq!(code, 0, "the default rulebook compiles");
    let started = std::time::Instant::now();
    black_box(compiled::load(copy.path()).unwrap());
    let first_compiled = started.elapsed();
    println!("rulebook/first load in the process: YAML {first_yaml:.2?}, compiled {first_compiled:.2?}");
    // What a function pays at a cold start: the rulebook part, the YAML hashed; the articles
    // wait for their first use.
    c.bench_function("rulebook/load compiled (YAML hashed, articles at first use)", |b| {
        b.iter(|| compiled::load(black_box(copy.path())).unwrap())
    });
    // The same, with the rulebook dropped outside the timing, as a function keeps it for its
    // life: the loop above also pays each load's drop, and glibc then tidies the freed memory
    // at the next load's first large allocation, which a cold start never has to.
    c.bench_function("rulebook/load compiled, dropped outside the timing", |b| {
        b.iter_with_large_drop(|| compiled::load(black_box(copy.path())).unwrap())
    });
    // What the chat's or the operators' first use of the knowledge base adds: the 84 article
    // files hashed, the knowledge part decoded.
    c.bench_function("rulebook/load compiled, then its articles read", |b| {
        b.iter(|| {
            let rules = compiled::load(black_box(copy.path())).unwrap();
            rules.knowledge.articles.len()
        })
    });
    // The chat's first question: the articles and the search index, read from the compiled
    // rulebook, against the index built from the articles.
    c.bench_function("rulebook/load compiled, then its articles and search index read", |b| {
        b.iter(|| compiled::load(black_box(copy.path())).unwrap().knowledge.index())
    });
    let rules = compiled::load(copy.path()).unwrap();
    c.bench_function("rulebook/search index built from the articles", |b| {
        b.iter(|| sportello::knowledge::search::KnowledgeIndex::build(black_box(&rules.knowledge)))
    });
    // The admin's loop: `sportello rules check` of the default rulebook, its report included;
    // with `--no-cache`, every file parsed.
    c.bench_function("rulebook/rules check (the default rulebook, report printed to a string)", |b| {
        b.iter(|| check(black_box(rules_dir()), false))
    });
    // The same with its cache (`.sportello-cache/`, in a copy of the rules): nothing changed since
    // the last check; one article edited before each check (the edit outside the timing); the
    // rulebook edited before each check. Each edit flips between two texts, so each check finds
    // its file changed and writes the cache again.
    let cached = compiled_copy();
    check(cached.path(), true);
    c.bench_function("rulebook/rules check, cached: nothing changed", |b| {
        b.iter(|| check(black_box(cached.path()), true))
    });
    let edited = |file: PathBuf, edit: fn(&str) -> String| {
        let text = std::fs::read_to_string(&file).unwrap();
        let texts = [text.clone(), edit(&text)];
        let mut flip = 0;
        move || {
            flip = 1 - flip;
            std::fs::write(&file, &texts[flip]).unwrap();
        }
    };
    let mut edit_article =
        edited(cached.path().join("knowledge/pay-pagopa-notice.it.md"), |t| t.replacen("title: ", "title: Come ", 1));
    c.bench_function("rulebook/rules check, cached: one article edited", |b| {
        b.iter_batched(&mut edit_article, |()| check(cached.path(), true), criterion::BatchSize::PerIteration)
    });
    let mut edit_rulebook = edited(cached.path().join("rulebook.yaml"), |t| format!("{t}\n# an admin's note\n"));
    c.bench_function("rulebook/rules check, cached: the rulebook edited", |b| {
        b.iter_batched(&mut edit_rulebook, |()| check(cached.path(), true), criterion::BatchSize::PerIteration)
    });
    // What every cached check pays first: the cache's two files read, and their entries decoded
    // (the articles' strings borrowed from the bytes).
    c.bench_function("rulebook/rules check step: the cache read and decoded", |b| {
        b.iter(|| {
            let file = sportello::rules::check_cache::CacheFile::read(black_box(cached.path()));
            let cache = sportello::rules::check_cache::CheckCache::open(&file);
            cache.is_on()
        })
    });
    // Where `rules check` spends its time, step by step.
    let text = std::fs::read_to_string(rules_dir().join("rulebook.yaml")).unwrap();
    c.bench_function("rulebook/check step: positions of every node (the YAML's first parse)", |b| {
        b.iter(|| sportello::rules::source_map::SourceMap::index(black_box(&text)))
    });
    c.bench_function("rulebook/check step: positions and JSON tree (one scan)", |b| {
        b.iter(|| sportello::rules::source_map::SourceMap::index_with_tree(black_box(&text)))
    });
    let source = load::Source::from_text("rulebook.yaml", rules_dir().to_path_buf(), text.clone());
    assert!(source.tree.is_some(), "the default rulebook's tree is built in the scan for positions");
    c.bench_function("rulebook/check step: JSON tree against the schema, typed model", |b| {
        b.iter(|| load::parse(black_box(&source)).unwrap())
    });
    // A text outside the plain shape (an anchor, a tag, a syntax error): serde-saphyr parses it
    // again, as every text was before.
    let reparsed = load::Source {
        tree: None,
        ..load::Source::from_text("rulebook.yaml", rules_dir().to_path_buf(), text.clone())
    };
    c.bench_function(
        "rulebook/check step: YAML to JSON tree, schema, typed model (serde-saphyr's second parse)",
        |b| b.iter(|| load::parse(black_box(&reparsed)).unwrap()),
    );
    let knowledge_dir = rules_dir().join("knowledge");
    c.bench_function("rulebook/check step: knowledge articles read (84 files, front matter parsed)", |b| {
        b.iter(|| sportello::knowledge::load_dir(black_box(&knowledge_dir)).unwrap())
    });
    // The second parse, piece by piece: YAML to a JSON tree, the tree against the schema, the
    // tree to the typed model.
    c.bench_function("rulebook/check step piece: YAML to JSON tree", |b| {
        b.iter(|| serde_saphyr::from_str::<serde_json::Value>(black_box(&text)).unwrap())
    });
    let tree: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(load::schema()).unwrap();
    c.bench_function("rulebook/check step piece: JSON tree against the schema (is_valid)", |b| {
        b.iter(|| assert!(validator.is_valid(black_box(&tree))))
    });
    c.bench_function("rulebook/check step piece: schema validator built", |b| {
        b.iter(|| jsonschema::validator_for(black_box(load::schema())).unwrap())
    });
    c.bench_function("rulebook/check step piece: JSON tree to typed model", |b| {
        b.iter(|| serde_json::from_value::<sportello::rules::model::Rulebook>(black_box(tree.clone())).unwrap())
    });
    // The articles: the files read, then each parsed.
    let files = sportello::knowledge::article_files(&knowledge_dir).unwrap();
    c.bench_function("rulebook/check step piece: 84 article files read", |b| {
        b.iter(|| files.iter().map(|f| std::fs::read_to_string(f).unwrap().len()).sum::<usize>())
    });
    let texts: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    c.bench_function("rulebook/check step piece: 84 articles parsed (front matter, body)", |b| {
        b.iter(|| {
            files
                .iter()
                .zip(&texts)
                .map(|(f, t)| sportello::knowledge::parse_article(f, t).unwrap().body.len())
                .sum::<usize>()
        })
    });
    let book = load::parse(&source).unwrap();
    let articles = Some(Ok(sportello::knowledge::load_dir(&knowledge_dir).unwrap()));
    if let Some(Ok(kb)) = &articles {
        c.bench_function("rulebook/check step piece: knowledge articles' checks", |b| {
            b.iter(|| kb.check(&book.languages, book.categories.keys().map(String::as_str).collect()).len())
        });
    }
    c.bench_function("rulebook/check step piece: semantic checks without the articles", |b| {
        b.iter(|| sportello::rules::validate::check(black_box(&book), None))
    });
    c.bench_function("rulebook/check step: semantic checks, knowledge articles' included", |b| {
        b.iter(|| sportello::rules::validate::check(black_box(&book), articles.as_ref()))
    });
    c.bench_function("rulebook/load+validate (file, with knowledge base)", |b| {
        b.iter(|| Rules::load(black_box(rules_dir())).unwrap())
    });
    c.bench_function("rulebook/parse+validate (text only)", |b| {
        b.iter(|| Rules::from_text("rulebook.yaml", Path::new("/nonexistent"), black_box(&text)))
    });
    // The part of loading that turns the checked YAML model into the one the engine reads.
    let (checked, _) = load::load(rules_dir()).unwrap();
    c.bench_function("rulebook/resolve (typed model, every path worked out)", |b| {
        b.iter(|| resolved::resolve(black_box(&checked.book)).unwrap())
    });
}

fn decide(c: &mut Criterion) {
    let rules = Rules::load(rules_dir()).unwrap();
    let at = "2026-12-02T10:00:00+01:00".parse().unwrap();
    let facts = Facts { incident_active: false, ..Facts::default() };
    c.bench_function("rulebook/decide one contact (voice malfunction, with deadlines)", |b| {
        b.iter(|| {
            let contact = Contact { channel: "voice", category: "malfunction", at: black_box(at), facts };
            rules.evaluate(black_box(&contact)).unwrap().path.steps.len()
        })
    });
    let at_night = "2026-12-26T21:30:00+01:00".parse().unwrap();
    c.bench_function("rulebook/decide one contact (chat out of hours)", |b| {
        b.iter(|| {
            let contact = Contact { channel: "chat", category: "basic_info", at: black_box(at_night), facts };
            rules.evaluate(black_box(&contact)).unwrap().path.steps.len()
        })
    });
}

/// A rulebook with thousands of unknown keys: the check must stay linear in their number (each
/// one located and offered a did-you-mean, the first ones shown and the rest counted).
fn many_unknown_keys(c: &mut Criterion) {
    let base = std::fs::read_to_string(rules_dir().join("rulebook.yaml")).unwrap();
    let mut group = c.benchmark_group("rulebook/check with unknown keys");
    group.sample_size(10);
    for n in [10_000, 20_000, 40_000] {
        let mut text = base.clone();
        for i in 0..n {
            text.push_str(&format!("unknown_key_{i:05}: 1\n"));
        }
        group.bench_function(format!("{n} keys"), |b| {
            b.iter(|| {
                let errors = Rules::from_text("rulebook.yaml", rules_dir(), black_box(&text)).err().unwrap();
                assert_eq!(errors.len(), sportello::rules::diagnostic::MAX_SHOWN + 1);
            })
        });
    }
    group.finish();
}

/// What every operator action asks first: the flow's operator paths for the ticket's channel and
/// category, and what they allow.
fn guard(c: &mut Criterion) {
    let rules = Rules::load(rules_dir()).unwrap();
    c.bench_function("rulebook/flow guard of a ticket (email malfunction, escalation targets)", |b| {
        b.iter(|| {
            let g = FlowGuard::new(&rules, black_box("email"), black_box("malfunction"));
            g.escalation_targets(Some(TicketType::I)).len()
        })
    });
}

criterion_group!(benches, load_and_validate, decide, guard, many_unknown_keys);
criterion_main!(benches);
