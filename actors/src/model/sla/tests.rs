use super::*;
use crate::model::schedule::{Exception, Schedule};
use jiff::civil::Date;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn week(spec: &[(&str, &str)]) -> Schedule {
    Schedule(spec.iter().map(|(d, h)| (d.to_string(), h.to_string())).collect())
}

fn office(tz: &str) -> Policy {
    let hours_9_18 = week(&[
        ("mon", "09:00-18:00"),
        ("tue", "09:00-18:00"),
        ("wed", "09:00-18:00"),
        ("thu", "09:00-18:00"),
        ("fri", "09:00-18:00"),
    ]);
    Policy {
        first_response: Some(hours(2)),
        next_response: Some(hours(4)),
        resolution: Some(hours(16)),
        pausing: vec!["waiting".into()],
        warn_at: vec![50, 75],
        calendar: hours_9_18.calendar(),
        tz: TimeZone::get(tz).unwrap(),
    }
}

fn status(at: &str, s: &str) -> Event {
    Event::Status {
        at: ts(at),
        status: s.into(),
        done: s == "resolved",
        stops: Stops::default(),
    }
}

#[test]
fn a_clocks_name_is_its_wire_name() {
    for k in CLOCKS {
        assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
    }
}

#[test]
fn time_waiting_for_the_customer_does_not_count() {
    // GLPI #24481: the clock kept running while the request was pending.
    let p = [office("UTC")];
    let h = [
        status("2026-12-07T09:00:00Z", "new"), // a Monday
        Event::Policy {
            at: ts("2026-12-07T09:00:00Z"),
            policy: 0,
        },
        Event::Answered {
            at: ts("2026-12-07T09:30:00Z"),
        },
        status("2026-12-07T10:00:00Z", "waiting"),
        status("2026-12-08T10:00:00Z", "open"),
    ];
    let r = read(ClockKind::Resolution, &h, &p, ts("2026-12-08T11:00:00Z")).unwrap();
    assert_eq!(r.elapsed, hours(2));
    assert!(r.running);
    // 16 h in all: 14 left from Tuesday 11:00 → 7 h Tuesday, 7 h Wednesday: 16:00.
    assert_eq!(r.due, Some(ts("2026-12-09T16:00:00Z")));
    // The warnings each have their moment (Zammad #3928 showed only the nearest): half of
    // the time was reached on Tuesday at 17:00, three quarters on Wednesday at 12:00.
    assert_eq!(
        r.warnings,
        vec![
            (50, Some(ts("2026-12-08T17:00:00Z"))),
            (75, Some(ts("2026-12-09T12:00:00Z")))
        ]
    );
    // While waiting, the clock is paused and promises no moment.
    let paused = read(ClockKind::Resolution, &h[..4], &p, ts("2026-12-07T15:00:00Z")).unwrap();
    assert!(!paused.running);
    assert_eq!(paused.elapsed, hours(1));
    assert_eq!(paused.due, None);
}

#[test]
fn a_policy_swapped_midway_keeps_what_was_accrued_and_paused() {
    // GLPI #6902, #15605: a rule swapping the SLA lost the paused time.
    let mut fast = office("UTC");
    fast.resolution = Some(hours(8));
    let p = [office("UTC"), fast];
    let h = [
        status("2026-12-07T09:00:00Z", "new"),
        Event::Policy {
            at: ts("2026-12-07T09:00:00Z"),
            policy: 0,
        },
        status("2026-12-07T11:00:00Z", "waiting"),
        status("2026-12-07T15:00:00Z", "open"),
        Event::Policy {
            at: ts("2026-12-07T16:00:00Z"),
            policy: 1,
        },
    ];
    let r = read(ClockKind::Resolution, &h, &p, ts("2026-12-07T17:00:00Z")).unwrap();
    assert_eq!(r.target, hours(8));
    assert_eq!(r.elapsed, hours(4)); // 09-11 and 15-17: the pause stays a pause
                                     // 4 h left: 17-18 on Monday, 09-12 on Tuesday.
    assert_eq!(r.due, Some(ts("2026-12-08T12:00:00Z")));
}

