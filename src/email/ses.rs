//! SES inbound: the receipt verdicts, the rulebook's policy on them, and unwrapping the raw
//! message from an SNS notification.
//!
//! Shapes follow the SES "Received" notification (field names as in `aws_lambda_events::ses`)
//! and the SNS envelope, read with serde_json only.

use super::{EmailError, MAX_EMAIL_BYTES};
use mail_parser::decoders::base64::base64_decode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The status SES gives each check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerdictStatus {
    Pass,
    Fail,
    /// SES could not tell (spam and virus checks).
    Gray,
    ProcessingFailed,
    /// The check is turned off on the receipt rule.
    Disabled,
    /// Missing from the notification, or a status this code does not know.
    #[default]
    #[serde(other)]
    Unknown,
}

/// The `p=` of the sender domain's DMARC record, as SES reports it when DMARC fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DmarcPolicy {
    None,
    Quarantine,
    Reject,
}

/// The verdicts of one received message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdicts {
    pub spam: VerdictStatus,
    pub virus: VerdictStatus,
    pub spf: VerdictStatus,
    pub dkim: VerdictStatus,
    pub dmarc: VerdictStatus,
    pub dmarc_policy: Option<DmarcPolicy>,
}

impl Verdicts {
    /// Reads the verdicts from an SES "Received" notification, from an SES Lambda event
    /// (`Records[0].ses`), or from a bare `receipt` object.
    pub fn from_ses_json(json: &str) -> Result<Self, EmailError> {
        let value: Value = serde_json::from_str(json).map_err(bad_json)?;
        let value = match value.pointer("/Records/0/ses") {
            Some(ses) => ses.clone(),
            None => value,
        };
        let receipt = value.get("receipt").unwrap_or(&value);
        Ok(Self::from_receipt(&serde_json::from_value(receipt.clone()).map_err(bad_json)?))
    }

    fn from_receipt(receipt: &Receipt) -> Self {
        let status = |v: &Option<RawVerdict>| v.as_ref().map(|v| v.status).unwrap_or_default();
        Self {
            spam: status(&receipt.spam_verdict),
            virus: status(&receipt.virus_verdict),
            spf: status(&receipt.spf_verdict),
            dkim: status(&receipt.dkim_verdict),
            dmarc: status(&receipt.dmarc_verdict),
            dmarc_policy: receipt.dmarc_policy.as_deref().and_then(|p| match p.trim().to_ascii_lowercase().as_str() {
                "none" => Some(DmarcPolicy::None),
                "quarantine" => Some(DmarcPolicy::Quarantine),
                "reject" => Some(DmarcPolicy::Reject),
                _ => None,
            }),
        }
    }
}

/// What to do with a message, from the mildest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerdictAction {
    /// Open or thread the ticket as usual (with any reasons shown on it as flags).
    Accept,
    /// Open the ticket flagged for an operator to check (a quarantine note on it); no
    /// acknowledgement is sent.
    Quarantine,
    /// Drop the message (it stays in the raw store for audit); no ticket, no acknowledgement.
    Reject,
}

impl fmt::Display for VerdictAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Accept => "accept",
            Self::Quarantine => "quarantine",
            Self::Reject => "reject",
        })
    }
}

/// The rulebook's policy on SES verdicts: the action taken when each check fails.
///
/// Any failing check is reported in [`VerdictDecision::reasons`], so `accept` means "accept but
/// flag". Every field has a default, so a rulebook lists only what it changes:
/// ```yaml
/// spam: reject
/// dmarc_policy_quarantine: accept
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VerdictPolicy {
    /// Virus found. Default `reject`.
    pub virus: VerdictAction,
    /// The virus scan could not conclude (`GRAY`, `PROCESSING_FAILED`). Default `accept`.
    pub virus_unscanned: VerdictAction,
    /// Spam. Default `quarantine`.
    pub spam: VerdictAction,
    /// SPF failed. Default `accept` (forwarders break SPF all the time).
    pub spf: VerdictAction,
    /// DKIM failed. Default `accept` (mailing lists and gateways rewrite messages).
    pub dkim: VerdictAction,
    /// DMARC failed and the sender's domain asks for nothing (`p=none`, or no policy). Default
    /// `accept`.
    pub dmarc: VerdictAction,
    /// DMARC failed and the sender's domain asks for `p=quarantine`. Default `quarantine`.
    pub dmarc_policy_quarantine: VerdictAction,
    /// DMARC failed and the sender's domain asks for `p=reject`. Default `reject`.
    pub dmarc_policy_reject: VerdictAction,
}

