//! Phone numbers as one card keeps them, whichever channel gave them: E.164 (`+79161234567`).
//! Telegram shares numbers without the plus, callers' numbers arrive in many spellings; a number
//! kept in one spelling lets a later call find the card a Telegram user shared their number on.

/// The number in E.164, or None when it cannot be one (too short or too long, or not digits).
/// A Russian trunk-prefixed number (`8 916 …`, eleven digits) is taken as `+7 916 …`.
pub fn normalise(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.chars().any(|c| !(c.is_ascii_digit() || " +-().".contains(c))) {
        return None;
    }
    let plus = trimmed.starts_with('+');
    let mut digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if !plus && digits.len() == 11 && digits.starts_with('8') {
        digits.replace_range(0..1, "7");
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return None;
    }
    Some(format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn telegram_and_caller_spellings_meet() {
        assert_eq!(normalise("79161234567").as_deref(), Some("+79161234567"));
        assert_eq!(normalise("+7 (916) 123-45-67").as_deref(), Some("+79161234567"));
        assert_eq!(normalise("8 916 123 45 67").as_deref(), Some("+79161234567"));
        assert_eq!(normalise("+442079460000").as_deref(), Some("+442079460000"));
    }

    #[test]
    fn not_numbers_are_refused() {
        assert_eq!(normalise(""), None);
        assert_eq!(normalise("12345"), None);
        assert_eq!(normalise("+7916abc4567"), None);
        assert_eq!(normalise("0123456789"), None);
        assert_eq!(normalise("1234567890123456"), None);
    }
}
