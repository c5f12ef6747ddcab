//! `sportello demo`: the source's flows walked end to end over HTTP against Sportello running
//! in-process (its own data folder, a free port, a clock set to the scene's time), printing what
//! happens at each step. Six scenes: a chat solved by the bot; a call out of hours; an email
//! question answered from the knowledge base; a specialist request escalated and resolved on the
//! notice; a malfunction report during an incident; a privacy breach. With `--url` the same
//! scenes play against a Sportello already running ([`Remote`]), with the credentials given.
//!
//! [`Sandbox`] and [`Client`] are also what the end-to-end tests (`tests/it/flows.rs`) run on.

pub mod cast;
mod client;
mod sandbox;
mod scenes;
mod stage;

pub use client::{Client, Reply};
pub use sandbox::{OPERATOR_ID, PRIVACY_OPERATOR_ID, REPLY_EMAIL, REPLY_QUEUE, SUPERVISOR_ID, Sandbox};
pub use scenes::{mail_in_reply_to, mail_subject};
pub use stage::{Callers, Remote, RemoteCredentials, Staff, Stage, queue_of};

use scenes::Hours;

use jiff::Timestamp;
use std::path::PathBuf;

/// Monday 7 December 2026, 10:00 in Rome: the operators are in.
pub const DEFAULT_AT: &str = "2026-12-07T10:00:00+01:00";
/// Sunday 6 December 2026, 22:00 in Rome: the operator service is closed.
pub const DEFAULT_CLOSED_AT: &str = "2026-12-06T22:00:00+01:00";

pub struct DemoOptions {
    /// Rulebook file or folder (with `--url`, the one the server runs).
    pub rules: PathBuf,
    /// When the in-hours scenes happen: RFC 3339, or local time in the voice channel's zone
    /// (default [`DEFAULT_AT`]).
    pub at: Option<String>,
    /// When the out-of-hours call comes in (default [`DEFAULT_CLOSED_AT`]).
    pub closed_at: Option<String>,
    /// A Sportello already running, instead of one in-process.
    pub url: Option<String>,
    /// What `url` needs.
    pub credentials: RemoteCredentials,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            rules: PathBuf::from("rules"),
            at: None,
            closed_at: None,
            url: None,
            credentials: RemoteCredentials::default(),
        }
    }
}

/// What the demo printed and whether every scene reached its expected outcome.
pub struct DemoRun {
    pub lines: Vec<String>,
    pub failed: Vec<String>,
    /// Scenes a running server's clock did not allow (`--url` only).
    pub skipped: Vec<String>,
}

/// Where the demo's lines go: kept, and printed as they come when `echo`.
pub struct Narrator {
    lines: Vec<String>,
    echo: bool,
}

impl Narrator {
    pub fn say(&mut self, line: impl Into<String>) {
        let line = line.into();
        if self.echo {
            println!("{line}");
        }
        self.lines.push(line);
    }
}

/// Runs the six scenes. `Err` only when the demo cannot start (bad options, no rulebook, no
/// port, a server that does not answer); a scene that goes wrong is listed in
/// [`DemoRun::failed`].
pub async fn run(options: &DemoOptions, echo: bool) -> Result<DemoRun, String> {
    let rules = crate::server::load_rules(&options.rules)?;
    let mut out = Narrator { lines: Vec::new(), echo };
    match &options.url {
        None => in_process(options, rules, &mut out).await,
        Some(url) => {
            if options.at.is_some() || options.closed_at.is_some() {
                return Err(
                    "--at and --closed-at set the in-process server's clock; with --url the server's own clock decides"
                        .into(),
                );
            }
            let mut credentials = options.credentials.clone();
            for (target, secret) in RemoteCredentials::notice_secrets_from_env(&rules) {
                credentials.notice_secrets.entry(target).or_insert(secret);
            }
            let remote = Remote::connect(url, rules, credentials).await?;
            out.say(format!("Sportello demo against {url} (rulebook {}).", options.rules.display()));
            let now = Timestamp::now();
            let open = in_service_hours(remote.rules(), now)?;
            let clock = format!(
                "the server's clock says {}, {} service hours",
                local(remote.rules(), now),
                if open { "in" } else { "out of" }
            );
            scenes_on(&remote, &mut out, |hours| match (hours, open) {
                (Hours::In, false) | (Hours::Out, true) => Err(clock.clone()),
                _ => Ok(None),
            })
            .await
        }
    }
}

