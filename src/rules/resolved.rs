//! The rulebook as the engine reads it. Built once at load from the checked YAML model: ids are
//! typed ([`super::ids`]), references are resolved to the rows they name, the roles the engine
//! needs ("the default team", "the reminder category", "the bot's team"...) are named once in
//! [`Roles`] and [`Bot`], and every path a contact can take on each channel × category is worked
//! out in advance ([`Route`]), so deciding a contact or guarding an operator action is a lookup.
//!
//! Plain data: it serializes, and nothing in it points back into the YAML tree.

use super::diagnostic::Diagnostic;
use super::ids::{
    CategoryId, CategoryIx, ChannelId, ChannelIx, ClientId, FieldId, FlowId, Ix, MessageId, MessageIx, ScheduleId,
    ScheduleIx, StepId, Table, TargetId, TargetIx, TeamId, TeamIx,
};
use super::model::{self, Rulebook};
// Blocks that refer to nothing are kept as the YAML model has them.
pub use super::model::{CustomField, CustomStep, FieldFormat, Retention, Schedule, SurveySettings, TargetParty, Text};
use super::schedule;
use super::source_map::escape_segment as esc;
use super::walk::{self, Detail, Facts};
use crate::domain::{ChannelKind, Duty, Outcome, Party, Ticket, TicketType};
use jiff::{SignedDuration, Span};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The checked rulebook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    /// Languages of every user-facing text; the first is the default.
    pub languages: Vec<String>,
    pub categories: Table<CategoryId, Category>,
    pub teams: Table<TeamId, Team>,
    /// Service-hour definitions; `Rules` compiles them into calendars.
    pub schedules: Table<ScheduleId, Schedule>,
    pub channels: Table<ChannelId, Channel>,
    /// The named flows, for telling which one a step of a path came from.
    pub flows: Table<FlowId, ()>,
    pub targets: Table<TargetId, Target>,
    pub sla: Sla,
    pub gdpr: Gdpr,
    pub retention: Retention,
    pub custom_fields: Table<FieldId, CustomField>,
    pub custom_steps: Table<StepId, CustomStep>,
    pub messages: Table<MessageId, Text>,
    pub clients: Table<ClientId, Client>,
    /// The mailbox of the email channel, when the rulebook has one.
    pub email: Option<Email>,
    pub roles: Roles,
    /// Every channel × arriving category, in that order.
    routes: Vec<Route>,
}

/// The blocks the engine needs one of, as the rulebook names them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Roles {
    /// `teams.<id>.default: true`: a new ticket's team until its flow routes it elsewhere.
    pub default_team: TeamIx,
    /// `teams.<id>.privacy: true`: where `route_to_privacy_team` sends tickets.
    pub privacy_team: Option<TeamIx>,
    /// `categories.<id>.default: true`: the category of a contact whose channel names none.
    pub default_category: CategoryIx,
    /// `categories.<id>.reminder: true`: the category of a contact that chases an earlier one.
    pub reminder_category: Option<CategoryIx>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Category {
    pub name: Text,
    pub description: Text,
    pub types: Vec<TicketType>,
    pub operator_service: Vec<Duty>,
    pub pagopa_or_third_parties: Vec<Duty>,
    /// The channels it arrives on (all of them when the rulebook lists none).
    pub channels: Vec<ChannelIx>,
    /// Its types are privacy types (PQ, PA, PI): section 3.5's requests.
    pub privacy: bool,
}

