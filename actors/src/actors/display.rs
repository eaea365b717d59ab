//! DisplayActor: one per board device. Holds what the board shows (the branch's last calls),
//! rebuilt from the store on start, and pushes every change to the device's open connections:
//! a screen gets the whole board once (`type: "board"`, and again whenever the state is read
//! afresh), then each change alone (`type: "board_change"`, a `model::board::BoardChange`), each
//! numbered so a screen that missed one knows it and reconnects for a fresh snapshot.
//!
//! Connections register as a [`Screen`], which takes a push at once or says it is gone: a
//! connection that cannot keep up is closed by its own rule (bounded output) and forgotten here,
//! and the board reconnects for a fresh snapshot, so one slow screen never holds up the others.

use std::time::{Duration, Instant};

use actix::prelude::*;
use serde::Serialize;

use super::{bus_stream, Heard};
use crate::bus::EventKind;
use crate::error::{Error, Result};
use crate::model::{
    board::{BoardCall, BoardChange, BoardLook, BoardState},
    numbering::local_day,
    ticket::TicketStatus,
    Millis,
};
use crate::Core;

/// A board with no connection for this long stops; the next connection starts it again.
const IDLE_STOP: Duration = Duration::from_secs(120);
const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// One push to a board connection, serialised once and shared by all of them (a reference-
/// counted buffer: fanning out to a thousand screens copies no text).
pub type Push = bytestring::ByteString;

/// The board as it is now: what a screen is sent first, and again whenever the actor read its
/// state afresh (a template, a branch or the midnight roll-over changed it).
#[derive(Serialize)]
struct BoardMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// The board's version: each change after it carries the next number, so a screen that
    /// sees a gap knows it missed one and reconnects for a fresh snapshot.
    seq: u64,
    branch_id: i64,
    /// Shown as the board's heading.
    branch_name: &'a str,
    calls: &'a std::collections::VecDeque<BoardCall>,
    /// The branch's time zone (IANA): the board's clock shows the branch's time, not the TV's.
    tz: &'a str,
    /// The branch's time now, epoch ms: the clock runs from it, not from a TV's wrong clock.
    now: Millis,
    /// How many rows the board fits to the screen.
    rows: usize,
    /// The board's template (colours, logo, banner, the Status column): in the first message of a
    /// connection and when it changed, not with every call (a logo is up to 96 KiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    look: Option<&'a BoardLook>,
    /// When the event behind this push happened on the server, epoch ms.
    at: Millis,
}

/// One change after the snapshot (`BoardChange`'s `op` and its fields, flattened in).
#[derive(Serialize)]
struct ChangeMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
    #[serde(flatten)]
    change: &'a BoardChange,
    /// The branch's time now, epoch ms (the clock keeps in step with every message).
    now: Millis,
    at: Millis,
}

pub struct DisplayActor {
    core: Core,
    device_id: i64,
    branch_id: i64,
    branch_name: String,
    tz: String,
    look: BoardLook,
    board: BoardState,
    /// The version of `board` the screens have: one more with each change or fresh snapshot.
    seq: u64,
    loaded: bool,
    sessions: Vec<Box<dyn Screen>>,
    idle_since: Option<Instant>,
}

impl DisplayActor {
    pub fn new(core: Core, device_id: i64) -> Self {
        Self {
            core,
            device_id,
            branch_id: 0,
            branch_name: String::new(),
            tz: "UTC".into(),
            look: BoardLook::default(),
            board: BoardState::default(),
            seq: 0,
            loaded: false,
            sessions: Vec::new(),
            idle_since: Some(Instant::now()),
        }
    }

    /// Reads the board's state again; `resend` sends the template too, so screens re-read the
    /// device's settings (a new voice) even when the template itself is the same.
    fn reload_with(&mut self, ctx: &mut Context<Self>, resend: bool) {
        let (core, device_id) = (self.core.clone(), self.device_id);
        let load = async move {
            let (org_id, branch_id) = core.store.device_branch(device_id).await?;
            let branch = core.store.branch(org_id, branch_id).await?;
            let day = local_day(jiff::Timestamp::now(), &branch.tz());
            let look = match core.store.device_look(device_id).await? {
                crate::store::Look::Board(look) => look,
                crate::store::Look::Kiosk(_) => return Err(Error::NotFound("board")),
            };
            let size = look.rows_or(branch.board_size);
            let calls = core.store.board_calls(branch_id, &day, size as i64).await?;
            Ok::<_, Error>((branch_id, branch.name, branch.timezone, look, size, calls))
        };
        ctx.wait(load.into_actor(self).map(move |res, act, ctx| match res {
            Ok((branch_id, name, tz, look, size, calls)) => {
                let new_look = resend || !act.loaded || act.look != look;
                let changed = new_look || act.board.calls != calls || act.tz != tz || act.branch_name != name;
                act.branch_id = branch_id;
                act.branch_name = name;
                act.tz = tz;
                act.look = look;
                act.board = BoardState::new(size);
                act.board.calls = calls.into();
                act.loaded = true;
                if changed {
                    act.seq += 1;
                    let snapshot = act.snapshot(crate::model::now_millis(), new_look);
                    act.show(&snapshot);
                }
            }
            Err(e) => {
                tracing::warn!(device = act.device_id, error = %e, "board reload failed");
                if !act.loaded {
                    // Without its first state the actor is useless; stop, and the next
                    // connection tries again.
                    ctx.stop();
                }
            }
        }));
    }

