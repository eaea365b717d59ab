//! The audit trail of the API. A route that changes something records it with the object before
//! and after (`record`); any other admin or supervisor write that succeeded is recorded by the
//! edge (`record_unrecorded`) with who, when and what, so no change goes unrecorded.

use actix_web::{dev::ServiceResponse, web::Data, HttpMessage, HttpRequest};
use hub_actors::store::audit::{Actor, Change};

use crate::AppState;

/// Set on a request whose route recorded its change itself.
struct Recorded;

/// The signed-in user behind a request, set by the role extractors for the audit trail.
#[derive(Clone)]
pub(crate) struct Who(pub Actor);

pub async fn record(state: &AppState, req: &HttpRequest, change: Change) {
    let Some(Who(actor)) = req.extensions().get::<Who>().cloned() else {
        tracing::error!(action = %change.action, "a change without a signed-in user to record it by");
        return;
    };
    req.extensions_mut().insert(Recorded);
    if let Err(e) = state.hub.store().record_change(&actor, change).await {
        // The change is made; the trail missing it is logged loudly rather than the change undone.
        tracing::error!(error = %e, "an audit entry was not written");
    }
}

/// A change the route did not describe: recorded by its route and the object's id in the path.
pub async fn record_unrecorded<B>(res: &ServiceResponse<B>) {
    let req = res.request();
    let writes = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    let path = req.path();
    let watched = path.starts_with("/api/admin/") || path.starts_with("/api/supervisor/");
    if !writes || !watched || !res.status().is_success() || req.extensions().get::<Recorded>().is_some() {
        return;
    }
    let (Some(Who(actor)), Some(state)) = (
        req.extensions().get::<Who>().cloned(),
        req.app_data::<Data<AppState>>().cloned(),
    ) else {
        return;
    };
    let pattern = req.match_pattern().unwrap_or_else(|| path.to_string());
    let segments: Vec<&str> = path.trim_start_matches("/api/").split('/').collect();
    let object_id = segments.iter().find_map(|s| s.parse::<i64>().ok());
    let object_kind = segments
        .iter()
        .skip(1)
        .find(|s| s.parse::<i64>().is_err())
        .map_or("api", |s| kind_of(s));
    let action = action_of(req.method().as_str(), &pattern)
        .map_or_else(|| format!("{} {}", req.method(), pattern), str::to_string);
    let change = Change {
        action,
        object_kind,
        object_id,
        before: None,
        after: None,
    };
    if let Err(e) = state.hub.store().record_change(&actor, change).await {
        tracing::error!(error = %e, "an audit entry was not written");
    }
}

/// The name a page words for a change made through a route that records nothing itself.
fn action_of(method: &str, pattern: &str) -> Option<&'static str> {
    Some(match (method, pattern) {
        ("POST", "/api/admin/telegram/bots") => "telegram_bot.create",
        ("PATCH", "/api/admin/telegram/bots/{id}") => "telegram_bot.edit",
        ("POST", "/api/admin/mailboxes") => "mailbox.create",
        ("PATCH", "/api/admin/mailboxes/{id}") => "mailbox.edit",
        ("POST", "/api/admin/mailboxes/{id}/confirmation") => "mailbox.confirmation",
        ("PUT", "/api/admin/sip/accounts/{user_id}") => "phone_account.set",
        ("DELETE", "/api/admin/sip/accounts/{user_id}") => "phone_account.remove",
        ("POST", "/api/admin/sip/numbers") => "phone_number.create",
        ("POST", "/api/admin/sip/trunks") => "trunk.create",
        ("DELETE", "/api/admin/sip/trunks/{id}") => "trunk.remove",
        ("PUT", "/api/admin/sip/vip") => "vip_caller.set",
        ("DELETE", "/api/admin/sip/vip/{number}") => "vip_caller.remove",
        ("PATCH", "/api/admin/boards/{id}/voice") => "device.voice",
        _ => return None,
    })
}

/// The object a path segment names, as a fixed word (never text from the request).
fn kind_of(segment: &str) -> &'static str {
    match segment {
        "branches" => "branch",
        "services" => "service",
        "windows" => "window",
        "users" => "user",
        "devices" | "boards" => "device",
        "chat-queues" => "chat_queue",
        "telegram" => "telegram_bot",
        "mailboxes" => "mailbox",
        "sip" => "sip",
        "tickets" => "ticket",
        "operators" => "operator",
        "break-reasons" => "break_reasons",
        "canned" => "canned",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::kind_of;

    #[test]
    fn path_words_map_to_fixed_kinds() {
        assert_eq!(kind_of("branches"), "branch");
        assert_eq!(kind_of("boards"), "device");
        assert_eq!(kind_of("<script>"), "other");
    }
}
