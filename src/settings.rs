//! Every environment variable Sportello reads, in one list, and where the Lambda functions read
//! their settings from: the environment, and at init the secrets named by `SPORTELLO_SECRETS`
//! (see `adapters::aws::secrets`).
//!
//! The list is what `tests/it/infra/grants.rs` checks the SAM template against (a variable a
//! function reads must be set for it there, secrets in a secret and never in plain
//! environment), and what `tests/it/settings.rs` checks the source against (every
//! `SPORTELLO_*` name in the code is listed here). A new variable is one line below.

pub mod flags;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Where a setting is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingScope {
    /// By the Lambda functions (and, most of them, by the local server too).
    Lambda,
    /// By the local server and the CLI only.
    Local,
}

/// Whether a deployment must set it wherever it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The template sets it for every function that reads it (an empty value counts).
    Deploy,
    /// May be left unset: it has a default, or serves tests and local runs only.
    Optional,
}

/// One environment variable, or a family of them (`name` is then a prefix, completed with a
/// rulebook id upper-cased: `SPORTELLO_QUEUE_URL_` + `SPORTELLO_ESCALATIONS_PRIVACY`).
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    pub family: bool,
    /// Kept in a secret on AWS (Secrets Manager), never in a function's plain environment.
    pub secret: bool,
    pub scope: SettingScope,
    pub need: Need,
    pub about: &'static str,
}

const fn var(name: &'static str, scope: SettingScope, need: Need, about: &'static str) -> Setting {
    Setting { name, family: false, secret: false, scope, need, about }
}

const fn secret(name: &'static str, about: &'static str) -> Setting {
    Setting { name, family: false, secret: true, scope: SettingScope::Lambda, need: Need::Deploy, about }
}

const fn family(name: &'static str, secret: bool, about: &'static str) -> Setting {
    Setting { name, family: true, secret, scope: SettingScope::Lambda, need: Need::Deploy, about }
}

use Need::{Deploy, Optional};
use SettingScope::{Lambda, Local};

