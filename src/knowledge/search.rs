//! Retrieval over the knowledge base, for the chatbot and for operators' suggestions.
//!
//! BM25F over three fields (title, keywords, body), one index per language, with Snowball
//! stemming, accent folding, short stop-word lists and a bonus for keyword phrases (adjacent word
//! pairs). Everything is built in memory from the loaded articles: no model, nothing downloaded.
//!
//! The bot's decision ([`KnowledgeIndex::answer`]) rests on the normalized score of [`Hit::score`]
//! and on a margin over the runner-up; the thresholds were set on the questions of
//! `tests/it/knowledge.rs`, which also reports the accuracy on a set kept out of tuning.

use super::{Article, KnowledgeBase};
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashMap;

/// BM25 saturation: a term stops adding much after a few occurrences.
const K1: f32 = 1.2;
/// BM25 length normalization: long bodies should not win just by mentioning everything.
const B: f32 = 0.75;

const TITLE: usize = 0;
const KEYWORDS: usize = 1;
const BODY: usize = 2;
const FIELDS: usize = 3;
/// Field weights: titles and keywords are written to be matched, the body explains.
const FIELD_WEIGHT: [f32; FIELDS] = [2.5, 3.0, 1.0];

/// Weight of a matched word pair against a single word; pairs come on top of their words.
const PAIR_WEIGHT: f32 = 0.6;
/// Share of the best possible IDF counted, in the normalizer, for a query word the knowledge base
/// never uses: a query mostly about something else should not look confident.
const UNKNOWN_SHARE: f32 = 0.35;

/// Normalized score (see [`Hit::score`]) at or above which the bot answers with the top article.
pub const CONFIDENT_SCORE: f32 = 0.30;
/// The top article must also beat the second by this factor to be answered alone.
pub const CONFIDENT_MARGIN: f32 = 1.3;
/// Below this normalized score nothing is suggested.
pub const MIN_SCORE: f32 = 0.08;
/// Suggestions offered when the bot is unsure.
const UNSURE_HITS: usize = 3;

/// Only the start of a very long message is read: citizens state their problem early, and this
/// bounds the work for any input.
const MAX_QUERY_BYTES: usize = 8 * 1024;
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
    /// A few plausible articles, best first: offer them, or hand over to an operator.
    Unsure(Vec<Hit>),
    NoMatch,
}

struct Posting {
    doc: u32,
    tf: [f32; FIELDS],
}

struct Doc {
    id: String,
    title: String,
    excerpt: String,
}

struct LangIndex {
    lang: String,
    analyzer: Analyzer,
    docs: Vec<Doc>,
    postings: HashMap<String, Vec<Posting>>,
    /// Per document and field, the BM25 length factor `1 - b + b * len / avg`.
    norm: Vec<[f32; FIELDS]>,
}

