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
    // A name is one line a person can read on the device list: each wrong one named, and no
    // device is left behind by a refused name.
    let long = "K".repeat(101);
    for (name, reason) in [
        ("  ", "required"),
        (long.as_str(), "too_long"),
        ("Kiosk\n2", "control_chars"),
    ] {
        let (s, b) = api
            .post(
                &format!("/api/admin/branches/{bid}/devices"),
                Some(&admin),
                json!({"kind": "kiosk", "login": "north-kiosk2", "name": name}),
            )
            .await;
        assert_eq!(
            (s, b["field"].as_str(), b["reason"].as_str()),
            (400, Some("name"), Some(reason)),
            "{b}"
        );
    }
    let (_, devices) = api.get("/api/admin/devices", Some(&admin)).await;
    assert!(!devices.to_string().contains("north-kiosk2"), "{devices}");
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

/// A branch edited after it is set up: its week, holidays and rules; a holiday today closes the
/// kiosk at once; each wrong value is named by its field; another organisation's branch is not
/// found; a user listed for one branch cannot take a window at another.
#[actix_rt::test]
async fn a_branch_edited_and_closed_for_a_holiday_sqlite() {
    branch_edited(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn a_branch_edited_and_closed_for_a_holiday_postgres() {
    branch_edited(Backend::Postgres).await;
}

async fn branch_edited(backend: Backend) {
    {
        let store = Store::new(backend, false).await;
        let node = store.start().await;
        let api = &node.api;
        let admin = api.login("admin", "demo-admin").await;
        let (s, list) = api.get("/api/admin/branches", Some(&admin)).await;
        assert_eq!(s, 200, "{list}");
        let branch = &list[0];
        let bid = branch["id"].as_i64().expect("id");
        assert_eq!(branch["open_now"], json!(true));
        assert_eq!(branch["vip_code_set"], json!(true));
        assert!(branch.get("vip_code").is_none(), "the code itself is never sent out");

        // Wrong values, each named by its field.
        for (body, field, reason) in [
            (
                json!({"schedule": {"tue": "18:00-09:00"}}),
                "schedule.tue",
                "hours_form",
            ),
            (json!({"schedule": {"monday": "09:00-18:00"}}), "schedule", "weekday"),
            (json!({"timezone": "Mars/Olympus"}), "timezone", "timezone"),
            (json!({"holidays": [{"date": "2027-02-30"}]}), "holidays", "date_form"),
            (
                json!({"holidays": [{"date": "2027-01-01"}, {"date": "2027-01-01"}]}),
                "holidays",
                "date_twice",
            ),
            (json!({"board_size": 0}), "board_size", "range"),
            (json!({"name": " "}), "name", "required"),
            (json!({"vip_code": "123"}), "vip_code", "vip_code_length"),
        ] {
            let (s, b) = api
                .send(
                    "PATCH",
                    &format!("/api/admin/branches/{bid}"),
                    Some(&admin),
                    Some(body.clone()),
                )
                .await;
            assert_eq!(
                (s, b["field"].as_str(), b["reason"].as_str()),
                (400, Some(field), Some(reason)),
                "{body}: {b}"
            );
        }
        let (s, b) = api
            .send(
                "PATCH",
                &format!("/api/admin/branches/{bid}"),
                Some(&admin),
                Some(json!({"hours": {}})),
            )
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (400, Some("bad_json")),
            "unknown fields are refused: {b}"
        );

        // Today a holiday in the branch's zone: closed now, and the kiosk says so.
        let today = jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::get("Europe/Moscow").expect("zone"))
            .date()
            .to_string();
        let (s, b) = api
            .send(
                "PATCH",
                &format!("/api/admin/branches/{bid}"),
                Some(&admin),
                Some(json!({"address": "Тверская, 1", "holidays": [{"date": today, "hours": null, "note": "Санитарный день"}],
                            "vip_code": null})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(
            (b["open_now"].clone(), b["vip_code_set"].clone()),
            (json!(false), json!(false))
        );
        assert_eq!(b["address"], json!("Тверская, 1"));
        let kiosk = api.kiosk().await;
        let (s, k) = api.get("/api/kiosk", Some(&kiosk)).await;
        assert_eq!(s, 200, "{k}");
        assert_eq!(k["open"], json!(false), "{k}");
        let (s, b) = api
            .send(
                "PATCH",
                &format!("/api/admin/branches/{bid}"),
                Some(&admin),
                Some(json!({"holidays": []})),
            )
            .await;
        assert_eq!((s, b["open_now"].clone()), (200, json!(true)));

        // Another organisation's branch is not found.
        let (s, _) = api
            .send(
                "PATCH",
                "/api/admin/branches/999999",
                Some(&admin),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(s, 404);

        // A user listed for a new branch only: no window at the demo's.
        let (s, other) = api
            .post(
                "/api/admin/branches",
                Some(&admin),
                json!({"name": "Второй офис", "timezone": "Europe/Moscow", "schedule": {"mon": "09:00-18:00"}}),
            )
            .await;
        assert_eq!(s, 201, "{other}");
        let (s, user) = api
            .post(
                "/api/admin/users",
                Some(&admin),
                json!({"login": "second-office", "name": "Второй Офис", "role": "operator",
                       "password": "second-office-pw", "branch_ids": [other["id"]]}),
            )
            .await;
        assert_eq!(s, 201, "{user}");
        assert_eq!(user["branch_ids"], json!([other["id"]]));
        let op = api.login("second-office", "second-office-pw").await;
        let (s, mine) = api.get("/api/branches", Some(&op)).await;
        assert_eq!((s, mine.as_array().map(Vec::len)), (200, Some(1)), "{mine}");
        let (s, b) = api
            .put(
                "/api/operator/place",
                Some(&op),
                json!({"window_id": 1, "service_ids": [2]}),
            )
            .await;
        assert_eq!((s, b["reason"].as_str()), (409, Some("not_your_branch")), "{b}");
    }
}

#[actix_rt::test]
async fn board_templates_sqlite() {
    board_templates(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn board_templates_postgres() {
    board_templates(Backend::Postgres).await;
}

/// A board following a named template shows its look, a change to the template reaches it, a
/// name is the organisation's once, and a removed template leaves its look with its boards.
async fn board_templates(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let (s, devices) = api.get("/api/admin/devices", Some(&admin)).await;
    assert_eq!(s, 200);
    let board = devices
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["kind"] == "board")
        .expect("the demo's board")["id"]
        .as_i64()
        .expect("id");
    let kiosk = devices
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["kind"] == "kiosk")
        .expect("the demo's kiosk")["id"]
        .as_i64()
        .expect("id");

    let (s, t) = api
        .post(
            "/api/admin/board-templates",
            Some(&admin),
            json!({"name": " Зал ", "look": {"banner": "Добро пожаловать", "rows": 6}}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["name"], "Зал");
    let tid = t["id"].as_i64().expect("id");
    let (s, b) = api
        .post("/api/admin/board-templates", Some(&admin), json!({"name": "Зал"}))
        .await;
    assert_eq!(
        (s, b["field"].as_str(), b["reason"].as_str()),
        (409, Some("name"), Some("template_name_taken")),
        "{b}"
    );
    let (s, b) = api
        .post(
            "/api/admin/board-templates",
            Some(&admin),
            json!({"name": "Плохой", "look": {"accent": "yellow"}}),
        )
        .await;
    assert_eq!((s, b["field"].as_str()), (400, Some("accent")), "{b}");

    // Followed by the board; a kiosk cannot follow one.
    let path = format!("/api/admin/boards/{board}/template");
    let (s, b) = api.put(&path, Some(&admin), json!({"template_id": tid})).await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = api
        .put(
            &format!("/api/admin/boards/{kiosk}/template"),
            Some(&admin),
            json!({"template_id": tid}),
        )
        .await;
    assert_eq!((s, b["reason"].as_str()), (400, Some("board_only")), "{b}");
    let (_, look) = api.get(&format!("/api/admin/devices/{board}/look"), Some(&admin)).await;
    assert_eq!(
        (
            look["template_id"].as_i64(),
            look["look"]["banner"].as_str(),
            look["look"]["rows"].as_i64()
        ),
        (Some(tid), Some("Добро пожаловать"), Some(6)),
        "{look}"
    );

    // Changed: the board's look is the new one.
    let (s, b) = api
        .send(
            "PATCH",
            &format!("/api/admin/board-templates/{tid}"),
            Some(&admin),
            Some(json!({"look": {"banner": "До 18:00"}})),
        )
        .await;
    assert_eq!((s, b["boards"].clone()), (200, json!([board])), "{b}");
    let (_, look) = api.get(&format!("/api/admin/devices/{board}/look"), Some(&admin)).await;
    assert_eq!(look["look"]["banner"], "До 18:00", "{look}");

    // Removed: the board keeps the look as its own.
    let (s, _) = api
        .send(
            "DELETE",
            &format!("/api/admin/board-templates/{tid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (_, look) = api.get(&format!("/api/admin/devices/{board}/look"), Some(&admin)).await;
    assert_eq!(
        (look["template_id"].clone(), look["look"]["banner"].as_str()),
        (serde_json::Value::Null, Some("До 18:00")),
        "{look}"
    );
    let (_, list) = api.get("/api/admin/board-templates", Some(&admin)).await;
    assert_eq!(list, json!([]));
}

#[actix_rt::test]
async fn regions_sqlite() {
    regions(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn regions_postgres() {
    regions(Backend::Postgres).await;
}

/// Regions stay a tree on either store: nested, a branch filed in one, no loop, taken away
/// only once empty.
async fn regions(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let (s, ural) = api
        .post("/api/admin/regions", Some(&admin), json!({"name": "Урал"}))
        .await;
    assert_eq!(s, 201, "{ural}");
    let ural = ural["id"].as_i64().expect("id");
    let (s, ekb) = api
        .post(
            "/api/admin/regions",
            Some(&admin),
            json!({"name": "Екатеринбург", "parent_id": ural}),
        )
        .await;
    assert_eq!(s, 201, "{ekb}");
    let ekb = ekb["id"].as_i64().expect("id");
    let (s, b) = api
        .send(
            "PATCH",
            &format!("/api/admin/regions/{ural}"),
            Some(&admin),
            Some(json!({"parent_id": ekb})),
        )
        .await;
    assert_eq!((s, b["reason"].as_str()), (400, Some("region_cycle")), "{b}");
    let (_, branches) = api.get("/api/admin/branches", Some(&admin)).await;
    let bid = branches[0]["id"].as_i64().expect("branch");
    let (s, b) = api
        .send(
            "PATCH",
            &format!("/api/admin/branches/{bid}"),
            Some(&admin),
            Some(json!({"region_id": ekb})),
        )
        .await;
    assert_eq!((s, b["region_id"].as_i64()), (200, Some(ekb)), "{b}");
    let (s, b) = api
        .send("DELETE", &format!("/api/admin/regions/{ekb}"), Some(&admin), None)
        .await;
    assert_eq!(
        (s, b["reason"].as_str(), b["args"]["branches"].as_i64()),
        (400, Some("region_not_empty"), Some(1)),
        "{b}"
    );
    let (s, _) = api
        .send(
            "PATCH",
            &format!("/api/admin/branches/{bid}"),
            Some(&admin),
            Some(json!({"region_id": null})),
        )
        .await;
    assert_eq!(s, 200);
    for id in [ekb, ural] {
        let (s, b) = api
            .send("DELETE", &format!("/api/admin/regions/{id}"), Some(&admin), None)
            .await;
        assert_eq!(s, 204, "{b}");
    }
    let (_, list) = api.get("/api/admin/regions", Some(&admin)).await;
    assert_eq!(list, json!([]));
}
