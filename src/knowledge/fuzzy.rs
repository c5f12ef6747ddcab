//! Typo tolerance: a query word the knowledge base never uses is matched to a word it does use
//! within one or two edits ("bolletino" → "bollettino", "riceuta" → "ricevuta", "pagamneto" →
//! "pagamento"). Words are looked up among the vocabulary's words of similar length that start
//! with the same letter (first letters are rarely mistyped), so a correction costs a few dozen
//! edit-distance computations, not one per vocabulary word.
//!
//! Edits are weighed as typos are made: a letter left out, doubled or swapped with its neighbour,
//! or a key hit beside the right one, or a letter that sounds alike ("rimborzo", "ricevuda"), is
//! one edit; any other substitution is two. So a short word is never read as another word that
//! differs by one unrelated letter: "file" stays "file" and is not read as "fine", "mare" is not
//! "mora". The words of one language are too many to list here; this keeps the corrections to
//! the slips a hand makes on a phone keyboard.

use std::collections::{HashMap, HashSet};

/// Shorter words are left alone: at three letters, one edit turns most words into other words.
const MIN_LEN: usize = 4;
/// Words up to this length get one edit; longer ones two.
const ONE_EDIT_UP_TO: usize = 7;

/// The folded surface words of one language's articles, each with the index term it stems to.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Vocabulary {
    /// (first letter, length) → (word, term).
    buckets: HashMap<(char, usize), Vec<(String, String)>>,
    words: HashSet<String>,
}

/// What the vocabulary's contents depend on, for [`super::search::KnowledgeIndex::fingerprint`].
pub(super) fn fingerprint_text() -> String {
    format!("{MIN_LEN}")
}

impl Vocabulary {
    /// Adds a folded word and its term; short words, words with digits and non-Latin words are
    /// not candidates for corrections.
    pub(super) fn add(&mut self, word: &str, term: &str) {
        let len = word.chars().count();
        if len < MIN_LEN || !word.bytes().all(|b| b.is_ascii_lowercase()) {
            return;
        }
        let Some(first) = word.chars().next() else { return };
        if !self.words.contains(word) && self.words.insert(word.to_string()) {
            self.buckets.entry((first, len)).or_default().push((word.to_string(), term.to_string()));
        }
    }

    /// Whether the articles write this folded word (words too short to correct count as written).
    pub(super) fn contains(&self, word: &str) -> bool {
        let len = word.chars().count();
        if len < MIN_LEN || !word.bytes().all(|b| b.is_ascii_lowercase()) {
            return true;
        }
        word.chars()
            .next()
            .is_some_and(|first| self.buckets.get(&(first, len)).is_some_and(|b| b.iter().any(|(w, _)| w == word)))
    }

    /// The closest vocabulary word to `word` within the edits its length allows, as (word, term,
    /// edits); ties go to the term `weight` rates higher (the more articles use it, the likelier
    /// it was meant), then to the alphabetically first, so results are stable.
    pub(super) fn correct(&self, word: &str, weight: impl Fn(&str) -> usize) -> Option<(&str, &str, usize)> {
        let len = word.chars().count();
        if len < MIN_LEN || !word.bytes().all(|b| b.is_ascii_lowercase()) {
            return None;
        }
        let max = if len <= ONE_EDIT_UP_TO { 1 } else { 2 };
        let first = word.chars().next()?;
        let mut best: Option<(&str, &str, usize)> = None;
        for l in len.saturating_sub(max)..=len + max {
            for (w, t) in self.buckets.get(&(first, l)).into_iter().flatten() {
                let Some(d) = edits_within(word.as_bytes(), w.as_bytes(), max) else { continue };
                let better = match best {
                    None => true,
                    Some((bw, bt, bd)) => {
                        d < bd
                            || d == bd
                                && (weight(t), std::cmp::Reverse(w.as_str())) > (weight(bt), std::cmp::Reverse(bw))
                    }
                };
                if better {
                    best = Some((w, t, d));
                }
            }
        }
        best
    }
}

