//! The registrar for operators' phones: REGISTER with digest (RFC 3261 §10, §22), nonces that
//! expire, and a per-source lockout after repeated failures. Unknown user names get the same
//! challenge and the same refusal as wrong passwords, so scanning for extensions (svwar) learns
//! nothing. A binding says where an operator's phone is: the Contact it gave, and the address
//! its REGISTER really came from (behind NAT the Contact is private; we send to the source).
//! Bindings are kept in the store before the 200 goes out, so a restart forgets no phone that
//! was told it is registered.

use std::collections::HashMap;
use std::net::SocketAddr;

use hub_actors::model::now_millis;
use hub_actors::store::Store;

use hub_sip::digest::{self, NonceState, Nonces};
use hub_sip::lockout::Lockout;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;

use crate::sip::store::PhoneStore;
use crate::sip::store::SipBinding;

/// Where an operator's phone can be rung.
#[derive(Debug, Clone)]
pub struct Binding {
    pub user_id: i64,
    pub org_id: i64,
    pub username: String,
    pub contact: rsipstack::sip::Uri,
    /// Where INVITEs go: the Contact's address when it names the host the REGISTER came from
    /// (no NAT between), else the REGISTER's source (the NAT's mapping, kept open by refreshes).
    pub target: SocketAddr,
    pub expires_at: i64,
}

impl Binding {
    fn row(&self) -> SipBinding {
        SipBinding {
            user_id: self.user_id,
            org_id: self.org_id,
            username: self.username.clone(),
            contact: self.contact.to_string(),
            target: self.target.to_string(),
            expires_at: self.expires_at,
        }
    }

    /// A kept binding, or None if what was kept no longer parses.
    fn from_row(row: SipBinding) -> Option<Self> {
        Some(Self {
            contact: rsipstack::sip::Uri::try_from(row.contact.as_str()).ok()?,
            target: row.target.parse().ok()?,
            user_id: row.user_id,
            org_id: row.org_id,
            username: row.username,
            expires_at: row.expires_at,
        })
    }
}

pub struct Registrar {
    pub realm: String,
    nonces: Nonces,
    lockout: Lockout,
    /// By user id.
    bindings: HashMap<i64, Binding>,
    pub failures: u64,
    pub lockouts: u64,
}

/// How long a phone may stay registered without refreshing (seconds): what it asks, within.
const MIN_EXPIRES: u32 = 60;
const MAX_EXPIRES: u32 = 3600;

impl Registrar {
    pub fn new(realm: String, secret: &[u8], nonce_secs: i64, lockout: Lockout) -> Self {
        Self {
            realm,
            nonces: Nonces::new(secret, nonce_secs * 1000),
            lockout,
            bindings: HashMap::new(),
            failures: 0,
            lockouts: 0,
        }
    }

    /// Takes up the registrations a previous run kept; answers how many.
    pub fn restore(&mut self, rows: Vec<SipBinding>) -> usize {
        let before = self.bindings.len();
        for b in rows.into_iter().filter_map(Binding::from_row) {
            self.bindings.insert(b.user_id, b);
        }
        self.bindings.len() - before
    }

    /// The live binding of an operator's phone.
    pub fn binding(&self, user_id: i64) -> Option<Binding> {
        self.bindings
            .get(&user_id)
            .filter(|b| b.expires_at > now_millis())
            .cloned()
    }

    pub fn registered(&self) -> usize {
        let now = now_millis();
        self.bindings.values().filter(|b| b.expires_at > now).count()
    }

    pub fn locked(&self, source: SocketAddr) -> bool {
        self.lockout.locked(source.ip(), now_millis())
    }

    fn challenge(&self, stale: bool) -> Header {
        Header::Other(
            "WWW-Authenticate".into(),
            digest::challenge(&self.realm, &self.nonces.issue(now_millis()), stale),
        )
    }

    fn failed(&mut self, source: SocketAddr) -> bool {
        self.failures += 1;
        let locked = self.lockout.failed(source.ip(), now_millis());
        if locked {
            self.lockouts += 1;
            tracing::warn!(source = %source.ip(), "SIP authentication failed too often; source locked out");
        }
        locked
    }
}

