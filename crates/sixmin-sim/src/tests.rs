//! Properties of the generated streams.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, TimeZone};
use serde_json::Value;

use super::*;

const MILLI: i64 = 1_000_000;
const SECOND: i64 = 1_000 * MILLI;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// Every event type of the contract, in contract order.
const EVENT_KINDS: [&str; 11] = [
    "call_started",
    "topic_selected",
    "queued",
    "announcement_played",
    "callback_requested",
    "transferred",
    "answered",
    "abandoned",
    "callback_attempted",
    "sms_sent",
    "ended",
];

/// A stream without injected faults, delays or duplicates.
fn clean(seed: u64, calls_per_day: u32, days: u32, overload: bool) -> SimConfig {
    SimConfig {
        seed,
        calls_per_day,
        days,
        overload,
        faults: false,
        jitter_share: 0.0,
        duplicate_share: 0.0,
        ..SimConfig::default()
    }
}

#[derive(Debug)]
struct Parsed {
    event_id: String,
    call_id: String,
    kind: String,
    ts: i64,
    topic: Option<String>,
    outcome: Option<String>,
}

fn parse(events: &[SimEvent]) -> Vec<Parsed> {
    events
        .iter()
        .map(|event| {
            let value: Value = serde_json::from_str(&event.line).unwrap();
            let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
            assert_eq!(value["v"], 1, "{}", event.line);
            assert_eq!(text("ts").unwrap(), format_ts(event.ts));
            Parsed {
                event_id: text("event_id").unwrap(),
                call_id: text("call_id").unwrap(),
                kind: text("type").unwrap(),
                ts: event.ts,
                topic: text("topic"),
                outcome: text("outcome"),
            }
        })
        .collect()
}

/// The events of each call, in time order (duplicates removed).
fn by_call(events: &[Parsed]) -> BTreeMap<&str, Vec<&Parsed>> {
    let mut calls: BTreeMap<&str, Vec<&Parsed>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for event in events {
        if seen.insert(event.event_id.as_str()) {
            calls.entry(&event.call_id).or_default().push(event);
        }
    }
    for list in calls.values_mut() {
        list.sort_by_key(|event| (event.ts, event.event_id.clone()));
    }
    calls
}

fn first(call: &[&Parsed], kinds: &[&str]) -> Option<i64> {
    call.iter()
        .filter(|event| kinds.contains(&event.kind.as_str()))
        .map(|event| event.ts)
        .min()
}

/// Wait (ns) and limit (ns) of a call with a start and a stop, as the rules read them.
fn wait_and_limit(call: &[&Parsed]) -> Option<(i64, i64, String)> {
    let start = first(call, &["call_started"])?;
    let stop = first(call, &["answered", "abandoned", "callback_requested"])?;
    let topics: Vec<&&Parsed> = call
        .iter()
        .filter(|event| event.kind == "topic_selected")
        .collect();
    let topic = topics
        .iter()
        .rev()
        .find(|event| event.ts <= stop)
        .or_else(|| topics.first())
        .and_then(|event| event.topic.clone())
        .unwrap_or_else(|| "general".to_owned());
    let topic = match topic.as_str() {
        "repair" | "תקלה" => "fault".to_owned(),
        _ => topic,
    };
    let limit = match topic.as_str() {
        "fault" | "billing" | "cancellation" => 360 * SECOND,
        _ => 180 * SECOND,
    };
    Some((stop - start, limit, topic))
}

#[test]
fn the_same_config_gives_the_same_bytes() {
    let config = SimConfig {
        calls_per_day: 300,
        days: 2,
        ..SimConfig::default()
    };
    let events = generate(&config);
    assert!(events.len() > 1000);
    assert_eq!(events, generate(&config));
    let streamed: Vec<SimEvent> = Simulator::new(config.clone()).collect();
    assert_eq!(events, streamed);
    let other = SimConfig {
        seed: 2,
        ..config.clone()
    };
    assert_ne!(events, generate(&other));
}

