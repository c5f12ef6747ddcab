//! The rulebook: the YAML model, loading with located diagnostics, validation, the resolved model
//! the engine reads, evaluation of a contact's path, test cases and diagrams.

pub mod calendar;
pub mod cases;
pub mod check;
pub mod check_cache;
pub mod compiled;
pub mod diagnostic;
pub mod engine;
pub mod explain;
pub mod graph;
pub mod ids;
pub mod load;
pub mod model;
pub mod resolved;
pub mod schedule;
pub mod source_map;
pub mod summary;
pub mod validate;
pub mod vocabulary;
pub mod walk;
pub mod yaml_tree;

pub use diagnostic::{Diagnostic, Severity};
pub use engine::{Contact, Decision, EvalError, Rules};
pub use ids::{CategoryId, ChannelId, ClientId, FieldId, FlowId, MessageId, ScheduleId, StepId, TargetId, TeamId};
pub use resolved::Model;
pub use walk::Facts;
