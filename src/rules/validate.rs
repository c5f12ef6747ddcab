//! Semantic checks of a structurally valid rulebook. Each finding is a diagnostic at the JSON
//! pointer of the node it is about; the loader turns pointers into file:line:col.

use super::diagnostic::Diagnostic;
use super::model::{Rulebook, Step, Text};
use super::source_map::escape_segment as esc;
use super::vocabulary::{self, CATEGORY_FLOW};
use super::walk::{Detail, Facts, WalkProblem, walk};
use crate::domain::{ChannelKind, Duty, Outcome, Party, TicketType};
use crate::knowledge::KnowledgeBase;
use std::collections::{BTreeMap, BTreeSet};

/// Every check; errors and warnings together.
pub fn check(book: &Rulebook, knowledge: Option<&Result<KnowledgeBase, String>>) -> Vec<Diagnostic> {
    let mut out = check_rulebook(book);
    let categories = book.categories.keys().map(String::as_str).collect();
    out.extend(check_knowledge(&book.languages, categories, knowledge));
    out
}

/// The checks of the rulebook file alone: what `rules check`'s cache keeps for an unchanged
/// rulebook ([`check_knowledge`] runs again at every check, as the articles may have changed).
pub fn check_rulebook(book: &Rulebook) -> Vec<Diagnostic> {
    let mut c = Checker { book, out: Vec::new() };
    c.version_and_languages();
    c.texts();
    c.categories();
    c.teams();
    c.schedules();
    c.channels();
    c.roles();
    c.flows();
    c.paths();
    c.targets();
    c.sla_and_gdpr();
    c.messages();
    c.custom();
    c.email();
    c.clients();
    c.out
}

/// The knowledge articles' checks against the rulebook's languages and categories, every
/// finding at `/knowledge`.
pub fn check_knowledge(
    languages: &[String],
    categories: BTreeSet<&str>,
    knowledge: Option<&Result<KnowledgeBase, String>>,
) -> Vec<Diagnostic> {
    match knowledge {
        None => Vec::new(),
        Some(Err(e)) => vec![Diagnostic::error("/knowledge", e.clone())],
        Some(Ok(kb)) => knowledge_diagnostics(kb.check(languages, categories)),
    }
}

/// The knowledge base's findings as diagnostics at `/knowledge`.
pub fn knowledge_diagnostics(findings: Vec<crate::knowledge::ArticleFinding>) -> Vec<Diagnostic> {
    findings
        .into_iter()
        .map(|problem| {
            let d = if problem.is_error {
                Diagnostic::error("/knowledge", problem.message)
            } else {
                Diagnostic::warning("/knowledge", problem.message)
            };
            Diagnostic { help: problem.help, ..d }
        })
        .collect()
}

struct Checker<'r> {
    book: &'r Rulebook,
    out: Vec<Diagnostic>,
}

fn names<V>(map: &BTreeMap<String, V>) -> impl Iterator<Item = &str> + Clone {
    map.keys().map(String::as_str)
}

/// Target fields that carry the requester's own words: sent only to targets with `free_text`.
pub const FREE_TEXT_FIELDS: &[&str] = &["subject", "description", "conversation"];

/// Field names a target may receive besides `custom.<field>`.
pub const TARGET_FIELDS: &[&str] = &[
    "reference",
    "channel",
    "category",
    "ticket_type",
    "created_at",
    "subject",
    "description",
    "conversation",
    "attachments",
    "requester.name",
    "requester.email",
    "requester.phone",
    "requester.fiscal_code",
];

/// Placeholders a message may use.
pub const MESSAGE_PLACEHOLDERS: &[&str] = &["reference", "alternative_channels", "next_opening", "channel"];

impl<'r> Checker<'r> {
    fn error(&mut self, pointer: impl Into<String>, message: impl Into<String>) -> &mut Diagnostic {
        self.out.push(Diagnostic::error(pointer, message));
        self.out.last_mut().expect("just pushed")
    }

    fn warn(&mut self, pointer: impl Into<String>, message: impl Into<String>) -> &mut Diagnostic {
        self.out.push(Diagnostic::warning(pointer, message));
        self.out.last_mut().expect("just pushed")
    }

    /// A reference to a block that must exist, with did-you-mean.
    fn reference<V>(&mut self, pointer: String, kind: &str, id: &str, defined: &BTreeMap<String, V>) -> bool {
        if defined.contains_key(id) {
            return true;
        }
        let d = Diagnostic::error(pointer, format!("unknown {kind} `{id}`")).suggest(id, names(defined));
        let d = if d.help.is_none() && !defined.is_empty() {
            d.with_help(format!("defined {kind}s: {}", names(defined).collect::<Vec<_>>().join(", ")))
        } else {
            d
        };
        self.out.push(d);
        false
    }

    fn version_and_languages(&mut self) {
        if self.book.version != 1 {
            self.error(
                "/version",
                format!("unsupported rulebook version {}; this Sportello reads version 1", self.book.version),
            );
        }
        if self.book.languages.is_empty() {
            self.error("/languages", "at least one language is needed for user-facing messages");
        }
        let mut seen = BTreeSet::new();
        for (i, lang) in self.book.languages.iter().enumerate() {
            if lang.len() != 2 || !lang.bytes().all(|b| b.is_ascii_lowercase()) {
                self.error(
                    format!("/languages/{i}"),
                    format!("`{lang}` is not a two-letter language code (ISO 639-1, e.g. `it`, `en`)"),
                );
            }
            if !seen.insert(lang) {
                self.error(format!("/languages/{i}"), format!("language `{lang}` is listed twice"));
            }
        }
    }

    fn text(&mut self, pointer: String, text: &Text, what: &str) {
        for lang in &self.book.languages {
            match text.get(lang) {
                Some(t) if !t.trim().is_empty() => {}
                _ => {
                    self.error(pointer.clone(), format!("{what} has no `{lang}` text")).at_key = true;
                }
            }
        }
        for lang in text.keys().filter(|l| !self.book.languages.contains(l)) {
            let langs: Vec<&str> = self.book.languages.iter().map(String::as_str).collect();
            let d = Diagnostic::error(
                format!("{pointer}/{}", esc(lang)),
                format!("`{lang}` is not one of the rulebook's languages ({})", langs.join(", ")),
            )
            .at_key()
            .suggest(lang, langs);
            self.out.push(d);
        }
    }

