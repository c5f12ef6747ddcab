//! Where each node of a YAML document stands, by JSON-pointer path, so that a check on the
//! parsed rulebook can say file:line:col and show the offending line.

use super::yaml_tree::TreeBuilder;
use serde_saphyr::granit_parser::{Event, Parser};
use std::borrow::Cow;

/// A 1-based line and column, with the byte length to underline when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub len: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct NodeSpan {
    /// The mapping key that introduced this node, if any.
    pub key: Option<Pos>,
    pub value: Pos,
}

/// Where every node of a document stands, in document order: a node's descendants follow it.
/// A pointer is found by descending from the root through each node's children, so no path is
/// built or hashed for the thousands of nodes that no diagnostic names.
#[derive(Debug, Default)]
pub struct SourceMap {
    nodes: Vec<Node>,
    /// The mapping keys' text, one after another; a [`Segment::Key`] is a range of it.
    keys: String,
    /// Byte offset where each line starts, so a diagnostic finds its line without a scan.
    line_starts: Vec<usize>,
}

#[derive(Debug)]
struct Node {
    segment: Segment,
    /// The index just past this node's last descendant.
    end: usize,
    span: NodeSpan,
}

/// How a node is reached from its parent.
#[derive(Debug)]
enum Segment {
    /// A document's root.
    Root,
    /// A mapping's key, unescaped: `keys[start..end]`.
    Key(usize, usize),
    /// A sequence's item.
    Item(usize),
}

enum Frame<'t> {
    /// A mapping (its node's index), and the key read before its value (unescaped, as the text
    /// has it).
    Map {
        node: usize,
        key: Option<(Cow<'t, str>, Pos)>,
    },
    Seq {
        node: usize,
        next: usize,
    },
}

/// Escapes one JSON-pointer segment (RFC 6901).
pub fn escape_segment(segment: &str) -> String {
    if segment.contains(['~', '/']) { segment.replace('~', "~0").replace('/', "~1") } else { segment.to_string() }
}

fn pos(span: &serde_saphyr::granit_parser::Span, one_line_scalar: bool) -> Pos {
    let len = if one_line_scalar && span.end.line() == span.start.line() {
        span.end.col().saturating_sub(span.start.col()).max(1)
    } else {
        1
    };
    Pos { line: span.start.line(), col: span.start.col() + 1, len }
}

impl SourceMap {
    /// Indexes a YAML text. A text that does not parse gives what was indexed before the error;
    /// the loader reports the syntax error itself.
    pub fn index(text: &str) -> Self {
        Self::scan(text, None)
    }

    /// Indexes a YAML text and builds its JSON tree from the same scan, when the text has the
    /// plain shape `TreeBuilder` builds (else the tree is `None` and serde-saphyr reads it).
    pub fn index_with_tree(text: &str) -> (Self, Option<serde_json::Value>) {
        let mut tree = TreeBuilder::default();
        let map = Self::scan(text, Some(&mut tree));
        (map, tree.finish())
    }

