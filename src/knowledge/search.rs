//! Retrieval over the knowledge base, for the chatbot and for operators' suggestions.
//!
//! BM25F over four fields (title, keywords, example questions, body), one index per language,
//! with the analysis of [`super::text`] (accent folding, stop words, Snowball stems), word pairs
//! for phrases, and typo tolerance ([`super::fuzzy`]) for words the articles never use. Everything
//! is built in memory from the loaded articles: no model, nothing downloaded.
//!
//! The bot answers ([`KnowledgeIndex::answer_in`]) only when it is sure: the best article's
//! normalized score ([`Hit::score`]) must reach [`CONFIDENT_SCORE`] and beat the runner-up by
//! [`CONFIDENT_MARGIN`]; otherwise it asks back with two or three suggestions. The thresholds are
//! set on the articles' example questions and on `tests/knowledge/tuning.yaml`, never on the
//! held-out sets (`tests/knowledge/held-out*.yaml`); `sportello kb eval` prints the figures of any
//! question set.

use super::fuzzy::Vocabulary;
use super::text::{Analyzer, MAX_QUERY_BYTES, truncate, words};
use super::{Article, KnowledgeBase};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub use super::text::detect_language;

/// BM25 saturation: a term stops adding much after a few occurrences.
const K1: f32 = 1.2;
/// IDF is softened: a rare word met by chance in one article should not outweigh the words
/// that say what the question is about.
const IDF_POWER: f32 = 0.5;

const TITLE: usize = 0;
const KEYWORDS: usize = 1;
const EXAMPLES: usize = 2;
const BODY: usize = 3;
const FIELD_COUNT: usize = 4;
/// Field names, for explanations.
pub const FIELD_NAMES: [&str; FIELD_COUNT] = ["title", "keywords", "examples", "body"];
/// Field weights: titles, keywords and example questions are written to be matched, the body
/// explains.
const FIELD_WEIGHT: [f32; FIELD_COUNT] = [2.5, 3.0, 2.0, 0.3];
/// BM25 length normalization per field: long bodies should not win just by mentioning
/// everything; a long list of examples is many short questions, not one long text.
const FIELD_B: [f32; FIELD_COUNT] = [0.75, 0.5, 0.3, 0.75];

/// Weight of a matched word pair against a single word; pairs come on top of their words.
const PAIR_WEIGHT: f32 = 0.6;
/// Share of the best possible IDF counted, in the normalizer, for a query word the knowledge base
/// never uses: a query mostly about something else should not look confident.
const UNKNOWN_SHARE: f32 = 0.35;
/// Share of an article's score that comes from its phrase (title, keyword, example question)
/// closest to the question; the rest is BM25F over the whole article.
const PHRASE_SHARE: f32 = 0.2;
/// A corrected typo counts a little less than the word written right.
const CORRECTED_WEIGHT: f32 = 0.8;
/// Weights of the citizen's earlier messages, the latest first: the conversation so far counts,
/// the last message most.
const EARLIER_WEIGHTS: [f32; 3] = [0.5, 0.35, 0.25];

/// Normalized score (see [`Hit::score`]) at or above which the bot may answer with the top article.
pub const CONFIDENT_SCORE: f32 = 0.30;
/// The top article must also beat the second by this factor to be answered alone.
pub const CONFIDENT_MARGIN: f32 = 1.4;
/// The share of the question's words the top article must cover to be answered alone
/// (see [`Thresholds::coverage`]). At 60 % questions about something else that share a word pair
/// with an article ("how to pay for parking at the airport", "privacy settings on instagram")
/// came within a few points of being answered; 70 % keeps them out for a few answers fewer.
pub const CONFIDENT_COVERAGE: f32 = 0.7;
/// Below this normalized score nothing is suggested.
pub const MIN_SCORE: f32 = 0.08;
/// Suggestions below this share of the best one's score are not offered.
const SUGGESTION_SHARE: f32 = 0.5;
/// Suggestions offered when the bot is unsure.
const ASK_BACK_HITS: usize = 3;

const MAX_QUERY_TERMS: usize = 256;
/// Excerpt length, in characters.
const EXCERPT_CHARS: usize = 400;

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub lang: String,
    pub title: String,
    /// The BM25F score divided by the best score the query's words could reach: 0 to 1, comparable
    /// across queries, which is what the confidence thresholds are stated in.
    pub score: f32,
    /// The article's opening answer paragraph as plain text, about 400 characters at most.
    pub excerpt: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BotAnswer {
    /// One article answers the question.
    Confident(Hit),
    /// A few plausible articles, best first: ask back which one was meant, or hand over to an
    /// operator.
    Unsure(Vec<Hit>),
    NoMatch,
    /// The message asks for a person, not for an answer.
    WantsOperator,
}

/// What the bot reads: the citizen's latest message and their earlier ones in the same chat,
/// oldest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Question<'a> {
    pub text: &'a str,
    pub earlier: &'a [String],
}

