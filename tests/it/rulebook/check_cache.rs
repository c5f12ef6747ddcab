//! `rules check`'s cache (`.sportello-cache/` beside the rulebook): an unchanged file is not
//! parsed again, an edited one is, and the report is the same with the cache, without it, and
//! with a cache that is damaged or cannot be written.

use super::copy_of_default_rules;
use sportello::cli::rules::{RulesAction, run};
use sportello::rules::check;
use sportello::rules::check_cache::{self, CacheFile, CheckCache, Stats};
use std::path::Path;
use std::time::{Duration, SystemTime};

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

/// What a check took from the cache (whether the rulebook's part, how many articles) and how
/// many files it read.
fn stats(dir: &Path) -> Stats {
    let file = CacheFile::read(dir);
    let mut cache = CheckCache::open(&file);
    let _ = check::check(dir, &mut cache);
    let stats = cache.stats();
    cache.save().expect("the cache is written");
    stats
}

/// What a check took from the cache: whether the rulebook's part, and how many articles.
fn reused(dir: &Path) -> (bool, usize) {
    let stats = stats(dir);
    (stats.rulebook, stats.articles)
}

/// Sets a file's modification time.
fn set_modified(file: &Path, at: SystemTime) {
    std::fs::File::options().write(true).open(file).unwrap().set_modified(at).unwrap();
}

