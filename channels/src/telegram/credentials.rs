//! What a bot's credentials must look like, checked when an admin connects a bot.

/// A token from @BotFather: the bot's number, a colon, the secret part.
pub fn valid_token(token: &str) -> bool {
    match token.split_once(':') {
        Some((id, secret)) => {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && (8..=128).contains(&secret.len())
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        None => false,
    }
}

/// Telegram's own rule for a webhook's `secret_token`: 1 to 256 of A-Z, a-z, 0-9, _ and -.
pub fn valid_webhook_secret(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_botfathers() {
        assert!(valid_token("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"));
        assert!(!valid_token("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"));
        assert!(!valid_token("12ab:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"));
        assert!(!valid_token("123:short"));
        assert!(!valid_token("123:has space in it ok"));
    }

    #[test]
    fn webhook_secrets_follow_telegram() {
        assert!(valid_webhook_secret("s3cret-hook_1"));
        assert!(!valid_webhook_secret(""));
        assert!(!valid_webhook_secret("has space"));
        assert!(!valid_webhook_secret(&"a".repeat(257)));
    }
}
