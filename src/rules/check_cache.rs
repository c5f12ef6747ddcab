//! `rules check`'s cache, for the admin's edit-and-check loop (as `eslint --cache`, ruff's cache
//! and git's index do): per source file, its size and modification time, the SHA-256 of its text
//! and what the check took from it, so that a file unchanged since the last check is neither
//! read nor parsed. A file whose size or modification time differs is read and hashed; when its
//! text is the one cached, the entry is taken all the same (and its new time kept); otherwise
//! it is read exactly as without a cache. The checks against the rulebook and across files (the
//! articles against the rulebook's languages and categories, and against each other) run at
//! every check, so the report is the same with or without it.
//!
//! A file modified in the same tick of the file system's clock as the cache was written could
//! change again with its size and time unchanged: as git does with its index ("racily clean"
//! entries), a file whose modification time is not older than the cache file's own is hashed
//! at every check, until the cache is written again.
//!
//! What is kept: for a rulebook file that passed its own checks, its own findings (located),
//! what the articles are checked against and what the report says of it; for each article read
//! without error, its facts ([`crate::knowledge::facts`]: its own findings, its example
//! questions' words, its links to other articles). Where: `.sportello-cache/` in the rulebook's
//! folder, two files per rulebook file (`check-rulebook.yaml.bin`, its own part, and
//! `check-rulebook.yaml.articles.bin`, its articles'), beside a `.gitignore` of `*` and a
//! `CACHEDIR.TAG`, so git and backup tools leave the folder out. Each is written only when one of
//! its entries changed. A cache that cannot be read, is damaged or was written by another build is
//! ignored and written afresh; one that cannot be written is left as it is: the cache never
//! makes a check fail. `rules check --no-cache` neither reads nor writes it.
//!
//! Layout: 16 bytes of magic, the format version (u32 little-endian), then in postcard (the
//! compiled rulebook's encoding) the build that wrote it and the entries; the articles' strings
//! are read borrowed from the file's bytes.

use super::diagnostic::{Diagnostic, Location};
use crate::knowledge::facts::ArticleFacts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The cache's folder, in the rulebook's folder.
pub const CACHE_DIR: &str = ".sportello-cache";
const MAGIC: &[u8; 16] = b"sportello-check\n";
/// Raise it whenever an entry changes shape. Entries written by another build of Sportello are
/// ignored as well ([`build_identity`]), so this guards against a mistake across builds.
pub const FORMAT_VERSION: u32 = 2;

/// A file's size and modification time (nanoseconds since 1970), as `stat` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub len: u64,
    pub modified: u128,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Option<Stamp> {
        let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(Stamp { len: meta.len(), modified: modified.as_nanos() })
    }

    /// The stamp of the file at `path`, following links as opening it does.
    pub fn at(path: &Path) -> Option<Stamp> {
        std::fs::metadata(path).ok().as_ref().and_then(Stamp::of)
    }
}

/// What is kept of a rulebook file that passed its own checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedRulebook {
    sha256: [u8; 32],
    stamp: Option<Stamp>,
    own: OwnCheck,
    summary: super::summary::Summary,
}

/// A rulebook file's own checks, and what the knowledge articles are checked against.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnCheck {
    /// Its own checks' findings, located, in the order the checks found them.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the knowledge articles' findings point (the rulebook's `knowledge:` line).
    pub knowledge_at: Location,
    pub knowledge_folder: Option<String>,
    pub languages: Vec<String>,
    pub categories: Vec<String>,
}

impl OwnCheck {
    /// Messages name the file as it was given this time (`rules/` or `./rules/rulebook.yaml`).
    fn shown_as(mut self, file: &str) -> Self {
        let locations = self.diagnostics.iter_mut().filter_map(|d| d.location.as_mut());
        for location in locations.chain([&mut self.knowledge_at]) {
            location.file = file.to_string();
        }
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedArticle<'a> {
    /// The file's name within the knowledge folder.
    #[serde(borrow)]
    name: Cow<'a, str>,
    sha256: [u8; 32],
    stamp: Option<Stamp>,
    #[serde(borrow)]
    facts: ArticleFacts<'a>,
}

/// The rulebook's part of the cache: a file of its own, so that an edit of the rulebook
/// rewrites a few kilobytes rather than every article's entry.
#[derive(Serialize, Deserialize)]
struct RulebookPart<'a> {
    /// The build that wrote the entries ([`build_identity`]).
    #[serde(borrow)]
    build: Cow<'a, str>,
    rulebook: Option<CachedRulebook>,
}

