//! Reading a rulebook: size and alias budgets, YAML syntax, structure against the JSON Schema
//! (every error at once), then the semantic checks of `validate`.
//!
//! The JSON Schema pass is the `rulebook-schema` feature (on by default). The Lambda functions
//! are built without it: the validator and its regex engines were a sixth of a function's zip,
//! and a function only reads the YAML when its compiled form is missing or stale, so it types
//! the YAML directly ([`parse_typed`]: the first structural error, located) and runs the same
//! semantic checks. `rules check` and `rules compile` always have it.
#![cfg_attr(not(feature = "rulebook-schema"), allow(dead_code))]

use super::diagnostic::{Diagnostic, limit};
use super::model::Rulebook;
#[cfg(feature = "rulebook-schema")]
use super::source_map::escape_segment;
use super::source_map::{Pos, SourceMap};
use crate::knowledge::KnowledgeBase;
#[cfg(feature = "rulebook-schema")]
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Larger files are refused before parsing: a rulebook is a few dozen kilobytes.
pub const MAX_RULEBOOK_BYTES: usize = 1024 * 1024;
/// The file looked for when a folder is given.
pub const RULEBOOK_FILE: &str = "rulebook.yaml";

/// A rulebook text with its name, its parsed tree and where each node stands.
pub struct Source {
    pub file: String,
    pub dir: PathBuf,
    pub text: String,
    pub map: SourceMap,
    /// The JSON tree, built with the map from the same scan when the text has the plain shape;
    /// otherwise serde-saphyr reads the text (and gives the message of any error).
    pub tree: Option<Value>,
}

impl Source {
    /// Reads `path`, a rulebook file or a folder holding `rulebook.yaml`.
    pub fn read(path: &Path) -> Result<Self, Box<Diagnostic>> {
        let (file, dir, text) = Self::read_text(path)?;
        Ok(Self::from_text(file, dir, text))
    }

    /// The file's name as shown in messages, its folder and its text, with no parsing.
    pub fn read_text(path: &Path) -> Result<(String, PathBuf, String), Box<Diagnostic>> {
        let file = Self::file_of(path);
        let shown = file.display().to_string();
        let text = Self::read_file(&file, &shown)?;
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok((shown, dir, text))
    }

    /// The rulebook file of `path`, a rulebook file or a folder holding `rulebook.yaml`.
    pub fn file_of(path: &Path) -> PathBuf {
        if path.is_dir() { path.join(RULEBOOK_FILE) } else { path.to_path_buf() }
    }

    /// The text of the rulebook file `file` (`shown` as messages name it), within the size
    /// limit and UTF-8.
    pub fn read_file(file: &Path, shown: &str) -> Result<String, Box<Diagnostic>> {
        let fail = |m: String| Box::new(Diagnostic::error("", m));
        let meta = std::fs::metadata(file).map_err(|e| fail(format!("cannot read `{shown}`: {e}")))?;
        if meta.len() > MAX_RULEBOOK_BYTES as u64 {
            return Err(fail(format!(
                "`{shown}` is {} bytes; a rulebook may be at most {MAX_RULEBOOK_BYTES} bytes",
                meta.len()
            )));
        }
        let bytes = std::fs::read(file).map_err(|e| fail(format!("cannot read `{shown}`: {e}")))?;
        String::from_utf8(bytes)
            .map_err(|e| fail(format!("`{shown}` is not UTF-8 text (byte {})", e.utf8_error().valid_up_to())))
    }

    pub fn from_text(file: impl Into<String>, dir: PathBuf, text: String) -> Self {
        let (map, tree) = SourceMap::index_with_tree(&text);
        Self { file: file.into(), dir, text, map, tree }
    }

    fn locate(&self, mut d: Diagnostic) -> Diagnostic {
        d.locate(&self.file, &self.text, &self.map);
        d
    }
}

/// The YAML reader's budgets and policies for a rulebook.
pub fn yaml_options() -> serde_saphyr::Options {
    let mut aliases = serde_saphyr::options::AliasLimits::default();
    // A rulebook has no reason to expand aliases much; a "billion laughs" file stops here.
    aliases.max_total_replayed_events = 20_000;
    aliases.max_alias_expansions_per_anchor = 200;
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 64,
            max_nodes: 200_000,
            max_aliases: 1_000,
            max_documents: 1,
        },
        alias_limits: aliases,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
    }
}

