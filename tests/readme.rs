//! The outputs the README shows are what the commands print now: each ```console block that
//! starts with `$ cargo run -- …` is run (as the `sportello` binary, from the repository's root),
//! and every line it shows must appear in the output, in order. A line ending in `...` stands
//! for any line that starts with what comes before it; a line of `...` alone for any lines.

use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sportello");

fn console_blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```console" {
            continue;
        }
        let body: Vec<String> = lines.by_ref().take_while(|l| l.trim() != "```").map(str::to_string).collect();
        if let Some(command) = body.first().and_then(|c| c.strip_prefix("$ cargo run -- ")) {
            blocks.push((command.to_string(), body[1..].to_vec()));
        }
    }
    blocks
}

/// Where `shown` fails to match `printed`, if it does.
fn mismatch(shown: &[String], printed: &str) -> Option<String> {
    let printed: Vec<&str> = printed.lines().map(str::trim_end).collect();
    let mut at = 0;
    for want in shown.iter().map(|l| l.trim_end()) {
        if want.trim() == "..." {
            continue;
        }
        let found = match want.strip_suffix("...") {
            Some(prefix) => printed[at..].iter().position(|p| p.starts_with(prefix.trim_end())),
            None => printed[at..].iter().position(|p| *p == want),
        };
        match found {
            Some(i) => at += i + 1,
            None => return Some(want.to_string()),
        }
    }
    None
}

#[test]
fn the_readmes_command_outputs_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    let mut checked = 0;
    for page in ["README.md", "docs/try-it.md"] {
        let Ok(text) = std::fs::read_to_string(root.join(page)) else { continue };
        for (command, shown) in console_blocks(&text) {
            let out = std::process::Command::new(BIN)
                .args(command.split_whitespace())
                .current_dir(root)
                .env_remove("RUST_LOG")
                .output()
                .unwrap();
            let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            checked += 1;
            if let Some(line) = mismatch(&shown, &printed) {
                stale.push(format!("{page}: `{command}` no longer prints\n  {line}\nbut:\n{printed}"));
            }
        }
    }
    assert!(checked >= 4, "the README shows rules check (good and broken) and explain: {checked} blocks found");
    assert!(stale.is_empty(), "{}", stale.join("\n\n"));
}

#[test]
fn a_changed_output_is_caught() {
    let shown =
        vec!["error: x".to_string(), "...".to_string(), "   --> a.yaml:3:7".to_string(), "  = help: do...".into()];
    assert_eq!(mismatch(&shown, "error: x\nmore\n   --> a.yaml:3:7\n  = help: do this\n"), None);
    assert_eq!(
        mismatch(&shown, "error: x\n   --> a.yaml:4:7\n  = help: do this\n").as_deref(),
        Some("   --> a.yaml:3:7")
    );
}
