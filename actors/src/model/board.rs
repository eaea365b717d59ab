//! What a queue board shows: the last N calls, newest first, each with its window and where it
//! stands (invited, being served, served), and how the board looks (its template).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use super::field::FieldError;
use super::ticket::TicketStatus;
use super::Millis;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardCall {
    pub ticket_id: i64,
    pub number: String,
    pub window: String,
    pub called_at: Millis,
    /// Called (the visitor is expected at the window), serving, or done: a board shows a live
    /// call apart from one already served.
    pub status: TicketStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardState {
    pub calls: VecDeque<BoardCall>,
    pub size: usize,
}

impl BoardState {
    pub fn new(size: usize) -> Self {
        Self {
            calls: VecDeque::with_capacity(size),
            size: size.max(1),
        }
    }

    /// Records a call or recall. A recalled ticket moves back to the top (it is the newest call)
    /// instead of appearing twice.
    pub fn apply_call(&mut self, call: BoardCall) {
        self.calls.retain(|c| c.ticket_id != call.ticket_id);
        self.calls.push_front(call);
        self.calls.truncate(self.size);
    }

    /// A ticket that was transferred away leaves the board: its window no longer expects it.
    pub fn remove(&mut self, ticket_id: i64) {
        self.calls.retain(|c| c.ticket_id != ticket_id);
    }

    /// A ticket on the board changed: served or being served stays (marked so); back in a queue
    /// (transferred, returned) or a no-show leaves. Answers whether the board changed.
    pub fn apply_status(&mut self, ticket_id: i64, status: TicketStatus) -> bool {
        match status {
            TicketStatus::Waiting | TicketStatus::NoShow => {
                let before = self.calls.len();
                self.remove(ticket_id);
                before != self.calls.len()
            }
            _ => match self.calls.iter_mut().find(|c| c.ticket_id == ticket_id) {
                Some(c) if c.status != status => {
                    c.status = status;
                    true
                }
                _ => false,
            },
        }
    }
}

/// The most rows a board can be set to show; more would be unreadable from across a hall.
pub const MAX_ROWS: u16 = 20;
const MAX_BANNER: usize = 300;
/// A logo is kept inline as a data URL, so the board never fetches an address someone typed.
const MAX_LOGO_BYTES: usize = 96 * 1024;
/// A banner picture (an announcement, the opening hours as designed): wider, so a little more.
const MAX_BANNER_IMAGE_BYTES: usize = 160 * 1024;
const LOGO_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/svg+xml", "image/webp"];

/// How one board looks: the template a branch manager sets in the back office. Unknown fields
/// are refused so a typo is an error, not a setting silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoardLook {
    /// Rows of calls; absent: the branch's board size.
    pub rows: Option<u16>,
    /// Show the Status column (invited / being served / served).
    pub status_column: bool,
    /// A line of text along the bottom (opening hours, a notice); empty for none.
    pub banner: String,
    /// A picture along the bottom, above the banner's text: `data:image/...;base64,...`, at most
    /// 160 KiB; shown whole, scaled to the screen's width and at most a fifth of its height.
    pub banner_image: Option<String>,
    /// `data:image/...;base64,...`, at most 96 KiB.
    pub logo: Option<String>,
    /// `#rrggbb` colours: the page, the rows, the newest call's highlight.
    pub background: String,
    pub row: String,
    pub accent: String,
}

impl Default for BoardLook {
    fn default() -> Self {
        Self {
            rows: None,
            status_column: true,
            banner: String::new(),
            banner_image: None,
            logo: None,
            background: "#04070f".into(),
            row: "#101a33".into(),
            accent: "#ffd400".into(),
        }
    }
}

