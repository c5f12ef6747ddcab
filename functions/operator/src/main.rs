//! The operator API behind API Gateway's JWT authorizer, and the targets' HMAC-signed resolution notices.
//!
//! The init and the handler are the library's (`sportello::lambda`), which lists what it reads.

#[tokio::main]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Operator).await
}
