//! `rules explain`: the path of one contact, step by step, as people read it.

use super::engine::{Decision, Rules};
use super::resolved::{StepDetail, TargetDelivery};
use super::vocabulary;
use std::fmt::Write as _;

fn step_meaning(rules: &Rules, name: &str) -> String {
    match vocabulary::builtin(name) {
        Some(info) => format!("{} (§{})", info.meaning, info.section),
        None => rules.custom_steps.get(name).map(|c| c.description.clone()).unwrap_or_default(),
    }
}

fn text<'a>(rules: &Rules, t: &'a super::model::Text) -> &'a str {
    rules.text(t, rules.default_language())
}

pub fn render(rules: &Rules, decision: &Decision<'_>, channel: &str, category: &str) -> String {
    let mut out = String::new();
    let w = decision.path;
    let cat = &rules.categories[category];
    let _ = writeln!(out, "contact:   {channel} / {category} ({})", text(rules, &cat.name));
    let _ = writeln!(out, "at:        {}", decision.local_time.strftime("%A %Y-%m-%d %H:%M %Z (%:z)"));
    let hours = if decision.in_service_hours { "yes".to_string() } else { "no".to_string() };
    let mut hours_line = format!("in service hours: {hours}");
    if let Some(reason) = decision.closure_reason {
        let _ = write!(hours_line, " — closed today: {reason}");
    }
    if let Some(next) = &decision.next_opening {
        let _ = write!(hours_line, " — operators available from {}", next.strftime("%a %Y-%m-%d %H:%M"));
    }
    let _ = writeln!(out, "{hours_line}");
    for (fact, value) in &w.consulted {
        if fact != "in_service_hours" {
            let _ = writeln!(out, "fact:      {fact} = {value}");
        }
    }
    let _ = writeln!(out, "\nsteps:");
    let what = |s: &super::resolved::PathStep| {
        let detail = match &s.detail {
            StepDetail::Plain => String::new(),
            StepDetail::Classify(t) => format!(" → {t} ({})", t.name()),
            StepDetail::Escalate(targets) => {
                let ids: Vec<&str> = targets.iter().map(|t| rules.targets.key(*t).as_str()).collect();
                format!(" → {}", ids.join(" and/or "))
            }
            StepDetail::End(o) => format!(" → {o}"),
        };
        format!("{}{detail}", s.name)
    };
    // Columns as wide as their longest entry, so long step names and ids keep them aligned.
    let step_width = w.steps.iter().map(|s| what(s).chars().count()).max().unwrap_or(0);
    let actor_width = w.steps.iter().map(|s| s.actor.label().chars().count()).max().unwrap_or(0);
    let number_width = w.steps.len().to_string().len().max(2);
    for (i, s) in w.steps.iter().enumerate() {
        let via = s.flow.map(|f| format!("  [flow {}]", rules.flows.key(f))).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:>number_width$}. {:<step_width$}  {:<actor_width$}  {}{}",
            i + 1,
            what(s),
            s.actor.label(),
            step_meaning(rules, &s.name),
            via
        );
        let lang = rules.default_language();
        if let Some(message) = vocabulary::builtin(&s.name).and_then(|i| i.message).and_then(|m| rules.message(m, lang))
        {
            let said = rules.fill(message, decision, lang, channel);
            let _ = writeln!(out, "      says: \"{said}\"");
        }
        if s.name == "answer_from_knowledge_base" || s.name == "give_self_service_directions" {
            for a in rules.knowledge.for_category(category, lang).take(3) {
                let _ = writeln!(out, "      article: {} — {}", a.meta.id, a.meta.title);
            }
        }
    }
    let _ = writeln!(
        out,
        "\noutcome:     {}",
        w.outcome.map(|o| o.to_string()).unwrap_or_else(|| "(none: the path does not end)".into())
    );
    let type_line = match w.ticket_type {
        Some(t) => format!("{t} ({})", t.name()),
        None => "(not classified)".into(),
    };
    let _ = writeln!(out, "ticket type: {type_line}");
    let team_name = text(rules, &rules.teams[w.team].name);
    let _ = writeln!(out, "team:        {} ({team_name})", decision.team);
    if w.escalate_to.is_empty() {
        let _ = writeln!(out, "targets:     none");
    } else {
        let _ = writeln!(out, "targets:");
        for t in &w.escalate_to {
            let target = &rules.targets[*t];
            let t = rules.targets.key(*t);
            let how = match &target.delivery {
                TargetDelivery::Queue { queue } => format!("SQS queue {queue}"),
                TargetDelivery::Email { to } => format!("email to {}", to.join(", ")),
            };
            let _ =
                writeln!(out, "  - {t} ({}) by {how}; fields: {}", text(rules, &target.name), target.fields.join(", "));
        }
    }
    if decision.deadlines.is_empty() {
        let _ = writeln!(out, "deadlines:   none");
    } else {
        let _ = writeln!(out, "deadlines:");
        let width = decision.deadlines.iter().map(|d| d.kind.to_string().chars().count()).max().unwrap_or(0);
        for d in &decision.deadlines {
            let kind = d.kind.to_string();
            let _ = writeln!(out, "  - {kind:<width$}  {}  ({})", d.due.strftime("%a %Y-%m-%d %H:%M %Z"), d.basis);
        }
    }
    out
}
