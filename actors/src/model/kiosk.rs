//! How one kiosk behaves, set in the back office: whether it prints a paper ticket on a receipt
//! printer (and on which roll width), and the logo it shows. Paperless stays the default: the
//! visitor takes the ticket on their phone by its QR code.

use serde::{Deserialize, Serialize};

use super::board::check_logo;
use super::field::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Print {
    /// No paper: the ticket is shown with its QR code.
    #[default]
    Off,
    /// A 58 mm roll (48 mm printable): the narrow printers most kiosks carry.
    Mm58,
    /// An 80 mm roll (72 mm printable).
    Mm80,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KioskLook {
    pub print: Print,
    /// `data:image/...;base64,...`, at most 96 KiB.
    pub logo: Option<String>,
}

impl KioskLook {
    pub fn validate(&self) -> Result<(), FieldError> {
        match &self.logo {
            Some(logo) => check_logo(logo),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paperless_by_default_and_rolls_by_name() {
        assert_eq!(KioskLook::default().print, Print::Off);
        let l: KioskLook = serde_json::from_str(r#"{"print":"mm80"}"#).unwrap();
        assert_eq!(l.print, Print::Mm80);
        assert!(serde_json::from_str::<KioskLook>(r#"{"print":"a4"}"#).is_err());
        assert!(serde_json::from_str::<KioskLook>(r#"{"printer":"mm58"}"#).is_err());
        let bad = KioskLook {
            print: Print::Mm58,
            logo: Some("javascript:alert(1)".into()),
        };
        assert_eq!(bad.validate().unwrap_err().field, "logo");
    }
}
