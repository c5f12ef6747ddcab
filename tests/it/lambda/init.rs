//! A Lambda function's init on moto, and what it refuses: secrets read from Secrets Manager
//! (`SPORTELLO_SECRETS`), inbound mail read from the S3 object SES stored, and the settings that
//! stop a function at init with a message that says what to fix.
use serde_json::json;
use sportello::adapters::aws::email_inbound::{StoredMail, handle_mail_batch};
use sportello::adapters::aws::lambda::SqsEvent;
use sportello::adapters::aws::secrets::load_secrets;
use sportello::adapters::aws::{CallCounter, Clients, create_queue_with_dlq, table};
use sportello::lambda::{Function, Init, build};
use sportello::settings::Settings;
use std::collections::BTreeMap;

struct Moto {
    clients: Clients,
    config: aws_config::SdkConfig,
    tag: String,
}

async fn moto() -> Moto {
    let server = tokio::task::spawn_blocking(crate::support::moto::server).await.expect("moto");
    let config = crate::support::moto::sdk_config(server).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    Moto { clients: Clients::new(&config), config, tag }
}

impl Moto {
    /// Clients over the same server whose every call `counter` counts.
    fn counted(&self, counter: &CallCounter) -> Clients {
        Clients::counted(&self.config, counter)
    }

    async fn secret(&self, name: &str, text: &str) -> String {
        let created = self
            .clients
            .secrets()
            .create_secret()
            .name(format!("{}/{name}", self.tag))
            .secret_string(text)
            .send()
            .await
            .expect("create secret");
        created.arn.expect("an ARN")
    }

    /// The settings every function needs: a table and a step queue on moto, the default rulebook.
    async fn settings(&self, more: &[(&str, &str)]) -> BTreeMap<String, String> {
        let unique = format!("{}-{}", self.tag, &uuid::Uuid::new_v4().simple().to_string()[..6]);
        let table = format!("init-{unique}");
        table::create_table(&self.clients.dynamodb, &table).await.expect("table");
        let (url, dlq) = create_queue_with_dlq(&self.clients.sqs, &format!("steps-{unique}"), 5).await.unwrap();
        let mut values = BTreeMap::from([
            ("SPORTELLO_TABLE".to_string(), table),
            ("SPORTELLO_STEP_QUEUE_URL".to_string(), url),
            ("SPORTELLO_STEP_DLQ_URL".to_string(), dlq),
            ("SPORTELLO_RULES".to_string(), concat!(env!("CARGO_MANIFEST_DIR"), "/rules").to_string()),
        ]);
        values.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        values
    }
}

