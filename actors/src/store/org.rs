//! Organisations and what they are made of: branches, services, windows, users, devices.

use jiff::tz::TimeZone;
use serde::Serialize;

use super::{unique_as_conflict, Store};
use crate::error::{Error, Result};
use crate::model::{
    branch::BranchSettings,
    field::FieldError,
    menu, now_millis,
    role::{DeviceKind, Role},
    schedule::{Calendar, Exception, Schedule},
};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Branch {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub timezone: String,
    pub lang: String,
    pub schedule: String,
    pub recalls_before_no_show: i64,
    pub board_size: i64,
    #[serde(skip)]
    pub vip_code: Option<String>,
    pub address: String,
    /// JSON list of [`Exception`]s: the days unlike the week (pages read them through the back
    /// office's view of a branch).
    #[serde(skip)]
    pub holidays: String,
    /// The region it is filed in, if any.
    pub region_id: Option<i64>,
}

/// The columns of a [`Branch`], in its order.
const BRANCH_COLUMNS: &str = "id, org_id, name, timezone, lang, schedule, recalls_before_no_show, board_size, \
                              vip_code, address, holidays, region_id";

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

impl Branch {
    /// What an admin set, as the back office edits it.
    pub fn settings(&self) -> BranchSettings {
        BranchSettings {
            name: self.name.clone(),
            address: self.address.clone(),
            timezone: self.timezone.clone(),
            lang: self.lang.clone(),
            schedule: self.schedule(),
            holidays: self.holidays(),
            recalls_before_no_show: self.recalls_before_no_show,
            board_size: self.board_size,
            vip_code: self.vip_code.clone(),
        }
    }

    pub fn tz(&self) -> TimeZone {
        // Validated when the branch was created; UTC only guards a hand-edited row.
        TimeZone::get(&self.timezone).unwrap_or(TimeZone::UTC)
    }

    pub fn schedule(&self) -> Schedule {
        serde_json::from_str(&self.schedule).unwrap_or_default()
    }

    pub fn holidays(&self) -> Vec<Exception> {
        serde_json::from_str(&self.holidays).unwrap_or_default()
    }

    /// The week and its exceptions: what "open" means for this branch.
    pub fn calendar(&self) -> Calendar {
        Calendar::new(&self.schedule(), &self.holidays())
    }

    /// Whether the branch is inside its working hours at this moment, in its own zone.
    pub fn is_open_now(&self) -> bool {
        self.calendar().is_open(jiff::Timestamp::now(), &self.tz())
    }

    /// When the branch opens next (epoch ms), if it is closed now.
    pub fn next_open(&self) -> Option<i64> {
        self.calendar()
            .next_open(jiff::Timestamp::now(), &self.tz())
            .map(|t| t.as_millisecond())
    }

    /// When an answer promised within `working_ms` of the branch's working time falls due, from
    /// now (epoch ms); None when its schedule has not that much open time in the coming fortnight.
    pub fn after_working(&self, working_ms: i64) -> Option<i64> {
        self.calendar()
            .after_working(
                jiff::Timestamp::now(),
                &self.tz(),
                jiff::SignedDuration::from_millis(working_ms),
            )
            .map(|t| t.as_millisecond())
    }

    /// Today's date in the branch's zone: the day tickets are numbered and counted by.
    pub fn today(&self) -> String {
        crate::model::numbering::local_day(jiff::Timestamp::now(), &self.tz())
    }

