//! The Bot API calls whose answers the hub reads as raw JSON rather than through teloxide's
//! types: `getUpdates` (each update is kept exactly as Telegram sent it, so a field or kind the
//! library does not know can neither be lost nor stop the bot) and file downloads (`getFile`,
//! then `GET /file/bot<token>/<file_path>` with the path's slashes kept, as the API documents:
//! teloxide sends them as `%2F`).

use std::time::Duration;

use serde_json::Value;
use teloxide::Bot;

/// One update as the API sent it.
#[derive(Debug, Clone)]
pub(super) struct RawUpdate {
    pub id: i64,
    pub json: String,
}

/// Why a call failed, by class (a peer's own words are logged, never shown to users).
#[derive(Debug, thiserror::Error)]
pub(super) enum ApiCallError {
    #[error("rate-limited for {0:?}")]
    RetryAfter(Duration),
    #[error("another program polls this bot's token")]
    Conflict,
    #[error("the Bot API answered something that is not its JSON")]
    Malformed,
    #[error("the Bot API refused ({code})")]
    Refused { code: i64, description: String },
    #[error("the Bot API cannot be reached")]
    Network(String),
    #[error("the file is larger than {0} bytes")]
    TooLarge(usize),
}

fn method_url(bot: &Bot, method: &str) -> Result<url::Url, ApiCallError> {
    let mut url = bot.api_url();
    url.path_segments_mut()
        .map_err(|()| ApiCallError::Network("the Bot API address cannot take a path".into()))?
        .pop_if_empty()
        .push(&format!("bot{}", bot.token()))
        .push(method);
    Ok(url)
}

/// The download address of a file: each segment of `file_path` (`photos/file_3.jpg`) is its
/// own path segment, escaped on its own.
pub(super) fn file_url(base: &url::Url, token: &str, file_path: &str) -> Result<url::Url, ApiCallError> {
    let mut url = base.clone();
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|()| ApiCallError::Network("the Bot API address cannot take a path".into()))?;
        segments.pop_if_empty().push("file").push(&format!("bot{token}"));
        for part in file_path
            .split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        {
            segments.push(part);
        }
    }
    Ok(url)
}

/// Reads the API's envelope: the `result` on `ok`, the class of failure otherwise.
fn envelope(status: u16, body: &[u8]) -> Result<Value, ApiCallError> {
    let Ok(Value::Object(mut v)) = serde_json::from_slice::<Value>(body) else {
        return Err(if status == 200 {
            ApiCallError::Malformed
        } else {
            ApiCallError::Refused {
                code: i64::from(status),
                description: String::new(),
            }
        });
    };
    if v.get("ok").and_then(Value::as_bool) == Some(true) {
        return v.remove("result").ok_or(ApiCallError::Malformed);
    }
    let code = v.get("error_code").and_then(Value::as_i64).unwrap_or(i64::from(status));
    let description = v
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(200)
        .collect::<String>();
    if let Some(secs) = v
        .get("parameters")
        .and_then(|p| p.get("retry_after"))
        .and_then(Value::as_u64)
    {
        return Err(ApiCallError::RetryAfter(Duration::from_secs(secs.clamp(1, 3600))));
    }
    if code == 409 {
        return Err(ApiCallError::Conflict);
    }
    Err(ApiCallError::Refused { code, description })
}

async fn call(bot: &Bot, method: &str, params: &Value, timeout: Duration) -> Result<Value, ApiCallError> {
    let res = bot
        .client()
        .post(method_url(bot, method)?)
        .json(params)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| ApiCallError::Network(e.without_url().to_string()))?;
    let status = res.status().as_u16();
    let body = res
        .bytes()
        .await
        .map_err(|e| ApiCallError::Network(e.without_url().to_string()))?;
    envelope(status, &body)
}

/// One long poll from `offset`. An element without an `update_id` cannot be confirmed or
/// stored and is skipped (logged); every other one is kept as sent.
pub(super) async fn get_updates(
    bot: &Bot,
    offset: i64,
    timeout_secs: u32,
    allowed: &[&str],
) -> Result<Vec<RawUpdate>, ApiCallError> {
    let params = serde_json::json!({ "offset": offset, "timeout": timeout_secs, "allowed_updates": allowed });
    let result = call(
        bot,
        "getUpdates",
        &params,
        Duration::from_secs(u64::from(timeout_secs) + 15),
    )
    .await?;
    let Value::Array(items) = result else {
        return Err(ApiCallError::Malformed);
    };
    Ok(split_updates(items))
}