/// Every variable, by name.
pub const SETTINGS: &[Setting] = &[
    var("SPORTELLO_TABLE", Lambda, Deploy, "the DynamoDB table (tickets, events, idempotency records, incidents)"),
    var("SPORTELLO_STEP_QUEUE_URL", Lambda, Deploy, "the step queue"),
    var("SPORTELLO_STEP_DLQ_URL", Lambda, Deploy, "the step queue's dead-letter queue (default `<queue url>-dlq`)"),
    var("SPORTELLO_RULES", Lambda, Deploy, "the rulebook folder (`/opt` on Lambda: the rules layer)"),
    var("SPORTELLO_LOG", Lambda, Optional, "one level for every log line: `error`, `warn`, `info` (default), `debug`"),
    var(
        "RUST_LOG",
        Lambda,
        Optional,
        "levels by target (`info`, `sportello=debug,aws_config=warn`); wins over SPORTELLO_LOG",
    ),
    var("SPORTELLO_LOG_FORMAT", Lambda, Optional, "`json` (default on Lambda and off a terminal) or `text`"),
    var(
        "SPORTELLO_METRICS_NAMESPACE",
        Lambda,
        Optional,
        "the CloudWatch namespace of the EMF metrics (default `Sportello`)",
    ),
    var(
        "SMITHY_CLIENT_SDK_CUSTOM_PARTITION",
        Lambda,
        Deploy,
        "the AWS SDK's partition table cut to the stack's partition (`/opt/aws-partitions/<partition>.json` on Lambda: the SDK layer); read by the SDK, checked at init",
    ),
    var("AWS_ENDPOINT_URL", Lambda, Optional, "another endpoint for every AWS service (moto, LocalStack)"),
    // Set by Lambda itself, and read as the AWS SDK's default chains would read them first: see
    // `adapters::aws::config_loader`.
    var("AWS_ACCESS_KEY_ID", Lambda, Optional, "set by Lambda: the function role's credentials (with the two below)"),
    var("AWS_SECRET_ACCESS_KEY", Lambda, Optional, "set by Lambda: the function role's credentials"),
    var("AWS_SESSION_TOKEN", Lambda, Optional, "set by Lambda: the function role's credentials"),
    var("AWS_REGION", Lambda, Optional, "set by Lambda: the function's region"),
    var("AWS_LAMBDA_FUNCTION_NAME", Lambda, Optional, "set by Lambda: no shared AWS config files are looked for there"),
    var(
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        Lambda,
        Optional,
        "set by Lambda: `provisioned-concurrency` makes the init wait for its warm-up calls (no caller waits for that init)",
    ),
    var(
        "SPORTELLO_SECRETS",
        Lambda,
        Optional,
        "Secrets Manager secrets (ARNs or names, comma-separated) read at init; each holds a JSON object of secret settings",
    ),
    var(
        "SPORTELLO_MAIL_DOMAIN",
        Lambda,
        Deploy,
        "the SES identity the function may send from; every sender address must be on it",
    ),
    secret("SPORTELLO_REPLY_TOKEN_KEY", "HMAC key of e-mail escalations' reply tokens"),
    var("SPORTELLO_REPLY_EMAIL", Lambda, Deploy, "the mailbox e-mail targets reply to with resolution notices"),
    var("SPORTELLO_REPLY_QUEUE", Lambda, Deploy, "the queue SQS targets send resolution notices to"),
    var("SPORTELLO_ESCALATION_FROM", Lambda, Deploy, "From address of e-mail escalations and reminders"),
    family("SPORTELLO_QUEUE_URL_", false, "the URL of each SQS target's queue, by the rulebook's queue name"),
    family("SPORTELLO_TARGET_SECRET_", true, "the HMAC secret each target signs resolution notices with"),
    family("SPORTELLO_WEBHOOK_SECRET_", true, "the secret each API client's webhook events are signed with"),
    family("SPORTELLO_WEBHOOK_", false, "each API client's webhook URL (empty: none)"),
    var("SPORTELLO_NOTICE_DLQ_URL", Lambda, Deploy, "where the notices function moves refused notices"),
    var(
        "SPORTELLO_EXPORT_BUCKET",
        Lambda,
        Deploy,
        "the S3 bucket the reports function writes the analysts' event export to (`events/date=.../`)",
    ),
    secret("SPORTELLO_MAIL_TOKEN_SHA256", "hex SHA-256 of the mail gateway's secret on POST /email/inbound"),
    var(
        "SPORTELLO_IAM_CLIENTS",
        Lambda,
        Deploy,
        "IAM roles or users of API clients: `arn=client,...`; an assumed role's session is matched by its role",
    ),
    var(
        "SPORTELLO_API_KEYS",
        Lambda,
        Optional,
        "the API key file (local server; on AWS the authorizer names the client)",
    ),
    var("SPORTELLO_OIDC_ISSUER", Lambda, Optional, "the console's OpenID Connect provider (unset: no console)"),
    var("SPORTELLO_OIDC_CLIENT_ID", Lambda, Optional, "the console's app client at the OpenID provider"),
    secret("SPORTELLO_OIDC_CLIENT_SECRET", "the console's app client secret at the OpenID provider"),
    var("SPORTELLO_OIDC_SCOPES", Lambda, Optional, "scopes the console asks for (default `openid email profile`)"),
    var("SPORTELLO_OIDC_LOGOUT_URL", Lambda, Optional, "where signing out of the console ends the provider's session"),
    secret("SPORTELLO_CONSOLE_SESSION_KEY", "the key the console signs its session cookies with (32+ bytes)"),
    var("SPORTELLO_CONSOLE_URL", Lambda, Optional, "the console's public address (redirects, the OpenID callback)"),
    var("SPORTELLO_CLOCK_START", Local, Optional, "the local server's clock starts at this RFC 3339 time and runs on"),
    var("SPORTELLO_LISTEN", Local, Optional, "the local server's address"),
    var("SPORTELLO_DATA", Local, Optional, "the local server's data folder"),
    var("SPORTELLO_MAX_CONNECTIONS", Local, Optional, "the local server's most connections open at once"),
    var("SPORTELLO_HEADER_TIMEOUT", Local, Optional, "time a client has to send a request's header (local server)"),
    var("SPORTELLO_IDLE_TIMEOUT", Local, Optional, "an idle connection is closed after this (local server)"),
    var("SPORTELLO_REQUEST_TIMEOUT", Local, Optional, "a request not answered within this gets 408 (local server)"),
    var("SPORTELLO_OPERATORS", Local, Optional, "the local operator token file"),
    var("SPORTELLO_WEBHOOKS", Local, Optional, "the local webhook registrations file"),
    var("SPORTELLO_DEMO_OPERATOR_TOKEN", Local, Optional, "`sportello demo` against a running server"),
    var("SPORTELLO_DEMO_PRIVACY_TOKEN", Local, Optional, "`sportello demo` against a running server"),
    var("SPORTELLO_DEMO_SUPERVISOR_TOKEN", Local, Optional, "`sportello demo` against a running server"),
    var("SPORTELLO_DEMO_API_KEY", Local, Optional, "`sportello demo` against a running server"),
    var("SPORTELLO_DEMO_TELEPHONY_KEY", Local, Optional, "`sportello demo` against a running server"),
    var("SPORTELLO_DEMO_MAIL_TOKEN", Local, Optional, "`sportello demo` against a running server"),
    var("USER", Local, Optional, "who `sportello kb candidates` records as deciding (default `admin`)"),
];

