//! Speech for the hub, independent of its actors and store: text-to-speech with a segment
//! cache (boards and telephony), audio formats (WAV, G.711), conversion of CTranslate2 Whisper
//! models to ggml, and speech recognition through whisper.cpp (feature `whisper`).

pub mod audio;
pub mod cache;
pub mod engine;
pub mod error;
pub mod ggml;
pub mod ogg;
mod opus;
pub mod phrase;
pub mod rhvoice;
pub mod say;
pub mod webm;
#[cfg(feature = "whisper")]
pub mod whisper;

pub use error::{Result, SpeechError, TemplateError};
