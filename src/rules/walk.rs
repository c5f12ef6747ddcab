//! Walking a contact through the flows of a rulebook, given the facts. Used by evaluation
//! (one contact) and by validation (every channel × category × combination of facts).

use super::model::{Rulebook, Step};
use super::vocabulary::{self, CATEGORY_FLOW};
use crate::domain::{Outcome, Party, TicketType};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Facts {
    pub in_service_hours: bool,
    pub bot_resolved: bool,
    pub operator_can_solve: bool,
    pub incident_active: bool,
    /// Computed from the category: its types are privacy types (PQ, PA, PI).
    pub privacy_request: bool,
}

impl Facts {
    pub fn get(&self, name: &str) -> Option<bool> {
        match name {
            "in_service_hours" => Some(self.in_service_hours),
            "bot_resolved" => Some(self.bot_resolved),
            "operator_can_solve" => Some(self.operator_can_solve),
            "incident_active" => Some(self.incident_active),
            "privacy_request" => Some(self.privacy_request),
            _ => None,
        }
    }

    pub fn set(&mut self, name: &str, value: bool) -> bool {
        let slot = match name {
            "in_service_hours" => &mut self.in_service_hours,
            "bot_resolved" => &mut self.bot_resolved,
            "operator_can_solve" => &mut self.operator_can_solve,
            "incident_active" => &mut self.incident_active,
            _ => return false,
        };
        *slot = value;
        true
    }

    /// The position of these facts among [`Facts::all`] (`privacy_request` aside).
    pub fn index(&self) -> usize {
        usize::from(self.in_service_hours)
            | usize::from(self.bot_resolved) << 1
            | usize::from(self.operator_can_solve) << 2
            | usize::from(self.incident_active) << 3
    }

    /// Whether these facts take the path that consulted `consulted`: a path depends only on the
    /// facts it asked for, with the values it found.
    pub fn take<S: AsRef<str>>(&self, consulted: &[(S, bool)]) -> bool {
        consulted.iter().all(|(f, v)| self.get(f.as_ref()) == Some(*v))
    }

    /// Every combination of the four facts.
    pub fn all() -> impl Iterator<Item = Facts> {
        (0u8..16).map(|bits| Facts {
            in_service_hours: bits & 1 != 0,
            bot_resolved: bits & 2 != 0,
            operator_can_solve: bits & 4 != 0,
            incident_active: bits & 8 != 0,
            privacy_request: false,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail<'r> {
    Plain,
    Classify(TicketType),
    Escalate(&'r [String]),
    End(Outcome),
}

/// One step the contact went through.
#[derive(Debug, Clone)]
pub struct Taken<'r> {
    pub name: &'r str,
    pub detail: Detail<'r>,
    pub actor: Party,
    /// The named flow the step belongs to (`None` for a channel's start steps).
    pub flow: Option<&'r str>,
    /// JSON pointer of the step in the rulebook, when recorded.
    pub pointer: Option<String>,
}

/// What went wrong while walking: each becomes a located error in validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkProblem {
    NoFlowForCategory { pointer: String },
    UnknownFlow { name: String, pointer: String },
    Recursion { name: String, pointer: String },
    CategoryFlowInsideFlow { pointer: String },
    UnknownFact { name: String, pointer: String },
}

#[derive(Debug, Clone)]
pub struct Walk<'r> {
    pub steps: Vec<Taken<'r>>,
    pub outcome: Option<Outcome>,
    pub ticket_type: Option<TicketType>,
    pub team: &'r str,
    pub escalate_to: Vec<&'r str>,
    /// The facts the path depended on, in the order they were asked.
    pub consulted: Vec<(&'r str, bool)>,
    pub problems: Vec<WalkProblem>,
}

impl Walk<'_> {
    pub fn step_names(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.name).collect()
    }
}

struct Walker<'r> {
    book: &'r Rulebook,
    channel: &'r str,
    category: &'r str,
    facts: Facts,
    record: bool,
    privacy_team: Option<&'r str>,
    routed_to_privacy: bool,
    active_flows: Vec<&'r str>,
    walk: Walk<'r>,
}

const MAX_FLOW_DEPTH: usize = 32;

/// Walks `category` on `channel`. With `record`, each step keeps its JSON pointer for messages.
pub fn walk<'r>(book: &'r Rulebook, channel: &'r str, category: &'r str, mut facts: Facts, record: bool) -> Walk<'r> {
    facts.privacy_request = book.categories.get(category).is_some_and(|c| c.types.iter().any(|t| t.is_privacy()));
    let default_team = book.teams.iter().find(|(_, t)| t.default).map(|(id, _)| id.as_str()).unwrap_or("");
    let mut walker = Walker {
        book,
        channel,
        category,
        facts,
        record,
        privacy_team: book.teams.iter().find(|(_, t)| t.privacy).map(|(id, _)| id.as_str()),
        routed_to_privacy: false,
        active_flows: Vec::new(),
        walk: Walk {
            steps: Vec::new(),
            outcome: None,
            ticket_type: None,
            team: default_team,
            escalate_to: Vec::new(),
            consulted: Vec::new(),
            problems: Vec::new(),
        },
    };
    if let Some(ch) = book.channels.get(channel) {
        let base = walker.pointer(|| format!("/channels/{channel}/start"));
        let _ = walker.steps(&ch.start, None, base.as_deref());
    }
    walker.walk
}

