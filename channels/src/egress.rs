//! Connecting where a tenant's admin said (a mailbox's servers, a trunk's proxies) under the
//! installation's rule ([`hub_actors::model::egress`]): a name is resolved once, every address
//! it gives is checked, and the connection goes to an address that was checked. Failures are
//! told by class, never in the remote peer's own words (which could be an internal service's
//! banner), and never say more of an internal address than that it is refused.

use std::net::SocketAddr;
use std::time::Duration;

use hub_actors::model::egress::Egress;
use tokio::net::TcpStream;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("the server's name does not resolve")]
    Unresolved,
    #[error("the server's address is on an internal network the hub may not reach (see egress_allow)")]
    Refused,
    #[error("the server refused the connection")]
    ConnectionRefused,
    #[error("the server did not answer in time")]
    Timeout,
    #[error("the server cannot be reached")]
    Unreachable,
}

/// The addresses of `host:port` the rule permits; Refused when it resolves to none of them.
pub async fn resolve(egress: &Egress, host: &str, port: u16) -> Result<Vec<SocketAddr>, EgressError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<SocketAddr> =
        match tokio::time::timeout(Duration::from_secs(10), tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => addrs.collect(),
            _ => return Err(EgressError::Unresolved),
        };
    if found.is_empty() {
        return Err(EgressError::Unresolved);
    }
    let permitted: Vec<SocketAddr> = found.into_iter().filter(|a| egress.permits(a.ip())).collect();
    if permitted.is_empty() {
        return Err(EgressError::Refused);
    }
    Ok(permitted)
}

/// A TCP connection to `host:port`, to the first permitted address that answers.
pub async fn connect(egress: &Egress, host: &str, port: u16, timeout: Duration) -> Result<TcpStream, EgressError> {
    let mut last = EgressError::Unreachable;
    for addr in resolve(egress, host, port).await? {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => last = EgressError::ConnectionRefused,
            Ok(Err(_)) => last = EgressError::Unreachable,
            Err(_) => last = EgressError::Timeout,
        }
    }
    Err(last)
}

/// Whether a host as a tenant typed it is an address the rule refuses (checked when a mailbox
/// or trunk is saved, so the admin hears at once; names are checked when connecting).
pub fn refuses_literal(egress: &Egress, host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") || bare.to_ascii_lowercase().ends_with(".localhost") {
        return !egress.permits(std::net::IpAddr::from([127, 0, 0, 1]));
    }
    bare.parse::<std::net::IpAddr>().is_ok_and(|ip| !egress.permits(ip))
}

/// Whether a web address's host, as an HTTP client reads it (the WHATWG URL rules: `2130706433`,
/// `0x7f.1` and `127.1` are all 127.0.0.1), is an address the rule refuses, or a name that is
/// loopback by definition. A name that resolves to one is refused where it is resolved.
pub fn refuses_url(egress: &Egress, address: &str) -> bool {
    match url::Url::parse(address).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Ipv4(ip)) => !egress.permits(ip.into()),
        Some(url::Host::Ipv6(ip)) => !egress.permits(ip.into()),
        Some(url::Host::Domain(name)) => refuses_literal(egress, name),
        // Not a web address: nothing to connect to, nothing to refuse here.
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_web_address_is_read_as_a_client_reads_it() {
        let rule = Egress::default();
        for refused in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://127.1:8080/x",
            "http://017700000001/",
            "http://[::1]/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest",
            "http://LOCALHOST/",
            "http://api.localhost/",
        ] {
            assert!(refuses_url(&rule, refused), "{refused}");
        }
        for allowed in ["https://hooks.example.com/desk", "http://93.184.216.34/"] {
            assert!(!refuses_url(&rule, allowed), "{allowed}");
        }
        let lan = Egress::parse("10.0.0.0/8").unwrap();
        assert!(!refuses_url(&lan, "http://167772161/"), "10.0.0.1, allowed");
    }
}
