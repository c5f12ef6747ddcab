//! The outputs the README shows are what the commands print now: each `$ cargo run -- …` command
//! of a ```console block that shows output is run (as the `sportello` binary, from the
//! repository's root), and every line it shows must appear in the output, in order. A line ending
//! in `...` or `…` stands for any line that starts with what comes before it; a line of `...`
//! alone for any lines.

use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sportello");

/// Every `$ cargo run -- …` command of every ```console block, with the lines shown after it
/// (up to the next `$`). A bare `$ cargo run` starts the server and is not run.
fn console_commands(text: &str) -> Vec<(String, Vec<String>)> {
    let mut commands: Vec<(String, Vec<String>)> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```console" {
            continue;
        }
        let mut current: Option<(String, Vec<String>)> = None;
        for line in lines.by_ref().take_while(|l| l.trim() != "```") {
            if let Some(command) = line.strip_prefix("$ ") {
                commands.extend(current.take());
                current = command.strip_prefix("cargo run -- ").map(|c| (c.to_string(), Vec::new()));
            } else if let Some((_, shown)) = current.as_mut() {
                // A continued comment of the command line is not output.
                if !line.trim_start().starts_with('#') {
                    shown.push(line.to_string());
                }
            }
        }
        commands.extend(current);
    }
    commands
}

/// Where `shown` fails to match `printed`, if it does.
fn mismatch(shown: &[String], printed: &str) -> Option<String> {
    let printed: Vec<&str> = printed.lines().map(str::trim_end).collect();
    let mut at = 0;
    for want in shown.iter().map(|l| l.trim_end()) {
        if want.trim() == "..." {
            continue;
        }
        let found = match want.strip_suffix("...").or_else(|| want.strip_suffix('…')) {
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
        // Commands shown without their output only say what there is to run.
        // Commands shown without their output only say what there is to run; a command on a path
        // that is not in the repository (`my-rules/`) is the reader's own.
        let runnable = |command: &str| {
            command.split_whitespace().filter(|a| a.contains('/') && !a.starts_with('-')).all(|a| root.join(a).exists())
        };
        for (command, shown) in
            console_commands(&text).into_iter().filter(|(c, shown)| !shown.is_empty() && runnable(c))
        {
            // Through bash, for the quotes and comments of the command line.
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!("\"$SPORTELLO_BIN\" {command}"))
                .env("SPORTELLO_BIN", BIN)
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
    assert!(checked >= 3, "the README shows rules check, explain and rules test: {checked} commands found");
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
