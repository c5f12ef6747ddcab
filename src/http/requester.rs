//! The requester a caller names in a JSON body (`Requester` in docs/openapi.yaml): the ticket API
//! and the chat read it and check it here, the same way, so that what one accepts the other does.

use super::Problem;
use crate::domain::{Requester, codes};
use serde::{Deserialize, Serialize};

const MAX_EMAIL_BYTES: usize = 254;
const MAX_PHONE_BYTES: usize = 32;
const MIN_PHONE_DIGITS: usize = 6;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RequesterIn {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub fiscal_code: Option<String>,
}

impl RequesterIn {
    /// The requester as the ticket keeps it: blank fields are not known, the others trimmed and
    /// checked. `at` is the JSON pointer of the requester in the body (`/requester`); a refusal
    /// names the field under it.
    pub fn checked(&self, at: &str) -> Result<Requester, Problem> {
        let requester = Requester {
            name: not_blank(&self.name),
            email: not_blank(&self.email),
            phone: not_blank(&self.phone),
            fiscal_code: not_blank(&self.fiscal_code).map(|c| c.to_uppercase()),
        };
        if let Some(email) = &requester.email
            && !is_email(email)
        {
            return Err(Problem::unprocessable(
                format!("{at}/email"),
                format!(
                    "not an e-mail address (something before the `@`, a dot after it, at most {MAX_EMAIL_BYTES} bytes)"
                ),
            ));
        }
        if let Some(phone) = &requester.phone
            && !is_phone(phone)
        {
            return Err(Problem::unprocessable(
                format!("{at}/phone"),
                format!(
                    "not a phone number (at least {MIN_PHONE_DIGITS} digits, at most {MAX_PHONE_BYTES} bytes, e.g. +393331234567)"
                ),
            ));
        }
        if let Some(fc) = &requester.fiscal_code {
            codes::check_fiscal_code(fc).map_err(|m| Problem::unprocessable(format!("{at}/fiscal_code"), m))?;
        }
        Ok(requester)
    }
}

fn not_blank(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// `sportello-email` in docs/openapi.yaml.
fn is_email(email: &str) -> bool {
    email.len() <= MAX_EMAIL_BYTES && email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
}

/// `sportello-phone` in docs/openapi.yaml.
fn is_phone(phone: &str) -> bool {
    phone.len() <= MAX_PHONE_BYTES && phone.chars().filter(char::is_ascii_digit).count() >= MIN_PHONE_DIGITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_and_phone_are_checked_as_the_document_says() {
        assert!(is_email("mario.rossi@example.it"));
        assert!(!is_email("mario.rossi"));
        assert!(!is_email("@example.it"));
        assert!(!is_email(&format!("{}@example.it", "m".repeat(250))));
        assert!(is_phone("+39 333 123 4567"));
        assert!(!is_phone("Ð"));
        assert!(!is_phone("12345"));
        assert!(!is_phone(&format!("+39{}", "1".repeat(30))));
    }

    #[test]
    fn blank_fields_are_not_known_and_errors_name_the_field() {
        let r = RequesterIn {
            email: Some("  ".into()),
            fiscal_code: Some(" rssmra80a01h501u ".into()),
            ..Default::default()
        };
        let checked = r.checked("/requester").unwrap();
        assert_eq!(checked.email, None);
        assert_eq!(checked.fiscal_code.as_deref(), Some("RSSMRA80A01H501U"));
        let r = RequesterIn { phone: Some("Ð".into()), ..Default::default() };
        assert_eq!(r.checked("/requester").unwrap_err().field.as_deref(), Some("/requester/phone"));
    }
}
