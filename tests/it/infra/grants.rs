//! Each function as infra/template.yaml deploys it, proven without an AWS account: the template,
//! expanded by SAM's own transform, is deployed on moto (tests/it/support/stack.rs); every function
//! is built by `sportello::lambda::build` from the environment the template gives it, with SDK
//! clients that note every call; then the flows run through the functions' handlers as Lambda
//! would invoke them (API Gateway, Connect, SQS and scheduler events), each invocation on the
//! function the template routes it to. At the end, per function:
//! - every AWS call it made is allowed by its role's policies, on that very resource;
//! - every variable it read is set for it (in its environment, or for a secret in one of the
//!   secrets it reads at init, never in plain environment), and nothing is set that it never
//!   reads. The variables and what each needs come from `sportello::settings::SETTINGS`.
use crate::support::stack::{ACCOUNT, Stack, allowed, rules_folder, secret_names, wildcard};
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use sportello::adapters::aws::{CallCounter, Clients, IamAccess, Resource};
use sportello::lambda::{Function, Handler, Init, RunSettings, build};
use sportello::settings::{Need, Settings, setting};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Monday 7 December 2026, 10:00 in Rome: every channel is open.
const MONDAY: &str = "2026-12-07T10:00:00+01:00";
const MAIL_GATEWAY_SECRET: &str = "test-mail-gateway-secret";
const TARGET_SECRET: &str = "a-target-secret-of-at-least-32-characters";

/// One function of the stack: its handler, what its calls needed, what its init read.
struct Deployed {
    logical_id: String,
    handler: Handler,
    counter: CallCounter,
    accesses: BTreeSet<IamAccess>,
    init: Init,
    environment: BTreeMap<String, String>,
}

struct Deployment {
    stack: Stack,
    functions: BTreeMap<Function, Deployed>,
    clock: Arc<Mutex<jiff::Timestamp>>,
    /// Uncounted: what Lambda's event source mappings and the test itself do.
    sqs: aws_sdk_sqs::Client,
    /// The X-Ray trace header of each invocation so far (Lambda gives every one its own).
    traces: BTreeSet<String>,
    s3: aws_sdk_s3::Client,
}

