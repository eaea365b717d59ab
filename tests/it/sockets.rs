//! The WebSocket layer from the wire, as RFC 6455 has it and as odd clients do it: the handshake,
//! pings, the closing handshake, malformed, unmasked, oversized and fragmented frames, bytes sent
//! right behind the upgrade request, an upgrade refused or asked of a page that is no WebSocket,
//! and a board that comes back, after a drop or a restart of the node, to a fresh state.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// RFC 6455 §1.3's answer to `KEY`.
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A client written against the RFC, byte by byte.
struct Raw {
    s: TcpStream,
    buf: Vec<u8>,
}

fn port_of(api: &Api) -> u16 {
    api.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
}

fn request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// One frame as a client sends it: masked, unless told otherwise.
fn frame(fin: bool, op: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 | op } else { op }];
    let m = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xFFFF => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

impl Raw {
    /// Connects and sends `bytes` (a request, maybe with frames behind it) in one write;
    /// answers the response head.
    fn open(api: &Api, bytes: &[u8]) -> (Raw, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port_of(api))).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        s.write_all(bytes).expect("write");
        let mut raw = Raw { s, buf: Vec::new() };
        let head = loop {
            if let Some(end) = raw.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw.buf[..end]).to_string();
                raw.buf.drain(..end + 4);
                break head;
            }
            assert!(
                raw.fill(),
                "the server ended before its answer: {:?}",
                String::from_utf8_lossy(&raw.buf)
            );
        };
        (raw, head)
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.s.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) => panic!("read: {e}"),
        }
    }

    /// The next frame that is not the server's heartbeat ping; None: the connection ended.
    fn next(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.buf.len() >= 2 {
                assert_eq!(self.buf[1] & 0x80, 0, "a server's frames are not masked");
                let (len, at) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4),
                    127 if self.buf.len() >= 10 => (
                        u64::from_be_bytes(self.buf[2..10].try_into().expect("8 bytes")) as usize,
                        10,
                    ),
                    n if n < 126 => (n as usize, 2),
                    _ => (usize::MAX, 0),
                };
                if at > 0 && self.buf.len() >= at + len {
                    let op = self.buf[0] & 0x0f;
                    assert_ne!(self.buf[0] & 0x80, 0, "the hub sends whole messages");
                    let payload = self.buf[at..at + len].to_vec();
                    self.buf.drain(..at + len);
                    if op == PING {
                        continue;
                    }
                    return Some((op, payload));
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("send");
    }

    /// The server's close frame: its code.
    fn closed_with(&mut self) -> u16 {
        loop {
            match self.next() {
                Some((CLOSE, p)) => {
                    assert!(p.len() >= 2, "a close with a code");
                    return u16::from_be_bytes([p[0], p[1]]);
                }
                Some(_) => continue,
                None => panic!("the connection ended without a close frame"),
            }
        }
    }

    /// After the close frame the server ends the connection.
    fn ends(&mut self) {
        while self.next().is_some() {}
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[actix_rt::test]
async fn the_handshake_pings_and_the_closing_handshake() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let board = node.api.board().await;
    let path = format!("/ws/board?token={board}");

    // A ping sent in the same packet as the upgrade request is answered after the snapshot.
    let mut bytes = request(&path, "").into_bytes();
    bytes.extend(frame(true, PING, b"early", true));
    let (mut ws, head) = Raw::open(&node.api, &bytes);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert_eq!(header(&head, "sec-websocket-accept"), Some(ACCEPT), "{head}");
    assert!(
        header(&head, "upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")),
        "{head}"
    );
    let (op, snapshot) = ws.next().expect("snapshot");
    assert_eq!(op, TEXT);
    let snapshot: Value = serde_json::from_slice(&snapshot).expect("json");
    assert!(snapshot["calls"].is_array(), "{snapshot}");
    assert_eq!(ws.next(), Some((PONG, b"early".to_vec())));

    // A ping split across writes, its payload echoed.
    let ping = frame(true, PING, b"half and half", true);
    ws.send(&ping[..5]);
    ws.send(&ping[5..]);
    assert_eq!(ws.next(), Some((PONG, b"half and half".to_vec())));

    // The closing handshake: the client's code comes back, then the server ends the connection.
    let mut bye = 1000u16.to_be_bytes().to_vec();
    bye.extend_from_slice(b"done");
    ws.send(&frame(true, CLOSE, &bye, true));
    assert_eq!(ws.closed_with(), 1000);
    ws.ends();
}

