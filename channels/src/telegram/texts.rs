//! What the bot says, in the bot's language (Russian or English). Plain functions of their
//! inputs, so every phrase is tested once here and nowhere else builds one.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Self {
        if s == "en" {
            Lang::En
        } else {
            Lang::Ru
        }
    }
}

pub fn greeting(l: Lang) -> &'static str {
    match l {
        Lang::Ru => "Здравствуйте! Напишите ваш вопрос — оператор ответит здесь же. Файлы, фото и голосовые тоже можно.\n/ticket — взять талон в электронную очередь.",
        Lang::En => "Hello! Write your question and an operator will answer here. Files, photos and voice messages are welcome.\n/ticket takes a ticket in the queue.",
    }
}

/// The commands the chat's menu button lists.
pub fn commands(l: Lang) -> Vec<(&'static str, &'static str)> {
    match l {
        Lang::Ru => vec![("ticket", "Взять талон в очередь"), ("start", "Начать сначала")],
        Lang::En => vec![("ticket", "Take a queue ticket"), ("start", "Start over")],
    }
}

pub fn handed_over(l: Lang, moved: bool) -> &'static str {
    match (l, moved) {
        (Lang::Ru, true) => "Продолжаем здесь: оператор видит ваш разговор с сайта и ответит в этот чат.",
        (Lang::Ru, false) => "Готово: мы узнаем вас и здесь. Напишите ваш вопрос.",
        (Lang::En, true) => {
            "Let's go on here: the operator sees your conversation from the website and will answer in this chat."
        }
        (Lang::En, false) => "Done: we will know you here too. Write your question.",
    }
}

pub fn handoff_expired(l: Lang) -> &'static str {
    match l {
        Lang::Ru => "Эта ссылка уже использована или устарела. Напишите ваш вопрос — оператор ответит здесь.",
        Lang::En => "This link was used already or has expired. Write your question and an operator will answer here.",
    }
}

pub fn choose_branch(l: Lang) -> &'static str {
    match l {
        Lang::Ru => "Выберите отделение:",
        Lang::En => "Choose a branch:",
    }
}

pub fn choose_service(l: Lang, branch: &str) -> String {
    match l {
        Lang::Ru => format!("{branch}: выберите услугу:"),
        Lang::En => format!("{branch}: choose a service:"),
    }
}

pub fn no_branches(l: Lang) -> &'static str {
    match l {
        Lang::Ru => "Сейчас через бота нельзя взять талон.",
        Lang::En => "Tickets cannot be taken through the bot right now.",
    }
}

pub fn branch_closed(l: Lang) -> &'static str {
    match l {
        Lang::Ru => "Отделение сейчас закрыто: талоны выдаются в часы работы.",
        Lang::En => "The branch is closed now: tickets are issued during working hours.",
    }
}

/// Minutes, rounded up, for people.
fn minutes(secs: i64) -> i64 {
    ((secs + 59) / 60).max(1)
}

pub fn ticket_taken(l: Lang, number: &str, service: &str, ahead: i64, eta_secs: Option<i64>) -> String {
    let wait = match (l, eta_secs) {
        (Lang::Ru, Some(0)) => " Вас пригласят первым.".to_string(),
        (Lang::En, Some(0)) => " You will be called first.".to_string(),
        (Lang::Ru, Some(s)) => format!(" Ожидание около {} мин.", minutes(s)),
        (Lang::En, Some(s)) => format!(" Estimated wait: about {} min.", minutes(s)),
        (Lang::Ru, None) => " Сейчас эту очередь никто не обслуживает, время ожидания неизвестно.".to_string(),
        (Lang::En, None) => " Nobody serves this queue right now, so the wait is unknown.".to_string(),
    };
    match l {
        Lang::Ru => format!("Ваш талон {number} ({service}). Перед вами в очереди: {ahead}.{wait} Мы напишем, когда подойдёт ваша очередь."),
        Lang::En => format!("Your ticket is {number} ({service}). Ahead of you: {ahead}.{wait} We will tell you when it is your turn."),
    }
}

pub fn you_are_next(l: Lang, number: &str) -> String {
    match l {
        Lang::Ru => format!("Талон {number}: вы следующий! Пожалуйста, будьте рядом с залом ожидания."),
        Lang::En => format!("Ticket {number}: you are next! Please stay close to the waiting area."),
    }
}

pub fn called(l: Lang, number: &str, window: &str, recall: bool) -> String {
    match (l, recall) {
        (Lang::Ru, false) => format!("Талон {number}: пройдите к окну {window}."),
        (Lang::Ru, true) => format!("Талон {number}: вас снова приглашают к окну {window}."),
        (Lang::En, false) => format!("Ticket {number}: please go to window {window}."),
        (Lang::En, true) => format!("Ticket {number}: you are called again to window {window}."),
    }
}

pub fn rate_question(l: Lang) -> &'static str {
    match l {
        Lang::Ru => "Разговор завершён. Оцените, пожалуйста, как мы помогли:",
        Lang::En => "The conversation is closed. How well did we help?",
    }
}

pub fn thanks_for_rating(l: Lang) -> &'static str {
    match l {
        Lang::Ru => "Спасибо за оценку!",
        Lang::En => "Thank you for your rating!",
    }
}

