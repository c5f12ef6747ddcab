//! The step queue's batches: triage, answer delivery, clients' webhooks, the incident fan-out; failed messages reported one by one.
//!
//! The init and the handler are the library's (`sportello::lambda`), which lists what it reads.

#[tokio::main]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Triage).await
}
