//! How a mail finds its thread besides its headers: the ticket reference the hub writes into
//! every subject, which survives clients that drop In-Reply-To and References.

/// The reference written into a subject: `[#1234]`.
pub fn subject_ref(conversation_id: i64) -> String {
    format!("[#{conversation_id}]")
}

/// The ticket a subject refers to: `[#1234]`, also `[Ticket#1234]` and `[Hub #1234]`.
pub fn ticket_ref(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else { break };
        let inside = after[..close].trim();
        let digits = inside
            .strip_prefix('#')
            .or_else(|| inside.strip_prefix("Ticket#"))
            .or_else(|| inside.strip_prefix("Hub #"))
            .or_else(|| inside.strip_prefix("Hub#"));
        if let Some(d) = digits {
            if !d.is_empty() && d.len() <= 15 && d.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(n) = d.parse::<i64>() {
                    return Some(n);
                }
            }
        }
        rest = &after[close + 1..];
    }
    None
}

/// The subject without reply and forward prefixes (`Re:`, `RE[2]:`, `Fwd:`, `Отв:`, `На:`) and
/// without the hub's reference.
pub fn base_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        let prefix = [
            "re:",
            "fw:",
            "fwd:",
            "aw:",
            "wg:",
            "отв:",
            "от:",
            "на:",
            "пересл:",
            "тв:",
        ]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map(|p| p.chars().count());
        let bracketed = if lower.starts_with("re[") || lower.starts_with("re(") {
            s.find(':').map(|i| s[..=i].chars().count())
        } else {
            None
        };
        match prefix.or(bracketed) {
            Some(n) => s = s[s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)..].trim_start(),
            None => break,
        }
    }
    let mut out = s.to_string();
    while let Some(id) = ticket_ref(&out) {
        let r = subject_ref(id);
        match out.find(&r) {
            Some(i) => out.replace_range(i..i + r.len(), ""),
            None => break,
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The subject of the hub's reply: `Re: <their subject> [#id]`.
pub fn reply_subject(subject: &str, conversation_id: i64) -> String {
    let base = base_subject(subject);
    let base = if base.is_empty() {
        "Your request".to_string()
    } else {
        base
    };
    format!("Re: {base} {}", subject_ref(conversation_id))
}

/// The Message-ID of what the hub sends from an outbox row: the same on every attempt, so a mail
/// sent twice (the hub stopped between the server's acceptance and its own record) is one mail
/// to the customer's client, and the customer's reply to either finds the thread.
pub fn outgoing_id(outbox_id: i64, org_id: i64, domain: &str) -> String {
    format!("hub-{outbox_id}-{org_id}@{domain}")
}

/// The outbox row and organisation of a Message-ID the hub made ([`outgoing_id`]), so a
/// delivery failure report can name the reply that failed.
pub fn outgoing_of(message_id: &str) -> Option<(i64, i64)> {
    let local = message_id.split('@').next()?.strip_prefix("hub-")?;
    let (outbox, org) = local.split_once('-')?;
    Some((outbox.parse().ok()?, org.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_ids_name_their_outbox_row() {
        let id = outgoing_id(41, 3, "hub.test");
        assert_eq!(outgoing_of(&id), Some((41, 3)));
        assert_eq!(outgoing_of("CAF=abc@mail.gmail.com"), None);
        assert_eq!(outgoing_of("hub-x-3@hub.test"), None);
    }

    #[test]
    fn references_in_subjects() {
        assert_eq!(ticket_ref("Re: order [#42]"), Some(42));
        assert_eq!(ticket_ref("RE: [Ticket#7] broken"), Some(7));
        assert_eq!(ticket_ref("[Hub #9]"), Some(9));
        assert_eq!(ticket_ref("price [list] [#x1] #5"), None);
        assert_eq!(ticket_ref("[#99999999999999999999]"), None);
        assert_eq!(ticket_ref("[ #12 ]"), Some(12));
    }

    #[test]
    fn base_subjects() {
        assert_eq!(base_subject("Re: RE: Fwd: order [#42]"), "order");
        assert_eq!(base_subject("Отв: На: Заказ [#3]"), "Заказ");
        assert_eq!(base_subject("RE[2]: prices"), "prices");
        assert_eq!(base_subject("Reminder"), "Reminder");
    }

    #[test]
    fn reply_subjects_carry_one_reference() {
        assert_eq!(reply_subject("Re: order [#42]", 42), "Re: order [#42]");
        assert_eq!(reply_subject("Заказ", 5), "Re: Заказ [#5]");
        assert_eq!(reply_subject("", 5), "Re: Your request [#5]");
    }
}
