//! The speech channel: announcements for boards (and later telephony) from the segment cache,
//! and the transcription service that turns contacts' recordings into text in their threads.
//!
//! Transcription jobs live in the store (queued with the message that carried the audio), so
//! they survive restarts and any node can take them. A fixed number of workers, each using a
//! fixed number of CPU threads, keeps recognition from starving calls and chats.

pub mod config;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use hub_actors::{store::speech::CallToSay, Hub};
use hub_speech::{
    audio::Pcm,
    cache::{CacheStats, SegmentCache},
    engine,
    phrase::{self, Template},
    say::{self, Lang},
    SpeechError,
};
use tokio_util::sync::CancellationToken;

/// What a board says when the organisation has not set its own phrase.
pub fn default_template(lang: Lang) -> &'static str {
    match lang {
        Lang::Ru => "Талон {ticket}, пройдите к окну {window}",
        Lang::En => "Ticket {ticket}, please go to window {window}",
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// "auto", "rhvoice", "espeak-ng" or "off".
    pub engine: String,
    /// Where synthesised segments are kept across restarts.
    pub cache_dir: Option<PathBuf>,
    /// The ggml model to load; None: recognition off.
    pub model: Option<PathBuf>,
    pub workers: usize,
    pub threads: usize,
    pub queue_max: usize,
    pub max_seconds: u64,
    /// Language spoken per channel ("telegram" → "ru"); missing: detected.
    pub languages: HashMap<String, String>,
    /// This node's name ("host/listen"), on the jobs it runs.
    pub node: String,
}

/// Figures for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct SpeechMetrics {
    pub engine: Option<String>,
    pub cache: CacheStats,
    pub model: Option<String>,
    pub jobs_done: u64,
    pub jobs_failed: u64,
    pub audio_ms: u64,
    pub compute_ms: u64,
    /// Percent done of the jobs running on this node (-1: none).
    pub progress: i64,
    /// The start-up warm-up of the cache is over.
    pub warm: bool,
}

#[derive(Default)]
struct Counters {
    jobs_done: AtomicU64,
    jobs_failed: AtomicU64,
    audio_ms: AtomicU64,
    compute_ms: AtomicU64,
    progress: AtomicI64,
    warm: std::sync::atomic::AtomicBool,
}

struct Inner {
    hub: Hub,
    tts: std::result::Result<Arc<SegmentCache>, String>,
    /// Set once the model has loaded.
    model_name: std::sync::OnceLock<String>,
    counters: Counters,
}

#[derive(Clone)]
pub struct Speech(Arc<Inner>);

