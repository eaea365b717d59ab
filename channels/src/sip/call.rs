//! One inbound call, from INVITE to the last BYE, as one task: the menu, the queue (hold audio and
//! the caller's place every N seconds), ringing the accepting operator's phone, the bridge, hold
//! by re-INVITE, voicemail, and the call record. Everything the call hears arrives as a
//! [`CallEvent`] or a key from its media leg, so the task is a plain state machine.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_actors::actors::ticket::{Apply, Change};
use hub_actors::channel::{ChannelKind, Inbound, Sender};
use hub_actors::model::now_millis;
use hub_actors::store::Attachment;
use hub_actors::{ask, Error};
use hub_sip::ivr::{Menu, MenuState, Step};
use hub_sip::media::{self, Heard, Leg};
use hub_sip::sdp::{self, Codec, Direction, Local};
use hub_speech::audio::{wav, Pcm};
use hub_speech::say::Lang;
use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::SipAddr;
use tokio::sync::mpsc;

use super::{answer_reinvite, invite_leg, media_leg, sdp_type, texts, Inner};
use crate::sip::store::PhoneStore;
use crate::sip::store::SipNumber;
use crate::sip::trunk_store::TrunkStore;

/// Longest voicemail.
const VOICEMAIL_MAX: Duration = Duration::from_secs(120);

/// Events one call may have waiting: a call's events are few (dialog changes, a prompt played,
/// its conversation moved), so a full queue means its task is stuck; it is not buffered more.
pub(crate) const CALL_EVENTS: usize = 256;

/// Where a call's events go.
pub(crate) type CallEvents = mpsc::Sender<CallEvent>;

/// Hands `event` to a call without waiting: a call gone is fine; a call whose queue is full has
/// stopped reading, and the event is dropped with a warning rather than held without bound.
pub(crate) fn tell(call: &CallEvents, event: CallEvent) {
    if let Err(mpsc::error::TrySendError::Full(_)) = call.try_send(event) {
        tracing::warn!("a call is not taking its events; one dropped");
    }
}

pub(crate) enum CallEvent {
    /// A dialog of this call (by its Call-ID) changed.
    Dialog(String, DialogState),
    /// The conversation changed in the hub (accepted, closed).
    Conversation {
        status: String,
        assignee: Option<i64>,
        offered_to: Option<i64>,
    },
    /// The conversation may have changed unseen.
    Recheck,
    /// A prompt finished playing (its generation).
    Played(u64),
    /// An INVITE the hub sent (by the leg's Call-ID) got its final answer.
    LegAnswered(
        String,
        rsipstack::Result<(rsipstack::dialog::DialogId, Option<rsipstack::sip::Response>)>,
    ),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Menu,
    Queued,
    Ringing,
    Bridged,
    Voicemail,
}

/// Where a voicemail is: its prompt and tone playing, recording, or the goodbye playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Voicemail {
    Prompt,
    Recording,
    Goodbye,
}

struct OperatorLeg {
    user_id: i64,
    call_id: String,
    dialog: InviteDialog,
    leg: Arc<Leg>,
    media: tokio::task::JoinHandle<()>,
}

struct Call {
    inner: Arc<Inner>,
    number: SipNumber,
    menu: Menu,
    menu_state: MenuState,
    lang: Lang,
    call_id: String,
    caller: InviteDialog,
    caller_number: String,
    caller_name: Option<String>,
    leg: Arc<Leg>,
    leg_task: tokio::task::JoinHandle<()>,
    record_id: i64,
    /// The SDP session id of our side of both legs.
    session_id: u64,
    conversation: Option<i64>,
    service_id: Option<i64>,
    key: Option<char>,
    operator: Option<OperatorLeg>,
    phase: Phase,
    /// When the current wait ends (menu silence, next position, ring timeout, voicemail end).
    deadline: Option<Instant>,
    queued_at: Option<Instant>,
    player: Option<tokio::task::JoinHandle<()>>,
    generation: u64,
    events_tx: CallEvents,
    recording: Vec<i16>,
    voicemail: Voicemail,
    /// The operator's leg after it ended, for the call's packet counts.
    operator_counters: Option<Arc<Leg>>,
    held_since: Option<Instant>,
    held_ms: i64,
    /// The caller's place in the queue's order: a VIP number's priority, else 0.
    priority: i64,
}

