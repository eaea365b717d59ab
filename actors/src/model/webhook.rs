//! Webhooks: what a request's history tells an organisation's own systems, signed so the
//! receiver knows it came from the hub, and tried again on failure on a fixed schedule. The
//! endpoints are the organisation's (`webhooks`); a delivery is enqueued in the transaction of the
//! change it reports, so none is lost, and sent by whichever node claims it.

use ring::hmac;
use serde_json::{json, Value};

use super::field::FieldError;

/// The events an endpoint can subscribe to.
pub const EVENTS: [&str; 3] = ["request.created", "request.moved", "request.alarm"];

/// The event a line of a request's history is, if any: its first status is its creation, a later
/// one a move through its workflow; an alarm is a warning, breach or escalation of a clock.
pub fn event_of(kind: &str, data: &Value) -> Option<&'static str> {
    match kind {
        "status" if data.get("from").is_some() => Some("request.moved"),
        "status" => Some("request.created"),
        "alarm" => Some("request.alarm"),
        _ => None,
    }
}

/// How long after the n-th failed attempt the next is made; none after the last: the delivery
/// has failed and waits for an admin to send it again.
pub fn retry_after_secs(failed_attempts: i64) -> Option<i64> {
    const SCHEDULE: [i64; 6] = [10, 60, 300, 1_800, 7_200, 21_600];
    usize::try_from(failed_attempts - 1)
        .ok()
        .and_then(|i| SCHEDULE.get(i).copied())
}

/// The signature header's value: `sha256=` and the hex HMAC-SHA256, under the endpoint's secret,
/// of the timestamp (seconds, as sent in `X-Hub-Timestamp`), a dot and the body. A receiver
/// computes the same and refuses an old timestamp, so a captured delivery cannot be replayed.
pub fn signature(secret: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp_secs.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", hex::encode(ctx.sign().as_ref()))
}

/// An endpoint's address, checked: `http` or `https`, a host, no credentials, no spaces, at
/// most 2,000 characters. Answers the host and port, for the egress rule's check.
pub fn endpoint(url: &str) -> Result<(String, u16), FieldError> {
    let bad = |reason: &'static str| FieldError::new("url", reason, Value::Null);
    if url.len() > 2000 {
        return Err(FieldError::new("url", "too_long", json!({ "max": 2000 })));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("url_invalid"));
    }
    let (rest, default_port) = if let Some(r) = url.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, 80)
    } else {
        return Err(bad("url_scheme"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(bad("url_credentials"));
    }
    // "[::1]:8080", "host:8080", "host"
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| bad("url_invalid"))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("url_invalid"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("url_invalid"))?,
        None => default_port,
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// The events as kept: each known, each once, at least one.
pub fn events(list: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for e in list {
        if !EVENTS.contains(&e.as_str()) {
            return Err(FieldError::new(
                "events",
                "one_of",
                json!({ "values": EVENTS.join(", ") }),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    if out.is_empty() {
        return Err(FieldError::new("events", "required", Value::Null));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_from_history() {
        assert_eq!(event_of("status", &json!({"status": "new"})), Some("request.created"));
        assert_eq!(
            event_of("status", &json!({"status": "work", "from": "new"})),
            Some("request.moved")
        );
        assert_eq!(event_of("alarm", &json!({})), Some("request.alarm"));
        assert_eq!(event_of("comment", &json!({})), None);
    }

    #[test]
    fn retries_back_off_then_stop() {
        let waits: Vec<_> = (1..=8).map(retry_after_secs).collect();
        assert_eq!(
            waits,
            [
                Some(10),
                Some(60),
                Some(300),
                Some(1800),
                Some(7200),
                Some(21600),
                None,
                None
            ]
        );
        assert_eq!(retry_after_secs(0), None);
    }

    #[test]
    fn signature_is_rfc_4231_hmac_over_timestamp_and_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?", here split as
        // a "timestamp" and the rest around the dot the scheme adds.
        assert_eq!(
            signature("Jefe", 0, b"what do ya want for nothing?").len(),
            "sha256=".len() + 64
        );
        let whole = {
            let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
            hex::encode(hmac::sign(&key, b"what do ya want for nothing?").as_ref())
        };
        assert_eq!(
            whole,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"s3cret");
        let expected = hex::encode(hmac::sign(&key, b"1700000000.{\"a\":1}").as_ref());
        assert_eq!(
            signature("s3cret", 1_700_000_000, b"{\"a\":1}"),
            format!("sha256={expected}")
        );
        assert_ne!(
            signature("s3cret", 1_700_000_001, b"{\"a\":1}"),
            signature("s3cret", 1_700_000_000, b"{\"a\":1}")
        );
    }

    #[test]
    fn endpoints_are_checked() {
        assert_eq!(
            endpoint("https://hooks.example.com/desk?x=1").unwrap(),
            ("hooks.example.com".into(), 443)
        );
        assert_eq!(
            endpoint("http://Example.com:8080").unwrap(),
            ("example.com".into(), 8080)
        );
        assert_eq!(endpoint("http://[::1]:9000/x").unwrap(), ("::1".into(), 9000));
        assert_eq!(
            endpoint("http://169.254.169.254/latest").unwrap(),
            ("169.254.169.254".into(), 80)
        );
        for (url, reason) in [
            ("ftp://example.com", "url_scheme"),
            ("example.com", "url_scheme"),
            ("https://user:pw@example.com", "url_credentials"),
            ("https://exa mple.com", "url_invalid"),
            ("https://", "url_invalid"),
            ("https://example.com:0", "url_invalid"),
            ("https://example.com:99999", "url_invalid"),
            ("http://[::1", "url_invalid"),
        ] {
            assert_eq!(endpoint(url).unwrap_err().reason, reason, "{url}");
        }
        assert_eq!(
            endpoint(&format!("https://e.com/{}", "a".repeat(2000)))
                .unwrap_err()
                .reason,
            "too_long"
        );
    }

    #[test]
    fn event_lists_are_checked() {
        assert_eq!(
            events(&["request.moved".into(), "request.moved".into()]).unwrap(),
            ["request.moved"]
        );
        assert_eq!(events(&[]).unwrap_err().reason, "required");
        assert_eq!(events(&["ticket.called".into()]).unwrap_err().reason, "one_of");
    }
}
