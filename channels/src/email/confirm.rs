//! Confirming a mailbox's address: the hub mails a code to it through the installation's relay
//! (never the tenant's own SMTP server, which would see the code), and the address is the
//! organisation's once that mail turns up in the mailbox's IMAP folder.

use hub_actors::model::now_millis;
use hub_actors::Hub;

use super::{texts, Email};
use crate::email::store::MailStore;
use crate::email::store::{Mailbox, MAILBOX_CODE_MARK};

/// The codes a mail carries, wherever they are (subject, text, any encoding the path gave it).
pub(super) fn codes(raw: &[u8], limits: &hub_email::Limits) -> Vec<String> {
    let mut haystacks = vec![String::from_utf8_lossy(raw).into_owned()];
    if let Ok(mail) = hub_email::parse(raw, limits) {
        haystacks.push(mail.subject);
        haystacks.push(mail.text);
        haystacks.push(mail.folded);
    }
    let mut found = Vec::new();
    for h in &haystacks {
        let upper = h.to_ascii_uppercase();
        let mut rest = upper.as_str();
        while let Some(at) = rest.find(MAILBOX_CODE_MARK) {
            let tail = &rest[at + MAILBOX_CODE_MARK.len()..];
            let hex: String = tail.chars().take_while(char::is_ascii_hexdigit).take(32).collect();
            if hex.len() == 32 {
                let code = format!("{MAILBOX_CODE_MARK}{hex}");
                if !found.contains(&code) {
                    found.push(code);
                }
            }
            rest = tail;
        }
    }
    found
}

/// Looks for the code in mail just fetched for a mailbox that waits for it.
pub(super) async fn look(e: &Email, mailbox: &Mailbox, batch: &[(i64, Vec<u8>)]) {
    let candidates: Vec<String> = batch.iter().flat_map(|(_, raw)| codes(raw, &e.0.limits)).collect();
    if candidates.is_empty() {
        return;
    }
    match e
        .hub()
        .store()
        .confirm_mailbox(mailbox.id, &candidates, now_millis())
        .await
    {
        Ok(true) => {
            tracing::info!(mailbox = mailbox.id, address = %mailbox.address, "e-mail: mailbox address confirmed");
            e.0.inbox_bell.notify_one();
        }
        Ok(false) => {}
        Err(err) => tracing::warn!(mailbox = mailbox.id, error = %err, "e-mail: cannot confirm a mailbox"),
    }
}

/// Mails a new code to a mailbox waiting for confirmation (through the outbox: it is sent even
/// if the node stops now).
pub async fn send_code(hub: &Hub, mailbox: &Mailbox) -> hub_actors::Result<()> {
    let store = hub.store();
    let now = now_millis();
    let code = store.mailbox_code(mailbox.org_id, mailbox.id, now).await?;
    let payload = serde_json::json!({
        "to": mailbox.address,
        "mailbox_id": mailbox.id,
        "subject": format!("{} {code}", texts::mailbox_confirm_subject(&mailbox.lang)),
        "text": texts::mailbox_confirm_text(&mailbox.lang, &code),
        "relay": true,
    });
    store
        .enqueue_notice(
            mailbox.org_id,
            "email",
            &format!("mailbox-confirm:{}", mailbox.id),
            &payload.to_string(),
            &format!("mailbox-confirm:{}:{now}", mailbox.id),
            now,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_found_in_the_subject_the_text_or_an_encoded_part() {
        let code = format!("{MAILBOX_CODE_MARK}{}", "0123456789ABCDEF0123456789ABCDEF");
        let plain = format!("From: a@b.example\r\nSubject: Confirm {code}\r\n\r\nhello\r\n");
        assert_eq!(
            codes(plain.as_bytes(), &hub_email::Limits::default()),
            vec![code.clone()]
        );
        // Base64 body ("Ваш код: <code>"), subject an encoded word: found once decoded.
        let encoded = "From: a@b.example\r\nSubject: =?UTF-8?B?0J/QvtC00YLQstC10YDQttC00LXQvdC40LU=?=\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             0JLQsNGIINC60L7QtDogSFVCLUNPTkZJUk0tMDEyMzQ1Njc4OUFCQ0RFRjAxMjM0NTY3ODlBQkNERUY=\r\n";
        assert_eq!(
            codes(encoded.as_bytes(), &hub_email::Limits::default()),
            vec![code.clone()]
        );
        // Lower case on the way (a client that rewrote it) still counts; a short one does not.
        let lower = format!("Subject: x\r\n\r\n{}\r\n", code.to_lowercase());
        assert_eq!(codes(lower.as_bytes(), &hub_email::Limits::default()), vec![code]);
        let short = format!("Subject: x\r\n\r\n{MAILBOX_CODE_MARK}0123\r\n");
        assert!(codes(short.as_bytes(), &hub_email::Limits::default()).is_empty());
    }
}