    fn texts(&mut self) {
        let b = self.book;
        for (id, c) in &b.categories {
            self.text(format!("/categories/{}/name", esc(id)), &c.name, &format!("the name of category `{id}`"));
        }
        for (id, t) in &b.teams {
            self.text(format!("/teams/{}/name", esc(id)), &t.name, &format!("the name of team `{id}`"));
        }
        for (id, c) in &b.channels {
            self.text(format!("/channels/{}/name", esc(id)), &c.name, &format!("the name of channel `{id}`"));
            self.text(
                format!("/channels/{}/contact_point", esc(id)),
                &c.contact_point,
                &format!("the contact point of channel `{id}`"),
            );
        }
        for (id, t) in &b.targets {
            self.text(format!("/targets/{}/name", esc(id)), &t.name, &format!("the name of target `{id}`"));
        }
        for (id, f) in &b.custom_fields {
            self.text(format!("/custom_fields/{}/label", esc(id)), &f.label, &format!("the label of field `{id}`"));
        }
        for (id, m) in &b.messages {
            self.text(format!("/messages/{}", esc(id)), m, &format!("message `{id}`"));
        }
    }

    fn categories(&mut self) {
        let b = self.book;
        if b.categories.is_empty() {
            self.error("/categories", "no categories are defined");
        }
        for (id, c) in &b.categories {
            let at = format!("/categories/{}", esc(id));
            if c.types.is_empty() {
                self.error(format!("{at}/types"), format!("category `{id}` has no ticket type"));
            }
            let privacy = c.types.iter().filter(|t| t.is_privacy()).count();
            if privacy != 0 && privacy != c.types.len() {
                self.error(format!("{at}/types"), format!("category `{id}` mixes privacy and non-privacy types"))
                    .help = Some("privacy tickets (PQ, PA, PI) follow their own flows and team (section 3.5)".into());
            }
            let bot_only = c.types == [TicketType::B];
            if bot_only && !c.operator_service.is_empty() {
                self.warn(
                    format!("{at}/operator_service"),
                    format!(
                        "category `{id}` is handled by the bot alone (type B), yet gives the operator service duties"
                    ),
                );
            }
            if !bot_only {
                for duty in [Duty::C, Duty::R] {
                    if !c.operator_service.contains(&duty) {
                        self.error(
                            format!("{at}/operator_service"),
                            format!("category `{id}` does not give {duty:?} to the operator service"),
                        )
                        .help = Some(
                            "section 2: every ticket is taken in charge (C) and resolved (R) by the operator service"
                                .into(),
                        );
                    }
                }
            }
            if c.pagopa_or_third_parties.iter().any(|d| *d != Duty::L) {
                self.error(format!("{at}/pagopa_or_third_parties"), format!("category `{id}`: PagoPA and third parties only work tickets (L); C and R stay with the operator service"));
            }
            if let Some(channels) = &c.channels {
                for (i, ch) in channels.iter().enumerate() {
                    self.reference(format!("{at}/channels/{i}"), "channel", ch, &b.channels);
                }
                if channels.is_empty() {
                    self.warn(format!("{at}/channels"), format!("category `{id}` arrives on no channel"));
                }
            }
        }
    }

    fn teams(&mut self) {
        let b = self.book;
        let defaults: Vec<&str> = b.teams.iter().filter(|(_, t)| t.default).map(|(id, _)| id.as_str()).collect();
        match defaults.len() {
            1 => {}
            0 => {
                self.error("/teams", "no team is `default: true`: new tickets would have no team").at_key = true;
            }
            _ => {
                for id in &defaults[1..] {
                    self.error(
                        format!("/teams/{}/default", esc(id)),
                        format!("teams {} are all `default: true`; exactly one may be", defaults.join(", ")),
                    );
                }
            }
        }
        let privacy: Vec<&str> = b.teams.iter().filter(|(_, t)| t.privacy).map(|(id, _)| id.as_str()).collect();
        if privacy.len() > 1 {
            for id in &privacy[1..] {
                self.error(
                    format!("/teams/{}/privacy", esc(id)),
                    format!(
                        "teams {} are all `privacy: true`; privacy tickets go to exactly one team",
                        privacy.join(", ")
                    ),
                );
            }
        }
        for (id, t) in &b.teams {
            for (i, addr) in t.notify.iter().enumerate() {
                if !looks_like_address(addr) || addr.contains(['<', '>', ',', ';', '"']) {
                    self.error(format!("/teams/{}/notify/{i}", esc(id)), format!("`{addr}` is not an email address"));
                }
            }
        }
        let has_privacy_category = b.categories.values().any(|c| c.types.iter().any(|t| t.is_privacy()));
        if has_privacy_category && privacy.is_empty() {
            let d = self.error("/teams", "privacy categories exist but no team is `privacy: true`");
            d.at_key = true;
            d.help = Some("section 3: privacy tickets are handled by the team led by the privacy referent".into());
        }
    }

    fn schedules(&mut self) {
        for (id, s) in &self.book.schedules {
            let at = format!("/schedules/{}", esc(id));
            for problem in super::schedule::problems(s) {
                self.error(format!("{at}{}", problem.pointer), problem.message);
            }
        }
    }

