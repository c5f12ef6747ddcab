//! `rules check`'s cache (`.sportello-cache/` beside the rulebook): an unchanged file is not
//! parsed again, an edited one is, and the report is the same with the cache, without it, and
//! with a cache that is damaged or cannot be written.

use super::copy_of_default_rules;
use sportello::cli::rules::{RulesAction, run};
use sportello::rules::Rules;
use sportello::rules::check_cache::{self, CheckCache};
use std::path::Path;

fn check(dir: &Path, cache: bool) -> (String, u8) {
    run(RulesAction::Check { path: dir.to_path_buf(), cache })
}

/// `rules check` with the cache, after the same check without it: both reports, which must be
/// equal.
fn check_both_ways(dir: &Path) -> (String, u8) {
    let without = check(dir, false);
    let with = check(dir, true);
    assert_eq!(with, without, "the report with the cache differs from the one without");
    with
}

/// What a check took from the cache: whether the rulebook's part, and how many articles.
fn reused(dir: &Path) -> (bool, usize) {
    let mut cache = CheckCache::open(dir);
    let _ = Rules::load_with(dir, &mut cache);
    let reused = cache.reused();
    cache.save().expect("the cache is written");
    reused
}

/// Whether `out` points at `file:line:col` of `file`.
fn located_in(out: &str, file: &Path) -> bool {
    let prefix = format!("{}:", file.display());
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    out.match_indices(&prefix).any(|(i, _)| {
        let rest = &out[i + prefix.len()..];
        let line = digits(rest);
        line > 0 && rest[line..].strip_prefix(':').is_some_and(|col| digits(col) > 0)
    })
}

fn article_count(dir: &Path) -> usize {
    sportello::knowledge::article_files(&dir.join("knowledge")).unwrap().len()
}

