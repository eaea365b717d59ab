//! Setting an organisation up: branches, their menus and windows, kiosks and boards, people,
//! chat queues, break reasons and the audit log. Admins only, and only inside their own
//! organisation; each section in its own file, the helpers they share here.

mod branches;
mod day;
mod desk;
mod devices;
mod layout;
mod queues;
mod regions;
mod templates;
mod users;
mod webhooks;

use actix_web::web;
use serde::{Deserialize, Serialize};

use crate::error::bad;
use hub_actors::{store::audit::Change, Error};
use serde_json::json;

pub(super) fn lang(l: Option<String>) -> Result<String, Error> {
    match l.as_deref().unwrap_or("ru") {
        l @ ("ru" | "en") => Ok(l.to_string()),
        _ => Err(bad("lang", "lang", json!({}))),
    }
}

/// Tells a field sent as null (clear it) from one not sent at all (leave it).
pub(super) fn some_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A change for the audit trail: `object.verb`, the object, and how it was and is.
pub(super) fn change(
    object_kind: &'static str,
    verb: &str,
    object_id: Option<i64>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Change {
    Change {
        action: hub_actors::model::audit::action_name(object_kind, verb),
        object_kind,
        object_id,
        before,
        after,
    }
}

pub(super) fn json_of<T: Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/admin/branches", web::post().to(branches::add_branch))
        .route("/api/admin/branches", web::get().to(branches::branches))
        .route("/api/admin/branches/{id}", web::patch().to(branches::patch_branch))
        .route(
            "/api/admin/branches/{id}/service-order",
            web::put().to(layout::order_services),
        )
        .route("/api/admin/services/{id}", web::patch().to(layout::patch_service))
        .route("/api/admin/services/{id}", web::delete().to(layout::remove_service))
        .route("/api/admin/windows/{id}", web::patch().to(layout::patch_window))
        .route("/api/admin/windows/{id}", web::delete().to(layout::remove_window))
        .route("/api/admin/branches/{id}/services", web::post().to(layout::add_service))
        .route("/api/admin/branches/{id}/windows", web::post().to(layout::add_window))
        .route("/api/admin/branches/{id}/devices", web::post().to(devices::add_device))
        .route("/api/admin/users", web::post().to(users::add_user))
        .route("/api/admin/users", web::get().to(users::users))
        .route("/api/admin/chat-queues", web::get().to(queues::chat_queues))
        .route("/api/admin/break-reasons", web::put().to(day::set_break_reasons))
        .route("/api/admin/audit", web::get().to(day::audit_log))
        .route("/api/admin/devices/{id}/pair", web::post().to(devices::pair_device))
        .route("/api/admin/devices", web::get().to(devices::devices))
        .route("/api/admin/users/{id}/password", web::put().to(users::reset_password))
        .route("/api/admin/devices/{id}", web::patch().to(devices::patch_device))
        .route("/api/admin/users/{id}", web::patch().to(users::patch_user))
        .route(
            "/api/admin/devices/{id}/secret",
            web::post().to(devices::rotate_device_secret),
        )
        .service(
            web::resource("/api/admin/board-templates")
                .app_data(crate::json_config(devices::LOOK_LIMIT))
                .route(web::get().to(templates::list))
                .route(web::post().to(templates::create)),
        )
        .service(
            web::resource("/api/admin/board-templates/{id}")
                .app_data(crate::json_config(devices::LOOK_LIMIT))
                .route(web::patch().to(templates::edit))
                .route(web::delete().to(templates::remove)),
        )
        .route("/api/admin/boards/{id}/template", web::put().to(templates::follow))
        .route("/api/admin/desk", web::get().to(desk::setup))
        .route("/api/admin/desk/calendars", web::post().to(desk::create_calendar))
        .route("/api/admin/desk/policies", web::post().to(desk::create_policy))
        .route("/api/admin/desk/policies/{id}", web::put().to(desk::edit_policy))
        .route("/api/admin/desk/groups", web::post().to(desk::create_group))
        .route("/api/admin/desk/groups/{id}", web::put().to(desk::update_group))
        .service(
            web::resource("/api/admin/desk/territories")
                .app_data(crate::json_config(desk::SHAPE_LIMIT))
                .route(web::post().to(desk::create_territory)),
        )
        .route(
            "/api/admin/desk/counterparties",
            web::post().to(desk::create_counterparty),
        )
        .route("/api/admin/desk/sites", web::post().to(desk::create_site))
        .service(
            web::resource("/api/admin/desk/workflows")
                .app_data(crate::json_config(desk::WORKFLOW_LIMIT))
                .route(web::post().to(desk::create_workflow)),
        )
        .service(
            web::resource("/api/admin/desk/workflows/{id}")
                .app_data(crate::json_config(desk::WORKFLOW_LIMIT))
                .route(web::put().to(desk::edit_workflow)),
        )
        .route(
            "/api/admin/desk/request-types",
            web::post().to(desk::create_request_type),
        )
        .route("/api/admin/desk/rules", web::put().to(desk::put_rules))
        .route("/api/admin/desk/intake", web::put().to(desk::set_intake))
        .route("/api/admin/desk/people/{id}", web::put().to(desk::set_person))
        .route("/api/admin/desk/activities", web::post().to(desk::create_activity))
        .route(
            "/api/admin/desk/activities/{id}",
            web::put().to(desk::set_activity_rate),
        )
        .route("/api/admin/webhooks", web::get().to(webhooks::list))
        .route("/api/admin/webhooks", web::post().to(webhooks::create))
        .route("/api/admin/webhooks/{id}", web::patch().to(webhooks::edit))
        .route("/api/admin/webhooks/{id}", web::delete().to(webhooks::remove))
        .route(
            "/api/admin/webhooks/{id}/deliveries",
            web::get().to(webhooks::deliveries),
        )
        .route(
            "/api/admin/webhooks/{id}/deliveries/{delivery}/redeliver",
            web::post().to(webhooks::redeliver),
        )
        .route("/api/admin/regions", web::get().to(regions::list))
        .route("/api/admin/regions", web::post().to(regions::create))
        .route("/api/admin/regions/{id}", web::patch().to(regions::edit))
        .route("/api/admin/regions/{id}", web::delete().to(regions::remove))
        .service(
            web::resource("/api/admin/devices/{id}/look")
                .app_data(crate::json_config(devices::LOOK_LIMIT))
                .route(web::get().to(devices::device_look))
                .route(web::put().to(devices::set_device_look)),
        )
        .route(
            "/api/admin/branches/{id}/chat-queues",
            web::post().to(queues::add_chat_queue),
        )
        .route("/api/admin/users/{id}/skills", web::put().to(users::set_skills))
        .route("/api/admin/services/{id}/routing", web::put().to(queues::set_routing))
        .route("/api/admin/services/{id}/routing", web::get().to(queues::routing));
}