    fn channels(&mut self) {
        let b = self.book;
        if b.channels.is_empty() {
            self.error("/channels", "no channels are defined");
        }
        for (id, ch) in &b.channels {
            let at = format!("/channels/{}", esc(id));
            self.reference(format!("{at}/schedule"), "schedule", &ch.schedule, &b.schedules);
            if let Some(survey) = &ch.survey {
                self.text(format!("{at}/survey/question"), &survey.question, "the survey question");
                match (&survey.page, ch.kind) {
                    (None, ChannelKind::Email) => {
                        self.error(
                            format!("{at}/survey"),
                            "an e-mail survey needs `page`: the public https address of the survey page",
                        );
                    }
                    (Some(page), _) if !page.starts_with("https://") && !page.starts_with("http://") => {
                        self.error(format!("{at}/survey/page"), format!("`{page}` is not an http(s) address"));
                    }
                    _ => {}
                }
            }
            for (i, alt) in ch.alternative_channels.iter().enumerate() {
                if alt == id {
                    self.error(
                        format!("{at}/alternative_channels/{i}"),
                        format!("channel `{id}` suggests itself as an alternative"),
                    );
                } else {
                    self.reference(format!("{at}/alternative_channels/{i}"), "channel", alt, &b.channels);
                }
            }
            for (category, flow) in &ch.flows {
                let here = format!("{at}/flows/{}", esc(category));
                if let Some(c) = b.categories.get(category) {
                    if c.channels.as_ref().is_some_and(|chs| !chs.contains(id)) {
                        self.warn(
                            here.clone(),
                            format!("category `{category}` does not arrive on channel `{id}`; this flow is never used"),
                        )
                        .at_key = true;
                    }
                } else {
                    let d = Diagnostic::error(here.clone(), format!("unknown category `{category}`"))
                        .at_key()
                        .suggest(category, names(&b.categories));
                    self.out.push(d);
                }
                self.reference(here, "flow", flow, &b.flows);
            }
            for (category, c) in &b.categories {
                let arrives = c.channels.as_ref().is_none_or(|chs| chs.contains(id));
                if arrives && !ch.flows.contains_key(category) {
                    self.error(
                        format!("{at}/flows"),
                        format!("category `{category}` can arrive on channel `{id}` but has no flow there"),
                    )
                    .at_key = true;
                }
                if arrives && c.types == [TicketType::B] && ch.bot.is_none() {
                    let msg =
                        format!("category `{category}` is handled by a bot (type B), but channel `{id}` has no bot");
                    self.error(format!("/categories/{}/channels", esc(category)), msg).help =
                        Some(format!("list the channels with a bot in `categories.{category}.channels`"));
                }
            }
            self.bot(id, ch);
            self.menu(id, ch);
            let mut uses_category_flow = false;
            visit(&ch.start, &mut |s| uses_category_flow |= matches!(s, Step::Name(n) if n == CATEGORY_FLOW));
            if !uses_category_flow {
                self.warn(
                    format!("{at}/start"),
                    format!(
                        "channel `{id}` never continues with `{CATEGORY_FLOW}`, so its category flows are never used"
                    ),
                );
            }
        }
    }