#[test]
fn an_unchanged_file_is_taken_from_the_cache_and_an_edited_one_is_read_again() {
    let (_tmp, dir) = copy_of_default_rules();
    let articles = article_count(&dir);
    assert_eq!(reused(&dir), (false, 0), "nothing is cached at first");
    let cache_file = check_cache::location(&dir);
    assert!(cache_file.starts_with(dir.join(".sportello-cache")), "{}", cache_file.display());
    assert!(cache_file.is_file(), "the first check writes the cache");
    let ignore = std::fs::read_to_string(dir.join(".sportello-cache/.gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*"), "git leaves the cache out: {ignore}");
    assert_eq!(reused(&dir), (true, articles), "the second check parses nothing");

    // One article edited: only that one is read again.
    let article = dir.join("knowledge/pay-pagopa-notice.it.md");
    let text = std::fs::read_to_string(&article).unwrap();
    std::fs::write(&article, text.replacen("title: ", "title: Come ", 1)).unwrap();
    assert_eq!(reused(&dir), (true, articles - 1));
    let (out, code) = check_both_ways(&dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");

    // The rulebook edited: it is read again, the articles are not.
    let rulebook = dir.join("rulebook.yaml");
    let yaml = std::fs::read_to_string(&rulebook).unwrap();
    std::fs::write(&rulebook, format!("{yaml}\n# an admin's note\n")).unwrap();
    assert_eq!(reused(&dir), (false, articles));
    assert_eq!(reused(&dir), (true, articles));
}

#[test]
fn a_broken_edit_is_reported_at_its_line_and_column_as_without_the_cache() {
    let (_tmp, dir) = copy_of_default_rules();
    let (clean, code) = check_both_ways(&dir);
    assert_eq!(code, 0, "{clean}");

    // An article's front matter broken: its file, line and column.
    let article = dir.join("knowledge/pay-pagopa-notice.it.md");
    let text = std::fs::read_to_string(&article).unwrap();
    std::fs::write(&article, text.replacen("title: ", "title: [never closed ", 1)).unwrap();
    let (out, code) = check_both_ways(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(located_in(&out, &article), "the error names the article's file:line:col:\n{out}");
    std::fs::write(&article, &text).unwrap();
    assert_eq!(check_both_ways(&dir), (clean.clone(), 0), "the fix is seen");

    // The rulebook broken, the articles cached: its error located as ever.
    let rulebook = dir.join("rulebook.yaml");
    let yaml = std::fs::read_to_string(&rulebook).unwrap();
    let broken = yaml.replacen("\nteams:\n", "\nteams:\n  oops: [\n", 1);
    assert_ne!(broken, yaml, "the rulebook has a `teams:` block");
    std::fs::write(&rulebook, &broken).unwrap();
    let (out, code) = check_both_ways(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(located_in(&out, &rulebook), "the error names the rulebook's file:line:col:\n{out}");
    std::fs::write(&rulebook, &yaml).unwrap();
    assert_eq!(check_both_ways(&dir), (clean, 0));
}

/// Every patched rulebook of `tests/broken/patches`, checked over a cache filled by the default
/// rulebook (its articles cached, the patched rulebook read afresh), reports exactly what the
/// check without the cache does; and the default rulebook checked after each, from the cache,
/// reports what it does without.
#[test]
fn every_broken_patch_case_is_reported_the_same_with_and_without_the_cache() {
    let (_tmp, dir) = copy_of_default_rules();
    let rulebook = dir.join("rulebook.yaml");
    let default = std::fs::read_to_string(&rulebook).unwrap();
    let (clean, code) = check_both_ways(&dir);
    assert_eq!(code, 0, "{clean}");
    let mut failures = Vec::new();
    for (name, text) in super::broken::patched_rulebooks() {
        std::fs::write(&rulebook, &text).unwrap();
        let without = check(&dir, false);
        let with = check(&dir, true);
        if with != without {
            failures.push(format!("{name}: with the cache:\n{}\nwithout:\n{}", with.0, without.0));
        } else if with.1 != 1 {
            failures.push(format!("{name}: accepted:\n{}", with.0));
        }
        std::fs::write(&rulebook, &default).unwrap();
        if check(&dir, true) != (clean.clone(), 0) {
            failures.push(format!("{name}: the default rulebook, from the cache, reads differently after it"));
        }
    }
    assert!(failures.is_empty(), "{} problem(s):\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn a_damaged_or_unwritable_cache_is_ignored_and_the_check_is_the_same() {
    let (_tmp, dir) = copy_of_default_rules();
    let (clean, code) = check(&dir, false);
    assert_eq!(code, 0, "{clean}");
    let cache_file = check_cache::location(&dir);
    assert!(!cache_file.exists(), "--no-cache writes nothing");
    assert!(!dir.join(".sportello-cache").exists(), "--no-cache makes no folder");
    assert_eq!(check(&dir, true), (clean.clone(), 0));
    let good = std::fs::read(&cache_file).unwrap();
    let articles = article_count(&dir);

    // Damaged in every way a file can be: garbage, cut short, another format version, empty.
    let mut other_version = good.clone();
    other_version[16] ^= 0xff;
    for damaged in [b"not a cache at all".to_vec(), good[..good.len() / 2].to_vec(), other_version, Vec::new()] {
        std::fs::write(&cache_file, &damaged).unwrap();
        assert_eq!(check(&dir, true), (clean.clone(), 0));
        assert_eq!(reused(&dir), (true, articles), "a damaged cache is written afresh");
    }

    // A cache that cannot be written (a folder where its file goes): checked all the same.
    std::fs::remove_file(&cache_file).unwrap();
    std::fs::create_dir(&cache_file).unwrap();
    assert_eq!(check(&dir, true), (clean.clone(), 0));
    let broken = std::fs::read_to_string(dir.join("rulebook.yaml")).unwrap().replacen("\nteams:\n", "\nteams: [\n", 1);
    std::fs::write(dir.join("rulebook.yaml"), broken).unwrap();
    let (out, code) = check_both_ways(&dir);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn a_missing_rulebook_leaves_no_cache_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    let (out, code) = check(&missing, true);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot read"), "{out}");
    assert!(!missing.exists(), "no folder is made for the cache of a rulebook that is not there");
}
