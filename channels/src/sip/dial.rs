//! Click-to-call: an operator asks (from the console, signed in), the hub rings the operator's
//! own registered phone, and once they pick up it calls the customer through the organisation's
//! trunk (answering the provider's digest challenge) while the operator hears the ringing tone;
//! then it relays the media. Either side's BYE ends both. Nothing but a signed-in operator's
//! request starts such a call: SIP requests from outside never leave through a trunk.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hub_actors::model::now_millis;
use hub_sip::media::{self, Leg};
use hub_sip::sdp::{self, Codec, Direction, Local};
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::StatusCodeKind;
use rsipstack::transport::SipAddr;
use tokio::sync::mpsc;

use super::call::{CallEvent, CallEvents, CALL_EVENTS};
use super::trunk::TrunkRef;
use super::{answer_reinvite, invite_leg, media_leg, Inner};
use crate::sip::store::Dialled;
use crate::sip::store::PhoneStore;

/// How long the called person's phone may ring.
const CUSTOMER_RING: Duration = Duration::from_secs(60);

/// Why a click-to-call call was not placed.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("telephony is off on this node (its [sip] listen is empty)")]
    Off,
    #[error("{0:?} is not a number that can be dialled (digits, optionally with a leading +)")]
    Number(String),
    #[error("the organisation has no trunk to call out through")]
    NoTrunk,
    #[error("your phone is not registered")]
    PhoneNotRegistered,
    #[error("you are already on a call placed from the console")]
    Busy,
    #[error("the hub is at its call limit")]
    Full,
    #[error("the call could not be placed: {0}")]
    Failed(String),
}

pub struct DialRequest {
    pub org_id: i64,
    pub operator: i64,
    pub number: String,
    pub conversation_id: Option<i64>,
}

/// One call being placed or bridged.
struct Outbound {
    inner: Arc<Inner>,
    org_id: i64,
    operator: i64,
    number: String,
    conversation_id: Option<i64>,
    trunk: TrunkRef,
    record_id: i64,
    session_id: u64,
    /// The operator's phone: its Call-ID, dialog and media.
    phone: Option<(String, InviteDialog, Arc<Leg>)>,
    customer: Option<(String, InviteDialog, Arc<Leg>)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    events_tx: CallEvents,
    bridged: bool,
}

/// Checks the request and starts the call's task; answers the call's id.
pub(crate) async fn place(inner: Arc<Inner>, req: DialRequest) -> Result<String, DialError> {
    let number = hub_sip::trunk::dialable(&req.number).ok_or_else(|| DialError::Number(req.number.clone()))?;
    let trunk = inner.trunks().for_org(req.org_id).ok_or(DialError::NoTrunk)?;
    if inner.registrar().binding(req.operator).is_none() {
        return Err(DialError::PhoneNotRegistered);
    }
    if inner.metrics.calls_active.load(Ordering::Relaxed) as usize >= inner.settings.max_calls {
        return Err(DialError::Full);
    }
    {
        let mut dialling = inner.dialling.lock().unwrap_or_else(|p| p.into_inner());
        if !dialling.insert(req.operator) {
            return Err(DialError::Busy);
        }
    }
    let call_id = format!("dial-{:016x}", rand::random::<u64>());
    let record = inner
        .hub
        .store()
        .call_dialled(
            Dialled {
                org_id: req.org_id,
                call_id: &call_id,
                operator: req.operator,
                caller: &trunk.trunk.caller_id,
                number: &number,
                conversation_id: req.conversation_id,
            },
            now_millis(),
        )
        .await;
    let record_id = match record {
        Ok(id) => id,
        Err(e) => {
            inner
                .dialling
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&req.operator);
            return Err(DialError::Failed(e.to_string()));
        }
    };
    if let Some(c) = req.conversation_id {
        inner.hub.announce_conversation(req.org_id, c).await;
    }
    let (events_tx, events) = mpsc::channel(CALL_EVENTS);
    inner.metrics.calls_total.fetch_add(1, Ordering::Relaxed);
    inner.metrics.calls_active.fetch_add(1, Ordering::Relaxed);
    tracing::info!(call = %call_id, operator = req.operator, number = %number, trunk = %trunk.trunk.name, "click-to-call: ringing the operator's phone");
    let call = Outbound {
        inner,
        org_id: req.org_id,
        operator: req.operator,
        number,
        conversation_id: req.conversation_id,
        trunk,
        record_id,
        session_id: u64::from(rand::random::<u32>()),
        phone: None,
        customer: None,
        tasks: vec![],
        events_tx,
        bridged: false,
    };
    tokio::spawn(call.run(call_id.clone(), events));
    Ok(call_id)
}

/// Why a leg gave no usable answer.
enum NoAnswer {
    /// The other leg (the operator's phone, while the customer's rang) hung up.
    OtherHungUp,
    Why(String),
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OtherHungUp => f.write_str("the other side hung up"),
            Self::Why(w) => f.write_str(w),
        }
    }
}

/// How an outbound call ended.
struct End {
    by: &'static str,
    outcome: &'static str,
}

