//! The door of the hub's SIP port: every datagram is screened here before the SIP stack sees it,
//! so that what RFC 3261 asks of an endpoint holds whatever the stack's own parser does with bad
//! input (RFC 4475's torture messages are the test). A request the hub cannot take is answered
//! here with the status the RFC names, built from the request's own Via, From, To, Call-ID and
//! CSeq; one the RFC lets an element read leniently is repaired; a response or a datagram too
//! broken to answer is dropped. Pure: bytes in, a verdict out.
//!
//! What is refused, in the order RFC 3261 §8.2 checks:
//! - a version other than SIP/2.0: 505;
//! - a Request-Line that is not three tokens, a method that is not a token, a missing or
//!   duplicated From, To, Call-ID, CSeq, Max-Forwards, Content-Length or Content-Type, a CSeq
//!   out of range or naming another method, an empty parameter in Via, From, To or Contact, a
//!   Content-Length that is not a number or runs past the datagram (§18.3), a Max-Forwards or
//!   Expires out of range, anything the stack cannot parse: 400;
//! - a method the hub does not know: 501 with Allow;
//! - a Request-URI of a scheme other than `sip`: 416;
//! - a `Require` (the hub supports no extension): 420 with Unsupported;
//! - an INVITE whose body is not SDP: 415 with Accept; one whose Accept excludes SDP: 406.
//!
//! What is read leniently and passed on repaired: extra spaces in the Request-Line, spaces
//! around `;` and `=` in From and To parameters (`tag = x`), a From without a tag and an INVITE
//! without Contact (RFC 2543: the source is the remote target),
//! a message without Content-Length (the body runs to the end of the datagram, §18.3) or with
//! bytes after its body (discarded), a head without its closing empty line.

use std::borrow::Cow;
use std::net::SocketAddr;

use sha2::{Digest, Sha256};

/// The methods the hub answers (the `Allow` of its 405 and 501 answers).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO";

/// Methods the stack parses; any other is unknown to the hub (501).
const KNOWN: &[&str] = &[
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "INFO",
    "MESSAGE",
    "NOTIFY",
    "PRACK",
    "PUBLISH",
    "REFER",
    "SUBSCRIBE",
    "UPDATE",
];

/// Headers that may appear once only (RFC 3261 §7.3.1: not comma-separated lists).
const SINGLE: &[&str] = &[
    "call-id",
    "cseq",
    "from",
    "to",
    "max-forwards",
    "content-length",
    "content-type",
    "expires",
];

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// On to the stack: the datagram as it came, or repaired.
    Pass(Cow<'a, [u8]>),
    /// Answer it here with these bytes, sent to this port of the source's address.
    Answer {
        port: Option<u16>,
        status: u16,
        bytes: Vec<u8>,
    },
    /// Nothing to say (a response, or a request too broken to answer).
    Drop(&'static str),
}

struct Header {
    /// As written (a compact form stays compact).
    raw_name: String,
    /// Lower-case, compact forms expanded.
    name: String,
    /// Unfolded and trimmed.
    value: String,
}

struct Parsed<'a> {
    start: String,
    headers: Vec<Header>,
    body: &'a [u8],
    /// The head had no closing empty line.
    unterminated: bool,
    /// A header line had no colon (or a bad name).
    malformed: bool,
}

fn canonical(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let full = match lower.as_str() {
        "i" => "call-id",
        "m" => "contact",
        "e" => "content-encoding",
        "l" => "content-length",
        "c" => "content-type",
        "f" => "from",
        "s" => "subject",
        "k" => "supported",
        "t" => "to",
        "v" => "via",
        other => return other.to_string(),
    };
    full.to_string()
}

