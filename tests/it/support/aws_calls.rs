//! AWS API calls per ticket life: drives whole tickets through the engine on the AWS ports
//! (DynamoDB, SQS, SES as served by moto), counting every SDK call by operation, and turns the
//! counts into a cost per 10,000 tickets. Used by `tests/it/aws_calls.rs` (upper bounds) and
//! `benches/aws_calls.rs` (the markdown table of `docs/benchmarks/aws-calls.md`).
//!
//! Step messages are handled as the Lambda runtime does: the SQS event source mapping receives a
//! batch (one `ReceiveMessage`, made by the Lambda service but billed to the account as an SQS
//! request, so counted here), the step function runs it through `handle_steps` (idempotency
//! record per message), and the mapping deletes what succeeded (one `DeleteMessageBatch`).

use super::moto::Space;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{Value, json};
use sportello::adapters::aws::{CallCounter, Clients, DynamoStore, Units};
use sportello::app::AppBuilder;
use sportello::domain::{
    Actor, ActorRole, ChannelKind, Requester, Ticket, TicketId, TicketReference, TicketState, TicketType,
};
use sportello::engine::{Engine, EscalationSettings, NewChatSession, NewContact};
use sportello::ports::TicketStore;
use sportello::rules::Rules;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A Wednesday morning, in service hours.
const DAY: &str = "2026-12-02T10:00:00+01:00";
/// A Saturday night, out of the voice channel's hours.
const NIGHT: &str = "2026-12-05T22:30:00+01:00";

/// The calls of one flow.
#[derive(Debug, Clone)]
pub struct FlowCalls {
    pub name: &'static str,
    pub calls: BTreeMap<String, u64>,
    pub units: Units,
    /// Lambda invocations: one per HTTP request, per step batch, per inbound mail.
    pub invocations: u64,
    /// Mails SES sent (answers, acknowledgements, escalations by mail).
    pub mails_sent: u64,
    /// Mails SES received for the flow.
    pub mails_received: u64,
    /// The calls of each request or step batch, in order: where they go.
    pub phases: Vec<Phase>,
    /// DynamoDB write units by what they were spent on: an item kind of the table (`ticket`,
    /// `events`, `outbox`...) or an index (`index by_open`).
    pub spent_on: BTreeMap<String, u64>,
}

/// One request, inbound mail or step batch of a flow, and what it cost.
#[derive(Debug, Clone)]
pub struct Phase {
    pub name: String,
    pub calls: BTreeMap<String, u64>,
    pub units: Units,
}

impl FlowCalls {
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }
    pub fn service(&self, service: &str) -> u64 {
        self.calls.iter().filter(|(k, _)| k.starts_with(&format!("{service}."))).map(|(_, v)| v).sum()
    }
}

pub struct Lab {
    counter: CallCounter,
    pub engine: Engine,
    clock: Arc<Mutex<jiff::Timestamp>>,
    /// Not counted: the event source mapping's receive is counted by hand (one per batch).
    sqs: aws_sdk_sqs::Client,
    counted_sqs: aws_sdk_sqs::Client,
    /// Not counted either: the checks of the flows' outcomes.
    plain_store: DynamoStore,
    step_url: String,
    settings: EscalationSettings,
    invocations: u64,
    inbound_mails: u64,
    tag: String,
    phases: Vec<Phase>,
    /// The counts and units when the current phase began.
    mark: BTreeMap<String, u64>,
    mark_units: Units,
}

fn operator() -> Actor {
    Actor { id: "op-1".into(), role: ActorRole::Operator }
}

