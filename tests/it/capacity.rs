//! An operator's capacity per kind of work: chats and mail threads each have their own, so a
//! full chat capacity does not keep mail from them (and a full inbox would not keep chats).

use serde_json::json;

use crate::chat::{available, offer_for, Widget};
use crate::harness::*;
use crate::shutdown::{add_mailbox, mail_store, send_mail};

#[actix_rt::test]
async fn a_full_chat_capacity_leaves_room_for_mail() {
    let (store, smtp) = mail_store(Backend::Sqlite).await;
    let node = store.start().await;
    let api = &node.api;
    add_mailbox(api).await;
    let admin = api.login("admin", "demo-admin").await;
    let (_, users) = api.get("/api/admin/users", Some(&admin)).await;
    let anna = users
        .as_array()
        .and_then(|u| u.iter().find(|u| u["login"] == "operator1"))
        .map(|u| u["id"].as_i64().expect("id"))
        .expect("the demo's operator1");
    let (s, b) = api
        .send(
            "PATCH",
            &format!("/api/admin/users/{anna}"),
            Some(&admin),
            Some(json!({"chat_capacity": 1, "mail_capacity": 5})),
        )
        .await;
    assert_eq!(
        (s, b["chat_capacity"].as_i64(), b["mail_capacity"].as_i64()),
        (200, Some(1), Some(5)),
        "{b}"
    );
    let (s, b) = api
        .send(
            "PATCH",
            &format!("/api/admin/users/{anna}"),
            Some(&admin),
            Some(json!({"mail_capacity": 201})),
        )
        .await;
    assert_eq!((s, b["field"].as_str()), (400, Some("mail_capacity")), "{b}");

    // Her one chat: taken.
    let token = available(api, "operator1", "demo-operator1").await;
    let (visitor, _) = Widget::start(api, None).await;
    let (mut w, _) = Widget::connect(api, &visitor, 0).await;
    w.say("m1", "Здравствуйте").await;
    let chat = offer_for(api, &token, 10).await;
    let (s, _) = api
        .post(
            &format!("/api/conversations/{}/accept", chat["id"]),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);

    // A mail arrives: her chats are full, her mail is not, so it is offered to her.
    assert!(send_mail(smtp, 1).await, "the hub's SMTP receiver took the mail");
    let mail = offer_for(api, &token, 30).await;
    assert_eq!(mail["channel"], "email", "{mail}");
}