impl Deployment {
    async fn new() -> Deployment {
        let mail_token = sportello::http::auth::sha256_hex(MAIL_GATEWAY_SECRET.as_bytes());
        let stack = Stack::deploy(&[
            ("MailTokenSha256", &mail_token),
            ("OperatorJwtIssuer", "https://cognito-idp.eu-south-1.amazonaws.com/eu-south-1_Example"),
            ("OperatorJwtAudience", "sportello-console"),
            ("TargetSecretPagopaSpecialists", TARGET_SECRET),
            ("TargetSecretThirdParties", TARGET_SECRET),
            ("TargetSecretPagopaIncidentManagement", TARGET_SECRET),
            ("TargetSecretPagopaPrivacy", TARGET_SECRET),
            ("ConsoleUrl", "https://desk.sportello.example"),
        ])
        .await;
        let domain = stack.eval(&json!({"Ref": "MailDomain"}));
        let ses = aws_sdk_ses::Client::new(&stack.config);
        ses.verify_domain_identity().domain(domain.as_str().unwrap()).send().await.expect("verify SES domain");
        let clock = Arc::new(Mutex::new(MONDAY.parse::<jiff::Timestamp>().unwrap()));
        let mut functions = BTreeMap::new();
        for (logical_id, binary) in stack.functions() {
            let function =
                Function::from_binary(&binary).unwrap_or_else(|| panic!("{logical_id}: {binary} is no Function"));
            let mut environment = stack.environment(&logical_id);
            // The rules layer, mounted at /opt on Lambda, is the repository's rules/ folder.
            let mut values = environment.clone();
            if values.get("SPORTELLO_RULES").map(String::as_str) == Some("/opt") {
                values.insert("SPORTELLO_RULES".into(), rules_folder().display().to_string());
            }
            // The SDK layer, mounted at /opt too, is infra/sdk-layer.
            if let Some(table) = values.get_mut("SMITHY_CLIENT_SDK_CUSTOM_PARTITION") {
                let layer = Path::new(env!("CARGO_MANIFEST_DIR")).join("infra/sdk-layer");
                *table = table.replacen("/opt", &layer.display().to_string(), 1);
            }
            let counter = CallCounter::new();
            let clients = Clients::counted(&stack.config, &counter);
            // What `sportello::lambda::run` reads before the init, then the init.
            let settings = Settings::from_map(values);
            RunSettings::read(&settings);
            Init::check_sdk_partition(&settings).unwrap_or_else(|e| panic!("{logical_id}: {e}"));
            let mut init = Init::new(function, settings, clients)
                .await
                .unwrap_or_else(|e| panic!("{logical_id}: init failed: {e}"));
            let read = clock.clone();
            init.clock = Some(Arc::new(move || *read.lock().unwrap()));
            let handler = build(&init).await.unwrap_or_else(|e| panic!("{logical_id}: build failed: {e}"));
            environment.retain(|k, _| k != "AWS_LAMBDA_EXEC_WRAPPER");
            let deployed = Deployed { logical_id, handler, counter, accesses: BTreeSet::new(), init, environment };
            assert!(functions.insert(function, deployed).is_none(), "{binary} deployed twice");
        }
        for f in Function::ALL {
            assert!(functions.contains_key(&f), "the template deploys no {}", f.binary());
        }
        let sqs = aws_sdk_sqs::Client::new(&stack.config);
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&stack.config).force_path_style(true).build(),
        );
        Deployment { stack, functions, clock, sqs, s3, traces: BTreeSet::new() }
    }

    /// One invocation of `function`; its calls are noted as its own.
    async fn invoke(&mut self, function: Function, event: Value) -> Value {
        let trace = format!("Root=1-6753a1b2-{:024x};Parent=53995c3f42cd8ad8;Sampled=1", self.traces.len() + 1);
        self.traces.insert(trace.clone());
        let mut context = Context::default();
        context.xray_trace_id = Some(trace);
        let deployed = self.functions.get_mut(&function).unwrap();
        let answer = deployed
            .handler
            .handle(LambdaEvent::new(event, context))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", deployed.logical_id));
        deployed.accesses.extend(deployed.counter.take_accesses());
        answer
    }

    /// The operator takes the ticket in charge, sets its category when the channel could not,
    /// classifies it and escalates it; the escalation's answer.
    async fn escalate(&mut self, reference: &str, category: Option<&str>, ticket_type: &str, target: &str) -> Value {
        let base = format!("/operator/tickets/{reference}");
        assert_eq!(self.operator("POST", format!("{base}/take-in-charge"), None).await.0, 200);
        if let Some(category) = category {
            let to = Some(json!({"category": category}));
            assert_eq!(self.operator("POST", format!("{base}/categorize"), to).await.0, 200);
        }
        let classify = Some(json!({"ticket_type": ticket_type}));
        assert_eq!(self.operator("POST", format!("{base}/classify"), classify).await.0, 200);
        let escalation = Some(json!({"target": target, "summary": "Da verificare"}));
        let (status, escalated) = self.operator("POST", format!("{base}/escalate"), escalation).await;
        assert_eq!(status, 200, "{escalated}");
        escalated
    }

    /// A request to the operator API, as the operator OPERATOR, through the JWT authorizer.
    async fn operator(&mut self, method: &'static str, path: impl Into<String>, body: Option<Value>) -> (u16, Value) {
        let (sub, groups) = OPERATOR;
        let request = Request::new(method, path).operator(sub, groups);
        let request = match body {
            Some(b) => request.json(&b),
            None => request,
        };
        self.http(Function::Operator, request).await
    }

    async fn http(&mut self, function: Function, request: Request) -> (u16, Value) {
        let answer = self.invoke(function, request.event()).await;
        let status = answer["statusCode"].as_u64().unwrap_or(0) as u16;
        let body = answer["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
        (status, body)
    }

    fn url(&self, logical_id: &str) -> String {
        self.stack.eval(&json!({"Ref": logical_id})).as_str().unwrap().to_string()
    }

    /// What the event source mapping of `queue` does: receive a batch, hand it to `function`.
    /// Returns how many messages it handed over; a reported failure fails the test.
    async fn poll(&mut self, queue: &str, function: Function) -> usize {
        let url = self.url(queue);
        let mut handed = 0;
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::AwsTraceHeader)
                .send()
                .await
                .expect("receive")
                .messages
                .unwrap_or_default();
            if got.is_empty() {
                return handed;
            }
            // Every step message goes in the trace of the invocation that sent it.
            if queue == "StepQueue" {
                for m in &got {
                    let attributes = m.attributes.clone().unwrap_or_default();
                    let trace = attributes.get(&aws_sdk_sqs::types::MessageSystemAttributeName::AwsTraceHeader);
                    assert!(
                        trace.is_some_and(|t| self.traces.contains(t)),
                        "a step message without its sender's trace: {m:?}"
                    );
                }
            }
            let records: Vec<Value> = got.iter().map(crate::support::sqs::record).collect();
            let answer = self.invoke(function, json!({"Records": records})).await;
            let failed = answer["batchItemFailures"].as_array().cloned().unwrap_or_default();
            assert!(failed.is_empty(), "{queue} → {}: failed {failed:?}", function.binary());
            for m in &got {
                let handle = m.receipt_handle.clone().unwrap_or_default();
                self.sqs.delete_message().queue_url(&url).receipt_handle(handle).send().await.expect("delete");
            }
            handed += got.len();
        }
    }

    /// Everything queued as steps, run by the triage function.
    async fn settle(&mut self) -> usize {
        self.poll("StepQueue", Function::Triage).await
    }

    /// The messages waiting on a queue (taken off it).
    async fn take(&self, queue: &str) -> Vec<Value> {
        let url = self.url(queue);
        let got = self.sqs.receive_message().queue_url(&url).max_number_of_messages(10).send().await.expect("receive");
        let mut bodies = Vec::new();
        for m in got.messages.unwrap_or_default() {
            bodies.push(serde_json::from_str(m.body.as_deref().unwrap_or("null")).unwrap_or(Value::Null));
            let handle = m.receipt_handle.unwrap_or_default();
            self.sqs.delete_message().queue_url(&url).receipt_handle(handle).send().await.expect("delete");
        }
        bodies
    }

    fn now(&self) -> jiff::Timestamp {
        *self.clock.lock().unwrap()
    }

    /// The io client's role, as the template creates it and the API function knows it.
    fn role_name(&self, logical_id: &str) -> String {
        let arn = self.stack.eval(&json!({"Fn::GetAtt": [logical_id, "Arn"]}));
        arn.as_str().unwrap().rsplit('/').next().unwrap().to_string()
    }
}

