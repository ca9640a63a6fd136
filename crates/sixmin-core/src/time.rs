//! Event time: instants as nanoseconds since the Unix epoch (UTC), and their text forms.
//!
//! The engine never reads a clock; every instant it knows comes from an event or from the
//! caller of [`crate::Engine::advance_to`].

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

/// Nanoseconds since 1970-01-01T00:00:00Z. `i64` spans the years 1677 to 2262.
pub type Nanos = i64;

/// One millisecond in nanoseconds.
pub const NANOS_PER_MILLI: i64 = 1_000_000;

/// Parses an RFC 3339 timestamp (offset or `Z`, up to nanoseconds) into [`Nanos`].
pub fn parse_rfc3339(text: &str) -> Option<Nanos> {
    let parsed: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(text).ok()?;
    parsed.timestamp_nanos_opt()
}

/// Formats an instant as RFC 3339 in UTC, with as many fractional digits as it needs.
pub fn format_utc(instant: Nanos) -> String {
    DateTime::<Utc>::from_timestamp_nanos(instant).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Formats an instant as RFC 3339 in the given time zone, with its offset.
pub fn format_in_zone(instant: Nanos, zone: Tz) -> String {
    DateTime::<Utc>::from_timestamp_nanos(instant)
        .with_timezone(&zone)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// The calendar day, in `zone`, that contains `instant`.
pub fn local_date(instant: Nanos, zone: Tz) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_nanos(instant)
        .with_timezone(&zone)
        .date_naive()
}

/// The local weekday and hour of `instant` in `zone`.
pub fn local_week_hour(instant: Nanos, zone: Tz) -> crate::tally::WeekHour {
    use chrono::{Datelike, Timelike};
    let local = DateTime::<Utc>::from_timestamp_nanos(instant).with_timezone(&zone);
    crate::tally::WeekHour {
        weekday: local.weekday().num_days_from_sunday() as u8,
        hour: local.hour() as u8,
    }
}

/// One hour in nanoseconds.
pub const NANOS_PER_HOUR: i64 = 3_600_000_000_000;

/// The local weekday and hour of the last UTC hour looked up, so that instants of the
/// same hour are placed without a time-zone conversion each.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeekHourCache {
    /// Hours since the epoch, and their local weekday and hour.
    last: Option<(i64, crate::tally::WeekHour)>,
}

impl WeekHourCache {
    /// [`local_week_hour`] of `instant` in `zone`.
    pub fn get(&mut self, instant: Nanos, zone: Tz) -> crate::tally::WeekHour {
        let utc_hour = instant.div_euclid(NANOS_PER_HOUR);
        if let Some((cached, week_hour)) = self.last {
            if cached == utc_hour {
                return week_hour;
            }
        }
        let week_hour = local_week_hour(instant, zone);
        // Kept only when every instant of that UTC hour has the same local hour.
        self.last = utc_hour_is_one_local_hour(utc_hour, zone).then_some((utc_hour, week_hour));
        week_hour
    }
}

/// Whether the whole UTC hour number `utc_hour` (hours since the epoch) falls in one local
/// hour of `zone`: the zone's offset is the same whole number of hours at its first and
/// its last nanosecond (no change of offset within it, no half-hour zone).
fn utc_hour_is_one_local_hour(utc_hour: i64, zone: Tz) -> bool {
    use chrono::Offset;
    let first = utc_hour.saturating_mul(NANOS_PER_HOUR);
    let last = first.saturating_add(NANOS_PER_HOUR - 1);
    let offset = |instant: Nanos| {
        zone.offset_from_utc_datetime(&DateTime::<Utc>::from_timestamp_nanos(instant).naive_utc())
            .fix()
            .local_minus_utc()
    };
    let at_first = offset(first);
    at_first % 3600 == 0 && at_first == offset(last)
}

/// The first instant of `date` in `zone` (local midnight, or the first instant after a gap).
pub fn start_of_local_day(date: NaiveDate, zone: Tz) -> Nanos {
    let mut local = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // A transition at midnight can skip it; step forward until the local time exists.
    for _ in 0..48 {
        if let Some(resolved) = zone.from_local_datetime(&local).earliest() {
            return resolved
                .with_timezone(&Utc)
                .timestamp_nanos_opt()
                .unwrap_or(i64::MAX);
        }
        local += chrono::Duration::minutes(30);
    }
    i64::MAX
}