/// The entry of a variable: its own, or its family's (the longest prefix).
pub fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| !s.family && s.name == name).or_else(|| {
        SETTINGS
            .iter()
            .filter(|s| s.family && name.len() > s.name.len() && name.starts_with(s.name))
            .max_by_key(|s| s.name.len())
    })
}

/// A family member's name: `SPORTELLO_WEBHOOK_` and `checkout` give `SPORTELLO_WEBHOOK_CHECKOUT`
/// (rulebook ids upper-cased, `-` as `_`).
pub fn member(prefix: &str, id: &str) -> String {
    format!("{prefix}{}", id.to_ascii_uppercase().replace('-', "_"))
}

/// Every listed variable the process was started with, read from the environment once, the
/// first time anything asks; a blank value is left out (unset). The one place Sportello reads
/// its environment; the Lambda runtime's own per-invocation variable (`_X_AMZN_TRACE_ID`, see
/// `adapters::aws::trace`) is read where it is used, since it changes with each invocation.
fn snapshot() -> &'static BTreeMap<String, String> {
    static SNAPSHOT: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, v)| setting(k).is_some() && !v.trim().is_empty())
            .collect()
    })
}

/// Whether the process's environment sets `name` to a blank value, which the settings count as
/// unset: for a variable that a library reads itself, and would take as set.
pub fn blank_in_environment(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v.to_string_lossy().trim().is_empty())
}

/// The process's settings: the local server's, the CLI's, and what a Lambda function reads
/// besides its secrets (its `Init` starts from the same snapshot).
pub fn environment() -> &'static Settings {
    static ENVIRONMENT: OnceLock<Settings> = OnceLock::new();
    ENVIRONMENT.get_or_init(Settings::from_env)
}

