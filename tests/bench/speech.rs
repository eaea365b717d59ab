//! Speech benchmark.
//!
//! Prints, for each engine installed (RHVoice, espeak-ng):
//! - announcement latency with an empty cache (every segment synthesised) and with a warm one
//!   (the segments joined from memory), median and p95;
//! - the cache's hit rate over a simulated day of calls (four services, 150 tickets each,
//!   eight windows, one call in ten recalled), from an empty cache.
//!
//! Then, for Whisper base (Russian) and tiny.en (English): the recognition real-time factor
//! (compute time / audio time) of clips of 15 s or more, transcribed by a `hub serve` process
//! through its job queue while 50 web-chat visitors each send a message a second.
//!
//! `cargo bench --bench speech --features whisper`; HUB_BENCH_MODELS names a directory with
//! base.bin and tiny.en.bin (tests/run.sh leaves them in target/speech-models).

#[path = "common.rs"]
#[allow(dead_code)]
mod common;
#[path = "../it/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::percentile;
use futures_util::SinkExt;
use harness::*;
use hub_speech::{
    audio::{self, Pcm},
    cache::SegmentCache,
    engine::{self, Engine},
    phrase::Template,
    say::Lang,
};
use serde_json::json;

const TEMPLATE: &str = "Талон {ticket}, пройдите к окну {window}";

fn main() {
    println!("hub speech benchmark");
    let mut engines: Vec<Arc<dyn Engine>> = Vec::new();
    for name in ["rhvoice", "espeak-ng"] {
        match engine::choose(name) {
            Ok(e) => engines.push(e),
            Err(e) => println!("{name}: not measured ({e})"),
        }
    }
    for e in &engines {
        announcements(e.clone());
    }
    let models = std::env::var("HUB_BENCH_MODELS").unwrap_or_else(|_| "target/speech-models".into());
    let Some(voice) = engines.first().cloned() else {
        println!("no engine: recognition not measured (its clips are synthesised)");
        return;
    };
    for (model, lang) in [("base", Lang::Ru), ("tiny.en", Lang::En)] {
        if !std::path::Path::new(&models).join(format!("{model}.bin")).is_file() {
            println!("{model}: not measured (no {models}/{model}.bin)");
            continue;
        }
        actix_rt::System::new().block_on(recognition(&models, model, lang, voice.clone()));
    }
}

fn segments(ticket: &str, window: &str) -> Vec<hub_speech::phrase::Segment> {
    Template::parse(TEMPLATE)
        .and_then(|t| t.render(&HashMap::from([("ticket", ticket), ("window", window)]), Lang::Ru))
        .expect("template")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn announcements(engine: Arc<dyn Engine>) {
    let id = engine.id().to_string();
    // Empty cache each time: every segment of the phrase is synthesised.
    let mut cold = Vec::new();
    for i in 0..40 {
        let cache = SegmentCache::new(engine.clone(), None).expect("cache");
        let s = segments(&format!("A{:03}", 100 + i), &(1 + i % 8).to_string());
        let t = Instant::now();
        cache.render(&s, Lang::Ru).expect("render");
        cold.push(ms(t.elapsed()));
    }
    cold.sort_by(f64::total_cmp);
    // Warm cache: the same phrase again and again.
    let cache = SegmentCache::new(engine.clone(), None).expect("cache");
    let s = segments("A091", "3");
    cache.render(&s, Lang::Ru).expect("render");
    let mut warm = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        let pcm = cache.render(&s, Lang::Ru).expect("render");
        warm.push(ms(t.elapsed()));
        std::hint::black_box(pcm);
    }
    warm.sort_by(f64::total_cmp);
    println!(
        "{id:<24} uncached announcement: median {:>6.2} ms, p95 {:>6.2} ms | cached: median {:.3} ms, p95 {:.3} ms",
        percentile(&cold, 0.5),
        percentile(&cold, 0.95),
        percentile(&warm, 0.5),
        percentile(&warm, 0.95)
    );

    // A day: services A–D, 150 tickets each, called in turn at eight windows, every tenth
    // recalled. The cache starts empty.
    let cache = SegmentCache::new(engine, None).expect("cache");
    let mut calls = 0;
    let mut day = Vec::new();
    for n in 1..=150 {
        for (k, prefix) in ["A", "B", "C", "D"].into_iter().enumerate() {
            let ticket = format!("{prefix}{n:03}");
            let window = ((n * 3 + k * 5) % 8 + 1).to_string();
            let repeats = if (n + k) % 10 == 0 { 2 } else { 1 };
            for _ in 0..repeats {
                let t = Instant::now();
                cache.render(&segments(&ticket, &window), Lang::Ru).expect("render");
                day.push(ms(t.elapsed()));
                calls += 1;
            }
        }
    }
    day.sort_by(f64::total_cmp);
    let stats = cache.stats();
    println!(
        "{:<24} a day of {calls} calls: segment hit rate {:.1} % ({} synthesised, {} from cache), \
         {} distinct segments; call latency median {:.3} ms, p99 {:.2} ms",
        "",
        stats.hit_rate() * 100.0,
        stats.misses,
        stats.hits,
        stats.segments,
        percentile(&day, 0.5),
        percentile(&day, 0.99)
    );
}