impl Lab {
    pub async fn new() -> Lab {
        let Space { config, tag, table: table_name, steps: (step_url, dlq) } = Space::new(5).await;
        let plain = Clients::new(&config);
        for domain in ["sportello.pagopa.it", "pagopa.example"] {
            plain.ses.get().verify_domain_identity().domain(domain).send().await.expect("verify SES domain");
        }
        let rules = Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("rulebook");
        let mut queue_urls = BTreeMap::new();
        for target in rules.targets.values() {
            if let Some(queue) = target.delivery.queue() {
                let url = plain
                    .sqs
                    .create_queue()
                    .queue_name(format!("{queue}-{tag}"))
                    .send()
                    .await
                    .expect("escalation queue")
                    .queue_url
                    .expect("url");
                queue_urls.insert(queue.to_string(), url);
            }
        }
        let settings = EscalationSettings {
            mail_from: "sportello@pagopa.example".into(),
            queue_urls,
            reply_queue: None,
            reply_email: Some("notices@pagopa.example".into()),
        };
        let counter = CallCounter::new();
        let counted = Clients::counted(&config, &counter);
        let store = sportello::adapters::aws::ports_with(
            &counted,
            &table_name,
            step_url.clone(),
            dlq,
            Duration::from_secs(24 * 3600),
        );
        let clock = Arc::new(Mutex::new(DAY.parse::<jiff::Timestamp>().unwrap()));
        let read = clock.clone();
        let engine = AppBuilder::new(Arc::new(rules), store).clock(Arc::new(move || *read.lock().unwrap())).engine();
        counter.take();
        counter.take_units();
        Lab {
            counter,
            engine,
            clock,
            sqs: plain.sqs,
            plain_store: DynamoStore::new(plain.dynamodb, &table_name),
            counted_sqs: counted.sqs,
            step_url,
            settings,
            invocations: 0,
            inbound_mails: 0,
            tag,
            phases: Vec::new(),
            mark: BTreeMap::new(),
            mark_units: Units::default(),
        }
    }

    fn set_now(&self, at: &str) {
        *self.clock.lock().unwrap() = at.parse().unwrap();
    }

    /// One HTTP request (or inbound mail, or Connect event): one Lambda invocation, and the
    /// start of a phase of the breakdown.
    fn invoke(&mut self, what: &str) {
        self.close_phase();
        self.invocations += 1;
        self.phases.push(Phase { name: what.to_string(), calls: BTreeMap::new(), units: Units::default() });
    }

    fn close_phase(&mut self) {
        let now = self.counter.snapshot();
        let units = self.counter.units();
        if let Some(phase) = self.phases.last_mut() {
            phase.calls = now
                .iter()
                .map(|(k, v)| (k.clone(), v - self.mark.get(k).copied().unwrap_or(0)))
                .filter(|(_, v)| *v > 0)
                .collect();
            phase.units = units - self.mark_units;
        }
        self.mark = now;
        self.mark_units = units;
    }

    /// Runs what is on the step queue the way the event source mapping and a step function do.
    /// Returns how many messages ran; panics on a failed one (the flows must be clean).
    pub async fn run_steps(&mut self) -> usize {
        let mut ran = 0;
        loop {
            let got = super::sqs::receive(&self.sqs, &self.step_url).await;
            if got.is_empty() {
                // The mapping's empty polls are billed too, but per queue and poller, not per
                // ticket: see the cost model.
                return ran;
            }
            let steps: Vec<String> = got
                .iter()
                .filter_map(|m| m.message_attributes.as_ref()?.get("sportello.step")?.string_value.clone())
                .collect();
            self.invoke(&format!("step {}", steps.join(", ")));
            self.counter.record("SQS.ReceiveMessage");
            let records: Vec<Value> = got.iter().map(super::sqs::record).collect();
            let event: SqsEvent = serde_json::from_value(json!({ "Records": records })).expect("an SQS event");
            let response = sportello::lambda::handle_steps(&self.engine, event).await;
            let failed: Vec<String> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
            assert!(failed.is_empty(), "steps failed: {failed:?}");
            let mut delete = self.counted_sqs.delete_message_batch().queue_url(&self.step_url);
            for (i, m) in got.iter().enumerate() {
                delete = delete.entries(
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                        .build()
                        .expect("entry"),
                );
            }
            delete.send().await.expect("delete batch");
            ran += got.len();
        }
    }

