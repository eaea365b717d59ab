//! The hub's SMTP receiver (RFC 5321), for a mail server that forwards to it: it takes mail only
//! for the addresses it serves (it never relays), and answers 250 to DATA only once the mail is
//! stored, so a sender keeps what was not acknowledged and tries again.

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// What the receiver asks of the hub.
pub trait Receiver: Send + Sync {
    /// Whether mail for this address (lower-cased) is taken.
    fn accepts(&self, recipient: &str) -> impl Future<Output = bool> + Send;
    /// Stores a mail for its recipients; `Err` with the reason when it could not be stored now
    /// (the sender is told to try later).
    fn deliver(&self, mail: Envelope) -> impl Future<Output = Result<String, String>> + Send;
}

/// A mail as the SMTP session received it.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The reverse path (empty for a bounce).
    pub sender: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
    pub peer: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// The name the receiver gives itself.
    pub host: String,
    /// Largest mail taken, bytes.
    pub max_bytes: usize,
    pub max_recipients: usize,
    /// How long a client may stay silent.
    pub idle: Duration,
}

const MAX_COMMAND: usize = 1000;
const MAX_ERRORS: usize = 10;

enum Line {
    Text(Vec<u8>),
    TooLong,
    Closed,
}

/// Serves one SMTP connection to its end.
pub async fn serve<S, R>(stream: S, peer: String, settings: &Settings, receiver: &R) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: Receiver,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut read = BufReader::new(read);
    let mut sender: Option<String> = None;
    let mut recipients: Vec<String> = Vec::new();
    let mut errors = 0usize;
    let host = &settings.host;
    reply(&mut write, &format!("220 {host} Hub ESMTP ready")).await?;
    loop {
        let line = match tokio::time::timeout(settings.idle, read_line(&mut read, MAX_COMMAND)).await {
            Err(_) => {
                reply(&mut write, "421 4.4.2 idle too long, closing").await?;
                return Ok(());
            }
            Ok(l) => l?,
        };
        let line = match line {
            Line::Closed => return Ok(()),
            Line::TooLong => {
                errors += 1;
                reply(&mut write, "500 5.5.2 line too long").await?;
                if errors >= MAX_ERRORS {
                    reply(&mut write, "421 4.7.0 too many errors").await?;
                    return Ok(());
                }
                continue;
            }
            Line::Text(t) => t,
        };
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
            None => (text.to_ascii_uppercase(), ""),
        };
        let answer: String = match verb.as_str() {
            "EHLO" if !arg.is_empty() => {
                sender = None;
                recipients.clear();
                format!(
                    "250-{host} greets {}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES",
                    sanitise(arg),
                    settings.max_bytes
                )
            }
            "HELO" if !arg.is_empty() => {
                sender = None;
                recipients.clear();
                format!("250 {host}")
            }
            "EHLO" | "HELO" => "501 5.5.4 say who you are".into(),
            "MAIL" => match path_arg(arg, "FROM:") {
                None => "501 5.5.4 syntax: MAIL FROM:<address>".into(),
                Some(_) if sender.is_some() => "503 5.5.1 sender already given".into(),
                Some((path, params)) => {
                    let size = params.split_whitespace().find_map(|p| {
                        p.to_ascii_uppercase()
                            .strip_prefix("SIZE=")
                            .and_then(|n| n.parse::<usize>().ok())
                    });
                    if size.is_some_and(|s| s > settings.max_bytes) {
                        format!(
                            "552 5.3.4 message size exceeds the limit of {} bytes",
                            settings.max_bytes
                        )
                    } else {
                        sender = Some(path);
                        "250 2.1.0 sender ok".into()
                    }
                }
            },
            "RCPT" => match path_arg(arg, "TO:") {
                None => "501 5.5.4 syntax: RCPT TO:<address>".into(),
                Some(_) if sender.is_none() => "503 5.5.1 MAIL first".into(),
                Some(_) if recipients.len() >= settings.max_recipients => "452 4.5.3 too many recipients".into(),
                Some((path, _)) => {
                    let rcpt = path.to_lowercase();
                    if receiver.accepts(&rcpt).await {
                        if !recipients.contains(&rcpt) {
                            recipients.push(rcpt);
                        }
                        "250 2.1.5 recipient ok".into()
                    } else {
                        errors += 1;
                        "550 5.1.1 no such mailbox here (this server does not relay)".into()
                    }
                }
            },
            "DATA" if sender.is_none() => "503 5.5.1 MAIL first".into(),
            "DATA" if recipients.is_empty() => "554 5.5.1 no valid recipients".into(),
            "DATA" => {
                reply(&mut write, "354 end data with <CR><LF>.<CR><LF>").await?;
                let data = match tokio::time::timeout(settings.idle, read_data(&mut read, settings.max_bytes)).await {
                    Err(_) => {
                        reply(&mut write, "421 4.4.2 idle too long, closing").await?;
                        return Ok(());
                    }
                    Ok(d) => d?,
                };
                let envelope_sender = sender.take().unwrap_or_default();
                let rcpts = std::mem::take(&mut recipients);
                match data {
                    Data::Closed => return Ok(()),
                    Data::TooLarge(n) => {
                        tracing::warn!(%peer, bytes = n, limit = settings.max_bytes, "SMTP: mail over the size limit refused");
                        format!(
                            "552 5.3.4 message size exceeds the limit of {} bytes",
                            settings.max_bytes
                        )
                    }
                    Data::Mail(data) => {
                        let mail = Envelope {
                            sender: envelope_sender,
                            recipients: rcpts,
                            data,
                            peer: peer.clone(),
                        };
                        match receiver.deliver(mail).await {
                            Ok(id) => format!("250 2.0.0 stored as {id}"),
                            Err(e) => format!("451 4.3.0 not stored, try again later: {}", sanitise(&e)),
                        }
                    }
                }
            }
            "RSET" => {
                sender = None;
                recipients.clear();
                "250 2.0.0 reset".into()
            }
            "NOOP" => "250 2.0.0 ok".into(),
            "VRFY" | "EXPN" => "252 2.5.2 not verified (send to find out)".into(),
            "HELP" => "214 2.0.0 EHLO MAIL RCPT DATA RSET NOOP QUIT".into(),
            "QUIT" => {
                reply(&mut write, &format!("221 2.0.0 {host} closing")).await?;
                return Ok(());
            }
            "STARTTLS" | "AUTH" | "BDAT" => {
                errors += 1;
                "502 5.5.1 not offered here".into()
            }
            _ => {
                errors += 1;
                "500 5.5.1 unknown command".into()
            }
        };
        reply(&mut write, &answer).await?;
        if errors >= MAX_ERRORS {
            reply(&mut write, "421 4.7.0 too many errors").await?;
            return Ok(());
        }
    }
}