/// The articles' part, in name order.
#[derive(Serialize, Deserialize)]
struct ArticlesPart<'a> {
    #[serde(borrow)]
    build: Cow<'a, str>,
    #[serde(borrow)]
    articles: Vec<CachedArticle<'a>>,
}

/// The articles' part to write, borrowed: encoded as [`ArticlesPart`].
#[derive(Serialize)]
struct ArticlesToStore<'s, 'a> {
    build: &'s str,
    articles: Vec<&'s CachedArticle<'a>>,
}

/// One of the cache's files as read: its bytes and its own modification time, as the file
/// system wrote it.
#[derive(Default)]
struct Part {
    bytes: Vec<u8>,
    written: Option<u128>,
}

impl Part {
    fn read(path: &Path) -> Part {
        use std::io::Read;
        let mut part = Part::default();
        if let Ok(mut f) = std::fs::File::open(path) {
            let meta = f.metadata().ok();
            part.written = meta.as_ref().and_then(Stamp::of).map(|s| s.modified);
            part.bytes.reserve(meta.map_or(0, |m| m.len() as usize));
            if f.read_to_end(&mut part.bytes).is_err() {
                part.bytes.clear();
            }
        }
        part
    }
}

/// The cache's files as read before the check (the check's entries borrow their strings): the
/// rulebook's part and the articles'.
pub struct CacheFile {
    /// `None` when the cache is off.
    paths: Option<[PathBuf; 2]>,
    rulebook: Part,
    articles: Part,
}

impl CacheFile {
    /// No cache: every file is parsed, nothing is written.
    pub fn off() -> Self {
        CacheFile { paths: None, rulebook: Part::default(), articles: Part::default() }
    }

    /// The cache of the rulebook at `rulebook` (a file or its folder), as it is on disk: nothing
    /// of a part that is not there or cannot be read.
    pub fn read(rulebook: &Path) -> Self {
        let paths = [location(rulebook), articles_location(rulebook)];
        CacheFile { rulebook: Part::read(&paths[0]), articles: Part::read(&paths[1]), paths: Some(paths) }
    }
}

/// An article of this check, for the cache to keep: the entry read from it (by index), or a
/// new one.
pub enum Kept {
    Cached(usize),
    New { name: String, sha256: [u8; 32], stamp: Option<Stamp>, facts: Box<ArticleFacts<'static>> },
}

/// The cache of one check: the entries read at its start, and those its files give now.
pub struct CheckCache<'a> {
    /// The cache's files (the rulebook's part, the articles'); `None` when the cache is off.
    files: Option<&'a [PathBuf; 2]>,
    /// When each part was written.
    written: [Option<u128>; 2],
    build: String,
    old_rulebook: Option<CachedRulebook>,
    /// In name order.
    old_articles: Vec<CachedArticle<'a>>,
    /// The rulebook's entry for this check: the one read, or a new one.
    rulebook: Option<CachedRulebook>,
    /// This check's articles, in name order, once the knowledge folder was read (a rulebook
    /// with errors stops before it).
    articles: Option<Vec<CachedArticle<'a>>>,
    /// Whether each part's entries differ from what its file holds.
    changed: [bool; 2],
    stats: Stats,
}

const RULEBOOK: usize = 0;
const ARTICLES: usize = 1;

/// What a check took from the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Whether the rulebook's part came from the cache.
    pub rulebook: bool,
    /// How many articles came from the cache.
    pub articles: usize,
    /// How many files were read (and hashed) because their size or time did not match the
    /// cache's, or were not older than it.
    pub files_read: usize,
}

/// The SHA-256 of a source text.
pub fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The running program's identity: its version, and its executable's size and modification
/// time, so that a rebuilt program (whose types may encode differently) does not read the
/// entries of the one before.
fn build_identity() -> String {
    let exe = std::env::current_exe().and_then(std::fs::metadata);
    let stamp = exe.map(|m| {
        let modified = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        format!("{} {}", m.len(), modified.map(|d| d.as_nanos()).unwrap_or_default())
    });
    format!("{} {}", env!("CARGO_PKG_VERSION"), stamp.unwrap_or_default())
}

/// The cache file of a rulebook file or folder (`<folder>/.sportello-cache/check-<file>.bin`):
/// its rulebook's part.
pub fn location(rulebook: &Path) -> PathBuf {
    named(rulebook, "bin")
}

/// The cache file of its articles (`<folder>/.sportello-cache/check-<file>.articles.bin`).
pub fn articles_location(rulebook: &Path) -> PathBuf {
    named(rulebook, "articles.bin")
}