impl<'a> Question<'a> {
    pub fn new(text: &'a str) -> Self {
        Question { text, earlier: &[] }
    }
}

/// Where a query term comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TermOrigin {
    /// The latest message.
    Message,
    /// An earlier message of the conversation.
    Earlier,
    /// A typo, read as the nearest word the articles use.
    Corrected { from: String },
    /// Two adjacent words.
    Pair,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryTerm {
    pub term: String,
    pub weight: f32,
    pub origin: TermOrigin,
    /// Whether any article uses it.
    pub known: bool,
}

/// One article of a ranking, with what matched where.
#[derive(Debug, Clone)]
pub struct ExplainedHit {
    pub hit: Hit,
    /// Its title, keyword phrase or example question closest to the question, and how close.
    pub nearest: Option<(String, f32)>,
    /// See [`Thresholds::coverage`].
    pub coverage: f32,
    /// Whether its title, keywords or example questions matched: only those may be answered.
    pub eligible: bool,
    /// Each matching term's score, by field ([`FIELD_NAMES`]).
    pub matched: Vec<(String, [f32; FIELD_COUNT])>,
}

/// How the bot read a question: the ranking with the reasons, and the decision. `sportello kb
/// ask` prints it.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub lang: String,
    pub terms: Vec<QueryTerm>,
    pub ranked: Vec<ExplainedHit>,
    /// The earlier messages were needed: the latest alone was not clear enough.
    pub used_earlier: bool,
    pub answer: BotAnswer,
}

#[derive(Serialize, Deserialize)]
struct Posting {
    doc: u32,
    tf: [f32; FIELD_COUNT],
}

#[derive(Serialize, Deserialize)]
struct Doc {
    id: String,
    title: String,
    excerpt: String,
}

/// A title, keyword phrase or example question of an article, matched as a whole: a question
/// worded like one of them is most likely about that article.
#[derive(Serialize, Deserialize)]
struct Phrase {
    doc: u32,
    text: String,
    /// The length of its IDF-weighted term vector.
    norm: f32,
}

/// A phrase while the index is built: its article, its text, its terms with their weights.
type PhraseTerms = (u32, String, Vec<(String, f32)>);

/// Stored in the compiled rulebook (`rules::compiled`) but for its analyzer, which is made again
/// from the language.
#[derive(Serialize, Deserialize)]
struct LangIndex {
    lang: String,
    #[serde(skip, default = "Analyzer::placeholder")]
    analyzer: Analyzer,
    docs: Vec<Doc>,
    postings: HashMap<String, Vec<Posting>>,
    phrases: Vec<Phrase>,
    /// Term → (phrase, the term's weight in it).
    phrase_postings: HashMap<String, Vec<(u32, f32)>>,
    /// Per document and field, the BM25 length factor `1 - b + b * len / avg`.
    norm: Vec<[f32; FIELD_COUNT]>,
    vocabulary: Vocabulary,
}

/// The search index over a knowledge base's articles. `sportello rules compile` stores it in the
/// compiled rulebook, so a function reads it instead of building it (tens of milliseconds).
#[derive(Serialize, Deserialize)]
pub struct KnowledgeIndex {
    langs: Vec<LangIndex>,
    #[serde(skip)]
    thresholds: Thresholds,
}

/// Raise it whenever `LangIndex::build` changes what it computes: a compiled index built by
/// other code is not used (see [`KnowledgeIndex::fingerprint`]).
const INDEX_BUILD_VERSION: u32 = 1;

/// An index built the first time it is used: of the functions that share the engine, only those
/// that answer from the knowledge base (chat, operator) pay for building it, on their first use.
pub struct LazyIndex {
    build: Box<dyn Fn() -> KnowledgeIndex + Send + Sync>,
    index: std::sync::OnceLock<KnowledgeIndex>,
}

impl LazyIndex {
    pub fn new(build: impl Fn() -> KnowledgeIndex + Send + Sync + 'static) -> Self {
        LazyIndex { build: Box::new(build), index: std::sync::OnceLock::new() }
    }
}

impl std::ops::Deref for LazyIndex {
    type Target = KnowledgeIndex;

    fn deref(&self) -> &KnowledgeIndex {
        self.index.get_or_init(|| (self.build)())
    }
}

/// When the bot answers alone: the top article's normalized score and its lead over the second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub score: f32,
    pub margin: f32,
    /// The share of the question's words (IDF-weighted) the top article's title, keywords and
    /// examples must hold: one shared word is not enough to answer a question about something else.
    pub coverage: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { score: CONFIDENT_SCORE, margin: CONFIDENT_MARGIN, coverage: CONFIDENT_COVERAGE }
    }
}

/// One term of a query, ready to score.
struct Term {
    term: String,
    weight: f32,
    is_pair: bool,
    origin: TermOrigin,
}

struct Ranked {
    doc: usize,
    score: f32,
    /// The article's title, keyword phrase or example closest to the question, and how close
    /// (cosine of their IDF-weighted terms, 0 to 1).
    nearest: Option<(String, f32)>,
    /// See [`Thresholds::coverage`].
    coverage: f32,
    eligible: bool,
    matched: Vec<(String, [f32; FIELD_COUNT])>,
}

