//! Adapters behind the ports: `embedded` (SQLite, the local default) and `aws` (DynamoDB, SQS,
//! SES; cargo feature `aws`).

#[cfg(feature = "aws")]
pub mod aws;
pub mod embedded;
pub mod webhook_http;
