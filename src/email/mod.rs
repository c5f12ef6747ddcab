//! Inbound email: turning the raw MIME that reaches the support inboxes into what the engine
//! needs to open a ticket or thread onto one.
//!
//! Pure functions only: no HTTP, no storage, no AWS SDK. The mail gateway (SES inbound, via SNS or
//! S3) hands raw bytes in; the caller decides what to do with the answers.
//!
//! - [`parse_inbound`]: headers, text body and attachment metadata (attachment content is dropped).
//! - [`thread_keys`]: the Message-IDs and ticket reference to look an existing ticket up by.
//! - [`looks_like_reminder`]: a simple heuristic for "sollecito" messages.
//! - [`auto_reply_policy`]: RFC 3834 and loop protection, before any acknowledgement is sent.
//! - [`bounce`] / [`is_bounce`]: delivery status notifications, which must not open tickets.
//! - [`parse_ses_sns_notification`], [`Verdicts`], [`VerdictPolicy`]: SES receipt verdicts.
//!
//! Nothing here logs: addresses, names and bodies are personal data.

mod auto_reply;
mod bounce;
mod error;
mod parse;
mod reminder;
mod ses;
mod thread;

pub(crate) use auto_reply::is_machine_generated;
pub use auto_reply::{AutoReply, SuppressReason, auto_reply_policy};
pub use bounce::{Bounce, BounceKind, bounce, is_bounce};
pub use error::EmailError;
pub use parse::{
    Attachment, BodySource, ControlHeaders, DeliveryReport, InboundEmail, MAX_EMAIL_BYTES, Mailbox, RecipientStatus,
    parse_inbound,
};
pub use reminder::looks_like_reminder;
pub use ses::{
    DmarcPolicy, SesContent, VerdictAction, VerdictDecision, VerdictKind, VerdictPolicy, VerdictReason, VerdictStatus,
    Verdicts, parse_ses_notification, parse_ses_sns_notification,
};
pub use thread::{MAX_THREAD_IDS, ThreadKeys, normalize_subject, thread_keys};
