//! The engine never panics on input: arbitrary bytes into the decoder, and arbitrary
//! valid events (any order, any instants in the representable range, any mix of types)
//! through ingest, clock moves, end of stream, snapshot and restore, and reports.
#![allow(clippy::unwrap_used)]

mod common;

use common::israeli_pack;
use proptest::prelude::*;
use sixmin_core::{
    decode_event, CallbackOutcome, Engine, EngineConfig, Event, EventKind, Output, Period,
};

/// Instants across the whole range an RFC 3339 timestamp can decode to (1677–2262),
/// mixed with instants close together so that calls actually form.
fn instant() -> impl Strategy<Value = i64> {
    prop_oneof![
        i64::MIN / 2..i64::MAX / 2,
        1_790_000_000_000_000_000i64..1_790_000_100_000_000_000,
        Just(i64::MIN + 1),
        Just(i64::MAX - 1),
    ]
}

fn event() -> impl Strategy<Value = Event<'static>> {
    (
        0usize..EventKind::ALL.len(),
        0u8..6,
        0u16..400,
        instant(),
        proptest::option::of(prop_oneof![
            "billing", "fault", "repair", "sales", "general"
        ]),
        proptest::option::of(prop_oneof!["q1", "q2"]),
        proptest::option::of(prop_oneof![
            Just(CallbackOutcome::Reached),
            Just(CallbackOutcome::NoAnswer)
        ]),
    )
        .prop_map(|(kind, call, id, ts, topic, queue, outcome)| {
            let mut event = Event::new(
                format!("e{id}"),
                format!("c{call}"),
                EventKind::ALL[kind],
                ts,
            );
            event.topic = topic.map(Into::into);
            event.queue = queue.map(Into::into);
            event.outcome = outcome;
            event
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        match decode_event(&bytes) {
            Ok(event) => prop_assert!(!event.event_id.is_empty()),
            Err(invalid) => prop_assert!(!invalid.detail.is_empty(), "every rejection says why"),
        }
    }

    #[test]
    fn arbitrary_json_values_never_panic_the_decoder(
        v in prop_oneof![Just("1".to_owned()), Just("1.0".to_owned()), Just("\"1\"".to_owned()), Just("null".to_owned()), Just("-1".to_owned())],
        ts in prop_oneof![Just("\"2026-10-04T09:00:00Z\"".to_owned()), Just("\"1677-09-21T00:12:43.145224191Z\"".to_owned()), Just("\"9999-12-31T23:59:59Z\"".to_owned()), Just("\"x\"".to_owned()), Just("5".to_owned())],
        kind in prop_oneof![Just("\"answered\"".to_owned()), Just("\"nope\"".to_owned()), Just("[]".to_owned())],
        attrs in prop_oneof![Just("{}".to_owned()), Just("[]".to_owned()), Just("\"x\"".to_owned()), Just("{\"a\":{\"b\":[1,2]}}".to_owned())],
    ) {
        let line = format!(r#"{{"v":{v},"event_id":"e","call_id":"c","type":{kind},"ts":{ts},"attrs":{attrs}}}"#);
        match decode_event(line.as_bytes()) {
            Ok(event) => prop_assert_eq!(event.call_id.as_ref(), "c"),
            Err(invalid) => prop_assert!(!invalid.detail.is_empty(), "every rejection says why"),
        }
    }

    #[test]
    fn arbitrary_event_sequences_never_panic_the_engine(
        events in proptest::collection::vec(event(), 0..120),
        advance in instant(),
    ) {
        let mut engine = Engine::new(israeli_pack(), EngineConfig::default());
        let mut outputs = Vec::new();
        let half = events.len() / 2;
        for event in &events[..half] {
            engine.ingest(event, &mut outputs);
        }
        // Restore through a snapshot half-way, then go on.
        engine.settle(&mut outputs);
        let snapshot = engine.snapshot().unwrap();
        let json = serde_json::to_string(&snapshot).unwrap();
        let restored = serde_json::from_str(&json).unwrap();
        let mut engine = Engine::restore(israeli_pack(), EngineConfig::default(), &restored).unwrap();
        for event in &events[half..] {
            engine.ingest(event, &mut outputs);
        }
        engine.advance_to(advance, &mut outputs);
        let waiting = engine.waiting_now();
        let _ = engine.period_report(Period::parse_month("2026-10").unwrap(), String::new(), Vec::new());
        engine.finish(&mut outputs);
        prop_assert_eq!(engine.open_calls(), 0);
        let counters = engine.counters();
        prop_assert_eq!(counters.received(), events.len() as u64);
        let verdicts = outputs.iter().filter(|output| matches!(output, Output::Verdict(_))).count();
        let offered: u64 = engine.tallies().map(|(.., tally)| tally.offered).sum();
        prop_assert_eq!(verdicts as u64, offered, "one verdict per call, all tallied");
        let _ = waiting;
    }
}
