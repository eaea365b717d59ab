//! A board that stops reading is dropped once its queue is full or its output waited too long;
//! the other boards get every push at once meanwhile, and the server's memory for it stays
//! bounded.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::FromRawFd;
use std::time::Duration;

use futures_util::StreamExt;

use crate::harness::*;

/// A TCP connection with a tiny receive buffer, set before connecting so the window stays small:
/// a client on a slow link, or one that simply stopped reading.
fn tiny_window_socket(port: u16) -> TcpStream {
    // SAFETY: plain socket calls on a descriptor we own; handed to TcpStream, which closes it.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let size: libc::c_int = 2048;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        );
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        );
        assert_eq!(rc, 0, "connect");
        TcpStream::from_raw_fd(fd)
    }
}

#[actix_rt::test]
async fn a_board_that_stops_reading_is_dropped() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    // Changes are small (a call is ~150 bytes), but a board's template with its pictures comes
    // whole with every snapshot: an admin changing a template with a logo and a banner picture
    // sends each board ~300 KB, so the kernel's socket buffers (up to 4 MiB here) fill after a
    // dozen of them rather than tens of thousands of calls.
    store.exec("UPDATE branches SET board_size = 20").await;
    let api = &node.api;
    let board = api.board().await;
    let admin = api.login("admin", "demo-admin").await;
    let (_, devices) = api.get("/api/admin/devices", Some(&admin)).await;
    let device = devices
        .as_array()
        .and_then(|d| d.iter().find(|d| d["kind"] == "board"))
        .and_then(|d| d["id"].as_i64())
        .expect("the demo's board");
    let look_path = format!("/api/admin/devices/{device}/look");
    let picture = |kind: &str, kb: usize| format!("data:image/{kind};base64,{}", "QUJD".repeat(kb * 1024 / 4));
    let mut look =
        serde_json::json!({"logo": picture("png", 120), "banner_image": picture("webp", 200), "banner": "0"});
    let (status, body) = api.put(&look_path, Some(&admin), look.clone()).await;
    assert_eq!(status, 200, "{body}");
    let port: u16 = api.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");

    // The stalled board: handshake, then never read again.
    let mut stalled = tiny_window_socket(port);
    write!(
        stalled,
        "GET /ws/board?token={board} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .expect("handshake");
    let mut head = [0u8; 12];
    stalled.read_exact(&mut head).expect("handshake answer");
    assert_eq!(&head, b"HTTP/1.1 101");

    // A healthy board, read all the time by its own task.
    let (_, mut healthy) = awc::Client::new()
        .ws(api.ws_url(&format!("/ws/board?token={board}")))
        .max_frame_size(1 << 20)
        .connect()
        .await
        .expect("ws");
    let received = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let count = received.clone();
    actix_rt::spawn(async move {
        while let Some(Ok(frame)) = healthy.next().await {
            if let awc::ws::Frame::Text(_) = frame {
                count.set(count.get() + 1);
            }
        }
    });

    // Fill the board with calls, then recall over and over, the template changing now and then.
    const CALLS: usize = 30;
    let kiosk = api.kiosk().await;
    let op = api.operator_at("operator1", "demo-operator1", 1).await;
    for _ in 0..CALLS {
        api.issue(&kiosk, CONSULTATION).await;
    }
    let mut id = 0;
    for i in 0..CALLS {
        let (_, called) = api.call_next(&op).await;
        id = called["ticket"]["id"].as_i64().expect("called");
        if i + 1 < CALLS {
            api.act(&op, id, "finish", None).await;
        }
    }
    // Every push reaches the healthy board while the stalled one is still held: never behind
    // it. (A write the stalled board does not take is given `SEND_TIMEOUT`, 2 s, before it is
    // dropped; the healthy board must not wait that out, so each push is awaited for less.)
    let mut expected = 1 + CALLS + (CALLS - 1);
    let arrived = |want: usize| {
        let received = received.clone();
        async move {
            let until = std::time::Instant::now() + Duration::from_millis(1500);
            while received.get() < want && std::time::Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            received.get()
        }
    };
    assert_eq!(arrived(expected).await, expected, "the healthy board has every call");
    let mut recalls = 0;
    let mut dropped = false;
    while recalls < 2000 {
        let (status, _) = api.act(&op, id, "recall", None).await;
        assert_eq!(status, 200);
        recalls += 1;
        expected += 1;
        if recalls % 4 == 0 {
            // A snapshot with the whole template to every board.
            look["banner"] = recalls.to_string().into();
            let (status, body) = api.put(&look_path, Some(&admin), look.clone()).await;
            assert_eq!(status, 200, "{body}");
            expected += 1;
        }
        assert_eq!(
            arrived(expected).await,
            expected,
            "recall {recalls} reached the healthy board at once"
        );
        if recalls % 20 == 0 {
            let (_, metrics) = api.get_text("/metrics").await;
            if metrics
                .lines()
                .any(|l| l.starts_with("hub_websocket_dropped_slow_total ") && !l.ends_with(" 0"))
            {
                dropped = true;
                break;
            }
        }
    }
    // The last pushes may still be within the send timeout (the heartbeat judges it).
    let until = std::time::Instant::now() + Duration::from_secs(15);
    while !dropped && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, metrics) = api.get_text("/metrics").await;
        dropped = metrics
            .lines()
            .any(|l| l.starts_with("hub_websocket_dropped_slow_total ") && !l.ends_with(" 0"));
    }
    assert!(dropped, "the stalled board was dropped after {recalls} pushes");
    assert_eq!(arrived(expected).await, expected, "the healthy board missed nothing");

    // The stalled socket is closed by the server: reading what is left ends in EOF.
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut sink = vec![0u8; 1 << 16];
    loop {
        match stalled.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) => panic!("the stalled board was not closed: {e}"),
        }
    }
}
