//! What the hub says to callers, in the number's language.

use hub_speech::say::Lang;

pub fn invalid(lang: Lang) -> &'static str {
    match lang {
        Lang::Ru => "Такого варианта нет.",
        _ => "That is not one of the choices.",
    }
}

/// Said when the call joins the queue and every so often while it waits.
pub fn position(lang: Lang, position: i64, wait_min: Option<i64>) -> String {
    let wait = wait_min.filter(|m| *m > 0);
    match lang {
        Lang::Ru => {
            let mut s = format!("Вы {position} в очереди.");
            if let Some(m) = wait {
                s.push_str(&format!(
                    " Ожидание около {m} {}.",
                    hub_speech::say::ru_plural(m as u64, ["минуты", "минут", "минут"])
                ));
            }
            s.push_str(" Чтобы оставить сообщение, нажмите 0.");
            s
        }
        _ => {
            let mut s = format!("You are number {position} in the queue.");
            if let Some(m) = wait {
                s.push_str(&format!(
                    " The wait is about {m} {}.",
                    if m == 1 { "minute" } else { "minutes" }
                ));
            }
            s.push_str(" To leave a message, press 0.");
            s
        }
    }
}

pub fn voicemail(lang: Lang) -> &'static str {
    match lang {
        Lang::Ru => "Оставьте сообщение после сигнала. В конце нажмите решётку.",
        _ => "Please leave a message after the tone. Press the hash key when you are done.",
    }
}

pub fn thanks(lang: Lang) -> &'static str {
    match lang {
        Lang::Ru => "Спасибо, сообщение записано. До свидания.",
        _ => "Thank you, your message is recorded. Goodbye.",
    }
}

/// The note in the conversation when the call arrives.
pub fn arrived(caller: &str, key: Option<char>) -> String {
    match key {
        Some(k) => format!("Incoming call from {caller} (menu key {k})"),
        None => format!("Incoming call from {caller}"),
    }
}

pub fn voicemail_note(secs: u64) -> String {
    format!("Voicemail, {secs} s")
}
