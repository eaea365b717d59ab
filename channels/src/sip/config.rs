//! The `[sip]` section of the hub's settings.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::Settings;
use crate::config::{within, SettingError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the SIP endpoint listens (UDP, "0.0.0.0:5060"); empty: no telephony.
    pub listen: String,
    /// The address phones and trunks reach the hub at (SDP, Contact); empty: the listening one.
    pub public_ip: String,
    /// RTP ports for call media, "first-last" above 1023 (one even port per call leg).
    pub rtp_ports: String,
    /// Digest realm of the registrar; SIP accounts' credentials are bound to it.
    pub realm: String,
    /// Key for the registrar's nonces, shared by the nodes; empty: a random one per start.
    pub secret: String,
    /// How long a registrar challenge stays valid, seconds (10 to 3600).
    pub nonce_secs: u32,
    /// Failed authentications from one address within `lockout_window_secs` (1 to 86400)
    /// before it is refused everything for `lockout_secs` (0 to 86400); 1 to 1000 failures.
    pub lockout_failures: u32,
    pub lockout_window_secs: u32,
    pub lockout_secs: u32,
    /// Calls at once on this node (1 to 100000); more are refused (503).
    pub max_calls: usize,
    /// How long an operator's phone rings before the call goes back to the queue, seconds (5 to 300).
    pub ring_secs: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: String::new(),
            public_ip: String::new(),
            rtp_ports: "20000-29999".into(),
            realm: "hub".into(),
            secret: String::new(),
            nonce_secs: 300,
            lockout_failures: 5,
            lockout_window_secs: 300,
            lockout_secs: 900,
            max_calls: 2000,
            ring_secs: 30,
        }
    }
}

impl Config {
    pub fn validate(&self) -> Result<(), SettingError> {
        if !self.listen.is_empty() {
            self.listen()?;
        }
        self.public_ip()?;
        self.rtp_ports()?;
        within("sip.nonce_secs", self.nonce_secs, 10, 3600)?;
        within("sip.lockout_failures", self.lockout_failures, 1, 1000)?;
        within("sip.lockout_window_secs", self.lockout_window_secs, 1, 86_400)?;
        within("sip.lockout_secs", self.lockout_secs, 0, 86_400)?;
        within("sip.max_calls", self.max_calls, 1, 100_000)?;
        within("sip.ring_secs", self.ring_secs, 5, 300)
    }

    fn listen(&self) -> Result<SocketAddr, SettingError> {
        self.listen
            .parse()
            .map_err(|_| SettingError::new("sip.listen", format!("{:?} is not ip:port", self.listen)))
    }

    fn public_ip(&self) -> Result<Option<IpAddr>, SettingError> {
        if self.public_ip.is_empty() {
            return Ok(None);
        }
        self.public_ip
            .parse()
            .map(Some)
            .map_err(|_| SettingError::new("sip.public_ip", format!("{:?} is not an IP address", self.public_ip)))
    }

    fn rtp_ports(&self) -> Result<(u16, u16), SettingError> {
        self.rtp_ports
            .split_once('-')
            .and_then(|(a, b)| Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?)))
            .filter(|(a, b)| a < b && *a >= 1024)
            .ok_or_else(|| {
                SettingError::new(
                    "sip.rtp_ports",
                    format!("{:?} is not first-last above 1023", self.rtp_ports),
                )
            })
    }

    /// The bridge's settings on this node; None when telephony is off (no `listen`).
    pub fn settings(&self, egress: hub_actors::model::egress::Egress) -> Result<Option<Settings>, SettingError> {
        if self.listen.is_empty() {
            return Ok(None);
        }
        self.validate()?;
        let (rtp_first, rtp_last) = self.rtp_ports()?;
        let secret = if self.secret.is_empty() {
            (0..32).map(|_| rand::random::<u8>()).collect()
        } else {
            self.secret.as_bytes().to_vec()
        };
        Ok(Some(Settings {
            listen: self.listen()?,
            public_ip: self.public_ip()?,
            rtp_first,
            rtp_last,
            realm: self.realm.clone(),
            secret,
            nonce_secs: self.nonce_secs as i64,
            lockout_limit: self.lockout_failures,
            lockout_window_secs: self.lockout_window_secs as i64,
            lockout_secs: self.lockout_secs as i64,
            max_calls: self.max_calls,
            ring_secs: self.ring_secs as u64,
            egress,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_value_names_its_key() {
        let bad = Config {
            rtp_ports: "9-8".into(),
            ..Config::default()
        };
        assert_eq!(bad.validate().err().map(|e| e.key), Some("sip.rtp_ports".to_string()));
        let bad = Config {
            ring_secs: 1,
            ..Config::default()
        };
        assert_eq!(bad.validate().err().map(|e| e.key), Some("sip.ring_secs".to_string()));
        let bad = Config {
            listen: "nowhere".into(),
            ..Config::default()
        };
        assert_eq!(bad.validate().err().map(|e| e.key), Some("sip.listen".to_string()));
        assert!(Config::default().validate().is_ok());
    }
}