/// Letters a citizen types for one another: keys side by side on a QWERTY keyboard (Italian
/// keyboards place the letters the same way), and letters that sound alike or that dialect
/// spellings swap.
fn near(a: u8, b: u8) -> bool {
    const ROWS: [&[u8]; 3] = [b"qwertyuiop", b"asdfghjkl", b"zxcvbnm"];
    const SOUND_ALIKE: &[(u8, u8)] = &[
        (b's', b'z'),
        (b'c', b'k'),
        (b'c', b'q'),
        (b'k', b'q'),
        (b'b', b'p'),
        (b'd', b't'),
        (b'o', b'u'),
        (b'e', b'i'),
        (b'i', b'y'),
    ];
    let at = |c: u8| ROWS.iter().enumerate().find_map(|(r, row)| row.iter().position(|&k| k == c).map(|i| (r, i)));
    let (Some((ra, ia)), Some((rb, ib))) = (at(a), at(b)) else { return false };
    // Each row sits half a key to the right of the one above: a key touches the one before it
    // and its own column in the row below.
    let touching = match ra.abs_diff(rb) {
        0 => ia.abs_diff(ib) == 1,
        1 => {
            let (upper, lower) = if ra < rb { (ia, ib) } else { (ib, ia) };
            lower == upper || lower + 1 == upper
        }
        _ => false,
    };
    touching || SOUND_ALIKE.iter().any(|&(x, y)| (x, y) == (a, b) || (y, x) == (a, b))
}

/// The optimal-string-alignment distance between `a` and `b` (insertions, deletions, swaps of
/// two adjacent letters, and substitutions: one for [`near`] letters, two for others), if it is
/// at most `max`.
fn edits_within(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let width = b.len() + 1;
    let mut prev2 = vec![0usize; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut row = vec![0usize; width];
    for i in 1..=a.len() {
        row[0] = i;
        let mut row_min = row[0];
        for j in 1..=b.len() {
            let cost = match (a[i - 1], b[j - 1]) {
                (x, y) if x == y => 0,
                (x, y) if near(x, y) => 1,
                _ => 2,
            };
            let mut d = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            row[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut row);
    }
    Some(prev[b.len()]).filter(|&d| d <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edits_within(b"pagamneto", b"pagamento", 2), Some(1));
        assert_eq!(edits_within(b"riceuta", b"ricevuta", 1), Some(1));
        assert_eq!(edits_within(b"bolletino", b"bollettino", 2), Some(1));
        assert_eq!(edits_within(b"rimborzo", b"rimborso", 1), Some(1));
        assert_eq!(edits_within(b"abcd", b"abcd", 0), Some(0));
        // An l left out and a u added: two edits, where one l-for-u substitution would also be two.
        assert_eq!(edits_within(b"multa", b"mutua", 2), Some(2));
        assert_eq!(edits_within(b"multa", b"mutua", 1), None);
        assert_eq!(edits_within(b"multa", b"molte", 1), None);
        assert_eq!(edits_within(b"", b"abc", 2), None);
    }

    #[test]
    fn a_substitution_is_one_edit_only_between_near_letters() {
        // Neighbouring keys, sound-alike letters.
        assert_eq!(edits_within(b"pagaro", b"pagato", 1), Some(1));
        assert_eq!(edits_within(b"ricevuda", b"ricevuta", 1), Some(1));
        assert_eq!(edits_within(b"avvisu", b"avviso", 1), Some(1));
        assert_eq!(edits_within(b"nultq", b"multa", 2), Some(2));
        // Another real word, one unrelated letter away.
        assert_eq!(edits_within(b"file", b"fine", 1), None);
        assert_eq!(edits_within(b"file", b"fine", 2), Some(2));
        assert_eq!(edits_within(b"mare", b"mora", 2), None);
        assert!(near(b'q', b'a') && near(b'a', b'q') && near(b'b', b'n') && near(b'g', b'b'));
        assert!(!near(b'l', b'n') && !near(b'q', b's') && !near(b'p', b'a') && !near(b'1', b'2'));
    }

    #[test]
    fn corrections_stay_near_and_prefer_common_terms() {
        let mut v = Vocabulary::default();
        for (w, t) in
            [("ricevuta", "ricevut"), ("ricevute", "ricevut"), ("bollettino", "bollettin"), ("rimborso", "rimbors")]
        {
            v.add(w, t);
        }
        v.add("io", "io");
        v.add("città", "citta");
        let weight = |t: &str| usize::from(t == "ricevut");
        assert_eq!(v.correct("riceuta", weight).map(|c| c.1), Some("ricevut"));
        assert_eq!(v.correct("bolletino", weight).map(|c| c.1), Some("bollettin"));
        assert_eq!(v.correct("rimborzo", weight).map(|c| c.1), Some("rimbors"));
        v.add("fine", "fin");
        assert_eq!(v.correct("file", weight), None, "file is not a typo of fine");
        assert_eq!(v.correct("finw", weight).map(|c| c.1), Some("fin"));
        // Too far, too short, or another first letter.
        assert_eq!(v.correct("rimb", weight), None);
        assert_eq!(v.correct("oi", weight), None);
        assert_eq!(v.correct("imborso", weight), None);
        assert_eq!(v.correct("ricette", weight), None);
    }
}