#[test]
fn every_alarm_has_its_moment_and_a_cycle_of_its_own() {
    let p = [office("UTC")];
    let mut h = vec![
        status("2026-12-07T09:00:00Z", "new"),
        Event::Policy {
            at: ts("2026-12-07T09:00:00Z"),
            policy: 0,
        },
    ];
    let find = |a: &[Alarm], kind, share| a.iter().find(|x| x.kind == kind && x.share == share).copied();
    let a = alarms(&h, &p, ts("2026-12-07T09:10:00Z"));
    // First response (2 h) and resolution (16 h): breach, 50 % and 75 % each; no next response yet.
    assert_eq!(a.len(), 6);
    let fr = find(&a, ClockKind::FirstResponse, 100).unwrap();
    assert_eq!(
        (fr.at, fr.cycle),
        (ts("2026-12-07T11:00:00Z"), ts("2026-12-07T09:00:00Z"))
    );
    assert_eq!(
        find(&a, ClockKind::FirstResponse, 75).unwrap().at,
        ts("2026-12-07T10:30:00Z")
    );
    assert!(find(&a, ClockKind::NextResponse, 100).is_none());
    // Answered at 09:30: the first response's alarms are gone (never reached); the customer
    // writes at 10:00 and again at 13:00 after the answer at 12:00: two cycles, told apart.
    h.push(Event::Answered {
        at: ts("2026-12-07T09:30:00Z"),
    });
    h.push(Event::CustomerWrote {
        at: ts("2026-12-07T10:00:00Z"),
    });
    let a = alarms(&h, &p, ts("2026-12-07T10:05:00Z"));
    assert!(find(&a, ClockKind::FirstResponse, 50).is_none());
    let nr1 = find(&a, ClockKind::NextResponse, 100).unwrap();
    assert_eq!(
        (nr1.cycle, nr1.at),
        (ts("2026-12-07T10:00:00Z"), ts("2026-12-07T14:00:00Z"))
    );
    h.push(Event::Answered {
        at: ts("2026-12-07T12:00:00Z"),
    });
    h.push(Event::CustomerWrote {
        at: ts("2026-12-07T13:00:00Z"),
    });
    let a = alarms(&h, &p, ts("2026-12-07T13:05:00Z"));
    let nr2 = find(&a, ClockKind::NextResponse, 50).unwrap();
    assert_eq!(
        (nr2.cycle, nr2.at),
        (ts("2026-12-07T13:00:00Z"), ts("2026-12-07T15:00:00Z"))
    );
    // An escalation step past the breach is one more share.
    let mut late = office("UTC");
    late.warn_at = vec![150];
    let a = alarms(&h[..2], &[late], ts("2026-12-07T09:10:00Z"));
    assert_eq!(
        find(&a, ClockKind::FirstResponse, 150).unwrap().at,
        ts("2026-12-07T12:00:00Z")
    );
    // A clock stopped short of an alarm owes nothing of it; one that passed it keeps it.
    let resolved = [
        status("2026-12-07T09:00:00Z", "new"),
        Event::Policy {
            at: ts("2026-12-07T09:00:00Z"),
            policy: 0,
        },
        status("2026-12-07T10:45:00Z", "resolved"),
    ];
    let a = alarms(&resolved, &p, ts("2026-12-09T09:00:00Z"));
    assert_eq!(
        find(&a, ClockKind::FirstResponse, 75).unwrap().at,
        ts("2026-12-07T10:30:00Z")
    );
    assert!(find(&a, ClockKind::FirstResponse, 100).is_none());
    assert!(a.iter().all(|x| x.at <= ts("2026-12-07T10:45:00Z")));
}