fn parse(data: &[u8]) -> Option<Parsed<'_>> {
    let (head, body, unterminated) = match find(data, b"\r\n\r\n") {
        Some(i) => (&data[..i], &data[i + 4..], false),
        None => match find(data, b"\n\n") {
            Some(i) => (&data[..i], &data[i + 2..], false),
            None => (data, &data[data.len()..], true),
        },
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next()?.to_string();
    let mut headers: Vec<Header> = Vec::new();
    let mut malformed = false;
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // A folded line continues the one before (RFC 3261 §7.3.1).
            let Some(h) = headers.last_mut() else {
                malformed = true;
                continue;
            };
            h.value.push(' ');
            h.value.push_str(line.trim());
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            malformed = true;
            continue;
        };
        let raw_name = name.trim().to_string();
        if !is_token(&raw_name) {
            malformed = true;
            continue;
        }
        headers.push(Header {
            name: canonical(&raw_name),
            raw_name,
            value: value.trim().to_string(),
        });
    }
    Some(Parsed {
        start,
        headers,
        body,
        unterminated,
        malformed,
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Parsed<'_> {
    fn all(&self, name: &str) -> impl Iterator<Item = &Header> {
        let name = name.to_string();
        self.headers.iter().filter(move |h| h.name == name)
    }

    fn one(&self, name: &str) -> Option<&str> {
        self.all(name).next().map(|h| h.value.as_str())
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// Splits a header value at `sep` outside double quotes and angle brackets.
fn split_outside(value: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut escaped, mut from) = (false, false, false, 0);
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            c if c == sep && !quoted && !angle => {
                parts.push(&value[from..i]);
                from = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&value[from..]);
    parts
}

/// Whether a name-addr or addr-spec's header parameters (after `>`, or after the URI when it
/// has no angle brackets) include an empty one (`;;`, a trailing `;`).
fn has_empty_param(value: &str) -> bool {
    let params = split_outside(value, ';');
    params.iter().skip(1).any(|p| p.trim().is_empty())
}

fn via_is_sound(value: &str) -> bool {
    split_outside(value, ',').iter().all(|parm| {
        let parm = parm.trim();
        if parm.is_empty() || has_empty_param(parm) {
            return false;
        }
        let first = split_outside(parm, ';')[0];
        // "SIP / 2.0 / UDP host:port": spaces around the slashes are allowed (LWS).
        let compact: String = first.split('/').map(str::trim).collect::<Vec<_>>().join("/");
        let mut it = compact.splitn(2, char::is_whitespace);
        let protocol = it.next().unwrap_or("");
        let sent_by = it.next().unwrap_or("").trim();
        let proto: Vec<&str> = protocol.split('/').collect();
        proto.len() == 3 && proto[0].eq_ignore_ascii_case("SIP") && is_token(proto[2]) && !sent_by.is_empty()
    })
}

/// The port a response goes to (RFC 3261 §18.2.2 and RFC 3581): the source's when the top Via
/// asks for rport, else the Via's sent-by port (5060 when it names none).
fn answer_port(top_via: &str) -> Option<u16> {
    let parm = split_outside(top_via, ',')[0];
    let parts = split_outside(parm, ';');
    if parts.iter().skip(1).any(|p| {
        p.trim()
            .split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("rport"))
    }) {
        return None;
    }
    let sent_by = parts[0].rsplit(char::is_whitespace).next()?.trim();
    let port = match sent_by.strip_prefix('[') {
        Some(v6) => v6.split_once("]:").map(|(_, p)| p),
        None => sent_by.rsplit_once(':').map(|(_, p)| p),
    };
    match port {
        Some(p) => p.trim().parse().ok(),
        None => Some(5060),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        406 => "Not Acceptable",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        501 => "Not Implemented",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        _ => "Error",
    }
}

/// A response to a request the stack never sees, built from the request's own headers, with
/// `extra` header lines; `why` goes in a Warning (RFC 3261 §20.43) for whoever debugs the client.
fn answer(p: &Parsed<'_>, source: SocketAddr, status: u16, extra: &[String], why: &str) -> Verdict<'static> {
    let mut out = format!("SIP/2.0 {status} {}\r\n", reason(status));
    let mut port = Some(source.port());
    for (i, via) in p.all("via").enumerate() {
        let mut value = via.value.clone();
        if i == 0 {
            port = answer_port(&value);
            value = stamp_received(&value, source);
        }
        out.push_str(&format!("Via: {value}\r\n"));
    }
    for name in ["from", "to", "call-id", "cseq"] {
        if let Some(v) = p.one(name) {
            let v = if name == "to" && !has_param(v, "tag") {
                format!("{v};tag={}", tag_for(p, "to"))
            } else {
                v.to_string()
            };
            let label = match name {
                "from" => "From",
                "to" => "To",
                "call-id" => "Call-ID",
                _ => "CSeq",
            };
            out.push_str(&format!("{label}: {v}\r\n"));
        }
    }
    for line in extra {
        out.push_str(line);
        out.push_str("\r\n");
    }
    let why: String = why.chars().filter(|c| *c != '"' && !c.is_control()).take(120).collect();
    out.push_str(&format!("Warning: 399 hub \"{why}\"\r\nContent-Length: 0\r\n\r\n"));
    Verdict::Answer {
        port,
        status,
        bytes: out.into_bytes(),
    }
}

/// The top Via with `received` (when the sent-by is not the source's address) and a filled
/// `rport`, as RFC 3261 §18.2.1 and RFC 3581 ask.
fn stamp_received(via: &str, source: SocketAddr) -> String {
    let parts: Vec<&str> = split_outside(via, ',');
    let first = parts[0].trim();
    let mut params = split_outside(first, ';');
    let base = params.remove(0).trim().to_string();
    let host = base.rsplit(char::is_whitespace).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h).trim_matches(['[', ']']);
    let mut stamped = base.clone();
    let ip = source.ip().to_string();
    for p in params {
        let p = p.trim();
        if p.eq_ignore_ascii_case("rport") {
            stamped.push_str(&format!(";rport={}", source.port()));
        } else {
            stamped.push(';');
            stamped.push_str(p);
        }
    }
    if host != ip {
        stamped.push_str(&format!(";received={ip}"));
    }
    let mut rest: Vec<String> = vec![stamped];
    rest.extend(parts[1..].iter().map(|s| s.trim().to_string()));
    rest.join(", ")
}

fn has_param(value: &str, name: &str) -> bool {
    header_params(value)
        .iter()
        .any(|p| p.split('=').next().is_some_and(|n| n.trim().eq_ignore_ascii_case(name)))
}

/// The header parameters of a name-addr (after `>`) or an addr-spec (after the URI).
fn header_params(value: &str) -> Vec<&str> {
    split_outside(value, ';').into_iter().skip(1).collect()
}

/// A tag the hub gives a dialog side that came without one: the same for every retransmission.
fn tag_for(p: &Parsed<'_>, side: &str) -> String {
    let mut h = Sha256::new();
    h.update(side.as_bytes());
    h.update(p.one("call-id").unwrap_or("").as_bytes());
    h.update(p.one("from").unwrap_or("").as_bytes());
    hex::encode(&h.finalize()[..6])
}

/// `tag = x ;  y=z` after the URI becomes `tag=x;y=z` (LWS around `;` and `=` is allowed by the
/// grammar, and the stack does not read it).
fn tidy_params(value: &str) -> String {
    let parts = split_outside(value, ';');
    let mut out = parts[0].trim_end().to_string();
    for p in &parts[1..] {
        out.push(';');
        match p.split_once('=') {
            Some((n, v)) => {
                out.push_str(n.trim());
                out.push('=');
                out.push_str(v.trim());
            }
            None => out.push_str(p.trim()),
        }
    }
    out
}

fn digits_within(v: &str, max: u64) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && v.parse::<u64>().is_ok_and(|n| n <= max)
}

