//! The RHVoice engine: far better Russian than espeak-ng (Debian's non-free `librhvoice5`,
//! `rhvoice-russian`, `rhvoice-english`). Loaded at run time from `libRHVoice.so.5`, with the
//! voices loaded once: a segment costs a few milliseconds, where starting `RHVoice-test` for each
//! one costs about 150 ms. One thread owns the engine.

use std::ffi::{c_char, c_double, c_int, c_uint, c_void, CString};

use crate::audio::Pcm;
use crate::engine::{Engine, EngineThread, Speak};
use crate::error::{Result, SpeechError};
use crate::say::Lang;

/// Voices: Anna (Russian, female) and SLT (English, female), both in Debian's packages.
const VOICE_RU: &str = "Anna";
const VOICE_EN: &str = "SLT";

#[repr(C)]
struct Callbacks {
    set_sample_rate: Option<unsafe extern "C" fn(c_int, *mut c_void) -> c_int>,
    play_speech: Option<unsafe extern "C" fn(*const i16, c_uint, *mut c_void) -> c_int>,
    process_mark: *const c_void,
    word_starts: *const c_void,
    word_ends: *const c_void,
    sentence_starts: *const c_void,
    sentence_ends: *const c_void,
    play_audio: *const c_void,
    done: *const c_void,
}

#[repr(C)]
struct InitParams {
    data_path: *const c_char,
    config_path: *const c_char,
    resource_paths: *const *const c_char,
    callbacks: Callbacks,
    options: c_uint,
}

#[repr(C)]
struct SynthParams {
    voice_profile: *const c_char,
    absolute_rate: c_double,
    absolute_pitch: c_double,
    absolute_volume: c_double,
    relative_rate: c_double,
    relative_pitch: c_double,
    relative_volume: c_double,
    punctuation_mode: c_int,
    punctuation_list: *const c_char,
    capitals_mode: c_int,
    flags: c_int,
}

/// What one message collects; the callbacks get it as their user data.
#[derive(Default)]
struct Sink {
    rate: u32,
    samples: Vec<i16>,
}

unsafe extern "C" fn set_rate(rate: c_int, user: *mut c_void) -> c_int {
    if !user.is_null() {
        // SAFETY: `user` is the Sink passed with the message, alive while it is spoken.
        unsafe { (*(user as *mut Sink)).rate = rate.max(0) as u32 };
    }
    1
}

unsafe extern "C" fn play(samples: *const i16, count: c_uint, user: *mut c_void) -> c_int {
    if !user.is_null() && !samples.is_null() {
        // SAFETY: RHVoice hands `count` samples valid for this call; `user` is the Sink.
        unsafe {
            let chunk = std::slice::from_raw_parts(samples, count as usize);
            (*(user as *mut Sink)).samples.extend_from_slice(chunk);
        }
    }
    1
}

type NewMessage =
    unsafe extern "C" fn(*mut c_void, *const c_char, c_uint, c_int, *const SynthParams, *mut c_void) -> *mut c_void;

struct Api {
    _lib: libloading::Library,
    engine: *mut c_void,
    new_message: NewMessage,
    speak: unsafe extern "C" fn(*mut c_void) -> c_int,
    delete_message: unsafe extern "C" fn(*mut c_void),
}