#[test]
fn events_arrive_in_order_within_the_jitter() {
    let config = SimConfig {
        calls_per_day: 400,
        days: 2,
        jitter_share: 0.2,
        duplicate_share: 0.05,
        ..SimConfig::default()
    };
    let max_jitter = config.max_jitter_ms * MILLI;
    let mut newest = i64::MIN;
    for event in generate(&config) {
        assert!(event.ts + max_jitter >= newest, "{}", event.line);
        newest = newest.max(event.ts);
    }
    let mut simulator = Simulator::new(config);
    let mut previous = i64::MIN;
    let mut delayed = 0;
    while let Some((arrival, event)) = simulator.next_with_arrival() {
        assert!(arrival >= previous, "arrival order");
        assert!(event.ts <= arrival && arrival < event.ts + max_jitter);
        delayed += usize::from(arrival > event.ts);
        previous = arrival;
    }
    assert!(delayed > 100);
}

#[test]
fn lines_follow_the_v1_contract_and_ids_are_unique() {
    let config = SimConfig {
        calls_per_day: 500,
        days: 2,
        duplicate_share: 0.0,
        ..SimConfig::default()
    };
    let events = generate(&config);
    let kinds = EVENT_KINDS;
    let mut ids = BTreeSet::new();
    for event in &events {
        let value: Value = serde_json::from_str(&event.line).unwrap();
        let object = value.as_object().unwrap();
        for key in object.keys() {
            assert!(
                [
                    "v", "event_id", "call_id", "type", "ts", "tenant", "queue", "topic", "agent",
                    "outcome"
                ]
                .contains(&key.as_str()),
                "{key}"
            );
        }
        assert!(kinds.contains(&object["type"].as_str().unwrap()));
        let ts = object["ts"].as_str().unwrap();
        assert_eq!(ts.len(), "2026-10-04T09:15:02.250Z".len(), "{ts}");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok());
        if object.contains_key("tenant") {
            assert_eq!(object["type"], "call_started");
        }
        if let Some(outcome) = object.get("outcome") {
            assert_eq!(object["type"], "callback_attempted");
            assert!(outcome == "reached" || outcome == "no_answer");
        }
        let id = object["event_id"].as_str().unwrap().to_owned();
        assert!(id.starts_with(object["call_id"].as_str().unwrap()));
        assert!(ids.insert(id), "unique event ids");
    }
    // Duplicates, when asked for, are exact copies.
    let doubled = generate(&SimConfig {
        duplicate_share: 0.05,
        ..config
    });
    let mut lines = BTreeMap::new();
    let mut copies = 0;
    for event in &doubled {
        let id = parse(std::slice::from_ref(event)).remove(0).event_id;
        if let Some(line) = lines.insert(id, event.line.clone()) {
            assert_eq!(line, event.line);
            copies += 1;
        }
    }
    assert!(copies > 50, "{copies}");
}

#[test]
fn no_event_precedes_its_start_but_a_skewed_answer() {
    let config = SimConfig {
        calls_per_day: 2000,
        days: 3,
        ..SimConfig::default()
    };
    let events = parse(&generate(&config));
    let mut skewed = 0;
    for call in by_call(&events).values() {
        let Some(start) = first(call, &["call_started"]) else {
            continue;
        };
        for event in call {
            if event.ts < start {
                assert_eq!(event.kind, "answered", "{event:?}");
                assert_eq!(event.ts, start - 2 * SECOND);
                skewed += 1;
            }
        }
    }
    assert!(skewed > 0, "the skew fault occurs");
}