impl Outbound {
    async fn run(mut self, call_id: String, mut events: mpsc::Receiver<CallEvent>) {
        let end = match self.steps(&call_id, &mut events).await {
            Ok(end) | Err(end) => end,
        };
        self.finish(&call_id, end).await;
    }

    async fn steps(&mut self, call_id: &str, events: &mut mpsc::Receiver<CallEvent>) -> Result<End, End> {
        let failed = |why: String| {
            tracing::info!(call = %call_id, why = %why, "click-to-call not completed");
            End {
                by: "hub",
                outcome: "failed",
            }
        };
        // 1. The operator's phone.
        let binding = self
            .inner
            .registrar()
            .binding(self.operator)
            .ok_or_else(|| failed("the operator's phone is no longer registered".into()))?;
        let leg = self.new_leg(binding.target, Codec::Pcmu).await.map_err(failed)?;
        let phone_call_id = format!("{call_id}-op");
        let caller = self.uri(&format!("sip:{}@{}", self.number, self.hub_addr()));
        let option = InviteOption {
            caller_display_name: Some(self.number.clone()),
            caller,
            callee: binding.contact.clone(),
            destination: Some(SipAddr::new(rsipstack::sip::Transport::Udp, binding.target.into())),
            content_type: Some("application/sdp".into()),
            offer: Some(self.offer(&leg, &[Codec::Pcmu, Codec::Pcma]).into_bytes()),
            contact: self.inner.contact.clone(),
            call_id: Some(phone_call_id.clone()),
            ..Default::default()
        };
        let dialog = self.invite(option, &phone_call_id).map_err(failed)?;
        self.phone = Some((phone_call_id.clone(), dialog, leg.clone()));
        let answer = self
            .answered(
                events,
                &phone_call_id,
                Duration::from_secs(self.inner.settings.ring_secs),
            )
            .await
            .map_err(|why| {
                tracing::info!(call = %call_id, why = %why, "click-to-call: the operator's phone did not answer");
                End {
                    by: "operator",
                    outcome: "unanswered",
                }
            })?;
        let codec = answer.codecs.first().copied().unwrap_or(Codec::Pcmu);
        leg.set_peer(answer.addr, codec, answer.telephone_event);
        // 2. The customer, through the trunk; the operator hears ringing meanwhile.
        let ringing = {
            let leg = leg.clone();
            tokio::spawn(async move {
                let tone = media::ringback();
                loop {
                    leg.play(&tone, std::future::pending()).await;
                }
            })
        };
        let proxy = self
            .trunk
            .proxy
            .ok_or_else(|| failed("the trunk's proxy has no address".into()))?;
        let out_leg = self.new_leg(proxy, codec).await.map_err(failed)?;
        let customer_call_id = format!("{call_id}-out");
        let t = &self.trunk.trunk;
        let option = InviteOption {
            caller_display_name: None,
            caller: self.uri(&format!("sip:{}@{}", t.caller_id, t.domain)),
            callee: self.uri(&format!("sip:{}@{}", self.number, t.domain)),
            destination: Some(SipAddr::new(rsipstack::sip::Transport::Udp, proxy.into())),
            content_type: Some("application/sdp".into()),
            offer: Some(self.offer(&out_leg, &[codec]).into_bytes()),
            contact: self.uri(&format!("sip:{}@{}", t.username, self.hub_addr())),
            credential: Some(Credential {
                username: t.username.clone(),
                password: t.password.clone(),
                realm: None,
                auth_username: None,
            }),
            call_id: Some(customer_call_id.clone()),
            ..Default::default()
        };
        tracing::info!(call = %call_id, number = %self.number, proxy = %proxy, "click-to-call: calling the customer through the trunk");
        let dialog = self.invite(option, &customer_call_id);
        let dialog = match dialog {
            Ok(d) => d,
            Err(why) => {
                ringing.abort();
                return Err(failed(why));
            }
        };
        self.customer = Some((customer_call_id.clone(), dialog, out_leg.clone()));
        let answer = self.answered(events, &customer_call_id, CUSTOMER_RING).await;
        ringing.abort();
        let answer = answer.map_err(|why| match why {
            NoAnswer::OtherHungUp => {
                tracing::info!(call = %call_id, "click-to-call: the operator hung up while the customer's phone rang");
                End {
                    by: "operator",
                    outcome: "abandoned",
                }
            }
            NoAnswer::Why(why) => {
                tracing::info!(call = %call_id, why = %why, "click-to-call: the customer did not answer");
                End {
                    by: "customer",
                    outcome: "unanswered",
                }
            }
        })?;
        let out_codec = answer.codecs.first().copied().unwrap_or(codec);
        out_leg.set_peer(answer.addr, out_codec, answer.telephone_event);
        leg.relay_to(&out_leg);
        out_leg.relay_to(&leg);
        self.bridged = true;
        self.inner.metrics.calls_bridged.fetch_add(1, Ordering::Relaxed);
        self.inner.metrics.bridged_now.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self
            .inner
            .hub
            .store()
            .call_answered(self.record_id, self.operator, now_millis())
            .await
        {
            tracing::warn!(error = %e, "call record not updated");
        }
        self.announce().await;
        tracing::info!(call = %call_id, number = %self.number, "click-to-call: bridged");
        // 3. Until either side hangs up; hold by re-INVITE from either side is answered.
        while let Some(e) = events.recv().await {
            match e {
                CallEvent::Dialog(id, DialogState::Terminated(..)) => {
                    let by = if id == phone_call_id { "operator" } else { "customer" };
                    return Ok(End {
                        by,
                        outcome: "answered",
                    });
                }
                CallEvent::Dialog(id, DialogState::Updated(_, req, handle)) => {
                    let leg = if id == phone_call_id { &leg } else { &out_leg };
                    answer_reinvite(leg, self.session_id, &req, handle).await;
                }
                CallEvent::Dialog(_, DialogState::Info(_, _, h) | DialogState::Options(_, _, h)) => {
                    let _ = h.reply(rsipstack::sip::StatusCode::OK).await;
                }
                _ => {}
            }
        }
        Ok(End {
            by: "hub",
            outcome: "answered",
        })
    }

