//! `POST /email/inbound` (raw MIME from a mail gateway, its token checked) and `GET /health`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::run(sportello::lambda::Function::EmailHttp, sportello::lambda::email_http).await
}