#[test]
fn a_groups_stint_has_clocks_of_its_own() {
    let ola = office("UTC");
    let h = [
        status("2026-12-07T09:00:00Z", "new"),
        Event::Policy {
            at: ts("2026-12-07T09:00:00Z"),
            policy: 7,
        },
        Event::Answered {
            at: ts("2026-12-07T09:30:00Z"),
        },
        status("2026-12-07T10:00:00Z", "in_progress"),
        status("2026-12-07T13:00:00Z", "waiting"),
    ];
    // The second line took it at 11:00: its stint starts in progress, under its OLA (index 0),
    // and its first response is its own (the first line's answer was before it came).
    let s = stint(&h, ts("2026-12-07T11:00:00Z"), 0);
    assert_eq!(
        s,
        vec![
            status("2026-12-07T11:00:00Z", "in_progress"),
            Event::Policy {
                at: ts("2026-12-07T11:00:00Z"),
                policy: 0
            },
            status("2026-12-07T13:00:00Z", "waiting"),
        ]
    );
    let r = read(ClockKind::Resolution, &s, &[ola.clone()], ts("2026-12-07T14:00:00Z")).unwrap();
    assert_eq!(r.elapsed, hours(2), "11:00 to 13:00, then waiting");
    let fr = read(ClockKind::FirstResponse, &s, &[ola.clone()], ts("2026-12-07T12:00:00Z")).unwrap();
    assert!(fr.running && fr.stopped.is_none());
    // Taken after everything that happened: the stint is the status then and the policy.
    assert_eq!(stint(&h, ts("2026-12-07T15:00:00Z"), 0).len(), 2);
}

#[test]
fn a_customer_message_does_not_move_the_first_response() {
    // Zammad #5177: the update timer overrode the first response's.
    let p = [office("UTC")];
    let h = [
        status("2026-12-07T09:00:00Z", "new"),
        Event::Policy {
            at: ts("2026-12-07T09:00:00Z"),
            policy: 0,
        },
        Event::CustomerWrote {
            at: ts("2026-12-07T10:00:00Z"),
        },
    ];
    let first = read(ClockKind::FirstResponse, &h, &p, ts("2026-12-07T10:30:00Z")).unwrap();
    assert_eq!(first.due, Some(ts("2026-12-07T11:00:00Z")));
    assert_eq!(read(ClockKind::NextResponse, &h, &p, ts("2026-12-07T10:30:00Z")), None);
    // Answered late: the first response is breached and stopped; a new message starts the
    // next response's own clock.
    let mut h = h.to_vec();
    h.push(Event::Answered {
        at: ts("2026-12-07T12:00:00Z"),
    });
    h.push(Event::CustomerWrote {
        at: ts("2026-12-07T13:00:00Z"),
    });
    let now = ts("2026-12-07T14:00:00Z");
    let first = read(ClockKind::FirstResponse, &h, &p, now).unwrap();
    assert!(first.breached && !first.running);
    assert_eq!(first.stopped, Some(ts("2026-12-07T12:00:00Z")));
    assert_eq!(first.due, Some(ts("2026-12-07T11:00:00Z")));
    let next = read(ClockKind::NextResponse, &h, &p, now).unwrap();
    assert_eq!(
        (next.elapsed, next.running, next.due),
        (hours(1), true, Some(ts("2026-12-07T17:00:00Z")))
    );
}

