//! Triage of new tickets, fed by the step queue; reports failed messages one by one.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sportello::lambda::run_steps().await
}
