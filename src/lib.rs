//! Sportello: a contact-center workflow engine. Every contact opens a ticket; a declarative YAML
//! rulebook decides its type, flow, team, hours and escalation targets.

pub mod adapters;
pub mod app;
pub mod cli;
pub mod clients;
pub mod console;
pub mod demo;
pub mod domain;
pub mod email;
pub mod engine;
pub mod erase_cli;
pub mod http;
pub mod i18n;
pub mod kb_cli;
pub mod knowledge;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod listener;
pub mod logging;
pub mod metrics;
pub mod notices_cli;
pub mod operators_cli;
pub mod outbox_cli;
pub mod ports;
pub mod report_cli;
pub mod reports;
pub mod rules;
pub mod secrets;
pub mod server;
pub mod settings;
pub mod text;
