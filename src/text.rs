//! Small text helpers shared by messages people read.

/// `39900` as `39,900`: counts in messages are easier to read grouped.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The SHA-256 of `bytes` as 64 lower-case hex digits: how keys, tokens and message ids are
/// kept and logged without their text.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Seconds as people read a duration: `45s`, `12m`, `3h 05m`, `2d 4h`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The known name closest to `unknown`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let unknown_lower = unknown.to_lowercase();
    let length = unknown.chars().count();
    let budget = (length / 3).max(1);
    known
        .into_iter()
        .filter_map(|k| {
            if k.len() > 3 && (k.contains(unknown) || unknown.contains(k)) {
                return Some((edit_distance(&unknown_lower, &k.to_lowercase()), k));
            }
            // Names that differ in length by more than the budget are that many edits apart at
            // least: no need to compute it (a file of thousands of unknown keys stays fast).
            if k.chars().count().abs_diff(length) > budget {
                return None;
            }
            let d = edit_distance(&unknown_lower, &k.to_lowercase());
            (d <= budget).then_some((d, k))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance between two short names (Levenshtein, by characters).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    // Optimal string alignment: a swap of neighbours counts as one edit (`emial` for `email`).
    // Three rolling rows: the one being filled and the two above it.
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut above: Vec<usize> = (0..=b.len()).collect();
    let mut row: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (above[j] + 1).min(row[j - 1] + 1).min(above[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut above);
        std::mem::swap(&mut above, &mut row);
    }
    above[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_by_three() {
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn sha256_in_hex() {
        assert_eq!(super::sha256_hex(b"hello"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(super::thousands(39_900), "39,900");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(0), "0");
    }
}
