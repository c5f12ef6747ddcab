//! API Gateway HTTP API events (payload format 2.0) through a router, and its response back in
//! the shape API Gateway reads.
//!
//! The request is `lambda_http`'s; the response is built here. `lambda_http`'s own conversion
//! re-decodes a text body by its `charset` with `encoding_rs` (a charset's tables are most of
//! what it adds to a function's binary) and keeps one value of a repeated header. Here a body that
//! is UTF-8 goes as text, byte for byte, and any other as base64, which API Gateway turns back
//! into the same bytes; repeated headers are joined with commas (RFC 9110 §5.3), and
//! `Set-Cookie`, which cannot be joined, goes in `cookies`, as payload format 2.0 asks.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use axum::Router;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use http_body_util::BodyExt;
use lambda_http::RequestExt;
use lambda_http::lambda_runtime::Context;
use lambda_http::request::LambdaRequest;
use tower::ServiceExt;

/// A response body larger than this is refused: API Gateway takes at most 6 MB from a function.
const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// Runs `request` through `app` and gives the response as API Gateway reads it.
pub async fn call(app: Router, request: LambdaRequest, context: Context) -> Result<ApiGatewayV2httpResponse, String> {
    let request = lambda_http::Request::from(request).with_lambda_context(context);
    let response = match app.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    gateway_response(response).await
}

/// The router's `response` as API Gateway's answer.
pub async fn gateway_response(response: axum::response::Response) -> Result<ApiGatewayV2httpResponse, String> {
    let (parts, body) = response.into_parts();
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    let bytes = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Err(format!("the response's body could not be read: {e}")),
    };
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    answer.cookies =
        parts.headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(String::from).collect();
    answer.headers = joined(&parts.headers);
    if !bytes.is_empty() {
        match String::from_utf8(bytes.into()) {
            Ok(text) => answer.body = Some(Body::Text(text)),
            Err(binary) => {
                answer.body = Some(Body::Binary(binary.into_bytes()));
                answer.is_base64_encoded = true;
            }
        }
    }
    Ok(answer)
}

/// One value per header name, a repeated header's values joined with `, `; no `Set-Cookie`.
fn joined(headers: &HeaderMap) -> HeaderMap {
    let mut one_each = HeaderMap::with_capacity(headers.keys_len());
    for name in headers.keys().filter(|name| *name != SET_COOKIE) {
        let mut values = headers.get_all(name).iter();
        let Some(first) = values.next() else { continue };
        let mut value = first.as_bytes().to_vec();
        for more in values {
            value.extend_from_slice(b", ");
            value.extend_from_slice(more.as_bytes());
        }
        // Joined valid values are a valid value.
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            one_each.insert(name.clone(), value);
        }
    }
    one_each
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use serde_json::{Value, json};

    async fn answered(response: axum::response::Response) -> Value {
        serde_json::to_value(gateway_response(response).await.expect("an answer")).unwrap()
    }

    #[tokio::test]
    async fn a_utf8_body_goes_as_its_own_text_whatever_its_charset_says() {
        let page = "<p>Perché è già così</p>";
        let response = ([(header::CONTENT_TYPE, "text/html; charset=iso-8859-1")], page).into_response();
        let answer = answered(response).await;
        assert_eq!(answer["body"], page);
        assert_eq!(answer["isBase64Encoded"], false);
        assert_eq!(answer["headers"]["content-type"], "text/html; charset=iso-8859-1");
    }

    #[tokio::test]
    async fn other_bytes_go_in_base64_and_an_empty_body_as_none() {
        let png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00];
        let answer = answered(([(header::CONTENT_TYPE, "image/png")], png).into_response()).await;
        assert_eq!(answer["isBase64Encoded"], true);
        assert_eq!(answer["body"], "iVBORw0KGgr/AA==");

        let answer = answered(StatusCode::NO_CONTENT.into_response()).await;
        assert_eq!(answer["statusCode"], 204);
        assert_eq!(answer.get("body"), None, "{answer}");
        assert_eq!(answer["isBase64Encoded"], false);
    }

    #[tokio::test]
    async fn cookies_go_apart_and_repeated_headers_are_joined() {
        let mut response = (StatusCode::SEE_OTHER, "").into_response();
        let headers = response.headers_mut();
        headers.append(header::SET_COOKIE, HeaderValue::from_static("a=1; Path=/; HttpOnly"));
        headers.append(header::SET_COOKIE, HeaderValue::from_static("b=2; Path=/; Secure"));
        headers.append(header::VARY, HeaderValue::from_static("Cookie"));
        headers.append(header::VARY, HeaderValue::from_static("Accept-Language"));
        headers.insert(header::LOCATION, HeaderValue::from_static("/queue"));
        let answer = answered(response).await;
        assert_eq!(answer["statusCode"], 303);
        assert_eq!(answer["cookies"], json!(["a=1; Path=/; HttpOnly", "b=2; Path=/; Secure"]));
        assert_eq!(answer["headers"]["vary"], "Cookie, Accept-Language");
        assert_eq!(answer["headers"]["location"], "/queue");
        assert_eq!(answer["headers"].get("set-cookie"), None, "{answer}");
    }

    #[tokio::test]
    async fn a_body_over_api_gateways_limit_is_an_error_not_a_truncated_answer() {
        let response = vec![b'x'; MAX_BODY_BYTES + 1].into_response();
        let err = gateway_response(response).await.unwrap_err();
        assert!(err.contains("could not be read"), "{err}");
    }
}