pub struct KnowledgeIndex {
    langs: Vec<LangIndex>,
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
        }
    }

    /// The best articles for `query` in `lang`, best first. A language without articles is
    /// replaced by the one the query seems to be written in.
    pub fn search(&self, query: &str, lang: &str, limit: usize) -> Vec<Hit> {
        match self.index_for(query, lang) {
            Some(idx) => idx.rank(query).iter().take(limit).map(|r| idx.hit(r)).collect(),
            None => Vec::new(),
        }
    }

    /// What the bot should do with `query`. Only articles whose title or keywords match count: a
    /// word found only in an article's body is too weak to send it to a citizen. Among those, the
    /// top one is the answer when it scores at least [`CONFIDENT_SCORE`] and beats the runner-up
    /// by [`CONFIDENT_MARGIN`]; otherwise up to three scoring at least [`MIN_SCORE`] are offered.
    pub fn answer(&self, query: &str, lang: &str) -> BotAnswer {
        let Some(idx) = self.index_for(query, lang) else { return BotAnswer::NoMatch };
        let mut ranked = idx.rank(query);
        ranked.retain(|r| r.curated && r.score >= MIN_SCORE);
        ranked.truncate(UNSURE_HITS);
        let Some(top) = ranked.first() else { return BotAnswer::NoMatch };
        let clear = ranked.get(1).is_none_or(|second| top.score >= CONFIDENT_MARGIN * second.score);
        if top.score >= CONFIDENT_SCORE && clear {
            BotAnswer::Confident(idx.hit(top))
        } else {
            BotAnswer::Unsure(ranked.iter().map(|r| idx.hit(r)).collect())
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
        let mut lens = Vec::with_capacity(articles.len());
        let mut docs = Vec::with_capacity(articles.len());
        for (n, a) in articles.iter().enumerate() {
            let mut tf: HashMap<String, [f32; FIELDS]> = HashMap::new();
            let mut len = [0f32; FIELDS];
            let mut add = |field: usize, text: &str, pairs: bool| {
                let words = analyzer.terms(text);
                len[field] += words.len() as f32;
                for w in &words {
                    tf.entry(w.clone()).or_default()[field] += 1.0;
                }
                // Pairs only where words are chosen to be matched: a title, one keyword phrase.
                if pairs {
                    for p in words.windows(2) {
                        tf.entry(pair(&p[0], &p[1])).or_default()[field] += 1.0;
                    }
                }
            };
            add(TITLE, &a.meta.title, true);
            for k in &a.meta.keywords {
                add(KEYWORDS, k, true);
            }
            add(BODY, &a.body, false);
            for (term, tf) in tf {
                postings.entry(term).or_default().push(Posting { doc: n as u32, tf });
            }
            lens.push(len);
            docs.push(Doc { id: a.meta.id.clone(), title: a.meta.title.clone(), excerpt: excerpt(&a.body) });
        }
        let count = docs.len().max(1) as f32;
        let mut avg_len = [0f32; FIELDS];
        for l in &lens {
            for f in 0..FIELDS {
                avg_len[f] += l[f] / count;
            }
        }
        let norm = lens
            .iter()
            .map(|l| std::array::from_fn(|f| if avg_len[f] > 0.0 { 1.0 - B + B * l[f] / avg_len[f] } else { 1.0 }))
            .collect();
        LangIndex { lang, analyzer, docs, postings, norm }
    }

    fn idf(&self, df: usize) -> f32 {
        let n = self.docs.len() as f32;
        (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln()
    }

    /// Every article matching `query`, best first.
    fn rank(&self, query: &str) -> Vec<Ranked> {
        let mut words = self.analyzer.terms(truncate(query, MAX_QUERY_BYTES));
        words.truncate(MAX_QUERY_TERMS);
        let mut terms: Vec<(String, bool)> = Vec::new();
        let mut push = |t: String, is_pair: bool| {
            if !terms.iter().any(|(u, _)| *u == t) {
                terms.push((t, is_pair));
            }
        };
        for w in &words {
            push(w.clone(), false);
        }
        for p in words.windows(2) {
            push(pair(&p[0], &p[1]), true);
        }

        let best_idf = self.idf(0);
        let mut scores = vec![0f32; self.docs.len()];
        let mut curated = vec![false; self.docs.len()];
        let mut max_possible = 0f32;
        for (term, is_pair) in &terms {
            let weight = if *is_pair { PAIR_WEIGHT } else { 1.0 };
            let Some(list) = self.postings.get(term) else {
                // An unknown pair says nothing (most word pairs of a sentence are not phrases); an
                // unknown word means the query is partly about something else.
                if !is_pair {
                    max_possible += UNKNOWN_SHARE * best_idf * (K1 + 1.0);
                }
                continue;
            };
            let idf = self.idf(list.len());
            max_possible += weight * idf * (K1 + 1.0);
            for p in list {
                let d = p.doc as usize;
                let tf: f32 = (0..FIELDS).map(|f| FIELD_WEIGHT[f] * p.tf[f] / self.norm[d][f]).sum();
                scores[d] += weight * idf * tf * (K1 + 1.0) / (K1 + tf);
                curated[d] |= p.tf[TITLE] > 0.0 || p.tf[KEYWORDS] > 0.0;
            }
        }
        if max_possible <= 0.0 {
            return Vec::new();
        }
        let mut ranked: Vec<Ranked> = (0..self.docs.len())
            .filter(|&d| scores[d] > 0.0)
            .map(|d| Ranked { doc: d, score: (scores[d] / max_possible).min(1.0), curated: curated[d] })
            .collect();
        // Ties keep the articles' file order, so results are stable.
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        ranked
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
}

struct Ranked {
    doc: usize,
    score: f32,
    /// Whether the article's title or keywords matched, not only its body.
    curated: bool,
}

/// Two adjacent words, in either order: "ricevuta non arrivata" and "non è arrivata la ricevuta"
/// say the same thing. A space cannot occur inside a term, so pairs never collide with words.
fn pair(a: &str, b: &str) -> String {
    if a <= b { format!("{a} {b}") } else { format!("{b} {a}") }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Tokenizer, stop words and stemmer of one language.
struct Analyzer {
    stemmer: Stemmer,
    stop: &'static [&'static str],
    rewrites: &'static [Rewrite],
    /// Words the stemmer would merge with a word of another meaning.
    stems: &'static [(&'static str, &'static str)],
}

/// Words citizens use for what the articles call otherwise (folded, before stop words).
type Rewrite = (&'static [&'static str], &'static [&'static str]);

