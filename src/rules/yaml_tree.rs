//! The rulebook's JSON tree built from the same YAML parser events that locate its nodes
//! (`SourceMap`), so that a `rules check` scans the text once instead of twice.
//!
//! Only the shape rulebooks are written in is built here: mappings with string keys, each once,
//! sequences, scalars, anchors and aliases within a small budget, and merge keys (`<<: *anchor`,
//! the mapping's own keys taking precedence); no tags or directives, one document. Anything else
//! (and a syntax error) gives no tree, and the loader reads the text with serde-saphyr as before,
//! so its messages are unchanged; a test checks the two agree on every broken rulebook case.
//! Scalars get serde-saphyr's types: a plain word is a string, and any plain scalar that may be a
//! number, a boolean or a null is typed by serde-saphyr itself.

use serde_json::{Map, Value};
use serde_saphyr::granit_parser::{Event, ScalarStyle};
use std::collections::HashMap;

/// Deeper or larger documents go to serde-saphyr, whose budgets give the message.
const MAX_DEPTH: usize = 48;
const MAX_NODES: usize = 100_000;
/// Nodes copied by aliases, all told (serde-saphyr's own budget is 20,000 replayed events).
const MAX_ALIASED_NODES: usize = 5_000;

enum Open {
    Map {
        map: Map<String, Value>,
        /// The key read before its value; `<<` for a merge.
        key: Option<String>,
        /// Keys that came from a merge, which the mapping's own keys replace.
        merged: Vec<String>,
        anchor: usize,
    },
    Seq(Vec<Value>, usize),
}

const MERGE: &str = "<<";

/// Builds a [`Value`] from parser events; gives up (`None`) at the first event outside the
/// shape it builds.
#[derive(Default)]
pub struct TreeBuilder {
    stack: Vec<Open>,
    done: Option<Value>,
    anchors: HashMap<usize, Value>,
    documents: usize,
    nodes: usize,
    aliased: usize,
    failed: bool,
}

impl TreeBuilder {
    pub fn feed(&mut self, event: &Event<'_>) {
        if !self.failed && self.step(event).is_none() {
            self.failed = true;
            self.stack.clear();
        }
    }

    /// The tree, when every event was within the shape and the document is complete.
    pub fn finish(self) -> Option<Value> {
        (!self.failed && self.stack.is_empty()).then_some(self.done).flatten()
    }

    /// The parser stopped at an error: the text goes to serde-saphyr for its message.
    pub fn fail(&mut self) {
        self.failed = true;
    }

    fn step(&mut self, event: &Event<'_>) -> Option<()> {
        self.nodes += 1;
        if self.nodes > MAX_NODES || self.stack.len() > MAX_DEPTH {
            return None;
        }
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Some(()),
            Event::DocumentStart(_, None) => {
                self.documents += 1;
                (self.documents == 1).then_some(())
            }
            Event::Scalar(text, style, anchor, None) => {
                if let Some(Open::Map { map, key: key @ None, merged, .. }) = self.stack.last_mut() {
                    let plain = *style == ScalarStyle::Plain;
                    let merge = plain && text == MERGE;
                    // A key that may be typed (`1:`, `true:`) is serde-saphyr's, and so is a
                    // repeated one, but for one that only came from a merge.
                    if *anchor != 0
                        || (plain && !merge && !is_plain_word(text))
                        || (!plain && text == MERGE)
                        || (merge && (map.contains_key(MERGE) || !merged.is_empty()))
                        || (map.contains_key(text.as_ref()) && !merged.iter().any(|m| m == text))
                    {
                        return None;
                    }
                    *key = Some(text.to_string());
                    return Some(());
                }
                let value = scalar(text, *style)?;
                if *anchor != 0 {
                    self.anchors.insert(*anchor, value.clone());
                }
                self.add(value, false)
            }
            Event::Alias(anchor) => {
                let value = self.anchors.get(anchor)?.clone();
                self.aliased += count_nodes(&value, MAX_ALIASED_NODES + 1);
                (self.aliased <= MAX_ALIASED_NODES).then_some(())?;
                self.add(value, true)
            }
            Event::MappingStart(_, anchor, None) if !self.awaits_key() => {
                self.stack.push(Open::Map { map: Map::new(), key: None, merged: Vec::new(), anchor: *anchor });
                Some(())
            }
            Event::SequenceStart(_, anchor, None) if !self.awaits_key() => {
                self.stack.push(Open::Seq(Vec::new(), *anchor));
                Some(())
            }
            Event::MappingEnd => match self.stack.pop()? {
                Open::Map { map, key: None, anchor, .. } => self.close(Value::Object(map), anchor),
                _ => None,
            },
            Event::SequenceEnd => match self.stack.pop()? {
                Open::Seq(items, anchor) => self.close(Value::Array(items), anchor),
                Open::Map { .. } => None,
            },
            _ => None,
        }
    }

    /// Whether the next node is a mapping's key (a mapping or a list there is a complex key).
    fn awaits_key(&self) -> bool {
        matches!(self.stack.last(), Some(Open::Map { key: None, .. }))
    }

    fn close(&mut self, value: Value, anchor: usize) -> Option<()> {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        self.add(value, false)
    }

    fn add(&mut self, value: Value, from_alias: bool) -> Option<()> {
        match self.stack.last_mut() {
            None => self.done.replace(value).is_none().then_some(()),
            Some(Open::Map { map, key, merged, .. }) => {
                let key = key.take()?;
                if key != MERGE {
                    merged.retain(|m| *m != key);
                    map.insert(key, value);
                    return Some(());
                }
                // `<<: *anchor`: the anchored mapping's keys, but those the mapping has already.
                let Value::Object(entries) = value else { return None };
                from_alias.then_some(())?;
                for (k, v) in entries {
                    if !map.contains_key(&k) {
                        merged.push(k.clone());
                        map.insert(k, v);
                    }
                }
                Some(())
            }
            Some(Open::Seq(items, _)) => {
                items.push(value);
                Some(())
            }
        }
    }
}

