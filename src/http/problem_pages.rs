//! `GET /problems/<kind>`: the page behind each problem `type` the API returns
//! ([`PROBLEM_TYPES`]), for the person who follows it: what the problem means and what to do
//! next. Italian first, like the console; English for `?lang=en` or a browser that prefers
//! English (`Accept-Language`). The texts are the console's catalogue (`i18n`); a kind it does
//! not know is a 404 problem.

use super::Problem;
use super::problem::PROBLEM_TYPES;
use crate::i18n::{Lang, Tr, lookup};
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

/// The path every page sits under: a problem's `type` is this and its kind.
pub const PROBLEMS_PATH: &str = "/problems/";

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/problems/{kind}", get(page))
}

/// What a page says about one kind, in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemPage {
    pub title: &'static str,
    pub means: &'static str,
    pub next: &'static str,
}

/// The page of `kind` (the last segment of its type), when the API has such a type.
pub fn problem_page(kind: &str, t: Tr) -> Option<ProblemPage> {
    let listed = PROBLEM_TYPES.iter().any(|ty| ty.strip_prefix(PROBLEMS_PATH) == Some(kind));
    if !listed {
        return None;
    }
    let key = kind.replace('-', "_");
    let text = |part: &str| lookup(t, &format!("problem_{key}_{part}"));
    Some(ProblemPage { title: text("title")?, means: text("means")?, next: text("next")? })
}

/// `?lang=`, at most once and `it` or `en` exactly (as the OpenAPI says): a link that asks for
/// another language is a mistake to say, not to hide behind the default.
fn asked_language(query: &[(String, String)]) -> Result<Option<Lang>, Problem> {
    let mut asked = query.iter().filter(|(name, _)| name == "lang").map(|(_, value)| value.as_str());
    let Some(value) = asked.next() else { return Ok(None) };
    if asked.next().is_some() {
        return Err(Problem::bad_request("`lang` is given more than once").at("lang"));
    }
    match value {
        "it" | "en" => Ok(Lang::parse(value)),
        _ => Err(Problem::bad_request("`lang` is `it` or `en`").at("lang")),
    }
}

/// The language asked for, else the first of Italian and English the browser accepts (by `q`),
/// else Italian.
fn language(asked: Option<Lang>, headers: &HeaderMap) -> Lang {
    if let Some(lang) = asked {
        return lang;
    }
    let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut best: Option<(f32, Lang)> = None;
    for range in accepted.split(',') {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q =
            parts.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok())).unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or_default();
        if let Some(lang) = Lang::parse(primary)
            && q > 0.0
            && best.is_none_or(|(b, _)| q > b)
        {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang).unwrap_or_default()
}

async fn page(Path(kind): Path<String>, Query(query): Query<Vec<(String, String)>>, headers: HeaderMap) -> Response {
    let asked = match asked_language(&query) {
        Ok(asked) => asked,
        Err(problem) => return problem.into_response(),
    };
    let t = Tr { lang: language(asked, &headers) };
    let Some(page) = problem_page(&kind, t) else {
        let known: Vec<&str> = PROBLEM_TYPES.iter().filter_map(|ty| ty.strip_prefix(PROBLEMS_PATH)).collect();
        return Problem::new(
            StatusCode::NOT_FOUND,
            format!("no problem type `{kind}`; the API's types are {}", known.join(", ")),
        )
        .at("kind")
        .into_response();
    };
    let other = t.lang.other();
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Sportello</title>\
         <style>body{{font:18px/1.55 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#17324d}}\
         h1{{font-size:1.6rem;line-height:1.25}} h2{{font-size:1.15rem;margin-top:1.6rem}}\
         code{{font-size:.95em;background:#eef2f6;padding:.1rem .3rem;border-radius:.2rem}}\
         a{{color:#0066cc}} nav{{text-align:right}}</style></head>\
         <body><nav><a href=\"?lang={other}\" lang=\"{other}\" hreflang=\"{other}\">{switch}</a></nav><main>\
         <p>{kind_label}: <code>{path}{kind}</code></p><h1>{title}</h1>\
         <h2>{means_label}</h2><p>{means}</p><h2>{next_label}</h2><p>{next}</p><p>{sent}</p>\
         </main></body></html>",
        lang = t.lang.code(),
        other = other.code(),
        switch = t.problem_page_switch(),
        kind_label = t.problem_page_kind(),
        path = PROBLEMS_PATH,
        title = page.title,
        means_label = t.problem_page_means(),
        means = page.means,
        next_label = t.problem_page_next(),
        next = page.next,
        sent = t.problem_page_sent(),
    );
    let mut response = (StatusCode::OK, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(t.lang.code()));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Lang {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(value).unwrap());
        language(None, &headers)
    }

    #[test]
    fn the_language_is_the_query_s_else_the_browser_s_best_else_italian() {
        assert_eq!(language(None, &HeaderMap::new()), Lang::It);
        assert_eq!(accept("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(accept("de-DE, en;q=0.5, it;q=0.8"), Lang::It);
        assert_eq!(accept("fr, de"), Lang::It);
        assert_eq!(accept("en;q=0"), Lang::It);
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
        assert_eq!(language(Some(Lang::It), &headers), Lang::It);
    }

    #[test]
    fn a_language_asked_for_is_it_or_en_once() {
        let query = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert_eq!(asked_language(&query(&[])).unwrap(), None);
        assert_eq!(asked_language(&query(&[("lang", "en"), ("x", "1")])).unwrap(), Some(Lang::En));
        for bad in [&[("lang", "xx")][..], &[("lang", "it ")], &[("lang", "")], &[("lang", "it"), ("lang", "it")]] {
            let problem = asked_language(&query(bad)).expect_err("refused");
            assert_eq!(problem.status, 400, "{bad:?}");
        }
    }

    #[test]
    fn every_type_but_about_blank_has_a_page_in_both_languages() {
        for ty in PROBLEM_TYPES.iter().filter(|ty| **ty != super::super::problem::ABOUT_BLANK) {
            let kind = ty.strip_prefix(PROBLEMS_PATH).unwrap_or_else(|| panic!("{ty} is not under {PROBLEMS_PATH}"));
            for lang in [Lang::It, Lang::En] {
                assert!(problem_page(kind, Tr { lang }).is_some(), "{ty}: no page in {}", lang.code());
            }
        }
        assert_eq!(problem_page("nonsense", Tr::default()), None);
    }
}