    fn done(&mut self, name: &'static str) -> FlowCalls {
        self.close_phase();
        let mails_sent = self.counter.snapshot().get("SES.SendRawEmail").copied().unwrap_or(0);
        FlowCalls {
            name,
            calls: self.counter.take(),
            units: self.counter.take_units(),
            invocations: std::mem::take(&mut self.invocations),
            mails_sent,
            mails_received: std::mem::take(&mut self.inbound_mails),
            phases: std::mem::take(&mut self.phases),
            spent_on: self.counter.take_spent_on(),
        }
    }

    fn start(&mut self) {
        self.counter.take();
        self.counter.take_units();
        self.counter.take_spent_on();
        self.invocations = 0;
        self.inbound_mails = 0;
        self.phases.clear();
        self.mark.clear();
        self.mark_units = Units::default();
        self.set_now(DAY);
    }

    fn key(&self, what: &str) -> String {
        format!("{what}-{}-{}", self.tag, uuid::Uuid::new_v4().simple())
    }

    /// The stored ticket, read without counting (the flows' checks are not part of them).
    async fn stored(&self, id: &TicketId) -> Ticket {
        self.plain_store.get(id).await.expect("ticket")
    }

    async fn state(&self, id: &TicketId) -> TicketState {
        self.stored(id).await.state
    }

    /// An e-mail question (Q): the inbound mail opens the ticket (and acknowledges it), triage
    /// runs as a step, an operator takes it, classifies it and answers; the answer is mailed.
    pub async fn email_question(&mut self) -> FlowCalls {
        self.start();
        let raw = format!(
            "From: Giulia Bianchi <giulia.bianchi@example.com>\r\nTo: supporto@pagopa.it\r\n\
             Subject: Ricevuta di pagamento\r\nMessage-ID: <{}@mail.example.com>\r\n\
             Date: Wed, 02 Dec 2026 09:58:00 +0100\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n\
             Buongiorno, come scarico la ricevuta di un avviso pagoPA pagato? Grazie\r\n",
            self.key("mail")
        );
        self.invoke("inbound mail");
        // The way in, made by AWS services and billed all the same: SES's receipt rule publishes
        // to SNS (SNS to SQS delivery is free), and the mail function's event source mapping
        // receives and deletes the message.
        for op in ["SNS.Publish", "SQS.ReceiveMessage", "SQS.DeleteMessageBatch"] {
            self.counter.record(op);
        }
        self.inbound_mails += 1;
        let outcome = self.engine.receive_email(raw.as_bytes(), None).await.expect("inbound mail");
        let id = outcome.ticket_id.expect("a ticket");
        self.run_steps().await;
        // The operator reads the mail, knows its type, and takes it in charge as a question: one
        // request of the operator API.
        self.invoke("take in charge and classify");
        let taken = self.engine.take_in_charge_as(&id, &operator(), Some(TicketType::Q)).await.expect("take in charge");
        assert_eq!(taken.ticket_type, Some(TicketType::Q));
        self.invoke("answer and resolve");
        self.engine
            .answer_and_resolve(&id, &operator(), "Può scaricarla dall'app IO, sezione Pagamenti.")
            .await
            .expect("resolve");
        self.run_steps().await;
        assert_eq!(self.state(&id).await, TicketState::Resolved);
        self.done("email Q (operator answers)")
    }

    /// A new chat session in Italian, on a question of the `basic_info` menu.
    async fn new_chat(&self) -> sportello::engine::StartedChat {
        let session = NewChatSession {
            session_id: uuid::Uuid::new_v4().to_string(),
            lang: Some("it".into()),
            category: Some("basic_info".into()),
            requester: Requester::default(),
        };
        self.engine.chat_start(session).await.expect("chat start")
    }

    /// A chat the bot solves (B): start, one question, "resolved".
    pub async fn chat_bot(&mut self) -> FlowCalls {
        self.start();
        self.invoke("chat start");
        let started = self.new_chat().await;
        let reference = started.ticket.reference.to_string();
        self.invoke("chat message (bot answers)");
        self.engine
            .chat_user_message(&reference, &started.token, "come faccio a pagare un avviso pagopa dal tabaccaio?")
            .await
            .expect("bot answer");
        self.invoke("chat resolved");
        self.engine.chat_resolved(&reference, &started.token).await.expect("resolved");
        self.run_steps().await;
        assert_eq!(self.state(&started.ticket.id).await, TicketState::AutoResolved);
        self.done("chat B (bot-solved)")
    }

