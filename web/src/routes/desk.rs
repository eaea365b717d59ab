//! The engineer's side of the service desk: requests listed, opened, read with every timer,
//! moved through their workflow, approved, ticked off, logged and noted; a supervisor sends one
//! up its line. Every id is looked up within the caller's organisation.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Operator, Supervisor};
use crate::{ApiResult, AppState};
use hub_actors::desk::RequestReply;
use hub_actors::model::field;
use hub_actors::model::kpi::{self, Case};
use hub_actors::store::requests::RequestRow;
use hub_actors::store::requests::{Levels, MoveRequest, NewRequest, NewWorkLog, RequestFilter};

/// Messages of each thread shown on the card.
const THREAD_PAGE: i64 = 100;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/desk/requests", web::get().to(list))
        .route("/api/desk/requests", web::post().to(create))
        .route("/api/desk/requests/{id}", web::get().to(card))
        .route("/api/desk/requests/{id}", web::patch().to(levels))
        .route("/api/desk/requests/{id}/move", web::post().to(move_to))
        .route("/api/desk/requests/{id}/approve", web::post().to(approve))
        .route("/api/desk/requests/{id}/checklist", web::post().to(checklist))
        .route("/api/desk/requests/{id}/work-logs", web::post().to(work_log))
        .route("/api/desk/requests/{id}/notes", web::post().to(note))
        .route("/api/desk/requests/{id}/escalate", web::post().to(escalate))
        .route("/api/desk/requests/{id}/assign", web::post().to(assign))
        .route("/api/desk/requests/{id}/reply", web::post().to(reply))
        .route("/api/desk/requests/{id}/fields", web::patch().to(fields))
        .route("/api/desk/requests/{id}/labels", web::put().to(labels))
        .route("/api/desk/requests/{id}/visit", web::post().to(start_visit))
        .route("/api/desk/requests/{id}/visit", web::delete().to(end_visit))
        .route("/api/desk/my-day", web::get().to(my_day))
        .route("/api/desk/directory", web::get().to(directory))
        .route("/api/desk/clients", web::get().to(clients))
        .route("/api/desk/threads", web::get().to(threads))
        .route("/api/desk/kpis", web::get().to(kpis))
        .route("/api/desk/kpis.csv", web::get().to(kpis_csv));
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum View {
    /// Every request of the organisation.
    #[default]
    All,
    /// Assigned to me.
    Mine,
    /// With a group I am a member of.
    Groups,
    /// Mine and my groups' whose clock is breached or has a quarter of its time or less left,
    /// the nearest first.
    Breaching,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    view: View,
    /// Closed ones too.
    #[serde(default)]
    all: bool,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    group_id: Option<i64>,
    #[serde(default)]
    type_id: Option<i64>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    counterparty_id: Option<i64>,
    #[serde(default)]
    contact_id: Option<i64>,
    /// Words to search for in the request and its threads (stemmed, every one must be there).
    #[serde(default)]
    q: Option<String>,
}

/// A search's words are at most this long (a pasted mail is not a query).
const QUERY_MAX: usize = 500;

fn search_terms(q: Option<&str>) -> ApiResult<Vec<String>> {
    let q = q.unwrap_or("");
    field::text("q", q, QUERY_MAX, false).map_err(hub_actors::Error::from)?;
    Ok(hub_actors::model::search::query(q))
}

/// How many requests the breaching view reads the clocks of.
const BREACHING_SCAN: i64 = 200;

