//! Resolution notices from the reply queue; refused ones go to its dead-letter queue, failed
//! ones are reported one by one.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sportello::lambda::run_notices().await
}
