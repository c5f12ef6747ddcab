//! The knowledge base's checks in two parts: what an article's file alone gives ([`ArticleFacts`]:
//! its own findings, its example questions' words, its links to other articles), worked out once
//! per text, and the checks against the rulebook and across articles ([`check`]), run every
//! time. `rules check`'s cache keeps an article's facts, so an unchanged article is neither
//! read nor parsed; the findings come out in the same order either way.

use super::{Article, ArticleFinding, LinkTarget, MIN_EXAMPLES, is_article_id, links};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// A string borrowed from the article (or from the cache's bytes), or owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ArticleText<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for ArticleText<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'a> ArticleText<'a> {
    fn of(s: &'a str) -> Self {
        ArticleText(Cow::Borrowed(s))
    }

    fn into_owned(self) -> ArticleText<'static> {
        ArticleText(Cow::Owned(self.0.into_owned()))
    }
}

/// A finding about an article that depends on its file alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Own<'a> {
    NoText,
    EmptyTitle,
    BadId,
    NoExamples,
    FewExamples(usize),
    #[serde(borrow)]
    EmptyExample(ArticleText<'a>),
    #[serde(borrow)]
    ExampleTwice(ArticleText<'a>),
    /// `line`: the file's line.
    PlainHttp {
        #[serde(borrow)]
        url: ArticleText<'a>,
        line: usize,
    },
    Malformed {
        #[serde(borrow)]
        url: ArticleText<'a>,
        line: usize,
    },
    EmptyLink {
        line: usize,
    },
}

/// One step of an article's checks, in the order they run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Item<'a> {
    #[serde(borrow)]
    Own(Own<'a>),
    /// An example question and its words: looked up against the other articles' at each check.
    Example {
        #[serde(borrow)]
        text: ArticleText<'a>,
        #[serde(borrow)]
        key: ArticleText<'a>,
    },
    /// A link to another article (by id) at a line of the file.
    Link {
        #[serde(borrow)]
        url: ArticleText<'a>,
        #[serde(borrow)]
        id: ArticleText<'a>,
        line: usize,
    },
}

/// What the knowledge checks need of one article, from its file alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArticleFacts<'a> {
    #[serde(borrow)]
    pub id: ArticleText<'a>,
    #[serde(borrow)]
    pub lang: ArticleText<'a>,
    #[serde(borrow)]
    pub categories: Vec<ArticleText<'a>>,
    /// The name the file should have, when it has another (a warning that comes before the
    /// rulebook's checks of the article).
    #[serde(borrow)]
    pub named: Option<ArticleText<'a>>,
    #[serde(borrow)]
    pub items: Vec<Item<'a>>,
}

impl<'a> ArticleFacts<'a> {
    /// An article's facts, borrowing its text.
    pub fn of(a: &'a Article) -> Self {
        let mut items = Vec::new();
        let expected = format!("{}.{}.md", a.meta.id, a.meta.lang);
        let named =
            a.file.file_name().is_some_and(|n| n.to_string_lossy() != expected).then(|| ArticleText(expected.into()));
        if a.body.trim().is_empty() {
            items.push(Item::Own(Own::NoText));
        }
        if a.meta.title.trim().is_empty() {
            items.push(Item::Own(Own::EmptyTitle));
        }
        if !is_article_id(&a.meta.id) {
            items.push(Item::Own(Own::BadId));
        }
        match a.meta.examples.len() {
            0 => items.push(Item::Own(Own::NoExamples)),
            n if n < MIN_EXAMPLES => items.push(Item::Own(Own::FewExamples(n))),
            _ => {}
        }
        // An example listed twice in the article is found here; across articles, at each check.
        let mut listed = HashSet::new();
        for e in &a.meta.examples {
            let key = super::search::normalize(e);
            if key.is_empty() {
                items.push(Item::Own(Own::EmptyExample(ArticleText::of(e))));
            } else if listed.contains(&key) {
                items.push(Item::Own(Own::ExampleTwice(ArticleText::of(e))));
            } else {
                items.push(Item::Example { text: ArticleText::of(e), key: ArticleText(key.clone().into()) });
                listed.insert(key);
            }
        }
        for link in links(&a.body) {
            let line = a.body_line + link.line;
            let item = match link.target() {
                LinkTarget::Web { secure: false } => {
                    Item::Own(Own::PlainHttp { url: ArticleText(link.url.into()), line })
                }
                LinkTarget::Web { secure: true } if !super::has_host(&link.url) => {
                    Item::Own(Own::Malformed { url: ArticleText(link.url.into()), line })
                }
                LinkTarget::Article(id) => {
                    Item::Link { url: ArticleText(link.url.into()), id: ArticleText(id.into()), line }
                }
                LinkTarget::Empty => Item::Own(Own::EmptyLink { line }),
                LinkTarget::Web { .. } | LinkTarget::Other => continue,
            };
            items.push(item);
        }
        ArticleFacts {
            id: ArticleText::of(&a.meta.id),
            lang: ArticleText::of(&a.meta.lang),
            categories: a.meta.categories.iter().map(|c| ArticleText::of(c)).collect(),
            named,
            items,
        }
    }

