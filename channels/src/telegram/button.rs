//! The data behind the bot's inline buttons (at most 64 bytes, Telegram's limit): what a press
//! asks for. Parsed strictly: a forged or stale press is refused, not guessed at.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    /// Show this branch's services.
    Branch(i64),
    /// Show the services inside a menu group of a branch.
    Group { branch: i64, group: i64 },
    /// Take a ticket for the service.
    Service { branch: i64, service: i64 },
    /// Rate a closed conversation 1 to 5.
    Rate { conversation: i64, score: i64 },
}

impl Button {
    pub fn encode(self) -> String {
        match self {
            Button::Branch(b) => format!("b:{b}"),
            Button::Group { branch, group } => format!("g:{branch}:{group}"),
            Button::Service { branch, service } => format!("s:{branch}:{service}"),
            Button::Rate { conversation, score } => format!("r:{conversation}:{score}"),
        }
    }

    pub fn decode(data: &str) -> Option<Self> {
        let mut parts = data.split(':');
        let kind = parts.next()?;
        let mut num = || parts.next().and_then(|p| p.parse::<i64>().ok()).filter(|n| *n > 0);
        let button = match kind {
            "b" => Button::Branch(num()?),
            "g" => Button::Group {
                branch: num()?,
                group: num()?,
            },
            "s" => Button::Service {
                branch: num()?,
                service: num()?,
            },
            "r" => {
                let (conversation, score) = (num()?, num()?);
                if score > 5 {
                    return None;
                }
                Button::Rate { conversation, score }
            }
            _ => return None,
        };
        // Nothing may follow the last field.
        if parts.next().is_some() {
            return None;
        }
        Some(button)
    }
}

#[cfg(test)]
mod tests {
    use super::Button;

    #[test]
    fn round_trip() {
        for b in [
            Button::Branch(1),
            Button::Group { branch: 1, group: 2 },
            Button::Service { branch: 1, service: 3 },
            Button::Rate {
                conversation: 99,
                score: 5,
            },
        ] {
            assert_eq!(Button::decode(&b.encode()), Some(b));
            assert!(b.encode().len() <= 64);
        }
    }

    #[test]
    fn forged_presses_are_refused() {
        for bad in [
            "",
            "x:1",
            "b:",
            "b:-1",
            "b:1:2",
            "r:1:6",
            "r:1:0",
            "s:1",
            "g:a:b",
            "r:1:5:extra",
        ] {
            assert_eq!(Button::decode(bad), None, "{bad}");
        }
    }
}
