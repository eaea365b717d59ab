//! The installation's shared names in the store: organisations' name prefixes, and the numbers
//! and mail domains the owner assigned to them. The rules are `model::namespace`; this reads what
//! they need and records what the owner decides.

use serde::Serialize;

use super::Store;
use crate::error::{Error, Result};
use crate::model::namespace::{self, Assigned, Scope, Standing};
use crate::model::now_millis;

/// What the owner assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignKind {
    Number,
    Domain,
}

impl AssignKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Number => "number",
            Self::Domain => "domain",
        }
    }
}

/// An organisation as the owner sees it in `hub org list`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    /// None: the installation's own organisation.
    pub name_prefix: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Assignment {
    pub org_id: i64,
    pub kind: String,
    pub value: String,
}

/// The core's tables and columns holding shared names, to find names already under a prefix
/// (the bridges register theirs: [`super::BridgeTables::named`]).
const NAMED: &[(&str, &str)] = &[("users", "login"), ("devices", "login"), ("services", "widget_key")];

impl Store {
    /// Adds an organisation. The first is the installation's own (no prefix); every later one
    /// has a name prefix, `org<id>` unless one is given. The organisation and its prefix are
    /// written together: a refused prefix leaves no organisation behind.
    pub async fn create_org(&self, name: &str, prefix: Option<&str>) -> Result<i64> {
        let prefix = prefix.map(namespace::prefix).transpose().map_err(|e| e.at("prefix"))?;
        let first = self.org_count().await? == 0;
        if first && prefix.is_some() {
            return Err(Error::Invalid(
                "the installation's first organisation is its own and has no name prefix".into(),
            ));
        }
        let mut tx = self.write.begin().await?;
        let (id,): (i64,) = sqlx::query_as("INSERT INTO organisations (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(now_millis())
            .fetch_one(&mut *tx)
            .await?;
        if !first {
            let prefix = prefix.unwrap_or_else(|| format!("org{id}"));
            self.prefix_is_free(id, &prefix).await?;
            sqlx::query("UPDATE organisations SET name_prefix = $1 WHERE id = $2")
                .bind(&prefix)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| super::unique_as_conflict(e, "another organisation has this prefix"))?;
        }
        for (i, name) in crate::model::breaks::DEFAULT.iter().enumerate() {
            sqlx::query("INSERT INTO break_reasons (org_id, name, position) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(*name)
                .bind(i as i64 + 1)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Gives a tenant organisation another name prefix (its names so far stay as they are).
    pub async fn set_name_prefix(&self, org_id: i64, prefix: &str) -> Result<()> {
        let prefix = namespace::prefix(prefix).map_err(|e| e.at("prefix"))?;
        if self.own_org().await? == Some(org_id) {
            return Err(Error::Invalid(
                "the installation's own organisation has no name prefix".into(),
            ));
        }
        self.prefix_is_free(org_id, &prefix).await?;
        let n = sqlx::query("UPDATE organisations SET name_prefix = $1 WHERE id = $2")
            .bind(&prefix)
            .bind(org_id)
            .execute(&self.write)
            .await
            .map_err(|e| super::unique_as_conflict(e, "another organisation has this prefix"))?
            .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("organisation"));
        }
        Ok(())
    }

    /// Refuses a prefix another organisation already holds names under.
    async fn prefix_is_free(&self, org_id: i64, prefix: &str) -> Result<()> {
        let pattern = format!("{prefix}-%");
        for (table, column) in NAMED.iter().chain(self.bridges().iter().flat_map(|b| b.named)) {
            let (n,): (i64,) = sqlx::query_as(super::sql(format!(
                "SELECT COUNT(*) FROM {table} WHERE org_id <> $1 AND LOWER({column}) LIKE $2"
            )))
            .bind(org_id)
            .bind(&pattern)
            .fetch_one(&self.read)
            .await?;
            if n > 0 {
                return Err(Error::Conflict(format!(
                    "another organisation already has names beginning with \"{prefix}-\" ({table})"
                )));
            }
        }
        Ok(())
    }

    /// The installation's own organisation: the one without a prefix (none before the first).
    async fn own_org(&self) -> Result<Option<i64>> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM organisations WHERE name_prefix IS NULL ORDER BY id LIMIT 1")
                .fetch_optional(&self.read)
                .await?;
        Ok(row.map(|r| r.0))
    }

