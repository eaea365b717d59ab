//! Prometheus metrics, kept as atomics: counting costs a few nanoseconds on the hot path.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The kinds of WebSocket this node serves, for the open sockets per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    Board,
    Operator,
    Fleet,
    Ticket,
    Widget,
}

impl SocketKind {
    const ALL: [SocketKind; 5] = [
        SocketKind::Board,
        SocketKind::Operator,
        SocketKind::Fleet,
        SocketKind::Ticket,
        SocketKind::Widget,
    ];

    fn name(self) -> &'static str {
        match self {
            SocketKind::Board => "board",
            SocketKind::Operator => "operator",
            SocketKind::Fleet => "fleet",
            SocketKind::Ticket => "ticket",
            SocketKind::Widget => "widget",
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    pub tickets_issued: AtomicU64,
    pub tickets_called: AtomicU64,
    pub ws_sessions: AtomicI64,
    /// Open sockets by kind (`SocketKind` as the index).
    pub ws_open: [AtomicI64; 5],
    /// The open-file limit the node runs under (sockets count against it), set at start.
    pub open_files_limit: AtomicU64,
    pub ws_dropped_slow: AtomicU64,
    /// Customers' messages stored (new ones, not resends), by any channel session on this node.
    pub messages_in: AtomicU64,
    /// Operators' replies stored on this node.
    pub messages_out: AtomicU64,
    requests: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    pub fn observe_request(&self, secs: f64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Renders the text exposition format. `waiting` comes from the store at scrape time, so it
    /// is right across nodes.
    pub fn render(&self, waiting: i64, actors_display: usize) -> String {
        let mut out = String::with_capacity(2048);
        let mut counter = |name: &str, help: &str, kind: &str, v: String| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        counter(
            "hub_tickets_issued_total",
            "Tickets issued by this node.",
            "counter",
            self.tickets_issued.load(Ordering::Relaxed).to_string(),
        );
        counter(
            "hub_tickets_called_total",
            "Tickets called (call next) on this node.",
            "counter",
            self.tickets_called.load(Ordering::Relaxed).to_string(),
        );
        counter(
            "hub_tickets_waiting",
            "Tickets waiting in all queues (from the store).",
            "gauge",
            waiting.to_string(),
        );
        counter(
            "hub_websocket_sessions",
            "Open WebSocket sessions on this node.",
            "gauge",
            self.ws_sessions.load(Ordering::Relaxed).to_string(),
        );
        counter(
            "hub_open_files_limit",
            "Files and sockets this node may hold open at once (its soft limit, raised at start).",
            "gauge",
            self.open_files_limit.load(Ordering::Relaxed).to_string(),
        );
        counter(
            "hub_websocket_dropped_slow_total",
            "WebSocket clients dropped for not keeping up.",
            "counter",
            self.ws_dropped_slow.load(Ordering::Relaxed).to_string(),
        );
        counter(
            "hub_messages_in_total",
            "Customers' messages stored by this node (resends not counted).",
            "counter",
            self.messages_in.load(Ordering::Relaxed).to_string(),
        );
        counter(
            "hub_messages_out_total",
            "Operators' replies stored by this node.",
            "counter",
            self.messages_out.load(Ordering::Relaxed).to_string(),
        );
        counter(
            "hub_display_actors",
            "Board actors running on this node.",
            "gauge",
            actors_display.to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP hub_websocket_open Open WebSocket sessions on this node, by kind.\n# TYPE hub_websocket_open gauge"
        );
        for kind in SocketKind::ALL {
            let _ = writeln!(
                out,
                "hub_websocket_open{{kind=\"{}\"}} {}",
                kind.name(),
                self.ws_open[kind as usize].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP hub_http_request_duration_seconds HTTP request latency.\n# TYPE hub_http_request_duration_seconds histogram");
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.latency_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "hub_http_request_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}"
            );
        }
        let total = self.requests.load(Ordering::Relaxed);
        let _ = writeln!(out, "hub_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}");
        let _ = writeln!(
            out,
            "hub_http_request_duration_seconds_sum {}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "hub_http_request_duration_seconds_count {total}");
        out
    }
}

/// The Telegram bridge's figures: counters of this node, and what waits in the store.
pub fn render_telegram(out: &mut String, m: &hub_channels::telegram::Metrics, pending: i64, outbox: i64) {
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let rows: [(&str, &str, &str, u64); 13] = [
        (
            "hub_telegram_updates_received_total",
            "Telegram updates stored by this node.",
            "counter",
            load(&m.updates_received),
        ),
        (
            "hub_telegram_updates_applied_total",
            "Telegram updates applied by this node.",
            "counter",
            load(&m.updates_applied),
        ),
        (
            "hub_telegram_updates_ignored_total",
            "Telegram updates of kinds the hub does not take.",
            "counter",
            load(&m.updates_ignored),
        ),
        (
            "hub_telegram_updates_failed_total",
            "Telegram updates set aside (a fault in applying them, or repeated failures).",
            "counter",
            load(&m.updates_failed),
        ),
        (
            "hub_telegram_files_fetched_late_total",
            "Telegram files fetched on their own after their message had landed.",
            "counter",
            load(&m.files_fetched_late),
        ),
        (
            "hub_telegram_files_lost_total",
            "Telegram files given up on after every try (the thread says so).",
            "counter",
            load(&m.files_lost),
        ),
        (
            "hub_telegram_updates_pending",
            "Telegram updates stored and not yet applied (from the store).",
            "gauge",
            pending.max(0) as u64,
        ),
        (
            "hub_telegram_sent_total",
            "Outbox rows Telegram took from this node.",
            "counter",
            load(&m.sent),
        ),
        (
            "hub_telegram_send_retries_total",
            "Telegram sends rescheduled after an error.",
            "counter",
            load(&m.send_retries),
        ),
        (
            "hub_telegram_rate_limited_total",
            "Telegram answers 429 (retry_after) to sends.",
            "counter",
            load(&m.rate_limited),
        ),
        (
            "hub_telegram_send_failed_total",
            "Outbox rows given up on (chat gone, bot blocked).",
            "counter",
            load(&m.send_failed),
        ),
        (
            "hub_telegram_poll_errors_total",
            "Failed getUpdates calls.",
            "counter",
            load(&m.poll_errors),
        ),
        (
            "hub_telegram_outbox_pending",
            "Telegram outbox rows still to send (from the store).",
            "gauge",
            outbox.max(0) as u64,
        ),
    ];
    for (name, help, kind, v) in rows {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    }
}

/// The e-mail bridge: this node's counters, and what the store holds.
pub fn render_email(
    out: &mut String,
    m: &hub_channels::email::Metrics,
    inbox: &hub_channels::email::store::InboxCounts,
    outbox: i64,
) {
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let counters = [
        (
            "hub_email_fetched_total",
            "Mails fetched by IMAP and stored by this node.",
            load(&m.fetched),
        ),
        (
            "hub_email_received_smtp_total",
            "Mails taken by this node's SMTP receiver.",
            load(&m.received_smtp),
        ),
        (
            "hub_email_applied_total",
            "Stored mails applied to conversations by this node.",
            load(&m.applied),
        ),
        (
            "hub_email_apply_failed_total",
            "Attempts at applying a mail that failed (retried).",
            load(&m.apply_failed),
        ),
        (
            "hub_email_sent_total",
            "Mails the SMTP server accepted from this node.",
            load(&m.sent),
        ),
        (
            "hub_email_send_retries_total",
            "Sends rescheduled (server down or busy).",
            load(&m.send_retries),
        ),
        (
            "hub_email_send_failed_total",
            "Sends given up on (refused for good).",
            load(&m.send_failed),
        ),
        (
            "hub_email_fetch_errors_total",
            "IMAP sessions that failed.",
            load(&m.fetch_errors),
        ),
        (
            "hub_email_uidvalidity_changes_total",
            "Folders the IMAP server renumbered.",
            load(&m.uidvalidity_changes),
        ),
    ];
    for (name, help, v) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
    }
    let _ = writeln!(
        out,
        "# HELP hub_email_inbox Received mails by outcome (from the store).\n# TYPE hub_email_inbox gauge"
    );
    for (outcome, n) in [
        ("pending", inbox.pending),
        ("applied", inbox.applied),
        ("duplicate", inbox.duplicates),
        ("ignored", inbox.ignored),
        ("filtered", inbox.filtered),
        ("refused", inbox.refused),
        ("bounce", inbox.bounces),
    ] {
        let _ = writeln!(out, "hub_email_inbox{{outcome=\"{outcome}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP hub_email_outbox_pending Mails still to send (from the store).\n# TYPE hub_email_outbox_pending gauge\nhub_email_outbox_pending {}",
        outbox.max(0)
    );
}

/// Speech: the segment cache (hits, misses, hit rate) and the transcription queue.
pub fn render_speech(
    out: &mut String,
    m: &hub_channels::speech::SpeechMetrics,
    jobs: &hub_actors::store::speech::TranscriptionCounts,
) {
    let mut line = |name: &str, help: &str, kind: &str, v: String| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    };
    line(
        "hub_speech_engine_up",
        "1 when a speech engine is loaded on this node.",
        "gauge",
        u8::from(m.engine.is_some()).to_string(),
    );
    line(
        "hub_speech_cache_hits_total",
        "Announcement segments served from the cache.",
        "counter",
        m.cache.hits.to_string(),
    );
    line(
        "hub_speech_cache_misses_total",
        "Announcement segments synthesised.",
        "counter",
        m.cache.misses.to_string(),
    );
    line(
        "hub_speech_cache_hit_ratio",
        "Share of segments served from the cache since start.",
        "gauge",
        format!("{:.4}", m.cache.hit_rate()),
    );
    line(
        "hub_speech_cache_segments",
        "Segments held in memory.",
        "gauge",
        m.cache.segments.to_string(),
    );
    line(
        "hub_speech_cache_warm",
        "1 once the start-up warm-up of the cache is over.",
        "gauge",
        u8::from(m.warm).to_string(),
    );
    line(
        "hub_speech_recognition_up",
        "1 when a recognition model is loaded on this node.",
        "gauge",
        u8::from(m.model.is_some()).to_string(),
    );
    line(
        "hub_transcriptions_queued",
        "Transcription jobs waiting (all nodes).",
        "gauge",
        jobs.queued.to_string(),
    );
    line(
        "hub_transcriptions_running",
        "Transcription jobs running (all nodes).",
        "gauge",
        jobs.running.to_string(),
    );
    line(
        "hub_transcriptions_done",
        "Transcriptions finished (all nodes).",
        "gauge",
        jobs.done.to_string(),
    );
    line(
        "hub_transcriptions_failed",
        "Transcriptions that failed for good (all nodes).",
        "gauge",
        jobs.failed.to_string(),
    );
    line(
        "hub_transcriptions_skipped",
        "Recordings not transcribed because the queue was full (all nodes).",
        "gauge",
        jobs.skipped.to_string(),
    );
    line(
        "hub_transcription_progress_percent",
        "Progress of the job running on this node; -1 when idle.",
        "gauge",
        m.progress.to_string(),
    );
    line(
        "hub_transcription_audio_seconds_total",
        "Audio transcribed by this node.",
        "counter",
        format!("{:.3}", m.audio_ms as f64 / 1000.0),
    );
    line(
        "hub_transcription_compute_seconds_total",
        "Time this node spent transcribing.",
        "counter",
        format!("{:.3}", m.compute_ms as f64 / 1000.0),
    );
}

/// Telephony: calls of this node by outcome, live calls, registered phones, refusals.
pub fn render_sip(out: &mut String, f: &hub_channels::sip::SipFigures) {
    let mut line = |name: &str, help: &str, kind: &str, v: u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    };
    line(
        "hub_sip_calls_total",
        "Calls this node answered.",
        "counter",
        f.calls_total,
    );
    line(
        "hub_sip_calls_active",
        "Calls in progress on this node.",
        "gauge",
        f.calls_active,
    );
    line(
        "hub_sip_calls_bridged_total",
        "Calls bridged to an operator's phone.",
        "counter",
        f.calls_bridged,
    );
    line(
        "hub_sip_calls_bridged_now",
        "Calls bridged to an operator's phone right now (media relayed).",
        "gauge",
        f.bridged_now,
    );
    line(
        "hub_sip_calls_refused_total",
        "INVITEs refused (unknown number, unusable offer, at the call limit).",
        "counter",
        f.calls_refused,
    );
    line(
        "hub_sip_calls_failed_total",
        "Calls that ended in a failure of the hub.",
        "counter",
        f.calls_failed,
    );
    line(
        "hub_sip_voicemails_total",
        "Voicemails stored.",
        "counter",
        f.voicemails,
    );
    line(
        "hub_sip_rtp_dropped_total",
        "RTP packets dropped: not RTP, from an unexpected address, or a payload type not negotiated.",
        "counter",
        f.rtp_dropped,
    );
    line(
        "hub_sip_rtp_sent_total",
        "RTP packets sent (prompts, hold audio and relayed media), counted as calls end.",
        "counter",
        f.rtp_sent,
    );
    line(
        "hub_sip_phones_registered",
        "Operators' phones registered with this node.",
        "gauge",
        f.registered as u64,
    );
    line(
        "hub_sip_trunks_registered",
        "Trunks registered to their provider from this node.",
        "gauge",
        f.trunks_registered as u64,
    );
    line(
        "hub_sip_auth_failures_total",
        "Failed digest authentications.",
        "counter",
        f.auth_failures,
    );
    line(
        "hub_sip_lockouts_total",
        "Sources locked out after repeated failures.",
        "counter",
        f.lockouts,
    );
    line(
        "hub_sip_refused_at_door_total",
        "SIP requests answered with an error before the stack (malformed, unknown method, unsupported scheme, …).",
        "counter",
        f.refused_at_door,
    );
    line(
        "hub_sip_dropped_at_door_total",
        "SIP datagrams dropped before the stack (unreadable responses, garbage).",
        "counter",
        f.dropped_at_door,
    );
}

/// The node's supervised tasks: whether each runs, and how often it was started again and panicked.
pub fn render_tasks(out: &mut String, tasks: &[(&'static str, hub_actors::tasks::TaskFigures)]) {
    type Family = (
        &'static str,
        &'static str,
        &'static str,
        fn(&hub_actors::tasks::TaskFigures) -> u64,
    );
    let families: [Family; 3] = [
        (
            "hub_task_running",
            "gauge",
            "Whether the task runs (1) or is down (0).",
            |f| u64::from(f.running),
        ),
        (
            "hub_task_restarts_total",
            "counter",
            "Times the task was started again after it ended or panicked.",
            |f| f.restarts,
        ),
        (
            "hub_task_panics_total",
            "counter",
            "Times the task panicked (the panic is in the log).",
            |f| f.panics,
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (task, f) in tasks {
            let _ = writeln!(out, "{name}{{task=\"{task}\"}} {}", value(f));
        }
    }
}