impl Api {
    fn load() -> std::result::Result<Self, String> {
        // SAFETY: loading RHVoice's shared library; the signatures are those of RHVoice.h.
        unsafe {
            let lib = libloading::Library::new("libRHVoice.so.5").map_err(|e| {
                format!("libRHVoice.so.5 not found (Debian non-free: librhvoice5 rhvoice-russian rhvoice-english): {e}")
            })?;
            let new_engine: libloading::Symbol<unsafe extern "C" fn(*const InitParams) -> *mut c_void> =
                lib.get(b"RHVoice_new_tts_engine\0").map_err(|e| e.to_string())?;
            let new_message: NewMessage = *lib.get(b"RHVoice_new_message\0").map_err(|e| e.to_string())?;
            let speak = *lib.get(b"RHVoice_speak\0").map_err(|e| e.to_string())?;
            let delete_message = *lib.get(b"RHVoice_delete_message\0").map_err(|e| e.to_string())?;
            let data = CString::new("/usr/share/RHVoice").unwrap_or_default();
            let config = CString::new("/etc/RHVoice").unwrap_or_default();
            let params = InitParams {
                data_path: data.as_ptr(),
                config_path: config.as_ptr(),
                resource_paths: std::ptr::null(),
                callbacks: Callbacks {
                    set_sample_rate: Some(set_rate),
                    play_speech: Some(play),
                    process_mark: std::ptr::null(),
                    word_starts: std::ptr::null(),
                    word_ends: std::ptr::null(),
                    sentence_starts: std::ptr::null(),
                    sentence_ends: std::ptr::null(),
                    play_audio: std::ptr::null(),
                    done: std::ptr::null(),
                },
                options: 1, // preload voices: the first segment is then as quick as the rest
            };
            let engine = new_engine(&params);
            if engine.is_null() {
                return Err("RHVoice_new_tts_engine failed (voices in /usr/share/RHVoice?)".into());
            }
            Ok(Self {
                _lib: lib,
                engine,
                new_message,
                speak,
                delete_message,
            })
        }
    }

    fn say(&self, words: &str, voice: &CString) -> std::result::Result<Pcm, String> {
        let text = CString::new(words).map_err(|_| "text with a NUL byte".to_string())?;
        let params = SynthParams {
            voice_profile: voice.as_ptr(),
            absolute_rate: -0.1, // a little slower than normal: a hall, not a headset
            absolute_pitch: 0.0,
            absolute_volume: 0.0,
            relative_rate: 1.0,
            relative_pitch: 1.0,
            relative_volume: 1.0,
            punctuation_mode: 0,
            punctuation_list: std::ptr::null(),
            capitals_mode: 0,
            flags: 0,
        };
        let mut sink = Sink::default();
        // SAFETY: text, params and sink outlive the message, which is deleted before return.
        unsafe {
            let msg = (self.new_message)(
                self.engine,
                text.as_ptr(),
                words.len() as c_uint,
                0, // plain text
                &params,
                (&mut sink as *mut Sink).cast(),
            );
            if msg.is_null() {
                return Err(format!("RHVoice refused the message (voice {voice:?} installed?)"));
            }
            let ok = (self.speak)(msg);
            (self.delete_message)(msg);
            if ok == 0 {
                return Err("RHVoice_speak failed".into());
            }
        }
        Ok(Pcm::new(sink.rate, sink.samples))
    }
}

pub struct Rhvoice {
    thread: EngineThread,
}

impl Rhvoice {
    pub fn start() -> Result<Self> {
        let thread = EngineThread::start("rhvoice", || {
            let api = Api::load()?;
            let (ru, en) = (
                CString::new(VOICE_RU).unwrap_or_default(),
                CString::new(VOICE_EN).unwrap_or_default(),
            );
            Ok(
                Box::new(move |words: &str, lang: Lang| api.say(words, if lang == Lang::Ru { &ru } else { &en }))
                    as Speak,
            )
        })?;
        let engine = Self { thread };
        // A voice that is not installed only shows when it speaks: try both now.
        for lang in [Lang::Ru, Lang::En] {
            engine
                .synthesise("a", lang)
                .map_err(|e| SpeechError::EngineUnavailable(e.to_string()))?;
        }
        Ok(engine)
    }
}

impl Engine for Rhvoice {
    fn id(&self) -> &str {
        "rhvoice/anna+slt/-0.1"
    }

    fn synthesise(&self, words: &str, lang: Lang) -> Result<Pcm> {
        self.thread.say(words, lang)
    }
}