async fn list(state: web::Data<AppState>, op: Operator, q: web::Query<ListQuery>) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let mut f = RequestFilter {
        open_only: !q.all || q.view == View::Breaching,
        status: q.status.clone(),
        group_id: q.group_id,
        type_id: q.type_id,
        label: q.label.clone(),
        counterparty_id: q.counterparty_id,
        contact_id: q.contact_id,
        matching: search_terms(q.q.as_deref())?,
        ..Default::default()
    };
    match q.view {
        View::All => {}
        View::Mine => f.assignee = Some(op.user_id),
        View::Groups | View::Breaching => f.member_of = Some(op.user_id),
    }
    if q.view != View::Breaching {
        let rows = store.request_list(op.org_id, &f, 500).await?;
        return Ok(HttpResponse::Ok().json(with_labels(&state, rows.into_iter().map(|r| (r, None)).collect()).await?));
    }
    let mut rows = store.request_list(op.org_id, &f, BREACHING_SCAN).await?;
    f.member_of = None;
    f.assignee = Some(op.user_id);
    for r in store.request_list(op.org_id, &f, BREACHING_SCAN).await? {
        if !rows.iter().any(|x| x.id == r.id) {
            rows.push(r);
        }
    }
    let mut out = Vec::new();
    for r in rows
        .into_iter()
        .filter(|r| r.status_kind == "open" || r.status_kind == "waiting")
    {
        let timers = store.clock_facts(r.id).await?.timers();
        let nearest = timers.iter().filter(|t| t.breaching()).map(|t| t.left_secs).min();
        if let Some(left) = nearest {
            out.push((left, r, json!(timers)));
        }
    }
    out.sort_by_key(|(left, _, _)| *left);
    let out = out.into_iter().map(|(_, r, timers)| (r, Some(timers))).collect();
    Ok(HttpResponse::Ok().json(with_labels(&state, out).await?))
}

