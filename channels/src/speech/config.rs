//! The `[speech]` section of the hub's settings.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::{within, SettingError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Text-to-speech engine: "auto" (RHVoice if installed, else espeak-ng), "rhvoice",
    /// "espeak-ng" or "off".
    pub engine: String,
    /// Where Whisper models live (`hub models`); empty: `models` under `data_dir`.
    pub models_dir: PathBuf,
    /// Recognition model to load: a name from `hub models list`, "auto" or "off".
    pub model: String,
    /// Transcription worker threads (jobs at once, 1 to 16) and CPU threads each job uses (1 to 64).
    pub workers: usize,
    pub threads: usize,
    /// Jobs that may wait (1 to 100000); beyond it new recordings are kept but not transcribed.
    pub queue_max: usize,
    /// Longest recording transcribed, seconds (1 to 14400).
    pub max_seconds: u64,
    /// Language spoken per channel, "telegram=ru,webchat=auto"; unnamed channels: detected.
    pub languages: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            engine: "auto".into(),
            models_dir: PathBuf::new(),
            model: "auto".into(),
            workers: 1,
            threads: 2,
            queue_max: 200,
            max_seconds: 600,
            languages: String::new(),
        }
    }
}

impl Config {
    pub fn validate(&self) -> Result<(), SettingError> {
        if !matches!(self.engine.as_str(), "auto" | "rhvoice" | "espeak-ng" | "off") {
            return Err(SettingError::new(
                "speech.engine",
                format!("{:?} is not auto, rhvoice, espeak-ng or off", self.engine),
            ));
        }
        within("speech.workers", self.workers, 1, 16)?;
        within("speech.threads", self.threads, 1, 64)?;
        within("speech.queue_max", self.queue_max, 1, 100_000)?;
        within("speech.max_seconds", self.max_seconds, 1, 4 * 3600)?;
        self.languages().map(|_| ())
    }

    /// The language per channel ("telegram" → "ru").
    pub fn languages(&self) -> Result<HashMap<String, String>, SettingError> {
        let mut languages = HashMap::new();
        for pair in self.languages.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (channel, lang) = pair
                .split_once('=')
                .ok_or_else(|| SettingError::new("speech.languages", format!("{pair:?} is not channel=lang")))?;
            if !matches!(lang.trim(), "ru" | "en" | "auto") {
                return Err(SettingError::new(
                    "speech.languages",
                    format!("{lang:?} is not ru, en or auto"),
                ));
            }
            languages.insert(channel.trim().to_string(), lang.trim().to_string());
        }
        Ok(languages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_read_and_checked() {
        let c = Config {
            languages: "telegram=ru, webchat = auto".into(),
            ..Config::default()
        };
        let l = c.languages().unwrap_or_default();
        assert_eq!(l.get("telegram").map(String::as_str), Some("ru"));
        assert_eq!(l.get("webchat").map(String::as_str), Some("auto"));
        let bad = Config {
            languages: "telegram=de".into(),
            ..Config::default()
        };
        assert!(bad.validate().is_err());
        let bad = Config {
            workers: 0,
            ..Config::default()
        };
        assert_eq!(bad.validate().err().map(|e| e.key), Some("speech.workers".to_string()));
    }
}
