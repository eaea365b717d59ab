//! A received e-mail, read into what the hub keeps of it: who wrote, what they replied to, the
//! new text (quoted history and signature folded away), attachments, and what kind of mail it is.
//! Mail that cannot be read (or is built to exhaust the reader) is refused with the reason.

use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};

use crate::fold;
use crate::kind::{self, Kind};

/// What a mail may weigh and how it may be built.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The whole raw message.
    pub max_bytes: usize,
    /// The header block of the message.
    pub max_header_bytes: usize,
    /// MIME parts, all levels together.
    pub max_parts: usize,
    /// Depth of nested multiparts and attached messages.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 25 * 1024 * 1024,
            max_header_bytes: 256 * 1024,
            max_parts: 500,
            max_depth: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the message is empty")]
    Empty,
    #[error("the message is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("the message's header is over {0} bytes")]
    HeaderTooLarge(usize),
    #[error("the message has more than {0} MIME parts")]
    TooManyParts(usize),
    #[error("the message nests parts more than {0} levels deep")]
    TooDeep(usize),
    #[error("the message has no header that can be read")]
    Unreadable,
    #[error("the message has no sender address")]
    NoSender,
}

/// An address with the name given beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Lower-cased.
    pub address: String,
    pub name: Option<String>,
}

/// A file carried by the mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    /// The type the mail declares (the hub checks the content itself when storing it).
    pub mime: String,
    pub data: Vec<u8>,
    /// Shown inside the body (an inline image), not offered as a file.
    pub inline: bool,
}

/// A received mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Without angle brackets; `None` when the mail has none (the hub then names it by its hash).
    pub message_id: Option<String>,
    /// The mails it answers, nearest first: In-Reply-To, then References from the last.
    pub replied_to: Vec<String>,
    pub subject: String,
    pub from: Mailbox,
    /// Where replies go: Reply-To when given, else From.
    pub reply_to: Mailbox,
    /// Every recipient address (To and Cc), lower-cased.
    pub recipients: Vec<String>,
    /// Seconds since 1970, from the Date header.
    pub date: Option<i64>,
    /// What the sender wrote this time.
    pub text: String,
    /// Quoted history and signature, folded away from `text`.
    pub folded: String,
    /// The body came from HTML only (shown as its text: markup, scripts and styles dropped).
    pub from_html: bool,
    pub parts: Vec<Part>,
    pub kind: Kind,
    /// SHA-256 of the raw message, the name of a mail without Message-ID.
    pub digest: String,
    /// The mail was over the size limit on the IMAP server: only its header was fetched, and this
    /// is its full size (the fetcher marks it with [`OVERSIZED_HEADER`]).
    pub oversized: Option<u64>,
}

/// The header the IMAP fetcher puts above the header of a mail it did not fetch whole.
pub const OVERSIZED_HEADER: &str = "X-Hub-Oversized";

impl Mail {
    /// The id the hub files the mail under: its Message-ID, else its digest.
    pub fn key(&self) -> String {
        match &self.message_id {
            Some(id) => id.clone(),
            None => format!("sha256:{}", self.digest),
        }
    }
}

/// SHA-256 of a raw message, in hex: the name of a mail without a Message-ID.
pub fn digest(raw: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(raw))
}

