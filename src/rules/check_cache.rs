//! `rules check`'s cache, for the admin's edit-and-check loop (as `eslint --cache` and ruff's
//! cache do): per source file, the SHA-256 of its text and what was read from it, so that a file
//! unchanged since the last check is not parsed again. A file that changed is read exactly as
//! without a cache, and the checks across files (the articles against the rulebook's languages
//! and categories, and against each other) run at every check, so the report is the same with
//! or without it.
//!
//! What is kept: for a rulebook file that passed its own checks, its resolved model, its own
//! warnings (located) and what the articles are checked against; for each article read without
//! error, the article. Where: `.sportello-cache/` in the rulebook's folder, one file per rulebook
//! file (`check-rulebook.yaml.bin`), beside a `.gitignore` of `*` and a `CACHEDIR.TAG`, so git
//! and backup tools leave the folder out. A cache that cannot be read, is damaged or was written
//! by another build is ignored and written afresh; one that cannot be written is left as it is:
//! the cache never makes a check fail. `rules check --no-cache` neither reads nor writes it.
//!
//! Layout: 16 bytes of magic, the format version (u32 little-endian), then in postcard (the
//! compiled rulebook's encoding) the build that wrote it and the entries.

use super::diagnostic::{Diagnostic, Location};
use super::resolved::Model;
use crate::knowledge::Article;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The cache's folder, in the rulebook's folder.
pub const CACHE_DIR: &str = ".sportello-cache";
const MAGIC: &[u8; 16] = b"sportello-check\n";
/// Raise it whenever an entry changes shape. Entries written by another build of Sportello are
/// ignored as well ([`build_identity`]), so this guards against a mistake across builds.
pub const FORMAT_VERSION: u32 = 1;

