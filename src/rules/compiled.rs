//! The compiled rulebook: the checked, resolved rulebook and its knowledge base in one binary
//! file beside the YAML (`rulebook.yaml` → `rulebook.compiled`), which the Lambda functions load
//! at a cold start with no YAML parsing and no checks.
//!
//! Only `sportello rules compile` writes one, after the full check of `rules check` passed, so
//! a compiled file always holds a rulebook that passed it. It carries the SHA-256 of the YAML it
//! was compiled from and the SHA-256 of the knowledge articles (every file by name and content):
//! a reader recomputes them and refuses a part whose sources have changed since ("stale"), and a
//! file written by another format version. [`Rules::load_compiled_or_yaml`] then falls back to
//! the YAML, with a warning in the log that says why and what to run.
//!
//! The rulebook part is what every function needs and is read at load. The knowledge part (the
//! articles and their search index, most of the file) is read from the file, checked against the
//! article files and decoded at its first use ([`LazyKnowledgeBase`]), which only the chat and
//! the operators' functions make. A stale knowledge part is refused then, and the articles are
//! read from their folder instead (the index built from them), with the same kind of warning.
//!
//! Layout: 16 bytes of magic, the format version (u32), the YAML's SHA-256 (32 bytes), the
//! articles' SHA-256 (32 bytes), the rulebook part's and the knowledge part's lengths (u64
//! each), then the two parts in postcard (serde's compact binary form); integers little-endian.

use super::diagnostic::Diagnostic;
use super::engine::Rules;
use super::load::RULEBOOK_FILE;
use super::resolved::Model;
use crate::knowledge::search::KnowledgeIndex;
use crate::knowledge::{self, KnowledgeBase, LazyKnowledgeBase};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What a compiled file starts with.
const MAGIC: &[u8; 16] = b"sportello-rules\n";
/// The layout of the file and its parts. Raise it whenever the resolved model, the articles or
/// the diagnostics change shape: a file of another version is refused, never half read.
pub const FORMAT_VERSION: u32 = 2;
/// The extension of the compiled file, beside the YAML it comes from.
pub const EXTENSION: &str = "compiled";
/// Where the parts start.
pub const HEADER_LEN: usize = MAGIC.len() + 4 + 32 + 32 + 8 + 8;