    /// What a chat app's polls cost, on a chat of `turns` questions to the bot (two messages
    /// each, after the welcome): the first poll by `after` (the whole conversation), a poll by
    /// cursor with nothing new, and one after a new message (the user's and the bot's reply).
    pub async fn chat_polls(&mut self, turns: usize) -> [FlowCalls; 3] {
        self.start();
        let started = self.new_chat().await;
        let (reference, token) = (started.ticket.reference.to_string(), started.token);
        for n in 0..turns {
            self.engine
                .chat_user_message(&reference, &token, &format!("come pago un avviso pagopa? (domanda {n})"))
                .await
                .expect("bot answer");
        }
        self.done("chat: the conversation");
        self.start();
        self.invoke("poll after=N");
        let full = self.engine.chat_messages(&reference, &token, 1).await.expect("poll");
        assert_eq!(full.next, 1 + 2 * turns);
        let full_poll = self.done("chat poll by after=N (reads it all)");
        self.start();
        self.invoke("poll by cursor, nothing new");
        let idle = self.engine.chat_poll(&reference, &token, &full.cursor).await.expect("poll");
        assert!(idle.messages.is_empty());
        let idle_poll = self.done("chat poll by cursor, nothing new");
        self.engine.chat_user_message(&reference, &token, "e se ho già pagato?").await.expect("bot answer");
        self.start();
        self.invoke("poll by cursor, a new message");
        let new = self.engine.chat_poll(&reference, &token, &idle.cursor).await.expect("poll");
        assert_eq!(new.messages.len(), 2, "the user's and the bot's");
        assert_eq!(new.messages[0].seq, full.next + 1);
        let new_poll = self.done("chat poll by cursor, one new exchange");
        [full_poll, idle_poll, new_poll]
    }

    /// A call out of the voice channel's hours: recorded as not served.
    pub async fn voice_out_of_hours(&mut self) -> FlowCalls {
        self.start();
        self.set_now(NIGHT);
        self.invoke("call (Connect)");
        let call: sportello::http::voice::CallStart = serde_json::from_value(json!({
            "call_id": self.key("call"), "caller": "+393331234567", "menu": 1,
        }))
        .expect("a call");
        let answer = sportello::http::voice::answer_call(&self.engine, &call).await.expect("answered");
        assert!(!answer.open);
        self.run_steps().await;
        let reference = TicketReference::find_in(&answer.reference).expect("a reference");
        assert_eq!(self.plain_store.get_by_reference(&reference).await.unwrap().state, TicketState::NotServed);
        self.done("voice out of hours")
    }

    async fn open_api(&mut self, category: &str) -> TicketId {
        self.invoke("open (API)");
        let created = self
            .engine
            .open(NewContact {
                channel: "api".into(),
                idempotency_key: self.key("api"),
                category: Some(category.into()),
                subject: Some("Avviso pagato due volte".into()),
                message: Some("Ho pagato due volte lo stesso avviso, come ottengo il rimborso?".into()),
                requester: Requester {
                    email: Some("mario.rossi@example.it".into()),
                    fiscal_code: Some("RSSMRA80A01H501U".into()),
                    ..Requester::default()
                },
                ..NewContact::default()
            })
            .await
            .expect("open");
        self.run_steps().await;
        created.ticket.id
    }

    /// A team's work queue as the console reads it, with tickets in two open states: its calls,
    /// and the tickets it gave, which should be those two.
    pub async fn work_queue(&mut self) -> (FlowCalls, Vec<TicketId>, Vec<TicketId>) {
        let waiting = self.open_api("specialist_support").await;
        let taken = self.open_api("specialist_support").await;
        self.engine.take_in_charge(&taken, &operator()).await.expect("take in charge");
        let team = self.stored(&waiting).await.team;
        self.start();
        self.invoke("work queue");
        let queue = self.engine.work_queue(&team, 50).await.expect("work queue");
        let listed = queue.into_iter().map(|t| t.id).collect();
        (self.done("a team's work queue"), vec![waiting, taken], listed)
    }

