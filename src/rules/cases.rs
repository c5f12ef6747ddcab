//! `rules test`: YAML cases that pin what a flow does, checked against a rulebook.

use super::diagnostic::{Diagnostic, did_you_mean};
use super::engine::{Contact, Rules};
use super::load::Source;
use super::vocabulary;
use super::walk::Facts;
use crate::domain::{Outcome, TicketType};
use jiff::Timestamp;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub channel: String,
    pub category: String,
    /// RFC 3339 (`2026-12-26T21:30:00+01:00`), or a local time read in the channel's time zone.
    pub at: String,
    #[serde(default)]
    pub facts: BTreeMap<String, bool>,
    pub expect: Expect,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub in_service_hours: Option<bool>,
    pub outcome: Option<Outcome>,
    /// An ordered subsequence of the path's steps.
    pub steps: Option<Vec<String>>,
    pub not_steps: Option<Vec<String>>,
    pub ticket_type: Option<TicketType>,
    pub team: Option<String>,
    /// The set of targets the path escalates to or offers.
    pub escalate_to: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct CaseResult {
    pub file: String,
    pub line: usize,
    pub name: String,
    /// Empty when the case passed; otherwise one line per failed expectation.
    pub failures: Vec<String>,
    /// What the flow did, shown on failure.
    pub actual: String,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Case files under the given files and folders (folders: every `*.yaml`/`*.yml`, recursively).
pub fn collect(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            let (dirs, files): (Vec<_>, Vec<_>) = entries.into_iter().partition(|e| e.is_dir());
            out.extend(files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml")));
            out.extend(collect(&dirs)?);
        } else {
            std::fs::metadata(p)?;
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn parse_at(rules: &Rules, channel: &str, at: &str) -> Result<Timestamp, String> {
    if let Ok(ts) = at.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(z) = at.parse::<jiff::ZonedDateTime>() {
        return Ok(z.timestamp());
    }
    let civil: jiff::civil::DateTime =
        at.parse().map_err(|_| format!("`{at}` is not a time; write RFC 3339, e.g. `2026-12-26T21:30:00+01:00`"))?;
    let tz = rules.time_zone_of(channel).ok_or_else(|| format!("unknown channel `{channel}`"))?;
    civil.to_zoned_datetime(tz.clone()).map(|z| z.timestamp()).map_err(|e| e.to_string())
}

/// Runs one case file. A file that cannot be read or parsed gives located diagnostics.
pub fn run_file(rules: &Rules, path: &Path) -> Result<Vec<CaseResult>, Vec<Diagnostic>> {
    let source = Source::read(path).map_err(|d| vec![*d])?;
    let file: CaseFile = serde_saphyr::from_str(&source.text).map_err(|e| {
        let mut d = Diagnostic::error(
            "",
            e.without_snippet().to_string().split(" at line ").next().unwrap_or_default().to_string(),
        );
        if let Some(l) = e.location() {
            d.locate_at(
                &source.file,
                &source.text,
                super::source_map::Pos { line: l.line() as usize, col: l.column() as usize, len: 1 },
            );
        }
        vec![d]
    })?;
    Ok(file.cases.iter().enumerate().map(|(i, case)| run_case(rules, &source, i, case)).collect())
}

fn run_case(rules: &Rules, source: &Source, index: usize, case: &Case) -> CaseResult {
    let line = source.map.locate(&format!("/cases/{index}"), false).map(|p| p.line).unwrap_or(0);
    let mut result = CaseResult {
        file: source.file.clone(),
        line,
        name: case.name.clone(),
        failures: Vec::new(),
        actual: String::new(),
    };
    let mut facts = Facts::default();
    for (name, value) in &case.facts {
        if name == "in_service_hours" {
            result.failures.push("facts: `in_service_hours` is computed from `at`; set `at` instead".into());
        } else if !facts.set(name, *value) {
            let known = vocabulary::FACTS.iter().map(|(f, _)| *f);
            let hint = did_you_mean(name, known).map(|b| format!(" (did you mean `{b}`?)")).unwrap_or_default();
            result.failures.push(format!("facts: unknown fact `{name}`{hint}"));
        }
    }
    let at = match parse_at(rules, &case.channel, &case.at) {
        Ok(at) => at,
        Err(e) => {
            result.failures.push(format!("at: {e}"));
            return result;
        }
    };
    let decision = match rules.evaluate(&Contact { channel: &case.channel, category: &case.category, at, facts }) {
        Ok(d) => d,
        Err(e) => {
            result.failures.push(e.to_string());
            return result;
        }
    };
    let w = decision.path;
    let steps = w.step_names();
    let named: Vec<&String> = case.expect.steps.iter().chain(case.expect.not_steps.iter()).flatten().collect();
    for name in named {
        let known =
            vocabulary::builtin(name).is_some() || rules.custom_steps.contains_key(name.as_str()) || name == "end";
        if !known {
            let all = vocabulary::STEPS.iter().map(|s| s.name).chain(rules.custom_steps.keys().map(|k| k.as_str()));
            let hint = did_you_mean(name, all).map(|b| format!(" (did you mean `{b}`?)")).unwrap_or_default();
            result.failures.push(format!("expect: unknown step `{name}`{hint}"));
        }
    }
    let e = &case.expect;
    let mut fail = |what: &str, expected: String, got: String| {
        result.failures.push(format!("{what}: expected {expected}, got {got}"))
    };
    if let Some(x) = e.in_service_hours
        && x != decision.in_service_hours
    {
        fail("in_service_hours", x.to_string(), decision.in_service_hours.to_string());
    }
    if let Some(x) = e.outcome
        && Some(x) != w.outcome
    {
        fail("outcome", x.to_string(), w.outcome.map(|o| o.to_string()).unwrap_or("none".into()));
    }
    if let Some(x) = e.ticket_type
        && Some(x) != w.ticket_type
    {
        fail("ticket_type", x.to_string(), w.ticket_type.map(|t| t.to_string()).unwrap_or("none".into()));
    }
    if let Some(x) = &e.team
        && decision.team != x
    {
        fail("team", x.clone(), decision.team.to_string());
    }
    let escalate_to: Vec<&str> = decision.escalate_to.iter().map(|t| t.as_str()).collect();
    if let Some(x) = &e.escalate_to {
        let mut want: Vec<&str> = x.iter().map(String::as_str).collect();
        let mut got = escalate_to.clone();
        want.sort_unstable();
        want.dedup();
        got.sort_unstable();
        if want != got {
            fail("escalate_to", format!("[{}]", want.join(", ")), format!("[{}]", got.join(", ")));
        }
    }
    if let Some(x) = &e.steps {
        let mut rest = steps.iter();
        if let Some(missing) = x.iter().find(|want| !rest.any(|s| s == want)) {
            let why = if steps.contains(&missing.as_str()) { "out of order" } else { "missing" };
            fail("steps", format!("[{}] in this order", x.join(", ")), format!("`{missing}` {why}"));
        }
    }
    if let Some(x) = &e.not_steps {
        for s in x.iter().filter(|s| steps.contains(&s.as_str())) {
            fail(
                "not_steps",
                format!("no `{s}`"),
                format!("`{s}` at step {}", steps.iter().position(|t| t == s).unwrap_or(0) + 1),
            );
        }
    }
    result.actual = format!(
        "in_service_hours={}, outcome={}, ticket_type={}, team={}, escalate_to=[{}]\n      steps: {}",
        decision.in_service_hours,
        w.outcome.map(|o| o.to_string()).unwrap_or("none".into()),
        w.ticket_type.map(|t| t.to_string()).unwrap_or("none".into()),
        decision.team,
        escalate_to.join(", "),
        steps.join(" → ")
    );
    result
}
