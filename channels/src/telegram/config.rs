//! The `[telegram]` section of the hub's settings.

use serde::{Deserialize, Serialize};

use super::Settings;
use crate::config::{within, SettingError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Telegram Bot API base URL; a test or a local Bot API server points it elsewhere.
    pub api_url: String,
    /// Long-polling wait of the bots, seconds (1 to 15).
    pub poll_secs: u32,
    /// How soon another node takes over the bots of a node that stopped, seconds (1 to 3600).
    pub lease_secs: u32,
    /// First wait before a file that failed to download is tried again, milliseconds (10 to
    /// 3,600,000); later waits grow from it (×5, ×15, ×60, ×300) over six tries in all.
    pub file_retry_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api_url: "https://api.telegram.org".into(),
            poll_secs: 10,
            lease_secs: 30,
            file_retry_ms: 2000,
        }
    }
}

impl Config {
    pub fn validate(&self) -> Result<(), SettingError> {
        url::Url::parse(&self.api_url)
            .map_err(|_| SettingError::new("telegram.api_url", format!("{:?} is not a URL", self.api_url)))?;
        within("telegram.poll_secs", self.poll_secs, 1, 15)?;
        within("telegram.lease_secs", self.lease_secs, 1, 3600)?;
        within("telegram.file_retry_ms", self.file_retry_ms, 10, 3_600_000)
    }

    /// The bridge's settings on this node.
    pub fn settings(&self, public_url: &str, node: &str) -> Settings {
        Settings {
            api_url: self.api_url.clone(),
            public_url: public_url.to_string(),
            poll_timeout_secs: self.poll_secs,
            lease_secs: self.lease_secs,
            file_retry_ms: self.file_retry_ms,
            node: node.to_string(),
        }
    }
}
