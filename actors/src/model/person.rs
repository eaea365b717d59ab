//! How a person is spoken of: Russian verbs in the past tense follow the person's gender
//! ("Анна подключилась", "Иван подключился"). Not given, pages use a form without gender.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gender {
    #[serde(rename = "f")]
    Female,
    #[serde(rename = "m")]
    Male,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Female => "f",
            Self::Male => "m",
        }
    }

    /// A stored value; anything else (an empty column) is "not given".
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "f" => Some(Self::Female),
            "m" => Some(Self::Male),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_and_sent_as_one_letter() {
        for g in [Gender::Female, Gender::Male] {
            assert_eq!(Gender::parse(g.as_str()), Some(g));
            assert_eq!(serde_json::to_string(&g).unwrap(), format!("\"{}\"", g.as_str()));
        }
        assert_eq!(Gender::parse(""), None);
        assert!(serde_json::from_str::<Gender>("\"x\"").is_err());
    }
}
