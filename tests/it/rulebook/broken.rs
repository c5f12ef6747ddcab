//! Broken rulebooks must be refused with every error located. Most cases are a few edits to
//! today's `rules/rulebook.yaml` (`tests/broken/patches/*.yaml`), each with the errors it must
//! produce, placed relative to the edit; a few need a whole file of their own
//! (`tests/broken/*.yaml`). `tests/broken/README.md` describes both formats.

use serde::Deserialize;
use sportello::rules::Severity;
use sportello::rules::load::{self, Source};
use sportello::rules::{Diagnostic, Rules};
use std::path::{Path, PathBuf};

/// A case: edits to the default rulebook, and the errors they bring.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    edits: Vec<Edit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    /// Whole lines that occur exactly once in the rulebook, at whatever indentation they have
    /// there; `replace` is indented the same.
    find: String,
    /// What they become; without it they stay, and only mark where errors point.
    replace: Option<String>,
    /// The errors located in this edit's lines.
    #[serde(default)]
    expect: Vec<Expected>,
}

#[derive(Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
struct Expected {
    error: String,
    /// `line:column`, counted in the edit's resulting lines (`replace`, else `find`) as the case
    /// writes them.
    at: String,
    help: Option<String>,
}

impl Edit {
    fn result(&self) -> &str {
        self.replace.as_deref().unwrap_or(&self.find)
    }
}

fn show(e: &Expected) -> String {
    let help = e.help.as_ref().map(|h| format!(" (help: {h})")).unwrap_or_default();
    format!("{} `{}`{help}", e.at, e.error)
}

/// `text` with `spaces` more indentation on each line that is not empty.
fn indent(text: &str, spaces: usize) -> String {
    let pad = " ".repeat(spaces);
    text.split_inclusive('\n').map(|l| if l.trim().is_empty() { l.to_string() } else { format!("{pad}{l}") }).collect()
}

/// Where an edit landed: the line its result starts on, and how far it was indented.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Placed {
    line: usize,
    indent: usize,
}

/// The rulebook with the case's edits, and where each landed.
fn apply(rulebook: &str, edits: &[Edit]) -> Result<(String, Vec<Placed>), String> {
    let mut spans = Vec::new();
    for (n, edit) in edits.iter().enumerate() {
        if !edit.find.ends_with('\n') || edit.replace.as_ref().is_some_and(|r| !r.is_empty() && !r.ends_with('\n')) {
            return Err(format!("edit {}: `find` and `replace` are whole lines, ending with a newline", n + 1));
        }
        // The same lines at any indentation.
        let mut at = Vec::new();
        for spaces in 0..=rulebook.lines().map(|l| l.len() - l.trim_start().len()).max().unwrap_or(0) {
            let find = indent(&edit.find, spaces);
            at.extend(
                rulebook
                    .match_indices(&find)
                    .map(|(i, _)| i)
                    .filter(|&i| i == 0 || rulebook.as_bytes()[i - 1] == b'\n')
                    .map(|i| (i, spaces, find.len())),
            );
        }
        match at.as_slice() {
            [(start, spaces, len)] => spans.push((*start, *len, *spaces, n)),
            [] => return Err(no_longer_applies(rulebook, n + 1, &edit.find)),
            many => {
                let lines: Vec<String> = many.iter().map(|&(i, _, _)| line_of(rulebook, i).to_string()).collect();
                return Err(format!(
                    "edit {}: its `find` is at lines {} of rules/rulebook.yaml; give it the lines around it that \
                     make it unique",
                    n + 1,
                    lines.join(", ")
                ));
            }
        }
    }
    spans.sort();
    let mut text = String::new();
    let mut placed = vec![Placed { line: 0, indent: 0 }; edits.len()];
    let mut from = 0;
    for (start, len, spaces, n) in spans {
        if start < from {
            return Err(format!("edit {} overlaps the one before it", n + 1));
        }
        text.push_str(&rulebook[from..start]);
        placed[n] = Placed { line: text.lines().count() + 1, indent: spaces };
        text.push_str(&indent(edits[n].result(), spaces));
        from = start + len;
    }
    text.push_str(&rulebook[from..]);
    Ok((text, placed))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].lines().count() + 1
}

