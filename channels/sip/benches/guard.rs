//! What the SIP door costs: datagrams screened per second, for the messages a call is made of
//! (INVITE with SDP, ACK, BYE, a REGISTER with credentials, a 200 response) and for a malformed
//! one answered at the door. Prints the figures; not part of the tests.
//!
//!   cargo bench -p hub-sip --bench guard

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

use hub_sip::guard::{screen, Verdict};

const INVITE: &str = "INVITE sip:8800@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK-524287-1---a3b1c2d4e5f6;rport\r\n\
Max-Forwards: 70\r\nContact: <sip:caller@127.0.0.1:6000>\r\nTo: <sip:8800@127.0.0.1>\r\n\
From: \"Caller\" <sip:caller@127.0.0.1>;tag=9fxced76sl\r\nCall-ID: 3848276298220188511@127.0.0.1\r\n\
CSeq: 1 INVITE\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\nContent-Type: application/sdp\r\n\
User-Agent: bench\r\nContent-Length: 142\r\n\r\n\
v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

const ACK: &str = "ACK sip:hub@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK-524287-1---ack;rport\r\nMax-Forwards: 70\r\n\
To: <sip:8800@127.0.0.1>;tag=as6f3a\r\nFrom: <sip:caller@127.0.0.1>;tag=9fxced76sl\r\n\
Call-ID: 3848276298220188511@127.0.0.1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";

const REGISTER: &str = "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:6001;branch=z9hG4bK-reg-2;rport\r\nMax-Forwards: 70\r\n\
Contact: <sip:1001@127.0.0.1:6001;transport=udp>;expires=3600\r\nTo: <sip:1001@127.0.0.1>\r\n\
From: <sip:1001@127.0.0.1>;tag=reg-77\r\nCall-ID: reg-1@127.0.0.1\r\nCSeq: 2 REGISTER\r\n\
Authorization: Digest username=\"1001\", realm=\"hub\", nonce=\"abc\", uri=\"sip:127.0.0.1\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5\r\n\
Content-Length: 0\r\n\r\n";

const OK: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-hub-1\r\n\
To: <sip:1001@127.0.0.1>;tag=ph-1\r\nFrom: <sip:hub@127.0.0.1>;tag=hub-1\r\nCall-ID: leg-1@127.0.0.1\r\n\
CSeq: 1 INVITE\r\nContact: <sip:1001@127.0.0.1:6001>\r\nContent-Length: 0\r\n\r\n";

const MALFORMED: &str = "INVITE sip:8800@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:6000;;,;,,\r\n\
To: <sip:8800@127.0.0.1>\r\nFrom: <sip:x@127.0.0.1>;tag=1\r\nCall-ID: m@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

fn main() {
    let source: SocketAddr = "127.0.0.1:6000".parse().unwrap_or_else(|e| panic!("{e}"));
    println!("SIP door (hub_sip::guard::screen), one core:");
    for (name, msg, n) in [
        ("INVITE with SDP", INVITE, 200_000),
        ("ACK", ACK, 200_000),
        ("REGISTER with digest", REGISTER, 200_000),
        ("200 response", OK, 200_000),
        ("malformed (answered 400)", MALFORMED, 200_000),
    ] {
        let kind = match screen(msg.as_bytes(), source) {
            Verdict::Pass(_) => "passed",
            Verdict::Answer { status, .. } => {
                if status == 400 {
                    "answered 400"
                } else {
                    "answered"
                }
            }
            Verdict::Drop(_) => "dropped",
        };
        let start = Instant::now();
        for _ in 0..n {
            black_box(screen(black_box(msg.as_bytes()), source));
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "  {name:<26} {kind:<13} {:>9.0} per second, {:>6.2} µs each",
            n as f64 / secs,
            secs * 1e6 / n as f64
        );
    }
}
