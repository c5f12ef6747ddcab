//! What the `sportello rules` commands do, kept in the library so tests can run them.

use crate::rules::cases;
use crate::rules::check::{self, Summary};
use crate::rules::check_cache::{CacheFile, CheckCache};
use crate::rules::{Contact, Diagnostic, Facts, Rules, Severity, explain, graph, load, vocabulary};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub enum RulesAction {
    Check {
        path: PathBuf,
        /// Reuse and update `rules check`'s cache (`rules::check_cache`).
        cache: bool,
    },
    /// `rules check`, then the compiled form beside the YAML (`rules::compiled`).
    Compile {
        path: PathBuf,
    },
    Explain {
        channel: String,
        category: String,
        at: String,
        facts: Vec<String>,
        rules: PathBuf,
    },
    Test {
        paths: Vec<PathBuf>,
        rules: PathBuf,
    },
    Graph {
        rules: PathBuf,
    },
    Schema,
}

pub fn rules(action: RulesAction) -> ExitCode {
    let (out, code) = run(action);
    if code == 0 {
        print!("{out}");
    } else {
        eprint!("{out}");
    }
    ExitCode::from(code)
}

fn print_diagnostics(out: &mut String, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        out.push_str(&d.to_string());
        out.push('\n');
    }
}

fn load_or_report(path: &Path, out: &mut String) -> Option<Rules> {
    reported(path, Rules::load(path), out)
}

fn reported<T>(path: &Path, loaded: Result<T, Vec<Diagnostic>>, out: &mut String) -> Option<T> {
    match loaded {
        Ok(r) => Some(r),
        Err(diagnostics) => {
            out.push_str(&format!("rulebook `{}` has errors:\n\n", path.display()));
            print_diagnostics(out, &diagnostics);
            let (errors, warnings) =
                diagnostics.iter().map(Diagnostic::counts).fold((0, 0), |(e, w), c| (e + c.errors, w + c.warnings));
            out.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
            None
        }
    }
}

/// What `rules check` prints of a rulebook that passed: what it holds, then its warnings.
fn check_summary(file: &str, summary: &Summary, articles: usize, warnings: &[Diagnostic], out: &mut String) {
    out.push_str(&format!("Checking '{file}'  SUCCESS\nFound:\n"));
    let whats =
        ["categories", "channels", "teams", "schedules", "flows", "escalation targets", "SLA targets", "messages"];
    for (n, what) in summary.counts.iter().zip(whats).chain([(&articles, "knowledge articles")]) {
        out.push_str(&format!(" - {n} {what}\n"));
    }
    out.push_str(&format!(" - languages: {}\n", summary.languages.join(", ")));
    out.push_str(&summary.roles);
    if !warnings.is_empty() {
        let count: usize = warnings.iter().map(|w| w.counts().warnings).sum();
        out.push_str(&format!("\n{count} warning(s):\n\n"));
        print_diagnostics(out, warnings);
    }
}

/// [`check_summary`] of a loaded rulebook.
fn rules_summary(rules: &Rules, out: &mut String) {
    let summary = Summary::of(&rules.model);
    check_summary(&rules.file, &summary, rules.knowledge.ids().len(), &rules.warnings, out);
}