    /// Taken in charge and classified (one request), escalated to a target on SQS, its notice back, answered.
    async fn escalated(&mut self, id: &TicketId, ticket_type: TicketType, target: &str) {
        self.invoke("take in charge and classify");
        self.engine.take_in_charge_as(id, &operator(), Some(ticket_type)).await.expect("take in charge and classify");
        self.invoke("escalate");
        let escalated = self
            .engine
            .escalate(id, &operator(), target, "Double payment, refund to check.", &self.settings)
            .await
            .expect("escalate");
        self.invoke("resolution notice");
        self.engine
            .receive_resolution_notice(
                target,
                &escalated.ticket.reference,
                &escalated.message.escalation_id,
                "Refund issued on 3 December.",
                None,
            )
            .await
            .expect("notice");
        self.invoke("answer and resolve");
        self.engine
            .answer_and_resolve(id, &operator(), "Il rimborso è stato disposto il 3 dicembre.")
            .await
            .expect("resolve");
        self.run_steps().await;
        assert_eq!(self.state(id).await, TicketState::Resolved);
    }

    /// An API specialist request, escalated to PagoPA's specialists on SQS and resolved.
    pub async fn api_escalated(&mut self) -> FlowCalls {
        self.start();
        let id = self.open_api("specialist_support").await;
        // The rulebook's api_specialist flow classifies Q (section 3.4 of the flows).
        self.escalated(&id, TicketType::Q, "pagopa_specialists").await;
        self.done("API escalated (SQS target, notice)")
    }

    /// A privacy issue (PI): routed to the privacy team, escalated to the DPO on SQS, resolved.
    pub async fn privacy_issue(&mut self) -> FlowCalls {
        self.start();
        let id = self.open_api("privacy_issue").await;
        self.escalated(&id, TicketType::PI, "pagopa_privacy").await;
        self.done("privacy PI (DPO on SQS)")
    }

    /// An incident with `tickets` linked tickets is resolved: the fan-out pages through them
    /// (`INCIDENT_BATCH` per step message) and notes the closing text on each. Returns the calls
    /// of the resolution and its fan-out, and how many tickets got the note.
    pub async fn incident_fan_out(&mut self, tickets: usize) -> (FlowCalls, usize) {
        use sportello::ports::EventLog;
        self.start();
        let supervisor = Actor { id: "sup-1".into(), role: ActorRole::Supervisor };
        let incident = self
            .engine
            .declare_incident(&supervisor, "pagopa", "Payments fail at checkout", Some("Retry after 14:00"))
            .await
            .expect("declare");
        let store = self.engine.ports.incidents.clone();
        let mut ids = Vec::new();
        // Stored directly (one write each): how they were opened is not what is measured here.
        for i in 0..tickets {
            let ticket = Ticket::new("api", ChannelKind::Api, "first_level", self.engine.now());
            self.plain_store
                .create(&self.key(&format!("linked-{i}")), &ticket, &Actor::system())
                .await
                .expect("create");
            store.link(&incident.id, &ticket.id).await.expect("link");
            ids.push(ticket.id);
        }
        self.start();
        self.invoke("resolve incident");
        self.engine.resolve_incident(&incident.id, "Payments work again.").await.expect("resolve");
        self.run_steps().await;
        let mut notified = 0;
        for id in &ids {
            let events = self.plain_store.list(id).await.expect("events");
            notified += usize::from(
                events.iter().any(|e| e.detail.get("incident_resolved").and_then(|v| v.as_str()) == Some(&incident.id)),
            );
        }
        (self.done("incident fan-out"), notified)
    }

    pub async fn all_flows(&mut self) -> Vec<FlowCalls> {
        vec![
            self.email_question().await,
            self.chat_bot().await,
            self.voice_out_of_hours().await,
            self.api_escalated().await,
            self.privacy_issue().await,
        ]
    }
}

