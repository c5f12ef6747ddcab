//! `POST /api/v1/tickets` and `GET /api/v1/tickets/{reference}` behind API Gateway (HTTP API).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    sportello::lambda::run_http(sportello::http::api::router()).await
}