/// What the engine's order tests rely on: every event of a call is stamped at most 30
/// minutes after the call's close.
#[test]
fn every_event_is_stamped_within_half_an_hour_of_its_calls_close() {
    for seed in [1, 2, 3] {
        let config = SimConfig {
            seed,
            calls_per_day: 1500,
            days: 2,
            ..SimConfig::default()
        };
        let events = parse(&generate(&config));
        for call in by_call(&events).values() {
            let start = first(call, &["call_started"]);
            let stop = call
                .iter()
                .filter(|event| {
                    ["answered", "abandoned", "callback_requested"].contains(&event.kind.as_str())
                })
                .min_by_key(|event| event.ts);
            let ended = call
                .iter()
                .filter(|event| event.kind == "ended")
                .map(|event| event.ts)
                .max();
            let earliest = call[0].ts;
            let close = match (start, stop) {
                (None, _) => earliest + 6 * HOUR,
                (Some(start), None) => ended.unwrap_or(start + 6 * HOUR),
                (Some(_), Some(stop)) if stop.kind == "callback_requested" => {
                    let attempt = call
                        .iter()
                        .find(|event| event.kind == "callback_attempted")
                        .filter(|attempt| {
                            attempt.ts <= stop.ts + 3 * HOUR
                                && attempt.outcome.as_deref() == Some("reached")
                        });
                    match attempt {
                        Some(attempt) => attempt.ts.max(ended.unwrap_or(stop.ts)),
                        None => stop.ts + 3 * HOUR + 10 * MINUTE,
                    }
                }
                (Some(_), Some(stop)) => stop.ts.max(ended.unwrap_or(stop.ts)),
            };
            for event in call {
                assert!(event.ts <= close + 30 * MINUTE, "{event:?}");
            }
        }
    }
}

/// Per limit class: the share of calls with a stop whose wait passed the given time.
fn share_waiting_over(events: &[Parsed], topics: &[&str], over: i64) -> (f64, usize) {
    let mut total = 0;
    let mut long = 0;
    for call in by_call(events).values() {
        if let Some((wait, _, topic)) = wait_and_limit(call) {
            if topics.contains(&topic.as_str()) {
                total += 1;
                long += usize::from(wait > over);
            }
        }
    }
    (long as f64 / total.max(1) as f64, total)
}

#[test]
fn an_overload_makes_callers_wait_past_the_limits() {
    // Sunday to Thursday, each with its spike.
    let events = parse(&generate(&clean(5, 600, 5, true)));
    let (six, calls) =
        share_waiting_over(&events, &["fault", "billing", "cancellation"], 360 * SECOND);
    assert!(calls > 500, "{calls}");
    assert!(six > 0.03, "{six} of 6-minute calls waited over 6 minutes");
    let (three, calls) = share_waiting_over(&events, &["general"], 180 * SECOND);
    assert!(calls > 200, "{calls}");
    assert!(
        three > 0.03,
        "{three} of general calls waited over 3 minutes"
    );
}

#[test]
fn without_overload_most_calls_are_answered_within_the_limits() {
    for calls_per_day in [120, 1000, 4000] {
        let events = parse(&generate(&clean(9, calls_per_day, 2, false)));
        let calls = by_call(&events);
        let mut within = 0;
        let mut breached = 0;
        for call in calls.values() {
            let answered = first(call, &["answered"]);
            if let Some((wait, limit, _)) = wait_and_limit(call) {
                within += usize::from(answered.is_some() && wait <= limit);
                breached += usize::from(wait > limit);
            }
        }
        let share = within as f64 / calls.len() as f64;
        assert!(
            share > 0.9,
            "{calls_per_day}/day: {share} answered within the limits"
        );
        assert!(
            breached * 100 < calls.len() * 3,
            "{calls_per_day}/day: {breached} breaches"
        );
    }
}

#[test]
fn the_week_is_israeli_saturday_closed_friday_short() {
    // 2026-10-04 is a Sunday; a week of calls.
    let config = clean(3, 400, 7, true);
    let zone = config.timezone;
    let events = parse(&generate(&config));
    let mut per_weekday = [0usize; 7];
    for event in events.iter().filter(|event| event.kind == "call_started") {
        let local = zone.timestamp_nanos(event.ts);
        let weekday = local.weekday().num_days_from_sunday() as usize;
        per_weekday[weekday] += 1;
        let hour = chrono::Timelike::hour(&local);
        let closing = if weekday == 5 { 13 } else { 20 };
        assert!((8..closing).contains(&hour), "{event:?} at {local}");
    }
    assert_eq!(per_weekday[6], 0, "Saturday is closed");
    assert!(per_weekday[5] * 2 < per_weekday[1], "{per_weekday:?}");
    assert!(per_weekday[0] > per_weekday[4], "{per_weekday:?}");
    for weekday in 0..5 {
        assert!(
            (300..560).contains(&per_weekday[weekday]),
            "{per_weekday:?}"
        );
    }
}

