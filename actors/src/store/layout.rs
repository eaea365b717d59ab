//! Changing a branch's layout after it is set up: renaming, reordering and taking off services
//! (the kiosk's menu) and windows. Nothing is deleted: a retired service or window keeps its row,
//! so past tickets still name it.

use serde_json::json;

use super::org::{Service, Window};
use super::Store;
use crate::error::{Error, Result};
use crate::model::{field::FieldError, menu};

/// New names for a menu entry; None leaves one.
#[derive(Debug, Default)]
pub struct ServiceEdit<'a> {
    pub name_ru: Option<&'a str>,
    pub name_en: Option<&'a str>,
}

fn entries(services: &[Service]) -> Vec<menu::Entry<'_>> {
    services
        .iter()
        .map(|s| menu::Entry {
            id: s.id,
            parent_id: s.parent_id,
            prefix: s.prefix.as_deref(),
        })
        .collect()
}

impl Store {
    /// A menu entry of the organisation, with its branch's live menu.
    pub async fn service_in_menu(&self, org_id: i64, service_id: i64) -> Result<(Service, Vec<Service>)> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT branch_id FROM services WHERE id = $1 AND org_id = $2 AND kind = 'visit' AND retired = 0",
        )
        .bind(service_id)
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?;
        let (branch_id,) = row.ok_or(Error::NotFound("service"))?;
        let menu = self.services(branch_id).await?;
        let service = menu
            .iter()
            .find(|s| s.id == service_id)
            .cloned()
            .ok_or(Error::NotFound("service"))?;
        Ok((service, menu))
    }

    pub async fn edit_service(&self, org_id: i64, service_id: i64, e: &ServiceEdit<'_>) -> Result<Service> {
        for (field, name) in [("name_ru", e.name_ru), ("name_en", e.name_en)] {
            let Some(name) = name else { continue };
            crate::model::field::name(field, name)?;
        }
        let (service, _) = self.service_in_menu(org_id, service_id).await?;
        sqlx::query(
            "UPDATE services SET name_ru = COALESCE($1, name_ru), name_en = COALESCE($2, name_en) WHERE id = $3",
        )
        .bind(e.name_ru.map(str::trim))
        .bind(e.name_en.map(str::trim))
        .bind(service.id)
        .execute(&self.write)
        .await?;
        Ok(Service {
            name_ru: e.name_ru.map_or(service.name_ru, |n| n.trim().to_string()),
            name_en: e.name_en.map_or(service.name_en, |n| n.trim().to_string()),
            ..service
        })
    }

    /// Takes a service or an empty group off the menu, once no visitor waits for it.
    pub async fn retire_service(&self, org_id: i64, service_id: i64) -> Result<Service> {
        let (service, menu) = self.service_in_menu(org_id, service_id).await?;
        let (live,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM tickets WHERE service_id = $1 AND status IN ('waiting', 'called', 'serving')",
        )
        .bind(service.id)
        .fetch_one(&self.read)
        .await?;
        menu::check_remove(&entries(&menu), service.id, live).map_err(|e| Error::Field(e.field_error()))?;
        sqlx::query("UPDATE services SET retired = 1 WHERE id = $1")
            .bind(service.id)
            .execute(&self.write)
            .await?;
        Ok(service)
    }

    /// Puts the entries of one group (or the top) in the given order.
    pub async fn order_services(&self, org_id: i64, branch_id: i64, parent: Option<i64>, ids: &[i64]) -> Result<()> {
        self.branch(org_id, branch_id).await?;
        let menu = self.services(branch_id).await?;
        menu::check_order(&entries(&menu), parent, ids).map_err(|e| Error::Field(e.field_error()))?;
        let mut tx = self.write.begin().await?;
        for (i, id) in ids.iter().enumerate() {
            sqlx::query("UPDATE services SET position = $1 WHERE id = $2")
                .bind(i as i64 + 1)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A live window of the organisation.
    async fn live_window(&self, org_id: i64, window_id: i64) -> Result<Window> {
        sqlx::query_as("SELECT id, branch_id, label FROM windows WHERE id = $1 AND org_id = $2 AND retired = 0")
            .bind(window_id)
            .bind(org_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("window"))
    }

    /// Who sits at a window now (at work or on a break), by name.
    async fn at_window(&self, window_id: i64) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT u.name FROM operator_states o JOIN users u ON u.id = o.user_id \
             WHERE o.window_id = $1 AND o.presence <> '{\"state\":\"offline\"}'",
        )
        .bind(window_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| r.0))
    }

    pub async fn relabel_window(&self, org_id: i64, window_id: i64, label: &str) -> Result<Window> {
        let window = self.live_window(org_id, window_id).await?;
        let label = label.trim();
        crate::model::field::text("label", label, crate::model::field::WINDOW_LABEL_MAX, true)?;
        sqlx::query("UPDATE windows SET label = $1 WHERE id = $2")
            .bind(label)
            .bind(window.id)
            .execute(&self.write)
            .await
            .map_err(|e| {
                if super::base::is_unique_violation(&e) {
                    Error::Taken(FieldError::new("label", "label_taken", json!({ "label": label })))
                } else {
                    e.into()
                }
            })?;
        Ok(Window {
            label: label.to_string(),
            ..window
        })
    }

    /// Takes a window off the branch, once nobody works at it.
    pub async fn retire_window(&self, org_id: i64, window_id: i64) -> Result<Window> {
        let window = self.live_window(org_id, window_id).await?;
        if let Some(name) = self.at_window(window.id).await? {
            return Err(FieldError::new("window", "window_in_use", json!({ "operator": name })).into());
        }
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE windows SET retired = 1 WHERE id = $1")
            .bind(window.id)
            .execute(&mut *tx)
            .await?;
        // Whoever sat there last chooses a window again when they come back.
        sqlx::query("UPDATE operator_states SET window_id = NULL WHERE window_id = $1")
            .bind(window.id)
            .execute(&mut *tx)
            .await?;
        // Nobody keeps it in their list: a person listed only for it may sit anywhere again.
        sqlx::query("DELETE FROM user_windows WHERE window_id = $1")
            .bind(window.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(window)
    }
}