/// Screens one datagram from `source`.
pub fn screen(data: &[u8], source: SocketAddr) -> Verdict<'_> {
    let start_at = data.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start_at) = start_at else {
        return Verdict::Drop("empty (a keep-alive)");
    };
    let data = &data[start_at..];
    let Some(p) = parse(data) else {
        return Verdict::Drop("not a SIP message: no header lines");
    };
    if p.start.starts_with("SIP/") {
        return screen_response(data, &p);
    }
    if p.all("via").next().is_none() {
        return Verdict::Drop("a request without Via: nowhere to answer");
    }
    let bad = |why: &str| answer(&p, source, 400, &[], why);
    let tokens: Vec<&str> = p.start.split_whitespace().collect();
    let version = tokens.last().copied().unwrap_or("");
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        let looks_like =
            version.get(..4).is_some_and(|v| v.eq_ignore_ascii_case("SIP/")) && version[4..].split('.').count() == 2;
        if looks_like {
            return answer(&p, source, 505, &[], "only SIP/2.0 is spoken here");
        }
        return bad("malformed Request-Line");
    }
    if tokens.len() != 3 {
        return bad("malformed Request-Line (spaces inside the Request-URI?)");
    }
    let (method, uri) = (tokens[0], tokens[1]);
    if !is_token(method) {
        return bad("the method is not a token");
    }
    let is_ack = method == "ACK";
    // No response is ever sent to an ACK (RFC 3261 §17.2.1): what cannot be taken is dropped.
    let refuse = |v: Verdict<'static>| if is_ack { Verdict::Drop("a bad ACK") } else { v };
    for required in ["from", "to", "call-id", "cseq"] {
        if p.one(required).is_none() {
            return refuse(bad(&format!("missing {required}")));
        }
    }
    for single in SINGLE {
        if p.all(single).count() > 1 {
            return refuse(bad(&format!("{single} more than once")));
        }
    }
    if !KNOWN.contains(&method) {
        return answer(&p, source, 501, &[format!("Allow: {ALLOW}")], "unknown method");
    }
    let cseq = p.one("cseq").unwrap_or("");
    let mut cseq_parts = cseq.split_whitespace();
    let (number, cseq_method) = (cseq_parts.next().unwrap_or(""), cseq_parts.next().unwrap_or(""));
    if !digits_within(number, u64::from(u32::MAX)) || cseq_parts.next().is_some() {
        return refuse(bad("CSeq is not a number below 2**32 and a method"));
    }
    if cseq_method != method {
        return refuse(bad("CSeq names another method"));
    }
    if let Some(mf) = p.one("max-forwards") {
        if !digits_within(mf, 255) {
            return refuse(bad("Max-Forwards is not 0 to 255"));
        }
    }
    if let Some(ex) = p.one("expires") {
        if !digits_within(ex, u64::from(u32::MAX)) {
            return refuse(bad("Expires is not a number of seconds below 2**32"));
        }
    }
    if !p.all("via").all(|v| via_is_sound(&v.value)) {
        return refuse(bad("malformed Via"));
    }
    for name in ["from", "to", "contact"] {
        if p.all(name)
            .any(|h| h.value != "*" && split_outside(&h.value, ',').iter().any(|v| has_empty_param(v)))
        {
            return refuse(bad(&format!("an empty parameter in {name}")));
        }
    }
    let declared = match p.one("content-length") {
        Some(v) if digits_within(v, u64::from(u32::MAX)) => v.parse::<usize>().ok(),
        Some(_) => return refuse(bad("Content-Length is not a number")),
        None => None,
    };
    let body = match declared {
        // RFC 3261 §18.3: a datagram that ends before the body does is an error...
        Some(n) if n > p.body.len() => return refuse(bad("Content-Length runs past the datagram")),
        // ...and bytes after the body are discarded.
        Some(n) => &p.body[..n],
        None => p.body,
    };
    if uri.starts_with('<') || !uri.contains(':') {
        return refuse(bad("the Request-URI is not a URI"));
    }
    let scheme = uri.split(':').next().unwrap_or("").to_ascii_lowercase();
    if scheme != "sip" {
        return refuse(answer(&p, source, 416, &[], "only sip: URIs are served"));
    }
    if method != "CANCEL" && !is_ack {
        let required: Vec<String> = p
            .all("require")
            .flat_map(|h| h.value.split(','))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if !required.is_empty() {
            return answer(
                &p,
                source,
                420,
                &[format!("Unsupported: {}", required.join(", "))],
                "no extension is supported",
            );
        }
    }
    if method == "INVITE" {
        let ctype = p.one("content-type").unwrap_or("");
        let media = ctype.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let encoded = p
            .one("content-encoding")
            .is_some_and(|e| !e.trim().is_empty() && !e.trim().eq_ignore_ascii_case("identity"));
        if !body.is_empty() && (media != "application/sdp" || encoded) {
            return answer(
                &p,
                source,
                415,
                &["Accept: application/sdp".into(), "Accept-Encoding: identity".into()],
                "only SDP bodies are taken",
            );
        }
        if let Some(accept) = p.one("accept").filter(|a| !a.trim().is_empty()) {
            let takes_sdp = accept.split(',').any(|t| {
                let t = t.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                t == "application/sdp" || t == "application/*" || t == "*/*"
            });
            if !takes_sdp {
                return answer(&p, source, 406, &[], "answers here are SDP, which Accept excludes");
            }
        }
    }
    if p.malformed {
        return refuse(bad("a header line without a colon"));
    }
    repaired(data, &p, tokens, body, declared.is_none(), source)
}

