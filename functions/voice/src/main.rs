//! The start of a call (section 3.1): Amazon Connect contact flows, or `POST /voice/calls` and `/voice/connect` through API Gateway.
//!
//! The init and the handler are the library's (`sportello::lambda`), which lists what it reads.

#[tokio::main]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Voice).await
}
