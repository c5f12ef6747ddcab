//! The shell scripts of `scripts/` parse, and none pipes into a reader that stops early: under
//! `set -o pipefail`, `printf … | grep -q` or `… | head -n1` fails at random when the reader
//! exits before the writer has written (SIGPIPE), which a busy machine makes likely.

use std::path::PathBuf;

/// The scripts of `scripts/` and `.ci/` (the CI's entry point calls the test command).
fn shell_scripts() -> Vec<(PathBuf, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut scripts: Vec<_> = ["scripts", ".ci"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
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

/// Whether a pipe's reader may stop before its input ends: one of [`EARLY_READERS`], a `sed`
/// script with a `q` command, an `awk` one with `exit`.
fn stops_early(reader: &str) -> bool {
    EARLY_READERS.iter().any(|r| reader.starts_with(r))
        || (reader.starts_with("sed ") && (reader.contains(";q") || reader.contains("{q") || reader.contains(" q'")))
        || (reader.starts_with("awk ") && reader.contains("exit"))
}

/// The commands of a script, a pipe continued on the next line (`… |` or `… \`) joined into one.
fn commands(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut continued = false;
    for (n, line) in text.lines().enumerate() {
        let code = line.split(" #").next().unwrap_or_default();
        if code.trim_start().starts_with('#') {
            continue;
        }
        let code = code.trim_end();
        match out.last_mut() {
            Some((_, command)) if continued => {
                command.push(' ');
                command.push_str(code.trim_start());
            }
            _ => out.push((n + 1, code.to_string())),
        }
        continued = code.ends_with('|') && !code.ends_with("||") || code.ends_with('\\');
        if let Some((_, command)) = out.last_mut()
            && command.ends_with('\\')
        {
            command.pop();
        }
    }
    out
}

/// Whether a command pipes into a reader that may stop early (`||` is no pipe).
fn pipes_into_early_reader(command: &str) -> bool {
    command.replace("||", "\0").split('|').skip(1).any(|reader| stops_early(reader.trim_start()))
}

#[test]
fn the_pipe_check_sees_what_it_is_for() {
    let found = |text: &str| commands(text).iter().any(|(_, c)| pipes_into_early_reader(c));
    assert!(found("printf '%s' \"$names\" | grep -q sportello-chat"));
    assert!(found("cargo metadata |\n    head -n1"));
    assert!(found("list \\\n  | sed -n '1p;q'"));
    assert!(found("ls | awk '{print; exit}'"));
    assert!(!found("a || grep -q x file"));
    assert!(!found("cargo run -- rules compile rules/ | tail -1 | sed 's/^/   /'"));
    assert!(!found("# printf x | grep -q y"));
}

#[test]
fn no_script_pipes_into_a_reader_that_stops_early() {
    let scripts = shell_scripts();
    assert!(scripts.len() >= 4, "scripts/test, test-env.sh, lambda-smoke.sh, bench at least: {scripts:?}");
    let mut found = Vec::new();
    for (path, text) in &scripts {
        for (n, command) in commands(text) {
            if pipes_into_early_reader(&command) {
                found.push(format!("{}:{}: {}", path.display(), n, command.trim()));
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
