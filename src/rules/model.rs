//! The rulebook as written in YAML: the serde model behind `rules/rulebook.yaml` and its JSON
//! Schema. Every struct refuses unknown keys. References between blocks are plain ids here;
//! `validate` checks them and `resolved` turns the checked book into the typed model the engine
//! reads. A block that `resolved` models anew is `Yaml…` here (`YamlTeam` is the YAML of a
//! `resolved::Team`); the schema keeps the plain name.

use crate::domain::{ChannelKind, Duty, Outcome, TicketType};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Identifier of a block defined once and referenced by name (`snake_case`).
pub type Id = String;

/// A text in every language of the rulebook, e.g. `{it: "Benvenuto", en: "Welcome"}`.
pub type Text = BTreeMap<String, String>;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Sportello rulebook",
    description = "How the contact center works: categories, channels, flows, teams, hours, escalation targets, SLAs and messages."
)]
pub struct Rulebook {
    /// Format version of this file. Only 1 exists.
    pub version: u32,
    /// Languages every user-facing text must be written in; the first is the default.
    pub languages: Vec<String>,
    /// Request categories: the summary table of section 2.
    pub categories: BTreeMap<Id, YamlCategory>,
    /// Teams that work tickets.
    pub teams: BTreeMap<Id, YamlTeam>,
    /// Named service-hour calendars.
    pub schedules: BTreeMap<Id, Schedule>,
    /// Inbound channels and how a contact starts on each.
    pub channels: BTreeMap<Id, YamlChannel>,
    /// Named flows: sequences of steps, referenced by channels and by other flows.
    pub flows: BTreeMap<Id, Vec<Step>>,
    /// Where escalations go: PagoPA teams and third parties.
    pub targets: BTreeMap<Id, YamlTarget>,
    /// Service-level targets per ticket type, counted in business hours.
    pub sla: YamlSla,
    /// Legal clocks of the GDPR.
    pub gdpr: YamlGdpr,
    /// How long data is kept.
    pub retention: Retention,
    /// Fields that clients may attach to a ticket (payment notice code, app version...).
    #[serde(default)]
    pub custom_fields: BTreeMap<Id, CustomField>,
    /// Steps added by this rulebook beyond the built-in vocabulary.
    #[serde(default)]
    pub custom_steps: BTreeMap<Id, CustomStep>,
    /// User-facing messages, by id, in every language.
    pub messages: BTreeMap<Id, Text>,
    /// Client applications of the ticket API and how their own categories map onto ours.
    #[serde(default)]
    pub clients: BTreeMap<Id, YamlClient>,
    /// Folder of knowledge-base articles, relative to this file.
    #[serde(default)]
    pub knowledge: Option<String>,
    /// The email channel's mailbox: sender, our domains, SES verdict policy, acknowledgement.
    #[serde(default)]
    pub email: Option<EmailSettings>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Category")]
pub struct YamlCategory {
    pub name: Text,
    #[serde(default)]
    pub description: Text,
    /// Ticket types of the summary table (one, or Q and I for malfunction reports).
    pub types: Vec<TicketType>,
    /// Duties of the operator service (C, L, R).
    pub operator_service: Vec<Duty>,
    /// Duties of PagoPA and/or third parties (L).
    #[serde(default)]
    pub pagopa_or_third_parties: Vec<Duty>,
    /// Channels this category can arrive on; all channels when omitted.
    #[serde(default)]
    pub channels: Option<Vec<Id>>,
    /// A contact whose channel names no category gets this one (a call with no menu choice, a
    /// new e-mail, a chat handed to an operator before the user picked a topic); the operator
    /// confirms or changes it. Exactly one category is the default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// A contact that chases an earlier request (an e-mail quoting its reference, or answering a
    /// closed ticket with a reminder's words) gets this category. At most one category.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reminder: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Team")]
pub struct YamlTeam {
    pub name: Text,
    /// New tickets go to this team until routed elsewhere. Exactly one team is the default.
    #[serde(default)]
    pub default: bool,
    /// The privacy referent's team: `route_to_privacy_team` sends tickets here.
    #[serde(default)]
    pub privacy: bool,
    /// Who leads the team (a role, not a person).
    #[serde(default)]
    pub lead: Option<String>,
    /// Team mailboxes the clock notifies of SLA and GDPR warnings and breaches (no personal
    /// data in those mails: reference, deadline, due time).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// IANA time zone, e.g. `Europe/Rome`.
    pub time_zone: String,
    /// Opening intervals per weekday, `HH:MM-HH:MM` local time (end exclusive, `24:00` allowed).
    pub weekly: Weekly,
    /// Closed every year: fixed dates (`MM-DD`) or days after Easter.
    #[serde(default)]
    pub holidays: Vec<Holiday>,
    /// One-off closures.
    #[serde(default)]
    pub closed_dates: Vec<ClosedDate>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Weekly {
    #[serde(default)]
    pub monday: Vec<String>,
    #[serde(default)]
    pub tuesday: Vec<String>,
    #[serde(default)]
    pub wednesday: Vec<String>,
    #[serde(default)]
    pub thursday: Vec<String>,
    #[serde(default)]
    pub friday: Vec<String>,
    #[serde(default)]
    pub saturday: Vec<String>,
    #[serde(default)]
    pub sunday: Vec<String>,
}

impl Weekly {
    pub fn days(&self) -> [(&'static str, &Vec<String>); 7] {
        [
            ("monday", &self.monday),
            ("tuesday", &self.tuesday),
            ("wednesday", &self.wednesday),
            ("thursday", &self.thursday),
            ("friday", &self.friday),
            ("saturday", &self.saturday),
            ("sunday", &self.sunday),
        ]
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    pub name: String,
    /// A fixed day, `MM-DD`.
    #[serde(default)]
    pub date: Option<String>,
    /// Days after Easter Sunday (Easter Monday is 1).
    #[serde(default)]
    pub easter: Option<i16>,
    /// First year in force.
    #[serde(default)]
    pub from: Option<i16>,
    /// Last year in force.
    #[serde(default)]
    pub until: Option<i16>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosedDate {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Channel")]
pub struct YamlChannel {
    pub kind: ChannelKind,
    pub name: Text,
    /// Service hours of the operators behind this channel.
    pub schedule: Id,
    /// A chatbot answers first on this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<YamlBot>,
    /// The IVR menu of a voice channel: the key the caller presses (`"1"`, `"2"`...) → the
    /// category the operator starts from. A caller who presses nothing gets the default category.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub menu: BTreeMap<String, Id>,
    /// How users reach this channel, told to them when another channel is closed.
    pub contact_point: Text,
    /// Channels suggested when this one cannot serve the user (out of hours).
    #[serde(default)]
    pub alternative_channels: Vec<Id>,
    /// First steps of every contact; `category_flow` continues with `flows[category]`.
    pub start: Vec<Step>,
    /// The flow each category follows on this channel.
    pub flows: BTreeMap<Id, Id>,
    /// A satisfaction survey (CSAT) sent after the resolution on this channel; none without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<SurveySettings>,
}

/// How a channel asks the requester to rate the answer from 1 to 5.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveySettings {
    /// The question, in every language (e.g. "How satisfied are you with our answer? 1 to 5").
    pub question: Text,
    /// E-mail: the public address of the survey page; the answer mail links to
    /// `<page>/<signed token>`.
    // Always written: the resolved model keeps this type, and the compiled rulebook's binary
    // form reads fields by position, so none may be left out.
    #[serde(default)]
    pub page: Option<String>,
}

/// The chatbot of a channel.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Bot")]
pub struct YamlBot {
    /// While the bot talks, the chat's ticket belongs to this team, so no operator queue shows it;
    /// the user's request for an operator hands it to the team its flow routes to. Neither the
    /// default nor a privacy team.
    pub team: Id,
    /// The category of a chat the bot solves (type B) when the user did not pick one.
    pub category: Id,
}

/// One step of a flow: a step name, or one of the forms below.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Step {
    /// A step of the vocabulary (`take_in_charge`, `resolve`...) or a custom step.
    Name(Id),
    /// `classify: Q`: the operator sets the ticket type.
    Classify(ClassifyStep),
    /// `escalate: [targets]`: send to PagoPA and/or third parties; the operator picks among these.
    Escalate(EscalateStep),
    /// `flow: name`: continue with a named flow, then come back.
    Flow(FlowStep),
    /// `end: outcome`: the contact ends here with this outcome.
    End(EndStep),
    /// `if: fact` with `then` and `else` branches.
    Branch(BranchStep),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyStep {
    pub classify: TicketType,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateStep {
    pub escalate: Vec<Id>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowStep {
    pub flow: Id,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndStep {
    pub end: Outcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchStep {
    /// A fact: `in_service_hours`, `bot_resolved`, `operator_can_solve`, `incident_active`.
    #[serde(rename = "if")]
    pub condition: Id,
    pub then: Vec<Step>,
    #[serde(rename = "else", default)]
    pub otherwise: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetParty {
    Pagopa,
    ThirdParty,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Target")]
pub struct YamlTarget {
    pub name: Text,
    pub party: TargetParty,
    pub delivery: YamlDelivery,
    /// Ticket fields this target may receive; nothing else leaves Sportello.
    pub fields: Vec<String>,
    /// Whether the requester's own words (`subject`, `description`, `conversation`) may go to
    /// this target; they may hold names, addresses, anything. Without it the operator writes
    /// the question for the target (the escalation's summary), and the free-text fields above
    /// are refused by `rules check`.
    #[serde(default)]
    pub free_text: bool,
    /// Remind the target when no resolution notice came within this business time (e.g. `16h`).
    #[serde(default)]
    pub remind_after: Option<String>,
}

/// How an escalation reaches its target: exactly one of `sqs` or `email`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Delivery")]
pub struct YamlDelivery {
    #[serde(default)]
    pub sqs: Option<SqsDelivery>,
    #[serde(default)]
    pub email: Option<EmailDelivery>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqsDelivery {
    /// Queue name (resolved to a URL in the deployment) where escalation messages are sent.
    pub queue: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailDelivery {
    pub to: Vec<String>,
}

/// The SLA warning threshold's bounds, in per cent: the schema's (`#[schemars(range)]` below)
/// and the checks' (`validate`, `load::within_schema_ranges`).
pub const WARN_AT_PERCENT: std::ops::RangeInclusive<u8> = 1..=99;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Sla")]
pub struct YamlSla {
    /// The schedule whose open hours count as business time.
    pub schedule: Id,
    /// Raise a warning when this share of the time is used, e.g. 80.
    #[schemars(range(min = 1, max = 99))]
    pub warn_at_percent: u8,
    /// Targets per ticket type.
    pub targets: SlaTargets,
}

/// SLA targets by ticket type; B tickets are closed by the bot and have none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct SlaTargets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Q: Option<YamlSlaTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub A: Option<YamlSlaTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub I: Option<YamlSlaTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub PQ: Option<YamlSlaTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub PA: Option<YamlSlaTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub PI: Option<YamlSlaTarget>,
}

impl SlaTargets {
    pub fn get(&self, t: TicketType) -> Option<&YamlSlaTarget> {
        match t {
            TicketType::B => None,
            TicketType::Q => self.Q.as_ref(),
            TicketType::A => self.A.as_ref(),
            TicketType::I => self.I.as_ref(),
            TicketType::PQ => self.PQ.as_ref(),
            TicketType::PA => self.PA.as_ref(),
            TicketType::PI => self.PI.as_ref(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (TicketType, &YamlSlaTarget)> {
        TicketType::ALL.into_iter().filter_map(|t| self.get(t).map(|s| (t, s)))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SlaTarget")]
pub struct YamlSlaTarget {
    /// Business time to take in charge, e.g. `2h`.
    pub first_response: String,
    /// Business time to resolve, e.g. `16h`.
    pub resolution: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Gdpr")]
pub struct YamlGdpr {
    /// Art. 12(3): answer a data-subject request within one month.
    pub data_subject_request: YamlLegalClock,
    /// Art. 33: notify a personal-data breach to the supervisory authority within 72 hours.
    pub breach_notification: YamlLegalClock,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "LegalClock")]
pub struct YamlLegalClock {
    /// Calendar time, e.g. `1 month` or `72h`.
    pub deadline: String,
    /// Ticket types this clock runs on.
    pub applies_to: Vec<TicketType>,
    /// The article it comes from, shown to operators.
    pub legal_basis: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Closed tickets and their events are deleted this many days after closing.
    pub closed_ticket_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldFormat {
    Text,
    /// pagoPA payment notice code (NAV): 18 digits.
    NoticeCode,
    /// Fiscal code of a creditor entity: 11 digits.
    EntityFiscalCode,
    /// Italian personal fiscal code (16 characters) or an entity's (11 digits).
    FiscalCode,
    /// RptId: creditor fiscal code (11 digits) followed by the notice code (18 digits).
    RptId,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomField {
    pub label: Text,
    pub format: FieldFormat,
    /// Holds personal data: kept from logs and from targets not cleared for it.
    #[serde(default)]
    pub personal: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomStep {
    pub description: String,
    /// Who performs it.
    pub actor: crate::domain::Party,
    /// Channel kinds where it is allowed; all when omitted.
    #[serde(default)]
    pub channels: Option<Vec<ChannelKind>>,
}

/// How inbound mail is handled and answered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// The channel inbound mail opens tickets on, of kind `email`; the rulebook's email channel
    /// when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Id>,
    /// The address our mail is sent from, e.g. `assistenza@sportello.pagopa.it`. Its domain also
    /// names our outgoing Message-IDs.
    pub from: String,
    /// Domains we send from (subdomains included): mail from them gets no automatic reply, and
    /// Message-IDs minted there are ours.
    pub our_domains: Vec<String>,
    /// What to do when an SES check (spam, virus, SPF, DKIM, DMARC) fails.
    #[serde(default)]
    pub verdicts: crate::email::VerdictPolicy,
    /// Message sent to acknowledge a new ticket (may use `{reference}`).
    pub acknowledgement: Id,
    /// Message used as the acknowledgement's subject, after the `[SP-XXXXXXXX]` tag.
    pub acknowledgement_subject: Id,
}

/// A client application of the ticket API (the IO app, a PagoPA back office...).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Client")]
pub struct YamlClient {
    pub name: Text,
    /// The client's own tree onto our categories: `category/subcategory`, or `category` for all
    /// of its subcategories. The most specific entry wins.
    pub categories: BTreeMap<String, Id>,
    /// Our category for a subcategory the client added after this rulebook was written; the
    /// operator confirms or changes it.
    pub default: Id,
}