/// Checks a raw message's size and header before anything else reads it.
pub fn check_size(raw: &[u8], limits: &Limits) -> Result<(), ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    if raw.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            size: raw.len(),
            limit: limits.max_bytes,
        });
    }
    let header_end = find(raw, b"\r\n\r\n")
        .or_else(|| find(raw, b"\n\n"))
        .unwrap_or(raw.len());
    if header_end > limits.max_header_bytes {
        return Err(ParseError::HeaderTooLarge(limits.max_header_bytes));
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads a raw message.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<Mail, ParseError> {
    check_size(raw, limits)?;
    let msg = MessageParser::default().parse(raw).ok_or(ParseError::Unreadable)?;
    if msg.parts.len() > limits.max_parts {
        return Err(ParseError::TooManyParts(limits.max_parts));
    }
    check_depth(&msg, 0, limits)?;

    let from = first_mailbox(msg.from())
        .or_else(|| first_mailbox(msg.sender()))
        .ok_or(ParseError::NoSender)?;
    let reply_to = first_mailbox(msg.reply_to()).unwrap_or_else(|| from.clone());
    let mut recipients = Vec::new();
    for list in [msg.to(), msg.cc()].into_iter().flatten() {
        for a in list.iter() {
            if let Some(addr) = a.address.as_deref() {
                recipients.push(addr.trim().to_lowercase());
            }
        }
    }

    let mut replied_to = ids(msg.in_reply_to());
    let mut refs = ids(msg.references());
    refs.reverse();
    for r in refs {
        if !replied_to.contains(&r) {
            replied_to.push(r);
        }
    }
    let message_id = msg.message_id().map(clean_id).filter(|id| !id.is_empty());
    replied_to.retain(|r| Some(r) != message_id.as_ref());

    let (body, from_html) = body_of(&msg);
    let (text, folded) = fold::split(&body);

    let mut parts = Vec::new();
    for p in msg.attachments() {
        let data: Vec<u8> = match &p.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
            PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
            // An attached mail (a forwarded message) is kept as the file it is.
            PartType::Message(m) => m.raw_message().to_vec(),
            PartType::Multipart(_) => continue,
        };
        let mime = p
            .content_type()
            .map(|c| match c.subtype() {
                Some(s) => format!("{}/{}", c.ctype(), s),
                None => c.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_lowercase();
        let name = p
            .attachment_name()
            .map(sanitise_name)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| default_name(&mime, parts.len() + 1));
        let inline =
            matches!(p.body, PartType::InlineBinary(_)) || p.content_disposition().is_some_and(|d| d.is_inline());
        parts.push(Part {
            name,
            mime,
            data,
            inline,
        });
    }

    let kind = kind::classify(&msg, &from.address);
    let subject = msg.subject().map(|s| one_line(s, 300)).unwrap_or_default();
    Ok(Mail {
        message_id,
        replied_to,
        subject,
        from,
        reply_to,
        recipients,
        date: msg.date().map(|d| d.to_timestamp()),
        text,
        folded,
        from_html,
        parts,
        kind,
        digest: digest(raw),
        oversized: msg.header_raw(OVERSIZED_HEADER).and_then(|v| v.trim().parse().ok()),
    })
}

/// The sender's address and the subject of a mail that cannot be read whole (too large, too
/// deep), from its first header block only.
pub fn sender_of(raw: &[u8]) -> Option<(String, String)> {
    let limit = Limits::default().max_header_bytes;
    let head = &raw[..raw.len().min(limit)];
    let end = find(head, b"\r\n\r\n")
        .or_else(|| find(head, b"\n\n"))
        .map_or(head.len(), |e| e + 2);
    let msg = MessageParser::default().parse_headers(&head[..end])?;
    let from = first_mailbox(msg.from()).or_else(|| first_mailbox(msg.sender()))?;
    Some((
        from.address,
        msg.subject().map(|s| one_line(s, 300)).unwrap_or_default(),
    ))
}

fn check_depth(msg: &mail_parser::Message<'_>, depth: usize, limits: &Limits) -> Result<(), ParseError> {
    if depth > limits.max_depth {
        return Err(ParseError::TooDeep(limits.max_depth));
    }
    // Depth of multipart nesting inside this message, walked without recursion.
    let mut stack: Vec<(u32, usize)> = vec![(0, depth)];
    let mut seen = 0usize;
    while let Some((id, d)) = stack.pop() {
        seen += 1;
        if seen > limits.max_parts * 2 {
            return Err(ParseError::TooManyParts(limits.max_parts));
        }
        if d > limits.max_depth {
            return Err(ParseError::TooDeep(limits.max_depth));
        }
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Multipart(children) => {
                for c in children {
                    if *c != id {
                        stack.push((*c, d + 1));
                    }
                }
            }
            PartType::Message(inner) => check_depth(inner, d + 1, limits)?,
            _ => {}
        }
    }
    Ok(())
}

fn first_mailbox(a: Option<&mail_parser::Address<'_>>) -> Option<Mailbox> {
    let a = a?.first()?;
    let address = a.address.as_deref()?.trim().to_lowercase();
    if !address.contains('@') {
        return None;
    }
    let name = a
        .name
        .as_deref()
        .map(|n| one_line(n.trim().trim_matches('"'), 200))
        .filter(|n| !n.is_empty() && *n != address);
    Some(Mailbox { address, name })
}

