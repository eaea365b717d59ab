//! Sign-in and sessions for users (browsers, API clients) and devices (kiosks, boards).

use serde::Serialize;

use super::{random_token, Store};
use crate::auth::{token_hash, verify_secret};
use crate::error::{Error, Result};
use crate::model::{
    now_millis,
    role::{DeviceKind, Role},
};

/// A session unused for a week ends; one in use keeps sliding forward (see [`Store::principal`]).
pub const SESSION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// Who is making a request, resolved from a session token.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub org_id: i64,
    pub name: String,
    pub lang: String,
    #[serde(flatten)]
    pub kind: PrincipalKind,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PrincipalKind {
    User {
        user_id: i64,
        role: Role,
    },
    Device {
        device_id: i64,
        device: DeviceKind,
        branch_id: i64,
    },
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    org_id: i64,
    expires_at: i64,
    user_id: Option<i64>,
    device_id: Option<i64>,
    user_name: Option<String>,
    user_role: Option<String>,
    user_lang: Option<String>,
    device_name: Option<String>,
    device_kind: Option<String>,
    device_branch: Option<i64>,
    device_lang: Option<String>,
}

impl Store {
    /// Checks a user's password and opens a session; returns the token (shown once, stored hashed).
    pub async fn sign_in_user(&self, login: &str, password: &str) -> Result<(String, Principal)> {
        // A disabled user is refused as a wrong password would be (no account enumeration).
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, password_hash FROM users WHERE login = $1 AND disabled = 0")
                .bind(login)
                .fetch_optional(&self.read)
                .await?;
        let ok = verify_secret(password, row.as_ref().map(|r| r.1.clone())).await?;
        let Some((user_id, _)) = row.filter(|_| ok) else {
            return Err(Error::BadCredentials);
        };
        self.open_session(Some(user_id), None).await
    }

    pub async fn sign_in_device(&self, login: &str, secret: &str) -> Result<(String, Principal)> {
        // A disabled device is refused as a wrong secret would be.
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, secret_hash FROM devices WHERE login = $1 AND disabled = 0")
                .bind(login)
                .fetch_optional(&self.read)
                .await?;
        let ok = verify_secret(secret, row.as_ref().map(|r| r.1.clone())).await?;
        let Some((device_id, _)) = row.filter(|_| ok) else {
            return Err(Error::BadCredentials);
        };
        self.open_session(None, Some(device_id)).await
    }

    /// Whether a browser's known-device id belongs to the user of `login`.
    pub async fn is_known_device(&self, login: &str, device: &str) -> Result<bool> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT k.user_id FROM known_devices k JOIN users u ON u.id = k.user_id \
             WHERE k.token_hash = $1 AND u.login = $2",
        )
        .bind(token_hash(device))
        .bind(login)
        .fetch_optional(&self.read)
        .await?;
        Ok(found.is_some())
    }

    /// Remembers a browser a user signed in from (its known-device id).
    pub async fn remember_device(&self, user_id: i64, device: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO known_devices (token_hash, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (token_hash, user_id) DO NOTHING",
        )
        .bind(token_hash(device))
        .bind(user_id)
        .bind(now_millis())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub(super) async fn open_session(
        &self,
        user_id: Option<i64>,
        device_id: Option<i64>,
    ) -> Result<(String, Principal)> {
        let token = random_token(32);
        let now = now_millis();
        sqlx::query(
            "INSERT INTO sessions (token_hash, org_id, user_id, device_id, created_at, expires_at) \
             SELECT $1, COALESCE((SELECT org_id FROM users WHERE id = $2), \
                                 (SELECT org_id FROM devices WHERE id = $3)), $2, $3, $4, $5",
        )
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(device_id)
        .bind(now)
        .bind(now + SESSION_TTL_MS)
        .execute(&self.write)
        .await?;
        let principal = self.principal(&token).await?;
        Ok((token, principal))
    }

    /// Resolves a session token, or `Unauthenticated` if it is unknown or expired.
    pub async fn principal(&self, token: &str) -> Result<Principal> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.org_id, s.expires_at, s.user_id, s.device_id, \
                    u.name AS user_name, u.role AS user_role, u.lang AS user_lang, \
                    d.name AS device_name, d.kind AS device_kind, d.branch_id AS device_branch, \
                    d.lang AS device_lang \
             FROM sessions s LEFT JOIN users u ON u.id = s.user_id \
                             LEFT JOIN devices d ON d.id = s.device_id \
             WHERE s.token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.read)
        .await?;
        let row = row
            .filter(|r| r.expires_at > now_millis())
            .ok_or(Error::Unauthenticated)?;
        let principal = match (row.user_id, row.device_id) {
            (Some(user_id), _) => Principal {
                org_id: row.org_id,
                name: row.user_name.unwrap_or_default(),
                lang: row.user_lang.unwrap_or_else(|| "ru".into()),
                kind: PrincipalKind::User {
                    user_id,
                    role: row
                        .user_role
                        .as_deref()
                        .and_then(Role::parse)
                        .ok_or(Error::Unauthenticated)?,
                },
            },
            (None, Some(device_id)) => Principal {
                org_id: row.org_id,
                name: row.device_name.unwrap_or_default(),
                lang: row.device_lang.unwrap_or_else(|| "ru".into()),
                kind: PrincipalKind::Device {
                    device_id,
                    device: row
                        .device_kind
                        .as_deref()
                        .and_then(DeviceKind::parse)
                        .ok_or(Error::Unauthenticated)?,
                    branch_id: row.device_branch.ok_or(Error::Unauthenticated)?,
                },
            },
            (None, None) => return Err(Error::Unauthenticated),
        };
        Ok(principal)
    }

    pub async fn sign_out(&self, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

/// Who a sign-out is for: a person or a screen.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SignedIn {
    User(i64),
    Device(i64),
}

/// Ends every session of a user or a device, with the change that calls for it.
pub(crate) async fn end_sessions(tx: &mut super::Tx<'_>, who: SignedIn) -> Result<()> {
    let (sql, id) = match who {
        SignedIn::User(id) => ("DELETE FROM sessions WHERE user_id = $1", id),
        SignedIn::Device(id) => ("DELETE FROM sessions WHERE device_id = $1", id),
    };
    sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    Ok(())
}