/// Why an edit's `find` is not in the rulebook: how far it still matches, and where.
fn no_longer_applies(rulebook: &str, n: usize, find: &str) -> String {
    let lines: Vec<&str> = rulebook.lines().collect();
    let want: Vec<&str> = find.lines().collect();
    let mut best = (0, 0, String::new());
    for start in 0..lines.len() {
        // At the indentation of the rulebook's line there.
        let shifted = indent(find, lines[start].len() - lines[start].trim_start().len());
        let matched = shifted.lines().zip(&lines[start..]).take_while(|(a, b)| a == *b).count();
        if matched > best.1 {
            best = (start, matched, shifted);
        }
    }
    let mut out = format!(
        "edit {n} no longer applies to rules/rulebook.yaml: the rulebook has changed where it points.\n\
         It expected these lines:\n{}",
        want.iter().map(|l| format!("    | {l}\n")).collect::<String>()
    );
    let (start, matched, shifted) = best;
    if matched == 0 {
        out.push_str("and no line of the rulebook is its first one.");
    } else {
        let found = lines.get(start + matched).copied().unwrap_or("(the end of the file)");
        out.push_str(&format!(
            "Its first {matched} line(s) are at line {} of the rulebook; then it expects `{}` where the rulebook has \
             `{found}`.",
            start + 1,
            shifted.lines().nth(matched).unwrap_or("")
        ));
    }
    out
}

/// Where an error points, relative to the edits: (edit index, `line:column`).
fn place(d: &Diagnostic, edits: &[Edit], placed: &[Placed]) -> Option<(usize, String)> {
    let pos = d.location.as_ref()?.pos;
    edits.iter().zip(placed).enumerate().find_map(|(n, (edit, at))| {
        let lines = edit.result().lines().count();
        let column = pos.col as i64 - at.indent as i64;
        (pos.line >= at.line && pos.line < at.line + lines).then(|| (n, format!("{}:{column}", pos.line - at.line + 1)))
    })
}

/// What is wrong with one case; nothing when the rulebook is refused with exactly its errors.
fn run_case(rulebook: &str, case: &Case) -> Vec<String> {
    if case.edits.iter().all(|e| e.expect.is_empty()) {
        return vec!["expects no error: a case names the errors its edits bring".into()];
    }
    let (text, placed) = match apply(rulebook, &case.edits) {
        Ok(patched) => patched,
        Err(why) => return vec![why],
    };
    // As `rules check` reads it: checked, then resolved into the model the engine reads.
    let diagnostics = match Rules::from_text("rules/rulebook.yaml", &crate::support::root().join("rules"), &text) {
        Ok(_) => return vec!["the patched rulebook was accepted".into()],
        Err(diagnostics) => diagnostics,
    };
    let mut missing: Vec<(usize, Expected)> =
        case.edits.iter().enumerate().flat_map(|(n, e)| e.expect.iter().map(move |x| (n, x.clone()))).collect();
    let mut unexpected = Vec::new();
    for d in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
        let placed = place(d, &case.edits, &placed);
        let found = placed.as_ref().and_then(|(n, at)| {
            missing.iter().position(|(m, x)| m == n && x.at == *at && x.error == d.message && x.help == d.help)
        });
        match found {
            Some(i) => {
                missing.remove(i);
            }
            None => {
                let at = match &placed {
                    Some((n, at)) => format!("edit {}, {at}", n + 1),
                    None => "outside every edit (add an edit without `replace` where it points)".into(),
                };
                unexpected.push(format!("an error not expected, at {at}:\n{d}"));
            }
        }
    }
    let mut failures: Vec<String> =
        missing.iter().map(|(n, x)| format!("expected at edit {}, {}, but not reported", n + 1, show(x))).collect();
    failures.extend(unexpected);
    failures
}

/// Every patch case's rulebook text, by the case's file name.
pub(super) fn patched_rulebooks() -> Vec<(String, String)> {
    let root = crate::support::root();
    let rulebook = std::fs::read_to_string(root.join("rules/rulebook.yaml")).unwrap();
    let files = cases_in(&root.join("tests/broken/patches"));
    assert!(files.len() >= 50, "only {} patch cases", files.len());
    files
        .iter()
        .map(|file| {
            let name = file.strip_prefix(root).unwrap().display().to_string();
            let case: Case = serde_saphyr::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            let (text, _) = apply(&rulebook, &case.edits).unwrap_or_else(|why| panic!("{name}: {why}"));
            (name, text)
        })
        .collect()
}

