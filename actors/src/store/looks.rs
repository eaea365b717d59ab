//! A device's look: a board's template or a kiosk's options, kept as JSON on the device (or,
//! for a board that follows one, on a named board template) and read back through the model's
//! types (which fill in defaults and refuse what is not theirs).

use serde::Serialize;
use serde_json::json;

use super::Store;
use crate::error::{Error, Result};
use crate::model::field::{self, FieldError};
use crate::model::{board::BoardLook, kiosk::KioskLook, now_millis};

/// A board template the organisation named, and the boards that follow it.
#[derive(Debug, Clone, Serialize)]
pub struct BoardTemplate {
    pub id: i64,
    pub name: String,
    pub look: BoardLook,
    pub boards: Vec<i64>,
}

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
    /// The look of a board or kiosk: a board following a template shows the template's.
    pub async fn device_look(&self, device_id: i64) -> Result<Look> {
        Ok(self.device_look_and_template(device_id).await?.0)
    }

    /// A device's look and the template it follows, if any.
    pub async fn device_look_and_template(&self, device_id: i64) -> Result<(Look, Option<i64>)> {
        let (kind, json, template): (String, Option<String>, Option<i64>) = sqlx::query_as(
            "SELECT d.kind, COALESCE(t.look, d.look), d.template_id FROM devices d \
             LEFT JOIN board_templates t ON t.id = d.template_id WHERE d.id = $1",
        )
        .bind(device_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::NotFound("device"))?;
        Ok((Look::read(&kind, json.as_deref())?, template))
    }

    /// Sets a device's own look (validated for its kind); a board following a template leaves
    /// it, so what the admin set is what it shows. Answers the look now stored.
    pub async fn set_device_look(&self, org_id: i64, device_id: i64, value: serde_json::Value) -> Result<Look> {
        let (kind,): (String,) = sqlx::query_as("SELECT kind FROM devices WHERE id = $1 AND org_id = $2")
            .bind(device_id)
            .bind(org_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("device"))?;
        let look = Look::parse(&kind, value)?;
        sqlx::query("UPDATE devices SET look = $1, template_id = NULL WHERE id = $2 AND org_id = $3")
            .bind(look.to_json())
            .bind(device_id)
            .bind(org_id)
            .execute(&self.write)
            .await?;
        Ok(look)
    }

    /// The organisation's board templates, by name, each with the boards following it.
    pub async fn board_templates(&self, org_id: i64) -> Result<Vec<BoardTemplate>> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, look FROM board_templates WHERE org_id = $1 ORDER BY name, id")
                .bind(org_id)
                .fetch_all(&self.read)
                .await?;
        let following: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT template_id, id FROM devices WHERE org_id = $1 AND template_id IS NOT NULL ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(id, name, json)| {
                let Look::Board(look) = Look::read("board", Some(&json))? else {
                    unreachable!("read as a board")
                };
                let boards = following.iter().filter(|(t, _)| *t == id).map(|(_, d)| *d).collect();
                Ok(BoardTemplate { id, name, look, boards })
            })
            .collect()
    }

    /// Names a new board template with a look (checked as a board's).
    pub async fn create_board_template(
        &self,
        org_id: i64,
        name: &str,
        look: serde_json::Value,
    ) -> Result<BoardTemplate> {
        field::name("name", name)?;
        let parsed = Look::parse("board", look)?;
        let json = parsed.to_json();
        let Look::Board(look) = parsed else {
            unreachable!("parsed as a board")
        };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO board_templates (org_id, name, look, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(org_id)
        .bind(name.trim())
        .bind(json)
        .bind(now_millis())
        .fetch_one(&self.write)
        .await
        .map_err(|e| template_name_taken(e, name))?;
        Ok(BoardTemplate {
            id,
            name: name.trim().to_string(),
            look,
            boards: Vec::new(),
        })
    }

    /// Renames a template or gives it a new look; answers it and the boards to tell.
    pub async fn edit_board_template(
        &self,
        org_id: i64,
        template_id: i64,
        name: Option<&str>,
        look: Option<serde_json::Value>,
    ) -> Result<BoardTemplate> {
        if let Some(name) = name {
            field::name("name", name)?;
        }
        let look = look.map(|v| Look::parse("board", v)).transpose()?.map(|l| l.to_json());
        let n = sqlx::query(
            "UPDATE board_templates SET name = COALESCE($1, name), look = COALESCE($2, look) WHERE id = $3 AND org_id = $4",
        )
        .bind(name.map(str::trim))
        .bind(look)
        .bind(template_id)
        .bind(org_id)
        .execute(&self.write)
        .await
        .map_err(|e| template_name_taken(e, name.unwrap_or("")))?
        .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("board template"));
        }
        self.board_template(org_id, template_id).await
    }

    pub async fn board_template(&self, org_id: i64, template_id: i64) -> Result<BoardTemplate> {
        self.board_templates(org_id)
            .await?
            .into_iter()
            .find(|t| t.id == template_id)
            .ok_or(Error::NotFound("board template"))
    }

    /// Removes a template: the boards following it keep its look as their own, so no screen
    /// changes. Answers the removed template.
    pub async fn remove_board_template(&self, org_id: i64, template_id: i64) -> Result<BoardTemplate> {
        let template = self.board_template(org_id, template_id).await?;
        let json = Look::Board(template.look.clone()).to_json();
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE devices SET look = $1, template_id = NULL WHERE template_id = $2 AND org_id = $3")
            .bind(json)
            .bind(template_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM board_templates WHERE id = $1 AND org_id = $2")
            .bind(template_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(template)
    }

    /// Makes a board follow a template of its organisation, or none (its own look again).
    pub async fn follow_board_template(&self, org_id: i64, device_id: i64, template_id: Option<i64>) -> Result<()> {
        let (kind,): (String,) = sqlx::query_as("SELECT kind FROM devices WHERE id = $1 AND org_id = $2")
            .bind(device_id)
            .bind(org_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("device"))?;
        if kind != "board" {
            return Err(FieldError::new("template_id", "board_only", json!({})).into());
        }
        if let Some(t) = template_id {
            self.board_template(org_id, t)
                .await
                .map_err(|_| Error::Field(FieldError::new("template_id", "not_found", json!({}))))?;
        }
        sqlx::query("UPDATE devices SET template_id = $1 WHERE id = $2 AND org_id = $3")
            .bind(template_id)
            .bind(device_id)
            .bind(org_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

/// Two templates of one organisation cannot share a name: the list would not tell them apart.
fn template_name_taken(e: sqlx::Error, name: &str) -> Error {
    if super::base::is_unique_violation(&e) {
        Error::Taken(FieldError::new(
            "name",
            "template_name_taken",
            json!({ "name": name.trim() }),
        ))
    } else {
        Error::Store(e)
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
