//! Errors and warnings about a rulebook, each located at file:line:col with the offending line,
//! rendered the way compilers do.

use super::source_map::{Pos, SourceMap};
use crate::text::thousands;
use std::fmt::{self, Write as _};

/// The most diagnostics a check shows: past them, one last line counts the rest. A generated or
/// badly merged file can hold tens of thousands of errors, and the first ones are what to fix.
pub const MAX_SHOWN: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// JSON pointer of the node the message is about (`/channels/voice/schedule`).
    pub pointer: String,
    /// Point at the key rather than the value (unknown keys, duplicate definitions).
    pub at_key: bool,
    pub help: Option<String>,
    /// Filled in by the loader from the source map.
    pub location: Option<Location>,
    /// Set on the last line of a list cut at [`MAX_SHOWN`]: how many were left out.
    pub omitted: Option<Omitted>,
}

/// What a cut list of diagnostics left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Omitted {
    pub errors: usize,
    pub warnings: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub file: String,
    pub pos: Pos,
    pub line_text: String,
}

impl Diagnostic {
    pub fn error(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            pointer: pointer.into(),
            at_key: false,
            help: None,
            location: None,
            omitted: None,
        }
    }

    pub fn warning(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(pointer, message) }
    }

    pub fn at_key(mut self) -> Self {
        self.at_key = true;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds "did you mean" when a known name is close to the unknown one.
    pub fn suggest<'a>(self, unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Self {
        match did_you_mean(unknown, known) {
            Some(best) => self.with_help(format!("did you mean `{best}`?")),
            None => self,
        }
    }

    pub fn locate(&mut self, file: &str, text: &str, map: &SourceMap) {
        let pos = map.locate(&self.pointer, self.at_key).unwrap_or_default();
        let line_text = map.line(text, pos.line).to_string();
        self.location = Some(Location { file: file.to_string(), pos, line_text });
    }

    pub fn locate_at(&mut self, file: &str, text: &str, pos: Pos) {
        let line_text = text.lines().nth(pos.line.saturating_sub(1)).unwrap_or("").to_string();
        self.location = Some(Location { file: file.to_string(), pos, line_text });
    }

    pub fn with_help_if_none(self, help: impl Into<String>) -> Self {
        if self.help.is_none() { self.with_help(help) } else { self }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// How many errors and warnings this diagnostic stands for: one, or what a cut list left out.
    pub fn counts(&self) -> Omitted {
        match (self.omitted, self.severity) {
            (Some(o), _) => o,
            (None, Severity::Error) => Omitted { errors: 1, warnings: 0 },
            (None, Severity::Warning) => Omitted { errors: 0, warnings: 1 },
        }
    }
}

/// Keeps the first [`MAX_SHOWN`] diagnostics (the caller has sorted them) and replaces the rest
/// with one that counts them.
pub fn limit(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    if diagnostics.len() <= MAX_SHOWN {
        return diagnostics;
    }
    let rest = diagnostics.split_off(MAX_SHOWN);
    let errors = rest.iter().filter(|d| d.is_error()).count();
    let omitted = Omitted { errors, warnings: rest.len() - errors };
    let mut what = Vec::new();
    for (n, one, many) in [(omitted.errors, "error", "errors"), (omitted.warnings, "warning", "warnings")] {
        if n > 0 {
            what.push(format!("{} more {}", thousands(n), if n == 1 { one } else { many }));
        }
    }
    let severity = if errors > 0 { Severity::Error } else { Severity::Warning };
    let mut summary = Diagnostic::error("", format!("and {}, not shown", what.join(" and ")))
        .with_help("fix the ones above and check again");
    summary.severity = severity;
    summary.omitted = Some(omitted);
    diagnostics.push(summary);
    diagnostics
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{label}: {}", self.message)?;
        if let Some(loc) = &self.location {
            let number = loc.pos.line.to_string();
            let pad = " ".repeat(number.len());
            writeln!(f, "{pad}--> {}:{}:{}", loc.file, loc.pos.line, loc.pos.col)?;
            writeln!(f, "{pad} |")?;
            writeln!(f, "{number} | {}", loc.line_text)?;
            let mut marker = String::new();
            // Keep tabs so the caret lines up under the offending text.
            for c in loc.line_text.chars().take(loc.pos.col.saturating_sub(1)) {
                marker.push(if c == '\t' { '\t' } else { ' ' });
            }
            let width = loc.pos.len.clamp(1, loc.line_text.chars().count().saturating_sub(loc.pos.col - 1).max(1));
            let _ = write!(marker, "{}", "^".repeat(width));
            writeln!(f, "{pad} | {marker}")?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

pub use crate::text::did_you_mean;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::edit_distance;

    #[test]
    fn suggestions_catch_typos_only() {
        let known = ["schedule", "schedules", "start", "flows"];
        assert_eq!(did_you_mean("schedul", known), Some("schedule"));
        assert_eq!(did_you_mean("flws", known), Some("flows"));
        assert_eq!(did_you_mean("colour", known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("emial", "email"), 1);
        assert_eq!(did_you_mean("emial", ["email", "voice"]), Some("email"));
        assert_eq!(edit_distance("emial", "email"), 1);
        assert_eq!(did_you_mean("emial", ["email", "voice"]), Some("email"));
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let many: Vec<Diagnostic> = (0..40_000)
            .map(|i| Diagnostic::error(format!("/k{i}"), "unknown key"))
            .chain((0..3).map(|i| Diagnostic::warning(format!("/w{i}"), "odd")))
            .collect();
        let cut = limit(many);
        assert_eq!(cut.len(), MAX_SHOWN + 1);
        let last = cut.last().unwrap();
        assert_eq!(
            last.to_string(),
            "error: and 39,900 more errors and 3 more warnings, not shown\n  = help: fix the ones above and check again\n"
        );
        let total = cut.iter().map(Diagnostic::counts).fold((0, 0), |(e, w), c| (e + c.errors, w + c.warnings));
        assert_eq!(total, (40_000, 3));
        assert_eq!(limit(vec![Diagnostic::error("/a", "x")]).len(), 1);
    }

    #[test]
    fn renders_location_line_and_caret() {
        let text = "a: 1\nchannels:\n  voice:\n    schedul: x\n";
        let map = SourceMap::index(text);
        let mut d = Diagnostic::error("/channels/voice/schedul", "unknown key `schedul`")
            .at_key()
            .suggest("schedul", ["schedule"]);
        d.locate("rules/rulebook.yaml", text, &map);
        let shown = d.to_string();
        assert_eq!(
            shown,
            "error: unknown key `schedul`\n --> rules/rulebook.yaml:4:5\n  |\n4 |     schedul: x\n  |     ^^^^^^^\n  = help: did you mean `schedule`?\n"
        );
    }
}