pub fn already_rated(l: Lang) -> &'static str {
    match l {
        Lang::Ru => "Оценка уже учтена.",
        Lang::En => "Your rating is already counted.",
    }
}

pub fn file_refused(l: Lang, name: &str, why: &str) -> String {
    match l {
        Lang::Ru => format!("Файл «{name}» не принят: {why}."),
        Lang::En => format!("The file \"{name}\" was not accepted: {why}."),
    }
}

pub fn file_too_large(l: Lang, limit_mb: usize) -> String {
    match l {
        Lang::Ru => format!("файл больше {limit_mb} МБ"),
        Lang::En => format!("it is larger than {limit_mb} MB"),
    }
}

pub fn file_wrong_type(l: Lang) -> &'static str {
    match l {
        Lang::Ru => "такой тип файла не принимается (можно фото, PDF, текст, голосовые)",
        Lang::En => "this type of file is not accepted (photos, PDF, text and voice messages are)",
    }
}

/// In the thread while a file that failed to download is fetched again.
pub fn file_coming(l: Lang, name: &str) -> String {
    match l {
        Lang::Ru => format!("📎 Файл «{name}» ещё загружается из Telegram и появится здесь."),
        Lang::En => format!("📎 The file \"{name}\" is still being fetched from Telegram and will appear here."),
    }
}

/// In the thread when a file could not be fetched after every attempt.
pub fn file_lost(l: Lang, name: &str) -> String {
    match l {
        Lang::Ru => {
            format!("📎 Файл «{name}» не удалось получить из Telegram. Попросите клиента прислать его ещё раз.")
        }
        Lang::En => {
            format!("📎 The file \"{name}\" could not be fetched from Telegram. Ask the customer to send it again.")
        }
    }
}

/// To the user when their file could not be fetched after every attempt.
pub fn file_lost_user(l: Lang, name: &str) -> String {
    match l {
        Lang::Ru => format!("Не удалось получить файл «{name}». Пожалуйста, отправьте его ещё раз."),
        Lang::En => format!("The file \"{name}\" could not be received. Please send it again."),
    }
}

/// How a message that is not text or a file shows in the operator's thread.
pub fn note(l: Lang, note: &super::update::Note) -> String {
    use super::update::Note;
    match (l, note) {
        (Lang::Ru, Note::Sticker(e)) => format!("[стикер {}]", e.as_deref().unwrap_or("")).replace(" ]", "]"),
        (Lang::En, Note::Sticker(e)) => format!("[sticker {}]", e.as_deref().unwrap_or("")).replace(" ]", "]"),
        (Lang::Ru, Note::Poll(q)) => format!("[опрос] {q}"),
        (Lang::En, Note::Poll(q)) => format!("[poll] {q}"),
        (Lang::Ru, Note::Unknown(kind)) => {
            format!("[сообщение типа «{kind}»: хаб не умеет его показать, посмотрите в Telegram]")
        }
        (Lang::En, Note::Unknown(kind)) => {
            format!("[a message of kind \"{kind}\" that the hub cannot show; see it in Telegram]")
        }
    }
}

/// How an edit shows in the operator's thread.
pub fn edited(l: Lang, text: &str) -> String {
    match l {
        Lang::Ru => format!("✏️ Исправлено: {text}"),
        Lang::En => format!("✏️ Edited: {text}"),
    }
}

pub fn location(latitude: f64, longitude: f64) -> String {
    format!("📍 {latitude:.6}, {longitude:.6} https://www.openstreetmap.org/?mlat={latitude:.6}&mlon={longitude:.6}#map=17/{latitude:.6}/{longitude:.6}")
}

pub fn shared_contact(name: &str, phone: &str) -> String {
    format!("☎ {name} {phone}").trim().to_string()
}

pub fn phone_saved(l: Lang) -> &'static str {
    match l {
        Lang::Ru => "Спасибо, номер сохранён: по нему мы узнаем вас и при звонке.",
        Lang::En => "Thank you, the number is saved: we will know you when you call too.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_whole_minutes_rounded_up() {
        assert!(ticket_taken(Lang::Ru, "A012", "Консультация", 3, Some(61)).contains("около 2 мин"));
        assert!(ticket_taken(Lang::En, "A012", "Consultation", 0, Some(5)).contains("about 1 min"));
        assert!(ticket_taken(Lang::En, "A012", "Consultation", 0, Some(0)).contains("called first"));
        assert!(ticket_taken(Lang::En, "A012", "Consultation", 0, None).contains("wait is unknown"));
    }

    #[test]
    fn calls_name_the_window() {
        assert_eq!(called(Lang::Ru, "A012", "3", false), "Талон A012: пройдите к окну 3.");
        assert!(called(Lang::En, "A012", "3", true).contains("again"));
    }

    #[test]
    fn notes_name_what_came() {
        use super::super::update::Note;
        assert_eq!(note(Lang::Ru, &Note::Sticker(Some("👍".into()))), "[стикер 👍]");
        assert_eq!(note(Lang::En, &Note::Sticker(None)), "[sticker]");
        assert!(note(Lang::En, &Note::Unknown("hologram".into())).contains("\"hologram\""));
    }

    #[test]
    fn locations_link_a_map() {
        let s = location(55.7558, 37.6173);
        assert!(s.starts_with("📍 55.755800, 37.617300"));
        assert!(s.contains("mlat=55.755800&mlon=37.617300"));
    }
}
