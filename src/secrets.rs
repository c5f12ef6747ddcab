//! Secret files on disk: the local server's database, its mail-gateway token and reply-token key,
//! the operator tokens and API keys. They are created readable by their owner only, and the
//! server refuses to start on one that other users can read.
//!
//! Rotatable secrets (the mail token, the reply-token key) are kept one per line: the current one
//! first, then the ones it replaced, each with the end of its grace period:
//!
//! ```text
//! 8f3c…            (the current secret)
//! 41aa… until 2027-01-15T09:00:00Z
//! ```

use jiff::{SignedDuration, Timestamp};
use std::path::Path;

/// Writes `contents` to `path` readable by its owner only, through a temporary file and a rename
/// (a reader never sees half a file; the mode is right before the name exists).
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), String> {
    let fail = |what: &Path, e: std::io::Error| format!("cannot write `{}`: {e}", what.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or_default()));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(|e| fail(&tmp, e))?;
    std::io::Write::write_all(&mut file, contents).map_err(|e| fail(&tmp, e))?;
    file.sync_all().map_err(|e| fail(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| fail(path, e))
}

/// Creates `dir` (and its parents) if missing; a folder Sportello creates is its owner's only.
pub fn create_private_dir(dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| format!("cannot create the folder `{}`: {e}", dir.display()))
}

/// Creates an empty file readable by its owner only, unless it exists (the database: SQLite then
/// opens it, and gives its journal files the same mode).
pub fn create_private_file(path: &Path) -> Result<(), String> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(|e| format!("cannot create `{}`: {e}", path.display()))
}

/// Refuses a secret file that other users may read or change (a missing file is fine: it is
/// created private). The message says how to fix it.
pub fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(());
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "`{path}` holds secrets but other users can access it (mode {mode:04o}). \
                 Run `chmod 600 {path}` and start again.",
                path = path.display()
            ));
        }
    }
    Ok(())
}

/// A rotatable secret: the current one, and earlier ones still accepted until a time.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Rotating {
    pub current: String,
    pub previous: Vec<(String, Timestamp)>,
}

// Secrets: never printed.
impl std::fmt::Debug for Rotating {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rotating {{ previous: {} }}", self.previous.len())
    }
}

impl Rotating {
    /// Reads the one-per-line form; `None` when there is no current secret.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
        let Some(current) = lines.next() else {
            return Ok(None);
        };
        if current.contains(char::is_whitespace) {
            return Err("the first line is the current secret alone".into());
        }
        let mut previous = Vec::new();
        for (n, line) in lines.enumerate() {
            let (secret, until) = line
                .split_once(" until ")
                .ok_or_else(|| format!("line {}: a retired secret is `<secret> until <RFC 3339 time>`", n + 2))?;
            let until = until
                .trim()
                .parse::<Timestamp>()
                .map_err(|e| format!("line {}: `{}` is not an RFC 3339 time: {e}", n + 2, until.trim()))?;
            previous.push((secret.trim().to_string(), until));
        }
        Ok(Some(Self { current: current.to_string(), previous }))
    }

    pub fn render(&self) -> String {
        let mut out = format!("{}\n", self.current);
        for (secret, until) in &self.previous {
            out.push_str(&format!("{secret} until {until}\n"));
        }
        out
    }

    /// The secrets accepted at `now`: the current one, then those still in their grace period.
    pub fn accepted(&self, now: Timestamp) -> impl Iterator<Item = &str> {
        std::iter::once(self.current.as_str())
            .chain(self.previous.iter().filter(move |(_, until)| *until > now).map(|(s, _)| s.as_str()))
    }

    /// Makes `next` the current secret; the current one stays accepted for `grace`. Retired
    /// secrets whose grace is over are dropped.
    pub fn rotate(&mut self, next: String, grace: SignedDuration, now: Timestamp) {
        self.previous.retain(|(_, until)| *until > now);
        if grace > SignedDuration::ZERO
            && let Ok(until) = now.checked_add(grace)
        {
            self.previous.insert(0, (std::mem::take(&mut self.current), until));
        }
        self.current = next;
    }
}

