//! docs/openapi.yaml against the routers: every route the source registers is described with its
//! methods and nothing else is; every `$ref` resolves; the local server serves the document.

use crate::support::app::TestApp;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use sportello::http::openapi::{OPENAPI_YAML, openapi_json};
use std::collections::BTreeSet;

const HTTP_METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// `(path, method)` of every `.route("<path>", <method router>)` call under src/http/. The method
/// router is read up to its closing parenthesis, and each `get(`/`post(`... in it counts, so
/// `post(a).get(b)`, wrapped in a function call or not, gives both.
fn source_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for path in crate::support::rust_files(&crate::support::root().join("src/http")) {
        routes.extend(routes_in(&std::fs::read_to_string(&path).unwrap()));
    }
    routes
}

fn routes_in(text: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let args = balanced(rest);
        let Some((path_part, methods_part)) = args.split_once(',') else { continue };
        let path = path_part.trim().trim_matches('"');
        if !path.starts_with('/') {
            continue;
        }
        let mut found = false;
        for m in HTTP_METHODS {
            let mut search = methods_part;
            while let Some(i) = search.find(&format!("{m}(")) {
                let before = search[..i].chars().last();
                if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                    out.insert((path.to_string(), m.to_string()));
                    found = true;
                }
                search = &search[i + m.len()..];
            }
        }
        assert!(found, "no method found for route {path}: {methods_part}");
    }
    out
}

/// The text up to the parenthesis that closes the one just opened.
fn balanced(text: &str) -> &str {
    let mut depth = 1;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    text
}

fn document() -> &'static Value {
    openapi_json().expect("docs/openapi.yaml parses")
}

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (key, _) in item.as_object().expect("a path item") {
            if HTTP_METHODS.contains(&key.as_str()) {
                out.insert((path.clone(), key.clone()));
            }
        }
    }
    out
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let registered = source_routes();
    assert!(registered.contains(&("/health".into(), "get".into())), "the parser missed /health: {registered:?}");
    assert!(registered.contains(&("/chat/sessions/{reference}/messages".into(), "get".into())));
    let documented = documented_routes(document());
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    assert!(undocumented.is_empty(), "routes missing from docs/openapi.yaml: {undocumented:?}");
    let phantom: Vec<_> = documented.difference(&registered).collect();
    assert!(phantom.is_empty(), "docs/openapi.yaml describes routes no router registers: {phantom:?}");
}

#[test]
fn the_route_parser_reads_chained_and_wrapped_method_routers() {
    let routes = routes_in(
        r#".route("/a/{x}", wrapped(post(one).get(two))) .route(
        "/b",
        get(|s: State<X>| async move { f(s) }),
    )"#,
    );
    let expected: BTreeSet<(String, String)> = [("/a/{x}", "post"), ("/a/{x}", "get"), ("/b", "get")]
        .into_iter()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    assert_eq!(routes, expected);
}

fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_and_every_ref_resolves() {
    let doc = document();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    assert!(refs.len() > 20, "expected components to be shared by reference");
    for r in refs {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{r}: only local references"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    // Every security requirement names a declared scheme; every operation has error responses
    // as problem+json (pages for people, as HTML).
    let schemes = doc["components"]["securitySchemes"].as_object().expect("security schemes");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap().iter().filter(|(k, _)| HTTP_METHODS.contains(&k.as_str())) {
            for requirement in op["security"].as_array().into_iter().flatten() {
                for name in requirement.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(name), "{method} {path}: unknown security scheme {name}");
                }
            }
            let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{method} {path}: no responses"));
            for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
                // A page for people (the survey page) answers its errors as a page.
                if response["content"].get("text/html").is_some() {
                    continue;
                }
                assert_eq!(
                    response["$ref"], "#/components/responses/Problem",
                    "{method} {path} {status}: errors are problem+json"
                );
            }
        }
    }
    // The schemas are JSON Schema (2020-12, as OpenAPI 3.1 uses): each one compiles.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let mut with_components = schema.clone();
        with_components["components"] = doc["components"].clone();
        jsonschema::validator_for(&with_components).unwrap_or_else(|e| panic!("schema {name}: {e}"));
    }
}

async fn get(app: &TestApp, uri: &str) -> (StatusCode, String, String) {
    let reply = app.send(Request::get(uri).body(Body::empty()).unwrap()).await;
    (reply.status, reply.content_type().to_string(), reply.text)
}