#[actix_rt::test]
async fn malformed_frames_close_with_the_right_code() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let board = node.api.board().await;
    let path = format!("/ws/board?token={board}");
    let cases: [(&str, Vec<u8>, u16); 6] = [
        ("an unmasked frame", frame(true, TEXT, b"{}", false), 1002),
        ("a reserved opcode", frame(true, 0x3, b"x", true), 1002),
        (
            "a control frame over 125 bytes",
            frame(true, PING, &[b'p'; 126], true),
            1002,
        ),
        ("a fragmented control frame", frame(false, PING, b"p", true), 1002),
        (
            "a continuation with nothing to continue",
            frame(true, 0x0, b"x", true),
            1002,
        ),
        (
            "a frame over the board's 4 KiB",
            frame(true, TEXT, &[b'x'; 5000], true),
            1009,
        ),
    ];
    for (what, bad, code) in cases {
        let (mut ws, head) = Raw::open(&node.api, request(&path, "").as_bytes());
        assert!(head.starts_with("HTTP/1.1 101"), "{what}: {head}");
        assert_eq!(ws.next().map(|f| f.0), Some(TEXT), "{what}: the snapshot first");
        ws.send(&bad);
        assert_eq!(ws.closed_with(), code, "{what}");
        ws.ends();
    }
    // The node is none the worse: a new board gets its snapshot.
    let (mut ws, _) = Raw::open(&node.api, request(&path, "").as_bytes());
    assert_eq!(ws.next().map(|f| f.0), Some(TEXT));
}