/// Every file of the rules (the cache's apart) last modified an hour ago, as files are in an
/// admin's loop, long before the check that caches them.
fn age_every_file(dir: &Path) {
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    set_modified(&dir.join("rulebook.yaml"), hour_ago);
    for article in sportello::knowledge::article_files(&dir.join("knowledge")).unwrap() {
        set_modified(&article, hour_ago);
    }
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
    let articles = article_count(&dir);

    // Either part (the rulebook's, the articles') damaged in every way a file can be: garbage,
    // cut short, another format version, empty.
    for part in [cache_file.clone(), check_cache::articles_location(&dir)] {
        let good = std::fs::read(&part).unwrap();
        let mut other_version = good.clone();
        other_version[16] ^= 0xff;
        for damaged in [b"not a cache at all".to_vec(), good[..good.len() / 2].to_vec(), other_version, Vec::new()] {
            std::fs::write(&part, &damaged).unwrap();
            assert_eq!(check(&dir, true), (clean.clone(), 0));
            assert_eq!(reused(&dir), (true, articles), "a damaged cache is written afresh");
        }
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

#[test]
fn a_file_of_the_same_size_and_time_is_not_read_and_one_touched_is_hashed() {
    let (_tmp, dir) = copy_of_default_rules();
    let articles = article_count(&dir);
    age_every_file(&dir);
    let (clean, code) = check(&dir, true);
    assert_eq!(code, 0, "{clean}");
    let warm = stats(&dir);
    assert_eq!(warm, Stats { rulebook: true, articles, files_read: 0 }, "nothing is read when nothing changed");

    // Touched, the same text: read and hashed once, taken from the cache, its new time kept.
    let article = dir.join("knowledge/pay-pagopa-notice.it.md");
    set_modified(&article, SystemTime::now() - Duration::from_secs(1800));
    set_modified(&dir.join("rulebook.yaml"), SystemTime::now() - Duration::from_secs(1800));
    assert_eq!(stats(&dir), Stats { rulebook: true, articles, files_read: 2 });
    assert_eq!(stats(&dir), Stats { rulebook: true, articles, files_read: 0 }, "the new times were kept");

    // Edited (another size): read, parsed, and reported as without the cache.
    let text = std::fs::read_to_string(&article).unwrap();
    std::fs::write(&article, text.replacen("categories: [basic_info]", "categories: [basic_inf]", 1)).unwrap();
    set_modified(&article, SystemTime::now() - Duration::from_secs(900));
    let (out, code) = check_both_ways(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("names unknown category `basic_inf`"), "{out}");
    let kept = Stats { rulebook: true, articles, files_read: 0 };
    assert_eq!(stats(&dir), kept, "an article with a finding against the rulebook is kept");
    assert_eq!(check(&dir, true), (out, 1), "its finding shows from the cache");
}

/// Git's "racily clean" rule: a file modified in the same tick as the cache was written could be
/// edited again with its size and time unchanged, so a file not older than the cache is hashed.
#[test]
fn a_file_not_older_than_the_cache_is_hashed_even_with_its_size_and_time_unchanged() {
    let (_tmp, dir) = copy_of_default_rules();
    let articles = article_count(&dir);
    age_every_file(&dir);
    // One article modified "in the same tick" as the cache is written: its time not older than
    // the cache file's (a time ahead of the clock stands for the same tick).
    let article = dir.join("knowledge/pay-pagopa-notice.it.md");
    let tick = SystemTime::now() + Duration::from_secs(60);
    set_modified(&article, tick);
    let (clean, code) = check(&dir, true);
    assert_eq!(code, 0, "{clean}");
    let cache_written = std::fs::metadata(check_cache::articles_location(&dir)).unwrap().modified().unwrap();
    assert!(cache_written <= tick);

    // Edited again within that tick: the same size, the same time, another text.
    let text = std::fs::read_to_string(&article).unwrap();
    let edited = text.replacen("lang: it", "lang: xx", 1);
    assert_eq!((edited.len(), edited != text), (text.len(), true));
    std::fs::write(&article, &edited).unwrap();
    set_modified(&article, tick);
    let (out, code) = check_both_ways(&dir);
    assert_eq!(code, 1, "the edit is seen:\n{out}");
    assert!(out.contains("is in `xx`, not one of the rulebook's languages"), "{out}");

    // Undone within the same tick: seen too; then hashed at every check while it is not older
    // than the cache, and found to be the cached text.
    std::fs::write(&article, &text).unwrap();
    set_modified(&article, tick);
    assert_eq!(check_both_ways(&dir), (clean, 0));
    assert_eq!(stats(&dir), Stats { rulebook: true, articles, files_read: 1 });
    assert_eq!(stats(&dir), Stats { rulebook: true, articles, files_read: 1 });

    // Older than the cache, its size and time are trusted, as git trusts its index's: read once
    // for its new time, then not at all, even after an edit that keeps both (which only a
    // tool resetting the time makes).
    let past = SystemTime::now() - Duration::from_secs(600);
    set_modified(&article, past);
    assert_eq!(stats(&dir), Stats { rulebook: true, articles, files_read: 1 }, "its new time is kept");
    std::fs::write(&article, &edited).unwrap();
    set_modified(&article, past);
    assert_eq!(stats(&dir), Stats { rulebook: true, articles, files_read: 0 });
}

/// The findings of an article alone (kept in the cache with it), those against the rulebook
/// (run again at each check) and those across articles all show with the cache warm.
#[test]
fn findings_show_with_the_cache_warm() {
    let (_tmp, dir) = copy_of_default_rules();
    let articles = article_count(&dir);
    let article = dir.join("knowledge/pay-pagopa-notice.it.md");
    let text = std::fs::read_to_string(&article).unwrap();
    // Its own: a link over plain http, an example listed twice. Across: an example another
    // article lists.
    let other = std::fs::read_to_string(dir.join("knowledge/pay-pagopa-notice.en.md")).unwrap();
    assert!(other.contains("lang: en"), "{other}");
    let edited = text.replacen("examples:\n", "examples:\n  - addo' se paga st'avviso\n  - vorrei la ricevuta\n", 1)
        + "\nVedi [il sito](http://www.pagopa.gov.it).\n";
    std::fs::write(&article, edited).unwrap();
    let receipt = dir.join("knowledge").join(
        sportello::knowledge::article_files(&dir.join("knowledge"))
            .unwrap()
            .iter()
            .find(|f| f.to_string_lossy().ends_with(".it.md") && *f != &article)
            .unwrap()
            .file_name()
            .unwrap(),
    );
    let receipt_text = std::fs::read_to_string(&receipt).unwrap();
    std::fs::write(&receipt, receipt_text.replacen("examples:\n", "examples:\n  - vorrei la ricevuta\n", 1)).unwrap();
    age_every_file(&dir);
    let (cold, code) = check(&dir, false);
    assert_eq!(code, 1, "{cold}");
    for finding in [
        "over plain http",
        "lists the example \"addo' se paga st'avviso\" twice",
        "both list the example \"vorrei la ricevuta\"",
    ] {
        assert!(cold.contains(finding), "{finding}:\n{cold}");
    }
    assert_eq!(check(&dir, true), (cold.clone(), 1), "the cache filled");
    assert_eq!(stats(&dir), Stats { rulebook: true, articles, files_read: 0 });
    assert_eq!(check(&dir, true), (cold.clone(), 1), "every finding from the warm cache");

    // The rulebook edited so that the article's category is unknown: the articles are taken
    // from the cache, the check against the rulebook runs again.
    let rulebook = dir.join("rulebook.yaml");
    let yaml = std::fs::read_to_string(&rulebook).unwrap();
    std::fs::write(&rulebook, yaml.replace("basic_info", "basic_information")).unwrap();
    let (out, code) = check_both_ways(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("names unknown category `basic_info`"), "{out}");
    assert!(out.contains("over plain http"), "{out}");
    let stats = stats(&dir);
    assert_eq!((stats.rulebook, stats.articles), (true, articles), "the edited rulebook kept: {stats:?}");
}
