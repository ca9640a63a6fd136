//! The same events give the same ledger and report whatever the arrival order (within the
//! allowed lateness), however many duplicates arrive, and however the input is split into
//! runs with the state saved and restored in between, or how often the final calls'
//! bookkeeping is settled.

#![allow(clippy::unwrap_used)]

mod common;

use common::israeli_pack;
use proptest::prelude::*;
use sixmin_core::{
    decode_event, BreachedCall, Engine, EngineConfig, Output, Period, Snapshot, Verdict,
};
use sixmin_sim::{generate, Rng, SimConfig, SimEvent};

const HALF_LATENESS_MS: i64 = 30 * 60 * 1000;

fn simulated(seed: u64) -> Vec<SimEvent> {
    let config = SimConfig {
        seed,
        calls_per_day: 120,
        days: 2,
        jitter_share: 0.0,
        duplicate_share: 0.0,
        ..SimConfig::default()
    };
    let mut events = generate(&config);
    events.sort_by(|a, b| (a.ts, &a.line).cmp(&(b.ts, &b.line)));
    events
}

/// An arrival order in which no event is late: each event arrives at its time plus a
/// random delay of less than half the allowed lateness; some are sent twice.
fn shuffled(events: &[SimEvent], seed: u64, duplicate_share: f64) -> Vec<SimEvent> {
    let mut rng = Rng::new(seed);
    let mut keyed: Vec<(i64, u64, SimEvent)> = Vec::new();
    for event in events {
        let copies = if rng.chance(duplicate_share) { 2 } else { 1 };
        for _ in 0..copies {
            let delay = rng.range(0, HALF_LATENESS_MS) * 1_000_000;
            keyed.push((event.ts + delay, rng.next_u64(), event.clone()));
        }
    }
    keyed.sort_by_key(|(arrival, tie, _)| (*arrival, *tie));
    keyed.into_iter().map(|(_, _, event)| event).collect()
}

struct Run {
    engine: Engine,
    verdicts: Vec<Verdict>,
}

/// Ingests `events` one by one, calling `after_each` after each.
fn ingest_each(
    engine: &mut Engine,
    events: &[SimEvent],
    outputs: &mut Vec<Output>,
    mut after_each: impl FnMut(&mut Engine, &mut Vec<Output>),
) {
    for event in events {
        let decoded =
            decode_event(event.line.as_bytes()).expect("the simulator writes valid events");
        engine.ingest(&decoded, outputs);
        after_each(engine, outputs);
    }
}

/// Feeds `events`, then settles the engine (as a caller does before reading it).
fn feed(engine: &mut Engine, events: &[SimEvent], verdicts: &mut Vec<Verdict>) {
    let mut outputs = Vec::new();
    ingest_each(engine, events, &mut outputs, |_, _| {});
    engine.settle(&mut outputs);
    collect(outputs, verdicts);
}

/// [`run_whole`], settling after every event: the final calls' bookkeeping is never
/// batched.
fn run_settling_each_event(events: &[SimEvent]) -> Run {
    let mut engine = Engine::new(israeli_pack(), EngineConfig::default());
    let mut outputs = Vec::new();
    ingest_each(&mut engine, events, &mut outputs, |engine, outputs| {
        engine.settle(outputs);
        assert!(engine.is_settled());
    });
    engine.finish(&mut outputs);
    let mut verdicts = Vec::new();
    collect(outputs, &mut verdicts);
    Run { engine, verdicts }
}

fn collect(outputs: Vec<Output>, verdicts: &mut Vec<Verdict>) {
    for output in outputs {
        if let Output::Verdict(verdict) = output {
            verdicts.push(*verdict);
        }
    }
}

fn run_whole(events: &[SimEvent]) -> Run {
    let mut engine = Engine::new(israeli_pack(), EngineConfig::default());
    let mut verdicts = Vec::new();
    feed(&mut engine, events, &mut verdicts);
    let mut outputs = Vec::new();
    engine.finish(&mut outputs);
    collect(outputs, &mut verdicts);
    Run { engine, verdicts }
}

/// Splits the input at `cuts`, snapshotting through JSON and restoring between pieces.
fn run_split(events: &[SimEvent], cuts: &[usize]) -> Run {
    let mut engine = Engine::new(israeli_pack(), EngineConfig::default());
    let mut verdicts = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&events.len())) {
        let cut = cut.clamp(from, events.len());
        feed(&mut engine, &events[from..cut], &mut verdicts);
        from = cut;
        let json = serde_json::to_string(&engine.snapshot().unwrap()).unwrap();
        let snapshot: Snapshot = serde_json::from_str(&json).unwrap();
        engine = Engine::restore(israeli_pack(), EngineConfig::default(), &snapshot).unwrap();
    }
    let mut outputs = Vec::new();
    engine.finish(&mut outputs);
    collect(outputs, &mut verdicts);
    Run { engine, verdicts }
}

