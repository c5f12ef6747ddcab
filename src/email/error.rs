use thiserror::Error;

/// Why an inbound message or notification could not be used.
///
/// Messages never carry personal data (addresses, names, body text), so they can be logged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EmailError {
    #[error("the message is empty")]
    Empty,
    #[error("the message is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("not an email message: {0}")]
    NotAnEmail(&'static str),
    #[error("the message is truncated: multipart boundary {boundary:?} is never closed")]
    Truncated { boundary: String },
    #[error("malformed notification: {0}")]
    BadNotification(String),
    /// The SES action stored the message elsewhere (an S3 action): fetch it from there.
    #[error("the notification carries no content; the {action} action stored it elsewhere")]
    ContentNotInline { action: String, bucket: Option<String>, key: Option<String> },
}