#[test]
fn a_two_day_run_has_every_kind_of_event() {
    let config = SimConfig {
        days: 2,
        ..SimConfig::default()
    };
    let events = parse(&generate(&config));
    let count = |kind: &str| events.iter().filter(|event| event.kind == kind).count();
    for kind in EVENT_KINDS {
        assert!(count(kind) > 0, "no {kind}");
    }
    let outcomes: BTreeSet<&str> = events
        .iter()
        .filter_map(|event| event.outcome.as_deref())
        .collect();
    assert_eq!(outcomes, BTreeSet::from(["no_answer", "reached"]));
    let topics: BTreeSet<&str> = events
        .iter()
        .filter_map(|event| event.topic.as_deref())
        .collect();
    for topic in [
        "fault",
        "repair",
        "תקלה",
        "billing",
        "cancellation",
        "general",
        "sales",
    ] {
        assert!(topics.contains(topic), "no {topic} in {topics:?}");
    }
}

#[test]
fn callbacks_are_made_within_three_hours_but_a_few() {
    let events = parse(&generate(&clean(11, 1500, 3, true)));
    let mut in_time = 0;
    let mut late = 0;
    for call in by_call(&events).values() {
        let Some(request) = first(call, &["callback_requested"]) else {
            continue;
        };
        let attempt = first(call, &["callback_attempted"]).unwrap();
        assert!(attempt > request && attempt <= request + 3 * HOUR + 20 * MINUTE);
        if attempt <= request + 3 * HOUR {
            in_time += 1;
        } else {
            late += 1;
        }
        let no_answer = call
            .iter()
            .any(|event| event.outcome.as_deref() == Some("no_answer"));
        if let Some(sms) = first(call, &["sms_sent"]) {
            assert!(no_answer);
            assert!(sms > attempt && sms <= attempt + 12 * MINUTE);
        }
    }
    assert!(
        in_time > 20 * late.max(1) / 2,
        "{in_time} in time, {late} late"
    );
    assert!(late > 0);
}

#[test]
fn an_endless_run_goes_on_past_its_days() {
    let config = SimConfig {
        days: 1,
        run_forever: true,
        calls_per_day: 100,
        ..SimConfig::default()
    };
    let first_day = config.first_day;
    let zone = config.timezone;
    let mut simulator = Simulator::new(config);
    let mut days = BTreeSet::new();
    for event in simulator.by_ref().take(20_000) {
        let day: NaiveDate = zone.timestamp_nanos(event.ts).date_naive();
        days.insert(day);
    }
    assert!(days.len() > 10, "{days:?}");
    assert!(days.iter().all(|day| *day >= first_day));
    assert!(simulator.next_event().is_some());
}

#[test]
fn explicit_pools_are_used() {
    let mut config = clean(4, 400, 1, false);
    config.pools = vec![AgentPool {
        queue: "billing".to_owned(),
        shifts: vec![Shift {
            days: 0b0111_1111,
            start_minute: 8 * 60,
            end_minute: 21 * 60,
            agents: 3,
        }],
    }];
    let events = generate(&config);
    let agents: BTreeSet<String> = events
        .iter()
        .filter(|event| event.line.contains(r#""type":"answered""#))
        .map(|event| {
            let value: Value = serde_json::from_str(&event.line).unwrap();
            value["agent"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        agents,
        BTreeSet::from([
            "billing-01".to_owned(),
            "billing-02".into(),
            "billing-03".into()
        ])
    );
}