const REWRITE_IT: &[Rewrite] = &[
    // "non va a buon fine": the articles say "non riuscito".
    (&["buon", "fine"], &["riuscito"]),
    (&["account"], &["profilo"]),
];
const REWRITE_EN: &[Rewrite] = &[(&["account"], &["profile"])];

/// Snowball stems "ricevuta" (receipt) like "ricevuto" (received), which is in half the messages.
const STEMS_IT: &[(&str, &str)] = &[("ricevuta", "ricevut"), ("ricevute", "ricevut")];

impl Analyzer {
    fn for_lang(lang: &str) -> Analyzer {
        match lang {
            "en" => Analyzer {
                stemmer: Stemmer::create(Algorithm::English),
                stop: STOP_EN,
                rewrites: REWRITE_EN,
                stems: &[],
            },
            // Italian is the service's default language, and the best guess for any other.
            _ => Analyzer {
                stemmer: Stemmer::create(Algorithm::Italian),
                stop: STOP_IT,
                rewrites: REWRITE_IT,
                stems: STEMS_IT,
            },
        }
    }

    /// The text's index terms, in order: lowercased, accent-folded words without stop words, one
    /// letter words or anything holding a digit (notice codes, amounts, dates and ticket codes are
    /// identifiers, not topics), stemmed.
    fn terms(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for word in self.rewrite(words(text).collect()) {
            if word.chars().count() < 2 || word.chars().any(|c| c.is_numeric()) || self.stop.contains(&word.as_str()) {
                continue;
            }
            // The stemmers are written for Latin letters; other scripts are kept as they are.
            let term = if let Some((_, stem)) = self.stems.iter().find(|(w, _)| *w == word) {
                stem.to_string()
            } else if word.bytes().all(|b| b.is_ascii_lowercase()) {
                self.stemmer.stem(&word).into_owned()
            } else {
                word
            };
            out.push(term);
        }
        out
    }

    /// Applies the language's [`Rewrite`]s, the same way to articles and to queries.
    fn rewrite(&self, words: Vec<String>) -> Vec<String> {
        let mut out = Vec::with_capacity(words.len());
        let mut i = 0;
        while i < words.len() {
            let rest = &words[i..];
            let found = self
                .rewrites
                .iter()
                .find(|(from, _)| rest.len() >= from.len() && rest.iter().zip(from.iter()).all(|(w, f)| w == f));
            match found {
                Some((from, to)) => {
                    out.extend(to.iter().map(|t| t.to_string()));
                    i += from.len();
                }
                None => {
                    out.push(words[i].clone());
                    i += 1;
                }
            }
        }
        out
    }
}

/// Lowercased, accent-folded runs of letters and digits; everything else (apostrophes included,
/// so `dell'ente` gives `dell` and `ente`) separates words.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| {
        let mut s = String::with_capacity(w.len());
        for c in w.chars().flat_map(char::to_lowercase) {
            s.push(fold(c));
        }
        s
    })
}

/// Citizens type `perche`, `gia`, `e'` as often as `perché`, `già`, `è`.
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' => 'a',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        c => c,
    }
}

/// "it" or "en", by counting very common words of each; ties (and texts with neither) are Italian,
/// the service's default language.
pub fn detect_language(text: &str) -> &'static str {
    let (mut it, mut en) = (0usize, 0usize);
    for w in words(truncate(text, MAX_QUERY_BYTES)) {
        it += usize::from(VOTE_IT.contains(&w.as_str()));
        en += usize::from(VOTE_EN.contains(&w.as_str()));
    }
    if en > it { "en" } else { "it" }
}

/// Words that only one of the two languages uses, common in citizens' messages (accents folded).
const VOTE_IT: &[&str] = &[
    "il",
    "lo",
    "la",
    "gli",
    "le",
    "di",
    "del",
    "della",
    "dei",
    "delle",
    "dell",
    "al",
    "alla",
    "nel",
    "nella",
    "che",
    "non",
    "per",
    "con",
    "una",
    "uno",
    "un",
    "sono",
    "ho",
    "hai",
    "ha",
    "mi",
    "ci",
    "come",
    "cosa",
    "perche",
    "questo",
    "questa",
    "quando",
    "dove",
    "voglio",
    "vorrei",
    "posso",
    "riesco",
    "devo",
    "grazie",
    "buongiorno",
    "buonasera",
    "salve",
    "ma",
    "anche",
    "gia",
    "ancora",
    "mio",
    "mia",
    "pagato",
    "pagare",
    "pagamento",
    "ricevuto",
    "nessuno",
    "sul",
    "sulla",
    "e",
    "ed",
    "oppure",
    "fatto",
    "funziona",
    "qual",
    "quale",
    "domani",
];
const VOTE_EN: &[&str] = &[
    "the", "and", "is", "are", "my", "to", "of", "you", "how", "what", "do", "does", "did", "can", "cannot", "not",
    "have", "has", "was", "with", "for", "where", "why", "when", "this", "that", "it", "please", "hello", "hi",
    "thanks", "want", "need", "paid", "pay", "payment", "received", "someone", "get", "find", "from", "account",
    "twice", "working", "there", "been", "would", "should", "could", "an", "at", "by", "be", "tomorrow", "weather",
];

