//! The page behind each problem type: every `type` the API returns resolves, in Italian first and
//! in English when asked, with the title the problem itself carries.

use crate::support::app::TestApp;
use crate::support::http::request;
use axum::http::{Method, StatusCode};
use sportello::http::Problem;
use sportello::http::problem::{ABOUT_BLANK, PROBLEM_TYPES};
use std::collections::BTreeSet;

#[tokio::test]
async fn every_problem_type_resolves_to_a_page_in_italian_and_in_english() {
    let app = TestApp::new();
    let types: BTreeSet<&str> = PROBLEM_TYPES.iter().copied().filter(|t| *t != ABOUT_BLANK).collect();
    assert!(types.len() >= 8, "{types:?}");
    for ty in &types {
        let italian = app.send(request(Method::GET, ty, &[], "")).await;
        assert_eq!(italian.status, StatusCode::OK, "{ty}: {}", italian.text);
        assert!(italian.content_type().starts_with("text/html"), "{ty}: {}", italian.content_type());
        assert_eq!(italian.headers["content-language"], "it", "{ty}");
        assert!(italian.text.contains("<html lang=\"it\">"), "{ty}");
        assert!(italian.text.contains("Che cosa fare"), "{ty}: {}", italian.text);
        assert!(italian.text.contains("hreflang=\"en\">English</a>"), "{ty}: a link to the English page");
        assert!(italian.text.contains(&format!("<code>{ty}</code>")), "{ty}: the page names its type");

        let english = app.send(request(Method::GET, ty, &[("accept-language", "en-GB,en;q=0.9,it;q=0.5")], "")).await;
        assert_eq!(english.status, StatusCode::OK, "{ty}");
        assert_eq!(english.headers["content-language"], "en", "{ty}");
        assert!(english.text.contains("What to do next"), "{ty}: {}", english.text);
        assert!(english.text.contains("hreflang=\"it\">Italiano</a>"), "{ty}: a link to the Italian page");
        assert_ne!(italian.text, english.text, "{ty}");

        let asked = app.send(request(Method::GET, &format!("{ty}?lang=en"), &[("accept-language", "it")], "")).await;
        assert_eq!(asked.text, english.text, "{ty}: ?lang=en wins over the browser's language");
    }

    // Each refusal's problem: its type is one of those pages, and its title is the page's.
    let mut refused = BTreeSet::new();
    for refusal in crate::openapi::one_refusal_of_each_kind() {
        let problem = Problem::refused(&refusal);
        let page = app.send(request(Method::GET, &format!("{}?lang=en", problem.kind), &[], "")).await;
        assert_eq!(page.status, StatusCode::OK, "{refusal:?}");
        assert_ne!(problem.title, "Conflict", "{refusal:?}: the title says what kind of refusal it is");
        assert!(page.text.contains(&format!("<h1>{}</h1>", problem.title)), "{refusal:?}: {}", page.text);
        refused.insert(problem.kind);
    }
    assert_eq!(refused, types, "every type but about:blank comes from a refusal, and each has its page");
}

#[tokio::test]
async fn an_unknown_kind_is_a_404_problem_that_lists_the_known_ones() {
    let app = TestApp::new();
    let reply = app.send(request(Method::GET, "/problems/nonsense", &[], "")).await;
    reply.assert_problem(404, Some("kind"), "no problem type `nonsense`");
    assert!(reply.text.contains("typed-by-incident-check"), "{}", reply.text);
    for path in ["/problems/", "/problems/flow/more"] {
        let reply = app.send(request(Method::GET, path, &[], "")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {}", reply.text);
        assert_eq!(reply.content_type(), "application/problem+json", "{path}");
    }
    let reply = app.send(request(Method::POST, "/problems/flow", &[], "")).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{}", reply.text);
}
