//! The TCP listeners: Teltonika (binary, an IMEI hand-shake then AVL packets) and Wialon IPS
//! (text lines, a login then data). A connection must say who it is within `login_secs` of
//! connecting (one deadline, not one per read: a stranger trickling a byte at a time holds no
//! slot longer) and is closed when silent for `idle_secs` (a tracker gone without a FIN leaves a half-open
//! connection); connections beyond `max_connections` are closed as they come; a frame that
//! cannot be read closes the connection without an acknowledgement (the device sends it
//! again on a new one), and nothing is acknowledged before the core answered that it is stored.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use hub_actors::model::now_millis;
use hub_trackers::{teltonika, wialon};

use super::{fix, Trackers};

/// An answer that cannot be written in this long goes to a peer that stopped reading.
const WRITE_WITHIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Teltonika,
    Wialon,
}

impl Protocol {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Teltonika => "teltonika",
            Protocol::Wialon => "wialon",
        }
    }
}

/// Why a connection ended, for the log.
#[derive(Debug, thiserror::Error)]
enum End {
    #[error("closed by the device")]
    Closed,
    #[error("silent too long")]
    Silent,
    #[error("{0}")]
    Io(std::io::Error),
    #[error("refused: {0}")]
    Refused(String),
    #[error("unknown device {0}")]
    UnknownDevice(String),
    #[error("not stored: {0}")]
    NotStored(String),
}

