//! The knowledge base: Markdown articles with YAML front matter under `rules/knowledge/`, one file
//! per article and language (`pay-pagopa-notice.it.md`).

pub mod candidates;
pub mod eval;
pub mod facts;
mod fuzzy;
pub mod search;
mod text;

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    pub id: String,
    pub lang: String,
    pub title: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Questions as citizens type them (typos and dialect included), which this article answers:
    /// the bot matches them, and `sportello kb eval` measures on them.
    #[serde(default)]
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Article {
    pub meta: FrontMatter,
    pub body: String,
    pub file: PathBuf,
    /// The file's line where the body starts, for locating problems in it.
    pub body_line: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KnowledgeBase {
    /// The folder the articles were read from; none when the rulebook names no `knowledge:`.
    pub folder: Option<PathBuf>,
    pub articles: Vec<Article>,
    /// Files that could not be read as articles, with the reason.
    pub broken: Vec<(PathBuf, String)>,
}

/// A knowledge base read when it is first used. A compiled rulebook leaves its articles (and
/// their search index) on disk until something asks for them (the chat and the operators'
/// functions do, the others never), so a cold start does not pay for reading them; a YAML
/// rulebook's is read with it.
pub struct LazyKnowledgeBase {
    base: OnceLock<KnowledgeBase>,
    read: Mutex<Option<Box<dyn FnOnce() -> Read + Send>>>,
    /// The index read with the articles, until [`LazyKnowledgeBase::index`] takes it.
    index: Mutex<Option<search::KnowledgeIndex>>,
}

/// What a deferred read gives: the articles, and their index when it was stored with them.
pub type Read = (KnowledgeBase, Option<search::KnowledgeIndex>);

impl LazyKnowledgeBase {
    /// One already read.
    pub fn ready(base: KnowledgeBase) -> Self {
        LazyKnowledgeBase { base: OnceLock::from(base), read: Mutex::new(None), index: Mutex::new(None) }
    }

    /// One `read` gives at its first use.
    pub fn deferred(read: impl FnOnce() -> Read + Send + 'static) -> Self {
        LazyKnowledgeBase { base: OnceLock::new(), read: Mutex::new(Some(Box::new(read))), index: Mutex::new(None) }
    }

    /// Whether the articles have been read yet.
    pub fn is_read(&self) -> bool {
        self.base.get().is_some()
    }

    /// The search index over these articles: the one stored with them the first time it is
    /// asked for, when there is one; else built now.
    pub fn index(&self) -> search::KnowledgeIndex {
        let base: &KnowledgeBase = self;
        let stored = self.index.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        stored.unwrap_or_else(|| search::KnowledgeIndex::build(base))
    }
}

impl std::ops::Deref for LazyKnowledgeBase {
    type Target = KnowledgeBase;

    fn deref(&self) -> &KnowledgeBase {
        self.base.get_or_init(|| {
            let read = self.read.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            let (base, index) = read.map(|read| read()).unwrap_or_default();
            *self.index.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = index;
            base
        })
    }
}

/// What `kb check` finds in an article: an error (the base is refused) or a warning.
#[derive(Debug, Clone)]
pub struct ArticleFinding {
    pub is_error: bool,
    pub message: String,
    pub help: Option<String>,
}

/// Fewer example questions than this make an article hard for the bot to find.
pub const MIN_EXAMPLES: usize = 5;

/// An article larger than this is refused: answers are short.
const MAX_ARTICLE_BYTES: u64 = 256 * 1024;

/// Splits `---\nfront matter\n---\nbody`.
fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n"))?;
    let end = rest.find("\n---")?;
    let body = rest[end + 4..].trim_start_matches(['\r', '\n']);
    Some((&rest[..end], body))
}

