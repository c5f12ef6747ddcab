//! The module graph: which of a module's children name which others (`crate::…` and `super::…`
//! paths, `use` groups included, and paths through a parent's `pub use`). A cycle between
//! siblings means neither can be read, moved or tested without the other; no folder module has
//! one (the crate's top level, the engine's, the ports', the adapters' and the rest), and this
//! test keeps it so. `cargo test --all-features --test it structure:: -- --nocapture` prints the
//! graph.
//!
//! Paths are what it sees: a method one module defines on `Engine` and another calls leaves no
//! path, so such a dependency stays for review to catch (keep a method beside the code it serves).

use crate::support::rust_files;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every module of the library (one per file; `bin/` is not part of it), with its code before
/// its unit tests.
fn modules() -> BTreeMap<Module, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap().with_extension("");
        let mut module: Module = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if module.first().is_some_and(|m| m == "bin") {
            continue;
        }
        if module.last().is_some_and(|m| m == "mod" || m == "lib") {
            module.pop();
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("\n#[cfg(test)]").next().unwrap_or_default();
        let code: String =
            code.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
        modules.insert(module, code);
    }
    modules
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths `code` names from `crate::` or `super::`, made absolute from `module`.
fn paths(module: &Module, code: &str) -> Vec<Module> {
    let mut found = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]);
        let rest: String = bytes[i..bytes.len().min(i + 8)].iter().collect();
        if !(starts_word && (rest.starts_with("crate::") || rest.starts_with("super::"))) {
            i += 1;
            continue;
        }
        let mut base: Module = Vec::new();
        let mut first = true;
        let mut segments: Module = Vec::new();
        // Read `a::b::c`, `super::super::x`, up to a `{` group or the end of the path.
        loop {
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            let word: String = bytes[start..i].iter().collect();
            if word.is_empty() {
                break;
            }
            match word.as_str() {
                "crate" if first => base.clear(),
                "super" if first || segments.is_empty() => {
                    if first {
                        base = module.clone();
                    }
                    base.pop();
                }
                _ => segments.push(word),
            }
            first = false;
            if bytes.get(i) == Some(&':') && bytes.get(i + 1) == Some(&':') {
                i += 2;
                if bytes.get(i) == Some(&'{') {
                    let close = (i..bytes.len()).find(|&j| bytes[j] == '}').unwrap_or(bytes.len());
                    let group: String = bytes[i + 1..close].iter().collect();
                    for item in group.split(',') {
                        let item: Module = item.trim().split("::").map(|s| s.trim().to_string()).collect();
                        if item.first().is_some_and(|s| !s.is_empty()) {
                            found.push([base.clone(), segments.clone(), item].concat());
                        }
                    }
                    i = close;
                    break;
                }
            } else {
                break;
            }
        }
        if !segments.is_empty() {
            found.push([base, segments].concat());
        }
    }
    found
}

/// What each module re-exports: `(module, name)` to the path it stands for, so that a path
/// through a re-export (`super::Db` for `super::db::Db`) counts as naming the module behind it.
fn reexports(modules: &BTreeMap<Module, String>) -> BTreeMap<(Module, String), Module> {
    let mut found = BTreeMap::new();
    for (module, code) in modules {
        for statement in code.split(';') {
            let statement = statement.trim();
            let Some(path) = statement.strip_prefix("pub use ").or_else(|| statement.strip_prefix("pub(crate) use "))
            else {
                continue;
            };
            // A path from the module itself is read as one from the crate, so `paths` resolves it.
            let path = path.trim().strip_prefix("self::").unwrap_or(path.trim());
            let absolute = if path.starts_with("crate::") || path.starts_with("super::") {
                path.to_string()
            } else {
                [&["crate".to_string()], module.as_slice(), &[path.to_string()]].concat().join("::")
            };
            let single_alias = (!path.contains('{')).then(|| path.split(" as ").nth(1)).flatten();
            for mut target in paths(module, &absolute) {
                let Some(last) = target.pop() else { continue };
                let (original, alias) = match last.split_once(" as ") {
                    Some((original, alias)) => (original.trim().to_string(), alias.trim().to_string()),
                    None => (last.clone(), single_alias.unwrap_or(&last).trim().to_string()),
                };
                if original == "*" || original == "self" {
                    continue;
                }
                target.push(original);
                found.insert((module.clone(), alias), target);
            }
        }
    }
    found
}

/// Edges between siblings: `a -> b` when code in `a` (or below it) names `b` (or below it),
/// directly or through a re-export.
fn sibling_graph(modules: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let reexports = reexports(modules);
    let longest_module = |path: &Module| -> Module {
        (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|m| modules.contains_key(m)).unwrap_or_default()
    };
    let known = |path: &Module| -> Module {
        let mut path = path.clone();
        // Bounded: re-exports of re-exports are followed, a loop of them is not.
        for _ in 0..8 {
            let module = longest_module(&path);
            let Some(item) = path.get(module.len()) else { return module };
            match reexports.get(&(module.clone(), item.clone())) {
                Some(target) if path.starts_with(target) => return module,
                Some(target) => path = [target.clone(), path[module.len() + 1..].to_vec()].concat(),
                None => return module,
            }
        }
        longest_module(&path)
    };
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, code) in modules {
        for path in paths(module, code) {
            let target = known(&path);
            let common = module.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common < module.len() && common < target.len() {
                graph.entry(module[..=common].to_vec()).or_default().insert(target[..=common].to_vec());
            }
        }
    }
    graph
}

