//! SES receipt rule (S3, then SNS) → SQS → here, one batch at a time, with partial batch failures.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::EmailSqs, sportello::lambda::email_sqs).await
}