    /// The same facts owning their strings (kept in `rules check`'s cache).
    pub fn into_owned(self) -> ArticleFacts<'static> {
        let own = |o: Own<'_>| match o {
            Own::NoText => Own::NoText,
            Own::EmptyTitle => Own::EmptyTitle,
            Own::BadId => Own::BadId,
            Own::NoExamples => Own::NoExamples,
            Own::FewExamples(n) => Own::FewExamples(n),
            Own::EmptyExample(e) => Own::EmptyExample(e.into_owned()),
            Own::ExampleTwice(e) => Own::ExampleTwice(e.into_owned()),
            Own::PlainHttp { url, line } => Own::PlainHttp { url: url.into_owned(), line },
            Own::Malformed { url, line } => Own::Malformed { url: url.into_owned(), line },
            Own::EmptyLink { line } => Own::EmptyLink { line },
        };
        ArticleFacts {
            id: self.id.into_owned(),
            lang: self.lang.into_owned(),
            categories: self.categories.into_iter().map(ArticleText::into_owned).collect(),
            named: self.named.map(ArticleText::into_owned),
            items: self
                .items
                .into_iter()
                .map(|item| match item {
                    Item::Own(o) => Item::Own(own(o)),
                    Item::Example { text, key } => Item::Example { text: text.into_owned(), key: key.into_owned() },
                    Item::Link { url, id, line } => Item::Link { url: url.into_owned(), id: id.into_owned(), line },
                })
                .collect(),
        }
    }
}

/// Ids with the languages each is written in.
pub fn ids<'f>(articles: &[(&Path, &'f ArticleFacts<'_>)]) -> BTreeMap<&'f str, BTreeSet<&'f str>> {
    let mut ids: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, a) in articles {
        ids.entry(&a.id).or_default().insert(&a.lang);
    }
    ids
}