    /// Checks that do not depend on the path: names, forms and references of every step.
    fn flows(&mut self) {
        let b = self.book;
        let mut lists: Vec<(String, &'r [Step])> =
            b.flows.iter().map(|(id, s)| (format!("/flows/{}", esc(id)), s.as_slice())).collect();
        lists.extend(b.channels.iter().map(|(id, ch)| (format!("/channels/{}/start", esc(id)), ch.start.as_slice())));
        for (base, steps) in lists {
            if steps.is_empty() {
                self.error(base.clone(), "a flow needs at least one step");
            }
            self.step_list(&base, steps);
        }
        let mut used = BTreeSet::new();
        for ch in b.channels.values() {
            used.extend(ch.flows.values().map(String::as_str));
            visit(&ch.start, &mut |s| {
                if let Step::Flow(f) = s {
                    used.insert(f.flow.as_str());
                }
            });
        }
        for steps in b.flows.values() {
            visit(steps, &mut |s| {
                if let Step::Flow(f) = s {
                    used.insert(f.flow.as_str());
                }
            });
        }
        for id in b.flows.keys().filter(|id| !used.contains(id.as_str())) {
            self.warn(format!("/flows/{}", esc(id)), format!("flow `{id}` is not used by any channel or flow"))
                .at_key = true;
        }
    }

    fn step_list(&mut self, base: &str, steps: &[Step]) {
        let b = self.book;
        for (i, step) in steps.iter().enumerate() {
            let here = format!("{base}/{i}");
            match step {
                Step::Name(name) if name == CATEGORY_FLOW => {}
                Step::Name(name) => {
                    if matches!(name.as_str(), "classify" | "escalate") {
                        self.error(here, format!("`{name}` needs a value here")).help = Some(if name == "classify" {
                            "write `classify: Q` (B, Q, A, I, PQ, PA, PI)".into()
                        } else {
                            "write `escalate: [target, ...]`".into()
                        });
                    } else if vocabulary::builtin(name).is_none() && !b.custom_steps.contains_key(name) {
                        let known = vocabulary::STEPS
                            .iter()
                            .map(|s| s.name)
                            .chain(names(&b.custom_steps))
                            .chain([CATEGORY_FLOW]);
                        let d = Diagnostic::error(here, format!("unknown step `{name}`")).suggest(name, known);
                        let d = if d.help.is_none() {
                            d.with_help("declare it under `custom_steps` to add a step to the vocabulary")
                        } else {
                            d
                        };
                        self.out.push(d);
                    }
                }
                Step::Classify(_) => {}
                Step::Escalate(e) => {
                    if e.escalate.is_empty() {
                        self.error(format!("{here}/escalate"), "an escalation needs at least one target");
                    }
                    for (j, t) in e.escalate.iter().enumerate() {
                        self.reference(format!("{here}/escalate/{j}"), "target", t, &b.targets);
                    }
                }
                Step::Flow(f) => {
                    self.reference(format!("{here}/flow"), "flow", &f.flow, &b.flows);
                }
                Step::End(_) => {
                    if i + 1 < steps.len() {
                        self.warn(format!("{base}/{}", i + 1), "this step comes after `end` and is never reached");
                    }
                }
                Step::Branch(br) => {
                    if !vocabulary::is_fact(&br.condition) {
                        let known = vocabulary::FACTS.iter().map(|(f, _)| *f);
                        self.out.push(
                            Diagnostic::error(format!("{here}/if"), format!("unknown fact `{}`", br.condition))
                                .suggest(&br.condition, known.clone())
                                .with_help_if_none(format!("facts: {}", known.collect::<Vec<_>>().join(", "))),
                        );
                    }
                    if br.then.is_empty() {
                        self.error(format!("{here}/then"), "`then` has no steps");
                    }
                    self.step_list(&format!("{here}/then"), &br.then);
                    self.step_list(&format!("{here}/else"), &br.otherwise);
                }
            }
        }
    }

    /// Walks every channel × arriving category × combination of facts and checks each path.
    fn paths(&mut self) {
        let b = self.book;
        let mut reported = BTreeSet::new();
        // Privacy categories that can end with nobody from the privacy team, by the step that
        // ends them and its outcome.
        let mut unrouted_privacy: BTreeMap<(String, &'static str), Vec<String>> = BTreeMap::new();
        let mut incident_checks = IncidentChecks::new();
        for (ch_id, ch) in &b.channels {
            for (cat_id, cat) in &b.categories {
                if cat.channels.as_ref().is_some_and(|chs| !chs.contains(ch_id)) || !ch.flows.contains_key(cat_id) {
                    continue;
                }
                // A path depends only on the facts it consulted: facts that agree with a path
                // already walked take it again, so each distinct path is walked once, with the
                // first facts (in `Facts::all`'s order) that take it.
                let is_privacy = cat.types.iter().any(|t| t.is_privacy());
                let mut walked: Vec<Vec<(&str, bool)>> = Vec::new();
                for facts in Facts::all() {
                    let asked = Facts { privacy_request: is_privacy, ..facts };
                    if walked.iter().any(|consulted| asked.take(consulted)) {
                        continue;
                    }
                    let w = walk(b, ch_id, cat_id, facts, true);
                    walked.push(w.consulted.clone());
                    let when = describe_facts(&w.consulted);
                    let ctx = format!("on channel `{ch_id}`, category `{cat_id}`{when}");
                    for p in &w.problems {
                        let (pointer, msg) = match p {
                            WalkProblem::NoFlowForCategory { pointer } => {
                                (pointer, format!("no flow for category `{cat_id}` on channel `{ch_id}`"))
                            }
                            WalkProblem::UnknownFlow { .. } => continue, // reported with the reference
                            WalkProblem::Recursion { name, pointer } => {
                                (pointer, format!("flow `{name}` includes itself, so the contact never ends"))
                            }
                            WalkProblem::CategoryFlowInsideFlow { pointer } => {
                                (pointer, format!("`{CATEGORY_FLOW}` may only appear in a channel's `start` steps"))
                            }
                            WalkProblem::UnknownFact { .. } => continue, // reported by the step check
                        };
                        if reported.insert((pointer.clone(), msg.clone())) {
                            self.error(pointer.clone(), msg);
                        }
                    }
                    // The same finding at the same step is reported once, with the first context met.
                    let mut report = |c: &mut Self, pointer: &str, warn: bool, msg: String, help: Option<String>| {
                        let core = msg.split(" on channel `").next().unwrap_or(&msg).to_string();
                        if reported.insert((pointer.to_string(), core)) {
                            let d = if warn { c.warn(pointer, msg) } else { c.error(pointer, msg) };
                            d.help = help;
                        }
                    };
                    let last = w
                        .steps
                        .last()
                        .and_then(|s| s.pointer.clone())
                        .unwrap_or_else(|| format!("/channels/{}/start", esc(ch_id)));
                    // An unknown fact, flow or a loop already explains a path that does not end.
                    let broken = w.problems.iter().any(|p| {
                        matches!(
                            p,
                            WalkProblem::UnknownFlow { .. }
                                | WalkProblem::UnknownFact { .. }
                                | WalkProblem::Recursion { .. }
                        )
                    });
                    if w.outcome.is_none() && !broken {
                        report(
                            self,
                            &last,
                            false,
                            format!("the contact never ends {ctx}"),
                            Some(
                                "a path must reach `resolve`, `auto_resolve`, `auto_close` or `end: <outcome>`".into(),
                            ),
                        );
                    }
                    let mut taken = false;
                    let mut classified = false;
                    let mut escalated = false;
                    let mut ended: Option<Outcome> = None;
                    let mut routed = false;
                    for s in &w.steps {
                        let p = s.pointer.as_deref().unwrap_or_default();
                        let info = vocabulary::builtin(s.name);
                        let allowed = info.map(|i| i.allowed).or_else(|| {
                            b.custom_steps.get(s.name).map(|c| match &c.channels {
                                Some(kinds) => vocabulary::Allowed::Only(kinds),
                                None => vocabulary::Allowed::Everywhere,
                            })
                        });
                        if let Some(allowed) = allowed
                            && !allowed.permits(ch.kind, ch.bot.is_some())
                        {
                            report(
                                self,
                                p,
                                false,
                                format!("step `{}` is not valid on channel `{ch_id}` ({})", s.name, ch.kind),
                                Some(format!("`{}` is allowed on {}", s.name, allowed.describe())),
                            );
                        }
                        if let Detail::Classify(TicketType::B) = s.detail
                            && ch.bot.is_none()
                        {
                            report(
                                self,
                                p,
                                false,
                                format!("type B on channel `{ch_id}`, which has no bot"),
                                Some("B tickets are opened and resolved by a chatbot (section 2)".into()),
                            );
                        }
                        let operator_step = matches!(s.actor, Party::OperatorService | Party::PrivacyTeam)
                            || s.name == "await_resolution_notice";
                        if s.name == "take_in_charge" {
                            taken = true;
                        } else if operator_step && !taken {
                            report(
                                self,
                                p,
                                false,
                                format!("`{}` comes before `take_in_charge` {ctx}", s.name),
                                Some(
                                    "section 2: every ticket is first taken in charge (C) by the operator service"
                                        .into(),
                                ),
                            );
                        }
                        match (&s.detail, s.name) {
                            (Detail::Classify(t), _) => {
                                classified = true;
                                // A bot-only category that reaches an operator was not solved by
                                // the bot, so it is no longer a B request: any type fits.
                                let bot_only = cat.types == [TicketType::B];
                                if !cat.types.contains(t) && !bot_only {
                                    let table: Vec<&str> = cat.types.iter().map(|t| t.code()).collect();
                                    let msg = format!(
                                        "category `{cat_id}` is classified {t} on channel `{ch_id}`, but the summary table types it {}",
                                        table.join("/")
                                    );
                                    if t.is_privacy() != is_privacy {
                                        report(
                                            self,
                                            p,
                                            false,
                                            msg,
                                            Some("privacy and non-privacy types cannot be swapped".into()),
                                        );
                                    } else {
                                        report(
                                            self,
                                            p,
                                            true,
                                            msg,
                                            Some(format!(
                                                "decide which one holds: change this `classify` or `categories.{cat_id}.types`"
                                            )),
                                        );
                                    }
                                }
                            }
                            (_, "route_to_privacy_team") => routed = true,
                            (_, "escalate") => escalated = true,
                            (_, "await_resolution_notice") if !escalated => {
                                report(
                                    self,
                                    p,
                                    false,
                                    format!("`await_resolution_notice` without an escalation before it {ctx}"),
                                    None,
                                );
                            }
                            (_, "resolve") if !classified => {
                                report(
                                    self,
                                    p,
                                    false,
                                    format!("the ticket is resolved without a type {ctx}"),
                                    Some("add `classify: <type>` before `resolve`".into()),
                                );
                            }
                            _ => {}
                        }
                        let outcome = info.and_then(|i| i.outcome).or(match s.detail {
                            Detail::End(o) => Some(o),
                            _ => None,
                        });
                        if let Some(o) = outcome {
                            if let Some(before) = ended {
                                report(
                                    self,
                                    p,
                                    false,
                                    format!("the contact already ended ({before}) before this step {ctx}"),
                                    None,
                                );
                            }
                            ended = Some(o);
                        }
                    }
                    // Point where the route belongs: the step that takes the ticket in charge.
                    let taken_at = w
                        .steps
                        .iter()
                        .find(|s| s.name == "take_in_charge")
                        .and_then(|s| s.pointer.clone())
                        .unwrap_or_else(|| last.clone());
                    if is_privacy && taken && !routed {
                        report(
                            self,
                            &taken_at,
                            false,
                            format!("privacy category `{cat_id}` never reaches the privacy team {ctx}"),
                            Some("add `route_to_privacy_team` after `take_in_charge` (sections 3 and 3.5)".into()),
                        );
                    }
                    if !is_privacy && routed {
                        report(
                            self,
                            &last,
                            true,
                            format!(
                                "category `{cat_id}` is not a privacy category but is routed to the privacy team {ctx}"
                            ),
                            None,
                        );
                    }
                    if is_privacy
                        && !taken
                        && let Some(outcome) = w.outcome
                    {
                        // Ended by the bot, out of hours or by an `end` step: no operator at all.
                        let at_step = w
                            .steps
                            .iter()
                            .rev()
                            .find(|s| {
                                matches!(s.detail, Detail::End(_))
                                    || vocabulary::builtin(s.name).is_some_and(|i| i.outcome.is_some())
                            })
                            .and_then(|s| s.pointer.clone())
                            .unwrap_or_else(|| last.clone());
                        unrouted_privacy.entry((at_step, outcome.as_str())).or_default().push(cat_id.clone());
                    }
                    if escalated && !w.steps.iter().any(|s| s.name == "await_resolution_notice") {
                        report(
                            self,
                            &last,
                            true,
                            format!("an escalation is sent but no resolution notice is awaited {ctx}"),
                            None,
                        );
                    }
                    if escalated && cat.pagopa_or_third_parties.is_empty() {
                        report(
                            self,
                            &last,
                            true,
                            format!(
                                "category `{cat_id}` escalates {ctx}, but the summary table gives PagoPA/third parties no duty for it"
                            ),
                            None,
                        );
                    }
                    incident_checks.record(ch_id, cat_id, &w);
                }
            }
        }
        self.privacy_ends_without_the_team(unrouted_privacy);
        self.incident_checks(incident_checks);
    }

    /// `check_active_incidents` types a malfunction report and, with no incident, escalates it
    /// at once: what follows it must say how, one way per outcome of the check.
    fn incident_checks(&mut self, checks: IncidentChecks<'r>) {
        for ((ch_id, cat_id, active), found) in checks.0 {
            let when = if active { "with an active incident" } else { "with no active incident" };
            if found.types.len() != 1 {
                let types: Vec<&str> = found.types.iter().map(|t| t.code()).collect();
                let what = if types.is_empty() { "no type".to_string() } else { types.join(" or ") };
                self.error(
                    found.at.clone(),
                    format!(
                        "on channel `{ch_id}`, category `{cat_id}` {when}: `{CHECK_INCIDENTS}` is followed by {what}"
                    ),
                )
                .help = Some(format!(
                    "the check sets the report's type itself: follow it with one `classify` on every path {when}"
                ));
            }
            if found.targets.len() > 1 {
                let targets: Vec<&str> = found.targets.iter().copied().collect();
                self.error(
                    found.at,
                    format!(
                        "on channel `{ch_id}`, category `{cat_id}` {when}: `{CHECK_INCIDENTS}` escalates at once, to one target, but the flow offers {}",
                        targets.join(", ")
                    ),
                )
                .help = Some("name the one target that receives malfunction reports in this `escalate` step".into());
            }
        }
    }

    /// Section 3.5: privacy requests are taken in charge by the operator service whatever the
    /// channel, so no path of a privacy category may end before the privacy team has it (closed
    /// by the bot, closed out of hours, a call not served).
    fn privacy_ends_without_the_team(&mut self, unrouted: BTreeMap<(String, &'static str), Vec<String>>) {
        for ((pointer, outcome), mut categories) in unrouted {
            categories.sort();
            categories.dedup();
            let msg = format!(
                "privacy requests ({}) can end `{outcome}` here without reaching the privacy team",
                categories.join(", ")
            );
            self.error(pointer, msg).help = Some(
                "section 3.5: privacy requests are taken in charge whatever the channel and the hour; branch on \
                 `privacy_request` before this step and continue with `category_flow`"
                    .into(),
            );
        }
    }

    fn targets(&mut self) {
        let b = self.book;
        for (id, t) in &b.targets {
            let at = format!("/targets/{}", esc(id));
            match (&t.delivery.sqs, &t.delivery.email) {
                (Some(_), Some(_)) => {
                    self.error(
                        format!("{at}/delivery"),
                        format!("target `{id}` has both `sqs` and `email` delivery; choose one"),
                    )
                    .at_key = true;
                }
                (None, None) => {
                    self.error(
                        format!("{at}/delivery"),
                        format!("target `{id}` has no delivery: add `sqs: {{queue: ...}}` or `email: {{to: [...]}}`"),
                    )
                    .at_key = true;
                }
                (Some(sqs), None) => {
                    let ok = !sqs.queue.is_empty()
                        && sqs.queue.len() <= 80
                        && sqs.queue.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                    if !ok {
                        self.error(
                            format!("{at}/delivery/sqs/queue"),
                            format!("`{}` is not a valid SQS queue name (1–80 letters, digits, `-`, `_`)", sqs.queue),
                        );
                    }
                }
                (None, Some(email)) => {
                    if email.to.is_empty() {
                        self.error(format!("{at}/delivery/email/to"), "no recipient address");
                    }
                    for (i, addr) in email.to.iter().enumerate() {
                        if !looks_like_address(addr) {
                            self.error(
                                format!("{at}/delivery/email/to/{i}"),
                                format!("`{addr}` is not an email address"),
                            );
                        }
                    }
                }
            }
            if t.fields.is_empty() {
                self.warn(
                    format!("{at}/fields"),
                    format!("target `{id}` receives no ticket field, not even the reference"),
                );
            }
            for (i, f) in t.fields.iter().enumerate() {
                let here = format!("{at}/fields/{i}");
                if let Some(custom) = f.strip_prefix("custom.") {
                    if self.reference(here.clone(), "custom field", custom, &b.custom_fields)
                        && b.custom_fields[custom].personal
                        && t.party == super::model::TargetParty::ThirdParty
                    {
                        self.warn(here, format!("third party `{id}` receives personal data (`{f}`)")).help =
                            Some("send third parties only what they need (GDPR art. 5(1)(c))".into());
                    }
                } else if !TARGET_FIELDS.contains(&f.as_str()) {
                    let custom: Vec<String> = b.custom_fields.keys().map(|k| format!("custom.{k}")).collect();
                    let known = TARGET_FIELDS.iter().copied().chain(custom.iter().map(String::as_str));
                    let d = Diagnostic::error(here, format!("unknown ticket field `{f}`")).suggest(f, known);
                    self.out.push(d);
                } else if FREE_TEXT_FIELDS.contains(&f.as_str()) && !t.free_text {
                    self.error(
                        here,
                        format!("`{f}` is the requester's free text, which target `{id}` is not cleared to receive"),
                    )
                    .help = Some(
                        "add `free_text: true` to the target to send it, or remove the field: the operator's summary \
                         is the question the target gets"
                            .into(),
                    );
                } else if f.starts_with("requester.") && t.party == super::model::TargetParty::ThirdParty {
                    self.warn(here, format!("third party `{id}` receives personal data (`{f}`)")).help =
                        Some("send third parties only what they need (GDPR art. 5(1)(c))".into());
                }
            }
            if t.free_text && t.party == super::model::TargetParty::ThirdParty {
                self.warn(
                    format!("{at}/free_text"),
                    format!("third party `{id}` receives the requester's free text"),
                )
                .help = Some(
                    "free text may hold any personal data; send third parties only what they need (GDPR art. 5(1)(c))"
                        .into(),
                );
            }
            if let Some(r) = &t.remind_after
                && let Err(e) = super::schedule::business_duration(r)
            {
                self.error(format!("{at}/remind_after"), e);
            }
        }
        let used: BTreeSet<&str> = b
            .flows
            .values()
            .chain(b.channels.values().map(|c| &c.start))
            .flat_map(|steps| {
                let mut v = Vec::new();
                visit(steps, &mut |s| {
                    if let Step::Escalate(e) = s {
                        v.extend(e.escalate.iter().map(String::as_str));
                    }
                });
                v
            })
            .collect();
        for id in b.targets.keys().filter(|id| !used.contains(id.as_str())) {
            self.warn(format!("/targets/{}", esc(id)), format!("target `{id}` is never escalated to")).at_key = true;
        }
    }

    fn sla_and_gdpr(&mut self) {
        let b = self.book;
        self.reference("/sla/schedule".into(), "schedule", &b.sla.schedule, &b.schedules);
        if !super::model::WARN_AT_PERCENT.contains(&b.sla.warn_at_percent) {
            self.error("/sla/warn_at_percent", "the warning threshold must be between 1 and 99 per cent");
        }
        for (t, target) in b.sla.targets.iter() {
            let at = format!("/sla/targets/{t}");
            let first = super::schedule::business_duration(&target.first_response);
            let resolution = super::schedule::business_duration(&target.resolution);
            if let Err(e) = &first {
                self.error(format!("{at}/first_response"), e.clone());
            }
            if let Err(e) = &resolution {
                self.error(format!("{at}/resolution"), e.clone());
            }
            if let (Ok(f), Ok(r)) = (first, resolution)
                && f > r
            {
                self.warn(
                    format!("{at}/first_response"),
                    format!("the first-response target of {t} is longer than its resolution target"),
                );
            }
        }
        for t in TicketType::ALL.iter().filter(|t| **t != TicketType::B && b.sla.targets.get(**t).is_none()) {
            self.warn("/sla/targets", format!("no SLA target for type {t}")).at_key = true;
        }
        for (key, clock) in [
            ("data_subject_request", &b.gdpr.data_subject_request),
            ("breach_notification", &b.gdpr.breach_notification),
        ] {
            let at = format!("/gdpr/{key}");
            if let Err(e) = super::schedule::calendar_span(&clock.deadline) {
                self.error(format!("{at}/deadline"), e);
            }
            for (i, t) in clock.applies_to.iter().enumerate() {
                if !t.is_privacy() {
                    self.error(
                        format!("{at}/applies_to/{i}"),
                        format!("GDPR clocks run on privacy tickets (PQ, PA, PI), not on {t}"),
                    );
                }
            }
        }
        if b.retention.closed_ticket_days == 0 {
            self.error(
                "/retention/closed_ticket_days",
                "closed tickets would be deleted at once; give a retention period in days",
            );
        }
    }

    fn messages(&mut self) {
        let b = self.book;
        for (ch_id, ch) in &b.channels {
            let mut needed = BTreeSet::new();
            let mut collect = |steps: &[Step]| {
                visit(steps, &mut |s| {
                    if let Step::Name(n) = s
                        && let Some(m) = vocabulary::builtin(n).and_then(|i| i.message)
                    {
                        needed.insert(m);
                    }
                })
            };
            collect(&ch.start);
            ch.flows.values().filter_map(|f| b.flows.get(f)).for_each(|f| collect(f));
            for m in needed {
                if !b.messages.contains_key(m) {
                    self.error("/messages", format!("channel `{ch_id}` speaks message `{m}`, which is not defined"))
                        .at_key = true;
                }
            }
        }
        for (id, text) in &b.messages {
            for (lang, t) in text {
                for placeholder in placeholders(t) {
                    if !MESSAGE_PLACEHOLDERS.contains(&placeholder) {
                        let d = Diagnostic::error(
                            format!("/messages/{}/{}", esc(id), esc(lang)),
                            format!("unknown placeholder `{{{placeholder}}}` in message `{id}`"),
                        )
                        .suggest(placeholder, MESSAGE_PLACEHOLDERS.iter().copied())
                        .with_help_if_none(format!(
                            "placeholders: {}",
                            MESSAGE_PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect::<Vec<_>>().join(", ")
                        ));
                        self.out.push(d);
                    }
                }
            }
        }
    }

    fn custom(&mut self) {
        for id in self.book.custom_steps.keys() {
            if vocabulary::builtin(id).is_some() || id == CATEGORY_FLOW {
                self.error(
                    format!("/custom_steps/{}", esc(id)),
                    format!("`{id}` is a built-in step and cannot be redefined"),
                )
                .at_key = true;
            }
        }
    }

    /// API clients: every mapping lands on a category that exists and arrives by API.
    fn clients(&mut self) {
        let b = self.book;
        for (id, client) in &b.clients {
            let at = format!("/clients/{}", esc(id));
            self.text(format!("{at}/name"), &client.name, &format!("the name of client `{id}`"));
            let mappings =
                client.categories.iter().map(|(k, v)| (format!("{at}/categories/{}", esc(k)), Some(k.as_str()), v));
            let default = std::iter::once((format!("{at}/default"), None, &client.default));
            for (pointer, key, ours) in mappings.chain(default) {
                if let Some(key) = key {
                    let segments: Vec<&str> = key.split('/').collect();
                    if segments.len() > 2 || segments.iter().any(|s| s.trim().is_empty()) {
                        self.error(
                            pointer.clone(),
                            format!("`{key}` is not `category` or `category/subcategory` of the client's tree"),
                        )
                        .at_key = true;
                    }
                }
                if !self.reference(pointer.clone(), "category", ours, &b.categories) {
                    continue;
                }
                if let Some(channels) = &b.categories[ours].channels
                    && !b
                        .channels
                        .iter()
                        .any(|(ch, c)| c.kind == crate::domain::ChannelKind::Api && channels.contains(ch))
                {
                    self.error(pointer, format!("category `{ours}` does not arrive on any API channel"));
                }
            }
        }
    }
}

/// The step that checks for incidents; the engine types and escalates after it by the flow.
const CHECK_INCIDENTS: &str = "check_active_incidents";

/// What follows `check_active_incidents`, per channel × category × outcome of the check.
struct IncidentChecks<'r>(BTreeMap<(&'r str, &'r str, bool), AfterCheck<'r>>);

struct AfterCheck<'r> {
    /// Pointer of the check step.
    at: String,
    types: BTreeSet<TicketType>,
    targets: BTreeSet<&'r str>,
}

impl<'r> IncidentChecks<'r> {
    fn new() -> Self {
        Self(BTreeMap::new())
    }

