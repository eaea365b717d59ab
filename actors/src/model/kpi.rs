//! The service desk's figures, per group, per engineer and for the whole desk, from each
//! request's facts (its clocks read by the same model as its card, the alarms it fired, its
//! history and work log). Pure: the store gathers the cases, this counts them, so the manager's
//! dashboard, its CSV and the tests that check them count the same way.
//!
//! Definitions (each figure says what it counts):
//! - a clock is *met* when it stopped short of its target, *breached* when it reached it
//!   (running or not); a clock still running short of its target is neither yet, and
//!   compliance is met / (met + breached);
//! - the next response is judged per request over every cycle: breached when any cycle's breach
//!   fired, met when it had a cycle and none breached;
//! - first response and resolution times are business time on the policy's calendar (what the
//!   targets are measured in), averaged over the requests whose clock stopped;
//! - the backlog is the requests not resolved or closed; its age is calendar time since creation;
//! - reopened: a request moved out of a resolved or closed status at least once; the reopen
//!   rate is reopened / ever resolved;
//! - handle time: minutes the engineers logged; labour cost: those minutes at their rates
//!   (`model::labour`), with the minutes no rate covers counted apart;
//! - CSAT: of the requests whose threads were rated, the share rated 4 or 5 (the latest
//!   rating of its threads counts).

use std::collections::BTreeMap;

use serde::Serialize;

use super::desk::Timer;
use super::sla::ClockKind;
use super::Millis;

/// What the figures need of one request.
#[derive(Debug, Clone, Default)]
pub struct Case {
    pub group: Option<i64>,
    pub assignee: Option<i64>,
    pub counterparty: Option<i64>,
    pub site: Option<i64>,
    pub created_at: Millis,
    /// Not resolved or closed now.
    pub open: bool,
    /// Resolved or closed at least once.
    pub resolved: bool,
    pub reopened: bool,
    /// Its clocks now, both tracks.
    pub timers: Vec<Timer>,
    /// SLA next-response cycles whose breach fired.
    pub next_breaches: usize,
    pub logged_mins: i64,
    pub billable_mins: i64,
    pub cost: super::labour::Cost,
    /// The latest rating (1 to 5) the customer gave one of its threads.
    pub rating: Option<i64>,
}

/// Customers' satisfaction: requests rated, those rated 4 or 5, and their share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Csat {
    pub rated: u64,
    pub satisfied: u64,
    pub percent: Option<u64>,
}

/// One clock's compliance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Compliance {
    pub met: u64,
    pub breached: u64,
    /// Per cent, rounded down; None while nothing is decided.
    pub percent: Option<u64>,
}

impl Compliance {
    fn add(&mut self, met: bool) {
        if met {
            self.met += 1;
        } else {
            self.breached += 1;
        }
        self.percent = Some(self.met * 100 / (self.met + self.breached));
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub requests: u64,
    pub backlog: u64,
    /// Mean age of the backlog, seconds; None without one.
    pub backlog_age_secs: Option<i64>,
    pub oldest_open_secs: Option<i64>,
    pub resolved: u64,
    pub reopened: u64,
    /// Per cent of the resolved, rounded down.
    pub reopen_percent: Option<u64>,
    pub first_response: Compliance,
    pub next_response: Compliance,
    pub resolution: Compliance,
    /// OLA: the support group's own clocks, each request under the group holding it now.
    pub ola_breached: u64,
    /// Business seconds, mean over the stopped clocks.
    pub first_response_avg_secs: Option<i64>,
    pub resolution_avg_secs: Option<i64>,
    pub logged_mins: i64,
    pub billable_mins: i64,
    pub labour_cost_cents: i64,
    pub unpriced_mins: i64,
    pub csat: Csat,
    #[serde(skip)]
    first_sum: (i64, i64),
    #[serde(skip)]
    resolution_sum: (i64, i64),
    #[serde(skip)]
    age_sum: i64,
}

fn mean((sum, n): (i64, i64)) -> Option<i64> {
    (n > 0).then(|| sum / n)
}

impl Figures {
    fn add(&mut self, c: &Case, now: Millis) {
        self.requests += 1;
        if c.open {
            let age = ((now - c.created_at) / 1000).max(0);
            self.backlog += 1;
            self.age_sum += age;
            self.backlog_age_secs = Some(self.age_sum / self.backlog as i64);
            self.oldest_open_secs = Some(self.oldest_open_secs.map_or(age, |o| o.max(age)));
        }
        if c.resolved {
            self.resolved += 1;
        }
        if c.reopened {
            self.reopened += 1;
        }
        self.reopen_percent = (self.resolved > 0).then(|| self.reopened * 100 / self.resolved);
        for t in &c.timers {
            if t.track == "ola" {
                self.ola_breached += u64::from(t.breached);
                continue;
            }
            let decided = t.breached || t.stopped_at.is_some();
            match t.clock {
                ClockKind::FirstResponse if decided => {
                    self.first_response.add(!t.breached);
                    if t.stopped_at.is_some() {
                        self.first_sum.0 += t.elapsed_secs;
                        self.first_sum.1 += 1;
                        self.first_response_avg_secs = mean(self.first_sum);
                    }
                }
                ClockKind::Resolution if decided => {
                    self.resolution.add(!t.breached);
                    if t.stopped_at.is_some() {
                        self.resolution_sum.0 += t.elapsed_secs;
                        self.resolution_sum.1 += 1;
                        self.resolution_avg_secs = mean(self.resolution_sum);
                    }
                }
                // Judged over every cycle below, not by the last one alone.
                ClockKind::NextResponse => {
                    // A breach of the cycle running now counts before its alarm is recorded.
                    if c.next_breaches > 0 || t.breached {
                        self.next_response.add(false);
                    } else if t.stopped_at.is_some() {
                        self.next_response.add(true);
                    }
                }
                _ => {}
            }
        }
        self.logged_mins += c.logged_mins;
        self.billable_mins += c.billable_mins;
        self.labour_cost_cents += c.cost.cents;
        self.unpriced_mins += c.cost.unpriced_mins;
        if let Some(r) = c.rating {
            self.csat.rated += 1;
            self.csat.satisfied += u64::from(r >= 4);
            self.csat.percent = Some(self.csat.satisfied * 100 / self.csat.rated);
        }
    }
}

/// Figures for the whole desk, per group (the one holding each request now) and per engineer
/// (the one assigned now; unassigned requests count for the desk and their group only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub total: Figures,
    pub groups: BTreeMap<i64, Figures>,
    pub people: BTreeMap<i64, Figures>,
    /// Requests per counterparty and per site, most first (ties by id).
    pub counterparties: Vec<(i64, u64)>,
    pub sites: Vec<(i64, u64)>,
}