fn split_updates(items: Vec<Value>) -> Vec<RawUpdate> {
    items
        .into_iter()
        .filter_map(|u| match u.get("update_id").and_then(Value::as_i64) {
            Some(id) => Some(RawUpdate {
                id,
                json: u.to_string(),
            }),
            None => {
                tracing::warn!(update = %u.to_string().chars().take(200).collect::<String>(),
                    "an update without update_id cannot be confirmed; skipped");
                None
            }
        })
        .collect()
}

/// Downloads a file by its id, refusing more than `limit` bytes (declared or received).
pub(super) async fn download(bot: &Bot, file_id: &str, limit: usize) -> Result<Vec<u8>, ApiCallError> {
    let meta = call(
        bot,
        "getFile",
        &serde_json::json!({ "file_id": file_id }),
        Duration::from_secs(30),
    )
    .await?;
    if meta.get("file_size").and_then(Value::as_u64).unwrap_or(0) > limit as u64 {
        return Err(ApiCallError::TooLarge(limit));
    }
    let Some(path) = meta.get("file_path").and_then(Value::as_str) else {
        // Telegram gives no path for files over its own download limit.
        return Err(ApiCallError::TooLarge(limit));
    };
    let mut res = bot
        .client()
        .get(file_url(&bot.api_url(), bot.token(), path)?)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .map_err(|e| ApiCallError::Network(e.without_url().to_string()))?;
    let status = res.status().as_u16();
    if status != 200 {
        return Err(ApiCallError::Refused {
            code: i64::from(status),
            description: String::new(),
        });
    }
    let mut data = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| ApiCallError::Network(e.without_url().to_string()))?
    {
        if data.len() + chunk.len() > limit {
            return Err(ApiCallError::TooLarge(limit));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_keep_their_slashes_and_escape_each_segment() {
        let base: url::Url = "https://api.telegram.org".parse().unwrap_or_else(|e| panic!("{e}"));
        let u = file_url(&base, "1:AA", "photos/file_3.jpg").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.as_str(), "https://api.telegram.org/file/bot1:AA/photos/file_3.jpg");
        let u = file_url(&base, "1:AA", "documents/счёт №5.pdf").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            u.as_str(),
            "https://api.telegram.org/file/bot1:AA/documents/%D1%81%D1%87%D1%91%D1%82%20%E2%84%965.pdf"
        );
        // A path cannot climb out of the bot's file area.
        let u = file_url(&base, "1:AA", "../../bot2:BB/x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.as_str(), "https://api.telegram.org/file/bot1:AA/bot2:BB/x");
        // A local Bot API server under a path prefix.
        let base: url::Url = "http://127.0.0.1:8081/tg/".parse().unwrap_or_else(|e| panic!("{e}"));
        let u = file_url(&base, "1:AA", "voice/file_1.oga").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.as_str(), "http://127.0.0.1:8081/tg/file/bot1:AA/voice/file_1.oga");
    }

    #[test]
    fn the_envelope_says_the_class_of_failure() {
        assert!(matches!(
            envelope(200, br#"{"ok":true,"result":[1]}"#),
            Ok(Value::Array(_))
        ));
        assert!(matches!(
            envelope(200, br#"{"ok":true,"result":[{"update_id":"#),
            Err(ApiCallError::Malformed)
        ));
        assert!(matches!(
            envelope(429, br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#),
            Err(ApiCallError::RetryAfter(d)) if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            envelope(
                409,
                br#"{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request"}"#
            ),
            Err(ApiCallError::Conflict)
        ));
        let e = envelope(
            403,
            br#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
        );
        assert!(matches!(&e, Err(ApiCallError::Refused { code: 403, .. })));
        assert!(matches!(
            envelope(502, b"<html>Bad Gateway</html>"),
            Err(ApiCallError::Refused { code: 502, .. })
        ));
    }

    #[test]
    fn updates_are_kept_whole_and_those_without_an_id_skipped() {
        let items: Vec<Value> = serde_json::from_str(
            r#"[{"update_id":5,"message_reaction":{"x":1},"unknown_top":true},{"no_id":1},{"update_id":6,"message":{}}]"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let got = split_updates(items);
        assert_eq!(got.iter().map(|u| u.id).collect::<Vec<_>>(), vec![5, 6]);
        let back: Value = serde_json::from_str(&got[0].json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back["unknown_top"], Value::Bool(true));
        assert_eq!(back["message_reaction"]["x"], 1);
    }
}
