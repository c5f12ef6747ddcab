//! `sportello demo`: the six scenes over HTTP reach the outcome their flows expect, in-process and
//! against a served Sportello; a scene that goes wrong is reported as failed; the command exits
//! 0, or 2 when it cannot start. (The scenes run through the library function the command calls,
//! so these tests do not depend on which build of the binary sits in a shared target folder.)

use sportello::demo::{DemoOptions, RemoteCredentials};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn options() -> DemoOptions {
    DemoOptions { rules: rules(), ..DemoOptions::default() }
}

/// `SPORTELLO_TARGET_SECRET_THIRD_PARTIES` → `third_parties`.
fn target_of(var: &str) -> String {
    var.trim_start_matches("SPORTELLO_TARGET_SECRET_").to_ascii_lowercase()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_demo_walks_the_six_scenes() {
    let run = sportello::demo::run(&options(), false).await.expect("the demo starts");
    let stdout = run.lines.join("\n");
    assert!(run.failed.is_empty() && run.skipped.is_empty(), "{:?}\n{stdout}", run.failed);
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

/// The command's exit status: 0 when every scene passes, 1 when one fails, 2 when it cannot start.
#[test]
fn the_demo_command_exits_0_or_2() {
    assert_eq!(sportello::cli::demo::demo(options()), ExitCode::SUCCESS);
    let wrong = DemoOptions { at: Some("2026-12-06T22:00".into()), ..options() };
    assert_eq!(sportello::cli::demo::demo(wrong), ExitCode::from(2));
    let dir = leaky_rules();
    assert_eq!(sportello::cli::demo::demo(DemoOptions { rules: dir.path().into(), ..options() }), ExitCode::from(1));
}

#[tokio::test]
async fn the_demo_refuses_times_on_the_wrong_side_of_the_service_hours() {
    let at = DemoOptions { at: Some("2026-12-06T22:00".into()), ..options() };
    let e = sportello::demo::run(&at, false).await.err().expect("refused");
    assert!(e.contains("--at: 2026-12-06T22:00 is outside the voice channel's service hours"), "{e}");
    let closed = DemoOptions { closed_at: Some("2026-12-07T09:00".into()), ..options() };
    let e = sportello::demo::run(&closed, false).await.err().expect("refused");
    assert!(e.contains("--closed-at: 2026-12-07T09:00 is in service hours"), "{e}");
    let garbled = DemoOptions { closed_at: Some("tomorrow".into()), ..options() };
    let e = sportello::demo::run(&garbled, false).await.err().expect("refused");
    assert!(e.contains("--closed-at: `tomorrow` is not a time"), "{e}");
    let both = DemoOptions { url: Some("http://127.0.0.1:9".into()), ..at };
    let e = sportello::demo::run(&both, false).await.err().expect("refused");
    assert!(e.contains("with --url the server's own clock decides"), "{e}");
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

/// The default rulebook, changed to send the requester's e-mail address to third parties.
fn leaky_rules() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&rules(), dir.path());
    let book = dir.path().join("rulebook.yaml");
    let yaml = std::fs::read_to_string(&book).unwrap();
    let leaky = "fields: [reference, category, ticket_type, created_at, requester.email, custom.notice_code,";
    let changed = yaml.replacen("fields: [reference, category, ticket_type, created_at, custom.notice_code,", leaky, 1);
    assert_ne!(changed, yaml, "the third parties' fields are where the test expects them");
    std::fs::write(&book, changed).unwrap();
    dir
}

#[tokio::test]
async fn a_scene_that_goes_wrong_fails_the_demo() {
    let dir = leaky_rules();
    let run = sportello::demo::run(&DemoOptions { rules: dir.path().into(), ..options() }, false).await.unwrap();
    let stdout = run.lines.join("\n");
    assert_eq!(run.failed.len(), 1, "{stdout}");
    assert!(run.failed[0].starts_with("4. A specialist request escalated"), "{:?}", run.failed);
    assert!(stdout.contains("   FAILED: third parties got requester data"), "{stdout}");
    assert!(stdout.contains("1 of 6 scenes failed."), "{stdout}");
}

/// Kills the server this test started when the test ends, passed or not.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sportello(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sportello")).args(args).envs(env.iter().copied()).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn the_demo_plays_against_a_running_server_with_its_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let operators = dir.path().join("operators.json");
    let keys = dir.path().join("api-keys.json");
    let rules = rules();
    let rules = rules.to_str().unwrap();
    let ops_env = [("SPORTELLO_OPERATORS", operators.to_str().unwrap())];
    let token = |id: &str, roles: &str| {
        let out = sportello(&["operators", "add", id, "--role", roles], &ops_env);
        out.lines().nth(1).unwrap().trim().to_string()
    };
    let (operator, privacy, supervisor) =
        (token("op-7", "operator"), token("priv-7", "operator,privacy_operator"), token("sup-7", "supervisor"));
    let added = sportello(&["clients", "add", "io", "--keys", keys.to_str().unwrap(), "--rules", rules], &[]);
    let api_key = added.lines().find(|l| l.trim().starts_with("spk_")).unwrap().trim().to_string();
    let added = sportello(&["clients", "add", "voice", "--keys", keys.to_str().unwrap(), "--rules", rules], &[]);
    let telephony_key = added.lines().find(|l| l.trim().starts_with("spk_")).unwrap().trim().to_string();
    let secrets: Vec<(String, String)> =
        ["pagopa_specialists", "third_parties", "pagopa_incident_management", "pagopa_privacy"]
            .iter()
            .map(|t| (format!("SPORTELLO_TARGET_SECRET_{}", t.to_uppercase()), format!("secret-of-{t}")))
            .collect();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_sportello"))
            .args(["serve", "--listen", &listen, "--data", data.to_str().unwrap(), "--rules", rules])
            .env("SPORTELLO_OPERATORS", &operators)
            .env("SPORTELLO_API_KEYS", &keys)
            .env_remove("SPORTELLO_MAIL_TOKEN_SHA256")
            .envs(secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = std::time::Instant::now();
    // The server listens, then writes its mail token: wait for both.
    let token_file = data.join("mail-token.txt");
    let written = || std::fs::read_to_string(&token_file).is_ok_and(|t| !t.trim().is_empty());
    while std::net::TcpStream::connect(&listen).is_err() || !written() {
        assert!(started.elapsed().as_secs() < 30, "the server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mail_token = std::fs::read_to_string(data.join("mail-token.txt")).unwrap();

    // Without credentials the demo says what it needs.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bare = DemoOptions { url: Some(format!("http://{listen}")), ..options() };
    let e = runtime.block_on(sportello::demo::run(&bare, false)).err().expect("refused");
    assert!(e.contains("--url needs --operator-token (or SPORTELLO_DEMO_OPERATOR_TOKEN)"), "{e}");

    let credentials = RemoteCredentials {
        operator_token: Some(operator),
        privacy_token: Some(privacy),
        supervisor_token: Some(supervisor),
        api_key: Some(api_key),
        telephony_key: Some(telephony_key),
        mail_token: Some(mail_token.trim().to_string()),
        notice_secrets: secrets.iter().map(|(k, v)| (target_of(k), v.clone().into_bytes())).collect(),
    };
    let url = Some(format!("http://{listen}"));
    let run = runtime
        .block_on(sportello::demo::run(&DemoOptions { url, credentials, ..options() }, false))
        .expect("the demo reaches the server");
    let stdout = run.lines.join("\n");
    assert!(run.failed.is_empty(), "{:?}\n{stdout}", run.failed);
    assert_eq!(run.skipped.len(), 1, "{stdout}");
    // The server's own clock decides: the out-of-hours call or the in-hours malfunction call is
    // skipped, never both; everything else is played.
    assert_eq!(stdout.matches("   OK: ").count(), 5, "{stdout}");
    assert_eq!(stdout.matches("   skipped: the server's clock says").count(), 1, "{stdout}");
    for line in [
        "resolved and closed by the bot, type B",
        "reply mailed to the requester",
        "escalated to the specialists and a third party, resolved on both notices",
        "(queue sportello-escalations-pagopa-specialists is the server's: not read here)",
        "type PI, team privacy, assignee priv-7",
        "All 5 scenes played reached the outcome the flows expect.",
    ] {
        assert!(stdout.contains(line), "the demo did not print `{line}`:\n{stdout}");
    }
}
