//! Settings: the checked-in `config/default.toml`, then an optional file, then `HUB_…`
//! environment variables. One struct; unknown keys are refused with their names.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address and port the HTTP server listens on.
    pub listen: String,
    /// Directory for the embedded SQLite store when `database_url` is empty.
    pub data_dir: PathBuf,
    /// Store of record: empty for SQLite under `data_dir`, or `postgres://…`.
    pub database_url: String,
    /// Redis URL for the cross-node bus; empty for the in-process bus.
    pub redis_url: String,
    /// Redis channel shared by the nodes of one installation.
    pub bus_channel: String,
    /// HTTP worker threads; 0 for one per CPU core.
    pub workers: usize,
    /// Mark session cookies `Secure` (serve over HTTPS).
    pub secure_cookies: bool,
    /// Log filter (tracing syntax); `RUST_LOG` wins when set.
    pub log: String,
    /// Base URL people reach the hub at, for the links in QR codes; empty: each request's host.
    pub public_url: String,
    /// Bearer token for `/metrics`; empty: only scrapers on this machine are answered.
    pub metrics_token: String,
    /// What one client address may create anonymously in 10 minutes (new chat visitors and
    /// registrar tickets together); 0: no limit (load tests, a hub behind a proxy that limits).
    pub anonymous_limit: usize,
    /// Uploads not sent in a message within this many seconds are deleted.
    pub upload_unsent_secs: u64,
    /// Unsent uploads one client address may hold, megabytes (all organisations together).
    pub upload_unsent_address_mb: u64,
    /// Unsent uploads one organisation may hold, megabytes.
    pub upload_unsent_org_mb: u64,
    /// Telegram Bot API base URL; a test or a local Bot API server points it elsewhere.
    pub telegram_api_url: String,
    /// Long-polling wait of the Telegram bots, seconds (1 to 15).
    pub telegram_poll_secs: u32,
    /// How soon another node takes over the Telegram bots of a node that stopped, seconds.
    pub telegram_lease_secs: u32,
    /// First wait before a Telegram file that failed to download is tried again, milliseconds;
    /// later waits grow from it (×5, ×15, ×60, ×300) over six tries in all.
    pub telegram_file_retry_ms: u64,
    /// Key tenants' secrets are sealed with at rest (64 hex characters); empty: the key file
    /// `secrets.key` in the data directory, made on first start.
    pub secrets_key: String,
    /// Keys secrets were sealed with before (while rotating): they open, and at start every
    /// secret is sealed again under `secrets_key`.
    pub secrets_key_previous: String,
    /// Internal networks the hub may connect to on a tenant admin's word (mailboxes' IMAP and
    /// SMTP servers, trunks' proxies), as "10.0.0.0/8, fd00::/8"; empty: the public Internet only.
    pub egress_allow: String,
    /// Where the SMTP receiver listens ("127.0.0.1:2525"); empty: no receiver.
    pub email_smtp_listen: String,
    /// The SMTP server replies leave through when a mailbox names none; empty: none.
    pub email_smtp_relay: String,
    /// How often a mailbox whose server lacks IDLE is looked at, and the longest IDLE wait, seconds.
    pub email_poll_secs: u32,
    /// Largest mail taken, megabytes.
    pub email_max_mb: usize,
    /// PEM file of extra certificate authorities for IMAP over TLS; empty: the public ones.
    pub email_ca_file: String,
    /// Where the SIP endpoint listens (UDP, "0.0.0.0:5060"); empty: no telephony.
    pub sip_listen: String,
    /// The address phones and trunks reach the hub at (SDP, Contact); empty: the listening one.
    pub sip_public_ip: String,
    /// RTP ports for call media, "first-last" (one even port per call leg).
    pub sip_rtp_ports: String,
    /// Digest realm of the registrar; SIP accounts' credentials are bound to it.
    pub sip_realm: String,
    /// Key for the registrar's nonces, shared by the nodes; empty: a random one per start.
    pub sip_secret: String,
    /// How long a registrar challenge stays valid, seconds.
    pub sip_nonce_secs: u32,
    /// Failed authentications from one address within sip_lockout_window_secs before it is
    /// refused everything for sip_lockout_secs.
    pub sip_lockout_failures: u32,
    pub sip_lockout_window_secs: u32,
    pub sip_lockout_secs: u32,
    /// Calls at once on this node; more are refused (503).
    pub sip_max_calls: usize,
    /// How long an operator's phone rings before the call goes back to the queue, seconds.
    pub sip_ring_secs: u32,
    /// Text-to-speech engine: "auto" (RHVoice if installed, else espeak-ng), "rhvoice", "espeak-ng" or "off".
    pub speech_engine: String,
    /// Where Whisper models live (`hub models`); empty: `models` under `data_dir`.
    pub speech_models_dir: PathBuf,
    /// Recognition model to load: a name from `hub models list`, "auto" or "off".
    pub speech_model: String,
    /// Transcription worker threads (jobs at once) and CPU threads each job uses.
    pub speech_workers: usize,
    pub speech_threads: usize,
    /// Jobs that may wait; beyond it new recordings are kept but not transcribed.
    pub speech_queue_max: usize,
    /// Longest recording transcribed, seconds.
    pub speech_max_seconds: u64,
    /// Language spoken per channel, "telegram=ru,webchat=auto"; unnamed channels: detected.
    pub speech_languages: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

