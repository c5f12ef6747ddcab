//! Typo tolerance: a query word the knowledge base never uses is matched to a word it does use
//! within one or two edits ("bolletino" → "bollettino", "riceuta" → "ricevuta", "pagamneto" →
//! "pagamento"). Words are looked up among the vocabulary's words of similar length that start
//! with the same letter (first letters are rarely mistyped), so a correction costs a few dozen
//! edit-distance computations, not one per vocabulary word.

use std::collections::{HashMap, HashSet};

/// Shorter words are left alone: at three letters, one edit turns most words into other words.
const MIN_LEN: usize = 4;
/// Words up to this length get one edit; longer ones two.
const ONE_EDIT_UP_TO: usize = 7;

/// The folded surface words of one language's articles, each with the index term it stems to.
#[derive(Default)]
pub(super) struct Vocabulary {
    /// (first letter, length) → (word, term).
    buckets: HashMap<(char, usize), Vec<(String, String)>>,
    words: HashSet<String>,
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

/// The optimal-string-alignment distance between `a` and `b` (insertions, deletions,
/// substitutions and swaps of two adjacent letters), if it is at most `max`.
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
            let cost = usize::from(a[i - 1] != b[j - 1]);
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
        assert_eq!(edits_within(b"multa", b"mutua", 2), Some(2));
        assert_eq!(edits_within(b"multa", b"mutua", 1), None);
        assert_eq!(edits_within(b"multa", b"molte", 1), None);
        assert_eq!(edits_within(b"", b"abc", 2), None);
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
        // Too far, too short, or another first letter.
        assert_eq!(v.correct("rimb", weight), None);
        assert_eq!(v.correct("oi", weight), None);
        assert_eq!(v.correct("imborso", weight), None);
        assert_eq!(v.correct("ricette", weight), None);
    }
}
