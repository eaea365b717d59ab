//! The demo's service desk: a first line and field engineers for one client's two shops in
//! Moscow, an incident workflow with a checklist, an around-the-clock SLA and a working-hours
//! OLA, and the rule that routes the shops' requests. Every condition names the demo's own sites,
//! so nothing here applies to a desk someone sets up next to it; no request is seeded (the
//! newcomer opens one in /desk and watches its clocks).

use serde_json::json;

use hub_actors::{
    model::{
        assignment::Conditions,
        desk::Targets,
        schedule::{Exception, Schedule},
        workflow::Workflow,
    },
    store::{
        desk::{GroupForm, Site},
        Store,
    },
    Error, Result,
};

fn data<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::Internal(e.to_string()))
}

/// A group its engineers take requests from by hand.
fn group(name: &str, grade: i64, ola_policy_id: Option<i64>, members: &[i64]) -> GroupForm {
    GroupForm {
        name: name.into(),
        grade,
        ola_policy_id,
        members: members.to_vec(),
        dispatch: Default::default(),
    }
}

pub async fn seed(store: &Store, org: i64, first_line: &[i64], engineers: &[i64]) -> Result<()> {
    let week = Schedule(
        ["mon", "tue", "wed", "thu", "fri"]
            .into_iter()
            .map(|d| (d.to_string(), "09:00-18:00".to_string()))
            .collect(),
    );
    let holidays = [("2027-01-01", "Новый год"), ("2027-01-07", "Рождество")].map(|(date, note)| Exception {
        date: date.into(),
        hours: None,
        note: note.into(),
    });
    let calendar = store
        .create_desk_calendar(org, "Рабочие дни, Москва", "Europe/Moscow", &week, &holidays)
        .await?;
    let ola = store
        .create_desk_policy(
            org,
            "Первая линия: реакция",
            "ola",
            &Conditions::default(),
            &data::<Targets>(json!({"first_response_mins": 30, "resolution_mins": 480, "warn_at": [75]}))?,
            Some(calendar),
        )
        .await?;
    let l1 = store
        .create_support_group(org, &group("Первая линия", 1, Some(ola), first_line))
        .await?;
    let l2 = store
        .create_support_group(org, &group("Выездные инженеры", 2, None, engineers))
        .await?;
    store
        .create_territory(
            org,
            "Москва",
            &json!({"type": "Polygon", "coordinates": [[[37.3, 55.5], [37.95, 55.5], [37.95, 55.95], [37.3, 55.95], [37.3, 55.5]]]}),
            Some(60.0),
        )
        .await?;
    let client = store
        .create_counterparty(org, "Торговый дом «Север»", Some("sever-td.example"))
        .await?;
    let mut sites = Vec::new();
    for (name, address, lon, lat) in [
        (
            "Магазин «Север» на Тверской",
            "Москва, Тверская улица, 12",
            37.6065,
            55.7637,
        ),
        (
            "Склад «Север» в Химках",
            "Химки, Ленинградское шоссе, 5",
            37.4312,
            55.8897,
        ),
    ] {
        let site = Site {
            id: 0,
            name: name.into(),
            address: address.into(),
            lon: Some(lon),
            lat: Some(lat),
            counterparty_id: Some(client),
            region_id: None,
        };
        sites.push(store.create_site(org, &site).await?);
    }
    let flow: Workflow = data(json!({
        "statuses": [
            {"key": "new", "name": "Новая", "kind": "open"},
            {"key": "work", "name": "В работе", "kind": "open"},
            {"key": "waiting", "name": "Ждём клиента", "kind": "waiting", "on_customer_reply": "work"},
            {"key": "resolved", "name": "Решена", "kind": "resolved", "on_customer_reply": "work"},
            {"key": "closed", "name": "Закрыта", "kind": "closed"}
        ],
        "transitions": [
            {"from": "new", "to": "work", "role": "operator"},
            {"from": "work", "to": "waiting", "role": "operator"},
            {"from": "waiting", "to": "work", "role": "operator"},
            {"from": "work", "to": "resolved", "role": "operator", "requires": {"checklist": true}},
            {"from": "resolved", "to": "work", "role": "operator"},
            {"from": "resolved", "to": "closed", "role": "operator"},
            {"from": "new", "to": "closed", "role": "supervisor", "requires": {"comment": true}}
        ]
    }))?;
    let workflow = store.create_workflow(org, "Инциденты", &flow).await?;
    let incident = store
        .create_request_type(
            org,
            "Инцидент",
            workflow,
            &["solution".into()],
            &["Связаться с магазином".into(), "Проверить оборудование".into()],
            &["Кассы".into(), "Принтеры".into(), "Сеть".into(), "Вывески".into()],
        )
        .await?;
    let at_the_shops = data::<Conditions>(json!({"sites": sites}))?;
    store
        .create_desk_policy(
            org,
            "«Север»: круглосуточно",
            "sla",
            &at_the_shops,
            &data::<Targets>(json!({
                "first_response_mins": 15, "next_response_mins": 30, "resolution_mins": 240,
                "pausing": ["waiting"], "warn_at": [75],
                "escalations": [{"share": 100, "do": "notify"}, {"share": 100, "do": "raise_grade"}]
            }))?,
            None,
        )
        .await?;
    let when = data::<Conditions>(json!({"sites": sites, "request_types": [incident]}))?;
    store.put_desk_rules(org, &[(when, vec![l1, l2])]).await?;
    Ok(())
}
