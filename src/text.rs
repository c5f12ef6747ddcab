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
