//! Synthesis engines. The default is espeak-ng, loaded at run time from Debian's
//! `libespeak-ng1` (package `espeak-ng`): in-process it costs about 2 ms per phrase, against
//! about 16 ms for starting the `espeak-ng` program each time, and loading it at run time means
//! the hub builds and runs without it (speech is then reported unavailable, nothing else
//! changes). espeak-ng keeps global state and is not thread-safe, so one thread owns it and
//! takes requests in turn.

use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::sync::mpsc;
use std::thread;

use crate::audio::Pcm;
use crate::error::{Result, SpeechError};
use crate::say::Lang;

/// A text-to-speech engine: words in, PCM out. Implementations are shared between threads.
pub trait Engine: Send + Sync {
    /// Names the engine and its voice settings; part of every cache key, so changing the engine
    /// or its speed never serves stale audio.
    fn id(&self) -> &str;
    fn synthesise(&self, words: &str, lang: Lang) -> Result<Pcm>;
}

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const INITIALIZE_DONT_EXIT: c_int = 0x8000;
const POS_CHARACTER: c_int = 1;
const CHARS_UTF8: c_uint = 1;
const PARAM_RATE: c_int = 1;
/// Words per minute: a little slower than espeak-ng's 175, as announcements in a hall should be.
const RATE_WPM: c_int = 150;

type SynthCallback = unsafe extern "C" fn(*mut i16, c_int, *mut c_void) -> c_int;

struct Api {
    _lib: libloading::Library,
    set_voice: unsafe extern "C" fn(*const c_char) -> c_int,
    synth: unsafe extern "C" fn(*const c_void, usize, c_uint, c_int, c_uint, c_uint, *mut c_uint, *mut c_void) -> c_int,
    rate: u32,
}

thread_local! {
    static BUFFER: std::cell::RefCell<Vec<i16>> = const { std::cell::RefCell::new(Vec::new()) };
}

unsafe extern "C" fn collect(wav: *mut i16, n: c_int, _events: *mut c_void) -> c_int {
    if !wav.is_null() && n > 0 {
        // SAFETY: espeak-ng hands a buffer of `n` samples that lives for this call.
        let chunk = unsafe { std::slice::from_raw_parts(wav, n as usize) };
        BUFFER.with(|b| b.borrow_mut().extend_from_slice(chunk));
    }
    0
}

impl Api {
    fn load() -> std::result::Result<Self, String> {
        // SAFETY: loading a system library whose initialisers are known (espeak-ng's).
        let lib = unsafe { libloading::Library::new("libespeak-ng.so.1") }
            .map_err(|e| format!("libespeak-ng.so.1 not found (install Debian's espeak-ng): {e}"))?;
        // SAFETY: the signatures below are espeak-ng's public C API (speak_lib.h).
        unsafe {
            let init: libloading::Symbol<unsafe extern "C" fn(c_int, c_int, *const c_char, c_int) -> c_int> =
                lib.get(b"espeak_Initialize\0").map_err(|e| e.to_string())?;
            let set_cb: libloading::Symbol<unsafe extern "C" fn(SynthCallback)> =
                lib.get(b"espeak_SetSynthCallback\0").map_err(|e| e.to_string())?;
            let set_param: libloading::Symbol<unsafe extern "C" fn(c_int, c_int, c_int) -> c_int> =
                lib.get(b"espeak_SetParameter\0").map_err(|e| e.to_string())?;
            let set_voice = *lib.get(b"espeak_SetVoiceByName\0").map_err(|e| e.to_string())?;
            let synth = *lib.get(b"espeak_Synth\0").map_err(|e| e.to_string())?;
            let rate = init(AUDIO_OUTPUT_SYNCHRONOUS, 0, std::ptr::null(), INITIALIZE_DONT_EXIT);
            if rate <= 0 {
                return Err("espeak_Initialize failed (is espeak-ng-data installed?)".into());
            }
            set_cb(collect);
            set_param(PARAM_RATE, RATE_WPM, 0);
            Ok(Self {
                _lib: lib,
                set_voice,
                synth,
                rate: rate as u32,
            })
        }
    }

