//! Trunks: the hub registers to each organisation's provider (digest, refreshed at three
//! quarters of what the provider granted, failing over between its proxies in their order, see
//! [`hub_sip::trunk::Failover`]), knows the provider's addresses so that the provider's calls to
//! the organisation's numbers are told from anyone else's, and places click-to-call calls
//! through it. One task per registering trunk; the admin API's changes restart them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hub_actors::model::now_millis;
use hub_sip::trunk::{refresh_in, Failover, Next};
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::registration::Registration;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::Inner;
use crate::sip::trunk_store::SipTrunk;
use crate::sip::trunk_store::TrunkStore;

/// How long one proxy has to answer a REGISTER before the next one is tried (the transaction's
/// own timeout is 32 s, too long to leave an organisation without calls).
const ANSWER_WITHIN: Duration = Duration::from_secs(4);

/// What the admin API shows of a trunk's registration.
#[derive(Debug, Clone, Serialize, Default)]
pub struct TrunkStatus {
    /// "registering", "registered", "failed" (every proxy failed; retrying), or "static" (the
    /// provider knows the hub by its address).
    pub state: &'static str,
    /// The proxy registered with, or last tried.
    pub proxy: Option<String>,
    pub error: Option<String>,
    /// When the registration runs out unless refreshed (ms since the epoch).
    pub expires_at: Option<i64>,
    /// Successful REGISTERs (first ones and refreshes).
    pub registrations: u64,
}

struct Live {
    trunk: SipTrunk,
    status: Arc<Mutex<TrunkStatus>>,
    /// The proxies' addresses as last resolved: calls from them are the provider's.
    addresses: Arc<Mutex<Vec<SocketAddr>>>,
    stop: CancellationToken,
}

#[derive(Default)]
pub(crate) struct Trunks {
    live: HashMap<i64, Live>,
}

/// A trunk a call came in on, or goes out through.
#[derive(Clone)]
pub(crate) struct TrunkRef {
    pub trunk: SipTrunk,
    /// The proxy to send to: the registered one, else the first.
    pub proxy: Option<SocketAddr>,
}

impl Trunks {
    /// The trunks whose provider sends from `ip` (several organisations may share a provider).
    pub fn by_source(&self, ip: IpAddr) -> Vec<TrunkRef> {
        self.live
            .values()
            .filter(|l| {
                let addrs = l.addresses.lock().unwrap_or_else(|p| p.into_inner());
                addrs.iter().any(|a| a.ip() == ip)
            })
            .map(|l| TrunkRef {
                trunk: l.trunk.clone(),
                proxy: None,
            })
            .collect()
    }

    /// The organisation's trunk for calls out: the first registered one, else the first.
    pub fn for_org(&self, org_id: i64) -> Option<TrunkRef> {
        let mut of_org: Vec<&Live> = self.live.values().filter(|l| l.trunk.org_id == org_id).collect();
        of_org.sort_by_key(|l| l.trunk.id);
        let registered = |l: &&&Live| {
            let s = l.status.lock().unwrap_or_else(|p| p.into_inner());
            matches!(s.state, "registered" | "static")
        };
        let pick = of_org.iter().find(registered).or(of_org.first())?;
        let status = pick.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let addrs = pick.addresses.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let proxy = status
            .proxy
            .as_deref()
            .and_then(|p| p.parse::<SocketAddr>().ok())
            .or(addrs.first().copied());
        Some(TrunkRef {
            trunk: pick.trunk.clone(),
            proxy,
        })
    }

    pub fn status(&self, trunk_id: i64) -> Option<TrunkStatus> {
        self.live
            .get(&trunk_id)
            .map(|l| l.status.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    pub fn registered(&self) -> usize {
        self.live
            .values()
            .filter(|l| l.status.lock().unwrap_or_else(|p| p.into_inner()).state == "registered")
            .count()
    }
}

/// Brings the running trunks in line with the store: at start and after the admin API added or
/// removed one. A trunk that is still there keeps its registration untouched (restarting it
/// would withdraw the very binding the new task just made: same Contact, Expires 0).
pub(crate) async fn reload(inner: &Arc<Inner>) {
    let trunks = match inner.hub.store().all_trunks().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "trunks not loaded");
            return;
        }
    };
    let mut table = inner.trunks();
    table.live.retain(|id, live| {
        let kept = trunks.iter().any(|t| t.id == *id);
        if !kept {
            live.stop.cancel();
        }
        kept
    });
    for trunk in trunks {
        if table.live.contains_key(&trunk.id) {
            continue;
        }
        let status = Arc::new(Mutex::new(TrunkStatus {
            state: if trunk.register != 0 { "registering" } else { "static" },
            ..Default::default()
        }));
        let addresses = Arc::new(Mutex::new(Vec::new()));
        let stop = inner.stop.child_token();
        tokio::spawn(run(
            inner.clone(),
            trunk.clone(),
            status.clone(),
            addresses.clone(),
            stop.clone(),
        ));
        table.live.insert(
            trunk.id,
            Live {
                trunk,
                status,
                addresses,
                stop,
            },
        );
    }
}

/// A proxy's address, as the installation's rule permits (a tenant named it): resolved here,
/// and used as resolved, so a name that changes its answer cannot lead the hub elsewhere.
async fn resolve(egress: &hub_actors::model::egress::Egress, proxy: &str) -> Result<SocketAddr, String> {
    let (host, port) = match proxy.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h, p.parse::<u16>().unwrap_or(5060)),
        _ => (proxy, 5060),
    };
    let found = crate::egress::resolve(egress, host, port)
        .await
        .map_err(|e| format!("{proxy}: {e}"))?
        .into_iter()
        .find(SocketAddr::is_ipv4);
    found.ok_or_else(|| format!("{proxy}: no IPv4 address"))
}

