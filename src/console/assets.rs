//! The console's stylesheet, script and icon, compiled into the binary: nothing to fetch at
//! build or run time, and the same bytes locally and in the Lambda's zip.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");
const ICON: &str = include_str!("assets/icon.svg");

/// The URLs pages link to; the version changes them when the files change between releases.
pub const CSS_URL: &str = concat!("/assets/console.css?v=", env!("CARGO_PKG_VERSION"));
pub const JS_URL: &str = concat!("/assets/console.js?v=", env!("CARGO_PKG_VERSION"));

/// Bytes of every asset, for the size budget (the Lambda zip).
pub fn total_bytes() -> usize {
    CSS.len() + JS.len() + ICON.len()
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        "icon.svg" => (ICON, "image/svg+xml"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    r
}
