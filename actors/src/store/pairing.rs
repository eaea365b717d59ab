//! Pairing a new screen by the code it shows (see migration 0028).

use super::{random_token, Principal, Store};
use crate::auth::token_hash;
use crate::error::{Error, Result};
use crate::model::{now_millis, pairing, role::DeviceKind, Millis};

/// What a screen that asked to be paired gets: its ticket (kept secret by the screen, to poll
/// with), the code to show, and until when.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pairing {
    pub ticket: String,
    pub code: String,
    /// The code as the screen shows it ("482 913").
    pub shown: String,
    pub expires_at: Millis,
}

/// Where a pairing stands, as the screen polls it.
pub enum Paired {
    Waiting,
    Done(String, Principal),
}

impl Store {
    /// A new pairing for a screen of `kind`; expired ones are cleared first. A code already in
    /// use is drawn again.
    pub async fn start_pairing(&self, kind: DeviceKind) -> Result<Pairing> {
        let now = now_millis();
        sqlx::query("DELETE FROM device_pairings WHERE expires_at < $1")
            .bind(now)
            .execute(&self.write)
            .await?;
        let ticket = random_token(24);
        for _ in 0..5 {
            let code = pairing::code_from(rand::random::<u32>());
            let done = sqlx::query(
                "INSERT INTO device_pairings (ticket_hash, code, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (code) DO NOTHING",
            )
            .bind(token_hash(&ticket))
            .bind(&code)
            .bind(kind.as_str())
            .bind(now)
            .bind(now + pairing::LIFETIME_MS)
            .execute(&self.write)
            .await?
            .rows_affected();
            if done == 1 {
                return Ok(Pairing {
                    shown: pairing::shown(&code),
                    code,
                    ticket,
                    expires_at: now + pairing::LIFETIME_MS,
                });
            }
        }
        Err(Error::Conflict("no free pairing code now; try again".into()))
    }

    /// An admin typed `typed` for their device: the screen showing that code becomes the device.
    /// Wrong, expired or used codes, and a screen of another kind, are the field's error.
    pub async fn claim_pairing(&self, org_id: i64, device_id: i64, typed: &str) -> Result<()> {
        let (kind,): (String,) =
            sqlx::query_as("SELECT kind FROM devices WHERE id = $1 AND org_id = $2 AND disabled = 0")
                .bind(device_id)
                .bind(org_id)
                .fetch_optional(&self.read)
                .await?
                .ok_or(Error::NotFound("device"))?;
        let code = pairing::read_typed(typed).ok_or_else(pairing::wrong)?;
        let done = sqlx::query(
            "UPDATE device_pairings SET device_id = $1 \
             WHERE code = $2 AND kind = $3 AND device_id IS NULL AND expires_at >= $4",
        )
        .bind(device_id)
        .bind(code)
        .bind(kind)
        .bind(now_millis())
        .execute(&self.write)
        .await?
        .rows_affected();
        if done == 1 {
            Ok(())
        } else {
            Err(pairing::wrong().into())
        }
    }

    /// The screen polls with its ticket: once paired, it gets its session (once: the pairing is
    /// gone after). An unknown or expired ticket is `NotFound`: the screen asks for a new code.
    pub async fn finish_pairing(&self, ticket: &str) -> Result<Paired> {
        let row: Option<(Option<i64>, Millis)> =
            sqlx::query_as("SELECT device_id, expires_at FROM device_pairings WHERE ticket_hash = $1")
                .bind(token_hash(ticket))
                .fetch_optional(&self.read)
                .await?;
        match row {
            None => Err(Error::NotFound("pairing")),
            Some((None, expires)) if expires < now_millis() => Err(Error::NotFound("pairing")),
            Some((None, _)) => Ok(Paired::Waiting),
            Some((Some(device_id), _)) => {
                // Only the one poll that deletes the row opens the session.
                let gone = sqlx::query("DELETE FROM device_pairings WHERE ticket_hash = $1 AND device_id = $2")
                    .bind(token_hash(ticket))
                    .bind(device_id)
                    .execute(&self.write)
                    .await?
                    .rows_affected();
                if gone != 1 {
                    return Err(Error::NotFound("pairing"));
                }
                let (token, principal) = self.open_session(None, Some(device_id)).await?;
                Ok(Paired::Done(token, principal))
            }
        }
    }
}
