//! Digest authentication (RFC 3261 §22, RFC 2617 with qop=auth) on the registrar's side.
//! Nonces carry their own issue time and an HMAC of it under the node's secret, so any node
//! sharing the secret can check them without storing them, and they expire: a stale nonce is
//! answered with `stale=true` and a fresh one, as phones expect.
//!
//! The store keeps HA1 = MD5(user:realm:password) per SIP account, never the password. HA1 is
//! what digest needs; it is a device credential of its own (not the operator's sign-in password,
//! which stays argon2-hashed), so a leaked HA1 opens only that phone account in that realm.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

/// MD5 of `parts` joined by colons, as lower-case hex.
pub fn md5_hex(parts: &[&str]) -> String {
    let mut h = Md5::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b":");
        }
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

pub fn ha1(user: &str, realm: &str, password: &str) -> String {
    md5_hex(&[user, realm, password])
}

/// Issues and checks nonces.
pub struct Nonces {
    secret: Vec<u8>,
    pub lifetime_ms: i64,
}

impl Nonces {
    pub fn new(secret: &[u8], lifetime_ms: i64) -> Self {
        Self {
            secret: secret.to_vec(),
            lifetime_ms,
        }
    }

    fn mac(&self, issued: &str) -> String {
        #[allow(clippy::expect_used)] // HMAC takes a key of any length.
        let mut m = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        m.update(issued.as_bytes());
        hex::encode(&m.finalize().into_bytes()[..12])
    }

    pub fn issue(&self, now_ms: i64) -> String {
        let issued = format!("{now_ms:x}");
        format!("{issued}.{}", self.mac(&issued))
    }

    /// Whether the nonce is ours and still fresh.
    pub fn check(&self, nonce: &str, now_ms: i64) -> NonceState {
        let Some((issued, mac)) = nonce.split_once('.') else {
            return NonceState::Forged;
        };
        if !constant_eq(mac, &self.mac(issued)) {
            return NonceState::Forged;
        }
        match i64::from_str_radix(issued, 16) {
            Ok(t) if now_ms - t <= self.lifetime_ms && t <= now_ms + 5_000 => NonceState::Fresh,
            Ok(_) => NonceState::Stale,
            Err(_) => NonceState::Forged,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    Fresh,
    Stale,
    Forged,
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The fields of an `Authorization: Digest …` header.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
}

/// Parses the header's value; `None` unless it is Digest with the required fields.
pub fn parse(value: &str) -> Option<Credentials> {
    let rest = value.trim();
    let (scheme, params) = rest.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut c = Credentials::default();
    for (k, v) in params_of(params) {
        match k.to_ascii_lowercase().as_str() {
            "username" => c.username = v,
            "realm" => c.realm = v,
            "nonce" => c.nonce = v,
            "uri" => c.uri = v,
            "response" => c.response = v.to_ascii_lowercase(),
            "algorithm" => c.algorithm = Some(v),
            "qop" => c.qop = Some(v),
            "nc" => c.nc = Some(v),
            "cnonce" => c.cnonce = Some(v),
            _ => {}
        }
    }
    (!c.username.is_empty() && !c.nonce.is_empty() && !c.response.is_empty()).then_some(c)
}

/// `k=v, k="v, with comma"` pairs.
fn params_of(s: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut escaped = false;
            for c in chars.by_ref() {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => {
                        value.push(c);
                        escaped = false;
                    }
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
    out
}

/// Whether `c` answers the challenge for `method` given the account's HA1.
pub fn verify(c: &Credentials, method: &str, ha1: &str) -> bool {
    if c.algorithm.as_deref().is_some_and(|a| !a.eq_ignore_ascii_case("md5")) {
        return false;
    }
    let ha2 = md5_hex(&[method, &c.uri]);
    let expected = match (c.qop.as_deref(), &c.nc, &c.cnonce) {
        (Some("auth"), Some(nc), Some(cnonce)) => md5_hex(&[ha1, &c.nonce, nc, cnonce, "auth", &ha2]),
        (None, _, _) => md5_hex(&[ha1, &c.nonce, &ha2]),
        _ => return false,
    };
    constant_eq(&expected, &c.response)
}

/// The `WWW-Authenticate` value of a challenge.
pub fn challenge(realm: &str, nonce: &str, stale: bool) -> String {
    format!(
        "Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{}",
        if stale { ", stale=true" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example() {
        // RFC 2617 §3.5, with its published response.
        let c = Credentials {
            username: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            uri: "/dir/index.html".into(),
            response: "6629fae49393a05397450978507c4ef1".into(),
            algorithm: None,
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("0a4f113b".into()),
        };
        let ha1 = ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert!(verify(&c, "GET", &ha1));
        assert!(!verify(&c, "POST", &ha1));
        assert!(!verify(&c, "GET", &super::ha1("Mufasa", "testrealm@host.com", "wrong")));
    }

    #[test]
    fn parses_a_phone_header() {
        let h = r#"Digest username="1001",realm="hub",nonce="18c.abc",uri="sip:127.0.0.1:5060",response="ABCDEF",algorithm=MD5,cnonce="x, y",qop=auth,nc=00000001"#;
        let c = parse(h).unwrap();
        assert_eq!(c.username, "1001");
        assert_eq!(c.cnonce.as_deref(), Some("x, y"));
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.response, "abcdef");
        assert_eq!(parse("Basic abc"), None);
        assert_eq!(parse("Digest realm=\"x\""), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn nonces_expire_and_cannot_be_forged() {
        let n = Nonces::new(b"secret", 60_000);
        let nonce = n.issue(1_000_000);
        assert_eq!(n.check(&nonce, 1_030_000), NonceState::Fresh);
        assert_eq!(n.check(&nonce, 1_070_000), NonceState::Stale);
        assert_eq!(
            Nonces::new(b"other", 60_000).check(&nonce, 1_000_000),
            NonceState::Forged
        );
        assert_eq!(n.check("f4240.000000000000000000000000", 1_000_000), NonceState::Forged);
        assert_eq!(n.check("nodot", 0), NonceState::Forged);
    }
}