/// The nodes of `value`, counted up to `limit`.
fn count_nodes(value: &Value, limit: usize) -> usize {
    let mut count = 0;
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        count += 1;
        if count >= limit {
            break;
        }
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.values()),
            _ => {}
        }
    }
    count
}

/// A plain scalar that serde-saphyr reads as a string whatever it is deserialized into: it starts
/// with a letter and is not a boolean (YAML 1.1's included) or a number's spelling.
fn is_plain_word(text: &str) -> bool {
    text.chars().next().is_some_and(char::is_alphabetic)
        && !["y", "yes", "n", "no", "true", "false", "on", "off", "null", "inf", "infinity", "nan"]
            .iter()
            .any(|w| text.eq_ignore_ascii_case(w))
}

fn scalar(text: &str, style: ScalarStyle) -> Option<Value> {
    if style != ScalarStyle::Plain {
        return Some(Value::String(text.to_string()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    if is_plain_word(text) {
        return Some(Value::String(text.to_string()));
    }
    // Numbers, booleans and whatever else may be typed: as serde-saphyr types it, alone.
    match serde_saphyr::from_str::<Value>(text).ok()? {
        v @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_)) => Some(v),
        Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_saphyr::granit_parser::Parser;

    fn built(text: &str) -> Option<Value> {
        let mut tree = TreeBuilder::default();
        for item in Parser::new_from_str(text) {
            match item {
                Ok((event, _)) => tree.feed(&event),
                Err(_) => tree.fail(),
            }
        }
        tree.finish()
    }

    /// The tree built from the events is serde-saphyr's, or none.
    fn agrees(text: &str) -> bool {
        let tree = built(text);
        if let Some(tree) = &tree {
            let full: Value = serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(tree, &full, "{text:?}");
        }
        tree.is_some()
    }

    #[test]
    fn the_tree_is_serde_saphyrs_or_none() {
        let rulebook = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/rulebook.yaml")).unwrap();
        assert!(agrees(&rulebook), "the default rulebook is built from the events");
        for text in [
            "a: 1\nb: -2\nc: 1.5\nd: 0x1F\ne: 08\nf: 1_000\nh: -.nan\nj: 9223372036854775808\n",
            "a: true\nb: no\nc: On\nd: ~\ne:\nf: null\ng: y\nh: nan\ni: Inf\nj: yes please\n",
            "a: 'quoted: 1'\nb: \"2\"\nc: |\n  block\n  text\nd: >\n  folded\n  text\ne: plain\n  continued\n",
            "a: [1, two, 'three', {x: y}]\nb: {}\nc: []\n\"q k\": v\n'1': one\n",
            "a: 08:00\nb: 2026-12-07\nc: +1\ne: é\nf: _x\ng: /path\nh: 12h\n",
            "- a\n- 1\n- - nested\n",
            "just text\n",
        ] {
            assert!(agrees(text), "built from the events: {text:?}");
        }
        for text in [
            "a: &x 1\nb: *x\nc: &l [1, {d: e}]\nf: *l\n",
            "base: &b {p: 1, q: 2}\nc:\n  <<: *b\n  q: 3\n  r: 4\nd:\n  q: 5\n  <<: *b\n",
        ] {
            assert!(agrees(text), "built from the events: {text:?}");
        }
        for text in [
            "a: !!str 1\n",
            "base: &b {x: 1}\nc:\n  <<: {x: 2}\n",
            "base: &b {x: 1}\nc:\n  <<: [*b]\n",
            "base: &b {x: 1}\nc:\n  <<: *b\n  <<: *b\n",
            "base: &b {x: 1}\nc:\n  y: 1\n  <<: *b\n  y: 2\n",
            "a: &x [1, 2]\nb: &y [*x, *x, *x, *x, *x, *x, *x, *x, *x, *x]\nc: &z [*y, *y, *y, *y, *y, *y, *y, *y, *y, *y]\nd: [*z, *z, *z, *z, *z, *z, *z, *z, *z, *z]\ne: [*z, *z, *z, *z, *z, *z, *z, *z, *z, *z]\n",
            "a: 1\na: 2\n",
            "1: one\n",
            "true: yes\n",
            "? [complex]\n: key\n",
            "a: 1\n---\nb: 2\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: [1, 2\n",
            "a: b: c\n",
        ] {
            assert!(!agrees(text), "left to serde-saphyr: {text:?}");
        }
    }
}
