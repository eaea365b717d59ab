//! Setting up a new organisation from nothing: the CLI makes the organisation and its first
//! admin; the admin builds a branch through the API; its kiosk and operator then work.

use serde_json::json;

use crate::harness::*;

#[actix_rt::test]
async fn a_new_organisation_set_up_through_the_api() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;

    let out = store.hub(&["org", "add", "--name", "Северный филиал", "--prefix", "north"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("with id 2"));
    let out = store.hub(
        &[
            "user",
            "add",
            "--org",
            "2",
            "--login",
            "north-boss",
            "--name",
            "Boss",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "boss-password\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let admin = api.login("north-boss", "boss-password").await;

    // Only admins set up.
    let sup = api.login("supervisor", "demo-supervisor").await;
    let branch_body = json!({
        "name": "Филиал на Ленина", "timezone": "Asia/Yekaterinburg", "lang": "en",
        "schedule": {"mon": "00:00-24:00", "tue": "00:00-24:00", "wed": "00:00-24:00", "thu": "00:00-24:00",
                     "fri": "00:00-24:00", "sat": "00:00-24:00", "sun": "00:00-24:00"},
        "recalls_before_no_show": 0
    });
    let (s, b) = api.post("/api/admin/branches", Some(&sup), branch_body.clone()).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("forbidden")));

    // Bad settings are refused with what is wrong.
    let mut bad = branch_body.clone();
    bad["timezone"] = json!("Mars/Olympus");
    let (s, b) = api.post("/api/admin/branches", Some(&admin), bad).await;
    assert_eq!(s, 400, "{b}");
    assert!(b["message"].as_str().unwrap_or("").contains("Mars/Olympus"));
    let mut bad = branch_body.clone();
    bad["schedule"] = json!({"monday": "09:00-18:00"});
    let (s, b) = api.post("/api/admin/branches", Some(&admin), bad).await;
    assert_eq!(s, 400, "{b}");
    assert!(b["message"].as_str().unwrap_or("").contains("monday"));

    let (s, branch) = api.post("/api/admin/branches", Some(&admin), branch_body).await;
    assert_eq!(s, 201, "{branch}");
    let bid = branch["id"].as_i64().expect("branch id");
    assert!(branch.get("vip_code").is_none(), "the VIP code is never sent out");

    // A two-level menu.
    let path = format!("/api/admin/branches/{bid}/services");
    let (s, group) = api
        .post(&path, Some(&admin), json!({"name_ru": "Карты", "name_en": "Cards"}))
        .await;
    assert_eq!(s, 201, "{group}");
    let gid = group["id"].as_i64().expect("id");
    let (s, card) = api
        .post(
            &path,
            Some(&admin),
            json!({"name_ru": "Выпуск карты", "name_en": "New card", "prefix": "K", "parent_id": gid}),
        )
        .await;
    assert_eq!(s, 201, "{card}");
    let (s, b) = api
        .post(
            &path,
            Some(&admin),
            json!({"name_ru": "Ещё", "name_en": "More", "prefix": "K"}),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (409, Some("conflict")),
        "prefixes are unique in a branch"
    );
    let (s, b) = api
        .post(
            &path,
            Some(&admin),
            json!({"name_ru": "Под", "name_en": "Sub", "prefix": "S", "parent_id": card["id"]}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid")), "a service is no group");
    let (s, b) = api
        .post(
            &path,
            Some(&admin),
            json!({"name_ru": "Г", "name_en": "G", "parent_id": gid}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid")), "two levels only");
    let (s, b) = api
        .post(
            &path,
            Some(&admin),
            json!({"name_ru": "x", "name_en": "x", "prefix": "k1"}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid")));

    let (s, window) = api
        .post(
            &format!("/api/admin/branches/{bid}/windows"),
            Some(&admin),
            json!({"label": "7"}),
        )
        .await;
    assert_eq!(s, 201, "{window}");
    let (s, _) = api
        .post(
            &format!("/api/admin/branches/{bid}/windows"),
            Some(&admin),
            json!({"label": "7"}),
        )
        .await;
    assert_eq!(s, 409);
    let (s, kiosk) = api
        .post(
            &format!("/api/admin/branches/{bid}/devices"),
            Some(&admin),
            json!({"kind": "kiosk", "login": "north-kiosk", "name": "Kiosk"}),
        )
        .await;
    assert_eq!(s, 201, "{kiosk}");
    let (s, b) = api
        .post(
            &format!("/api/admin/branches/{bid}/devices"),
            Some(&admin),
            json!({"kind": "toaster", "login": "t1", "name": "T"}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("bad_json")));
    let (s, user) = api
        .post(
            "/api/admin/users",
            Some(&admin),
            json!({"login": "north-lena", "name": "Лена", "role": "operator", "password": "lena-password", "lang": "en"}),
        )
        .await;
    assert_eq!(s, 201, "{user}");
    assert_eq!(user["org_id"], 2);
    let (_, users) = api.get("/api/admin/users", Some(&admin)).await;
    let logins: Vec<&str> = users
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["login"].as_str())
        .collect();
    assert_eq!(logins, ["north-boss", "north-lena"], "only this organisation's people");

    // The new branch works end to end, and it is its own: numbering, kiosk, operator.
    let kiosk_token = api
        .device("north-kiosk", kiosk["secret"].as_str().expect("secret"))
        .await;
    let (s, t) = api
        .post(
            "/api/kiosk/tickets",
            Some(&kiosk_token),
            json!({"service_id": card["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["ticket"]["number"], "K001");
    let lena = api.login("north-lena", "lena-password").await;
    let (s, _) = api
        .put(
            "/api/operator/place",
            Some(&lena),
            json!({"window_id": window["id"], "service_ids": [card["id"]]}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, called) = api.call_next(&lena).await;
    assert_eq!(called["ticket"]["number"], "K001");
    // recalls_before_no_show 0: no-show at once.
    let (s, _) = api
        .act(&lena, called["ticket"]["id"].as_i64().expect("id"), "no-show", None)
        .await;
    assert_eq!(s, 200);

    // Tenants stay apart both ways.
    let demo_admin = api.login("admin", "demo-admin").await;
    let (s, _) = api
        .post(
            &format!("/api/admin/branches/{bid}/windows"),
            Some(&demo_admin),
            json!({"label": "8"}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = api
        .post(
            "/api/admin/branches/1/services",
            Some(&admin),
            json!({"name_ru": "x", "name_en": "x", "prefix": "X"}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = api
        .put(
            "/api/operator/place",
            Some(&lena),
            json!({"window_id": 1, "service_ids": [CONSULTATION]}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = api
        .post(
            "/api/kiosk/tickets",
            Some(&kiosk_token),
            json!({"service_id": CONSULTATION}),
        )
        .await;
    assert_eq!(s, 404);
}
