//! Where each node of a YAML document stands, by JSON-pointer path, so that a check on the
//! parsed rulebook can say file:line:col and show the offending line.

use super::yaml_tree::TreeBuilder;
use serde_saphyr::granit_parser::{Event, Parser};
use std::borrow::Cow;
use std::collections::HashMap;

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

#[derive(Debug, Default)]
pub struct SourceMap {
    nodes: HashMap<String, NodeSpan>,
    /// Byte offset where each line starts, so a diagnostic finds its line without a scan.
    line_starts: Vec<usize>,
}

enum Frame<'t> {
    /// A mapping, and the key read before its value (unescaped, as the text has it).
    Map {
        path: String,
        key: Option<(Cow<'t, str>, Pos)>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

/// Escapes one JSON-pointer segment (RFC 6901).
pub fn escape_segment(segment: &str) -> String {
    if segment.contains(['~', '/']) { segment.replace('~', "~0").replace('/', "~1") } else { segment.to_string() }
}

/// `parent/segment`, the segment escaped, in one allocation.
fn child_path(parent: &str, segment: &str) -> String {
    let mut path = String::with_capacity(parent.len() + 1 + segment.len());
    path.push_str(parent);
    path.push('/');
    if segment.contains(['~', '/']) {
        path.push_str(&escape_segment(segment));
    } else {
        path.push_str(segment);
    }
    path
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
        let mut nodes = HashMap::new();
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
                    stack.pop();
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
            let (path, key_pos) = match stack.last_mut() {
                None => (String::new(), None),
                Some(Frame::Map { path, key }) => {
                    let (k, p) = key.take().unwrap_or_default();
                    (child_path(path, &k), Some(p))
                }
                Some(Frame::Seq { path, next }) => {
                    *next += 1;
                    (format!("{path}/{}", *next - 1), None)
                }
            };
            let span = NodeSpan { key: key_pos, value: here };
            match opens {
                Some(true) => {
                    nodes.insert(path.clone(), span);
                    stack.push(Frame::Map { path, key: None });
                }
                Some(false) => {
                    nodes.insert(path.clone(), span);
                    stack.push(Frame::Seq { path, next: 0 });
                }
                None => {
                    nodes.insert(path, span);
                }
            }
        }
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
        Self { nodes, line_starts }
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
        self.nodes.get(pointer).copied()
    }

    /// The closest located node: the path itself or its nearest ancestor (for a missing key).
    /// A node that came from a `<<: *anchor` merge is located at the merge line.
    pub fn locate(&self, pointer: &str, at_key: bool) -> Option<Pos> {
        let mut p = pointer;
        loop {
            if let Some(span) = self.nodes.get(p) {
                let exact = p.len() == pointer.len();
                if !exact && let Some(merge) = self.nodes.get(&format!("{p}/<<")) {
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
        let crlf = "a: 1\r\nb: 2";
        assert_eq!(SourceMap::index(crlf).line(crlf, 1), "a: 1");
        assert_eq!(SourceMap::index(crlf).line(crlf, 2), "b: 2");
    }
}
