//! What the aggregates count: metric keys, the mergeable bag of them kept per cell, and the
//! log-scale histogram behind the percentiles.

use std::fmt;

/// A metric key: counters and sums below [`HIST_BASE`], histogram buckets above it
/// (`histogram << 16 | bucket`).
pub type MetricKey = u32;

/// Counters and sums of the period cube, by the day the figure happened on.
pub mod key {
    use super::MetricKey;
    /// Tickets opened (contacts received), on the day they arrived.
    pub const CONTACTS: MetricKey = 1;
    /// Of those, arrived while the channel's service hours were closed.
    pub const CONTACTS_OUT_OF_HOURS: MetricKey = 2;
    /// Calls out of hours that heard the closed message (section 3.1), on the day they ended.
    pub const NOT_SERVED: MetricKey = 3;
    /// Resolved by the operator service (R), on the day of the resolution that stands.
    pub const RESOLVED: MetricKey = 4;
    /// Resolved and closed by the bot (type B).
    pub const AUTO_RESOLVED: MetricKey = 5;
    /// Chats closed out of hours, not solved by the bot.
    pub const AUTO_CLOSED: MetricKey = 6;
    /// Resolved without an escalation and without a second contact from the requester.
    pub const FIRST_CONTACT_RESOLVED: MetricKey = 7;
    pub const FIRST_RESPONSES: MetricKey = 8;
    pub const FIRST_RESPONSE_SECONDS: MetricKey = 9;
    pub const FIRST_RESPONSE_BUSINESS_SECONDS: MetricKey = 10;
    pub const RESOLUTION_SECONDS: MetricKey = 12;
    pub const RESOLUTION_BUSINESS_SECONDS: MetricKey = 13;
    /// Deadlines met and breached, by kind ([`super::DeadlineKind`]): `SLA_BASE + 2·kind (+1)`.
    pub const SLA_BASE: MetricKey = 20;
    pub const ESCALATIONS: MetricKey = 30;
    pub const NOTICES: MetricKey = 31;
    pub const NOTICE_WAIT_SECONDS: MetricKey = 32;
    pub const NOTICE_WAIT_BUSINESS_SECONDS: MetricKey = 33;
    /// Reminders the clock sent to targets whose notice was overdue.
    pub const ESCALATION_REMINDERS: MetricKey = 34;
    /// Requesters' reminders (solleciti) about a ticket, on the day they came.
    pub const REMINDERS: MetricKey = 40;
    /// Tickets chased, on the day of their first reminder.
    pub const TICKETS_CHASED: MetricKey = 41;
    pub const SURVEYS_SENT: MetricKey = 50;
    pub const SURVEY_RESPONSES: MetricKey = 51;
    /// Ratings 1 to 5: `RATING_BASE + rating`.
    pub const RATING_BASE: MetricKey = 51;
    pub const RATING_SUM: MetricKey = 57;
    pub const SURVEY_COMMENTS: MetricKey = 58;

    /// Chat conversations with the bot that ended, on the day they ended (the `outcome` note):
    /// contained (solved by the bot, type B), handed off to an operator, or closed out of hours.
    pub const BOT_CONVERSATIONS: MetricKey = 60;
    pub const BOT_CONTAINED: MetricKey = 61;
    pub const BOT_HANDED_OFF: MetricKey = 62;
    pub const BOT_CLOSED_OUT_OF_HOURS: MetricKey = 63;
    /// Of the conversations, those in which the bot asked back at least once.
    pub const BOT_ASKED_BACK: MetricKey = 64;
    /// Why conversations left the bot (handed off or closed out of hours), by
    /// [`super::HANDOFF_REASONS`]: `HANDOFF_REASON_BASE + i`.
    pub const HANDOFF_REASON_BASE: MetricKey = 70;

    /// Open tickets by state ([`super::OPEN_STATES`]), on the day they were opened: `OPEN_BASE + i`.
    pub const OPEN_BASE: MetricKey = 100;
    /// Escalations waiting for their notice, on the day they were sent.
    pub const OPEN_ESCALATIONS: MetricKey = 110;

    /// Tickets linked to an incident, on the day they were linked.
    pub const INCIDENT_LINKED: MetricKey = 120;
    /// Of those, reached by the incident's closing notice.
    pub const INCIDENT_REACHED: MetricKey = 121;
    pub const INCIDENT_WAIT_SECONDS: MetricKey = 122;
}

/// Why a chat left the bot, as the chat's `outcome` note records it (`docs/chat.md`); `other`
/// stands for a reason this build does not know.
pub const HANDOFF_REASONS: [&str; 6] =
    ["asked_for_operator", "no_fitting_article", "ask_back_unresolved", "privacy", "not_sure", "other"];

/// The key a hand-off reason counts under (an unknown reason counts as `other`).
pub fn handoff_reason_key(reason: &str) -> MetricKey {
    let i = HANDOFF_REASONS.iter().position(|r| *r == reason).unwrap_or(HANDOFF_REASONS.len() - 1);
    key::HANDOFF_REASON_BASE + i as u32
}