const RU_CLIP: &str = "Здравствуйте. Я звоню по поводу своего заказа. Его должны были доставить вчера, \
    но курьер так и не приехал. Пожалуйста, проверьте, где сейчас находится посылка, и перезвоните \
    мне после обеда. Номер заказа я отправлю сообщением. Спасибо, до свидания.";
const EN_CLIP: &str = "Hello. I am calling about my order. It should have been delivered yesterday, \
    but the courier never came. Please check where the parcel is now and call me back after lunch. \
    I will send the order number in a message. Thank you, goodbye.";

/// A clip of at least 15 s: the text said, repeated until long enough.
fn clip(engine: &dyn Engine, lang: Lang) -> Pcm {
    let text = if lang == Lang::Ru { RU_CLIP } else { EN_CLIP };
    let once = engine.synthesise(text, lang).expect("synthesise");
    let mut samples = Vec::new();
    while samples.len() < once.rate as usize * 15 {
        samples.extend_from_slice(&once.samples);
        samples.extend(std::iter::repeat_n(0, once.rate as usize / 2));
    }
    Pcm::new(16_000, audio::resample(&samples, once.rate, 16_000))
}

type Socket = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

async fn socket(url: String) -> Socket {
    let (_, framed) = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish()
        .ws(url)
        .connect()
        .await
        .expect("websocket");
    framed
}

async fn visitor(api: &Api) -> (String, Socket) {
    let (s, v) = api.post("/api/chat/start", None, json!({"key": "demo"})).await;
    assert_eq!(s, 200, "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    let ws = socket(api.ws_url(&format!("/ws/chat?token={token}"))).await;
    (token, ws)
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

async fn recognition(models: &str, model: &str, lang: Lang, voice: Arc<dyn Engine>) {
    const VISITORS: usize = 50;
    const CLIPS: usize = 3;
    let mut store = Store::new(Backend::Sqlite, false).await;
    store.env.push(("HUB_ANONYMOUS_LIMIT".into(), "0".into()));
    store.env.push(("HUB_SPEECH_MODELS_DIR".into(), models.into()));
    store.env.push(("HUB_SPEECH_MODEL".into(), model.into()));
    store
        .env
        .push(("HUB_SPEECH_LANGUAGES".into(), format!("webchat={}", lang.code())));
    let node = store.start().await;
    let api = node.api.clone();

    // Chat load: every visitor writes a message a second for as long as the clips take.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for v in 0..VISITORS {
        let (_, mut ws) = visitor(&api).await;
        let (stop, sent) = (stop.clone(), sent.clone());
        actix_rt::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let msg = json!({"type": "message", "client_id": format!("v{v}-{n}"), "body": format!("message {n}")});
                if ws.send(awc::ws::Message::Text(msg.to_string().into())).await.is_err() {
                    return;
                }
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                actix_rt::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
    actix_rt::time::sleep(Duration::from_secs(2)).await;

    let pcm = clip(voice.as_ref(), lang);
    let wav = audio::wav(&pcm);
    let started = Instant::now();
    let sent_before = sent.load(std::sync::atomic::Ordering::Relaxed);
    // Each clip's visitor stays connected until the end, as a real one would.
    let mut held = Vec::new();
    for c in 0..CLIPS {
        let (token, mut ws) = visitor(&api).await;
        let (s, a) = api
            .upload("/api/chat/attachments", "voice.wav", &token, wav.clone())
            .await;
        assert_eq!(s, 201, "{a}");
        let msg = json!({"type": "message", "client_id": format!("clip{c}"), "body": "", "attachment_ids": [a["id"]]});
        ws.send(awc::ws::Message::Text(msg.to_string().into()))
            .await
            .expect("send clip");
        held.push(ws);
    }
    let (audio_s, compute_s) = loop {
        let (_, m) = api.get_text("/metrics").await;
        if metric(&m, "hub_transcriptions_done ") as usize >= CLIPS {
            break (
                metric(&m, "hub_transcription_audio_seconds_total "),
                metric(&m, "hub_transcription_compute_seconds_total "),
            );
        }
        assert!(
            metric(&m, "hub_transcriptions_failed ") == 0.0,
            "a transcription failed:\n{m}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "transcriptions did not finish"
        );
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    };
    let wall = started.elapsed().as_secs_f64();
    let chat_rate = (sent.load(std::sync::atomic::Ordering::Relaxed) - sent_before) as f64 / wall;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    println!(
        "whisper {model:<8} ({}): {CLIPS} clips of {:.1} s, real-time factor {:.3} ({:.2} s compute per clip), \
         2 threads, under chat load of {chat_rate:.0} messages/s",
        lang.code(),
        pcm.duration_ms() as f64 / 1000.0,
        compute_s / audio_s.max(0.001),
        compute_s / CLIPS as f64
    );
    drop(held);
    drop(node);
}
