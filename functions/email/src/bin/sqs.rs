//! SES receipt rule → SNS → SQS → here, one batch at a time, with partial batch failures.

use lambda_runtime::{LambdaEvent, service_fn};
use sportello::adapters::aws::email_inbound::handle_email_batch;
use sportello::adapters::aws::lambda::{SqsBatchResponse, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), sportello_email::Error> {
    sportello_email::init_tracing();
    let engine = sportello_email::engine_from_env().await?;
    let engine = &engine;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, sportello_email::Error>(handle_email_batch(engine, event.payload).await)
    }))
    .await
}
