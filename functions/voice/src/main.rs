//! The start of a call: invoked by an Amazon Connect contact flow, or through API Gateway
//! (`POST /voice/calls`, `POST /voice/connect`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    sportello::lambda::run_voice(sportello::http::voice::router()).await
}