impl KnowledgeIndex {
    pub fn build(kb: &KnowledgeBase) -> KnowledgeIndex {
        let mut by_lang: Vec<(String, Vec<&Article>)> = Vec::new();
        for a in &kb.articles {
            match by_lang.iter_mut().find(|(l, _)| *l == a.meta.lang) {
                Some((_, list)) => list.push(a),
                None => by_lang.push((a.meta.lang.clone(), vec![a])),
            }
        }
        KnowledgeIndex {
            langs: by_lang.into_iter().map(|(lang, articles)| LangIndex::build(lang, &articles)).collect(),
            thresholds: Thresholds::default(),
        }
    }

    /// What the index depends on besides the articles: how it is built and the text analysis
    /// (stop words, rewrites, the stemmer's output), hashed. A compiled index is used only while
    /// the running code gives the same fingerprint.
    pub fn fingerprint() -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let build = (INDEX_BUILD_VERSION, FIELD_B, PAIR_WEIGHT, IDF_POWER, EXCERPT_CHARS);
        let mut hash = Sha256::new();
        hash.update(format!("{build:?}").as_bytes());
        hash.update(super::text::fingerprint_text().as_bytes());
        hash.update(super::fuzzy::fingerprint_text().as_bytes());
        hash.finalize().into()
    }

    /// The index read back from the compiled rulebook, with its analyzers made again.
    pub(crate) fn restored(mut self) -> KnowledgeIndex {
        for lang in &mut self.langs {
            lang.analyzer = Analyzer::for_lang(&lang.lang);
        }
        self.thresholds = Thresholds::default();
        self
    }

    /// Decides with other thresholds from now on: `sportello kb eval --sweep` compares them.
    pub fn set_thresholds(&mut self, thresholds: Thresholds) {
        self.thresholds = thresholds;
    }

    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// The languages with articles.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.langs.iter().map(|l| l.lang.as_str())
    }

    /// The best articles for `query` in `lang`, best first: what operators are offered. A language
    /// without articles is replaced by the one the query seems to be written in.
    pub fn search(&self, query: &str, lang: &str, limit: usize) -> Vec<Hit> {
        match self.index_for(query, lang) {
            Some(idx) => {
                idx.rank(&idx.query(&Question::new(query)), false).iter().take(limit).map(|r| idx.hit(r)).collect()
            }
            None => Vec::new(),
        }
    }

    /// An article as a hit (score 1), in `lang` or else in the first language that has it.
    pub fn article(&self, id: &str, lang: &str) -> Option<Hit> {
        let in_lang = |idx: &LangIndex| {
            idx.docs.iter().position(|d| d.id == id).map(|doc| {
                idx.hit(&Ranked { doc, score: 1.0, nearest: None, coverage: 1.0, eligible: true, matched: Vec::new() })
            })
        };
        self.langs.iter().find(|i| i.lang == lang).and_then(in_lang).or_else(|| self.langs.iter().find_map(in_lang))
    }

    /// Whether the articles of `lang` use `word` (any form of it).
    pub fn knows_word(&self, word: &str, lang: &str) -> bool {
        let Some(idx) = self.langs.iter().find(|i| i.lang == lang) else { return false };
        words(word).all(|w| idx.postings.contains_key(&idx.analyzer.stem(&w)))
    }

    /// Whether a message is a question the articles can be about: at least two of its words (typos
    /// corrected) are the articles' words, and it does not only ask for a person.
    pub fn is_question(&self, text: &str, lang: &str) -> bool {
        let Some(idx) = self.langs.iter().find(|i| i.lang == lang) else { return false };
        let known =
            idx.query(&Question::new(text)).iter().filter(|t| !t.is_pair && idx.postings.contains_key(&t.term)).count();
        known >= 2 && !idx.wants_operator(text)
    }

    /// What the bot should do with a single message (no conversation before it).
    pub fn answer(&self, query: &str, lang: &str) -> BotAnswer {
        self.answer_in(&Question::new(query), lang)
    }

    /// What the bot should do with the latest message of a conversation. Only articles whose
    /// title, keywords or example questions match count: a word found only in an article's body
    /// is too weak to send it to a citizen. The latest message is read alone first; when that is
    /// not clear enough, again with the earlier messages (weighted less).
    pub fn answer_in(&self, question: &Question<'_>, lang: &str) -> BotAnswer {
        self.explain_in(question, lang, false).answer
    }

    /// The bot's reading of a question, with the ranking and what matched where.
    pub fn explain(&self, question: &Question<'_>, lang: &str) -> Explanation {
        self.explain_in(question, lang, true)
    }

    fn explain_in(&self, question: &Question<'_>, lang: &str, detailed: bool) -> Explanation {
        let Some(idx) = self.index_for(question.text, lang) else {
            return Explanation {
                lang: lang.to_string(),
                terms: Vec::new(),
                ranked: Vec::new(),
                used_earlier: false,
                answer: BotAnswer::NoMatch,
            };
        };
        let explained = |terms: Vec<Term>, ranked: Vec<Ranked>, used_earlier: bool, answer: BotAnswer| Explanation {
            lang: idx.lang.clone(),
            terms: if detailed { idx.describe(&terms) } else { Vec::new() },
            ranked: if detailed { ranked.iter().map(|r| idx.explained(r)).collect() } else { Vec::new() },
            used_earlier,
            answer,
        };
        if idx.wants_operator(question.text) {
            return explained(Vec::new(), Vec::new(), false, BotAnswer::WantsOperator);
        }
        // "grazie, ciao" after a question asks nothing: the earlier messages must not be answered
        // again as if it did.
        if idx.only_courtesy(question.text) {
            return explained(Vec::new(), Vec::new(), false, BotAnswer::NoMatch);
        }
        let alone_terms = idx.query(&Question::new(question.text));
        let alone = idx.rank(&alone_terms, detailed);
        let first = idx.decide(&alone, self.thresholds);
        if matches!(first, BotAnswer::Confident(_)) || question.earlier.is_empty() {
            return explained(alone_terms, alone, false, first);
        }
        let all_terms = idx.query(question);
        let all = idx.rank(&all_terms, detailed);
        match idx.decide(&all, self.thresholds) {
            BotAnswer::NoMatch if first != BotAnswer::NoMatch => explained(alone_terms, alone, false, first),
            second => explained(all_terms, all, true, second),
        }
    }

    fn index_for(&self, query: &str, lang: &str) -> Option<&LangIndex> {
        let find = |l: &str| self.langs.iter().find(|i| i.lang == l);
        find(lang).or_else(|| find(detect_language(query))).or(self.langs.first())
    }
}

