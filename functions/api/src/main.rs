//! The ticket API for PagoPA's client apps (section 3.4): `POST /api/v1/tickets`, `GET /api/v1/tickets/{reference}`, behind API Gateway's IAM authorizer.
//!
//! The init and the handler are the library's (`sportello::lambda::api`, and `sportello::lambda`
//! for what it reads); naming the builder, not a `Function`, keeps the other functions' handlers
//! out of this binary.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Api, sportello::lambda::api).await
}