/// Resolves every proxy (for telling the provider's calls apart), then keeps the registration.
async fn run(
    inner: Arc<Inner>,
    trunk: SipTrunk,
    status: Arc<Mutex<TrunkStatus>>,
    addresses: Arc<Mutex<Vec<SocketAddr>>>,
    stop: CancellationToken,
) {
    let proxies = trunk.proxy_list();
    let mut resolved = Vec::new();
    for p in &proxies {
        match resolve(&inner.settings.egress, p).await {
            Ok(a) => resolved.push(a),
            Err(e) => tracing::warn!(trunk = %trunk.name, error = %e, "trunk proxy not resolved"),
        }
    }
    *addresses.lock().unwrap_or_else(|p| p.into_inner()) = resolved;
    if trunk.register == 0 || proxies.is_empty() {
        return;
    }
    let set = |f: &dyn Fn(&mut TrunkStatus)| f(&mut status.lock().unwrap_or_else(|p| p.into_inner()));
    let mut failover = Failover::new(proxies.len());
    // The registration with the current proxy (its Call-ID and CSeq carry over refreshes).
    let mut current: Option<(usize, Registration)> = None;
    loop {
        let i = failover.current();
        let proxy = &proxies[i];
        let outcome = register(&inner, &trunk, i, proxy, &mut current).await;
        let wait = match outcome {
            Ok(granted) => {
                failover.succeeded();
                let first = status.lock().unwrap_or_else(|p| p.into_inner()).state != "registered";
                if first {
                    tracing::info!(trunk = %trunk.name, proxy = %proxy, expires = granted, "trunk registered");
                } else {
                    tracing::debug!(trunk = %trunk.name, proxy = %proxy, expires = granted, "trunk registration refreshed");
                }
                set(&|s| {
                    s.state = "registered";
                    s.proxy = Some(proxy.clone());
                    s.error = None;
                    s.expires_at = Some(now_millis() + i64::from(granted) * 1000);
                    s.registrations += 1;
                });
                refresh_in(granted)
            }
            Err(why) => {
                current = None;
                tracing::warn!(trunk = %trunk.name, proxy = %proxy, error = %why, "trunk registration failed");
                let next = failover.failed();
                set(&|s| {
                    s.proxy = Some(proxy.clone());
                    s.error = Some(why.clone());
                    if matches!(next, Next::Wait(_)) {
                        s.state = "failed";
                        s.expires_at = None;
                    }
                });
                match next {
                    Next::Try(_) => Duration::ZERO,
                    Next::Wait(w) => {
                        tracing::warn!(trunk = %trunk.name, retry_in_s = w.as_secs(), "every proxy of the trunk failed");
                        w
                    }
                }
            }
        };
        tokio::select! {
            _ = stop.cancelled() => {
                // Tell the provider the hub is gone, so it stops sending calls here.
                if let Some((_, mut reg)) = current {
                    let server = server_uri(&trunk);
                    if let Ok(server) = server {
                        let _ = tokio::time::timeout(ANSWER_WITHIN, reg.register(server, Some(0))).await;
                    }
                }
                return;
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

fn server_uri(trunk: &SipTrunk) -> Result<rsipstack::sip::Uri, String> {
    rsipstack::sip::Uri::try_from(format!("sip:{}", trunk.domain).as_str()).map_err(|e| e.to_string())
}

/// One REGISTER (with its digest answer) to proxy `i`; the seconds granted.
async fn register(
    inner: &Arc<Inner>,
    trunk: &SipTrunk,
    i: usize,
    proxy: &str,
    current: &mut Option<(usize, Registration)>,
) -> Result<u32, String> {
    let addr = resolve(&inner.settings.egress, proxy).await?;
    if current.as_ref().is_none_or(|(at, _)| *at != i) {
        let mut reg = Registration::new(
            inner.dialogs.endpoint.clone(),
            Some(Credential {
                username: trunk.username.clone(),
                password: trunk.password.clone(),
                realm: None,
                auth_username: None,
            }),
        );
        // The provider sends its calls here: user part = the trunk's username (see
        // hub_sip::trunk::dialled), host = the hub's public address.
        let contact = format!(
            "sip:{}@{}",
            trunk.username,
            SocketAddr::new(inner.public_ip, inner.settings.listen.port())
        );
        reg.contact = rsipstack::sip::Uri::try_from(contact.as_str())
            .ok()
            .map(|uri| rsipstack::sip::typed::Contact {
                display_name: None,
                uri,
                params: vec![],
            });
        *current = Some((i, reg));
    }
    let Some((_, reg)) = current.as_mut() else {
        return Err("no registration".into());
    };
    reg.outbound_proxy = Some(addr);
    let expires = u32::try_from(trunk.expires_secs.clamp(10, 86_400)).unwrap_or(300);
    let answer = tokio::time::timeout(ANSWER_WITHIN, reg.register(server_uri(trunk)?, Some(expires)))
        .await
        .map_err(|_| format!("no answer within {} s", ANSWER_WITHIN.as_secs()))?
        .map_err(|e| e.to_string())?;
    if answer.status_code.kind() != rsipstack::sip::StatusCodeKind::Successful {
        return Err(format!("the provider answered {}", answer.status_code));
    }
    Ok(reg.expires())
}
