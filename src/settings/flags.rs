//! Flags whose default is a setting (`--data` and `SPORTELLO_DATA`): the value comes from
//! [`settings::environment`], the one reader of the environment, not from clap reading it on
//! its own, and `--help` says which variable a flag's default comes from.
//!
//! `#[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]` calls
//! [`SettingDefault::default_from_setting`] on the flag (clap's derive calls any method named in `#[arg]`);
//! put it after `default_value`, which it replaces when the variable is set.

use crate::settings;
use clap::Arg;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The variable behind each flag that has one, by the flag's long name.
static SETTING_OF_FLAG: Mutex<BTreeMap<String, &'static str>> = Mutex::new(BTreeMap::new());

pub trait SettingDefault {
    /// The default is variable `name`'s value when it is set; `--help` shows `[env: NAME=value]`.
    fn default_from_setting(self, name: &'static str) -> Self;
    /// As [`SettingDefault::default_from_setting`], for a value `--help` must not show (a token, a key).
    fn hidden_default_from_setting(self, name: &'static str) -> Self;
}

impl SettingDefault for Arg {
    fn default_from_setting(self, name: &'static str) -> Self {
        with_setting(self, name, false)
    }

    fn hidden_default_from_setting(self, name: &'static str) -> Self {
        with_setting(self, name, true)
    }
}

fn with_setting(arg: Arg, name: &'static str, hidden: bool) -> Arg {
    debug_assert!(settings::setting(name).is_some(), "{name} is not in settings::SETTINGS");
    if let Some(long) = arg.get_long() {
        SETTING_OF_FLAG.lock().unwrap_or_else(|p| p.into_inner()).insert(long.to_string(), name);
    }
    let value = settings::environment().get(name);
    // As clap's own `env` shows it: the variable (with its value unless hidden), then the
    // built-in default, which the variable's value replaces.
    let built_in: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
    let mut shown = match (&value, hidden) {
        (Some(value), false) => format!("[env: {name}={value}]"),
        _ => format!("[env: {name}]"),
    };
    if value.is_some() && !built_in.is_empty() {
        shown.push_str(&format!(" [default: {}]", built_in.join(", ")));
    }
    let help = |text: Option<&clap::builder::StyledStr>| match text {
        Some(text) => format!("{text} {shown}"),
        None => shown.clone(),
    };
    let (short, long) = (help(arg.get_help()), arg.get_long_help().map(|text| format!("{text}\n\n{shown}")));
    let mut arg = arg.help(short);
    if let Some(long) = long {
        arg = arg.long_help(long);
    }
    match value {
        // The built-in default is in `shown` already.
        Some(value) => arg.default_value(value).hide_default_value(true),
        None => arg,
    }
}

/// The variable behind flag `--long`, if it has one.
pub fn setting_of_flag(long: &str) -> Option<&'static str> {
    SETTING_OF_FLAG.lock().unwrap_or_else(|p| p.into_inner()).get(long).copied()
}
