//! An engineer's day for the dispatcher: the requests assigned to them at sites, in the order
//! `model::visits` proposes (deadlines from each request's resolution clock, travel from where
//! their vehicle is), each with when the engineer would get there; and the order the dispatcher
//! saves instead, which the page then shows with its own times.

use std::collections::HashSet;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::field::FieldError;
use crate::model::geo::Point;
use crate::model::sla::ClockKind;
use crate::model::visits::{self, Leg, Stop, Travel};
use crate::model::{now_millis, Millis};
use crate::store::plans::{PlanStart, PlanStop, SavedPlan};
use crate::Hub;

/// What a visit's work takes when nothing says otherwise.
const WORK_MS: Millis = 30 * 60_000;

#[derive(Debug, Clone, Serialize)]
pub struct PlannedStop {
    #[serde(flatten)]
    pub stop: PlanStop,
    /// When its resolution clock runs out, if one runs.
    pub deadline_at: Option<Millis>,
    #[serde(flatten)]
    pub leg: Leg,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayPlan {
    pub user_id: i64,
    /// The organisation's local day the plan is for.
    pub day: String,
    pub from: Millis,
    /// The engineer's vehicle and where it was last; without one, the day starts at the first stop.
    pub start: Option<PlanStart>,
    /// In the plan's order: the saved one if there is one, else the proposal.
    pub stops: Vec<PlannedStop>,
    pub proposed: Vec<i64>,
    pub saved: Option<SavedPlan>,
    pub late_min: i64,
    pub driving_min: i64,
    pub proposed_late_min: i64,
    pub proposed_driving_min: i64,
}

impl Hub {
    /// The engineer's day now, as proposed and as saved.
    pub async fn day_plan(&self, org_id: i64, user_id: i64) -> Result<DayPlan> {
        let store = &self.core.store;
        let user = store.user(user_id).await?;
        if user.org_id != org_id {
            return Err(Error::NotFound("user"));
        }
        let tz = store.org_timezone(org_id).await?;
        let now = now_millis();
        let day = local_day(now, &tz);
        let start = store.plan_start(org_id, user_id).await?;
        let found = store.plan_stops(org_id, user_id).await?;
        let mut deadlines = Vec::with_capacity(found.len());
        for s in &found {
            let due = store
                .clock_facts(s.request_id)
                .await?
                .timers()
                .into_iter()
                .filter(|t| t.track == "sla" && t.clock == ClockKind::Resolution && t.stopped_at.is_none())
                .filter_map(|t| t.due_at)
                .min();
            deadlines.push(due);
        }
        let stops: Vec<Stop> = found
            .iter()
            .zip(&deadlines)
            .map(|(s, due)| Stop {
                at: Point { lon: s.lon, lat: s.lat },
                work_ms: WORK_MS,
                opens: now,
                closes: due.unwrap_or(Millis::MAX),
            })
            .collect();
        let from = start.as_ref().map(|s| Point { lon: s.lon, lat: s.lat }).or_else(|| {
            // No vehicle heard: the day starts at the stops' middle (the first stop costs no drive
            // from there to speak of, whichever it is).
            (!stops.is_empty()).then(|| Point {
                lon: stops.iter().map(|s| s.at.lon).sum::<f64>() / stops.len() as f64,
                lat: stops.iter().map(|s| s.at.lat).sum::<f64>() / stops.len() as f64,
            })
        });
        let from = from.unwrap_or(Point { lon: 0.0, lat: 0.0 });
        let travel = Travel::default();
        let (proposed, pc) = visits::plan(from, now, &stops, &travel);
        let saved = store.saved_plan(org_id, user_id, &day).await?;
        // The saved order, of the stops still there, then any assigned since at the end.
        let order: Vec<usize> = match &saved {
            Some(p) => {
                let mut o: Vec<usize> = p
                    .order
                    .iter()
                    .filter_map(|id| found.iter().position(|s| s.request_id == *id))
                    .collect();
                for i in &proposed {
                    if !o.contains(i) {
                        o.push(*i);
                    }
                }
                o
            }
            None => proposed.clone(),
        };
        let c = visits::cost(from, now, &stops, &order, &travel);
        let legs = visits::schedule(from, now, &stops, &order, &travel);
        Ok(DayPlan {
            user_id,
            day,
            from: now,
            start,
            stops: order
                .iter()
                .zip(legs)
                .map(|(&i, leg)| PlannedStop {
                    stop: found[i].clone(),
                    deadline_at: deadlines[i],
                    leg,
                })
                .collect(),
            proposed: proposed.iter().map(|&i| found[i].request_id).collect(),
            saved,
            late_min: c.late_ms / 60_000,
            driving_min: c.driving_ms / 60_000,
            proposed_late_min: pc.late_ms / 60_000,
            proposed_driving_min: pc.driving_ms / 60_000,
        })
    }

    /// The dispatcher's order for the engineer's day: each of their stops once.
    pub async fn save_day_plan(&self, org_id: i64, user_id: i64, order: &[i64], by: i64) -> Result<DayPlan> {
        let store = &self.core.store;
        let user = store.user(user_id).await?;
        if user.org_id != org_id {
            return Err(Error::NotFound("user"));
        }
        let stops: HashSet<i64> = store
            .plan_stops(org_id, user_id)
            .await?
            .iter()
            .map(|s| s.request_id)
            .collect();
        let given: HashSet<i64> = order.iter().copied().collect();
        if given.len() != order.len() || given != stops {
            return Err(FieldError::new("order", "visit_order", serde_json::json!({})).into());
        }
        let tz = store.org_timezone(org_id).await?;
        let now = now_millis();
        store
            .save_plan(org_id, user_id, &local_day(now, &tz), order, by, now)
            .await?;
        self.day_plan(org_id, user_id).await
    }
}

fn local_day(at: Millis, tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(at)
        .map(|t| t.to_zoned(zone).date().to_string())
        .unwrap_or_default()
}
