//! Sportello's integration tests, in one binary: a module per area, and `support` for what they
//! share (`TestApp`, HTTP helpers, the adapter sets on SQLite and on moto, log capture).
//!
//! `cargo test --all-features --test it <area>::` runs one area, e.g. `chat::` or `store::aws::`.

mod support;

mod api;
#[cfg(feature = "aws")]
mod aws_calls;
mod chat;
mod cli;
mod clock;
mod console;
mod crash;
mod email;
mod engine;
mod flows;
mod http;
mod infra;
mod intake;
mod knowledge;
#[cfg(feature = "aws")]
mod lambda;
mod logs;
mod notices;
mod openapi;
mod operator;
mod outage;
mod problem_pages;
mod reports;
mod rulebook;
mod settings;
mod store;
mod structure;
mod voice;
mod webhooks;