fn screen_response<'a>(data: &'a [u8], p: &Parsed<'_>) -> Verdict<'a> {
    let mut it = p.start.splitn(3, ' ');
    let (version, code) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
    if version != "SIP/2.0" {
        return Verdict::Drop("a response of another SIP version");
    }
    if code.len() != 3 || !digits_within(code, 699) || code.starts_with('0') {
        return Verdict::Drop("a response with a status code out of range");
    }
    if rsipstack::sip::SipMessage::try_from(data).is_err() {
        return Verdict::Drop("a response the stack cannot read");
    }
    Verdict::Pass(Cow::Borrowed(data))
}

/// The request as the stack should see it: unchanged when nothing needs repair.
fn repaired<'a>(
    data: &'a [u8],
    p: &Parsed<'_>,
    tokens: Vec<&str>,
    body: &[u8],
    no_length: bool,
    source: SocketAddr,
) -> Verdict<'a> {
    let start = tokens.join(" ");
    let untidy = |h: &Header| {
        (h.name == "from" || h.name == "to") && {
            let params = header_params(&h.value);
            params
                .iter()
                .any(|x| x.trim() != *x || x.contains(" =") || x.contains("= "))
                || split_outside(&h.value, ';')[0].ends_with(char::is_whitespace)
        }
    };
    let from_untagged = p.one("from").is_some_and(|f| !has_param(f, "tag"));
    // An INVITE without Contact (RFC 2543 did not require one): its dialog's remote target is
    // where it came from.
    let no_contact = tokens[0] == "INVITE" && p.one("contact").is_none();
    let needs = start != p.start
        || no_contact
        || p.unterminated
        || no_length
        || body.len() != p.body.len()
        || from_untagged
        || p.headers.iter().any(untidy);
    let bytes: Cow<'a, [u8]> = if needs {
        let mut out = format!("{start}\r\n");
        for h in &p.headers {
            let mut value = if h.name == "from" || h.name == "to" {
                tidy_params(&h.value)
            } else {
                h.value.clone()
            };
            if h.name == "from" && from_untagged {
                // RFC 2543 had no tags: the hub names this side, the same for every retransmission.
                value = format!("{value};tag={}", tag_for(p, "from"));
            }
            out.push_str(&format!("{}: {value}\r\n", h.raw_name));
        }
        if no_contact {
            out.push_str(&format!("Contact: <sip:{source}>\r\n"));
        }
        if no_length {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        Cow::Owned(bytes)
    } else {
        Cow::Borrowed(data)
    };
    // Whatever else the stack cannot read is answered too, never dropped in silence.
    if rsipstack::sip::SipMessage::try_from(bytes.as_ref()).is_err() {
        if tokens[0] == "ACK" {
            return Verdict::Drop("an ACK the stack cannot read");
        }
        return answer(p, source, 400, &[], "the message cannot be parsed");
    }
    Verdict::Pass(bytes)
}

