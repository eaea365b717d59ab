//! A form's field that is wrong, named so the page can say what is wrong beside it, in the
//! reader's language: the field, a stable reason and the values its sentence needs.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {}", sentence(.reason, .args))]
pub struct FieldError {
    pub field: &'static str,
    pub reason: &'static str,
    pub args: Value,
}

impl FieldError {
    pub fn new(field: &'static str, reason: &'static str, args: Value) -> Self {
        Self { field, reason, args }
    }
}

/// The longest name a person gives a thing (a branch, a service, a user, a device).
pub const NAME_MAX: usize = 100;

/// The longest window label: it is shown large on the board beside each call.
pub const WINDOW_LABEL_MAX: usize = 16;

/// A line of text from a form: required or not, at most `max` characters, no control characters
/// (they would break a board's layout, a log line or a SIP header).
pub fn text(field: &'static str, value: &str, max: usize, required: bool) -> Result<(), FieldError> {
    if required && value.trim().is_empty() {
        return Err(FieldError::new(field, "required", Value::Null));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, "too_long", serde_json::json!({ "max": max })));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, "control_chars", Value::Null));
    }
    Ok(())
}

/// The name a person gives a thing: required, one line, at most [`NAME_MAX`] characters.
pub fn name(field: &'static str, value: &str) -> Result<(), FieldError> {
    text(field, value, NAME_MAX, true)
}