#[tokio::test]
async fn the_local_server_serves_the_document_as_yaml_and_json() {
    let app = TestApp::new();
    let (status, content_type, body) = get(&app, "/openapi.yaml").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("application/yaml"), "{content_type}");
    assert_eq!(body, OPENAPI_YAML);

    let (status, content_type, body) = get(&app, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert!(json["paths"]["/operator/targets/{target}/notices"]["post"].is_object());
    // The rulebook's ids are the enums of the id schemas, and nothing else differs.
    let enum_of = |schema: &str| -> Vec<String> {
        serde_json::from_value(json["components"]["schemas"][schema]["enum"].clone())
            .unwrap_or_else(|e| panic!("{schema} has no enum of ids: {e}"))
    };
    assert_eq!(enum_of("TeamId"), ["chatbot", "first_level", "privacy"]);
    assert_eq!(enum_of("Language"), ["it", "en"]);
    assert!(enum_of("TargetId").contains(&"pagopa_specialists".to_string()), "{:?}", enum_of("TargetId"));
    assert!(enum_of("CategoryId").contains(&"specialist_support".to_string()));
    let on_chat = enum_of("ChatCategory");
    // `bot` arrives on the chat only; every category of the default rulebook arrives there.
    assert!(on_chat.contains(&"bot".to_string()) && on_chat.len() == enum_of("CategoryId").len(), "{on_chat:?}");
    assert!(enum_of("ClientCategory").contains(&"io_pagamenti_pagopa".to_string()));
    assert_eq!(json["components"]["schemas"]["MenuDigit"]["enum"], serde_json::json!([1, 2, 3, 4]));
    assert_eq!(json["components"]["schemas"]["MenuKey"]["pattern"], "^\\s*(1|2|3|4)?\\s*$");
    let fields = &json["components"]["schemas"]["CustomFields"];
    assert_eq!(fields["properties"]["notice_code"]["format"], "notice-code");
    assert_eq!(fields["additionalProperties"], false);
    let mut without_ids = json.clone();
    let schemas = without_ids["components"]["schemas"].as_object_mut().unwrap();
    for (schema, added) in [
        ("TeamId", "enum"),
        ("CategoryId", "enum"),
        ("ChatCategory", "enum"),
        ("TargetId", "enum"),
        ("Language", "enum"),
        ("ClientCategory", "enum"),
        ("ArticleId", "enum"),
        ("MenuDigit", "enum"),
        ("MenuKey", "pattern"),
        ("CustomFields", "properties"),
    ] {
        schemas[schema].as_object_mut().unwrap().remove(added);
    }
    schemas["CustomFields"]["additionalProperties"] =
        document()["components"]["schemas"]["CustomFields"]["additionalProperties"].clone();
    // The report figures, listed from the code that parses them.
    let figure = without_ids.pointer_mut("/components/parameters/ReportFigure/schema").unwrap();
    assert!(figure["enum"].as_array().is_some_and(|e| e.iter().any(|f| f == "sla_breached:resolution")), "{figure}");
    figure.as_object_mut().unwrap().remove("enum");
    assert_eq!(&without_ids, document());
}

/// Every problem type the code can emit: `http::problem::PROBLEM_TYPES`, which must hold every
/// `/problems/...` written anywhere in the source, and `about:blank`.
fn emitted_problem_types() -> BTreeSet<String> {
    let listed: BTreeSet<String> = sportello::http::problem::PROBLEM_TYPES.iter().map(|t| t.to_string()).collect();
    for path in crate::support::rust_files(&crate::support::root().join("src")) {
        let text = std::fs::read_to_string(&path).unwrap();
        for (at, _) in text.match_indices("\"/problems/") {
            let literal = text[at + 1..].split('"').next().unwrap();
            // The pages' own path and route (`/problems/`, `/problems/{kind}`) are no type.
            if literal == "/problems/" || literal.contains('{') {
                continue;
            }
            assert!(listed.contains(literal), "{}: `{literal}` is not in PROBLEM_TYPES", path.display());
        }
    }
    assert!(listed.contains("about:blank"));
    listed
}

#[test]
fn every_problem_type_the_code_emits_is_documented_and_no_other() {
    let schema = &document()["components"]["schemas"]["Problem"]["properties"]["type"];
    let documented: BTreeSet<String> = schema["oneOf"]
        .as_array()
        .expect("Problem.type lists its types (oneOf)")
        .iter()
        .map(|t| {
            let description = t["description"].as_str().unwrap_or_default();
            assert!(description.len() > 20, "{t}: say what the type means");
            t["const"].as_str().expect("each type is a const").to_string()
        })
        .collect();
    assert_eq!(emitted_problem_types(), documented);
}

/// One refusal of each kind.
pub(crate) fn one_refusal_of_each_kind() -> Vec<sportello::engine::Refusal> {
    use sportello::engine::Refusal;
    vec![
        Refusal::Flow("f".into()),
        Refusal::State("s".into()),
        Refusal::Done("d".into()),
        Refusal::Channel("c".into()),
        Refusal::Unsupported("u".into()),
        Refusal::Held("h".into()),
        Refusal::Contended("c".into()),
        Refusal::TypedByIncidentCheck { reference: "SP-7K3Q9XWD".into(), step: "the incident check" },
    ]
}

/// The 409 of each refusal carries a documented type.
#[test]
fn each_refusal_renders_a_documented_type() {
    use sportello::http::Problem;
    let types = emitted_problem_types();
    for refusal in &one_refusal_of_each_kind() {
        let problem = Problem::refused(refusal);
        assert_eq!(problem.status, 409);
        assert!(types.contains(problem.kind), "{refusal:?}: {}", problem.kind);
        assert_eq!(problem.kind, format!("/problems/{}", refusal.kind()), "{refusal:?}");
    }
}
