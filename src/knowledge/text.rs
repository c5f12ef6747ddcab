//! Text analysis shared by the index and the queries: words lowercased and accent-folded, stop
//! words, a few rewrites of what citizens say, Snowball stemming, and the language vote.

use rust_stemmers::{Algorithm, Stemmer};

/// Only the start of a very long message is read: citizens state their problem early, and this
/// bounds the work for any input.
pub(super) const MAX_QUERY_BYTES: usize = 8 * 1024;

pub(super) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// One index term and the folded word it comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub word: String,
    pub term: String,
}

/// Tokenizer, stop words and stemmer of one language.
pub(super) struct Analyzer {
    stemmer: Stemmer,
    /// Looked up for every word of every article and message: a set, not a list.
    stop: std::collections::HashSet<&'static str>,
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
    // Southern "addò" (dove).
    (&["addo"], &["dove"]),
];
const REWRITE_EN: &[Rewrite] = &[(&["account"], &["profile"])];

/// Snowball stems "ricevuta" (receipt) like "ricevuto" (received), which is in half the messages.
const STEMS_IT: &[(&str, &str)] = &[("ricevuta", "ricevut"), ("ricevute", "ricevut")];

/// What an index's terms depend on, for [`super::search::KnowledgeIndex::fingerprint`]: the
/// tables above and the stems the stemmers give (they change with the stemming library).
pub(super) fn fingerprint_text() -> String {
    let probe = ["pagamento", "pagamenti", "ricevuta", "rimborsare", "payments", "refunded", "receipts"];
    let stems: Vec<String> = ["it", "en"]
        .into_iter()
        .flat_map(|lang| {
            let analyzer = Analyzer::for_lang(lang);
            probe.map(|w| analyzer.tokens(w).into_iter().map(|t| t.term).collect::<Vec<_>>().join(" "))
        })
        .collect();
    format!("{STOP_IT:?}{STOP_EN:?}{REWRITE_IT:?}{REWRITE_EN:?}{STEMS_IT:?}{stems:?}")
}

impl Analyzer {
    /// Stands in for an index's analyzer while it is read back, until
    /// [`super::search::KnowledgeIndex::restored`] makes the right one.
    pub(super) fn placeholder() -> Analyzer {
        Analyzer::for_lang("it")
    }

    pub(super) fn for_lang(lang: &str) -> Analyzer {
        match lang {
            "en" => Analyzer {
                stemmer: Stemmer::create(Algorithm::English),
                stop: STOP_EN.iter().copied().collect(),
                rewrites: REWRITE_EN,
                stems: &[],
            },
            // Italian is the service's default language, and the best guess for any other.
            _ => Analyzer {
                stemmer: Stemmer::create(Algorithm::Italian),
                stop: STOP_IT.iter().copied().collect(),
                rewrites: REWRITE_IT,
                stems: STEMS_IT,
            },
        }
    }

    /// The text's index terms, in order, each with the word it comes from (typo correction needs
    /// it): lowercased, accent-folded words without stop words, one letter words or anything
    /// holding a digit (notice codes, amounts, dates and ticket codes are identifiers, not
    /// topics), stemmed.
    pub(super) fn tokens(&self, text: &str) -> Vec<Token> {
        self.tokens_with(text, &mut None)
    }

    /// [`Analyzer::tokens`], remembering stems in `cache`: building an index stems the same few
    /// thousand words hundreds of thousands of times.
    pub(super) fn tokens_with(
        &self,
        text: &str,
        cache: &mut Option<std::collections::HashMap<String, String>>,
    ) -> Vec<Token> {
        let mut out = Vec::new();
        for word in self.rewrite(words(text).collect()) {
            if word.chars().count() < 2 || word.chars().any(|c| c.is_numeric()) || self.stop.contains(word.as_str()) {
                continue;
            }
            let term = match cache {
                Some(cache) => match cache.get(&word) {
                    Some(term) => term.clone(),
                    None => {
                        let term = self.stem(&word);
                        cache.insert(word.clone(), term.clone());
                        term
                    }
                },
                None => self.stem(&word),
            };
            out.push(Token { word, term });
        }
        out
    }

    /// The stem of one folded word. The stemmers are written for Latin letters; other scripts are
    /// kept as they are.
    pub(super) fn stem(&self, word: &str) -> String {
        if let Some((_, stem)) = self.stems.iter().find(|(w, _)| *w == word) {
            stem.to_string()
        } else if word.bytes().all(|b| b.is_ascii_lowercase()) {
            self.stemmer.stem(word).into_owned()
        } else {
            word.to_string()
        }
    }

    /// Whether a folded word is one of the language's stop words.
    pub(super) fn is_stop(&self, word: &str) -> bool {
        self.stop.contains(word)
    }

    /// Applies the language's [`Rewrite`]s, the same way to articles and to queries.
    fn rewrite(&self, words: Vec<String>) -> Vec<String> {
        // Most texts hold no rewritten word: then the words are returned as they are.
        if !words.iter().any(|w| self.rewrites.iter().any(|(from, _)| from[0] == w.as_str())) {
            return words;
        }
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
pub(super) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    raw_words(text).map(|w| {
        let mut s = String::with_capacity(w.len());
        push_folded(&mut s, w);
        s
    })
}

/// The words of [`words`], joined by single spaces into one string (no string per word: the
/// rulebook check normalizes every example question of every article).
pub(super) fn joined_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for w in raw_words(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        push_folded(&mut out, w);
    }
    out
}

fn raw_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

fn push_folded(out: &mut String, word: &str) {
    for c in word.chars() {
        // ASCII needs neither the Unicode case tables nor accent folding.
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase().map(fold));
        }
    }
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
    // Chat shorthand and spoken forms: "nn" (non), "cn" (con), "xke" (perché), "nun" (non).
    "nn",
    "cn",
    "xke",
    "xche",
    "perke",
    "ke",
    "cmq",
    "nun",
    "st",
    // Verbs that say how, not what: "come faccio", "cosa vuol dire", "cosa significa".
    "faccio",
    "puo",
    "possono",
    "potete",
    "potrei",
    "dovrei",
    "vuol",
    "dire",
    "significa",
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
    "may", "might", "must", "ok", "https", "http", "www", "cant", "dont", "doesnt", "didnt", "isnt", "wont", "ive",
    "u", "ur", "pls", "plz", "thx", "hey", "mean", "means",
];

#[cfg(test)]
mod tests {
    use super::*;

    impl Analyzer {
        fn terms(&self, text: &str) -> Vec<String> {
            self.tokens(text).into_iter().map(|t| t.term).collect()
        }
    }

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
    fn language_vote() {
        assert_eq!(detect_language("non riesco a pagare la multa"), "it");
        assert_eq!(detect_language("where is the receipt of my payment"), "en");
        assert_eq!(detect_language(""), "it");
        assert_eq!(detect_language("SPID"), "it");
    }
}
