//! Throughput of the engine in events per second: decoding alone, and decoding plus
//! judging plus recording (the whole per-event path of `sixmin replay`, minus file IO).
//!
//! Run with `cargo bench -p sixmin-benches`. The ratio of the two is the engine's cost.

use criterion::{black_box, criterion_main, Criterion, Throughput};
use sixmin_benches::{decode_judge_record, decode_only, engine_without_ledger};
use sixmin_core::{decode_event, Engine, EngineConfig};

fn engine_throughput(criterion: &mut Criterion) {
    // Two weeks of a 4 000-call-a-day centre: about 237 000 events.
    let lines = sixmin_benches::generated_lines(14, 4_000);
    let mut group = criterion.benchmark_group("events");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.sample_size(10);

    group.bench_function("decode_only", |bench| bench.iter(|| decode_only(&lines)));

    group.bench_function("decode_judge_record", |bench| {
        bench.iter(|| black_box(decode_judge_record(&lines)))
    });

    // The engine alone, on events decoded beforehand: what the engine adds per event.
    let decoded: Vec<sixmin_core::Event<'static>> = lines
        .iter()
        .filter_map(|line| decode_event(line.as_bytes()).ok())
        .map(sixmin_core::Event::into_owned)
        .collect();
    group.bench_function("judge_record_only", |bench| {
        bench.iter(|| {
            let mut engine = engine_without_ledger();
            let mut outputs = Vec::new();
            for event in &decoded {
                engine.ingest(event, &mut outputs);
                outputs.clear();
            }
            engine.finish(&mut outputs);
            black_box(engine.counters().accepted)
        })
    });

    group.bench_function("decode_judge_record_with_ledger", |bench| {
        bench.iter(|| {
            let mut engine = Engine::new(sixmin_config::builtin_pack(), EngineConfig::default());
            let mut outputs = Vec::new();
            let mut verdicts = 0usize;
            for line in &lines {
                if let Ok(event) = decode_event(line.as_bytes()) {
                    engine.ingest(&event, &mut outputs);
                    verdicts += outputs.len();
                    outputs.clear();
                }
            }
            engine.finish(&mut outputs);
            black_box(verdicts)
        })
    });
    group.finish();
}

// The macros generate undocumented items.
#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::engine_throughput);
}
criterion_main!(harness::benches);