/// A new INVITE: checks it, answers it and starts the call's task.
pub(super) async fn inbound(inner: Arc<Inner>, mut tx: Transaction, source: SocketAddr) -> rsipstack::Result<()> {
    let m = &inner.metrics;
    let refuse = |code| {
        m.calls_refused.fetch_add(1, Ordering::Relaxed);
        code
    };
    let trunks = inner
        .trunks
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .by_source(source.ip());
    let request_user = tx.original.uri.user().unwrap_or_default().to_string();
    // The trunk the provider sent this on, when it called the Contact the hub registered.
    let via = trunks.iter().find(|t| t.trunk.username == request_user);
    let to_user = tx
        .original
        .to_header()
        .ok()
        .and_then(|t| t.uri().ok())
        .and_then(|u| u.user().map(str::to_string));
    let dialed = hub_sip::trunk::dialled(
        &request_user,
        to_user.as_deref(),
        via.map(|t| t.trunk.username.as_str()),
    )
    .to_string();
    let number = match inner.hub.store().sip_number(&dialed).await {
        Ok(Some(n)) => n,
        Ok(None) => {
            tracing::info!(source = %source, number = %dialed, "call to an unknown number refused");
            return tx.reply(refuse(StatusCode::NotFound)).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "number lookup failed");
            return tx.reply(refuse(StatusCode::ServiceUnavailable)).await;
        }
    };
    if let Some(trunk_id) = number.trunk_id {
        // A DID reaches the hub through its provider only: anyone else sending INVITEs for it
        // is refused (their calls would bypass the provider's own checks and numbering).
        if !trunks.iter().any(|t| t.trunk.id == trunk_id) {
            tracing::warn!(source = %source, number = %dialed, "call to a trunk's number from outside the trunk refused");
            return tx.reply(refuse(StatusCode::Forbidden)).await;
        }
    }
    let offer = match sdp::parse(&tx.original.body) {
        Ok(o) => o,
        Err(e) => {
            tracing::info!(source = %source, error = %e, "call refused: its offer is unusable");
            return tx
                .reply_with(
                    refuse(StatusCode::NotAcceptableHere),
                    vec![Header::Other("Warning".into(), format!("304 hub \"{e}\""))],
                    None,
                )
                .await;
        }
    };
    if m.calls_active.load(Ordering::Relaxed) as usize >= inner.settings.max_calls {
        tracing::warn!(
            max = inner.settings.max_calls,
            "call refused: the hub is at its call limit"
        );
        return tx.reply(refuse(StatusCode::ServiceUnavailable)).await;
    }
    let (leg, heard, leg_task) = match media_leg(&inner, offer.addr, offer.codecs[0], offer.telephone_event) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "call refused");
            return tx.reply(refuse(StatusCode::ServiceUnavailable)).await;
        }
    };
    let local = leg.local;
    let from = tx.original.from_header().ok().and_then(|f| f.typed().ok());
    let caller_number = from
        .as_ref()
        .and_then(|f| f.uri.user().map(str::to_string))
        // One spelling (E.164) for every channel, so a Telegram user who shared this number
        // is the same card; an internal extension stays as dialled.
        .map(|u| hub_actors::model::phone::normalise(&u).unwrap_or(u))
        .unwrap_or_else(|| "anonymous".into());
    let caller_name = from.and_then(|f| f.display_name).filter(|n| !n.is_empty());
    let call_id = tx
        .original
        .call_id_header()
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let dialog =
        match inner
            .dialogs
            .get_or_create_server_invite(&tx, inner.state_tx.clone(), None, Some(inner.contact.clone()))
        {
            Ok(d) => d,
            Err(e) => {
                leg_task.abort();
                return tx.reply(refuse(StatusCode::ServerInternalError)).await.and(Err(e));
            }
        };
    let (events_tx, events) = mpsc::channel(CALL_EVENTS);
    inner.calls().insert(call_id.clone(), events_tx.clone());
    m.calls_total.fetch_add(1, Ordering::Relaxed);
    m.calls_active.fetch_add(1, Ordering::Relaxed);
    let session_id = u64::from(rand::random::<u32>());
    let answer = sdp::answer(
        &Local {
            addr: local,
            session_id,
            version: 1,
        },
        &offer,
    );
    // The INVITE's transaction runs on (ACK, CANCEL, retransmissions) while the call plays.
    let mut d = dialog.clone();
    tokio::spawn(async move {
        let _ = d.handle(&mut tx).await;
    });
    if let Err(e) = dialog.accept(Some(vec![sdp_type()]), Some(answer.into_bytes())) {
        tracing::warn!(error = %e, "call could not be answered");
    }
    let lang = Lang::parse(&number.lang).unwrap_or(Lang::Ru);
    let menu = Menu {
        greeting: number.greeting.clone(),
        prompt: number.prompt.clone(),
        choices: number.choice_map(),
        default_service: number.default_service_id,
        wait_ms: 5000,
        repeats: 2,
    };
    tracing::info!(call = %call_id, caller = %caller_number, number = %dialed, source = %source, "call answered");
    let call = Call {
        inner,
        number,
        menu,
        menu_state: MenuState::default(),
        lang,
        call_id,
        caller: dialog,
        caller_number,
        caller_name,
        leg,
        leg_task,
        // Stored by the call's task once answered: the store's pace never delays the 200 OK.
        record_id: 0,
        session_id,
        conversation: None,
        service_id: None,
        key: None,
        operator: None,
        phase: Phase::Menu,
        deadline: None,
        queued_at: None,
        player: None,
        generation: 0,
        events_tx,
        recording: vec![],
        voicemail: Voicemail::Prompt,
        operator_counters: None,
        held_since: None,
        held_ms: 0,
        priority: 0,
    };
    tokio::spawn(call.run(events, heard));
    Ok(())
}

