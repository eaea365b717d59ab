//! Editing the people of an organisation: name, role, language, chat capacity, and the branches
//! they work in.

use super::org::{UserRow, USER_COLUMNS};
use super::Store;
use crate::error::{Error, Result};
use crate::model::{field::FieldError, role::Role};

/// What an admin may change of a user; None leaves it.
#[derive(Debug, Default)]
pub struct UserEdit<'a> {
    pub name: Option<&'a str>,
    pub role: Option<Role>,
    pub lang: Option<&'a str>,
    pub chat_capacity: Option<i64>,
}

impl UserEdit<'_> {
    pub fn validate(&self) -> std::result::Result<(), FieldError> {
        if let Some(name) = self.name {
            if name.trim().is_empty() {
                return Err(FieldError::new("name", "required", serde_json::json!({})));
            }
            if name.chars().count() > 100 {
                return Err(FieldError::new("name", "too_long", serde_json::json!({ "max": 100 })));
            }
            if name.chars().any(char::is_control) {
                return Err(FieldError::new("name", "control_chars", serde_json::json!({})));
            }
        }
        if self.lang.is_some_and(|l| !matches!(l, "ru" | "en")) {
            return Err(FieldError::new("lang", "lang", serde_json::json!({})));
        }
        if self.chat_capacity.is_some_and(|c| !(0..=50).contains(&c)) {
            return Err(FieldError::new(
                "chat_capacity",
                "range",
                serde_json::json!({ "min": 0, "max": 50 }),
            ));
        }
        Ok(())
    }
}

impl Store {
    /// Changes a user of the organisation; a new role ends their sessions, so the next sign-in
    /// carries it.
    pub async fn edit_user(&self, org_id: i64, user_id: i64, e: &UserEdit<'_>) -> Result<UserRow> {
        e.validate()?;
        let mut tx = self.write.begin().await?;
        let n = sqlx::query(
            "UPDATE users SET name = COALESCE($1, name), role = COALESCE($2, role), lang = COALESCE($3, lang), \
             chat_capacity = COALESCE($4, chat_capacity) WHERE id = $5 AND org_id = $6",
        )
        .bind(e.name.map(str::trim))
        .bind(e.role.map(Role::as_str))
        .bind(e.lang)
        .bind(e.chat_capacity)
        .bind(user_id)
        .bind(org_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("user"));
        }
        if e.role.is_some() {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        let user = sqlx::query_as(super::sql(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The branches a user works in; empty: all of the organisation's.
    pub async fn user_branches(&self, user_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT branch_id FROM user_branches WHERE user_id = $1 ORDER BY branch_id")
                .bind(user_id)
                .fetch_all(&self.read)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Every user's skills in an organisation, as (user, service, proficiency).
    pub async fn org_skills(&self, org_id: i64) -> Result<Vec<(i64, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT k.user_id, k.service_id, k.proficiency FROM operator_skills k JOIN users u ON u.id = k.user_id \
             WHERE u.org_id = $1 ORDER BY k.user_id, k.service_id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Every user's branches in an organisation, as (user, branch) pairs.
    pub async fn org_user_branches(&self, org_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT ub.user_id, ub.branch_id FROM user_branches ub JOIN users u ON u.id = ub.user_id \
             WHERE u.org_id = $1 ORDER BY ub.user_id, ub.branch_id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Sets the branches a user works in (empty: all). Each must be the organisation's.
    pub async fn set_user_branches(&self, org_id: i64, user_id: i64, branches: &[i64]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let (owner,): (i64,) = sqlx::query_as("SELECT org_id FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound("user"))?;
        if owner != org_id {
            return Err(Error::NotFound("user"));
        }
        sqlx::query("DELETE FROM user_branches WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let mut branches = branches.to_vec();
        branches.sort_unstable();
        branches.dedup();
        for branch in &branches {
            let n = sqlx::query(
                "INSERT INTO user_branches (user_id, branch_id) SELECT $1, id FROM branches WHERE id = $2 AND org_id = $3",
            )
            .bind(user_id)
            .bind(branch)
            .bind(org_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(Error::NotFound("branch"));
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