impl LangIndex {
    fn build(lang: String, articles: &[&Article]) -> LangIndex {
        let analyzer = Analyzer::for_lang(&lang);
        let mut postings: HashMap<String, Vec<Posting>> = HashMap::new();
        let mut vocabulary = Vocabulary::default();
        let mut lens = Vec::with_capacity(articles.len());
        let mut docs = Vec::with_capacity(articles.len());
        let mut phrase_terms: Vec<PhraseTerms> = Vec::new();
        let mut stems = Some(HashMap::new());
        for (n, a) in articles.iter().enumerate() {
            for text in std::iter::once(&a.meta.title).chain(&a.meta.keywords).chain(&a.meta.examples) {
                let terms: Vec<String> = analyzer.tokens_with(text, &mut stems).into_iter().map(|t| t.term).collect();
                let mut weighted: Vec<(String, f32)> = Vec::new();
                for (term, w) in terms
                    .iter()
                    .map(|t| (t.clone(), 1.0))
                    .chain(terms.windows(2).map(|p| (pair(&p[0], &p[1]), PAIR_WEIGHT)))
                {
                    if !weighted.iter().any(|(u, _)| *u == term) {
                        weighted.push((term, w));
                    }
                }
                if !weighted.is_empty() {
                    phrase_terms.push((n as u32, text.clone(), weighted));
                }
            }
            let mut tf: HashMap<String, [f32; FIELD_COUNT]> = HashMap::new();
            let mut len = [0f32; FIELD_COUNT];
            let mut add = |field: usize, text: &str, pairs: bool| {
                let tokens = analyzer.tokens_with(text, &mut stems);
                len[field] += tokens.len() as f32;
                for t in &tokens {
                    match tf.get_mut(&t.term) {
                        Some(counts) => counts[field] += 1.0,
                        None => tf.entry(t.term.clone()).or_default()[field] += 1.0,
                    }
                    vocabulary.add(&t.word, &t.term);
                }
                // Pairs only where words are chosen to be matched: a title, a keyword phrase, an
                // example question.
                if pairs {
                    for p in tokens.windows(2) {
                        tf.entry(pair(&p[0].term, &p[1].term)).or_default()[field] += 1.0;
                    }
                }
            };
            add(TITLE, &a.meta.title, true);
            for k in &a.meta.keywords {
                add(KEYWORDS, k, true);
            }
            for e in &a.meta.examples {
                add(EXAMPLES, e, true);
            }
            add(BODY, &a.body, false);
            for (term, tf) in tf {
                postings.entry(term).or_default().push(Posting { doc: n as u32, tf });
            }
            lens.push(len);
            docs.push(Doc { id: a.meta.id.clone(), title: a.meta.title.clone(), excerpt: excerpt(&a.body) });
        }
        let count = docs.len().max(1) as f32;
        let mut avg_len = [0f32; FIELD_COUNT];
        for l in &lens {
            for f in 0..FIELD_COUNT {
                avg_len[f] += l[f] / count;
            }
        }
        let norm = lens
            .iter()
            .map(|l| {
                std::array::from_fn(|f| {
                    if avg_len[f] > 0.0 { 1.0 - FIELD_B[f] + FIELD_B[f] * l[f] / avg_len[f] } else { 1.0 }
                })
            })
            .collect();
        let mut index = LangIndex {
            lang,
            analyzer,
            docs,
            postings,
            phrases: Vec::new(),
            phrase_postings: HashMap::new(),
            norm,
            vocabulary,
        };
        for (doc, text, terms) in phrase_terms {
            let id = index.phrases.len() as u32;
            let mut norm = 0f32;
            for (term, w) in terms {
                let idf = index.idf(index.postings.get(&term).map_or(0, Vec::len));
                norm += (w * idf).powi(2);
                index.phrase_postings.entry(term).or_default().push((id, w));
            }
            index.phrases.push(Phrase { doc, text, norm: norm.sqrt() });
        }
        index
    }