fn yaml_error(source: &Source, err: &serde_saphyr::Error) -> Diagnostic {
    let message = err.without_snippet().to_string();
    // Keep the message itself; the location is rendered our way.
    let message = message.split(" at line ").next().unwrap_or(&message).to_string();
    // Say it in rulebook terms rather than in the parser's options.
    let message = match message.strip_prefix("duplicate mapping key: ") {
        Some(rest) => {
            let key = rest.split(", set ").next().unwrap_or(rest).trim();
            format!("duplicate key `{key}`: each key may appear once in a mapping")
        }
        None => message,
    };
    let mut d = Diagnostic::error("", message);
    match err.location() {
        Some(loc) => d.locate_at(
            &source.file,
            &source.text,
            Pos { line: loc.line() as usize, col: loc.column() as usize, len: 1 },
        ),
        None => d.location = None,
    }
    d
}

/// The JSON Schema of the rulebook, as checked into `rules/rulebook.schema.json`, compiled in:
/// reading it is cheaper than generating it from the model at each process's first load. A test
/// keeps the file equal to [`schema_text`], the schema generated from the model.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(include_str!("../../rules/rulebook.schema.json")).expect("the schema is JSON")
    })
}

/// The schema generated from the rulebook model, pretty-printed, ending with a newline: what
/// `sportello rules schema` prints and `rules/rulebook.schema.json` holds.
pub fn schema_text() -> String {
    let generated = serde_json::to_value(schemars::schema_for!(Rulebook)).expect("the schema is JSON");
    serde_json::to_string_pretty(&generated).expect("the schema is JSON") + "\n"
}

#[cfg(feature = "rulebook-schema")]
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| jsonschema::validator_for(schema()).expect("the rulebook schema compiles"))
}

/// Parses and checks structure. On success, the typed rulebook; otherwise every error found
/// (built without `rulebook-schema`, the first one: [`parse_typed`]).
pub fn parse(source: &Source) -> Result<Rulebook, Vec<Diagnostic>> {
    #[cfg(feature = "rulebook-schema")]
    return parse_against_schema(source);
    #[cfg(not(feature = "rulebook-schema"))]
    return parse_typed(source);
}

/// The rulebook typed straight from the scan's tree (or the text when there is none), with no
/// JSON Schema pass: the first structural error only (an unknown key, a wrong type, a missing
/// field), located; the schema's one range is among the semantic checks too.
pub fn parse_typed(source: &Source) -> Result<Rulebook, Vec<Diagnostic>> {
    let from_tree = source.tree.as_ref().and_then(|tree| <Rulebook as serde::Deserialize>::deserialize(tree).ok());
    match from_tree {
        Some(book) => Ok(book),
        None => read_text(source),
    }
}

/// The text read by serde-saphyr, whose errors carry their positions.
fn read_text<T: serde::de::DeserializeOwned>(source: &Source) -> Result<T, Vec<Diagnostic>> {
    serde_saphyr::from_str_with_options(&source.text, yaml_options()).map_err(|e| vec![yaml_error(source, &e)])
}

#[cfg(feature = "rulebook-schema")]
fn parse_against_schema(source: &Source) -> Result<Rulebook, Vec<Diagnostic>> {
    let read: Value;
    let tree: &Value = match &source.tree {
        Some(tree) => tree,
        None => {
            read = read_text(source)?;
            &read
        }
    };
    // The model's types carry every constraint of the schema but the ranges of
    // `within_schema_ranges` (a test checks the two agree on every broken case), so a tree that
    // reads as the model is valid: the schema's validator, built once per process (about 1 ms,
    // most of it checking the schema against its meta-schema), is needed only to explain errors.
    if let Ok(book) = <Rulebook as serde::Deserialize>::deserialize(tree)
        && within_schema_ranges(&book)
    {
        return Ok(book);
    }
    let mut errors = Vec::new();
    if !validator().is_valid(tree) {
        for err in validator().iter_errors(tree) {
            structural(&err, &mut errors);
        }
    }
    if !errors.is_empty() {
        drop_missing_keys_explained_by_typos(&mut errors);
        errors.sort_by_cached_key(|d: &Diagnostic| source.map.locate(&d.pointer, d.at_key).map(|p| (p.line, p.col)));
        errors.dedup_by(|a, b| a.pointer == b.pointer && a.message == b.message);
        return Err(limit(errors)
            .into_iter()
            .map(|d| if d.omitted.is_some() { d } else { source.locate(d) })
            .collect());
    }
    // The schema accepted the tree, and the model did not (on what the schema cannot express):
    // the text read again gives that error with its position.
    read_text(source)
}

