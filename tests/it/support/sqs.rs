//! SQS messages as Lambda's event source mapping receives them and hands them to a function.

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
    let mut system = json!({"ApproximateReceiveCount": "1"});
    // The sender's X-Ray trace, which the event source mapping hands over among the attributes.
    let trace =
        m.attributes.as_ref().and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::AwsTraceHeader));
    if let Some(trace) = trace {
        system["AWSTraceHeader"] = json!(trace);
    }
    json!({
        "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
        "attributes": system, "messageAttributes": attributes,
        "eventSource": "aws:sqs",
    })
}

/// Up to ten messages from a queue, with their attributes, as the event source mapping receives
/// them.
pub async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::AwsTraceHeader)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default()
}
