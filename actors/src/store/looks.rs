//! A device's look: a board's template or a kiosk's options, kept as JSON on the device and
//! read back through the model's types (which fill in defaults and refuse what is not theirs).

use super::Store;
use crate::error::{Error, Result};
use crate::model::{board::BoardLook, kiosk::KioskLook};

/// What a device's look is, by its kind.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "look", rename_all = "snake_case")]
pub enum Look {
    Board(BoardLook),
    Kiosk(KioskLook),
}

impl Look {
    /// Reads a stored look for a device of `kind`; a row a hand or an older build broke reads as
    /// the defaults (with a warning) rather than leaving a screen dark.
    fn read(kind: &str, json: Option<&str>) -> Result<Self> {
        let json = json.unwrap_or("{}");
        let parsed = match kind {
            "board" => serde_json::from_str(json).map(Look::Board),
            "kiosk" => serde_json::from_str(json).map(Look::Kiosk),
            _ => return Err(Error::NotFound("board or kiosk")),
        };
        Ok(parsed.unwrap_or_else(|e| {
            tracing::warn!(error = %e, kind, "a stored device look does not read; using the defaults");
            Self::read(kind, None).expect("defaults read")
        }))
    }

    /// Takes a look as an admin sent it, for a device of `kind`: unknown fields and wrong values
    /// are refused with the field named.
    pub fn parse(kind: &str, value: serde_json::Value) -> Result<Self> {
        let look = match kind {
            "board" => Look::Board(serde_json::from_value(value).map_err(|e| Error::Invalid(e.to_string()))?),
            "kiosk" => Look::Kiosk(serde_json::from_value(value).map_err(|e| Error::Invalid(e.to_string()))?),
            _ => return Err(Error::NotFound("board or kiosk")),
        };
        match &look {
            Look::Board(l) => l.validate()?,
            Look::Kiosk(l) => l.validate()?,
        }
        Ok(look)
    }

    fn to_json(&self) -> String {
        match self {
            Look::Board(l) => serde_json::to_string(l),
            Look::Kiosk(l) => serde_json::to_string(l),
        }
        .unwrap_or_else(|_| "{}".into())
    }
}

impl Store {
    /// The look of a board or kiosk.
    pub async fn device_look(&self, device_id: i64) -> Result<Look> {
        let (kind, json): (String, Option<String>) = sqlx::query_as("SELECT kind, look FROM devices WHERE id = $1")
            .bind(device_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("device"))?;
        Look::read(&kind, json.as_deref())
    }

    /// Sets a device's look (validated for its kind); answers the look now stored.
    pub async fn set_device_look(&self, org_id: i64, device_id: i64, value: serde_json::Value) -> Result<Look> {
        let (kind,): (String,) = sqlx::query_as("SELECT kind FROM devices WHERE id = $1 AND org_id = $2")
            .bind(device_id)
            .bind(org_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("device"))?;
        let look = Look::parse(&kind, value)?;
        sqlx::query("UPDATE devices SET look = $1 WHERE id = $2 AND org_id = $3")
            .bind(look.to_json())
            .bind(device_id)
            .bind(org_id)
            .execute(&self.write)
            .await?;
        Ok(look)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_row_reads_as_defaults() {
        assert_eq!(
            Look::read("board", Some("{not json")).unwrap(),
            Look::Board(BoardLook::default())
        );
        assert_eq!(Look::read("kiosk", None).unwrap(), Look::Kiosk(KioskLook::default()));
        assert!(Look::read("phone", None).is_err());
    }

    #[test]
    fn parse_names_the_wrong_field() {
        let e = Look::parse("board", serde_json::json!({"accent": "yellow"})).unwrap_err();
        assert_eq!(e.field(), Some("accent"));
        assert!(
            Look::parse("board", serde_json::json!({"print": "mm58"})).is_err(),
            "a kiosk's field"
        );
        assert!(Look::parse("kiosk", serde_json::json!({"print": "mm58"})).is_ok());
    }
}
