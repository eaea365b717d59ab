//! A call leg's media: one UDP socket from the port range, the peer's address (learned from its
//! first packet: symmetric RTP, so callers behind NAT are reached where they really are), the
//! negotiated law and telephone-event type. While the hub talks to the caller the leg plays
//! prompts and hands keys (and, when recording, audio) to the call; once bridged it relays every
//! packet to the other leg as it comes. Payload types that were not negotiated are dropped, as
//! are packets from anywhere but the learned address.
//!
//! Once the address is learned the socket is connected to it: the kernel then filters strangers
//! itself and sends without a route lookup per packet. Sends never wait: a packet that finds the
//! socket's buffer full is late already, and waiting would only delay the ones behind it.

use std::cell::RefCell;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hub_speech::audio::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode, G711_FRAME};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::mpsc;

use crate::jitter::Reorder;
use crate::rtp::{self, KeyDetector};
use crate::sdp::Codec;
use crate::udp;

thread_local! {
    /// A batch is read and handled before the leg awaits again, so one buffer per thread serves
    /// every leg that thread runs (rather than a buffer held by each of a thousand idle legs).
    static BATCH: RefCell<udp::Batch> = RefCell::new(udp::Batch::default());
}

/// What the call hears from its caller while it is not bridged.
#[derive(Debug)]
pub enum Heard {
    Key(char),
    /// 20 ms (usually) of 8 kHz audio, in order, only while recording.
    Audio(Vec<i16>),
}

enum Sink {
    /// Keys only (IVR, queue).
    Keys,
    /// Keys and audio (voicemail).
    Record(Box<Reorder>),
    /// Every packet goes to the other leg.
    Relay(Arc<Leg>),
}

struct State {
    remote: SocketAddr,
    latched: bool,
    codec: Codec,
    telephone_event: Option<u8>,
    sink: Sink,
    /// Held (re-INVITE sendonly/inactive): nothing is sent to this leg, nor relayed from it.
    held: bool,
}

/// Counters of one leg, for the call record and the metrics.
#[derive(Default)]
pub struct LegCounters {
    pub received: AtomicU64,
    pub sent: AtomicU64,
    /// Packets that were not RTP, came from elsewhere or had a payload type not negotiated.
    pub dropped: AtomicU64,
}

pub struct Leg {
    sock: AsyncFd<UdpSocket>,
    pub local: SocketAddr,
    state: Mutex<State>,
    ssrc: u32,
    seq: AtomicU16,
    started: std::time::Instant,
    pub counters: LegCounters,
    events: mpsc::Sender<Heard>,
}