fn cases_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn patched_rulebooks_are_refused_with_their_errors_located_in_the_patch() {
    let rulebook = std::fs::read_to_string(crate::support::root().join("rules/rulebook.yaml")).unwrap();
    let files = cases_in(&crate::support::root().join("tests/broken/patches"));
    assert!(files.len() >= 50, "only {} patch cases", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file.strip_prefix(crate::support::root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        let problems = match serde_saphyr::from_str::<Case>(&text) {
            Ok(case) => run_case(&rulebook, &case),
            Err(e) => vec![format!("not a patch case: {e}")],
        };
        failures.extend(problems.into_iter().map(|p| format!("{name}: {p}")));
    }
    assert!(failures.is_empty(), "{} problem(s):\n\n{}", failures.len(), failures.join("\n\n"));
}

/// What a Lambda function does when it falls back to the YAML: it is built without the JSON
/// Schema pass (`rulebook-schema`), so it types the YAML directly (`load::parse_typed`, the first
/// structural error only) and runs the same semantic checks.
fn functions_fallback(source: &Source) -> Result<load::Checked, Vec<Diagnostic>> {
    load::parse_typed(source).and_then(|book| load::check_parsed(source, book))
}

/// Where a typed parse's first error may point for a case: inside an edit; at the start of a
/// node that holds an edit (serde reports a step none of whose forms fits at the step); or
/// further down the node an edit starts (serde reports a missing key at its mapping's last key).
fn near_an_edit(text: &str, d: &Diagnostic, edits: &[Edit], placed: &[Placed]) -> bool {
    let Some(location) = d.location.as_ref() else { return false };
    let (line, col) = (location.pos.line, location.pos.col);
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    edits.iter().zip(placed).any(|(edit, at)| {
        let end = at.line + edit.result().lines().count();
        let inside = line >= at.line && line < end;
        // The lines between the node's start and the edit stay inside the node.
        let holds = line < at.line
            && at.indent + 1 >= col
            && lines[line..at.line - 1].iter().all(|l| l.trim().is_empty() || indent(l) + 1 >= col);
        // Later in the node the edit starts, its lines indented further.
        let within = line >= end
            && col > at.indent + 1
            && lines[end - 1..line - 1].iter().all(|l| l.trim().is_empty() || indent(l) > at.indent);
        inside || holds || within
    })
}

/// Every case `rules check` refuses, a function's YAML fallback refuses too, and its first error
/// points where the rulebook was broken (see [`near_an_edit`]).
#[test]
fn the_functions_yaml_fallback_refuses_every_patched_rulebook_where_it_is_broken() {
    let root = crate::support::root();
    let rulebook = std::fs::read_to_string(root.join("rules/rulebook.yaml")).unwrap();
    let files = cases_in(&root.join("tests/broken/patches"));
    assert!(files.len() >= 50, "only {} patch cases", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file.strip_prefix(root).unwrap().display().to_string();
        let case: Case = serde_saphyr::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let (text, placed) = apply(&rulebook, &case.edits).unwrap_or_else(|why| panic!("{name}: {why}"));
        let source = Source::from_text("rules/rulebook.yaml", root.join("rules"), text);
        match functions_fallback(&source) {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(errors) => {
                let first = errors.iter().find(|d| d.severity == Severity::Error).expect("an error");
                if !near_an_edit(&source.text, first, &case.edits, &placed) {
                    failures.push(format!("{name}: its first error is away from every edit:\n{first}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} problem(s):\n\n{}", failures.len(), failures.join("\n\n"));
}

/// The whole-file cases too, each refused with a located error.
#[test]
fn the_functions_yaml_fallback_refuses_every_whole_broken_rulebook() {
    for file in cases_in(&crate::support::root().join("tests/broken")) {
        let source = Source::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        match functions_fallback(&source) {
            Ok(_) => panic!("{}: accepted", file.display()),
            Err(errors) => assert!(
                errors.iter().any(|d| d.severity == Severity::Error && d.location.is_some()),
                "{}: no located error in {errors:?}",
                file.display()
            ),
        }
    }
}

/// Each whole-file case starts with `# expect: <text>` lines; every one must appear in the
/// rendered errors, and the file must be refused.
#[test]
fn whole_broken_rulebooks_are_refused_with_located_messages() {
    let files = cases_in(&crate::support::root().join("tests/broken"));
    assert!(!files.is_empty(), "no whole-file cases in tests/broken");
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let expected: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# expect: ")).collect();
        assert!(!expected.is_empty(), "{} has no `# expect:` line", file.display());
        let shown = match Rules::load(file) {
            Ok(_) => {
                failures.push(format!("{}: accepted", file.display()));
                continue;
            }
            Err(errors) => errors.iter().map(ToString::to_string).collect::<String>(),
        };
        for e in expected {
            let e = e.replace("{file}", &file.display().to_string());
            if !shown.contains(&e) {
                failures.push(format!("{}: missing `{e}` in:\n{shown}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The harness itself: a patch that no longer fits says where the rulebook moved on.
#[test]
fn a_patch_that_no_longer_applies_says_what_it_expected_and_what_is_there() {
    let rulebook = "a:\n  b: 1\n  c: 2\n";
    let edit = |find: &str| Edit { find: find.into(), replace: Some("x\n".into()), expect: Vec::new() };
    let why = apply(rulebook, &[edit("a:\n  b: 1\n  c: 3\n")]).unwrap_err();
    assert!(why.contains("edit 1 no longer applies"), "{why}");
    assert!(why.contains("    |   c: 3"), "the lines it expected: {why}");
    assert!(why.contains("first 2 line(s) are at line 1"), "{why}");
    assert!(why.contains("expects `  c: 3` where the rulebook has `  c: 2`"), "{why}");
    let why = apply(rulebook, &[edit("  d: 4\n")]).unwrap_err();
    assert!(why.contains("no line of the rulebook is its first one"), "{why}");
    let twice = "a: 1\nb: 1\na: 1\n";
    let why = apply(twice, &[edit("a: 1\n")]).unwrap_err();
    assert!(why.contains("lines 1, 3"), "{why}");
    // Only whole lines match: `b: 1` is not found inside `ab: 1`.
    assert!(apply("ab: 1\n", &[edit("b: 1\n")]).is_err());
    // Lines match at any indentation, and the replacement takes it.
    let (text, placed) = apply(rulebook, &[edit("c: 2\n")]).unwrap();
    assert_eq!((text.as_str(), placed), ("a:\n  b: 1\n  x\n", vec![Placed { line: 3, indent: 2 }]));
}

/// Every case, read the fast way and the full way, gives the same verdict: the JSON tree built
/// in the scan for positions (when the text has the plain shape) is serde-saphyr's, and a tree
/// that reads as the typed model (within the schema's ranges) is one the JSON Schema accepts, so
/// `rules check` needs the schema's validator only to explain errors.
#[test]
fn every_case_reads_the_same_by_the_fast_paths_and_by_the_schema() {
    use sportello::rules::{load, model::Rulebook, source_map::SourceMap};
    let rulebook = std::fs::read_to_string(crate::support::root().join("rules/rulebook.yaml")).unwrap();
    let mut texts = vec![("rules/rulebook.yaml".to_string(), rulebook.clone())];
    for file in cases_in(&crate::support::root().join("tests/broken/patches")) {
        let case: Case = serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let (text, _) = apply(&rulebook, &case.edits).unwrap();
        texts.push((file.display().to_string(), text));
    }
    for file in cases_in(&crate::support::root().join("tests/broken")) {
        texts.push((file.display().to_string(), std::fs::read_to_string(&file).unwrap()));
    }
    let validator = jsonschema::validator_for(load::schema()).unwrap();
    let (mut built, mut typed) = (0, 0);
    for (name, text) in &texts {
        let full = serde_saphyr::from_str_with_options::<serde_json::Value>(text, load::yaml_options());
        let (_, tree) = SourceMap::index_with_tree(text);
        if let Some(tree) = &tree {
            assert_eq!(Some(tree), full.as_ref().ok(), "{name}: the tree built in the scan");
            built += 1;
        }
        let Ok(full) = full else { continue };
        let reads = <Rulebook as serde::Deserialize>::deserialize(&full).is_ok_and(|b| load::within_schema_ranges(&b));
        if reads {
            assert!(validator.is_valid(&full), "{name}: read as the model, refused by the schema");
            typed += 1;
        }
    }
    assert!(built > 50 && typed > 20, "{built} trees built in the scan, {typed} read as the model");
}
