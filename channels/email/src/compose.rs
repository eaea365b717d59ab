//! The mail the hub sends: an operator's reply or an acknowledgement, with the threading headers
//! every client follows, a plain-text and an HTML part, and the files.

use lettre::message::header::{self, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{0:?} is not an e-mail address")]
    Address(String),
    #[error("the mail cannot be built: {0}")]
    Build(String),
}

/// A mail to send.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub from: (&'a str, Option<&'a str>),
    pub to: (&'a str, Option<&'a str>),
    pub subject: &'a str,
    /// Without brackets.
    pub message_id: &'a str,
    /// The mail answered, without brackets.
    pub in_reply_to: Option<&'a str>,
    /// The thread so far, oldest first, without brackets.
    pub references: &'a [String],
    pub text: &'a str,
    /// (name, type, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
    /// Written by the hub itself (an acknowledgement): marked so that other programs do not answer.
    pub automatic: bool,
    /// Seconds since 1970.
    pub date: i64,
}

#[derive(Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-replied".into())
    }
}

fn mailbox(addr: &str, name: Option<&str>) -> Result<Mailbox, ComposeError> {
    let email = addr.parse().map_err(|_| ComposeError::Address(addr.to_string()))?;
    Ok(Mailbox::new(name.map(str::to_string), email))
}

/// The text as HTML: escaped, paragraphs kept.
pub fn text_to_html(text: &str) -> String {
    let mut body = String::with_capacity(text.len() + 64);
    for c in text.chars() {
        match c {
            '&' => body.push_str("&amp;"),
            '<' => body.push_str("&lt;"),
            '>' => body.push_str("&gt;"),
            '"' => body.push_str("&quot;"),
            '\'' => body.push_str("&#39;"),
            '\n' => body.push_str("<br>\n"),
            c => body.push(c),
        }
    }
    format!("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><div style=\"font-family:sans-serif;white-space:normal\">{body}</div></body></html>")
}

/// The mail as the bytes to hand to an SMTP server.
pub fn compose(m: &Outgoing<'_>) -> Result<Vec<u8>, ComposeError> {
    let mut b = lettre::Message::builder()
        .from(mailbox(m.from.0, m.from.1)?)
        .to(mailbox(m.to.0, m.to.1)?)
        .subject(m.subject)
        .message_id(Some(format!("<{}>", m.message_id)))
        .date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(m.date.max(0) as u64))
        .user_agent("Hub".into());
    if let Some(r) = m.in_reply_to {
        b = b.in_reply_to(format!("<{r}>"));
    }
    if !m.references.is_empty() {
        let refs: Vec<String> = m.references.iter().map(|r| format!("<{r}>")).collect();
        b = b.references(refs.join(" "));
    }
    if m.automatic {
        b = b.header(AutoSubmitted);
    }
    let body = MultiPart::alternative_plain_html(m.text.to_string(), text_to_html(m.text));
    let msg = if m.files.is_empty() {
        b.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for (name, mime, data) in &m.files {
            let ct = ContentType::parse(mime).unwrap_or(
                ContentType::parse("application/octet-stream").map_err(|e| ComposeError::Build(e.to_string()))?,
            );
            let part: SinglePart = Attachment::new(name.clone()).body(data.clone(), ct);
            mixed = mixed.singlepart(part);
        }
        b.multipart(mixed)
    }
    .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(msg.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse, Limits};

    #[test]
    fn a_reply_reads_back_with_its_thread() {
        let refs = vec!["a@x".to_string(), "b@x".to_string()];
        let raw = compose(&Outgoing {
            from: ("support@hub.test", Some("Поддержка")),
            to: ("ivan@example.ru", Some("Иван")),
            subject: "Re: Заказ [#5]",
            message_id: "hub-1-2@hub.test",
            in_reply_to: Some("b@x"),
            references: &refs,
            text: "Здравствуйте!\n<b>не жирный</b>",
            files: vec![("счёт.pdf".into(), "application/pdf".into(), b"%PDF-1.4 x".to_vec())],
            automatic: true,
            date: 1_800_000_000,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");
        let m = parse(&raw, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.message_id.as_deref(), Some("hub-1-2@hub.test"));
        assert_eq!(m.replied_to, vec!["b@x".to_string(), "a@x".to_string()]);
        assert_eq!(m.subject, "Re: Заказ [#5]");
        assert_eq!(m.text, "Здравствуйте!\n<b>не жирный</b>");
        assert_eq!(m.parts.len(), 1);
        assert_eq!(m.parts[0].name, "счёт.pdf");
        assert!(!m.kind.may_auto_reply(), "our own acknowledgement is automated");
    }

    #[test]
    fn html_part_is_escaped() {
        assert!(text_to_html("<script>x</script>").contains("&lt;script&gt;"));
    }
}
