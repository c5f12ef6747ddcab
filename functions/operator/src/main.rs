//! The operator API behind API Gateway's JWT authorizer, the targets' HMAC-signed resolution
//! notices, and the operators' web console.
//!
//! The init and the handler are the library's (`sportello::lambda::operator`, and `sportello::lambda`
//! for what it reads); naming the builder, not a `Function`, keeps the other functions' handlers
//! out of this binary.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Operator, sportello::lambda::operator).await
}
