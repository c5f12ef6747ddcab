//! The rulebook is the whole behaviour: no id of it is written in the code. Every id the default
//! rulebook defines (categories, teams, targets, channels, schedules, flows, API clients, custom
//! fields) is renamed to an Italian word, and so are its test cases and the knowledge base's
//! category references; the renamed rulebook then passes `rules check`, every renamed case of
//! `rules test`, `rules explain` and `rules graph`, and the flows walk over HTTP exactly as on the
//! original: the demo's six scenes, a chat handed to an operator, an e-mail reminder, a call
//! through the IVR menu to the privacy team, a malfunction escalated to incident management.
//!
//! The ids come from the rulebook itself, not from a list here, so the test follows the rulebook
//! as it grows. What it knows is where the YAML model refers to ids (the `rename` function): a
//! reference added to the model and missed there makes the renamed rulebook fail its check.

use crate::support::root;
use serde_json::{Value, json};
use sportello::cli::rules::{RulesAction, run};
use sportello::demo::{DemoOptions, OPERATOR_ID, PRIVACY_OPERATOR_ID, Sandbox, Staff, Stage};
use sportello::domain::ChannelKind;
use sportello::rules::model::{Rulebook, Step};
use sportello::rules::{Rules, load};
use std::collections::BTreeMap;

/// Monday 7 December 2026, 10:00 in Rome: in service hours.
const NOW: &str = "2026-12-07T10:00:00+01:00";

/// New names, handed out in order; more ids than words get numbered words.
const WORDS: &[&str] = &[
    "acero",
    "betulla",
    "castagno",
    "dattero",
    "edera",
    "felce",
    "ginepro",
    "gelso",
    "ibisco",
    "lampone",
    "mandorlo",
    "nocciolo",
    "olivo",
    "pesco",
    "quercia",
    "rovere",
    "salice",
    "tiglio",
    "ulivo",
    "vite",
    "zafferano",
    "albicocca",
    "basilico",
    "cappero",
    "dragoncello",
    "finocchio",
    "girasole",
    "lavanda",
    "mirtillo",
    "nespolo",
    "origano",
    "prezzemolo",
    "rosmarino",
    "sambuco",
    "timo",
    "verbena",
    "zucca",
    "arancio",
    "borragine",
    "carciofo",
    "ciliegio",
    "fragola",
    "limone",
    "melograno",
    "ortica",
    "papavero",
    "ribes",
    "susino",
    "tarassaco",
    "viola",
];

/// Old id → new id, by kind of block.
#[derive(Debug, Default)]
struct Renames {
    categories: BTreeMap<String, String>,
    teams: BTreeMap<String, String>,
    targets: BTreeMap<String, String>,
    channels: BTreeMap<String, String>,
    schedules: BTreeMap<String, String>,
    flows: BTreeMap<String, String>,
    clients: BTreeMap<String, String>,
    fields: BTreeMap<String, String>,
}

fn new_name(map: &BTreeMap<String, String>, old: &str) -> String {
    map.get(old).cloned().unwrap_or_else(|| panic!("`{old}` was not renamed"))
}

impl Renames {
    /// A new word for every id of every block of `book`.
    fn of(book: &Rulebook) -> Renames {
        let mut words =
            WORDS.iter().map(|w| w.to_string()).chain((2..).map(|n| format!("{}{n}", WORDS[n % WORDS.len()])));
        let mut named = |ids: Vec<&String>| -> BTreeMap<String, String> {
            ids.into_iter().map(|id| (id.clone(), words.next().unwrap())).collect()
        };
        Renames {
            categories: named(book.categories.keys().collect()),
            teams: named(book.teams.keys().collect()),
            targets: named(book.targets.keys().collect()),
            channels: named(book.channels.keys().collect()),
            schedules: named(book.schedules.keys().collect()),
            flows: named(book.flows.keys().collect()),
            clients: named(book.clients.keys().collect()),
            fields: named(book.custom_fields.keys().collect()),
        }
    }

    fn category(&self, old: &str) -> String {
        new_name(&self.categories, old)
    }
    fn team(&self, old: &str) -> String {
        new_name(&self.teams, old)
    }
    fn target(&self, old: &str) -> String {
        new_name(&self.targets, old)
    }
    fn channel(&self, old: &str) -> String {
        new_name(&self.channels, old)
    }

