//! The `[email]` section of the hub's settings.

use serde::{Deserialize, Serialize};

use super::Settings;
use crate::config::{within, SettingError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the SMTP receiver listens ("127.0.0.1:2525"); empty: no receiver.
    pub smtp_listen: String,
    /// The SMTP server replies leave through when a mailbox names none; empty: none.
    pub smtp_relay: String,
    /// How often a mailbox whose server lacks IDLE is looked at, and the longest IDLE wait,
    /// seconds (1 to 1500).
    pub poll_secs: u32,
    /// Largest mail taken, megabytes (1 to 200).
    pub max_mb: usize,
    /// PEM file of extra certificate authorities for IMAP over TLS; empty: the public ones.
    pub ca_file: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            smtp_listen: String::new(),
            smtp_relay: String::new(),
            poll_secs: 60,
            max_mb: 25,
            ca_file: String::new(),
        }
    }
}

impl Config {
    pub fn validate(&self) -> Result<(), SettingError> {
        if !self.smtp_listen.is_empty() && self.smtp_listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(SettingError::new(
                "email.smtp_listen",
                format!("{:?} is not ip:port", self.smtp_listen),
            ));
        }
        within("email.poll_secs", self.poll_secs, 1, 1500)?;
        within("email.max_mb", self.max_mb, 1, 200)
    }

    /// The bridge's settings on this node.
    pub fn settings(&self, host: &str, node: &str, egress: hub_actors::model::egress::Egress) -> Settings {
        let given = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
        Settings {
            smtp_listen: given(&self.smtp_listen),
            smtp_relay: given(&self.smtp_relay),
            host: host.to_string(),
            poll_secs: self.poll_secs,
            max_bytes: self.max_mb * 1024 * 1024,
            ca_file: given(&self.ca_file),
            node: node.to_string(),
            egress,
        }
    }
}