/// 256 random bits from the OS generator (two UUIDv4s), as 64 hex digits.
pub fn random_secret() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// Reads a rotatable secret from `path`, creating the file (private) with a fresh secret when it
/// is missing or empty. Refuses a file others can read.
pub fn load_or_create(path: &Path) -> Result<Rotating, String> {
    check_private(path)?;
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Rotating::parse(&text).map_err(|e| format!("`{}`: {e}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
    };
    match existing {
        Some(secret) => Ok(secret),
        None => {
            let secret = Rotating { current: random_secret(), previous: Vec::new() };
            write_private(path, secret.render().as_bytes())?;
            Ok(secret)
        }
    }
}

/// A duration as an admin types it: `90d`, `12h`, `30m`, `45s`.
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| format!("`{text}`: write a number and a unit, e.g. 90d, 12h, 30m"))?;
    let seconds = match unit.trim() {
        "d" | "day" | "days" => n.checked_mul(86_400),
        "h" | "hour" | "hours" => n.checked_mul(3_600),
        "m" | "min" | "minutes" => n.checked_mul(60),
        "s" | "sec" | "seconds" => Some(n),
        other => return Err(format!("`{text}`: unknown unit `{other}`; use d, h, m or s")),
    };
    seconds.map(SignedDuration::from_secs).ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_old_secret_for_its_grace_only() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut s = Rotating { current: "a".into(), previous: Vec::new() };
        s.rotate("b".into(), SignedDuration::from_hours(1), now);
        assert_eq!(s.accepted(now).collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(s.accepted(now + SignedDuration::from_hours(2)).collect::<Vec<_>>(), ["b"]);
        let again = Rotating::parse(&s.render()).unwrap().unwrap();
        assert_eq!(again, s);
        s.rotate("c".into(), SignedDuration::ZERO, now + SignedDuration::from_hours(2));
        assert_eq!(s.previous, [], "an expired one is dropped; no grace, no retired secret");
        assert!(Rotating::parse("a\nb\n").is_err());
        assert_eq!(Rotating::parse("\n\n").unwrap(), None);
    }

    #[test]
    fn durations_as_admins_write_them() {
        assert_eq!(parse_duration("90d"), Ok(SignedDuration::from_hours(90 * 24)));
        assert_eq!(parse_duration("30m"), Ok(SignedDuration::from_mins(30)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3w").is_err());
    }

    #[test]
    fn private_files_and_the_refusal() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/secret.txt");
        write_private(&path, b"x").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(check_private(&path).is_ok());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = check_private(&path).unwrap_err();
        assert!(e.contains("0640") && e.contains(&format!("chmod 600 {}", path.display())), "{e}");
    }
}

/// The secrets `sportello secrets rotate` renews in the data folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretFile {
    /// `mail-token.txt`: what the mail gateway presents on `POST /email/inbound`.
    MailToken,
    /// `reply-token-key.txt`: the key of escalation e-mails' reply tokens.
    ReplyTokenKey,
}

impl SecretFile {
    pub fn file_name(self) -> &'static str {
        match self {
            Self::MailToken => crate::server::MAIL_TOKEN_FILE,
            Self::ReplyTokenKey => crate::server::REPLY_TOKEN_KEY_FILE,
        }
    }
}

/// `sportello secrets rotate`: a new secret in `data`; the old one is accepted for `grace` more
/// (mail already in flight, reply tokens already sent). The running server reads the file when it
/// starts: restart it. Returns what it prints and its exit status.
pub fn rotate_file(data: &Path, which: SecretFile, grace: Option<&str>, now: Timestamp) -> (String, u8) {
    let grace = match grace.map(parse_duration).transpose() {
        Ok(g) => g.unwrap_or(SignedDuration::ZERO),
        Err(e) => return (format!("--grace: {e}\n"), 2),
    };
    let path = data.join(which.file_name());
    if let Err(e) = check_private(&path) {
        return (format!("{e}\n"), 1);
    }
    let mut secret = match std::fs::read_to_string(&path) {
        Ok(text) => match Rotating::parse(&text) {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => return (format!("`{}`: {e}\n", path.display()), 1),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Rotating::default(),
        Err(e) => return (format!("cannot read `{}`: {e}\n", path.display()), 1),
    };
    let had_one = !secret.current.is_empty();
    let next = random_secret();
    if had_one {
        secret.rotate(next.clone(), grace, now);
    } else {
        secret = Rotating { current: next.clone(), previous: Vec::new() };
    }
    if let Err(e) = write_private(&path, secret.render().as_bytes()) {
        return (format!("{e}\n"), 1);
    }
    let mut out = format!("new secret in {} (readable by its owner only)\n", path.display());
    match (had_one, grace.is_zero()) {
        (false, _) => {}
        (true, true) => out.push_str("the old one no longer works once the server restarts\n"),
        (true, false) => out.push_str(&format!(
            "the old one keeps working until {} ({} retired secret(s) in the file)\n",
            now.checked_add(grace).unwrap_or(now),
            secret.previous.len()
        )),
    }
    if which == SecretFile::MailToken {
        out.push_str(&format!("\nGive the mail gateway the new token:\n\n  {next}\n\n"));
    }
    out.push_str("Restart `sportello serve` to use it.\n");
    (out, 0)
}
