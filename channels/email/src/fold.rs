//! Folding a reply's quoted history and signature away from what the sender wrote this time, as
//! mail clients write them: `>` quotes, "On … wrote:" (Gmail, Apple Mail, Thunderbird), "… пишет:"
//! (Yandex, Mail.ru), Outlook's "-----Original Message-----" and its From/Sent header block, and
//! the `-- ` signature separator.

/// Splits a body into (new text, folded history and signature). Nothing is dropped: the two
/// together hold every line. When the whole body would fold (a forward, say), it is all new.
pub fn split(body: &str) -> (String, String) {
    let lines: Vec<&str> = body.lines().collect();
    let cut = (0..lines.len()).find(|&i| starts_history(&lines, i));
    let Some(cut) = cut else {
        return (body.trim().to_string(), String::new());
    };
    let new = lines[..cut].join("\n").trim().to_string();
    if new.is_empty() {
        return (body.trim().to_string(), String::new());
    }
    (new, lines[cut..].join("\n").trim().to_string())
}

fn starts_history(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    if lines[i] == "-- " || line == "--" || line == "__" {
        return true;
    }
    if line.starts_with('>') {
        return true;
    }
    let lower = line.to_lowercase();
    if is_separator(&lower) {
        return true;
    }
    if attribution(&lower) {
        return true;
    }
    // An attribution wrapped on two lines: "On Mon, 2 Dec 2026 at 10:00, Ivan" / "<i@x.ru> wrote:".
    if let Some(next) = lines.get(i + 1) {
        let next = next.trim().to_lowercase();
        if (lower.starts_with("on ") || lower.starts_with("в ") || lower.starts_with("le "))
            && attribution(&format!("{lower} {next}"))
            && !attribution(&next)
        {
            return true;
        }
    }
    // Outlook's header block: "From: …" followed closely by "Sent: …" / "Date: …".
    if header_line(&lower, &["from:", "от:", "от кого:"]) {
        return lines[i + 1..]
            .iter()
            .take(4)
            .any(|l| header_line(&l.trim().to_lowercase(), &["sent:", "date:", "отправлено:", "дата:"]));
    }
    if mobile_signature(&lower) {
        return true;
    }
    false
}

fn is_separator(lower: &str) -> bool {
    if !(lower.starts_with("---") || lower.starts_with("___")) {
        return false;
    }
    let core = lower.trim_matches(|c: char| c == '-' || c == '_' || c == '=' || c.is_whitespace());
    matches!(
        core,
        "original message"
            | "исходное сообщение"
            | "forwarded message"
            | "пересылаемое сообщение"
            | "reply message"
            | "ответное сообщение"
    )
}

fn attribution(lower: &str) -> bool {
    let ends = |suffix: &str| lower.ends_with(suffix);
    let en = (lower.starts_with("on ") || lower.contains(" on ")) && (ends("wrote:") || ends("wrote :"));
    let ru = ends("пишет:") || ends("написал:") || ends("написала:") || ends("написал(а):");
    let fr = lower.starts_with("le ") && ends("a écrit :");
    en || ru || fr
}

fn header_line(lower: &str, names: &[&str]) -> bool {
    let lower = lower.trim_start_matches('*');
    names.iter().any(|n| lower.starts_with(n))
}

fn mobile_signature(lower: &str) -> bool {
    [
        "sent from my iphone",
        "sent from my ipad",
        "sent from my android",
        "sent from outlook for",
        "get outlook for",
        "отправлено с iphone",
        "отправлено из мобильной",
        "отправлено из приложения",
    ]
    .iter()
    .any(|s| lower.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn gmail_reply() {
        let (new, old) =
            split("Thanks, it works now.\n\nOn Mon, 30 Nov 2026 at 10:00, Support <s@hub.test> wrote:\n> Try again\n");
        assert_eq!(new, "Thanks, it works now.");
        assert!(old.starts_with("On Mon"));
        assert!(old.contains("> Try again"));
    }

    #[test]
    fn gmail_wrapped_attribution() {
        let (new, _) = split("Yes.\n\nOn Mon, 30 Nov 2026 at 10:00, Support Team\n<s@hub.test> wrote:\n> ?\n");
        assert_eq!(new, "Yes.");
    }

    #[test]
    fn russian_clients() {
        let (new, old) =
            split("Спасибо!\n\n30.11.2026, 10:00, \"Поддержка\" <s@hub.test> пишет:\n> Попробуйте ещё раз\n");
        assert_eq!(new, "Спасибо!");
        assert!(old.contains("Попробуйте"));
        let (new, _) =
            split("Да.\n\nПн, 30 нояб. 2026 г. в 10:00, Поддержка <s@hub.test>:\n\n-----Исходное сообщение-----\n");
        assert!(new.starts_with("Да."));
    }

    #[test]
    fn outlook_block() {
        let (new, old) = split(
            "Please see below.\n\nFrom: Support <s@hub.test>\nSent: Monday, November 30, 2026 10:00 AM\nTo: Ivan\nSubject: RE: order\n\nTry again",
        );
        assert_eq!(new, "Please see below.");
        assert!(old.starts_with("From: Support"));
        let (new, _) = split("Ok\n\n-----Original Message-----\nFrom: x\n");
        assert_eq!(new, "Ok");
    }

    #[test]
    fn signature_and_mobile() {
        let (new, old) = split("Call me.\n-- \nIvan Petrov\n+7 900 000-00-00");
        assert_eq!(new, "Call me.");
        assert!(old.contains("Ivan Petrov"));
        let (new, _) = split("Ok\n\nSent from my iPhone");
        assert_eq!(new, "Ok");
    }

    #[test]
    fn a_body_that_is_all_history_stays_whole() {
        let (new, old) = split("> quoted only\n> more");
        assert_eq!(new, "> quoted only\n> more");
        assert!(old.is_empty());
    }

    #[test]
    fn plain_text_is_untouched() {
        let (new, old) = split("From the start, this is my question.\nOn Monday I wrote to you too.");
        assert_eq!(
            new,
            "From the start, this is my question.\nOn Monday I wrote to you too."
        );
        assert!(old.is_empty());
    }
}
