//! The compiled rulebook: the checked, resolved rulebook and its knowledge base in one binary
//! file beside the YAML (`rulebook.yaml` → `rulebook.compiled`), which the Lambda functions load
//! at a cold start with no YAML parsing and no checks.
//!
//! Only `sportello rules compile` writes one, after the full check of `rules check` passed, so
//! a compiled file always holds a rulebook that passed it. It carries the SHA-256 of what it was
//! compiled from (the YAML and every knowledge article, by name and content): a reader
//! recomputes it and refuses a file whose sources have changed since ("stale"), and one written
//! by another format version. [`Rules::load_compiled_or_yaml`] then falls back to the YAML, with
//! a warning in the log that says why and what to run.
//!
//! Layout: 16 bytes of magic, the format version (u32, little-endian), the sources' SHA-256
//! (32 bytes), the payload's length (u64, little-endian), then the payload in CBOR.

use super::diagnostic::Diagnostic;
use super::engine::Rules;
use super::load::RULEBOOK_FILE;
use super::resolved::Model;
use crate::knowledge::{self, KnowledgeBase};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What a compiled file starts with.
const MAGIC: &[u8; 16] = b"sportello-rules\n";
/// The layout of the payload. Raise it whenever the resolved model, the articles or the
/// diagnostics change shape: a file of another version is refused, never half read.
pub const FORMAT_VERSION: u32 = 1;
/// The extension of the compiled file, beside the YAML it comes from.
pub const EXTENSION: &str = "compiled";
const HEADER_LEN: usize = MAGIC.len() + 4 + 32 + 8;

/// Why a compiled rulebook was not used.
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

/// What is stored: paths relative to the rulebook's folder, so the file can move with it (the
/// functions find the rules layer at `/opt`).
#[derive(Serialize, Deserialize)]
struct Payload {
    /// The YAML's file name, within its folder.
    yaml: String,
    /// The knowledge folder, relative to the rulebook's folder.
    knowledge_folder: Option<PathBuf>,
    model: Model,
    knowledge: KnowledgeBase,
    warnings: Vec<Diagnostic>,
}

/// The YAML a path names (a file, or a folder holding `rulebook.yaml`), and its compiled file.
pub fn paths(path: &Path) -> (PathBuf, PathBuf) {
    let yaml = if path.is_dir() { path.join(RULEBOOK_FILE) } else { path.to_path_buf() };
    let compiled = yaml.with_extension(EXTENSION);
    (yaml, compiled)
}

/// SHA-256 over the YAML and every article file of the knowledge folder, each with its name and
/// length, in name order: any edit, added or removed article changes it.
fn sources_hash(yaml: &Path, knowledge_folder: Option<&Path>) -> std::io::Result<[u8; 32]> {
    let mut hash = Sha256::new();
    let mut add = |name: &str, bytes: &[u8]| {
        hash.update((name.len() as u64).to_le_bytes());
        hash.update(name.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    add(RULEBOOK_FILE, &std::fs::read(yaml)?);
    if let Some(folder) = knowledge_folder {
        for file in knowledge::article_files(folder)? {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            add(&name, &std::fs::read(&file)?);
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
    let hash = sources_hash(&yaml, knowledge_folder.as_deref())
        .map_err(|e| fail(format!("cannot read the rulebook's files to hash them: {e}")))?;
    let relative = |p: &Path| p.strip_prefix(folder).map(Path::to_path_buf).unwrap_or_else(|_| p.to_path_buf());
    let mut knowledge = rules.knowledge.clone();
    knowledge.folder = None;
    for article in &mut knowledge.articles {
        article.file = article.file.file_name().map(PathBuf::from).unwrap_or_default();
    }
    let payload = Payload {
        yaml: yaml.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        knowledge_folder: knowledge_folder.as_deref().map(relative),
        model: rules.model.clone(),
        knowledge,
        warnings: rules.warnings.clone(),
    };
    let mut body = Vec::new();
    ciborium::into_writer(&payload, &mut body).map_err(|e| fail(format!("cannot encode the rulebook: {e}")))?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&hash);
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&body);
    // Written aside and renamed, so a reader never sees half a file.
    let partial = out.with_extension(format!("{EXTENSION}.partial"));
    std::fs::write(&partial, &bytes)
        .and_then(|()| std::fs::rename(&partial, &out))
        .map_err(|e| fail(format!("cannot write `{}`: {e}", out.display())))?;
    Ok((rules, out))
}

/// Loads the compiled form of the rulebook at `path` (a YAML file or its folder), after
/// checking that it is a compiled rulebook of this format, intact, and not stale.
pub fn load(path: &Path) -> Result<Rules, CompiledError> {
    let (yaml, compiled) = paths(path);
    let bytes = match std::fs::read(&compiled) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CompiledError::Missing(compiled)),
        Err(e) => return Err(CompiledError::Unreadable { path: compiled, reason: e.to_string() }),
    };
    let corrupt = |reason: String| CompiledError::Corrupt { path: compiled.clone(), reason };
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(CompiledError::NotCompiled(compiled));
    }
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!("{} bytes, shorter than its header", bytes.len())));
    }
    let field = |at: usize, len: usize| &bytes[at..at + len];
    let version = u32::from_le_bytes(field(16, 4).try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(CompiledError::OtherVersion { path: compiled, found: version });
    }
    let stored_hash: [u8; 32] = field(20, 32).try_into().expect("32 bytes");
    let body_len = u64::from_le_bytes(field(52, 8).try_into().expect("8 bytes"));
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != body_len {
        return Err(corrupt(format!("its payload is {} bytes, its header says {body_len}", body.len())));
    }
    let payload: Payload = ciborium::from_reader(body).map_err(|e| corrupt(format!("cannot decode it: {e}")))?;
    let folder = folder_of(&yaml);
    let knowledge_folder = payload.knowledge_folder.as_ref().map(|k| folder.join(k));
    let stale = |what: String| CompiledError::Stale { path: compiled.clone(), what };
    let hash = sources_hash(&yaml, knowledge_folder.as_deref()).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => stale(format!("a source file is gone ({e})")),
        _ => CompiledError::Unreadable { path: yaml.clone(), reason: e.to_string() },
    })?;
    if hash != stored_hash {
        let what = match &knowledge_folder {
            Some(k) => format!("`{}` or the articles in `{}`", yaml.display(), k.display()),
            None => format!("`{}`", yaml.display()),
        };
        return Err(stale(what));
    }
    let Payload { yaml: yaml_name, model, mut knowledge, warnings, .. } = payload;
    if let Some(k) = &knowledge_folder {
        for article in &mut knowledge.articles {
            article.file = k.join(&article.file);
        }
    }
    knowledge.folder = knowledge_folder;
    let file = folder.join(yaml_name).display().to_string();
    Rules::from_checked_parts(model, knowledge, warnings, file).map_err(corrupt)
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
