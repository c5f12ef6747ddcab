//! `sportello demo`: the binary runs its six scenes over HTTP and exits 0 when every one reaches
//! the outcome its flow expects; a scene that goes wrong makes it exit 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sportello"))
        .arg("demo")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_demo_walks_the_six_scenes_and_exits_0() {
    let out = demo(&["--rules", rules().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "exit {:?}\n{stdout}\n{}", out.status.code(), text(&out.stderr));
    for line in [
        // 1. the bot
        "the bot answers from the knowledge base (article `pay-pagopa-notice`)",
        "state auto_resolved, type B",
        "resolved and closed by the bot, type B, no operator involved",
        // 2. out of hours
        "at Sunday 6 December 2026, 22:00 (Europe/Rome)",
        "open=false, state not_served",
        "Gli operatori ora non sono disponibili",
        "the operators' queue does not show the call",
        // 3. email from the knowledge base
        "suggestion `pay-pagopa-notice`",
        "reply mailed to the requester: \"[SP-",
        "In-Reply-To <demo-",
        // 4. escalation and notices
        "escalated to pagopa_specialists: state awaiting_resolution_notice",
        "← 409 \"the flow expects the resolution notice from pagopa_specialists and third_parties before resolve\"",
        "mailed to escalations@third-party.example",
        "state in_progress",
        // 5. incident
        "type Q, team first_level, assignee op-101; incident INC-",
        "the incident's closing notice is noted",
        // 6. privacy breach
        "← 403 \"privacy tickets are for the privacy team",
        "type PI, team privacy, assignee priv-201",
        "deadline gdpr_breach_notification due 2026-12-10T09:00:00Z",
        "All 6 scenes reached the outcome the flows expect.",
    ] {
        assert!(stdout.contains(line), "the demo did not print `{line}`:\n{stdout}");
    }
    assert_eq!(stdout.matches("   OK: ").count(), 6, "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    // Third parties got no requester data: the fields line of their escalation names none.
    let third = stdout.lines().find(|l| l.contains("escalated to third_parties")).unwrap();
    assert!(!third.contains("requester."), "{third}");
}

#[test]
fn the_demo_refuses_an_in_hours_time_that_is_out_of_hours() {
    let out = demo(&["--rules", rules().to_str().unwrap(), "--at", "2026-12-06T22:00"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("--at: 2026-12-06T22:00 is outside the voice channel's service hours"));
    let out = demo(&["--rules", rules().to_str().unwrap(), "--closed-at", "tomorrow"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--closed-at: `tomorrow` is not a time"), "{}", text(&out.stderr));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_scene_that_goes_wrong_fails_the_demo() {
    // A rulebook that sends the requester's e-mail address to third parties.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&rules(), dir.path());
    let book = dir.path().join("rulebook.yaml");
    let yaml = std::fs::read_to_string(&book).unwrap();
    let leaky = "fields: [reference, category, ticket_type, created_at, subject, description, requester.email,";
    let changed =
        yaml.replacen("fields: [reference, category, ticket_type, created_at, subject, description,", leaky, 1);
    assert_ne!(changed, yaml, "the third parties' fields are where the test expects them");
    std::fs::write(&book, changed).unwrap();

    let out = demo(&["--rules", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("   FAILED: third parties got requester data"), "{stdout}");
    assert!(stdout.contains("1 of 6 scenes failed."), "{stdout}");
    assert!(text(&out.stderr).contains("failed: 4. A specialist request escalated"), "{}", text(&out.stderr));
}
