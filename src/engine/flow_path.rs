//! The path the rulebook gives a ticket, as a tree an operator can read: the steps of its
//! channel × category from the operator's side, forking where the flow branches on a fact
//! (can the operator solve it, is an incident active), each step marked done, current or ahead
//! from what the ticket's events record, and the arms the ticket did not take marked so.

use crate::domain::{Event, EventKind, Party, Ticket, TicketType};
use crate::rules::Model;
use crate::rules::resolved::StepDetail;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepMark {
    Done,
    Current,
    Ahead,
    /// On an arm of a branch the ticket did not take.
    NotTaken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkedStep {
    /// The vocabulary's step name (`take_in_charge`, `escalate`...).
    pub name: String,
    /// The type of a `classify`, the targets of an `escalate`.
    pub ticket_type: Option<TicketType>,
    pub targets: Vec<String>,
    pub actor: Party,
    pub mark: StepMark,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathNode {
    Step(MarkedStep),
    /// The flow asks a fact; each arm is what follows one answer.
    Branch {
        fact: String,
        arms: Vec<Arm>,
        current: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arm {
    pub value: bool,
    /// The ticket went this way (`Some(true)`), not this way (`Some(false)`), or it is not
    /// known yet.
    pub taken: Option<bool>,
    pub nodes: Vec<PathNode>,
}

/// One operator path of the flow, with the facts it consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    steps: Vec<MarkedStep>,
    facts: Vec<(String, bool)>,
    ticket_type: Option<TicketType>,
}

impl Route {
    fn escalates(&self) -> bool {
        self.steps.iter().any(|s| s.name == "escalate")
    }
}

fn same(a: &MarkedStep, b: &MarkedStep) -> bool {
    a.name == b.name && a.ticket_type == b.ticket_type && a.targets == b.targets
}

/// What the ticket's story says about the routes: the one(s) it can still be on.
struct Known<'a> {
    ticket: &'a Ticket,
    events: &'a [Event],
    privacy_team: Option<&'a str>,
}

impl Known<'_> {
    fn has(&self, kind: EventKind) -> bool {
        self.events.iter().any(|e| e.kind == kind)
    }

    fn noted_step(&self, step: &str) -> bool {
        self.events
            .iter()
            .any(|e| e.kind == EventKind::Note && e.detail.get("step").and_then(|s| s.as_str()) == Some(step))
    }

    /// Whether a step has its own record; `None` for steps only a later one shows done.
    fn done(&self, step: &MarkedStep) -> Option<bool> {
        let t = self.ticket;
        Some(match step.name.as_str() {
            "take_in_charge" => self.has(EventKind::TakenInCharge),
            "classify" => t.ticket_type.is_some(),
            "route_to_privacy_team" => self.privacy_team == Some(t.team.as_str()),
            "check_active_incidents" | "check_referenced_ticket_status" => self.noted_step(&step.name),
            "close_contact" => self.has(EventKind::ContactClosed),
            "escalate" => step.targets.iter().any(|target| t.escalations.iter().any(|e| &e.target == target)),
            "await_resolution_notice" => {
                !t.escalations.is_empty() && t.escalations.iter().all(|e| e.notice_at.is_some())
            }
            "resolve" => self.has(EventKind::Resolved) || self.has(EventKind::AutoResolved),
            "compose_answer"
            | "answer_from_knowledge_base"
            | "give_self_service_directions"
            | "provide_restoration_info" => self.has(EventKind::Answered),
            _ if matches!(step.actor, Party::System | Party::Bot) => true,
            _ => return None,
        })
    }

    /// Whether the ticket went down a route, as far as its type and escalations tell.
    fn fits(&self, route: &Route) -> Option<bool> {
        let t = self.ticket;
        if let Some(ty) = t.ticket_type
            && route.ticket_type != Some(ty)
            && route.steps.iter().any(|s| s.name == "classify")
        {
            return Some(false);
        }
        if !t.escalations.is_empty() {
            return Some(route.escalates());
        }
        if self.has(EventKind::Resolved) {
            return Some(!route.escalates());
        }
        None
    }
}

/// The tree of the ticket's flow with its progress marked; empty when the ticket has no
/// category yet or its flow has no operator path.
pub fn flow_path(model: &Model, ticket: &Ticket, events: &[Event]) -> Vec<PathNode> {
    let Some(route) = ticket.category.as_deref().and_then(|category| model.route_of(&ticket.channel, category)) else {
        return Vec::new();
    };
    let mut routes: Vec<Route> = Vec::new();
    for path in route.paths.iter().filter(|p| p.has_step("take_in_charge")) {
        let steps = path
            .steps
            .iter()
            .map(|s| MarkedStep {
                name: s.name.clone(),
                ticket_type: match &s.detail {
                    StepDetail::Classify(t) => Some(*t),
                    _ => None,
                },
                targets: match &s.detail {
                    StepDetail::Escalate(targets) => {
                        targets.iter().map(|t| model.targets.key(*t).to_string()).collect()
                    }
                    _ => Vec::new(),
                },
                actor: s.actor,
                mark: StepMark::Ahead,
            })
            .collect();
        let route = Route { steps, facts: path.consulted.clone(), ticket_type: path.ticket_type };
        if !routes
            .iter()
            .any(|r| r.steps.len() == route.steps.len() && r.steps.iter().zip(&route.steps).all(|(a, b)| same(a, b)))
        {
            routes.push(route);
        }
    }
    let known = Known { ticket, events, privacy_team: model.privacy_team().map(|t| t.as_str()) };
    let mut tree = build(&routes.iter().collect::<Vec<_>>(), 0, &known);
    let mut state = Marking { current_set: false };
    mark(&mut tree, &known, &mut state, true);
    tree
}

fn build(routes: &[&Route], from: usize, known: &Known<'_>) -> Vec<PathNode> {
    let mut nodes = Vec::new();
    let Some(first) = routes.first() else {
        return nodes;
    };
    let mut at = from;
    loop {
        let step = first.steps.get(at);
        let shared = step.is_some_and(|s| routes.iter().all(|r| r.steps.get(at).is_some_and(|o| same(o, s))));
        if !shared {
            break;
        }
        nodes.push(PathNode::Step(first.steps[at].clone()));
        at += 1;
    }
    if routes.iter().all(|r| r.steps.len() <= at) {
        return nodes;
    }
    // The first fact the routes answer differently is where they part.
    let differing = first.facts.iter().map(|(f, _)| f).find(|fact| {
        let values: BTreeSet<Option<bool>> =
            routes.iter().map(|r| r.facts.iter().find(|(f, _)| f == *fact).map(|(_, v)| *v)).collect();
        values.len() > 1
    });
    match differing {
        Some(fact) => {
            let mut arms = Vec::new();
            for value in [true, false] {
                let arm: Vec<&Route> =
                    routes.iter().copied().filter(|r| r.facts.iter().any(|(f, v)| f == fact && *v == value)).collect();
                if arm.is_empty() {
                    continue;
                }
                let fits: Vec<Option<bool>> = arm.iter().map(|r| known.fits(r)).collect();
                let taken = if fits.contains(&Some(true)) {
                    Some(true)
                } else if fits.iter().all(|f| *f == Some(false)) {
                    Some(false)
                } else {
                    None
                };
                arms.push(Arm { value, taken, nodes: build(&arm, at, known) });
            }
            // Only one arm can be the ticket's: a second "taken" means the records cannot tell.
            if arms.iter().filter(|a| a.taken == Some(true)).count() > 1 {
                for a in &mut arms {
                    a.taken = None;
                }
            }
            nodes.push(PathNode::Branch { fact: fact.clone(), arms, current: false });
        }
        None => {
            // Routes that differ without a fact between them: show each as its own arm.
            let arms =
                routes.iter().map(|r| Arm { value: true, taken: None, nodes: build(&[*r], at, known) }).collect();
            nodes.push(PathNode::Branch { fact: String::new(), arms, current: false });
        }
    }
    nodes
}

struct Marking {
    current_set: bool,
}

/// Marks steps in path order. `on_path` is false inside an arm not taken. A step without a
/// record of its own is done when a later step of the same run is.
fn mark(nodes: &mut [PathNode], known: &Known<'_>, state: &mut Marking, on_path: bool) {
    let done: Vec<Option<bool>> = nodes
        .iter()
        .map(|n| match n {
            PathNode::Step(s) => known.done(s),
            PathNode::Branch { .. } => None,
        })
        .collect();
    let later_done = |i: usize| done[i + 1..].contains(&Some(true)) || branch_done(&nodes[i + 1..], known);
    let flags: Vec<bool> = done
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Some(d) => *d,
            None => later_done(i),
        })
        .collect();
    for (node, is_done) in nodes.iter_mut().zip(flags) {
        match node {
            PathNode::Step(s) => {
                s.mark = if !on_path {
                    StepMark::NotTaken
                } else if is_done {
                    StepMark::Done
                } else if !state.current_set {
                    state.current_set = true;
                    StepMark::Current
                } else {
                    StepMark::Ahead
                };
            }
            PathNode::Branch { arms, current, .. } => {
                let chosen = arms.iter().any(|a| a.taken == Some(true));
                if on_path && !chosen && !state.current_set {
                    // The ticket stands at the fork: what happens next is the operator's call.
                    *current = true;
                    state.current_set = true;
                }
                for arm in arms {
                    let arm_on_path = on_path && arm.taken == Some(true);
                    mark(&mut arm.nodes, known, state, arm_on_path);
                    if on_path && !chosen {
                        unmark_to_ahead(&mut arm.nodes);
                    }
                }
            }
        }
    }
}