#[test]
fn a_status_stops_the_clocks_its_workflow_names() {
    let p = [office("UTC")];
    let stop = |at: &str, s: &str, kinds: &[ClockKind]| Event::Status {
        at: ts(at),
        status: s.into(),
        done: false,
        stops: Stops::of(kinds.iter().copied()),
    };
    let h = [
        status("2026-12-07T09:00:00Z", "new"),
        Event::Policy {
            at: ts("2026-12-07T09:00:00Z"),
            policy: 0,
        },
        // "Acknowledged" counts as the first response.
        stop("2026-12-07T09:20:00Z", "acknowledged", &[ClockKind::FirstResponse]),
        Event::CustomerWrote {
            at: ts("2026-12-07T10:00:00Z"),
        },
        // "Solution proposed" answers the customer and holds the resolution while it lasts.
        stop(
            "2026-12-07T10:30:00Z",
            "proposed",
            &[ClockKind::NextResponse, ClockKind::Resolution],
        ),
    ];
    let now = ts("2026-12-07T12:00:00Z");
    let first = read(ClockKind::FirstResponse, &h, &p, now).unwrap();
    assert_eq!(
        (first.stopped, first.running),
        (Some(ts("2026-12-07T09:20:00Z")), false)
    );
    let next = read(ClockKind::NextResponse, &h, &p, now).unwrap();
    assert_eq!(
        (next.stopped, next.elapsed),
        (Some(ts("2026-12-07T10:30:00Z")), hours(1) / 2)
    );
    let res = read(ClockKind::Resolution, &h, &p, now).unwrap();
    assert_eq!((res.running, res.elapsed), (false, hours(1) + hours(1) / 2));
    assert_eq!(res.stopped, Some(ts("2026-12-07T10:30:00Z")));
    // The customer says it did not help: back to work, the resolution goes on from 1:30.
    let mut h = h.to_vec();
    h.push(status("2026-12-07T13:00:00Z", "work"));
    let res = read(ClockKind::Resolution, &h, &p, ts("2026-12-07T14:00:00Z")).unwrap();
    assert_eq!(
        (res.running, res.elapsed, res.stopped),
        (true, hours(2) + hours(1) / 2, None)
    );
}

#[test]
fn a_24_7_clock_counts_every_minute_across_midnight_and_clock_changes() {
    // Zammad #3180 lost a minute at midnight; a day that repeats an hour has 25.
    let mut p = office("Europe/Berlin");
    p.calendar = Schedule::always().calendar();
    p.resolution = Some(hours(30));
    let h = [
        status("2026-10-24T22:00:00Z", "new"), // Sunday 25 Oct, 00:00 in Berlin (CEST)
        Event::Policy {
            at: ts("2026-10-24T22:00:00Z"),
            policy: 0,
        },
    ];
    let r = read(ClockKind::Resolution, &h, &[p.clone()], ts("2026-10-25T23:00:00Z")).unwrap();
    assert_eq!(r.elapsed, hours(25)); // the Sunday the clocks went back, all of it
    assert_eq!(r.due, Some(ts("2026-10-26T04:00:00Z")));
    assert_eq!(
        p.calendar
            .working_between(ts("2026-12-31T22:59:00Z"), ts("2026-12-31T23:01:00Z"), &p.tz),
        SignedDuration::from_mins(2)
    );
}

#[test]
fn holidays_and_short_days_are_skipped() {
    let mut p = office("Europe/Moscow");
    p.calendar = Calendar::new(
        &week(&[
            ("mon", "09:00-18:00"),
            ("tue", "09:00-18:00"),
            ("wed", "09:00-18:00"),
            ("thu", "09:00-18:00"),
            ("fri", "09:00-18:00"),
        ]),
        &[
            Exception {
                date: "2026-12-31".into(),
                hours: Some("09:00-13:00".into()),
                note: String::new(),
            },
            Exception {
                date: "2027-01-01".into(),
                hours: None,
                note: String::new(),
            },
        ],
    );
    let h = [
        status("2026-12-31T06:00:00Z", "new"), // 09:00 Moscow on the short eve
        Event::Policy {
            at: ts("2026-12-31T06:00:00Z"),
            policy: 0,
        },
    ];
    let r = read(ClockKind::Resolution, &h, &[p], ts("2026-12-31T06:00:00Z")).unwrap();
    // 4 h on the eve, the 1st closed, the weekend closed, 9 h on Monday the 4th, 3 h on Tuesday.
    assert_eq!(r.due, Some(ts("2027-01-05T09:00:00Z")));
}

// ---------- property test against a minute-by-minute reference ----------

/// xorshift64*: a tiny generator, so the cases are reproducible from the printed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const ZONES: [&str; 9] = [
    "UTC",
    "Europe/Moscow",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",    // changes at midnight
    "Australia/Lord_Howe", // a half-hour change
    "Asia/Kathmandu",      // +05:45
    "Europe/London",
    "Pacific/Chatham", // +12:45 / +13:45
];
const STATUSES: [&str; 4] = ["new", "open", "waiting", "hold"];

