//! Resolution notices from the reply queue; refused ones go to its dead-letter queue, failed ones are reported one by one.
//!
//! The init and the handler are the library's (`sportello::lambda`), which lists what it reads.

#[tokio::main]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::Notices).await
}
