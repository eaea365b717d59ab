//! Who may do what. Roles are ordered: an admin can do everything a supervisor can, and a
//! supervisor everything an operator can.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "operator" => Self::Operator,
            "supervisor" => Self::Supervisor,
            "admin" => Self::Admin,
            _ => return None,
        })
    }

    pub fn at_least(self, required: Role) -> bool {
        self >= required
    }
}

/// A device's kind decides which pages and endpoints it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Kiosk,
    Board,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kiosk => "kiosk",
            Self::Board => "board",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "kiosk" => Self::Kiosk,
            "board" => Self::Board,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.at_least(Role::Supervisor));
        assert!(Role::Supervisor.at_least(Role::Operator));
        assert!(!Role::Operator.at_least(Role::Supervisor));
        assert!(Role::Operator.at_least(Role::Operator));
    }

    #[test]
    fn names_round_trip() {
        for r in [Role::Operator, Role::Supervisor, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for d in [DeviceKind::Kiosk, DeviceKind::Board] {
            assert_eq!(DeviceKind::parse(d.as_str()), Some(d));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
