//! What an admin may change of a person who works in the organisation, and the rule for each
//! value: one edit, checked whole before anything is written.

use serde_json::json;

use super::field::{self, FieldError};
use super::person::Gender;
use super::role::Role;

/// Chats one operator can hold at once, at most.
pub const MAX_CHAT_CAPACITY: i64 = 50;
/// Mail threads one operator can hold at once, at most.
pub const MAX_MAIL_CAPACITY: i64 = 200;

/// What an admin changes of a user; None leaves a value as it is.
#[derive(Debug, Default, Clone)]
pub struct UserEdit<'a> {
    pub name: Option<&'a str>,
    pub role: Option<Role>,
    pub lang: Option<&'a str>,
    /// Some(None) clears it: pages then use words without gender.
    pub gender: Option<Option<Gender>>,
    pub chat_capacity: Option<i64>,
    pub mail_capacity: Option<i64>,
    /// The branches the user works in; an empty list: every branch of the organisation.
    pub branch_ids: Option<&'a [i64]>,
    /// The windows they may sit at; at a branch where none is listed: any of its windows.
    pub window_ids: Option<&'a [i64]>,
    pub disabled: Option<bool>,
}

impl UserEdit<'_> {
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(name) = self.name {
            field::name("name", name)?;
        }
        if self.lang.is_some_and(|l| !matches!(l, "ru" | "en")) {
            return Err(FieldError::new("lang", "lang", json!({})));
        }
        for (field, value, max) in [
            ("chat_capacity", self.chat_capacity, MAX_CHAT_CAPACITY),
            ("mail_capacity", self.mail_capacity, MAX_MAIL_CAPACITY),
        ] {
            if value.is_some_and(|c| !(0..=max).contains(&c)) {
                return Err(FieldError::new(field, "range", json!({ "min": 0, "max": max })));
            }
        }
        for (field, ids) in [("branch_ids", self.branch_ids), ("window_ids", self.window_ids)] {
            let Some(ids) = ids else { continue };
            if let Some(twice) = ids
                .iter()
                .enumerate()
                .find_map(|(i, id)| ids[..i].contains(id).then_some(id))
            {
                return Err(FieldError::new(field, "duplicate", json!({ "value": twice })));
            }
        }
        Ok(())
    }

    /// Whether the edit signs the user out everywhere: a new role must reach every session,
    /// and a disabled user is out at once.
    pub fn ends_sessions(&self, role_before: Role) -> bool {
        self.disabled == Some(true) || self.role.is_some_and(|r| r != role_before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_check_in_an_empty_edit() {
        assert_eq!(UserEdit::default().validate(), Ok(()));
    }

    #[test]
    fn each_value_is_checked_and_named() {
        let name = |n| {
            UserEdit {
                name: Some(n),
                ..Default::default()
            }
            .validate()
            .map_err(|e| (e.field, e.reason))
        };
        assert_eq!(name(" "), Err(("name", "required")));
        let long = "a".repeat(101);
        assert_eq!(name(&long), Err(("name", "too_long")));
        assert_eq!(name("Анна\tПетрова"), Err(("name", "control_chars")));
        assert_eq!(name("Анна Петрова"), Ok(()));
        let lang = UserEdit {
            lang: Some("de"),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!((lang.field, lang.reason), ("lang", "lang"));
        for (c, ok) in [
            (-1, false),
            (0, true),
            (MAX_CHAT_CAPACITY, true),
            (MAX_CHAT_CAPACITY + 1, false),
        ] {
            let e = UserEdit {
                chat_capacity: Some(c),
                ..Default::default()
            }
            .validate();
            assert_eq!(e.is_ok(), ok, "capacity {c}");
        }
        let twice = UserEdit {
            branch_ids: Some(&[1, 2, 1]),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!((twice.field, twice.reason), ("branch_ids", "duplicate"));
        let mail = UserEdit {
            mail_capacity: Some(MAX_MAIL_CAPACITY + 1),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!((mail.field, mail.reason), ("mail_capacity", "range"));
        let twice = UserEdit {
            window_ids: Some(&[5, 5]),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!((twice.field, twice.reason), ("window_ids", "duplicate"));
    }

    #[test]
    fn a_new_role_or_disabling_signs_out() {
        let same = UserEdit {
            role: Some(Role::Operator),
            ..Default::default()
        };
        assert!(!same.ends_sessions(Role::Operator));
        let up = UserEdit {
            role: Some(Role::Supervisor),
            ..Default::default()
        };
        assert!(up.ends_sessions(Role::Operator));
        let off = UserEdit {
            disabled: Some(true),
            ..Default::default()
        };
        assert!(off.ends_sessions(Role::Operator));
        let on = UserEdit {
            disabled: Some(false),
            name: Some("Анна"),
            ..Default::default()
        };
        assert!(!on.ends_sessions(Role::Operator));
    }
}