/// Message ids in a header, without brackets.
fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    let raw: Vec<String> = match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for r in raw {
        // Some clients put several ids in one string.
        for id in r.split_whitespace() {
            let id = clean_id(id);
            if !id.is_empty() && !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// A message id as the hub keeps it: no brackets or spaces, at most 250 characters.
pub fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(250)
        .collect()
}

/// The text the sender wrote: the first plain-text body, else the HTML body as text.
fn body_of(msg: &mail_parser::Message<'_>) -> (String, bool) {
    let has_text = msg.text_bodies().any(|p| matches!(p.body, PartType::Text(_)));
    if has_text {
        if let Some(t) = msg.body_text(0) {
            return (normalise(&t), false);
        }
    }
    if let Some(h) = msg.body_html(0) {
        // mail-parser's converter drops tags, scripts, styles and the head, and decodes entities.
        return (normalise(&mail_parser::decoders::html::html_to_text(&h)), true);
    }
    (String::new(), false)
}

/// Unix line ends, no control characters, no trailing spaces, no runs of blank lines.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.replace("\r\n", "\n").replace('\r', "\n").lines() {
        let line: String = line
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|c| !c.is_control() && *c != '\u{200b}' && *c != '\u{feff}')
            .collect();
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

fn one_line(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// A file name safe to show and to offer for download: no paths, no control characters.
fn sanitise_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    one_line(base, 200).trim_start_matches('.').to_string()
}

fn default_name(mime: &str, n: usize) -> String {
    let ext = match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "message/rfc822" => "eml",
        _ => "bin",
    };
    format!("attachment-{n}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(raw: &str) -> Mail {
        match parse(raw.as_bytes(), &Limits::default()) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn threading_headers_nearest_first() {
        let m = mail(
            "From: Ivan <Ivan@Example.RU>\r\nTo: support@hub.test\r\nMessage-ID: <c@x>\r\n\
             In-Reply-To: <b@x>\r\nReferences: <a@x> <b@x>\r\nSubject: Re: help\r\n\r\nok\r\n",
        );
        assert_eq!(m.message_id.as_deref(), Some("c@x"));
        assert_eq!(m.replied_to, vec!["b@x".to_string(), "a@x".to_string()]);
        assert_eq!(m.from.address, "ivan@example.ru");
        assert_eq!(m.from.name.as_deref(), Some("Ivan"));
        assert_eq!(m.recipients, vec!["support@hub.test".to_string()]);
        assert_eq!(m.text, "ok");
    }

    #[test]
    fn html_only_is_shown_as_text_without_scripts() {
        let m = mail(
            "From: a@b.c\r\nContent-Type: text/html\r\n\r\n<html><head><style>p{}</style></head><body>\
             <p>Hello <b>there</b></p><script>alert(1)</script><p>&lt;img&gt;</p></body></html>",
        );
        assert!(m.from_html);
        assert!(m.text.contains("Hello there"), "{}", m.text);
        assert!(!m.text.contains("alert"), "{}", m.text);
        assert!(m.text.contains("<img>"), "entities decoded as text: {}", m.text);
    }

    #[test]
    fn refusals_say_why() {
        let l = Limits::default();
        assert_eq!(parse(b"  \r\n", &l).unwrap_err(), ParseError::Empty);
        let big = Limits { max_bytes: 10, ..l };
        assert!(matches!(
            parse(b"From: a@b.c\r\n\r\nhello world", &big),
            Err(ParseError::TooLarge { .. })
        ));
        let mut header = String::from("From: a@b.c\r\nX-Long: ");
        header.push_str(&"a".repeat(300 * 1024));
        header.push_str("\r\n\r\nbody");
        assert_eq!(
            parse(header.as_bytes(), &l).unwrap_err(),
            ParseError::HeaderTooLarge(l.max_header_bytes)
        );
        assert_eq!(
            parse(b"Subject: x\r\n\r\nno sender", &l).unwrap_err(),
            ParseError::NoSender
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let depth = 40;
        let mut raw = String::from("From: a@b.c\r\n");
        for i in 0..depth {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
            ));
        }
        raw.push_str("Content-Type: text/plain\r\n\r\ndeep\r\n");
        for i in (0..depth).rev() {
            raw.push_str(&format!("--b{i}--\r\n"));
        }
        let l = Limits::default();
        assert_eq!(parse(raw.as_bytes(), &l).unwrap_err(), ParseError::TooDeep(l.max_depth));
    }

    #[test]
    fn file_names_lose_paths() {
        assert_eq!(sanitise_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_name("C:\\x\\.bashrc"), "bashrc");
        assert_eq!(sanitise_name("a\u{7}b.pdf"), "a b.pdf");
    }
}
