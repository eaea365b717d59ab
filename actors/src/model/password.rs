//! What a password must be (ASVS 2.1.1 and 2.1.2: 12 to 256 characters; no other rule, so
//! people may use pass phrases).

use super::field::FieldError;

pub const MIN: usize = 12;
pub const MAX: usize = 256;

pub fn check(password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if (MIN..=MAX).contains(&n) {
        Ok(())
    } else {
        Err(FieldError::new(
            "password",
            "password_length",
            serde_json::json!({"min": MIN, "max": MAX}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_to_256_characters_counted_as_characters() {
        assert!(
            check("демо-пароль!").is_ok(),
            "12 Cyrillic characters are 12, not 23 bytes"
        );
        assert_eq!(check("short").unwrap_err().field, "password");
        assert!(check(&"x".repeat(MAX + 1)).is_err());
    }
}
