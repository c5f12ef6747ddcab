//! The reports, from the tickets table's DynamoDB stream: each batch of new events is folded
//! into the report aggregates (idempotent per event) and written to the analysts' export bucket
//! as newline-delimited JSON, partitioned by date, for Athena.
//!
//! The init and the handler are the library's (`sportello::lambda::reports`, and `sportello::lambda`
//! for what it reads); naming the builder, not a `Function`, keeps the other functions' handlers
//! out of this binary.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Reports, sportello::lambda::reports).await
}