/// Italian stop words, accent-folded, including elided forms (`dell'`, `un'`, `c'`).
const STOP_IT: &[&str] = &[
    "ad",
    "al",
    "allo",
    "aver",
    "ai",
    "agli",
    "alla",
    "alle",
    "all",
    "anche",
    "ancora",
    "avere",
    "ho",
    "hai",
    "ha",
    "abbiamo",
    "avete",
    "hanno",
    "avevo",
    "aveva",
    "che",
    "chi",
    "ci",
    "coi",
    "col",
    "come",
    "con",
    "cosa",
    "cui",
    "da",
    "dal",
    "dallo",
    "dai",
    "dagli",
    "dalla",
    "dalle",
    "dall",
    "degli",
    "dei",
    "del",
    "dell",
    "della",
    "delle",
    "dello",
    "di",
    "ed",
    "era",
    "ero",
    "essere",
    "fa",
    "fare",
    "gli",
    "il",
    "in",
    "la",
    "le",
    "lei",
    "li",
    "lo",
    "loro",
    "lui",
    "ma",
    "me",
    "mi",
    "mia",
    "mie",
    "miei",
    "mio",
    "ne",
    "nei",
    "nel",
    "nell",
    "nella",
    "nelle",
    "nello",
    "negli",
    "noi",
    "non",
    "nostro",
    "od",
    "per",
    "perche",
    "piu",
    "po",
    "qual",
    "quale",
    "quali",
    "quando",
    "quanto",
    "quella",
    "quelle",
    "quelli",
    "quello",
    "quest",
    "questa",
    "queste",
    "questi",
    "questo",
    "se",
    "si",
    "sia",
    "sono",
    "sta",
    "sto",
    "su",
    "sua",
    "sue",
    "sui",
    "sul",
    "sull",
    "sulla",
    "sulle",
    "sullo",
    "suo",
    "suoi",
    "ti",
    "tra",
    "fra",
    "tu",
    "tua",
    "tue",
    "tuo",
    "tuoi",
    "un",
    "una",
    "uno",
    "vi",
    "voi",
    "devo",
    "posso",
    "puoi",
    "vorrei",
    "voglio",
    "buongiorno",
    "buonasera",
    "salve",
    "ciao",
    "grazie",
    "gentili",
    "cordiali",
    "saluti",
    "oppure",
    "ok",
    "https",
    "http",
    "www",
];

/// English stop words, including the halves of contractions (`can't` gives `can` and `t`).
const STOP_EN: &[&str] = &[
    "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "how", "if", "im", "in", "into", "is", "it", "its", "just", "me",
    "my", "myself", "no", "not", "of", "on", "or", "our", "please", "so", "some", "that", "the", "their", "them",
    "then", "there", "they", "this", "to", "too", "us", "was", "we", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "would", "you", "your", "hi", "hello", "thanks", "thank", "dear", "want", "need", "don",
    "doesn", "didn", "isn", "won", "haven", "hasn", "wasn", "aren", "couldn", "ve", "ll", "re", "should", "shall",
    "may", "might", "must", "ok", "https", "http", "www",
];

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
    fn terms_fold_accents_drop_stop_words_and_numbers() {
        let it = Analyzer::for_lang("it");
        assert_eq!(it.terms("Perché è già pagato?"), it.terms("perche e' gia pagato"));
        assert!(it.terms("codice 301000000000000000 dell'ente").iter().all(|t| !t.contains(char::is_numeric)));
        assert_eq!(it.terms("dell'ente"), vec!["ente".to_string()]);
        let en = Analyzer::for_lang("en");
        assert_eq!(en.terms("I can't log in"), vec!["log".to_string()]);
        assert!(en.terms("🙂🙂 !!! ...").is_empty());
    }

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
    fn the_index_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<KnowledgeIndex>();
    }

    #[test]
    fn language_vote() {
        assert_eq!(detect_language("non riesco a pagare la multa"), "it");
        assert_eq!(detect_language("where is the receipt of my payment"), "en");
        assert_eq!(detect_language(""), "it");
        assert_eq!(detect_language("SPID"), "it");
    }
}