    pub async fn org_rows(&self) -> Result<Vec<OrgRow>> {
        Ok(
            sqlx::query_as("SELECT id, name, name_prefix FROM organisations ORDER BY id")
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// The prefix of one organisation and those of all tenants.
    async fn prefixes(&self, org_id: i64) -> Result<(Option<String>, Vec<String>)> {
        let rows: Vec<(i64, Option<String>)> = sqlx::query_as("SELECT id, name_prefix FROM organisations")
            .fetch_all(&self.read)
            .await?;
        let own = rows
            .iter()
            .find(|(id, _)| *id == org_id)
            .ok_or(Error::NotFound("organisation"))?
            .1
            .clone();
        Ok((own, rows.into_iter().filter_map(|(_, p)| p).collect()))
    }

    /// Refuses a login, device login, SIP user name or widget key not the organisation's to take,
    /// naming the form's `field`.
    pub async fn check_name(&self, org_id: i64, field: &'static str, name: &str) -> Result<()> {
        let (own, all) = self.prefixes(org_id).await?;
        let scope = Scope {
            org_id,
            prefix: own.as_deref(),
        };
        namespace::name(scope, name, all.iter().map(String::as_str)).map_err(|e| Error::NotYours(e.at(field)))
    }

    async fn assigned(&self, kind: AssignKind) -> Result<Vec<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT org_id, value FROM org_assignments WHERE kind = $1")
                .bind(kind.as_str())
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// Refuses a number the organisation may not answer, naming the form's `field`.
    pub async fn check_number(&self, org_id: i64, field: &'static str, number: &str) -> Result<()> {
        let (own, _) = self.prefixes(org_id).await?;
        let assigned = self.assigned(AssignKind::Number).await?;
        let scope = Scope {
            org_id,
            prefix: own.as_deref(),
        };
        namespace::number(
            scope,
            number,
            assigned.iter().map(|(o, v)| Assigned { org_id: *o, value: v }),
        )
        .map_err(|e| Error::NotYours(e.at(field)))
    }

    /// What a mailbox address would be to the organisation: vouched for, to confirm, or refused.
    pub async fn address_standing(&self, org_id: i64, field: &'static str, address: &str) -> Result<Standing> {
        let (own, _) = self.prefixes(org_id).await?;
        let assigned = self.assigned(AssignKind::Domain).await?;
        let scope = Scope {
            org_id,
            prefix: own.as_deref(),
        };
        namespace::address(
            scope,
            address,
            assigned.iter().map(|(o, v)| Assigned { org_id: *o, value: v }),
        )
        .map_err(|e| Error::NotYours(e.at(field)))
    }

    /// The owner assigns a number (or a block `+7495123*`) or a mail domain to an organisation.
    pub async fn assign_name(&self, org_id: i64, kind: AssignKind, value: &str) -> Result<()> {
        let value = value.trim().to_ascii_lowercase();
        let ok = match kind {
            AssignKind::Number => {
                let digits = value.strip_prefix('+').unwrap_or(&value);
                let digits = digits.strip_suffix('*').unwrap_or(digits);
                !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit())
            }
            AssignKind::Domain => {
                value.contains('.')
                    && value.len() <= 253
                    && value
                        .split('.')
                        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            }
        };
        if !ok {
            return Err(Error::Invalid(format!("{value:?} is not a {}", kind.as_str())));
        }
        sqlx::query("INSERT INTO org_assignments (org_id, kind, value, created_at) VALUES ($1, $2, $3, $4)")
            .bind(org_id)
            .bind(kind.as_str())
            .bind(&value)
            .bind(now_millis())
            .execute(&self.write)
            .await
            .map_err(|e| super::unique_as_conflict(e, "this is already assigned; unassign it first"))?;
        Ok(())
    }

    /// Takes an assignment back; what the organisation already uses keeps working.
    pub async fn unassign_name(&self, kind: AssignKind, value: &str) -> Result<bool> {
        Ok(
            sqlx::query("DELETE FROM org_assignments WHERE kind = $1 AND value = $2")
                .bind(kind.as_str())
                .bind(value.trim().to_ascii_lowercase())
                .execute(&self.write)
                .await?
                .rows_affected()
                == 1,
        )
    }

    pub async fn assignments(&self) -> Result<Vec<Assignment>> {
        Ok(
            sqlx::query_as("SELECT org_id, kind, value FROM org_assignments ORDER BY org_id, kind, value")
                .fetch_all(&self.read)
                .await?,
        )
    }
}
