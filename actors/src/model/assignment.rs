//! Which support group a request goes to: ordered rules that pick by geography (the site's
//! territories, the site itself, its region), by function (request type, category, priority)
//! and by grade (L1 → L2 → L3), and escalation to the next grade. The first rule whose
//! conditions all hold decides; an empty condition holds for everything. Within the group, a
//! group that dispatches gives the request to an engineer ([`pick`]: on duty, least loaded,
//! taking turns); the others wait for an engineer to take them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::field::FieldError;

/// The most rules an organisation keeps (each request is checked against them in order).
pub const MAX_RULES: usize = 500;

/// What a rule asks of a request. Each list is "any of these"; an empty list asks nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Conditions {
    pub territories: Vec<i64>,
    pub sites: Vec<i64>,
    /// Regions of the organisation's tree; a site in a sub-region is in its region too.
    pub regions: Vec<i64>,
    pub counterparties: Vec<i64>,
    pub request_types: Vec<i64>,
    pub categories: Vec<String>,
    pub priorities: Vec<String>,
    /// How much of the customer's business it touches (low, medium, high).
    pub impacts: Vec<String>,
    /// The support group holding the request (for SLA policies, chosen again whenever it
    /// changes; a routing rule cannot ask it: routing is what places the request).
    pub groups: Vec<i64>,
    /// The engineer holding the request (for SLA policies, as `groups`).
    pub assignees: Vec<i64>,
}

/// A rule: its conditions and the groups that serve what it matches, one per grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: i64,
    #[serde(default)]
    pub when: Conditions,
    /// The groups, any order; their grades say which is first line and which the next.
    pub groups: Vec<i64>,
}

/// A support group as routing sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    /// 1 for the first line, 2 for the second…
    pub grade: u8,
}

/// What is known of a request that rules may ask about.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// Every territory the site's point lies in (nested territories: all of them).
    pub territories: BTreeSet<i64>,
    pub site: Option<i64>,
    /// The site's region and every region above it.
    pub regions: BTreeSet<i64>,
    pub counterparty: Option<i64>,
    pub request_type: Option<i64>,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub impact: Option<String>,
    pub group: Option<i64>,
    pub assignee: Option<i64>,
}

/// Where a request goes: the rule that decided (kept on the request, so escalation stays
/// within the same line) and the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub rule: i64,
    pub group: Group,
}

fn any_of<T: PartialEq>(wanted: &[T], has: impl Fn(&T) -> bool) -> bool {
    wanted.is_empty() || wanted.iter().any(has)
}

impl Conditions {
    pub fn hold(&self, s: &Subject) -> bool {
        any_of(&self.territories, |t| s.territories.contains(t))
            && any_of(&self.sites, |x| s.site == Some(*x))
            && any_of(&self.regions, |r| s.regions.contains(r))
            && any_of(&self.counterparties, |c| s.counterparty == Some(*c))
            && any_of(&self.request_types, |t| s.request_type == Some(*t))
            && any_of(&self.categories, |c| s.category.as_deref() == Some(c.as_str()))
            && any_of(&self.priorities, |p| s.priority.as_deref() == Some(p.as_str()))
            && any_of(&self.impacts, |i| s.impact.as_deref() == Some(i.as_str()))
            && any_of(&self.groups, |g| s.group == Some(*g))
            && any_of(&self.assignees, |a| s.assignee == Some(*a))
    }
}

/// How a support group gives out the requests placed with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dispatch {
    /// Its engineers take them (or a supervisor gives them).
    #[default]
    Manual,
    /// Each goes to the member on duty with the fewest open requests ([`pick`]).
    LeastLoaded,
}

impl Dispatch {
    pub fn as_str(self) -> &'static str {
        match self {
            Dispatch::Manual => "manual",
            Dispatch::LeastLoaded => "least_loaded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(Dispatch::Manual),
            "least_loaded" => Some(Dispatch::LeastLoaded),
            _ => None,
        }
    }
}

/// A member of a group as dispatch sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engineer {
    pub id: i64,
    /// Within their shift now (or without a shift), not on a break, not disabled.
    pub on_duty: bool,
    /// Handles the request's type (an engineer who names no types handles every one).
    pub skilled: bool,
    /// The requests they hold that are not resolved or closed.
    pub open: u32,
    /// When they were last given a request (0: never): of equals, the one waiting longest gets
    /// the next, so a quiet group takes turns instead of loading its first member.
    pub last_given: i64,
}