/// What a REGISTER deserves, decided under the registrar's lock; the store is read between.
enum Verdict {
    Challenge { stale: bool },
    Forbidden,
    Accept(Box<Binding>, u32),
    Remove(i64),
    Bad(&'static str),
}

/// Answers one REGISTER.
pub async fn handle(
    registrar: &std::sync::Mutex<Registrar>,
    store: &Store,
    tx: &mut Transaction,
    source: SocketAddr,
) -> rsipstack::Result<()> {
    let verdict = decide(registrar, store, tx, source).await;
    let lock = || registrar.lock().unwrap_or_else(|p| p.into_inner());
    match verdict {
        Verdict::Challenge { stale } => {
            let h = lock().challenge(stale);
            tx.reply_with(StatusCode::Unauthorized, vec![h], None).await
        }
        Verdict::Forbidden => tx.reply(StatusCode::Forbidden).await,
        Verdict::Bad(why) => {
            tracing::info!(source = %source, why, "REGISTER refused");
            tx.reply_with(
                StatusCode::BadRequest,
                vec![Header::Other("Warning".into(), format!("399 hub \"{why}\""))],
                None,
            )
            .await
        }
        Verdict::Remove(user_id) => {
            lock().bindings.remove(&user_id);
            if let Err(e) = store.remove_sip_binding(user_id).await {
                // Harmless: a kept binding of an unregistered phone only outlives its expiry
                // if the node restarts before then, and the phone asked to be forgotten.
                tracing::warn!(user = user_id, error = %e, "kept registration not removed");
            }
            tracing::info!(user = user_id, "phone unregistered");
            tx.reply(StatusCode::OK).await
        }
        Verdict::Accept(b, expires) => {
            if let Err(e) = store.save_sip_binding(&b.row()).await {
                // Not kept, not acknowledged: the phone tries again, as it would after a loss.
                tracing::warn!(user = b.user_id, error = %e, "registration not kept; REGISTER refused");
                return tx.reply(StatusCode::ServerInternalError).await;
            }
            let contact = format!("<{}>;expires={expires}", b.contact);
            tracing::info!(user = b.user_id, sip_user = %b.username, target = %b.target, expires, "phone registered");
            lock().bindings.insert(b.user_id, *b);
            tx.reply_with(
                StatusCode::OK,
                vec![
                    Header::Other("Contact".into(), contact),
                    Header::Other("Expires".into(), expires.to_string()),
                ],
                None,
            )
            .await
        }
    }
}

async fn decide(
    registrar: &std::sync::Mutex<Registrar>,
    store: &Store,
    tx: &Transaction,
    source: SocketAddr,
) -> Verdict {
    let lock = || registrar.lock().unwrap_or_else(|p| p.into_inner());
    if lock().locked(source) {
        return Verdict::Forbidden;
    }
    let Some(auth) = tx.original.header_value("Authorization") else {
        return Verdict::Challenge { stale: false };
    };
    let Some(creds) = digest::parse(&auth) else {
        // Credentials of another scheme are answered with the scheme the hub takes (RFC 3261
        // §22.4, RFC 4475 §3.3.7); broken Digest credentials are a bad request.
        let scheme = auth.split_whitespace().next().unwrap_or("");
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Verdict::Challenge { stale: false };
        }
        return Verdict::Bad("the Digest credentials cannot be read");
    };
    let realm = lock().realm.clone();
    let account = match store.sip_account(&creds.username).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "SIP account lookup failed");
            return Verdict::Challenge { stale: false };
        }
    };
    let method = tx.original.method.to_string();
    let good = account
        .as_ref()
        .is_some_and(|a| creds.realm == realm && a.realm == realm && digest::verify(&creds, &method, &a.ha1));
    let mut r = lock();
    let nonce = r.nonces.check(&creds.nonce, now_millis());
    let account = match (good, nonce, account) {
        (true, NonceState::Fresh, Some(a)) => a,
        // The right answer to an old challenge: a new one, marked stale, costs no failure.
        (true, NonceState::Stale, _) => return Verdict::Challenge { stale: true },
        _ => {
            return if r.failed(source) {
                Verdict::Forbidden
            } else {
                Verdict::Challenge { stale: false }
            };
        }
    };
    r.lockout.succeeded(source.ip(), now_millis());
    drop(r);
    let contact = match tx.original.typed_contact_headers() {
        Ok(c) if !c.is_empty() => c[0].clone(),
        // A REGISTER without Contact asks for the bindings: answer with none changed.
        _ => return Verdict::Bad("a REGISTER needs a Contact"),
    };
    let asked = contact
        .params
        .iter()
        .find_map(|p| match p {
            rsipstack::sip::Param::Expires(e) => e.value().parse::<u32>().ok(),
            _ => None,
        })
        .or_else(|| tx.original.expires_header().and_then(|e| e.value().parse().ok()))
        .unwrap_or(MAX_EXPIRES);
    if asked == 0 {
        return Verdict::Remove(account.user_id);
    }
    let expires = asked.clamp(MIN_EXPIRES, MAX_EXPIRES);
    let named: Option<SocketAddr> = match &contact.uri.host_with_port.host {
        rsipstack::sip::Host::IpAddr(ip) => Some(SocketAddr::new(
            *ip,
            contact.uri.host_with_port.port.as_ref().map_or(5060, |p| p.value()),
        )),
        _ => None,
    };
    let target = named.filter(|a| a.ip() == source.ip()).unwrap_or(source);
    Verdict::Accept(
        Box::new(Binding {
            user_id: account.user_id,
            org_id: account.org_id,
            username: account.username,
            contact: contact.uri,
            target,
            expires_at: now_millis() + expires as i64 * 1000,
        }),
        expires,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_binding_comes_back_as_it_was() {
        let b = Binding {
            user_id: 7,
            org_id: 1,
            username: "1001".into(),
            contact: rsipstack::sip::Uri::try_from("sip:1001@192.168.1.20:5062;transport=udp").unwrap(),
            target: "203.0.113.9:40612".parse().unwrap(),
            expires_at: 1_800_000_000_000,
        };
        let back = Binding::from_row(b.row()).expect("parses");
        assert_eq!(back.contact, b.contact);
        assert_eq!(back.target, b.target);
        assert_eq!((back.user_id, back.org_id, back.expires_at), (7, 1, b.expires_at));
        let mut broken = b.row();
        broken.target = "not an address".into();
        assert!(
            Binding::from_row(broken).is_none(),
            "a row that no longer parses is skipped"
        );
    }

    #[test]
    fn restoring_counts_only_what_parses() {
        let mut r = Registrar::new("hub".into(), b"secret", 300, Lockout::new(5, 60_000, 60_000));
        let row = |user_id, target: &str| SipBinding {
            user_id,
            org_id: 1,
            username: format!("10{user_id:02}"),
            contact: "sip:1001@127.0.0.1:5070".into(),
            target: target.into(),
            expires_at: now_millis() + 60_000,
        };
        assert_eq!(r.restore(vec![row(1, "127.0.0.1:5070"), row(2, "bad")]), 1);
        assert!(r.binding(1).is_some() && r.binding(2).is_none());
        assert_eq!(r.registered(), 1);
    }
}
