pub mod domain;
pub mod rules;
