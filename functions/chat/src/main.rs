//! The mobile chat (section 3.2) behind API Gateway: sessions, the chatbot, the handoff to operators.
//!
//! The init and the handler are the library's (`sportello::lambda`), which lists what it reads.

#[tokio::main]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Chat).await
}