fn hhmm(m: u64) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn random_calendar(rng: &mut Rng, near: Date) -> Calendar {
    if rng.chance(15) {
        return Schedule::always().calendar();
    }
    let mut week = Schedule::default();
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let closed = rng.below(4); // up to three closed weekdays
    for (i, d) in days.iter().enumerate() {
        if (i as u64) < closed && rng.chance(80) {
            continue;
        }
        let step = if rng.chance(50) { 30 } else { 1 };
        let open = rng.below(16 * 60 / step) * step;
        let close = (open + 120 + rng.below((24 * 60 - open - 120) / step + 1) * step).min(24 * 60);
        week.0.insert(d.to_string(), format!("{}-{}", hhmm(open), hhmm(close)));
    }
    let mut exceptions = Vec::new();
    for _ in 0..rng.below(4) {
        let date = near.checked_add(jiff::Span::new().days(rng.below(14) as i64)).unwrap();
        let hours = if rng.chance(50) {
            None
        } else {
            let open = rng.below(12 * 60);
            Some(format!("{}-{}", hhmm(open), hhmm(open + 60 + rng.below(10 * 60))))
        };
        exceptions.push(Exception {
            date: date.to_string(),
            hours,
            note: String::new(),
        });
    }
    Calendar::new(&week, &exceptions)
}

fn random_policy(rng: &mut Rng, near: Date) -> Policy {
    let target = |rng: &mut Rng| {
        if !rng.chance(90) {
            return None;
        }
        let secs = if rng.chance(20) { rng.below(60) as i64 } else { 0 };
        Some(SignedDuration::from_secs(60 * (2 + rng.below(16 * 60)) as i64 + secs))
    };
    let pausing = STATUSES
        .iter()
        .filter(|_| rng.chance(30))
        .map(|s| s.to_string())
        .collect();
    Policy {
        first_response: target(rng),
        next_response: target(rng),
        resolution: target(rng),
        pausing,
        warn_at: (0..rng.below(3)).map(|_| 50 + rng.below(50) as u8).collect(),
        calendar: random_calendar(rng, near),
        tz: TimeZone::get(ZONES[rng.below(ZONES.len() as u64) as usize]).unwrap(),
    }
}

struct Case {
    policies: Vec<Policy>,
    history: Vec<Event>,
    now: Timestamp,
}

fn random_case(rng: &mut Rng) -> Case {
    let tz = TimeZone::get(ZONES[rng.below(ZONES.len() as u64) as usize]).unwrap();
    let mut t0 = ts("2026-01-01T00:00:00Z") + SignedDuration::from_mins(rng.below(2 * 365 * 24 * 60) as i64);
    if rng.chance(50) {
        // Close before one of the zone's clock changes.
        if let Some(t) = tz.following(t0).next() {
            t0 = t.timestamp() - SignedDuration::from_mins(rng.below(3 * 24 * 60) as i64);
        }
    }
    t0 = Timestamp::from_second(t0.as_second() / 60 * 60).unwrap();
    let near = t0.to_zoned(TimeZone::UTC).date();
    let policies: Vec<Policy> = (0..1 + rng.below(3)).map(|_| random_policy(rng, near)).collect();
    // A status's stop_clock actions: now and then, any of the three clocks.
    let stops = |rng: &mut Rng, chance: u64| {
        if rng.chance(chance) {
            let bits = rng.below(8);
            Stops {
                first_response: bits & 1 != 0,
                next_response: bits & 2 != 0,
                resolution: bits & 4 != 0,
            }
        } else {
            Stops::default()
        }
    };
    let mut history = vec![
        Event::Status {
            at: t0,
            status: "new".into(),
            done: false,
            stops: stops(rng, 5),
        },
        Event::Policy { at: t0, policy: 0 },
    ];
    let mut at = t0;
    for _ in 0..rng.below(10) {
        let gap = if rng.chance(50) { 120 } else { 2000 };
        at += SignedDuration::from_mins(1 + rng.below(gap) as i64);
        history.push(match rng.below(5) {
            0 => Event::Status {
                at,
                status: STATUSES[rng.below(4) as usize].into(),
                done: false,
                stops: stops(rng, 30),
            },
            1 if rng.chance(40) => Event::Status {
                at,
                status: "resolved".into(),
                done: true,
                stops: stops(rng, 10),
            },
            1 | 2 => Event::CustomerWrote { at },
            3 => Event::Answered { at },
            _ => Event::Policy {
                at,
                policy: rng.below(policies.len() as u64) as usize,
            },
        });
    }
    let span = at.as_second() - t0.as_second();
    let now =
        Timestamp::from_second(t0.as_second() + (rng.below(span as u64 + 3 * 24 * 3600) as i64) / 60 * 60).unwrap();
    Case { policies, history, now }
}