    fn hub_addr(&self) -> SocketAddr {
        SocketAddr::new(self.inner.public_ip, self.inner.settings.listen.port())
    }

    fn uri(&self, s: &str) -> rsipstack::sip::Uri {
        rsipstack::sip::Uri::try_from(s).unwrap_or_else(|_| self.inner.contact.clone())
    }

    fn offer(&self, leg: &Leg, codecs: &[Codec]) -> String {
        sdp::offer(
            &Local {
                addr: leg.local,
                session_id: self.session_id,
                version: 1,
            },
            codecs,
            Direction::SendRecv,
        )
    }

    async fn new_leg(&mut self, peer: SocketAddr, codec: Codec) -> Result<Arc<Leg>, String> {
        let (leg, _heard, task) = media_leg(&self.inner, peer, codec, Some(sdp::OFFERED_TELEPHONE_EVENT))?;
        self.tasks.push(task);
        Ok(leg)
    }

    /// Sends an INVITE; its final answer arrives as `CallEvent::LegAnswered`.
    fn invite(&mut self, option: InviteOption, leg_call_id: &str) -> Result<InviteDialog, String> {
        let (dialog, answer) = invite_leg(&self.inner, option, leg_call_id, &self.events_tx)?;
        self.tasks.push(answer);
        Ok(dialog)
    }

    /// Waits for the final answer to the INVITE of `leg_call_id`; its SDP when it was a 2xx.
    async fn answered(
        &mut self,
        events: &mut mpsc::Receiver<CallEvent>,
        leg_call_id: &str,
        within: Duration,
    ) -> Result<sdp::Media, NoAnswer> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let e = tokio::time::timeout_at(deadline, events.recv())
                .await
                .map_err(|_| NoAnswer::Why(format!("no answer within {} s", within.as_secs())))?
                .ok_or_else(|| NoAnswer::Why("the call's events ended".into()))?;
            match e {
                CallEvent::LegAnswered(id, r) if id == leg_call_id => {
                    return match r {
                        Ok((_, Some(resp))) if resp.status_code.kind() == StatusCodeKind::Successful => {
                            sdp::parse(&resp.body).map_err(|e| NoAnswer::Why(e.to_string()))
                        }
                        Ok((_, Some(resp))) => Err(NoAnswer::Why(format!("answered {}", resp.status_code))),
                        Ok((_, None)) => Err(NoAnswer::Why("no final answer".into())),
                        Err(e) => Err(NoAnswer::Why(e.to_string())),
                    };
                }
                CallEvent::Dialog(id, DialogState::Terminated(..)) if id != leg_call_id => {
                    return Err(NoAnswer::OtherHungUp);
                }
                _ => {}
            }
        }
    }

    async fn announce(&self) {
        if let Some(c) = self.conversation_id {
            self.inner.hub.announce_conversation(self.org_id, c).await;
        }
    }

    async fn finish(mut self, call_id: &str, end: End) {
        if self.bridged {
            self.inner.metrics.bridged_now.fetch_sub(1, Ordering::Relaxed);
        }
        if end.outcome == "failed" {
            self.inner.metrics.calls_failed.fetch_add(1, Ordering::Relaxed);
        }
        for (id, dialog, leg) in [self.phone.take(), self.customer.take()].into_iter().flatten() {
            leg.unlink();
            // Cancels a leg still ringing, ends one answered; a leg that already ended is left.
            let _ = dialog.hangup().await;
            self.inner.calls().remove(&id);
            let m = &self.inner.metrics;
            m.rtp_sent
                .fetch_add(leg.counters.sent.load(Ordering::Relaxed), Ordering::Relaxed);
            m.rtp_dropped
                .fetch_add(leg.counters.dropped.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Err(e) = self
            .inner
            .hub
            .store()
            .call_ended(self.record_id, end.by, end.outcome, 0, now_millis())
            .await
        {
            tracing::warn!(error = %e, "call record not closed");
        }
        self.announce().await;
        self.inner.metrics.calls_active.fetch_sub(1, Ordering::Relaxed);
        self.inner
            .dialling
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.operator);
        tracing::info!(call = %call_id, by = end.by, outcome = end.outcome, "click-to-call ended");
    }
}
