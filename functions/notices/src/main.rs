//! Resolution notices from the reply queue; refused ones go to its dead-letter queue, failed ones are reported one by one.
//!
//! The init and the handler are the library's (`sportello::lambda::notices`, and `sportello::lambda`
//! for what it reads); naming the builder, not a `Function`, keeps the other functions' handlers
//! out of this binary.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Notices, sportello::lambda::notices).await
}
