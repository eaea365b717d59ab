//! Break reasons: the list an organisation keeps for its operators to pick from.

use super::field::FieldError;

/// What a new organisation starts with (the migration gives existing ones the same).
pub const DEFAULT: [&str; 4] = ["Обед", "Технический перерыв", "Личное время", "Обучение"];
pub const MAX_REASONS: usize = 20;
pub const MAX_LEN: usize = 60;

/// The list as it will be kept: each reason trimmed, none empty, none twice, none too long.
pub fn check(reasons: &[String]) -> Result<Vec<String>, FieldError> {
    if reasons.len() > MAX_REASONS {
        return Err(FieldError::new(
            "reasons",
            "too_many",
            serde_json::json!({"max": MAX_REASONS}),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(reasons.len());
    for r in reasons {
        let r = r.trim();
        if r.is_empty() {
            return Err(FieldError::new("reasons", "required", serde_json::Value::Null));
        }
        if r.chars().count() > MAX_LEN || r.chars().any(char::is_control) {
            return Err(FieldError::new(
                "reasons",
                "too_long",
                serde_json::json!({"max": MAX_LEN}),
            ));
        }
        if out.iter().any(|o| o.to_lowercase() == r.to_lowercase()) {
            return Err(FieldError::new("reasons", "duplicate", serde_json::json!({"value": r})));
        }
        out.push(r.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn trims_and_refuses_what_a_list_cannot_hold() {
        assert_eq!(check(&v(&[" Обед ", "Учёба"])).unwrap(), v(&["Обед", "Учёба"]));
        assert_eq!(check(&[]).unwrap(), Vec::<String>::new());
        assert_eq!(check(&v(&["Обед", "обед"])).unwrap_err().reason, "duplicate");
        assert_eq!(check(&v(&["  "])).unwrap_err().reason, "required");
        assert_eq!(check(&v(&[&"x".repeat(MAX_LEN + 1)])).unwrap_err().reason, "too_long");
        let many: Vec<String> = (0..=MAX_REASONS).map(|i| i.to_string()).collect();
        assert_eq!(check(&many).unwrap_err().reason, "too_many");
        assert!(check(&v(&DEFAULT)).is_ok());
    }
}