/// The reference: the definitions read literally, one minute at a time, with none of the
/// model's machinery (no windows, no runs, no state machine). Events are at distinct minutes.
mod reference {
    use super::*;

    fn last<'a, T>(h: &'a [Event], m: Timestamp, f: impl Fn(&'a Event) -> Option<T>) -> Option<T> {
        h.iter().filter(|e| e.at() <= m).filter_map(f).last()
    }

    /// When the first response was over by `m`: the first answer, resolution or status that
    /// stops it.
    pub fn first_over(h: &[Event], m: Timestamp) -> Option<Timestamp> {
        h.iter()
            .filter(|e| e.at() <= m)
            .find(|e| match e {
                Event::Answered { .. } => true,
                Event::Status { done, stops, .. } => *done || stops.first_response,
                _ => false,
            })
            .map(Event::at)
    }

    /// An answer, as a next-response cycle sees it: staff answered, or a status that stops it.
    fn answers(e: &Event) -> bool {
        match e {
            Event::Answered { .. } => true,
            Event::Status { stops, .. } => stops.next_response,
            _ => false,
        }
    }

    /// The next-response cycle current at `now`: a customer's message (after the first response
    /// was over) that nothing was waiting before, the last answer or nothing being the latest of
    /// such messages and answers before it; and the answer that ended it, if any.
    pub fn cycle(h: &[Event], now: Timestamp) -> Option<(Timestamp, Option<Timestamp>)> {
        let relevant: Vec<&Event> = h
            .iter()
            .filter(|e| e.at() <= now)
            .filter(|e| match e {
                Event::CustomerWrote { at } => first_over(h, *at).is_some_and(|f| f < *at),
                e => answers(e),
            })
            .collect();
        let start = (0..relevant.len())
            .filter(|i| matches!(relevant[*i], Event::CustomerWrote { .. }))
            .filter(|i| *i == 0 || answers(relevant[i - 1]))
            .map(|i| relevant[i].at())
            .last()?;
        let end = h
            .iter()
            .find(|e| answers(e) && e.at() > start && e.at() <= now)
            .map(Event::at);
        Some((start, end))
    }

    /// When the clock stopped, seen at `now`.
    pub fn stopped(kind: ClockKind, h: &[Event], now: Timestamp) -> Option<Timestamp> {
        match kind {
            ClockKind::FirstResponse => first_over(h, now),
            ClockKind::NextResponse => cycle(h, now).and_then(|(_, end)| end),
            ClockKind::Resolution => {
                let statuses: Vec<&Event> = h
                    .iter()
                    .filter(|e| e.at() <= now && matches!(e, Event::Status { .. }))
                    .collect();
                let trailing = statuses
                    .iter()
                    .rev()
                    .take_while(|e| matches!(e, Event::Status { done, stops, .. } if *done || stops.resolution))
                    .last();
                trailing.map(|e| e.at())
            }
        }
    }

