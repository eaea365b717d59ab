//! Reading a media socket in batches. One `recvmmsg` takes whatever has arrived and, by
//! returning fewer packets than it was offered room for, says the socket is drained: the leg can
//! go back to waiting at once, without the extra empty read (EAGAIN) that edge-triggered
//! readiness otherwise costs after every packet. A relayed call reads 100 packets a second, so
//! that read was a third of the relay's system calls.

use std::io;
use std::net::{SocketAddr, UdpSocket};

/// Packets one call takes at most.
pub const BATCH: usize = 8;
/// Room per packet: G.711 RTP is 172 bytes; anything that does not fit is not a packet a leg
/// can use and reads as empty (so it is dropped as malformed).
pub const MAX_PACKET: usize = 2048;

/// Buffers for one batch: one per thread is enough, as a batch is handled before the next await.
pub struct Batch {
    bufs: Box<[[u8; MAX_PACKET]; BATCH]>,
    lens: [usize; BATCH],
    from: [SocketAddr; BATCH],
    n: usize,
}

impl Default for Batch {
    fn default() -> Self {
        Self {
            bufs: Box::new([[0; MAX_PACKET]; BATCH]),
            lens: [0; BATCH],
            from: [SocketAddr::from(([0, 0, 0, 0], 0)); BATCH],
            n: 0,
        }
    }
}

impl Batch {
    /// The packets of the last read, in arrival order.
    pub fn packets(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> {
        (0..self.n).map(|i| (&self.bufs[i][..self.lens[i]], self.from[i]))
    }
}

/// Reads what has arrived (at most `BATCH`), without blocking; `WouldBlock` when nothing had.
/// Fewer than `BATCH` packets means the socket was drained.
#[cfg(target_os = "linux")]
pub fn recv(sock: &UdpSocket, batch: &mut Batch) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    batch.n = 0;
    // SAFETY: all-zero is a valid value of these plain C structs.
    let mut names: [libc::sockaddr_storage; BATCH] = unsafe { std::mem::zeroed() };
    let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for i in 0..BATCH {
        iov[i] = libc::iovec {
            iov_base: batch.bufs[i].as_mut_ptr().cast(),
            iov_len: MAX_PACKET,
        };
        let hdr = &mut msgs[i].msg_hdr;
        hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
        hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        hdr.msg_iov = &mut iov[i];
        hdr.msg_iovlen = 1;
    }
    // SAFETY: every header points at a buffer, an address slot and an iovec that live until
    // the call returns, with their true sizes.
    let n = unsafe {
        libc::recvmmsg(
            sock.as_raw_fd(),
            msgs.as_mut_ptr(),
            BATCH as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    for i in 0..n {
        let truncated = msgs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        let from = socket_addr(&names[i]);
        batch.lens[i] = if truncated || from.is_none() {
            0
        } else {
            msgs[i].msg_len as usize
        };
        batch.from[i] = from.unwrap_or(batch.from[i]);
    }
    batch.n = n;
    Ok(n)
}

#[cfg(target_os = "linux")]
fn socket_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};
    match s.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in, which fits in sockaddr_storage.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Elsewhere: one read per packet, until the socket would block.
#[cfg(not(target_os = "linux"))]
pub fn recv(sock: &UdpSocket, batch: &mut Batch) -> io::Result<usize> {
    batch.n = 0;
    while batch.n < BATCH {
        match sock.recv_from(&mut batch.bufs[batch.n][..]) {
            Ok((len, from)) => {
                batch.lens[batch.n] = len;
                batch.from[batch.n] = from;
                batch.n += 1;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && batch.n > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(batch.n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.set_nonblocking(true).unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        (a, b)
    }

    fn settle() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    #[test]
    fn reads_what_arrived_in_order_with_its_source() {
        let (a, b) = pair();
        for i in 0..3u8 {
            b.send_to(&[i; 172], a.local_addr().unwrap()).unwrap();
        }
        settle();
        let mut batch = Batch::default();
        assert_eq!(recv(&a, &mut batch).unwrap(), 3);
        let got: Vec<_> = batch.packets().collect();
        for (i, (data, from)) in got.iter().enumerate() {
            assert_eq!(*data, &[i as u8; 172][..]);
            assert_eq!(*from, b.local_addr().unwrap());
        }
        // Drained: the next read says so rather than waiting.
        let e = recv(&a, &mut batch).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(batch.packets().count(), 0);
    }

    #[test]
    fn a_full_batch_leaves_the_rest_for_the_next_read() {
        let (a, b) = pair();
        for i in 0..(BATCH as u8 + 2) {
            b.send_to(&[i; 20], a.local_addr().unwrap()).unwrap();
        }
        settle();
        let mut batch = Batch::default();
        assert_eq!(recv(&a, &mut batch).unwrap(), BATCH);
        assert_eq!(recv(&a, &mut batch).unwrap(), 2);
        assert_eq!(batch.packets().next().unwrap().0, &[BATCH as u8; 20][..]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_oversized_datagram_reads_as_empty() {
        let (a, b) = pair();
        b.send_to(&[7; MAX_PACKET + 100], a.local_addr().unwrap()).unwrap();
        b.send_to(&[8; 10], a.local_addr().unwrap()).unwrap();
        settle();
        let mut batch = Batch::default();
        assert_eq!(recv(&a, &mut batch).unwrap(), 2);
        let got: Vec<_> = batch.packets().map(|(d, _)| d.to_vec()).collect();
        assert!(got[0].is_empty());
        assert_eq!(got[1], vec![8; 10]);
    }
}
