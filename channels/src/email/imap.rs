//! The fetchers: one task per mailbox with an IMAP server, on whichever node holds its lease.
//! New mail (by UID, above the last one stored) is fetched in batches, stored with the new last
//! UID in one transaction, then marked on the server (seen, or moved). IDLE tells of new mail at
//! once where the server offers it; otherwise the folder is looked at every `poll_secs`.
//! UIDVALIDITY is checked at every connection: when the server renumbered the folder, fetching
//! starts again from the first UID and what was held already is recognised by its Message-ID.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use hub_actors::model::now_millis;
use hub_email::parse::OVERSIZED_HEADER;

use super::{Email, EmailError, Metrics};
use crate::email::store::MailStore;

/// UIDs fetched in one command and stored in one transaction.
const BATCH: usize = 25;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How much longer than the longest IDLE wait a server may stay silent while an answer is due.
const SILENCE_MARGIN_SECS: u64 = 45;

/// The connection to an IMAP server, with or without TLS.
#[derive(Debug)]
enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

/// A connection whose server may stay silent for `limit` at most while an answer is awaited (the
/// longest IDLE wait and a margin): a server that stops answering mid-session, or a connection
/// dead without a reset, fails the read, and the session reconnects instead of holding its
/// mailbox forever. The clock runs from the first read that found nothing since data last came.
#[derive(Debug)]
struct Timed {
    conn: Conn,
    limit: Duration,
    silent_until: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl AsyncRead for Timed {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.conn).poll_read(cx, buf) {
            Poll::Pending => {
                let limit = this.limit;
                let deadline = this
                    .silent_until
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the IMAP server stopped answering",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
            ready => {
                this.silent_until = None;
                ready
            }
        }
    }
}