/// The English sentence, for logs and API clients that show `message`; pages word the reason.
fn sentence(reason: &str, args: &Value) -> String {
    let n = |k: &str| args.get(k).map(|v| v.to_string()).unwrap_or_default();
    let s = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match reason {
        "required" => "required".into(),
        "range" => format!("must be from {} to {}", n("min"), n("max")),
        "too_long" => format!("at most {} characters", n("max")),
        "control_chars" => "must not contain control characters".into(),
        "colour" => "a colour as #rrggbb".into(),
        "image" => format!("an image ({})", args.get("types").and_then(Value::as_str).unwrap_or("")),
        "too_big" => format!("at most {} KB", n("max_kb")),
        "prefix_form" => "one to three Latin capital letters".into(),
        "prefix_taken" => format!(
            "prefix {} is used by another service of this branch",
            args.get("prefix").and_then(Value::as_str).unwrap_or("")
        ),
        "no_parent" => "that group is not on this branch's menu".into(),
        "parent_is_service" => "a service can only sit in a group (a service without a prefix)".into(),
        "too_deep" => "menus have two levels; a group cannot sit in a group".into(),
        "label_taken" => format!(
            "this branch has window {} already",
            args.get("label").and_then(Value::as_str).unwrap_or("")
        ),
        "pairing_code" => "not a code shown on a screen now (mistyped or expired)".into(),
        "hours_form" => format!(
            "hours {} must look like 09:00-18:00, opening before closing",
            args.get("hours").and_then(Value::as_str).unwrap_or("")
        ),
        "weekday" => format!(
            "{:?} is not a weekday: use mon, tue, wed, thu, fri, sat or sun",
            s("day")
        ),
        "date_form" => format!("{} is not a date like 2027-01-01", s("date")),
        "date_twice" => format!("{} is listed twice", s("date")),
        "too_many" => format!("at most {} entries", n("max")),
        "timezone" => format!("unknown time zone {}", s("zone")),
        "lang" => "ru or en".into(),
        "vip_code_length" => format!("{} to {} characters", n("min"), n("max")),
        "login_taken" => "this login is taken".into(),
        "login_form" => format!(
            "{} to {} characters: Latin letters, digits, . _ - @",
            n("min"),
            n("max")
        ),
        "group_not_empty" => "the group still holds services; take them off first".into(),
        "service_in_use" => format!("{} visitors wait for it or are being served", n("count")),
        "menu_order" => "the order must list each entry of the group once".into(),
        "visit_order" => "the order must list each of the engineer's stops once (the list changed: reload)".into(),
        "window_in_use" => format!("{} works at this window now", s("operator")),
        "shortcut_taken" => format!("the shortcut /{} is taken", s("shortcut")),
        "no_service" => "choose at least one service to serve".into(),
        "menu_group" => "this is a menu group; choose a service inside it".into(),
        "same_card" => "these are already one card".into(),
        "attachment_gone" => "an attachment is unknown, not yours or already sent".into(),
        "transfer_to_self" => "this conversation is already yours; choose another operator or a queue".into(),
        "transfer_target" => "transfer to one operator or one queue".into(),
        "unsent_files" => format!(
            "{} files are waiting to be sent already; send or drop them first",
            n("max")
        ),
        "duplicate" => format!("{} is listed twice", n("value")),
        "one_of" => format!("one of: {}", s("values")),
        "bot_token" => "not a bot token (123456789:AA…, from @BotFather)".into(),
        "webhook_secret_form" => "1 to 256 of A-Z, a-z, 0-9, _ and -".into(),
        "email_form" => format!("{} is not an e-mail address", s("address")),
        "imap_url_form" => "imaps://user:password@host:993 (or imap:// on a trusted network)".into(),
        "smtp_url_form" => "smtp://host:port or smtps://user:password@host:465".into(),
        "internal_address" => "an internal address the hub may not reach (the installation's egress_allow)".into(),
        "nothing_to_change" => format!("nothing to change: send {}", s("fields")),
        "sip_name_form" => "1 to 32 letters, digits or + - _ . (it goes into SIP URIs)".into(),
        "voicemail_key" => "key 0 is kept for voicemail".into(),
        "choice_key" => format!("{}: one key, 1-9, * or #", s("key")),
        "host_form" => "a host name or IPv4 address, optionally :port".into(),
        "domain_port" => "a host name, without a port".into(),
        "count_range" => format!("{} to {} of them", n("min"), n("max")),
        "phone_number" => format!("{} is not a phone number", s("number")),
        "widget_key_form" => "1 to 64 letters, digits, - or _".into(),
        "steps_widening" => {
            "widening steps must start at 0 s, grow in time (up to a day) and never ask for more proficiency later"
                .into()
        }
        "name_prefix" => format!("names of this organisation begin with {}-", s("prefix")),
        "others_prefix" => format!("names beginning with {}- belong to another organisation", s("prefix")),
        "number_not_assigned" => "this number is not assigned to the organisation (the installation's owner assigns numbers)".into(),
        "domain_not_assigned" => "this address's domain is assigned to another organisation".into(),
        "address_to_confirm" => "the domain is not assigned to the organisation: give the mailbox's IMAP address so the hub can confirm it with a code, or ask the installation's owner to assign the domain".into(),
        "prefix_name_form" => format!("{} to {} lower-case Latin letters or digits", n("min"), n("max")),
        "board_only" => "only a board follows a board template".into(),
        "template_name_taken" => format!("the organisation has a template named {} already", s("name")),
        "phrase_placeholder" => format!(
            "unknown placeholder {{{}}}: a board's phrase uses {{ticket}} and {{window}}",
            s("name")
        ),
        "phrase_form" => "write the phrase with {ticket} and {window} in braces, e.g. Ticket {ticket}, window {window}".into(),
        "region_cycle" => "a region cannot sit inside itself or its own sub-region".into(),
        "region_depth" => format!("regions go {} levels deep at most", n("max")),
        "region_not_empty" => format!(
            "{} sub-regions and {} branches are filed in it; move them first",
            n("regions"),
            n("branches")
        ),
        "coordinate" => format!("a coordinate from {} to {}", n("min"), n("max")),
        "geojson" => format!("not a GeoJSON polygon ({})", s("why")),
        "group_unknown" => format!("no support group {}", n("id")),
        "grade_twice" => format!("a rule has one group per grade; grade {} is listed twice", n("grade")),
        "top_of_line" => "the request is at the top of its line already".into(),
        "moved_meanwhile" => "the request moved meanwhile; look again".into(),
        "request_closed" => "the request is closed".into(),
        "thread_taken" => "this conversation belongs to a request already".into(),
        "assign_others" => "an operator takes a request for themselves; a supervisor gives it to others".into(),
        "not_an_approver" => format!("no move to {} awaits your approval", s("status")),
        "url_scheme" => "the address begins with https:// (or http://)".into(),
        "url_credentials" => "the address may not carry a user name or password".into(),
        "url_invalid" => "not a web address".into(),
        "notice_required" => "write what the customer is told".into(),
        "notice_placeholder" => format!(
            "unknown placeholder {{{}}}: a notice uses {{id}}, {{subject}} and {{status}}",
            s("name")
        ),
        "activity_taken" => format!("there is an activity named {} already", s("name")),
        "webhook_unknown" => format!("no webhook {}", n("id")),
        "status_key" => format!("a status key is 1 to {} lower-case Latin letters, digits or _", n("max")),
        "status_twice" => format!("status {} is listed twice", s("key")),
        "status_unknown" => format!("no status {}", s("key")),
        "move_twice" => format!("the move from {} to {} is listed twice or goes nowhere", s("from"), s("to")),
        "no_closed_status" => "a workflow needs a closed status to end in".into(),
        "status_unreachable" => format!("no move leads to status {}", s("key")),
        "status_dead_end" => format!("a request in status {} could never be closed", s("key")),
        "field_unknown" => format!("the request's type has no field {}", s("field")),
        "field_value" => format!("field {} takes text, a number, yes/no or nothing", s("field")),
        "period" => "the period must end after it begins".into(),
        "not_assignee" => "only the engineer the request is assigned to (or a supervisor) answers its customer".into(),
        "reply_move" => format!(
            "a customer's message cannot move a request from {} there (not to itself, not out of closed)",
            s("key")
        ),
        "not_yourself" => "not for your own account".into(),
        "not_found" => "not found".into(),
        "number" => "a number".into(),
        "visit_unassigned" => "assign the request to an engineer first".into(),
        "visit_no_site" => "the request's site has no coordinates (or it has no site)".into(),
        "visit_no_vehicle" => "the engineer drives no vehicle (set a vehicle's driver in the back office)".into(),
        "device_id" => format!("1 to {} Latin letters, digits or - _ . : (an IMEI is 15 digits)", n("max")),
        "device_taken" => "a tracker with this id is registered already".into(),
        "vehicle_unknown" => format!("no vehicle {}", n("id")),
        "password_length" => format!("{} to {} characters", n("min"), n("max")),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_one_line_of_text() {
        assert_eq!(name("name", " ").unwrap_err().reason, "required");
        assert_eq!(name("name", &"я".repeat(NAME_MAX)), Ok(()));
        assert_eq!(name("name", &"я".repeat(NAME_MAX + 1)).unwrap_err().reason, "too_long");
        assert_eq!(name("name", "Окно\n1").unwrap_err().reason, "control_chars");
        assert_eq!(text("note", "", 10, false), Ok(()));
    }

    #[test]
    fn says_the_field_and_why() {
        let e = FieldError::new("rows", "range", serde_json::json!({"min": 1, "max": 20}));
        assert_eq!(e.to_string(), "rows: must be from 1 to 20");
    }
}
