//! Attribution to days and months in the pack's time zone (Asia/Jerusalem for the built-in
//! pack), through the command line and the report: a call belongs to the local day of its
//! start, whenever it is answered, and local days follow summer time (25 hours when it
//! ends, 23 when it starts).
//!
//! Events carry UTC timestamps; comments give the local times. Each call has a tenant of
//! its own, so a report's rows tell which calls a period holds.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::*;

/// Replays calls given as (tenant, start, wait in seconds), each answered after its wait,
/// into a new state under `work`; returns the state directory.
fn replay_calls(work: &Path, calls: &[(&str, &str, i64)]) -> std::path::PathBuf {
    let mut events: Vec<(DateTime<Utc>, String)> = Vec::new();
    for (tenant, start, wait) in calls {
        let started: DateTime<Utc> = start.parse().unwrap();
        let answered = started + Duration::seconds(*wait);
        let call = format!("call-{tenant}");
        events.push((
            started,
            event(
                &format!("{call}:1"),
                &call,
                "call_started",
                start,
                &[("tenant", tenant)],
            ),
        ));
        events.push((
            answered,
            event(
                &format!("{call}:2"),
                &call,
                "answered",
                &answered.to_rfc3339_opts(SecondsFormat::Secs, true),
                &[],
            ),
        ));
    }
    // In time order, so that no event is late whatever the dates.
    events.sort();
    let lines: Vec<String> = events.into_iter().map(|(_, line)| line).collect();
    let input = work.join("events.jsonl");
    std::fs::write(&input, jsonl(&lines)).unwrap();
    let state = work.join("state");
    sixmin_ok(&[
        "replay",
        path_str(&input),
        "--state",
        path_str(&state),
        "--complete",
    ]);
    state
}