impl Category {
    pub fn arrives_on(&self, channel: ChannelIx) -> bool {
        self.channels.contains(&channel)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Team {
    pub name: Text,
    pub lead: Option<String>,
    /// Mailboxes the clock tells of deadline warnings and breaches.
    pub notify: Vec<String>,
    /// The privacy referent's team.
    pub privacy: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Channel {
    pub kind: ChannelKind,
    pub name: Text,
    pub schedule: ScheduleIx,
    pub bot: Option<Bot>,
    /// The IVR menu: the key pressed → the category.
    pub menu: BTreeMap<String, CategoryIx>,
    pub contact_point: Text,
    pub alternative_channels: Vec<ChannelIx>,
    /// The satisfaction survey sent after a resolution, if this channel sends one.
    pub survey: Option<SurveySettings>,
}

/// A channel's chatbot.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Bot {
    /// The team a chat belongs to while the bot talks.
    pub team: TeamIx,
    /// The category of a chat the bot solves when the user named none.
    pub category: CategoryIx,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub name: Text,
    pub party: TargetParty,
    pub delivery: TargetDelivery,
    /// Ticket fields this target may receive.
    pub fields: Vec<String>,
    /// Cleared to receive the requester's free text (subject, description, conversation).
    pub free_text: bool,
    pub remind_after: Option<BusinessTime>,
}

/// How escalations reach a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetDelivery {
    /// An SQS queue, by name (the deployment maps names to URLs).
    Queue {
        queue: String,
    },
    Email {
        to: Vec<String>,
    },
}

impl TargetDelivery {
    pub fn queue(&self) -> Option<&str> {
        match self {
            TargetDelivery::Queue { queue } => Some(queue),
            TargetDelivery::Email { .. } => None,
        }
    }
}

/// A span of business time, as written and as parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessTime {
    pub text: String,
    pub duration: SignedDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sla {
    /// Whose open hours count as business time.
    pub schedule: ScheduleIx,
    pub warn_at_percent: u8,
    pub targets: Vec<SlaTarget>,
}

impl Sla {
    pub fn target(&self, ticket_type: TicketType) -> Option<&SlaTarget> {
        self.targets.iter().find(|t| t.ticket_type == ticket_type)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlaTarget {
    pub ticket_type: TicketType,
    pub first_response: BusinessTime,
    pub resolution: BusinessTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gdpr {
    pub data_subject_request: LegalClock,
    pub breach_notification: LegalClock,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LegalClock {
    /// As written, e.g. `1 month`.
    pub deadline: String,
    pub span: Span,
    pub applies_to: Vec<TicketType>,
    pub legal_basis: String,
}

/// A client app of the ticket API and its category tree mapped onto ours.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    pub name: Text,
    /// `category/subcategory` or `category` → our category.
    pub categories: BTreeMap<String, CategoryIx>,
    /// Our category for a subcategory added after the rulebook was written.
    pub default: CategoryIx,
}

impl Client {
    /// Our category for the client's `category` and `subcategory` (the most specific entry
    /// wins), or `None` when the client's category is not in its tree at all.
    pub fn map(&self, category: &str, subcategory: Option<&str>) -> Option<CategoryIx> {
        if let Some(sub) = subcategory
            && let Some(ours) = self.categories.get(&format!("{category}/{sub}"))
        {
            return Some(*ours);
        }
        if let Some(ours) = self.categories.get(category) {
            return Some(*ours);
        }
        let known = self.categories.keys().any(|k| k.split('/').next() == Some(category));
        known.then_some(self.default)
    }

    /// The client's top-level categories, as it names them.
    pub fn client_categories(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.categories.keys().filter_map(|k| k.split('/').next()).collect();
        out.dedup();
        out
    }
}

/// The mailbox of the email channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Email {
    /// The channel inbound mail opens tickets on.
    pub channel: ChannelIx,
    pub from: String,
    pub our_domains: Vec<String>,
    pub verdicts: crate::email::VerdictPolicy,
    pub acknowledgement: MessageIx,
    pub acknowledgement_subject: MessageIx,
}

/// The paths of one category on one channel, one per combination of facts that matters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Route {
    pub channel: ChannelIx,
    pub category: CategoryIx,
    pub paths: Vec<Path>,
    /// For each combination of the four facts a contact can have ([`Facts::index`]), its path.
    by_facts: [u8; 16],
}

impl Route {
    /// The path a contact with these facts takes (`privacy_request` comes from the category).
    pub fn path(&self, facts: &Facts) -> &Path {
        &self.paths[usize::from(self.by_facts[facts.index()])]
    }
}

/// One path through a channel's flows, from the first step to the outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Path {
    pub steps: Vec<PathStep>,
    pub outcome: Option<Outcome>,
    /// The type the last `classify` sets (`auto_resolve`: B).
    pub ticket_type: Option<TicketType>,
    /// The team the ticket ends with (the privacy team after `route_to_privacy_team`).
    pub team: TeamIx,
    /// Every target an escalation step of the path offers, in order.
    pub escalate_to: Vec<TargetIx>,
    /// The facts the path depends on and their values, in the order it asks them.
    pub consulted: Vec<(String, bool)>,
}

impl Path {
    pub fn step_names(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.name.as_str()).collect()
    }