/// An API Gateway HTTP API (payload 2.0) request.
struct Request {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    authorizer: Option<Value>,
}

impl Request {
    fn new(method: &'static str, path: impl Into<String>) -> Request {
        Request { method, path: path.into(), headers: Vec::new(), body: None, authorizer: None }
    }
    fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }
    fn json(self, body: &Value) -> Request {
        let mut r = self.header("content-type", "application/json");
        r.body = Some(body.to_string());
        r
    }
    fn raw(mut self, content_type: &str, body: String) -> Request {
        self = self.header("content-type", content_type);
        self.body = Some(body);
        self
    }
    /// Signed with SigV4 as `user_arn`: what API Gateway's IAM authorizer reports.
    fn iam(mut self, user_arn: &str) -> Request {
        self.authorizer = Some(json!({"iam": {
            "accessKey": "ASIAEXAMPLE", "accountId": ACCOUNT, "callerId": "AROAEXAMPLE:session",
            "principalOrgId": null, "userArn": user_arn, "userId": "AROAEXAMPLE:session",
        }}));
        self
    }
    /// With the JWT authorizer's claims of an operator with `groups`.
    fn operator(mut self, sub: &str, groups: &str) -> Request {
        self.authorizer = Some(json!({"jwt": {"claims": {"sub": sub, "cognito:groups": groups}, "scopes": null}}));
        self
    }
    fn event(&self) -> Value {
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let headers: serde_json::Map<String, Value> =
            self.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        let mut context = json!({
            "accountId": ACCOUNT, "apiId": "api1234567", "domainName": "api1234567.execute-api.eu-south-1.amazonaws.com",
            "domainPrefix": "api1234567",
            "http": {"method": self.method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.17", "userAgent": "test"},
            "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": "$default", "stage": "$default",
            "time": "07/Dec/2026:09:00:00 +0000", "timeEpoch": 1796634000000u64,
        });
        if let Some(a) = &self.authorizer {
            context["authorizer"] = a.clone();
        }
        let mut event = json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": headers, "requestContext": context, "isBase64Encoded": false,
        });
        if let Some(body) = &self.body {
            event["body"] = Value::String(body.clone());
        }
        event
    }
}

const OPERATOR: (&str, &str) = ("op-017", "[operator supervisor]");

