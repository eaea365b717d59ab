//! Who may take a name that is one for the whole installation.
//!
//! Some names are shared by every organisation on a hub: a sign-in login, a device's login, a
//! phone's SIP user name and a chat widget's key (a person signs in, a kiosk starts, a phone
//! registers, a site's script finds its queue, all without saying which organisation), a number
//! callers dial and an address mail arrives at. Taken first come, first served, one tenant could
//! squat another's names, and learn which exist by trying. So the installation's owner (whoever
//! runs `hub` on the server) hands them out, and each organisation can only ever collide with
//! itself:
//!
//! - every organisation but the installation's own has a **name prefix** (`acme`): its logins,
//!   device logins, SIP user names and widget keys are written `acme-…`. The installation's own
//!   organisation (the one without a prefix) takes any name whose first part is no tenant's prefix.
//! - **numbers** and **mail domains** are assigned to organisations (`hub org assign`). A tenant
//!   answers only numbers assigned to it; the installation's own organisation any number not
//!   assigned to another.
//! - a **mailbox address** in a domain assigned to the organisation (or, for the installation's
//!   own, in a domain assigned to nobody) is its own at once; in a domain assigned to another, it
//!   is refused; otherwise it is the organisation's only once confirmed: the hub mails a code to
//!   it and must find that mail again in the mailbox's own IMAP folder.

use serde_json::json;

use super::field::FieldError;

/// Which organisation asks, and under what prefix its names go.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub org_id: i64,
    /// None: the installation's own organisation.
    pub prefix: Option<&'a str>,
}

/// A number or mail domain the owner assigned to an organisation.
#[derive(Debug, Clone, Copy)]
pub struct Assigned<'a> {
    pub org_id: i64,
    /// A domain (`acme.example`), a number (`+74951234567`) or a block of numbers (`+7495123*`).
    pub value: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("names of this organisation begin with \"{0}-\" (the installation's owner set this prefix)")]
    WithoutPrefix(String),
    #[error("names beginning with \"{0}-\" belong to another organisation of this installation")]
    OthersPrefix(String),
    #[error(
        "this number is not assigned to the organisation; the installation's owner assigns numbers (hub org assign)"
    )]
    Number,
    #[error("this address's domain is assigned to another organisation of this installation")]
    Domain,
    #[error("a name prefix is 2 to 20 lower-case Latin letters or digits")]
    BadPrefix,
}

impl NameError {
    /// The refusal as a form's field error, so the page words it in the reader's language.
    pub fn at(self, field: &'static str) -> FieldError {
        let (reason, args) = match self {
            Self::WithoutPrefix(p) => ("name_prefix", json!({ "prefix": p })),
            Self::OthersPrefix(p) => ("others_prefix", json!({ "prefix": p })),
            Self::Number => ("number_not_assigned", json!({})),
            Self::Domain => ("domain_not_assigned", json!({})),
            Self::BadPrefix => ("prefix_name_form", json!({ "min": 2, "max": 20 })),
        };
        FieldError::new(field, reason, args)
    }
}

/// What an organisation's mailbox address is to the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The owner vouched for it: the organisation's at once.
    Vouched,
    /// Nobody vouched: the organisation's once the hub receives its code there.
    ToConfirm,
}

/// The prefix part of a name: what comes before its first `-`.
fn head(name: &str) -> Option<&str> {
    name.split_once('-').map(|(h, _)| h)
}

/// Whether `scope` may take `name` (a login, device login, SIP user name, widget key), given the
/// prefixes of all the installation's organisations. Prefixes are compared without case.
pub fn name<'p>(scope: Scope<'_>, name: &str, prefixes: impl IntoIterator<Item = &'p str>) -> Result<(), NameError> {
    let lower = name.to_ascii_lowercase();
    let first = head(&lower);
    match scope.prefix {
        Some(own) => match first {
            Some(h) if h == own.to_ascii_lowercase() => Ok(()),
            _ => Err(NameError::WithoutPrefix(own.to_ascii_lowercase())),
        },
        None => match first {
            Some(h) if prefixes.into_iter().any(|p| p.eq_ignore_ascii_case(h)) => {
                Err(NameError::OthersPrefix(h.to_string()))
            }
            _ => Ok(()),
        },
    }
}

/// Checks a prefix the owner gives an organisation.
pub fn prefix(p: &str) -> Result<String, NameError> {
    let ok = (2..=20).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(p.to_string())
    } else {
        Err(NameError::BadPrefix)
    }
}

/// Whether an assigned number or block covers `number` (`+7495123*` covers `+74951234567`).
fn covers(assigned: &str, number: &str) -> bool {
    match assigned.strip_suffix('*') {
        Some(block) => number.starts_with(block),
        None => assigned == number,
    }
}

/// Whether `scope` may answer calls to `number`.
pub fn number<'a>(
    scope: Scope<'_>,
    number: &str,
    assigned: impl IntoIterator<Item = Assigned<'a>>,
) -> Result<(), NameError> {
    let (mut ours, mut others) = (false, false);
    for a in assigned.into_iter().filter(|a| covers(a.value, number)) {
        if a.org_id == scope.org_id {
            ours = true;
        } else {
            others = true;
        }
    }
    match (ours, others, scope.prefix) {
        (true, _, _) => Ok(()),
        (false, false, None) => Ok(()),
        _ => Err(NameError::Number),
    }
}