fn named(rulebook: &Path, ending: &str) -> PathBuf {
    let file = if rulebook.is_dir() { rulebook.join(super::load::RULEBOOK_FILE) } else { rulebook.to_path_buf() };
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    file.parent().unwrap_or(Path::new("")).join(CACHE_DIR).join(format!("check-{name}.{ending}"))
}

impl<'a> CheckCache<'a> {
    /// The entries of `file`, when it holds some this build wrote; none otherwise.
    pub fn open(file: &'a CacheFile) -> Self {
        let build = if file.paths.is_some() { build_identity() } else { String::new() };
        let on = file.paths.is_some();
        let rulebook = on.then(|| decode::<RulebookPart>(&file.rulebook.bytes)).flatten().filter(|p| p.build == build);
        let articles = on.then(|| decode::<ArticlesPart>(&file.articles.bytes)).flatten();
        // Looked up by name: a part out of order is not one this code wrote.
        let articles = articles.filter(|p| p.build == build && p.articles.is_sorted_by(|a, b| a.name < b.name));
        Self {
            files: file.paths.as_ref(),
            written: [file.rulebook.written, file.articles.written],
            build,
            old_rulebook: rulebook.and_then(|p| p.rulebook),
            old_articles: articles.map(|p| p.articles).unwrap_or_default(),
            rulebook: None,
            articles: None,
            changed: [false; 2],
            stats: Stats::default(),
        }
    }

    pub fn is_on(&self) -> bool {
        self.files.is_some()
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Whether an entry of `stamp` may be taken without reading its file: the same size and
    /// time, and a time older than the cache file's own (else the file may have changed again
    /// within the same tick).
    fn unchanged(&self, part: usize, cached: Option<Stamp>, now: Option<Stamp>) -> bool {
        match (cached, now, self.written[part]) {
            (Some(cached), Some(now), Some(written)) => cached == now && now.modified < written,
            _ => false,
        }
    }

    /// The rulebook's own checks and report, when the cache holds them for the file as `stamp`
    /// says it is, without reading it (`file` is how messages name it).
    pub fn rulebook_by_stamp(
        &mut self,
        file: &str,
        stamp: Option<Stamp>,
    ) -> Option<(OwnCheck, super::summary::Summary)> {
        self.files?;
        let cached = self.old_rulebook.as_ref()?.stamp;
        self.unchanged(RULEBOOK, cached, stamp).then(|| self.take_rulebook(file, cached))
    }

    /// The same for the file's text, once read: `sha256` is its digest.
    pub fn rulebook_by_text(
        &mut self,
        file: &str,
        sha256: [u8; 32],
        stamp: Option<Stamp>,
    ) -> Option<(OwnCheck, super::summary::Summary)> {
        self.stats.files_read += 1;
        self.old_rulebook.as_ref().filter(|e| e.sha256 == sha256)?;
        // Its new time is kept, so that the next check need not read it.
        self.changed[RULEBOOK] = true;
        Some(self.take_rulebook(file, stamp))
    }

    fn take_rulebook(&mut self, file: &str, stamp: Option<Stamp>) -> (OwnCheck, super::summary::Summary) {
        let entry = CachedRulebook { stamp, ..self.old_rulebook.take().expect("checked by the caller") };
        let taken = (entry.own.clone().shown_as(file), entry.summary.clone());
        self.rulebook = Some(entry);
        self.stats.rulebook = true;
        taken
    }

    /// Keeps what a rulebook text that passed its own checks gave.
    pub fn keep_rulebook(
        &mut self,
        sha256: [u8; 32],
        stamp: Option<Stamp>,
        own: &OwnCheck,
        summary: &super::summary::Summary,
    ) {
        if self.files.is_some() {
            self.rulebook = Some(CachedRulebook { sha256, stamp, own: own.clone(), summary: summary.clone() });
            self.changed[RULEBOOK] = true;
        }
    }

    fn article_index(&self, name: &str) -> Option<usize> {
        self.old_articles.binary_search_by(|a| (*a.name).cmp(name)).ok()
    }

    /// The article entry of the file `name` as `stamp` says it is, without reading it.
    pub fn article_by_stamp(&mut self, name: &str, stamp: Option<Stamp>) -> Option<usize> {
        self.files?;
        let i = self.article_index(name).filter(|i| self.unchanged(ARTICLES, self.old_articles[*i].stamp, stamp))?;
        self.stats.articles += 1;
        Some(i)
    }

    /// The article entry of the file `name` for its text, once read: `sha256` is its digest.
    pub fn article_by_text(&mut self, name: &str, sha256: [u8; 32], stamp: Option<Stamp>) -> Option<usize> {
        self.stats.files_read += 1;
        let i = self.article_index(name).filter(|i| self.old_articles[*i].sha256 == sha256)?;
        // Its new time is kept, so that the next check need not read it.
        self.old_articles[i].stamp = stamp;
        self.changed[ARTICLES] = true;
        self.stats.articles += 1;
        Some(i)
    }

    /// The facts of the article entry `index`.
    pub fn facts(&self, index: usize) -> &ArticleFacts<'a> {
        &self.old_articles[index].facts
    }