/// Whether `value` (a whole line's value, or a list item) reads as the same string in YAML: a
/// plain scalar with no indicator, comment, colon, tab, control character or null spelling. In a
/// flow list (`[a, b]`) the flow indicators are excluded too. Anything else goes to the parser.
fn is_plain_string(value: &str, in_flow: bool) -> bool {
    let Some(first) = value.chars().next() else { return false };
    !"-?:,[]{}#&*!|>'\"%@`~ ".contains(first)
        && !matches!(value, "null" | "Null" | "NULL")
        && !value.ends_with(' ')
        // A byte pair, not `str::contains`, whose searcher's set-up costs more than these values.
        && !value.as_bytes().windows(2).any(|pair| pair == b" #")
        // Byte by byte for the ASCII ones (a UTF-8 sequence's bytes are never ASCII); the
        // characters only of a value that has other than ASCII.
        && !value.bytes().any(|b| {
            b == b':' || b.is_ascii_control() || in_flow && matches!(b, b',' | b'[' | b']' | b'{' | b'}')
        })
        && (value.is_ascii()
            || !value.chars().any(|c| c.is_control() || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}')))
}

/// The front matter read line by line when it has the shape the articles are written in:
/// `key: value` lines, `key: [a, b]` lists and `key:` followed by `  - item` lines, every value a
/// plain string by [`is_plain_string`], the known keys once each. This skips the YAML scanner,
/// most of a `rules check`'s time on articles; anything else gives `None` and the parser reads it
/// (a unit test checks both readings agree).
fn front_matter_from_lines(front: &str) -> Option<FrontMatter> {
    const STRINGS: [&str; 3] = ["id", "lang", "title"];
    const LISTS: [&str; 4] = ["categories", "services", "keywords", "examples"];
    let mut strings: [Option<String>; 3] = Default::default();
    let mut lists: [Option<Vec<String>>; 4] = Default::default();
    // The block list being read (`key:` then `  - item` lines).
    let mut open: Option<usize> = None;
    for line in front.split('\n') {
        if line.trim_start_matches(' ').is_empty() {
            continue;
        }
        if let Some(item) = line.strip_prefix("  - ") {
            let list = lists[open?].as_mut()?;
            is_plain_string(item, false).then(|| list.push(item.to_string()))?;
            continue;
        }
        // A list opened by `key:` has at least one item.
        if open.take().is_some_and(|i| lists[i].as_ref().is_some_and(Vec::is_empty)) {
            return None;
        }
        let (key, value) = line.split_once(':')?;
        let value = value.strip_prefix(' ').map(|v| v.trim_start_matches(' '));
        if let Some(i) = STRINGS.iter().position(|k| *k == key) {
            let value = value.filter(|v| is_plain_string(v, false))?;
            strings[i].replace(value.to_string()).is_none().then_some(())?;
            continue;
        }
        let i = LISTS.iter().position(|k| *k == key)?;
        let items = match value {
            None if line.len() == key.len() + 1 => {
                open = Some(i);
                Vec::new()
            }
            Some(v) => {
                let inner = v.strip_prefix('[')?.strip_suffix(']')?.trim_matches(' ');
                if inner.is_empty() {
                    Vec::new()
                } else {
                    let items = inner.split(',').map(|item| item.trim_matches(' '));
                    items.map(|item| is_plain_string(item, true).then(|| item.to_string())).collect::<Option<_>>()?
                }
            }
            None => return None,
        };
        lists[i].replace(items).is_none().then_some(())?;
    }
    if open.is_some_and(|i| lists[i].as_ref().is_some_and(Vec::is_empty)) {
        return None;
    }
    let [id, lang, title] = strings;
    let [categories, services, keywords, examples] = lists.map(Option::unwrap_or_default);
    Some(FrontMatter { id: id?, lang: lang?, title: title?, categories, services, keywords, examples })
}

pub fn parse_article(file: &Path, text: &str) -> Result<Article, String> {
    let (front, body) = split_front_matter(text)
        .ok_or("no front matter: the file must start with `---`, the article's keys, and `---`")?;
    let quick = front_matter_from_lines(front).map(Ok);
    let meta: FrontMatter = quick.unwrap_or_else(|| serde_saphyr::from_str(front)).map_err(|e| {
        let msg = e.without_snippet().to_string();
        match e.location() {
            // The front matter starts on the file's second line.
            Some(l) => format!(
                "{}:{}:{}: {}",
                file.display(),
                l.line() + 1,
                l.column(),
                msg.split(" at line ").next().unwrap_or(&msg)
            ),
            None => format!("{}: {msg}", file.display()),
        }
    })?;
    let body_line = text[..text.len() - body.len()].lines().count() + 1;
    Ok(Article { meta, body: body.to_string(), file: file.to_path_buf(), body_line })
}

/// Article ids name files and appear in URLs and events.
fn is_article_id(id: &str) -> bool {
    !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

/// A Markdown link `[text](url)` of an article's body, with its line within the body (0-based).
struct Link {
    url: String,
    line: usize,
}

enum LinkTarget {
    Web {
        secure: bool,
    },
    /// Another article, by id (`pay-pagopa-notice`, `pay-pagopa-notice.it.md`, `./…`).
    Article(String),
    Empty,
    /// `mailto:`, `tel:`, `#anchor`.
    Other,
}

impl Link {
    fn target(&self) -> LinkTarget {
        let url = self.url.trim();
        let lower = url.to_ascii_lowercase();
        if url.is_empty() {
            LinkTarget::Empty
        } else if lower.starts_with("https://") {
            LinkTarget::Web { secure: true }
        } else if lower.starts_with("http://") {
            LinkTarget::Web { secure: false }
        } else if url.starts_with('#') || lower.starts_with("mailto:") || lower.starts_with("tel:") {
            LinkTarget::Other
        } else {
            let file = url.trim_start_matches("./").split('#').next().unwrap_or_default();
            let id = file.strip_suffix(".md").map_or(file, |f| f.rsplit_once('.').map_or(f, |(id, _lang)| id));
            LinkTarget::Article(id.to_string())
        }
    }
}

fn has_host(url: &str) -> bool {
    let rest = &url["https://".len().min(url.len())..];
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    host.contains('.') && !host.starts_with('.') && !host.ends_with('.') && !host.contains(char::is_whitespace)
}

/// The Markdown links of a body; code spans and images are not links to check.
fn links(body: &str) -> Vec<Link> {
    let mut out = Vec::new();
    for (line, text) in body.lines().enumerate() {
        let mut rest = text;
        while let Some(open) = rest.find("](") {
            let before = &rest[..open];
            let Some(start) = before.rfind('[') else {
                rest = &rest[open + 2..];
                continue;
            };
            let image = before[..start].ends_with('!');
            let after = &rest[open + 2..];
            let Some(close) = after.find(')') else { break };
            if !image && before[..start].matches('`').count() % 2 == 0 {
                out.push(Link { url: after[..close].to_string(), line });
            }
            rest = &after[close + 1..];
        }
    }
    out
}

/// Adds an example question to an article file's front matter, keeping everything else as it
/// is: appended to the `examples:` list (written one per line), or as a new `examples:` list.
/// The file is read back as an article before it is kept; on any problem it is left unchanged.
pub fn add_example(file: &Path, question: &str) -> Result<(), String> {
    let question = question.trim();
    if question.is_empty() || question.contains(['\n', '\r']) {
        return Err("an example question is one non-empty line".into());
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
    let article = parse_article(file, &text)?;
    if article.meta.examples.iter().any(|e| search::normalize(e) == search::normalize(question)) {
        return Err(format!("`{}` already lists {question:?}", file.display()));
    }
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let quoted = format!("  - {}", serde_json::to_string(question).map_err(|e| e.to_string())?);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // The front matter is lines[1..close].
    let close = lines.iter().skip(1).position(|l| l.trim_end() == "---").map(|i| i + 1).ok_or("no front matter end")?;
    let examples_at = lines[1..close].iter().position(|l| l.starts_with("examples:")).map(|i| i + 1);
    let insert_at = match examples_at {
        Some(at) if lines[at].trim_end() != "examples:" => {
            return Err(format!(
                "`{}`: write `examples:` as a list, one question per line (`  - ...`), to add to it",
                file.display()
            ));
        }
        // After the list's last item.
        Some(at) => {
            at + 1 + lines[at + 1..close].iter().take_while(|l| l.starts_with("  ") || l.trim().is_empty()).count()
        }
        None => close,
    };
    let mut out = String::with_capacity(text.len() + quoted.len() + 16);
    for (i, line) in lines.iter().enumerate() {
        if i == insert_at {
            if examples_at.is_none() {
                out.push_str("examples:");
                out.push_str(newline);
            }
            out.push_str(&quoted);
            out.push_str(newline);
        }
        out.push_str(line);
    }
    let added = parse_article(file, &out)?;
    if added.meta.examples.last().map(String::as_str) != Some(question) || added.body != article.body {
        return Err(format!("`{}`: could not add the example without changing the article", file.display()));
    }
    std::fs::write(file, out).map_err(|e| format!("cannot write `{}`: {e}", file.display()))
}

/// Reads every `*.md` file of a folder (not recursively), keeping unreadable ones as `broken`.
/// The article files of a knowledge folder (`*.md` but its README), in name order.
pub fn article_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md") && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    // One folder, so its paths' bytes sort as their names do: the same order as `Path`'s, which
    // splits both paths into components at every comparison.
    files.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    Ok(files)
}

/// An article file's text: opened once, its size read from the open file.
pub fn read_article(file: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut f = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_ARTICLE_BYTES {
        return Err(format!("larger than {MAX_ARTICLE_BYTES} bytes"));
    }
    let mut text = String::with_capacity(len as usize);
    f.read_to_string(&mut text).map_err(|e| e.to_string())?;
    Ok(text)
}

pub fn load_dir(dir: &Path) -> std::io::Result<KnowledgeBase> {
    load_dir_with(dir, parse_article)
}

/// [`load_dir`], each file's text turned into its article by `parse` (`rules check`'s cache
/// gives back the article of a text it has already parsed).
pub fn load_dir_with(
    dir: &Path,
    mut parse: impl FnMut(&Path, &str) -> Result<Article, String>,
) -> std::io::Result<KnowledgeBase> {
    let files = article_files(dir)?;
    let mut kb = KnowledgeBase { folder: Some(dir.to_path_buf()), ..KnowledgeBase::default() };
    for file in files {
        match read_article(&file).and_then(|t| parse(&file, &t)) {
            Ok(a) => kb.articles.push(a),
            Err(e) => kb.broken.push((file, e)),
        }
    }
    Ok(kb)
}

impl KnowledgeBase {
    /// Ids with the languages each is written in.
    pub fn ids(&self) -> BTreeMap<&str, BTreeSet<&str>> {
        let mut ids: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for a in &self.articles {
            ids.entry(&a.meta.id).or_default().insert(&a.meta.lang);
        }
        ids
    }

    pub fn check(&self, languages: &[String], categories: BTreeSet<&str>) -> Vec<ArticleFinding> {
        let facts: Vec<facts::ArticleFacts> = self.articles.iter().map(facts::ArticleFacts::of).collect();
        let articles: Vec<_> = self.articles.iter().zip(&facts).map(|(a, f)| (a.file.as_path(), f)).collect();
        facts::check(&self.broken, &articles, languages, categories)
    }

    /// Articles for a category in a language, for operators and `rules explain`.
    pub fn for_category<'a>(&'a self, category: &'a str, lang: &'a str) -> impl Iterator<Item = &'a Article> {
        self.articles.iter().filter(move |a| a.meta.lang == lang && a.meta.categories.iter().any(|c| c == category))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_example_is_added_to_the_front_matter_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.it.md");
        let original =
            "---\nid: x\nlang: it\ntitle: T\nexamples:\n  - prima domanda\n  - \"seconda: domanda\"\n---\n\nCorpo.\n";
        std::fs::write(&file, original).unwrap();
        add_example(&file, "dove trovo la \"ricevuta\"?").unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            text,
            "---\nid: x\nlang: it\ntitle: T\nexamples:\n  - prima domanda\n  - \"seconda: domanda\"\n  - \"dove trovo la \\\"ricevuta\\\"?\"\n---\n\nCorpo.\n"
        );
        assert!(add_example(&file, "Dove trovo la ricevuta").unwrap_err().contains("already lists"));
        assert!(add_example(&file, "due\nrighe").is_err());

        // No examples yet: the list is added.
        std::fs::write(&file, "---\nid: x\nlang: it\ntitle: T\n---\nCorpo.\n").unwrap();
        add_example(&file, "una domanda").unwrap();
        let a = parse_article(&file, &std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!((a.meta.examples, a.body.as_str()), (vec!["una domanda".to_string()], "Corpo.\n"));

        // A flow list is left alone, with advice.
        std::fs::write(&file, "---\nid: x\nlang: it\ntitle: T\nexamples: [a, b]\n---\nCorpo.\n").unwrap();
        assert!(add_example(&file, "c").unwrap_err().contains("one question per line"));
        assert!(std::fs::read_to_string(&file).unwrap().contains("[a, b]"), "unchanged");
    }

    #[test]
    fn article_files_are_the_folders_articles_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.md", "a_b.md", "a-b.md", "a.md", "B.md", "è.md", "a.md.txt", "README.md", "z.mdx"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let files = article_files(dir.path()).unwrap();
        let mut by_path = files.clone();
        by_path.sort();
        assert_eq!(files, by_path);
        let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(names, ["B.md", "a-b.md", "a.md", "a_b.md", "b.md", "è.md"]);
    }

    /// The front matter read line by line is serde-saphyr's reading, or none.
    #[test]
    fn front_matter_read_line_by_line_agrees_with_serde_saphyr() {
        // Whether the line by line reading is there (asserted equal to serde-saphyr's when it is).
        let by_lines = |front: &str| {
            let full = serde_saphyr::from_str::<FrontMatter>(front).map(|m| serde_json::to_value(m).unwrap());
            let lines = front_matter_from_lines(front).map(|m| serde_json::to_value(m).unwrap());
            if let Some(lines) = &lines {
                assert_eq!(Some(lines), full.as_ref().ok(), "read line by line: {front}");
            }
            lines.is_some()
        };
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/knowledge");
        let files = article_files(&dir).unwrap();
        assert!(files.len() > 10);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let (front, _) = split_front_matter(&text).unwrap();
            assert!(by_lines(front), "{} is read line by line", file.display());
        }
        assert!(by_lines(
            "id: x\nlang: it\ntitle: T t's? (x)\nexamples:\n  - a\n\n  - b c\nkeywords: []\ncategories: [x,  y ]\n"
        ));
        assert!(by_lines("id: 12\nlang: it\ntitle: true\nkeywords: [1, yes]\n"), "numbers and booleans are strings");
        assert!(by_lines("id: x\nlang: it\ntitle: Perché è già così?\nkeywords: [città, €]\n"), "accents");
        // Anything but the plain shape is left to the parser, which reads some of these.
        for other in [
            "id: x\nlang: it\ntitle: 'T: t'\n",
            "id: x\nlang: it\ntitle: a: b\n",
            "id: x\nlang: it\ntitle: a # note\n",
            "id: x\nlang: it\ntitle: a\n  b\n",
            "id: x\nlang: it\ntitle:  \n",
            "id: x\nlang: it\ntitle: T\nexamples:\n  - a\n    b\n",
            "id: x\nlang: it\ntitle: T\nexamples:\n- a\n",
            "id: x\nlang: it\ntitle: T\nexamples:\n",
            "id: x\nlang: it\ntitle: T\nexamples:\nkeywords: [a]\n",
            "id: x\nlang: it\ntitle: T\nkeywords: [a, b,]\n",
            "id: x\nlang: it\ntitle: T\nkeywords: [a, [b]]\n",
            "id: x\nlang: it\ntitle: T\nkeywords: [a, b] # c\n",
            "id: x\nlang: it\ntitle: T\nkeywords: [\"a, b\"]\n",
            "id: x\nlang: it\ntitle: T\nkeywords: a\n",
            "id: x\nlang: it\ntitle: [T]\n",
            "id: x\nlang: it\ntitle: T\r\n",
            "id: x\nlang: it\ntitle: T\ttab\n",
            "id:x\nlang: it\ntitle: T\n",
            " id: x\nlang: it\ntitle: T\n",
            "id: x\nlang: it\ntitle: T\n...\n",
            "id: x\nlang: it\ntitle: T\nexamples:\n  - ~\n",
            "id: x\nlang: it\ntitle: T\nexamples:\n  - -1\n",
            "id: x\nlang: it\ntitle: T\nexamples:\n  - a\nexamples:\n  - b\n",
            "id: x\nlang: it\ntitle: perché\u{85}no\n",
            "id: x\nlang: it\ntitle: T\u{feff}\n",
            "id: x\nlang: it\ntitle: già\u{7f}\n",
            "id: x\nlang: it\ntitle: T\nkeywords: [città, {a}]\n",
        ] {
            assert!(!by_lines(other), "the parser reads {other:?}");
        }
        // Left to serde-saphyr, which reads these (quotes, an anchor and its alias, a tag)...
        for other in [
            "id: x\nlang: it\ntitle: 'T: t'\nexamples:\n  - \"a\"\n  - b c\ncategories: [x, y]\n",
            "id: &a x\nlang: it\ntitle: *a\n",
            "id: !!str x\nlang: it\ntitle: T\n",
        ] {
            assert!(!by_lines(other), "the parser reads {other:?}");
            assert!(serde_saphyr::from_str::<FrontMatter>(other).is_ok(), "{other:?}");
        }
        // ...and says what is wrong with these, in its own words.
        for other in [
            "id: x\nlang: it\ntitle: ~\n",
            "id: x\nlang: it\ntitle:\n",
            "id: x\nlang: it\ntitle: null\n",
            "id: x\nlang: it\n",
            "id: x\nid: y\nlang: it\ntitle: T\n",
            "id: x\nlang: it\ntitle: T\ntitel: T\n",
            "id: x\nlang: it\ntitle: T\nexamples: one\n",
            "id: x\nlang: it\ntitle: T\nexamples:\n  - [nested]\n",
            "id: x\nlang: it\ntitle: T\nexamples:\n  - ~\n",
            "id: x\nlang: it\ntitle: T\nkeywords: [a, b\n",
            "- a\n- b\n",
            "id: x\nlang: it\ntitle: T\n...\n---\nid: y\n",
        ] {
            assert!(!by_lines(other), "the parser reads {other:?}");
            assert!(serde_saphyr::from_str::<FrontMatter>(other).is_err(), "{other:?} is refused");
        }
    }

    #[test]
    fn front_matter_is_parsed_and_checked() {
        let a = parse_article(
            Path::new("x.it.md"),
            "---\nid: x\nlang: it\ntitle: T\ncategories: [basic_info]\n---\nCorpo.\n",
        )
        .unwrap();
        assert_eq!(a.meta.id, "x");
        assert_eq!(a.body, "Corpo.\n");
        let err = parse_article(Path::new("y.md"), "---\nid: y\nlang: it\ntitel: T\n---\nb").unwrap_err();
        assert!(err.contains("y.md:4:"), "{err}");
        assert!(err.contains("titel"), "{err}");
        assert!(parse_article(Path::new("z.md"), "no front matter").is_err());
    }
}
