//! The registry follows the naming rules, and the metrics move with the engine.
#![allow(clippy::unwrap_used)]

use prometheus::proto::MetricType;
use prometheus::Registry;
use sixmin_core::{decode_event, Engine, EngineConfig, Output};
use sixmin_metrics::{encode_text, LabelLimits, LiveWindows, Metrics};

const EVENTS: &str = r#"{"v":1,"event_id":"e1","call_id":"c1","type":"call_started","ts":"2026-10-04T09:00:00Z","tenant":"acme"}
{"v":1,"event_id":"e2","call_id":"c1","type":"topic_selected","ts":"2026-10-04T09:00:20Z","topic":"billing"}
{"v":1,"event_id":"e3","call_id":"c1","type":"queued","ts":"2026-10-04T09:00:20Z","queue":"billing"}
{"v":1,"event_id":"e4","call_id":"c1","type":"answered","ts":"2026-10-04T09:06:40Z"}
{"v":1,"event_id":"e5","call_id":"c1","type":"ended","ts":"2026-10-04T09:10:00Z"}
{"v":1,"event_id":"f1","call_id":"c2","type":"call_started","ts":"2026-10-04T09:05:00Z","tenant":"acme"}
{"v":1,"event_id":"f2","call_id":"c2","type":"queued","ts":"2026-10-04T09:05:10Z","queue":"service"}
"#;

fn run() -> (Registry, Metrics, Engine) {
    let registry = Registry::new();
    let pack = sixmin_config::builtin_pack();
    let mut metrics = Metrics::register(&registry, &pack, LabelLimits::default()).unwrap();
    let config = EngineConfig {
        emit_stops: true,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(pack, config);
    let mut windows = LiveWindows::default();
    let mut outputs = Vec::new();
    for line in EVENTS.lines() {
        engine.ingest(&decode_event(line.as_bytes()).unwrap(), &mut outputs);
    }
    engine.note_invalid("not_json");
    engine.advance_to(
        sixmin_core::time::parse_rfc3339("2026-10-04T09:12:00Z").unwrap(),
        &mut outputs,
    );
    engine.finish(&mut outputs);
    for output in outputs {
        match output {
            Output::Verdict(verdict) => metrics.observe_verdict(&verdict),
            Output::LiveBreach(breach) => metrics.observe_live_breach(&breach),
            Output::Stopped(stop) => windows.record(&stop),
        }
    }
    metrics.refresh(
        &engine,
        &windows,
        &engine.waiting_now(),
        engine.calendar_tallies().as_ref(),
    );
    (registry, metrics, engine)
}

#[test]
fn every_family_is_named_sixmin_with_help_and_counters_end_in_total() {
    let (registry, _, _) = run();
    let families = registry.gather();
    // Families with no series yet are not exposed; these all have some.
    assert!(families.len() >= 10, "{}", families.len());
    for family in &families {
        let name = family.name();
        assert!(name.starts_with("sixmin_"), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}"
        );
        assert!(!family.help().is_empty(), "{name} has no help");
        if family.get_field_type() == MetricType::COUNTER {
            assert!(name.ends_with("_total"), "counter {name}");
        }
    }
}

