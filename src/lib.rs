//! Sportello: a contact-center workflow engine. Every contact opens a ticket; a declarative YAML
//! rulebook decides its type, flow, team, hours and escalation targets.

pub mod adapters;
pub mod app;
pub mod cli;
pub mod console;
pub mod demo;
pub mod domain;
pub mod email;
pub mod engine;
pub mod http;
pub mod i18n;
pub mod knowledge;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod listener;
pub mod logging;
pub mod metrics;
pub mod ports;
pub mod reports;
pub mod rules;
pub mod secrets;
pub mod server;
pub mod settings;
pub mod text;
