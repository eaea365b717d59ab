//! The organisation's regions, the tree its branches are filed in. The rules are
//! `model::region`; this reads the tree they need and writes what they allow.

use serde::Serialize;
use serde_json::json;

use super::Store;
use crate::error::{Error, Result};
use crate::model::field::{self, FieldError};
use crate::model::region::{self, Node};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Region {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
}

fn nodes(regions: &[Region]) -> Vec<Node> {
    regions
        .iter()
        .map(|r| Node {
            id: r.id,
            parent_id: r.parent_id,
        })
        .collect()
}

impl Store {
    /// The organisation's regions, by name.
    pub async fn regions(&self, org_id: i64) -> Result<Vec<Region>> {
        Ok(
            sqlx::query_as("SELECT id, parent_id, name FROM regions WHERE org_id = $1 ORDER BY name, id")
                .bind(org_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn region(&self, org_id: i64, region_id: i64) -> Result<Region> {
        self.regions(org_id)
            .await?
            .into_iter()
            .find(|r| r.id == region_id)
            .ok_or(Error::NotFound("region"))
    }

    /// Adds a region, at the top or inside another.
    pub async fn create_region(&self, org_id: i64, name: &str, parent_id: Option<i64>) -> Result<Region> {
        field::name("name", name)?;
        let tree = self.regions(org_id).await?;
        region::check_parent(&nodes(&tree), None, parent_id)?;
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO regions (org_id, parent_id, name) VALUES ($1, $2, $3) RETURNING id")
                .bind(org_id)
                .bind(parent_id)
                .bind(name.trim())
                .fetch_one(&self.write)
                .await?;
        Ok(Region {
            id,
            parent_id,
            name: name.trim().to_string(),
        })
    }

    /// Renames a region or moves it (with what is filed in it) under another, or to the top.
    pub async fn edit_region(
        &self,
        org_id: i64,
        region_id: i64,
        name: Option<&str>,
        parent_id: Option<Option<i64>>,
    ) -> Result<Region> {
        if let Some(name) = name {
            field::name("name", name)?;
        }
        let tree = self.regions(org_id).await?;
        let now = tree
            .iter()
            .find(|r| r.id == region_id)
            .ok_or(Error::NotFound("region"))?;
        let parent = parent_id.unwrap_or(now.parent_id);
        region::check_parent(&nodes(&tree), Some(region_id), parent)?;
        sqlx::query("UPDATE regions SET name = COALESCE($1, name), parent_id = $2 WHERE id = $3 AND org_id = $4")
            .bind(name.map(str::trim))
            .bind(parent)
            .bind(region_id)
            .bind(org_id)
            .execute(&self.write)
            .await?;
        self.region(org_id, region_id).await
    }

    /// Takes a region away, once nothing is filed in it.
    pub async fn remove_region(&self, org_id: i64, region_id: i64) -> Result<Region> {
        let tree = self.regions(org_id).await?;
        let gone = tree
            .iter()
            .find(|r| r.id == region_id)
            .cloned()
            .ok_or(Error::NotFound("region"))?;
        let subs = tree.iter().filter(|r| r.parent_id == Some(region_id)).count();
        let (branches,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM branches WHERE region_id = $1")
            .bind(region_id)
            .fetch_one(&self.read)
            .await?;
        region::check_remove(subs, branches as usize)?;
        sqlx::query("DELETE FROM regions WHERE id = $1 AND org_id = $2")
            .bind(region_id)
            .bind(org_id)
            .execute(&self.write)
            .await?;
        Ok(gone)
    }

    /// Files a branch in a region of its organisation, or in none.
    pub async fn set_branch_region(&self, org_id: i64, branch_id: i64, region_id: Option<i64>) -> Result<()> {
        if let Some(r) = region_id {
            self.region(org_id, r)
                .await
                .map_err(|_| Error::Field(FieldError::new("region_id", "not_found", json!({}))))?;
        }
        let n = sqlx::query("UPDATE branches SET region_id = $1 WHERE id = $2 AND org_id = $3")
            .bind(region_id)
            .bind(branch_id)
            .bind(org_id)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("branch"));
        }
        Ok(())
    }
}