/// Why a compiled rulebook (or its knowledge part) was not used.
#[derive(Debug, thiserror::Error)]
pub enum CompiledError {
    #[error("there is no compiled rulebook at `{0}`")]
    Missing(PathBuf),
    #[error("cannot read the compiled rulebook `{path}`: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("`{0}` is not a compiled rulebook (it does not start as one)")]
    NotCompiled(PathBuf),
    #[error("`{path}` was compiled in format version {found}; this build reads version {FORMAT_VERSION}")]
    OtherVersion { path: PathBuf, found: u32 },
    #[error("`{path}` is stale: {what} changed since it was compiled")]
    Stale { path: PathBuf, what: String },
    #[error("`{path}` is damaged: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

/// The part every function reads at load. Paths are relative to the rulebook's folder, so the
/// file can move with it (the functions find the rules layer at `/opt`).
#[derive(Serialize, Deserialize)]
struct RulebookPart {
    /// The YAML's file name, within its folder.
    yaml: String,
    /// The knowledge folder, relative to the rulebook's folder.
    knowledge_folder: Option<PathBuf>,
    model: Model,
    warnings: Vec<Diagnostic>,
}

/// The part read at the knowledge base's first use.
#[derive(Serialize, Deserialize)]
struct KnowledgePart {
    /// Article files by name, within the knowledge folder.
    base: KnowledgeBase,
    /// [`KnowledgeIndex::fingerprint`] of the code that built `index`.
    index_fingerprint: [u8; 32],
    index: KnowledgeIndex,
}

/// The YAML a path names (a file, or a folder holding `rulebook.yaml`), and its compiled file.
pub fn paths(path: &Path) -> (PathBuf, PathBuf) {
    let yaml = if path.is_dir() { path.join(RULEBOOK_FILE) } else { path.to_path_buf() };
    let compiled = yaml.with_extension(EXTENSION);
    (yaml, compiled)
}

/// Adds one source file to a hash by name, length and content, so that a renamed, added or
/// removed file changes it as an edit does.
fn hash_file(hash: &mut Sha256, name: &str, bytes: &[u8]) {
    hash.update((name.len() as u64).to_le_bytes());
    hash.update(name.as_bytes());
    hash.update((bytes.len() as u64).to_le_bytes());
    hash.update(bytes);
}

/// SHA-256 of the YAML.
fn yaml_hash(yaml: &Path) -> std::io::Result<[u8; 32]> {
    let mut hash = Sha256::new();
    hash_file(&mut hash, RULEBOOK_FILE, &std::fs::read(yaml)?);
    Ok(hash.finalize().into())
}

/// SHA-256 of every article file of the knowledge folder, in name order; of nothing without one.
fn articles_hash(knowledge_folder: Option<&Path>) -> std::io::Result<[u8; 32]> {
    let mut hash = Sha256::new();
    if let Some(folder) = knowledge_folder {
        for file in knowledge::article_files(folder)? {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            hash_file(&mut hash, &name, &std::fs::read(&file)?);
        }
    }
    Ok(hash.finalize().into())
}

/// The rulebook's folder: where the YAML is.
fn folder_of(yaml: &Path) -> &Path {
    yaml.parent().unwrap_or(Path::new(""))
}

/// Checks the rulebook at `path` as `rules check` does and, when it has no errors, writes its
/// compiled form beside the YAML. Returns the checked rulebook and where it was written.
pub fn compile(path: &Path) -> Result<(Rules, PathBuf), Vec<Diagnostic>> {
    let rules = Rules::load(path)?;
    let (yaml, out) = paths(path);
    let fail = |m: String| vec![Diagnostic::error("", m)];
    let folder = folder_of(&yaml);
    let knowledge_folder = rules.knowledge.folder.clone();
    let hashes = yaml_hash(&yaml).and_then(|y| Ok((y, articles_hash(knowledge_folder.as_deref())?)));
    let (yaml_sha, articles_sha) =
        hashes.map_err(|e| fail(format!("cannot read the rulebook's files to hash them: {e}")))?;
    let relative = |p: &Path| p.strip_prefix(folder).map(Path::to_path_buf).unwrap_or_else(|_| p.to_path_buf());
    let mut base = KnowledgeBase::clone(&rules.knowledge);
    base.folder = None;
    for article in &mut base.articles {
        article.file = article.file.file_name().map(PathBuf::from).unwrap_or_default();
    }
    let knowledge =
        KnowledgePart { index: KnowledgeIndex::build(&base), index_fingerprint: KnowledgeIndex::fingerprint(), base };
    let part = RulebookPart {
        yaml: yaml.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        knowledge_folder: knowledge_folder.as_deref().map(relative),
        model: rules.model.clone(),
        warnings: rules.warnings.clone(),
    };
    let encode_error = |e: postcard::Error| fail(format!("cannot encode the rulebook: {e}"));
    let rulebook_part = postcard::to_stdvec(&part).map_err(encode_error)?;
    let knowledge_part = postcard::to_stdvec(&knowledge).map_err(encode_error)?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + rulebook_part.len() + knowledge_part.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&yaml_sha);
    bytes.extend_from_slice(&articles_sha);
    bytes.extend_from_slice(&(rulebook_part.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&(knowledge_part.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&rulebook_part);
    bytes.extend_from_slice(&knowledge_part);
    // Written aside and renamed, so a reader never sees half a file.
    let partial = out.with_extension(format!("{EXTENSION}.partial"));
    std::fs::write(&partial, &bytes)
        .and_then(|()| std::fs::rename(&partial, &out))
        .map_err(|e| fail(format!("cannot write `{}`: {e}", out.display())))?;
    Ok((rules, out))
}

/// A compiled file's header, checked: where its parts are and what they were compiled from.
#[derive(Clone, PartialEq)]
struct Header {
    yaml_sha: [u8; 32],
    articles_sha: [u8; 32],
    rulebook_len: u64,
    knowledge_len: u64,
}

/// A compiled file, opened and its header read. Reads only the part asked for: a cold start
/// reads the header and the rulebook part, not the articles.
struct File {
    path: PathBuf,
    file: std::fs::File,
    header: Header,
}

impl File {
    fn open(compiled: PathBuf) -> Result<File, CompiledError> {
        let unreadable = |path: PathBuf, e: std::io::Error| CompiledError::Unreadable { path, reason: e.to_string() };
        let mut file = match std::fs::File::open(&compiled) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CompiledError::Missing(compiled)),
            Err(e) => return Err(unreadable(compiled, e)),
        };
        let size = match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => return Err(unreadable(compiled, e)),
        };
        let mut bytes = [0u8; HEADER_LEN];
        let start = (size as usize).min(HEADER_LEN);
        if let Err(e) = file.read_exact(&mut bytes[..start]) {
            return Err(unreadable(compiled, e));
        }
        if start < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(CompiledError::NotCompiled(compiled));
        }
        let corrupt = |reason: String| CompiledError::Corrupt { path: compiled.clone(), reason };
        if start < HEADER_LEN {
            return Err(corrupt(format!("{size} bytes, shorter than its header")));
        }
        let field = |at: usize, len: usize| &bytes[at..at + len];
        let version = u32::from_le_bytes(field(16, 4).try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(CompiledError::OtherVersion { path: compiled, found: version });
        }
        let header = Header {
            yaml_sha: field(20, 32).try_into().expect("32 bytes"),
            articles_sha: field(52, 32).try_into().expect("32 bytes"),
            rulebook_len: u64::from_le_bytes(field(84, 8).try_into().expect("8 bytes")),
            knowledge_len: u64::from_le_bytes(field(92, 8).try_into().expect("8 bytes")),
        };
        let body = size - HEADER_LEN as u64;
        if header.rulebook_len.checked_add(header.knowledge_len) != Some(body) {
            return Err(corrupt(format!(
                "its parts are {body} bytes, its header says {} + {}",
                header.rulebook_len, header.knowledge_len
            )));
        }
        Ok(File { path: compiled, file, header })
    }

    fn corrupt(&self, reason: String) -> CompiledError {
        CompiledError::Corrupt { path: self.path.clone(), reason }
    }

    fn stale(&self, what: String) -> CompiledError {
        CompiledError::Stale { path: self.path.clone(), what }
    }

    /// The bytes of the part at `at` (from the file's start), `len` long.
    fn part(&mut self, at: u64, len: u64) -> Result<Vec<u8>, CompiledError> {
        let mut bytes = vec![0u8; len as usize];
        self.file
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.file.read_exact(&mut bytes))
            .map_err(|e| CompiledError::Unreadable { path: self.path.clone(), reason: e.to_string() })?;
        Ok(bytes)
    }

    /// Refuses the file when the YAML has changed since it was compiled.
    fn check_yaml(&self, yaml: &Path) -> Result<(), CompiledError> {
        let hash = yaml_hash(yaml).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => self.stale(format!("`{}` (gone now: {e})", yaml.display())),
            _ => CompiledError::Unreadable { path: yaml.to_path_buf(), reason: e.to_string() },
        })?;
        if hash != self.header.yaml_sha {
            return Err(self.stale(format!("`{}`", yaml.display())));
        }
        Ok(())
    }

    fn rulebook(&mut self) -> Result<RulebookPart, CompiledError> {
        let bytes = self.part(HEADER_LEN as u64, self.header.rulebook_len)?;
        postcard::from_bytes(&bytes).map_err(|e| self.corrupt(format!("cannot decode it: {e}")))
    }

    /// The knowledge part, when the file is still the one opened and the article files are still
    /// what it was compiled from. Paths come back under `knowledge_folder`; the index only when
    /// the running code builds it the same way.
    fn knowledge(mut self, knowledge_folder: Option<&Path>) -> Result<knowledge::Read, CompiledError> {
        // The file may have been compiled again since it was opened: read the one at the path.
        let again = File::open(self.path.clone())?;
        if again.header != self.header {
            return Err(self.stale("the compiled file (written again since the rulebook was loaded)".into()));
        }
        let hash = articles_hash(knowledge_folder).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => self.stale(format!("the articles (one is gone now: {e})")),
            _ => CompiledError::Unreadable { path: self.path.clone(), reason: e.to_string() },
        })?;
        if hash != self.header.articles_sha {
            let folder = knowledge_folder.map(|k| k.display().to_string()).unwrap_or_default();
            return Err(self.stale(format!("the articles in `{folder}`")));
        }
        let at = HEADER_LEN as u64 + self.header.rulebook_len;
        let bytes = self.part(at, self.header.knowledge_len)?;
        let KnowledgePart { mut base, index_fingerprint, index } = postcard::from_bytes(&bytes)
            .map_err(|e| self.corrupt(format!("cannot decode its knowledge articles: {e}")))?;
        if let Some(k) = knowledge_folder {
            for article in &mut base.articles {
                article.file = k.join(&article.file);
            }
        }
        base.folder = knowledge_folder.map(Path::to_path_buf);
        let index = if index_fingerprint == KnowledgeIndex::fingerprint() {
            Some(index.restored())
        } else {
            tracing::info!("the compiled search index was built by other code: building it again");
            None
        };
        Ok((base, index))
    }
}