impl Speech {
    /// Loads the engine and the model (each may be missing: that part is then reported
    /// unavailable and the hub runs on), starts the transcription workers and warms the cache.
    pub async fn start(hub: Hub, settings: Settings, stop: CancellationToken) -> Self {
        let engine_setting = settings.engine.clone();
        let cache_dir = settings.cache_dir.clone();
        let tts = tokio::task::spawn_blocking(move || {
            let engine = engine::choose(&engine_setting)?;
            SegmentCache::new(engine, cache_dir).map(Arc::new)
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
        match &tts {
            Ok(c) => tracing::info!(engine = c.engine_id(), "speech synthesis ready"),
            Err(e) => tracing::warn!(reason = %e, "speech synthesis unavailable; boards show calls without voice"),
        }
        let model_name = settings
            .model
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned());
        let speech = Speech(Arc::new(Inner {
            hub,
            tts,
            model_name: Default::default(),
            counters: Counters::default(),
        }));
        speech.0.counters.progress.store(-1, Ordering::Relaxed);
        let speech = recognition::start(speech, settings, model_name, stop).await;
        if let Ok(cache) = &speech.0.tts {
            let (cache, s) = (cache.clone(), speech.clone());
            tokio::task::spawn_blocking(move || {
                warm(&cache);
                s.0.counters.warm.store(true, Ordering::Relaxed);
            });
        }
        speech
    }

    /// An announcement of a called ticket, in the board's language, as WAV.
    pub async fn announcement(&self, call: CallToSay) -> Result<Vec<u8>, SpeechError> {
        let cache = self.cache()?;
        let lang = Lang::parse(&call.lang).unwrap_or(Lang::Ru);
        let template = match self.0.hub.store().speech_template(call.org_id, lang.code()).await {
            Ok(Some(t)) => t,
            Ok(None) => default_template(lang).to_string(),
            Err(e) => return Err(SpeechError::Synthesis(e.to_string())),
        };
        let template = Template::parse(&template)?;
        let values = HashMap::from([("ticket", call.number.as_str()), ("window", call.window.as_str())]);
        let segments = template.render(&values, lang)?;
        let pcm = render(cache, segments, lang).await?;
        Ok(hub_speech::audio::wav(&pcm))
    }

    /// Free text (a preview, a prompt) as PCM.
    pub async fn say(&self, text: &str, lang: Lang) -> Result<Pcm, SpeechError> {
        let cache = self.cache()?;
        let segments = phrase::text(text, lang)?;
        render(cache, segments, lang).await
    }

    /// Whether an engine is loaded, so boards can speak.
    pub fn can_speak(&self) -> bool {
        self.0.tts.is_ok()
    }

    fn cache(&self) -> Result<Arc<SegmentCache>, SpeechError> {
        self.0.tts.clone().map_err(SpeechError::EngineUnavailable)
    }

    pub fn metrics(&self) -> SpeechMetrics {
        let c = &self.0.counters;
        SpeechMetrics {
            engine: self.0.tts.as_ref().ok().map(|c| c.engine_id().to_string()),
            cache: self.0.tts.as_ref().map(|c| c.stats()).unwrap_or_default(),
            model: self.0.model_name.get().cloned(),
            jobs_done: c.jobs_done.load(Ordering::Relaxed),
            jobs_failed: c.jobs_failed.load(Ordering::Relaxed),
            audio_ms: c.audio_ms.load(Ordering::Relaxed),
            compute_ms: c.compute_ms.load(Ordering::Relaxed),
            progress: c.progress.load(Ordering::Relaxed),
            warm: c.warm.load(Ordering::Relaxed),
        }
    }
}

async fn render(cache: Arc<SegmentCache>, segments: Vec<phrase::Segment>, lang: Lang) -> Result<Pcm, SpeechError> {
    tokio::task::spawn_blocking(move || cache.render(&segments, lang))
        .await
        .map_err(|e| SpeechError::Synthesis(e.to_string()))?
}

/// Synthesises what nearly every announcement uses (number words, letters, the built-in
/// phrases) so the first calls of a new installation are as quick as the rest.
fn warm(cache: &SegmentCache) {
    let started = std::time::Instant::now();
    let mut n = 0;
    for lang in [Lang::Ru, Lang::En] {
        let mut words: Vec<phrase::Segment> = Vec::new();
        for v in (0..20).chain((20..100).step_by(10)).chain((100..1000).step_by(100)) {
            words.extend(say::number(v, lang).into_iter().map(phrase::Segment::Words));
        }
        for c in 'A'..='Z' {
            words.extend(
                say::ticket(&c.to_string(), lang)
                    .into_iter()
                    .map(phrase::Segment::Words),
            );
        }
        if let Ok(t) = Template::parse(default_template(lang)) {
            if let Ok(s) = t.render(&HashMap::from([("ticket", "A1"), ("window", "1")]), lang) {
                words.extend(s);
            }
        }
        n += words.len();
        if let Err(e) = cache.render(&words, lang) {
            tracing::warn!(error = %e, lang = lang.code(), "speech cache not warmed");
            return;
        }
    }
    tracing::info!(
        segments = n,
        ms = started.elapsed().as_millis() as u64,
        "speech cache warm"
    );
}

/// A voice message with no speech in it, as the thread keeps it: the pages word it in the
/// reader's language (the stored text is shared by every reader).
pub const NO_SPEECH: &str = "🎤";
/// A voice message that could not be transcribed; why is on its transcription job.
pub const NOT_TRANSCRIBED: &str = "🎤 ✕";

/// How a transcript reads in the thread.
pub fn transcript_note(text: &str) -> String {
    if text.trim().is_empty() {
        NO_SPEECH.to_string()
    } else {
        format!("🎤 {}", text.trim())
    }
}

#[cfg(feature = "whisper")]
mod recognition {
    use super::*;
    use hub_actors::{model::now_millis, store::speech::TranscriptionJob};
    use hub_speech::whisper::Model;
    use std::time::Duration;

    /// A running job's claim, renewed while it runs; a node that stops lets another node take
    /// the job after this (and takes it back itself at once when it restarts).
    const LEASE_MS: i64 = 2 * 60 * 1000;
    const RENEW: Duration = Duration::from_secs(30);
    const IDLE: Duration = Duration::from_millis(500);
    const MAX_ATTEMPTS: i64 = 3;

