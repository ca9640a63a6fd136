//! Events seen per hour of event time, and the input gaps found in them: hours with no
//! events at all while the same hour of the same weekday usually has traffic (a feed that
//! stopped, not a quiet night).

use std::collections::BTreeMap;

use chrono_tz::Tz;

use crate::tally::WeekHour;
use crate::time::{local_week_hour, Nanos, NANOS_PER_HOUR};

/// How many weeks before and after a period its input-gap baseline reaches.
pub const BASELINE_WEEKS: i64 = 4;

/// The median events an hour must usually have for a silent one to be a gap: with a call
/// being about six events, five calls an hour, when an hour without calls happens by
/// chance less than once in a hundred.
pub const GAP_EXPECTED_EVENTS: u64 = 30;

/// Valid events counted per UTC hour of their `ts` (hours since the Unix epoch).
///
/// UTC hours are local hours in every zone whose offsets are whole hours (Israel's are);
/// elsewhere an hour is placed by the local time it starts at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourlyTraffic {
    counts: BTreeMap<i64, u64>,
    /// The hour being counted now: most events of a stream fall in the same hour, so the
    /// map is touched once per hour, not once per event.
    current: Option<CurrentHour>,
}

/// The hour being counted, with its bounds (checking them needs no division).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CurrentHour {
    hour: i64,
    from: Nanos,
    until: Nanos,
    events: u64,
}

impl HourlyTraffic {
    /// Counts one event stamped `ts`.
    pub fn count(&mut self, ts: Nanos) {
        match &mut self.current {
            Some(current) if ts >= current.from && ts < current.until => current.events += 1,
            _ => {
                self.flush();
                let hour = ts.div_euclid(NANOS_PER_HOUR);
                // The first hour of time starts before `i64::MIN`: its bound saturates.
                self.current = Some(CurrentHour {
                    hour,
                    from: hour.saturating_mul(NANOS_PER_HOUR),
                    until: (hour + 1).saturating_mul(NANOS_PER_HOUR),
                    events: 1,
                });
            }
        }
    }

    fn flush(&mut self) {
        if let Some(current) = self.current.take() {
            *self.counts.entry(current.hour).or_default() += current.events;
        }
    }

    /// Events per hour (hours since the epoch, UTC), hours without events left out.
    pub fn counts(&self) -> BTreeMap<i64, u64> {
        let mut counts = self.counts.clone();
        if let Some(current) = self.current {
            *counts.entry(current.hour).or_default() += current.events;
        }
        counts
    }

    /// Traffic rebuilt from [`HourlyTraffic::counts`] (snapshots).
    pub fn from_counts(counts: BTreeMap<i64, u64>) -> Self {
        HourlyTraffic {
            counts,
            current: None,
        }
    }

    /// Adds another engine's traffic to this one.
    pub fn merge(&mut self, other: &HourlyTraffic) {
        self.flush();
        for (hour, events) in other.counts() {
            *self.counts.entry(hour).or_default() += events;
        }
    }

    /// The input gaps between `from` and `until` (instants; whole hours inside them), in
    /// order, consecutive hours joined.
    ///
    /// An hour is a gap when no event was stamped in it, it lies between the first and the
    /// last hour with events (an input that has not started or has stopped is not a gap),
    /// and the other hours with the same local weekday and hour of the day in the baseline
    /// (the period and [`BASELINE_WEEKS`] weeks either side, between those first and last
    /// hours) have a median of at least [`GAP_EXPECTED_EVENTS`] events: so busy that an
    /// hour without a single event is a stopped feed, not chance.
    pub fn gaps(&self, zone: Tz, from: Nanos, until: Nanos) -> Vec<InputGap> {
        let counts = self.counts();
        let (Some(first), Some(last)) = (
            counts.keys().next().copied(),
            counts.keys().next_back().copied(),
        ) else {
            return Vec::new();
        };
        let margin = BASELINE_WEEKS * 7 * 24;
        let start = from.div_euclid(NANOS_PER_HOUR).max(first);
        let end = until.div_euclid(NANOS_PER_HOUR).saturating_sub(1).min(last);
        if start > end {
            return Vec::new();
        }
        // Of every local weekday × hour: the event counts of its hours in the baseline.
        let mut cells: BTreeMap<WeekHour, Vec<u64>> = BTreeMap::new();
        for hour in start.saturating_sub(margin).max(first)..=end.saturating_add(margin).min(last) {
            cells
                .entry(local_week_hour(hour.saturating_mul(NANOS_PER_HOUR), zone))
                .or_default()
                .push(counts.get(&hour).copied().unwrap_or(0));
        }
        for hours in cells.values_mut() {
            hours.sort_unstable();
        }
        let mut gaps: Vec<InputGap> = Vec::new();
        for hour in start..=end {
            if counts.contains_key(&hour) {
                continue;
            }
            let at = hour.saturating_mul(NANOS_PER_HOUR);
            let cell = local_week_hour(at, zone);
            // The silent hour itself is one of the cell's zeros (the smallest values).
            let others = cells
                .get(&cell)
                .and_then(|hours| hours.get(1..))
                .unwrap_or(&[]);
            let median = others.get(others.len() / 2).copied().unwrap_or(0);
            if median < GAP_EXPECTED_EVENTS {
                continue;
            }
            match gaps.last_mut() {
                Some(gap) if gap.until == at => {
                    gap.until = gap.until.saturating_add(NANOS_PER_HOUR);
                    gap.hours += 1;
                }
                _ => gaps.push(InputGap {
                    from: at,
                    until: at.saturating_add(NANOS_PER_HOUR),
                    hours: 1,
                }),
            }
        }
        gaps
    }
}

