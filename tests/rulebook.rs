//! The default rulebook, its schema, its test cases, and a corpus of broken rulebooks that must
//! be rejected with every error located.

use sportello::cli::{RulesAction, run};
use sportello::rules::{Rules, Severity, load};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn default_rulebook_passes_with_only_the_intended_warnings() {
    let rules = Rules::load(&root().join("rules")).unwrap_or_else(|errors| {
        panic!("{}", errors.iter().map(ToString::to_string).collect::<String>());
    });
    let warnings: Vec<String> = rules.warnings.iter().map(|w| w.message.clone()).collect();
    assert!(rules.warnings.iter().all(|w| w.severity == Severity::Warning));
    // Section 3.4 types API advanced and specialist requests Q where the summary table says A.
    // (Where 3.2 and 3.1 meet 3.5, the rulebook sides with 3.5: no warning, and a rulebook that
    // lets a privacy request end without the privacy team is an error, see tests/broken/.)
    assert_eq!(
        warnings,
        [
            "category `advanced_info` is classified Q on channel `api`, but the summary table types it A",
            "category `specialist_support` is classified Q on channel `api`, but the summary table types it A",
        ]
    );
}

#[test]
fn checked_in_schema_matches_the_code() {
    let on_disk = std::fs::read_to_string(root().join("rules/rulebook.schema.json")).unwrap();
    assert!(
        on_disk == load::schema_text(),
        "rules/rulebook.schema.json is stale: run `cargo run -- rules schema > rules/rulebook.schema.json`"
    );
    let first_line = std::fs::read_to_string(root().join("rules/rulebook.yaml")).unwrap();
    assert_eq!(first_line.lines().next(), Some("# yaml-language-server: $schema=./rulebook.schema.json"));
}

#[test]
fn rule_test_cases_pass() {
    let (out, code) = run(RulesAction::Test { paths: vec![root().join("rules/tests")], rules: root().join("rules") });
    assert_eq!(code, 0, "{out}");
    let summary = out.lines().last().unwrap();
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 100, "only {passed} cases: {summary}");
}