/// `base/index`: built for every step of a recorded walk, so without the formatting machinery.
fn child_pointer(base: &str, index: usize) -> String {
    let mut pointer = String::with_capacity(base.len() + 4);
    pointer.push_str(base);
    pointer.push('/');
    match u8::try_from(index) {
        Ok(digit @ 0..=9) => pointer.push(char::from(b'0' + digit)),
        _ => pointer.push_str(&index.to_string()),
    }
    pointer
}

/// Walking stops early at an `end` step.
struct Ended;

impl<'r> Walker<'r> {
    fn pointer(&self, make: impl FnOnce() -> String) -> Option<String> {
        self.record.then(make)
    }

    fn steps(&mut self, steps: &'r [Step], flow: Option<&'r str>, base: Option<&str>) -> Result<(), Ended> {
        for (i, step) in steps.iter().enumerate() {
            let here = base.map(|b| child_pointer(b, i));
            self.step(step, flow, here)?;
        }
        Ok(())
    }

    fn take(&mut self, name: &'r str, detail: Detail<'r>, flow: Option<&'r str>, pointer: Option<String>) {
        let actor = match vocabulary::builtin(name) {
            Some(info) => info.actor,
            None if name == "end" => Party::System,
            None => self.book.custom_steps.get(name).map(|c| c.actor).unwrap_or(Party::OperatorService),
        };
        let actor = if actor == Party::OperatorService && self.routed_to_privacy { Party::PrivacyTeam } else { actor };
        self.walk.steps.push(Taken { name, detail, actor, flow, pointer });
    }

    fn step(&mut self, step: &'r Step, flow: Option<&'r str>, here: Option<String>) -> Result<(), Ended> {
        match step {
            Step::Name(name) if name == CATEGORY_FLOW => {
                if flow.is_some() {
                    self.walk.problems.push(WalkProblem::CategoryFlowInsideFlow { pointer: here.unwrap_or_default() });
                    return Ok(());
                }
                let target = self.book.channels.get(self.channel).and_then(|c| c.flows.get(self.category));
                match target {
                    Some(name) => self.include(name, here),
                    None => {
                        self.walk.problems.push(WalkProblem::NoFlowForCategory { pointer: here.unwrap_or_default() });
                        Ok(())
                    }
                }
            }
            Step::Name(name) => {
                if let Some(info) = vocabulary::builtin(name) {
                    if let Some(outcome) = info.outcome {
                        self.walk.outcome = Some(outcome);
                    }
                    match name.as_str() {
                        "auto_resolve" => self.walk.ticket_type = Some(TicketType::B),
                        "route_to_privacy_team" => {
                            self.take(name, Detail::Plain, flow, here);
                            self.routed_to_privacy = true;
                            if let Some(team) = self.privacy_team {
                                self.walk.team = team;
                            }
                            return Ok(());
                        }
                        _ => {}
                    }
                }
                self.take(name, Detail::Plain, flow, here);
                Ok(())
            }
            Step::Classify(c) => {
                self.walk.ticket_type = Some(c.classify);
                self.take("classify", Detail::Classify(c.classify), flow, here);
                Ok(())
            }
            Step::Escalate(e) => {
                for target in &e.escalate {
                    if !self.walk.escalate_to.contains(&target.as_str()) {
                        self.walk.escalate_to.push(target);
                    }
                }
                self.take("escalate", Detail::Escalate(&e.escalate), flow, here);
                Ok(())
            }
            Step::Flow(f) => self.include(&f.flow, here),
            Step::End(e) => {
                self.walk.outcome = Some(e.end);
                self.take("end", Detail::End(e.end), flow, here);
                Err(Ended)
            }
            Step::Branch(b) => {
                let Some(value) = self.facts.get(&b.condition) else {
                    self.walk.problems.push(WalkProblem::UnknownFact {
                        name: b.condition.clone(),
                        pointer: here.map(|h| h + "/if").unwrap_or_default(),
                    });
                    return Ok(());
                };
                if !self.walk.consulted.iter().any(|(f, _)| *f == b.condition) {
                    self.walk.consulted.push((&b.condition, value));
                }
                let (branch, key) = if value { (&b.then, "then") } else { (&b.otherwise, "else") };
                let base = here.map(|h| format!("{h}/{key}"));
                self.steps(branch, flow, base.as_deref())
            }
        }
    }

    fn include(&mut self, name: &'r str, here: Option<String>) -> Result<(), Ended> {
        let Some((key, steps)) = self.book.flows.get_key_value(name) else {
            self.walk
                .problems
                .push(WalkProblem::UnknownFlow { name: name.to_string(), pointer: here.unwrap_or_default() });
            return Ok(());
        };
        if self.active_flows.contains(&key.as_str()) || self.active_flows.len() >= MAX_FLOW_DEPTH {
            self.walk
                .problems
                .push(WalkProblem::Recursion { name: name.to_string(), pointer: here.unwrap_or_default() });
            return Ok(());
        }
        self.active_flows.push(key);
        let base = self.pointer(|| format!("/flows/{key}"));
        let result = self.steps(steps, Some(key), base.as_deref());
        self.active_flows.pop();
        result
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_step_pointer_is_its_list_and_its_index() {
        for index in [0, 7, 9, 10, 255, 256, 1234] {
            assert_eq!(super::child_pointer("/flows/a~1b", index), format!("/flows/a~1b/{index}"));
        }
    }
}
