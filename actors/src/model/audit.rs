//! What an audit entry keeps of an object: everything but its secrets, and images only by size.

use serde_json::Value;

/// Keys whose values never enter the log (a password, a device's secret, a bot's token…).
const SECRET_WORDS: [&str; 5] = ["password", "secret", "token", "api_key", "hash"];

/// Blanks secrets and shortens inline images, at any depth.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let key = k.to_ascii_lowercase();
                if SECRET_WORDS.iter().any(|w| key.contains(w)) && !v.is_null() {
                    *v = Value::String("•••".into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(s) if s.starts_with("data:") && s.len() > 200 => {
            let kind = s[5..].split(';').next().unwrap_or("").to_string();
            *s = format!("[{kind}, {} KB]", s.len() * 3 / 4 / 1024);
        }
        _ => {}
    }
}

/// An audit action's name: `<object>.<verb>`, both plain lower-case words.
pub fn action_name(object: &str, verb: &str) -> String {
    format!("{object}.{verb}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_blanked_at_any_depth_and_images_shortened() {
        let mut v = json!({
            "login": "kiosk9", "secret": "abc", "bot": {"token": "123:AA", "name": "Bot"},
            "users": [{"password": "x", "password_hash": "$argon"}], "webhook_secret": null,
            "logo": format!("data:image/png;base64,{}", "A".repeat(4096)), "banner": "data: short"
        });
        redact(&mut v);
        assert_eq!(v["login"], "kiosk9");
        assert_eq!(v["secret"], "•••");
        assert_eq!(v["bot"]["token"], "•••");
        assert_eq!(v["bot"]["name"], "Bot");
        assert_eq!(v["users"][0]["password"], "•••");
        assert_eq!(v["users"][0]["password_hash"], "•••");
        assert!(v["webhook_secret"].is_null(), "nothing to hide stays nothing");
        assert_eq!(v["logo"], "[image/png, 3 KB]");
        assert_eq!(v["banner"], "data: short");
    }
}