impl Settings {
    /// Loads the defaults, overlays `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut table: toml::Table = parse(DEFAULT_TOML, "config/default.toml")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let overlay = parse(&text, &path.display().to_string())?;
            for (k, v) in overlay {
                table.insert(k, v);
            }
            // Check the file's own keys now, so an unknown key is reported against the file.
            Self::from_table(table.clone(), &path.display().to_string())?;
        }
        apply_env(&mut table, std::env::vars())?;
        Self::from_table(table, "environment")
    }

    fn from_table(table: toml::Table, origin: &str) -> Result<Self, ConfigError> {
        Self::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })
    }

    /// The directory of Whisper models.
    pub fn models_dir(&self) -> PathBuf {
        if self.speech_models_dir.as_os_str().is_empty() {
            self.data_dir.join("models")
        } else {
            self.speech_models_dir.clone()
        }
    }

    /// The store URL: the configured one, or the SQLite file under the data directory.
    pub fn store_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("hub.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

fn parse(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| ConfigError::Parse {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// Overrides keys from `HUB_<KEY>` variables, typed like the default they replace.
/// `HUB_` variables that name no setting are refused, so a typo does not go unnoticed.
fn apply_env(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) -> Result<(), ConfigError> {
    for (var, value) in vars {
        let Some(key) = var.strip_prefix("HUB_") else {
            continue;
        };
        // Variables for the test harness and benchmarks are not settings.
        if key.starts_with("TEST_") || key.starts_with("BENCH_") {
            continue;
        }
        let key = key.to_ascii_lowercase();
        let Some(current) = table.get(&key) else {
            return Err(ConfigError::Env {
                var,
                message: format!("no setting named {key:?}"),
            });
        };
        let parsed = match current {
            toml::Value::String(_) => toml::Value::String(value),
            toml::Value::Integer(_) => toml::Value::Integer(value.parse().map_err(|_| ConfigError::Env {
                var: var.clone(),
                message: format!("{value:?} is not a whole number"),
            })?),
            toml::Value::Boolean(_) => toml::Value::Boolean(value.parse().map_err(|_| ConfigError::Env {
                var: var.clone(),
                message: format!("{value:?} is not true or false"),
            })?),
            _ => {
                return Err(ConfigError::Env {
                    var,
                    message: "this setting cannot be set from the environment".into(),
                })
            }
        };
        table.insert(key, parsed);
    }
    Ok(())
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            redis_url: String::new(),
            bus_channel: "hub:events".into(),
            workers: 0,
            secure_cookies: false,
            log: "info".into(),
            public_url: String::new(),
            metrics_token: String::new(),
            anonymous_limit: 60,
            upload_unsent_secs: 3600,
            upload_unsent_address_mb: 50,
            upload_unsent_org_mb: 1024,
            telegram_api_url: "https://api.telegram.org".into(),
            telegram_poll_secs: 10,
            telegram_lease_secs: 30,
            telegram_file_retry_ms: 2000,
            egress_allow: String::new(),
            secrets_key: String::new(),
            secrets_key_previous: String::new(),
            email_smtp_listen: String::new(),
            email_smtp_relay: String::new(),
            email_poll_secs: 60,
            email_max_mb: 25,
            email_ca_file: String::new(),
            sip_listen: String::new(),
            sip_public_ip: String::new(),
            sip_rtp_ports: "20000-29999".into(),
            sip_realm: "hub".into(),
            sip_secret: String::new(),
            sip_nonce_secs: 300,
            sip_lockout_failures: 5,
            sip_lockout_window_secs: 300,
            sip_lockout_secs: 900,
            sip_max_calls: 2000,
            sip_ring_secs: 30,
            speech_engine: "auto".into(),
            speech_models_dir: PathBuf::new(),
            speech_model: "auto".into(),
            speech_workers: 1,
            speech_threads: 2,
            speech_queue_max: 200,
            speech_max_seconds: 600,
            speech_languages: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_and_struct_agree() -> Result<(), ConfigError> {
        let table = parse(DEFAULT_TOML, "default")?;
        let from_file = Settings::from_table(table.clone(), "default")?;
        assert_eq!(from_file, Settings::default());
        // Every field is in the file: serialising the struct gives the same key set.
        let from_struct = toml::Table::try_from(Settings::default()).map_err(|e| ConfigError::Parse {
            origin: "struct".into(),
            message: e.to_string(),
        })?;
        let mut a: Vec<_> = table.keys().collect();
        let mut b: Vec<_> = from_struct.keys().collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        Ok(())
    }

    #[test]
    fn unknown_key_is_named() {
        let mut table = parse(DEFAULT_TOML, "default").unwrap_or_default();
        table.insert("listne".into(), toml::Value::String("x".into()));
        let err = Settings::from_table(table, "my.toml")
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("listne"), "{err}");
        assert!(err.contains("my.toml"), "{err}");
    }

    #[test]
    fn environment_overrides_with_types() -> Result<(), ConfigError> {
        let mut table = parse(DEFAULT_TOML, "default")?;
        let vars = [
            ("HUB_WORKERS", "3"),
            ("HUB_SECURE_COOKIES", "true"),
            ("HUB_LISTEN", "0.0.0.0:1"),
            ("PATH", "/bin"),
            ("HUB_TEST_X", "1"),
        ];
        apply_env(&mut table, vars.iter().map(|(a, b)| (a.to_string(), b.to_string())))?;
        let s = Settings::from_table(table, "env")?;
        assert_eq!(s.workers, 3);
        assert!(s.secure_cookies);
        assert_eq!(s.listen, "0.0.0.0:1");
        Ok(())
    }

    #[test]
    fn environment_typos_and_bad_values_are_refused() {
        let mut table = parse(DEFAULT_TOML, "default").unwrap_or_default();
        let bad = apply_env(&mut table, [("HUB_LISTN".to_string(), "x".to_string())].into_iter());
        assert!(matches!(bad, Err(ConfigError::Env { .. })));
        let bad = apply_env(
            &mut table,
            [("HUB_WORKERS".to_string(), "many".to_string())].into_iter(),
        );
        assert!(matches!(bad, Err(ConfigError::Env { .. })));
    }

    #[test]
    fn sqlite_under_data_dir_by_default() {
        let s = Settings {
            data_dir: PathBuf::from("/tmp/x"),
            ..Settings::default()
        };
        assert_eq!(s.store_url(), "sqlite:///tmp/x/hub.db");
    }
}