/// Requests as lists show them: each with its labels, and its clocks where they were read.
async fn with_labels(state: &AppState, rows: Vec<(RequestRow, Option<Value>)>) -> ApiResult<Vec<Value>> {
    let ids: Vec<i64> = rows.iter().map(|(r, _)| r.id).collect();
    let mut labels = state.hub.store().labels_of(&ids).await?;
    Ok(rows
        .into_iter()
        .map(|(r, timers)| {
            let id = r.id;
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            v["labels"] = json!(labels.remove(&id).unwrap_or_default());
            if let Some(t) = timers {
                v["timers"] = t;
            }
            v
        })
        .collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Labels {
    labels: Vec<String>,
}

/// The request's labels, set whole.
async fn labels(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Labels>,
) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let labels = store
        .set_request_labels(op.org_id, *path, &body.labels, op.user_id)
        .await?;
    let r = store.request(op.org_id, *path).await?;
    state.hub.request_changed(&r).await;
    Ok(HttpResponse::Ok().json(json!({ "labels": labels })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    /// The type's fields to set; null or "" clears one.
    fields: serde_json::Map<String, Value>,
}

/// The engineer fills the request's fields (those its type names).
async fn fields(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Fields>,
) -> ApiResult<HttpResponse> {
    let r = state
        .hub
        .set_request_fields(op.org_id, *path, &body.fields, op.user_id)
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

async fn create(state: web::Data<AppState>, op: Operator, body: web::Json<NewRequest>) -> ApiResult<HttpResponse> {
    let r = state.hub.create_request(op.org_id, &body, Some(op.user_id)).await?;
    Ok(HttpResponse::Created().json(r))
}

/// The request's card: its row, history, every timer, the moves the caller may make, the work
/// log.
async fn card(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let r = store.request(op.org_id, *path).await?;
    let facts = store.clock_facts(r.id).await?;
    let flow = store.workflow_version(r.workflow_version_id).await?;
    let moves: Vec<_> = flow
        .moves_from(&r.status, op.role)
        .map(|t| json!({ "to": t.to, "requires": t.requires }))
        .collect();
    let events: Vec<_> = store
        .request_events(r.id)
        .await?
        .into_iter()
        .map(|e| json!({ "id": e.id, "at": e.at, "kind": e.kind, "data": e.data(), "by_user": e.by_user }))
        .collect();
    // The thread across channels: each conversation the request gathers, with its latest
    // messages, oldest first.
    let mut threads = Vec::new();
    for c in store.request_conversations(r.id).await? {
        let head = store.conversation_head(op.org_id, c).await?;
        let messages = store.latest_messages(c, 0, THREAD_PAGE).await?;
        threads.push(json!({
            "conversation_id": c,
            "channel": head.channel,
            "status": head.status,
            "assignee_id": head.assignee_id,
            "messages": messages,
        }));
    }
    Ok(HttpResponse::Ok().json(json!({
        "request": r,
        "statuses": flow.statuses,
        "moves": moves,
        "timers": facts.timers(),
        "spent": facts.spent(),
        // What the work cost tells the engineers' rates: supervisors only.
        "cost": if op.role.at_least(hub_actors::model::role::Role::Supervisor) {
            json!(store.request_cost(op.org_id, r.id, &store.desk_rates(op.org_id).await?).await?)
        } else {
            Value::Null
        },
        "events": events,
        "work_logs": store.work_logs(r.id).await?,
        "visits": store.visits_of(op.org_id, r.id).await?,
        "threads": threads,
        "labels": store.labels_of(&[r.id]).await?.remove(&r.id).unwrap_or_default(),
    })))
}

async fn move_to(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<MoveRequest>,
) -> ApiResult<HttpResponse> {
    let r = state
        .hub
        .move_request(op.org_id, *path, &body, op.user_id, op.role)
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approval {
    /// The status the approved move leads to.
    status: String,
}

async fn approve(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Approval>,
) -> ApiResult<HttpResponse> {
    state
        .hub
        .store()
        .approve_request(op.org_id, *path, &body.status, op.user_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tick {
    index: usize,
    done: bool,
}

async fn checklist(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Tick>,
) -> ApiResult<HttpResponse> {
    state
        .hub
        .store()
        .set_checklist_item(op.org_id, *path, body.index, body.done, op.user_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn work_log(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<NewWorkLog>,
) -> ApiResult<HttpResponse> {
    let log = state
        .hub
        .store()
        .add_work_log(op.org_id, *path, &body, op.user_id)
        .await?;
    Ok(HttpResponse::Created().json(log))
}

/// The engineer sets off for the request's site in their vehicle: the customer is told when they
/// will be there (and again when that moves), then that they arrived; the time on site is logged.
async fn start_visit(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let v = state.hub.start_visit(op.org_id, *path, op.user_id, op.role).await?;
    Ok(HttpResponse::Created().json(v))
}

/// The engineer turned back: the visit is called off (nothing more is told).
async fn end_visit(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    state.hub.end_visit(op.org_id, *path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Note {
    text: String,
}

/// A private note: staff only, never sent to the customer, and no answer for the clocks; a
/// colleague named by `@login` is told.
async fn note(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Note>,
) -> ApiResult<HttpResponse> {
    field::text("text", &body.text, 5000, true).map_err(hub_actors::Error::from)?;
    state
        .hub
        .note_on_request(op.org_id, *path, &body.text, op.user_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn escalate(state: web::Data<AppState>, sup: Supervisor, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let r = state.hub.escalate_request(sup.org_id, *path, sup.user_id).await?;
    Ok(HttpResponse::Ok().json(r))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Assign {
    /// The engineer; null: nobody.
    user_id: Option<i64>,
}

async fn assign(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Assign>,
) -> ApiResult<HttpResponse> {
    let r = state
        .hub
        .assign_request(op.org_id, *path, body.user_id, op.user_id, op.role)
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// The request's priority and impact, by its engineer or a supervisor; its SLA follows them.
async fn levels(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Levels>,
) -> ApiResult<HttpResponse> {
    let r = state
        .hub
        .set_request_levels(op.org_id, *path, &body, op.user_id, op.role)
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    /// One of the request's threads; none: the latest linked.
    #[serde(default)]
    conversation_id: Option<i64>,
    body: String,
    #[serde(default)]
    client_id: Option<String>,
}

/// The engineer answers the customer in the request's thread, by the channel the customer
/// wrote from.
async fn reply(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Reply>,
) -> ApiResult<HttpResponse> {
    let r = body.into_inner();
    hub_actors::model::message::check(&r.body, r.client_id.as_deref(), &[]).map_err(hub_actors::Error::from)?;
    let (message, _) = state
        .hub
        .request_reply(
            op.org_id,
            *path,
            RequestReply {
                user: op.user_id,
                role: op.role,
                conversation_id: r.conversation_id,
                body: r.body,
                client_id: r.client_id,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(message))
}

/// The caller's own day: their open requests at sites in the order the dispatcher set for today
/// (or the hub proposes), each with when they would be there.
async fn my_day(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.day_plan(op.org_id, op.user_id).await?))
}

/// Names the engineer's view shows and filters by: request types with their workflows'
/// statuses, support groups with their members, sites, counterparties and the organisation's
/// people.
async fn directory(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let workflows = store.desk_workflows(op.org_id).await?;
    let types: Vec<_> = store
        .request_types(op.org_id)
        .await?
        .into_iter()
        .map(|t| {
            let statuses = workflows
                .iter()
                .find(|w| w.id == t.workflow_id)
                .map(|w| w.body.statuses.clone())
                .unwrap_or_default();
            json!({ "id": t.id, "name": t.name, "fields": t.fields, "categories": t.categories, "statuses": statuses })
        })
        .collect();
    let people: Vec<_> = store
        .org_users(op.org_id)
        .await?
        .into_iter()
        .filter(|u| u.disabled == 0)
        .map(|u| json!({ "id": u.id, "name": u.name, "login": u.login, "role": u.role }))
        .collect();
    let named = |id: i64, name: &str| json!({ "id": id, "name": name });
    Ok(HttpResponse::Ok().json(json!({
        "types": types,
        "activities": store.desk_activities(op.org_id).await?.iter().map(|a| a.name.clone()).collect::<Vec<_>>(),
        "groups": store.support_groups(op.org_id).await?.iter()
            .map(|g| json!({ "id": g.id, "name": g.name, "grade": g.grade, "members": g.members }))
            .collect::<Vec<_>>(),
        "sites": store.sites(op.org_id).await?.iter().map(|x| named(x.id, &x.name)).collect::<Vec<_>>(),
        "counterparties": store.counterparties(op.org_id).await?.iter()
            .map(|x| named(x.id, &x.name)).collect::<Vec<_>>(),
        "people": people,
        "labels": store.org_labels(op.org_id).await?,
        // Named in the card's history when a request's service level changes.
        "policies": store.desk_policies(op.org_id).await?.iter()
            .map(|p| json!({ "id": p.id, "name": p.name, "kind": p.kind })).collect::<Vec<_>>(),
    })))
}

/// The clients: counterparties (with their sites and requests) and the contacts who made
/// requests; each one's history is the request list filtered by them.
async fn clients(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    Ok(HttpResponse::Ok().json(json!({
        "counterparties": store.client_counterparties(op.org_id).await?,
        "contacts": store.client_contacts(op.org_id).await?,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThreadQuery {
    #[serde(default)]
    q: String,
}

/// Conversations of any channel whose messages hold every word searched for, latest first, each
/// with the line that matched and the request it belongs to.
async fn threads(state: web::Data<AppState>, op: Operator, q: web::Query<ThreadQuery>) -> ApiResult<HttpResponse> {
    let terms = search_terms(Some(&q.q))?;
    if terms.is_empty() {
        return Ok(HttpResponse::Ok().json(Vec::<Value>::new()));
    }
    Ok(HttpResponse::Ok().json(state.hub.store().search_threads(op.org_id, &q.q, 50).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Period {
    /// Milliseconds since the epoch; requests created from then (default: 30 days ago).
    #[serde(default)]
    from: Option<i64>,
    /// Up to then, not included (default: now).
    #[serde(default)]
    to: Option<i64>,
}

/// What the manager's figures are counted over: the period and each case.
async fn report(state: &AppState, org_id: i64, q: &Period) -> ApiResult<(i64, i64, Vec<(RequestRow, Case)>)> {
    let now = hub_actors::model::now_millis();
    let to = q.to.unwrap_or(now);
    let from = q.from.unwrap_or(to.saturating_sub(30 * 86_400_000));
    if from >= to {
        return Err(hub_actors::Error::from(field::FieldError::new("from", "period", serde_json::Value::Null)).into());
    }
    Ok((from, to, state.hub.store().desk_cases(org_id, from, to).await?))
}

/// A supervisor's dashboard: figures for the desk, per group and per engineer, the top
/// counterparties and sites, and every open request whose clock is breached or near it.
async fn kpis(state: web::Data<AppState>, sup: Supervisor, q: web::Query<Period>) -> ApiResult<HttpResponse> {
    let (from, to, cases) = report(&state, sup.org_id, &q).await?;
    let now = hub_actors::model::now_millis();
    let figures = kpi::report(&cases.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>(), now);
    // Breached, or with a quarter of the time left or less.
    let mut breaching: Vec<_> = cases
        .iter()
        .filter(|(_, c)| c.open)
        .flat_map(|(r, c)| {
            c.timers.iter().filter(|t| t.breaching()).map(move |t| {
                json!({
                    "request_id": r.id, "subject": r.subject, "group_id": r.group_id,
                    "assignee_id": r.assignee_id, "track": t.track, "clock": t.clock,
                    "left_secs": t.left_secs, "due_at": t.due_at, "breached": t.breached,
                })
            })
        })
        .collect();
    breaching.sort_by_key(|b| b["left_secs"].as_i64());
    // Each engineer's days against their shift: the period's last `MAX_DAYS` at most.
    let load_from = from.max(to - hub_actors::model::labour::MAX_DAYS * 86_400_000);
    let load = state.hub.store().desk_load(sup.org_id, load_from, to).await?;
    Ok(HttpResponse::Ok().json(json!({
        "from": from,
        "to": to,
        "load_from": load_from,
        "load": load,
        "total": figures.total,
        "groups": figures.groups.iter().map(|(id, f)| json!({ "group_id": id, "figures": f })).collect::<Vec<_>>(),
        "people": figures.people.iter().map(|(id, f)| json!({ "user_id": id, "figures": f })).collect::<Vec<_>>(),
        "counterparties": figures.counterparties.iter()
            .map(|(id, n)| json!({ "counterparty_id": id, "requests": n })).collect::<Vec<_>>(),
        "sites": figures.sites.iter().map(|(id, n)| json!({ "site_id": id, "requests": n })).collect::<Vec<_>>(),
        "breaching": breaching,
    })))
}

/// The same figures as a spreadsheet: one row for the desk, one per group, one per engineer.
async fn kpis_csv(state: web::Data<AppState>, sup: Supervisor, q: web::Query<Period>) -> ApiResult<HttpResponse> {
    let (_, _, cases) = report(&state, sup.org_id, &q).await?;
    let figures = kpi::report(
        &cases.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>(),
        hub_actors::model::now_millis(),
    );
    let store = state.hub.store();
    let groups = store.support_groups(sup.org_id).await?;
    let people = store.org_users(sup.org_id).await?;
    let mut rows = vec![kpi::csv_row("desk", None, "", &figures.total)];
    for (id, f) in &figures.groups {
        let name = groups.iter().find(|g| g.id == *id).map_or("", |g| g.name.as_str());
        rows.push(kpi::csv_row("group", Some(*id), name, f));
    }
    for (id, f) in &figures.people {
        let name = people.iter().find(|u| u.id == *id).map_or("", |u| u.name.as_str());
        rows.push(kpi::csv_row("engineer", Some(*id), name, f));
    }
    let mut body = String::from(kpi::CSV_HEADER);
    for r in rows {
        body.push_str(&r);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"desk-kpis.csv\""))
        .body(body))
}
