//! Secrets at rest: what tenants give the hub to reach their services (bot tokens, webhook
//! secrets, mailbox and trunk passwords) is stored sealed with ChaCha20-Poly1305 under the
//! installation's key, bound to its column (a sealed value moved to another column does not
//! open). A database dump or backup alone reveals none of them.
//!
//! Stored form: `enc:v1:<key id>:<hex of nonce, ciphertext and tag>`, where the key id is the
//! first 4 bytes of the key's SHA-256. Rotation: make the new key current and the old one
//! previous; at start every value sealed under another key (or still in clear, from before
//! sealing) is sealed again under the current one, after which the previous key can go.
//! SIP accounts keep HA1 digests (RFC 8760 allows), which are not the passwords themselves.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

const PREFIX: &str = "enc:v1:";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("a secrets key is 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error("a stored secret was sealed under a key this node does not have (set secrets_key, and secrets_key_previous while rotating)")]
    UnknownKey,
    #[error("a stored secret does not open: it was altered, or sealed for another column")]
    Corrupt,
}

struct Key {
    id: [u8; 4],
    key: LessSafeKey,
}

impl Key {
    fn parse(hex_key: &str) -> Result<Self, SealError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| SealError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SealError::BadKey);
        }
        let digest = Sha256::digest(&bytes);
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| SealError::BadKey)?;
        Ok(Key {
            id: [digest[0], digest[1], digest[2], digest[3]],
            key: LessSafeKey::new(unbound),
        })
    }
}

/// The installation's keys: the current one seals; it and the previous ones open.
pub struct Sealer {
    current: Key,
    previous: Vec<Key>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer(key {})", hex::encode(self.current.id))
    }
}

impl Sealer {
    /// `current`: 64 hex characters; `previous`: keys still accepted for opening, while rotating.
    pub fn new(current: &str, previous: &[&str]) -> Result<Self, SealError> {
        Ok(Sealer {
            current: Key::parse(current)?,
            previous: previous.iter().map(|k| Key::parse(k)).collect::<Result<_, _>>()?,
            rng: SystemRandom::new(),
        })
    }

    /// A fresh random key, as 64 hex characters.
    pub fn generate_key() -> String {
        let mut bytes = [0u8; 32];
        // The system's random source failing is not something to go on without.
        SystemRandom::new()
            .fill(&mut bytes)
            .unwrap_or_else(|_| bytes = rand::random());
        hex::encode(bytes)
    }

    /// Seals `plain` for `column` (e.g. "bots.token").
    pub fn seal(&self, column: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        if self.rng.fill(&mut nonce).is_err() {
            nonce = rand::random();
        }
        let mut data = plain.as_bytes().to_vec();
        // Sealing cannot fail for a message of sane size with a fresh nonce.
        let _ = self.current.key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(column.as_bytes()),
            &mut data,
        );
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{PREFIX}{}:{}", hex::encode(self.current.id), hex::encode(out))
    }

    /// Opens a stored value of `column`. A value still in clear (stored before sealing) is
    /// returned as it is; the start-up pass seals it.
    pub fn open(&self, column: &str, stored: &str) -> Result<String, SealError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let (id, body) = rest.split_once(':').ok_or(SealError::Corrupt)?;
        let id = hex::decode(id).map_err(|_| SealError::Corrupt)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id[..] == id[..])
            .ok_or(SealError::UnknownKey)?;
        let mut data = hex::decode(body).map_err(|_| SealError::Corrupt)?;
        if data.len() < NONCE_LEN {
            return Err(SealError::Corrupt);
        }
        let nonce = Nonce::try_assume_unique_for_key(&data[..NONCE_LEN]).map_err(|_| SealError::Corrupt)?;
        let mut ct = data.split_off(NONCE_LEN);
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(column.as_bytes()), &mut ct)
            .map_err(|_| SealError::Corrupt)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError::Corrupt)
    }

    /// Whether a stored value must be sealed again: in clear, or under another key.
    pub fn stale(&self, stored: &str) -> bool {
        match stored.strip_prefix(PREFIX).and_then(|r| r.split_once(':')) {
            Some((id, _)) => id != hex::encode(self.current.id),
            None => true,
        }
    }
}

/// A digest of a secret that must stay unique (a bot token): comparable without the secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    #[test]
    fn sealed_values_open_only_with_the_key_and_in_their_column() {
        let s = Sealer::new(K1, &[]).unwrap();
        let sealed = s.seal("bots.token", "123456:AA-secret");
        assert!(sealed.starts_with("enc:v1:") && !sealed.contains("AA-secret"));
        assert_ne!(
            sealed,
            s.seal("bots.token", "123456:AA-secret"),
            "a fresh nonce each time"
        );
        assert_eq!(s.open("bots.token", &sealed).unwrap(), "123456:AA-secret");
        assert_eq!(s.open("lines.password", &sealed), Err(SealError::Corrupt));
        let other = Sealer::new(K2, &[]).unwrap();
        assert_eq!(other.open("bots.token", &sealed), Err(SealError::UnknownKey));
        let mut tampered = sealed.clone();
        tampered.replace_range(tampered.len() - 2.., "00");
        assert_eq!(s.open("bots.token", &tampered), Err(SealError::Corrupt));
        // Values from before sealing are read as they are, and marked for sealing.
        assert_eq!(s.open("x", "plain").unwrap(), "plain");
        assert!(s.stale("plain") && !s.stale(&sealed));
    }

    #[test]
    fn rotation_opens_old_values_and_marks_them_for_sealing_again() {
        let old = Sealer::new(K1, &[]).unwrap();
        let sealed = old.seal("boxes.url", "imaps://u:p@h");
        let rotated = Sealer::new(K2, &[K1]).unwrap();
        assert_eq!(rotated.open("boxes.url", &sealed).unwrap(), "imaps://u:p@h");
        assert!(rotated.stale(&sealed));
        assert!(!rotated.stale(&rotated.seal("boxes.url", "x")));
        assert_eq!(Sealer::new("abc", &[]).err(), Some(SealError::BadKey));
        assert_eq!(Sealer::generate_key().len(), 64);
        assert_eq!(digest("a"), digest("a"));
    }
}