/// The tenants (here: the calls) a report counts, checked against its totals.
fn calls_in(state: &Path, period: &str) -> BTreeSet<String> {
    let report = report_json(state, period);
    let rows = report["rows"].as_array().unwrap();
    let tenants: BTreeSet<String> = rows
        .iter()
        .map(|row| {
            assert_eq!(row["offered"], 1, "{period}: {row}");
            row["tenant"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(report["totals"]["offered"], tenants.len(), "{period}");
    tenants
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn period_bounds(state: &Path, period: &str) -> (String, String) {
    let report = report_json(state, period);
    assert_eq!(report["period"]["timezone"], "Asia/Jerusalem");
    assert_eq!(report["period"]["label"], period);
    (
        report["period"]["start"].as_str().unwrap().to_owned(),
        report["period"]["end"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn a_call_started_before_local_midnight_belongs_to_the_day_and_month_it_started_in() {
    let work = tempfile::tempdir().unwrap();
    let state = replay_calls(
        work.path(),
        &[
            // 2026-10-04 23:59 local (+03:00), answered 00:01 on 2026-10-05.
            ("oct04-2359", "2026-10-04T20:59:00Z", 120),
            // 2026-10-05 00:00 local (+03:00): the next day.
            ("oct05-0000", "2026-10-04T21:00:00Z", 60),
            // 2026-10-31 23:58 local (+02:00), answered 00:03 on 2026-11-01.
            ("oct31-2358", "2026-10-31T21:58:00Z", 300),
            // 2026-11-01 00:00 local (+02:00): November, although still 31 October in UTC.
            ("nov01-0000", "2026-10-31T22:00:00Z", 60),
        ],
    );
    assert_eq!(
        calls_in(&state, "2026-10"),
        set(&["oct04-2359", "oct05-0000", "oct31-2358"])
    );
    assert_eq!(calls_in(&state, "2026-11"), set(&["nov01-0000"]));
    assert_eq!(calls_in(&state, "2026-10-31"), set(&["oct31-2358"]));
    assert_eq!(calls_in(&state, "2026-11-01"), set(&["nov01-0000"]));
    assert_eq!(calls_in(&state, "2026-10-04"), set(&["oct04-2359"]));
    assert_eq!(calls_in(&state, "2026-10-05"), set(&["oct05-0000"]));

    // The wait counts across midnight: 5 minutes of a general call is over its 3.
    let report = report_json(&state, "2026-10-31");
    assert_eq!(report["totals"]["answer_wait_ms"]["max"], 300_000);
    assert_eq!(report["totals"]["breaches"]["IL-3MIN"], 1);
    assert_eq!(
        period_bounds(&state, "2026-10"),
        (
            "2026-10-01T00:00:00+03:00".to_owned(),
            "2026-11-01T00:00:00+02:00".to_owned()
        )
    );
}

#[test]
fn the_day_summer_time_ends_has_25_hours_and_both_one_thirties() {
    let work = tempfile::tempdir().unwrap();
    // On Sunday 2026-10-25 Israel leaves summer time: at 02:00 (+03:00) clocks go back to
    // 01:00 (+02:00), so 01:00–02:00 happens twice.
    let state = replay_calls(
        work.path(),
        &[
            // 2026-10-24 23:59 local (+03:00).
            ("oct24-2359", "2026-10-24T20:59:00Z", 60),
            // 2026-10-25 00:30 local (+03:00).
            ("oct25-0030", "2026-10-24T21:30:00Z", 60),
            // 2026-10-25 01:30 local, the first time (+03:00).
            ("oct25-0130-first", "2026-10-24T22:30:00Z", 60),
            // 2026-10-25 01:30 local, the second time (+02:00).
            ("oct25-0130-second", "2026-10-24T23:30:00Z", 60),
            // 2026-10-25 23:30 local (+02:00).
            ("oct25-2330", "2026-10-25T21:30:00Z", 60),
            // 2026-10-26 00:00 local (+02:00).
            ("oct26-0000", "2026-10-25T22:00:00Z", 60),
        ],
    );
    assert_eq!(
        calls_in(&state, "2026-10-25"),
        set(&[
            "oct25-0030",
            "oct25-0130-first",
            "oct25-0130-second",
            "oct25-2330"
        ])
    );
    assert_eq!(calls_in(&state, "2026-10-24"), set(&["oct24-2359"]));
    assert_eq!(calls_in(&state, "2026-10-26"), set(&["oct26-0000"]));
    assert_eq!(calls_in(&state, "2026-10").len(), 6);
    assert_eq!(
        period_bounds(&state, "2026-10-25"),
        (
            "2026-10-25T00:00:00+03:00".to_owned(),
            "2026-10-26T00:00:00+02:00".to_owned()
        )
    );
    assert_eq!(
        period_bounds(&state, "2026-10-26"),
        (
            "2026-10-26T00:00:00+02:00".to_owned(),
            "2026-10-27T00:00:00+02:00".to_owned()
        )
    );
}

#[test]
fn the_day_summer_time_starts_has_23_hours() {
    let work = tempfile::tempdir().unwrap();
    // On Friday 2026-03-27 Israel starts summer time: at 02:00 (+02:00) clocks jump to
    // 03:00 (+03:00).
    let state = replay_calls(
        work.path(),
        &[
            // 2026-03-26 23:59 local (+02:00).
            ("mar26-2359", "2026-03-26T21:59:00Z", 60),
            // 2026-03-27 01:30 local (+02:00), before the jump.
            ("mar27-0130", "2026-03-26T23:30:00Z", 60),
            // 2026-03-27 03:30 local (+03:00), after it.
            ("mar27-0330", "2026-03-27T00:30:00Z", 60),
            // 2026-03-27 23:59 local (+03:00).
            ("mar27-2359", "2026-03-27T20:59:00Z", 60),
            // 2026-03-28 00:00 local (+03:00).
            ("mar28-0000", "2026-03-27T21:00:00Z", 60),
        ],
    );
    assert_eq!(
        calls_in(&state, "2026-03-27"),
        set(&["mar27-0130", "mar27-0330", "mar27-2359"])
    );
    assert_eq!(calls_in(&state, "2026-03-26"), set(&["mar26-2359"]));
    assert_eq!(calls_in(&state, "2026-03-28"), set(&["mar28-0000"]));
    assert_eq!(
        period_bounds(&state, "2026-03-27"),
        (
            "2026-03-27T00:00:00+02:00".to_owned(),
            "2026-03-28T00:00:00+03:00".to_owned()
        )
    );
    assert_eq!(
        period_bounds(&state, "2026-03"),
        (
            "2026-03-01T00:00:00+02:00".to_owned(),
            "2026-04-01T00:00:00+03:00".to_owned()
        )
    );
}
