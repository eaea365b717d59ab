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

/// One change to what a board shows, as its screens are told it once they have the snapshot:
/// a few dozen bytes instead of the whole list. The rule that decides a change is here; a screen
/// only carries it out ([`BoardState::apply`], and the page's copy of it), so the two cannot
/// disagree on what a status means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BoardChange {
    /// A call or recall: the ticket goes to the top (once), the oldest row falls off past the
    /// board's size, and the call is announced.
    Call { call: BoardCall },
    /// The ticket's row shows a new status (being served, served).
    Status { ticket_id: i64, status: TicketStatus },
    /// The ticket leaves the board (back in a queue, a no-show).
    Leave { ticket_id: i64 },
}

impl BoardState {
    pub fn new(size: usize) -> Self {
        Self {
            calls: VecDeque::with_capacity(size),
            size: size.max(1),
        }
    }

    /// Carries out a change as a screen does.
    pub fn apply(&mut self, change: &BoardChange) {
        match change {
            BoardChange::Call { call } => {
                self.calls.retain(|c| c.ticket_id != call.ticket_id);
                self.calls.push_front(call.clone());
                self.calls.truncate(self.size);
            }
            BoardChange::Status { ticket_id, status } => {
                if let Some(c) = self.calls.iter_mut().find(|c| c.ticket_id == *ticket_id) {
                    c.status = *status;
                }
            }
            BoardChange::Leave { ticket_id } => self.calls.retain(|c| c.ticket_id != *ticket_id),
        }
    }

    /// Records a call or recall. A recalled ticket moves back to the top (it is the newest call)
    /// instead of appearing twice.
    pub fn apply_call(&mut self, call: BoardCall) -> BoardChange {
        let change = BoardChange::Call { call };
        self.apply(&change);
        change
    }

    /// A ticket on the board changed: served or being served stays (marked so); back in a queue
    /// (transferred, returned) or a no-show leaves. Answers the change, if the board changed.
    pub fn apply_status(&mut self, ticket_id: i64, status: TicketStatus) -> Option<BoardChange> {
        let shown = self.calls.iter().find(|c| c.ticket_id == ticket_id)?;
        let change = match status {
            TicketStatus::Waiting | TicketStatus::NoShow => BoardChange::Leave { ticket_id },
            _ if shown.status == status => return None,
            _ => BoardChange::Status { ticket_id, status },
        };
        self.apply(&change);
        Some(change)
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
        assert_eq!(
            b.apply_status(1, TicketStatus::Serving),
            Some(BoardChange::Status {
                ticket_id: 1,
                status: TicketStatus::Serving
            })
        );
        assert_eq!(b.apply_status(1, TicketStatus::Serving), None, "no change, no push");
        assert!(b.apply_status(1, TicketStatus::Done).is_some());
        assert_eq!(b.calls[1].status, TicketStatus::Done);
        assert_eq!(
            b.apply_status(2, TicketStatus::Waiting),
            Some(BoardChange::Leave { ticket_id: 2 }),
            "transferred: back in a queue"
        );
        assert_eq!(b.apply_status(9, TicketStatus::Done), None, "not on the board");
        assert_eq!(b.apply_status(9, TicketStatus::Waiting), None, "not on the board");
        assert!(b.apply_status(1, TicketStatus::NoShow).is_some());
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

    /// A screen that took the snapshot at any moment and then carried out each change shows
    /// exactly what the board holds, after every change; and a change says something (no change
    /// is sent that changes nothing). Random calls, recalls and statuses on small boards.
    #[test]
    fn a_screen_following_the_changes_shows_the_board() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        const STATUSES: [TicketStatus; 5] = [
            TicketStatus::Called,
            TicketStatus::Serving,
            TicketStatus::Done,
            TicketStatus::Waiting,
            TicketStatus::NoShow,
        ];
        for case in 0..2_000 {
            let mut board = BoardState::new(1 + next(6) as usize);
            let joins = next(40);
            let mut screen: Option<BoardState> = None;
            for step in 0..40 {
                if step == joins {
                    screen = Some(board.clone());
                }
                let before = board.clone();
                let ticket = 1 + next(10) as i64;
                let change = if next(3) == 0 {
                    Some(board.apply_call(call(ticket, step as Millis)))
                } else {
                    board.apply_status(ticket, STATUSES[next(5) as usize])
                };
                match (&change, &mut screen) {
                    (Some(c), Some(s)) => s.apply(c),
                    (None, _) => assert_eq!(board, before, "case {case}: a change nobody is told"),
                    _ => {}
                }
                if let Some(c) = &change {
                    assert_ne!(board, before, "case {case}: {c:?} changed nothing");
                }
                if let Some(s) = &screen {
                    assert_eq!(s, &board, "case {case} step {step}");
                }
            }
        }
    }

    #[test]
    fn a_change_reads_as_the_page_expects() {
        let json = |c: &BoardChange| serde_json::to_value(c).unwrap();
        assert_eq!(
            json(&BoardChange::Status {
                ticket_id: 7,
                status: TicketStatus::Serving
            }),
            serde_json::json!({"op": "status", "ticket_id": 7, "status": "serving"})
        );
        assert_eq!(
            json(&BoardChange::Leave { ticket_id: 7 }),
            serde_json::json!({"op": "leave", "ticket_id": 7})
        );
        assert_eq!(json(&BoardChange::Call { call: call(7, 5) })["call"]["number"], "A007");
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
