//! The service desk through the API of a running node: routing by territory polygon, site,
//! function and grade with escalation; and clocks that fire every warning, breach and
//! escalation exactly once and on time across a SIGKILL.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;

/// The id of what a POST made (200 or 201).
pub fn id(v: &(u16, Value)) -> i64 {
    assert!(v.0 == 201 || v.0 == 200, "not made: {} {}", v.0, v.1);
    v.1["id"].as_i64().unwrap_or_else(|| panic!("no id in {}", v.1))
}

/// A request card's SLA clock of this kind, if it has one.
pub fn sla_timer(card: &Value, clock: &str) -> Option<Value> {
    card["timers"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["clock"] == clock && t["track"] == "sla").cloned())
}

fn square(w: f64, s: f64, e: f64, n: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
}

fn workflow() -> Value {
    json!({
        "statuses": [
            {"key": "new", "name": "New", "kind": "open"},
            {"key": "work", "name": "In progress", "kind": "open"},
            {"key": "waiting", "name": "Waiting for the customer", "kind": "waiting"},
            {"key": "resolved", "name": "Resolved", "kind": "resolved"},
            {"key": "closed", "name": "Closed", "kind": "closed"}
        ],
        "transitions": [
            {"from": "new", "to": "work", "role": "operator"},
            {"from": "work", "to": "waiting", "role": "operator"},
            {"from": "waiting", "to": "work", "role": "operator"},
            {"from": "work", "to": "resolved", "role": "operator", "requires": {"checklist": true}},
            {"from": "resolved", "to": "closed", "role": "supervisor", "requires": {"comment": true}},
            {"from": "resolved", "to": "work", "role": "operator"}
        ]
    })
}

pub(crate) struct Desk {
    pub(crate) admin: String,
    pub(crate) incident: i64,
    question: i64,
    l1_moscow: i64,
    pub(crate) l2_moscow: i64,
    l1_spb: i64,
    hq: i64,
    pub(crate) tverskaya: i64,
    nevsky: i64,
    kazan: i64,
}

/// Two territories, four groups on three grades, three sites, two request types and the rules:
/// questions to the Moscow first line; Moscow by its territory along L1 → L2 → HQ; St Petersburg
/// incidents to its first line then HQ; the rest to HQ.
pub(crate) async fn set_up(api: &Api, sla: Value) -> Desk {
    let admin = api.login("admin", "demo-admin").await;
    let a = Some(admin.as_str());
    let moscow = id(&api
        .post(
            "/api/admin/desk/territories",
            a,
            json!({"name": "Moscow", "shape": square(37.3, 55.5, 37.9, 56.0)}),
        )
        .await);
    let spb = id(&api
        .post(
            "/api/admin/desk/territories",
            a,
            json!({"name": "St Petersburg", "shape": {"type": "Feature", "properties": {}, "geometry": square(30.0, 59.8, 30.6, 60.1)}}),
        )
        .await);
    let group = |name: &'static str, grade: i64| {
        let api = api.clone();
        let admin = admin.clone();
        async move {
            id(&api
                .post(
                    "/api/admin/desk/groups",
                    Some(&admin),
                    json!({"name": name, "grade": grade}),
                )
                .await)
        }
    };
    let l1_moscow = group("Moscow L1", 1).await;
    let l2_moscow = group("Moscow L2", 2).await;
    let l1_spb = group("St Petersburg L1", 1).await;
    let hq = group("HQ engineering", 3).await;
    let wf = id(&api
        .post(
            "/api/admin/desk/workflows",
            a,
            json!({"name": "Incidents", "body": workflow()}),
        )
        .await);
    let incident = id(&api
        .post(
            "/api/admin/desk/request-types",
            a,
            json!({"name": "Incident", "workflow_id": wf}),
        )
        .await);
    let question = id(&api
        .post(
            "/api/admin/desk/request-types",
            a,
            json!({"name": "Question", "workflow_id": wf}),
        )
        .await);
    let site = |name: &'static str, lon: f64, lat: f64| {
        let api = api.clone();
        let admin = admin.clone();
        async move {
            id(&api
                .post(
                    "/api/admin/desk/sites",
                    Some(&admin),
                    json!({"name": name, "lon": lon, "lat": lat}),
                )
                .await)
        }
    };
    let tverskaya = site("Shop on Tverskaya", 37.61, 55.76).await;
    let nevsky = site("Shop on Nevsky", 30.36, 59.93).await;
    let kazan = site("Warehouse in Kazan", 49.1, 55.8).await;
    let rules = json!({"rules": [
        {"when": {"request_types": [question]}, "groups": [l1_moscow]},
        {"when": {"territories": [moscow]}, "groups": [l2_moscow, l1_moscow, hq]},
        {"when": {"territories": [spb], "request_types": [incident]}, "groups": [l1_spb, hq]},
        {"groups": [hq]}
    ]});
    let (st, body) = api.put("/api/admin/desk/rules", a, rules).await;
    assert_eq!(st, 200, "{body}");
    if !sla.is_null() {
        id(&api.post("/api/admin/desk/policies", a, sla).await);
    }
    Desk {
        admin,
        incident,
        question,
        l1_moscow,
        l2_moscow,
        l1_spb,
        hq,
        tverskaya,
        nevsky,
        kazan,
    }
}

