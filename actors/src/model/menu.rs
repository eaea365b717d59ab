//! A branch's service menu: two levels. A group (no prefix) holds services; a service (with a
//! ticket prefix) issues tickets and sits at the top or inside a group. Prefixes are unique in
//! the branch, so a number on the board names one service.

use super::numbering::valid_prefix;

/// What the rule needs to know of an existing menu entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub prefix: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MenuError {
    #[error("ticket prefix {0:?} must be one to three Latin capital letters")]
    Prefix(String),
    #[error("prefix {0} is already used in this branch")]
    PrefixTaken(String),
    #[error("the parent is not on this branch's menu")]
    NoParent,
    #[error("the parent must be a menu group (a service without a prefix)")]
    ParentIsService,
    #[error("menus have two levels; a group cannot sit inside a group")]
    TooDeep,
    #[error("the group still holds services; take them off first")]
    GroupNotEmpty,
    #[error("{0} visitors wait for this service or are being served; take it off when they are done")]
    InUse(i64),
    #[error("the new order must list each entry of the group once")]
    Order,
}

impl MenuError {
    /// The form's field this is about, and why, for the page to say beside it.
    pub fn field_error(&self) -> super::field::FieldError {
        use super::field::FieldError;
        use serde_json::{json, Value};
        match self {
            Self::Prefix(_) => FieldError::new("prefix", "prefix_form", Value::Null),
            Self::PrefixTaken(p) => FieldError::new("prefix", "prefix_taken", json!({ "prefix": p })),
            Self::NoParent => FieldError::new("parent_id", "no_parent", Value::Null),
            Self::ParentIsService => FieldError::new("parent_id", "parent_is_service", Value::Null),
            Self::TooDeep => FieldError::new("parent_id", "too_deep", Value::Null),
            Self::GroupNotEmpty => FieldError::new("service", "group_not_empty", Value::Null),
            Self::InUse(n) => FieldError::new("service", "service_in_use", json!({ "count": n })),
            Self::Order => FieldError::new("ids", "menu_order", Value::Null),
        }
    }
}

/// Whether a new entry with this parent and prefix may join `menu`.
pub fn check_new(menu: &[Entry<'_>], parent_id: Option<i64>, prefix: Option<&str>) -> Result<(), MenuError> {
    if let Some(p) = prefix {
        if !valid_prefix(p) {
            return Err(MenuError::Prefix(p.to_string()));
        }
        if menu.iter().any(|e| e.prefix == Some(p)) {
            return Err(MenuError::PrefixTaken(p.to_string()));
        }
    }
    if let Some(parent) = parent_id {
        let parent = menu.iter().find(|e| e.id == parent).ok_or(MenuError::NoParent)?;
        if parent.prefix.is_some() {
            return Err(MenuError::ParentIsService);
        }
        // A group's parent must be the top; and a group inside a group would make three levels.
        if parent.parent_id.is_some() || prefix.is_none() {
            return Err(MenuError::TooDeep);
        }
    }
    Ok(())
}

/// Whether an entry may be taken off the menu: a group once it is empty, a service once nobody
/// waits for it or is at a window with it (`live` tickets), so no visitor is stranded.
pub fn check_remove(menu: &[Entry<'_>], id: i64, live: i64) -> Result<(), MenuError> {
    let entry = menu.iter().find(|e| e.id == id).ok_or(MenuError::NoParent)?;
    if entry.prefix.is_none() && menu.iter().any(|e| e.parent_id == Some(id)) {
        return Err(MenuError::GroupNotEmpty);
    }
    if live > 0 {
        return Err(MenuError::InUse(live));
    }
    Ok(())
}

/// Whether `order` lists exactly the entries under `parent` (None: the top), each once.
pub fn check_order(menu: &[Entry<'_>], parent: Option<i64>, order: &[i64]) -> Result<(), MenuError> {
    let mut want: Vec<i64> = menu.iter().filter(|e| e.parent_id == parent).map(|e| e.id).collect();
    let mut got = order.to_vec();
    want.sort_unstable();
    got.sort_unstable();
    if want == got {
        Ok(())
    } else {
        Err(MenuError::Order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> Vec<Entry<'static>> {
        vec![
            Entry {
                id: 1,
                parent_id: None,
                prefix: None,
            },
            Entry {
                id: 2,
                parent_id: Some(1),
                prefix: Some("A"),
            },
            Entry {
                id: 3,
                parent_id: None,
                prefix: Some("C"),
            },
        ]
    }

    #[test]
    fn services_go_at_the_top_or_in_a_group() {
        assert_eq!(check_new(&menu(), None, Some("B")), Ok(()));
        assert_eq!(check_new(&menu(), Some(1), Some("B")), Ok(()));
        assert_eq!(check_new(&menu(), None, None), Ok(()), "a new top-level group");
    }

    #[test]
    fn two_levels_only() {
        assert_eq!(check_new(&menu(), Some(1), None), Err(MenuError::TooDeep));
        assert_eq!(check_new(&menu(), Some(3), Some("B")), Err(MenuError::ParentIsService));
        assert_eq!(check_new(&menu(), Some(9), Some("B")), Err(MenuError::NoParent));
    }

    #[test]
    fn nothing_is_removed_from_under_a_visitor() {
        assert_eq!(check_remove(&menu(), 1, 0), Err(MenuError::GroupNotEmpty));
        assert_eq!(check_remove(&menu(), 2, 3), Err(MenuError::InUse(3)));
        assert_eq!(check_remove(&menu(), 2, 0), Ok(()));
        assert_eq!(check_remove(&menu(), 3, 0), Ok(()));
    }

    #[test]
    fn an_order_lists_the_whole_group() {
        assert_eq!(check_order(&menu(), None, &[3, 1]), Ok(()));
        assert_eq!(check_order(&menu(), None, &[3]), Err(MenuError::Order));
        assert_eq!(check_order(&menu(), None, &[3, 1, 2]), Err(MenuError::Order));
        assert_eq!(check_order(&menu(), Some(1), &[2]), Ok(()));
    }

    #[test]
    fn prefixes_are_valid_and_unique() {
        assert_eq!(
            check_new(&menu(), None, Some("A")),
            Err(MenuError::PrefixTaken("A".into()))
        );
        assert_eq!(
            check_new(&menu(), None, Some("a1")),
            Err(MenuError::Prefix("a1".into()))
        );
    }
}