/// The schema's bounds that the model's integer types do not imply (`#[schemars(range)]`).
pub fn within_schema_ranges(book: &Rulebook) -> bool {
    super::model::WARN_AT_PERCENT.contains(&book.sla.warn_at_percent)
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn subschema<'a>(pointer: &str) -> Option<&'a Value> {
    schema().pointer(pointer)
}

fn resolve(schema_node: &Value) -> &Value {
    match schema_node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(p) => subschema(p).map(resolve).unwrap_or(schema_node),
        None => schema_node,
    }
}

/// The keys a mapping allows, read from the schema node that rejected an unknown one.
fn allowed_keys(schema_path: &str) -> Vec<String> {
    let parent = schema_path.strip_suffix("/additionalProperties").unwrap_or(schema_path);
    subschema(parent)
        .map(resolve)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// How the rulebook's documentation names JSON types.
fn type_name(kind: &str) -> &'static str {
    match kind {
        "array" => "a list",
        "object" => "a mapping",
        "string" => "a string",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        _ => "nothing",
    }
}

fn shown_value(instance: &Value) -> String {
    match instance {
        Value::String(s) => format!("`{s}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::Bool(b) => format!("`{b}`"),
        other => describe(other).to_string(),
    }
}

fn not_one_of(pointer: String, instance: &Value, options: &[String]) -> Diagnostic {
    let d = Diagnostic::error(pointer, format!("{} is not one of: {}", shown_value(instance), options.join(", ")));
    match instance.as_str() {
        Some(s) => d.suggest(s, options.iter().map(String::as_str)),
        None => d,
    }
}

#[cfg(feature = "rulebook-schema")]
/// The values allowed where every alternative is a single constant (how documented enums look).
fn constant_options(context: &[Vec<jsonschema::ValidationError<'static>>], pointer: &str) -> Option<Vec<String>> {
    let mut options = Vec::new();
    for errs in context {
        let [only] = errs.as_slice() else { return None };
        if only.instance_path().as_str() != pointer {
            return None;
        }
        match only.kind() {
            ValidationErrorKind::Constant { expected_value } => options.push(expected_value.as_str()?.to_string()),
            ValidationErrorKind::Enum { options: values } => {
                options.extend(values.as_array()?.iter().filter_map(|v| v.as_str().map(str::to_string)))
            }
            _ => return None,
        }
    }
    Some(options)
}

#[cfg(feature = "rulebook-schema")]
/// Turns one schema violation into diagnostics that say what is wrong in rulebook terms.
fn structural(err: &jsonschema::ValidationError<'_>, out: &mut Vec<Diagnostic>) {
    let pointer = err.instance_path().to_string();
    let instance = err.instance();
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = allowed_keys(&err.schema_path().to_string());
            for key in unexpected {
                let d = Diagnostic::error(format!("{pointer}/{}", escape_segment(key)), format!("unknown key `{key}`"))
                    .at_key();
                let d = match super::diagnostic::did_you_mean(key, allowed.iter().map(String::as_str)) {
                    Some(best) => d.with_help(format!("did you mean `{best}`?")),
                    None if !allowed.is_empty() => d.with_help(format!("allowed keys here: {}", allowed.join(", "))),
                    None => d,
                };
                out.push(d);
            }
        }
        ValidationErrorKind::Required { property } => {
            let key = property.as_str().unwrap_or_default();
            out.push(Diagnostic::error(pointer, format!("missing key `{key}`")).at_key());
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                jsonschema::error::TypeKind::Single(t) => type_name(&t.to_string()).to_string(),
                jsonschema::error::TypeKind::Multiple(ts) => {
                    ts.iter().map(|t| type_name(&t.to_string())).collect::<Vec<_>>().join(" or ")
                }
            };
            out.push(Diagnostic::error(pointer, format!("expected {expected}, found {}", describe(instance))));
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .map(|o| o.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            out.push(not_one_of(pointer, instance, &options));
        }
        ValidationErrorKind::Constant { expected_value } => {
            out.push(not_one_of(pointer, instance, &[expected_value.as_str().unwrap_or_default().to_string()]));
        }
        ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
            out.push(Diagnostic::error(
                pointer,
                format!("{} is more than the maximum, {limit}", shown_value(instance)),
            ));
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
            out.push(Diagnostic::error(
                pointer,
                format!("{} is less than the minimum, {limit}", shown_value(instance)),
            ));
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            if let Some(options) = constant_options(context, &pointer) {
                out.push(not_one_of(pointer, instance, &options));
                return;
            }
            if is_step(&pointer) {
                step_errors(&pointer, instance, context, out);
                return;
            }
            // Report the alternative the author most likely meant: one whose shape matches.
            let candidates = context.iter().filter(|errs| {
                !errs.iter().any(|e| {
                    e.instance_path().as_str() == pointer && matches!(e.kind(), ValidationErrorKind::Type { .. })
                })
            });
            match candidates.min_by_key(|errs| errs.len()) {
                Some(errs) if !errs.is_empty() => errs.iter().for_each(|e| structural(e, out)),
                // Every shape wants another type (e.g. an optional mapping given `true`): say
                // which, leaving out "nothing", which only means the key may be left out.
                _ if let Some(expected) = expected_types(context, &pointer) => {
                    out.push(Diagnostic::error(pointer, format!("expected {expected}, found {}", describe(instance))))
                }
                _ => out.push(Diagnostic::error(
                    pointer,
                    format!("{} does not have any of the allowed shapes here", describe(instance)),
                )),
            }
        }
        _ => out.push(Diagnostic::error(pointer, err.to_string())),
    }
}