    fn reload(&mut self, ctx: &mut Context<Self>) {
        self.reload_with(ctx, false);
    }

    fn snapshot(&self, at: Millis, with_look: bool) -> Push {
        let m = BoardMessage {
            kind: "board",
            seq: self.seq,
            branch_id: self.branch_id,
            branch_name: &self.branch_name,
            calls: &self.board.calls,
            tz: &self.tz,
            now: crate::model::now_millis(),
            rows: self.board.size,
            look: with_look.then_some(&self.look),
            at,
        };
        Push::from(serde_json::to_string(&m).unwrap_or_default())
    }

    /// Tells the screens one change, serialised once for all of them.
    fn tell(&mut self, change: &BoardChange, at: Millis) {
        self.seq += 1;
        if self.sessions.is_empty() {
            return;
        }
        let m = ChangeMessage {
            kind: "board_change",
            seq: self.seq,
            change,
            now: crate::model::now_millis(),
            at,
        };
        self.show(&Push::from(serde_json::to_string(&m).unwrap_or_default()));
    }

    fn show(&mut self, push: &Push) {
        if self.sessions.is_empty() {
            return;
        }
        self.sessions.retain(|screen| screen.show(push));
        if self.sessions.is_empty() {
            self.idle_since = Some(Instant::now());
        }
    }
}

impl Actor for DisplayActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.add_stream(bus_stream(self.core.bus.subscribe()));
        self.reload(ctx);
        // A periodic reload catches what the bus could not deliver (a publish that failed after
        // its change was stored) and rolls the board over at midnight.
        ctx.run_interval(RELOAD_EVERY, |act, ctx| act.reload(ctx));
        ctx.run_interval(Duration::from_secs(10), |act, ctx| {
            act.sessions.retain(|screen| !screen.gone());
            if act.sessions.is_empty() {
                let since = *act.idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= IDLE_STOP {
                    tracing::debug!(device = act.device_id, "board idle; stopping its actor");
                    ctx.stop();
                }
            }
        });
    }
}

impl StreamHandler<Heard> for DisplayActor {
    fn handle(&mut self, heard: Heard, ctx: &mut Context<Self>) {
        let event = match heard {
            Heard::Missed => return self.reload(ctx),
            Heard::Event(e) => e,
        };
        match &event.kind {
            EventKind::Resync => self.reload(ctx),
            EventKind::DeviceChanged { device_id } if *device_id == self.device_id => self.reload_with(ctx, true),
            EventKind::BranchChanged if event.branch_id == self.branch_id => self.reload(ctx),
            _ if event.branch_id != self.branch_id || !self.loaded => {}
            EventKind::TicketCalled {
                ticket_id,
                number,
                window,
                called_at,
                ..
            } => {
                let call = BoardCall {
                    ticket_id: *ticket_id,
                    number: number.clone(),
                    window: window.clone(),
                    called_at: *called_at,
                    status: TicketStatus::Called,
                };
                let change = self.board.apply_call(call);
                self.tell(&change, event.at);
            }
            EventKind::TicketChanged { ticket_id, status, .. } => {
                let change = TicketStatus::parse(status).and_then(|s| self.board.apply_status(*ticket_id, s));
                if let Some(change) = change {
                    self.tell(&change, event.at);
                }
            }
            _ => {}
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// A board's open connection, as its display actor sees it.
pub trait Screen: Send + 'static {
    /// Takes a push now; false when the connection is gone (it is then forgotten).
    fn show(&self, push: &Push) -> bool;
    /// Whether the connection has closed.
    fn gone(&self) -> bool;
}

/// A queue as a screen (scripts and tests): a full queue is a screen that fell behind.
impl Screen for tokio::sync::mpsc::Sender<Push> {
    fn show(&self, push: &Push) -> bool {
        self.try_send(push.clone()).is_ok()
    }

    fn gone(&self) -> bool {
        self.is_closed()
    }
}

/// Answers the board as it is now; with a screen, shows it that first and then every change.
#[derive(Message)]
#[rtype(result = "Result<Push>")]
pub struct Connect(pub Option<Box<dyn Screen>>);

impl Handler<Connect> for DisplayActor {
    type Result = Result<Push>;

    fn handle(&mut self, msg: Connect, _: &mut Context<Self>) -> Result<Push> {
        if !self.loaded {
            return Err(Error::Actor("board state is not loaded".into()));
        }
        let snapshot = self.snapshot(crate::model::now_millis(), true);
        if let Some(screen) = msg.0 {
            if screen.show(&snapshot) {
                self.sessions.push(screen);
                self.idle_since = None;
            }
        }
        Ok(snapshot)
    }
}
