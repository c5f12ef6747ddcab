//! Turning a citizen's chat message into a candidate example question: identifiers are cut out
//! (e-mail addresses, web addresses, phone, card and notice numbers, IBANs, fiscal codes, ticket
//! references), and a message that may still carry personal data (a name, a long story) is
//! refused rather than kept. An admin reviews every candidate before it reaches an article.

use super::search::KnowledgeIndex;

/// Longer messages tell a story, and stories carry personal data; example questions are short.
pub const MAX_QUESTION_CHARS: usize = 200;
/// What replaces a cut identifier: punctuation, so it adds no index term.
const CUT: &str = "…";

/// Why a message was not kept as a candidate (logged without the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateRefusal {
    TooLong,
    /// It introduces or names a person.
    MayNameSomeone,
    /// Too little left to be a question about an article.
    NotAQuestion,
}

impl CandidateRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateRefusal::TooLong => "too_long",
            CandidateRefusal::MayNameSomeone => "may_name_someone",
            CandidateRefusal::NotAQuestion => "not_a_question",
        }
    }
}

/// The message with identifiers cut out, or why it cannot be kept.
pub fn scrub(message: &str, lang: &str, index: &KnowledgeIndex) -> Result<String, CandidateRefusal> {
    if message.chars().count() > MAX_QUESTION_CHARS {
        return Err(CandidateRefusal::TooLong);
    }
    let tokens: Vec<&str> = message.split_whitespace().collect();
    let mut kept: Vec<String> = Vec::new();
    let cut = |kept: &mut Vec<String>| {
        if kept.last().is_none_or(|k| k != CUT) {
            kept.push(CUT.to_string());
        }
    };
    let mut i = 0;
    while i < tokens.len() {
        // Numbers written in groups ("301 000 000 012 345 678", "+39 333 123 4567") are one.
        let mut j = i;
        let mut digits = 0;
        while j < tokens.len() && is_number(tokens[j]) {
            digits += tokens[j].chars().filter(char::is_ascii_digit).count();
            j += 1;
        }
        if j > i {
            // Phone, card, notice and account numbers, dates: enough digits to identify.
            // Amounts and small numbers stay.
            if digits >= 5 {
                cut(&mut kept);
            } else {
                kept.extend(tokens[i..j].iter().map(|t| t.to_string()));
            }
            i = j;
            continue;
        }
        let raw = tokens[i];
        let core = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let identifier = core.contains('@')
            || raw.contains("://")
            || raw.to_ascii_lowercase().starts_with("www.")
            || is_fiscal_code(core)
            || is_iban(core)
            || is_reference(core)
            || core.chars().filter(char::is_ascii_digit).count() >= 5;
        if identifier {
            cut(&mut kept);
        } else {
            kept.push(raw.to_string());
        }
        i += 1;
    }
    if may_name_someone(&kept, lang, index) {
        return Err(CandidateRefusal::MayNameSomeone);
    }
    let text = kept.join(" ");
    if !index.is_question(&text, lang) {
        return Err(CandidateRefusal::NotAQuestion);
    }
    Ok(text)
}

/// A word made of digits and the signs numbers are written with (`+39`, `06-1234`, `12,50`).
fn is_number(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit()) && word.chars().all(|c| c.is_ascii_digit() || "+-./(),:€".contains(c))
}

/// Italian fiscal code: 6 letters, 2 digits, a letter, 2 digits, a letter, 3 digits, a letter;
/// digits may be replaced by the letters LMNPQRSTUV (homocodes).
fn is_fiscal_code(word: &str) -> bool {
    let b = word.as_bytes();
    if b.len() != 16 {
        return false;
    }
    let digit = |c: u8| c.is_ascii_digit() || b"LMNPQRSTUV".contains(&c.to_ascii_uppercase());
    b.iter().enumerate().all(|(i, &c)| match i {
        0..=5 | 8 | 11 | 15 => c.is_ascii_alphabetic(),
        _ => digit(c),
    })
}

/// IBAN: a country code, two check digits and 11 to 30 letters and digits.
fn is_iban(word: &str) -> bool {
    let b = word.as_bytes();
    (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_alphabetic)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric)
}

/// A ticket reference (`SP-7K3Q9XWD`).
fn is_reference(word: &str) -> bool {
    crate::domain::TicketReference::find_in(word).is_some()
}

/// A name introduced ("mi chiamo…", "my name is…", "sono il signor…"), or a capitalized word
/// inside the sentence that the articles never use (a surname, a street, a town).
fn may_name_someone(words: &[String], lang: &str, index: &KnowledgeIndex) -> bool {
    const INTRODUCTIONS: &[&[&str]] = &[
        &["mi", "chiamo"],
        &["il", "mio", "nome"],
        &["mio", "nome"],
        &["my", "name"],
        &["signor"],
        &["signora"],
        &["sig"],
        &["sigra"],
        &["dott"],
        &["dottor"],
        &["dottoressa"],
        &["avv"],
        &["mr"],
        &["mrs"],
        &["ms"],
        &["miss"],
    ];
    let folded: Vec<String> = words.iter().map(|w| super::search::normalize(w)).collect();
    let flat: Vec<&str> = folded.iter().flat_map(|w| w.split(' ')).filter(|w| !w.is_empty()).collect();
    if INTRODUCTIONS.iter().any(|intro| flat.windows(intro.len()).any(|w| w == *intro)) {
        return true;
    }
    let mut sentence_start = true;
    for w in words {
        let core = w.trim_matches(|c: char| !c.is_alphanumeric());
        let capitalized = core.chars().next().is_some_and(char::is_uppercase);
        let acronym = core.chars().all(|c| c.is_uppercase() || c.is_ascii_digit()) && core.chars().count() <= 5;
        if capitalized && !sentence_start && !acronym && !index.knows_word(core, lang) {
            return true;
        }
        if !core.is_empty() {
            sentence_start = w.ends_with(['.', '!', '?', ':']);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_recognized() {
        assert!(is_fiscal_code("RSSMRA80A01H501U"));
        assert!(is_fiscal_code("rssmra80a01h501u"));
        assert!(is_fiscal_code("RSSMRA80A01H50MU"), "a homocode");
        assert!(!is_fiscal_code("RICEVUTAPAGAMENT"));
        assert!(is_iban("IT60X0542811101000000123456"));
        assert!(!is_iban("IT60"));
        assert!(is_reference("SP-7K3Q9XWD"));
        assert!(!is_reference("SPID"));
    }
}