/// How the call ended, for its record.
struct Ending {
    by: &'static str,
    outcome: &'static str,
}

impl Call {
    async fn run(mut self, mut events: mpsc::Receiver<CallEvent>, mut heard: mpsc::Receiver<Heard>) {
        let started = self
            .inner
            .hub
            .store()
            .call_started(
                self.number.org_id,
                &self.call_id,
                "in",
                &self.caller_number,
                &self.number.number,
                now_millis(),
            )
            .await;
        match started {
            Ok(id) => self.record_id = id,
            Err(e) => {
                tracing::warn!(call = %self.call_id, error = %e, "call record not stored; hanging up");
                self.finish(Ending {
                    by: "hub",
                    outcome: "failed",
                })
                .await;
                return;
            }
        }
        let greeting = format!("{} {}", self.menu.greeting, self.menu.prompt);
        self.say(&greeting);
        let ending = loop {
            let deadline = self.deadline;
            let sleep = async move {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let step = tokio::select! {
                e = events.recv() => match e {
                    Some(e) => self.on_event(e).await,
                    None => Some(Ending { by: "hub", outcome: "failed" }),
                },
                h = heard.recv() => match h {
                    Some(Heard::Key(k)) => self.on_key(k).await,
                    Some(Heard::Audio(a)) => {
                        if self.phase == Phase::Voicemail {
                            self.recording.extend_from_slice(&a);
                        }
                        None
                    }
                    None => Some(Ending { by: "hub", outcome: "failed" }),
                },
                _ = sleep => {
                    self.deadline = None;
                    self.on_deadline().await
                }
            };
            if let Some(end) = step {
                break end;
            }
        };
        self.finish(ending).await;
    }

    /// Starts playing `samples` (8 kHz), replacing what was playing.
    fn play(&mut self, samples: Arc<[i16]>) {
        self.play_then(async move { samples });
    }

    /// Plays what `audio` makes, replacing what was playing. The making (speech synthesis) runs
    /// in the player's task too: the call keeps hearing its events meanwhile (a burst of
    /// callers each told their own place in the queue would otherwise hold every call's next
    /// step, the operator's offer among them, for seconds).
    fn play_then(&mut self, audio: impl std::future::Future<Output = Arc<[i16]>> + Send + 'static) {
        self.stop_playing();
        self.generation += 1;
        let (leg, tx, generation) = (self.leg.clone(), self.events_tx.clone(), self.generation);
        self.player = Some(tokio::spawn(async move {
            let samples = audio.await;
            leg.play(&samples, std::future::pending()).await;
            tell(&tx, CallEvent::Played(generation));
        }));
    }

    fn stop_playing(&mut self) {
        if let Some(p) = self.player.take() {
            p.abort();
        }
    }

    /// Speaks `text`; without a speech engine the caller hears a short tone instead, so the
    /// menu still works by its keys.
    fn say(&mut self, text: &str) {
        let (inner, text, lang) = (self.inner.clone(), text.to_string(), self.lang);
        self.play_then(async move { inner.prompts.say(&text, lang).await.unwrap_or_else(media::beep) });
    }

    async fn on_key(&mut self, key: char) -> Option<Ending> {
        tracing::debug!(call = %self.call_id, key = %key, phase = ?self.phase, "key");
        match self.phase {
            Phase::Menu => {
                let step = self.menu_state.key(&self.menu, key);
                self.key = Some(key);
                self.menu_step(step).await
            }
            Phase::Queued if key == '0' => self.start_voicemail().await,
            Phase::Voicemail if key == '#' => self.end_voicemail().await,
            _ => None,
        }
    }

    async fn menu_step(&mut self, step: Step) -> Option<Ending> {
        match step {
            Step::Route(service) => self.enqueue(service).await,
            Step::Repeat { invalid } => {
                let text = if invalid {
                    format!("{} {}", texts::invalid(self.lang), self.menu.prompt)
                } else {
                    self.menu.prompt.clone()
                };
                self.deadline = None;
                self.say(&text);
                None
            }
        }
    }

    async fn on_deadline(&mut self) -> Option<Ending> {
        match self.phase {
            Phase::Menu => {
                let step = self.menu_state.silence(&self.menu);
                self.menu_step(step).await
            }
            Phase::Queued => {
                let waited = self.queued_at.map_or(0, |q| q.elapsed().as_secs() as i64);
                if self.number.max_wait_secs > 0 && waited >= self.number.max_wait_secs {
                    return self.start_voicemail().await;
                }
                self.announce_position().await;
                None
            }
            Phase::Ringing => {
                tracing::info!(call = %self.call_id, "operator's phone did not answer; back to the queue");
                self.operator_failed("no answer").await;
                None
            }
            Phase::Voicemail => self.end_voicemail().await,
            Phase::Bridged => None,
        }
    }

    async fn on_event(&mut self, e: CallEvent) -> Option<Ending> {
        match e {
            CallEvent::Played(g) if g == self.generation => {
                self.player = None;
                match self.phase {
                    // A number without choices goes to its queue once the greeting is said.
                    Phase::Menu if self.menu.choices.is_empty() => {
                        return self.enqueue(self.menu.default_service).await
                    }
                    Phase::Menu => self.deadline = Some(Instant::now() + Duration::from_millis(self.menu.wait_ms)),
                    Phase::Queued | Phase::Ringing => self.play(media::hold_tone()),
                    Phase::Voicemail if self.voicemail == Voicemail::Prompt => {
                        // The prompt and the tone are over: record from now on.
                        self.voicemail = Voicemail::Recording;
                        self.leg.record(true);
                        self.deadline = Some(Instant::now() + VOICEMAIL_MAX);
                    }
                    Phase::Voicemail if self.voicemail == Voicemail::Goodbye => {
                        return Some(Ending {
                            by: "hub",
                            outcome: "voicemail",
                        });
                    }
                    _ => {}
                }
                None
            }
            CallEvent::Played(_) => None,
            CallEvent::Conversation {
                status,
                assignee,
                offered_to,
            } => self.on_conversation(&status, assignee, offered_to).await,
            CallEvent::Recheck => {
                let id = self.conversation?;
                match self.inner.hub.store().conversation_state(id).await {
                    Ok(Some((status, assignee, offered_to))) => {
                        self.on_conversation(&status, assignee, offered_to).await
                    }
                    _ => None,
                }
            }
            CallEvent::LegAnswered(id, r) if self.operator.as_ref().is_some_and(|o| o.call_id == id) => {
                self.on_operator_answer(r).await
            }
            CallEvent::LegAnswered(..) => None,
            CallEvent::Dialog(call_id, state) => self.on_dialog(call_id == self.call_id, state).await,
        }
    }

    async fn on_conversation(
        &mut self,
        status: &str,
        assignee: Option<i64>,
        offered_to: Option<i64>,
    ) -> Option<Ending> {
        match (status, self.phase, assignee) {
            ("open", Phase::Queued, Some(op)) => {
                self.ring_operator(op).await;
                None
            }
            ("offered", Phase::Queued, _) => {
                if let Some(op) = offered_to {
                    self.auto_answer(op).await;
                }
                None
            }
            ("closed", _, _) => {
                tracing::info!(call = %self.call_id, "conversation closed in the hub; hanging up");
                Some(Ending {
                    by: "operator",
                    outcome: if self.phase == Phase::Bridged {
                        "answered"
                    } else {
                        "abandoned"
                    },
                })
            }
            _ => None,
        }
    }

    async fn on_dialog(&mut self, from_caller: bool, state: DialogState) -> Option<Ending> {
        match state {
            DialogState::Terminated(_, reason) if from_caller => {
                tracing::info!(call = %self.call_id, ?reason, phase = ?self.phase, "caller hung up");
                if self.phase == Phase::Voicemail && self.voicemail != Voicemail::Prompt {
                    if self.voicemail == Voicemail::Recording {
                        self.save_voicemail().await;
                    }
                    return Some(Ending {
                        by: "caller",
                        outcome: "voicemail",
                    });
                }
                Some(Ending {
                    by: "caller",
                    outcome: match self.phase {
                        Phase::Bridged => "answered",
                        Phase::Menu => "menu",
                        _ => "abandoned",
                    },
                })
            }
            DialogState::Terminated(_, reason) => {
                if self.phase == Phase::Bridged {
                    tracing::info!(call = %self.call_id, ?reason, "operator hung up");
                    return Some(Ending {
                        by: "operator",
                        outcome: "answered",
                    });
                }
                // While ringing, the final answer arrives as LegAnswered.
                None
            }
            DialogState::Updated(_, req, handle) => {
                let leg = if from_caller {
                    Some(self.leg.clone())
                } else {
                    self.operator.as_ref().map(|o| o.leg.clone())
                };
                let Some(leg) = leg else {
                    let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
                    return None;
                };
                if let Some(hold) = answer_reinvite(&leg, self.session_id, &req, handle).await {
                    self.held(hold).await;
                }
                None
            }
            DialogState::Info(_, req, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                let body = String::from_utf8_lossy(&req.body).to_string();
                match hub_sip::rtp::info_key(&body) {
                    Some(k) if from_caller => self.on_key(k).await,
                    _ => None,
                }
            }
            DialogState::Options(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                None
            }
            DialogState::Notify(_, _, h)
            | DialogState::Refer(_, _, h)
            | DialogState::Message(_, _, h)
            | DialogState::Publish(_, _, h) => {
                let _ = h.reply(StatusCode::NotImplemented).await;
                None
            }
            _ => None,
        }
    }

    /// Either side put the other on hold, or took them off it.
    async fn held(&mut self, hold: bool) {
        let now = Instant::now();
        match (hold, self.held_since) {
            (true, None) => {
                self.held_since = Some(now);
                self.timeline("call_held", None).await;
            }
            (false, Some(since)) => {
                self.held_ms += since.elapsed().as_millis() as i64;
                self.held_since = None;
                self.timeline("call_resumed", None).await;
            }
            _ => {}
        }
    }

    async fn timeline(&self, kind: &str, operator: Option<i64>) {
        if let Some(c) = self.conversation {
            match self
                .inner
                .hub
                .store()
                .call_event(c, kind, operator, None, now_millis())
                .await
            {
                // Consoles showing the conversation re-read its timeline.
                Ok(()) => self.inner.hub.announce_conversation(self.number.org_id, c).await,
                Err(e) => tracing::warn!(error = %e, kind, "call timeline not written"),
            }
        }
    }

    /// The caller's message on the phone channel (the call's arrival, a voicemail), stored once
    /// per call and `what`; attachments are the call's own uploads.
    fn message(&self, service_id: i64, what: &str, body: String, attachment_ids: Vec<i64>) -> Inbound {
        Inbound {
            org_id: self.number.org_id,
            service_id,
            channel: ChannelKind::Phone,
            thread_key: self.call_id.clone(),
            sender: Sender::Identity {
                kind: "phone".into(),
                value: self.caller_number.clone(),
                name: self.caller_name.clone(),
            },
            client_id: Some(format!("{}:{what}", self.call_id)),
            body,
            attachment_ids,
            owner: format!("sip:{}", self.call_id),
            priority: self.priority,
        }
    }

    /// The menu chose a service: the call becomes a conversation in its queue.
    async fn enqueue(&mut self, service: i64) -> Option<Ending> {
        self.deadline = None;
        let store = self.inner.hub.store();
        match store.caller_priority(self.number.org_id, &self.caller_number).await {
            Ok(p) if p > 0 => {
                tracing::info!(call = %self.call_id, caller = %self.caller_number, priority = p, "VIP caller");
                self.priority = p;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "VIP numbers not read; the call waits as any other"),
        }
        let inbound = self.message(
            service,
            "arrived",
            texts::arrived(&self.caller_number, self.key),
            vec![],
        );
        let id = match self.inner.hub.inbound(inbound).await {
            Ok((id, _, _)) => id,
            Err(e) => {
                tracing::warn!(call = %self.call_id, error = %e, "call could not be queued; hanging up");
                return Some(Ending {
                    by: "hub",
                    outcome: "failed",
                });
            }
        };
        self.conversation = Some(id);
        self.service_id = Some(service);
        self.inner.conversations().insert(id, self.events_tx.clone());
        if let Err(e) = self
            .inner
            .hub
            .store()
            .call_queued(self.record_id, id, now_millis())
            .await
        {
            tracing::warn!(error = %e, "call record not updated");
        }
        tracing::info!(call = %self.call_id, conversation = id, service, "call queued");
        self.phase = Phase::Queued;
        self.queued_at = Some(Instant::now());
        // Accepted between opening and now: ring at once.
        tell(&self.events_tx, CallEvent::Recheck);
        self.announce_position().await;
        None
    }

    async fn announce_position(&mut self) {
        let Some(id) = self.conversation else { return };
        let store = self.inner.hub.store();
        let position = store.queue_position(id).await.ok().flatten();
        if let Some(position) = position {
            let wait_min = self
                .inner
                .queue_wait_secs(self.number.org_id, self.service_id)
                .map(|s| (s + 59) / 60);
            let text = texts::position(self.lang, position, wait_min);
            self.say(&text);
        }
        let every = self.number.position_secs.max(5) as u64;
        let mut next = Instant::now() + Duration::from_secs(every);
        if let Some(q) = self.queued_at {
            if self.number.max_wait_secs > 0 {
                next = next.min(q + Duration::from_secs(self.number.max_wait_secs as u64));
            }
        }
        self.deadline = Some(next);
    }

    /// An operator whose phone answers by itself takes the offered call at once (when the
    /// phone is registered; otherwise the offer waits for them in the console as usual).
    async fn auto_answer(&mut self, operator: i64) {
        let registered = self.inner.registrar().binding(operator).is_some();
        if !registered {
            return;
        }
        let Some(id) = self.conversation else { return };
        match self.inner.hub.store().sip_account_of(operator).await {
            Ok(Some(a)) if a.auto_answer != 0 => {}
            _ => return,
        }
        let accepted = ask(
            &self.inner.hub.ticket(id),
            Apply {
                org_id: self.number.org_id,
                change: Change::Accept { operator },
            },
        )
        .await;
        match accepted {
            Ok(_) => tracing::info!(call = %self.call_id, operator, "accepted by the operator's auto-answer phone"),
            Err(e) => tracing::debug!(error = %e, "auto-answer did not take the call"),
        }
    }

    /// The conversation was accepted: ring the operator's phone.
    async fn ring_operator(&mut self, user_id: i64) {
        let binding = self.inner.registrar().binding(user_id);
        let Some(b) = binding else {
            tracing::info!(call = %self.call_id, operator = user_id, "operator's phone is not registered; back to the queue");
            self.return_to_queue(user_id, "the operator's phone is not registered")
                .await;
            return;
        };
        let codec = self.leg.codec();
        let (leg, _keys, media_task) = match media_leg(&self.inner, b.target, codec, Some(sdp::OFFERED_TELEPHONE_EVENT))
        {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot ring the operator");
                self.return_to_queue(user_id, "no RTP port free").await;
                return;
            }
        };
        let local = leg.local;
        let offer = sdp::offer(
            &Local {
                addr: local,
                session_id: self.session_id,
                version: 1,
            },
            &[codec],
            Direction::SendRecv,
        );
        let op_call_id = format!("{}-op{}", self.call_id, user_id);
        let caller_uri = format!(
            "sip:{}@{}",
            sanitize_user(&self.caller_number),
            SocketAddr::new(self.inner.public_ip, self.inner.settings.listen.port())
        );
        let caller = rsipstack::sip::Uri::try_from(caller_uri.as_str()).unwrap_or_else(|_| self.inner.contact.clone());
        let option = InviteOption {
            caller_display_name: self.caller_name.clone().or_else(|| Some(self.caller_number.clone())),
            caller,
            callee: b.contact.clone(),
            destination: Some(SipAddr::new(rsipstack::sip::Transport::Udp, b.target.into())),
            content_type: Some("application/sdp".into()),
            offer: Some(offer.into_bytes()),
            contact: self.inner.contact.clone(),
            call_id: Some(op_call_id.clone()),
            ..Default::default()
        };
        match invite_leg(&self.inner, option, &op_call_id, &self.events_tx) {
            Ok((dialog, _answer)) => {
                self.operator = Some(OperatorLeg {
                    user_id,
                    call_id: op_call_id,
                    dialog,
                    leg,
                    media: media_task,
                });
                self.phase = Phase::Ringing;
                self.deadline = Some(Instant::now() + Duration::from_secs(self.inner.settings.ring_secs));
                tracing::info!(call = %self.call_id, operator = user_id, phone = %b.target, "ringing the operator's phone");
                self.timeline("call_ringing", Some(user_id)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot ring the operator");
                media_task.abort();
                self.return_to_queue(user_id, "the operator's phone could not be called")
                    .await;
            }
        }
    }

    async fn on_operator_answer(
        &mut self,
        r: rsipstack::Result<(rsipstack::dialog::DialogId, Option<rsipstack::sip::Response>)>,
    ) -> Option<Ending> {
        if self.phase != Phase::Ringing {
            return None;
        }
        let Some(op) = &self.operator else { return None };
        let (op_leg, op_user) = (op.leg.clone(), op.user_id);
        let answer = match &r {
            Ok((_, Some(resp))) if resp.status_code.kind() == rsipstack::sip::StatusCodeKind::Successful => {
                sdp::parse(&resp.body).map_err(|e| e.to_string())
            }
            Ok((_, Some(resp))) => Err(format!("the phone answered {}", resp.status_code)),
            Ok((_, None)) => Err("the phone gave no answer".into()),
            Err(e) => Err(e.to_string()),
        };
        match answer {
            Ok(media) => {
                let codec = media.codecs.first().copied().unwrap_or(Codec::Pcmu);
                op_leg.set_peer(media.addr, codec, media.telephone_event);
                self.stop_playing();
                self.leg.relay_to(&op_leg);
                op_leg.relay_to(&self.leg);
                self.phase = Phase::Bridged;
                self.deadline = None;
                let user_id = op_user;
                self.inner.metrics.calls_bridged.fetch_add(1, Ordering::Relaxed);
                self.inner.metrics.bridged_now.fetch_add(1, Ordering::Relaxed);
                match self
                    .inner
                    .hub
                    .store()
                    .call_answered(self.record_id, user_id, now_millis())
                    .await
                {
                    Ok(()) => {
                        if let Some(c) = self.conversation {
                            self.inner.hub.announce_conversation(self.number.org_id, c).await;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "call record not updated"),
                }
                tracing::info!(call = %self.call_id, operator = user_id, "bridged");
                None
            }
            Err(why) => {
                tracing::info!(call = %self.call_id, operator = op_user, why = %why, "operator's phone did not take the call; back to the queue");
                self.operator_failed(&why).await;
                None
            }
        }
    }

    /// The operator's phone did not take the call: end that leg and queue the call again.
    async fn operator_failed(&mut self, why: &str) {
        if let Some(op) = self.operator.take() {
            let _ = op.dialog.hangup().await;
            op.media.abort();
            self.inner.calls().remove(&op.call_id);
            self.return_to_queue(op.user_id, why).await;
        }
    }

    async fn return_to_queue(&mut self, operator: i64, why: &str) {
        self.phase = Phase::Queued;
        if let Some(id) = self.conversation {
            match self
                .inner
                .hub
                .store()
                .return_call(id, operator, why, now_millis())
                .await
            {
                Ok(true) => self.inner.hub.announce_conversation(self.number.org_id, id).await,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "call not put back in the queue"),
            }
            self.inner
                .hub
                .router(self.number.org_id)
                .do_send(hub_actors::actors::router::Poke);
        }
        if self.player.is_none() {
            self.play(media::hold_tone());
        }
        self.deadline = Some(Instant::now() + Duration::from_secs(self.number.position_secs.max(5) as u64));
    }

    async fn start_voicemail(&mut self) -> Option<Ending> {
        tracing::info!(call = %self.call_id, "caller leaves a voicemail");
        if self.phase == Phase::Voicemail {
            return None;
        }
        self.phase = Phase::Voicemail;
        self.voicemail = Voicemail::Prompt;
        self.deadline = None;
        let (inner, lang) = (self.inner.clone(), self.lang);
        self.play_then(async move {
            let mut samples = match inner.prompts.say(texts::voicemail(lang), lang).await {
                Some(s) => s.to_vec(),
                None => vec![],
            };
            samples.extend(std::iter::repeat_n(0, 2400));
            samples.extend_from_slice(&media::beep());
            samples.into()
        });
        None
    }

    async fn end_voicemail(&mut self) -> Option<Ending> {
        if self.voicemail != Voicemail::Recording {
            return None;
        }
        self.voicemail = Voicemail::Goodbye;
        self.leg.record(false);
        self.deadline = None;
        self.save_voicemail().await;
        let text = texts::thanks(self.lang);
        self.say(text);
        None
    }

    /// Stores the recording as an audio message of the caller in the conversation (the speech
    /// service transcribes it), once.
    async fn save_voicemail(&mut self) {
        let samples = std::mem::take(&mut self.recording);
        let Some(service) = self.service_id.or(Some(self.menu.default_service)) else {
            return;
        };
        if samples.len() < 8000 / 2 {
            tracing::info!(call = %self.call_id, "voicemail too short to keep");
            return;
        }
        let secs = samples.len() as u64 / 8000;
        let owner = format!("sip:{}", self.call_id);
        let store = self.inner.hub.store();
        let attachment = Attachment {
            org_id: self.number.org_id,
            owner: owner.clone(),
            conversation_id: None,
            name: format!("voicemail-{}.wav", self.record_id),
            mime: "audio/wav".into(),
            data: wav(&Pcm::new(8000, samples)),
        };
        let id = match store.add_attachment(attachment, now_millis()).await {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(error = %e, "voicemail not stored");
                return;
            }
        };
        let inbound = self.message(service, "voicemail", texts::voicemail_note(secs), vec![id]);
        match self.inner.hub.inbound(inbound).await {
            Ok((conv, _, _)) => {
                self.inner.metrics.voicemails.fetch_add(1, Ordering::Relaxed);
                tracing::info!(call = %self.call_id, conversation = conv, secs, "voicemail stored");
                self.conversation = Some(conv);
            }
            Err(e) => tracing::warn!(error = %e, "voicemail not posted"),
        }
    }

