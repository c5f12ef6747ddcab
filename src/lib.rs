pub mod domain;
pub mod email;
