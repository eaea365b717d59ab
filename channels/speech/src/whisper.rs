//! Speech recognition with whisper.cpp (through whisper-rs) on ggml models.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Instant;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use crate::error::{Result, SpeechError};
use crate::ggml::{self, Hparams};

/// The shortest audio worth recognising; below it Whisper invents words.
const MIN_SAMPLES: usize = 16_000 / 5;

/// A loaded model. One context serves many jobs; each job has its own state.
pub struct Model {
    ctx: WhisperContext,
    pub hparams: Hparams,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub text: String,
    /// The language spoken, detected or as asked ("ru", "en").
    pub lang: String,
    pub audio_ms: u64,
    pub took_ms: u64,
}

static LOG_HOOK: Once = Once::new();

/// Encoder frames (of 1500 per 30 s) for a recording shorter than the window: its length plus
/// about 1.3 s, and never under about 8 s (very short windows make Whisper invent words).
fn audio_ctx(samples: usize) -> Option<i32> {
    let secs = samples as f64 / 16_000.0;
    (secs < 28.0).then(|| (((secs / 30.0) * 1500.0).ceil() as i32 + 64).clamp(400, 1500))
}

impl Model {
    /// Loads a ggml model; the header is checked first so a corrupt file gets a reason rather
    /// than whisper.cpp's bare failure.
    pub fn load(path: &Path) -> Result<Self> {
        // whisper.cpp logs every load to stderr; route it through `tracing` instead.
        LOG_HOOK.call_once(whisper_rs::install_logging_hooks);
        let hparams = ggml::inspect(path)?;
        let mut params = WhisperContextParameters::default();
        // Flash attention: about a tenth faster on the CPU, same words.
        params.flash_attn(true);
        let ctx = WhisperContext::new_with_params(path, params)
            .map_err(|e| SpeechError::BadModel(format!("{}: whisper.cpp could not load it ({e})", path.display())))?;
        Ok(Self { ctx, hparams })
    }

    pub fn multilingual(&self) -> bool {
        self.ctx.is_multilingual()
    }

    /// Recognises 16 kHz mono samples. `lang` None detects the language (multilingual models);
    /// `progress` hears 0..=100; setting `cancel` stops the work early.
    pub fn transcribe(
        &self,
        samples: &[f32],
        lang: Option<&str>,
        threads: usize,
        max_seconds: u64,
        mut progress: impl FnMut(i32) + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<Transcript> {
        if samples.len() < MIN_SAMPLES {
            return Err(SpeechError::EmptyAudio);
        }
        if samples.len() as u64 > max_seconds * 16_000 {
            return Err(SpeechError::AudioTooLong(max_seconds));
        }
        let started = Instant::now();
        let lang = if self.multilingual() {
            lang.unwrap_or("auto")
        } else {
            "en"
        };
        let mut state = self
            .ctx
            .create_state()
            .map_err(|e| SpeechError::Recognition(e.to_string()))?;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(threads.max(1) as i32);
        params.set_language(Some(lang));
        params.set_translate(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_suppress_blank(true);
        // The encoder always works on a 30 s window; for a shorter recording, tell it how much
        // of the window holds audio (with a margin). Measured on an 18.6 s clip with base: 2.1 s
        // instead of 3.1 s, the same words.
        if let Some(ctx) = audio_ctx(samples.len()) {
            params.set_audio_ctx(ctx);
        }
        params.set_progress_callback_safe(move |p: i32| progress(p));
        // whisper-rs 0.16's `set_abort_callback_safe` casts its boxed closure to the wrong type
        // (it reads a fat pointer as the closure) and aborts at random; set the C callback
        // directly, with the flag as its data.
        unsafe extern "C" fn aborted(flag: *mut std::ffi::c_void) -> bool {
            // SAFETY: `flag` is the AtomicBool kept alive by `cancel` until `full` returns.
            unsafe { (*(flag as *const AtomicBool)).load(Ordering::Relaxed) }
        }
        // SAFETY: the pointer stays valid for the whole `full` call below (`cancel` is held).
        unsafe {
            params.set_abort_callback(Some(aborted));
            params.set_abort_callback_user_data(Arc::as_ptr(&cancel) as *mut std::ffi::c_void);
        }
        state
            .full(params, samples)
            .map_err(|e| SpeechError::Recognition(e.to_string()))?;
        drop(cancel);
        let mut text = String::new();
        for seg in state.as_iter() {
            let s = seg
                .to_str_lossy()
                .map_err(|e| SpeechError::Recognition(e.to_string()))?;
            text.push_str(&s);
        }
        let detected = whisper_rs::get_lang_str(state.full_lang_id_from_state()).unwrap_or(lang);
        Ok(Transcript {
            text: text.trim().to_string(),
            lang: detected.to_string(),
            audio_ms: samples.len() as u64 * 1000 / 16_000,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn audio_ctx_follows_the_recording() {
        assert_eq!(super::audio_ctx(16_000 * 2), Some(400));
        assert_eq!(super::audio_ctx(16_000 * 15), Some(814));
        assert_eq!(super::audio_ctx(16_000 * 29), None);
        assert_eq!(super::audio_ctx(16_000 * 60), None);
    }
}
