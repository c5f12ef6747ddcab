//! `POST /email/inbound` on API Gateway (HTTP API).

use sportello::http::email::MailToken;

#[tokio::main]
async fn main() -> Result<(), sportello_email::Error> {
    sportello_email::init_tracing();
    let token = MailToken::from_env()?;
    let engine = sportello_email::engine_from_env().await?;
    lambda_http::run(sportello_email::app(engine, token)).await
}
