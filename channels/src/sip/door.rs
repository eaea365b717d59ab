//! The hub's SIP socket as the stack sees it: every datagram passes the guard
//! ([`hub_sip::guard`]) first. What the guard answers is answered from here and never reaches the
//! stack; what it repairs reaches the stack repaired; what it drops is gone (logged at debug).
//! A datagram larger than the stack reads is answered 513 instead of being cut short.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hub_sip::guard::{self, Verdict};

/// Largest datagram read whole (UDP's own limit); the stack itself reads at most its buffer.
const DATAGRAM: usize = 65_536;

pub(super) struct Door {
    sock: tokio::net::UdpSocket,
    /// One reader at a time (the stack's receive loop): the whole datagram lands here first.
    scratch: tokio::sync::Mutex<Vec<u8>>,
    /// Requests answered here with an error, and datagrams dropped.
    pub refused: Arc<AtomicU64>,
    pub dropped: Arc<AtomicU64>,
}

impl Door {
    pub(super) fn bind(listen: SocketAddr) -> std::io::Result<Self> {
        let sock = std::net::UdpSocket::bind(listen)?;
        sock.set_nonblocking(true)?;
        Ok(Door {
            sock: tokio::net::UdpSocket::from_std(sock)?,
            scratch: tokio::sync::Mutex::new(vec![0; DATAGRAM]),
            refused: Arc::default(),
            dropped: Arc::default(),
        })
    }
}

#[async_trait::async_trait]
impl rsipstack::platform::net::UdpSocket for Door {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        let mut scratch = self.scratch.lock().await;
        loop {
            let (n, from) = self.sock.recv_from(&mut scratch[..]).await?;
            let data = &scratch[..n];
            // Keep-alives (CRLFs) are the stack's to answer.
            if data.iter().all(u8::is_ascii_whitespace) {
                let len = n.min(buf.len());
                buf[..len].copy_from_slice(&data[..len]);
                return Ok((len, from));
            }
            let verdict = if n > buf.len() {
                guard::too_large(&data[..n.min(16 * 1024)], from).unwrap_or(Verdict::Drop("too large"))
            } else {
                guard::screen(data, from)
            };
            match verdict {
                Verdict::Pass(bytes) if bytes.len() <= buf.len() => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    return Ok((bytes.len(), from));
                }
                Verdict::Pass(_) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%from, "SIP message too large once repaired; dropped");
                }
                Verdict::Answer { port, status, bytes } => {
                    self.refused.fetch_add(1, Ordering::Relaxed);
                    let to = SocketAddr::new(from.ip(), port.unwrap_or(from.port()));
                    tracing::debug!(%from, status, "SIP request refused at the door");
                    if let Err(e) = self.sock.send_to(&bytes, to).await {
                        tracing::debug!(%to, error = %e, "cannot send the refusal");
                    }
                }
                Verdict::Drop(why) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%from, why, "SIP datagram dropped at the door");
                }
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.sock.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.sock.local_addr()?)
    }
}