/// Histograms, one per timed figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Histogram {
    FirstResponse = 1,
    FirstResponseBusiness = 2,
    Resolution = 3,
    ResolutionBusiness = 4,
    NoticeWait = 5,
    NoticeWaitBusiness = 6,
    IncidentWait = 7,
}

pub const HIST_BASE: MetricKey = 1 << 16;

impl Histogram {
    pub fn key(self, bucket: u32) -> MetricKey {
        ((self as u32) << 16) | bucket
    }
}

/// The clocks a ticket can carry, as the rulebook names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    FirstResponse = 0,
    Resolution = 1,
    GdprDataSubjectRequest = 2,
    GdprBreachNotification = 3,
}

impl DeadlineKind {
    pub const ALL: [DeadlineKind; 4] =
        [Self::FirstResponse, Self::Resolution, Self::GdprDataSubjectRequest, Self::GdprBreachNotification];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::Resolution => "resolution",
            Self::GdprDataSubjectRequest => "gdpr_data_subject_request",
            Self::GdprBreachNotification => "gdpr_breach_notification",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn met(self) -> MetricKey {
        key::SLA_BASE + 2 * self as u32
    }

    pub fn breached(self) -> MetricKey {
        key::SLA_BASE + 2 * self as u32 + 1
    }
}

impl fmt::Display for DeadlineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The open states a backlog is counted in, in the order the lifecycle goes.
pub const OPEN_STATES: [crate::domain::TicketState; 4] = [
    crate::domain::TicketState::New,
    crate::domain::TicketState::TakenInCharge,
    crate::domain::TicketState::InProgress,
    crate::domain::TicketState::AwaitingResolutionNotice,
];

pub fn open_state_key(state: crate::domain::TicketState) -> Option<MetricKey> {
    OPEN_STATES.iter().position(|s| *s == state).map(|i| key::OPEN_BASE + i as u32)
}

/// Growth factor of the histogram's buckets: any percentile read from it is within
/// [`RELATIVE_ACCURACY`] of the exact value (DDSketch's construction).
pub const GAMMA: f64 = 1.04;
/// (γ − 1) / (γ + 1).
pub const RELATIVE_ACCURACY: f64 = (GAMMA - 1.0) / (GAMMA + 1.0);

/// The bucket of a duration in seconds: 0 for zero (or less), else `1 + ⌈log_γ s⌉`, so bucket
/// `b` holds the values in `(γ^(b-2), γ^(b-1)]`.
pub fn bucket(seconds: i64) -> u32 {
    if seconds <= 0 {
        return 0;
    }
    let exponent = ((seconds as f64).ln() / GAMMA.ln()).ceil();
    // A float a hair over an integer would land one bucket up: keep the bucket's definition.
    let mut b = exponent.max(0.0) as u32;
    if b > 0 && GAMMA.powi(b as i32 - 1) >= seconds as f64 {
        b -= 1;
    }
    b + 1
}

/// The value a bucket stands for: the point of its range closest, in relative terms, to every
/// value in it.
pub fn bucket_value(bucket: u32) -> f64 {
    if bucket == 0 {
        return 0.0;
    }
    2.0 * GAMMA.powi(bucket as i32 - 1) / (GAMMA + 1.0)
}

/// Counters, sums and histogram buckets, sorted by key. Cells of the aggregates hold one; a
/// report merges them. Every operation is a sum, so cells can be merged in any order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics(Vec<(MetricKey, i64)>);

