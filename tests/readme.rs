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

/// Whether a printed line is the one shown: `…` anywhere stands for any text (a line ending in
/// `...` or `…` for any rest of the line).
fn line_matches(shown: &str, printed: &str) -> bool {
    if let Some(prefix) = shown.strip_suffix("...") {
        return printed.starts_with(prefix.trim_end());
    }
    let parts: Vec<&str> = shown.split('…').collect();
    if parts.len() == 1 {
        return printed == shown;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !printed.starts_with(first) || printed.len() < first.len() + last.len() || !printed.ends_with(last) {
        return false;
    }
    let mut rest = &printed[first.len()..printed.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Where `shown` fails to match `printed`, if it does: each shown line must be printed, in order
/// (printed lines between them are allowed).
fn mismatch(shown: &[String], printed: &str) -> Option<String> {
    let printed: Vec<&str> = printed.lines().map(str::trim_end).collect();
    let mut at = 0;
    for want in shown.iter().map(|l| l.trim_end()) {
        if want.trim() == "..." {
            continue;
        }
        let found = printed[at..].iter().position(|p| line_matches(want, p));
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
    assert!(line_matches(r#"  "reference": "SP-…","#, r#"  "reference": "SP-7K3Q9XWD","#));
    assert!(line_matches(
        "1  …  a@example.com  [SP-…] Re: x",
        "1  2026-12-06 12:09:10Z  a@example.com  [SP-7K3Q9XWD] Re: x"
    ));
    assert!(!line_matches("1  …  a@example.com  [SP-…] Re: x", "1  2026-12-06  b@example.com  [SP-7K3Q9XWD] Re: x"));
    assert!(!line_matches(r#"{"state":"resolved"}"#, r#"{"state":"in_progress"}"#));
    assert!(!line_matches("SP-…  x", "SP-"));
}

/// The relative links of README.md and of every page of docs/ lead to files that exist.
#[test]
fn every_relative_link_of_the_readme_and_the_docs_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            let file = target.split('#').next().unwrap_or_default();
            if file.is_empty() || target.contains("://") || target.starts_with("mailto:") || file.contains(' ') {
                continue;
            }
            checked += 1;
            if !page.parent().unwrap().join(file).exists() {
                broken.push(format!("{}: ({target})", page.strip_prefix(root).unwrap().display()));
            }
        }
    }
    assert!(checked >= 10, "the README links its pages: only {checked} links found");
    assert!(broken.is_empty(), "links to files that do not exist:\n{}", broken.join("\n"));
}

/// A fenced block of a page: its info string and its text.
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else { continue };
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        blocks.push((info.trim().to_string(), body.join("\n")));
    }
    blocks
}

/// The server block: `VAR=value ... cargo run` alone; its variables.
fn server_block(block: &str) -> Option<Vec<(String, String)>> {
    let words: Vec<&str> = block.split_whitespace().collect();
    let run = words.windows(2).position(|w| w == ["cargo", "run"])?;
    if run + 2 != words.len() {
        return None;
    }
    words[..run].iter().map(|w| w.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect()
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// docs/try-it.md, run as a newcomer would: its server block starts `sportello serve` (on a free
/// port, in a fresh folder beside the repository's `rules/` and `docs/`), then every other `sh`
/// block runs, in order, in one bash (so the variables carry), with `cargo run -q --` as the
/// built binary; each block's output must show the lines of the `json`/`text` block after it.
#[test]
fn the_try_it_page_runs_against_a_live_server() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for tool in ["curl", "jq"] {
        let found = std::process::Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().unwrap();
        assert!(found.status.success(), "docs/try-it.md needs `{tool}`: scripts/test-env.sh installs it (apt-get)");
    }
    let page = std::fs::read_to_string(root.join("docs/try-it.md")).unwrap();
    let blocks = fenced_blocks(&page);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let here = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    for linked in ["rules", "docs"] {
        std::os::unix::fs::symlink(root.join(linked), dir.path().join(linked)).unwrap();
    }

    // Runnable blocks, each with the output shown after it (if any).
    let mut server_env = None;
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for (i, (info, text)) in blocks.iter().enumerate() {
        if info != "sh" {
            continue;
        }
        if let Some(env) = server_block(text) {
            server_env = Some(env);
            continue;
        }
        let shown = match blocks.get(i + 1) {
            Some((next, out)) if next == "json" || next == "text" => out.lines().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        let script = text.replace("cargo run -q -- ", "\"$SPORTELLO_BIN\" ").replace("127.0.0.1:8080", &here);
        assert!(!script.contains("cargo "), "docs/try-it.md: write `cargo run -q -- …` in a block:\n{text}");
        steps.push((script, shown));
    }
    let server_env = server_env.expect("docs/try-it.md starts the server with a `cargo run` block");
    assert!(steps.len() >= 12, "docs/try-it.md: {} blocks found", steps.len());

    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let _server = Server(
        std::process::Command::new(BIN)
            .args(["serve", "--listen", &here])
            .envs(server_env)
            .env_remove("RUST_LOG")
            .current_dir(dir.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(&here).is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let mut script = String::from("exec 2>&1\n");
    for (i, (text, _)) in steps.iter().enumerate() {
        script.push_str(&format!("printf '\\n@@block {i}\\n'\n{text}\n"));
    }
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("SPORTELLO_BIN", BIN)
        .env_remove("RUST_LOG")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let mut outputs: Vec<&str> = printed.split("\n@@block ").skip(1).collect();
    outputs.iter_mut().for_each(|o| *o = o.split_once('\n').map_or("", |(_, rest)| rest));
    assert_eq!(outputs.len(), steps.len(), "not every block ran:\n{printed}");
    let mut stale = Vec::new();
    for ((text, shown), output) in steps.iter().zip(&outputs) {
        if let Some(line) = mismatch(shown, output) {
            stale.push(format!("the block\n{text}\nno longer prints\n  {line}\nbut:\n{output}"));
        }
    }
    let server_log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    assert!(stale.is_empty(), "docs/try-it.md is stale:\n\n{}\n\nthe server's log:\n{server_log}", stale.join("\n\n"));
}
