//! The knowledge base: Markdown articles with YAML front matter under `rules/knowledge/`, one file
//! per article and language (`pay-pagopa-notice.it.md`).

pub mod search;

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
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
}

#[derive(Debug, Clone)]
pub struct Article {
    pub meta: FrontMatter,
    pub body: String,
    pub file: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    pub articles: Vec<Article>,
    /// Files that could not be read as articles, with the reason.
    pub broken: Vec<(PathBuf, String)>,
}

#[derive(Debug, Clone)]
pub struct Problem {
    pub is_error: bool,
    pub message: String,
    pub help: Option<String>,
}

/// An article larger than this is refused: answers are short.
const MAX_ARTICLE_BYTES: u64 = 256 * 1024;

/// Splits `---\nfront matter\n---\nbody`.
fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n"))?;
    let end = rest.find("\n---")?;
    let body = rest[end + 4..].trim_start_matches(['\r', '\n']);
    Some((&rest[..end], body))
}

pub fn parse_article(file: &Path, text: &str) -> Result<Article, String> {
    let (front, body) = split_front_matter(text)
        .ok_or("no front matter: the file must start with `---`, the article's keys, and `---`")?;
    let meta: FrontMatter = serde_saphyr::from_str(front).map_err(|e| {
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
    Ok(Article { meta, body: body.to_string(), file: file.to_path_buf() })
}

/// Reads every `*.md` file of a folder (not recursively), keeping unreadable ones as `broken`.
pub fn load_dir(dir: &Path) -> std::io::Result<KnowledgeBase> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md") && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    let mut kb = KnowledgeBase::default();
    for file in files {
        let text = match std::fs::metadata(&file) {
            Ok(m) if m.len() > MAX_ARTICLE_BYTES => Err(format!("larger than {MAX_ARTICLE_BYTES} bytes")),
            _ => std::fs::read_to_string(&file).map_err(|e| e.to_string()),
        };
        match text.and_then(|t| parse_article(&file, &t)) {
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

    pub fn check(&self, languages: &[String], categories: BTreeSet<&str>) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut problem =
            |is_error, message: String, help: Option<String>| out.push(Problem { is_error, message, help });
        for (file, why) in &self.broken {
            problem(true, format!("knowledge article `{}` cannot be read: {why}", file.display()), None);
        }
        let mut seen = BTreeSet::new();
        for a in &self.articles {
            let shown = a.file.display();
            if !seen.insert((&a.meta.id, &a.meta.lang)) {
                problem(
                    true,
                    format!("knowledge article `{}` repeats id `{}` in `{}`", shown, a.meta.id, a.meta.lang),
                    None,
                );
            }
            let expected = format!("{}.{}.md", a.meta.id, a.meta.lang);
            if a.file.file_name().is_some_and(|n| n.to_string_lossy() != expected) {
                problem(
                    false,
                    format!("knowledge article `{shown}` should be named `{expected}` after its id and language"),
                    None,
                );
            }
            if !languages.contains(&a.meta.lang) {
                problem(
                    true,
                    format!("knowledge article `{shown}` is in `{}`, not one of the rulebook's languages", a.meta.lang),
                    None,
                );
            }
            for c in &a.meta.categories {
                if !categories.contains(c.as_str()) {
                    let help = crate::rules::diagnostic::did_you_mean(c, categories.iter().copied())
                        .map(|b| format!("did you mean `{b}`?"));
                    problem(true, format!("knowledge article `{shown}` names unknown category `{c}`"), help);
                }
            }
            if a.body.trim().is_empty() {
                problem(true, format!("knowledge article `{shown}` has no text"), None);
            }
        }
        for (id, langs) in self.ids() {
            for lang in languages.iter().filter(|l| !langs.contains(l.as_str())) {
                problem(false, format!("knowledge article `{id}` has no `{lang}` version"), None);
            }
        }
        out
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
