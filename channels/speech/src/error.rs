//! The speech crate's errors. Each says what was wrong in words an administrator can act on;
//! the web layer maps them once to HTTP statuses.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SpeechError {
    /// Text the engine must not see (control characters, empty, too long).
    #[error("text refused: {0}")]
    BadText(String),
    #[error("template refused: {0}")]
    BadTemplate(TemplateError),
    #[error("unsupported audio: {0}")]
    UnsupportedAudio(String),
    #[error("audio is empty (no samples)")]
    EmptyAudio,
    #[error("audio is too long: at most {0} s are taken")]
    AudioTooLong(u64),
    /// No engine could be loaded (espeak-ng not installed, say).
    #[error("speech synthesis is unavailable: {0}")]
    EngineUnavailable(String),
    #[error("speech synthesis failed: {0}")]
    Synthesis(String),
    #[error("model file refused: {0}")]
    BadModel(String),
    #[error("speech recognition is unavailable: {0}")]
    RecognitionUnavailable(String),
    #[error("speech recognition failed: {0}")]
    Recognition(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What is wrong with an announcement phrase, for the page to say in its reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// Text the engine must not see (control characters, empty, too long).
    #[error("{0}")]
    Text(String),
    #[error("a '{{' or '}}' without its pair")]
    Unbalanced,
    #[error("unknown placeholder {{{0}}} (known: ticket, window, number, position, minutes, time, amount)")]
    Unknown(String),
}

pub type Result<T> = std::result::Result<T, SpeechError>;