/// Runs a rules command; returns what it prints and its exit status.
pub fn run(action: RulesAction) -> (String, u8) {
    let mut out = String::new();
    match action {
        RulesAction::Check { path, cache } => {
            let file = if cache { CacheFile::read(&path) } else { CacheFile::off() };
            let mut cache = CheckCache::open(&file);
            let checked = check::check(&path, &mut cache);
            // A cache that cannot be written only makes the next check slower: the report is
            // the same with or without it.
            let _ = cache.save();
            let Some(report) = reported(&path, checked, &mut out) else {
                return (out, 1);
            };
            check_summary(&report.file, &report.summary, report.articles, &report.warnings, &mut out);
            (out, 0)
        }
        RulesAction::Compile { path } => {
            let Some((rules, written)) = reported(&path, crate::rules::compiled::compile(&path), &mut out) else {
                out.push_str("nothing was compiled: fix the errors above, then run `sportello rules compile` again\n");
                return (out, 1);
            };
            rules_summary(&rules, &mut out);
            let size = std::fs::metadata(&written).map(|m| m.len()).unwrap_or_default();
            out.push_str(&format!(
                "\nCompiled '{}' into '{}' ({size} bytes, format version {}): the functions load it \
                 instead of the YAML while the YAML and the articles stay as they are now.\n",
                rules.file,
                written.display(),
                crate::rules::compiled::FORMAT_VERSION
            ));
            (out, 0)
        }
        RulesAction::Explain { channel, category, at, facts, rules } => {
            let Some(rules) = load_or_report(&rules, &mut out) else {
                return (out, 1);
            };
            let mut known = Facts::default();
            for f in &facts {
                let Some((name, value)) = f.split_once('=') else {
                    return (format!("--fact `{f}`: write NAME=true or NAME=false\n"), 2);
                };
                let Ok(value) = value.trim().parse::<bool>() else {
                    return (format!("--fact `{f}`: the value must be true or false\n"), 2);
                };
                if name == "in_service_hours" {
                    return ("--fact in_service_hours: it is computed from --at; change --at instead\n".into(), 2);
                }
                if !known.set(name.trim(), value) {
                    let names: Vec<&str> = vocabulary::FACTS.iter().map(|(f, _)| *f).collect();
                    let hint = crate::rules::diagnostic::did_you_mean(name, names.iter().copied())
                        .map(|b| format!(" (did you mean `{b}`?)"))
                        .unwrap_or_default();
                    return (format!("--fact: unknown fact `{name}`{hint}; facts: {}\n", names.join(", ")), 2);
                }
            }
            let at = match parse_time(&rules, &channel, &at) {
                Ok(t) => t,
                Err(e) => return (format!("--at: {e}\n"), 2),
            };
            match rules.evaluate(&Contact { channel: &channel, category: &category, at, facts: known }) {
                Ok(decision) => (explain::render(&rules, &decision, &channel, &category), 0),
                Err(e) => (format!("{e}\n"), 2),
            }
        }
        RulesAction::Test { paths, rules } => {
            let Some(rules) = load_or_report(&rules, &mut out) else {
                return (out, 1);
            };
            let files = match cases::collect(&paths) {
                Ok(f) => f,
                Err(e) => return (format!("cannot read test cases: {e}\n"), 1),
            };
            let (mut passed, mut failed) = (0, 0);
            for file in files {
                out.push_str(&format!("{}\n", file.display()));
                match cases::run_file(&rules, &file) {
                    Err(diagnostics) => {
                        failed += 1;
                        print_diagnostics(&mut out, &diagnostics);
                    }
                    Ok(results) => {
                        for r in results {
                            if r.passed() {
                                passed += 1;
                                out.push_str(&format!("  ok    {}\n", r.name));
                            } else {
                                failed += 1;
                                out.push_str(&format!("  FAIL  {} ({}:{})\n", r.name, r.file, r.line));
                                for f in &r.failures {
                                    out.push_str(&format!("      {f}\n"));
                                }
                                if !r.actual.is_empty() {
                                    out.push_str(&format!("      the flow did: {}\n", r.actual));
                                }
                            }
                        }
                    }
                }
            }
            out.push_str(&format!("\n{passed} passed, {failed} failed\n"));
            (out, u8::from(failed > 0))
        }
        RulesAction::Graph { rules } => {
            // The graph draws the flows as written (branches and all), so it reads the checked
            // YAML model rather than the paths the engine keeps.
            let Some((checked, _)) = reported(&rules, load::load(&rules), &mut out) else {
                return (out, 1);
            };
            (graph::mermaid(&checked.book), 0)
        }
        RulesAction::Schema => (load::schema_text(), 0),
    }
}

/// What the engine will take from the rulebook where it needs "the" one of something.
fn parse_time(rules: &Rules, channel: &str, at: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = at.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let civil: jiff::civil::DateTime =
        at.parse().map_err(|_| format!("`{at}` is not a time; write e.g. 2026-12-26T21:30:00+01:00"))?;
    let tz = rules.time_zone_of(channel).cloned().unwrap_or(jiff::tz::TimeZone::UTC);
    civil.to_zoned_datetime(tz).map(|z| z.timestamp()).map_err(|e| e.to_string())
}

#[allow(dead_code)]
fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