/// Loads the compiled form of the rulebook at `path` (a YAML file or its folder), after
/// checking that it is a compiled rulebook of this format, intact, and not stale. Its knowledge
/// base is checked and read at its first use (see the module's documentation).
pub fn load(path: &Path) -> Result<Rules, CompiledError> {
    let (yaml, compiled) = paths(path);
    let mut file = File::open(compiled)?;
    file.check_yaml(&yaml)?;
    let RulebookPart { yaml: yaml_name, knowledge_folder, model, warnings } = file.rulebook()?;
    let folder = folder_of(&yaml);
    let knowledge_folder = knowledge_folder.map(|k| folder.join(k));
    // What the articles are checked against when they have to be read from their folder.
    let languages = model.languages.clone();
    let categories: Vec<String> = model.categories.keys().map(|k| k.to_string()).collect();
    let knowledge = LazyKnowledgeBase::deferred(move || match file.knowledge(knowledge_folder.as_deref()) {
        Ok(read) => read,
        Err(why) => (articles_from_folder(why, knowledge_folder.as_deref(), &languages, &categories), None),
    });
    let file = folder.join(yaml_name).display().to_string();
    Rules::from_checked_parts(model, knowledge, warnings, file)
        .map_err(|reason| CompiledError::Corrupt { path: paths(path).1, reason })
}

