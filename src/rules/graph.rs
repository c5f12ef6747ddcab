//! `rules graph`: a Mermaid flowchart of each channel's flows.

use super::model::{Rulebook, Step};
use super::vocabulary::CATEGORY_FLOW;
use std::fmt::Write as _;

struct Drawer<'r> {
    book: &'r Rulebook,
    out: String,
    next_id: usize,
    prefix: String,
}

impl<'r> Drawer<'r> {
    fn node(&mut self, label: &str, shape: (&str, &str)) -> String {
        self.next_id += 1;
        let id = format!("{}{}", self.prefix, self.next_id);
        let label = label.replace('"', "'");
        let _ = writeln!(self.out, "    {id}{}\"{label}\"{}", shape.0, shape.1);
        id
    }

    fn edge(&mut self, from: &[(String, Option<String>)], to: &str) {
        for (f, label) in from {
            match label {
                Some(l) => {
                    let _ = writeln!(self.out, "    {f} -->|{l}| {to}");
                }
                None => {
                    let _ = writeln!(self.out, "    {f} --> {to}");
                }
            }
        }
    }

    /// Draws a list of steps after `from`; returns the loose ends, or none if every path ended.
    fn steps(
        &mut self,
        steps: &'r [Step],
        mut from: Vec<(String, Option<String>)>,
        channel: &str,
        depth: usize,
    ) -> Vec<(String, Option<String>)> {
        for step in steps {
            if from.is_empty() || depth > 16 {
                break;
            }
            match step {
                Step::Name(n) if n == CATEGORY_FLOW => {
                    let switch = self.node("category?", ("{", "}"));
                    self.edge(&from, &switch);
                    let mut ends = Vec::new();
                    let ch = &self.book.channels[channel];
                    for (category, flow) in &ch.flows {
                        if let Some(steps) = self.book.flows.get(flow) {
                            ends.extend(self.steps(
                                steps,
                                vec![(switch.clone(), Some(category.clone()))],
                                channel,
                                depth + 1,
                            ));
                        }
                    }
                    from = ends;
                }
                Step::Name(n) => {
                    // Steps that end the contact are drawn as terminals.
                    let ends = super::vocabulary::builtin(n).is_some_and(|s| s.outcome.is_some());
                    let id = self.node(n, if ends { ("([", "])") } else { ("[", "]") });
                    self.edge(&from, &id);
                    from = vec![(id, None)];
                }
                Step::Classify(c) => {
                    let id = self.node(&format!("classify {}", c.classify), ("[", "]"));
                    self.edge(&from, &id);
                    from = vec![(id, None)];
                }
                Step::Escalate(e) => {
                    let id = self.node(&format!("escalate to {}", e.escalate.join(" / ")), ("[/", "/]"));
                    self.edge(&from, &id);
                    from = vec![(id, None)];
                }
                Step::Flow(f) => {
                    if let Some(steps) = self.book.flows.get(&f.flow) {
                        from = self.steps(steps, from, channel, depth + 1);
                    }
                }
                Step::End(e) => {
                    let id = self.node(&format!("end: {}", e.end), ("([", "])"));
                    self.edge(&from, &id);
                    from = Vec::new();
                }
                Step::Branch(b) => {
                    let id = self.node(&format!("{}?", b.condition), ("{", "}"));
                    self.edge(&from, &id);
                    let mut ends = self.steps(&b.then, vec![(id.clone(), Some("yes".into()))], channel, depth + 1);
                    ends.extend(self.steps(&b.otherwise, vec![(id, Some("no".into()))], channel, depth + 1));
                    from = ends;
                }
            }
        }
        from
    }
}

/// One Mermaid `flowchart` per channel, each in a fenced block, with a heading.
pub fn mermaid(book: &Rulebook) -> String {
    let mut doc = String::new();
    for (id, ch) in &book.channels {
        let mut d = Drawer { book, out: String::new(), next_id: 0, prefix: format!("{id}_") };
        let start = d.node(&format!("{id} contact"), ("((", "))"));
        d.steps(&ch.start, vec![(start, None)], id, 0);
        let _ = write!(doc, "### {id}\n\n```mermaid\nflowchart TD\n{}```\n\n", d.out);
    }
    doc
}
