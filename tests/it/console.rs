//! The web console's rules over HTTP: sign-in and sessions, CSRF on every form, roles and the
//! privacy rule, bad input answered with a readable page, and the security headers. The flows
//! themselves are walked in a real browser by `tests/browser/` (see the README's test command).

use crate::support::app::TestApp;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use sportello::console::session::SessionKey;
use sportello::console::{Console, SignIn, router};
use sportello::engine::EscalationSettings;
use sportello::http::operator::{NoticeSecrets, OperatorApi};
use sportello::http::operator_auth::{OperatorAuthenticator, OperatorFile, Role, TokenFile};
use std::sync::Arc;
use tower::ServiceExt;

struct Site {
    desk: TestApp,
    app: Router,
}

fn site_with(public_url: Option<&str>) -> Site {
    let desk = TestApp::new();
    let path = desk.dir.path().join("operators.json");
    let api = OperatorApi::new(
        desk.engine.clone(),
        OperatorAuthenticator::Tokens(TokenFile::new(&path)),
        EscalationSettings { mail_from: "sportello@pagopa.example".into(), ..EscalationSettings::default() },
        NoticeSecrets::default(),
    );
    let console = Console::new(
        api,
        SignIn::Tokens(Arc::new(TokenFile::new(&path))),
        SessionKey::new(vec![42u8; 32]).unwrap(),
        public_url.map(str::to_string),
    );
    Site { desk, app: router(console) }
}

fn site() -> Site {
    site_with(None)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    fn cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect()
    }

    /// The `name=value` part of the cookie called `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap().to_string())
    }

    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

impl Site {
    async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned();
        Answer { status, headers, body }
    }

    async fn get(&self, path: &str, cookie: &str) -> Answer {
        self.send(Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await
    }

    async fn post(&self, path: &str, cookie: &str, form: &str) -> Answer {
        self.send(
            Request::post(path)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.to_string()))
                .unwrap(),
        )
        .await
    }

    /// Signs in as the operator of `role`; the session cookie and a CSRF token of its pages.
    async fn sign_in(&self, role: Role) -> (String, String) {
        let form = self.get("/sign-in", "").await;
        let pre = form.cookie("sportello_pre").expect("a pre-session cookie");
        let token = &self.desk.tokens[&role];
        let signed = self.post("/sign-in", &pre, &format!("csrf={}&token={token}&next=%2Fqueue", form.csrf())).await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
        let session = signed.cookie("sportello_session").expect("a session cookie");
        let page = self.get("/incidents", &session).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        (session, page.csrf())
    }
}

/// Served as the local server and the operator function serve it, the console answers an unknown
/// path and a method its page does not take as every other router does.
#[tokio::test]
async fn the_console_answers_404_and_405_as_problems() {
    let served = sportello::http::served(site().app);
    let calls = [
        ("console", "DELETE", "/queue", "405", "GET,HEAD"),
        ("console", "GET", "/sign-out", "405", "POST"),
        ("console", "GET", "/nowhere", "404", ""),
    ];
    crate::http::assert_unserved_are_problems(&served, &calls.iter().collect::<Vec<_>>()).await;
}

#[tokio::test]
async fn a_token_is_exchanged_for_a_session_cookie() {
    let s = site();
    let form = s.get("/sign-in", "").await;
    assert_eq!(form.status, StatusCode::OK);
    let pre = form.cookie("sportello_pre").unwrap();
    let csrf = form.csrf();
    let token = &s.desk.tokens[&Role::Operator];

    // A forged or missing form token, or a form posted from another site: refused.
    let forged = s.post("/sign-in", &pre, &format!("csrf=forged&token={token}")).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.cookie("sportello_session").is_none());
    let cross_site = s
        .send(
            Request::post("/sign-in")
                .header(header::COOKIE, &pre)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "cross-site")
                .body(Body::from(format!("csrf={csrf}&token={token}")))
                .unwrap(),
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);

    // A wrong token: the form again, saying why, and no session.
    let wrong = s.post("/sign-in", &pre, &format!("csrf={csrf}&token=spo_nope")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Token sconosciuto o revocato"), "{}", wrong.body);
    let empty = s.post("/sign-in", &pre, &format!("csrf={csrf}&token=")).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);

    let ok = s.post("/sign-in", &pre, &format!("csrf={csrf}&token={token}&next=%2Fsearch")).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location(), "/search");
    let set = ok.cookies().into_iter().find(|c| c.starts_with("sportello_session=")).unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "plain HTTP locally: {set}");
    assert!(!set.contains(token.as_str()), "the token itself is not kept in the cookie");

    // Somewhere else than the console: never followed.
    let evil = s.post("/sign-in", &pre, &format!("csrf={csrf}&token={token}&next=%2F%2Fevil.example")).await;
    assert_eq!(evil.location(), "/queue");
}