/// Consecutive hours without events where events were expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputGap {
    /// The first instant of the first silent hour.
    pub from: Nanos,
    /// The first instant after the last silent hour.
    pub until: Nanos,
    /// How many hours.
    pub hours: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-10-04T00:00:00Z, a Sunday.
    const SUNDAY: i64 = 1_791_072_000 * 1_000_000_000;
    const DAY: i64 = 24 * NANOS_PER_HOUR;

    fn busy_days(days: i64, skip: &[i64]) -> HourlyTraffic {
        let mut traffic = HourlyTraffic::default();
        for day in 0..days {
            for hour in 6..20 {
                let at = SUNDAY + day * DAY + hour * NANOS_PER_HOUR;
                if !skip.contains(&at) {
                    for event in 0..GAP_EXPECTED_EVENTS {
                        traffic.count(at + event as i64);
                    }
                }
            }
        }
        traffic
    }

    #[test]
    fn a_silent_working_hour_is_a_gap_and_quiet_nights_are_not() {
        let silent = SUNDAY + 14 * DAY + 10 * NANOS_PER_HOUR;
        let traffic = busy_days(28, &[silent, silent + NANOS_PER_HOUR]);
        let gaps = traffic.gaps(chrono_tz::UTC, SUNDAY, SUNDAY + 28 * DAY);
        assert_eq!(
            gaps,
            vec![InputGap {
                from: silent,
                until: silent + 2 * NANOS_PER_HOUR,
                hours: 2
            }]
        );
        assert_eq!(
            traffic.counts().values().sum::<u64>(),
            (28 * 14 - 2) * GAP_EXPECTED_EVENTS
        );
    }

    #[test]
    fn a_silent_hour_where_traffic_is_thin_is_chance_not_a_gap() {
        let mut traffic = HourlyTraffic::default();
        for day in 0..28 {
            // Two events at 10:00 every day but the 14th.
            if day != 14 {
                let at = SUNDAY + day * DAY + 10 * NANOS_PER_HOUR;
                traffic.count(at);
                traffic.count(at + 1);
            }
        }
        assert!(traffic
            .gaps(chrono_tz::UTC, SUNDAY, SUNDAY + 28 * DAY)
            .is_empty());
    }

    #[test]
    fn hours_before_the_first_and_after_the_last_event_are_not_gaps() {
        let traffic = busy_days(7, &[]);
        let gaps = traffic.gaps(chrono_tz::UTC, SUNDAY - 28 * DAY, SUNDAY + 60 * DAY);
        assert!(gaps.is_empty(), "{gaps:?}");
        assert!(HourlyTraffic::default()
            .gaps(chrono_tz::UTC, SUNDAY, SUNDAY + DAY)
            .is_empty());
    }

    #[test]
    fn merged_traffic_counts_every_event_once() {
        let mut left = busy_days(3, &[]);
        let right = busy_days(3, &[]);
        left.merge(&right);
        assert_eq!(
            left.counts().values().sum::<u64>(),
            3 * 14 * 2 * GAP_EXPECTED_EVENTS
        );
        let rebuilt = HourlyTraffic::from_counts(left.counts());
        assert_eq!(rebuilt.counts(), left.counts());
    }

    proptest::proptest! {
        /// Each event lands in the hour `ts.div_euclid(1 h)`, whatever the order and
        /// however near an hour's edge or the ends of time it is stamped.
        #[test]
        fn every_event_is_counted_in_its_own_hour(
            offsets in proptest::collection::vec(
                proptest::prop_oneof![
                    -3 * NANOS_PER_HOUR..3 * NANOS_PER_HOUR,
                    proptest::prelude::Just(i64::MIN),
                    proptest::prelude::Just(i64::MAX),
                    (i64::MAX - NANOS_PER_HOUR)..=i64::MAX,
                    i64::MIN..(i64::MIN + NANOS_PER_HOUR),
                ],
                0..200,
            ),
        ) {
            let mut traffic = HourlyTraffic::default();
            let mut expected: BTreeMap<i64, u64> = BTreeMap::new();
            for ts in offsets {
                traffic.count(ts);
                *expected.entry(ts.div_euclid(NANOS_PER_HOUR)).or_default() += 1;
            }
            proptest::prop_assert_eq!(traffic.counts(), expected);
        }
    }
}