    pub(super) async fn start(
        speech: Speech,
        settings: Settings,
        name: Option<String>,
        stop: CancellationToken,
    ) -> Speech {
        let Some(path) = settings.model.clone() else {
            tracing::info!("speech recognition off (no model: see `hub models`)");
            return speech;
        };
        let loaded = tokio::task::spawn_blocking(move || Model::load(&path)).await;
        let model = match loaded {
            Ok(Ok(m)) => Arc::new(m),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "speech recognition off: the model did not load");
                return speech;
            }
            Err(e) => {
                tracing::error!(error = %e, "speech recognition off");
                return speech;
            }
        };
        tracing::info!(model = name.as_deref().unwrap_or("?"), kind = %model.hparams.describe(),
            workers = settings.workers, threads = settings.threads, "speech recognition ready");
        let _ = speech.0.model_name.set(name.unwrap_or_default());
        match speech.0.hub.store().requeue_transcriptions_of(&settings.node).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                jobs = n,
                "transcriptions this node was running before it stopped are queued again"
            ),
            Err(e) => tracing::warn!(error = %e, "could not take back this node's transcriptions"),
        }
        speech.0.hub.store().set_transcription_limit(settings.queue_max.max(1));
        let settings = Arc::new(settings);
        for _ in 0..settings.workers.max(1) {
            let (s, model, settings, stop) = (speech.clone(), model.clone(), settings.clone(), stop.clone());
            // A job a worker held when it panicked keeps its lease until it lapses, then any
            // worker takes it again.
            speech.0.hub.tasks().supervise("transcription worker", move || {
                worker(s.clone(), model.clone(), settings.clone(), stop.clone())
            });
        }
        speech
    }

    async fn worker(speech: Speech, model: Arc<Model>, settings: Arc<Settings>, stop: CancellationToken) {
        let store = speech.0.hub.store().clone();
        while !stop.is_cancelled() {
            match store.claim_transcription(&settings.node, now_millis(), LEASE_MS).await {
                Ok(Some(job)) => run(&speech, &model, &settings, job).await,
                Ok(None) => {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(IDLE) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "transcription queue unreachable; retrying");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                    }
                }
            }
        }
    }

    async fn run(speech: &Speech, model: &Arc<Model>, settings: &Settings, job: TranscriptionJob) {
        let store = speech.0.hub.store();
        let counters = &speech.0.counters;
        let outcome = async {
            let (mime, data) = store
                .audio_of(job.attachment_id)
                .await
                .map_err(|e| (e.to_string(), true))?;
            let pcm = hub_speech::audio::read_recording(&mime, &data).map_err(|e| (e.to_string(), false))?;
            let lang = settings.languages.get(&job.channel).cloned().filter(|l| l != "auto");
            let (model, threads, max) = (model.clone(), settings.threads, settings.max_seconds);
            let speech2 = speech.clone();
            let work = tokio::task::spawn_blocking(move || {
                let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let progress = move |p: i32| speech2.0.counters.progress.store(i64::from(p), Ordering::Relaxed);
                model.transcribe(&pcm.to_whisper(), lang.as_deref(), threads, max, progress, cancel)
            });
            tokio::pin!(work);
            let mut renew = tokio::time::interval(RENEW);
            renew.tick().await;
            let t = loop {
                tokio::select! {
                    done = &mut work => break done,
                    _ = renew.tick() => {
                        if let Err(e) = store.renew_transcription(job.id, now_millis() + LEASE_MS).await {
                            tracing::warn!(job = job.id, error = %e, "transcription lease not renewed");
                        }
                    }
                }
            };
            let t = t.map_err(|e| (e.to_string(), true))?.map_err(|e| {
                let retry = matches!(e, SpeechError::Recognition(_));
                (e.to_string(), retry)
            })?;
            Ok::<_, (String, bool)>(t)
        }
        .await;
        counters.progress.store(-1, Ordering::Relaxed);
        let now = now_millis();
        match outcome {
            Ok(t) => {
                counters.jobs_done.fetch_add(1, Ordering::Relaxed);
                counters.audio_ms.fetch_add(t.audio_ms, Ordering::Relaxed);
                counters.compute_ms.fetch_add(t.took_ms, Ordering::Relaxed);
                tracing::info!(job = job.id, attachment = job.attachment_id, lang = %t.lang, audio_ms = t.audio_ms,
                    took_ms = t.took_ms, "recording transcribed");
                if let Err(e) = store
                    .finish_transcription(job.id, &t.text, &t.lang, t.audio_ms as i64, t.took_ms as i64, now)
                    .await
                {
                    tracing::warn!(job = job.id, error = %e, "transcript not stored; the job will run again");
                    return;
                }
                note(speech, &job, transcript_note(&t.text)).await;
            }
            Err((error, retry)) => {
                let retry = retry && job.attempts < MAX_ATTEMPTS;
                if !retry {
                    counters.jobs_failed.fetch_add(1, Ordering::Relaxed);
                }
                tracing::warn!(job = job.id, attachment = job.attachment_id, %error, retry, "transcription failed");
                if let Err(e) = store.fail_transcription(job.id, &error, retry, now).await {
                    tracing::warn!(job = job.id, error = %e, "transcription failure not stored");
                    return;
                }
                if !retry {
                    note(speech, &job, NOT_TRANSCRIBED.to_string()).await;
                }
            }
        }
    }

    async fn note(speech: &Speech, job: &TranscriptionJob, body: String) {
        let client_id = format!("transcript:{}", job.attachment_id);
        if let Err(e) = speech
            .0
            .hub
            .post_system(job.org_id, job.conversation_id, body, client_id)
            .await
        {
            tracing::warn!(job = job.id, error = %e, "transcript not posted to the thread");
        }
    }
}

#[cfg(not(feature = "whisper"))]
mod recognition {
    use super::*;

    pub(super) async fn start(speech: Speech, settings: Settings, _: Option<String>, _: CancellationToken) -> Speech {
        if settings.model.is_some() {
            tracing::warn!("a speech model is set, but this hub was built without recognition (--features whisper)");
        } else {
            tracing::info!("speech recognition not built in (cargo build --release --features whisper)");
        }
        speech
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_read_as_notes() {
        assert_eq!(transcript_note("  Здравствуйте  "), "🎤 Здравствуйте");
        assert_eq!(transcript_note(" "), NO_SPEECH);
    }
}