/// The domain of an address, lower-cased.
fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// What a mailbox address of `scope` is: a domain assigned to the organisation vouches for it
/// (and its subdomains), one assigned to another refuses it.
pub fn address<'a>(
    scope: Scope<'_>,
    address: &str,
    assigned: impl IntoIterator<Item = Assigned<'a>>,
) -> Result<Standing, NameError> {
    let domain = domain_of(address);
    let within = |d: &str| {
        let d = d.to_ascii_lowercase();
        domain == d || domain.ends_with(&format!(".{d}"))
    };
    // The most specific assignment decides (a tenant's `support.acme.example` inside the
    // owner's `acme.example`).
    let decider = assigned
        .into_iter()
        .filter(|a| within(a.value))
        .max_by_key(|a| a.value.len());
    match (decider, scope.prefix) {
        (Some(a), _) if a.org_id == scope.org_id => Ok(Standing::Vouched),
        (Some(_), _) => Err(NameError::Domain),
        (None, None) => Ok(Standing::Vouched),
        (None, Some(_)) => Ok(Standing::ToConfirm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: Scope = Scope {
        org_id: 1,
        prefix: None,
    };
    const ACME: Scope = Scope {
        org_id: 2,
        prefix: Some("acme"),
    };
    const PREFIXES: [&str; 2] = ["acme", "beta"];

    #[test]
    fn a_tenant_takes_only_names_under_its_prefix() {
        assert_eq!(name(ACME, "acme-ivan", PREFIXES), Ok(()));
        assert_eq!(name(ACME, "ACME-Ivan", PREFIXES), Ok(()));
        for other in ["ivan", "admin", "beta-ivan", "acme", "acmeivan", "acme.ivan", "-acme"] {
            assert_eq!(
                name(ACME, other, PREFIXES),
                Err(NameError::WithoutPrefix("acme".into())),
                "{other}"
            );
        }
    }

    #[test]
    fn the_installations_own_organisation_takes_any_name_but_a_tenants() {
        for ok in [
            "admin",
            "ivan.petrov",
            "ivan@example.com",
            "front-desk",
            "acmeivan",
            "acme.ivan",
        ] {
            assert_eq!(name(OWN, ok, PREFIXES), Ok(()), "{ok}");
        }
        assert_eq!(
            name(OWN, "acme-ivan", PREFIXES),
            Err(NameError::OthersPrefix("acme".into()))
        );
        assert_eq!(
            name(OWN, "Beta-kiosk", PREFIXES),
            Err(NameError::OthersPrefix("beta".into()))
        );
    }

    #[test]
    fn prefixes_are_short_lower_case_words() {
        assert_eq!(prefix("acme"), Ok("acme".into()));
        assert_eq!(prefix("b2"), Ok("b2".into()));
        for bad in ["a", "Acme", "ac-me", "ac.me", "", "абв", "abcdefghijklmnopqrstu"] {
            assert_eq!(prefix(bad), Err(NameError::BadPrefix), "{bad}");
        }
    }

    #[test]
    fn numbers_are_answered_only_where_assigned() {
        let assigned = [
            Assigned {
                org_id: 2,
                value: "+74951230000",
            },
            Assigned {
                org_id: 2,
                value: "+7812555*",
            },
            Assigned {
                org_id: 3,
                value: "+7495999*",
            },
        ];
        assert_eq!(number(ACME, "+74951230000", assigned), Ok(()));
        assert_eq!(number(ACME, "+78125551234", assigned), Ok(()));
        assert_eq!(number(ACME, "+74951230001", assigned), Err(NameError::Number));
        assert_eq!(number(ACME, "+74959991234", assigned), Err(NameError::Number));
        // The installation's own organisation: anything not another's.
        assert_eq!(number(OWN, "100", assigned), Ok(()));
        assert_eq!(number(OWN, "+74959991234", assigned), Err(NameError::Number));
        assert_eq!(number(OWN, "+74951230000", assigned), Err(NameError::Number));
    }

    #[test]
    fn a_mailbox_address_is_vouched_for_by_its_domain_or_confirmed() {
        let assigned = [
            Assigned {
                org_id: 2,
                value: "acme.example",
            },
            Assigned {
                org_id: 1,
                value: "hub.example",
            },
            Assigned {
                org_id: 2,
                value: "acme.hub.example",
            },
        ];
        assert_eq!(address(ACME, "help@acme.example", assigned), Ok(Standing::Vouched));
        assert_eq!(address(ACME, "help@ACME.example", assigned), Ok(Standing::Vouched));
        assert_eq!(address(ACME, "help@eu.acme.example", assigned), Ok(Standing::Vouched));
        assert_eq!(address(ACME, "help@acme.hub.example", assigned), Ok(Standing::Vouched));
        assert_eq!(address(ACME, "help@hub.example", assigned), Err(NameError::Domain));
        assert_eq!(address(ACME, "help@gmail.com", assigned), Ok(Standing::ToConfirm));
        // A domain that merely ends the same way is another domain.
        assert_eq!(address(ACME, "help@notacme.example", assigned), Ok(Standing::ToConfirm));
        assert_eq!(address(OWN, "help@hub.example", assigned), Ok(Standing::Vouched));
        assert_eq!(address(OWN, "help@gmail.com", assigned), Ok(Standing::Vouched));
        assert_eq!(address(OWN, "help@acme.example", assigned), Err(NameError::Domain));
        assert_eq!(address(OWN, "help@acme.hub.example", assigned), Err(NameError::Domain));
    }
}