fn ranked(counts: BTreeMap<i64, u64>) -> Vec<(i64, u64)> {
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

pub fn report(cases: &[Case], now: Millis) -> Report {
    let mut r = Report::default();
    let (mut by_cp, mut by_site) = (BTreeMap::new(), BTreeMap::new());
    for c in cases {
        r.total.add(c, now);
        if let Some(g) = c.group {
            r.groups.entry(g).or_default().add(c, now);
        }
        if let Some(p) = c.assignee {
            r.people.entry(p).or_default().add(c, now);
        }
        if let Some(cp) = c.counterparty {
            *by_cp.entry(cp).or_insert(0) += 1;
        }
        if let Some(s) = c.site {
            *by_site.entry(s).or_insert(0) += 1;
        }
    }
    r.counterparties = ranked(by_cp);
    r.sites = ranked(by_site);
    r
}

/// The columns of the figures as a spreadsheet, in `csv_row`'s order.
pub const CSV_HEADER: &str = "scope,id,name,requests,backlog,backlog_age_secs,oldest_open_secs,resolved,reopened,\
reopen_percent,first_response_met,first_response_breached,first_response_percent,next_response_met,\
next_response_breached,next_response_percent,resolution_met,resolution_breached,resolution_percent,ola_breached,\
first_response_avg_secs,resolution_avg_secs,logged_mins,billable_mins,labour_cost_cents,unpriced_mins,csat_rated,\
csat_satisfied,csat_percent\r\n";

/// A cell of user text (RFC 4180 quoting). A cell a spreadsheet would run as a formula (it starts
/// with = + - @ or a tab) is kept as text by a leading apostrophe (OWASP's CSV injection advice).
fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn num<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// One line of the spreadsheet: what is counted (`desk`, `group`, `engineer`), whose, and its
/// figures.
pub fn csv_row(scope: &str, id: Option<i64>, name: &str, f: &Figures) -> String {
    let c = |c: &Compliance| format!("{},{},{}", c.met, c.breached, num(c.percent));
    format!(
        "{scope},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
        num(id),
        cell(name),
        f.requests,
        f.backlog,
        num(f.backlog_age_secs),
        num(f.oldest_open_secs),
        f.resolved,
        f.reopened,
        num(f.reopen_percent),
        c(&f.first_response),
        c(&f.next_response),
        c(&f.resolution),
        f.ola_breached,
        num(f.first_response_avg_secs),
        num(f.resolution_avg_secs),
        f.logged_mins,
        f.billable_mins,
        f.labour_cost_cents,
        f.unpriced_mins,
        f.csat.rated,
        f.csat.satisfied,
        num(f.csat.percent),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(track: &'static str, clock: ClockKind, elapsed: i64, breached: bool, stopped: bool) -> Timer {
        Timer {
            track,
            clock,
            target_secs: 3600,
            elapsed_secs: elapsed,
            left_secs: 3600 - elapsed,
            running: !stopped,
            breached,
            due_at: None,
            stopped_at: stopped.then_some(1),
        }
    }

    #[test]
    fn clocks_count_met_breached_or_not_yet() {
        use ClockKind::*;
        let cases = vec![
            // Answered in 10 minutes, resolved in an hour and a half: late.
            Case {
                group: Some(1),
                assignee: Some(7),
                resolved: true,
                timers: vec![
                    timer("sla", FirstResponse, 600, false, true),
                    timer("sla", Resolution, 5400, true, true),
                ],
                logged_mins: 45,
                billable_mins: 30,
                ..Default::default()
            },
            // Answered in 20 minutes; resolution still running, short of its target: undecided.
            Case {
                group: Some(1),
                open: true,
                created_at: 0,
                timers: vec![
                    timer("sla", FirstResponse, 1200, false, true),
                    timer("sla", Resolution, 100, false, false),
                    timer("sla", NextResponse, 50, false, true),
                ],
                next_breaches: 1,
                ..Default::default()
            },
            // Not answered, past its first-response target; its group's OLA breached too.
            Case {
                group: Some(2),
                assignee: Some(7),
                open: true,
                created_at: 60_000,
                timers: vec![
                    timer("sla", FirstResponse, 4000, true, false),
                    timer("ola", FirstResponse, 4000, true, false),
                ],
                ..Default::default()
            },
        ];
        let r = report(&cases, 3_600_000);
        let t = &r.total;
        assert_eq!((t.requests, t.backlog, t.resolved), (3, 2, 1));
        assert_eq!(
            t.first_response,
            Compliance {
                met: 2,
                breached: 1,
                percent: Some(66)
            }
        );
        assert_eq!((t.resolution.met, t.resolution.breached), (0, 1));
        assert_eq!((t.next_response.met, t.next_response.breached), (0, 1));
        assert_eq!(t.first_response_avg_secs, Some(900));
        assert_eq!(t.resolution_avg_secs, Some(5400));
        assert_eq!(t.ola_breached, 1);
        assert_eq!((t.backlog_age_secs, t.oldest_open_secs), (Some(3570), Some(3600)));
        assert_eq!((t.logged_mins, t.billable_mins), (45, 30));
        assert_eq!(r.groups[&1].requests, 2);
        assert_eq!(r.groups[&2].first_response.breached, 1);
        assert_eq!(r.people[&7].requests, 2);
        assert!(!r.people.contains_key(&0));
    }

    #[test]
    fn a_csv_row_has_every_column_and_keeps_names_as_text() {
        let f = report(
            &[Case {
                resolved: true,
                logged_mins: 5,
                ..Default::default()
            }],
            0,
        )
        .total;
        let row = csv_row("group", Some(3), "=HYPERLINK(\"x\")", &f);
        assert_eq!(row.matches(',').count(), CSV_HEADER.matches(',').count());
        assert!(
            row.starts_with("group,3,\"'=HYPERLINK(\"\"x\"\")\",1,0,,,1,0,0,"),
            "{row}"
        );
        assert!(row.ends_with(",5,0,0,0,0,0,\r\n"), "{row}");
        assert_eq!(cell("Сервис, \"Юг\""), "\"Сервис, \"\"Юг\"\"\"");
    }

    #[test]
    fn reopen_rate_is_of_the_resolved() {
        let case = |resolved, reopened| Case {
            resolved,
            reopened,
            ..Default::default()
        };
        let r = report(
            &[
                case(true, true),
                case(true, false),
                case(true, false),
                case(false, false),
            ],
            0,
        );
        assert_eq!(
            (r.total.resolved, r.total.reopened, r.total.reopen_percent),
            (3, 1, Some(33))
        );
        assert_eq!(report(&[case(false, false)], 0).total.reopen_percent, None);
    }

    #[test]
    fn top_counterparties_and_sites_most_first() {
        let at = |cp, site| Case {
            counterparty: Some(cp),
            site: Some(site),
            ..Default::default()
        };
        let r = report(&[at(5, 1), at(3, 1), at(3, 2), at(9, 2), at(3, 2)], 0);
        assert_eq!(r.counterparties, vec![(3, 3), (5, 1), (9, 1)]);
        assert_eq!(r.sites, vec![(2, 3), (1, 2)]);
    }

    #[test]
    fn csat_and_labour_cost_add_up_per_engineer() {
        use super::super::labour::Cost;
        let case = |assignee, rating, cents, unpriced| Case {
            assignee: Some(assignee),
            rating,
            cost: Cost {
                cents,
                unpriced_mins: unpriced,
            },
            ..Default::default()
        };
        let r = report(
            &[
                case(1, Some(5), 600_00, 0),
                case(1, Some(3), 100_00, 15),
                case(2, None, 0, 30),
                case(2, Some(4), 50, 0),
            ],
            0,
        );
        assert_eq!(
            r.people[&1].csat,
            Csat {
                rated: 2,
                satisfied: 1,
                percent: Some(50)
            }
        );
        assert_eq!(
            (r.people[&1].labour_cost_cents, r.people[&1].unpriced_mins),
            (700_00, 15)
        );
        assert_eq!(
            r.people[&2].csat.percent,
            Some(100),
            "an unrated request is not counted"
        );
        assert_eq!(
            (
                r.total.csat.rated,
                r.total.csat.satisfied,
                r.total.labour_cost_cents,
                r.total.unpriced_mins
            ),
            (3, 2, 700_50, 45)
        );
    }
}
