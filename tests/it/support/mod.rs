//! What the integration tests share: `TestApp` (Sportello as the local server builds it, on a
//! temp SQLite store with a clock the test sets), HTTP requests and replies, the adapter sets
//! the contract tests run against (embedded, and AWS on moto), and a log capture.

pub mod app;
#[cfg(feature = "aws")]
pub mod aws_calls;
pub mod backend;
pub mod faulty;
pub mod http;
pub mod logs;
#[cfg(feature = "aws")]
pub mod moto;
#[cfg(feature = "aws")]
pub mod sqs;
#[cfg(feature = "aws")]
pub mod stack;

use sportello::rules::Rules;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

/// The repository's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, folders included (but `target/` and `tests/`).
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "target" && n != "tests") {
                walk(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    files
}

/// A file under `tests/fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let path: PathBuf = root().join("tests/fixtures").join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A text file under `tests/fixtures/`.
pub fn fixture_text(path: &str) -> String {
    String::from_utf8(fixture(path)).expect("a UTF-8 fixture")
}

/// The default rulebook, `rules/`, checked once for the whole binary.
pub fn default_rules() -> Arc<Rules> {
    static RULES: LazyLock<Arc<Rules>> = LazyLock::new(|| {
        Arc::new(Rules::load(&root().join("rules")).unwrap_or_else(|errors| {
            panic!("the default rulebook: {}", errors.iter().map(ToString::to_string).collect::<String>())
        }))
    });
    RULES.clone()
}

/// A plain-text mail from a citizen (Giulia Bianchi) to the support mailbox.
pub fn citizen_mail(date: &str, message_id: &str, headers: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Giulia Bianchi <giulia.bianchi@example.com>\r\nTo: supporto@pagopa.it\r\n\
         Date: {date}\r\nMessage-ID: <{message_id}>\r\n{headers}\
         Subject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}