impl BoardLook {
    /// Every field checked; the first wrong one named, for the form to show beside it.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(r) = self.rows {
            if !(1..=MAX_ROWS).contains(&r) {
                return Err(FieldError::new(
                    "rows",
                    "range",
                    serde_json::json!({"min": 1, "max": MAX_ROWS}),
                ));
            }
        }
        if self.banner.chars().count() > MAX_BANNER {
            return Err(FieldError::new(
                "banner",
                "too_long",
                serde_json::json!({"max": MAX_BANNER}),
            ));
        }
        if self.banner.chars().any(|c| c.is_control()) {
            return Err(FieldError::new("banner", "control_chars", serde_json::Value::Null));
        }
        for (field, value) in [
            ("background", &self.background),
            ("row", &self.row),
            ("accent", &self.accent),
        ] {
            if !is_colour(value) {
                return Err(FieldError::new(field, "colour", serde_json::Value::Null));
            }
        }
        if let Some(logo) = &self.logo {
            check_logo(logo)?;
        }
        if let Some(image) = &self.banner_image {
            check_image("banner_image", image, MAX_BANNER_IMAGE_BYTES)?;
        }
        Ok(())
    }

    /// Rows the board shows: its own setting, else the branch's.
    pub fn rows_or(&self, branch_rows: i64) -> usize {
        self.rows
            .map_or(branch_rows.clamp(1, MAX_ROWS as i64) as usize, usize::from)
    }
}

fn is_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A logo as a device shows it: inline, of an image type, small. Shared by boards and kiosks.
pub fn check_logo(logo: &str) -> Result<(), FieldError> {
    check_image("logo", logo, MAX_LOGO_BYTES)
}

/// A picture a device shows, kept inline (a device never fetches an address someone typed): a
/// data URL of an image type, at most `max_bytes` decoded.
fn check_image(field: &'static str, image: &str, max_bytes: usize) -> Result<(), FieldError> {
    let bad = || FieldError::new(field, "image", serde_json::json!({"types": "PNG, JPEG, SVG, WebP"}));
    let rest = image.strip_prefix("data:").ok_or_else(bad)?;
    let (kind, data) = rest.split_once(";base64,").ok_or_else(bad)?;
    if !LOGO_TYPES.contains(&kind) {
        return Err(bad());
    }
    // The decoded size is about three quarters of the text; check the text first, cheaply.
    if data.len() > max_bytes * 4 / 3 + 4 {
        return Err(FieldError::new(
            field,
            "too_big",
            serde_json::json!({"max_kb": max_bytes / 1024}),
        ));
    }
    if !is_base64(data) {
        return Err(bad());
    }
    Ok(())
}