fn mail(message_id: &str, from: &str, to: &str, subject: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nDate: Mon, 07 Dec 2026 09:30:00 +0100\r\nMessage-ID: <{message_id}>\r\n\
         Subject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

/// What SES's receipt rule publishes after storing a message with its S3 action.
fn ses_stored_notification(bucket: &str, key: &str, to: &str) -> Value {
    let pass = json!({"status": "PASS"});
    let message = json!({
        "notificationType": "Received",
        "mail": {"timestamp": "2026-12-07T09:30:00.000Z", "source": "mario.rossi@example.it",
                 "messageId": key.rsplit('/').next(), "destination": [to]},
        "receipt": {
            "timestamp": "2026-12-07T09:30:00.000Z", "recipients": [to], "processingTimeMillis": 420,
            "spamVerdict": pass, "virusVerdict": pass, "spfVerdict": pass, "dkimVerdict": pass, "dmarcVerdict": pass,
            "action": {"type": "S3", "topicArn": "arn:aws:sns:eu-south-1:123456789012:inbound-mail",
                       "bucketName": bucket, "objectKeyPrefix": "inbound/", "objectKey": key},
        },
    });
    json!({"Type": "Notification", "MessageId": uuid::Uuid::new_v4().to_string(), "Message": message.to_string()})
}

fn sqs_event(bodies: &[String]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .map(|b| json!({"messageId": uuid::Uuid::new_v4().to_string(), "receiptHandle": "h", "body": b,
                        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs"}))
        .collect();
    json!({"Records": records})
}

/// The flows of every channel, through the functions that serve them.
async fn run_the_flows(d: &mut Deployment) {
    // ---- API (3.4): the io client, through the role it assumes; the session name is its own.
    let io = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{}/io-backend-7f3a", d.role_name("IoClientRole"));
    let ticket = json!({
        "category": "io_pagamenti_pagopa", "subcategory": "pagamenti_pagopa_doppio_addebito",
        "subject": "Doppio addebito", "message": "Ho pagato due volte lo stesso avviso.",
        "requester": {"name": "Mario Rossi", "email": "mario.rossi@example.it", "fiscal_code": "RSSMRA85T10A562S"},
        "fields": {"notice_code": "302001234567890123", "creditor_fiscal_code": "15376371009"},
    });
    let create = |key: &str, who: &str| {
        Request::new("POST", "/api/v1/tickets").header("idempotency-key", key).json(&ticket).iam(who)
    };
    let (status, api_ticket) = d.http(Function::Api, create("k-1", &io)).await;
    assert_eq!(status, 201, "{api_ticket}");
    let api_ref = api_ticket["reference"].as_str().unwrap().to_string();
    let (status, seen) =
        d.http(Function::Api, Request::new("GET", format!("/api/v1/tickets/{api_ref}")).iam(&io)).await;
    assert_eq!((status, seen["reference"].as_str()), (200, Some(api_ref.as_str())), "{seen}");
    // Another session of the same role is the same client; the checkout role is another one.
    let io_again = io.replace("io-backend-7f3a", "io-backend-other");
    let (status, _) =
        d.http(Function::Api, Request::new("GET", format!("/api/v1/tickets/{api_ref}")).iam(&io_again)).await;
    assert_eq!(status, 200);
    let checkout = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{}/checkout", d.role_name("CheckoutClientRole"));
    let (status, _) =
        d.http(Function::Api, Request::new("GET", format!("/api/v1/tickets/{api_ref}")).iam(&checkout)).await;
    assert_eq!(status, 404, "a client sees its own tickets only");
    let stranger = format!("arn:aws:sts::{ACCOUNT}:assumed-role/SomeOtherRole/io-backend-7f3a");
    let (status, problem) = d.http(Function::Api, create("k-2", &stranger)).await;
    assert_eq!((status, problem["detail"].as_str()), (401, Some("this IAM principal is not a known client")));
    let malfunction = json!({
        "category": "io_pagamenti_pagopa", "subcategory": "pagamenti_pagopa_blocco",
        "subject": "Pagamento bloccato", "message": "Il pagamento resta in attesa.",
        "requester": {"email": "anna.verdi@example.it"},
    });
    let request = Request::new("POST", "/api/v1/tickets").header("idempotency-key", "k-3").json(&malfunction).iam(&io);
    let (status, broken) = d.http(Function::Api, request).await;
    assert_eq!(status, 201, "{broken}");
    let broken_ref = broken["reference"].as_str().unwrap().to_string();
    assert_eq!(d.settle().await, 0, "the API tickets were triaged by their intake: nothing queued");

    // ---- Voice (3.1): a Connect contact flow, and a call through the HTTP API.
    let connect: Value = serde_json::from_str(include_str!("../../fixtures/events/connect-contact-flow.json")).unwrap();
    let answer = d.invoke(Function::Voice, connect).await;
    assert!(answer["reference"].as_str().is_some_and(|r| r.starts_with("SP-")), "{answer}");
    // The telephony platform calls as its role; a client app's role opens no calls.
    let telephony = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{}/telephony-1", d.role_name("TelephonyClientRole"));
    let call = json!({"call_id": "call-1", "caller": "+393331234567", "menu": 1});
    let (status, answer) =
        d.http(Function::Voice, Request::new("POST", "/voice/calls").json(&call).iam(&telephony)).await;
    assert_eq!(status, 200, "{answer}");
    // The io app's role is no client of the voice function; API Gateway refuses it first.
    let (status, _) = d.http(Function::Voice, Request::new("POST", "/voice/calls").json(&call).iam(&io)).await;
    assert_eq!(status, 401, "the io app is no telephony platform");
    let http_api = d.url("HttpApi");
    let api = |method: &str, path: &str| {
        format!("arn:aws:execute-api:eu-south-1:{ACCOUNT}:{http_api}/$default/{method}{path}")
    };
    let (io_may, telephony_may) =
        (d.stack.role_statements("IoClientRole"), d.stack.role_statements("TelephonyClientRole"));
    assert!(allowed(&io_may, "execute-api:Invoke", &api("POST", "/api/v1/tickets")));
    assert!(allowed(&io_may, "execute-api:Invoke", &api("GET", &format!("/api/v1/tickets/{api_ref}"))));
    assert!(!allowed(&io_may, "execute-api:Invoke", &api("POST", "/voice/calls")));
    assert!(allowed(&telephony_may, "execute-api:Invoke", &api("POST", "/voice/calls")));
    assert!(!allowed(&telephony_may, "execute-api:Invoke", &api("POST", "/api/v1/tickets")));

    // ---- Chat (3.2): a session, a question to the bot, the poll, the handoff.
    let start = json!({"session_id": uuid::Uuid::new_v4().to_string(), "lang": "it", "category": "basic_info",
                       "requester": {"name": "Mario Rossi", "email": "mario.rossi@example.it"}});
    let (status, chat) = d.http(Function::Chat, Request::new("POST", "/chat/sessions").json(&start)).await;
    assert_eq!(status, 201, "{chat}");
    let (chat_ref, bearer) =
        (chat["reference"].as_str().unwrap().to_string(), format!("Bearer {}", chat["token"].as_str().unwrap()));
    let messages = format!("/chat/sessions/{chat_ref}/messages");
    let say = Request::new("POST", messages.clone())
        .header("authorization", &bearer)
        .json(&json!({"text": "Come pago un avviso pagoPA?"}));
    assert_eq!(d.http(Function::Chat, say).await.0, 200);
    assert_eq!(d.http(Function::Chat, Request::new("GET", messages).header("authorization", &bearer)).await.0, 200);
    let handoff = Request::new("POST", format!("/chat/sessions/{chat_ref}/operator")).header("authorization", &bearer);
    let (status, handed) = d.http(Function::Chat, handoff).await;
    assert_eq!((status, handed["handed_off"].as_bool()), (200, Some(true)), "{handed}");
    assert!(d.settle().await > 0, "the handoff queued its triage");

    // ---- E-mail (3.3), from a mail gateway over HTTP, and from SES through S3: a mail well
    // over the 150 KB an SNS notification can carry.
    let gateway: Value =
        serde_json::from_str(include_str!("../../fixtures/events/apigw-v2-email-inbound.json")).unwrap();
    let answer = d.invoke(Function::EmailHttp, gateway).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let gateway_body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    let gateway_ref = gateway_body["reference"].as_str().unwrap().to_string();
    let support = d.stack.eval(&json!({"Ref": "SupportAddress"})).as_str().unwrap().to_string();
    let attachment = "Ricevuta allegata. ".repeat(12_000);
    let big = mail(
        "big-1@mail.example.it",
        "Mario Rossi <mario.rossi@example.it>",
        &support,
        "Ricevuta di pagamento",
        &attachment,
    );
    assert!(big.len() > 200 * 1024, "{} bytes", big.len());
    let bucket = d.url("InboundMailBucket");
    let key = "inbound/0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    d.s3.put_object().bucket(&bucket).key(key).body(big.into_bytes().into()).send().await.expect("store the mail");
    let notified = ses_stored_notification(&bucket, key, &support).to_string();
    let answer = d.invoke(Function::EmailSqs, sqs_event(&[notified])).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    d.settle().await;

    // ---- Operators: escalations by queue and by mail, an incident, answers on every channel.
    let base = format!("/operator/tickets/{api_ref}");
    let escalated = d.escalate(&api_ref, None, "Q", "pagopa_specialists").await;
    let picked = d.take("PagopaSpecialistsEscalationQueue").await;
    assert_eq!(picked.len(), 1, "the escalation is on the specialists' queue: {picked:?}");
    assert_eq!(picked[0]["reply_to"], d.url("ReplyQueue"), "targets are told the reply queue");
    // The specialists answer on the reply queue; a notice for no ticket is refused.
    let notice = json!({"schema": "sportello.resolution-notice/v1", "reference": api_ref, "target": "pagopa_specialists",
                        "escalation_id": escalated["escalation_id"], "notice": "Rimborso disposto."});
    let bogus = json!({"schema": "sportello.resolution-notice/v1", "reference": "SP-AAAAAAAA",
                       "target": "pagopa_specialists", "escalation_id": "x", "notice": "?"});
    let answer = d.invoke(Function::Notices, sqs_event(&[notice.to_string(), bogus.to_string()])).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "a refused notice goes to the DLQ at once: {answer}");
    assert_eq!(d.take("ReplyDeadLetterQueue").await.len(), 1, "the refused notice");
    let (status, resolved) =
        d.operator("POST", format!("{base}/resolve"), Some(json!({"answer": "Il rimborso è stato disposto."}))).await;
    assert_eq!((status, resolved["state"].as_str()), (200, Some("resolved")), "{resolved}");

    // The chat: the operator answers, and escalates nothing; then the mail through S3, escalated
    // to third parties by mail, who reply to the reply address with the token.
    let chat_base = format!("/operator/tickets/{chat_ref}");
    assert_eq!(d.operator("POST", format!("{chat_base}/take-in-charge"), None).await.0, 200);
    assert_eq!(d.operator("POST", format!("{chat_base}/classify"), Some(json!({"ticket_type": "Q"}))).await.0, 200);
    let (status, body) = d
        .operator("POST", format!("{chat_base}/resolve"), Some(json!({"answer": "Dall'app IO, sezione Pagamenti."})))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, queue) = d.operator("GET", "/operator/queue?team=first_level", None).await;
    assert_eq!(status, 200, "{queue}");
    let mut mail_ref = None;
    for t in queue["tickets"].as_array().unwrap().iter().filter(|t| t["channel"] == "email") {
        let reference = t["reference"].as_str().unwrap().to_string();
        let (_, viewed) = d.operator("GET", format!("/operator/tickets/{reference}"), None).await;
        if viewed["ticket"]["subject"] == "Ricevuta di pagamento" {
            mail_ref = Some(reference);
        }
    }
    let mail_ref = mail_ref.unwrap_or_else(|| panic!("the mail stored in S3 opened no ticket: {queue}"));
    let mail_base = format!("/operator/tickets/{mail_ref}");
    let to_third = d.escalate(&mail_ref, Some("advanced_info"), "A", "third_parties").await;
    let key = d.stack.secret_values.values().find_map(|v| v.get("SPORTELLO_REPLY_TOKEN_KEY")).unwrap().clone();
    let reply_mailbox = d.stack.eval(&json!({"Ref": "ThirdPartyReplyAddress"})).as_str().unwrap().to_string();
    let tokens = sportello::engine::reply_token::ReplyTokens::new(key, Some(reply_mailbox)).unwrap();
    let reference = sportello::domain::TicketReference::find_in(&mail_ref).unwrap();
    let token = tokens.token(&reference, to_third["escalation_id"].as_str().unwrap(), "third_parties");
    let reply_to = tokens.reply_address(&token).unwrap();
    let reply = mail(
        "reply-1@third-party.example",
        "Terza Parte <escalations@third-party.example>",
        &reply_to,
        &format!("Re: [{mail_ref}] Escalation to third_parties"),
        "Ricevuta inviata di nuovo all'utente.",
    );
    let key = "inbound/1a2b3c4d5e6f708192a3b4c5d6e7f809";
    d.s3.put_object().bucket(&bucket).key(key).body(reply.into_bytes().into()).send().await.expect("store the reply");
    let notified = ses_stored_notification(&bucket, key, &reply_to).to_string();
    assert_eq!(d.invoke(Function::EmailSqs, sqs_event(&[notified])).await["batchItemFailures"], json!([]));
    let (_, viewed) = d.operator("GET", mail_base.clone(), None).await;
    let kinds: Vec<&str> = viewed["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"notice_received"), "the third party's reply is the ticket's resolution notice: {kinds:?}");
    let (status, body) = d
        .operator("POST", format!("{mail_base}/resolve"), Some(json!({"answer": "La ricevuta le è stata inviata."})))
        .await;
    assert_eq!(status, 200, "{body}");

    // An incident: the broken payment (by API) and a mail about it are linked to it; its
    // resolution answers both (the fan-out, run by the triage function, mails the requester).
    let declare = json!({"service": "pagopa", "title": "Pagamenti in errore", "restoration_info": "Entro le 12."});
    let (status, incident) = d.operator("POST", "/operator/incidents", Some(declare)).await;
    assert_eq!(status, 201, "{incident}");
    for (reference, categorize) in [(&broken_ref, false), (&gateway_ref, true)] {
        let base = format!("/operator/tickets/{reference}");
        assert_eq!(d.operator("POST", format!("{base}/take-in-charge"), None).await.0, 200);
        if categorize {
            let to = Some(json!({"category": "malfunction"}));
            assert_eq!(d.operator("POST", format!("{base}/categorize"), to).await.0, 200);
        }
        let check = Some(json!({"service": "pagopa"}));
        let (status, checked) = d.operator("POST", format!("{base}/check-incidents"), check).await;
        assert_eq!((status, checked["incident"]["id"].clone()), (200, incident["id"].clone()), "{checked}");
    }
    let path = format!("/operator/incidents/{}/resolve", incident["id"].as_str().unwrap());
    let (status, body) = d.operator("POST", path, Some(json!({"closing_text": "Pagamenti ripristinati."}))).await;
    assert_eq!(status, 200, "{body}");
    assert!(d.settle().await > 0, "the fan-out and the answers ran as steps");

    // A target's signed notice over HTTP (no authorizer: the function checks the signature
    // with the target's secret, read from Secrets Manager); a wrong signature is refused.
    let request = Request::new("POST", "/api/v1/tickets").header("idempotency-key", "k-5").json(&ticket).iam(&io);
    let (status, signed_ticket) = d.http(Function::Api, request).await;
    assert_eq!(status, 201, "{signed_ticket}");
    let signed_ref = signed_ticket["reference"].as_str().unwrap().to_string();
    d.settle().await;
    let escalated = d.escalate(&signed_ref, None, "Q", "pagopa_specialists").await;
    d.take("PagopaSpecialistsEscalationQueue").await;
    let body = json!({"reference": signed_ref, "escalation_id": escalated["escalation_id"], "notice": "Verificato."});
    let at = d.now().as_second();
    let notice = |secret: &str| {
        let signature =
            sportello::http::operator::NoticeSecrets::sign(secret.as_bytes(), at, body.to_string().as_bytes());
        Request::new("POST", "/operator/targets/pagopa_specialists/notices")
            .header(sportello::http::operator::TIMESTAMP_HEADER, &at.to_string())
            .header(sportello::http::operator::SIGNATURE_HEADER, &signature)
            .raw("application/json", body.to_string())
    };
    let forged = notice("not-the-secret-of-the-specialists-target");
    assert_eq!(d.http(Function::Operator, forged).await.0, 401, "a wrong signature is refused");
    let (status, noticed) = d.http(Function::Operator, notice(TARGET_SECRET)).await;
    assert_eq!((status, noticed["state"].as_str()), (200, Some("in_progress")), "{noticed}");

    // ---- The clock, a week later: warnings, breaches and reminders are due.
    let api_ticket_2 = Request::new("POST", "/api/v1/tickets").header("idempotency-key", "k-4").json(&ticket).iam(&io);
    let (status, pending) = d.http(Function::Api, api_ticket_2).await;
    assert_eq!(status, 201, "{pending}");
    let pending_ref = pending["reference"].as_str().unwrap().to_string();
    d.settle().await;
    d.escalate(&pending_ref, None, "Q", "pagopa_specialists").await;
    d.take("PagopaSpecialistsEscalationQueue").await;
    *d.clock.lock().unwrap() = "2026-12-14T10:00:00+01:00".parse().unwrap();
    let tick: Value = serde_json::from_str(include_str!("../../fixtures/events/scheduler-clock-tick.json")).unwrap();
    let report = d.invoke(Function::Clock, tick).await;
    assert_eq!(report["failed"], 0, "{report}");
    assert!(report["reminded"].as_u64() > Some(0), "the unanswered escalation is reminded: {report}");
    assert!(report["breached"].as_u64() > Some(0) || report["warned"].as_u64() > Some(0), "{report}");
    let reminders = d.take("PagopaSpecialistsEscalationQueue").await;
    assert!(!reminders.is_empty(), "the reminder went where the escalation went");
    d.settle().await;

    // ---- Reports: the table's stream, read as the event source mapping reads it, handed to
    // the reports function in batches; then the supervisors' reports through the operator API.
    let server = tokio::task::spawn_blocking(crate::support::moto::server).await.unwrap();
    let table = d.url("TicketsTable");
    let stream = crate::support::stream::TableStream::new(server, d.stack.config.clone(), &table);
    let records = stream.records(false).await;
    // What the template's filter lets through: new event items.
    let events: Vec<Value> = records
        .into_iter()
        .filter(|r| {
            r["eventName"] == "INSERT"
                && r["dynamodb"]["Keys"]["sk"]["S"].as_str().is_some_and(|sk| sk.starts_with("E#"))
        })
        .collect();
    assert!(events.len() > 50, "{} events on the stream", events.len());
    for batch in events.chunks(500) {
        let answer = d.invoke(Function::Reports, json!({"Records": batch})).await;
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    }
    let (status, overview) =
        d.operator("GET", "/operator/reports/overview?period=month&date=2026-12-07&by=channel", None).await;
    assert_eq!(status, 200, "{overview}");
    assert!(overview["total"]["contacts"]["received"].as_i64() > Some(5), "{overview}");
    let (status, listed) =
        d.operator("GET", "/operator/reports/tickets?figure=resolved&period=month&date=2026-12-07", None).await;
    assert_eq!(status, 200, "{listed}");
    assert!(!listed["tickets"].as_array().unwrap().is_empty(), "{listed}");
    let bucket = d.url("ReportsExportBucket");
    let exported = d.s3.list_objects_v2().bucket(&bucket).prefix("events/date=").send().await.expect("list the export");
    assert!(!exported.contents().is_empty(), "the events were exported");
}

#[test]
fn every_function_is_granted_every_call_it_makes_and_given_every_variable_it_reads() {
    // Every flow of every function in one future is deeper than a test thread's 2 MiB stack in
    // an unoptimised build: run it on a thread of its own with room.
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(every_function_is_granted())
        })
        .unwrap()
        .join()
        .unwrap();
}

async fn every_function_is_granted() {
    let mut d = Deployment::new().await;
    // What the init made (secrets, the warm-up) counts as the function's own.
    for deployed in d.functions.values_mut() {
        let init_calls = deployed.counter.take_accesses();
        deployed.accesses.extend(init_calls);
    }
    run_the_flows(&mut d).await;

    let mut problems = Vec::new();
    for (function, deployed) in &d.functions {
        let id = &deployed.logical_id;
        let statements = d.stack.statements(id);
        let actions: BTreeSet<&str> = deployed.accesses.iter().map(|a| a.action.as_str()).collect();
        println!("{id}: {}", actions.into_iter().collect::<Vec<_>>().join(" "));
        println!("  reads {:?}", deployed.init.settings.names_read());
        assert!(!deployed.accesses.is_empty(), "{id} made no AWS call at all: the flows missed it");
        for access in &deployed.accesses {
            let Some(arn) = d.stack.arn_of(access) else {
                problems.push(format!("{id}: {} on a resource the call counter does not know", access.action));
                continue;
            };
            if !allowed(&statements, &access.action, &arn) {
                problems.push(format!("{id}: {} on {arn} is not granted", access.action));
            }
        }

        let read = deployed.init.settings.names_read();
        let environment = &deployed.environment;
        let secrets = secret_names(&d.stack, environment);
        for name in &read {
            let Some(s) = setting(name) else {
                problems.push(format!("{id} reads {name}, which src/settings.rs does not list"));
                continue;
            };
            if s.need != Need::Deploy {
                continue;
            }
            match (s.secret, environment.contains_key(name), secrets.contains(name)) {
                (true, true, _) => problems.push(format!("{id}: the secret {name} is in plain environment")),
                (true, false, false) => {
                    problems.push(format!("{id} reads the secret {name}, which none of its secrets holds"))
                }
                (false, false, _) => problems.push(format!("{id} reads {name}, which its environment does not set")),
                _ => {}
            }
        }
        for name in environment.keys().chain(&secrets) {
            if !read.contains(name) {
                problems.push(format!("{id} is given {name}, which {} never reads", function.binary()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What the grant check rests on: IAM's wildcards, and a call that policies do not grant.
#[tokio::test]
async fn the_grant_check_refuses_what_a_policy_does_not_grant() {
    assert!(wildcard("arn:aws:sqs:*:123:q", "arn:aws:sqs:eu-south-1:123:q"));
    assert!(wildcard("sqs:SendMessage*", "sqs:SendMessage"));
    assert!(!wildcard("arn:aws:sqs:eu:123:q", "arn:aws:sqs:eu:123:q-dlq"));
    assert!(wildcard("arn:aws:dynamodb:r:1:table/t/index/*", "arn:aws:dynamodb:r:1:table/t/index/by_queue"));
    assert!(!wildcard("arn:aws:dynamodb:r:1:table/t/index/*", "arn:aws:dynamodb:r:1:table/t"));
    assert!(wildcard("a?c", "abc") && !wildcard("a?c", "ac"));

    let stack = Stack::deploy(&[
        ("MailTokenSha256", &"0".repeat(64)),
        ("OperatorJwtIssuer", "https://issuer.example"),
        ("OperatorJwtAudience", "aud"),
        ("TargetSecretPagopaSpecialists", TARGET_SECRET),
        ("TargetSecretThirdParties", TARGET_SECRET),
        ("TargetSecretPagopaIncidentManagement", TARGET_SECRET),
        ("TargetSecretPagopaPrivacy", TARGET_SECRET),
        ("ConsoleUrl", "https://desk.sportello.example"),
    ])
    .await;
    let voice = stack.statements("VoiceFunction");
    let operator = stack.statements("OperatorFunction");
    let queue = |id: &str| {
        stack
            .arn_of(&IamAccess {
                action: String::new(),
                resource: Resource::Queue { url: stack.eval(&json!({"Ref": id})).as_str().unwrap().into() },
            })
            .unwrap()
    };
    // The voice function escalates nothing; the operator function escalates, to the queues of
    // the targets only.
    assert!(!allowed(&voice, "sqs:SendMessage", &queue("PagopaSpecialistsEscalationQueue")));
    assert!(allowed(&operator, "sqs:SendMessage", &queue("PagopaSpecialistsEscalationQueue")));
    assert!(!allowed(&operator, "sqs:SendMessage", &queue("ReplyDeadLetterQueue")));
    assert!(allowed(&voice, "sqs:SendMessage", &queue("StepQueue")));
    assert!(!allowed(&voice, "ses:SendRawEmail", "arn:aws:ses:eu-south-1:123456789012:identity/sportello.pagopa.it"));
    assert!(!allowed(
        &operator,
        "ses:SendRawEmail",
        "arn:aws:ses:eu-south-1:123456789012:identity/sportello.example.org"
    ));
    assert!(!allowed(
        &operator,
        "secretsmanager:GetSecretValue",
        stack.eval(&json!({"Ref": "MailGatewaySecret"})).as_str().unwrap()
    ));
}
