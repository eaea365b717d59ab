//! Webhooks out: sends the deliveries the core enqueued (`hub_actors::store::webhooks`) to the
//! organisation's endpoints, signed (`model::webhook::signature`), one node at a time per
//! delivery through the leased job queue. Only to addresses the installation's egress rule
//! permits: a name is resolved by this sender's resolver, which gives the HTTP client only the
//! addresses the rule allows (so a name that resolves elsewhere the next time gains nothing), an
//! address written in the URL is checked before connecting, redirects are not followed and no
//! proxy from the environment is used. What the endpoint answers is recorded by status only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hub_actors::model::egress::Egress;
use hub_actors::model::{now_millis, webhook};
use hub_actors::store::webhooks::{Claimed, QUEUE};
use hub_actors::Hub;
use tokio_util::sync::CancellationToken;

/// How long an endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claim lasts: beyond the timeout, so one attempt ends before another node may try.
const LEASE_MS: i64 = 60_000;
/// Deliveries claimed (and sent at once) per pass.
const BATCH: i64 = 20;
/// How often the queue is looked at when there was nothing to send.
const IDLE: Duration = Duration::from_millis(500);

struct Checked(Egress);

impl reqwest::dns::Resolve for Checked {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let egress = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = crate::egress::resolve(&egress, &host, 0)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Starts the sender under the hub's tasks.
pub fn start(hub: Hub, egress: Egress, node: String) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .dns_resolver(Arc::new(Checked(egress.clone())))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .user_agent("hub-webhooks")
        .build()
        .map_err(|e| format!("webhooks: {e}"))?;
    let h = hub.clone();
    hub.tasks().supervise("webhooks", move || {
        let (hub, client, egress, node) = (h.clone(), client.clone(), egress.clone(), node.clone());
        async move {
            let stop = hub.tasks().token();
            if let Err(e) = hub.store().release_jobs(&QUEUE, &node, None).await {
                tracing::warn!(error = %e, "webhooks: could not release this node's claims");
            }
            run(&hub, &client, &egress, &node, &stop).await;
        }
    });
    Ok(())
}

async fn run(hub: &Hub, client: &reqwest::Client, egress: &Egress, node: &str, stop: &CancellationToken) {
    loop {
        let sent = match pass(hub, client, egress, node).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: a pass failed");
                0
            }
        };
        if sent < BATCH as usize {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(IDLE) => {}
            }
        } else if stop.is_cancelled() {
            return;
        }
    }
}

async fn pass(hub: &Hub, client: &reqwest::Client, egress: &Egress, node: &str) -> hub_actors::Result<usize> {
    let store = hub.store();
    let now = now_millis();
    let due = store.due_deliveries(now, BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let claimed: Vec<Claimed> = store
        .claim_jobs(
            &QUEUE,
            &due,
            Some(node),
            now,
            LEASE_MS,
            "id, org_id, webhook_id, event, request_id, event_id, body, attempts",
        )
        .await?;
    let n = claimed.len();
    futures_util::future::join_all(claimed.iter().map(|d| attempt(hub, client, egress, d))).await;
    Ok(n)
}

async fn attempt(hub: &Hub, client: &reqwest::Client, egress: &Egress, d: &Claimed) {
    let store = hub.store();
    let outcome = send(hub, client, egress, d).await;
    if let Err(e) = &outcome {
        tracing::info!(delivery = d.id, webhook = d.webhook_id, error = %e, "webhook not delivered");
    }
    if let Err(e) = store.delivery_attempted(d, outcome, now_millis()).await {
        tracing::warn!(delivery = d.id, error = %e, "webhooks: could not record an attempt");
    }
}

/// One attempt: the endpoint's HTTP status, or why it was not reached (in the hub's words, never
/// the remote's, which could be an internal service's).
async fn send(hub: &Hub, client: &reqwest::Client, egress: &Egress, d: &Claimed) -> Result<u16, String> {
    let store = hub.store();
    let Some((url, secret)) = store
        .webhook_target(d.webhook_id)
        .await
        .map_err(|_| "the webhook's settings could not be read".to_string())?
    else {
        return Err("the webhook is paused".into());
    };
    webhook::endpoint(&url).map_err(|_| "the address is not a web address".to_string())?;
    // An address in the URL (in any of its spellings) reaches the client without a lookup: it
    // is checked here; a name is checked by the client's resolver.
    if crate::egress::refuses_url(egress, &url) {
        return Err(crate::egress::EgressError::Refused.to_string());
    }
    let body = store
        .delivery_body(d)
        .await
        .map_err(|_| "the request it reports could not be read".to_string())?;
    let ts = now_millis() / 1000;
    let answer = client
        .post(&url)
        .header("content-type", "application/json")
        .header("x-hub-event", &d.event)
        .header("x-hub-delivery", d.id.to_string())
        .header("x-hub-timestamp", ts.to_string())
        .header("x-hub-signature-256", webhook::signature(&secret, ts, body.as_bytes()))
        .body(body)
        .send()
        .await;
    match answer {
        Ok(r) => Ok(r.status().as_u16()),
        Err(e) => Err(reason(&e)),
    }
}

fn reason(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(egress) = s.downcast_ref::<crate::egress::EgressError>() {
            return egress.to_string();
        }
        source = s.source();
    }
    if e.is_timeout() {
        crate::egress::EgressError::Timeout.to_string()
    } else if e.is_connect() {
        crate::egress::EgressError::Unreachable.to_string()
    } else {
        "the endpoint did not answer".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(egress: Egress) -> reqwest::Client {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(Checked(egress)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .build()
            .unwrap()
    }

    /// A name is resolved by the egress rule's resolver, inside the HTTP client: "localhost" is
    /// refused under the default rule, with the hub's own words.
    #[tokio::test]
    async fn a_name_resolving_inside_is_refused_by_the_client() {
        let e = client(Egress::default())
            .post("http://localhost:9/x")
            .send()
            .await
            .unwrap_err();
        assert_eq!(reason(&e), crate::egress::EgressError::Refused.to_string());
    }

    /// The same name, where the installation allows loopback, is connected to (nothing listens
    /// on port 9 of it: refused by the peer, not by the rule).
    #[tokio::test]
    async fn an_allowed_inside_name_is_reached() {
        let allow = Egress::parse("127.0.0.0/8, ::1/128").unwrap();
        let e = client(allow).post("http://localhost:9/x").send().await.unwrap_err();
        assert_ne!(reason(&e), crate::egress::EgressError::Refused.to_string());
    }
}