    fn scan(text: &str, mut tree: Option<&mut TreeBuilder>) -> Self {
        let mut map = Self::default();
        let mut stack: Vec<Frame<'_>> = Vec::new();
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else {
                if let Some(tree) = tree.as_mut() {
                    tree.fail();
                }
                break;
            };
            if let Some(tree) = tree.as_mut() {
                tree.feed(&event);
            }
            let (opens, is_scalar) = match &event {
                Event::Scalar(..) | Event::Alias(..) => (None, true),
                Event::MappingStart(..) => (Some(true), false),
                Event::SequenceStart(..) => (Some(false), false),
                Event::MappingEnd | Event::SequenceEnd => {
                    if let Some(Frame::Map { node, .. } | Frame::Seq { node, .. }) = stack.pop() {
                        map.nodes[node].end = map.nodes.len();
                    }
                    continue;
                }
                _ => continue,
            };
            let here = pos(&span, is_scalar);
            // A scalar where a mapping expects a key is the key itself.
            if let Some(Frame::Map { key: key @ None, .. }) = stack.last_mut() {
                match event {
                    Event::Scalar(value, ..) => {
                        *key = Some((value, here));
                        continue;
                    }
                    // Complex keys are not used in rulebooks: index them under a placeholder.
                    _ => *key = Some((Cow::Borrowed("?"), here)),
                }
            }
            let (segment, key_pos) = match stack.last_mut() {
                None => (Segment::Root, None),
                Some(Frame::Map { key, .. }) => {
                    let (k, p) = key.take().unwrap_or_default();
                    let start = map.keys.len();
                    map.keys.push_str(&k);
                    (Segment::Key(start, map.keys.len()), Some(p))
                }
                Some(Frame::Seq { next, .. }) => {
                    *next += 1;
                    (Segment::Item(*next - 1), None)
                }
            };
            let node = map.nodes.len();
            map.nodes.push(Node { segment, end: node + 1, span: NodeSpan { key: key_pos, value: here } });
            match opens {
                Some(true) => stack.push(Frame::Map { node, key: None }),
                Some(false) => stack.push(Frame::Seq { node, next: 0 }),
                None => {}
            }
        }
        // A document cut short by a syntax error: its open nodes end where the scan stopped.
        for Frame::Map { node, .. } | Frame::Seq { node, .. } in stack {
            map.nodes[node].end = map.nodes.len();
        }
        map.line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
        map
    }

    /// The child of node `parent` that pointer segment `segment` (escaped) names; the last one
    /// when a mapping repeats a key.
    fn child(&self, parent: usize, segment: &str) -> Option<usize> {
        let unescaped: Cow<'_, str> = if segment.contains('~') {
            Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(segment)
        };
        // A list index only as written: `0`, not `00` or `+0`.
        let item = segment.parse::<usize>().ok().filter(|index| index.to_string() == segment);
        let mut found = None;
        let mut at = parent + 1;
        while at < self.nodes[parent].end {
            let node = &self.nodes[at];
            let named = match node.segment {
                Segment::Key(start, end) => self.keys[start..end] == *unescaped,
                Segment::Item(index) => item == Some(index),
                Segment::Root => false,
            };
            if named {
                found = Some(at);
            }
            at = node.end;
        }
        found
    }

    /// The node at `pointer` (`""` the root, `/a/0/b` below it).
    fn find(&self, pointer: &str) -> Option<usize> {
        // The last document's root, as a later document's nodes replaced an earlier one's.
        let mut node = self.nodes.iter().rposition(|n| matches!(n.segment, Segment::Root))?;
        if pointer.is_empty() {
            return Some(node);
        }
        for segment in pointer.strip_prefix('/')?.split('/') {
            node = self.child(node, segment)?;
        }
        Some(node)
    }

    /// The text of 1-based line `line` of `text` (the text this map indexed), without its line end.
    pub fn line<'t>(&self, text: &'t str, line: usize) -> &'t str {
        let Some(&start) = line.checked_sub(1).and_then(|i| self.line_starts.get(i)) else {
            return "";
        };
        let end = self.line_starts.get(line).map_or(text.len(), |&next| next - 1);
        text.get(start..end).unwrap_or("").trim_end_matches('\r')
    }

    pub fn get(&self, pointer: &str) -> Option<NodeSpan> {
        self.find(pointer).map(|node| self.nodes[node].span)
    }

    /// The closest located node: the path itself or its nearest ancestor (for a missing key).
    /// A node that came from a `<<: *anchor` merge is located at the merge line.
    pub fn locate(&self, pointer: &str, at_key: bool) -> Option<Pos> {
        let mut p = pointer;
        loop {
            if let Some(node) = self.find(p) {
                let span = self.nodes[node].span;
                let exact = p.len() == pointer.len();
                if !exact && let Some(merge) = self.child(node, "<<").map(|merge| self.nodes[merge].span) {
                    return Some(merge.key.unwrap_or(merge.value));
                }
                return Some(if at_key && exact {
                    span.key.unwrap_or(span.value)
                } else if exact {
                    span.value
                } else {
                    span.key.unwrap_or(span.value)
                });
            }
            p = &p[..p.rfind('/')?];
        }
    }
}

impl Default for Pos {
    fn default() -> Self {
        Pos { line: 1, col: 1, len: 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_and_items_are_located() {
        let text = "a:\n  b: hello\n  list:\n    - x\n    - {c: 1}\n\"s/l\": 2\nt~x: {k: 3}\n";
        let map = SourceMap::index(text);
        let b = map.get("/a/b").unwrap();
        assert_eq!(b.key.unwrap(), Pos { line: 2, col: 3, len: 1 });
        assert_eq!(b.value, Pos { line: 2, col: 6, len: 5 });
        assert_eq!(map.get("/a/list/0").unwrap().value.line, 4);
        assert_eq!(map.get("/a/list/1/c").unwrap().value, Pos { line: 5, col: 11, len: 1 });
        assert_eq!(map.get("/s~1l").unwrap().value.line, 6);
        assert_eq!(map.get("/t~0x/k").unwrap().value, Pos { line: 7, col: 10, len: 1 });
        // A missing key is reported at its nearest ancestor's key.
        assert_eq!(map.locate("/a/list/1/missing", false).unwrap().line, 5);
        assert_eq!(map.line(text, 2), "  b: hello");
        assert_eq!(map.line(text, 6), "\"s/l\": 2");
        assert_eq!(map.line(text, 8), "");
        assert_eq!(map.line(text, 99), "");
        // A pointer's list index is the item's number as written, nothing else.
        assert!(map.get("/a/list/01").is_none() && map.get("/a/list/+1").is_none());
        assert!(map.get("/a/list/2").is_none() && map.get("a").is_none());
        assert_eq!(map.get("").unwrap().value.line, 1, "the root");
        let crlf = "a: 1\r\nb: 2";
        assert_eq!(SourceMap::index(crlf).line(crlf, 1), "a: 1");
        assert_eq!(SourceMap::index(crlf).line(crlf, 2), "b: 2");
    }

    #[test]
    fn a_missing_key_of_a_merged_mapping_is_located_at_the_merge() {
        let text = "base: &b\n  x: 1\nteam:\n  <<: *b\n  y: 2\n";
        let map = SourceMap::index(text);
        assert_eq!(map.locate("/team/x", false), Some(Pos { line: 4, col: 3, len: 2 }));
        assert_eq!(map.locate("/team/y", false).unwrap().line, 5);
    }

    #[test]
    fn a_text_cut_short_by_a_syntax_error_keeps_what_was_indexed() {
        let text = "a:\n  b: 1\n  c: [2, {\nd: 3\n";
        let map = SourceMap::index(text);
        assert_eq!(map.get("/a/b").unwrap().value, Pos { line: 2, col: 6, len: 1 });
        assert_eq!(map.get("/a/c/0").unwrap().value.line, 3);
        assert_eq!(map.locate("/a/c/9", false).unwrap().line, 3, "the nearest indexed ancestor");
    }
}