async fn in_process(options: &DemoOptions, rules: crate::rules::Rules, out: &mut Narrator) -> Result<DemoRun, String> {
    let at_text = options.at.as_deref().unwrap_or(DEFAULT_AT);
    let closed_text = options.closed_at.as_deref().unwrap_or(DEFAULT_CLOSED_AT);
    let at = parse_time(&rules, at_text).map_err(|e| format!("--at: {e}"))?;
    let closed_at = parse_time(&rules, closed_text).map_err(|e| format!("--closed-at: {e}"))?;
    if !in_service_hours(&rules, at)? {
        return Err(format!("--at: {at_text} is outside the voice channel's service hours; pick a time in hours"));
    }
    if in_service_hours(&rules, closed_at)? {
        return Err(format!("--closed-at: {closed_text} is in service hours; pick a time the service is closed"));
    }
    let sandbox = Sandbox::start(&options.rules, at).await?;
    out.say(format!(
        "Sportello demo: a server on {} (rulebook {}, a throw-away data folder).",
        sandbox.client().base_url(),
        options.rules.display()
    ));
    out.say(format!(
        "Operators {OPERATOR_ID} (operator), {PRIVACY_OPERATOR_ID} (privacy team), {SUPERVISOR_ID} (supervisor); API client `{}`; telephony platform `{}`.",
        cast::api_client(&rules).unwrap_or("-"),
        cast::voice_channel(&rules).unwrap_or("-")
    ));
    scenes_on(&sandbox, out, |hours| {
        let when = if hours == Hours::Out { closed_at } else { at };
        sandbox.set_now(when);
        Ok(Some(local(&rules, when)))
    })
    .await
}

/// Plays every scene; `when` sets the clock for a scene (and says the time), or says why the
/// scene cannot be played now.
async fn scenes_on(
    stage: &dyn Stage,
    out: &mut Narrator,
    when: impl Fn(Hours) -> Result<Option<String>, String>,
) -> Result<DemoRun, String> {
    let (mut failed, mut skipped) = (Vec::new(), Vec::new());
    for scene in scenes::ALL {
        out.say("");
        out.say(format!("== {}", scene.title));
        match when(scene.hours) {
            Ok(Some(time)) => out.say(format!("   at {time}")),
            Ok(None) => {}
            Err(why) => {
                out.say(format!("   skipped: {why}"));
                skipped.push(scene.title.to_string());
                continue;
            }
        }
        match (scene.run)(stage, out).await {
            Ok(outcome) => out.say(format!("   OK: {outcome}")),
            Err(why) => {
                out.say(format!("   FAILED: {why}"));
                failed.push(format!("{}: {why}", scene.title));
            }
        }
    }
    out.say("");
    let played = scenes::ALL.len() - skipped.len();
    if failed.is_empty() {
        let which = if skipped.is_empty() { "" } else { " played" };
        out.say(format!("All {played} scenes{which} reached the outcome the flows expect."));
    } else {
        out.say(format!("{} of {played} scenes failed.", failed.len()));
    }
    if !skipped.is_empty() {
        out.say(format!(
            "{} scene(s) skipped: the server's clock is on the other side of the service hours.",
            skipped.len()
        ));
    }
    Ok(DemoRun { lines: std::mem::take(&mut out.lines), failed, skipped })
}

fn parse_time(rules: &crate::rules::Rules, text: &str) -> Result<Timestamp, String> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let civil: jiff::civil::DateTime = text
        .parse()
        .map_err(|_| format!("`{text}` is not a time; write e.g. 2026-12-07T10:00 or 2026-12-07T10:00:00+01:00"))?;
    let tz = voice_time_zone(rules);
    civil.to_zoned_datetime(tz).map(|z| z.timestamp()).map_err(|e| e.to_string())
}

/// The voice channel's time zone: the scenes' times are read in it.
fn voice_time_zone(rules: &crate::rules::Rules) -> jiff::tz::TimeZone {
    cast::voice_channel(rules).ok().and_then(|v| rules.time_zone_of(v)).cloned().unwrap_or(jiff::tz::TimeZone::UTC)
}

/// Whether a call at `at` reaches the operators.
fn in_service_hours(rules: &crate::rules::Rules, at: Timestamp) -> Result<bool, String> {
    let contact = crate::rules::Contact {
        channel: cast::voice_channel(rules)?,
        category: rules.default_category().as_str(),
        at,
        facts: crate::rules::Facts::default(),
    };
    rules.evaluate(&contact).map(|d| d.in_service_hours).map_err(|e| e.to_string())
}

/// A time as the people in the scene read it.
fn local(rules: &crate::rules::Rules, at: Timestamp) -> String {
    let z = at.to_zoned_datetime(voice_time_zone(rules));
    format!("{} ({})", z.strftime("%A %-d %B %Y, %H:%M"), z.time_zone().iana_name().unwrap_or("UTC"))
}
