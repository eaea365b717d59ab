//! What the bridges' settings sections share: ranges checked where a section is loaded, with an
//! error naming the key, so a wrong value stops the start with a clear message instead of being
//! quietly clamped.

use std::fmt::Display;

/// A setting out of its range or of the wrong form: `section.key: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SettingError {
    pub key: String,
    pub message: String,
}

impl SettingError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Refuses `value` outside `low..=high`.
pub fn within<T: PartialOrd + Display>(key: &str, value: T, low: T, high: T) -> Result<(), SettingError> {
    if value < low || value > high {
        return Err(SettingError::new(
            key,
            format!("{value} is out of range ({low} to {high})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_the_key_and_the_bounds() {
        assert!(within("telegram.poll_secs", 15, 1, 15).is_ok());
        assert!(within("telegram.poll_secs", 1, 1, 15).is_ok());
        let e = within("telegram.poll_secs", 16, 1, 15).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("telegram.poll_secs: 16 is out of range (1 to 15)"));
        assert!(within("x", 0u64, 1, 2).is_err());
    }
}
