//! The demo organisation: enough to watch a ticket go from kiosk to operator to board.

use hub_actors::{
    model::{
        branch::BranchSettings,
        person::Gender,
        role::{DeviceKind, Role},
        schedule::Schedule,
        user::UserEdit,
    },
    store::Store,
    Result,
};
use hub_channels::sip::store::PhoneStore;

pub struct DemoSignIns {
    pub branch_id: i64,
    pub lines: Vec<(&'static str, &'static str, &'static str)>,
}

pub const VIP_CODE: &str = "777777";

/// The demo web chat's key, as a customer's site would put it in the widget's script tag.
pub const WIDGET_KEY: &str = "demo";
/// The number callers dial, and the realm the demo phones' credentials are made for.
pub const DEMO_NUMBER: &str = "8800";
pub const SIP_REALM: &str = "hub";

/// Seeds one organisation: a branch in Moscow time, open around the clock so the demo is live
/// whenever it is started; three services in a two-level menu; two windows; an admin, a
/// supervisor and two operators; a kiosk and a board with their own credentials.
pub async fn seed(store: &Store) -> Result<DemoSignIns> {
    let org = store.create_org("Демо-организация", None).await?;
    let branch = store
        .create_branch(
            org,
            &BranchSettings {
                name: "Центральный офис".into(),
                address: "Москва, Тверская улица, 1".into(),
                timezone: "Europe/Moscow".into(),
                lang: "ru".into(),
                schedule: Schedule::always(),
                holidays: vec![],
                recalls_before_no_show: 1,
                board_size: 8,
                vip_code: Some(VIP_CODE.into()),
            },
        )
        .await?;
    let people = store
        .add_service(org, branch, None, ("Частным лицам", "Individuals"), None, 1)
        .await?
        .id;
    store
        .add_service(
            org,
            branch,
            Some(people),
            ("Консультация", "Consultation"),
            Some("A"),
            1,
        )
        .await?;
    store
        .add_service(org, branch, Some(people), ("Оплата услуг", "Payments"), Some("B"), 2)
        .await?;
    store
        .add_service(org, branch, None, ("Юридическим лицам", "Businesses"), Some("C"), 2)
        .await?;
    store.create_window(org, branch, "1").await?;
    store.create_window(org, branch, "2").await?;
    let lines = vec![
        ("admin", "demo-admin", "admin"),
        ("supervisor", "demo-supervisor", "supervisor"),
        ("operator1", "demo-operator1", "operator: windows and web chat"),
        ("operator2", "demo-operator2", "operator: windows and web chat"),
        ("1001", "demo-phone-1001", "SIP phone of operator1 (realm hub)"),
        ("1002", "demo-phone-1002", "SIP phone of operator2 (realm hub)"),
        ("kiosk1", "demo-kiosk-secret", "kiosk device"),
        ("board1", "demo-board-secret", "board device"),
    ];
    store
        .create_user(org, "admin", "Администратор", Role::Admin, "demo-admin", "ru")
        .await?;
    store
        .create_user(
            org,
            "supervisor",
            "Старший смены",
            Role::Supervisor,
            "demo-supervisor",
            "ru",
        )
        .await?;
    let anna = store
        .create_user(org, "operator1", "Анна Петрова", Role::Operator, "demo-operator1", "ru")
        .await?;
    let gender = UserEdit {
        gender: Some(Some(Gender::Female)),
        ..Default::default()
    };
    store.edit_user(org, anna, &gender).await?;
    let ivan = store
        .create_user(org, "operator2", "Иван Смирнов", Role::Operator, "demo-operator2", "ru")
        .await?;
    let gender = UserEdit {
        gender: Some(Some(Gender::Male)),
        ..Default::default()
    };
    store.edit_user(org, ivan, &gender).await?;
    crate::demo_desk::seed(store, org, &[anna], &[ivan]).await?;
    crate::demo_fleet::seed(store, org, ivan).await?;
    // The contact centre: a web chat on the same branch's hours, answered by both operators
    // (Анна is the more proficient), with the organisation's canned responses.
    let chat = store
        .add_remote_queue(org, branch, "Чат на сайте", "skills", "[]", 30, 3, Some(WIDGET_KEY))
        .await?;
    for (login, proficiency) in [("operator1", 5), ("operator2", 3)] {
        let user = store
            .org_users(org)
            .await?
            .into_iter()
            .find(|u| u.login == login)
            .ok_or(hub_actors::Error::NotFound("user"))?;
        store.set_skill(user.id, chat.id, proficiency).await?;
    }
    // Telephony: callers dial 8800 (when sip_listen is set); key 1 is the hotline, 2 the same
    // queue as the web chat. Each operator has a desk phone account.
    let hotline = store
        .add_remote_queue(org, branch, "Горячая линия", "skills", "[]", 30, 3, None)
        .await?;
    let users = store.org_users(org).await?;
    for (login, proficiency, sip_user) in [("operator1", 5, "1001"), ("operator2", 3, "1002")] {
        let user = users
            .iter()
            .find(|u| u.login == login)
            .ok_or(hub_actors::Error::NotFound("user"))?;
        store.set_skill(user.id, hotline.id, proficiency).await?;
        let ha1 = hub_sip::digest::ha1(sip_user, SIP_REALM, &format!("demo-phone-{sip_user}"));
        store
            .set_sip_account(
                org,
                user.id,
                hub_channels::sip::store::PhoneAccount {
                    username: sip_user,
                    realm: SIP_REALM,
                    ha1: &ha1,
                    auto_answer: false,
                },
                hub_actors::model::now_millis(),
            )
            .await?;
    }
    store
        .add_sip_number(
            hub_channels::sip::store::NewSipNumber {
                org_id: org,
                number: DEMO_NUMBER,
                greeting: "Здравствуйте! Вы позвонили в демо-организацию.",
                prompt: "Горячая линия — нажмите 1. Вопрос по сайту — нажмите 2.",
                choices: &[('1', hotline.id), ('2', chat.id)].into_iter().collect(),
                default_service_id: hotline.id,
                lang: "ru",
                position_secs: 30,
                max_wait_secs: 600,
                trunk_id: None,
            },
            hub_actors::model::now_millis(),
        )
        .await?;
    for (shortcut, title, body) in [
        ("hello", "Приветствие", "Здравствуйте! Чем могу помочь?"),
        ("wait", "Минутку", "Одну минуту, уточняю информацию."),
        ("thanks", "Спасибо", "Спасибо за обращение! Хорошего дня."),
    ] {
        store.add_canned(org, None, shortcut, title, body).await?;
    }
    store
        .create_device(
            org,
            branch,
            DeviceKind::Kiosk,
            "kiosk1",
            "Киоск у входа",
            "demo-kiosk-secret",
            "ru",
        )
        .await?;
    store
        .create_device(
            org,
            branch,
            DeviceKind::Board,
            "board1",
            "Табло в зале",
            "demo-board-secret",
            "ru",
        )
        .await?;
    Ok(DemoSignIns {
        branch_id: branch,
        lines,
    })
}
