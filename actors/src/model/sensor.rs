//! A sensor's readings against its threshold (a freezer's temperature above −15 °C, fuel below
//! 10 %): an excursion is told once it has lasted the set time, once, keyed by when it began, so
//! the same readings replayed (a tracker emptying its memory again) make the same key and the
//! request it opened is not opened twice; it ends when a reading is back on the right side.

use serde::Serialize;

use super::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// Wrong above the threshold (a temperature).
    Above,
    /// Wrong below it (fuel, a battery).
    Below,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub bound: Bound,
    pub value: f64,
    /// How long the readings must stay wrong before it is told.
    pub for_ms: Millis,
}

impl Threshold {
    fn wrong(&self, v: f64) -> bool {
        match self.bound {
            Bound::Above => v > self.value,
            Bound::Below => v < self.value,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SensorEvent {
    /// Wrong since `since` for the set time; `since` is the excursion's key.
    Excursion { since: Millis, worst: f64 },
    /// Back on the right side at `at`.
    Back { since: Millis, at: Millis },
}

/// One sensor's state.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Watch {
    /// The excursion under way: when it began, its worst reading, whether it was told.
    wrong: Option<(Millis, f64, bool)>,
    last_at: Option<Millis>,
}

impl Watch {
    /// Takes a reading (in order: an older one than the last is passed over).
    pub fn take(&mut self, at: Millis, value: f64, t: &Threshold) -> Option<SensorEvent> {
        if !value.is_finite() || self.last_at.is_some_and(|l| at <= l) {
            return None;
        }
        self.last_at = Some(at);
        if !t.wrong(value) {
            let (since, _, told) = self.wrong.take()?;
            return told.then_some(SensorEvent::Back { since, at });
        }
        let (since, worst, told) = self.wrong.get_or_insert((at, value, false));
        *worst = match t.bound {
            Bound::Above => worst.max(value),
            Bound::Below => worst.min(value),
        };
        if !*told && at - *since >= t.for_ms {
            *told = true;
            return Some(SensorEvent::Excursion {
                since: *since,
                worst: *worst,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_765_000_000_000;
    const MIN: Millis = 60_000;

    fn replay(readings: &[(Millis, f64)], t: &Threshold) -> Vec<SensorEvent> {
        let mut w = Watch::default();
        readings
            .iter()
            .filter_map(|(at, v)| w.take(NOW + at * MIN, *v, t))
            .collect()
    }

    #[test]
    fn a_freezer_warming_up_is_told_once_when_it_lasted() {
        let t = Threshold {
            bound: Bound::Above,
            value: -15.0,
            for_ms: 10 * MIN,
        };
        // A door opened for 5 minutes: nothing. Then warming for 20 minutes.
        let readings: Vec<(Millis, f64)> = (0..60)
            .map(|m| {
                let v = match m {
                    5..=9 => -10.0,
                    20..=40 => -14.0 + (m - 20) as f64 * 0.2,
                    _ => -18.0,
                };
                (m, v)
            })
            .collect();
        let ev = replay(&readings, &t);
        assert_eq!(
            ev,
            [
                SensorEvent::Excursion {
                    since: NOW + 20 * MIN,
                    worst: -12.0
                },
                SensorEvent::Back {
                    since: NOW + 20 * MIN,
                    at: NOW + 41 * MIN
                }
            ]
        );
        // The same readings again: the same key, so the request it opened is found, not doubled.
        assert_eq!(replay(&readings, &t), ev);
    }

    #[test]
    fn fuel_below_and_readings_out_of_order() {
        let t = Threshold {
            bound: Bound::Below,
            value: 10.0,
            for_ms: 5 * MIN,
        };
        let mut w = Watch::default();
        assert_eq!(w.take(NOW, 8.0, &t), None);
        assert_eq!(w.take(NOW - MIN, 50.0, &t), None, "an older reading is passed over");
        assert_eq!(
            w.take(NOW + 5 * MIN, 7.0, &t),
            Some(SensorEvent::Excursion { since: NOW, worst: 7.0 })
        );
        assert_eq!(w.take(NOW + 6 * MIN, f64::NAN, &t), None);
        assert_eq!(
            w.take(NOW + 7 * MIN, 30.0, &t),
            Some(SensorEvent::Back {
                since: NOW,
                at: NOW + 7 * MIN
            })
        );
    }
}
