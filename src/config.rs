//! Settings: the checked-in `config/default.toml`, then an optional file, then `HUB_…`
//! environment variables. The hub's own keys at the top; each bridge's in its section
//! (`[telegram]`, `[email]`, `[sip]`, `[speech]`, `[trackers]`), declared and checked by the bridge. Unknown
//! keys are refused with their names, values out of range with theirs.

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
    /// The map page's tiles: a URL with {z}, {x} and {y} (and {s} for subdomains), and the
    /// attribution its owner asks for.
    pub map_tiles: String,
    pub map_attribution: String,
    /// A vehicle whose tracker sends nothing this long is offline: supervisors are told, and
    /// so is the history of the request it is on its way to, seconds (5 to 86400).
    pub vehicle_offline_secs: u64,
    /// What one client address may create anonymously in 10 minutes (new chat visitors and
    /// registrar tickets together); 0: no limit (load tests, a hub behind a proxy that limits).
    pub anonymous_limit: usize,
    /// Uploads not sent in a message within this many seconds are deleted.
    pub upload_unsent_secs: u64,
    /// Unsent uploads one client address may hold, megabytes (all organisations together).
    pub upload_unsent_address_mb: u64,
    /// Unsent uploads one organisation may hold, megabytes.
    pub upload_unsent_org_mb: u64,
    /// How long a stopping hub waits for requests in flight and its tasks to finish, seconds
    /// (1 to 300).
    pub stop_grace_secs: u64,
    /// How long an operator's console may be gone (a reload, a network drop) before they are
    /// signed off: their chats go to others and a visitor they called goes back in line, seconds
    /// (1 to 600).
    pub console_grace_secs: u64,
    /// Key tenants' secrets are sealed with at rest (64 hex characters); empty: the key file
    /// `secrets.key` in the data directory, made on first start.
    pub secrets_key: String,
    /// Keys secrets were sealed with before (while rotating): they open, and at start every
    /// secret is sealed again under `secrets_key`.
    pub secrets_key_previous: String,
    /// Internal networks the hub may connect to on a tenant admin's word (mailboxes' IMAP and
    /// SMTP servers, trunks' proxies), as "10.0.0.0/8, fd00::/8"; empty: the public Internet only.
    pub egress_allow: String,
    /// `[telegram]`: the Telegram bridge.
    pub telegram: hub_channels::telegram::config::Config,
    /// `[email]`: the e-mail bridge.
    pub email: hub_channels::email::config::Config,
    /// `[sip]`: telephony.
    pub sip: hub_channels::sip::config::Config,
    /// `[speech]`: speech synthesis and recognition.
    pub speech: hub_channels::speech::config::Config,
    /// `[trackers]`: vehicle trackers.
    pub trackers: hub_channels::trackers::config::Config,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("setting {0}")]
    Invalid(#[from] hub_channels::config::SettingError),
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
                // A section in the file changes only the keys it names.
                if let (toml::Value::Table(section), Some(toml::Value::Table(into))) = (&v, table.get_mut(&k)) {
                    into.extend(section.clone());
                    continue;
                }
                match legacy(&table, &k) {
                    Some((section, key)) => {
                        section_mut(&mut table, section).insert(key, v);
                    }
                    None => {
                        table.insert(k, v);
                    }
                }
            }
            // Check the file's own keys now, so an unknown key is reported against the file.
            Self::from_table(table.clone(), &path.display().to_string())?;
        }
        apply_env(&mut table, std::env::vars())?;
        let settings = Self::from_table(table, "environment")?;
        settings.validate()?;
        Ok(settings)
    }

    fn from_table(table: toml::Table, origin: &str) -> Result<Self, ConfigError> {
        Self::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })
    }

    /// Checks every value's range and form, the hub's own and each section's.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use hub_channels::config::{within, SettingError};
        within("workers", self.workers, 0, 1024)?;
        hub_web::map::Tiles::new(&self.map_tiles, &self.map_attribution)
            .map_err(|e| SettingError::new("map_tiles", e))?;
        within("upload_unsent_secs", self.upload_unsent_secs, 1, 86_400)?;
        within("upload_unsent_address_mb", self.upload_unsent_address_mb, 1, 1 << 20)?;
        within("upload_unsent_org_mb", self.upload_unsent_org_mb, 1, 1 << 24)?;
        within("stop_grace_secs", self.stop_grace_secs, 1, 300)?;
        within("console_grace_secs", self.console_grace_secs, 1, 600)?;
        within("vehicle_offline_secs", self.vehicle_offline_secs, 5, 86_400)?;
        hub_actors::model::egress::Egress::parse(&self.egress_allow)
            .map_err(|e| SettingError::new("egress_allow", e.to_string()))?;
        self.telegram.validate()?;
        self.email.validate()?;
        self.sip.validate()?;
        self.speech.validate()?;
        self.trackers.validate()?;
        Ok(())
    }

    /// The directory of Whisper models.
    pub fn models_dir(&self) -> PathBuf {
        if self.speech.models_dir.as_os_str().is_empty() {
            self.data_dir.join("models")
        } else {
            self.speech.models_dir.clone()
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

/// The sections of the settings (each a bridge's).
const SECTIONS: [&str; 4] = ["telegram", "email", "sip", "speech"];

/// A key in the flat spelling of earlier versions (`sip_listen`) as its section and key
/// (`[sip] listen`), when it is one.
fn legacy(table: &toml::Table, key: &str) -> Option<(&'static str, String)> {
    let section = SECTIONS
        .into_iter()
        .find(|s| key.strip_prefix(s).is_some_and(|rest| rest.starts_with('_')))?;
    let rest = &key[section.len() + 1..];
    match table.get(section) {
        Some(toml::Value::Table(t)) if t.contains_key(rest) => Some((section, rest.to_string())),
        _ => None,
    }
}

fn section_mut<'a>(table: &'a mut toml::Table, section: &str) -> &'a mut toml::Table {
    let entry = table
        .entry(section.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if !entry.is_table() {
        *entry = toml::Value::Table(toml::Table::new());
    }
    match entry {
        toml::Value::Table(t) => t,
        _ => unreachable!("made a table just above"),
    }
}

/// Overrides keys from `HUB_<KEY>` variables, typed like the default they replace: a key of a
/// section is `HUB_<SECTION>__<KEY>` (`HUB_SIP__LISTEN`), or in the older spelling with one
/// underscore (`HUB_SIP_LISTEN`). `HUB_` variables that name no setting are refused, so a typo
/// does not go unnoticed.
fn apply_env(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) -> Result<(), ConfigError> {
    for (var, value) in vars {
        let Some(key) = var.strip_prefix("HUB_") else {
            continue;
        };
        // Variables for the test harness and benchmarks are not settings.
        if key.starts_with("TEST_") || key.starts_with("BENCH_") || key.starts_with("E2E_") {
            continue;
        }
        let key = key.to_ascii_lowercase();
        let (section, name) = match key.split_once("__") {
            Some((section, name)) => (Some(section.to_string()), name.to_string()),
            None if table.get(&key).is_some_and(|v| !v.is_table()) => (None, key.clone()),
            None => match legacy(table, &key) {
                Some((section, name)) => (Some(section.to_string()), name),
                None => (None, key.clone()),
            },
        };
        let within = match &section {
            None => &mut *table,
            Some(s) => match table.get_mut(s) {
                Some(toml::Value::Table(t)) => t,
                _ => {
                    return Err(ConfigError::Env {
                        var,
                        message: format!("no settings section named {s:?}"),
                    })
                }
            },
        };
        let Some(current) = within.get(&name).filter(|v| !v.is_table()) else {
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
        within.insert(name, parsed);
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
            map_tiles: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            map_attribution: "© OpenStreetMap contributors".into(),
            vehicle_offline_secs: 600,
            metrics_token: String::new(),
            anonymous_limit: 60,
            upload_unsent_secs: 3600,
            upload_unsent_address_mb: 50,
            upload_unsent_org_mb: 1024,
            stop_grace_secs: 10,
            console_grace_secs: 20,
            egress_allow: String::new(),
            secrets_key: String::new(),
            secrets_key_previous: String::new(),
            telegram: Default::default(),
            email: Default::default(),
            sip: Default::default(),
            speech: Default::default(),
            trackers: Default::default(),
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
        assert_eq!(keys(&table), keys(&from_struct));
        Ok(())
    }

    /// Every key, a section's as `section.key`, sorted.
    fn keys(table: &toml::Table) -> Vec<String> {
        let mut all = Vec::new();
        for (k, v) in table {
            match v {
                toml::Value::Table(t) => all.extend(t.keys().map(|n| format!("{k}.{n}"))),
                _ => all.push(k.clone()),
            }
        }
        all.sort();
        all
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
    fn sections_from_the_environment_in_both_spellings() -> Result<(), ConfigError> {
        let mut table = parse(DEFAULT_TOML, "default")?;
        let vars = [
            ("HUB_SIP__LISTEN", "127.0.0.1:5070"),
            ("HUB_SIP_RTP_PORTS", "30000-30100"),
            ("HUB_EMAIL_SMTP_LISTEN", "127.0.0.1:2525"),
            ("HUB_TELEGRAM__POLL_SECS", "3"),
            ("HUB_UPLOAD_UNSENT_SECS", "4"),
        ];
        apply_env(&mut table, vars.iter().map(|(a, b)| (a.to_string(), b.to_string())))?;
        let s = Settings::from_table(table, "env")?;
        assert_eq!(s.sip.listen, "127.0.0.1:5070");
        assert_eq!(s.sip.rtp_ports, "30000-30100");
        assert_eq!(s.email.smtp_listen, "127.0.0.1:2525");
        assert_eq!(s.telegram.poll_secs, 3);
        assert_eq!(s.upload_unsent_secs, 4);
        let mut table = parse(DEFAULT_TOML, "default")?;
        for bad in ["HUB_SIP__LISTN", "HUB_SIPP__LISTEN", "HUB_SIP"] {
            let r = apply_env(&mut table, [(bad.to_string(), "x".to_string())].into_iter());
            assert!(matches!(r, Err(ConfigError::Env { .. })), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn a_file_changes_only_the_keys_it_names() -> Result<(), ConfigError> {
        let dir = std::env::temp_dir().join(format!("hub-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|source| ConfigError::Read {
            path: dir.clone(),
            source,
        })?;
        let file = dir.join("hub.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9\"\nemail_poll_secs = 7\n[sip]\nring_secs = 20\n",
        )
        .map_err(|source| ConfigError::Read {
            path: file.clone(),
            source,
        })?;
        let s = Settings::load(Some(&file))?;
        assert_eq!(s.listen, "0.0.0.0:9");
        assert_eq!(s.sip.ring_secs, 20);
        assert_eq!(s.sip.realm, "hub", "the rest of the section keeps its defaults");
        assert_eq!(
            s.email.poll_secs, 7,
            "a key in the older flat spelling lands in its section"
        );
        std::fs::write(&file, "[sip]\nring_secs = 2\n").map_err(|source| ConfigError::Read {
            path: file.clone(),
            source,
        })?;
        let e = Settings::load(Some(&file))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("sip.ring_secs") && e.contains("5 to 300"), "{e}");
        std::fs::write(&file, "[sip]\nring = 20\n").map_err(|source| ConfigError::Read {
            path: file.clone(),
            source,
        })?;
        let e = Settings::load(Some(&file))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("ring"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
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