impl AsyncWrite for Timed {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().conn).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().conn).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().conn).poll_shutdown(cx)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The TLS settings for IMAP: the public roots, and the administrator's own CA when given.
pub(super) fn tls_config(ca_file: Option<&str>) -> Result<rustls::ClientConfig, EmailError> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|err| EmailError::CaFile(path.into(), err.to_string()))?;
        for c in certs {
            let c = c.map_err(|err| EmailError::CaFile(path.into(), err.to_string()))?;
            roots
                .add(c)
                .map_err(|err| EmailError::CaFile(path.into(), err.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| EmailError::CaFile(ca_file.unwrap_or("").into(), err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Where and as whom to log in, from `imap[s]://user:password@host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Server {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

pub(super) fn server_of(url: &str) -> Result<Server, String> {
    let u = url::Url::parse(url).map_err(|e| format!("the IMAP URL is not a URL: {e}"))?;
    let tls = match u.scheme() {
        "imaps" => true,
        "imap" => false,
        s => return Err(format!("the IMAP URL's scheme is {s:?}: use imaps:// (TLS) or imap://")),
    };
    let host = u.host_str().ok_or("the IMAP URL has no host")?.to_string();
    let user = percent_decode(u.username());
    if user.is_empty() {
        return Err("the IMAP URL has no user name".into());
    }
    Ok(Server {
        tls,
        port: u.port().unwrap_or(if tls { 993 } else { 143 }),
        host,
        user,
        password: percent_decode(u.password().unwrap_or("")),
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(v) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Keeps one fetcher running per enabled mailbox with an IMAP server.
pub(super) async fn run_all(e: Email) {
    let mut running: HashMap<i64, (String, tokio::task::JoinHandle<()>)> = HashMap::new();
    loop {
        match e.hub().store().mailboxes(None).await {
            Ok(mailboxes) => {
                let wanted: HashMap<i64, String> = mailboxes
                    .into_iter()
                    .filter(|m| m.enabled == 1)
                    .filter_map(|m| {
                        m.imap_url
                            .clone()
                            .map(|u| (m.id, format!("{u}|{}|{}", m.imap_folder, m.imap_after)))
                    })
                    .collect();
                running.retain(|id, (conf, task)| {
                    let keep = wanted.get(id) == Some(conf) && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for (id, conf) in wanted {
                    running
                        .entry(id)
                        .or_insert_with(|| (conf, tokio::spawn(fetch_loop(e.clone(), id))));
                }
            }
            Err(err) => tracing::warn!(error = %err, "e-mail: cannot read the mailboxes"),
        }
        tokio::select! {
            _ = e.0.stop.cancelled() => {
                for (_, (_, t)) in running.drain() {
                    t.abort();
                }
                return;
            }
            _ = e.0.mailboxes_bell.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

fn lease_ms(e: &Email) -> i64 {
    i64::from(e.0.settings.poll_secs + 30) * 1000
}

async fn fetch_loop(e: Email, id: i64) {
    let mut failures = 0u32;
    loop {
        let now = now_millis();
        match e
            .hub()
            .store()
            .take_lease(
                crate::email::store::MAILBOXES,
                id,
                &e.0.settings.node,
                now + lease_ms(&e),
                now,
            )
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                if !e.pause(Duration::from_millis((lease_ms(&e) / 3) as u64)).await {
                    return;
                }
                continue;
            }
            Err(err) => {
                tracing::warn!(mailbox = id, error = %err, "e-mail: cannot take the mailbox lease");
                if !e.pause(Duration::from_secs(2)).await {
                    return;
                }
                continue;
            }
        }
        match session(&e, id).await {
            Ok(()) => failures = 0,
            Err(why) => {
                failures += 1;
                Metrics::add(&e.0.metrics.fetch_errors, 1);
                tracing::warn!(mailbox = id, attempt = failures, error = %why, "e-mail: IMAP session failed; will reconnect");
                let _ = e.hub().store().set_mailbox_error(id, Some(&why)).await;
            }
        }
        let wait = Duration::from_secs(u64::from(failures.min(6)).pow(2).max(1));
        if !e.pause(wait).await {
            return;
        }
    }
}

/// An IMAP command the server refused, by class: what it said goes to the log only (the
/// mailbox's `last_error` is shown to tenant admins, and must never echo a peer's words).
fn err(what: &str) -> impl Fn(async_imap::error::Error) -> String + '_ {
    move |e| {
        tracing::info!(command = what, error = %e, "e-mail: IMAP command failed");
        format!("the IMAP server refused {what}")
    }
}

async fn connect(e: &Email, s: &Server) -> Result<Conn, String> {
    let tcp = crate::egress::connect(&e.0.settings.egress, &s.host, s.port, CONNECT_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    if !s.tls {
        return Ok(Conn::Plain(tcp));
    }
    let name = rustls::pki_types::ServerName::try_from(s.host.clone())
        .map_err(|_| "the server's name is not a TLS name".to_string())?;
    let tls = tokio_rustls::TlsConnector::from(e.0.tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|err| {
            tracing::info!(host = %s.host, error = %err, "e-mail: IMAP TLS handshake failed");
            "the TLS handshake with the server failed (its certificate, or not TLS)".to_string()
        })?;
    Ok(Conn::Tls(Box::new(tls)))
}

/// One connection's life: log in, check the folder, fetch, wait for more, until the lease is
/// lost, the mailbox changes or the bridge stops.
async fn session(e: &Email, id: i64) -> Result<(), String> {
    let store = e.hub().store();
    let mb = store.mailbox(id).await.map_err(|e| e.to_string())?;
    let Some(url) = mb.imap_url.clone() else { return Ok(()) };
    let server = server_of(&url)?;
    let conn = connect(e, &server).await?;
    let mut client = async_imap::Client::new(Timed {
        conn,
        limit: Duration::from_secs(u64::from(e.0.settings.poll_secs) + SILENCE_MARGIN_SECS),
        silent_until: None,
    });
    client
        .read_response()
        .await
        .map_err(|err| {
            tracing::info!(mailbox = id, error = %err, "e-mail: no IMAP greeting");
            "the server did not greet as an IMAP server".to_string()
        })?
        .ok_or("the server closed the connection at once")?;
    let mut imap = client.login(&server.user, &server.password).await.map_err(|(err, _)| {
        tracing::info!(mailbox = id, error = %err, "e-mail: IMAP login refused");
        format!(
            "the server refused the login of {} (user name or password)",
            server.user
        )
    })?;
    let caps = imap.capabilities().await.map_err(err("CAPABILITY"))?;
    let idle = caps.has_str("IDLE");
    let can_move = caps.has_str("MOVE");
    let folder = imap.select(&mb.imap_folder).await.map_err(err("SELECT"))?;
    let validity = i64::from(folder.uid_validity.unwrap_or(0));
    if mb.uid_validity != validity {
        if mb.uid_validity != 0 {
            Metrics::add(&e.0.metrics.uidvalidity_changes, 1);
            tracing::warn!(mailbox = id, was = mb.uid_validity, now = validity, "e-mail: the server renumbered the folder (UIDVALIDITY changed); fetching again, duplicates are recognised");
        }
        store
            .reset_mailbox_uids(id, validity)
            .await
            .map_err(|e| e.to_string())?;
    }
    let _ = store.set_mailbox_error(id, None).await;
    tracing::info!(mailbox = id, address = %mb.address, host = %server.host, idle, "e-mail: IMAP connected");
    let wait = Duration::from_secs(u64::from(e.0.settings.poll_secs.max(1)));
    loop {
        let now = now_millis();
        let still_ours = store
            .take_lease(
                crate::email::store::MAILBOXES,
                id,
                &e.0.settings.node,
                now + lease_ms(e),
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
        if !still_ours {
            tracing::info!(mailbox = id, "e-mail: another node fetches this mailbox now");
            let _ = imap.logout().await;
            return Ok(());
        }
        let current = store.mailbox(id).await.map_err(|e| e.to_string())?;
        if current.enabled != 1 || current.imap_url.as_deref() != Some(url.as_str()) {
            let _ = imap.logout().await;
            return Ok(());
        }
        fetch_new(e, &mut imap, &current, validity, can_move).await?;
        if idle {
            let mut handle = imap.idle();
            handle.init().await.map_err(err("IDLE"))?;
            let (news, _interrupt) = handle.wait_with_timeout(wait);
            tokio::select! {
                _ = e.0.stop.cancelled() => return Ok(()),
                r = news => { r.map_err(err("IDLE"))?; }
            }
            imap = handle.done().await.map_err(err("DONE"))?;
        } else {
            if !e.pause(wait).await {
                return Ok(());
            }
            imap.noop().await.map_err(err("NOOP"))?;
        }
    }
}

/// Fetches, stores and marks every mail above the last UID stored.
async fn fetch_new(
    e: &Email,
    imap: &mut Session<Timed>,
    mb: &crate::email::store::Mailbox,
    validity: i64,
    can_move: bool,
) -> Result<(), String> {
    let store = e.hub().store();
    let last = mb.last_uid;
    // "n:*" also names the last mail when it is below n: filter.
    let mut uids: Vec<u32> = imap
        .uid_search(format!("UID {}:*", last + 1))
        .await
        .map_err(err("UID SEARCH"))?
        .into_iter()
        .filter(|u| i64::from(*u) > last)
        .collect();
    uids.sort_unstable();
    for chunk in uids.chunks(BATCH) {
        let set = chunk.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let sizes: Vec<async_imap::types::Fetch> = imap
            .uid_fetch(&set, "(UID RFC822.SIZE)")
            .await
            .map_err(err("UID FETCH size"))?
            .try_collect()
            .await
            .map_err(err("UID FETCH size"))?;
        let mut whole = Vec::new();
        let mut oversized = HashMap::new();
        for f in &sizes {
            let (Some(uid), size) = (f.uid, f.size.unwrap_or(0)) else {
                continue;
            };
            if size as usize > e.0.settings.max_bytes {
                oversized.insert(uid, size);
            } else {
                whole.push(uid.to_string());
            }
        }
        let mut batch: Vec<(i64, Vec<u8>)> = Vec::with_capacity(chunk.len());
        if !whole.is_empty() {
            let fetched: Vec<async_imap::types::Fetch> = imap
                .uid_fetch(whole.join(","), "(UID BODY.PEEK[])")
                .await
                .map_err(err("UID FETCH"))?
                .try_collect()
                .await
                .map_err(err("UID FETCH"))?;
            for f in &fetched {
                if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                    batch.push((i64::from(uid), body.to_vec()));
                }
            }
        }
        if !oversized.is_empty() {
            let set = oversized.keys().map(u32::to_string).collect::<Vec<_>>().join(",");
            let fetched: Vec<async_imap::types::Fetch> = imap
                .uid_fetch(set, "(UID BODY.PEEK[HEADER])")
                .await
                .map_err(err("UID FETCH header"))?
                .try_collect()
                .await
                .map_err(err("UID FETCH header"))?;
            for f in &fetched {
                if let (Some(uid), Some(header)) = (f.uid, f.header()) {
                    let size = oversized.get(&uid).copied().unwrap_or(0);
                    tracing::warn!(
                        mailbox = mb.id,
                        uid,
                        bytes = size,
                        limit = e.0.settings.max_bytes,
                        "e-mail: mail over the size limit; its header only is taken"
                    );
                    let mut raw = format!("{OVERSIZED_HEADER}: {size}\r\n").into_bytes();
                    raw.extend_from_slice(header);
                    batch.push((i64::from(uid), raw));
                }
            }
        }
        batch.sort_by_key(|(uid, _)| *uid);
        if batch.is_empty() {
            continue;
        }
        let new = store
            .store_fetched(mb.id, &e.0.settings.node, validity, &batch, now_millis())
            .await
            .map_err(|e| e.to_string())?;
        if new == 0 {
            return Err("the mailbox lease was lost while fetching".into());
        }
        Metrics::add(&e.0.metrics.fetched, new as u64);
        if mb.confirmed_at.is_none() {
            // Stored, but applied only once the address is confirmed, by a code among them.
            super::confirm::look(e, mb, &batch).await;
        }
        e.0.inbox_bell.notify_one();
        let set = batch.iter().map(|(u, _)| u.to_string()).collect::<Vec<_>>().join(",");
        after_fetch(imap, &mb.imap_after, &set, can_move).await?;
    }
    Ok(())
}

/// Marks fetched mail on the server. Done after storing: if the hub stops in between, the mail
/// is only marked late (it is never fetched twice, since the last UID already moved).
async fn after_fetch(imap: &mut Session<Timed>, after: &str, set: &str, can_move: bool) -> Result<(), String> {
    if after == "keep" {
        return Ok(());
    }
    if let Some(folder) = after.strip_prefix("move:") {
        if can_move {
            return imap.uid_mv(set, folder).await.map_err(err("UID MOVE"));
        }
        imap.uid_copy(set, folder).await.map_err(err("UID COPY"))?;
        let _: Vec<_> = imap
            .uid_store(set, "+FLAGS.SILENT (\\Deleted)")
            .await
            .map_err(err("UID STORE"))?
            .try_collect()
            .await
            .map_err(err("UID STORE"))?;
        let _: Vec<_> = imap
            .expunge()
            .await
            .map_err(err("EXPUNGE"))?
            .try_collect()
            .await
            .map_err(err("EXPUNGE"))?;
        return Ok(());
    }
    let _: Vec<_> = imap
        .uid_store(set, "+FLAGS.SILENT (\\Seen)")
        .await
        .map_err(err("UID STORE"))?
        .try_collect()
        .await
        .map_err(err("UID STORE"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection to a server that answers after `delay` (never, when None).
    async fn timed(limit: Duration, delay: Option<Duration>) -> Timed {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move {
            let Ok((mut peer, _)) = listener.accept().await else {
                return;
            };
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
                let _ = tokio::io::AsyncWriteExt::write_all(&mut peer, b"* OK\r\n").await;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let tcp = TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("{e}"));
        Timed {
            conn: Conn::Plain(tcp),
            limit,
            silent_until: None,
        }
    }

    #[tokio::test]
    async fn a_silent_server_fails_the_read_after_the_limit_and_a_slow_one_does_not() {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 16];
        let mut silent = timed(Duration::from_millis(150), None).await;
        let began = std::time::Instant::now();
        let err = silent.read(&mut buf).await.err().map(|e| e.kind());
        assert_eq!(err, Some(std::io::ErrorKind::TimedOut));
        assert!(began.elapsed() >= Duration::from_millis(150));
        let mut slow = timed(Duration::from_millis(400), Some(Duration::from_millis(100))).await;
        assert_eq!(
            slow.read(&mut buf).await.ok(),
            Some(6),
            "an answer within the limit is read"
        );
        // The clock starts again after data: another wait of the same length is fine too.
        assert!(slow.silent_until.is_none());
    }

    #[test]
    fn server_urls() {
        let s = server_of("imaps://support%40hub.test:p%40ss@mail.hub.test/INBOX").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s,
            Server {
                tls: true,
                host: "mail.hub.test".into(),
                port: 993,
                user: "support@hub.test".into(),
                password: "p@ss".into()
            }
        );
        assert_eq!(
            server_of("imap://u:p@127.0.0.1:1143").map(|s| (s.tls, s.port)),
            Ok((false, 1143))
        );
        assert!(server_of("pop3://u@x").is_err());
        assert!(server_of("imaps://x").is_err());
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
