//! The mobile chat (section 3.2) behind API Gateway: sessions, the chatbot, the handoff to operators.
//!
//! The init and the handler are the library's (`sportello::lambda::chat`, and `sportello::lambda`
//! for what it reads); naming the builder, not a `Function`, keeps the other functions' handlers
//! out of this binary.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Chat, sportello::lambda::chat).await
}
