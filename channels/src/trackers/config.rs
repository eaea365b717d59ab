//! The `[trackers]` section of the hub's settings: where vehicle trackers reach the hub.

use serde::{Deserialize, Serialize};

use crate::config::{within, SettingError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// OsmAnd and Traccar Client over HTTP, on the hub's own port at `/api/trackers/osmand`.
    pub osmand: bool,
    /// Teltonika Codec 8 and 8 Extended over TCP, "0.0.0.0:5027"; empty: off.
    pub teltonika_listen: String,
    /// Wialon IPS 1.1 and 2.0 over TCP, "0.0.0.0:20332"; empty: off.
    pub wialon_listen: String,
    /// Connections held at once per listener (10 to 100000); more are closed as they come.
    pub max_connections: usize,
    /// A connection silent this long is closed (a tracker gone without a FIN), seconds (30 to 86400).
    pub idle_secs: u64,
    /// A new connection must say who it is within this, seconds (1 to 300).
    pub login_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            osmand: true,
            teltonika_listen: String::new(),
            wialon_listen: String::new(),
            max_connections: 20_000,
            idle_secs: 900,
            login_secs: 20,
        }
    }
}

impl Config {
    pub fn validate(&self) -> Result<(), SettingError> {
        within("trackers.max_connections", self.max_connections, 10, 100_000)?;
        within("trackers.idle_secs", self.idle_secs, 30, 86_400)?;
        within("trackers.login_secs", self.login_secs, 1, 300)?;
        for (key, v) in [
            ("trackers.teltonika_listen", &self.teltonika_listen),
            ("trackers.wialon_listen", &self.wialon_listen),
        ] {
            if !v.is_empty() && v.parse::<std::net::SocketAddr>().is_err() {
                return Err(SettingError::new(
                    key,
                    format!("{v:?} is not an address and port, like 0.0.0.0:5027"),
                ));
            }
        }
        Ok(())
    }
}