#[test]
fn verdicts_live_breaches_and_gauges_are_published() {
    let (registry, _, _) = run();
    let text = encode_text(&registry);
    let has = |line: &str| text.lines().any(|l| l == line);
    assert!(
        has(r#"sixmin_calls_total{outcome="answered",tenant="acme",topic="billing"} 1"#),
        "{text}"
    );
    assert!(has(
        r#"sixmin_breaches_total{rule="IL-6MIN",tenant="acme",topic="billing"} 1"#
    ));
    assert!(has(
        r#"sixmin_breaches_total{rule="IL-ANNOUNCE",tenant="acme",topic="billing"} 1"#
    ));
    // c2 was still waiting (general, 3 minutes) when the clock passed 09:08.
    assert!(has(
        r#"sixmin_live_breaches_total{rule="IL-3MIN",tenant="acme",topic="general"} 1"#
    ));
    assert!(has(
        r#"sixmin_live_breaches_total{rule="IL-6MIN",tenant="acme",topic="billing"} 1"#
    ));
    assert!(has(r#"sixmin_events_total{result="accepted"} 7"#));
    assert!(has(r#"sixmin_invalid_events_total{reason="not_json"} 1"#));
    assert!(has(
        r#"sixmin_compliance_ratio{tenant="acme",topic="billing",window="day"} 0"#
    ));
    assert!(text.contains(
        r#"sixmin_answer_wait_seconds_bucket{tenant="acme",topic="billing",le="360"} 0"#
    ));
    assert!(text.contains(
        r#"sixmin_answer_wait_seconds_bucket{tenant="acme",topic="billing",le="480"} 1"#
    ));
    // The answer at 09:06:40 is in the last hour of the clock (09:12), not its last 5 minutes.
    assert!(
        has(
            r#"sixmin_wait_quantile_seconds{tenant="acme",topic="billing",window="1h",quantile="0.95"} 400"#
        ),
        "{text}"
    );
    assert!(has(
        r#"sixmin_wait_quantile_seconds_count{tenant="acme",topic="billing",window="1h"} 1"#
    ));
    assert!(has(
        r#"sixmin_wait_quantile_seconds_sum{tenant="acme",topic="billing",window="1h"} 400"#
    ));
    assert!(!text.contains(r#"topic="billing",window="5m""#));
    // c1 started on Sunday 2026-10-04 at 12:00 in Jerusalem (09:00Z) and breached.
    for window in ["day", "month"] {
        let line = format!(
            r#"sixmin_breached_calls_by_hour{{tenant="acme",topic="billing",window="{window}",weekday="sun",hour="12"}} 1"#
        );
        assert!(has(&line), "{line} in {text}");
    }
    assert!(!text.contains(r#"topic="billing",window="month",weekday="sun",hour="09""#));
    assert!(has(
        r#"sixmin_breached_calls_by_queue{tenant="acme",topic="billing",window="month",queue="billing"} 1"#
    ));
}

#[test]
fn label_values_beyond_the_cap_become_other() {
    let registry = Registry::new();
    let pack = sixmin_config::builtin_pack();
    let limits = LabelLimits {
        tenants: 2,
        topics: 0,
        queues: 1,
    };
    let mut metrics = Metrics::register(&registry, &pack, limits).unwrap();
    let mut engine = Engine::new(pack, EngineConfig::default());
    let mut outputs = Vec::new();
    for tenant in 0..5 {
        let line = format!(
            r#"{{"v":1,"event_id":"s{tenant}","call_id":"k{tenant}","type":"call_started","ts":"2026-10-04T09:00:00Z","tenant":"t{tenant}"}}"#
        );
        engine.ingest(&decode_event(line.as_bytes()).unwrap(), &mut outputs);
        let line = format!(
            r#"{{"v":1,"event_id":"a{tenant}","call_id":"k{tenant}","type":"answered","ts":"2026-10-04T09:00:10Z"}}"#
        );
        engine.ingest(&decode_event(line.as_bytes()).unwrap(), &mut outputs);
    }
    engine.finish(&mut outputs);
    for output in outputs {
        if let Output::Verdict(verdict) = output {
            metrics.observe_verdict(&verdict);
        }
    }
    let text = encode_text(&registry);
    assert!(
        text.contains(r#"sixmin_calls_total{outcome="answered",tenant="other",topic="general"} 3"#),
        "{text}"
    );
    assert!(text.contains(r#"tenant="t0""#) && text.contains(r#"tenant="t1""#));
    assert!(!text.contains(r#"tenant="t2""#));
}

#[test]
fn a_scrape_during_a_refresh_sees_a_whole_refresh() {
    let registry = Registry::new();
    let pack = sixmin_config::builtin_pack();
    let mut metrics = Metrics::register(&registry, &pack, LabelLimits::default()).unwrap();
    let mut engine = Engine::new(pack, EngineConfig::default());
    let mut outputs = Vec::new();
    let callers = 3000;
    for call in 0..callers {
        let line = format!(
            r#"{{"v":1,"event_id":"s{call}","call_id":"w{call}","type":"call_started","ts":"2026-10-04T09:00:00Z","queue":"q{}"}}"#,
            call % 300
        );
        engine.ingest(&decode_event(line.as_bytes()).unwrap(), &mut outputs);
    }
    let windows = LiveWindows::default();
    metrics.refresh(
        &engine,
        &windows,
        &engine.waiting_now(),
        engine.calendar_tallies().as_ref(),
    );
    let scraper = {
        let registry = registry.clone();
        std::thread::spawn(move || {
            let mut totals = Vec::new();
            for _ in 0..300 {
                let total: f64 = registry
                    .gather()
                    .iter()
                    .filter(|family| family.name() == "sixmin_calls_waiting")
                    .flat_map(|family| family.get_metric().iter())
                    .map(|metric| metric.get_gauge().get_value())
                    .sum();
                totals.push(total);
            }
            totals
        })
    };
    for _ in 0..30 {
        metrics.refresh(
            &engine,
            &windows,
            &engine.waiting_now(),
            engine.calendar_tallies().as_ref(),
        );
    }
    let totals = scraper.join().unwrap();
    assert!(
        totals.iter().all(|total| *total == callers as f64),
        "a scrape saw a partial refresh: {:?}",
        totals
            .iter()
            .filter(|total| **total != callers as f64)
            .take(5)
            .collect::<Vec<_>>()
    );
}