impl Leg {
    /// `sock` is non-blocking (as `PortRange::bind` gives it); `advertised` is the address our
    /// SDP gives (the socket's own port on the public IP). Must be called inside a Tokio
    /// runtime, whose reactor then watches the socket.
    pub fn new(
        sock: UdpSocket,
        advertised: SocketAddr,
        remote: SocketAddr,
        codec: Codec,
        telephone_event: Option<u8>,
    ) -> std::io::Result<(Arc<Self>, mpsc::Receiver<Heard>)> {
        // Readable only: a leg never waits to send, and writable interest would wake the
        // reactor again after every packet sent, as the kernel frees its buffer.
        // SAFETY: the AsyncFd owns the socket, so its descriptor stays open and the same for
        // the AsyncFd's whole life.
        let sock = unsafe { AsyncFd::register_with_interest(sock, Interest::READABLE) }?;
        let (tx, rx) = mpsc::channel(512);
        let leg = Arc::new(Self {
            sock,
            local: advertised,
            state: Mutex::new(State {
                remote,
                latched: false,
                codec,
                telephone_event,
                sink: Sink::Keys,
                held: false,
            }),
            ssrc: rand::random(),
            seq: AtomicU16::new(rand::random()),
            started: std::time::Instant::now(),
            counters: LegCounters::default(),
            events: tx,
        });
        Ok((leg, rx))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn codec(&self) -> Codec {
        self.state().codec
    }

    pub fn telephone_event(&self) -> Option<u8> {
        self.state().telephone_event
    }

    /// The peer's answer arrived (operator leg): where to send, in which law.
    pub fn set_peer(&self, remote: SocketAddr, codec: Codec, telephone_event: Option<u8>) {
        let mut s = self.state();
        if !s.latched {
            s.remote = remote;
        }
        s.codec = codec;
        s.telephone_event = telephone_event;
    }

    pub fn set_held(&self, held: bool) {
        self.state().held = held;
    }

    pub fn record(&self, on: bool) {
        self.state().sink = if on {
            Sink::Record(Box::new(Reorder::new(4)))
        } else {
            Sink::Keys
        };
    }

    /// From now on every packet of this leg goes to `other`.
    pub fn relay_to(&self, other: &Arc<Leg>) {
        self.state().sink = Sink::Relay(other.clone());
    }

    /// Ends relaying (so two bridged legs do not keep each other alive).
    pub fn unlink(&self) {
        self.state().sink = Sink::Keys;
    }

    /// Reads packets until the socket fails or the task is dropped.
    pub async fn run(self: Arc<Self>) {
        let mut keys = KeyDetector::default();
        loop {
            let mut ready = match self.sock.readable().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(error = %e, "RTP socket closed");
                    return;
                }
            };
            let failed = BATCH.with_borrow_mut(|batch| match udp::recv(ready.get_inner(), batch) {
                Ok(n) => {
                    if n < udp::BATCH {
                        ready.clear_ready();
                    }
                    self.counters.received.fetch_add(n as u64, Ordering::Relaxed);
                    for (data, from) in batch.packets() {
                        self.receive(data, from, &mut keys);
                    }
                    None
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    ready.clear_ready();
                    None
                }
                // ICMP port unreachable (the peer's port closed) surfaces as an error on a
                // connected socket: keep reading.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => None,
                Err(e) => Some(e),
            });
            if let Some(e) = failed {
                tracing::debug!(error = %e, "RTP socket closed");
                return;
            }
        }
    }

    fn receive(&self, data: &[u8], from: SocketAddr, keys: &mut KeyDetector) {
        let Ok(p) = rtp::parse(data) else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let (relay, heard) = {
            let mut s = self.state();
            if !s.latched {
                s.remote = from;
                s.latched = true;
                // Failing to connect only costs the kernel's filtering and cached route.
                if let Err(e) = self.sock.get_ref().connect(from) {
                    tracing::debug!(error = %e, peer = %from, "RTP socket not connected");
                }
            } else if s.remote != from {
                drop(s);
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let is_audio = p.payload_type == s.codec.payload_type();
            let is_event = Some(p.payload_type) == s.telephone_event;
            if !is_audio && !is_event {
                drop(s);
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let (codec, held) = (s.codec, s.held);
            match &mut s.sink {
                // A side on hold is not heard either (its phone may send silence or music).
                Sink::Relay(_) if held => (None, vec![]),
                Sink::Relay(other) => (Some((other.clone(), is_event)), vec![]),
                Sink::Keys if is_event => (
                    None,
                    keys.feed(p.timestamp, p.payload).map(Heard::Key).into_iter().collect(),
                ),
                Sink::Keys => (None, vec![]),
                Sink::Record(_) if is_event => (
                    None,
                    keys.feed(p.timestamp, p.payload).map(Heard::Key).into_iter().collect(),
                ),
                Sink::Record(r) => (
                    None,
                    r.push(p.seq, p.payload)
                        .into_iter()
                        .map(|payload| Heard::Audio(decode(codec, &payload)))
                        .collect(),
                ),
            }
        };
        for h in heard {
            // A call that stopped listening does not block the socket.
            let _ = self.events.try_send(h);
        }
        if let Some((other, is_event)) = relay {
            other.forward(data, is_event);
        }
    }

    /// Sends a packet relayed from the other leg, with this leg's payload type for events.
    fn forward(&self, data: &[u8], is_event: bool) {
        let (remote, latched, held, te) = {
            let s = self.state();
            (s.remote, s.latched, s.held, s.telephone_event)
        };
        if held {
            return;
        }
        if is_event {
            let Some(te) = te else { return };
            let mut copy = data.to_vec();
            copy[1] = (copy[1] & 0x80) | te;
            self.send_raw(&copy, remote, latched);
        } else {
            self.send_raw(data, remote, latched);
        }
    }

    /// `connected`: the socket is connected to `to` (the learned address), so no address is
    /// given (one given would make the kernel look the route up again).
    fn send_raw(&self, data: &[u8], to: SocketAddr, connected: bool) {
        let sock = self.sock.get_ref();
        let sent = if connected {
            sock.send(data)
        } else {
            sock.send_to(data, to)
        };
        if sent.is_ok() {
            self.counters.sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Plays 8 kHz audio to the peer in 20 ms packets, paced by the clock; returns early when
    /// `until` resolves (a key was pressed, the call was answered).
    pub async fn play(&self, samples: &[i16], until: impl std::future::Future<Output = ()>) {
        tokio::pin!(until);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut out = Vec::with_capacity(rtp::HEADER + G711_FRAME);
        let mut first = true;
        for frame in samples.chunks(G711_FRAME) {
            tokio::select! {
                _ = &mut until => return,
                _ = tick.tick() => {}
            }
            let (remote, latched, held, codec) = {
                let s = self.state();
                (s.remote, s.latched, s.held, s.codec)
            };
            if held {
                continue;
            }
            let payload: Vec<u8> = frame.iter().map(|&x| encode(codec, x)).collect();
            // The timestamp follows the wall clock, so a pause between prompts is a gap in time.
            let ts = (self.started.elapsed().as_millis() as u64 * 8) as u32;
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            rtp::write(&mut out, first, codec.payload_type(), seq, ts, self.ssrc, &payload);
            first = false;
            self.send_raw(&out, remote, latched);
        }
    }
}

fn encode(codec: Codec, x: i16) -> u8 {
    match codec {
        Codec::Pcmu => ulaw_encode(x),
        Codec::Pcma => alaw_encode(x),
    }
}

fn decode(codec: Codec, payload: &[u8]) -> Vec<i16> {
    payload
        .iter()
        .map(|&b| match codec {
            Codec::Pcmu => ulaw_decode(b),
            Codec::Pcma => alaw_decode(b),
        })
        .collect()
}

/// A soft hold signal: two short tones every four seconds, at 8 kHz. Made once: every waiting
/// call plays it over and over.
pub fn hold_tone() -> Arc<[i16]> {
    static TONE: std::sync::OnceLock<Arc<[i16]>> = std::sync::OnceLock::new();
    TONE.get_or_init(|| {
        let rate = 8000.0;
        let mut out = vec![0i16; 4 * 8000];
        for (start, freq) in [(0usize, 523.25f32), (2400, 659.25)] {
            for i in 0..1600 {
                let t = i as f32 / rate;
                let env = (std::f32::consts::PI * i as f32 / 1600.0).sin();
                out[start + i] = (env * 3000.0 * (2.0 * std::f32::consts::PI * freq * t).sin()) as i16;
            }
        }
        out.into()
    })
    .clone()
}

/// The ringing tone a caller hears while the called phone rings: 425 Hz, one second on, four
/// off (the European cadence, ITU-T E.180). Made once.
pub fn ringback() -> Arc<[i16]> {
    static RING: std::sync::OnceLock<Arc<[i16]>> = std::sync::OnceLock::new();
    RING.get_or_init(|| {
        let mut out = vec![0i16; 5 * 8000];
        for (i, x) in out.iter_mut().take(8000).enumerate() {
            *x = (5000.0 * (2.0 * std::f32::consts::PI * 425.0 * i as f32 / 8000.0).sin()) as i16;
        }
        out.into()
    })
    .clone()
}

/// A beep before a recording starts (and in place of prompts when no speech engine runs).
pub fn beep() -> Arc<[i16]> {
    static BEEP: std::sync::OnceLock<Arc<[i16]>> = std::sync::OnceLock::new();
    BEEP.get_or_init(|| {
        (0..3200)
            .map(|i| (6000.0 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 8000.0).sin()) as i16)
            .collect()
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ringback_rings_one_second_in_five() {
        let r = ringback();
        assert_eq!(r.len(), 40_000);
        let loud = |s: &[i16]| s.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0);
        assert!(loud(&r[..8000]) > 4000);
        assert_eq!(loud(&r[8000..]), 0);
    }

    async fn leg() -> (Arc<Leg>, mpsc::Receiver<Heard>, tokio::net::UdpSocket) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_nonblocking(true).unwrap();
        let local = sock.local_addr().unwrap();
        let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (leg, rx) = Leg::new(sock, local, peer.local_addr().unwrap(), Codec::Pcmu, Some(101)).unwrap();
        tokio::spawn(leg.clone().run());
        (leg, rx, peer)
    }

    #[tokio::test]
    async fn keys_arrive_once_and_foreign_payloads_are_dropped() {
        let (leg, mut rx, peer) = leg().await;
        let mut p = vec![];
        // sipp sends events on 96 whatever was negotiated: dropped.
        rtp::write(&mut p, true, 96, 1, 100, 7, &[3, 0x0a, 0, 160]);
        peer.send_to(&p, leg.local).await.unwrap();
        for _ in 0..3 {
            rtp::write(&mut p, false, 101, 2, 200, 7, &[4, 0x8a, 0, 160]);
            peer.send_to(&p, leg.local).await.unwrap();
        }
        let h = tokio::time::timeout(Duration::from_secs(2), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(h, Heard::Key('4')));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(rx.try_recv().is_err());
        assert_eq!(leg.counters.dropped.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn relays_both_ways_to_learned_addresses() {
        let (a, _ra, pa) = leg().await;
        let (b, _rb, pb) = leg().await;
        a.relay_to(&b);
        b.relay_to(&a);
        let mut p = vec![];
        rtp::write(&mut p, false, 0, 1, 160, 1, &[0xff; 160]);
        pa.send_to(&p, a.local).await.unwrap();
        let mut buf = [0u8; 400];
        let (n, from) = tokio::time::timeout(Duration::from_secs(2), pb.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], &p[..]);
        assert_eq!(from, b.local);
        pb.send_to(&p, b.local).await.unwrap();
        let (n, _) = tokio::time::timeout(Duration::from_secs(2), pa.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, p.len());
    }

    #[tokio::test]
    async fn answers_where_the_peer_really_is_and_ignores_strangers() {
        // The SDP named an address nobody listens on (a caller behind NAT).
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_nonblocking(true).unwrap();
        let local = sock.local_addr().unwrap();
        let (leg, mut rx) = Leg::new(sock, local, "127.0.0.1:9".parse().unwrap(), Codec::Pcmu, Some(101)).unwrap();
        tokio::spawn(leg.clone().run());
        let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut p = vec![];
        rtp::write(&mut p, false, 0, 1, 160, 7, &[0xff; 160]);
        peer.send_to(&p, leg.local).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Its prompts now go where its packets came from.
        leg.play(&[0i16; 160], std::future::pending()).await;
        let mut buf = [0u8; 400];
        let n = tokio::time::timeout(Duration::from_secs(2), peer.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rtp::parse(&buf[..n]).unwrap().payload.len(), 160);
        // A key from anyone else is not heard; the peer's is.
        for sender in [&stranger, &peer] {
            for _ in 0..3 {
                rtp::write(
                    &mut p,
                    false,
                    101,
                    2,
                    320,
                    7,
                    &[if std::ptr::eq(sender, &peer) { 5 } else { 9 }, 0x8a, 0, 160],
                );
                sender.send_to(&p, leg.local).await.unwrap();
            }
        }
        let h = tokio::time::timeout(Duration::from_secs(2), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(h, Heard::Key('5')), "{h:?}");
        assert_eq!(leg.counters.received.load(Ordering::Relaxed), 4);
    }

    #[tokio::test]
    async fn plays_paced_frames() {
        let (leg, _rx, peer) = leg().await;
        let samples = vec![0i16; 160 * 5];
        leg.play(&samples, std::future::pending()).await;
        let mut buf = [0u8; 400];
        for _ in 0..5 {
            let n = peer.recv(&mut buf).await.unwrap();
            let p = rtp::parse(&buf[..n]).unwrap();
            assert_eq!(p.payload.len(), 160);
            assert_eq!(p.payload_type, 0);
        }
    }
}
