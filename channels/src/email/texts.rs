//! What the hub writes by itself in mail, per language.

/// The acknowledgement of a new request.
pub fn acknowledgement(lang: &str, conversation_id: i64) -> String {
    match lang {
        "en" => format!(
            "Hello,\n\nWe have received your request and will answer as soon as we can. Its number is #{conversation_id}: \
             keep it in the subject when you write about it.\n\nThis message was sent automatically."
        ),
        _ => format!(
            "Здравствуйте!\n\nМы получили ваше обращение и ответим как можно скорее. Его номер — #{conversation_id}, \
             сохраните его в теме письма, когда будете писать о нём.\n\nЭто письмо отправлено автоматически."
        ),
    }
}

/// The subject of a conversation that did not start by mail (a web chat).
pub fn chat_subject(lang: &str) -> &'static str {
    match lang {
        "en" => "Your request",
        _ => "Ваше обращение",
    }
}

/// Under a reply to a web chat: the visitor may answer by mail.
pub fn chat_footer(lang: &str) -> &'static str {
    match lang {
        "en" => "You can answer this e-mail: your reply goes into the same conversation.",
        _ => "На это письмо можно ответить: ответ попадёт в тот же разговор.",
    }
}

/// The subject of the mail carrying a code that confirms a visitor's address.
pub fn confirm_subject(lang: &str) -> &'static str {
    match lang {
        "en" => "Your confirmation code",
        _ => "Код подтверждения",
    }
}

/// The mail carrying the code.
pub fn confirm_code(lang: &str, code: &str) -> String {
    match lang {
        "en" => format!(
            "Hello,\n\nYour code is {code}. Enter it in the chat on our website to get our answers by e-mail.\n\n\
             If you did not ask for it, ignore this mail: nothing will be sent to you.\n\nThis message was sent automatically."
        ),
        _ => format!(
            "Здравствуйте!\n\nВаш код: {code}. Введите его в чате на нашем сайте, чтобы получать ответы по почте.\n\n\
             Если вы его не запрашивали, просто не обращайте внимания на это письмо: больше мы ничего не пришлём.\n\n\
             Это письмо отправлено автоматически."
        ),
    }
}

/// The subject of the mail that confirms a mailbox's address (the code follows it).
pub fn mailbox_confirm_subject(lang: &str) -> &'static str {
    match lang {
        "en" => "Confirming this address for the help desk:",
        _ => "Подтверждение адреса для службы поддержки:",
    }
}

/// The mail that confirms a mailbox's address: nobody needs to act on it.
pub fn mailbox_confirm_text(lang: &str, code: &str) -> String {
    match lang {
        "en" => format!(
            "This address was added as a mailbox of an organisation's help desk. The hub confirms it by finding \
             this mail in the mailbox: nothing needs to be done, leave it where it arrived.\n\n\
             If you did not expect this, the address was given by someone else: ignore this mail, and nothing \
             will reach them.\n\nCode: {code}"
        ),
        _ => format!(
            "Этот адрес добавлен как почтовый ящик службы поддержки организации. Хаб подтверждает его, найдя \
             это письмо в ящике: ничего делать не нужно, оставьте письмо там, куда оно пришло.\n\n\
             Если вы этого не ждали, адрес указал кто-то другой: не обращайте внимания на письмо, и ничего \
             к нему не попадёт.\n\nКод: {code}"
        ),
    }
}

/// In the thread, for the operator: an automatic answer came (out of office), with its words.
pub fn auto_reply_note(lang: &str, from: &str, subject: &str, text: &str) -> String {
    let text = text.trim();
    match lang {
        "en" => {
            format!("🤖 Automatic reply from {from} ({subject}); replies still answer the customer's own mail:\n{text}")
        }
        _ => format!("🤖 Автоответ от {from} ({subject}); ответы по-прежнему идут на письмо клиента:\n{text}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn acknowledgements_carry_the_number() {
        assert!(super::acknowledgement("ru", 12).contains("#12"));
        assert!(super::acknowledgement("en", 12).contains("#12"));
    }
}