    /// When today began in the branch's zone, epoch ms.
    pub fn today_began(&self) -> i64 {
        let now = jiff::Timestamp::now().to_zoned(self.tz());
        now.start_of_day()
            .map_or(now.timestamp(), |d| d.timestamp())
            .as_millisecond()
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Service {
    pub id: i64,
    pub branch_id: i64,
    pub parent_id: Option<i64>,
    pub name_ru: String,
    pub name_en: String,
    /// None for a menu group, which issues no tickets itself.
    pub prefix: Option<String>,
    pub position: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Window {
    pub id: i64,
    pub branch_id: i64,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub org_id: i64,
    pub login: String,
    pub name: String,
    pub role: String,
    pub lang: String,
    pub disabled: i64,
    /// 'f', 'm' or none: how Russian pages speak of them.
    pub gender: Option<String>,
    /// Chats the operator holds at once.
    pub chat_capacity: i64,
    /// Mail threads the operator holds at once.
    pub mail_capacity: i64,
}

/// The columns of a [`UserRow`], in its order.
pub(crate) const USER_COLUMNS: &str =
    "id, org_id, login, name, role, lang, disabled, gender, chat_capacity, mail_capacity";

/// A kiosk or board as the back office lists it (never its secret); a board's voice and chime.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: i64,
    pub branch_id: i64,
    pub kind: String,
    pub login: String,
    pub name: String,
    pub lang: String,
    pub disabled: i64,
    /// A board speaks its calls (1) or only shows them (0).
    pub voice: i64,
    /// A board chimes before a call.
    pub chime: i64,
}

impl Store {
    pub async fn org_count(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM organisations")
            .fetch_one(&self.read)
            .await?;
        Ok(n)
    }

    /// Adds a branch; its settings are checked first, each problem named by its field.
    pub async fn create_branch(&self, org_id: i64, b: &BranchSettings) -> Result<i64> {
        b.validate()?;
        let (schedule, holidays) = (to_json(&b.schedule)?, to_json(&b.holidays)?);
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO branches (org_id, name, timezone, lang, schedule, recalls_before_no_show, \
             board_size, vip_code, address, holidays) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(org_id)
        .bind(b.name.trim())
        .bind(&b.timezone)
        .bind(&b.lang)
        .bind(schedule)
        .bind(b.recalls_before_no_show)
        .bind(b.board_size)
        .bind(&b.vip_code)
        .bind(b.address.trim())
        .bind(holidays)
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    /// Replaces a branch's settings (checked first); another organisation's branch is not found.
    pub async fn update_branch(&self, org_id: i64, branch_id: i64, b: &BranchSettings) -> Result<Branch> {
        b.validate()?;
        let (schedule, holidays) = (to_json(&b.schedule)?, to_json(&b.holidays)?);
        let n = sqlx::query(
            "UPDATE branches SET name = $1, timezone = $2, lang = $3, schedule = $4, recalls_before_no_show = $5, \
             board_size = $6, vip_code = $7, address = $8, holidays = $9 WHERE id = $10 AND org_id = $11",
        )
        .bind(b.name.trim())
        .bind(&b.timezone)
        .bind(&b.lang)
        .bind(schedule)
        .bind(b.recalls_before_no_show)
        .bind(b.board_size)
        .bind(&b.vip_code)
        .bind(b.address.trim())
        .bind(holidays)
        .bind(branch_id)
        .bind(org_id)
        .execute(&self.write)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("branch"));
        }
        sqlx::query_as(super::sql(format!(
            "SELECT {BRANCH_COLUMNS} FROM branches WHERE id = $1"
        )))
        .bind(branch_id)
        .fetch_one(&self.write)
        .await
        .map_err(Into::into)
    }

    /// The branch, if it belongs to `org_id`. Another organisation's branch is "not found", so
    /// ids leak nothing across tenants.
    pub async fn branch(&self, org_id: i64, branch_id: i64) -> Result<Branch> {
        sqlx::query_as(super::sql(format!(
            "SELECT {BRANCH_COLUMNS} FROM branches WHERE id = $1 AND org_id = $2"
        )))
        .bind(branch_id)
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::NotFound("branch"))
    }

    /// A branch by id alone: for the public mobile registrar, whose URL carries only the branch.
    pub async fn branch_public(&self, branch_id: i64) -> Result<Branch> {
        sqlx::query_as(super::sql(format!(
            "SELECT {BRANCH_COLUMNS} FROM branches WHERE id = $1"
        )))
        .bind(branch_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::NotFound("branch"))
    }

