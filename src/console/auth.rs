//! Signing in and out, the signed-in operator of each request ([`Desk`]), CSRF checks, the
//! language switch, and the responses every page shares (HTML, redirects, error pages).

use super::session::{Cookies, OIDC_PURPOSE, OidcPending, SESSION_PURPOSE, Session, Via, cookie, random_text};
use super::view::{Frame, frame};
use super::{Console, SignIn};
use crate::http::operator_auth::{OperatorIdentity, hash_token};
use crate::i18n::{Lang, Tr};
use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, extract::OriginalUri};
use serde::Deserialize;
use std::collections::HashMap;

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The reader's language: the `sportello_lang` cookie, else Italian.
pub fn language(headers: &HeaderMap, cookies: Cookies) -> Tr {
    Tr { lang: cookie(headers, cookies.lang_name()).and_then(Lang::parse).unwrap_or_default() }
}

/// A signed-in operator on a console request.
pub struct Desk {
    pub who: OperatorIdentity,
    pub session: Session,
    pub t: Tr,
    pub csrf: String,
    /// The request's path and query, for the language switch and the return after sign-in.
    pub path: String,
}

impl Desk {
    pub fn frame(&self, title: String, nav: &'static str) -> Frame {
        frame(self.t, title, nav, self.csrf.clone(), Some(&self.who), &self.path)
    }

    /// The frame of a page shown at `path` (a form's answer is the page it came from).
    pub fn frame_at(&self, title: String, nav: &'static str, path: &str) -> Frame {
        frame(self.t, title, nav, self.csrf.clone(), Some(&self.who), path)
    }
}

/// A path of the console to return to: only a local path, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() < 2048 => n.to_string(),
        _ => "/queue".to_string(),
    }
}

impl FromRequestParts<Console> for Desk {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let t = language(&parts.headers, console.cookies);
        let to_sign_in = |expired: bool| {
            let mut to = format!("/sign-in?next={}", super::oidc::urlencode(&path));
            if expired {
                to.push_str("&expired=1");
            }
            see_other(&to)
        };
        let Some(sealed) = cookie(&parts.headers, console.cookies.session_name()) else {
            return Err(to_sign_in(false));
        };
        let Some(session) = console.key.open::<Session>(SESSION_PURPOSE, sealed) else {
            return Err(to_sign_in(true));
        };
        if session.expires < now() {
            return Err(to_sign_in(true));
        }
        let who = match (&session.via, &*console.sign_in) {
            // The token file decides on every request: a revoked token ends the session.
            (Via::Token { token_sha256 }, SignIn::Tokens(file)) => {
                match file.verify_hash(&session.operator, token_sha256) {
                    Ok(Some(who)) => who,
                    Ok(None) => return Err(to_sign_in(true)),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the operator token file");
                        return Err(message_page(
                            t,
                            StatusCode::SERVICE_UNAVAILABLE,
                            t.error_title(),
                            t.refused_unavailable(),
                        ));
                    }
                }
            }
            (Via::Oidc, SignIn::Oidc(_)) => {
                OperatorIdentity { id: session.operator.clone(), roles: session.roles.clone() }
            }
            // A session from another way of signing in (the configuration changed).
            _ => return Err(to_sign_in(true)),
        };
        let csrf = console.key.csrf_token(&session.sid);
        Ok(Desk { who, session, t, csrf, path })
    }
}

/// Checks a form's CSRF token against the session, and that the request comes from this site.
fn check_form(console: &Console, desk: &Desk, headers: &HeaderMap, token: Option<&str>) -> Result<(), Response> {
    if same_origin(headers) && console.key.csrf_ok(&desk.session.sid, token.unwrap_or_default()) {
        Ok(())
    } else {
        Err(message_page(desk.t, StatusCode::FORBIDDEN, desk.t.forbidden_title(), desk.t.csrf_failed()))
    }
}

/// A browser's cross-site request says so (`Sec-Fetch-Site`, `Origin`); requests without those
/// headers (not from a browser) rely on the token alone.
fn same_origin(headers: &HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| s != "same-origin" && s != "none") {
        return false;
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some("null"), _) => false,
        (Some(o), Some(h)) => o.split_once("://").is_some_and(|(_, rest)| rest == h),
        _ => true,
    }
}

/// A posted form and who posted it: the signed-in operator, then the form's fields, read and
/// checked against its CSRF token and origin. Rejected with the page that says why (sign-in, a
/// body that is not a form, a failed check).
pub struct Posted {
    pub desk: Desk,
    pub form: HashMap<String, String>,
}

impl FromRequest<Console> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, console: &Console) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let desk = Desk::from_request_parts(&mut parts, console).await?;
        let headers = parts.headers.clone();
        let form = Form::<HashMap<String, String>>::from_request(Request::from_parts(parts, body), console)
            .await
            .map(|Form(f)| f)
            .map_err(|rejection| {
                let status = rejection.status();
                desk_message(&desk, status, desk.t.refused_invalid(), &rejection.body_text())
            })?;
        check_form(console, &desk, &headers, form.get("csrf").map(String::as_str))?;
        Ok(Posted { desk, form })
    }
}