/// The engineer a request placed with a dispatching group goes to: among those on duty and
/// skilled in its type, the fewest open requests, then the one given a request longest ago,
/// then the lowest id. None when nobody is: the request waits with the group for one to take
/// it (or a supervisor to give it), never handed to someone who does not do that work.
pub fn pick(engineers: &[Engineer]) -> Option<i64> {
    engineers
        .iter()
        .filter(|e| e.on_duty && e.skilled)
        .min_by_key(|e| (e.open, e.last_given, e.id))
        .map(|e| e.id)
}

/// The rule's groups of at least `grade`, lowest grade first.
fn line<'a>(rule: &'a Rule, groups: &'a [Group]) -> impl Iterator<Item = Group> + 'a {
    let mut out: Vec<Group> = rule
        .groups
        .iter()
        .filter_map(|id| groups.iter().find(|g| g.id == *id).copied())
        .collect();
    out.sort_by_key(|g| (g.grade, g.id));
    out.into_iter()
}

/// The first rule that matches and has a group of `grade` or above: its lowest such group.
/// None: no rule matches (the request waits in the organisation's unassigned list).
pub fn place(rules: &[Rule], groups: &[Group], s: &Subject, grade: u8) -> Option<Placement> {
    rules.iter().filter(|r| r.when.hold(s)).find_map(|r| {
        line(r, groups)
            .find(|g| g.grade >= grade)
            .map(|group| Placement { rule: r.id, group })
    })
}

/// One step up from where a request is: the next grade of the rule that placed it. None at the
/// top of the line (or when the rule is gone): the request stays where it is.
pub fn escalate(rules: &[Rule], groups: &[Group], now: Placement) -> Option<Placement> {
    let rule = rules.iter().find(|r| r.id == now.rule)?;
    line(rule, groups)
        .find(|g| g.grade > now.group.grade)
        .map(|group| Placement { rule: rule.id, group })
}