/// One write per reply: two small writes (the text, then the line end) meet Nagle's algorithm
/// and the peer's delayed ACK, and every reply would wait 40 ms.
async fn reply<W: AsyncWrite + Unpin>(w: &mut W, text: &str) -> std::io::Result<()> {
    let mut line = Vec::with_capacity(text.len() + 2);
    line.extend_from_slice(text.as_bytes());
    line.extend_from_slice(b"\r\n");
    w.write_all(&line).await?;
    w.flush().await
}

/// A client's words echoed back: printable ASCII only, short.
fn sanitise(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(100)
        .collect()
}

/// `FROM:<a@b> SIZE=10` → ("a@b", "SIZE=10"). The path may be empty (`<>`, a bounce).
fn path_arg(arg: &str, keyword: &str) -> Option<(String, String)> {
    let upper = arg.to_ascii_uppercase();
    if !upper.starts_with(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let (path, params) = if let Some(r) = rest.strip_prefix('<') {
        let end = r.find('>')?;
        (&r[..end], r[end + 1..].trim())
    } else {
        // Lenient: some senders omit the brackets.
        match rest.split_once(' ') {
            Some((p, q)) => (p, q.trim()),
            None => (rest, ""),
        }
    };
    if path.len() > 320 || path.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    // Source routes (`@a,@b:user@c`) are obsolete; keep the mailbox.
    let path = path.rsplit(':').next().unwrap_or(path);
    if !path.is_empty() && !path.contains('@') && !keyword.starts_with("FROM") {
        return None;
    }
    Some((path.to_string(), params.to_string()))
}

async fn read_line<R: AsyncBufReadExt + Unpin>(r: &mut R, max: usize) -> std::io::Result<Line> {
    let mut buf = Vec::new();
    let n = (&mut *r).take(max as u64 + 1).read_until(b'\n', &mut buf).await?;
    if n == 0 {
        return Ok(Line::Closed);
    }
    if buf.last() != Some(&b'\n') {
        if buf.len() > max {
            // Skip the rest of the long line.
            loop {
                let mut rest = Vec::new();
                let n = (&mut *r).take(64 * 1024).read_until(b'\n', &mut rest).await?;
                if n == 0 {
                    return Ok(Line::Closed);
                }
                if rest.last() == Some(&b'\n') {
                    break;
                }
            }
            return Ok(Line::TooLong);
        }
        return Ok(Line::Closed);
    }
    Ok(Line::Text(buf))
}

enum Data {
    Mail(Vec<u8>),
    TooLarge(usize),
    Closed,
}

/// Reads the mail up to the lone dot, undoing dot-stuffing; past `max` bytes it reads on to the
/// end but keeps nothing.
async fn read_data<R: AsyncBufReadExt + Unpin>(r: &mut R, max: usize) -> std::io::Result<Data> {
    let mut data = Vec::new();
    let mut total = 0usize;
    let mut over = false;
    loop {
        let mut line = Vec::new();
        let n = (&mut *r).take(1 << 20).read_until(b'\n', &mut line).await?;
        if n == 0 {
            // The client went away mid-mail: nothing was acknowledged, nothing is kept.
            return Ok(Data::Closed);
        }
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        let content: &[u8] = if line.starts_with(b"..") { &line[1..] } else { &line };
        total += content.len();
        if total > max {
            over = true;
            data = Vec::new();
        }
        if !over {
            data.extend_from_slice(content);
        }
    }
    Ok(if over { Data::TooLarge(total) } else { Data::Mail(data) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Sink(Mutex<Vec<Envelope>>, bool);

    impl Receiver for Sink {
        async fn accepts(&self, r: &str) -> bool {
            r == "support@hub.test"
        }
        async fn deliver(&self, mail: Envelope) -> Result<String, String> {
            if self.1 {
                return Err("store down".into());
            }
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(mail);
            Ok("m1".into())
        }
    }

    async fn talk(input: &str, fail: bool, max: usize) -> (String, Vec<Envelope>) {
        let (client, server) = tokio::io::duplex(1 << 20);
        let sink = Sink(Mutex::new(Vec::new()), fail);
        let settings = Settings {
            host: "hub.test".into(),
            max_bytes: max,
            max_recipients: 5,
            idle: Duration::from_secs(5),
        };
        let (mut cr, mut cw) = tokio::io::split(client);
        let input = input.to_string();
        let writer = async move {
            let _ = cw.write_all(input.as_bytes()).await;
            let _ = cw.shutdown().await;
        };
        let mut out = String::new();
        let reader = async {
            let _ = cr.read_to_string(&mut out).await;
        };
        let server = async {
            let _ = serve(server, "test".into(), &settings, &sink).await;
        };
        tokio::join!(writer, reader, server);
        let mails = sink.0.into_inner().unwrap_or_else(|p| p.into_inner());
        (out, mails)
    }

    #[tokio::test]
    async fn a_mail_is_taken_with_dots_unstuffed() {
        let (out, mails) = talk(
            "EHLO c\r\nMAIL FROM:<a@x.ru> SIZE=20\r\nRCPT TO:<Support@Hub.Test>\r\nRCPT TO:<other@else.com>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\nok\r\n.\r\nQUIT\r\n",
            false,
            1000,
        )
        .await;
        assert!(out.contains("250-SIZE 1000"), "{out}");
        assert!(out.contains("550 5.1.1"), "no relaying: {out}");
        assert!(out.contains("250 2.0.0 stored as m1"), "{out}");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].recipients, vec!["support@hub.test".to_string()]);
        assert_eq!(mails[0].data, b"Subject: x\r\n\r\n.dot\r\nok\r\n");
    }

    #[tokio::test]
    async fn refusals() {
        let (out, mails) = talk(
            "EHLO c\r\nDATA\r\nMAIL FROM:<a@x.ru> SIZE=99999\r\nMAIL FROM:<a@x.ru>\r\nRCPT TO:<support@hub.test>\r\nDATA\r\n0123456789012345678901234567890\r\n.\r\nQUIT\r\n",
            false,
            20,
        )
        .await;
        assert!(out.contains("503 5.5.1 MAIL first"), "{out}");
        assert!(out.contains("552 5.3.4"), "{out}");
        assert_eq!(out.matches("552 5.3.4").count(), 2, "{out}");
        assert!(mails.is_empty());
    }

    #[tokio::test]
    async fn a_store_failure_is_a_temporary_error() {
        let (out, _) = talk(
            "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<support@hub.test>\r\nDATA\r\nx\r\n.\r\n",
            true,
            100,
        )
        .await;
        assert!(out.contains("451 4.3.0"), "{out}");
    }

    #[tokio::test]
    async fn a_client_gone_mid_mail_leaves_nothing() {
        let (_, mails) = talk(
            "HELO c\r\nMAIL FROM:<a@x.ru>\r\nRCPT TO:<support@hub.test>\r\nDATA\r\nhalf a mail\r\n",
            false,
            100,
        )
        .await;
        assert!(mails.is_empty());
    }

    #[tokio::test]
    async fn garbage_and_long_lines() {
        let long = "X".repeat(5000);
        let (out, _) = talk(&format!("{long}\r\n\u{0}\u{1}\r\nEHLO\r\nQUIT\r\n"), false, 100).await;
        assert!(out.contains("500 5.5.2 line too long"), "{out}");
        assert!(out.contains("500 5.5.1 unknown command"), "{out}");
        assert!(out.contains("501 5.5.4"), "{out}");
        assert!(out.contains("221 2.0.0"), "{out}");
    }
}