#[test]
fn a_failing_case_says_which_expectation_and_what_the_flow_did() {
    let dir = tempdir("failing-case");
    let file = dir.join("cases.yaml");
    std::fs::write(
        &file,
        "cases:\n  - name: wrong on purpose\n    channel: voice\n    category: basic_info\n    at: \"2026-12-02T10:00:00+01:00\"\n    expect:\n      outcome: auto_closed\n      ticket_type: A\n      steps: [resolve, take_in_charge]\n",
    )
    .unwrap();
    let (out, code) = run(RulesAction::Test { paths: vec![file], rules: root().join("rules") });
    assert_eq!(code, 1);
    assert!(out.contains("FAIL  wrong on purpose"), "{out}");
    assert!(out.contains("cases.yaml:2)"), "the case's line: {out}");
    assert!(out.contains("outcome: expected auto_closed, got resolved"), "{out}");
    assert!(out.contains("ticket_type: expected A, got Q"), "{out}");
    assert!(out.contains("`take_in_charge` out of order"), "{out}");
    assert!(out.contains("the flow did: in_service_hours=true"), "{out}");
    assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sportello-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Each file of `tests/broken/` starts with `# expect: <text>` lines; every one must appear in
/// the rendered errors, and the file must be rejected.
#[test]
fn broken_rulebooks_are_rejected_with_located_messages() {
    let dir = root().join("tests/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the broken corpus has only {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let expected: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# expect: ")).collect();
        assert!(!expected.is_empty(), "{} has no `# expect:` line", file.display());
        let shown = match Rules::load(Path::new(file)) {
            Ok(_) => {
                failures.push(format!("{}: accepted", file.display()));
                continue;
            }
            Err(errors) => errors.iter().map(ToString::to_string).collect::<String>(),
        };
        for e in expected {
            let e = e.replace("{file}", &file.display().to_string());
            if !shown.contains(&e) {
                failures.push(format!("{}: missing `{e}` in:\n{shown}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A file over the size limit is refused from its metadata, before it is read or parsed.
#[test]
fn oversized_rulebook_is_refused_before_parsing() {
    let dir = tempdir("oversized");
    let file = dir.join("rulebook.yaml");
    // Valid YAML all along (a comment), so only the size can be the reason for the refusal.
    let mut text = String::from("version: 1\n");
    while text.len() <= load::MAX_RULEBOOK_BYTES {
        text.push_str("# padding padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&file, &text).unwrap();
    let errors = match Rules::load(&dir) {
        Ok(_) => panic!("a {} byte rulebook was accepted", text.len()),
        Err(errors) => errors,
    };
    let shown: String = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 1, "{shown}");
    assert!(shown.contains(&format!("a rulebook may be at most {} bytes", load::MAX_RULEBOOK_BYTES)), "{shown}");
    assert!(shown.contains(&format!("is {} bytes", text.len())), "{shown}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// docs/flows.md shows the graphs `rules graph` draws from the default rulebook now.
#[test]
fn docs_flows_embeds_the_current_graph() {
    let page = std::fs::read_to_string(root().join("docs/flows.md")).unwrap();
    let (graph, code) = run(RulesAction::Graph { rules: root().join("rules") });
    assert_eq!(code, 0);
    let start = page.find("<!-- graph:start").expect("graph markers in docs/flows.md");
    let body = &page[page[start..].find('\n').unwrap() + start + 1..page.find("<!-- graph:end -->").unwrap()];
    assert!(
        body.trim() == graph.trim(),
        "docs/flows.md is stale: paste the output of `cargo run -- rules graph` between its markers"
    );
    assert!(graph.matches("```mermaid").count() == 4, "one diagram per channel");
}

/// A rulebook with thousands of unknown keys (a generated file, a bad merge) gets the first
/// errors, located as usual, and a count of the rest, not thousands of screens.
#[test]
fn thousands_of_unknown_keys_are_reported_up_to_a_limit() {
    let dir = tempdir("many-unknown-keys");
    let mut text = std::fs::read_to_string(root().join("rules/rulebook.yaml")).unwrap();
    for i in 0..5_000 {
        text.push_str(&format!("unknown_key_{i:05}: 1\n"));
    }
    let file = dir.join("rulebook.yaml");
    std::fs::write(&file, &text).unwrap();
    let (out, code) = run(RulesAction::Check { path: file.clone() });
    assert_eq!(code, 1, "{out}");
    let shown = out.matches("error: unknown key `unknown_key_").count();
    assert_eq!(shown, 100, "{}", &out[..out.len().min(2000)]);
    // The first ones, in file order, each with its line.
    let first_line = text.lines().position(|l| l.starts_with("unknown_key_00000")).unwrap() + 1;
    assert!(out.contains(&format!("{}:{first_line}:1", file.display())), "{}", &out[..out.len().min(2000)]);
    assert!(out.contains("and 4,900 more errors"), "{}", &out[out.len().saturating_sub(2000)..]);
    assert!(out.ends_with("5000 error(s), 0 warning(s)\n"), "{}", &out[out.len().saturating_sub(500)..]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A broken variant of the default rulebook: its edits (find, replace), the error expected, the
/// text the error points at, and the help line expected under it.
struct BrokenRole {
    case: &'static str,
    edits: &'static [(&'static str, &'static str)],
    message: &'static str,
    at: &'static str,
    help: Option<&'static str>,
}

/// The roles the engine reads from the rulebook (the default and reminder categories, the bot's
/// team and category, the IVR menu, one channel per entry point, the incident check's type and
/// target) are checked like every other reference: each broken variant of the default rulebook
/// is refused with the error at the line and column of the faulty text, and a did-you-mean where
/// a name is misspelt. Each case is edits of `rules/rulebook.yaml`, so it tests today's file.
#[test]
fn broken_roles_are_refused_at_their_location() {
    let text = std::fs::read_to_string(root().join("rules/rulebook.yaml")).unwrap();
    let knowledge = format!("knowledge: {}", root().join("rules/knowledge").display());
    let cases: &[BrokenRole] = &[
        BrokenRole {
            case: "misspelt bot team",
            edits: &[("bot: {team: chatbot,", "bot: {team: chatbto,")],
            message: "error: unknown team `chatbto`",
            at: "chatbto,",
            help: Some("= help: did you mean `chatbot`?"),
        },
        BrokenRole {
            case: "misspelt bot category",
            edits: &[("category: bot}", "category: bto}")],
            message: "error: unknown category `bto`",
            at: "bto}",
            help: Some("= help: did you mean `bot`?"),
        },
        BrokenRole {
            case: "the bot holds chats in the default team",
            edits: &[("bot: {team: chatbot,", "bot: {team: first_level,")],
            message: "error: team `first_level` is the default team: its operators would see chats the bot still holds",
            at: "first_level, category",
            help: Some("= help: give the bot a team of its own under `teams`"),
        },
        BrokenRole {
            case: "misspelt menu category",
            edits: &[("\"2\": malfunction", "\"2\": malfunctoin")],
            message: "error: unknown category `malfunctoin`",
            at: "malfunctoin",
            help: Some("= help: did you mean `malfunction`?"),
        },
        BrokenRole {
            case: "a menu key no phone has",
            edits: &[("\"4\": privacy_question", "\"four\": privacy_question")],
            message: "error: `four` is not a key a caller can press",
            at: "\"four\"",
            help: Some("= help: write one to three of 0-9, `*` and `#`"),
        },
        BrokenRole {
            case: "a menu on the chat",
            edits: &[(
                "    bot: {team: chatbot, category: bot}\n",
                "    bot: {team: chatbot, category: bot}\n    menu: {\"1\": basic_info}\n",
            )],
            message: "error: channel `chat` is of kind `chat`: only a voice channel has an IVR menu",
            at: "menu: {\"1\": basic_info}\n    contact_point",
            help: None,
        },
        BrokenRole {
            case: "no default category",
            edits: &[("    default: true\n", "")],
            message: "error: no category is `default: true`",
            at: "categories:",
            help: Some("= help: mark the category operators start from (a basic request) with `default: true`"),
        },
        BrokenRole {
            case: "two default categories",
            edits: &[("    reminder: true\n", "    reminder: true\n    default: true\n")],
            message: "error: categories basic_info, reminder are all `default: true`; exactly one may be",
            at: "true\n  malfunction:",
            help: None,
        },
        BrokenRole {
            case: "a default category the phone never gets",
            edits: &[("    default: true\n", "    default: true\n    channels: [email, chat, api]\n")],
            message: "error: the default category `basic_info` does not arrive on channel `voice`, where a contact may name no category",
            at: "true\n    channels: [email",
            help: Some("= help: add `voice` to `categories.basic_info.channels`, or make another category the default"),
        },
        BrokenRole {
            case: "two reminder categories",
            edits: &[("    default: true\n", "    default: true\n    reminder: true\n")],
            message: "error: categories basic_info, reminder are all `reminder: true`; a reminder gets one category",
            at: "true\n  malfunction:",
            help: None,
        },
        BrokenRole {
            case: "two voice channels",
            edits: &[("  chat:\n    kind: chat", "  chat:\n    kind: voice")],
            message: "error: channels chat, voice are all of kind `voice`; Sportello's voice entry point serves one channel",
            at: "voice\n    name: {it: Telefono",
            help: None,
        },
        BrokenRole {
            case: "an incident check that escalates to two targets",
            edits: &[(
                "        - escalate: [pagopa_incident_management]\n        - close_contact",
                "        - escalate: [pagopa_incident_management, pagopa_specialists]\n        - close_contact",
            )],
            message: "`check_active_incidents` escalates at once, to one target, but the flow offers pagopa_incident_management, pagopa_specialists",
            at: "check_active_incidents\n    - if: incident_active\n      then: [provide_restoration_info, {classify: Q}, resolve, close_contact]",
            help: Some("= help: name the one target that receives malfunction reports in this `escalate` step"),
        },
        BrokenRole {
            case: "an incident check followed by no type",
            edits: &[(
                "      then: [provide_restoration_info, {classify: Q}, resolve]",
                "      then: [provide_restoration_info, resolve]",
            )],
            message: "category `malfunction` with an active incident: `check_active_incidents` is followed by no type",
            at: "check_active_incidents\n    - if: incident_active\n      then: [provide_restoration_info, resolve]",
            help: None,
        },
        BrokenRole {
            case: "an old `bot: true`",
            edits: &[("bot: {team: chatbot, category: bot}", "bot: true")],
            message: "error: expected a mapping, found a boolean",
            at: "true\n    contact_point:\n      it: la chat",
            help: None,
        },
    ];
    let dir = tempdir("broken-roles");
    let mut failures = Vec::new();
    for BrokenRole { case, edits, message, at, help } in cases {
        let mut broken = text.replace("knowledge: knowledge", &knowledge);
        for (find, replace) in *edits {
            assert!(broken.contains(find), "{case}: `{find}` is not in rules/rulebook.yaml: update this case");
            broken = broken.replacen(find, replace, 1);
        }
        let file = dir.join("rulebook.yaml");
        std::fs::write(&file, &broken).unwrap();
        let offset = broken.find(at).unwrap_or_else(|| panic!("{case}: `{at}` is not in the edited rulebook"));
        let line = broken[..offset].matches('\n').count() + 1;
        let col = offset - broken[..offset].rfind('\n').map_or(0, |n| n + 1) + 1;
        let shown = match Rules::load(&file) {
            Ok(_) => {
                failures.push(format!("{case}: accepted"));
                continue;
            }
            Err(errors) => errors.iter().map(ToString::to_string).collect::<String>(),
        };
        // The message, then its location on the next line.
        let Some(found) = shown.find(message) else {
            failures.push(format!("{case}: no `{message}` in:\n{shown}"));
            continue;
        };
        let after = &shown[found..];
        let location = format!("--> {}:{line}:{col}", file.display());
        if after.lines().nth(1).is_none_or(|l| !l.contains(&location)) {
            failures.push(format!("{case}: `{message}` is not at {location}:\n{shown}"));
        }
        if let Some(help) = help
            && !after.split("\nerror").next().unwrap_or_default().contains(help)
        {
            failures.push(format!("{case}: no `{help}` after `{message}`:\n{shown}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