/// Standard base64 with padding: what a browser's `FileReader.readAsDataURL` writes.
fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len() % 4 == 0
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: i64, at: Millis) -> BoardCall {
        BoardCall {
            ticket_id: id,
            number: format!("A{id:03}"),
            window: "1".into(),
            called_at: at,
            status: TicketStatus::Called,
        }
    }

    #[test]
    fn served_stays_marked_and_transferred_leaves() {
        let mut b = BoardState::new(5);
        b.apply_call(call(1, 1));
        b.apply_call(call(2, 2));
        assert!(b.apply_status(1, TicketStatus::Serving));
        assert!(!b.apply_status(1, TicketStatus::Serving), "no change, no push");
        assert!(b.apply_status(1, TicketStatus::Done));
        assert_eq!(b.calls[1].status, TicketStatus::Done);
        assert!(b.apply_status(2, TicketStatus::Waiting), "transferred: back in a queue");
        assert!(!b.apply_status(9, TicketStatus::Done), "not on the board");
        assert!(b.apply_status(1, TicketStatus::NoShow));
        assert!(b.calls.is_empty());
    }

    #[test]
    fn look_defaults_are_valid_and_fields_are_named() {
        assert_eq!(BoardLook::default().validate(), Ok(()));
        let wrong = |f: &dyn Fn(&mut BoardLook)| {
            let mut l = BoardLook::default();
            f(&mut l);
            l.validate().unwrap_err().field
        };
        assert_eq!(wrong(&|l| l.rows = Some(0)), "rows");
        assert_eq!(wrong(&|l| l.rows = Some(MAX_ROWS + 1)), "rows");
        assert_eq!(wrong(&|l| l.accent = "red".into()), "accent");
        assert_eq!(wrong(&|l| l.background = "#12345g".into()), "background");
        assert_eq!(wrong(&|l| l.banner = "x".repeat(MAX_BANNER + 1)), "banner");
        assert_eq!(wrong(&|l| l.banner = "a\u{7}b".into()), "banner");
        assert_eq!(wrong(&|l| l.logo = Some("https://evil.example/x.png".into())), "logo");
        assert_eq!(wrong(&|l| l.logo = Some("data:text/html;base64,PGI+".into())), "logo");
        assert_eq!(wrong(&|l| l.logo = Some("data:image/png;base64,!!!".into())), "logo");
        let big = format!("data:image/png;base64,{}", "A".repeat(MAX_LOGO_BYTES * 2));
        assert_eq!(wrong(&|l| l.logo = Some(big.clone())), "logo");
        let mut ok = BoardLook::default();
        ok.logo = Some("data:image/svg+xml;base64,PHN2Zy8+".into());
        ok.rows = Some(12);
        ok.banner = "Пн–Пт 9:00–18:00".into();
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(ok.rows_or(8), 12);
        assert_eq!(BoardLook::default().rows_or(8), 8);
    }

    #[test]
    fn look_refuses_unknown_fields() {
        assert!(serde_json::from_str::<BoardLook>(r##"{"colour":"#fff"}"##).is_err());
        let l: BoardLook = serde_json::from_str(r#"{"banner":"hi"}"#).unwrap();
        assert!(l.status_column, "absent fields keep their defaults");
    }

    #[test]
    fn keeps_the_newest_n() {
        let mut b = BoardState::new(2);
        b.apply_call(call(1, 1));
        b.apply_call(call(2, 2));
        b.apply_call(call(3, 3));
        let ids: Vec<i64> = b.calls.iter().map(|c| c.ticket_id).collect();
        assert_eq!(ids, vec![3, 2]);
    }

    #[test]
    fn recall_moves_to_top_without_duplicate() {
        let mut b = BoardState::new(5);
        b.apply_call(call(1, 1));
        b.apply_call(call(2, 2));
        b.apply_call(call(1, 3));
        let ids: Vec<i64> = b.calls.iter().map(|c| c.ticket_id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(b.calls[0].called_at, 3);
    }

    #[test]
    fn removed_ticket_leaves() {
        let mut b = BoardState::new(5);
        b.apply_call(call(1, 1));
        b.remove(1);
        assert!(b.calls.is_empty());
    }

    #[test]
    fn a_banner_image_is_an_inline_picture_of_its_own_size() {
        let look = |image: &str| BoardLook {
            banner_image: Some(image.to_string()),
            ..BoardLook::default()
        };
        assert_eq!(look("data:image/png;base64,iVBORw0KGgo=").validate(), Ok(()));
        let e = look("https://example.org/banner.png").validate().unwrap_err();
        assert_eq!((e.field, e.reason), ("banner_image", "image"));
        let e = look("data:text/html;base64,PGI+").validate().unwrap_err();
        assert_eq!((e.field, e.reason), ("banner_image", "image"));
        // Bigger than a logo may be, within a banner's allowance.
        let big = format!("data:image/jpeg;base64,{}", "A".repeat(120 * 1024 * 4 / 3));
        assert_eq!(look(&big).validate(), Ok(()));
        let e = BoardLook {
            logo: Some(big),
            ..BoardLook::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!((e.field, e.reason), ("logo", "too_big"));
        let huge = format!("data:image/jpeg;base64,{}", "A".repeat(200 * 1024 * 4 / 3));
        let e = look(&huge).validate().unwrap_err();
        assert_eq!(
            (e.field, e.reason, e.args["max_kb"].as_u64()),
            ("banner_image", "too_big", Some(160))
        );
    }
}