fn settings(values: &[(&str, &str)]) -> Settings {
    Settings::from_map(values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

#[tokio::test]
async fn secrets_are_read_at_init_in_the_order_named() {
    let m = moto().await;
    let first = m
        .secret("first", r#"{"SPORTELLO_REPLY_TOKEN_KEY": "k1", "SPORTELLO_TARGET_SECRET_PAGOPA_PRIVACY": "p"}"#)
        .await;
    m.secret("second", r#"{"SPORTELLO_REPLY_TOKEN_KEY": "k2"}"#).await;
    // An ARN and a name; the later secret wins for a name both hold.
    let named = format!("{first}, {}/second", m.tag);
    let mut s = settings(&[("SPORTELLO_SECRETS", &named), ("SPORTELLO_REPLY_TOKEN_KEY", "from the environment")]);
    load_secrets(&m.clients.secrets(), &mut s).await.unwrap();
    assert_eq!(s.get("SPORTELLO_REPLY_TOKEN_KEY").as_deref(), Some("k2"));
    assert_eq!(s.get("SPORTELLO_TARGET_SECRET_PAGOPA_PRIVACY").as_deref(), Some("p"));

    // No SPORTELLO_SECRETS: nothing read, nothing needed.
    let mut s = settings(&[]);
    load_secrets(&m.clients.secrets(), &mut s).await.unwrap();
    assert_eq!(s.get("SPORTELLO_REPLY_TOKEN_KEY"), None);
}

#[tokio::test]
async fn a_secret_that_cannot_be_used_stops_the_init_and_says_which_and_why() {
    let m = moto().await;
    let load = |named: String| {
        let client = m.clients.secrets();
        async move {
            let mut s = settings(&[("SPORTELLO_SECRETS", &named)]);
            load_secrets(&client, &mut s).await.unwrap_err()
        }
    };
    let missing = load(format!("{}/no-such-secret", m.tag)).await;
    assert!(missing.starts_with(&format!("cannot read secret {}/no-such-secret: ", m.tag)), "{missing}");
    assert!(missing.contains("ResourceNotFound"), "{missing}");

    let not_json = m.secret("not-json", "hunter2-is-not-json").await;
    let refused = load(not_json.clone()).await;
    assert!(refused.starts_with(&format!("secret {not_json} is not a JSON object of settings")), "{refused}");
    assert!(!refused.contains("hunter2"), "an error never quotes a secret: {refused}");

    let misspelt = m.secret("misspelt", r#"{"SPORTELLO_REPLY_TOKEN_KYE": "k"}"#).await;
    let refused = load(misspelt).await;
    assert!(refused.contains("holds SPORTELLO_REPLY_TOKEN_KYE, which Sportello does not read"), "{refused}");

    let plain = m.secret("plain", r#"{"SPORTELLO_TABLE": "t"}"#).await;
    assert!(load(plain).await.contains("holds SPORTELLO_TABLE, which is not a secret setting"));

    let binary = m
        .clients
        .secrets()
        .create_secret()
        .name(format!("{}/binary", m.tag))
        .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(b"\x00\x01".to_vec()))
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    assert!(load(binary).await.contains("has no SecretString"));
}

#[tokio::test]
async fn settings_a_function_cannot_run_with_stop_its_init_with_what_to_fix() {
    let m = moto().await;
    let init = |function: Function, values: BTreeMap<String, String>| {
        let clients = m.clients.clone();
        async move { Init::new(function, Settings::from_map(values), clients).await.expect("init") }
    };
    let error = |r: Result<sportello::lambda::Handler, sportello::lambda::Error>| match r {
        Ok(_) => panic!("the function was built"),
        Err(e) => e.to_string(),
    };

    let values = m.settings(&[]).await;
    let mut no_table = values.clone();
    no_table.remove("SPORTELLO_TABLE");
    assert_eq!(error(build(&init(Function::Chat, no_table).await).await), "SPORTELLO_TABLE is not set");

    // The API function's clients: an entry it cannot read is named.
    let bad = m.settings(&[("SPORTELLO_IAM_CLIENTS", "arn:aws:iam::123456789012:root=io")]).await;
    let refused = error(build(&init(Function::Api, bad).await).await);
    assert!(refused.contains("a whole account is not a client"), "{refused}");

    // A sender off the SES identity the policy grants: every mail would be refused.
    let off = m.settings(&[("SPORTELLO_MAIL_DOMAIN", "sportello.example.org")]).await;
    let refused = error(build(&init(Function::EmailSqs, off).await).await);
    assert!(
        refused.contains("`assistenza@sportello.pagopa.it` is not on the mail domain `sportello.example.org`"),
        "{refused}"
    );
    let escalating = m
        .settings(&[
            ("SPORTELLO_MAIL_DOMAIN", "sportello.pagopa.it"),
            ("SPORTELLO_ESCALATION_FROM", "escalations@pagopa.example"),
        ])
        .await;
    let refused = error(build(&init(Function::Clock, escalating).await).await);
    assert!(refused.contains("`escalations@pagopa.example`"), "{refused}");
    // The same domain, in another case: SES identities are not case-sensitive.
    let fine = m.settings(&[("SPORTELLO_MAIL_DOMAIN", "Sportello.PagoPA.it")]).await;
    assert!(build(&init(Function::EmailSqs, fine).await).await.is_ok());

    // A voice function sends no mail: it does not care.
    let voice = m.settings(&[("SPORTELLO_MAIL_DOMAIN", "sportello.example.org")]).await;
    assert!(build(&init(Function::Voice, voice).await).await.is_ok());

    // A main that starts one function with another's builder: refused, naming both.
    let values = m.settings(&[]).await;
    let paired = match sportello::lambda::chat(&init(Function::Api, values.clone()).await).await {
        Ok(_) => panic!("the API function was built with the chat's builder"),
        Err(e) => e.to_string(),
    };
    assert!(paired.contains("sportello-api was started with the builder of sportello-chat"), "{paired}");
    let paired = match sportello::lambda::notices(&init(Function::Triage, values).await).await {
        Ok(_) => panic!("the triage function was built with the notices' builder"),
        Err(e) => e.to_string(),
    };
    assert!(paired.contains("sportello-triage was started with the builder of sportello-notices"), "{paired}");
}

/// What SES publishes after its S3 action stored a message.
fn stored_notification(bucket: &str, key: &str) -> String {
    let message = json!({
        "notificationType": "Received",
        "mail": {"messageId": "m", "source": "a@example.com", "destination": ["assistenza@sportello.pagopa.it"]},
        "receipt": {"recipients": ["assistenza@sportello.pagopa.it"], "virusVerdict": {"status": "PASS"},
                    "spamVerdict": {"status": "PASS"},
                    "action": {"type": "S3", "bucketName": bucket, "objectKey": key, "objectKeyPrefix": "inbound/"}},
    });
    json!({"Type": "Notification", "Message": message.to_string()}).to_string()
}

fn batch(bodies: &[String]) -> SqsEvent {
    let records: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m-{i}"), "receiptHandle": "h", "body": b, "eventSource": "aws:sqs"}))
        .collect();
    serde_json::from_value(json!({"Records": records})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_stored_in_s3_is_read_from_there_and_a_missing_or_huge_one_fails_alone() {
    let m = moto().await;
    let values = m.settings(&[]).await;
    let init = Init::new(Function::EmailSqs, Settings::from_map(values), m.clients.clone()).await.unwrap();
    let sportello::lambda::Handler::Mail(sportello::lambda::MailBatches { engine, .. }) = build(&init).await.unwrap()
    else {
        panic!("the email-sqs function handles mail batches");
    };
    m.clients.ses.get().verify_domain_identity().domain("sportello.pagopa.it").send().await.unwrap();
    let bucket = format!("inbound-{}", m.tag);
    m.clients
        .s3()
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from("eu-south-1"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let put = |key: &'static str, body: Vec<u8>| {
        let (s3, bucket) = (m.clients.s3(), bucket.clone());
        async move { s3.put_object().bucket(bucket).key(key).body(body.into()).send().await.unwrap() }
    };
    let big_body = "Una riga di testo della richiesta. ".repeat(6_000);
    let raw = format!(
        "From: Anna Verdi <anna.verdi@example.it>\r\nTo: assistenza@sportello.pagopa.it\r\n\
         Message-ID: <s3-{}@mail.example.it>\r\nSubject: Avviso non trovato\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{big_body}\r\n",
        m.tag
    );
    assert!(raw.len() > 150 * 1024);
    put("inbound/ok", raw.into_bytes()).await;
    put("inbound/huge", vec![b'x'; sportello::email::MAX_EMAIL_BYTES + 1]).await;

    let stored = StoredMail::new(m.clients.s3());
    let event = batch(&[
        stored_notification(&bucket, "inbound/ok"),
        stored_notification(&bucket, "inbound/missing"),
        stored_notification(&bucket, "inbound/huge"),
    ]);
    let response = handle_mail_batch(&engine, Some(&stored), event).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["m-1", "m-2"], "the stored mail opened its ticket; the missing and the huge one failed alone");
    // Opened, and triaged by its intake into one of the operators' queues.
    let mut opened = Vec::new();
    for team in engine.rules.teams.keys() {
        opened.extend(
            engine.ports.tickets.work_queue(team.as_str(), sportello::domain::TicketState::New, 10).await.unwrap(),
        );
    }
    assert_eq!(opened.len(), 1);
    assert!(opened[0].triaged_at.is_some());

    let missing = stored.read(&bucket, "inbound/missing").await.unwrap_err().to_string();
    assert!(
        missing.starts_with(&format!("the stored message s3://{bucket}/inbound/missing cannot be read: ")),
        "{missing}"
    );
    let huge = stored.read(&bucket, "inbound/huge").await.unwrap_err().to_string();
    assert!(huge.contains("over the 10485760-byte limit"), "{huge}");

    // Without the S3 client (a function built for inline notifications only) it says so.
    let response = handle_mail_batch(&engine, None, batch(&[stored_notification(&bucket, "inbound/ok")])).await;
    assert_eq!(response.batch_item_failures.len(), 1);
}

/// Each HTTP function answers a path it does not serve and a method its path does not take as
/// the local server does: the same problem+json, with `Allow` on a 405.
#[tokio::test]
async fn each_http_function_answers_404_and_405_as_the_local_server_does() {
    use crate::http::{UNSERVED, assert_unserved_are_problems};
    use sportello::lambda::Handler;
    let m = moto().await;
    let token = hex::encode(sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(b"mail-token")));
    let values = m.settings(&[("SPORTELLO_MAIL_TOKEN_SHA256", &token)]).await;
    let functions = [
        (Function::Api, &["api"][..]),
        (Function::Voice, &["voice"]),
        (Function::Chat, &["chat"]),
        (Function::EmailHttp, &["email", "health"]),
        (Function::Operator, &["operator"]),
    ];
    for (function, routers) in functions {
        let init = Init::new(function, Settings::from_map(values.clone()), m.clients.clone()).await.expect("init");
        let app = match build(&init).await.expect("built") {
            Handler::Http(sportello::lambda::HttpEvents(app))
            | Handler::Voice(sportello::lambda::VoiceEvents { app, .. }) => app,
            _ => panic!("{function:?} is not an HTTP function"),
        };
        let calls: Vec<_> = UNSERVED.iter().filter(|c| routers.contains(&c.0)).collect();
        assert!(!calls.is_empty());
        assert_unserved_are_problems(&app, &calls).await;
    }
}

/// The operator function serves the operator API and the console as one router, though each is
/// built at the first request that needs it: the console's pages and redirects, the API's
/// refusal without the authorizer's claims, and one problem+json for what neither serves.
#[tokio::test]
async fn the_operator_function_serves_its_api_and_its_console_as_one_router() {
    use crate::http::{UNSERVED, assert_unserved_are_problems};
    use axum::body::Body;
    use axum::http::Request;
    use sportello::lambda::{Handler, HttpEvents};
    let m = moto().await;
    let values = m
        .settings(&[
            ("SPORTELLO_OIDC_ISSUER", "http://127.0.0.1:9"),
            ("SPORTELLO_OIDC_CLIENT_ID", "sportello-console"),
            ("SPORTELLO_CONSOLE_SESSION_KEY", "a-console-session-key-of-32-bytes-or-more"),
        ])
        .await;
    let init = Init::new(Function::Operator, Settings::from_map(values), m.clients.clone()).await.expect("init");
    let Handler::Http(HttpEvents(app)) = build(&init).await.expect("built") else { panic!("an HTTP function") };
    let get = |path: &str| Request::builder().uri(path).body(Body::empty()).unwrap();
    let send = |request| crate::support::http::send_to(app.clone(), request);

    let sign_in = send(get("/sign-in")).await;
    assert_eq!(sign_in.status, 200, "{}", sign_in.text);
    assert!(sign_in.text.starts_with("<!DOCTYPE html>"), "{}", sign_in.text);
    let queue = send(get("/queue")).await;
    assert_eq!(queue.status, 303, "signed out: to the sign-in page");
    let api = send(get("/operator/queue")).await;
    assert_eq!(api.status, 401, "no authorizer claims: {}", api.text);

    let operator_rows: Vec<_> = UNSERVED.iter().filter(|c| c.0 == "operator").collect();
    assert_unserved_are_problems(&app, &operator_rows).await;
    let console_rows = [
        ("console", "DELETE", "/queue", "405", "GET,HEAD"),
        ("console", "GET", "/nowhere", "404", ""),
        ("console", "GET", "/operator", "404", ""),
    ];
    assert_unserved_are_problems(&app, &console_rows.iter().collect::<Vec<_>>()).await;
}

/// The functions run on tokio's current-thread runtime, where a spawned task runs only when the
/// init awaits: the init gives the warm-up calls a turn as soon as they are started, so each is
/// built, signed and on its way before the secrets, the rulebook and the build.
#[tokio::test(flavor = "current_thread")]
async fn on_the_current_thread_runtime_the_warm_up_calls_are_under_way_when_the_init_returns() {
    let m = moto().await;
    let values = m.settings(&[]).await;
    let counter = CallCounter::new();
    let init = Init::new(Function::Triage, Settings::from_map(values), m.counted(&counter)).await.unwrap();
    let under_way = counter.snapshot();
    for op in ["DynamoDB.DescribeTable", "SQS.GetQueueAttributes", "SES.GetSendQuota"] {
        assert_eq!(under_way.get(op), Some(&1), "{under_way:?}");
    }
    build(&init).await.expect("the triage function builds");
    assert!(init.warmed().await.warm_up_start > std::time::Duration::ZERO);
}

/// The init starts its warm-up calls as soon as its clients exist, beside the secrets' read and
/// the rulebook's load, and the function is built only once they are done: each endpoint it uses
/// was called once by then, and the init's times say how long the warm-up and the rulebook
/// took. A function that sends no mail never builds an SES client, nor calls SES.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warm_up_runs_beside_the_init_and_is_over_when_the_function_is_built() {
    let m = moto().await;
    let values = m.settings(&[]).await;
    let counter = CallCounter::new();
    let init = Init::new(Function::Notices, Settings::from_map(values.clone()), m.counted(&counter)).await.unwrap();
    build(&init).await.expect("the notices function builds");
    let calls = counter.take();
    for op in ["DynamoDB.DescribeTable", "SQS.GetQueueAttributes"] {
        assert_eq!(calls.get(op), Some(&1), "{calls:?}");
    }
    assert_eq!(calls.get("SES.GetSendQuota"), None, "{calls:?}");
    assert!(!init.clients.ses.is_built(), "the notices function sends no mail");

    // The triage function sends mail (answers' retries): SES is built at its init and warmed up.
    let mailing = Init::new(Function::Triage, Settings::from_map(values), m.counted(&counter)).await.unwrap();
    build(&mailing).await.expect("the triage function builds");
    let calls = counter.take();
    for op in ["DynamoDB.DescribeTable", "SQS.GetQueueAttributes", "SES.GetSendQuota"] {
        assert_eq!(calls.get(op), Some(&1), "{calls:?}");
    }
    assert!(mailing.clients.ses.is_built());
    let times = init.warmed().await;
    assert!(times.warm_up > std::time::Duration::ZERO, "{times:?}");
    assert!(times.rulebook > std::time::Duration::ZERO, "{times:?}");
    // Waited for once: a second look finds nothing under way.
    assert_eq!(times.warm_up_wait, init.warmed().await.warm_up_wait, "{times:?}");

    // Without a table the init cannot build a function; it starts no warm-up either.
    let counter = CallCounter::new();
    let mut no_table = m.settings(&[]).await;
    no_table.remove("SPORTELLO_TABLE");
    let init = Init::new(Function::Notices, Settings::from_map(no_table), m.counted(&counter)).await.unwrap();
    assert_eq!(init.warmed().await.warm_up, std::time::Duration::ZERO);
    assert!(counter.take().is_empty(), "no call without a table");
}