    /// Whether `kind` is on (not paused, not stopped) during the minute from `m`, seen from
    /// `now` (nothing happens after it); whether that minute is open is asked apart.
    /// Whether the wall clock shows an open minute of its day, read minute after minute: the zone's
    /// offset is looked up again only past its next change, the day's hours only on a new day.
    pub struct Wall<'a> {
        policy: &'a Policy,
        offset: i64,
        valid: Option<(Timestamp, Timestamp)>,
        day: i64,
        hours: Option<(u32, u32)>,
    }

    impl<'a> Wall<'a> {
        pub fn new(policy: &'a Policy) -> Self {
            Wall {
                policy,
                offset: 0,
                valid: None,
                day: i64::MIN,
                hours: None,
            }
        }

        pub fn open(&mut self, m: Timestamp) -> bool {
            if !self.valid.is_some_and(|(a, b)| a <= m && m < b) {
                let tz = &self.policy.tz;
                self.offset = i64::from(tz.to_offset(m).seconds());
                let until = tz.following(m).next().map_or(Timestamp::MAX, |t| t.timestamp());
                self.valid = Some((m, until));
            }
            let wall = m.as_second() + self.offset;
            let day = wall.div_euclid(86_400);
            if day != self.day {
                self.day = day;
                let date = Date::constant(1970, 1, 1)
                    .checked_add(jiff::Span::new().days(day))
                    .unwrap();
                self.hours = self.policy.calendar.hours_on(date);
            }
            let minute = (wall.rem_euclid(86_400) / 60) as u32;
            self.hours.is_some_and(|(o, c)| o <= minute && minute < c)
        }
    }

    /// `h` is the history up to `now`.
    pub fn on(kind: ClockKind, h: &[Event], p: &[Policy], now: Timestamp, m: Timestamp) -> Option<usize> {
        let (status, done, stops) = last(h, m, |e| match e {
            Event::Status {
                status, done, stops, ..
            } => Some((status.clone(), *done, *stops)),
            _ => None,
        })?;
        let policy = last(h, m, |e| match e {
            Event::Policy { policy, .. } => Some(*policy),
            _ => None,
        })?;
        if done || p[policy].pausing.contains(&status) {
            return None;
        }
        let on = match kind {
            ClockKind::FirstResponse => first_over(h, m).is_none(),
            ClockKind::Resolution => !stops.resolution,
            ClockKind::NextResponse => cycle(h, now).is_some_and(|(s, end)| s <= m && end.is_none_or(|e| m < e)),
        };
        on.then_some(policy)
    }
}

fn nanos(d: SignedDuration) -> i128 {
    d.as_nanos()
}