    pub async fn branches(&self, org_id: i64) -> Result<Vec<Branch>> {
        Ok(sqlx::query_as(super::sql(format!(
            "SELECT {BRANCH_COLUMNS} FROM branches WHERE org_id = $1 ORDER BY id"
        )))
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Inserts a menu entry; [`Store::add_service`] checks the menu rule first.
    async fn create_service(
        &self,
        org_id: i64,
        branch_id: i64,
        parent_id: Option<i64>,
        names: (&str, &str),
        prefix: Option<&str>,
        position: i64,
    ) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO services (org_id, branch_id, parent_id, name_ru, name_en, prefix, position) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org_id)
        .bind(branch_id)
        .bind(parent_id)
        .bind(names.0)
        .bind(names.1)
        .bind(prefix)
        .bind(position)
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    pub async fn services(&self, branch_id: i64) -> Result<Vec<Service>> {
        Ok(sqlx::query_as(
            "SELECT id, branch_id, parent_id, name_ru, name_en, prefix, position FROM services \
             WHERE branch_id = $1 AND kind = 'visit' AND retired = 0 ORDER BY position, id",
        )
        .bind(branch_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn create_window(&self, org_id: i64, branch_id: i64, label: &str) -> Result<i64> {
        // A label taken off earlier comes back, with its history.
        let back: Option<(i64,)> = sqlx::query_as(
            "UPDATE windows SET retired = 0 WHERE branch_id = $1 AND label = $2 AND retired = 1 RETURNING id",
        )
        .bind(branch_id)
        .bind(label)
        .fetch_optional(&self.write)
        .await?;
        if let Some((id,)) = back {
            return Ok(id);
        }
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO windows (org_id, branch_id, label) VALUES ($1, $2, $3) RETURNING id")
                .bind(org_id)
                .bind(branch_id)
                .bind(label)
                .fetch_one(&self.write)
                .await?;
        Ok(id)
    }

    pub async fn windows(&self, branch_id: i64) -> Result<Vec<Window>> {
        Ok(
            sqlx::query_as("SELECT id, branch_id, label FROM windows WHERE branch_id = $1 AND retired = 0 ORDER BY LENGTH(label), label")
                .bind(branch_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn window(&self, org_id: i64, window_id: i64) -> Result<Window> {
        sqlx::query_as("SELECT id, branch_id, label FROM windows WHERE id = $1 AND org_id = $2")
            .bind(window_id)
            .bind(org_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("window"))
    }

    pub async fn create_user(
        &self,
        org_id: i64,
        login: &str,
        name: &str,
        role: Role,
        password: &str,
        lang: &str,
    ) -> Result<i64> {
        validate_login(login)?;
        crate::model::field::name("name", name)?;
        self.check_name(org_id, "login", login).await?;
        let hash = crate::auth::hash_secret(password).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO users (org_id, login, name, role, password_hash, lang, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org_id)
        .bind(login)
        .bind(name)
        .bind(role.as_str())
        .bind(hash)
        .bind(lang)
        .bind(now_millis())
        .fetch_one(&self.write)
        .await
        .map_err(|e| match unique_as_conflict(e, "login is taken") {
            Error::Conflict(_) => Error::Taken(FieldError::new("login", "login_taken", serde_json::json!({}))),
            other => other,
        })?;
        Ok(id)
    }

    /// Changes one's own password, the current one given: the user's other sessions end (the
    /// one asking, `keep`, goes on).
    pub async fn change_password(&self, user_id: i64, current: &str, new: &str, keep: &str) -> Result<()> {
        let row: Option<(String,)> = sqlx::query_as("SELECT password_hash FROM users WHERE id = $1 AND disabled = 0")
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?;
        if !crate::auth::verify_secret(current, row.map(|r| r.0)).await? {
            return Err(Error::BadCredentials);
        }
        let hash = crate::auth::hash_secret(new).await?;
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(crate::auth::token_hash(keep))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new secret for a device of the organisation (shown once); its sessions end, so a
    /// screen signed in with the old one signs in again.
    pub async fn rotate_device_secret(&self, org_id: i64, device_id: i64, secret: &str) -> Result<()> {
        let hash = crate::auth::hash_secret(secret).await?;
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE devices SET secret_hash = $1 WHERE id = $2 AND org_id = $3")
            .bind(hash)
            .bind(device_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("device"));
        }
        super::auth::end_sessions(&mut tx, super::auth::SignedIn::Device(device_id)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organisation's kiosks and boards.
    pub async fn org_devices(&self, org_id: i64) -> Result<Vec<DeviceRow>> {
        Ok(sqlx::query_as(
            "SELECT id, branch_id, kind, login, name, lang, disabled, voice, chime FROM devices WHERE org_id = $1 ORDER BY branch_id, kind, login",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Disables a device (it cannot sign in or pair; its sessions end) or enables it again.
    pub async fn set_device_disabled(&self, org_id: i64, device_id: i64, disabled: bool) -> Result<DeviceRow> {
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE devices SET disabled = $1 WHERE id = $2 AND org_id = $3")
            .bind(i64::from(disabled))
            .bind(device_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("device"));
        }
        if disabled {
            super::auth::end_sessions(&mut tx, super::auth::SignedIn::Device(device_id)).await?;
        }
        tx.commit().await?;
        Ok(sqlx::query_as(
            "SELECT id, branch_id, kind, login, name, lang, disabled, voice, chime FROM devices WHERE id = $1",
        )
        .bind(device_id)
        .fetch_one(&self.write)
        .await?)
    }

    /// Sets a new password and signs the user out everywhere.
    pub async fn set_password(&self, login: &str, password: &str) -> Result<()> {
        let hash = crate::auth::hash_secret(password).await?;
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE login = $2")
            .bind(hash)
            .bind(login)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("user"));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE login = $1)")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        Ok(sqlx::query_as(super::sql(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY org_id, login"
        )))
        .fetch_all(&self.read)
        .await?)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_device(
        &self,
        org_id: i64,
        branch_id: i64,
        kind: DeviceKind,
        login: &str,
        name: &str,
        secret: &str,
        lang: &str,
    ) -> Result<i64> {
        validate_login(login)?;
        crate::model::field::name("name", name)?;
        self.check_name(org_id, "login", login).await?;
        let hash = crate::auth::hash_secret(secret).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO devices (org_id, branch_id, kind, login, name, secret_hash, lang) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org_id)
        .bind(branch_id)
        .bind(kind.as_str())
        .bind(login)
        .bind(name)
        .bind(hash)
        .bind(lang)
        .fetch_one(&self.write)
        .await
        .map_err(|e| unique_as_conflict(e, "device login is taken"))?;
        Ok(id)
    }
}

fn validate_login(login: &str) -> Result<()> {
    let ok =
        (2..=64).contains(&login.len()) && login.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new("login", "login_form", serde_json::json!({"min": 2, "max": 64})).into())
    }
}

impl Store {
    /// A device's organisation and branch.
    pub async fn device_branch(&self, device_id: i64) -> Result<(i64, i64)> {
        sqlx::query_as("SELECT org_id, branch_id FROM devices WHERE id = $1")
            .bind(device_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("device"))
    }

    pub async fn user(&self, user_id: i64) -> Result<UserRow> {
        sqlx::query_as(super::sql(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("user"))
    }
}

impl Store {
    pub async fn org_users(&self, org_id: i64) -> Result<Vec<UserRow>> {
        Ok(sqlx::query_as(super::sql(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 ORDER BY login"
        )))
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Adds a service to a branch's menu. A service with a prefix issues tickets; one without is
    /// a menu group. Menus have two levels: a parent must be a group of the same branch, and
    /// prefixes are unique within the branch so a number on the board names one service.
    pub async fn add_service(
        &self,
        org_id: i64,
        branch_id: i64,
        parent_id: Option<i64>,
        names: (&str, &str),
        prefix: Option<&str>,
        position: i64,
    ) -> Result<Service> {
        let branch = self.branch(org_id, branch_id).await?;
        for (field, name) in [("name_ru", names.0), ("name_en", names.1)] {
            crate::model::field::name(field, name)?;
        }
        let services = self.services(branch.id).await?;
        let entries: Vec<menu::Entry<'_>> = services
            .iter()
            .map(|s| menu::Entry {
                id: s.id,
                parent_id: s.parent_id,
                prefix: s.prefix.as_deref(),
            })
            .collect();
        menu::check_new(&entries, parent_id, prefix).map_err(|e| match e {
            menu::MenuError::PrefixTaken(_) => Error::Taken(e.field_error()),
            menu::MenuError::NoParent => Error::NotFound("parent service"),
            other => Error::Field(other.field_error()),
        })?;
        let id = self
            .create_service(org_id, branch.id, parent_id, names, prefix, position)
            .await?;
        self.services(branch.id)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(Error::NotFound("service"))
    }

    pub async fn add_window(&self, org_id: i64, branch_id: i64, label: &str) -> Result<Window> {
        let branch = self.branch(org_id, branch_id).await?;
        let label = label.trim();
        crate::model::field::text("label", label, crate::model::field::WINDOW_LABEL_MAX, true)?;
        let id = self
            .create_window(org_id, branch.id, label)
            .await
            .map_err(|e| match e {
                Error::Store(s) if super::base::is_unique_violation(&s) => Error::Taken(FieldError::new(
                    "label",
                    "label_taken",
                    serde_json::json!({ "label": label }),
                )),
                other => other,
            })?;
        Ok(Window {
            id,
            branch_id: branch.id,
            label: label.to_string(),
        })
    }
}

impl Store {
    pub async fn orgs(&self) -> Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as("SELECT id, name FROM organisations ORDER BY id")
            .fetch_all(&self.read)
            .await?)
    }
}