/// Rounds a non-negative duration in nanoseconds up to whole milliseconds.
///
/// Waits are reported in milliseconds rounded up, so that a wait is within a (whole
/// millisecond) limit exactly when its reported milliseconds are: 360 000.4 ms is a
/// breach of a 360 000 ms limit and is reported as 360 001 ms.
pub fn ceil_millis(duration: Nanos) -> i64 {
    if duration <= 0 {
        return 0;
    }
    // Without adding first, so that no duration can overflow.
    duration / NANOS_PER_MILLI + i64::from(duration % NANOS_PER_MILLI != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_hour_cache_agrees_with_the_zone_across_changes_of_offset() {
        // Israel's autumn change (two local 01:00 hours), its spring change, and a zone
        // whose offset is not a whole number of hours.
        let cases = [
            ("Asia/Jerusalem", "2026-10-24T20:00:00Z"),
            ("Asia/Jerusalem", "2026-03-26T20:00:00Z"),
            ("Asia/Kolkata", "2026-06-01T00:00:00Z"),
        ];
        for (zone, from) in cases {
            let zone: Tz = zone.parse().unwrap();
            let from = parse_rfc3339(from).unwrap();
            let mut cache = WeekHourCache::default();
            // Every 7 minutes 13 seconds for a day, in order and then back and forth.
            let step = (7 * 60 + 13) * 1_000_000_000;
            let instants: Vec<Nanos> = (0..200).map(|n| from + n * step).collect();
            let shuffled = instants.iter().rev().chain(instants.iter().step_by(3));
            for &instant in instants.iter().chain(shuffled) {
                assert_eq!(
                    cache.get(instant, zone),
                    local_week_hour(instant, zone),
                    "{zone} at {}",
                    format_utc(instant)
                );
            }
        }
    }

    #[test]
    fn parses_offsets_and_nanoseconds() {
        let with_offset = parse_rfc3339("2026-10-04T09:15:02.250+03:00").unwrap();
        let in_utc = parse_rfc3339("2026-10-04T06:15:02.25Z").unwrap();
        assert_eq!(with_offset, in_utc);
        let nanos = parse_rfc3339("2026-10-04T06:15:02.000000001Z").unwrap();
        assert_eq!(nanos - parse_rfc3339("2026-10-04T06:15:02Z").unwrap(), 1);
    }

    #[test]
    fn rejects_timestamps_without_offset() {
        assert!(parse_rfc3339("2026-10-04T09:15:02").is_none());
        assert!(parse_rfc3339("yesterday").is_none());
        assert!(parse_rfc3339("2026-13-04T09:15:02Z").is_none());
    }

    #[test]
    fn ceil_millis_rounds_up_partial_milliseconds() {
        assert_eq!(ceil_millis(360_000 * NANOS_PER_MILLI), 360_000);
        assert_eq!(ceil_millis(360_000 * NANOS_PER_MILLI + 1), 360_001);
        assert_eq!(ceil_millis(-5), 0);
        assert_eq!(ceil_millis(i64::MAX), i64::MAX / NANOS_PER_MILLI + 1);
    }

    #[test]
    fn local_days_follow_jerusalem_dst() {
        let zone: Tz = "Asia/Jerusalem".parse().unwrap();
        // 2026-10-25 is the day Israel leaves summer time: 25 hours long.
        let start = start_of_local_day(NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(), zone);
        let next = start_of_local_day(NaiveDate::from_ymd_opt(2026, 10, 26).unwrap(), zone);
        assert_eq!((next - start) / 3_600_000_000_000, 25);
        assert_eq!(format_in_zone(start, zone), "2026-10-25T00:00:00+03:00");
        assert_eq!(format_in_zone(next, zone), "2026-10-26T00:00:00+02:00");
        // 23:30 UTC on the 31st is already 1 November in Jerusalem.
        let late = parse_rfc3339("2026-10-31T23:30:00Z").unwrap();
        assert_eq!(
            local_date(late, zone),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
    }
}