/// Checks one case against the reference; Err says what differs.
fn check(c: &Case) -> Result<(), String> {
    let horizon = c.now + SignedDuration::from_hours(24 * 45);
    for kind in CLOCKS {
        let got = read(kind, &c.history, &c.policies, c.now);
        let policy = c
            .history
            .iter()
            .filter(|e| e.at() <= c.now)
            .filter_map(|e| match e {
                Event::Policy { policy, .. } => Some(*policy),
                _ => None,
            })
            .last();
        let target = policy.and_then(|p| c.policies[p].target(kind));
        let h_now: Vec<Event> = c.history.iter().filter(|e| e.at() <= c.now).cloned().collect();
        let started = match kind {
            ClockKind::NextResponse => reference::cycle(&h_now, c.now).map(|(s, _)| s),
            _ => Some(c.history[0].at()),
        };
        let (Some(target), Some(start)) = (target, started) else {
            return match got {
                None => Ok(()),
                Some(r) => Err(format!("{kind:?}: expected no clock, got {r:?}")),
            };
        };
        let Some(got) = got else {
            return Err(format!("{kind:?}: no clock read"));
        };
        let p = &c.policies[policy.unwrap()];
        let mut thresholds: Vec<i128> = vec![nanos(target)];
        thresholds.extend(p.warn_at.iter().map(|s| nanos(target * i32::from(*s) / 100)));
        let mut reached: Vec<Option<Timestamp>> = vec![None; thresholds.len()];
        let mut count: i128 = 0;
        let mut elapsed = None;
        let mut m = start;
        let mut walls: Vec<reference::Wall> = c.policies.iter().map(reference::Wall::new).collect();
        // Whether the clock is on changes only at an event: read again when one has passed.
        let mut on = None;
        let (mut passed, mut seen) = (0, usize::MAX); // events up to `m`; when `on` was read
        while m < horizon && reached.iter().any(Option::is_none) || m < c.now {
            if m == c.now {
                elapsed = Some(count);
            }
            while passed < h_now.len() && h_now[passed].at() <= m {
                passed += 1;
            }
            if passed != seen {
                seen = passed;
                on = reference::on(kind, &h_now, &c.policies, c.now, m);
            }
            if m >= c.now && on.is_none() {
                break; // nothing happens after `now`: a clock off then stays off
            }
            if on.is_some_and(|q| walls[q].open(m)) {
                for (i, t) in thresholds.iter().enumerate() {
                    if reached[i].is_none() && count + 60_000_000_000 >= *t {
                        reached[i] = Some(m + SignedDuration::from_nanos((t - count) as i64));
                    }
                }
                count += 60_000_000_000;
            }
            m += SignedDuration::from_mins(1);
        }
        let elapsed = elapsed.unwrap_or(count);
        let want_running = reference::on(kind, &h_now, &c.policies, c.now, c.now).is_some();
        let want_stopped = reference::stopped(kind, &h_now, c.now);
        let differ = |what: &str, a: String, b: String| Err(format!("{kind:?} {what}: model {a}, reference {b}"));
        if nanos(got.elapsed) != elapsed {
            return differ("elapsed", format!("{}", got.elapsed), format!("{}ns", elapsed));
        }
        if got.running != want_running {
            return differ("running", got.running.to_string(), want_running.to_string());
        }
        // Beyond the horizon the reference stops looking: the model's moment must be later.
        let same = |model: Option<Timestamp>, want: Option<Timestamp>| match (model, want) {
            (a, b) if a == b => true,
            (Some(a), None) => a >= horizon,
            _ => false,
        };
        if got.stopped != want_stopped {
            return differ("stopped", format!("{:?}", got.stopped), format!("{want_stopped:?}"));
        }
        if !same(got.due, reached[0]) {
            return differ("due", format!("{:?}", got.due), format!("{:?}", reached[0]));
        }
        for (i, (share, at)) in got.warnings.iter().enumerate() {
            if !same(*at, reached[i + 1]) {
                return differ(
                    &format!("warning {share}%"),
                    format!("{at:?}"),
                    format!("{:?}", reached[i + 1]),
                );
            }
        }
    }
    Ok(())
}

/// Random calendars (24/7, closed days, holidays and short days, zones with clock changes at
/// night, at midnight, by half an hour, and odd offsets), random histories (pauses, answers,
/// customer messages, resolving and reopening, policies swapped), read at a random moment: every
/// clock's elapsed time, state, stop, deadline and warnings equal the reference's. 100,000 cases
/// a run (HUB_SLA_CASES to change; HUB_SLA_SEED repeats a run).
#[test]
fn clocks_match_a_minute_by_minute_reference() {
    let cases: u64 = std::env::var("HUB_SLA_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let seed = std::env::var("HUB_SLA_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    let mut rng = Rng(seed);
    let seeds: Vec<u64> = (0..cases).map(|_| rng.next() | 1).collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
    std::thread::scope(|s| {
        for part in seeds.chunks(seeds.len().div_ceil(threads).max(1)) {
            s.spawn(move || {
                for case_seed in part {
                    let c = random_case(&mut Rng(*case_seed));
                    if let Err(e) = check(&c) {
                        panic!(
                            "HUB_SLA_SEED={seed}, case seed {case_seed}: {e}\nnow {}\nhistory {:#?}",
                            c.now, c.history
                        );
                    }
                }
            });
        }
    });
    println!("{cases} cases, seed {seed}: no difference");
}