    /// Keeps the articles this check read, in name order (after the check used their facts).
    pub fn keep_articles(&mut self, kept: Vec<Kept>) {
        if self.files.is_none() {
            return;
        }
        let mut taken = 0;
        let mut old: Vec<Option<CachedArticle<'a>>> =
            std::mem::take(&mut self.old_articles).into_iter().map(Some).collect();
        let articles = kept
            .into_iter()
            .filter_map(|k| match k {
                Kept::Cached(i) => {
                    taken += 1;
                    old[i].take()
                }
                Kept::New { name, sha256, stamp, facts } => {
                    self.changed[ARTICLES] = true;
                    Some(CachedArticle { name: Cow::Owned(name), sha256, stamp, facts: *facts })
                }
            })
            .collect();
        // An article gone (removed, or no longer read) loses its entry.
        if taken != old.len() {
            self.changed[ARTICLES] = true;
        }
        self.articles = Some(articles);
    }

    /// Writes each part whose entries differ from its file's, replacing it whole (a temporary
    /// file renamed over it, so a concurrent check reads the old or the new one). A failure is
    /// returned for the caller to mention; the check's result stands either way.
    pub fn save(self) -> Result<(), String> {
        let Some([rulebook_file, articles_file]) = self.files else { return Ok(()) };
        // A rulebook text that did not pass keeps the entry of the last one that did (an edit
        // undone finds it again); the articles of a check that stopped before reading them keep
        // theirs.
        if self.changed[RULEBOOK] {
            let rulebook = self.rulebook.as_ref().or(self.old_rulebook.as_ref()).cloned();
            write(rulebook_file, &RulebookPart { build: Cow::Borrowed(&self.build), rulebook })?;
        }
        if self.changed[ARTICLES] {
            let articles = self.articles.as_ref().unwrap_or(&self.old_articles).iter().collect();
            write(articles_file, &ArticlesToStore { build: &self.build, articles })?;
        }
        Ok(())
    }
}

/// Writes one part of the cache, making its folder first if need be.
fn write(file: &Path, part: &impl Serialize) -> Result<(), String> {
    let folder = file.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| format!("cannot write the check cache `{}`: {e}", file.display());
    if !folder.is_dir() {
        // In the rulebook's folder, which was read: never a folder of its own making.
        std::fs::create_dir(folder).map_err(fail)?;
        // Kept out of git and of backups, as ruff and pytest do with theirs.
        std::fs::write(folder.join(".gitignore"), "# Written by `sportello rules check`.\n*\n").map_err(fail)?;
        std::fs::write(
            folder.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55\n\
             # This folder is a cache of `sportello rules check`; see https://bford.info/cachedir/\n",
        )
        .map_err(fail)?;
    }
    let mut bytes = Vec::with_capacity(64 * 1024);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let bytes = postcard::to_extend(part, bytes).map_err(|e| format!("cannot encode the check cache: {e}"))?;
    let temporary = folder.join(format!(".check-{}.tmp", std::process::id()));
    std::fs::write(&temporary, &bytes).map_err(fail)?;
    std::fs::rename(&temporary, file).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        fail(e)
    })
}

/// A part of the cache, or `None` when its file is not one of this format version or does not
/// decode.
fn decode<'b, T: Deserialize<'b>>(bytes: &'b [u8]) -> Option<T> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (version, payload) = rest.split_first_chunk::<4>()?;
    (u32::from_le_bytes(*version) == FORMAT_VERSION).then_some(())?;
    postcard::from_bytes(payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_another_format_or_damaged_is_no_cache() {
        let stored = ArticlesToStore { build: "b", articles: Vec::new() };
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&postcard::to_stdvec(&stored).unwrap());
        assert_eq!(decode::<ArticlesPart>(&bytes).map(|s| s.build.into_owned()), Some("b".to_string()));
        let mut other = bytes.clone();
        other[MAGIC.len()] ^= 1;
        assert!(decode::<ArticlesPart>(&other).is_none(), "another format version");
        assert!(decode::<ArticlesPart>(&bytes[..bytes.len() - 1]).is_none(), "cut short");
        assert!(decode::<ArticlesPart>(b"sportello-check\n").is_none(), "no version");
        assert!(decode::<ArticlesPart>(b"").is_none());
    }
}
