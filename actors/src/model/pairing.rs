//! Pairing a screen by a code it shows: the code's form, how what a person typed is read, and how
//! long a code lives.

use super::field::FieldError;
use super::Millis;

/// A code that is not one shown now (mistyped, expired, used, or of a screen of another kind).
pub fn wrong() -> FieldError {
    FieldError::new("code", "pairing_code", serde_json::Value::Null)
}

/// A code is shown for this long; a screen asks for a new one after.
pub const LIFETIME_MS: Millis = 10 * 60 * 1000;
pub const DIGITS: usize = 6;

/// A random code of six digits, from a random number (the caller's source of randomness).
pub fn code_from(n: u32) -> String {
    format!("{:06}", n % 1_000_000)
}

/// How a code is shown on a TV: "482 913", read across a room.
pub fn shown(code: &str) -> String {
    if code.len() == DIGITS {
        format!("{} {}", &code[..3], &code[3..])
    } else {
        code.to_string()
    }
}

/// What a person typed, as a code: spaces and dashes dropped; None unless six digits remain.
pub fn read_typed(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-' | '\u{a0}')).collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_shown_in_two_groups_and_read_leniently() {
        assert_eq!(code_from(42), "000042");
        assert_eq!(code_from(1_482_913), "482913");
        assert_eq!(shown("482913"), "482 913");
        assert_eq!(read_typed(" 482 913 "), Some("482913".into()));
        assert_eq!(read_typed("482-913"), Some("482913".into()));
        assert_eq!(read_typed("48291"), None);
        assert_eq!(read_typed("48291x"), None);
        assert_eq!(
            read_typed("４８２９１３"),
            None,
            "full-width digits are not ASCII digits"
        );
    }
}
