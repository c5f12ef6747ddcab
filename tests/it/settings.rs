//! `src/settings.rs` lists every environment variable Sportello reads: what the SAM template is
//! checked against (tests/it/infra/grants.rs) and what an operator reads to configure it. Every
//! `SPORTELLO_…` name in the code must be listed there, and every listed name must be in the code.

use crate::support::rust_files;
use sportello::settings::{SETTINGS, setting};
use std::collections::BTreeSet;
use std::path::Path;

/// Every `SPORTELLO_…` and `AWS_…` (and `RUST_LOG`, `USER`) token of the library, the CLI and the functions,
/// with where it was seen. A token ending in `_` is a family's prefix (`SPORTELLO_QUEUE_URL_{…}`).
fn names_in_code() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = rust_files(&root.join("src"));
    files.extend(rust_files(&root.join("functions")));
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // A file's unit tests (at its end) name wrong variables on purpose.
        let code = text.split("\n#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            for prefix in ["SPORTELLO_", "AWS_", "SMITHY_", "RUST_LOG", "USER"] {
                let mut rest = line;
                while let Some(i) = rest.find(prefix) {
                    let after = &rest[i..];
                    let len = after
                        .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                        .unwrap_or(after.len());
                    let where_ = format!("{}:{}", file.strip_prefix(root).unwrap().display(), n + 1);
                    found.push((after[..len].to_string(), where_));
                    rest = &after[len..];
                }
            }
        }
    }
    found
}

/// Words that look like variables and are not: the source's own file and message names.
fn is_a_variable(name: &str) -> bool {
    // `SPORTELLO_<…>` in prose, the bare prefix itself.
    let prefixed = |p: &str| name.starts_with(p) && name.len() > p.len();
    prefixed("SPORTELLO_") || prefixed("AWS_") || prefixed("SMITHY_") || ["RUST_LOG", "USER"].contains(&name)
}

#[test]
fn every_variable_in_the_code_is_listed_and_every_listed_one_is_read() {
    let found = names_in_code();
    assert!(found.len() > 20, "the scan found almost nothing: {found:?}");
    let mut unlisted = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, at) in &found {
        if !is_a_variable(name) || name.starts_with("SPORTELLO_ESCALATIONS_") {
            continue;
        }
        let entry =
            if name.ends_with('_') { SETTINGS.iter().find(|s| s.family && s.name == name) } else { setting(name) };
        match entry {
            Some(s) => {
                seen.insert(s.name);
            }
            None => unlisted.push(format!("{name} ({at})")),
        }
    }
    assert!(unlisted.is_empty(), "read in the code but not listed in src/settings.rs:\n{}", unlisted.join("\n"));
    let unused: Vec<&str> = SETTINGS.iter().map(|s| s.name).filter(|n| !seen.contains(n)).collect();
    assert!(unused.is_empty(), "listed in src/settings.rs but named nowhere else in the code: {unused:?}");
}

#[test]
fn the_list_has_each_name_once_and_secrets_are_deployed() {
    let mut names = BTreeSet::new();
    for s in SETTINGS {
        assert!(names.insert(s.name), "{} is listed twice", s.name);
        assert_eq!(s.family, s.name.ends_with('_'), "{}: a family's name ends with `_`, a variable's does not", s.name);
        assert!(!s.about.is_empty(), "{} says nothing about itself", s.name);
        if s.secret {
            assert_eq!(s.need, sportello::settings::Need::Deploy, "{}: a secret nobody sets is no secret", s.name);
        }
    }
}

/// The environment is read in one place, `src/settings.rs` (once: `settings::environment()`); the
/// rest of the code asks it. The one exception is the Lambda runtime's trace header, which
/// changes with every invocation. clap reads none either: a flag's variable is named with
/// `default_from_setting` (`settings::flags`), never with clap's `env`, whose feature stays off.
#[test]
fn only_the_settings_module_reads_the_environment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = rust_files(&root.join("src"));
    files.extend(rust_files(&root.join("functions")));
    let allowed = ["src/settings.rs", "src/adapters/aws/trace.rs"];
    let mut readers = Vec::new();
    for file in files {
        let at = file.strip_prefix(root).unwrap().display().to_string();
        if allowed.contains(&at.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if ["env::var(", "env::var_os(", "env::vars(", "env::vars_os("].iter().any(|call| line.contains(call)) {
                readers.push(format!("{at}:{}: {}", n + 1, line.trim()));
            }
            let clap_env = (line.contains("#[arg(") || line.contains("#[clap("))
                && line.split(['(', ',']).any(|part| part.trim_start().starts_with("env"));
            if clap_env || line.contains(".env(\"") || line.contains("hide_env_values") {
                readers.push(format!("{at}:{}: {} (clap's `env` reads the environment itself)", n + 1, line.trim()));
            }
        }
    }
    assert!(
        readers.is_empty(),
        "read the environment through `sportello::settings::environment()`:\n{}",
        readers.join("\n")
    );
}

/// clap's `env` feature would let a flag read the environment behind `settings`' back.
#[test]
fn clap_is_built_without_its_env_feature() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let clap = manifest.lines().find(|l| l.trim_start().starts_with("clap =")).expect("clap in Cargo.toml");
    assert!(clap.contains("features"), "{clap}");
    assert!(!clap.contains("\"env\""), "{clap}");
}

/// A flag's default comes from its variable through `settings`, and `--help` says so, with the
/// value unless it is a token.
#[test]
fn help_names_the_variable_behind_each_default() {
    let help = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
            .args(args)
            .arg("--help")
            .env("SPORTELLO_DATA", "/srv/sportello")
            .env("SPORTELLO_DEMO_API_KEY", "key-not-to-show")
            .env_remove("SPORTELLO_LISTEN")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let serve = help(&["serve"]);
    assert!(serve.contains("[env: SPORTELLO_DATA=/srv/sportello] [default: data]"), "{serve}");
    assert!(serve.contains("[env: SPORTELLO_LISTEN] [default: 127.0.0.1:8080]"), "{serve}");
    let demo = help(&["demo"]);
    assert!(demo.contains("[env: SPORTELLO_DEMO_API_KEY]"), "{demo}");
    assert!(!demo.contains("key-not-to-show"), "a token shows in --help: {demo}");
}

/// A bad value stops the server at start-up, and the message names the variable it came from.
#[test]
fn a_bad_value_stops_the_server_naming_its_variable() {
    let data = tempfile::tempdir().unwrap();
    let cases = [
        ("SPORTELLO_MAX_CONNECTIONS", "many", "environment variable SPORTELLO_MAX_CONNECTIONS"),
        ("SPORTELLO_REQUEST_TIMEOUT", "1 minute", "environment variable SPORTELLO_REQUEST_TIMEOUT"),
        ("SPORTELLO_LISTEN", "localhost", "environment variable SPORTELLO_LISTEN"),
        ("SPORTELLO_CLOCK_START", "yesterday", "SPORTELLO_CLOCK_START=`yesterday` is not an RFC 3339 time"),
    ];
    for (name, value, says) in cases {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sportello"));
        command.arg("serve");
        if name != "SPORTELLO_LISTEN" {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        let out = command
            .arg("--data")
            .arg(data.path())
            .env_remove("SPORTELLO_LISTEN")
            .env(name, value)
            .env("SPORTELLO_RULES", root_rules())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}={value} started the server");
        assert!(stderr.contains(says), "{name}={value}: {stderr}");
    }
}

fn root_rules() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}