fn report_json(engine: &Engine, month: &str) -> serde_json::Value {
    let period = Period::parse_month(month).unwrap();
    let mut report =
        serde_json::to_value(engine.period_report(period, "t".into(), vec![])).unwrap();
    // What was received differs with duplicates; what was judged must not.
    report["inputs"] = serde_json::Value::Null;
    report
}

/// The breached calls of October, as the report's ledger lists them.
fn breach_ledger(engine: &Engine) -> Vec<BreachedCall> {
    engine.breached_calls(Period::parse_month("2026-10").unwrap())
}

/// The ledger holds exactly the verdicts with a breach, with the same evidence, and as
/// many calls as the report counts.
fn assert_ledger_matches_verdicts(engine: &Engine, verdicts: &[Verdict]) {
    let mut ledger = breach_ledger(engine);
    assert!(ledger
        .windows(2)
        .all(|pair| pair[0].order_key() < pair[1].order_key()));
    ledger.sort_by(|a, b| a.call_id.cmp(&b.call_id));
    let mut breached: Vec<&Verdict> = verdicts
        .iter()
        .filter(|verdict| !verdict.breaches.is_empty())
        .collect();
    breached.sort_by(|a, b| a.call_id.cmp(&b.call_id));
    let report = engine.period_report(Period::parse_month("2026-10").unwrap(), "t".into(), vec![]);
    assert_eq!(ledger.len() as u64, report.totals.breached_calls);
    assert_eq!(ledger.len(), breached.len());
    for (row, verdict) in ledger.iter().zip(breached) {
        assert_eq!(row.call_id, verdict.call_id);
        assert_eq!(row.breaches, verdict.breaches);
        assert_eq!(row.events, verdict.events);
        assert_eq!(row.wait_ms, verdict.wait_ms);
        assert_eq!(row.queue, verdict.queue);
        assert!(!row.pending);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn ledger_and_report_do_not_depend_on_arrival_order_or_duplicates(
        sim_seed in 1u64..1_000_000,
        shuffle_seed in any::<u64>(),
    ) {
        let events = simulated(sim_seed);
        let baseline = run_whole(&events);
        let arrival = shuffled(&events, shuffle_seed, 0.05);
        let shuffled_run = run_whole(&arrival);
        prop_assert_eq!(shuffled_run.engine.counters().late, 0, "the arrival order must not make events late");
        prop_assert!(shuffled_run.engine.counters().duplicates > 0);
        prop_assert_eq!(&baseline.verdicts, &shuffled_run.verdicts);
        prop_assert_eq!(report_json(&baseline.engine, "2026-10"), report_json(&shuffled_run.engine, "2026-10"));
        prop_assert_eq!(breach_ledger(&baseline.engine), breach_ledger(&shuffled_run.engine));
        assert_ledger_matches_verdicts(&baseline.engine, &baseline.verdicts);
    }

    #[test]
    fn settling_after_every_event_changes_nothing(
        sim_seed in 1u64..1_000_000,
        shuffle_seed in any::<u64>(),
    ) {
        let events = shuffled(&simulated(sim_seed), shuffle_seed, 0.02);
        let batched = run_whole(&events);
        let each = run_settling_each_event(&events);
        prop_assert!(!batched.verdicts.is_empty());
        prop_assert_eq!(&batched.verdicts, &each.verdicts);
        prop_assert_eq!(report_json(&batched.engine, "2026-10"), report_json(&each.engine, "2026-10"));
        prop_assert_eq!(breach_ledger(&batched.engine), breach_ledger(&each.engine));
        prop_assert_eq!(batched.engine.snapshot().unwrap(), each.engine.snapshot().unwrap());
    }

    #[test]
    fn splitting_into_runs_with_restored_state_changes_nothing(
        sim_seed in 1u64..1_000_000,
        shuffle_seed in any::<u64>(),
        mut cuts in proptest::collection::vec(0usize..2000, 0..4),
    ) {
        let events = shuffled(&simulated(sim_seed), shuffle_seed, 0.02);
        cuts.sort_unstable();
        let whole = run_whole(&events);
        let split = run_split(&events, &cuts);
        prop_assert_eq!(&whole.verdicts, &split.verdicts);
        prop_assert_eq!(report_json(&whole.engine, "2026-10"), report_json(&split.engine, "2026-10"));
        prop_assert_eq!(whole.engine.counters(), split.engine.counters());
        prop_assert_eq!(breach_ledger(&whole.engine), breach_ledger(&split.engine));
        prop_assert_eq!(whole.engine.snapshot().unwrap().events_by_hour, split.engine.snapshot().unwrap().events_by_hour);
    }
}

#[test]
fn an_event_beyond_the_lateness_is_counted_late_and_not_applied() {
    let events = simulated(7);
    let mut engine = Engine::new(israeli_pack(), EngineConfig::default());
    let mut verdicts = Vec::new();
    // Hold one early answer back until two hours of event time have passed.
    let held = events
        .iter()
        .position(|event| event.line.contains("\"answered\""))
        .unwrap();
    let two_hours_later = events
        .iter()
        .position(|event| event.ts > events[held].ts + 2 * 3_600_000_000_000)
        .unwrap();
    let mut arrival: Vec<SimEvent> = events.clone();
    let late = arrival.remove(held);
    arrival.insert(two_hours_later, late.clone());
    feed(&mut engine, &arrival, &mut verdicts);
    assert_eq!(engine.counters().late, 1);
    let decoded = decode_event(late.line.as_bytes()).unwrap();
    let call = verdicts
        .iter()
        .find(|verdict| verdict.call_id == decoded.call_id.as_ref())
        .unwrap();
    assert!(
        !call.events.contains(&decoded.event_id.to_string()),
        "never silently merged"
    );
}

#[test]
fn a_report_counts_pending_calls_and_says_how_many() {
    let events = simulated(3);
    let mut engine = Engine::new(israeli_pack(), EngineConfig::default());
    let mut verdicts = Vec::new();
    feed(&mut engine, &events, &mut verdicts);
    let pending = engine.open_calls() as u64;
    assert!(pending > 0);
    let before = engine.period_report(Period::parse_month("2026-10").unwrap(), "t".into(), vec![]);
    assert_eq!(before.data_quality.pending, pending);
    // Pending calls that already breached are in the ledger, marked as pending.
    let ledger_before = breach_ledger(&engine);
    assert_eq!(ledger_before.len() as u64, before.totals.breached_calls);
    for row in &ledger_before {
        let final_already = verdicts
            .iter()
            .any(|verdict| verdict.call_id == row.call_id);
        assert_eq!(row.pending, !final_already, "{}", row.call_id);
    }
    let mut outputs = Vec::new();
    engine.finish(&mut outputs);
    let after = engine.period_report(Period::parse_month("2026-10").unwrap(), "t".into(), vec![]);
    assert_eq!(after.data_quality.pending, 0);
    assert_eq!(before.totals.offered, after.totals.offered);
    let ledger_after = breach_ledger(&engine);
    assert_eq!(ledger_after.len() as u64, after.totals.breached_calls);
    assert!(ledger_after.iter().all(|call| !call.pending));
}

#[test]
fn attrs_reach_the_verdict_merged_in_time_order_and_survive_a_restore() {
    let line = |id: &str, kind: &str, ts: &str, attrs: &str| {
        format!(
            r#"{{"v":1,"event_id":"{id}","call_id":"c-attrs","type":"{kind}","ts":"2026-10-04T{ts}Z"{attrs}}}"#
        )
    };
    // Arrival order differs from time order: the last `attrs` in time must win.
    let arrival = [
        line("a3", "ended", "09:05:00", r#","attrs":{"crm":"last"}"#),
        line("a1", "call_started", "09:00:00", r#","attrs":{"crm":"first","x":1}"#),
        line("a2", "answered", "09:01:00", ""),
        // Moves the watermark past the call's close.
        r#"{"v":1,"event_id":"z","call_id":"c-later","type":"call_started","ts":"2026-10-04T12:00:00Z"}"#
            .to_owned(),
    ];
    let expected = serde_json::json!({"crm": "last", "x": 1});
    for cut in [None, Some(2)] {
        let mut engine = Engine::new(israeli_pack(), EngineConfig::default());
        let mut outputs = Vec::new();
        for (at, text) in arrival.iter().enumerate() {
            if Some(at) == cut {
                engine.settle(&mut outputs);
                let json = serde_json::to_string(&engine.snapshot().unwrap()).unwrap();
                let snapshot: Snapshot = serde_json::from_str(&json).unwrap();
                engine =
                    Engine::restore(israeli_pack(), EngineConfig::default(), &snapshot).unwrap();
            }
            engine.ingest(&decode_event(text.as_bytes()).unwrap(), &mut outputs);
        }
        engine.settle(&mut outputs);
        let mut verdicts = Vec::new();
        collect(outputs, &mut verdicts);
        let verdict = verdicts
            .iter()
            .find(|verdict| verdict.call_id == "c-attrs")
            .expect("the call is final");
        assert_eq!(
            serde_json::to_value(&verdict.attrs).unwrap(),
            expected,
            "cut at {cut:?}"
        );
    }
}