impl Posted {
    /// A field's value, empty when absent.
    pub fn get(&self, k: &str) -> &str {
        self.form.get(k).map(String::as_str).unwrap_or_default()
    }
}

pub fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

pub fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => {
            let mut r = (status, body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "a console page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub frame: Frame,
    pub heading: String,
    pub text: String,
}

/// A page with a heading and one sentence (errors, refusals of a whole page).
pub fn message_page(t: Tr, status: StatusCode, heading: &str, text: &str) -> Response {
    let f = frame(t, heading.to_string(), "", String::new(), None, "/");
    html(status, &MessagePage { frame: f, heading: heading.into(), text: text.into() })
}

/// The signed-in version of [`message_page`] (keeps the navigation).
pub fn desk_message(desk: &Desk, status: StatusCode, heading: &str, text: &str) -> Response {
    html(
        status,
        &MessagePage { frame: desk.frame(heading.to_string(), ""), heading: heading.into(), text: text.into() },
    )
}

fn with_cookies(mut r: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

pub async fn home(State(console): State<Console>, headers: HeaderMap) -> Response {
    let signed_in = cookie(&headers, console.cookies.session_name())
        .and_then(|s| console.key.open::<Session>(SESSION_PURPOSE, s))
        .is_some_and(|s| s.expires > now());
    see_other(if signed_in { "/queue" } else { "/sign-in" })
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    frame: Frame,
    tokens: bool,
    next: String,
    next_encoded: String,
    notice: Option<&'static str>,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    expired: Option<String>,
    signed_out: Option<String>,
    failed: Option<String>,
}

/// The sign-in form's CSRF value lives in its own cookie until a session exists.
fn pre_session(console: &Console, headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, console.cookies.pre_name()) {
        Some(v) if v.len() >= 16 && v.len() <= 64 => (v.to_string(), None),
        _ => {
            let v = random_text(24);
            let set = console.cookies.set(console.cookies.pre_name(), &v, 3600, "Strict");
            (v, Some(set))
        }
    }
}

fn sign_in_form(
    console: &Console,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> Response {
    let t = language(headers, console.cookies);
    let (pre, set) = pre_session(console, headers);
    let csrf = console.key.csrf_token(&format!("pre:{pre}"));
    let path = format!("/sign-in?next={}", super::oidc::urlencode(next));
    let page = SignInPage {
        frame: frame(t, t.sign_in_title().to_string(), "", csrf, None, &path),
        tokens: matches!(*console.sign_in, SignIn::Tokens(_)),
        next: next.to_string(),
        next_encoded: super::oidc::urlencode(next),
        notice,
        error,
    };
    with_cookies(html(status, &page), &set.into_iter().collect::<Vec<_>>())
}

pub async fn sign_in_page(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    let t = language(&headers, console.cookies);
    let notice = if q.signed_out.is_some() {
        Some(t.signed_out())
    } else if q.expired.is_some() {
        Some(t.session_expired())
    } else {
        None
    };
    let error = q.failed.is_some().then(|| t.oidc_failed());
    sign_in_form(&console, &headers, StatusCode::OK, &safe_next(q.next.as_deref()), notice, error)
}

#[derive(Deserialize)]
pub struct TokenForm {
    csrf: Option<String>,
    token: Option<String>,
    next: Option<String>,
}

pub async fn sign_in_with_token(
    State(console): State<Console>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let t = language(&headers, console.cookies);
    let Ok(Form(form)) = form else {
        return message_page(t, StatusCode::BAD_REQUEST, t.sign_in_failed(), t.token_missing());
    };
    let next = safe_next(form.next.as_deref());
    let pre = cookie(&headers, console.cookies.pre_name()).unwrap_or_default();
    if pre.is_empty()
        || !same_origin(&headers)
        || !console.key.csrf_ok(&format!("pre:{pre}"), form.csrf.as_deref().unwrap_or_default())
    {
        return sign_in_form(&console, &headers, StatusCode::FORBIDDEN, &next, None, Some(t.csrf_failed()));
    }
    let SignIn::Tokens(file) = &*console.sign_in else {
        return see_other("/sign-in");
    };
    let token = form.token.as_deref().map(str::trim).unwrap_or_default();
    if token.is_empty() {
        return sign_in_form(
            &console,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            None,
            Some(t.token_missing()),
        );
    }
    match file.verify(token) {
        Ok(Some(who)) => {
            let session =
                Session::new(who.id.clone(), who.roles.clone(), Via::Token { token_sha256: hash_token(token) }, now());
            tracing::info!(operator = %who.id, "console sign-in (token)");
            let set = console.cookies.set(
                console.cookies.session_name(),
                &console.key.seal(SESSION_PURPOSE, &session),
                super::session::SESSION_HOURS * 3600,
                "Strict",
            );
            with_cookies(see_other(&next), &[set, console.cookies.clear(console.cookies.pre_name())])
        }
        Ok(None) => sign_in_form(&console, &headers, StatusCode::UNAUTHORIZED, &next, None, Some(t.token_unknown())),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the operator token file");
            message_page(t, StatusCode::SERVICE_UNAVAILABLE, t.error_title(), t.refused_unavailable())
        }
    }
}

/// Where the provider sends the browser back.
fn redirect_uri(console: &Console, headers: &HeaderMap) -> String {
    match &console.public_url {
        Some(base) => format!("{base}/auth/callback"),
        None => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1:8080");
            let scheme = if console.cookies.secure { "https" } else { "http" };
            format!("{scheme}://{host}/auth/callback")
        }
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn oidc_start(State(console): State<Console>, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let t = language(&headers, console.cookies);
    let SignIn::Oidc(oidc) = &*console.sign_in else {
        return see_other("/sign-in");
    };
    match oidc.start(&redirect_uri(&console, &headers), &safe_next(q.next.as_deref()), now()).await {
        Ok((url, pending)) => {
            // Lax: the provider's redirect back is a cross-site navigation.
            let set = console.cookies.set(
                console.cookies.oidc_name(),
                &console.key.seal(OIDC_PURPOSE, &pending),
                super::oidc::PENDING_SECONDS,
                "Lax",
            );
            with_cookies(see_other(&url), &[set])
        }
        Err(e) => {
            tracing::warn!(error = %e, "OpenID provider unavailable");
            message_page(t, StatusCode::BAD_GATEWAY, t.sign_in_failed(), t.oidc_failed())
        }
    }
}

#[derive(Template)]
#[template(path = "signed_in.html")]
struct SignedInPage {
    frame: Frame,
    next: String,
}

pub async fn oidc_callback(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let t = language(&headers, console.cookies);
    let SignIn::Oidc(oidc) = &*console.sign_in else {
        return see_other("/sign-in");
    };
    let clear = console.cookies.clear(console.cookies.oidc_name());
    let failed = || with_cookies(see_other("/sign-in?failed=1"), std::slice::from_ref(&clear));
    let Some(pending) = cookie(&headers, console.cookies.oidc_name())
        .and_then(|c| console.key.open::<OidcPending>(OIDC_PURPOSE, c))
        .filter(|p| p.expires > now())
    else {
        return failed();
    };
    let (Some(code), Some(state)) = (q.get("code"), q.get("state")) else {
        tracing::info!(error = q.get("error").map(String::as_str).unwrap_or("none"), "OpenID sign-in not completed");
        return failed();
    };
    if state != &pending.state {
        return failed();
    }
    match oidc.finish(&pending, code, &redirect_uri(&console, &headers), now()).await {
        Ok(who) => {
            let session = Session::new(who.id.clone(), who.roles.clone(), Via::Oidc, now());
            tracing::info!(operator = %who.id, "console sign-in (OpenID Connect)");
            let set = console.cookies.set(
                console.cookies.session_name(),
                &console.key.seal(SESSION_PURPOSE, &session),
                super::session::SESSION_HOURS * 3600,
                "Strict",
            );
            // A page rather than a redirect: after the provider's cross-site redirect, the browser
            // would not send the new SameSite=Strict cookie on a redirect; it does on this page's
            // own navigation.
            let page = SignedInPage {
                frame: frame(t, t.sign_in_title().to_string(), "", String::new(), Some(&who), "/"),
                next: safe_next(Some(&pending.next)),
            };
            with_cookies(html(StatusCode::OK, &page), &[set, clear])
        }
        Err(e) => {
            tracing::warn!(error = %e, "OpenID sign-in refused");
            failed()
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn sign_out(
    State(console): State<Console>,
    desk: Result<Desk, Response>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let clear = console.cookies.clear(console.cookies.session_name());
    let Ok(desk) = desk else {
        return with_cookies(see_other("/sign-in?signed_out=1"), &[clear]);
    };
    if let Err(r) = check_form(&console, &desk, &headers, form.as_ref().ok().and_then(|f| f.csrf.as_deref())) {
        return r;
    }
    tracing::info!(operator = %desk.who.id, "console sign-out");
    let to = match &*console.sign_in {
        SignIn::Oidc(oidc) => {
            let after = redirect_uri(&console, &headers).replace("/auth/callback", "/sign-in?signed_out=1");
            oidc.logout_url(&after).await.unwrap_or_else(|| "/sign-in?signed_out=1".into())
        }
        SignIn::Tokens(_) => "/sign-in?signed_out=1".into(),
    };
    with_cookies(see_other(&to), &[clear])
}

pub async fn switch_language(
    State(console): State<Console>,
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
    OriginalUri(_): OriginalUri,
) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return see_other(&safe_next(q.next.as_deref()));
    };
    let set = console.cookies.set(console.cookies.lang_name(), lang.code(), 365 * 86_400, "Lax");
    with_cookies(see_other(&safe_next(q.next.as_deref())), &[set])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_next(Some("/tickets/SP-1")), "/tickets/SP-1");
        assert_eq!(safe_next(Some("//evil.example")), "/queue");
        assert_eq!(safe_next(Some("https://evil.example")), "/queue");
        assert_eq!(safe_next(Some("/\\evil")), "/queue");
        assert_eq!(safe_next(None), "/queue");
    }

    #[test]
    fn cross_site_requests_are_told_apart() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
    }
}
