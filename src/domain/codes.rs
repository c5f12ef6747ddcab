//! Italian identifiers that clients send: fiscal codes, pagoPA notice codes, RptId. Each check
//! says what is wrong, so an API can answer with a clear 4xx.

/// Why a code was refused: a sentence for the client, without the value itself.
pub type CodeError = String;

/// A personal fiscal code (16 characters, with its check character) or an entity's (11 digits,
/// with its check digit).
pub fn check_fiscal_code(code: &str) -> Result<(), CodeError> {
    let code = code.trim();
    match code.len() {
        11 => check_entity_fiscal_code(code),
        16 => check_personal_fiscal_code(code),
        n => Err(format!("a fiscal code has 16 characters (a person) or 11 digits (an entity), not {n}")),
    }
}

/// The 11-digit fiscal code (partita IVA) of an entity, e.g. a creditor of a pagoPA notice.
pub fn check_entity_fiscal_code(code: &str) -> Result<(), CodeError> {
    let digits: Vec<u32> =
        code.chars().map(|c| c.to_digit(10)).collect::<Option<_>>().ok_or("an entity's fiscal code has only digits")?;
    if digits.len() != 11 {
        return Err(format!("an entity's fiscal code has 11 digits, not {}", digits.len()));
    }
    // Luhn-like: odd positions as they are, even positions doubled (minus 9 over 9).
    let sum: u32 = digits[..10]
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    if (10 - sum % 10) % 10 != digits[10] {
        return Err("the check digit of the entity's fiscal code does not match".into());
    }
    Ok(())
}

const ODD_VALUES: [u32; 26] =
    [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

/// A person's 16-character fiscal code; the digits of a homocode (omocodia) may be letters.
pub fn check_personal_fiscal_code(code: &str) -> Result<(), CodeError> {
    let code = code.to_ascii_uppercase();
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 16 || !chars.iter().all(|c| c.is_ascii_alphanumeric()) {
        return Err("a personal fiscal code has 16 letters and digits".into());
    }
    let shape_ok = chars[..6].iter().all(char::is_ascii_alphabetic)
        && chars[8].is_ascii_alphabetic()
        && chars[11].is_ascii_alphabetic()
        && chars[15].is_ascii_alphabetic();
    if !shape_ok {
        return Err("a personal fiscal code looks like RSSMRA85T10A562S: letters and digits are out of place".into());
    }
    let value = |c: char| -> u32 { if c.is_ascii_digit() { c as u32 - '0' as u32 } else { c as u32 - 'A' as u32 } };
    let sum: u32 = chars[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| if i % 2 == 0 { ODD_VALUES[value(c) as usize] } else { value(c) })
        .sum();
    let expected = char::from(b'A' + (sum % 26) as u8);
    if chars[15] != expected {
        return Err("the check character of the personal fiscal code does not match".into());
    }
    Ok(())
}

/// A pagoPA notice code (codice avviso): 18 digits, starting with the aux digit 0–3.
pub fn check_notice_code(code: &str) -> Result<(), CodeError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if !code.chars().all(|c| c.is_ascii_digit()) {
        return Err("a notice code has only digits".into());
    }
    if code.len() != 18 {
        return Err(format!("a notice code has 18 digits, not {}", code.len()));
    }
    if !matches!(code.as_bytes()[0], b'0'..=b'3') {
        return Err("a notice code starts with 0, 1, 2 or 3".into());
    }
    Ok(())
}

/// An RptId: the creditor's 11-digit fiscal code followed by the 18-digit notice code.
pub fn check_rpt_id(code: &str) -> Result<(), CodeError> {
    let code = code.trim();
    if code.len() != 29 || !code.is_ascii() {
        return Err(format!(
            "an RptId has 29 digits (creditor fiscal code + notice code), not {}",
            code.chars().count()
        ));
    }
    check_entity_fiscal_code(&code[..11]).map_err(|e| format!("in the RptId, {e}"))?;
    check_notice_code(&code[11..]).map_err(|e| format!("in the RptId, {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiscal_codes() {
        assert!(check_fiscal_code("RSSMRA85T10A562S").is_ok());
        assert!(check_fiscal_code("rssmra85t10a562s").is_ok());
        assert!(check_fiscal_code("RSSMRA85T10A562X").unwrap_err().contains("check character"));
        assert!(check_fiscal_code("RSSMRA85T10A56").unwrap_err().contains("not 14"));
        // PagoPA S.p.A.'s own fiscal code.
        assert!(check_entity_fiscal_code("15376371009").is_ok());
        assert!(check_entity_fiscal_code("15376371008").unwrap_err().contains("check digit"));
        assert!(check_entity_fiscal_code("1537637100A").is_err());
    }

    #[test]
    fn notice_codes_and_rpt_ids() {
        assert!(check_notice_code("302001234567890123").is_ok());
        assert!(check_notice_code("3020 0123 4567 8901 23").is_ok());
        assert!(check_notice_code("902001234567890123").unwrap_err().contains("starts with"));
        assert!(check_notice_code("30200123456789012").unwrap_err().contains("not 17"));
        assert!(check_rpt_id("15376371009302001234567890123").is_ok());
        assert!(check_rpt_id("15376371008302001234567890123").unwrap_err().contains("RptId"));
        assert!(check_rpt_id("1537637100930200123456789012").is_err());
    }
}