    fn say(&self, words: &str, voice: &CString) -> std::result::Result<Pcm, String> {
        let text = CString::new(words).map_err(|_| "text with a NUL byte".to_string())?;
        BUFFER.with(|b| b.borrow_mut().clear());
        // SAFETY: NUL-terminated strings that outlive the calls; synchronous mode returns only
        // when synthesis is done, so the callback has run by then.
        let rc = unsafe {
            if (self.set_voice)(voice.as_ptr()) != 0 {
                return Err(format!("espeak-ng has no voice {voice:?}"));
            }
            let bytes = text.as_bytes_with_nul();
            (self.synth)(
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                POS_CHARACTER,
                0,
                CHARS_UTF8,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Err(format!("espeak_Synth returned {rc}"));
        }
        Ok(Pcm::new(
            self.rate,
            BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut())),
        ))
    }
}

type Request = (String, Lang, mpsc::SyncSender<std::result::Result<Pcm, String>>);
/// What an engine's thread does with each request.
pub(crate) type Speak = Box<dyn FnMut(&str, Lang) -> std::result::Result<Pcm, String>>;

/// An engine that keeps global state, on a thread of its own that takes requests in turn.
pub(crate) struct EngineThread {
    name: &'static str,
    tx: std::sync::Mutex<mpsc::Sender<Request>>,
}

impl EngineThread {
    /// Starts the thread; `load` runs on it and returns how it speaks, or why it cannot.
    pub(crate) fn start(
        name: &'static str,
        load: impl FnOnce() -> std::result::Result<Speak, String> + Send + 'static,
    ) -> Result<Self> {
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (tx, rx) = mpsc::channel::<Request>();
        thread::Builder::new().name(name.into()).spawn(move || {
            let mut speak = match load() {
                Ok(s) => {
                    let _ = ready_tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            while let Ok((words, lang, reply)) = rx.recv() {
                let _ = reply.send(speak(&words, lang));
            }
        })?;
        ready_rx
            .recv()
            .map_err(|_| SpeechError::EngineUnavailable(format!("{name} thread ended")))?
            .map_err(SpeechError::EngineUnavailable)?;
        Ok(Self {
            name,
            tx: std::sync::Mutex::new(tx),
        })
    }

    pub(crate) fn say(&self, words: &str, lang: Lang) -> Result<Pcm> {
        let gone = || SpeechError::EngineUnavailable(format!("{} thread ended", self.name));
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        self.tx
            .lock()
            .map_err(|_| SpeechError::Synthesis("engine lock poisoned".into()))?
            .send((words.to_string(), lang, reply_tx))
            .map_err(|_| gone())?;
        let pcm = reply_rx.recv().map_err(|_| gone())?.map_err(SpeechError::Synthesis)?;
        if pcm.samples.is_empty() || pcm.rate == 0 {
            return Err(SpeechError::Synthesis(format!("no audio for {words:?}")));
        }
        Ok(pcm)
    }
}

/// espeak-ng on its own thread.
pub struct Espeak {
    id: String,
    thread: EngineThread,
}

impl Espeak {
    /// Loads libespeak-ng; `EngineUnavailable` when it is not installed.
    pub fn start() -> Result<Self> {
        let thread = EngineThread::start("espeak-ng", || {
            let api = Api::load()?;
            let (ru, en) = (
                CString::new("ru").unwrap_or_default(),
                CString::new("en").unwrap_or_default(),
            );
            Ok(
                Box::new(move |words: &str, lang: Lang| api.say(words, if lang == Lang::Ru { &ru } else { &en }))
                    as Speak,
            )
        })?;
        Ok(Self {
            id: format!("espeak-ng/{RATE_WPM}"),
            thread,
        })
    }
}

impl Engine for Espeak {
    fn id(&self) -> &str {
        &self.id
    }

    fn synthesise(&self, words: &str, lang: Lang) -> Result<Pcm> {
        self.thread.say(words, lang)
    }
}

/// The engine a setting names: "auto" takes RHVoice when it is installed, else espeak-ng.
pub fn choose(setting: &str) -> Result<std::sync::Arc<dyn Engine>> {
    match setting {
        "espeak-ng" => Ok(std::sync::Arc::new(Espeak::start()?)),
        "rhvoice" => Ok(std::sync::Arc::new(crate::rhvoice::Rhvoice::start()?)),
        "auto" => match crate::rhvoice::Rhvoice::start() {
            Ok(r) => Ok(std::sync::Arc::new(r)),
            Err(e) => {
                tracing::info!(reason = %e, "RHVoice not used; speaking with espeak-ng");
                Ok(std::sync::Arc::new(Espeak::start()?))
            }
        },
        "off" => Err(SpeechError::EngineUnavailable("speech_engine is off".into())),
        other => Err(SpeechError::EngineUnavailable(format!(
            "unknown speech_engine {other:?} (auto, rhvoice, espeak-ng or off)"
        ))),
    }
}