/// The strongly connected components of more than one module (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<Module, usize>,
        low: BTreeMap<Module, usize>,
        stack: Vec<Module>,
        found: Vec<Vec<Module>>,
    }
    impl Walk<'_> {
        fn visit(&mut self, v: &Module) {
            let n = self.index.len();
            self.index.insert(v.clone(), n);
            self.low.insert(v.clone(), n);
            self.stack.push(v.clone());
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v.clone(), low);
                } else if self.stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v.clone(), low);
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().position(|m| m == v).unwrap();
                let component = self.stack.split_off(at);
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

fn name(m: &Module) -> String {
    m.join("::")
}

#[test]
fn no_modules_name_each_other() {
    let graph = sibling_graph(&modules());
    for (from, to) in &graph {
        println!("{} -> {}", name(from), to.iter().map(name).collect::<Vec<_>>().join(", "));
    }
    let bad: Vec<String> =
        cycles(&graph).iter().map(|c| c.iter().map(name).collect::<Vec<_>>().join(" <-> ")).collect();
    assert!(
        bad.is_empty(),
        "modules that name each other (move what both need into one of them, or below):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_graph_sees_a_cycle_when_there_is_one() {
    let module = |m: &str| -> Module { m.split("::").map(str::to_string).collect() };
    let mut modules = BTreeMap::new();
    modules.insert(module("engine"), "pub use triage::{Triaged as Sorted, TRIAGE};".to_string());
    modules.insert(module("engine::chat"), "use super::triage::TRIAGE_TEAM;".to_string());
    modules.insert(module("engine::triage"), "use super::{chat::handoff, Engine};".to_string());
    modules.insert(module("engine::sweep"), "let x = crate::engine::TRIAGE;".to_string());
    modules.insert(module("engine::clock"), "use super::Sorted;".to_string());
    let graph = sibling_graph(&modules);
    // Through the parent's re-exports, alias included.
    assert_eq!(graph[&module("engine::sweep")], BTreeSet::from([module("engine::triage")]));
    assert_eq!(graph[&module("engine::clock")], BTreeSet::from([module("engine::triage")]));
    let found = cycles(&graph);
    assert_eq!(found.len(), 1, "{found:?}");
    let mut cycle = found[0].iter().map(name).collect::<Vec<_>>();
    cycle.sort();
    assert_eq!(cycle, ["engine::chat", "engine::triage"]);
}

/// A cycle between the children of a folder below the top level, and one through a re-export.
#[test]
fn a_cycle_in_a_nested_folder_counts_too() {
    let module = |m: &str| -> Module { m.split("::").map(str::to_string).collect() };
    let mut modules = BTreeMap::new();
    modules.insert(module("adapters"), String::new());
    modules.insert(module("adapters::embedded"), "mod db;\npub use db::Db;".to_string());
    modules.insert(module("adapters::embedded::db"), "super::tickets::backfill(tx)".to_string());
    modules.insert(module("adapters::embedded::tickets"), "use super::Db;".to_string());
    let found = cycles(&sibling_graph(&modules));
    assert_eq!(found.len(), 1, "{found:?}");
    let mut cycle = found[0].iter().map(name).collect::<Vec<_>>();
    cycle.sort();
    assert_eq!(cycle, ["adapters::embedded::db", "adapters::embedded::tickets"]);
}

/// Every type the library declares `pub` (or `pub(crate)`, `pub(super)`), by name, with where.
fn public_types() -> BTreeMap<String, Vec<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        if relative.starts_with("bin") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("\n#[cfg(test)]").next().unwrap_or_default();
        for (line, name) in code.lines().enumerate().filter_map(|(n, l)| declared_type(l).map(|name| (n, name))) {
            found.entry(name).or_default().push(format!("src/{}:{}", relative.display(), line + 1));
        }
    }
    found
}

/// The name a line declares a public type under: `pub struct Name<…>`, `pub(crate) enum Name {`,
/// `pub trait Name:`, `pub type Name =`.
fn declared_type(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix("pub")?;
    let rest = match rest.strip_prefix('(') {
        Some(inner) => inner.split_once(')')?.1,
        None => rest,
    };
    let mut words = rest.split_whitespace();
    let kind = words.next()?;
    if !["struct", "enum", "trait", "type", "union"].contains(&kind) {
        return None;
    }
    let name: String = words.next()?.chars().take_while(|&c| is_ident(c)).collect();
    (!name.is_empty()).then_some(name)
}

/// A type name says what it is wherever it is read: two `Problem`s or two `Category`s make a
/// reader (and a `use`) guess which one is meant.
#[test]
fn every_public_type_name_is_unique() {
    let types = public_types();
    assert!(types.len() > 100, "the scan found only {} public types", types.len());
    let twice: Vec<String> = types
        .iter()
        .filter(|(_, places)| places.len() > 1)
        .map(|(name, places)| format!("{name}: {}", places.join(", ")))
        .collect();
    assert!(
        twice.is_empty(),
        "type names declared more than once (give each a name of its own):\n{}",
        twice.join("\n")
    );
}

#[test]
fn the_type_scan_reads_every_kind_of_declaration() {
    assert_eq!(declared_type("pub struct Row<F> {").as_deref(), Some("Row"));
    assert_eq!(declared_type("    pub(crate) enum Scope {").as_deref(), Some("Scope"));
    assert_eq!(declared_type("pub trait TicketStore: Send + Sync {").as_deref(), Some("TicketStore"));
    assert_eq!(declared_type("pub type Id = String;").as_deref(), Some("Id"));
    assert_eq!(declared_type("pub(in crate::engine) struct Walk;").as_deref(), Some("Walk"));
    assert_eq!(declared_type("pub fn structure() {}"), None);
    assert_eq!(declared_type("struct Private;"), None);
    assert_eq!(declared_type("pub struct_field: u8,"), None);
}
