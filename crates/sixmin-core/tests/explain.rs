//! `explain` agrees with the verdict for every call: the rules it shows broken are exactly
//! the verdict's breaches, its events are the verdict's evidence, and its arithmetic reads
//! as an auditor would check it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{at, call, israeli_pack, run_all};
use sixmin_core::explain::{duration_text, CheckResult};
use sixmin_core::{decode_event, explain, Engine, EngineConfig, Event, Flag, Output};
use sixmin_sim::{generate, SimConfig};

#[test]
fn every_simulated_call_is_explained_exactly_as_it_was_judged() {
    let config = SimConfig {
        seed: 11,
        calls_per_day: 400,
        days: 3,
        ..SimConfig::default()
    };
    let mut lines = generate(&config);
    lines.sort_by(|a, b| (a.ts, &a.line).cmp(&(b.ts, &b.line)));
    let events: Vec<Event<'static>> = lines
        .iter()
        .map(|event| decode_event(event.line.as_bytes()).unwrap().into_owned())
        .collect();
    let mut engine = Engine::new(israeli_pack(), EngineConfig::default());
    let mut outputs = Vec::new();
    for event in &events {
        engine.ingest(event, &mut outputs);
    }
    engine.finish(&mut outputs);
    let mut by_call: BTreeMap<&str, Vec<Event<'static>>> = BTreeMap::new();
    for event in &events {
        by_call
            .entry(&event.call_id)
            .or_default()
            .push(event.clone());
    }
    let (mut explained, mut breached) = (0, 0);
    for output in outputs {
        let Output::Verdict(verdict) = output else {
            continue;
        };
        // Calls with a dead-lettered late event are judged without it; skip those.
        if verdict.flags.contains(&Flag::LateEvents) {
            continue;
        }
        let explanation = explain(&israeli_pack(), &by_call[verdict.call_id.as_str()]).unwrap();
        assert_eq!(
            explanation.breaches, verdict.breaches,
            "{}",
            verdict.call_id
        );
        let broken: Vec<&str> = explanation
            .checks
            .iter()
            .filter(|check| check.result == CheckResult::Broken)
            .map(|check| check.rule.as_str())
            .collect();
        assert_eq!(broken, verdict.breaches, "checks of {}", verdict.call_id);
        let ids: Vec<&str> = explanation
            .events
            .iter()
            .map(|e| e.event_id.as_str())
            .collect();
        assert_eq!(ids, verdict.events, "evidence of {}", verdict.call_id);
        assert_eq!(explanation.limit_ms, verdict.limit_ms);
        assert_eq!(explanation.topic, verdict.topic);
        explained += 1;
        breached += usize::from(!verdict.breaches.is_empty());
    }
    assert!(
        explained > 1000 && breached > 50,
        "{explained} calls, {breached} breached"
    );
}

#[test]
fn the_arithmetic_reads_as_an_auditor_checks_it() {
    let start = at("2026-10-05T07:00:00Z");
    let second = 1_000_000_000;
    let events = call("c-1")
        .started(start)
        .topic(start + 20 * second, "billing")
        .announced(start + 150 * second)
        .answered(start + 400_200_000_000)
        .ended(start + 500 * second)
        .events;
    let (_, verdicts, _) = run_all(&events);
    let explanation = explain(&israeli_pack(), &events).unwrap();
    assert_eq!(explanation.breaches, verdicts[0].breaches);
    assert_eq!(explanation.checks[0].rule, "IL-6MIN");
    assert_eq!(
        explanation.checks[0].reason,
        "answered 400.2 s after dialing > 360 s"
    );
    assert_eq!(explanation.checks[1].rule, "IL-ANNOUNCE");
    assert_eq!(
        explanation.checks[1].reason,
        "first recorded message 150 s after dialing > 120 s"
    );
    assert_eq!(explanation.events[3].after_dialing_ms, Some(400_200));
    assert_eq!(duration_text(3 * 3_600 * second), "3 h");
    assert_eq!(duration_text(1), "0.001 s");
}
