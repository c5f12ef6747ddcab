//! The start of a call (section 3.1): Amazon Connect contact flows, or `POST /voice/calls` and `/voice/connect` through API Gateway.
//!
//! The init and the handler are the library's (`sportello::lambda::voice`, and `sportello::lambda`
//! for what it reads); naming the builder, not a `Function`, keeps the other functions' handlers
//! out of this binary.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Voice, sportello::lambda::voice).await
}