#[cfg(feature = "rulebook-schema")]
/// The types the alternatives of a node expect, when each of them fails only on the node's type.
fn expected_types(context: &[Vec<jsonschema::ValidationError<'static>>], pointer: &str) -> Option<String> {
    let mut names: Vec<&str> = Vec::new();
    for errs in context {
        let [only] = errs.as_slice() else { return None };
        let ValidationErrorKind::Type { kind } = only.kind() else { return None };
        if only.instance_path().as_str() != pointer {
            return None;
        }
        let kinds = match kind {
            jsonschema::error::TypeKind::Single(t) => vec![type_name(&t.to_string())],
            jsonschema::error::TypeKind::Multiple(ts) => ts.iter().map(|t| type_name(&t.to_string())).collect(),
        };
        for name in kinds {
            if name != "nothing" && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    (!names.is_empty()).then(|| names.join(" or "))
}

fn is_step(pointer: &str) -> bool {
    let parent = &pointer[..pointer.rfind('/').unwrap_or(0)];
    parent.ends_with("/start")
        || parent.ends_with("/then")
        || parent.ends_with("/else")
        || parent.starts_with("/flows/") && parent.matches('/').count() == 2
}

/// The mapping forms of a step, in the order of `model::Step`'s variants after `Name`.
pub(crate) const STEP_FORMS: [&str; 5] = ["classify", "escalate", "flow", "end", "if"];

#[cfg(feature = "rulebook-schema")]
/// A step that fits no form: explain it by the form its key names, or name the unknown form.
fn step_errors(
    pointer: &str,
    instance: &Value,
    context: &[Vec<jsonschema::ValidationError<'static>>],
    out: &mut Vec<Diagnostic>,
) {
    let form = instance.as_object().and_then(|o| {
        let named = o.keys().find_map(|k| STEP_FORMS.iter().position(|f| f == k));
        named.map(|i| (i, None)).or_else(|| o.keys().next().map(|k| (usize::MAX, Some(k.clone()))))
    });
    match form {
        // The variant index: `Name` comes first, then the forms.
        Some((i, None)) if i + 1 < context.len() => context[i + 1].iter().for_each(|e| structural(e, out)),
        Some((_, Some(key))) => out.push(
            Diagnostic::error(format!("{pointer}/{}", escape_segment(&key)), format!("unknown step form `{key}`"))
                .at_key()
                .suggest(&key, STEP_FORMS)
                .with_help_if_none("a step is a name (`take_in_charge`), or one of `classify: Q`, `escalate: [targets]`, `flow: name`, `end: outcome`, `if: fact` with `then`/`else`"),
        ),
        _ => out.push(
            Diagnostic::error(pointer, format!("{} is not a step", describe(instance)))
                .with_help("a step is a name (`take_in_charge`), or one of `classify: Q`, `escalate: [targets]`, `flow: name`, `end: outcome`, `if: fact` with `then`/`else`"),
        ),
    }
}

/// Drops "missing key `k`" where the same mapping has an unknown key that is a typo of `k`.
fn drop_missing_keys_explained_by_typos(errors: &mut Vec<Diagnostic>) {
    // (mapping, the message its missing key would have), looked up once per error.
    let explained: HashSet<(String, String)> = errors
        .iter()
        .filter(|d| d.message.starts_with("unknown key"))
        .filter_map(|d| {
            let meant = d.help.as_deref()?.strip_prefix("did you mean `")?.strip_suffix("`?")?;
            Some((d.pointer[..d.pointer.rfind('/')?].to_string(), format!("missing key `{meant}`")))
        })
        .collect();
    if explained.is_empty() {
        return;
    }
    errors.retain(|d| !explained.contains(&(d.pointer.clone(), d.message.clone())));
}

/// A rulebook that passed every check, with its warnings and its knowledge base.
pub struct Checked {
    pub book: Rulebook,
    pub warnings: Vec<Diagnostic>,
    pub knowledge: KnowledgeBase,
}

/// Parses and checks a rulebook text. Errors stop here; warnings come back with the book.
pub fn check(source: &Source) -> Result<Checked, Vec<Diagnostic>> {
    check_parsed(source, parse(source)?)
}

/// The semantic checks of a rulebook already parsed from `source`.
pub fn check_parsed(source: &Source, book: Rulebook) -> Result<Checked, Vec<Diagnostic>> {
    // Read once: checked here, then kept for the engine.
    let knowledge = read_knowledge(&source.dir, book.knowledge.as_deref(), crate::knowledge::parse_article);
    let mut diagnostics = super::validate::check(&book, knowledge.as_ref());
    diagnostics.iter_mut().for_each(|d| d.locate(&source.file, &source.text, &source.map));
    let diagnostics = ordered(diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    Ok(Checked { book, warnings: diagnostics, knowledge: knowledge.and_then(Result::ok).unwrap_or_default() })
}

/// The knowledge articles of the rulebook's `knowledge:` folder (relative to the rulebook's
/// folder), each file's text turned into its article by `parse`; `None` when it names none.
pub fn read_knowledge(
    dir: &Path,
    folder: Option<&str>,
    parse: impl FnMut(&Path, &str) -> Result<crate::knowledge::Article, String>,
) -> Option<Result<KnowledgeBase, String>> {
    folder.map(|folder| {
        let path = dir.join(folder);
        crate::knowledge::load_dir_with(&path, parse)
            .map_err(|e| format!("cannot read the knowledge base at `{}`: {e}", path.display()))
    })
}

/// Located diagnostics in the order they are shown: errors first, each kind by position, the
/// ones past [`super::diagnostic::MAX_SHOWN`] counted.
pub fn ordered(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diagnostics.sort_by_key(|d| (d.severity, d.location.as_ref().map(|l| (l.pos.line, l.pos.col))));
    limit(diagnostics)
}

/// Reads, parses and checks a rulebook file or folder.
pub fn load(path: &Path) -> Result<(Checked, Source), Vec<Diagnostic>> {
    let source = Source::read(path).map_err(|d| vec![*d])?;
    Ok((check(&source)?, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema's bounds are those of its integers' formats, but the ones
    /// `within_schema_ranges` checks: a new `#[schemars(range)]` must be added there too.
    #[test]
    fn the_schemas_ranges_are_the_types_or_checked_apart() {
        fn walk(node: &Value, path: String, found: &mut Vec<String>) {
            match node {
                Value::Object(map) => {
                    let bounds = (map.get("minimum"), map.get("maximum"));
                    if bounds != (None, None) {
                        let natural = match map.get("format").and_then(Value::as_str) {
                            Some("uint8") => (Some(0), Some(255)),
                            Some("uint16") => (Some(0), Some(65_535)),
                            Some("uint32") => (Some(0), None),
                            Some("uint64" | "uint") => (Some(0), None),
                            Some("int16") => (Some(-32_768), Some(32_767)),
                            _ => (None, None),
                        };
                        if (bounds.0.and_then(Value::as_i64), bounds.1.and_then(Value::as_i64)) != natural {
                            found.push(path.clone());
                        }
                    }
                    map.iter().for_each(|(k, v)| walk(v, format!("{path}/{k}"), found));
                }
                Value::Array(items) => {
                    items.iter().enumerate().for_each(|(i, v)| walk(v, format!("{path}/{i}"), found))
                }
                _ => {}
            }
        }
        let mut found = Vec::new();
        walk(schema(), String::new(), &mut found);
        assert_eq!(found, ["/$defs/Sla/properties/warn_at_percent"]);
        let mut book: Rulebook = serde_saphyr::from_str(include_str!("../../rules/rulebook.yaml")).unwrap();
        for (percent, within) in [(0, false), (1, true), (99, true), (100, false)] {
            book.sla.warn_at_percent = percent;
            assert_eq!(within_schema_ranges(&book), within, "{percent}");
        }
    }
}