#[actix_rt::test]
async fn a_client_that_pings_without_reading_is_dropped() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let board = node.api.board().await;
    let (mut ws, head) = Raw::open(&node.api, request(&format!("/ws/board?token={board}"), "").as_bytes());
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // Pings the hub must answer, more than any socket buffers hold, and never a read: the answers
    // may not pile up in the hub without bound.
    let ping = frame(true, PING, &[b'p'; 125], true);
    let flood: Vec<u8> = ping.iter().copied().cycle().take(ping.len() * 40_000).collect();
    ws.s.set_write_timeout(Some(Duration::from_secs(20))).expect("timeout");
    // The hub drops the connection mid-way: the write then fails, which is the point.
    let _ = ws.s.write_all(&flood);
    let until = std::time::Instant::now() + Duration::from_secs(20);
    let mut dropped = false;
    while !dropped && std::time::Instant::now() < until {
        let (_, metrics) = node.api.get_text("/metrics").await;
        dropped = metrics
            .lines()
            .any(|l| l.starts_with("hub_websocket_dropped_slow_total ") && !l.ends_with(" 0"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dropped, "the flooding client was dropped as too slow");
    // What was sent before the drop is there to read, then the end (or a reset).
    let mut sink = vec![0u8; 1 << 16];
    while matches!(ws.s.read(&mut sink), Ok(n) if n > 0) {}
}

#[actix_rt::test]
async fn an_upgrade_refused_or_asked_of_a_page_is_answered_in_http() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let board = node.api.board().await;

    // A wrong token: the API's own 401, with its JSON body, and the connection ends.
    let (mut ws, head) = Raw::open(&node.api, request("/ws/board?token=wrong", "").as_bytes());
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    let len: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .expect("a length");
    while ws.buf.len() < len {
        assert!(ws.fill(), "the body");
    }
    let body: Value = serde_json::from_slice(&ws.buf[..len]).expect("json");
    assert_eq!(body["code"], "unauthenticated", "{body}");
    ws.buf.drain(..len);
    assert!(!ws.fill(), "the connection ends after a refused upgrade");

    // No key: not a WebSocket handshake.
    let bad = format!(
        "GET /ws/board?token={board} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let (_, head) = Raw::open(&node.api, bad.as_bytes());
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");

    // Another origin's page may not open a console's feed (its cookie would ride along).
    let (_, head) = Raw::open(
        &node.api,
        request(&format!("/ws/board?token={board}"), "Origin: http://evil.example\r\n").as_bytes(),
    );
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");

    // An upgrade asked of a page that is no WebSocket: the page, as HTTP.
    let (mut ws, head) = Raw::open(&node.api, request("/healthz", "").as_bytes());
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(ws.buf.len() < 4096);
    while ws.fill() {}
}

#[actix_rt::test]
async fn a_board_comes_back_to_a_fresh_state() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = node.api.clone();
    let board = api.board().await;
    let kiosk = api.kiosk().await;
    let op = api.operator_at("operator1", "demo-operator1", 1).await;
    let path = format!("/ws/board?token={board}");
    let numbers = |v: &Value| -> Vec<String> {
        v["calls"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["number"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };

    let (mut ws, _) = Raw::open(&api, request(&path, "").as_bytes());
    let first: Value = serde_json::from_slice(&ws.next().expect("snapshot").1).expect("json");
    assert!(numbers(&first).is_empty(), "{first}");
    // The board drops off (a TV switched off); a ticket is called meanwhile.
    drop(ws);
    api.issue(&kiosk, CONSULTATION).await;
    let (_, called) = api.call_next(&op).await;
    let number = called["ticket"]["number"].as_str().expect("number").to_string();
    let (mut ws, _) = Raw::open(&api, request(&path, "").as_bytes());
    let again: Value = serde_json::from_slice(&ws.next().expect("snapshot").1).expect("json");
    assert_eq!(numbers(&again), vec![number.clone()], "the call made while it was away");

    // The node stops: the board is told to reconnect (1001), and finds the same state on the
    // node started again, with what happened since.
    let mut node = node;
    // SAFETY: a signal to the child process this test started.
    unsafe { libc::kill(node.pid() as i32, libc::SIGTERM) };
    assert_eq!(ws.closed_with(), 1001);
    ws.ends();
    let _ = node.child.wait();
    let node = store.start().await;
    // The operator is still at the window, with the ticket in hand.
    let op = node.api.login("operator1", "demo-operator1").await;
    let id = called["ticket"]["id"].as_i64().expect("id");
    assert_eq!(node.api.act(&op, id, "finish", None).await.0, 200);
    node.api.issue(&node.api.kiosk().await, CONSULTATION).await;
    let (_, next) = node.api.call_next(&op).await;
    let second = next["ticket"]["number"].as_str().expect("number").to_string();
    let (mut ws, _) = Raw::open(&node.api, request(&path, "").as_bytes());
    let after: Value = serde_json::from_slice(&ws.next().expect("snapshot").1).expect("json");
    let mut shown = numbers(&after);
    shown.sort();
    let mut want = vec![number, second];
    want.sort();
    assert_eq!(shown, want, "{after}");
}

#[actix_rt::test]
async fn a_widget_message_in_fragments_and_one_not_utf8() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let (token, _) = crate::chat::Widget::start(&node.api, None).await;
    let path = format!("/ws/chat?token={token}");
    let (mut ws, head) = Raw::open(&node.api, request(&path, "").as_bytes());
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let hello: Value = serde_json::from_slice(&ws.next().expect("hello").1).expect("json");
    assert_eq!(hello["type"], "hello", "{hello}");
    // One message in three fragments, with a ping between them (control frames may interleave).
    let msg = br#"{"type":"message","client_id":"frag-1","body":"Hello in pieces"}"#;
    ws.send(&frame(false, TEXT, &msg[..10], true));
    ws.send(&frame(true, PING, b"between", true));
    ws.send(&frame(false, 0x0, &msg[10..30], true));
    ws.send(&frame(true, 0x0, &msg[30..], true));
    assert_eq!(ws.next(), Some((PONG, b"between".to_vec())));
    loop {
        let (op, p) = ws.next().expect("an answer");
        assert_eq!(op, TEXT);
        let v: Value = serde_json::from_slice(&p).expect("json");
        if v["type"] == "ack" {
            assert_eq!(v["client_id"], "frag-1", "{v}");
            break;
        }
    }
    // Text that is not UTF-8: 1007.
    ws.send(&frame(true, TEXT, &[0xff, 0xfe, 0x22], true));
    assert_eq!(ws.closed_with(), 1007);
    ws.ends();
}