    fn idf(&self, df: usize) -> f32 {
        let n = self.docs.len() as f32;
        (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln().powf(IDF_POWER)
    }

    /// The query's terms: the latest message's words (typos corrected where the articles use a
    /// word one or two edits away) and word pairs, then the earlier messages' with less weight.
    /// A term met twice keeps its highest weight.
    fn query(&self, question: &Question<'_>) -> Vec<Term> {
        let mut terms: Vec<Term> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut push = |t: Term| match at.get(&t.term) {
            Some(&i) if terms[i].weight < t.weight => terms[i] = t,
            Some(_) => {}
            None => {
                at.insert(t.term.clone(), terms.len());
                terms.push(t);
            }
        };
        let tokenized = |text: &str| {
            let mut tokens = self.analyzer.tokens(truncate(text, MAX_QUERY_BYTES));
            tokens.truncate(MAX_QUERY_TERMS);
            tokens
        };
        let latest = tokenized(question.text);
        // The earlier messages together weigh at most as much as the latest one per term: a
        // short follow-up ("e la ricevuta?") keeps its say over a long first message.
        let latest_len = latest.len().max(1) as f32;
        let earlier = question.earlier.iter().rev().zip(EARLIER_WEIGHTS).map(|(text, w)| {
            let tokens = tokenized(text);
            let weight = w * (latest_len / tokens.len().max(1) as f32).min(1.0);
            (tokens, weight)
        });
        // A word met again (long messages repeat themselves) is corrected once.
        let mut corrections: HashMap<String, Option<String>> = HashMap::new();
        let df = |term: &str| self.postings.get(term).map_or(0, Vec::len);
        let mut correct = |word: &str| {
            corrections
                .entry(word.to_string())
                .or_insert_with(|| self.vocabulary.correct(word, df).map(|(_, term, _)| term.to_string()))
                .clone()
        };
        for (tokens, weight) in std::iter::once((latest, 1.0)).chain(earlier) {
            let origin = if weight < 1.0 { TermOrigin::Earlier } else { TermOrigin::Message };
            let mut resolved = Vec::with_capacity(tokens.len());
            for t in tokens {
                let corrected = |from: &str, term: String| Term {
                    term,
                    weight: weight * CORRECTED_WEIGHT,
                    is_pair: false,
                    origin: TermOrigin::Corrected { from: from.to_string() },
                };
                if self.postings.contains_key(&t.term) {
                    // A word the articles never write may still stem like one of theirs by chance
                    // ("riceuta" like "ricevo"): its nearest written word counts too, a little less.
                    if !self.vocabulary.contains(&t.word)
                        && let Some(term) = correct(&t.word)
                        && term != t.term
                    {
                        push(corrected(&t.word, term));
                    }
                    resolved.push(t.term.clone());
                    push(Term { term: t.term, weight, is_pair: false, origin: origin.clone() });
                    continue;
                }
                match correct(&t.word) {
                    Some(term) => {
                        resolved.push(term.clone());
                        push(corrected(&t.word, term));
                    }
                    None => {
                        resolved.push(t.term.clone());
                        push(Term { term: t.term, weight, is_pair: false, origin: origin.clone() });
                    }
                }
            }
            for p in resolved.windows(2) {
                push(Term { term: pair(&p[0], &p[1]), weight, is_pair: true, origin: TermOrigin::Pair });
            }
        }
        terms.truncate(MAX_QUERY_TERMS);
        terms
    }

    /// Every article matching the terms, best first.
    fn rank(&self, terms: &[Term], detailed: bool) -> Vec<Ranked> {
        let best_idf = self.idf(0);
        let mut scores = vec![0f32; self.docs.len()];
        let mut eligible = vec![false; self.docs.len()];
        let mut matched: Vec<Vec<(String, [f32; FIELD_COUNT])>> =
            if detailed { (0..self.docs.len()).map(|_| Vec::new()).collect() } else { Vec::new() };
        let mut max_possible = 0f32;
        let mut covered = vec![0f32; self.docs.len()];
        let mut to_cover = 0f32;
        for t in terms {
            let weight = if t.is_pair { t.weight * PAIR_WEIGHT } else { t.weight };
            let Some(list) = self.postings.get(&t.term) else {
                // An unknown pair says nothing (most word pairs of a sentence are not phrases); an
                // unknown word means the query is partly about something else.
                if !t.is_pair {
                    max_possible += weight * UNKNOWN_SHARE * best_idf * (K1 + 1.0);
                    to_cover += weight * best_idf;
                }
                continue;
            };
            let idf = self.idf(list.len());
            max_possible += weight * idf * (K1 + 1.0);
            if !t.is_pair {
                to_cover += weight * idf;
            }
            for p in list {
                let d = p.doc as usize;
                let by_field: [f32; FIELD_COUNT] = std::array::from_fn(|f| FIELD_WEIGHT[f] * p.tf[f] / self.norm[d][f]);
                let tf: f32 = by_field.iter().sum();
                let score = weight * idf * tf * (K1 + 1.0) / (K1 + tf);
                scores[d] += score;
                let curated = p.tf[TITLE] > 0.0 || p.tf[KEYWORDS] > 0.0 || p.tf[EXAMPLES] > 0.0;
                eligible[d] |= curated;
                if curated && !t.is_pair {
                    covered[d] += weight * idf;
                }
                if detailed {
                    matched[d].push((t.term.clone(), by_field.map(|x| if tf > 0.0 { score * x / tf } else { 0.0 })));
                }
            }
        }
        if max_possible <= 0.0 {
            return Vec::new();
        }
        let nearest = self.nearest_phrases(terms);
        let mut ranked: Vec<Ranked> = (0..self.docs.len())
            .filter(|&d| scores[d] > 0.0)
            .map(|d| Ranked {
                doc: d,
                score: ((1.0 - PHRASE_SHARE) * (scores[d] / max_possible).min(1.0)
                    + PHRASE_SHARE * nearest[d].map_or(0.0, |(_, s)| s))
                .min(1.0),
                nearest: nearest[d].map(|(p, s)| (self.phrases[p].text.clone(), s)),
                coverage: if to_cover > 0.0 { covered[d] / to_cover } else { 0.0 },
                eligible: eligible[d],
                matched: if detailed { std::mem::take(&mut matched[d]) } else { Vec::new() },
            })
            .collect();
        // Ties keep the articles' file order, so results are stable.
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        ranked
    }

    /// Per article, its phrase closest to the query: (phrase, cosine similarity).
    fn nearest_phrases(&self, terms: &[Term]) -> Vec<Option<(usize, f32)>> {
        let best_idf = self.idf(0);
        let mut acc: HashMap<u32, f32> = HashMap::new();
        let mut query_norm = 0f32;
        for t in terms {
            let w = if t.is_pair { t.weight * PAIR_WEIGHT } else { t.weight };
            let Some(list) = self.phrase_postings.get(&t.term) else {
                // A word no article uses makes the question less like any of them.
                if !t.is_pair && !self.postings.contains_key(&t.term) {
                    query_norm += (w * best_idf).powi(2);
                }
                continue;
            };
            let idf = self.idf(self.postings.get(&t.term).map_or(0, Vec::len));
            query_norm += (w * idf).powi(2);
            for &(p, pw) in list {
                *acc.entry(p).or_default() += w * idf * pw * idf;
            }
        }
        let query_norm = query_norm.sqrt();
        let mut best: Vec<Option<(usize, f32)>> = vec![None; self.docs.len()];
        if query_norm <= 0.0 {
            return best;
        }
        for (p, dot) in acc {
            let phrase = &self.phrases[p as usize];
            let sim = (dot / (query_norm * phrase.norm)).min(1.0);
            let slot = &mut best[phrase.doc as usize];
            if slot.is_none_or(|(q, s)| sim > s || sim == s && (p as usize) < q) {
                *slot = Some((p as usize, sim));
            }
        }
        best
    }

    /// The bot's decision on a ranking: the top eligible article when it is high enough and
    /// clearly ahead; otherwise up to three plausible ones to ask back with.
    fn decide(&self, ranked: &[Ranked], thresholds: Thresholds) -> BotAnswer {
        let mut candidates = ranked.iter().filter(|r| r.eligible && r.score >= MIN_SCORE);
        let Some(top) = candidates.next() else { return BotAnswer::NoMatch };
        let second = candidates.next();
        let clear = second.is_none_or(|s| top.score >= thresholds.margin * s.score);
        if top.score >= thresholds.score && clear && top.coverage >= thresholds.coverage {
            return BotAnswer::Confident(self.hit(top));
        }
        let floor = top.score * SUGGESTION_SHARE;
        let rest = ranked.iter().filter(|r| r.eligible && r.score >= MIN_SCORE.max(floor));
        BotAnswer::Unsure(rest.take(ASK_BACK_HITS).map(|r| self.hit(r)).collect())
    }

    /// Whether the message only asks for a person: "voglio parlare con un operatore", "talk to a
    /// human please". A message that also says what it is about is answered as a question.
    fn wants_operator(&self, text: &str) -> bool {
        const PERSON: &[&str] = &[
            "operatore",
            "operatrice",
            "operatori",
            "umano",
            "umana",
            "persona",
            "operator",
            "operators",
            "human",
            "agent",
            "person",
            "representative",
        ];
        const FILLER: &[&str] = &[
            "parlare",
            "parlo",
            "chiamare",
            "passami",
            "passatemi",
            "passare",
            "passi",
            "passa",
            "mettimi",
            "mettetemi",
            "collegami",
            "qualcuno",
            "contattare",
            "vero",
            "vera",
            "reale",
            "talk",
            "speak",
            "connect",
            "transfer",
            "real",
            "actual",
            "live",
            "chat",
            "someone",
            "somebody",
            "want",
            "need",
            "get",
            "give",
            "please",
            "now",
            "subito",
            "adesso",
            "favore",
            "cortesia",
        ];
        let words: Vec<String> = words(truncate(text, 512)).filter(|w| !self.analyzer.is_stop(w)).collect();
        words.iter().any(|w| PERSON.contains(&w.as_str()))
            && words.iter().all(|w| PERSON.contains(&w.as_str()) || FILLER.contains(&w.as_str()) || w.len() < 2)
    }

    /// Whether the message only thanks, greets or agrees: "ok grazie, ciao", "thanks a lot, bye".
    fn only_courtesy(&self, text: &str) -> bool {
        const COURTESY: &[&str] = &[
            "grazie",
            "mille",
            "tante",
            "ciao",
            "salve",
            "buongiorno",
            "buonasera",
            "arrivederci",
            "saluti",
            "cordiali",
            "buona",
            "buon",
            "giornata",
            "serata",
            "ok",
            "okay",
            "va",
            "bene",
            "benissimo",
            "perfetto",
            "ottimo",
            "capito",
            "chiaro",
            "gentile",
            "gentilissimi",
            "gentilissima",
            "gentilissimo",
            "gentili",
            "thanks",
            "thank",
            "thx",
            "ty",
            "cheers",
            "hi",
            "hello",
            "bye",
            "goodbye",
            "great",
            "perfect",
            "good",
            "nice",
            "day",
            "lot",
            "much",
            "alright",
            "got",
            "understood",
            "clear",
            "kind",
        ];
        // "grazie", "ok" and "ciao" are stop words too: every word must be one or the other, and
        // one at least a courtesy.
        let words: Vec<String> = words(truncate(text, 512)).collect();
        words.iter().any(|w| COURTESY.contains(&w.as_str()))
            && words.iter().all(|w| COURTESY.contains(&w.as_str()) || self.analyzer.is_stop(w) || w.len() < 2)
    }

    fn hit(&self, r: &Ranked) -> Hit {
        let doc = &self.docs[r.doc];
        Hit {
            id: doc.id.clone(),
            lang: self.lang.clone(),
            title: doc.title.clone(),
            score: r.score,
            excerpt: doc.excerpt.clone(),
        }
    }

    fn explained(&self, r: &Ranked) -> ExplainedHit {
        ExplainedHit {
            hit: self.hit(r),
            nearest: r.nearest.clone(),
            coverage: r.coverage,
            eligible: r.eligible,
            matched: r.matched.clone(),
        }
    }

    fn describe(&self, terms: &[Term]) -> Vec<QueryTerm> {
        terms
            .iter()
            .map(|t| QueryTerm {
                term: t.term.clone(),
                weight: t.weight,
                origin: t.origin.clone(),
                known: self.postings.contains_key(&t.term),
            })
            .collect()
    }
}

/// Which of the bot's suggestions a reply picks: its number ("2", "la seconda", "the first one"),
/// its title as the app's button sends it, or a plain yes when there was one suggestion.
pub fn pick_suggestion(reply: &str, titles: &[String]) -> Option<usize> {
    let reply_norm = normalize(truncate(reply, 512));
    if let Some(i) = titles.iter().position(|t| normalize(t) == reply_norm) {
        return Some(i);
    }
    const ORDINALS: &[&[&str]] = &[
        &["1", "uno", "primo", "prima", "first", "one"],
        &["2", "due", "secondo", "seconda", "second", "two"],
        &["3", "tre", "terzo", "terza", "third", "three"],
    ];
    const FILLER: &[&str] =
        &["il", "la", "l", "lo", "numero", "n", "the", "number", "quella", "quello", "opzione", "option"];
    const YES: &[&str] = &["si", "sì", "yes", "ok", "esatto", "certo", "proprio", "quella", "that", "yep", "yeah"];
    let words: Vec<String> = words(&reply_norm).collect();
    if words.is_empty() || words.len() > 4 {
        return None;
    }
    let mut picked = None;
    for w in &words {
        if let Some(i) = ORDINALS.iter().position(|o| o.contains(&w.as_str())) {
            // "one" alone is an ordinal; beside another ordinal ("the first one") it is filler.
            if w == "one" && words.iter().any(|v| v != "one" && ORDINALS.iter().any(|o| o.contains(&v.as_str()))) {
                continue;
            }
            if picked.is_some_and(|p| p != i) {
                return None;
            }
            picked = Some(i);
        } else if !FILLER.contains(&w.as_str()) && !YES.contains(&w.as_str()) {
            return None;
        }
    }
    match picked {
        Some(i) if i < titles.len() => Some(i),
        Some(_) => None,
        None if titles.len() == 1 && words.iter().all(|w| YES.contains(&w.as_str())) => Some(0),
        None => None,
    }
}

/// A text's words, lower-cased and accent-folded, separated by single spaces.
pub fn normalize(text: &str) -> String {
    super::text::joined_words(text)
}

/// Two adjacent words, in either order: "ricevuta non arrivata" and "non è arrivata la ricevuta"
/// say the same thing. A space cannot occur inside a term, so pairs never collide with words.
fn pair(a: &str, b: &str) -> String {
    if a <= b { format!("{a} {b}") } else { format!("{b} {a}") }
}

/// The article's opening answer paragraph (headings skipped) as plain text, cut at a sentence end
/// within [`EXCERPT_CHARS`] characters where possible.
fn excerpt(body: &str) -> String {
    let mut para = Vec::new();
    for line in body.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            if para.is_empty() {
                continue;
            }
            break;
        }
        para.push(line);
    }
    let text = plain(&para.join(" "));
    if text.chars().count() <= EXCERPT_CHARS {
        return text;
    }
    let cut = truncate_chars(&text, EXCERPT_CHARS);
    // A sentence ends at `.`, `!` or `?` followed by a space and a capital letter (not `S.p.A. ha`).
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut sentence_end = None;
    for (i, &(at, c)) in chars.iter().enumerate() {
        if at >= cut.len() {
            break;
        }
        let next_upper = chars.get(i + 2).is_some_and(|&(_, n)| n.is_uppercase());
        if matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_some_and(|&(_, s)| s == ' ') && next_upper {
            sentence_end = Some(at + c.len_utf8());
        }
    }
    match sentence_end {
        Some(end) if end >= EXCERPT_CHARS / 3 => text[..end].to_string(),
        _ => {
            let end = cut.rfind(' ').unwrap_or(cut.len());
            format!("{}…", cut[..end].trim_end_matches([',', ';', ':', ' ']))
        }
    }
}

