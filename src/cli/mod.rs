//! What each `sportello` command does, kept in the library so tests can run them; the binary
//! (`src/bin/sportello.rs`) only parses the command line and calls them.

pub mod clients;
pub mod demo;
pub mod erase;
pub mod kb;
pub mod notices;
pub mod operators;
pub mod outbox;
pub mod report;
pub mod rules;