/// List prices, USD, as published by AWS and the vendors; see `docs/benchmarks/aws-calls.md`
/// for the date and the caveats. Approximate: check before quoting.
pub mod prices {
    /// When these were last read from the vendors' price pages.
    pub const PRICES_CHECKED: &str = "2026-11-26";
    /// Lambda arm64: per GB-second and per request.
    pub const LAMBDA_GB_S: f64 = 0.000_013_333_4;
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// DynamoDB on demand, us-east-1 after the November 2024 cut (eu regions a little higher).
    pub const DDB_WRU: f64 = 0.625 / 1e6;
    pub const DDB_RRU: f64 = 0.125 / 1e6;
    /// DynamoDB on demand before the November 2024 cut (the figures most pages still show).
    pub const DDB_WRU_BEFORE_2024_11: f64 = 1.25 / 1e6;
    pub const DDB_RRU_BEFORE_2024_11: f64 = 0.25 / 1e6;
    /// SQS standard, per request (64 KB chunk), beyond the free million.
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
    /// SES outbound, per mail.
    pub const SES_MAIL: f64 = 0.10 / 1000.0;
    /// SES inbound, per mail and per 256 KB chunk (one for a plain mail).
    pub const SES_INBOUND_MAIL: f64 = 0.10 / 1000.0;
    pub const SES_INBOUND_CHUNK: f64 = 0.09 / 1000.0;
    /// SNS standard, per publish.
    pub const SNS_PUBLISH: f64 = 0.50 / 1e6;
    /// The functions' memory (infra/template.yaml `Globals.Function.MemorySize`).
    pub const MEMORY_GB: f64 = 256.0 / 1024.0;
    /// Assumed average duration of an invocation (warm; a DynamoDB round trip is ~5-10 ms in
    /// region, a request makes a few).
    pub const AVG_DURATION_S: f64 = 0.060;
}

/// The AWS cost of one ticket of the flow, in USD, by service.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cost {
    pub lambda: f64,
    /// The table's own items, written and read.
    pub dynamodb: f64,
    /// The global secondary indexes' copies of the items written (entries put, moved, deleted).
    pub dynamodb_indexes: f64,
    pub dynamodb_before_cut: f64,
    pub sqs: f64,
    pub ses: f64,
}

impl Cost {
    pub fn of(flow: &FlowCalls) -> Cost {
        use prices::*;
        let invocations = flow.invocations as f64;
        Cost {
            lambda: invocations * (LAMBDA_REQUEST + MEMORY_GB * AVG_DURATION_S * LAMBDA_GB_S),
            dynamodb: flow.units.write as f64 * DDB_WRU + flow.units.read as f64 * DDB_RRU,
            dynamodb_indexes: flow.units.index_write as f64 * DDB_WRU,
            dynamodb_before_cut: (flow.units.write + flow.units.index_write) as f64 * DDB_WRU_BEFORE_2024_11
                + flow.units.read as f64 * DDB_RRU_BEFORE_2024_11,
            sqs: flow.service("SQS") as f64 * SQS_REQUEST + flow.service("SNS") as f64 * SNS_PUBLISH,
            ses: flow.mails_sent as f64 * SES_MAIL
                + flow.mails_received as f64 * (SES_INBOUND_MAIL + SES_INBOUND_CHUNK),
        }
    }
    pub fn total(&self) -> f64 {
        self.without_ses() + self.ses
    }
    /// What Sportello's own requests cost, SES's price for the mails apart.
    pub fn without_ses(&self) -> f64 {
        self.lambda + self.dynamodb + self.dynamodb_indexes + self.sqs
    }
}

/// Where the calls of a flow go: one line per request or step batch, with the DynamoDB write
/// units it takes in the table and in its indexes.
pub fn breakdown(flow: &FlowCalls) -> String {
    let mut out = format!("| {} | calls | write units (table + indexes) |\n|---|---|---:|\n", flow.name);
    for phase in &flow.phases {
        let list: Vec<String> = phase.calls.iter().map(|(op, n)| format!("{op} ×{n}")).collect();
        let total = phase.calls.values().sum::<u64>();
        let u = phase.units;
        let _ =
            writeln!(out, "| {} | {} = **{total}** | {} + {} |", phase.name, list.join(", "), u.write, u.index_write);
    }
    out
}