/// Checks a rule set as the back office saves it: known groups, a line with one group per
/// grade, not too many rules.
pub fn validate(rules: &[Rule], groups: &[Group]) -> Result<(), FieldError> {
    if rules.len() > MAX_RULES {
        return Err(FieldError::new("rules", "too_many", json!({ "max": MAX_RULES })));
    }
    for r in rules {
        // Known only once a request is placed: a rule asking them would never match.
        if !r.when.groups.is_empty() || !r.when.assignees.is_empty() {
            let field = if r.when.groups.is_empty() {
                "assignees"
            } else {
                "groups"
            };
            return Err(FieldError::new(field, "not_for_routing", json!({ "rule": r.id })));
        }
        if r.groups.is_empty() {
            return Err(FieldError::new("groups", "required", json!({ "rule": r.id })));
        }
        let mut grades = BTreeSet::new();
        for id in &r.groups {
            let g = groups
                .iter()
                .find(|g| g.id == *id)
                .ok_or_else(|| FieldError::new("groups", "group_unknown", json!({ "id": id })))?;
            if !grades.insert(g.grade) {
                return Err(FieldError::new("groups", "grade_twice", json!({ "grade": g.grade })));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::geo::{Area, Point};

    const L1_MOSCOW: Group = Group { id: 11, grade: 1 };
    const L2_MOSCOW: Group = Group { id: 12, grade: 2 };
    const L1_SPB: Group = Group { id: 21, grade: 1 };
    const L2_HQ: Group = Group { id: 30, grade: 2 };
    const L3_HQ: Group = Group { id: 31, grade: 3 };
    const GROUPS: [Group; 5] = [L1_MOSCOW, L2_MOSCOW, L1_SPB, L2_HQ, L3_HQ];

    const MOSCOW: i64 = 100;
    const SPB: i64 = 200;
    const INCIDENT: i64 = 1;
    const QUESTION: i64 = 3;

    fn rules() -> Vec<Rule> {
        vec![
            // Questions from anywhere go to the Moscow first line alone.
            Rule {
                id: 1,
                when: Conditions {
                    request_types: vec![QUESTION],
                    ..Default::default()
                },
                groups: vec![11],
            },
            Rule {
                id: 2,
                when: Conditions {
                    territories: vec![MOSCOW],
                    ..Default::default()
                },
                groups: vec![12, 11, 31],
            },
            Rule {
                id: 3,
                when: Conditions {
                    territories: vec![SPB],
                    request_types: vec![INCIDENT],
                    ..Default::default()
                },
                groups: vec![21, 30, 31],
            },
            // Everything else: headquarters.
            Rule {
                id: 4,
                when: Conditions::default(),
                groups: vec![30, 31],
            },
        ]
    }

    /// The subject of a request at a site at `at`, its territories found by the polygons, as
    /// the store finds them.
    fn at_site(at: Point, request_type: i64) -> Subject {
        let moscow = Area::from_geojson(
            "shape",
            &json!({"type": "Polygon", "coordinates": [[[37.3, 55.5], [37.9, 55.5], [37.9, 56.0], [37.3, 56.0], [37.3, 55.5]]]}),
        )
        .unwrap();
        let spb = Area::from_geojson(
            "shape",
            &json!({"type": "Polygon", "coordinates": [[[30.0, 59.8], [30.6, 59.8], [30.6, 60.1], [30.0, 60.1], [30.0, 59.8]]]}),
        )
        .unwrap();
        let territories = [(MOSCOW, moscow), (SPB, spb)]
            .into_iter()
            .filter(|(_, a)| a.contains(at))
            .map(|(id, _)| id)
            .collect();
        Subject {
            territories,
            request_type: Some(request_type),
            ..Default::default()
        }
    }

    #[test]
    fn by_territory_polygon_and_function() {
        let tverskaya = Point::new(37.61, 55.76).unwrap();
        let nevsky = Point::new(30.36, 59.93).unwrap();
        let kazan = Point::new(49.1, 55.8).unwrap();
        let p = |s: &Subject| place(&rules(), &GROUPS, s, 1).map(|p| (p.rule, p.group.id));
        assert_eq!(
            p(&at_site(tverskaya, INCIDENT)),
            Some((2, 11)),
            "Moscow: its first line"
        );
        assert_eq!(p(&at_site(nevsky, INCIDENT)), Some((3, 21)), "St Petersburg incident");
        assert_eq!(
            p(&at_site(nevsky, 2)),
            Some((4, 30)),
            "St Petersburg, not an incident: the fallback"
        );
        assert_eq!(p(&at_site(kazan, INCIDENT)), Some((4, 30)), "outside every territory");
        assert_eq!(p(&at_site(tverskaya, QUESTION)), Some((1, 11)), "the earlier rule wins");
    }

    #[test]
    fn by_site_region_category_and_priority() {
        let rules = vec![
            Rule {
                id: 1,
                when: Conditions {
                    sites: vec![7],
                    ..Default::default()
                },
                groups: vec![21],
            },
            Rule {
                id: 2,
                when: Conditions {
                    regions: vec![50],
                    categories: vec!["tills".into()],
                    priorities: vec!["high".into(), "critical".into()],
                    ..Default::default()
                },
                groups: vec![12],
            },
        ];
        let s = |site: i64, regions: &[i64], cat: &str, prio: &str| Subject {
            site: Some(site),
            regions: regions.iter().copied().collect(),
            category: Some(cat.into()),
            priority: Some(prio.into()),
            ..Default::default()
        };
        let p = |s: &Subject| place(&rules, &GROUPS, s, 1).map(|p| p.group.id);
        assert_eq!(p(&s(7, &[], "x", "low")), Some(21), "by the site itself");
        assert_eq!(
            p(&s(8, &[51, 50], "tills", "high")),
            Some(12),
            "a sub-region of 50, tills, high"
        );
        assert_eq!(p(&s(8, &[51, 50], "tills", "low")), None, "priority not named");
        assert_eq!(p(&s(8, &[51, 50], "printers", "high")), None, "category not named");
        assert_eq!(p(&s(8, &[52], "tills", "high")), None, "another region");
    }

    #[test]
    fn by_grade_and_escalation_along_the_line() {
        let rules = rules();
        let s = at_site(Point::new(37.61, 55.76).unwrap(), INCIDENT);
        let l1 = place(&rules, &GROUPS, &s, 1).unwrap();
        assert_eq!(l1.group, L1_MOSCOW);
        assert_eq!(
            place(&rules, &GROUPS, &s, 2).unwrap().group,
            L2_MOSCOW,
            "asked for L2 at once"
        );
        let l2 = escalate(&rules, &GROUPS, l1).unwrap();
        assert_eq!((l2.rule, l2.group), (2, L2_MOSCOW));
        let l3 = escalate(&rules, &GROUPS, l2).unwrap();
        assert_eq!(l3.group, L3_HQ, "the line goes on to headquarters' third line");
        assert_eq!(escalate(&rules, &GROUPS, l3), None, "the top of the line");
        // A rule taken away: the request stays where it is.
        assert_eq!(escalate(&rules[..1], &GROUPS, l1), None);
        // A grade with no group in a rule's line: skipped, not a dead end.
        let only_1_and_3 = vec![Rule {
            id: 9,
            when: Conditions::default(),
            groups: vec![31, 21],
        }];
        let p = place(&only_1_and_3, &GROUPS, &s, 1).unwrap();
        assert_eq!(escalate(&only_1_and_3, &GROUPS, p).unwrap().group, L3_HQ);
        assert_eq!(place(&only_1_and_3, &GROUPS, &s, 2).unwrap().group, L3_HQ);
        // No rule has anything at grade 4: the first rule with room, or none.
        assert_eq!(place(&rules, &GROUPS, &s, 4), None);
    }

    #[test]
    fn dispatch_gives_the_least_loaded_on_duty_taking_turns() {
        let e = |id: i64, on_duty: bool, open: u32, last_given: i64| Engineer {
            id,
            on_duty,
            skilled: true,
            open,
            last_given,
        };
        let unskilled = |id: i64| Engineer {
            skilled: false,
            ..e(id, true, 0, 0)
        };
        assert_eq!(
            pick(&[unskilled(1), e(2, true, 9, 9)]),
            Some(2),
            "only who does the work"
        );
        assert_eq!(pick(&[unskilled(1)]), None);
        assert_eq!(pick(&[]), None);
        assert_eq!(pick(&[e(1, false, 0, 0), e(2, false, 0, 0)]), None, "nobody on duty");
        assert_eq!(
            pick(&[e(1, false, 0, 0), e(2, true, 5, 0)]),
            Some(2),
            "off duty never, however idle"
        );
        assert_eq!(
            pick(&[e(1, true, 3, 0), e(2, true, 1, 9), e(3, true, 2, 0)]),
            Some(2),
            "fewest open"
        );
        assert_eq!(
            pick(&[e(1, true, 1, 50), e(2, true, 1, 40)]),
            Some(2),
            "of equals, the longest since given"
        );
        assert_eq!(
            pick(&[e(2, true, 0, 0), e(1, true, 0, 0)]),
            Some(1),
            "then the lowest id"
        );
        // Three requests one after another to a quiet group of two: turns.
        let mut team = vec![e(1, true, 0, 0), e(2, true, 0, 0)];
        let mut given = Vec::new();
        for at in 1..=3 {
            let id = pick(&team).unwrap();
            given.push(id);
            let m = team.iter_mut().find(|m| m.id == id).unwrap();
            m.open += 1;
            m.last_given = at;
        }
        assert_eq!(given, vec![1, 2, 1]);
        assert_eq!(Dispatch::parse("least_loaded"), Some(Dispatch::LeastLoaded));
        assert_eq!(Dispatch::parse(Dispatch::Manual.as_str()), Some(Dispatch::Manual));
        assert_eq!(Dispatch::parse("random"), None);
    }

    #[test]
    fn rule_sets_are_checked() {
        assert!(validate(&rules(), &GROUPS).is_ok());
        let mut r = rules();
        r[0].groups = vec![];
        assert_eq!(validate(&r, &GROUPS).unwrap_err().reason, "required");
        r[0].groups = vec![999];
        let e = validate(&r, &GROUPS).unwrap_err();
        assert_eq!((e.reason, e.args["id"].as_i64()), ("group_unknown", Some(999)));
        r[0].groups = vec![11, 21];
        let e = validate(&r, &GROUPS).unwrap_err();
        assert_eq!((e.reason, e.args["grade"].as_i64()), ("grade_twice", Some(1)));
        let many: Vec<Rule> = (0..=MAX_RULES as i64)
            .map(|id| Rule {
                id,
                when: Conditions::default(),
                groups: vec![11],
            })
            .collect();
        assert_eq!(validate(&many, &GROUPS).unwrap_err().reason, "too_many");
        // What only a placed request has cannot decide where it is placed.
        let mut r = rules();
        r[1].when.groups = vec![11];
        assert_eq!(
            validate(&r, &GROUPS).map_err(|e| (e.field, e.reason)),
            Err(("groups", "not_for_routing"))
        );
        r[1].when.groups.clear();
        r[1].when.assignees = vec![5];
        assert_eq!(
            validate(&r, &GROUPS).map_err(|e| (e.field, e.reason)),
            Err(("assignees", "not_for_routing"))
        );
        // Unknown condition names are refused when read, not ignored.
        assert!(serde_json::from_value::<Conditions>(json!({"teritories": [1]})).is_err());
    }
}
