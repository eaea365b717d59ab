//! The speech commands of the `hub` binary (`hub say`, `hub transcribe`).

use std::path::Path;
#[cfg(feature = "whisper")]
use std::sync::Arc;

use hub_speech::{audio, cache::SegmentCache, engine, phrase, say::Lang};

use crate::config::Settings;

/// Synthesises `text` (through an in-memory segment cache) as WAV or raw G.711 bytes.
pub fn say(engine: &str, text: &str, lang: &str, format: &str) -> Result<Vec<u8>, String> {
    let lang = Lang::parse(lang).ok_or("lang must be ru or en")?;
    let engine = engine::choose(engine).map_err(|e| e.to_string())?;
    let cache = SegmentCache::new(engine, None).map_err(|e| e.to_string())?;
    let segments = phrase::text(text, lang).map_err(|e| e.to_string())?;
    let pcm = cache.render(&segments, lang).map_err(|e| e.to_string())?;
    Ok(match format {
        "wav" => audio::wav(&pcm),
        "pcmu" => audio::g711(&pcm, audio::G711::Pcmu),
        "pcma" => audio::g711(&pcm, audio::G711::Pcma),
        _ => return Err("format must be wav, pcmu or pcma".into()),
    })
}

#[cfg(feature = "whisper")]
pub fn transcribe(settings: &Settings, file: &Path, model: &str, lang: Option<&str>) -> Result<String, String> {
    let path = crate::models::choose(&settings.models_dir(), model)
        .ok_or("no model: install one (hub models convert --help) or name it with --model")?;
    let model = hub_speech::whisper::Model::load(&path).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let pcm = audio::read_any(&bytes).map_err(|e| e.to_string())?;
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let t = model
        .transcribe(
            &pcm.to_whisper(),
            lang,
            settings.speech.threads,
            settings.speech.max_seconds,
            |_| {},
            cancel,
        )
        .map_err(|e| e.to_string())?;
    eprintln!(
        "{} s of audio in {:.2} s (real-time factor {:.3}), language {}",
        t.audio_ms as f64 / 1000.0,
        t.took_ms as f64 / 1000.0,
        t.took_ms as f64 / t.audio_ms.max(1) as f64,
        t.lang
    );
    Ok(t.text)
}

#[cfg(not(feature = "whisper"))]
pub fn transcribe(_: &Settings, _: &Path, _: &str, _: Option<&str>) -> Result<String, String> {
    Err("this hub was built without speech recognition: cargo build --release --features whisper (needs cmake)".into())
}