pub(crate) fn serve(t: Trackers, listener: Arc<TcpListener>, protocol: Protocol, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(t.inner.config.max_connections));
    let hub = t.inner.hub.clone();
    let name = match protocol {
        Protocol::Teltonika => "trackers-teltonika",
        Protocol::Wialon => "trackers-wialon",
    };
    hub.tasks().supervise(name, move || {
        let (t, listener, slots, stop) = (t.clone(), listener.clone(), slots.clone(), stop.clone());
        async move {
            loop {
                let (conn, peer) = tokio::select! {
                    _ = stop.cancelled() => return,
                    a = listener.accept() => match a {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of file descriptors, say: wait rather than spin.
                            tracing::warn!(error = %e, "trackers: accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::debug!(%peer, "trackers: connection refused, the listener is full");
                    drop(conn);
                    continue;
                };
                let _ = conn.set_nodelay(true);
                let (t, stop) = (t.clone(), stop.clone());
                tokio::spawn(async move {
                    let end = tokio::select! {
                        _ = stop.cancelled() => End::Closed,
                        e = connection(&t, conn, protocol) => e,
                    };
                    match &end {
                        End::Closed | End::Silent => {
                            tracing::debug!(%peer, protocol = protocol.name(), %end, "trackers: connection ended")
                        }
                        _ => tracing::info!(%peer, protocol = protocol.name(), %end, "trackers: connection closed"),
                    }
                    drop(slot);
                });
            }
        }
    });
}

async fn connection(t: &Trackers, conn: TcpStream, protocol: Protocol) -> End {
    match protocol {
        Protocol::Teltonika => teltonika_conn(t, conn).await,
        Protocol::Wialon => wialon_conn(t, conn).await,
    }
}

/// Reads more into `buf`, within `within`. Straight into the connection's own buffer: ten
/// thousand idle trackers hold no read chunk each while they wait.
async fn fill(conn: &mut TcpStream, buf: &mut Vec<u8>, within: Duration) -> Result<(), End> {
    buf.reserve(1024);
    match timeout(within, conn.read_buf(buf)).await {
        Err(_) => Err(End::Silent),
        Ok(Err(e)) => Err(End::Io(e)),
        Ok(Ok(0)) => Err(End::Closed),
        Ok(Ok(_)) => Ok(()),
    }
}

async fn send(conn: &mut TcpStream, bytes: &[u8]) -> Result<(), End> {
    match timeout(WRITE_WITHIN, conn.write_all(bytes)).await {
        Err(_) => Err(End::Silent),
        Ok(Err(e)) => Err(End::Io(e)),
        Ok(Ok(())) => Ok(()),
    }
}

async fn teltonika_conn(t: &Trackers, mut conn: TcpStream) -> End {
    let cfg = &t.inner.config;
    let login_by = Instant::now() + Duration::from_secs(cfg.login_secs);
    let idle = Duration::from_secs(cfg.idle_secs);
    let mut buf = Vec::new();
    let imei = loop {
        match teltonika::imei(&buf) {
            Ok(Some((imei, used))) => {
                buf.drain(..used);
                break imei;
            }
            Ok(None) => {
                if let Err(e) = fill(&mut conn, &mut buf, login_by.saturating_duration_since(Instant::now())).await {
                    return e;
                }
            }
            Err(e) => return End::Refused(e.to_string()),
        }
    };
    let device = match t.device("teltonika", &imei).await {
        Ok(d) => d,
        Err(super::TrackerError::UnknownDevice(id)) => {
            let _ = send(&mut conn, &[0x00]).await;
            return End::UnknownDevice(id);
        }
        Err(e) => return End::NotStored(e.to_string()),
    };
    if let Err(e) = send(&mut conn, &[0x01]).await {
        return e;
    }
    loop {
        match teltonika::packet(&buf) {
            Ok(Some((packet, used))) => {
                buf.drain(..used);
                let n = packet.records.len();
                let fixes = packet.records.into_iter().map(|r| fix(r.fix)).collect();
                if let Err(e) = t.inner.hub.take_fixes(device.vehicle_id, fixes).await {
                    return End::NotStored(e.to_string());
                }
                t.heard(device.id);
                if let Err(e) = send(&mut conn, &teltonika::ack(n)).await {
                    return e;
                }
            }
            Ok(None) => {
                if let Err(e) = fill(&mut conn, &mut buf, idle).await {
                    return e;
                }
            }
            Err(e) => return End::Refused(e.to_string()),
        }
    }
}

/// Consecutive lines that cannot be read before the connection is closed.
const WIALON_BAD_LINES: usize = 10;

async fn wialon_conn(t: &Trackers, mut conn: TcpStream) -> End {
    let cfg = &t.inner.config;
    let login_by = Instant::now() + Duration::from_secs(cfg.login_secs);
    let idle = Duration::from_secs(cfg.idle_secs);
    let mut buf = Vec::new();
    let mut device = None;
    let mut v2 = false;
    let mut bad = 0;
    loop {
        let Some(end) = buf.iter().position(|b| *b == b'\n') else {
            if buf.len() > wialon::MAX_LINE {
                return End::Refused("a line longer than the protocol allows".into());
            }
            let within = if device.is_some() {
                idle
            } else {
                login_by.saturating_duration_since(Instant::now())
            };
            if let Err(e) = fill(&mut conn, &mut buf, within).await {
                return e;
            }
            continue;
        };
        let line: Vec<u8> = buf.drain(..=end).collect();
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            continue;
        }
        let packet = match wialon::packet(line, v2, now_millis()) {
            Ok(p) => {
                bad = 0;
                p
            }
            Err(e) => {
                bad += 1;
                if let Some(answer) = wialon::refusal(line, &e) {
                    if let Err(end) = send(&mut conn, answer.as_bytes()).await {
                        return end;
                    }
                }
                if device.is_none() || bad >= WIALON_BAD_LINES {
                    return End::Refused(e.to_string());
                }
                continue;
            }
        };
        let fixes = match &packet {
            wialon::Packet::Login { imei, version, .. } => {
                match t.device("wialon", imei).await {
                    Ok(d) => {
                        v2 = version.as_deref() == Some("2.0");
                        device = Some(d);
                    }
                    Err(super::TrackerError::UnknownDevice(id)) => {
                        let _ = send(&mut conn, wialon::LOGIN_REFUSED.as_bytes()).await;
                        return End::UnknownDevice(id);
                    }
                    Err(e) => return End::NotStored(e.to_string()),
                }
                Vec::new()
            }
            wialon::Packet::Ping => Vec::new(),
            wialon::Packet::Data { fix: f, .. } => vec![fix(f.clone())],
            wialon::Packet::BlackBox(fs) => fs.iter().cloned().map(fix).collect(),
        };
        let Some(d) = &device else {
            return End::Refused("data before a login".into());
        };
        if !fixes.is_empty() {
            if let Err(e) = t.inner.hub.take_fixes(d.vehicle_id, fixes).await {
                return End::NotStored(e.to_string());
            }
            t.heard(d.id);
        }
        if let Err(e) = send(&mut conn, wialon::answer(&packet).as_bytes()).await {
            return e;
        }
    }
}
