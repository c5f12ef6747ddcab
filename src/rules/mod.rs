//! The rulebook: model, loading with located diagnostics, validation, evaluation of a contact's
//! path, test cases and diagrams.

pub mod calendar;
pub mod cases;
pub mod diagnostic;
pub mod engine;
pub mod explain;
pub mod graph;
pub mod load;
pub mod model;
pub mod schedule;
pub mod source_map;
pub mod validate;
pub mod vocabulary;
pub mod walk;

pub use diagnostic::{Diagnostic, Severity};
pub use engine::{Contact, Decision, EvalError, Rules};
pub use walk::Facts;
