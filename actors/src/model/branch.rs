//! What an admin sets for a branch, and the rule that it is well formed: one check for creating
//! a branch and for editing it, each problem named by its form field.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::field::{text, FieldError};
use super::schedule::{validate_exceptions, Exception, Schedule};

const MAX_NAME: usize = 100;
const MAX_ADDRESS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchSettings {
    pub name: String,
    pub address: String,
    /// IANA zone: the kiosk's hours, the board's clock and the day tickets are numbered by.
    pub timezone: String,
    /// The language screens of the branch start in.
    pub lang: String,
    pub schedule: Schedule,
    pub holidays: Vec<Exception>,
    /// Recalls an operator makes before "no-show" is allowed.
    pub recalls_before_no_show: i64,
    /// Rows a board shows when its template does not say.
    pub board_size: i64,
    /// The code that issues a VIP ticket at the kiosk; None: no VIP tickets.
    pub vip_code: Option<String>,
}

fn range(field: &'static str, value: i64, min: i64, max: i64) -> Result<(), FieldError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(FieldError::new(field, "range", json!({ "min": min, "max": max })))
    }
}

impl BranchSettings {
    pub fn validate(&self) -> Result<(), FieldError> {
        text("name", &self.name, MAX_NAME, true)?;
        text("address", &self.address, MAX_ADDRESS, false)?;
        if jiff::tz::TimeZone::get(&self.timezone).is_err() {
            return Err(FieldError::new(
                "timezone",
                "timezone",
                json!({ "zone": self.timezone }),
            ));
        }
        if !matches!(self.lang.as_str(), "ru" | "en") {
            return Err(FieldError::new("lang", "lang", json!({})));
        }
        self.schedule.validate()?;
        validate_exceptions(&self.holidays)?;
        range("recalls_before_no_show", self.recalls_before_no_show, 0, 10)?;
        range("board_size", self.board_size, 1, 50)?;
        // Wrong codes are limited per branch (5 per 15 minutes); six characters make guessing
        // take years, four took days.
        if let Some(code) = &self.vip_code {
            let n = code.chars().count();
            if !(6..=32).contains(&n) || code.chars().any(char::is_control) {
                return Err(FieldError::new(
                    "vip_code",
                    "vip_code_length",
                    json!({ "min": 6, "max": 32 }),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moscow() -> BranchSettings {
        BranchSettings {
            name: "Центральный офис".into(),
            address: "Тверская, 1".into(),
            timezone: "Europe/Moscow".into(),
            lang: "ru".into(),
            schedule: Schedule::always(),
            holidays: vec![],
            recalls_before_no_show: 1,
            board_size: 8,
            vip_code: None,
        }
    }

    fn field_of(s: BranchSettings) -> &'static str {
        s.validate().map_or_else(|e| e.field, |_| "")
    }

    #[test]
    fn each_wrong_setting_names_its_field() {
        assert_eq!(moscow().validate(), Ok(()));
        assert_eq!(
            field_of(BranchSettings {
                name: "  ".into(),
                ..moscow()
            }),
            "name"
        );
        assert_eq!(
            field_of(BranchSettings {
                address: "a\u{7}".into(),
                ..moscow()
            }),
            "address"
        );
        assert_eq!(
            field_of(BranchSettings {
                timezone: "Mars/Olympus".into(),
                ..moscow()
            }),
            "timezone"
        );
        assert_eq!(
            field_of(BranchSettings {
                lang: "de".into(),
                ..moscow()
            }),
            "lang"
        );
        assert_eq!(
            field_of(BranchSettings {
                board_size: 0,
                ..moscow()
            }),
            "board_size"
        );
        assert_eq!(
            field_of(BranchSettings {
                recalls_before_no_show: 11,
                ..moscow()
            }),
            "recalls_before_no_show"
        );
        assert_eq!(
            field_of(BranchSettings {
                vip_code: Some("1234".into()),
                ..moscow()
            }),
            "vip_code"
        );
        let holiday = Exception {
            date: "2027-13-01".into(),
            hours: None,
            note: String::new(),
        };
        assert_eq!(
            field_of(BranchSettings {
                holidays: vec![holiday],
                ..moscow()
            }),
            "holidays"
        );
    }
}
