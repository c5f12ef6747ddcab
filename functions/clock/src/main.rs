//! The clock, every minute from an EventBridge Scheduler schedule: SLA and GDPR warnings and breaches, reminders to targets, the sweep (intake steps left in the outbox, tickets never triaged), the retention purge.
//!
//! The init and the handler are the library's (`sportello::lambda::clock`, and `sportello::lambda`
//! for what it reads); naming the builder, not a `Function`, keeps the other functions' handlers
//! out of this binary.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Clock, sportello::lambda::clock).await
}
