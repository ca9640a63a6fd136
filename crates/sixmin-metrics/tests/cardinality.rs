//! Label cardinality stays bounded however many queues the events name: with the default
//! [`LabelLimits`], callers waiting in 1 000 queues give at most tenants × topics × (queue
//! cap + 1) series of `sixmin_calls_waiting`, queues past the cap are reported as
//! `queue="other"`, and no caller is lost on the way.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use prometheus::Registry;
use sixmin_core::time::{format_utc, parse_rfc3339, NANOS_PER_MILLI};
use sixmin_core::{decode_event, Engine, EngineConfig, Output};
use sixmin_metrics::{encode_text, LabelLimits, LiveWindows, Metrics, OTHER};

/// Callers left waiting.
const CALLS: usize = 5_000;
/// Distinct queues they wait in.
const QUEUES: usize = 1_000;
/// Distinct tenants.
const TENANTS: usize = 2;
/// Topics selected: the pack's own, its fallback, and one it does not list.
const TOPICS: [&str; 5] = ["fault", "billing", "cancellation", "general", "sales"];

/// The events of calls `first..first + count`, none answered: call `i` is in tenant
/// `i % 2`, topic `(i / 1000) % 5` and queue `q-{i % queues}`, so every (topic, queue)
/// pair holds one caller and each (tenant, topic) many queues. Calls start 50 ms apart
/// and are queued 15 s after starting, all within a few minutes of event time.
fn waiting_calls(first: usize, count: usize, queues: usize) -> Vec<String> {
    let start_of_day = parse_rfc3339("2026-10-05T09:00:00Z").unwrap();
    let mut lines = Vec::with_capacity(count * 3);
    for index in first..first + count {
        let start = start_of_day + index as i64 * 50 * NANOS_PER_MILLI;
        let queued = start + 15_000 * NANOS_PER_MILLI;
        let call = format!("c{index:05}");
        lines.push(format!(
            r#"{{"v":1,"event_id":"{call}:1","call_id":"{call}","type":"call_started","ts":"{}","tenant":"t{}"}}"#,
            format_utc(start),
            index % TENANTS
        ));
        lines.push(format!(
            r#"{{"v":1,"event_id":"{call}:2","call_id":"{call}","type":"topic_selected","ts":"{}","topic":"{}"}}"#,
            format_utc(queued),
            TOPICS[(index / 1_000) % TOPICS.len()]
        ));
        lines.push(format!(
            r#"{{"v":1,"event_id":"{call}:3","call_id":"{call}","type":"queued","ts":"{}","queue":"q-{:04}"}}"#,
            format_utc(queued),
            index % queues
        ));
    }
    lines
}

/// Feeds `lines`, handing live breaches to the metrics, then refreshes them.
fn feed(engine: &mut Engine, metrics: &mut Metrics, lines: &[String]) {
    let mut outputs = Vec::new();
    for line in lines {
        engine.ingest(&decode_event(line.as_bytes()).unwrap(), &mut outputs);
    }
    engine.settle(&mut outputs);
    for output in outputs {
        if let Output::LiveBreach(breach) = output {
            metrics.observe_live_breach(&breach);
        }
    }
    metrics.refresh(
        engine,
        &LiveWindows::default(),
        &engine.waiting_now(),
        engine.calendar_tallies().as_ref(),
    );
}

/// The samples of `family` in the exposition: (label name → value) pairs and the value.
fn samples(text: &str, family: &str) -> Vec<(Vec<(String, String)>, f64)> {
    let prefix = format!("{family}{{");
    text.lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .map(|rest| {
            let (labels, value) = rest.rsplit_once("} ").unwrap();
            let labels = labels
                .split("\",")
                .map(|pair| {
                    let (name, value) = pair.split_once("=\"").unwrap();
                    (name.to_owned(), value.trim_end_matches('"').to_owned())
                })
                .collect();
            (labels, value.parse().unwrap())
        })
        .collect()
}

