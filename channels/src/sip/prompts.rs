//! What callers hear spoken, made once: the prompts of a number (greeting, menu, voicemail
//! words) and the place-in-queue sentences are the same texts call after call, so each is
//! synthesised and resampled to 8 kHz once and shared. A burst of callers asking for the same
//! prompt at once waits for the one synthesis (single flight) instead of running hundreds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hub_speech::audio::resample;
use hub_speech::say::Lang;
use tokio::sync::OnceCell;

use crate::speech::Speech;

/// Distinct prompts kept; past it the table starts afresh (the texts in use come back at once).
const KEPT: usize = 512;

type Slot = Arc<OnceCell<Arc<[i16]>>>;

pub(crate) struct Prompts {
    speech: Option<Speech>,
    made: Mutex<HashMap<(String, Lang), Slot>>,
}

impl Prompts {
    pub fn new(speech: Option<Speech>) -> Self {
        Self {
            speech,
            made: Mutex::default(),
        }
    }

    /// `text` spoken at 8 kHz, or None without a speech engine or when synthesis failed (a
    /// failure is not kept: the next call tries again).
    pub async fn say(&self, text: &str, lang: Lang) -> Option<Arc<[i16]>> {
        let speech = self.speech.as_ref()?;
        let slot = {
            let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
            if made.len() >= KEPT && !made.contains_key(&(text.to_string(), lang)) {
                made.clear();
            }
            made.entry((text.to_string(), lang)).or_default().clone()
        };
        let made = slot
            .get_or_try_init(|| async {
                let pcm = speech.say(text, lang).await?;
                Ok::<_, hub_speech::SpeechError>(Arc::from(resample(&pcm.samples, pcm.rate, 8000)))
            })
            .await;
        match made {
            Ok(samples) => Some(samples.clone()),
            Err(e) => {
                tracing::debug!(error = %e, "prompt not spoken");
                None
            }
        }
    }
}
