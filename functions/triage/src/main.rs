//! The step queue's batches: triage, answer delivery, clients' webhooks, the incident fan-out; failed messages reported one by one.
//!
//! The init and the handler are the library's (`sportello::lambda::triage`, and `sportello::lambda`
//! for what it reads); naming the builder, not a `Function`, keeps the other functions' handlers
//! out of this binary.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Triage, sportello::lambda::triage).await
}
