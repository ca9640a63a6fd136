//! Shared inputs of the benchmarks (generated call events as JSON lines) and the two
//! loops whose ratio is the engine's cost: decoding alone, and decoding plus the engine.

use std::hint::black_box;

use sixmin_core::{decode_event, Engine, EngineConfig};
use sixmin_sim::{generate, SimConfig};

/// `days` days of generated call events (arrival order), as JSON lines.
pub fn generated_lines(days: u32, calls_per_day: u32) -> Vec<String> {
    let config = SimConfig {
        days,
        calls_per_day,
        ..SimConfig::default()
    };
    generate(&config)
        .into_iter()
        .map(|event| event.line)
        .collect()
}

/// Decodes every line; what it returns keeps the work observable.
pub fn decode_only(lines: &[String]) -> u64 {
    let mut accepted = 0u64;
    for line in lines {
        if let Ok(event) = &decode_event(line.as_bytes()) {
            accepted += black_box(event.ts) as u64 & 1;
        }
    }
    accepted
}

/// An engine judging by the built-in pack that keeps tallies but builds no ledger
/// verdicts.
pub fn engine_without_ledger() -> Engine {
    engine_settling_every(EngineConfig::default().settle_batch)
}

/// [`engine_without_ledger`], settling final calls `settle_batch` at a time.
pub fn engine_settling_every(settle_batch: usize) -> Engine {
    let config = EngineConfig {
        emit_verdicts: false,
        settle_batch,
        ..EngineConfig::default()
    };
    Engine::new(sixmin_config::builtin_pack(), config)
}

/// Decodes every line and feeds it to a new engine without a ledger, then declares the
/// input complete: the whole per-event path of `sixmin replay`, minus file IO. Returns
/// the events accepted.
pub fn decode_judge_record(lines: &[String]) -> u64 {
    decode_judge_record_settling_every(lines, EngineConfig::default().settle_batch)
}

/// [`decode_judge_record`] with final calls settled `settle_batch` at a time (1: each as
/// it becomes final).
pub fn decode_judge_record_settling_every(lines: &[String], settle_batch: usize) -> u64 {
    let mut engine = engine_settling_every(settle_batch);
    let mut outputs = Vec::new();
    for line in lines {
        if let Ok(event) = &decode_event(line.as_bytes()) {
            engine.ingest(event, &mut outputs);
            outputs.clear();
        }
    }
    engine.finish(&mut outputs);
    engine.counters().accepted
}
