//! Editing the people of an organisation: name, role, language, chat capacity, and the branches
//! they work in.

use super::org::{UserRow, USER_COLUMNS};
use super::Store;
use crate::error::{Error, Result};
use crate::model::field::FieldError;
use crate::model::person::Gender;
use crate::model::role::Role;
use crate::model::user::UserEdit;

impl Store {
    /// Changes a user of the organisation, all of the edit or none of it. A new role or
    /// disabling ends their sessions, so the next sign-in carries the change (the caller closes
    /// their open sockets). An unknown branch is refused with the field named.
    pub async fn edit_user(&self, org_id: i64, user_id: i64, e: &UserEdit<'_>) -> Result<UserRow> {
        e.validate()?;
        let mut tx = self.write.begin().await?;
        let before: UserRow = sqlx::query_as(super::sql(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND org_id = $2"
        )))
        .bind(user_id)
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound("user"))?;
        let gender = match e.gender {
            Some(g) => g.map(Gender::as_str),
            None => before.gender.as_deref(),
        };
        sqlx::query(
            "UPDATE users SET name = COALESCE($1, name), role = COALESCE($2, role), lang = COALESCE($3, lang), \
             chat_capacity = COALESCE($4, chat_capacity), disabled = COALESCE($5, disabled), gender = $6, \
             mail_capacity = COALESCE($8, mail_capacity) WHERE id = $7",
        )
        .bind(e.name.map(str::trim))
        .bind(e.role.map(Role::as_str))
        .bind(e.lang)
        .bind(e.chat_capacity)
        .bind(e.disabled.map(i64::from))
        .bind(gender)
        .bind(user_id)
        .bind(e.mail_capacity)
        .execute(&mut *tx)
        .await?;
        if let Some(branches) = e.branch_ids {
            sqlx::query("DELETE FROM user_branches WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for branch in branches {
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
                    return Err(FieldError::new("branch_ids", "not_found", serde_json::json!({})).into());
                }
            }
        }
        if let Some(windows) = e.window_ids {
            sqlx::query("DELETE FROM user_windows WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for window in windows {
                let n = sqlx::query(
                    "INSERT INTO user_windows (user_id, window_id) \
                     SELECT $1, id FROM windows WHERE id = $2 AND org_id = $3 AND retired = 0",
                )
                .bind(user_id)
                .bind(window)
                .bind(org_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(FieldError::new("window_ids", "not_found", serde_json::json!({})).into());
                }
            }
        }
        let role_before = Role::parse(&before.role).unwrap_or(Role::Operator);
        if e.ends_sessions(role_before) {
            super::auth::end_sessions(&mut tx, super::auth::SignedIn::User(user_id)).await?;
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

    /// The windows a user may sit at (per branch: none listed there, any).
    pub async fn user_windows(&self, user_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT window_id FROM user_windows WHERE user_id = $1 ORDER BY window_id")
                .bind(user_id)
                .fetch_all(&self.read)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Every user's windows in an organisation, as (user, window) pairs.
    pub async fn org_user_windows(&self, org_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT uw.user_id, uw.window_id FROM user_windows uw JOIN users u ON u.id = uw.user_id \
             WHERE u.org_id = $1 ORDER BY uw.user_id, uw.window_id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
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
}