/// The answer to a datagram larger than the hub reads (RFC 3261 §18.1.1 suggests TCP then).
pub fn too_large(head: &[u8], source: SocketAddr) -> Option<Verdict<'static>> {
    let p = parse(head)?;
    if p.start.starts_with("SIP/") || p.all("via").next().is_none() || p.start.starts_with("ACK ") {
        return None;
    }
    Some(answer(&p, source, 513, &[], "the message is larger than the hub reads"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "192.0.2.99:5062";

    fn source() -> SocketAddr {
        SOURCE.parse().unwrap()
    }

    macro_rules! corpus {
        ($($tag:ident),* $(,)?) => {
            &[$((stringify!($tag), include_bytes!(concat!("../../../tests/e2e/sip/rfc4475/", stringify!($tag), ".sip")) as &[u8])),*]
        };
    }

    /// RFC 4475's 49 messages, by the RFC's own tags.
    const ALL: &[(&str, &[u8])] = corpus!(
        wsinv, intmeth, esc01, escnull, esc02, lwsdisp, longreq, dblreq, semiuri, transports, mpart01, unreason,
        noreason, badinv01, clerr, ncl, scalar02, scalarlg, quotbal, ltgtruri, lwsruri, lwsstart, trws, escruri,
        baddate, regbadct, badaspec, baddn, badvers, mismatch01, mismatch02, bigcode, badbranch, insuf, unkscm,
        novelsc, unksm2, bext01, invut, regaut01, multi01, mcl01, bcast, zeromf, cparam01, cparam02, regescrt, sdp01,
        inv2543,
    );

    fn verdict(tag: &str) -> Verdict<'static> {
        let data = ALL.iter().find(|(t, _)| *t == tag).map(|(_, d)| *d).unwrap();
        match screen(data, source()) {
            Verdict::Pass(b) => Verdict::Pass(Cow::Owned(b.into_owned())),
            Verdict::Answer { port, status, bytes } => Verdict::Answer { port, status, bytes },
            Verdict::Drop(w) => Verdict::Drop(w),
        }
    }

    fn status(tag: &str) -> Option<u16> {
        match verdict(tag) {
            Verdict::Answer { status, .. } => Some(status),
            _ => None,
        }
    }

    #[test]
    fn every_torture_message_gets_what_rfc_4475_asks() {
        // Answered here, with the status the RFC names.
        for (tag, code) in [
            ("intmeth", 501),
            ("esc02", 501),
            ("mismatch02", 501),
            ("badinv01", 400),
            ("clerr", 400),
            ("ncl", 400),
            ("scalar02", 400),
            ("ltgtruri", 400),
            ("lwsruri", 400),
            ("mismatch01", 400),
            ("insuf", 400),
            ("multi01", 400),
            ("mcl01", 400),
            ("badvers", 505),
            ("unkscm", 416),
            ("novelsc", 416),
            ("bext01", 420),
            ("invut", 415),
            ("sdp01", 406),
        ] {
            assert_eq!(status(tag), Some(code), "{tag}");
        }
        // Valid (or read leniently, as the RFC allows): on to the stack, parsed.
        for tag in [
            "wsinv",
            "esc01",
            "escnull",
            "lwsdisp",
            "longreq",
            "dblreq",
            "semiuri",
            "transports",
            "mpart01",
            "lwsstart",
            "trws",
            "baddate",
            "badbranch",
            "unksm2",
            "regaut01",
            "zeromf",
            "cparam01",
            "cparam02",
            "regescrt",
            "inv2543",
            "baddn",
            "escruri",
            "regbadct",
            "badaspec",
        ] {
            match verdict(tag) {
                Verdict::Pass(b) => assert!(rsipstack::sip::SipMessage::try_from(b.as_ref()).is_ok(), "{tag}"),
                other => panic!("{tag}: {other:?}"),
            }
        }
        // quotbal may go either way (400, or the quote inferred), but never silence.
        assert!(!matches!(verdict("quotbal"), Verdict::Drop(_)));
        // Responses are never answered.
        for tag in ["unreason", "noreason", "scalarlg", "bigcode", "bcast"] {
            assert!(!matches!(verdict(tag), Verdict::Answer { .. }), "{tag}");
        }
        assert!(matches!(verdict("bigcode"), Verdict::Drop(_)));
        assert_eq!(ALL.len(), 49);
    }

    #[test]
    fn answers_carry_what_the_rfc_requires() {
        let text = |tag: &str| match verdict(tag) {
            Verdict::Answer { bytes, .. } => String::from_utf8(bytes).unwrap(),
            other => panic!("{tag}: {other:?}"),
        };
        let a = text("intmeth");
        assert!(a.starts_with("SIP/2.0 501 Not Implemented\r\n"), "{a}");
        assert!(a.contains(&format!("\r\nAllow: {ALLOW}\r\n")));
        assert!(text("bext01").contains("\r\nUnsupported: "));
        assert!(text("invut").contains("\r\nAccept: application/sdp\r\n"));
        // The request's own identifiers, a To tag, the source in the top Via, no body.
        let m = text("multi01");
        assert!(
            m.contains("\r\nVia: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw;received=192.0.2.99\r\n"),
            "{m}"
        );
        assert!(m.contains("\r\nCall-ID: multi01.98asdh@192.0.2.1\r\n"));
        assert!(m.contains(";tag="), "{m}");
        assert!(m.ends_with("Content-Length: 0\r\n\r\n"));
        // Sent to the Via's port (5060 when it names none), or the source's with rport.
        assert!(matches!(verdict("multi01"), Verdict::Answer { port: Some(5060), .. }));
    }

    #[test]
    fn lenient_readings_are_repaired_for_the_stack() {
        let pass = |tag: &str| match verdict(tag) {
            Verdict::Pass(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("{tag}: {other:?}"),
        };
        // `tag = x` is read as tag=x, in From and To.
        let w = pass("wsinv");
        assert!(w.contains(";tag=98asjd8"), "{w}");
        assert!(w.contains(";tag=1918181833n"), "{w}");
        // RFC 2543: a tag for the From, the body to the datagram's end.
        let old = pass("inv2543");
        assert!(
            old.lines().any(|l| l.starts_with("From:") && l.contains(";tag=")),
            "{old}"
        );
        assert!(old.contains("Content-Length: 105\r\n"), "{old}");
        assert!(old.contains(&format!("Contact: <sip:{SOURCE}>\r\n")), "{old}");
        // Bytes after the body (a second request in dblreq) are not the stack's to see.
        assert!(!pass("dblreq").contains("INVITE"));
    }

    #[test]
    fn an_ack_is_never_answered_and_garbage_is_dropped() {
        let ack = b"ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\n\r\n";
        assert!(matches!(screen(ack, source()), Verdict::Drop(_)));
        assert!(matches!(screen(b"\r\n\r\n", source()), Verdict::Drop(_)));
        assert!(matches!(
            screen(b"\x16\x03\x01\x00\xa5\x01\x00\x00", source()),
            Verdict::Drop(_)
        ));
        let no_via = b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n";
        assert!(matches!(screen(no_via, source()), Verdict::Drop(_)));
        let rport = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5099;rport;branch=z9hG4bK2\r\n\r\n";
        match screen(rport, source()) {
            Verdict::Answer {
                port,
                status: 400,
                bytes,
            } => {
                assert_eq!(port, None, "rport: back to the source's port");
                assert!(String::from_utf8(bytes)
                    .unwrap()
                    .contains(";rport=5062;branch=z9hG4bK2;received=192.0.2.99"));
            }
            other => panic!("{other:?}"),
        }
    }
}