impl Metrics {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, key: MetricKey) -> i64 {
        self.0.binary_search_by_key(&key, |(k, _)| *k).map_or(0, |i| self.0[i].1)
    }

    pub fn add(&mut self, key: MetricKey, value: i64) {
        if value == 0 {
            return;
        }
        match self.0.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => {
                self.0[i].1 += value;
                if self.0[i].1 == 0 {
                    self.0.remove(i);
                }
            }
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    /// Adds every value of `other` (times `sign`).
    pub fn merge(&mut self, other: &Metrics, sign: i64) {
        if self.0.is_empty() && sign == 1 {
            self.0.clone_from(&other.0);
            return;
        }
        let mut out = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        loop {
            match (a.peek(), b.peek()) {
                (Some(&&(ka, va)), Some(&&(kb, vb))) => {
                    if ka < kb {
                        out.push((ka, va));
                        a.next();
                    } else if kb < ka {
                        out.push((kb, sign * vb));
                        b.next();
                    } else {
                        let v = va + sign * vb;
                        if v != 0 {
                            out.push((ka, v));
                        }
                        a.next();
                        b.next();
                    }
                }
                (Some(&&p), None) => {
                    out.push(p);
                    a.next();
                }
                (None, Some(&&(kb, vb))) => {
                    out.push((kb, sign * vb));
                    b.next();
                }
                (None, None) => break,
            }
        }
        self.0 = out;
    }

    pub fn iter(&self) -> impl Iterator<Item = (MetricKey, i64)> + '_ {
        self.0.iter().copied()
    }

    /// The buckets of one histogram, in bucket order.
    pub fn histogram(&self, h: Histogram) -> impl Iterator<Item = (u32, i64)> + '_ {
        let lo = h.key(0);
        let hi = h.key(0xFFFF);
        let start = self.0.partition_point(|(k, _)| *k < lo);
        self.0[start..].iter().take_while(move |(k, _)| *k <= hi).map(|(k, v)| (k & 0xFFFF, *v))
    }

    /// A compact binary form: per entry, the key's distance from the previous key and the value,
    /// both LEB128 (the value zig-zagged).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 3);
        let mut previous = 0u32;
        for &(k, v) in &self.0 {
            put_varint(&mut out, u64::from(k - previous));
            put_varint(&mut out, ((v << 1) ^ (v >> 63)) as u64);
            previous = k;
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Metrics> {
        let mut out = Vec::new();
        let mut at = 0;
        let mut key = 0u32;
        while at < bytes.len() {
            let delta = get_varint(bytes, &mut at)?;
            let raw = get_varint(bytes, &mut at)?;
            key = key.checked_add(u32::try_from(delta).ok()?)?;
            let value = ((raw >> 1) as i64) ^ -((raw & 1) as i64);
            out.push((key, value));
        }
        Some(Metrics(out))
    }
}

impl FromIterator<(MetricKey, i64)> for Metrics {
    fn from_iter<I: IntoIterator<Item = (MetricKey, i64)>>(iter: I) -> Self {
        let mut m = Metrics::new();
        for (k, v) in iter {
            m.add(k, v);
        }
        m
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7F) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Count, mean and percentiles of a timed figure, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct TimeStats {
    pub count: i64,
    pub mean_seconds: Option<f64>,
    pub p50_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

impl TimeStats {
    /// From a count, the sum of the values, and their histogram.
    pub fn of(count: i64, sum: i64, buckets: impl Iterator<Item = (u32, i64)>) -> Self {
        if count <= 0 {
            return Self::default();
        }
        let buckets: Vec<(u32, i64)> = buckets.collect();
        Self {
            count,
            mean_seconds: Some(sum as f64 / count as f64),
            p50_seconds: percentile(&buckets, 0.5),
            p90_seconds: percentile(&buckets, 0.9),
        }
    }
}

/// The nearest-rank percentile `q` of a histogram (buckets in order), as whole seconds.
pub fn percentile(buckets: &[(u32, i64)], q: f64) -> Option<i64> {
    let total: i64 = buckets.iter().map(|(_, n)| *n).sum();
    if total <= 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    for &(b, n) in buckets {
        seen += n;
        if seen >= rank {
            return Some(bucket_value(b).round() as i64);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_bound_the_relative_error() {
        for s in [1i64, 2, 3, 59, 60, 61, 3599, 3600, 86_400, 7 * 86_400, 90 * 86_400, 1_000_000_007] {
            let b = bucket(s);
            let v = bucket_value(b);
            assert!((v - s as f64).abs() <= RELATIVE_ACCURACY * s as f64 + 1e-9, "{s}: bucket {b} → {v}");
            assert!(GAMMA.powi(b as i32 - 2) < s as f64 && s as f64 <= GAMMA.powi(b as i32 - 1) * (1.0 + 1e-12));
        }
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(-5), 0);
    }

    #[test]
    fn metrics_merge_and_round_trip() {
        let mut a: Metrics = [(1, 2), (5, -3), (70_000, 1)].into_iter().collect();
        let b: Metrics = [(1, -2), (4, 1), (70_000, 2)].into_iter().collect();
        a.merge(&b, 1);
        assert_eq!(a.iter().collect::<Vec<_>>(), [(4, 1), (5, -3), (70_000, 3)]);
        a.merge(&b, -1);
        assert_eq!(a.iter().collect::<Vec<_>>(), [(1, 2), (5, -3), (70_000, 1)]);
        assert_eq!(Metrics::decode(&a.encode()), Some(a.clone()));
        assert_eq!(Metrics::decode(&[0x80]), None, "truncated");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut m = Metrics::new();
        for s in [10, 20, 30, 40, 1000] {
            m.add(Histogram::Resolution.key(bucket(s)), 1);
        }
        let buckets: Vec<_> = m.histogram(Histogram::Resolution).collect();
        let p50 = percentile(&buckets, 0.5).unwrap();
        assert!((p50 - 30).abs() <= 1, "{p50}");
        let p90 = percentile(&buckets, 0.9).unwrap();
        assert!((p90 - 1000).abs() <= 20, "{p90}");
        assert_eq!(m.histogram(Histogram::FirstResponse).count(), 0);
    }
}
