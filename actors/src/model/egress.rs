//! Where the hub may connect on a tenant's word (a mailbox's IMAP and SMTP servers, a trunk's
//! proxies): the public Internet, and of the internal networks only those the installation's
//! owner allowed (`egress_allow`). Loopback, private, link-local (cloud metadata at
//! 169.254.169.254 among them), shared, multicast and reserved addresses are refused, in IPv4
//! and IPv6, IPv4 written inside IPv6 (mapped, compatible, NAT64, 6to4) included. The check is
//! made on the addresses a name resolves to, at connect time, and the hub connects to the
//! address it checked, so a name that resolves elsewhere the next time (DNS rebinding) gains
//! nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A network, as `10.0.0.0/8` or `fd00::/8` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not a network (10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix is 0 to {max}"))?,
            None => max,
        };
        Ok(Net { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    if a[..full] != b[..full] {
        return false;
    }
    let rest = prefix % 8;
    rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0
}

/// An IPv4 address written inside an IPv6 one is that IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    let o = v6.octets();
    let v4 = |a: &[u8]| IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]));
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    // ::a.b.c.d (compatible, deprecated but routed by some stacks), not :: or ::1.
    if o[..12].iter().all(|b| *b == 0) && o[12..] != [0, 0, 0, 0] && o[12..] != [0, 0, 0, 1] {
        return v4(&o[12..]);
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002:a.b.c.d::/48) carry an IPv4 address.
    if o[..12] == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] {
        return v4(&o[12..]);
    }
    if o[..2] == [0x20, 0x02] {
        return v4(&o[2..6]);
    }
    ip
}

/// Whether an address is anything but the public Internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(a) => internal_v4(a),
        IpAddr::V6(a) => internal_v6(a),
    }
}

fn internal_v4(a: Ipv4Addr) -> bool {
    const NETS: &[([u8; 4], u8)] = &[
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24),
        ([192, 0, 2, 0], 24),
        ([192, 88, 99, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        ([224, 0, 0, 0], 4),
        ([240, 0, 0, 0], 4),
    ];
    NETS.iter().any(|(n, p)| prefix_eq(n, &a.octets(), *p))
}

fn internal_v6(a: Ipv6Addr) -> bool {
    const NETS: &[([u8; 2], u8)] = &[
        ([0xfc, 0x00], 7),  // unique local
        ([0xfe, 0x80], 10), // link-local
        ([0xfe, 0xc0], 10), // site-local (deprecated)
        ([0xff, 0x00], 8),  // multicast
    ];
    let o = a.octets();
    a.is_unspecified()
        || a.is_loopback()
        || NETS.iter().any(|(n, p)| prefix_eq(n, &o[..2], *p))
        || o[..4] == [0x20, 0x01, 0x0d, 0xb8] // documentation
        || o[..8] == [0x01, 0, 0, 0, 0, 0, 0, 0] // discard
}

/// The installation's rule: the public Internet, and the internal networks it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Egress {
    allowed: Vec<Net>,
}

impl Egress {
    /// From the setting: networks separated by commas or spaces; empty: none.
    pub fn parse(list: &str) -> Result<Self, String> {
        let allowed = list
            .split([',', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(Net::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Egress { allowed })
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        !is_internal(ip) || self.allowed.iter().any(|n| n.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_in_every_spelling_are_refused() {
        let none = Egress::default();
        for refused in [
            "127.0.0.1",
            "127.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
        ] {
            assert!(!none.permits(ip(refused)), "{refused}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(none.permits(ip(public)), "{public}");
        }
    }

    #[test]
    fn the_owner_allows_networks() {
        let e = Egress::parse("127.0.0.0/8, 10.20.0.0/16 fd00::/8").unwrap();
        assert!(e.permits(ip("127.0.0.1")));
        assert!(
            e.permits(ip("::ffff:127.0.0.1")),
            "mapped addresses match their IPv4 network"
        );
        assert!(e.permits(ip("10.20.3.4")));
        assert!(!e.permits(ip("10.21.0.1")));
        assert!(e.permits(ip("fd12::1")));
        assert!(!e.permits(ip("169.254.169.254")));
        assert_eq!(Egress::parse("").unwrap(), Egress::default());
        assert!(Egress::parse("10.0.0.0/33").is_err());
        assert!(Egress::parse("localhost").is_err());
        assert!(Net::parse("192.168.1.7").unwrap().contains(ip("192.168.1.7")));
        assert!(!Net::parse("192.168.1.7").unwrap().contains(ip("192.168.1.8")));
    }
}
