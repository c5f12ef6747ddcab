//! `sportello demo`: the source's flows walked end to end over HTTP against Sportello running
//! in-process (its own data folder, a free port, a clock set to the scene's time), printing what
//! happens at each step. Six scenes: a chat solved by the bot; a call out of hours; an email
//! question answered from the knowledge base; a specialist request escalated and resolved on the
//! notice; a malfunction report during an incident; a privacy breach.
//!
//! [`Sandbox`] and [`Client`] are also what the end-to-end tests (`tests/flows.rs`) run on.

mod client;
mod sandbox;
mod scenes;

pub use client::{Client, Reply};
pub use sandbox::{
    API_CLIENT, OPERATOR_ID, PRIVACY_OPERATOR_ID, REPLY_EMAIL, REPLY_QUEUE, SUPERVISOR_ID, Sandbox, Staff,
};

use jiff::Timestamp;
use std::path::PathBuf;

/// Monday 7 December 2026, 10:00 in Rome: the operators are in.
pub const DEFAULT_AT: &str = "2026-12-07T10:00:00+01:00";
/// Sunday 6 December 2026, 22:00 in Rome: the operator service is closed.
pub const DEFAULT_CLOSED_AT: &str = "2026-12-06T22:00:00+01:00";

pub struct DemoOptions {
    /// Rulebook file or folder.
    pub rules: PathBuf,
    /// When the in-hours scenes happen: RFC 3339, or local time in the voice channel's zone.
    pub at: String,
    /// When the out-of-hours call comes in.
    pub closed_at: String,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self { rules: PathBuf::from("rules"), at: DEFAULT_AT.into(), closed_at: DEFAULT_CLOSED_AT.into() }
    }
}

/// What the demo printed and whether every scene reached its expected outcome.
pub struct DemoRun {
    pub lines: Vec<String>,
    pub failed: Vec<String>,
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
/// port); a scene that goes wrong is listed in [`DemoRun::failed`].
pub async fn run(options: &DemoOptions, echo: bool) -> Result<DemoRun, String> {
    let rules = crate::rules::Rules::load(&options.rules).map_err(|errors| {
        let shown: String = errors.iter().map(|d| format!("{d}\n")).collect();
        format!("the rulebook `{}` has errors:\n\n{shown}", options.rules.display())
    })?;
    let at = parse_time(&rules, &options.at).map_err(|e| format!("--at: {e}"))?;
    let closed_at = parse_time(&rules, &options.closed_at).map_err(|e| format!("--closed-at: {e}"))?;
    if !in_service_hours(&rules, at)? {
        return Err(format!("--at: {} is outside the voice channel's service hours; pick a time in hours", options.at));
    }
    if in_service_hours(&rules, closed_at)? {
        return Err(format!(
            "--closed-at: {} is in service hours; pick a time the service is closed",
            options.closed_at
        ));
    }
    let sandbox = Sandbox::start(&options.rules, at).await?;
    let mut out = Narrator { lines: Vec::new(), echo };
    out.say(format!(
        "Sportello demo: a server on {} (rulebook {}, a throw-away data folder).",
        sandbox.client.base_url(),
        options.rules.display()
    ));
    out.say(format!(
        "Operators {OPERATOR_ID} (operator), {PRIVACY_OPERATOR_ID} (privacy team), {SUPERVISOR_ID} (supervisor); API client `{API_CLIENT}`."
    ));
    let mut failed = Vec::new();
    for scene in scenes::ALL {
        out.say("");
        out.say(format!("== {}", scene.title));
        let when = if scene.out_of_hours { closed_at } else { at };
        sandbox.set_now(when);
        out.say(format!("   at {}", local(&rules, when)));
        match (scene.run)(&sandbox, &mut out).await {
            Ok(outcome) => out.say(format!("   OK: {outcome}")),
            Err(why) => {
                out.say(format!("   FAILED: {why}"));
                failed.push(format!("{}: {why}", scene.title));
            }
        }
    }
    out.say("");
    if failed.is_empty() {
        out.say(format!("All {} scenes reached the outcome the flows expect.", scenes::ALL.len()));
    } else {
        out.say(format!("{} of {} scenes failed.", failed.len(), scenes::ALL.len()));
    }
    Ok(DemoRun { lines: out.lines, failed })
}

fn parse_time(rules: &crate::rules::Rules, text: &str) -> Result<Timestamp, String> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let civil: jiff::civil::DateTime = text
        .parse()
        .map_err(|_| format!("`{text}` is not a time; write e.g. 2026-12-07T10:00 or 2026-12-07T10:00:00+01:00"))?;
    let tz = rules.time_zone_of(scenes::VOICE).cloned().unwrap_or(jiff::tz::TimeZone::UTC);
    civil.to_zoned_datetime(tz).map(|z| z.timestamp()).map_err(|e| e.to_string())
}

fn in_service_hours(rules: &crate::rules::Rules, at: Timestamp) -> Result<bool, String> {
    let contact = crate::rules::Contact {
        channel: scenes::VOICE,
        category: "basic_info",
        at,
        facts: crate::rules::Facts::default(),
    };
    rules.evaluate(&contact).map(|d| d.in_service_hours).map_err(|e| e.to_string())
}

/// A time as the people in the scene read it.
fn local(rules: &crate::rules::Rules, at: Timestamp) -> String {
    let tz = rules.time_zone_of(scenes::VOICE).cloned().unwrap_or(jiff::tz::TimeZone::UTC);
    let z = at.to_zoned_datetime(tz);
    format!("{} ({})", z.strftime("%A %-d %B %Y, %H:%M"), z.time_zone().iana_name().unwrap_or("UTC"))
}
