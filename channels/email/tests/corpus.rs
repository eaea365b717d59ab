//! The fixture corpus (tests/e2e/fixtures/email, real-world shapes written for the tests) read by
//! the parser: charsets, HTML, quoted history, attachments and kinds come out right.

use hub_email::{parse, Kind, Limits, Mail};

fn fixture(name: &str) -> Mail {
    let path = format!("{}/../../tests/e2e/fixtures/email/{name}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse(&raw, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn gmail_multipart_with_a_file() {
    let m = fixture("a1-gmail-new.eml");
    assert_eq!(m.subject, "Не пришёл заказ");
    assert_eq!(m.from.name.as_deref(), Some("Мария Иванова"));
    assert_eq!(m.text, "Здравствуйте! Заказ 4512 не пришёл. Скриншот во вложении.");
    assert_eq!(m.parts.len(), 1);
    assert_eq!(m.parts[0].name, "screenshot.png");
    assert!(m.parts[0].data.starts_with(b"\x89PNG"));
    assert_eq!(m.kind, Kind::Personal);
}

#[test]
fn gmail_reply_folds_the_quote() {
    let m = fixture("a2-gmail-reply.eml");
    assert_eq!(m.text, "Номер заказа 4512, оплачен картой.");
    assert!(m.folded.contains("Уточните номер заказа"));
    assert_eq!(m.replied_to[0], "%HUB_REPLY_A%");
    assert!(m.replied_to.contains(&"CAF=a1Xq8mY3@mail.gmail.example".to_string()));
}

#[test]
fn outlook_in_windows_1251() {
    let b1 = fixture("b1-outlook-cp1251.eml");
    assert_eq!(b1.subject, "Счёт на лицензии");
    assert_eq!(b1.from.name.as_deref(), Some("Пётр Сидоров"));
    assert!(
        b1.text.starts_with("Добрый день.\nПрошу выставить счёт на 3 лицензии."),
        "{}",
        b1.text
    );
    let b2 = fixture("b2-outlook-reply.eml");
    assert_eq!(b2.text, "Реквизиты не нужны, они есть у вас.");
    assert!(b2.folded.starts_with("From: Support"));
}

#[test]
fn koi8_r_html_only_without_scripts() {
    let c1 = fixture("c1-koi8r-html.eml");
    assert_eq!(c1.subject, "Вход в кабинет");
    assert!(c1.from_html);
    assert!(c1.text.contains("Не работает вход в личный кабинет."), "{}", c1.text);
    assert!(c1.text.contains("Ошибка «403»."), "{}", c1.text);
    assert!(!c1.text.contains("document"), "{}", c1.text);
    assert!(!c1.text.contains("color"), "{}", c1.text);
    let c2 = fixture("c2-references-only.eml");
    assert_eq!(c2.text, "Уже заработало, спасибо.");
    assert_eq!(c2.replied_to, vec!["1701400000.c1@mail.ru.example".to_string()]);
}

#[test]
fn programs_and_bounces() {
    assert!(matches!(fixture("a3-autoreply.eml").kind, Kind::AutoReply(_)));
    assert!(matches!(fixture("e1-newsletter.eml").kind, Kind::Bulk(_)));
    let Kind::Bounce(b) = fixture("d1-bounce.eml").kind else {
        panic!("not a bounce")
    };
    assert_eq!(b.original.as_deref(), Some("%HUB_REPLY_A%"));
    assert_eq!(b.recipient.as_deref(), Some("maria.ivanova@gmail.example"));
    assert!(b.describe().contains("over quota"));
    assert_eq!(fixture("a1-gmail-new.eml").kind, Kind::Personal);
}
