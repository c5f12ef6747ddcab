//! The analysts' export on AWS: the events of each stream batch, without personal data (the
//! same lines as `sportello report export`, [`crate::reports::export`]), as newline-delimited
//! JSON objects in S3 under `events/date=<local date>/`, the partitions of the Athena table in
//! infra/template.yaml.
//!
//! An object is named after the first and last sequence numbers of the batch's records of that
//! date, so a batch delivered again writes the same objects again rather than new ones. A batch
//! Lambda split after a failure can still put an event in two objects: `event_id` is unique per
//! event, and queries count distinct ids (docs/reports.md).

use crate::ports::{StoreError, StoreResult};
use crate::reports::export::ExportedEvent;
use crate::reports::{FeedEvent, Projector};
use std::collections::BTreeMap;

/// Where the export objects go.
pub const PREFIX: &str = "events/";

/// The object of a batch's events of one date. Sequence numbers are decimal strings of the same
/// length within a shard, so the name sorts as the stream does.
pub fn key(date: &str, first_sequence: &str, last_sequence: &str) -> String {
    format!("{PREFIX}date={date}/{first_sequence}-{last_sequence}.json")
}

#[derive(Clone)]
pub struct S3Export {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Export {
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self { s3, bucket: bucket.into() }
    }

    /// Writes `events` (each with its record's sequence number), one object per local date;
    /// returns the keys written.
    pub async fn write(&self, events: &[(String, FeedEvent)], projector: &Projector) -> StoreResult<Vec<String>> {
        let mut by_date: BTreeMap<String, Vec<(&str, String)>> = BTreeMap::new();
        for (sequence, fe) in events {
            let line = ExportedEvent::of(fe, &projector.time_zone);
            by_date.entry(line.date.clone()).or_default().push((sequence.as_str(), line.to_line()));
        }
        let mut keys = Vec::new();
        for (date, lines) in by_date {
            let first = lines.iter().map(|(s, _)| *s).min().unwrap_or_default();
            let last = lines.iter().map(|(s, _)| *s).max().unwrap_or_default();
            let object = key(&date, first, last);
            let mut body = String::new();
            for (_, line) in &lines {
                body.push_str(line);
                body.push('\n');
            }
            self.s3
                .put_object()
                .bucket(&self.bucket)
                .key(&object)
                .content_type("application/x-ndjson")
                .body(body.into_bytes().into())
                .send()
                .await
                .map_err(|e| {
                    StoreError::Unavailable(format!(
                        "PutObject {object}: {}",
                        aws_sdk_s3::error::DisplayErrorContext(&e)
                    ))
                })?;
            keys.push(object);
        }
        Ok(keys)
    }
}