    /// Every old id, whatever its block.
    fn old_ids(&self) -> Vec<&str> {
        [&self.categories, &self.teams, &self.targets, &self.channels, &self.clients]
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str))
            .collect()
    }
}

fn rekey<V>(map: &mut BTreeMap<String, V>, names: &BTreeMap<String, String>) {
    *map = std::mem::take(map).into_iter().map(|(k, v)| (new_name(names, &k), v)).collect();
}

fn steps(list: &mut [Step], r: &Renames) {
    for step in list {
        match step {
            Step::Escalate(e) => e.escalate.iter_mut().for_each(|t| *t = r.target(t)),
            Step::Flow(f) => f.flow = new_name(&r.flows, &f.flow),
            Step::Branch(b) => {
                steps(&mut b.then, r);
                steps(&mut b.otherwise, r);
            }
            Step::Name(_) | Step::Classify(_) | Step::End(_) => {}
        }
    }
}

/// Renames the blocks of `book` and every reference to them.
fn rename(book: &mut Rulebook, r: &Renames) {
    rekey(&mut book.categories, &r.categories);
    rekey(&mut book.teams, &r.teams);
    rekey(&mut book.targets, &r.targets);
    rekey(&mut book.channels, &r.channels);
    rekey(&mut book.schedules, &r.schedules);
    rekey(&mut book.flows, &r.flows);
    rekey(&mut book.clients, &r.clients);
    rekey(&mut book.custom_fields, &r.fields);
    for c in book.categories.values_mut() {
        c.channels.iter_mut().flatten().for_each(|ch| *ch = r.channel(ch));
    }
    for ch in book.channels.values_mut() {
        ch.schedule = new_name(&r.schedules, &ch.schedule);
        ch.alternative_channels.iter_mut().for_each(|alt| *alt = r.channel(alt));
        ch.flows = std::mem::take(&mut ch.flows)
            .into_iter()
            .map(|(category, flow)| (r.category(&category), new_name(&r.flows, &flow)))
            .collect();
        ch.menu.values_mut().for_each(|c| *c = r.category(c));
        if let Some(bot) = &mut ch.bot {
            bot.team = r.team(&bot.team);
            bot.category = r.category(&bot.category);
        }
        steps(&mut ch.start, r);
    }
    book.flows.values_mut().for_each(|f| steps(f, r));
    for t in book.targets.values_mut() {
        for field in &mut t.fields {
            if let Some(custom) = field.strip_prefix("custom.") {
                *field = format!("custom.{}", new_name(&r.fields, custom));
            }
        }
    }
    book.sla.schedule = new_name(&r.schedules, &book.sla.schedule);
    for client in book.clients.values_mut() {
        client.categories.values_mut().for_each(|c| *c = r.category(c));
        client.default = r.category(&client.default);
    }
    if let Some(email) = &mut book.email
        && let Some(channel) = &mut email.channel
    {
        *channel = r.channel(channel);
    }
}

/// `rules/tests/*.yaml` with the ids of each case renamed.
fn rename_cases(text: &str, r: &Renames) -> String {
    let mut cases: Value = serde_saphyr::from_str(text).unwrap();
    for case in cases["cases"].as_array_mut().unwrap() {
        let s = |v: &Value| v.as_str().unwrap().to_string();
        case["channel"] = json!(r.channel(&s(&case["channel"])));
        case["category"] = json!(r.category(&s(&case["category"])));
        let expect = &mut case["expect"];
        if let Some(team) = expect.get("team").map(s) {
            expect["team"] = json!(r.team(&team));
        }
        if let Some(targets) = expect.get_mut("escalate_to").and_then(Value::as_array_mut) {
            targets.iter_mut().for_each(|t| *t = json!(r.target(t.as_str().unwrap())));
        }
    }
    serde_json::to_string_pretty(&cases).unwrap()
}

