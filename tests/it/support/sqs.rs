//! SQS messages as Lambda's event source mapping hands them to a function.

use serde_json::{Value, json};

/// One record of an SQS event for a message received from a queue.
pub fn record(m: &aws_sdk_sqs::types::Message) -> Value {
    let attributes: serde_json::Map<String, Value> = m
        .message_attributes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, json!({"stringValue": v.string_value, "dataType": v.data_type})))
        .collect();
    json!({
        "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": attributes,
        "eventSource": "aws:sqs",
    })
}