/// The knowledge base's findings: the files that could not be read, then each article's (its
/// own, against the rulebook's languages and categories, against the other articles), then the
/// missing translations.
pub fn check(
    broken: &[(PathBuf, String)],
    articles: &[(&Path, &ArticleFacts<'_>)],
    languages: &[String],
    categories: BTreeSet<&str>,
) -> Vec<ArticleFinding> {
    let mut out = Vec::new();
    let mut problem =
        |is_error, message: String, help: Option<String>| out.push(ArticleFinding { is_error, message, help });
    for (file, why) in broken {
        problem(true, format!("knowledge article `{}` cannot be read: {why}", file.display()), None);
    }
    let mut seen = BTreeSet::new();
    let all_ids = ids(articles);
    // (language, example's words) → the article that lists it (its index and id): one look-up
    // per example question.
    // Keys of the rulebook's own files, so no defence against chosen collisions is needed:
    // SipHash and the table's growth were a tenth of a check with the cache warm.
    let count = articles.iter().flat_map(|(_, a)| &a.items).filter(|i| matches!(i, Item::Example { .. })).count();
    let mut examples: rustc_hash::FxHashMap<(&str, &str), (usize, &str)> =
        rustc_hash::FxHashMap::with_capacity_and_hasher(count, Default::default());
    for (index, (file, a)) in articles.iter().enumerate() {
        let shown = file.display();
        if !seen.insert((&*a.id, &*a.lang)) {
            problem(true, format!("knowledge article `{}` repeats id `{}` in `{}`", shown, &*a.id, &*a.lang), None);
        }
        if let Some(expected) = &a.named {
            let message =
                format!("knowledge article `{shown}` should be named `{}` after its id and language", &**expected);
            problem(false, message, None);
        }
        if !languages.iter().any(|l| *l == *a.lang) {
            problem(
                true,
                format!("knowledge article `{shown}` is in `{}`, not one of the rulebook's languages", &*a.lang),
                None,
            );
        }
        for c in &a.categories {
            if !categories.contains(&**c) {
                let help =
                    crate::text::did_you_mean(c, categories.iter().copied()).map(|b| format!("did you mean `{b}`?"));
                problem(true, format!("knowledge article `{shown}` names unknown category `{}`", &**c), help);
            }
        }
        for item in &a.items {
            match item {
                Item::Own(own) => {
                    let (is_error, message, help) = own_finding(own, &shown, &a.id);
                    problem(is_error, message, help);
                }
                Item::Example { text, key } => match examples.insert((&*a.lang, &**key), (index, &*a.id)) {
                    Some((_, other)) if other != &*a.id => problem(
                        true,
                        format!(
                            "knowledge article `{shown}` and `{other}` ({}) both list the example {:?}: the bot \
                             cannot tell them apart",
                            &*a.lang, &**text
                        ),
                        Some("keep the example in the article that answers it".into()),
                    ),
                    _ => {}
                },
                Item::Link { url, id, line } => {
                    let at = || format!("{shown}:{line}");
                    match all_ids.get(&**id) {
                        None => {
                            let help = crate::text::did_you_mean(id, all_ids.keys().copied())
                                .map(|b| format!("did you mean `{b}`?"));
                            problem(
                                true,
                                format!("knowledge article {} links to `{}`, which is no article", at(), &**url),
                                help,
                            )
                        }
                        Some(langs) if !langs.contains(&*a.lang) => problem(
                            false,
                            format!(
                                "knowledge article {} links to `{}`, which has no `{}` version",
                                at(),
                                &**id,
                                &*a.lang
                            ),
                            None,
                        ),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    for (id, langs) in all_ids {
        for lang in languages.iter().filter(|l| !langs.contains(l.as_str())) {
            problem(false, format!("knowledge article `{id}` has no `{lang}` version"), None);
        }
    }
    out
}

/// An article's own finding, worded with the file as shown: (is it an error, message, help).
fn own_finding(own: &Own<'_>, shown: &std::path::Display<'_>, id: &str) -> (bool, String, Option<String>) {
    match own {
        Own::NoText => (true, format!("knowledge article `{shown}` has no text"), None),
        Own::EmptyTitle => (true, format!("knowledge article `{shown}` has an empty title"), None),
        Own::BadId => {
            (true, format!("knowledge article `{shown}` has id `{id}`: use lower-case letters, digits and `-`"), None)
        }
        Own::NoExamples => (
            false,
            format!(
                "knowledge article `{shown}` has no example questions: the bot finds an article by questions worded \
                 like its examples"
            ),
            Some("add `examples:` with questions as citizens type them, typos included".into()),
        ),
        Own::FewExamples(n) => (
            false,
            format!("knowledge article `{shown}` has {n} example questions; at least {MIN_EXAMPLES} help the bot"),
            None,
        ),
        Own::EmptyExample(e) => {
            (true, format!("knowledge article `{shown}` has an example question with no words: {:?}", &**e), None)
        }
        Own::ExampleTwice(e) => {
            (false, format!("knowledge article `{shown}` lists the example {:?} twice", &**e), None)
        }
        Own::PlainHttp { url, line } => (
            false,
            format!("knowledge article {shown}:{line} links to `{}` over plain http", &**url),
            Some("link the https address".into()),
        ),
        Own::Malformed { url, line } => {
            (true, format!("knowledge article {shown}:{line} has a malformed address `{}`", &**url), None)
        }
        Own::EmptyLink { line } => (true, format!("knowledge article {shown}:{line} has a link with no address"), None),
    }
}