/// Where each flow's DynamoDB write units go: by item kind of the table, then by index.
pub fn spent_on(flows: &[FlowCalls]) -> String {
    let mut out = String::new();
    let mut kinds: Vec<&String> = flows.iter().flat_map(|f| f.spent_on.keys()).collect();
    kinds.sort_by_key(|k| (k.starts_with("index "), k.as_str()));
    kinds.dedup();
    let _ =
        writeln!(out, "| write units spent on | {} |", flows.iter().map(|f| f.name).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(flows.len()));
    for kind in kinds {
        let cells: Vec<String> = flows.iter().map(|f| f.spent_on.get(kind).copied().unwrap_or(0).to_string()).collect();
        let _ = writeln!(out, "| {kind} | {} |", cells.join(" | "));
    }
    let totals: Vec<String> = flows.iter().map(|f| format!("**{}**", f.units.write + f.units.index_write)).collect();
    let _ = writeln!(out, "| **total** | {} |", totals.join(" | "));
    out
}

/// The markdown tables: calls per flow and operation, then cost per 10,000 tickets.
pub fn markdown(flows: &[FlowCalls]) -> String {
    let mut out = String::new();
    let mut ops: Vec<&String> = flows.iter().flat_map(|f| f.calls.keys()).collect();
    ops.sort();
    ops.dedup();
    let _ = writeln!(out, "| operation | {} |", flows.iter().map(|f| f.name).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(flows.len()));
    for op in ops {
        let cells: Vec<String> = flows.iter().map(|f| f.calls.get(op).copied().unwrap_or(0).to_string()).collect();
        let _ = writeln!(out, "| {op} | {} |", cells.join(" | "));
    }
    let row = |label: &str, cell: &dyn Fn(&FlowCalls) -> String| {
        format!("| {label} | {} |\n", flows.iter().map(cell).collect::<Vec<_>>().join(" | "))
    };
    out += &row("**API calls**", &|f| format!("**{}**", f.total()));
    out += &row("DynamoDB write units, table (est.)", &|f| f.units.write.to_string());
    out += &row("DynamoDB write units, indexes (est.)", &|f| f.units.index_write.to_string());
    out += &row("DynamoDB read units (est.)", &|f| f.units.read.to_string());
    out += &row("Lambda invocations", &|f| f.invocations.to_string());
    out += &row("mails sent (SES)", &|f| f.mails_sent.to_string());
    out += &row("mails received (SES)", &|f| f.mails_received.to_string());
    let _ = writeln!(out);
    let names = flows.iter().map(|f| f.name).collect::<Vec<_>>().join(" | ");
    let _ = writeln!(out, "| per 10,000 tickets, USD (list prices of {}) | {names} |", prices::PRICES_CHECKED);
    let _ = writeln!(out, "|---|{}", "---:|".repeat(flows.len()));
    let per = |c: fn(&Cost) -> f64| -> Box<dyn Fn(&FlowCalls) -> String> {
        Box::new(move |f| format!("{:.3}", c(&Cost::of(f)) * 10_000.0))
    };
    out += &row("Lambda (arm64, 256 MB, 60 ms)", &*per(|c| c.lambda));
    out += &row("DynamoDB on demand, table (after 2024-11 cut)", &*per(|c| c.dynamodb));
    out += &row("DynamoDB on demand, indexes", &*per(|c| c.dynamodb_indexes));
    out += &row("SQS (+ SNS)", &*per(|c| c.sqs));
    out += &row("**total, SES apart**", &|f| format!("**{:.3}**", Cost::of(f).without_ses() * 10_000.0));
    out += &row("SES (mails sent and received)", &*per(|c| c.ses));
    out += &row("total with SES", &*per(|c| c.total()));
    out += &row("DynamoDB at pre-cut prices (table + indexes)", &*per(|c| c.dynamodb_before_cut));
    out
}