/// Whether a branch among `nodes` has a step done on the arm the ticket took.
fn branch_done(nodes: &[PathNode], known: &Known<'_>) -> bool {
    nodes.iter().any(|n| match n {
        PathNode::Step(s) => known.done(s) == Some(true),
        PathNode::Branch { arms, .. } => {
            arms.iter().filter(|a| a.taken == Some(true)).any(|a| branch_done(&a.nodes, known))
        }
    })
}

fn unmark_to_ahead(nodes: &mut [PathNode]) {
    for n in nodes {
        match n {
            PathNode::Step(s) => s.mark = StepMark::Ahead,
            PathNode::Branch { arms, current, .. } => {
                *current = false;
                for a in arms {
                    unmark_to_ahead(&mut a.nodes);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, ChannelKind, Escalation, TicketState};
    use crate::rules::Rules;
    use jiff::Timestamp;

    fn rules() -> Rules {
        Rules::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap()
    }

    fn steps(nodes: &[PathNode]) -> Vec<(String, StepMark)> {
        let mut out = Vec::new();
        for n in nodes {
            match n {
                PathNode::Step(s) => out.push((s.name.clone(), s.mark)),
                PathNode::Branch { arms, current, fact } => {
                    out.push((format!("{fact}?{}", if *current { " (current)" } else { "" }), StepMark::Ahead));
                    for a in arms {
                        out.push((format!("{}:{:?}", a.value, a.taken), StepMark::Ahead));
                        out.extend(steps(&a.nodes));
                    }
                }
            }
        }
        out
    }

    fn event(t: &Ticket, kind: EventKind) -> Event {
        Event {
            ticket_id: t.id.clone(),
            at: t.created_at,
            actor: Actor::system(),
            kind,
            detail: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_specialist_mail_forks_nowhere_and_marks_where_it_stands() {
        let r = rules();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut t = Ticket::new("email", ChannelKind::Email, "first_level", now);
        t.category = Some("specialist_support".into());
        let path = flow_path(&r, &t, &[]);
        let names: Vec<_> = steps(&path);
        assert_eq!(names[0], ("take_in_charge".to_string(), StepMark::Current));
        assert!(names.iter().skip(1).all(|(_, m)| *m == StepMark::Ahead));
        t.state = TicketState::AwaitingResolutionNotice;
        t.ticket_type = Some(TicketType::A);
        t.escalations.push(Escalation {
            escalation_id: "e".into(),
            target: "third_parties".into(),
            sent_at: now,
            notice_at: None,
            notice: None,
            due: None,
            reminded_at: None,
        });
        let events = [event(&t, EventKind::TakenInCharge), event(&t, EventKind::Classified)];
        let marks = steps(&flow_path(&r, &t, &events));
        let current: Vec<_> = marks.iter().filter(|(_, m)| *m == StepMark::Current).collect();
        assert_eq!(current, [&("await_resolution_notice".to_string(), StepMark::Current)], "{marks:?}");
    }

    #[test]
    fn an_advanced_request_forks_on_whether_the_operator_can_solve_it() {
        let r = rules();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut t = Ticket::new("email", ChannelKind::Email, "first_level", now);
        t.category = Some("advanced_info".into());
        t.state = TicketState::InProgress;
        t.ticket_type = Some(TicketType::A);
        let events = [event(&t, EventKind::TakenInCharge), event(&t, EventKind::Classified)];
        let path = flow_path(&r, &t, &events);
        let branch = path.iter().find_map(|n| match n {
            PathNode::Branch { fact, current, arms } => Some((fact.clone(), *current, arms.len())),
            _ => None,
        });
        assert_eq!(branch, Some(("operator_can_solve".to_string(), true, 2)), "{:?}", steps(&path));
    }
}