/// Where values come from when no secret holds them.
type Source = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What a function reads its settings from: a source of variables (the environment on Lambda,
/// a map in tests), and the values of the secrets it loaded at init. Every name read is noted,
/// so a test can tell which variables a function's init reads.
pub struct Settings {
    source: Source,
    secrets: BTreeMap<String, String>,
    read: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").field("secrets", &self.secrets.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl Settings {
    /// The process environment (read once, see [`environment`]), with no secrets loaded yet.
    pub fn from_env() -> Self {
        Self::from_map(snapshot().clone())
    }

    pub fn from_source(source: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self { source: Box::new(source), secrets: BTreeMap::new(), read: Mutex::new(BTreeSet::new()) }
    }

    /// From fixed values (tests, tools); blank values are unset, as in the environment.
    pub fn from_map(values: BTreeMap<String, String>) -> Self {
        Self::from_source(move |name| values.get(name).filter(|v| !v.trim().is_empty()).cloned())
    }

    /// A setting: from a loaded secret when it is one, else from the source; blank is unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.read.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string());
        self.secrets.get(name).filter(|v| !v.trim().is_empty()).cloned().or_else(|| (self.source)(name))
    }

    /// A setting that must be there, or an error that names it.
    pub fn required(&self, name: &str) -> Result<String, String> {
        self.get(name).ok_or_else(|| format!("{name} is not set"))
    }

    /// A file or folder setting.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).map(PathBuf::from)
    }

    /// A setting read as a `T`: unset is `None`; a value that is not one is an error naming the
    /// variable, its value and what it should be (`SPORTELLO_CLOCK_START=`x` is not an RFC 3339
    /// time`). Never for a secret: the error quotes the value.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str, expected: &str) -> Result<Option<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        debug_assert!(setting(name).is_none_or(|s| !s.secret), "{name} is a secret");
        let Some(text) = self.get(name) else { return Ok(None) };
        text.trim().parse().map(Some).map_err(|e| format!("{name}=`{}` is not {expected} ({e})", text.trim()))
    }

    /// Adds the values of one secret (a JSON object of secret settings). A key that is not a
    /// secret setting is refused, so a misspelt key fails the init instead of going unread.
    pub fn add_secret(&mut self, secret_id: &str, json: &str) -> Result<(), String> {
        let values: BTreeMap<String, serde_json::Value> = serde_json::from_str(json).map_err(|e| {
            format!("secret {secret_id} is not a JSON object of settings (line {}, column {})", e.line(), e.column())
        })?;
        for (name, value) in values {
            match setting(&name) {
                Some(s) if s.secret => {}
                Some(_) => return Err(format!("secret {secret_id} holds {name}, which is not a secret setting")),
                None => return Err(format!("secret {secret_id} holds {name}, which Sportello does not read")),
            }
            let text = match value {
                serde_json::Value::String(s) => s,
                _ => return Err(format!("secret {secret_id}: {name} is not a string")),
            };
            self.secrets.insert(name, text);
        }
        Ok(())
    }

    /// The names read so far.
    pub fn names_read(&self) -> BTreeSet<String> {
        self.read.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A lookup for code that takes one (`from_vars` constructors).
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |name| self.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_match_by_their_longest_prefix() {
        assert_eq!(setting("SPORTELLO_WEBHOOK_IO").map(|s| s.name), Some("SPORTELLO_WEBHOOK_"));
        assert_eq!(setting("SPORTELLO_WEBHOOK_SECRET_IO").map(|s| s.name), Some("SPORTELLO_WEBHOOK_SECRET_"));
        assert!(setting("SPORTELLO_WEBHOOK_SECRET_IO").unwrap().secret);
        assert!(setting("SPORTELLO_TABLE").is_some_and(|s| !s.family));
        assert!(setting("SPORTELLO_WEBHOOK_").is_none(), "a bare prefix is no member");
        assert!(setting("SPORTELLO_NO_SUCH").is_none());
        assert_eq!(
            member("SPORTELLO_QUEUE_URL_", "sportello-escalations-privacy"),
            "SPORTELLO_QUEUE_URL_SPORTELLO_ESCALATIONS_PRIVACY"
        );
    }

    #[test]
    fn secrets_override_the_source_and_unknown_keys_are_refused() {
        let mut settings = Settings::from_map(BTreeMap::from([
            ("SPORTELLO_TABLE".to_string(), "t".to_string()),
            ("SPORTELLO_REPLY_TOKEN_KEY".to_string(), "from-env".to_string()),
            ("SPORTELLO_LOG".to_string(), "  ".to_string()),
        ]));
        settings.add_secret("s1", r#"{"SPORTELLO_REPLY_TOKEN_KEY": "from-secret"}"#).unwrap();
        assert_eq!(settings.get("SPORTELLO_REPLY_TOKEN_KEY").as_deref(), Some("from-secret"));
        assert_eq!(settings.get("SPORTELLO_TABLE").as_deref(), Some("t"));
        assert_eq!(settings.get("SPORTELLO_LOG"), None, "blank is unset");
        assert_eq!(settings.required("SPORTELLO_REPLY_QUEUE").unwrap_err(), "SPORTELLO_REPLY_QUEUE is not set");
        assert!(settings.names_read().contains("SPORTELLO_REPLY_QUEUE"));

        let refused = settings.add_secret("s2", r#"{"SPORTELLO_TABLE": "x"}"#).unwrap_err();
        assert_eq!(refused, "secret s2 holds SPORTELLO_TABLE, which is not a secret setting");
        let refused = settings.add_secret("s2", r#"{"SPORTELLO_REPLY_TOKEN_KYE": "x"}"#).unwrap_err();
        assert!(refused.contains("which Sportello does not read"), "{refused}");
        let refused = settings.add_secret("s2", "not json").unwrap_err();
        assert!(refused.starts_with("secret s2 is not a JSON object"), "{refused}");
        assert!(!refused.contains("not json"), "the secret's text is never quoted");
    }
}