fn label<'a>(labels: &'a [(String, String)], name: &str) -> &'a str {
    labels
        .iter()
        .find(|(label, _)| label == name)
        .map(|(_, value)| value.as_str())
        .unwrap()
}

/// Checks the waiting gauges of `text` against the default caps; returns the series count.
fn assert_bounded(text: &str, callers: usize) -> usize {
    let defaults = LabelLimits::default();
    let waiting = samples(text, "sixmin_calls_waiting");
    let tenants: BTreeSet<&str> = waiting.iter().map(|(l, _)| label(l, "tenant")).collect();
    let topics: BTreeSet<&str> = waiting.iter().map(|(l, _)| label(l, "topic")).collect();
    let queues: BTreeSet<&str> = waiting.iter().map(|(l, _)| label(l, "queue")).collect();
    assert_eq!(tenants.len(), TENANTS);
    assert_eq!(topics.len(), TOPICS.len());
    let bound = tenants.len() * topics.len() * (defaults.queues + 1);
    assert!(
        waiting.len() <= bound,
        "{} sixmin_calls_waiting series, more than {bound}",
        waiting.len()
    );
    // Exactly the cap of queues is named; every other queue is folded into `other`.
    assert!(queues.contains(OTHER), "no queue=\"other\" series");
    assert_eq!(queues.len(), defaults.queues + 1, "{queues:?}");
    let in_other: f64 = waiting
        .iter()
        .filter(|(labels, _)| label(labels, "queue") == OTHER)
        .map(|(_, value)| value)
        .sum();
    assert!(in_other > 0.0);
    // Folding loses no caller.
    let total: f64 = waiting.iter().map(|(_, value)| value).sum();
    assert_eq!(total, callers as f64);
    // The oldest wait has the same labels, so the same bound.
    let oldest = samples(text, "sixmin_oldest_wait_seconds");
    assert_eq!(oldest.len(), waiting.len());
    waiting.len()
}

#[test]
fn waiting_series_are_bounded_by_the_caps_and_the_rest_is_other() {
    let registry = Registry::new();
    let pack = sixmin_config::builtin_pack();
    let mut metrics = Metrics::register(&registry, &pack, LabelLimits::default()).unwrap();
    let mut engine = Engine::new(pack, EngineConfig::default());
    feed(&mut engine, &mut metrics, &waiting_calls(0, CALLS, QUEUES));
    assert_eq!(engine.open_calls(), CALLS);
    let text = encode_text(&registry);
    let series = assert_bounded(&text, CALLS);
    assert!(series < CALLS, "{series} series for {CALLS} callers");

    // Later callers in queues never seen before add no series: the cap is spent.
    feed(
        &mut engine,
        &mut metrics,
        &waiting_calls(CALLS, 1_000, 2 * QUEUES),
    );
    let text = encode_text(&registry);
    assert_eq!(assert_bounded(&text, CALLS + 1_000), series);
}

#[test]
fn without_the_cap_the_same_callers_would_give_a_series_per_queue() {
    // The control: the input really exceeds the bound, so the test above tests the cap.
    let registry = Registry::new();
    let pack = sixmin_config::builtin_pack();
    let limits = LabelLimits {
        queues: QUEUES,
        ..LabelLimits::default()
    };
    let mut metrics = Metrics::register(&registry, &pack, limits).unwrap();
    let mut engine = Engine::new(pack, EngineConfig::default());
    feed(&mut engine, &mut metrics, &waiting_calls(0, CALLS, QUEUES));
    let waiting = samples(&encode_text(&registry), "sixmin_calls_waiting");
    let bound = TENANTS * TOPICS.len() * (LabelLimits::default().queues + 1);
    assert_eq!(waiting.len(), CALLS);
    assert!(waiting.len() > bound);
    assert!(waiting
        .iter()
        .all(|(labels, _)| label(labels, "queue") != OTHER));
}