impl Default for VerdictPolicy {
    fn default() -> Self {
        Self {
            virus: VerdictAction::Reject,
            virus_unscanned: VerdictAction::Accept,
            spam: VerdictAction::Quarantine,
            spf: VerdictAction::Accept,
            dkim: VerdictAction::Accept,
            dmarc: VerdictAction::Accept,
            dmarc_policy_quarantine: VerdictAction::Quarantine,
            dmarc_policy_reject: VerdictAction::Reject,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    Spam,
    Virus,
    Spf,
    Dkim,
    Dmarc,
}

/// One check that did not pass, and the action the policy gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictReason {
    pub verdict: VerdictKind,
    pub status: VerdictStatus,
    /// Set for DMARC failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dmarc_policy: Option<DmarcPolicy>,
    pub action: VerdictAction,
}

impl fmt::Display for VerdictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {:?}", self.verdict, self.status)?;
        if let Some(p) = self.dmarc_policy {
            write!(f, " (p={p:?})")?;
        }
        write!(f, " → {}", self.action)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictDecision {
    /// The strictest action of all reasons; `accept` when nothing failed.
    pub action: VerdictAction,
    /// Every check that failed (or, for viruses, could not conclude). Empty for a clean message.
    pub reasons: Vec<VerdictReason>,
}

impl VerdictDecision {
    /// Accepted but with something to show the operator.
    pub fn is_flagged(&self) -> bool {
        self.action == VerdictAction::Accept && !self.reasons.is_empty()
    }
}

impl VerdictPolicy {
    pub fn decide(&self, v: &Verdicts) -> VerdictDecision {
        let mut reasons = Vec::new();
        let mut add = |verdict, status, action, dmarc_policy| {
            reasons.push(VerdictReason { verdict, status, dmarc_policy, action })
        };
        match v.virus {
            VerdictStatus::Fail => add(VerdictKind::Virus, v.virus, self.virus, None),
            VerdictStatus::Gray | VerdictStatus::ProcessingFailed => {
                add(VerdictKind::Virus, v.virus, self.virus_unscanned, None)
            }
            _ => {}
        }
        if v.spam == VerdictStatus::Fail {
            add(VerdictKind::Spam, v.spam, self.spam, None);
        }
        if v.spf == VerdictStatus::Fail {
            add(VerdictKind::Spf, v.spf, self.spf, None);
        }
        if v.dkim == VerdictStatus::Fail {
            add(VerdictKind::Dkim, v.dkim, self.dkim, None);
        }
        if v.dmarc == VerdictStatus::Fail {
            let action = match v.dmarc_policy {
                Some(DmarcPolicy::Reject) => self.dmarc_policy_reject,
                Some(DmarcPolicy::Quarantine) => self.dmarc_policy_quarantine,
                Some(DmarcPolicy::None) | None => self.dmarc,
            };
            add(VerdictKind::Dmarc, v.dmarc, action, v.dmarc_policy);
        }
        VerdictDecision { action: reasons.iter().map(|r| r.action).max().unwrap_or(VerdictAction::Accept), reasons }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Receipt {
    spam_verdict: Option<RawVerdict>,
    virus_verdict: Option<RawVerdict>,
    spf_verdict: Option<RawVerdict>,
    dkim_verdict: Option<RawVerdict>,
    dmarc_verdict: Option<RawVerdict>,
    dmarc_policy: Option<String>,
    action: Option<ReceiptAction>,
}

#[derive(Debug, Deserialize)]
struct RawVerdict {
    #[serde(default)]
    status: VerdictStatus,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptAction {
    #[serde(rename = "type")]
    kind: Option<String>,
    /// `UTF8` or `BASE64`, on SNS actions.
    encoding: Option<String>,
    bucket_name: Option<String>,
    object_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesNotification {
    notification_type: Option<String>,
    receipt: Option<Receipt>,
    content: Option<String>,
}

/// Where a received message is: in the notification (an SNS action, up to 150 KB), or in the S3
/// object an S3 action stored it as (any size SES accepts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SesContent {
    Inline(Vec<u8>),
    S3 { bucket: String, key: String },
}

/// Unwraps an SES "Received" notification published through an SNS action: returns the raw MIME
/// message and its verdicts.
///
/// Accepts the SNS message as delivered over HTTP or in an SQS body (`{"Type":"Notification",
/// "Message":"…"}`), the Lambda SNS event (`{"Records":[{"Sns":{…}}]}`), or the SES JSON itself
/// (raw message delivery). `content` is decoded per the action's `encoding` (`BASE64`; `UTF8`
/// or absent means the JSON string is the message itself, which SES only uses for mail that is
/// already text).
///
/// SNS signatures are not checked here (that needs the signing certificate over HTTP).
/// SES only puts the content in SNS messages up to 150 KB; larger mail comes through an S3
/// action, reported as [`EmailError::ContentNotInline`] with the bucket and key.
pub fn parse_ses_sns_notification(json: &str) -> Result<(Vec<u8>, Verdicts), EmailError> {
    match parse_ses_notification(json)? {
        (SesContent::Inline(raw), verdicts) => Ok((raw, verdicts)),
        (SesContent::S3 { bucket, key }, _) => {
            Err(EmailError::ContentNotInline { action: "S3".into(), bucket: Some(bucket), key: Some(key) })
        }
    }
}

/// Like [`parse_ses_sns_notification`], and a message an S3 action stored (the notification an
/// S3 action publishes to its topic) is its bucket and key, with the verdicts.
pub fn parse_ses_notification(json: &str) -> Result<(SesContent, Verdicts), EmailError> {
    // A base64 10 MiB message plus the JSON around it; refuse before building a `Value`.
    if json.len() > MAX_EMAIL_BYTES / 3 * 4 + 64 * 1024 {
        return Err(EmailError::TooLarge { size: json.len(), limit: MAX_EMAIL_BYTES });
    }
    let mut value: Value = serde_json::from_str(json).map_err(bad_json)?;
    if let Some(record) = value.pointer_mut("/Records/0") {
        let key = ["Sns", "ses"]
            .into_iter()
            .find(|k| record.get(k).is_some())
            .ok_or_else(|| EmailError::BadNotification("a Records event with neither Sns nor ses".into()))?;
        value = record[key].take();
    }
    if let Some(kind) = value.get("Type").and_then(Value::as_str) {
        if kind != "Notification" {
            return Err(EmailError::BadNotification(format!("an SNS {kind}, not a Notification")));
        }
        let message = value
            .get("Message")
            .and_then(Value::as_str)
            .ok_or_else(|| EmailError::BadNotification("SNS notification without Message".into()))?;
        value = serde_json::from_str(message).map_err(bad_json)?;
    }
    let ses: SesNotification = serde_json::from_value(value).map_err(bad_json)?;
    match ses.notification_type.as_deref() {
        Some("Received") => {}
        Some(other) => {
            return Err(EmailError::BadNotification(format!("an SES {other} notification, not Received")));
        }
        None => {
            return Err(EmailError::BadNotification("no notificationType: not an SES notification".into()));
        }
    }
    let receipt = ses.receipt.ok_or_else(|| EmailError::BadNotification("no receipt".into()))?;
    let verdicts = Verdicts::from_receipt(&receipt);
    let action = receipt.action;
    let Some(content) = ses.content else {
        let action =
            action.unwrap_or(ReceiptAction { kind: None, encoding: None, bucket_name: None, object_key: None });
        if let (Some("S3"), Some(bucket), Some(key)) = (action.kind.as_deref(), &action.bucket_name, &action.object_key)
        {
            return Ok((SesContent::S3 { bucket: bucket.clone(), key: key.clone() }, verdicts));
        }
        return Err(EmailError::ContentNotInline {
            action: action.kind.unwrap_or_else(|| "unknown".into()),
            bucket: action.bucket_name,
            key: action.object_key,
        });
    };
    let base64 = action.and_then(|a| a.encoding).is_some_and(|e| e.eq_ignore_ascii_case("base64"));
    let raw = if base64 {
        base64_decode(content.as_bytes())
            .ok_or_else(|| EmailError::BadNotification("content is not valid base64".into()))?
    } else {
        content.into_bytes()
    };
    if raw.len() > MAX_EMAIL_BYTES {
        return Err(EmailError::TooLarge { size: raw.len(), limit: MAX_EMAIL_BYTES });
    }
    Ok((SesContent::Inline(raw), verdicts))
}

/// serde_json errors say where and what was expected, never the content: safe to keep.
fn bad_json(e: serde_json::Error) -> EmailError {
    EmailError::BadNotification(format!("invalid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_defaults_and_partial_yaml() {
        let policy: VerdictPolicy = serde_saphyr::from_str("spam: reject\n").unwrap();
        assert_eq!(policy.spam, VerdictAction::Reject);
        assert_eq!(policy.virus, VerdictAction::Reject);
        assert_eq!(policy.spf, VerdictAction::Accept);
        assert!(serde_saphyr::from_str::<VerdictPolicy>("spam: delete\n").is_err());
        assert!(serde_saphyr::from_str::<VerdictPolicy>("spma: reject\n").is_err());
    }

    #[test]
    fn the_strictest_action_wins_and_every_failure_is_a_reason() {
        let v = Verdicts {
            spam: VerdictStatus::Fail,
            spf: VerdictStatus::Fail,
            dmarc: VerdictStatus::Fail,
            dmarc_policy: Some(DmarcPolicy::Reject),
            ..Verdicts::default()
        };
        let d = VerdictPolicy::default().decide(&v);
        assert_eq!(d.action, VerdictAction::Reject);
        assert_eq!(d.reasons.len(), 3);
        assert_eq!(d.reasons[2].to_string(), "Dmarc Fail (p=Reject) → reject");
    }
}