    fn record(&mut self, channel: &'r str, category: &'r str, w: &super::walk::Walk<'r>) {
        let Some(pos) = w.steps.iter().position(|s| s.name == CHECK_INCIDENTS) else {
            return;
        };
        let active = w.consulted.iter().find(|(f, _)| *f == "incident_active").map(|(_, v)| *v);
        for value in [true, false].into_iter().filter(|v| active.is_none_or(|a| a == *v)) {
            let found = self.0.entry((channel, category, value)).or_insert_with(|| AfterCheck {
                at: w.steps[pos].pointer.clone().unwrap_or_default(),
                types: BTreeSet::new(),
                targets: BTreeSet::new(),
            });
            for s in &w.steps[pos + 1..] {
                match &s.detail {
                    Detail::Classify(t) => {
                        found.types.insert(*t);
                    }
                    Detail::Escalate(targets) => found.targets.extend(targets.iter().map(String::as_str)),
                    _ => {}
                }
            }
        }
    }
}

/// Visits every step of a list, branches included.
pub fn visit<'a>(steps: &'a [Step], f: &mut impl FnMut(&'a Step)) {
    for s in steps {
        f(s);
        if let Step::Branch(b) = s {
            visit(&b.then, f);
            visit(&b.otherwise, f);
        }
    }
}

fn describe_facts(consulted: &[(&str, bool)]) -> String {
    if consulted.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = consulted.iter().map(|(f, v)| format!("{f}={v}")).collect();
    format!(" when {}", parts.join(", "))
}

/// `{name}` placeholders in a message.
pub fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

fn looks_like_address(addr: &str) -> bool {
    match addr.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !addr.contains(char::is_whitespace)
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

impl Checker<'_> {
    /// The `email:` block: a real email channel, a sender inside our domains, defined messages.
    fn email(&mut self) {
        let b = self.book;
        let Some(e) = &b.email else {
            return;
        };
        match &e.channel {
            Some(channel)
                if self.reference("/email/channel".into(), "channel", channel, &b.channels)
                    && b.channels[channel].kind != ChannelKind::Email =>
            {
                self.error("/email/channel", format!("channel `{channel}` is not of kind `email`"));
            }
            Some(_) => {}
            None if !b.channels.values().any(|c| c.kind == ChannelKind::Email) => {
                self.error("/email", "inbound mail needs a channel of kind `email`, and the rulebook has none")
                    .at_key = true;
            }
            None => {}
        }
        if e.our_domains.is_empty() {
            self.error("/email/our_domains", "at least one domain is needed: the one of `from`");
        }
        for (i, d) in e.our_domains.iter().enumerate() {
            let ok = d.contains('.')
                && !d.starts_with('.')
                && !d.ends_with('.')
                && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !ok {
                self.error(format!("/email/our_domains/{i}"), format!("`{d}` is not a domain name"));
            }
        }
        if !looks_like_address(&e.from) || e.from.contains(['<', '>', ',', ';', '"']) {
            self.error("/email/from", format!("`{}` is not an email address", e.from));
        } else {
            let domain = e.from.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
            let ours = e.our_domains.iter().any(|d| {
                let d = d.to_ascii_lowercase();
                domain == d || domain.ends_with(&format!(".{d}"))
            });
            if !ours {
                self.error(
                    "/email/from",
                    format!("the domain of `{}` is not among `our_domains`, so replies to our mail would not be recognised as ours", e.from),
                );
            }
        }
        for (key, id) in
            [("acknowledgement", &e.acknowledgement), ("acknowledgement_subject", &e.acknowledgement_subject)]
        {
            let at = format!("/email/{key}");
            if !self.reference(at.clone(), "message", id, &b.messages) {
                continue;
            }
            let text = &b.messages[id];
            if key == "acknowledgement" && text.values().any(|t| !t.contains("{reference}")) {
                self.warn(
                    at,
                    format!("message `{id}` does not tell the requester their `{{reference}}` in every language"),
                );
            } else if key == "acknowledgement_subject" && text.values().any(|t| t.contains(['\r', '\n'])) {
                self.error(at, format!("message `{id}` is a subject and cannot span lines"));
            }
        }
    }
}

/// Keys a caller can press on a phone keypad.
fn is_menu_key(key: &str) -> bool {
    (1..=3).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

impl Checker<'_> {
    /// The roles the engine needs filled: the default category, the reminder category, and one
    /// channel per kind that an HTTP entry point serves.
    fn roles(&mut self) {
        let b = self.book;
        let defaults: Vec<&str> = b.categories.iter().filter(|(_, c)| c.default).map(|(id, _)| id.as_str()).collect();
        match defaults.as_slice() {
            [] if !b.categories.is_empty() => {
                let d = self.error("/categories", "no category is `default: true`: a call with no menu choice, a new e-mail or a chat handed to an operator would have no category");
                d.at_key = true;
                d.help = Some("mark the category operators start from (a basic request) with `default: true`".into());
            }
            [] | [_] => {}
            [_, more @ ..] => {
                for id in more {
                    self.error(
                        format!("/categories/{}/default", esc(id)),
                        format!("categories {} are all `default: true`; exactly one may be", defaults.join(", ")),
                    );
                }
            }
        }
        if let [default] = defaults.as_slice() {
            let category = &b.categories[*default];
            // Only API clients always name a category (through their mapping).
            for ch_id in b.channels.iter().filter(|(_, ch)| ch.kind != ChannelKind::Api).map(|(id, _)| id) {
                if category.channels.as_ref().is_some_and(|on| !on.contains(ch_id)) {
                    self.error(
                        format!("/categories/{}/default", esc(default)),
                        format!(
                            "the default category `{default}` does not arrive on channel `{ch_id}`, where a contact may name no category"
                        ),
                    )
                    .help = Some(format!("add `{ch_id}` to `categories.{default}.channels`, or make another category the default"));
                }
            }
        }
        let reminders: Vec<&str> = b.categories.iter().filter(|(_, c)| c.reminder).map(|(id, _)| id.as_str()).collect();
        for id in reminders.iter().skip(1) {
            self.error(
                format!("/categories/{}/reminder", esc(id)),
                format!("categories {} are all `reminder: true`; a reminder gets one category", reminders.join(", ")),
            );
        }
        let email_channel = b.email.as_ref().and_then(|e| {
            e.channel
                .as_deref()
                .or_else(|| b.channels.iter().find(|(_, c)| c.kind == ChannelKind::Email).map(|(id, _)| id.as_str()))
        });
        if let (Some(reminder), Some(email)) = (reminders.first(), email_channel)
            && b.categories[*reminder].channels.as_ref().is_some_and(|on| !on.iter().any(|c| c == email))
        {
            self.error(
                format!("/categories/{}/reminder", esc(reminder)),
                format!("the reminder category `{reminder}` does not arrive on channel `{email}`, where e-mails chasing earlier requests get it"),
            );
        }
        for kind in [ChannelKind::Voice, ChannelKind::Chat, ChannelKind::Api, ChannelKind::Email] {
            let of_kind: Vec<&str> =
                b.channels.iter().filter(|(_, c)| c.kind == kind).map(|(id, _)| id.as_str()).collect();
            // Inbound mail names its channel in `email.channel`.
            let named = kind == ChannelKind::Email && b.email.as_ref().is_some_and(|e| e.channel.is_some());
            if of_kind.len() < 2 || named {
                continue;
            }
            for id in &of_kind[1..] {
                let d = self.error(
                    format!("/channels/{}/kind", esc(id)),
                    format!(
                        "channels {} are all of kind `{kind}`; Sportello's {kind} entry point serves one channel",
                        of_kind.join(", ")
                    ),
                );
                if kind == ChannelKind::Email {
                    d.help = Some("name the one inbound mail opens tickets on in `email.channel`".into());
                }
            }
        }
    }

    /// A channel's bot: a team of its own to hold chats, and the category of a chat it solves.
    fn bot(&mut self, id: &str, ch: &super::model::YamlChannel) {
        let b = self.book;
        let Some(bot) = &ch.bot else {
            return;
        };
        let at = format!("/channels/{}/bot", esc(id));
        if self.reference(format!("{at}/team"), "team", &bot.team, &b.teams) {
            let team = &b.teams[&bot.team];
            let role = if team.default {
                Some("the default team")
            } else if team.privacy {
                Some("the privacy team")
            } else {
                None
            };
            if let Some(role) = role {
                self.error(
                    format!("{at}/team"),
                    format!("team `{}` is {role}: its operators would see chats the bot still holds", bot.team),
                )
                .help = Some("give the bot a team of its own under `teams`".into());
            }
        }
        if self.reference(format!("{at}/category"), "category", &bot.category, &b.categories) {
            let category = &b.categories[&bot.category];
            if category.channels.as_ref().is_some_and(|on| !on.iter().any(|c| c == id)) {
                self.error(
                    format!("{at}/category"),
                    format!("category `{}` does not arrive on channel `{id}`", bot.category),
                );
            } else if ch.flows.contains_key(&bot.category) {
                let solved = Facts { bot_resolved: true, ..Facts::default() };
                let w = walk(b, id, &bot.category, solved, false);
                if w.problems.is_empty() && w.outcome != Some(Outcome::AutoResolved) {
                    self.warn(
                        format!("{at}/category"),
                        format!(
                            "a chat the bot solves is filed as `{}`, but its path on channel `{id}` does not end `auto_resolved`",
                            bot.category
                        ),
                    );
                }
            }
        }
    }

    /// The IVR menu: keys a caller can press, each to a category that arrives by phone.
    fn menu(&mut self, id: &str, ch: &super::model::YamlChannel) {
        let b = self.book;
        let at = format!("/channels/{}/menu", esc(id));
        if !ch.menu.is_empty() && ch.kind != ChannelKind::Voice {
            self.error(
                at.clone(),
                format!("channel `{id}` is of kind `{}`: only a voice channel has an IVR menu", ch.kind),
            )
            .at_key = true;
        }
        for (key, category) in &ch.menu {
            let here = format!("{at}/{}", esc(key));
            if !is_menu_key(key) {
                let d = self.error(here.clone(), format!("`{key}` is not a key a caller can press"));
                d.at_key = true;
                d.help = Some("write one to three of 0-9, `*` and `#`".into());
            }
            if self.reference(here.clone(), "category", category, &b.categories)
                && b.categories[category].channels.as_ref().is_some_and(|on| !on.iter().any(|c| c == id))
            {
                self.error(here, format!("category `{category}` does not arrive on channel `{id}`"));
            }
        }
    }
}
