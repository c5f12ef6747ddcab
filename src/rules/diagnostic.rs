//! Errors and warnings about a rulebook, each located at file:line:col with the offending line,
//! rendered the way compilers do.

use super::source_map::{Pos, SourceMap};
use std::fmt::{self, Write as _};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
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
        self.locate_at(file, text, pos);
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

/// Edit distance between two short names (Levenshtein, by characters).
fn edit_distance(a: &str, b: &str) -> usize {
    // Optimal string alignment: a swap of neighbours counts as one edit (`emial` for `email`).
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The known name closest to `unknown`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let budget = (unknown.chars().count() / 3).max(1);
    known
        .into_iter()
        .map(|k| (edit_distance(&unknown.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= budget || (k.len() > 3 && (k.contains(unknown) || unknown.contains(k))))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

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