async fn open(api: &Api, token: &str, type_id: i64, site_id: i64, subject: &str) -> Value {
    let (st, r) = api
        .post(
            "/api/desk/requests",
            Some(token),
            json!({"type_id": type_id, "site_id": site_id, "subject": subject, "checklist": ["Check the till", "Test a payment"]}),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    r
}

async fn routing(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let d = set_up(api, Value::Null).await;
    let op = api.login("operator1", "demo-operator1").await;
    let group = |r: &Value| r["group_id"].as_i64();
    // By the territory polygon the site's point lies in, and by function.
    assert_eq!(
        group(&open(api, &op, d.incident, d.tverskaya, "Till down").await),
        Some(d.l1_moscow)
    );
    assert_eq!(
        group(&open(api, &op, d.incident, d.nevsky, "Till down").await),
        Some(d.l1_spb)
    );
    assert_eq!(
        group(&open(api, &op, d.question, d.nevsky, "How to").await),
        Some(d.l1_moscow),
        "an earlier rule"
    );
    assert_eq!(
        group(&open(api, &op, d.incident, d.kazan, "Door").await),
        Some(d.hq),
        "outside every territory"
    );
    // By grade: escalation by hand goes up the line of the rule that placed it.
    let r = open(api, &op, d.incident, d.tverskaya, "Printer").await;
    let rid = r["id"].as_i64().unwrap_or(0);
    let sup = api.login("supervisor", "demo-supervisor").await;
    let (st, _) = api
        .post(&format!("/api/desk/requests/{rid}/escalate"), Some(&op), json!({}))
        .await;
    assert_eq!(st, 403, "an operator does not escalate by hand");
    let (st, r2) = api
        .post(&format!("/api/desk/requests/{rid}/escalate"), Some(&sup), json!({}))
        .await;
    assert_eq!((st, group(&r2)), (200, Some(d.l2_moscow)), "{r2}");
    let (_, r3) = api
        .post(&format!("/api/desk/requests/{rid}/escalate"), Some(&sup), json!({}))
        .await;
    assert_eq!(group(&r3), Some(d.hq));
    let (st, top) = api
        .post(&format!("/api/desk/requests/{rid}/escalate"), Some(&sup), json!({}))
        .await;
    assert_eq!(st, 409, "the top of the line: {top}");

    // The workflow, per role and requirement.
    let path = |s: &str| format!("/api/desk/requests/{rid}/{s}");
    let (_, me) = api.get("/api/me", Some(&op)).await;
    let me = me["user_id"].as_i64().unwrap_or(0);
    let (st, e) = api.post(&path("assign"), Some(&op), json!({"user_id": me + 1})).await;
    assert_eq!((st, e["reason"].as_str()), (400, Some("assign_others")), "{e}");
    let (st, r) = api.post(&path("assign"), Some(&op), json!({"user_id": me})).await;
    assert_eq!((st, r["assignee_id"].as_i64()), (200, Some(me)), "{r}");
    let (st, e) = api.post(&path("move"), Some(&op), json!({"to": "resolved"})).await;
    assert_eq!((st, e["reason"].as_str()), (409, Some("move_unknown")), "{e}");
    let (st, _) = api.post(&path("move"), Some(&op), json!({"to": "work"})).await;
    assert_eq!(st, 200);
    let (st, e) = api.post(&path("move"), Some(&op), json!({"to": "resolved"})).await;
    assert_eq!(
        (st, e["reason"].as_str(), e["args"]["left"].as_i64()),
        (409, Some("move_checklist"), Some(2)),
        "{e}"
    );
    for i in 0..2 {
        let (st, _) = api
            .post(&path("checklist"), Some(&op), json!({"index": i, "done": true}))
            .await;
        assert_eq!(st, 204);
    }
    let (st, log) = api
        .post(
            &path("work-logs"),
            Some(&op),
            json!({"minutes": 45, "activity": "on site", "billable": true}),
        )
        .await;
    assert_eq!((st, log["minutes"].as_i64()), (201, Some(45)), "{log}");
    let (st, _) = api.post(&path("move"), Some(&op), json!({"to": "resolved"})).await;
    assert_eq!(st, 200);
    let (st, e) = api
        .post(&path("move"), Some(&op), json!({"to": "closed", "comment": "done"}))
        .await;
    assert_eq!((st, e["reason"].as_str()), (409, Some("move_role")), "{e}");
    let (st, e) = api.post(&path("move"), Some(&sup), json!({"to": "closed"})).await;
    assert_eq!((st, e["reason"].as_str()), (409, Some("move_comment")), "{e}");
    let (st, r) = api
        .post(&path("move"), Some(&sup), json!({"to": "closed", "comment": "fixed"}))
        .await;
    assert_eq!((st, r["status_kind"].as_str()), (200, Some("closed")), "{r}");
    let (st, e) = api
        .patch(
            &format!("/api/desk/requests/{rid}"),
            Some(&sup),
            json!({"impact": "high"}),
        )
        .await;
    assert_eq!((st, e["reason"].as_str()), (409, Some("request_closed")), "{e}");
    let (_, card) = api.get(&format!("/api/desk/requests/{rid}"), Some(&op)).await;
    assert_eq!(card["work_logs"].as_array().map(Vec::len), Some(1));
    // Time tracking from the history: every status it passed, the three groups, the engineer.
    let spent = &card["spent"];
    for s in ["new", "work", "resolved"] {
        assert!(spent["statuses"][s].is_i64(), "time in {s}: {spent}");
    }
    assert_eq!(spent["groups"].as_object().map(|g| g.len()), Some(3), "{spent}");
    assert!(spent["engineers"][me.to_string()].is_i64(), "{spent}");
    assert!(
        card["moves"].as_array().is_some_and(Vec::is_empty),
        "closed: no way out"
    );

    // Labels, the clients and the figures read on this backend too.
    let (st, l) = api
        .put(
            &path("labels"),
            Some(&op),
            json!({"labels": ["касса", " Касса ", "VIP"]}),
        )
        .await;
    assert_eq!((st, &l["labels"]), (200, &json!(["касса", "VIP"])), "{l}");
    let (_, listed) = api.get("/api/desk/requests?all=true&label=VIP", Some(&op)).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["labels"], json!(["VIP", "касса"]));
    let (st, clients) = api.get("/api/desk/clients", Some(&op)).await;
    assert_eq!(st, 200, "{clients}");
    assert!(
        clients["counterparties"].is_array() && clients["contacts"].is_array(),
        "{clients}"
    );
    let (st, k) = api.get("/api/desk/kpis", Some(&sup)).await;
    assert_eq!((st, k["total"]["resolved"].as_i64()), (200, Some(1)), "{k}");
    assert_eq!(k["total"]["logged_mins"].as_i64(), Some(45), "{k}");

    // A workflow with a dead end is refused, with the status named.
    let mut bad = workflow();
    bad["transitions"] = json!([{"from": "new", "to": "work", "role": "operator"}, {"from": "work", "to": "closed", "role": "operator"}]);
    let (st, e) = api
        .post(
            "/api/admin/desk/workflows",
            Some(&d.admin),
            json!({"name": "Broken", "body": bad}),
        )
        .await;
    assert_eq!(st, 400, "{e}");
    assert!(
        ["status_unreachable", "status_dead_end"].contains(&e["reason"].as_str().unwrap_or("")),
        "{e}"
    );
}

