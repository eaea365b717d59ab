//! What a message, an e-mail address and a canned-response shortcut must look like. Checked
//! where they come in (widget, console, API); kept here with their tests.

/// Longest message body, in characters.
pub const MESSAGE_LIMIT: usize = 4000;
/// Attachments one message may carry.
pub const ATTACHMENTS_PER_MESSAGE: usize = 10;
/// Longest sender's id for a message.
const CLIENT_ID_LIMIT: usize = 64;
/// Longest canned-response shortcut, in characters.
const SHORTCUT_LIMIT: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the message is empty")]
    Empty,
    #[error("a message holds at most {MESSAGE_LIMIT} characters")]
    TooLong,
    #[error("at most {ATTACHMENTS_PER_MESSAGE} attachments per message")]
    TooManyAttachments,
    #[error("client_id is 1 to {CLIENT_ID_LIMIT} characters")]
    ClientId,
    #[error("a shortcut is 1 to {SHORTCUT_LIMIT} letters, digits, - or _")]
    Shortcut,
}

impl MessageError {
    /// A stable name for the reason, with what the sentence needs, so a page says it in its
    /// own language.
    pub fn reason(&self) -> (&'static str, serde_json::Value) {
        use serde_json::{json, Value};
        match self {
            Self::Empty => ("message_empty", Value::Null),
            Self::TooLong => ("message_too_long", json!({ "max": MESSAGE_LIMIT })),
            Self::TooManyAttachments => ("too_many_attachments", json!({ "max": ATTACHMENTS_PER_MESSAGE })),
            Self::ClientId => ("client_id", json!({ "max": CLIENT_ID_LIMIT })),
            Self::Shortcut => ("shortcut", json!({ "max": SHORTCUT_LIMIT })),
        }
    }
}

/// Something to send (text or files), within limits.
pub fn check(body: &str, client_id: Option<&str>, attachments: &[i64]) -> Result<(), MessageError> {
    if body.trim().is_empty() && attachments.is_empty() {
        return Err(MessageError::Empty);
    }
    if body.chars().count() > MESSAGE_LIMIT {
        return Err(MessageError::TooLong);
    }
    if attachments.len() > ATTACHMENTS_PER_MESSAGE {
        return Err(MessageError::TooManyAttachments);
    }
    if client_id.is_some_and(|c| c.is_empty() || c.len() > CLIENT_ID_LIMIT) {
        return Err(MessageError::ClientId);
    }
    Ok(())
}

/// Enough of a check to catch typos; the mail server has the final word.
pub fn looks_like_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && e.len() <= 254
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ','))
}

/// A shortcut as stored: without the leading `/`, in lower case (shortcuts are matched without
/// regard to case).
pub fn shortcut(typed: &str) -> Result<String, MessageError> {
    let s = typed.trim().trim_start_matches('/').to_lowercase();
    let ok = !s.is_empty()
        && s.chars().count() <= SHORTCUT_LIMIT
        && s.chars().all(|ch| ch.is_alphanumeric() || ch == '-' || ch == '_');
    if ok {
        Ok(s)
    } else {
        Err(MessageError::Shortcut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_need_content_within_limits() {
        assert_eq!(check("hi", Some("c1"), &[]), Ok(()));
        assert_eq!(check("", None, &[7]), Ok(()), "a file alone is a message");
        assert_eq!(check("  ", None, &[]), Err(MessageError::Empty));
        assert_eq!(check(&"я".repeat(MESSAGE_LIMIT), None, &[]), Ok(()));
        assert_eq!(
            check(&"я".repeat(MESSAGE_LIMIT + 1), None, &[]),
            Err(MessageError::TooLong)
        );
        assert_eq!(check("hi", None, &[1; 11]), Err(MessageError::TooManyAttachments));
        assert_eq!(check("hi", Some(""), &[]), Err(MessageError::ClientId));
        assert_eq!(check("hi", Some(&"x".repeat(65)), &[]), Err(MessageError::ClientId));
    }

    #[test]
    fn email_shapes() {
        assert!(looks_like_email("ivan@example.ru"));
        assert!(!looks_like_email("ivan@example"));
        assert!(!looks_like_email("ivan example@x.ru"));
        assert!(!looks_like_email("<script>@x.ru"));
        assert!(!looks_like_email("@x.ru"));
    }

    #[test]
    fn shortcuts_are_lower_case_words_counted_in_letters() {
        assert_eq!(shortcut("/Hello"), Ok("hello".into()));
        assert_eq!(
            shortcut("приветствие_клиенту_вежливое"),
            Ok("приветствие_клиенту_вежливое".into())
        );
        assert_eq!(shortcut("bad shortcut"), Err(MessageError::Shortcut));
        assert_eq!(shortcut("/"), Err(MessageError::Shortcut));
        assert_eq!(shortcut(&"a".repeat(33)), Err(MessageError::Shortcut));
    }
}
