//! Telephony parts that know nothing of tickets or queues: the SDP offer/answer, RTP packets and
//! RFC 4733 telephone-events, the reorder buffer, digest authentication with its expiring
//! nonces, the registrar's lockout, the IVR's menu rules, the RTP port range and the media legs
//! that play prompts, hear keys, record and relay (reading their sockets in batches), and the rules of a trunk (failover, refresh,
//! the dialled number, what may be dialled out). The SIP bridge in `hub-channels` drives them.

pub mod digest;
pub mod guard;
pub mod ivr;
pub mod jitter;
pub mod lockout;
pub mod media;
pub mod ports;
pub mod rtp;
pub mod sdp;
pub mod trunk;
pub mod udp;