/// The compiled knowledge articles of the rulebook at `path`, refused as [`load`] refuses them
/// at their first use. `rules check` and the tests ask; a function never needs to.
pub fn load_knowledge(path: &Path) -> Result<knowledge::Read, CompiledError> {
    let (yaml, compiled) = paths(path);
    let mut file = File::open(compiled)?;
    let part = file.rulebook()?;
    let knowledge_folder = part.knowledge_folder.map(|k| folder_of(&yaml).join(k));
    file.knowledge(knowledge_folder.as_deref())
}

/// The articles read from their folder when the compiled ones cannot be used, with a warning
/// that says why, and the problems the check finds in them (the full check is `rules check`).
fn articles_from_folder(
    why: CompiledError,
    folder: Option<&Path>,
    languages: &[String],
    categories: &[String],
) -> KnowledgeBase {
    tracing::warn!(
        reason = %why,
        "reading the knowledge articles from their folder, which takes longer: \
         `sportello rules compile` writes them into the compiled rulebook"
    );
    let Some(folder) = folder else {
        return KnowledgeBase::default();
    };
    match knowledge::load_dir(folder) {
        Ok(kb) => {
            let problems = kb.check(languages, categories.iter().map(String::as_str).collect());
            let errors: Vec<&str> = problems.iter().filter(|p| p.is_error).map(|p| p.message.as_str()).collect();
            if let Some(first) = errors.first() {
                tracing::warn!(
                    errors = errors.len(),
                    first = %first,
                    "the knowledge articles have errors: run `sportello rules check`"
                );
            }
            kb
        }
        Err(e) => {
            tracing::warn!(folder = %folder.display(), error = %e, "cannot read the knowledge articles: the bot has none");
            KnowledgeBase::default()
        }
    }
}

impl Rules {
    /// The rulebook as a function loads it: the compiled form when it is there and current,
    /// else the YAML (parsed and checked), with a warning saying why and what to run.
    pub fn load_compiled_or_yaml(path: &Path) -> Result<Rules, Vec<Diagnostic>> {
        match load(path) {
            Ok(rules) => Ok(rules),
            Err(why) => {
                tracing::warn!(
                    reason = %why,
                    "loading the rulebook from its YAML, which takes longer: `sportello rules compile` \
                     writes the compiled form"
                );
                Rules::load(path)
            }
        }
    }
}