#[actix_rt::test]
async fn routing_and_workflow_sqlite() {
    routing(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn routing_and_workflow_postgres() {
    routing(Backend::Postgres).await;
}

/// A request's SLA follows what its policies ask of it: chosen at creation by its impact, and
/// chosen again when its impact, its group or its engineer changes, each swap a policy line in
/// its history, the time already run carried into the new target; who may change the levels.
async fn sla_follows(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let d = set_up(api, Value::Null).await;
    let a = Some(d.admin.as_str());
    let op = api.login("operator1", "demo-operator1").await;
    let sup = api.login("supervisor", "demo-supervisor").await;
    let (_, me) = api.get("/api/me", Some(&op)).await;
    let me = me["user_id"].as_i64().expect("user");
    let policy = |name: &str, mins: i64, when: Value| json!({"name": name, "kind": "sla", "targets": {"resolution_mins": mins}, "conditions": when});
    let mine = id(&api
        .post(
            "/api/admin/desk/policies",
            a,
            policy("Anna's", 30, json!({"assignees": [me]})),
        )
        .await);
    let high = id(&api
        .post(
            "/api/admin/desk/policies",
            a,
            policy("High impact", 60, json!({"impacts": ["high"]})),
        )
        .await);
    let l2 = id(&api
        .post(
            "/api/admin/desk/policies",
            a,
            policy("Second line", 240, json!({"groups": [d.l2_moscow]})),
        )
        .await);
    let default = id(&api
        .post("/api/admin/desk/policies", a, policy("Default", 480, json!({})))
        .await);
    // Who holds a request cannot decide where it goes.
    let (st, e) = api
        .put(
            "/api/admin/desk/rules",
            a,
            json!({"rules": [{"when": {"assignees": [me]}, "groups": [d.hq]}]}),
        )
        .await;
    assert_eq!(
        (st, e["field"].as_str(), e["reason"].as_str()),
        (400, Some("assignees"), Some("not_for_routing")),
        "{e}"
    );

    let target = |card: &Value| sla_timer(card, "resolution").and_then(|t| t["target_secs"].as_i64());
    let elapsed = |card: &Value| {
        sla_timer(card, "resolution")
            .and_then(|t| t["elapsed_secs"].as_i64())
            .unwrap_or(-1)
    };
    let policies = |card: &Value| -> Vec<i64> {
        card["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["kind"] == "policy")
            .filter_map(|e| e["data"]["policy_id"].as_i64())
            .collect()
    };
    let card = |rid: i64| {
        let api = api.clone();
        let op = op.clone();
        async move {
            let (st, c) = api.get(&format!("/api/desk/requests/{rid}"), Some(&op)).await;
            assert_eq!(st, 200, "{c}");
            c
        }
    };

    // Made with a high impact: that policy from the start.
    let (st, r) = api
        .post(
            "/api/desk/requests",
            Some(&op),
            json!({"type_id": d.incident, "site_id": d.tverskaya, "subject": "All tills down", "impact": "high"}),
        )
        .await;
    assert_eq!((st, r["impact"].as_str()), (201, Some("high")), "{r}");
    assert_eq!(policies(&card(r["id"].as_i64().expect("id")).await), vec![high]);
    let (st, e) = api
        .post(
            "/api/desk/requests",
            Some(&op),
            json!({"type_id": d.incident, "subject": "x", "impact": "huge"}),
        )
        .await;
    assert_eq!(
        (st, e["field"].as_str(), e["reason"].as_str()),
        (400, Some("impact"), Some("one_of")),
        "{e}"
    );

    let r = open(api, &op, d.incident, d.tverskaya, "Printer").await;
    let rid = r["id"].as_i64().expect("id");
    assert_eq!(r["impact"], "medium");
    let c = card(rid).await;
    assert_eq!((policies(&c), target(&c)), (vec![default], Some(480 * 60)), "{c}");
    let path = format!("/api/desk/requests/{rid}");
    // Not the operator's request: only its engineer or a supervisor sets its levels.
    let (st, e) = api.patch(&path, Some(&op), json!({"impact": "high"})).await;
    assert_eq!((st, e["reason"].as_str()), (409, Some("not_assignee")), "{e}");
    let (st, e) = api
        .patch(&path, Some(&sup), json!({"impact": "high", "urgency": 1}))
        .await;
    assert_eq!(st, 400, "unknown fields refused: {e}");
    let before = elapsed(&card(rid).await);
    let (st, r) = api.patch(&path, Some(&sup), json!({"impact": "high"})).await;
    assert_eq!((st, r["impact"].as_str()), (200, Some("high")), "{r}");
    let c = card(rid).await;
    assert_eq!((policies(&c), target(&c)), (vec![default, high], Some(60 * 60)), "{c}");
    assert!(
        elapsed(&c) >= before,
        "the time run so far carries over: {before} then {}",
        elapsed(&c)
    );
    assert!(
        c["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["kind"] == "impact" && e["data"]["from"] == "medium")),
        "{c}"
    );
    // Sent up to L2, still of high impact: the first policy that holds stays.
    let (st, _) = api.post(&format!("{path}/escalate"), Some(&sup), json!({})).await;
    assert_eq!(st, 200);
    assert_eq!(policies(&card(rid).await), vec![default, high]);
    let (st, _) = api
        .patch(&path, Some(&sup), json!({"impact": "medium", "priority": "high"}))
        .await;
    assert_eq!(st, 200);
    let c = card(rid).await;
    assert_eq!(
        (policies(&c), target(&c)),
        (vec![default, high, l2], Some(240 * 60)),
        "{c}"
    );
    assert_eq!(c["request"]["priority"], "high");
    // Its engineer takes it: their own promise; let go, the group's again.
    let (st, _) = api
        .post(&format!("{path}/assign"), Some(&op), json!({"user_id": me}))
        .await;
    assert_eq!(st, 200);
    let c = card(rid).await;
    assert_eq!(
        (policies(&c), target(&c)),
        (vec![default, high, l2, mine], Some(30 * 60)),
        "{c}"
    );
    let (st, r) = api.patch(&path, Some(&op), json!({"priority": "critical"})).await;
    assert_eq!(
        (st, r["priority"].as_str()),
        (200, Some("critical")),
        "its engineer may: {r}"
    );
    let (st, _) = api
        .post(&format!("{path}/assign"), Some(&op), json!({"user_id": null}))
        .await;
    assert_eq!(st, 200);
    assert_eq!(policies(&card(rid).await), vec![default, high, l2, mine, l2]);
}

#[actix_rt::test]
async fn the_sla_follows_impact_group_and_engineer_sqlite() {
    sla_follows(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn the_sla_follows_impact_group_and_engineer_postgres() {
    sla_follows(Backend::Postgres).await;
}

/// A group that dispatches gives each request placed with it to the member on duty with the
/// fewest open requests, in turns; one off shift gets none; a group given out by hand leaves
/// them for the engineers; and a group is edited whole.
async fn dispatch(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let d = set_up(api, Value::Null).await;
    let a = Some(d.admin.as_str());
    let user = |login: &'static str, password: &'static str| {
        let api = api.clone();
        async move {
            let t = api.login(login, password).await;
            let (_, me) = api.get("/api/me", Some(&t)).await;
            me["user_id"].as_i64().expect("user")
        }
    };
    let (anna, ivan, boss) = (
        user("operator1", "demo-operator1").await,
        user("operator2", "demo-operator2").await,
        user("supervisor", "demo-supervisor").await,
    );
    let op = api.login("operator1", "demo-operator1").await;
    // The supervisor's shift has today and tomorrow off (either side of midnight, UTC).
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let holiday = |d: jiff::civil::Date| json!({"date": d.to_string(), "note": "off"});
    let off = id(&api
        .post(
            "/api/admin/desk/calendars",
            a,
            json!({"name": "Days off", "timezone": "UTC",
                   "week": {"mon": "00:00-24:00", "tue": "00:00-24:00", "wed": "00:00-24:00", "thu": "00:00-24:00",
                            "fri": "00:00-24:00", "sat": "00:00-24:00", "sun": "00:00-24:00"},
                   "exceptions": [holiday(today), holiday(today.tomorrow().expect("date"))]}),
        )
        .await);
    let (st, e) = api
        .put(
            &format!("/api/admin/desk/people/{boss}"),
            a,
            json!({"calendar_id": off}),
        )
        .await;
    assert_eq!(st, 204, "{e}");
    let group = format!("/api/admin/desk/groups/{}", d.l1_moscow);
    let form =
        |dispatch: &str| json!({"name": "Moscow L1", "grade": 1, "members": [boss, ivan, anna], "dispatch": dispatch});
    let (st, e) = api.put(&group, a, form("random")).await;
    assert_eq!(st, 400, "{e}");
    let (st, e) = api.put("/api/admin/desk/groups/999999", a, form("manual")).await;
    assert_eq!(st, 404, "{e}");
    let (st, e) = api.put(&group, a, form("least_loaded")).await;
    assert_eq!(st, 204, "{e}");
    let (_, setup) = api.get("/api/admin/desk", a).await;
    let g = setup["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["id"] == d.l1_moscow).cloned());
    assert_eq!(
        g.as_ref()
            .map(|g| (&g["dispatch"], g["members"].as_array().map(Vec::len))),
        Some((&json!("least_loaded"), Some(3))),
        "{setup}"
    );

    // Three requests one after another: the two on duty in turns, fewest open first.
    let (first, second) = (anna.min(ivan), anna.max(ivan));
    let mut given = Vec::new();
    let mut rid = 0;
    for n in 0..3 {
        let r = open(api, &op, d.incident, d.tverskaya, &format!("Till {n}")).await;
        assert_eq!(r["group_id"].as_i64(), Some(d.l1_moscow));
        given.push(r["assignee_id"].as_i64());
        rid = r["id"].as_i64().expect("id");
    }
    assert_eq!(
        given,
        vec![Some(first), Some(second), Some(first)],
        "the supervisor is off shift"
    );
    // The second takes questions only: the next incident goes to the first however loaded,
    // and a question to the second.
    let (st, e) = api
        .put(
            &format!("/api/admin/desk/people/{second}"),
            a,
            json!({"request_types": [d.question]}),
        )
        .await;
    assert_eq!(st, 204, "{e}");
    let (st, e) = api
        .put(
            &format!("/api/admin/desk/people/{second}"),
            a,
            json!({"request_types": [999_999]}),
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (400, Some("request_types")), "{e}");
    let (_, setup) = api.get("/api/admin/desk", a).await;
    assert!(
        setup["people"].as_array().is_some_and(|p| p
            .iter()
            .any(|p| p["user_id"] == second && p["request_types"] == json!([d.question]))),
        "{setup}"
    );
    let r = open(api, &op, d.incident, d.tverskaya, "Till 3").await;
    assert_eq!(r["assignee_id"].as_i64(), Some(first), "{r}");
    let q = open(api, &op, d.question, d.tverskaya, "How to refund").await;
    assert_eq!(
        (q["group_id"].as_i64(), q["assignee_id"].as_i64()),
        (Some(d.l1_moscow), Some(second)),
        "{q}"
    );
    let (_, card) = api.get(&format!("/api/desk/requests/{rid}"), Some(&op)).await;
    assert!(
        card["events"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e["kind"] == "assignee" && e["data"]["why"] == "dispatch")),
        "{card}"
    );
    // Sent up to a group given out by hand: nobody holds it there.
    let sup = api.login("supervisor", "demo-supervisor").await;
    let (st, up) = api
        .post(&format!("/api/desk/requests/{rid}/escalate"), Some(&sup), json!({}))
        .await;
    assert_eq!(
        (st, up["group_id"].as_i64(), up["assignee_id"].as_i64()),
        (200, Some(d.l2_moscow), None),
        "{up}"
    );
    // Given out by hand again: a new request waits for someone to take it.
    let (st, _) = api.put(&group, a, form("manual")).await;
    assert_eq!(st, 204);
    let r = open(api, &op, d.incident, d.tverskaya, "Scanner").await;
    assert_eq!(r["assignee_id"], Value::Null, "{r}");
}

#[actix_rt::test]
async fn dispatch_gives_requests_out_sqlite() {
    dispatch(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn dispatch_gives_requests_out_postgres() {
    dispatch(Backend::Postgres).await;
}

/// A request type names its categories; a request is filed under one of them (any case, kept in
/// the type's spelling) or none, never under one the type does not name; a policy asks for it.
async fn categories(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let d = set_up(api, Value::Null).await;
    let a = Some(d.admin.as_str());
    let (_, setup) = api.get("/api/admin/desk", a).await;
    let wf = setup["request_types"][0]["workflow_id"].as_i64().expect("workflow");
    let (st, e) = api
        .post(
            "/api/admin/desk/request-types",
            a,
            json!({"name": "Equipment", "workflow_id": wf, "categories": ["Tills", "tills"]}),
        )
        .await;
    assert_eq!((st, e["reason"].as_str()), (400, Some("category_twice")), "{e}");
    let kind = id(&api
        .post(
            "/api/admin/desk/request-types",
            a,
            json!({"name": "Equipment", "workflow_id": wf, "categories": [" Tills ", "Printers"]}),
        )
        .await);
    id(&api
        .post(
            "/api/admin/desk/policies",
            a,
            json!({"name": "Tills stop sales", "kind": "sla",
            "targets": {"resolution_mins": 30}, "conditions": {"categories": ["Tills"]}}),
        )
        .await);
    let op = api.login("operator1", "demo-operator1").await;
    let made = |category: Value| {
        let api = api.clone();
        let op = op.clone();
        async move {
            api.post(
                "/api/desk/requests",
                Some(&op),
                json!({"type_id": kind, "subject": "Down", "category": category}),
            )
            .await
        }
    };
    let (st, e) = made(json!("Network")).await;
    assert_eq!(
        (st, e["field"].as_str(), e["reason"].as_str()),
        (400, Some("category"), Some("category_unknown")),
        "{e}"
    );
    let (st, r) = made(json!("tills")).await;
    assert_eq!((st, r["category"].as_str()), (201, Some("Tills")), "{r}");
    let (_, card) = api.get(&format!("/api/desk/requests/{}", r["id"]), Some(&op)).await;
    assert_eq!(
        sla_timer(&card, "resolution").and_then(|t| t["target_secs"].as_i64()),
        Some(30 * 60),
        "{card}"
    );
    let (st, r) = made(Value::Null).await;
    assert_eq!((st, &r["category"]), (201, &Value::Null), "not yet sorted: {r}");
    let (_, dir) = api.get("/api/desk/directory", Some(&op)).await;
    let listed = dir["types"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == kind).cloned());
    assert_eq!(
        listed.map(|t| t["categories"].clone()),
        Some(json!(["Tills", "Printers"]))
    );
}

#[actix_rt::test]
async fn a_request_is_filed_under_its_types_categories_sqlite() {
    categories(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn a_request_is_filed_under_its_types_categories_postgres() {
    categories(Backend::Postgres).await;
}

/// The alarm lines of a request's history: (clock, share, due_at, fired at).
async fn alarms(api: &Api, token: &str, id: i64) -> (Vec<(String, i64, i64, i64)>, Value) {
    let (st, card) = api.get(&format!("/api/desk/requests/{id}"), Some(token)).await;
    assert_eq!(st, 200, "{card}");
    let list = card["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["kind"] == "alarm")
                .map(|e| {
                    (
                        e["data"]["clock"].as_str().unwrap_or("").to_string(),
                        e["data"]["share"].as_i64().unwrap_or(0),
                        e["data"]["due_at"].as_i64().unwrap_or(0),
                        e["at"].as_i64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (list, card)
}

/// Waits until every request has fired `n` alarms.
async fn until_fired(api: &Api, token: &str, ids: &[i64], n: usize, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let mut all = true;
        for id in ids {
            if alarms(api, token, *id).await.0.len() < n {
                all = false;
                break;
            }
        }
        if all {
            return;
        }
        assert!(Instant::now() < deadline, "alarms not fired in {secs} s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A one-minute resolution target around the clock, warnings at 25 % and 50 %, the breach
/// raising the grade. The node is killed after the first warning and kept down past the second:
/// after the restart the second fires at once (it fell due while nothing ran), the breach on
/// time, and every one of them once; the escalation happens once.
async fn clocks_across_sigkill(backend: Backend) {
    let store = Store::new(backend, false).await;
    let mut node = store.start().await;
    let sla = json!({"name": "One minute", "kind": "sla",
        "targets": {"resolution_mins": 1, "warn_at": [25, 50], "escalations": [{"share": 100, "do": "raise_grade"}]}});
    let d = set_up(&node.api, sla).await;
    let op = node.api.login("operator1", "demo-operator1").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let site = [d.tverskaya, d.nevsky][i % 2];
        ids.push(
            open(&node.api, &op, d.incident, site, "Till down").await["id"]
                .as_i64()
                .unwrap_or(0),
        );
    }
    let started = Instant::now();
    until_fired(&node.api, &op, &ids, 1, 30).await;
    node.kill();
    // Down past the 50 % mark (30 s after opening).
    let down_until = Duration::from_secs(33);
    if let Some(left) = down_until.checked_sub(started.elapsed()) {
        tokio::time::sleep(left).await;
    }
    let node = store.start().await;
    let api = &node.api;
    until_fired(api, &op, &ids, 3, 60).await;
    for id in &ids {
        let (list, card) = alarms(api, &op, *id).await;
        let shares: Vec<i64> = list.iter().map(|a| a.1).collect();
        assert_eq!(shares, vec![25, 50, 100], "each once, in order: {list:?}");
        assert!(list.iter().all(|a| a.0 == "resolution"));
        let breach = &list[2];
        assert!(
            breach.3 - breach.2 <= 1_000 && breach.3 >= breach.2,
            "the breach fired {} ms after it fell due",
            breach.3 - breach.2
        );
        let warn = &list[0];
        assert!(
            warn.3 >= warn.2 && warn.3 - warn.2 <= 1_000,
            "the first warning on time: {warn:?}"
        );
        // The second fell due while the node was down: fired once the node was up.
        let groups: Vec<&Value> = card["events"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| e["kind"] == "group" && e["data"]["why"] == "escalation")
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(groups.len(), 1, "escalated once: {groups:?}");
        let to = groups[0]["data"]["group_id"].as_i64();
        let placed = card["request"]["group_id"].as_i64();
        assert_eq!(to, placed);
        assert!(
            [Some(d.l2_moscow), Some(d.hq)].contains(&to),
            "one grade up the line: {to:?} (L1 Moscow {}, L1 St Petersburg {})",
            d.l1_moscow,
            d.l1_spb
        );
        let timers = card["timers"].as_array().cloned().unwrap_or_default();
        assert!(
            timers
                .iter()
                .any(|t| t["clock"] == "resolution" && t["breached"] == true),
            "{timers:?}"
        );
    }
    // Nothing more is owed (no alarm to come is kept), so a further restart fires nothing.
    let deadline = Instant::now() + Duration::from_secs(10);
    for id in &ids {
        loop {
            let (_, card) = alarms(api, &op, *id).await;
            if card["request"]["next_alarm_at"].is_null() {
                break;
            }
            assert!(Instant::now() < deadline, "an alarm still kept: {}", card["request"]);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    drop(node);
    let node = store.start().await;
    for id in &ids {
        assert_eq!(alarms(&node.api, &op, *id).await.0.len(), 3);
    }
}

#[actix_rt::test]
async fn clocks_fire_once_and_on_time_across_sigkill_sqlite() {
    clocks_across_sigkill(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn clocks_fire_once_and_on_time_across_sigkill_postgres() {
    clocks_across_sigkill(Backend::Postgres).await;
}

/// A request made from a web chat: the customer's messages there and the operator's answers are
/// its clocks' events, read from the thread itself.
#[actix_rt::test]
async fn a_thread_feeds_the_clocks() {
    use crate::chat::{eventually, Widget, OPERATOR2};
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let sla = json!({"name": "Chat", "kind": "sla",
        "targets": {"first_response_mins": 60, "next_response_mins": 30, "resolution_mins": 480}});
    let d = set_up(api, sla).await;
    let (token, _) = Widget::start(api, None).await;
    let (mut w, _) = Widget::connect(api, &token, 0).await;
    w.say_until_acked("c1", "The till in the shop on Tverskaya is down")
        .await;
    let sup = api.login("supervisor", "demo-supervisor").await;
    let (_, lists) = api.get("/api/conversations", Some(&sup)).await;
    let conv = lists["queued"][0]["id"].as_i64().unwrap_or(0);
    let (st, _) = api
        .post(
            &format!("/api/conversations/{conv}/assign"),
            Some(&sup),
            json!({"operator_id": OPERATOR2}),
        )
        .await;
    assert_eq!(st, 200);
    let ivan = api.login("operator2", "demo-operator2").await;
    let (st, r) = api
        .post(
            "/api/desk/requests",
            Some(&ivan),
            json!({"type_id": d.incident, "site_id": d.tverskaya, "subject": "Till down", "conversation_id": conv}),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    let rid = r["id"].as_i64().unwrap_or(0);
    let (st, _) = api
        .post(
            "/api/desk/requests",
            Some(&ivan),
            json!({"type_id": d.incident, "subject": "Again", "conversation_id": conv}),
        )
        .await;
    assert_eq!(st, 409, "a conversation belongs to one request");
    let timer = sla_timer;
    let card =
        |api: Api, ivan: String| async move { api.get(&format!("/api/desk/requests/{rid}"), Some(&ivan)).await.1 };
    let c = card(api.clone(), ivan.clone()).await;
    let fr = timer(&c, "first_response").expect("first response");
    assert_eq!(
        (fr["running"].as_bool(), fr["stopped_at"].is_null()),
        (Some(true), true),
        "{fr}"
    );
    assert!(timer(&c, "next_response").is_none(), "no customer message waits yet");
    let reply = |body: &'static str| {
        let (api, ivan) = (api.clone(), ivan.clone());
        async move {
            let (st, m) = api
                .post(
                    &format!("/api/conversations/{conv}/messages"),
                    Some(&ivan),
                    json!({"body": body}),
                )
                .await;
            assert_eq!(st, 200, "{m}");
        }
    };
    reply("We are looking into it").await;
    let c = card(api.clone(), ivan.clone()).await;
    let fr = timer(&c, "first_response").expect("first response");
    assert!(fr["stopped_at"].is_i64() && fr["running"] == false, "answered: {fr}");
    w.say_until_acked("c2", "Any news?").await;
    let c = eventually(10, "a next response running", || {
        let (api, ivan) = (api.clone(), ivan.clone());
        async move {
            let c = card(api, ivan).await;
            timer(&c, "next_response").filter(|t| t["running"] == true).map(|_| c)
        }
    })
    .await;
    assert_eq!(
        timer(&c, "first_response").map(|t| t["stopped_at"].clone()),
        Some(fr["stopped_at"].clone()),
        "the first response stays where it stopped"
    );
    reply("An engineer is on the way").await;
    let c = card(api.clone(), ivan.clone()).await;
    let nr = timer(&c, "next_response").expect("next response");
    assert!(nr["running"] == false && nr["stopped_at"].is_i64(), "{nr}");
}

/// A queue with intake: each new conversation opens a request at once, its site found by name
/// in the first message, placed by the site's territory.
#[actix_rt::test]
async fn intake_opens_a_request_per_new_conversation() {
    use crate::chat::Widget;
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let d = set_up(api, Value::Null).await;
    let a = Some(d.admin.as_str());
    // The web chat's queue, read from a first conversation.
    let (token, _) = Widget::start(api, None).await;
    let (mut w, _) = Widget::connect(api, &token, 0).await;
    w.say_until_acked("probe", "hello").await;
    let sup = api.login("supervisor", "demo-supervisor").await;
    let (_, lists) = api.get("/api/conversations", Some(&sup)).await;
    let queue = lists["queued"][0]["service_id"].as_i64().unwrap_or(0);
    let (st, e) = api
        .put(
            "/api/admin/desk/intake",
            a,
            json!({"service_id": queue, "type_id": d.incident}),
        )
        .await;
    assert_eq!(st, 204, "{e}");
    let (_, before) = api.get("/api/desk/requests", Some(&sup)).await;
    assert_eq!(
        before.as_array().map(Vec::len),
        Some(0),
        "the earlier conversation opened none"
    );

    let (token, _) = Widget::start(api, None).await;
    let (mut w, _) = Widget::connect(api, &token, 0).await;
    w.say_until_acked("c1", "Shop on Nevsky: the till is down\nsince the morning")
        .await;
    let list = crate::chat::eventually(10, "a request opened", || {
        let (api, sup) = (api.clone(), sup.clone());
        async move {
            let (_, l) = api.get("/api/desk/requests", Some(&sup)).await;
            (l.as_array().map(Vec::len) == Some(1)).then_some(l)
        }
    })
    .await;
    let r = &list[0];
    assert_eq!(r["subject"], "Shop on Nevsky: the till is down");
    assert_eq!(r["site_id"].as_i64(), Some(d.nevsky));
    assert_eq!(r["group_id"].as_i64(), Some(d.l1_spb), "placed by the site's territory");
    // The customer's next message is the same conversation: no second request.
    w.say_until_acked("c2", "Any news?").await;
    let (_, l) = api.get("/api/desk/requests", Some(&sup)).await;
    assert_eq!(l.as_array().map(Vec::len), Some(1));
    let (st, _) = api
        .put(
            "/api/admin/desk/intake",
            a,
            json!({"service_id": queue, "type_id": null}),
        )
        .await;
    assert_eq!(st, 204);
}