/// What is kept of a rulebook file that passed its own checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedRulebook {
    pub sha256: [u8; 32],
    pub model: Model,
    pub own: OwnCheck,
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
struct CachedArticle {
    sha256: [u8; 32],
    article: Article,
    /// [`crate::knowledge::example_keys`]: most of the work of the articles' checks.
    example_keys: Vec<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct Stored {
    /// The build that wrote the entries ([`build_identity`]).
    build: String,
    rulebook: Option<CachedRulebook>,
    /// By file name within the knowledge folder.
    articles: BTreeMap<String, CachedArticle>,
}

/// The cache of one check: the entries read at its start, and those its files give now.
pub struct CheckCache {
    /// The cache file; `None` when the cache is off.
    file: Option<PathBuf>,
    old: Stored,
    new: Stored,
    /// Whether `new` differs from what the file holds.
    changed: bool,
    /// Whether the knowledge folder was read (a rulebook with errors stops before it).
    articles_read: bool,
    /// Each article file this check read, by name: its text's SHA-256 and its example keys.
    read: BTreeMap<String, ([u8; 32], Vec<String>)>,
    /// Whether the rulebook's part came from the cache, and how many articles.
    reused: (bool, usize),
}

/// The SHA-256 of a source text.
fn digest(text: &str) -> [u8; 32] {
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

/// The cache file of a rulebook file or folder (`<folder>/.sportello-cache/check-<file>.bin`).
pub fn location(rulebook: &Path) -> PathBuf {
    let file = if rulebook.is_dir() { rulebook.join(super::load::RULEBOOK_FILE) } else { rulebook.to_path_buf() };
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    file.parent().unwrap_or(Path::new("")).join(CACHE_DIR).join(format!("check-{name}.bin"))
}

impl CheckCache {
    /// No cache: every file is parsed, nothing is written.
    pub fn off() -> Self {
        Self {
            file: None,
            old: Stored::default(),
            new: Stored::default(),
            changed: false,
            articles_read: false,
            read: BTreeMap::new(),
            reused: (false, 0),
        }
    }

    /// The cache of the rulebook at `rulebook` (a file or its folder), read if it is there and
    /// readable by this build; empty otherwise.
    pub fn open(rulebook: &Path) -> Self {
        let file = location(rulebook);
        let build = build_identity();
        let old = std::fs::read(&file).ok().and_then(|bytes| decode(&bytes)).filter(|s| s.build == build);
        let new = Stored { build, ..Stored::default() };
        Self {
            file: Some(file),
            old: old.unwrap_or_default(),
            new,
            changed: false,
            articles_read: false,
            read: BTreeMap::new(),
            reused: (false, 0),
        }
    }

    pub fn is_on(&self) -> bool {
        self.file.is_some()
    }

    /// What this check took from the cache so far: whether the rulebook's part, and how many
    /// articles.
    pub fn reused(&self) -> (bool, usize) {
        self.reused
    }

    /// The rulebook's resolved model and own checks, when the cache holds them for this very
    /// text (`file` is how messages name it).
    pub fn rulebook(&mut self, file: &str, text: &str) -> Option<(Model, OwnCheck)> {
        self.file.as_ref()?;
        let sha256 = digest(text);
        let entry = self.old.rulebook.take_if(|e| e.sha256 == sha256)?;
        self.new.rulebook = Some(entry.clone());
        self.reused.0 = true;
        Some((entry.model, entry.own.shown_as(file)))
    }

    /// Keeps what a rulebook text that passed its own checks gave.
    pub fn keep_rulebook(&mut self, text: &str, model: &Model, own: &OwnCheck) {
        if self.file.is_some() {
            self.new.rulebook = Some(CachedRulebook { sha256: digest(text), model: model.clone(), own: own.clone() });
            self.changed = true;
        }
    }

    /// The article of an article file's text: the cached one when the text is unchanged, else
    /// `parse`'s (kept for the next check when it reads without error).
    pub fn article(
        &mut self,
        file: &Path,
        text: &str,
        parse: impl FnOnce(&Path, &str) -> Result<Article, String>,
    ) -> Result<Article, String> {
        if self.file.is_none() {
            return parse(file, text);
        }
        self.articles_read = true;
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let sha256 = digest(text);
        if let Some(cached) = self.old.articles.remove(&name).filter(|e| e.sha256 == sha256) {
            self.reused.1 += 1;
            self.read.insert(name, (sha256, cached.example_keys));
            return Ok(Article { file: file.to_path_buf(), ..cached.article });
        }
        let article = parse(file, text)?;
        self.read.insert(name, (sha256, crate::knowledge::example_keys(&article)));
        self.changed = true;
        Ok(article)
    }

    /// An article's [`crate::knowledge::example_keys`], kept with it when the cache is on.
    pub fn example_keys(&self, article: &Article) -> Vec<String> {
        let name = article.file.file_name().map(|n| n.to_string_lossy());
        match name.and_then(|n| self.read.get(n.as_ref())) {
            Some((_, keys)) => keys.clone(),
            None => crate::knowledge::example_keys(article),
        }
    }

    /// Keeps the articles this check read, when the cache is to be written (a file changed, or
    /// one is gone): an unchanged cache copies nothing. Called after the rulebook's part is
    /// taken or kept.
    pub fn keep_articles(&mut self, knowledge: &crate::knowledge::KnowledgeBase) {
        if !self.must_write() {
            return;
        }
        for article in &knowledge.articles {
            let name = article.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if let Some((sha256, keys)) = self.read.get(&name) {
                let entry = CachedArticle { sha256: *sha256, article: article.clone(), example_keys: keys.clone() };
                self.new.articles.insert(name, entry);
            }
        }
    }

    /// Whether the file must be written: an entry is new, or one is gone.
    fn must_write(&self) -> bool {
        self.file.is_some() && (self.changed || !self.old.articles.is_empty())
    }

    /// Writes the entries of this check when they differ from the file's, replacing it whole
    /// (a temporary file renamed over it, so a concurrent check reads the old or the new one).
    /// A failure is returned for the caller to mention; the check's result stands either way.
    pub fn save(mut self) -> Result<(), String> {
        let Some(file) = self.file.take() else { return Ok(()) };
        // A rulebook text that did not pass keeps the entry of the last one that did (an edit
        // undone finds it again); the articles of a check that stopped before reading them keep
        // theirs; an article no longer there loses its entry.
        if self.new.rulebook.is_none() {
            self.new.rulebook = self.old.rulebook.take();
        }
        if !self.articles_read {
            self.new.articles.append(&mut self.old.articles);
        }
        if !self.changed && self.old.articles.is_empty() {
            return Ok(());
        }
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
        let payload = postcard::to_stdvec(&self.new).map_err(|e| format!("cannot encode the check cache: {e}"))?;
        let mut bytes = Vec::with_capacity(MAGIC.len() + 4 + payload.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&payload);
        let temporary = folder.join(format!(".check-{}.tmp", std::process::id()));
        std::fs::write(&temporary, &bytes).map_err(fail)?;
        std::fs::rename(&temporary, &file).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            fail(e)
        })
    }
}

/// The entries of a cache file, or `None` when it is not one of this format version or does
/// not decode.
fn decode(bytes: &[u8]) -> Option<Stored> {
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
        let stored = Stored { build: "b".into(), ..Stored::default() };
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&postcard::to_stdvec(&stored).unwrap());
        assert_eq!(decode(&bytes).map(|s| s.build), Some("b".to_string()));
        let mut other = bytes.clone();
        other[MAGIC.len()] ^= 1;
        assert!(decode(&other).is_none(), "another format version");
        assert!(decode(&bytes[..bytes.len() - 1]).is_none(), "cut short");
        assert!(decode(b"sportello-check\n").is_none(), "no version");
        assert!(decode(b"").is_none());
    }
}
