//! The service desk's set-up: calendars, SLA and OLA policies, support groups and their members,
//! territories, counterparties and their sites, versioned workflows, request types and the
//! routing rules. Rows hold the rules as the JSON the model reads; each is checked by the model
//! before it is written, and every id it names is checked to be the organisation's own.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Store;
use crate::error::{Error, Result};
use crate::model::assignment::{self, Conditions, Dispatch, Group, Rule};
use crate::model::desk::Targets;
use crate::model::field::{self, FieldError};
use crate::model::geo::{Area, Point};
use crate::model::now_millis;
use crate::model::schedule::{validate_exceptions, Exception, Schedule};
use crate::model::workflow::Workflow;

#[derive(Debug, Clone, Serialize)]
pub struct DeskCalendar {
    pub id: i64,
    pub name: String,
    pub timezone: String,
    pub week: Schedule,
    pub exceptions: Vec<Exception>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeskPolicy {
    pub id: i64,
    pub name: String,
    /// `sla` (chosen by conditions) or `ola` (named by a support group).
    pub kind: String,
    pub position: i64,
    pub conditions: Conditions,
    pub targets: Targets,
    /// None: 24/7 in UTC.
    pub calendar_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SupportGroup {
    pub id: i64,
    pub name: String,
    pub grade: i64,
    pub ola_policy_id: Option<i64>,
    pub members: Vec<i64>,
    /// `manual` or `least_loaded` (`model::assignment::Dispatch`).
    pub dispatch: String,
}

/// A support group as an admin makes or edits it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupForm {
    pub name: String,
    #[serde(default = "first_line")]
    pub grade: i64,
    #[serde(default)]
    pub ola_policy_id: Option<i64>,
    #[serde(default)]
    pub members: Vec<i64>,
    #[serde(default)]
    pub dispatch: Dispatch,
}

fn first_line() -> i64 {
    1
}

#[derive(Debug, Clone, Serialize)]
pub struct Territory {
    pub id: i64,
    pub name: String,
    /// A GeoJSON MultiPolygon.
    pub shape: Value,
    /// Vehicles inside go no faster than this.
    pub speed_limit_kmh: Option<f64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Counterparty {
    pub id: i64,
    pub name: String,
    pub mail_domain: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Site {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub counterparty_id: Option<i64>,
    pub region_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeskWorkflow {
    pub id: i64,
    pub name: String,
    /// The newest version: what new requests start with.
    pub version: i64,
    pub version_id: i64,
    pub body: Workflow,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestType {
    pub id: i64,
    pub name: String,
    pub workflow_id: i64,
    /// Fields a request of this type has (the workflow's requirements name them).
    pub fields: Vec<String>,
    /// The checklist every request of the type starts with, unless it is made with its own.
    pub checklist: Vec<String>,
    /// What a request of the type is filed under (none: any category, or none).
    pub categories: Vec<String>,
}

/// Everything the back office shows of the desk's set-up, in one answer.
#[derive(Debug, Clone, Serialize)]
pub struct DeskSetup {
    pub calendars: Vec<DeskCalendar>,
    pub policies: Vec<DeskPolicy>,
    pub groups: Vec<SupportGroup>,
    pub territories: Vec<Territory>,
    pub counterparties: Vec<Counterparty>,
    pub sites: Vec<Site>,
    pub workflows: Vec<DeskWorkflow>,
    pub request_types: Vec<RequestType>,
    pub rules: Vec<Rule>,
    /// Queues whose new conversations open requests: (queue, request type).
    pub intake: Vec<(i64, i64)>,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Internal(format!("stored desk rule unreadable: {e}")))
}

fn text<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

fn unknown(field: &'static str, id: i64) -> Error {
    Error::Field(FieldError::new(field, "not_found", json!({ "id": id })))
}

impl Store {
    /// Fails with the field named unless `id` is a row of `table` of the organisation.
    pub(super) async fn owned(
        &self,
        org_id: i64,
        table: &'static str,
        field: &'static str,
        id: Option<i64>,
    ) -> Result<()> {
        let Some(id) = id else { return Ok(()) };
        let q = super::sql(format!("SELECT COUNT(*) FROM {table} WHERE id = $1 AND org_id = $2"));
        let (n,): (i64,) = sqlx::query_as(q).bind(id).bind(org_id).fetch_one(&self.read).await?;
        if n == 0 {
            return Err(unknown(field, id));
        }
        Ok(())
    }

    pub async fn desk_calendars(&self, org_id: i64) -> Result<Vec<DeskCalendar>> {
        let rows: Vec<(i64, String, String, String, String)> =
            sqlx::query_as("SELECT id, name, timezone, week, exceptions FROM calendars WHERE org_id = $1 ORDER BY id")
                .bind(org_id)
                .fetch_all(&self.read)
                .await?;
        rows.into_iter()
            .map(|(id, name, timezone, week, exceptions)| {
                Ok(DeskCalendar {
                    id,
                    name,
                    timezone,
                    week: parse(&week)?,
                    exceptions: parse(&exceptions)?,
                })
            })
            .collect()
    }

    pub async fn create_desk_calendar(
        &self,
        org_id: i64,
        name: &str,
        timezone: &str,
        week: &Schedule,
        exceptions: &[Exception],
    ) -> Result<i64> {
        field::name("name", name)?;
        if jiff::tz::TimeZone::get(timezone).is_err() {
            return Err(FieldError::new("timezone", "timezone", json!({ "zone": timezone })).into());
        }
        week.validate()?;
        validate_exceptions(exceptions)?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO calendars (org_id, name, timezone, week, exceptions) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(org_id)
        .bind(name.trim())
        .bind(timezone)
        .bind(text(week)?)
        .bind(text(&exceptions)?)
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    pub async fn desk_policies(&self, org_id: i64) -> Result<Vec<DeskPolicy>> {
        let rows: Vec<(i64, String, String, i64, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, name, kind, position, conditions, targets, calendar_id FROM desk_policies \
             WHERE org_id = $1 ORDER BY kind, position, id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(id, name, kind, position, conditions, targets, calendar_id)| {
                Ok(DeskPolicy {
                    id,
                    name,
                    kind,
                    position,
                    conditions: parse(&conditions)?,
                    targets: parse(&targets)?,
                    calendar_id,
                })
            })
            .collect()
    }

    /// Adds a policy at the end of its kind's order.
    pub async fn create_desk_policy(
        &self,
        org_id: i64,
        name: &str,
        kind: &str,
        conditions: &Conditions,
        targets: &Targets,
        calendar_id: Option<i64>,
    ) -> Result<i64> {
        field::name("name", name)?;
        if kind != "sla" && kind != "ola" {
            return Err(FieldError::new("kind", "one_of", json!({ "values": "sla, ola" })).into());
        }
        targets.validate()?;
        self.owned(org_id, "calendars", "calendar_id", calendar_id).await?;
        self.check_conditions(org_id, conditions).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO desk_policies (org_id, name, kind, position, conditions, targets, calendar_id) \
             VALUES ($1, $2, $3, (SELECT COALESCE(MAX(position), 0) + 1 FROM desk_policies WHERE org_id = $1), $4, $5, $6) \
             RETURNING id",
        )
        .bind(org_id)
        .bind(name.trim())
        .bind(kind)
        .bind(text(conditions)?)
        .bind(text(targets)?)
        .bind(calendar_id)
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    /// Changes a policy's targets or calendar: the requests under it are read again by their
    /// actors (the caller tells them), and their clocks come out as if it had always been so.
    pub async fn edit_desk_policy(
        &self,
        org_id: i64,
        policy_id: i64,
        targets: &Targets,
        calendar_id: Option<i64>,
    ) -> Result<()> {
        targets.validate()?;
        self.owned(org_id, "calendars", "calendar_id", calendar_id).await?;
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("UPDATE desk_policies SET targets = $1, calendar_id = $2 WHERE id = $3 AND org_id = $4")
            .bind(text(targets)?)
            .bind(calendar_id)
            .bind(policy_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("policy"));
        }
        // Every open request reads its clocks again, after a restart too (see `requests::recheck`).
        sqlx::query("UPDATE requests SET next_alarm_at = $1 WHERE org_id = $2 AND status_kind <> 'closed'")
            .bind(now_millis())
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every id a set of conditions names is the organisation's.
    async fn check_conditions(&self, org_id: i64, c: &Conditions) -> Result<()> {
        for (table, field, ids) in [
            ("territories", "territories", &c.territories),
            ("sites", "sites", &c.sites),
            ("regions", "regions", &c.regions),
            ("counterparties", "counterparties", &c.counterparties),
            ("request_types", "request_types", &c.request_types),
            ("support_groups", "groups", &c.groups),
        ] {
            for id in ids {
                self.owned(org_id, table, field, Some(*id)).await?;
            }
        }
        Ok(())
    }

    pub async fn support_groups(&self, org_id: i64) -> Result<Vec<SupportGroup>> {
        let rows: Vec<(i64, String, i64, Option<i64>, String)> = sqlx::query_as(
            "SELECT id, name, grade, ola_policy_id, dispatch FROM support_groups WHERE org_id = $1 ORDER BY grade, name, id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        let members: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT m.group_id, m.user_id FROM support_group_members m JOIN support_groups g ON g.id = m.group_id \
             WHERE g.org_id = $1 ORDER BY m.user_id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, grade, ola_policy_id, dispatch)| SupportGroup {
                id,
                name,
                grade,
                ola_policy_id,
                members: members.iter().filter(|(g, _)| *g == id).map(|(_, u)| *u).collect(),
                dispatch,
            })
            .collect())
    }

    /// Checks a group's form: its name, grade, OLA (an OLA policy of the organisation) and members.
    async fn check_group(&self, org_id: i64, g: &GroupForm) -> Result<()> {
        field::name("name", &g.name)?;
        if !(1..=9).contains(&g.grade) {
            return Err(FieldError::new("grade", "range", json!({ "min": 1, "max": 9 })).into());
        }
        if let Some(p) = g.ola_policy_id {
            let (n,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM desk_policies WHERE id = $1 AND org_id = $2 AND kind = 'ola'")
                    .bind(p)
                    .bind(org_id)
                    .fetch_one(&self.read)
                    .await?;
            if n == 0 {
                return Err(unknown("ola_policy_id", p));
            }
        }
        for u in &g.members {
            self.owned(org_id, "users", "members", Some(*u)).await?;
        }
        Ok(())
    }

    async fn set_members(tx: &mut super::Tx<'_>, id: i64, members: &[i64]) -> Result<()> {
        sqlx::query("DELETE FROM support_group_members WHERE group_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        for u in members.iter().collect::<BTreeSet<_>>() {
            sqlx::query("INSERT INTO support_group_members (group_id, user_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*u)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn create_support_group(&self, org_id: i64, g: &GroupForm) -> Result<i64> {
        self.check_group(org_id, g).await?;
        let mut tx = self.write.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO support_groups (org_id, name, grade, ola_policy_id, dispatch) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(org_id)
        .bind(g.name.trim())
        .bind(g.grade)
        .bind(g.ola_policy_id)
        .bind(g.dispatch.as_str())
        .fetch_one(&mut *tx)
        .await?;
        Self::set_members(&mut tx, id, &g.members).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a group: its name, grade, OLA, members and dispatch. Requests it holds stay with
    /// it (and with their engineers).
    pub async fn update_support_group(&self, org_id: i64, id: i64, g: &GroupForm) -> Result<()> {
        self.check_group(org_id, g).await?;
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE support_groups SET name = $1, grade = $2, ola_policy_id = $3, dispatch = $4 WHERE id = $5 AND org_id = $6",
        )
        .bind(g.name.trim())
        .bind(g.grade)
        .bind(g.ola_policy_id)
        .bind(g.dispatch.as_str())
        .bind(id)
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("group"));
        }
        Self::set_members(&mut tx, id, &g.members).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn territories(&self, org_id: i64) -> Result<Vec<Territory>> {
        let rows: Vec<(i64, String, String, Option<f64>)> = sqlx::query_as(
            "SELECT id, name, shape, speed_limit_kmh FROM territories WHERE org_id = $1 ORDER BY name, id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(id, name, shape, speed_limit_kmh)| {
                Ok(Territory {
                    id,
                    name,
                    shape: parse(&shape)?,
                    speed_limit_kmh,
                })
            })
            .collect()
    }

    /// Adds a territory from GeoJSON (drawn on the map or imported), stored as a MultiPolygon.
    pub async fn create_territory(
        &self,
        org_id: i64,
        name: &str,
        shape: &Value,
        speed_limit_kmh: Option<f64>,
    ) -> Result<i64> {
        field::name("name", name)?;
        let area = Area::from_geojson("shape", shape)?;
        crate::model::fleet::speed_limit("speed_limit_kmh", speed_limit_kmh)?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO territories (org_id, name, shape, speed_limit_kmh) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(org_id)
        .bind(name.trim())
        .bind(text(&area.to_geojson())?)
        .bind(super::base::Float(speed_limit_kmh))
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    pub async fn counterparties(&self, org_id: i64) -> Result<Vec<Counterparty>> {
        Ok(
            sqlx::query_as("SELECT id, name, mail_domain FROM counterparties WHERE org_id = $1 ORDER BY name, id")
                .bind(org_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn create_counterparty(&self, org_id: i64, name: &str, mail_domain: Option<&str>) -> Result<i64> {
        field::name("name", name)?;
        let domain = mail_domain
            .map(|d| d.trim().to_ascii_lowercase())
            .filter(|d| !d.is_empty());
        if let Some(d) = &domain {
            let ok = d.len() <= 253
                && d.contains('.')
                && d.split('.').all(|l| {
                    !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !ok {
                return Err(FieldError::new("mail_domain", "domain_port", Value::Null).into());
            }
        }
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO counterparties (org_id, name, mail_domain) VALUES ($1, $2, $3) RETURNING id")
                .bind(org_id)
                .bind(name.trim())
                .bind(domain)
                .fetch_one(&self.write)
                .await?;
        Ok(id)
    }

    pub async fn sites(&self, org_id: i64) -> Result<Vec<Site>> {
        Ok(sqlx::query_as(
            "SELECT id, name, address, lon, lat, counterparty_id, region_id FROM sites WHERE org_id = $1 ORDER BY name, id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn site(&self, org_id: i64, id: i64) -> Result<Option<Site>> {
        Ok(sqlx::query_as(
            "SELECT id, name, address, lon, lat, counterparty_id, region_id FROM sites WHERE id = $1 AND org_id = $2",
        )
        .bind(id)
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn create_site(&self, org_id: i64, site: &Site) -> Result<i64> {
        field::name("name", &site.name)?;
        field::text("address", &site.address, 300, false)?;
        match (site.lon, site.lat) {
            (Some(lon), Some(lat)) => {
                Point::new(lon, lat)?;
            }
            (None, None) => {}
            (None, Some(_)) => return Err(FieldError::new("lon", "required", Value::Null).into()),
            (Some(_), None) => return Err(FieldError::new("lat", "required", Value::Null).into()),
        }
        self.owned(org_id, "counterparties", "counterparty_id", site.counterparty_id)
            .await?;
        self.owned(org_id, "regions", "region_id", site.region_id).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO sites (org_id, name, address, lon, lat, counterparty_id, region_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org_id)
        .bind(site.name.trim())
        .bind(site.address.trim())
        .bind(super::base::Float(site.lon))
        .bind(super::base::Float(site.lat))
        .bind(site.counterparty_id)
        .bind(site.region_id)
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    pub async fn desk_workflows(&self, org_id: i64) -> Result<Vec<DeskWorkflow>> {
        let rows: Vec<(i64, String, i64, i64, String)> = sqlx::query_as(
            "SELECT w.id, w.name, v.version, v.id, v.body FROM workflows w \
             JOIN workflow_versions v ON v.workflow_id = w.id \
             WHERE w.org_id = $1 AND v.version = (SELECT MAX(version) FROM workflow_versions x WHERE x.workflow_id = w.id) \
             ORDER BY w.name, w.id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(id, name, version, version_id, body)| {
                Ok(DeskWorkflow {
                    id,
                    name,
                    version,
                    version_id,
                    body: parse(&body)?,
                })
            })
            .collect()
    }

    /// A workflow's version as a request of it keeps it.
    pub async fn workflow_version(&self, version_id: i64) -> Result<Workflow> {
        let (body,): (String,) = sqlx::query_as("SELECT body FROM workflow_versions WHERE id = $1")
            .bind(version_id)
            .fetch_one(&self.read)
            .await?;
        parse(&body)
    }

    pub async fn create_workflow(&self, org_id: i64, name: &str, body: &Workflow) -> Result<i64> {
        field::name("name", name)?;
        self.check_workflow(org_id, body).await?;
        let mut tx = self.write.begin().await?;
        let (id,): (i64,) = sqlx::query_as("INSERT INTO workflows (org_id, name) VALUES ($1, $2) RETURNING id")
            .bind(org_id)
            .bind(name.trim())
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO workflow_versions (workflow_id, version, body, created_at) VALUES ($1, 1, $2, $3)")
            .bind(id)
            .bind(text(body)?)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Saves a new version of a workflow: new requests start with it, open ones keep theirs.
    pub async fn edit_workflow(&self, org_id: i64, workflow_id: i64, body: &Workflow) -> Result<i64> {
        self.owned(org_id, "workflows", "workflow_id", Some(workflow_id))
            .await
            .map_err(|_| Error::NotFound("workflow"))?;
        self.check_workflow(org_id, body).await?;
        let (version,): (i64,) = sqlx::query_as(
            "INSERT INTO workflow_versions (workflow_id, version, body, created_at) \
             VALUES ($1, (SELECT MAX(version) + 1 FROM workflow_versions WHERE workflow_id = $1), $2, $3) RETURNING version",
        )
        .bind(workflow_id)
        .bind(text(body)?)
        .bind(now_millis())
        .fetch_one(&self.write)
        .await?;
        Ok(version)
    }

    async fn check_workflow(&self, org_id: i64, body: &Workflow) -> Result<()> {
        body.validate()?;
        use crate::model::workflow::Action;
        for s in &body.statuses {
            for a in &s.on_enter {
                match a {
                    Action::Assign { group } => self.owned(org_id, "support_groups", "on_enter", Some(*group)).await?,
                    Action::CreateChild { request_type } => {
                        self.owned(org_id, "request_types", "on_enter", Some(*request_type))
                            .await?
                    }
                    Action::Webhook { webhook } => self.owned(org_id, "webhooks", "on_enter", Some(*webhook)).await?,
                    Action::SetField { .. }
                    | Action::RaisePriority
                    | Action::NotifyCustomer { .. }
                    | Action::StopClock { .. } => {}
                }
            }
        }
        Ok(())
    }

    pub async fn request_types(&self, org_id: i64) -> Result<Vec<RequestType>> {
        let rows: Vec<(i64, String, i64, String, String, String)> = sqlx::query_as(
            "SELECT id, name, workflow_id, fields, checklist, categories FROM request_types WHERE org_id = $1 ORDER BY name, id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(id, name, workflow_id, fields, checklist, categories)| {
                Ok(RequestType {
                    id,
                    name,
                    workflow_id,
                    fields: parse(&fields)?,
                    checklist: parse(&checklist)?,
                    categories: parse(&categories)?,
                })
            })
            .collect()
    }

    pub async fn create_request_type(
        &self,
        org_id: i64,
        name: &str,
        workflow_id: i64,
        fields: &[String],
        checklist: &[String],
        categories: &[String],
    ) -> Result<i64> {
        field::name("name", name)?;
        if categories.len() > 50 {
            return Err(FieldError::new("categories", "too_many", json!({ "max": 50 })).into());
        }
        let mut seen = BTreeSet::new();
        for c in categories {
            field::text("categories", c, 100, true)?;
            if !seen.insert(c.trim().to_lowercase()) {
                return Err(FieldError::new("categories", "category_twice", json!({ "name": c.trim() })).into());
            }
        }
        let categories: Vec<&str> = categories.iter().map(|c| c.trim()).collect();
        self.owned(org_id, "workflows", "workflow_id", Some(workflow_id))
            .await?;
        if fields.len() > 50 {
            return Err(FieldError::new("fields", "too_many", json!({ "max": 50 })).into());
        }
        for f in fields {
            field::text("fields", f, 40, true)?;
        }
        if checklist.len() > 100 {
            return Err(FieldError::new("checklist", "too_many", json!({ "max": 100 })).into());
        }
        for item in checklist {
            field::text("checklist", item, 300, true)?;
        }
        let checklist: Vec<&str> = checklist.iter().map(|c| c.trim()).collect();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO request_types (org_id, name, workflow_id, fields, checklist, categories) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(org_id)
        .bind(name.trim())
        .bind(workflow_id)
        .bind(text(&fields)?)
        .bind(text(&checklist)?)
        .bind(text(&categories)?)
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    pub async fn desk_rules(&self, org_id: i64) -> Result<Vec<Rule>> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, conditions, group_ids FROM desk_rules WHERE org_id = $1 ORDER BY position, id")
                .bind(org_id)
                .fetch_all(&self.read)
                .await?;
        rows.into_iter()
            .map(|(id, when, groups)| {
                Ok(Rule {
                    id,
                    when: parse(&when)?,
                    groups: parse(&groups)?,
                })
            })
            .collect()
    }

    /// The groups as routing sees them.
    pub async fn desk_grades(&self, org_id: i64) -> Result<Vec<Group>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT id, grade FROM support_groups WHERE org_id = $1")
            .bind(org_id)
            .fetch_all(&self.read)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, grade)| Group {
                id,
                grade: u8::try_from(grade).unwrap_or(u8::MAX),
            })
            .collect())
    }

    /// Replaces the organisation's routing rules with `rules`, in this order (their ids are
    /// given anew). Requests placed by a rule that is gone stay where they are.
    pub async fn put_desk_rules(&self, org_id: i64, rules: &[(Conditions, Vec<i64>)]) -> Result<Vec<Rule>> {
        let groups = self.desk_grades(org_id).await?;
        let check: Vec<Rule> = rules
            .iter()
            .enumerate()
            .map(|(i, (when, g))| Rule {
                id: i as i64,
                when: when.clone(),
                groups: g.clone(),
            })
            .collect();
        assignment::validate(&check, &groups)?;
        for (when, _) in rules {
            self.check_conditions(org_id, when).await?;
        }
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM desk_rules WHERE org_id = $1")
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        for (i, (when, g)) in rules.iter().enumerate() {
            sqlx::query("INSERT INTO desk_rules (org_id, position, conditions, group_ids) VALUES ($1, $2, $3, $4)")
                .bind(org_id)
                .bind(i as i64)
                .bind(text(when)?)
                .bind(text(g)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.desk_rules(org_id).await
    }

    /// Sets (or, with None, clears) the request type a queue's new conversations open.
    pub async fn set_desk_intake(&self, org_id: i64, service_id: i64, type_id: Option<i64>) -> Result<()> {
        self.owned(org_id, "services", "service_id", Some(service_id)).await?;
        self.owned(org_id, "request_types", "type_id", type_id).await?;
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM desk_intake WHERE service_id = $1")
            .bind(service_id)
            .execute(&mut *tx)
            .await?;
        if let Some(t) = type_id {
            sqlx::query("INSERT INTO desk_intake (service_id, org_id, type_id) VALUES ($1, $2, $3)")
                .bind(service_id)
                .bind(org_id)
                .bind(t)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The request type a queue's new conversations open, if any.
    pub async fn desk_intake(&self, service_id: i64) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT type_id FROM desk_intake WHERE service_id = $1")
            .bind(service_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|(t,)| t))
    }

    pub async fn desk_intakes(&self, org_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(
            sqlx::query_as("SELECT service_id, type_id FROM desk_intake WHERE org_id = $1 ORDER BY service_id")
                .bind(org_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// The counterparty whose mail domain this is.
    pub async fn counterparty_by_domain(&self, org_id: i64, domain: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM counterparties WHERE org_id = $1 AND mail_domain = $2 ORDER BY id LIMIT 1")
                .bind(org_id)
                .bind(domain)
                .fetch_optional(&self.read)
                .await?;
        Ok(row.map(|(id,)| id))
    }

    /// Sites as intake matches them: of a counterparty, or all of the organisation's.
    pub async fn site_names(&self, org_id: i64, counterparty_id: Option<i64>) -> Result<Vec<(i64, String)>> {
        Ok(match counterparty_id {
            Some(c) => {
                sqlx::query_as("SELECT id, name FROM sites WHERE org_id = $1 AND counterparty_id = $2 ORDER BY id")
                    .bind(org_id)
                    .bind(c)
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query_as("SELECT id, name FROM sites WHERE org_id = $1 ORDER BY id")
                    .bind(org_id)
                    .fetch_all(&self.read)
                    .await?
            }
        })
    }

    pub async fn desk_setup(&self, org_id: i64) -> Result<DeskSetup> {
        Ok(DeskSetup {
            calendars: self.desk_calendars(org_id).await?,
            policies: self.desk_policies(org_id).await?,
            groups: self.support_groups(org_id).await?,
            territories: self.territories(org_id).await?,
            counterparties: self.counterparties(org_id).await?,
            sites: self.sites(org_id).await?,
            workflows: self.desk_workflows(org_id).await?,
            request_types: self.request_types(org_id).await?,
            rules: self.desk_rules(org_id).await?,
            intake: self.desk_intakes(org_id).await?,
        })
    }
}
