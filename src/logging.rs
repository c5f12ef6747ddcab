//! The log of `sportello serve` and of the Lambda functions: plain lines at the levels `RUST_LOG`
//! asks for (`info`, `debug`, `sportello=debug,aws_config=warn`...), or the one level
//! `SPORTELLO_LOG` names; `info` by default.
//!
//! Sportello's own lines carry ticket ids and references, never personal data, at every level.
//! Some libraries print what they carry at their finest levels: axum's rejections quote the
//! sender's JSON (its keys included), and the AWS SDK and the HTTP stack print request and
//! response bodies at TRACE. Those targets are capped, whatever `RUST_LOG` says.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Targets whose finer levels print bodies, and the most they may log.
const CAPS: &[(&str, LevelFilter)] = &[
    ("axum::rejection", LevelFilter::OFF),
    ("aws_smithy_runtime", LevelFilter::DEBUG),
    ("aws_smithy_runtime_api", LevelFilter::DEBUG),
    ("aws_smithy_http", LevelFilter::DEBUG),
    ("aws_smithy_http_client", LevelFilter::DEBUG),
    ("aws_smithy_types", LevelFilter::DEBUG),
    ("aws_sdk_dynamodb", LevelFilter::DEBUG),
    ("aws_sdk_sqs", LevelFilter::DEBUG),
    ("aws_sdk_ses", LevelFilter::DEBUG),
    // Raw inbound mail, and secrets.
    ("aws_sdk_s3", LevelFilter::DEBUG),
    ("aws_sdk_secretsmanager", LevelFilter::DEBUG),
    ("aws_config", LevelFilter::DEBUG),
    ("lambda_runtime", LevelFilter::DEBUG),
    ("lambda_http", LevelFilter::DEBUG),
    ("hyper", LevelFilter::DEBUG),
    ("hyper_util", LevelFilter::DEBUG),
    ("h2", LevelFilter::DEBUG),
    ("rustls", LevelFilter::DEBUG),
];

/// What the environment asks for, with the caps applied; a warning when `RUST_LOG` cannot be
/// read (then `info`).
pub fn filter_from_env() -> (Targets, Option<String>) {
    let rust_log = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    let sportello_log = std::env::var("SPORTELLO_LOG").ok().filter(|v| !v.trim().is_empty());
    filter_from(rust_log, sportello_log)
}

/// [`filter_from_env`] from given values of `RUST_LOG` and `SPORTELLO_LOG`.
pub fn filter_from(rust_log: Option<String>, sportello_log: Option<String>) -> (Targets, Option<String>) {
    let (asked, warning) = match (rust_log, sportello_log) {
        (Some(spec), _) => match spec.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (
                Targets::new().with_default(LevelFilter::INFO),
                Some(format!("RUST_LOG=`{spec}` is not `level` or `target=level,...` ({e}); logging at info")),
            ),
        },
        (None, Some(level)) => match level.parse::<LevelFilter>() {
            Ok(l) => (Targets::new().with_default(l), None),
            Err(_) => (
                Targets::new().with_default(LevelFilter::INFO),
                Some(format!("SPORTELLO_LOG=`{level}` is not a level; logging at info")),
            ),
        },
        (None, None) => (Targets::new().with_default(LevelFilter::INFO), None),
    };
    (capped(&asked), warning)
}

/// `asked`, with no capped target (or anything under it) logging finer than its cap.
pub fn capped(asked: &Targets) -> Targets {
    let cap_of = |target: &str| {
        CAPS.iter()
            .filter(|(prefix, _)| target == *prefix || target.starts_with(&format!("{prefix}::")))
            .map(|(_, cap)| *cap)
            .min()
    };
    let default = asked.default_level().unwrap_or(LevelFilter::OFF);
    let mut out = Targets::new().with_default(default);
    for (target, level) in asked.iter() {
        let level = cap_of(target).map_or(level, |cap| level.min(cap));
        out = out.with_target(target, level);
    }
    for (prefix, cap) in CAPS {
        let asked_here = asked.iter().filter(|(t, _)| prefix.starts_with(*t)).max_by_key(|(t, _)| t.len());
        let level = asked_here.map_or(default, |(_, l)| l);
        if asked.iter().all(|(t, _)| t != *prefix) {
            out = out.with_target(*prefix, level.min(*cap));
        }
    }
    out
}

/// Installs the subscriber. `lambda`: no time stamps (CloudWatch adds its own) and no colours;
/// otherwise colours only on a terminal.
pub fn init(lambda: bool) {
    let (filter, warning) = filter_from_env();
    install(lambda, filter, warning);
}

/// [`init`] with given values of `RUST_LOG` and `SPORTELLO_LOG` (a Lambda function's settings).
pub fn init_with(lambda: bool, rust_log: Option<String>, sportello_log: Option<String>) {
    let (filter, warning) = filter_from(rust_log, sportello_log);
    install(lambda, filter, warning);
}

fn install(lambda: bool, filter: Targets, warning: Option<String>) {
    let ansi = !lambda && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let fmt = tracing_subscriber::fmt().with_target(false).with_ansi(ansi).with_max_level(LevelFilter::TRACE);
    let installed =
        if lambda { fmt.without_time().finish().with(filter).try_init() } else { fmt.finish().with(filter).try_init() };
    if installed.is_ok()
        && let Some(w) = warning
    {
        tracing::warn!("{w}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(t: &Targets, target: &str) -> Option<LevelFilter> {
        // The most specific directive wins, as the filter itself decides.
        t.iter()
            .filter(|(prefix, _)| target == *prefix || target.starts_with(&format!("{prefix}::")))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, l)| l)
            .or(t.default_level())
    }

    #[test]
    fn what_is_asked_is_kept_and_body_printing_targets_are_capped() {
        let asked: Targets = "trace".parse().unwrap();
        let t = capped(&asked);
        assert_eq!(level(&t, "sportello::engine"), Some(LevelFilter::TRACE));
        assert_eq!(level(&t, "aws_smithy_runtime::client::orchestrator"), Some(LevelFilter::DEBUG));
        assert_eq!(level(&t, "axum::rejection"), Some(LevelFilter::OFF));

        let asked: Targets = "warn,aws_smithy_runtime::client=trace,sportello=debug".parse().unwrap();
        let t = capped(&asked);
        assert_eq!(level(&t, "aws_smithy_runtime::client::x"), Some(LevelFilter::DEBUG), "clamped");
        assert_eq!(level(&t, "aws_smithy_runtime"), Some(LevelFilter::WARN), "as the default asks");
        assert_eq!(level(&t, "sportello::server"), Some(LevelFilter::DEBUG));
        assert_eq!(level(&t, "other"), Some(LevelFilter::WARN));
    }
}
