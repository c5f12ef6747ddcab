//! `sportello rules check`: the rulebook's checks, its knowledge articles' and the checks across
//! them, with what the report says of a rulebook that passed; through `rules check`'s cache
//! ([`super::check_cache`]) or, with it off, every file read and parsed.

use super::check_cache::{CheckCache, Kept, Stamp, digest};
use super::diagnostic::Diagnostic;
use super::engine::Rules;
use super::load::{self, Source};
pub use super::summary::Summary;
use crate::knowledge::facts::{self, ArticleFacts};
use crate::knowledge::{self, Article};
use std::path::{Path, PathBuf};

/// A rulebook that passed: what the report says of it.
#[derive(Debug)]
pub struct Report {
    /// The rulebook file as given.
    pub file: String,
    pub summary: Summary,
    /// Knowledge articles, by id.
    pub articles: usize,
    pub warnings: Vec<Diagnostic>,
}

/// Checks the rulebook at `path` (a file or its folder) and its knowledge articles, taking from
/// `cache` what it holds for files unchanged since it was written, and giving it what the files
/// that changed give now. Errors are every problem found, located, as [`Rules::load`] gives
/// them.
pub fn check(path: &Path, cache: &mut CheckCache<'_>) -> Result<Report, Vec<Diagnostic>> {
    let file = Source::file_of(path);
    let shown = file.display().to_string();
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    // The rulebook file's own part: from the cache (by its size and time, else by its text's
    // digest), or parsed and checked, then its model resolved when its own checks found no
    // error.
    let stamp = if cache.is_on() { Stamp::at(&file) } else { None };
    let mut taken = cache.rulebook_by_stamp(&shown, stamp);
    let mut fresh = None;
    if taken.is_none() {
        let text = Source::read_file(&file, &shown).map_err(|d| vec![*d])?;
        let sha256 = cache.is_on().then(|| digest(&text));
        taken = sha256.and_then(|sha256| cache.rulebook_by_text(&shown, sha256, stamp));
        fresh = Some((text, sha256));
    }
    let (own, resolved) = match (taken, fresh) {
        (Some((own, summary)), _) => (own, Ok(Some(summary))),
        (None, Some((text, sha256))) => {
            let source = Source::from_text(shown.clone(), dir.clone(), text);
            let book = load::parse(&source)?;
            let own = Rules::own_check(&book, &source);
            let resolved = if own.diagnostics.iter().any(Diagnostic::is_error) {
                Ok(None)
            } else {
                Rules::resolve_located(&book, &source).map(|(model, _)| Some(Summary::of(&model)))
            };
            if let (Ok(Some(summary)), Some(sha256)) = (&resolved, sha256) {
                cache.keep_rulebook(sha256, stamp, &own, summary);
            }
            (own, resolved)
        }
        (None, None) => unreachable!("the text is read when the cache does not hold it"),
    };
    // The articles, and the checks across files, at every check.
    let mut articles = 0;
    let across = match own.knowledge_folder.as_deref() {
        None => Vec::new(),
        Some(folder) => {
            let path = dir.join(folder);
            match read_articles(&path, cache) {
                Err(e) => {
                    let message = format!("cannot read the knowledge base at `{}`: {e}", path.display());
                    vec![Diagnostic::error("/knowledge", message)]
                }
                Ok(read) => {
                    let categories = own.categories.iter().map(String::as_str).collect();
                    let (findings, ids) = read.check(cache, &own.languages, categories);
                    articles = ids;
                    if cache.is_on() {
                        cache.keep_articles(read.kept());
                    }
                    super::validate::knowledge_diagnostics(findings)
                }
            }
        }
    };
    let mut diagnostics = own.diagnostics;
    diagnostics.extend(across.into_iter().map(|d| Diagnostic { location: Some(own.knowledge_at.clone()), ..d }));
    let warnings = load::ordered(diagnostics);
    if warnings.iter().any(Diagnostic::is_error) {
        return Err(warnings);
    }
    let summary = resolved?.expect("resolved when its own checks found no error");
    Ok(Report { file: shown, summary, articles, warnings })
}

/// An article file of this check: its entry in the cache, or parsed now.
enum Got {
    Cached(usize),
    Fresh { parsed: usize, sha256: Option<[u8; 32]>, stamp: Option<Stamp> },
}

/// The knowledge folder's files as this check found them.
struct Articles {
    /// The files that read as articles, in name order, and where each one's facts are.
    files: Vec<(PathBuf, Got)>,
    parsed: Vec<Article>,
    broken: Vec<(PathBuf, String)>,
}

/// The article files of `folder` (as [`knowledge::load_dir`] reads them), each taken from the
/// cache when it holds it, else read and parsed.
fn read_articles(folder: &Path, cache: &mut CheckCache<'_>) -> std::io::Result<Articles> {
    let mut read = Articles { files: Vec::new(), parsed: Vec::new(), broken: Vec::new() };
    for file in knowledge::article_files(folder)? {
        let name = file.file_name().and_then(|n| n.to_str()).filter(|_| cache.is_on());
        let stamp = name.and_then(|_| Stamp::at(&file));
        if let Some(index) = name.and_then(|name| cache.article_by_stamp(name, stamp)) {
            read.files.push((file, Got::Cached(index)));
            continue;
        }
        let text = match knowledge::read_article(&file) {
            Ok(text) => text,
            Err(e) => {
                read.broken.push((file, e));
                continue;
            }
        };
        let sha256 = name.map(|_| digest(&text));
        if let Some(index) = name.zip(sha256).and_then(|(name, sha256)| cache.article_by_text(name, sha256, stamp)) {
            read.files.push((file, Got::Cached(index)));
            continue;
        }
        match knowledge::parse_article(&file, &text) {
            Ok(article) => {
                read.files.push((file, Got::Fresh { parsed: read.parsed.len(), sha256, stamp }));
                read.parsed.push(article);
            }
            Err(e) => read.broken.push((file, e)),
        }
    }
    Ok(read)
}

impl Articles {
    /// The knowledge checks' findings, and how many article ids there are.
    fn check(
        &self,
        cache: &CheckCache<'_>,
        languages: &[String],
        categories: std::collections::BTreeSet<&str>,
    ) -> (Vec<knowledge::ArticleFinding>, usize) {
        let fresh: Vec<ArticleFacts> = self.parsed.iter().map(ArticleFacts::of).collect();
        let list: Vec<(&Path, &ArticleFacts)> = self
            .files
            .iter()
            .map(|(file, got)| {
                let facts = match got {
                    Got::Cached(index) => cache.facts(*index),
                    Got::Fresh { parsed, .. } => &fresh[*parsed],
                };
                (file.as_path(), facts)
            })
            .collect();
        (facts::check(&self.broken, &list, languages, categories), facts::ids(&list).len())
    }

    /// What the cache keeps of these articles: the entries taken, and the new ones' facts.
    fn kept(self) -> Vec<Kept> {
        let mut parsed: Vec<Option<Article>> = self.parsed.into_iter().map(Some).collect();
        self.files
            .into_iter()
            .filter_map(|(file, got)| match got {
                Got::Cached(index) => Some(Kept::Cached(index)),
                Got::Fresh { parsed: at, sha256, stamp } => {
                    let article = parsed[at].take()?;
                    let name = file.file_name()?.to_str()?.to_string();
                    Some(Kept::New {
                        name,
                        sha256: sha256?,
                        stamp,
                        facts: Box::new(ArticleFacts::of(&article).into_owned()),
                    })
                }
            })
            .collect()
    }
}
