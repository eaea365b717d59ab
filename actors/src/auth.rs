//! Secrets: argon2 for passwords and device secrets, SHA-256 for session tokens (which are long
//! random values, so a fast hash is enough and keeps every request cheap).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// At most this many argon2 computations at once. Each takes about 19 MiB and a core for tens
/// of milliseconds: a flood of sign-in attempts queues here instead of exhausting memory.
const ARGON2_AT_ONCE: usize = 4;
/// A sign-in that cannot get a turn within this time is refused as "try again".
const ARGON2_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

async fn argon2_turn() -> Result<tokio::sync::SemaphorePermit<'static>> {
    static TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(ARGON2_AT_ONCE);
    match tokio::time::timeout(ARGON2_WAIT, TURNS.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(Error::Actor("too many sign-ins at once; try again".into())),
    }
}

/// Hashes on the blocking pool: argon2 is deliberately slow and must not stall the reactor.
pub async fn hash_secret(secret: &str) -> Result<String> {
    if secret.len() < 8 {
        return Err(Error::Invalid("a password needs at least 8 characters".into()));
    }
    let secret = secret.to_string();
    let _turn = argon2_turn().await?;
    tokio::task::spawn_blocking(move || {
        let salt = new_salt()?;
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// Checks `secret` against `hash`. With no hash (unknown login) it still runs argon2 against a
/// throwaway hash, so "no such user" takes as long as "wrong password" and logins cannot be probed.
pub async fn verify_secret(secret: &str, hash: Option<String>) -> Result<bool> {
    let secret = secret.to_string();
    let _turn = argon2_turn().await?;
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
        let parsed = PasswordHash::new(&hash).map_err(|e| Error::Internal(format!("argon2: {e}")))?;
        Ok(Argon2::default().verify_password(secret.as_bytes(), &parsed).is_ok() && known)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_salt() -> Result<SaltString> {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SaltString::encode_b64(&bytes).map_err(|e| Error::Internal(format!("salt: {e}")))
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        new_salt()
            .ok()
            .and_then(|salt| {
                Argon2::default()
                    .hash_password(crate::store::random_token(16).as_bytes(), &salt)
                    .ok()
                    .map(|h| h.to_string())
            })
            .unwrap_or_default()
    })
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