    /// Ends both legs, the conversation's part of the call and the record.
    async fn finish(mut self, end: Ending) {
        self.stop_playing();
        // A bridged call's conversation is held by the operator who answered it.
        let holder = (self.phase == Phase::Bridged)
            .then(|| self.operator.as_ref().map(|o| o.user_id))
            .flatten();
        if self.phase == Phase::Bridged {
            self.inner.metrics.bridged_now.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(op) = self.operator.take() {
            op.leg.unlink();
            self.operator_counters = Some(op.leg.clone());
            let _ = op.dialog.hangup().await;
            op.media.abort();
            self.inner.calls().remove(&op.call_id);
        }
        self.leg.unlink();
        if end.by != "caller" {
            let _ = self.caller.bye().await;
        }
        if let Some(since) = self.held_since.take() {
            self.held_ms += since.elapsed().as_millis() as i64;
        }
        let now = now_millis();
        let store = self.inner.hub.store();
        if let Some(id) = self.conversation {
            self.inner.conversations().remove(&id);
            if end.outcome != "voicemail" {
                self.close_conversation(id, end.by, holder).await;
            }
        }
        if end.outcome == "failed" {
            self.inner.metrics.calls_failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(e) = store
            .call_ended(self.record_id, end.by, end.outcome, self.held_ms, now)
            .await
        {
            tracing::warn!(error = %e, "call record not closed");
        }
        let m = &self.inner.metrics;
        m.rtp_dropped
            .fetch_add(self.leg.counters.dropped.load(Ordering::Relaxed), Ordering::Relaxed);
        m.rtp_sent
            .fetch_add(self.leg.counters.sent.load(Ordering::Relaxed), Ordering::Relaxed);
        if let Some(op) = &self.operator_counters {
            m.rtp_dropped
                .fetch_add(op.counters.dropped.load(Ordering::Relaxed), Ordering::Relaxed);
            m.rtp_sent
                .fetch_add(op.counters.sent.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.inner.calls().remove(&self.call_id);
        self.inner.metrics.calls_active.fetch_sub(1, Ordering::Relaxed);
        self.leg_task.abort();
        tracing::info!(call = %self.call_id, by = end.by, outcome = end.outcome, "call ended");
    }

    /// The caller is gone: a waiting conversation is abandoned; one an operator holds closes
    /// (their wrap-up starts).
    /// `holder`: the operator whose phone took the call, when it was bridged (then there is
    /// nothing to abandon, and the store is spared a write and a read per call).
    async fn close_conversation(&self, id: i64, by: &str, holder: Option<i64>) {
        let org_id = self.number.org_id;
        let why = format!("call ended by the {by}");
        let store = self.inner.hub.store();
        if let Some(operator) = holder {
            if self.close_held(id, operator, why.clone()).await {
                return;
            }
            // Not theirs any more (transferred while the call went on): close it for whoever
            // holds it now, as below.
        }
        match store.abandon_conversation(id, &why, now_millis()).await {
            Ok(true) => {
                self.inner.hub.announce_conversation(org_id, id).await;
                return;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "conversation not closed");
                return;
            }
        }
        let holder = match store.conversation_state(id).await {
            Ok(Some((status, assignee, _))) if status == "open" => assignee,
            _ => None,
        };
        if let Some(operator) = holder {
            self.close_held(id, operator, why).await;
        }
    }

    /// Closes the conversation `operator` holds (their wrap-up starts); false when they do not
    /// hold it (closed in the console meanwhile, or transferred).
    async fn close_held(&self, id: i64, operator: i64, why: String) -> bool {
        let r = ask(
            &self.inner.hub.ticket(id),
            Apply {
                org_id: self.number.org_id,
                change: Change::Close {
                    operator,
                    resolution: Some(why),
                },
            },
        )
        .await;
        match r {
            // Closed already (in the console, say): nothing left to do.
            Ok(_) | Err(Error::ConversationClosed) => true,
            Err(Error::Conflict(_)) => false,
            Err(e) => {
                tracing::warn!(error = %e, "conversation not closed");
                true
            }
        }
    }
}

/// A caller number fit for the user part of a URI.
fn sanitize_user(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+-_.".contains(*c))
        .take(32)
        .collect();
    if clean.is_empty() {
        "anonymous".into()
    } else {
        clean
    }
}
