//! `GET /openapi.yaml` and `GET /openapi.json`: docs/openapi.yaml, the description of every
//! endpoint, built into the binary. `tests/it/openapi.rs` checks it against the routers.
//!
//! The ids a request may name (teams, categories, targets, languages) are the rulebook's, so the document
//! declares their shape and `/openapi.json` adds the running rulebook's list as each one's `enum`:
//! a client generated from it, or schemathesis, sends only what this server accepts.

use super::AppState;
use crate::rules::Rules;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::OnceLock;

/// The document as written.
pub const OPENAPI_YAML: &str = include_str!("../../docs/openapi.yaml");

/// The document as JSON, converted once. A document that does not parse is a build mistake the
/// tests catch; here it becomes a 500 with a problem rather than a panic.
pub fn openapi_json() -> Result<&'static serde_json::Value, &'static str> {
    static JSON: OnceLock<Result<serde_json::Value, String>> = OnceLock::new();
    JSON.get_or_init(|| serde_saphyr::from_str(OPENAPI_YAML).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(String::as_str)
}

/// The document with `rules`' ids as the enums of the schemas `TeamId`, `CategoryId`,
/// `ChatCategory`, `TargetId`, `Language`, `ArticleId` and `ClientCategory`, and its custom fields as the
/// properties of `CustomFields`.
pub fn for_rulebook(rules: &Rules) -> Result<serde_json::Value, &'static str> {
    let mut doc = openapi_json()?.clone();
    let ids = |keys: Vec<&str>| serde_json::Value::from(keys);
    let chat = rules.channel_of_kind(crate::domain::ChannelKind::Chat).map(|(ix, _, _)| ix);
    let on_chat = rules.categories.iter().filter(|(_, c)| chat.is_some_and(|ix| c.arrives_on(ix)));
    let lists = [
        ("TeamId", ids(rules.teams.keys().map(|k| k.as_str()).collect())),
        ("CategoryId", ids(rules.categories.keys().map(|k| k.as_str()).collect())),
        ("ChatCategory", ids(on_chat.map(|(k, _)| k.as_str()).collect())),
        ("TargetId", ids(rules.targets.keys().map(|k| k.as_str()).collect())),
        ("Language", ids(rules.languages.iter().map(String::as_str).collect())),
        ("ArticleId", ids(rules.knowledge.ids().into_keys().collect())),
    ];
    for (schema, values) in lists {
        if let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{schema}")).and_then(|s| s.as_object_mut())
        {
            schema.insert("enum".into(), values);
        }
    }
    // The client apps' own categories (the part before `/` of their trees), all clients together.
    let mut client_categories: Vec<&str> =
        rules.clients.values().flat_map(|c| c.categories.keys().map(|k| k.split('/').next().unwrap_or(k))).collect();
    client_categories.sort_unstable();
    client_categories.dedup();
    if let Some(schema) = doc.pointer_mut("/components/schemas/ClientCategory").and_then(|s| s.as_object_mut()) {
        schema.insert("enum".into(), client_categories.into());
    }
    // The IVR menu's keys: as a string (blank for no choice; spaces around are ignored), or a number.
    if let Some((_, _, voice)) = rules.channel_of_kind(crate::domain::ChannelKind::Voice) {
        let keys: Vec<String> = voice.menu.keys().map(|k| k.replace('*', "\\*")).collect();
        let pattern = format!("^\\s*({})?\\s*$", keys.join("|"));
        if let Some(schema) = doc.pointer_mut("/components/schemas/MenuKey").and_then(|s| s.as_object_mut()) {
            schema.insert("pattern".into(), pattern.into());
        }
        let digits: Vec<u64> = voice.menu.keys().filter_map(|k| k.parse().ok()).collect();
        if let Some(schema) = doc.pointer_mut("/components/schemas/MenuDigit").and_then(|s| s.as_object_mut()) {
            schema.insert("enum".into(), digits.into());
        }
    }
    // The report figures a drill-down takes, from the code that parses them (not the rulebook's,
    // but kept out of the YAML so the list is written once).
    if let Some(schema) = doc.pointer_mut("/components/parameters/ReportFigure/schema").and_then(|s| s.as_object_mut())
    {
        schema.insert("enum".into(), crate::reports::report::Figure::names().into());
    }
    // The custom fields by name, each with its format.
    if let Some(schema) = doc.pointer_mut("/components/schemas/CustomFields").and_then(|s| s.as_object_mut()) {
        let properties: serde_json::Map<String, serde_json::Value> = rules
            .custom_fields
            .iter()
            .map(|(name, field)| (name.as_str().to_string(), field_schema(field.format)))
            .collect();
        schema.insert("properties".into(), properties.into());
        schema.insert("additionalProperties".into(), false.into());
    }
    Ok(doc)
}

/// A custom field's value: its format's name (`docs/openapi.yaml`, `CustomFields`, says what each
/// checks, check digits included); a text field holds at most 256 bytes.
fn field_schema(format: crate::rules::model::FieldFormat) -> serde_json::Value {
    use crate::rules::model::FieldFormat;
    let name = match format {
        FieldFormat::Text => None,
        FieldFormat::NoticeCode => Some("notice-code"),
        FieldFormat::EntityFiscalCode => Some("entity-fiscal-code"),
        FieldFormat::FiscalCode => Some("fiscal-code"),
        FieldFormat::RptId => Some("rpt-id"),
    };
    match name {
        Some(format) => serde_json::json!({"type": "string", "format": format}),
        None => serde_json::json!({"type": "string", "maxLength": 256}),
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.yaml", get(yaml)).route("/openapi.json", get(json))
}

async fn yaml() -> Response {
    let mut response = OPENAPI_YAML.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/yaml; charset=utf-8"));
    response
}

async fn json(State(state): State<AppState>) -> Response {
    match for_rulebook(&state.engine.rules) {
        Ok(doc) => axum::Json(doc).into_response(),
        Err(e) => {
            super::Problem::new(StatusCode::INTERNAL_SERVER_ERROR, format!("docs/openapi.yaml: {e}")).into_response()
        }
    }
}