/// A knowledge-base article with the categories of its front matter renamed.
fn rename_article(text: &str, r: &Renames) -> String {
    text.lines()
        .map(|line| match line.strip_prefix("categories: [").and_then(|l| l.strip_suffix(']')) {
            Some(list) => {
                let renamed: Vec<String> = list.split(',').map(|c| r.category(c.trim())).collect();
                format!("categories: [{}]", renamed.join(", "))
            }
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A copy of `rules/` with every id renamed: the rulebook (as JSON, which YAML reads), its test
/// cases and its knowledge base.
fn renamed_rules() -> (tempfile::TempDir, Renames) {
    let text = std::fs::read_to_string(root().join("rules/rulebook.yaml")).unwrap();
    let source = load::Source::from_text("rulebook.yaml", root().join("rules"), text);
    let mut book = load::parse(&source).unwrap_or_else(|e| panic!("{e:?}"));
    let renames = Renames::of(&book);
    rename(&mut book, &renames);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rulebook.yaml"), serde_json::to_string_pretty(&book).unwrap()).unwrap();
    for (from, to) in [("rules/tests", "tests"), ("rules/knowledge", "knowledge")] {
        std::fs::create_dir_all(dir.path().join(to)).unwrap();
        for entry in std::fs::read_dir(root().join(from)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let renamed = if to == "tests" { rename_cases(&text, &renames) } else { rename_article(&text, &renames) };
            std::fs::write(dir.path().join(to).join(path.file_name().unwrap()), renamed).unwrap();
        }
    }
    (dir, renames)
}

/// The rules commands agree on the renamed rulebook: check passes with the same warnings (in the
/// new words), every renamed case passes, explain and graph speak the new ids only.
#[test]
fn renamed_rulebook_passes_check_test_explain_and_graph() {
    let (dir, r) = renamed_rules();
    let rules =
        Rules::load(dir.path()).unwrap_or_else(|e| panic!("{}", e.iter().map(ToString::to_string).collect::<String>()));
    let original = Rules::load(&root().join("rules")).unwrap();
    assert_eq!(rules.warnings.len(), original.warnings.len(), "{:?}", rules.warnings);
    assert!(rules.warnings.iter().any(|w| w.message.contains(&r.category("advanced_info"))), "{:?}", rules.warnings);
    for old in r.old_ids() {
        assert!(!rules.categories.contains_key(old) && !rules.teams.contains_key(old), "`{old}` is still there");
    }

    let (out, code) = run(RulesAction::Check { path: dir.path().into(), cache: false });
    assert_eq!(code, 0, "{out}");
    let (out, code) = run(RulesAction::Test { paths: vec![dir.path().join("tests")], rules: dir.path().into() });
    assert_eq!(code, 0, "{out}");
    let (before, _) = run(RulesAction::Test { paths: vec![root().join("rules/tests")], rules: root().join("rules") });
    assert_eq!(out.lines().last(), before.lines().last(), "as many cases pass as on the original");

    let (out, code) = run(RulesAction::Explain {
        channel: r.channel("voice"),
        category: r.category("malfunction"),
        at: "2026-12-02T10:00".into(),
        facts: vec!["incident_active=false".into()],
        rules: dir.path().into(),
    });
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("escalate → {}", r.target("pagopa_incident_management"))), "{out}");
    assert!(out.contains(&format!("team:        {}", r.team("first_level"))), "{out}");
    assert_columns_aligned(&out);
    let (graph, code) = run(RulesAction::Graph { rules: dir.path().into() });
    assert_eq!(code, 0, "{graph}");
    assert!(graph.contains(&format!("escalate to {}", r.target("pagopa_privacy"))), "{graph}");
    assert!(!graph.contains("pagopa_privacy") && !graph.contains("basic_info"), "{graph}");
}

/// The six scenes of `sportello demo` (chat solved by the bot, a call out of hours, an e-mail
/// answered from the knowledge base, an API request escalated to a queue and a mailbox and
/// resolved on both notices, a malfunction during an incident through the IVR menu, a privacy
/// breach to the privacy team and the DPO) on the renamed rulebook.
#[tokio::test]
async fn the_demo_plays_on_the_renamed_rulebook() {
    let (dir, r) = renamed_rules();
    let options = DemoOptions { rules: dir.path().into(), ..DemoOptions::default() };
    let run = sportello::demo::run(&options, false).await.expect("the demo starts");
    let out = run.lines.join("\n");
    assert!(run.failed.is_empty() && run.skipped.is_empty(), "{:?}\n{out}", run.failed);
    for line in [
        format!("API client `{}`; telephony platform `{}`", new_name(&r.clients, "io"), r.channel("voice")),
        format!("escalated to {}: state awaiting_resolution_notice", r.target("pagopa_specialists")),
        format!("→ {}: POST /operator/targets/{}/notices", r.target("third_parties"), r.target("third_parties")),
        format!("team {}, assignee {OPERATOR_ID}; incident INC-", r.team("first_level")),
        format!("type PI, team {}, assignee {PRIVACY_OPERATOR_ID}", r.team("privacy")),
        "All 6 scenes reached the outcome the flows expect.".to_string(),
    ] {
        assert!(out.contains(&line), "the demo did not print `{line}`:\n{out}");
    }
}

fn ok(reply: sportello::demo::Reply) -> Value {
    assert!(reply.is_success(), "HTTP {}: {}", reply.status, reply.text);
    reply.body
}

async fn act(sb: &Sandbox, who: Staff, method: &str, path: &str, body: Option<Value>) -> Value {
    ok(sb.staff(who, method, path, body.as_ref()).await.unwrap())
}

/// No old id anywhere the engine writes one: a ticket's channel, category and team, its
/// escalations' targets, and who acted.
fn assert_renamed(view: &Value, r: &Renames) {
    let old = r.old_ids();
    let t = &view["ticket"];
    let mut written: Vec<&str> = ["channel", "category", "team"].iter().filter_map(|k| t[k].as_str()).collect();
    written.extend(t["escalations"].as_array().into_iter().flatten().filter_map(|e| e["target"].as_str()));
    written.extend(view["events"].as_array().into_iter().flatten().filter_map(|e| e["actor"]["id"].as_str()));
    for k in ["category", "team", "target", "from", "to"] {
        written.extend(view["events"].as_array().into_iter().flatten().filter_map(|e| e["detail"][k].as_str()));
    }
    written.retain(|w| *w != "bot");
    for w in written {
        assert!(!old.contains(&w), "the old id `{w}` is on the ticket: {view}");
    }
}

fn mail(message_id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Mario Rossi <mario.rossi@example.it>\r\nTo: assistenza@sportello.pagopa.it\r\n\
         Date: Mon, 07 Dec 2026 09:30:00 +0100\r\nMessage-ID: <{message_id}>\r\nSubject: {subject}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The IVR menu key of the renamed rulebook that leads to `category`.
fn menu_key(sb: &Sandbox, category: &str) -> String {
    let rules = &sb.engine.rules;
    let (_, _, voice) = rules.channel_of_kind(ChannelKind::Voice).unwrap();
    voice.menu.iter().find(|(_, c)| rules.categories.key(**c) == category).map(|(k, _)| k.clone()).unwrap()
}

/// The flows the demo does not play, walked over HTTP on the renamed rulebook.
#[tokio::test]
async fn flows_walk_over_http_on_the_renamed_rulebook() {
    let (dir, r) = renamed_rules();
    let sb = Sandbox::start(dir.path(), NOW.parse().unwrap()).await.unwrap();

    // Chat: the bot holds the chat in its own team, then hands it to an operator; with no topic
    // chosen it gets the default category and the default team.
    let start = json!({"session_id": uuid::Uuid::new_v4().to_string(), "lang": "it"});
    let started = ok(sb.client().post_json("/chat/sessions", &[], &start).await.unwrap());
    let chat = started["reference"].as_str().unwrap().to_string();
    let auth = format!("Bearer {}", started["token"].as_str().unwrap());
    let view = act(&sb, Staff::Operator, "GET", &format!("/operator/tickets/{chat}"), None).await;
    assert_eq!(view["ticket"]["team"], json!(r.team("chatbot")), "the bot holds the chat: {view}");
    let said = ok(sb
        .client()
        .post_json(
            &format!("/chat/sessions/{chat}/messages"),
            &[("authorization", &auth)],
            &json!({"text": "Ho un problema con un pagamento pagoPA."}),
        )
        .await
        .unwrap());
    assert!(said["messages"].as_array().unwrap().iter().any(|m| m["from"] == "bot"), "{said}");
    let handed = ok(sb
        .client()
        .request("POST", &format!("/chat/sessions/{chat}/operator"), &[("authorization", &auth)], Vec::new())
        .await
        .unwrap());
    assert_eq!(handed["handed_off"], true, "{handed}");
    sb.settle().await.unwrap();
    let view = act(&sb, Staff::Operator, "GET", &format!("/operator/tickets/{chat}"), None).await;
    assert_eq!(view["ticket"]["category"], json!(r.category("basic_info")), "{view}");
    assert_eq!(view["ticket"]["team"], json!(r.team("first_level")), "{view}");
    assert_renamed(&view, &r);
    let queue = act(&sb, Staff::Operator, "GET", "/operator/queue", None).await;
    assert_eq!(queue["team"], json!(r.team("first_level")), "the operator's queue is the default team's");
    assert!(queue["tickets"].as_array().unwrap().iter().any(|t| t["reference"] == chat.as_str()), "{queue}");
    let base = format!("/operator/tickets/{chat}");
    act(&sb, Staff::Operator, "POST", &format!("{base}/take-in-charge"), None).await;
    act(&sb, Staff::Operator, "POST", &format!("{base}/classify"), Some(json!({"ticket_type": "Q"}))).await;
    act(&sb, Staff::Operator, "POST", &format!("{base}/resolve"), Some(json!({"answer": "Ecco come fare."}))).await;

    // E-mail: a question, then a new mail quoting its reference: the reminder category, and the
    // operator finds the ticket it chases.
    let first = ok(sb.mail_in(&mail("q-1@mail.example.it", "Avviso pagoPA", "Come pago un avviso?")).await.unwrap());
    let earlier = first["reference"].as_str().unwrap().to_string();
    let text = format!("Sollecito: ho scritto per la richiesta {earlier} e non ho ricevuto risposta.");
    let chased = ok(sb.mail_in(&mail("q-2@mail.example.it", "Sollecito", &text)).await.unwrap());
    assert_eq!(chased["action"], "opened", "{chased}");
    let reminder = chased["reference"].as_str().unwrap().to_string();
    sb.settle().await.unwrap();
    let view = act(&sb, Staff::Operator, "GET", &format!("/operator/tickets/{reminder}"), None).await;
    assert_eq!(view["ticket"]["category"], json!(r.category("reminder")), "{view}");
    assert_eq!(view["ticket"]["channel"], json!(r.channel("email")), "{view}");
    let base = format!("/operator/tickets/{reminder}");
    act(&sb, Staff::Operator, "POST", &format!("{base}/take-in-charge"), None).await;
    act(&sb, Staff::Operator, "POST", &format!("{base}/classify"), Some(json!({"ticket_type": "Q"}))).await;
    let found = act(&sb, Staff::Operator, "POST", &format!("{base}/reminder-lookup"), None).await;
    assert_eq!(found["referenced"]["reference"].as_str(), Some(earlier.as_str()), "{found}");
    act(&sb, Staff::Operator, "POST", &format!("{base}/resolve"), Some(json!({"answer": "In lavorazione."}))).await;
    assert_renamed(&act(&sb, Staff::Operator, "GET", &base, None).await, &r);

    // Voice: the IVR menu's privacy key reaches the privacy team, in the privacy operators' queue
    // only; the privacy operator escalates to the DPO and resolves on its notice.
    let call = json!({"call_id": "call-renamed-1", "caller": "+393331234567", "menu": menu_key(&sb, &r.category("privacy_question"))});
    let answer = ok(sb.voice_call(&call).await.unwrap());
    assert_eq!(answer["open"], true, "{answer}");
    let called = answer["reference"].as_str().unwrap().to_string();
    sb.settle().await.unwrap();
    let privacy_queue = act(&sb, Staff::PrivacyOperator, "GET", "/operator/queue", None).await;
    assert_eq!(privacy_queue["team"], json!(r.team("privacy")), "{privacy_queue}");
    assert!(privacy_queue["tickets"].as_array().unwrap().iter().any(|t| t["reference"] == called.as_str()));
    let refused = sb.staff(Staff::Operator, "GET", &format!("/operator/tickets/{called}"), None).await.unwrap();
    assert_eq!(refused.status, 403, "privacy tickets are the privacy team's: {}", refused.text);
    let base = format!("/operator/tickets/{called}");
    act(&sb, Staff::PrivacyOperator, "POST", &format!("{base}/take-in-charge"), None).await;
    let to = json!({"category": r.category("privacy_activity")});
    act(&sb, Staff::PrivacyOperator, "POST", &format!("{base}/categorize"), Some(to)).await;
    let typed =
        act(&sb, Staff::PrivacyOperator, "POST", &format!("{base}/classify"), Some(json!({"ticket_type": "PA"}))).await;
    assert_eq!(typed["team"], json!(r.team("privacy")), "{typed}");
    let dpo = r.target("pagopa_privacy");
    let sent = act(
        &sb,
        Staff::PrivacyOperator,
        "POST",
        &format!("{base}/escalate"),
        Some(json!({"target": dpo, "summary": "Accesso ai dati."})),
    )
    .await;
    assert_eq!(sent["ticket"]["state"], "awaiting_resolution_notice", "{sent}");
    let queued = sb.take_escalations(&sb.queue_of(&dpo).unwrap()).await.unwrap();
    assert_eq!(queued[0]["target"], json!(dpo), "{queued:?}");
    let escalation_id = sent["escalation_id"].as_str().unwrap();
    ok(sb.notice(&dpo, &called, escalation_id, "Dati forniti all'interessato.").await.unwrap());
    act(&sb, Staff::PrivacyOperator, "POST", &format!("{base}/close-contact"), None).await;
    act(&sb, Staff::PrivacyOperator, "POST", &format!("{base}/resolve"), Some(json!({"answer": "Fatto."}))).await;
    assert_renamed(&act(&sb, Staff::PrivacyOperator, "GET", &base, None).await, &r);

    // A malfunction with no incident: the check types it and escalates it to the target the flow
    // names after the check; its notice lets the operator resolve.
    let call = json!({"call_id": "call-renamed-2", "caller": "+393331234567", "menu": menu_key(&sb, &r.category("malfunction"))});
    let answer = ok(sb.voice_call(&call).await.unwrap());
    let broken = answer["reference"].as_str().unwrap().to_string();
    sb.settle().await.unwrap();
    let base = format!("/operator/tickets/{broken}");
    act(&sb, Staff::Operator, "POST", &format!("{base}/take-in-charge"), None).await;
    let checked =
        act(&sb, Staff::Operator, "POST", &format!("{base}/check-incidents"), Some(json!({"service": "pagopa"}))).await;
    let incidents = r.target("pagopa_incident_management");
    assert_eq!(checked["ticket"]["ticket_type"], "I", "{checked}");
    assert_eq!(checked["ticket"]["escalations"][0]["target"], json!(incidents), "{checked}");
    let queued = sb.take_escalations(&sb.queue_of(&incidents).unwrap()).await.unwrap();
    assert_eq!(queued[0]["target"], json!(incidents), "{queued:?}");
    let escalation_id = checked["ticket"]["escalations"][0]["escalation_id"].as_str().unwrap();
    ok(sb.notice(&incidents, &broken, escalation_id, "Guasto risolto.").await.unwrap());
    act(&sb, Staff::Operator, "POST", &format!("{base}/close-contact"), None).await;
    act(&sb, Staff::Operator, "POST", &format!("{base}/resolve"), Some(json!({"answer": "Risolto."}))).await;
    assert_renamed(&act(&sb, Staff::Operator, "GET", &base, None).await, &r);

    // The API: the client's own category lands on the renamed category, which its status shows.
    let body = json!({
        "category": "io_solleciti", "subject": "Sollecito", "message": format!("Sollecito per {earlier}"),
        "requester": {"email": "mario.rossi@example.it"},
    });
    let created = sb.api_post("key-renamed-1", &body).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.str("/category"), r.category("reminder"));
    let status = ok(sb.api_status(created.str("/reference")).await.unwrap());
    assert_eq!(status["category"], json!(r.category("reminder")), "{status}");
}

/// The step lines of `rules explain` keep their columns (step, actor, meaning) aligned, however
/// long the ids: each column starts at the same character on every line.
fn assert_columns_aligned(explained: &str) {
    let steps: Vec<&str> = explained
        .lines()
        .filter(|l| l.trim_start().split_once(". ").is_some_and(|(n, _)| n.parse::<usize>().is_ok()))
        .collect();
    assert!(steps.len() > 3, "{explained}");
    let column_starts = |line: &str| -> Vec<usize> {
        let chars: Vec<char> = line.chars().collect();
        (2..chars.len()).filter(|&i| chars[i] != ' ' && chars[i - 1] == ' ' && chars[i - 2] == ' ').take(3).collect()
    };
    let first = column_starts(steps[0]);
    for line in &steps {
        assert_eq!(column_starts(line)[1..], first[1..], "columns out of line:\n{}", steps.join("\n"));
    }
}
