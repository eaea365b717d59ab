//! The RTP port range: every call leg binds one even port from it (RTCP's odd neighbour is left
//! free, as peers expect), taken round robin so a port just released is not reused at once
//! (late packets of the old call would land in the new one).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use std::net::UdpSocket;

pub struct PortRange {
    ip: IpAddr,
    first: u16,
    /// Number of even ports.
    count: u32,
    next: AtomicU32,
}

#[derive(Debug, thiserror::Error)]
#[error("no free RTP port in {first}–{last}")]
pub struct Exhausted {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn new(ip: IpAddr, first: u16, last: u16) -> Self {
        let first = first + first % 2;
        let count = if last > first { (last - first) as u32 / 2 + 1 } else { 1 };
        Self {
            ip,
            first,
            count,
            next: AtomicU32::new(0),
        }
    }

    /// Binds the next free even port (non-blocking, for a media leg to wait on).
    pub fn bind(&self) -> Result<UdpSocket, Exhausted> {
        for _ in 0..self.count {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % self.count;
            let port = self.first + (2 * i) as u16;
            if let Ok(s) = UdpSocket::bind(SocketAddr::new(self.ip, port)) {
                if s.set_nonblocking(true).is_ok() {
                    return Ok(s);
                }
            }
        }
        Err(Exhausted {
            first: self.first,
            last: self.first + (2 * (self.count - 1)) as u16,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_even_ports_in_range_until_exhausted() {
        let r = PortRange::new("127.0.0.1".parse().unwrap(), 41001, 41006);
        let a = r.bind().unwrap();
        let b = r.bind().unwrap();
        let c = r.bind().unwrap();
        let ports: Vec<u16> = [&a, &b, &c].iter().map(|s| s.local_addr().unwrap().port()).collect();
        assert_eq!(ports, vec![41002, 41004, 41006]);
        assert!(r.bind().is_err());
        drop(b);
        assert_eq!(r.bind().unwrap().local_addr().unwrap().port(), 41004);
    }
}
