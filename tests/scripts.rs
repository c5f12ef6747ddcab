//! The shell scripts of `scripts/` parse, and none pipes into a reader that stops early: under
//! `set -o pipefail`, `printf … | grep -q` or `… | head -n1` fails at random when the reader
//! exits before the writer has written (SIGPIPE), which a busy machine makes likely.

use std::path::PathBuf;

fn shell_scripts() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts"));
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let shell = p.extension().is_some_and(|e| e == "sh") || text.starts_with("#!/usr/bin/env bash");
            shell.then_some((p, text))
        })
        .collect();
    scripts.sort();
    scripts
}

/// Readers that may exit before their input ends.
const EARLY_READERS: [&str; 6] = ["grep -q", "grep -m", "grep -l", "head", "grep --quiet", "read "];

#[test]
fn no_script_pipes_into_a_reader_that_stops_early() {
    let scripts = shell_scripts();
    assert!(scripts.len() >= 4, "scripts/test, test-env.sh, lambda-smoke.sh, bench at least: {scripts:?}");
    let mut found = Vec::new();
    for (path, text) in &scripts {
        for (n, line) in text.lines().enumerate() {
            let code = line.split(" #").next().unwrap_or_default();
            if code.trim_start().starts_with('#') {
                continue;
            }
            for segment in code.split('|').skip(1) {
                let reader = segment.trim_start();
                // `||` splits into an empty segment, which is no pipe.
                if EARLY_READERS.iter().any(|r| reader.starts_with(r)) {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "pipes that SIGPIPE under pipefail (use `contains` or `sed …;q` from scripts/lib.sh):\n{}",
        found.join("\n")
    );
}

#[test]
fn every_script_parses() {
    for (path, _) in shell_scripts() {
        let out = std::process::Command::new("bash").arg("-n").arg(&path).output().unwrap();
        assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    }
}