fn truncate_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// Markdown to plain text, for the little Markdown an opening paragraph holds: emphasis, code,
/// links (their text is kept) and list markers.
fn plain(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut rest = md.trim_start_matches(['-', '*', '+', ' ']);
    while let Some(c) = rest.chars().next() {
        if c == '[' {
            // `[text](url)` keeps `text`.
            if let Some(close) = rest.find("](")
                && let Some(end) = rest[close..].find(')')
            {
                out.push_str(&rest[1..close]);
                rest = &rest[close + end + 1..];
                continue;
            }
        }
        if !matches!(c, '*' | '_' | '`') || c == '_' && out.ends_with(|p: char| p.is_alphanumeric()) {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_plain_and_cut_at_a_sentence() {
        let first = "First **bold** sentence with a [link](https://x.it), `code` and PAA_X".to_string()
            + &" word".repeat(20)
            + ". ";
        let body = "## Title\n\n".to_string() + &first + &"Word ".repeat(100) + "end.\n\nSecond paragraph.";
        let e = excerpt(&body);
        assert_eq!(e, format!("First bold sentence with a link, code and PAA_X{}.", " word".repeat(20)));
        assert_eq!(
            excerpt("PagoPA S.p.A. gestisce la piattaforma.\n\nAltro."),
            "PagoPA S.p.A. gestisce la piattaforma."
        );
        let long = "parola ".repeat(200);
        let e = excerpt(&long);
        assert!(e.ends_with('…') && e.chars().count() <= EXCERPT_CHARS + 1, "{e}");
    }

    #[test]
    fn a_reply_picks_a_suggestion_by_number_title_or_yes() {
        let titles = vec!["Come pagare un avviso pagoPA".to_string(), "Cos'è pagoPA".to_string()];
        assert_eq!(pick_suggestion("2", &titles), Some(1));
        assert_eq!(pick_suggestion(" la seconda! ", &titles), Some(1));
        assert_eq!(pick_suggestion("the first one", &titles), Some(0));
        assert_eq!(pick_suggestion("come pagare un avviso PAGOPA", &titles), Some(0));
        assert_eq!(pick_suggestion("3", &titles), None);
        assert_eq!(pick_suggestion("sì", &titles), None, "a yes is ambiguous with two suggestions");
        assert_eq!(pick_suggestion("sì", &titles[..1]), Some(0));
        assert_eq!(pick_suggestion("la 1 o la 2", &titles), None);
        assert_eq!(pick_suggestion("ho pagato 2 volte", &titles), None);
        assert_eq!(pick_suggestion("", &titles), None);
    }

    #[test]
    fn the_index_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<KnowledgeIndex>();
    }
}