    pub fn has_step(&self, name: &str) -> bool {
        self.steps.iter().any(|s| s.name == name)
    }

    /// The type the first `classify` of the path sets: what triage suggests to the operator.
    pub fn suggested_type(&self) -> Option<TicketType> {
        self.steps.iter().find_map(|s| match s.detail {
            StepDetail::Classify(t) => Some(t),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStep {
    /// A step of the vocabulary, a custom step, or `classify`, `escalate`, `end`.
    pub name: String,
    pub detail: StepDetail,
    pub actor: Party,
    /// The named flow the step belongs to (none for a channel's start steps).
    pub flow: Option<Ix<FlowId>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepDetail {
    Plain,
    Classify(TicketType),
    Escalate(Vec<TargetIx>),
    End(Outcome),
}

impl Model {
    /// The paths of `category` on `channel`; none when it does not arrive there.
    pub fn route(&self, channel: ChannelIx, category: CategoryIx) -> Option<&Route> {
        self.routes
            .binary_search_by(|r| (r.channel, r.category).cmp(&(channel, category)))
            .ok()
            .map(|i| &self.routes[i])
    }

    /// The paths of a ticket's channel and category, looked up by id.
    pub fn route_of(&self, channel: &str, category: &str) -> Option<&Route> {
        self.route(self.channels.ix(channel)?, self.categories.ix(category)?)
    }

    /// The channel of this kind: each HTTP entry point serves one (`rules check` refuses two).
    pub fn channel_of_kind(&self, kind: ChannelKind) -> Option<(ChannelIx, &ChannelId, &Channel)> {
        self.channels.entries().find(|(_, _, c)| c.kind == kind)
    }

    /// Whether `category` arrives on the channel with this id.
    pub fn arrives_on(&self, category: &Category, channel: &str) -> bool {
        self.channels.ix(channel).is_some_and(|ch| category.arrives_on(ch))
    }

    /// The ids of these channels.
    pub fn channel_ids(&self, channels: &[ChannelIx]) -> Vec<&str> {
        channels.iter().map(|c| self.channels.key(*c).as_str()).collect()
    }

    pub fn default_team(&self) -> &TeamId {
        self.teams.key(self.roles.default_team)
    }

    pub fn privacy_team(&self) -> Option<&TeamId> {
        self.roles.privacy_team.map(|t| self.teams.key(t))
    }

    pub fn default_category(&self) -> &CategoryId {
        self.categories.key(self.roles.default_category)
    }

    pub fn reminder_category(&self) -> Option<&CategoryId> {
        self.roles.reminder_category.map(|c| self.categories.key(c))
    }

    pub fn default_language(&self) -> &str {
        self.languages.first().map_or("it", String::as_str)
    }

    /// Message `id` in `lang`, or in the first of the rulebook's languages that has it.
    pub fn message(&self, id: &str, lang: &str) -> Option<&str> {
        let texts = self.messages.get(id)?;
        std::iter::once(lang)
            .chain(self.languages.iter().map(String::as_str))
            .find_map(|l| texts.get(l))
            .map(String::as_str)
    }

    /// A text of the rulebook (a name, a contact point) in `lang`, or in its first language.
    pub fn text<'a>(&self, text: &'a Text, lang: &str) -> &'a str {
        text.get(lang).or_else(|| text.get(self.default_language())).map_or("", String::as_str)
    }

    /// Privacy tickets are the privacy team's alone (section 3.5): those on a privacy team, of a
    /// privacy type, or of a privacy category.
    pub fn is_privacy(&self, ticket: &Ticket) -> bool {
        self.teams.get(&ticket.team).is_some_and(|t| t.privacy)
            || ticket.ticket_type.is_some_and(TicketType::is_privacy)
            || ticket.category.as_deref().and_then(|c| self.categories.get(c)).is_some_and(|c| c.privacy)
    }
}

/// Builds the model from a rulebook `validate` found free of errors. An unresolved reference
/// here means a check is missing; it is reported like any other error rather than trusted.
pub fn resolve(book: &Rulebook) -> Result<Model, Vec<Diagnostic>> {
    let mut r = Resolver { problems: Vec::new() };
    // The tables first, so references into them can resolve.
    let category_ids: Table<CategoryId, ()> = ids(&book.categories);
    let channel_ids: Table<ChannelId, ()> = ids(&book.channels);
    let team_ids: Table<TeamId, ()> = ids(&book.teams);
    let schedules: Table<ScheduleId, Schedule> =
        book.schedules.iter().map(|(id, s)| (id.as_str().into(), s.clone())).collect();
    let messages: Table<MessageId, Text> =
        book.messages.iter().map(|(id, t)| (id.as_str().into(), t.clone())).collect();
    let flows: Table<FlowId, ()> = ids(&book.flows);

    let categories = book
        .categories
        .iter()
        .map(|(id, c)| {
            let channels = match &c.channels {
                Some(on) => on
                    .iter()
                    .enumerate()
                    .filter_map(|(i, ch)| {
                        r.ix(&channel_ids, ch, "channel", || format!("/categories/{}/channels/{i}", esc(id)))
                    })
                    .collect(),
                None => channel_ids.entries().map(|(ix, _, _)| ix).collect(),
            };
            let category = Category {
                name: c.name.clone(),
                description: c.description.clone(),
                types: c.types.clone(),
                operator_service: c.operator_service.clone(),
                pagopa_or_third_parties: c.pagopa_or_third_parties.clone(),
                channels,
                privacy: c.types.iter().any(|t| t.is_privacy()),
            };
            (CategoryId::from(id.as_str()), category)
        })
        .collect();
    let teams = book
        .teams
        .iter()
        .map(|(id, t)| {
            let team =
                Team { name: t.name.clone(), lead: t.lead.clone(), notify: t.notify.clone(), privacy: t.privacy };
            (TeamId::from(id.as_str()), team)
        })
        .collect();
    let channels = book
        .channels
        .iter()
        .map(|(id, ch)| {
            let at = |key: &str| format!("/channels/{}/{key}", esc(id));
            let schedule = r.ix(&schedules, &ch.schedule, "schedule", || at("schedule")).unwrap_or(Ix::new(0));
            let bot = ch.bot.as_ref().and_then(|b| {
                let team = r.ix(&team_ids, &b.team, "team", || at("bot/team"))?;
                let category = r.ix(&category_ids, &b.category, "category", || at("bot/category"))?;
                Some(Bot { team, category })
            });
            let menu = ch
                .menu
                .iter()
                .filter_map(|(key, c)| {
                    let ix = r.ix(&category_ids, c, "category", || at(&format!("menu/{}", esc(key))))?;
                    Some((key.clone(), ix))
                })
                .collect();
            let alternative_channels = ch
                .alternative_channels
                .iter()
                .enumerate()
                .filter_map(|(i, alt)| r.ix(&channel_ids, alt, "channel", || at(&format!("alternative_channels/{i}"))))
                .collect();
            let channel = Channel {
                kind: ch.kind,
                name: ch.name.clone(),
                schedule,
                bot,
                menu,
                contact_point: ch.contact_point.clone(),
                alternative_channels,
                survey: ch.survey.clone(),
            };
            (ChannelId::from(id.as_str()), channel)
        })
        .collect();
    let targets = book
        .targets
        .iter()
        .map(|(id, t)| {
            let delivery = match (&t.delivery.sqs, &t.delivery.email) {
                (Some(sqs), _) => TargetDelivery::Queue { queue: sqs.queue.clone() },
                (None, Some(email)) => TargetDelivery::Email { to: email.to.clone() },
                (None, None) => {
                    r.problem(format!("/targets/{}/delivery", esc(id)), format!("target `{id}` has no delivery"));
                    TargetDelivery::Email { to: Vec::new() }
                }
            };
            let remind_after = t
                .remind_after
                .as_ref()
                .and_then(|text| r.business_time(text, format!("/targets/{}/remind_after", esc(id))));
            let target = Target {
                name: t.name.clone(),
                party: t.party,
                delivery,
                fields: t.fields.clone(),
                free_text: t.free_text,
                remind_after,
            };
            (TargetId::from(id.as_str()), target)
        })
        .collect();
    let sla = Sla {
        schedule: r.ix(&schedules, &book.sla.schedule, "schedule", || "/sla/schedule".into()).unwrap_or(Ix::new(0)),
        warn_at_percent: book.sla.warn_at_percent,
        targets: book
            .sla
            .targets
            .iter()
            .filter_map(|(t, s)| {
                let at = |key: &str| format!("/sla/targets/{t}/{key}");
                Some(SlaTarget {
                    ticket_type: t,
                    first_response: r.business_time(&s.first_response, at("first_response"))?,
                    resolution: r.business_time(&s.resolution, at("resolution"))?,
                })
            })
            .collect(),
    };
    let gdpr = Gdpr {
        data_subject_request: r.legal_clock(&book.gdpr.data_subject_request, "/gdpr/data_subject_request"),
        breach_notification: r.legal_clock(&book.gdpr.breach_notification, "/gdpr/breach_notification"),
    };
    let clients = book
        .clients
        .iter()
        .map(|(id, c)| {
            let at = |key: &str| format!("/clients/{}/{key}", esc(id));
            let categories = c
                .categories
                .iter()
                .filter_map(|(k, ours)| {
                    Some((k.clone(), r.ix(&category_ids, ours, "category", || at(&format!("categories/{}", esc(k))))?))
                })
                .collect();
            let default = r.ix(&category_ids, &c.default, "category", || at("default")).unwrap_or(Ix::new(0));
            (ClientId::from(id.as_str()), Client { name: c.name.clone(), categories, default })
        })
        .collect();
    let email = book.email.as_ref().and_then(|e| {
        let channel = match &e.channel {
            Some(ch) => r.ix(&channel_ids, ch, "channel", || "/email/channel".into())?,
            None => {
                let email = book.channels.iter().find(|(_, c)| c.kind == ChannelKind::Email);
                email.and_then(|(id, _)| channel_ids.ix(id)).or_else(|| {
                    r.problem("/email/channel", "no channel is of kind `email`");
                    None
                })?
            }
        };
        Some(Email {
            channel,
            from: e.from.clone(),
            our_domains: e.our_domains.clone(),
            verdicts: e.verdicts.clone(),
            acknowledgement: r.ix(&messages, &e.acknowledgement, "message", || "/email/acknowledgement".into())?,
            acknowledgement_subject: r
                .ix(&messages, &e.acknowledgement_subject, "message", || "/email/acknowledgement_subject".into())?,
        })
    });
    let roles = Roles {
        default_team: r.role(
            &team_ids,
            book.teams.iter().find(|(_, t)| t.default).map(|(id, _)| id),
            "/teams",
            "team with `default: true`",
        ),
        privacy_team: book.teams.iter().find(|(_, t)| t.privacy).and_then(|(id, _)| team_ids.ix(id)),
        default_category: r.role(
            &category_ids,
            book.categories.iter().find(|(_, c)| c.default).map(|(id, _)| id),
            "/categories",
            "category with `default: true`",
        ),
        reminder_category: book.categories.iter().find(|(_, c)| c.reminder).and_then(|(id, _)| category_ids.ix(id)),
    };
    let mut model = Model {
        languages: book.languages.clone(),
        categories,
        teams,
        schedules,
        channels,
        flows,
        targets,
        sla,
        gdpr,
        retention: book.retention.clone(),
        custom_fields: book.custom_fields.iter().map(|(id, f)| (id.as_str().into(), f.clone())).collect(),
        custom_steps: book.custom_steps.iter().map(|(id, s)| (id.as_str().into(), s.clone())).collect(),
        messages,
        clients,
        email,
        roles,
        routes: Vec::new(),
    };
    model.routes = routes(book, &model, &mut r);
    if r.problems.is_empty() { Ok(model) } else { Err(r.problems) }
}

/// A table of the ids of a rulebook block, to resolve references into before its rows are built.
fn ids<K: for<'a> From<&'a str> + std::borrow::Borrow<str> + Ord, V>(block: &BTreeMap<String, V>) -> Table<K, ()> {
    block.keys().map(|k| (K::from(k.as_str()), ())).collect()
}

/// Works out the paths of every category on every channel it arrives on: one walk per distinct
/// path (a path depends only on the facts it consulted), shared by the combinations it covers.
fn routes(book: &Rulebook, model: &Model, r: &mut Resolver) -> Vec<Route> {
    let mut routes = Vec::new();
    for (ch, ch_id, _) in model.channels.entries() {
        for (cat, cat_id, category) in model.categories.entries() {
            if !category.arrives_on(ch) {
                continue;
            }
            let mut paths: Vec<Path> = Vec::new();
            let mut by_facts = [0u8; 16];
            for facts in Facts::all() {
                let with_category = Facts { privacy_request: category.privacy, ..facts };
                let known = paths.iter().position(|p| with_category.take(&p.consulted));
                let at = match known {
                    Some(i) => i,
                    None => {
                        let w = walk::walk(book, ch_id.as_str(), cat_id.as_str(), facts, false);
                        match path_of(&w, model) {
                            Some(p) => {
                                paths.push(p);
                                paths.len() - 1
                            }
                            None => {
                                r.problem(
                                    format!("/channels/{}/flows", esc(ch_id.as_str())),
                                    format!("category `{cat_id}` has no complete path on channel `{ch_id}`"),
                                );
                                break;
                            }
                        }
                    }
                };
                by_facts[facts.index()] = u8::try_from(at).unwrap_or(u8::MAX);
            }
            if !paths.is_empty() {
                routes.push(Route { channel: ch, category: cat, paths, by_facts });
            }
        }
    }
    routes
}

/// A walk in the model's terms; `None` if it names something the model does not have.
fn path_of(w: &walk::Walk<'_>, model: &Model) -> Option<Path> {
    if !w.problems.is_empty() {
        return None;
    }
    let targets = |ids: &[String]| ids.iter().map(|t| model.targets.ix(t)).collect::<Option<Vec<_>>>();
    let steps = w
        .steps
        .iter()
        .map(|s| {
            let detail = match &s.detail {
                Detail::Plain => StepDetail::Plain,
                Detail::Classify(t) => StepDetail::Classify(*t),
                Detail::Escalate(ids) => StepDetail::Escalate(targets(ids)?),
                Detail::End(o) => StepDetail::End(*o),
            };
            let flow = match s.flow {
                Some(f) => Some(model.flows.ix(f)?),
                None => None,
            };
            Some(PathStep { name: s.name.to_string(), detail, actor: s.actor, flow })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Path {
        steps,
        outcome: w.outcome,
        ticket_type: w.ticket_type,
        team: model.teams.ix(w.team)?,
        escalate_to: w.escalate_to.iter().map(|t| model.targets.ix(t)).collect::<Option<Vec<_>>>()?,
        consulted: w.consulted.iter().map(|(f, v)| (f.to_string(), *v)).collect(),
    })
}

struct Resolver {
    problems: Vec<Diagnostic>,
}

impl Resolver {
    fn problem(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Diagnostic::error(pointer, message));
    }

    fn ix<K: std::borrow::Borrow<str>, V>(
        &mut self,
        table: &Table<K, V>,
        id: &str,
        kind: &str,
        pointer: impl FnOnce() -> String,
    ) -> Option<Ix<K>> {
        let found = table.ix(id);
        if found.is_none() {
            self.problem(pointer(), format!("unknown {kind} `{id}`"));
        }
        found
    }

    /// The one row a role names; `validate` has made sure there is one.
    fn role<K: std::borrow::Borrow<str>>(
        &mut self,
        table: &Table<K, ()>,
        named: Option<&String>,
        pointer: &str,
        what: &str,
    ) -> Ix<K> {
        match named.and_then(|id| table.ix(id)) {
            Some(ix) => ix,
            None => {
                self.problem(pointer, format!("the rulebook has no {what}"));
                Ix::new(0)
            }
        }
    }

    fn business_time(&mut self, text: &str, pointer: String) -> Option<BusinessTime> {
        match schedule::business_duration(text) {
            Ok(duration) => Some(BusinessTime { text: text.to_string(), duration }),
            Err(e) => {
                self.problem(pointer, e);
                None
            }
        }
    }

    fn legal_clock(&mut self, clock: &model::YamlLegalClock, pointer: &str) -> LegalClock {
        let span = schedule::calendar_span(&clock.deadline).unwrap_or_else(|e| {
            self.problem(format!("{pointer}/deadline"), e);
            Span::new()
        });
        LegalClock {
            deadline: clock.deadline.clone(),
            span,
            applies_to: clock.applies_to.clone(),
            legal_basis: clock.legal_basis.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::load;

    fn default_rulebook() -> Rulebook {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
        load::load(dir).unwrap_or_else(|e| panic!("{e:?}")).0.book
    }

    /// The paths worked out at load are the walks themselves, for every channel × category ×
    /// combination of facts.
    #[test]
    fn every_route_is_the_walk_of_its_facts() {
        let book = default_rulebook();
        let model = resolve(&book).unwrap();
        let mut checked = 0;
        for (ch, ch_id, _) in model.channels.entries() {
            for (cat, cat_id, category) in model.categories.entries() {
                let route = model.route(ch, cat);
                assert_eq!(route.is_some(), category.arrives_on(ch), "{ch_id} × {cat_id}");
                let Some(route) = route else { continue };
                for facts in Facts::all() {
                    let w = walk::walk(&book, ch_id.as_str(), cat_id.as_str(), facts, false);
                    let p = route.path(&Facts { privacy_request: category.privacy, ..facts });
                    assert_eq!(p.step_names(), w.step_names(), "{ch_id} × {cat_id} with {facts:?}");
                    assert_eq!((p.outcome, p.ticket_type), (w.outcome, w.ticket_type));
                    assert_eq!(model.teams.key(p.team), w.team);
                    let targets: Vec<&str> = p.escalate_to.iter().map(|t| model.targets.key(*t).as_str()).collect();
                    assert_eq!(targets, w.escalate_to);
                    checked += 1;
                }
            }
        }
        assert!(checked > 400, "only {checked} combinations");
    }

    /// The model is plain data: it survives a round trip through JSON.
    #[test]
    fn the_model_serializes() {
        let model = resolve(&default_rulebook()).unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let back: Model = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        assert_eq!(back.default_team(), "first_level");
        assert_eq!(back.route_of("voice", "malfunction").unwrap().paths.len(), 3);
    }
}