#[tokio::test]
async fn over_https_the_session_cookie_is_secure_and_host_only() {
    let s = site_with(Some("https://desk.example.org"));
    let form = s.get("/sign-in", "").await;
    let pre = form.cookie("__Host-sportello_pre").expect("host-only pre-session cookie");
    let token = &s.desk.tokens[&Role::Operator];
    let ok = s.post("/sign-in", &pre, &format!("csrf={}&token={token}", form.csrf())).await;
    let set = ok.cookies().into_iter().find(|c| c.starts_with("__Host-sportello_session=")).unwrap();
    assert!(set.contains("; Secure") && set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
}

#[tokio::test]
async fn pages_need_a_valid_session() {
    let s = site();
    let none = s.get("/queue?who=mine", "").await;
    assert_eq!(none.status, StatusCode::SEE_OTHER);
    assert_eq!(none.location(), "/sign-in?next=%2Fqueue%3Fwho%3Dmine");
    let forged = s.get("/queue", "sportello_session=eyJzaWQiOiJ4In0.AAAA").await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);
    assert!(forged.location().contains("expired=1"));
    let (session, _) = s.sign_in(Role::Operator).await;
    assert_eq!(s.get("/queue", &session).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_token_ends_its_sessions() {
    let s = site();
    let (session, _) = s.sign_in(Role::Operator).await;
    let path = s.desk.dir.path().join("operators.json");
    let mut file = OperatorFile::read(&path).unwrap();
    file.revoke("op-1").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    file.write(&path).unwrap();
    let after = s.get("/queue", &session).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location().starts_with("/sign-in"));
}

#[tokio::test]
async fn every_form_needs_its_sessions_csrf_token() {
    let s = site();
    let reference = s.desk.open("email", "basic_info", "csrf-1").await;
    let (session, csrf) = s.sign_in(Role::Operator).await;
    let (_, other_csrf) = s.sign_in(Role::Operator).await;
    let take = format!("/tickets/{reference}/take");
    for form in [String::new(), "csrf=".into(), format!("csrf={other_csrf}"), "csrf=forged".into()] {
        let refused = s.post(&take, &session, &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{form}");
        assert!(refused.body.contains("Il modulo è scaduto"), "{}", refused.body);
    }
    let cross = s
        .send(
            Request::post(take.as_str())
                .header(header::COOKIE, &session)
                .header(header::ORIGIN, "https://evil.example")
                .header(header::HOST, "127.0.0.1:8080")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={csrf}")))
                .unwrap(),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let t = s.desk.engine.ticket_by_reference(&reference).await.unwrap();
    assert_eq!(t.state.as_str(), "new", "nothing was done by a refused form");

    let done = s.post(&take, &session, &format!("csrf={csrf}")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(done.location().starts_with(&format!("/tickets/{reference}?done=take")));
    // Signing out is a form too.
    assert_eq!(s.post("/sign-out", &session, "csrf=forged").await.status, StatusCode::FORBIDDEN);
    let out = s.post("/sign-out", &session, &format!("csrf={csrf}")).await;
    assert_eq!(out.location(), "/sign-in?signed_out=1");
    assert!(out.cookies().iter().any(|c| c.starts_with("sportello_session=;") && c.contains("Max-Age=0")));
}

#[tokio::test]
async fn roles_and_the_privacy_rule_hold_in_the_console() {
    let s = site();
    let plain = s.desk.open("email", "basic_info", "roles-1").await;
    let privacy = s.desk.open("email", "privacy_issue", "roles-2").await;
    let (sup, sup_csrf) = s.sign_in(Role::Supervisor).await;
    // A supervisor sees the ticket but may not work it: the engine's 403, readable.
    let page = s.get(&format!("/tickets/{plain}"), &sup).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Prendi in carico"), "no action a supervisor may not take");
    let refused = s.post(&format!("/tickets/{plain}/take"), &sup, &format!("csrf={sup_csrf}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("Il tuo ruolo non consente questa azione"), "{}", refused.body);
    assert!(refused.body.contains("needs one of the roles"));
    assert!(!refused.body.contains("{\""), "never raw JSON");

    let (op, op_csrf) = s.sign_in(Role::Operator).await;
    // Privacy tickets: in no list, no search, no page for someone without the privacy role.
    assert!(!s.get("/queue", &op).await.body.contains(&privacy));
    assert!(!s.get("/queue?team=privacy", &op).await.body.contains(&privacy));
    assert!(!s.get(&format!("/search?q={privacy}"), &op).await.body.contains(&format!("/tickets/{privacy}")));
    assert!(!s.get("/search?q=mario.rossi%40example.it", &op).await.body.contains(&privacy));
    assert_eq!(s.get(&format!("/tickets/{privacy}"), &op).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        s.post(&format!("/tickets/{privacy}/take"), &op, &format!("csrf={op_csrf}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(s.get("/search?q=mario.rossi%40example.it", &op).await.body.contains(&plain));
    // Operators do not declare incidents.
    let declare = s.post("/incidents", &op, &format!("csrf={op_csrf}&service=io&title=Down")).await;
    assert_eq!(declare.status, StatusCode::FORBIDDEN);

    let (priv_op, _) = s.sign_in(Role::PrivacyOperator).await;
    let queue = s.get("/queue", &priv_op).await;
    assert!(queue.body.contains(&privacy), "the privacy team's queue is theirs");
    assert_eq!(s.get(&format!("/tickets/{privacy}"), &priv_op).await.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_input_gets_a_readable_answer_never_a_crash() {
    let s = site();
    let reference = s.desk.open("email", "basic_info", "bad-1").await;
    let (op, csrf) = s.sign_in(Role::Operator).await;
    let t = format!("/tickets/{reference}");
    assert_eq!(s.post(&format!("{t}/take"), &op, &format!("csrf={csrf}")).await.status, StatusCode::SEE_OTHER);

    let bogus_type = s.post(&format!("{t}/classify"), &op, &format!("csrf={csrf}&ticket_type=ZZ")).await;
    assert_eq!(bogus_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bogus_type.body.contains("Controlla i dati") && bogus_type.body.contains("unknown ticket type"));
    let wrong_type = s.post(&format!("{t}/classify"), &op, &format!("csrf={csrf}&ticket_type=A")).await;
    // A type of the rulebook that this ticket's flow does not allow: refused by the flow (409).
    assert_eq!(wrong_type.status, StatusCode::CONFLICT, "the rulebook allows only Q here");
    assert!(wrong_type.body.contains("only as Q"), "{}", wrong_type.body);
    let early = s.post(&format!("{t}/resolve"), &op, &format!("csrf={csrf}&answer=ciao")).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.body.contains("Il flusso non consente questa azione ora"));
    assert!(early.body.contains("ciao"), "what the operator typed is kept");
    assert_eq!(
        s.post(&format!("{t}/classify"), &op, &format!("csrf={csrf}&ticket_type=Q")).await.status,
        StatusCode::SEE_OTHER
    );
    let blank = s.post(&format!("{t}/resolve"), &op, &format!("csrf={csrf}&answer=%20%20")).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    let target = s.post(&format!("{t}/escalate"), &op, &format!("csrf={csrf}&target=nobody&summary=x")).await;
    assert!(target.status.is_client_error(), "{}", target.status);
    assert_eq!(s.post(&format!("{t}/frobnicate"), &op, &format!("csrf={csrf}")).await.status, StatusCode::NOT_FOUND);
    let huge = s.post(&format!("{t}/note"), &op, &format!("csrf={csrf}&text={}", "x".repeat(300 * 1024))).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);

    assert_eq!(s.get("/tickets/SP-00000000", &op).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/tickets/%3Cscript%3E", &op).await.status, StatusCode::NOT_FOUND);
    let cursor = s.get("/queue?after=garbage&state=closed&type=ZZ&channel=fax", &op).await;
    assert_eq!(cursor.status, StatusCode::OK, "filters that mean nothing are ignored");
    let nav = s.get("/search?q=12345&by=notice_code", &op).await;
    assert_eq!(nav.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nav.body.contains("role=\"alert\""));
    let xss = s.get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", &op).await;
    assert!(!xss.body.contains("<script>alert(1)"), "escaped");
    assert_eq!(s.get("/lang/xx?next=//evil.example", "").await.location(), "/queue");
    assert_eq!(s.get("/assets/../../etc/passwd", "").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_load_nothing_from_elsewhere_and_are_not_cached() {
    let s = site();
    let (op, _) = s.sign_in(Role::Operator).await;
    for path in ["/sign-in", "/queue", "/search", "/incidents"] {
        let page = s.get(path, &op).await;
        let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert_eq!(page.headers.get(header::CACHE_CONTROL).unwrap(), "no-store", "{path}");
        assert!(!page.body.contains("http://") && !page.body.contains("https://"), "{path} links nowhere else");
        assert!(!page.body.contains("<script>") && !page.body.contains(" style=\""), "{path}: no inline code");
    }
    let css = s.get("/assets/console.css", "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("text/css"));
    // English on request, Italian by default.
    assert!(s.get("/queue", &op).await.body.contains("<html lang=\"it\">"));
    let english = s.get("/queue", &format!("{op}; sportello_lang=en")).await;
    assert!(english.body.contains("<html lang=\"en\">") && english.body.contains("Work queue"));
}

#[tokio::test]
async fn reassigning_is_a_supervisors_and_is_refused_readably() {
    let s = site();
    let reference = s.desk.open("email", "basic_info", "reassign-1").await;
    let privacy = s.desk.open("email", "privacy_issue", "reassign-2").await;
    let (op, op_csrf) = s.sign_in(Role::Operator).await;
    let t = format!("/tickets/{reference}");
    assert_eq!(s.post(&format!("{t}/take"), &op, &format!("csrf={op_csrf}")).await.status, StatusCode::SEE_OTHER);
    assert!(!s.get(&t, &op).await.body.contains("/reassign\""), "an operator has no reassign form");
    let by_op = s.post(&format!("{t}/reassign"), &op, &format!("csrf={op_csrf}&to=op-2&reason=x")).await;
    assert_eq!(by_op.status, StatusCode::FORBIDDEN);
    assert!(by_op.body.contains("Il tuo ruolo non consente questa azione"), "{}", by_op.body);

    let (sup, csrf) = s.sign_in(Role::Supervisor).await;
    assert!(s.get(&t, &sup).await.body.contains(&format!("action=\"{t}/reassign\"")));
    let bad_id = s.post(&format!("{t}/reassign"), &sup, &format!("csrf={csrf}&to=op%202%21&reason=fine+turno")).await;
    assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad_id.body);
    assert!(bad_id.body.contains("Controlla i dati") && bad_id.body.contains("role=\"alert\""));
    assert!(bad_id.body.contains("fine turno"), "the reason typed is kept");
    let done = s.post(&format!("{t}/reassign"), &sup, &format!("csrf={csrf}&to=op-2&reason=fine+turno")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let ticket = s.desk.engine.ticket_by_reference(&reference).await.unwrap();
    assert_eq!(ticket.assignee.as_deref(), Some("op-2"));
    let page = s.get(&done.location().replace("#actions", ""), &sup).await;
    assert!(page.body.contains("Ticket riassegnato a op-2.") && page.body.contains("op-1 → op-2: fine turno"));
    // Back to the team's queue: no assignee.
    let back = s.post(&format!("{t}/reassign"), &sup, &format!("csrf={csrf}&to=&reason=rientro")).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(s.desk.engine.ticket_by_reference(&reference).await.unwrap().assignee, None);
    // A supervisor outside the privacy team does not even find a privacy ticket.
    let hidden = s.post(&format!("/tickets/{privacy}/reassign"), &sup, &format!("csrf={csrf}&to=op-2&reason=x")).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn erasing_is_the_privacy_teams_after_a_preview_and_waits_for_an_open_breach_report() {
    let s = site();
    let requester = |email: &str| sportello::domain::Requester { email: Some(email.into()), ..Default::default() };
    let plain = s.desk.open_with("email", "basic_info", "erase-1", requester("erase.me@example.it")).await;
    let (op, op_csrf) = s.sign_in(Role::Operator).await;
    assert_eq!(s.get("/privacy/erasure", &op).await.status, StatusCode::FORBIDDEN);
    let by_op = s
        .post("/privacy/erasure/preview", &op, &format!("csrf={op_csrf}&kind=email&value=erase.me%40example.it"))
        .await;
    assert_eq!(by_op.status, StatusCode::FORBIDDEN);
    assert!(!by_op.body.contains(&plain), "nothing of the requester shown to an operator");

    let (priv_op, csrf) = s.sign_in(Role::PrivacyOperator).await;
    let page = s.get("/privacy/erasure", &priv_op).await;
    assert_eq!(page.status, StatusCode::OK);
    let form =
        |kind: &str, value: &str, confirm: &str| format!("csrf={csrf}&kind={kind}&value={value}&confirm={confirm}");
    let bad_kind = s.post("/privacy/erasure/preview", &priv_op, &form("fax", "x", "")).await;
    assert_eq!(bad_kind.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_kind.body.contains("role=\"alert\"") && bad_kind.body.contains("fiscal_code"));
    let blank = s.post("/privacy/erasure/preview", &priv_op, &form("email", "%20", "")).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unseen = s.post("/privacy/erasure/erase", &priv_op, &form("email", "erase.me%40example.it", "")).await;
    assert_eq!(unseen.status, StatusCode::UNPROCESSABLE_ENTITY, "no erasure without its preview");
    let stale = s.post("/privacy/erasure/erase", &priv_op, &form("email", "erase.me%40example.it", "00ff")).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("preview again"), "{}", stale.body);

    let preview = s.post("/privacy/erasure/preview", &priv_op, &form("email", "erase.me%40example.it", "")).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(preview.body.contains(&format!("href=\"/tickets/{plain}\"")));
    assert!(preview.body.contains("voci di storico") && !preview.body.contains("queued_messages"));
    let at = preview.body.find("name=\"confirm\" value=\"").expect("the confirmation") + 22;
    let confirm = preview.body[at..].split('"').next().unwrap().to_string();
    let erased = s.post("/privacy/erasure/erase", &priv_op, &form("email", "erase.me%40example.it", &confirm)).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
    assert!(erased.body.contains(&format!("Dati cancellati da 1 ticket: {plain}.")), "{}", erased.body);
    let ticket = s.desk.engine.ticket_by_reference(&plain).await.unwrap();
    assert_eq!(ticket.requester.email, None);

    // An open breach report holds the erasure: no erase button, and the engine refuses anyway.
    let breach = s.desk.open_with("email", "privacy_issue", "erase-3", requester("held@example.it")).await;
    let held = s.post("/privacy/erasure/preview", &priv_op, &form("email", "held%40example.it", "")).await;
    assert_eq!(held.status, StatusCode::OK, "{}", held.body);
    assert!(held.body.contains("Cancellazione sospesa per obbligo di legge"), "{}", held.body);
    assert!(held.body.contains(&format!("href=\"/tickets/{breach}\"")));
    assert!(!held.body.contains("action=\"/privacy/erasure/erase\""));
    let at = held.body.find("Segnalazioni aperte").unwrap();
    assert!(held.body[at..].contains(&breach));
    assert!(s.desk.engine.ticket_by_reference(&breach).await.unwrap().requester.email.is_some());
}

/// The supervisors' dashboard in the console, on the sign-in session (no bearer token to paste):
/// the same figures as the operator API's, in the console's frame, every figure opening its
/// tickets and every ticket its page; operators see neither the page nor its link.
#[tokio::test]
async fn supervisors_see_the_reports_on_their_console_session() {
    let s = site();
    let reference = s.desk.open("email", "basic_info", "report-1").await;
    s.desk.work(&reference, "Q", "Ecco la ricevuta.").await;

    let none = s.get("/reports", "").await;
    assert_eq!((none.status, none.location()), (StatusCode::SEE_OTHER, "/sign-in?next=%2Freports"));

    let (session, _) = s.sign_in(Role::Supervisor).await;
    let page = s.get("/reports?period=day&date=2026-12-02", &session).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(r#"<a href="/reports" aria-current="page">"#), "the navigation's current page");
    assert!(
        page.body.contains("Risolti dagli operatori<b><a href=\"/reports/tickets?figure=resolved&amp;from=2026-12-02")
    );
    assert!(page.body.contains("<title>Report: 02/12/2026 · Sportello</title>"), "{}", page.body);
    assert!(page.body.contains("<svg id=\"backlog\" role=\"group\""), "the charts are drawn, their bars links");
    assert!(!page.body.contains("/operator/reports"), "every link stays in the console");
    assert!(!page.body.contains("mario"), "no personal data");

    let listed = s.get("/reports/tickets?figure=resolved&from=2026-12-02&to=2026-12-02", &session).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(listed.body.contains(&format!(r#"<a href="/tickets/{reference}">{reference}</a>"#)), "{}", listed.body);
    assert!(listed.body.contains("<h1>Ticket dietro a «Risolti dagli operatori»</h1>"), "{}", listed.body);
    assert!(listed.body.contains("<td>risolto</td>"), "the state in words: {}", listed.body);

    // Bad input is said in the console's frame, with the parameter named.
    let bad = s.get("/reports?period=fortnight", &session).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("role=\"alert\"") && bad.body.contains("<code>period</code>"), "{}", bad.body);
    assert!(bad.body.contains("sign-out") || bad.body.contains("/sign-out"), "inside the console's frame");

    // An operator: no link, and the page refuses.
    let (operator, _) = s.sign_in(Role::Operator).await;
    let queue = s.get("/queue", &operator).await;
    assert!(!queue.body.contains("href=\"/reports\""), "no reports link for an operator");
    let refused = s.get("/reports", &operator).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
}
