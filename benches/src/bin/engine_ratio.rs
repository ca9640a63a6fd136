//! The engine's cost relative to decoding, measured so that a noisy machine does not
//! decide the answer: decoding alone and decoding plus judging plus recording are run
//! alternately, many rounds each, on the same generated input as the criterion bench
//! (two weeks of a 4 000-call-a-day centre), and the fastest and median round of each are
//! compared.
//!
//! The criterion bench (`cargo bench -p sixmin-benches --bench engine`) reports each
//! figure's mean; on a shared virtual machine a neighbour's burst during one of the two
//! runs moves their ratio by several points. Here the two loops alternate round by round,
//! so interference falls on both alike, and the fastest round of each is the figure least
//! touched by it.
//!
//! A third loop settles each final call as it closes (`settle_batch` 1) instead of in
//! batches, so the gain of batching is measured within the same process and rounds.
//!
//! Run with `cargo run --release -p sixmin-benches --bin engine_ratio [ROUNDS]` (default
//! 15 rounds).

use std::hint::black_box;
use std::time::{Duration, Instant};

use sixmin_benches::{decode_judge_record, decode_judge_record_settling_every, decode_only};

/// Rounds of each loop when no argument is given.
const DEFAULT_ROUNDS: usize = 15;

/// Times one run of `work`.
fn timed(work: impl FnOnce() -> u64) -> Duration {
    let started = Instant::now();
    black_box(work());
    started.elapsed()
}

/// The median of each round's decoding time over its own combined time: a neighbour's
/// burst that lasts a round or two spoils only those rounds' ratios.
fn median_round_ratio(decode: &[Duration], combined: &[Duration]) -> f64 {
    let mut ratios: Vec<f64> = decode
        .iter()
        .zip(combined)
        .map(|(decode, combined)| decode.as_secs_f64() / combined.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The fastest and the median of some durations.
fn fastest_and_median(mut rounds: Vec<Duration>) -> (Duration, Duration) {
    rounds.sort();
    (rounds[0], rounds[rounds.len() / 2])
}

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse::<usize>().ok())
        .filter(|&rounds| rounds > 0)
        .unwrap_or(DEFAULT_ROUNDS);
    let lines = sixmin_benches::generated_lines(14, 4_000);
    let events = lines.len() as f64;
    // One warm-up run of each.
    timed(|| decode_only(&lines));
    timed(|| decode_judge_record(&lines));
    let mut decode = Vec::with_capacity(rounds);
    let mut engine = Vec::with_capacity(rounds);
    let mut each = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        decode.push(timed(|| decode_only(&lines)));
        engine.push(timed(|| decode_judge_record(&lines)));
        each.push(timed(|| decode_judge_record_settling_every(&lines, 1)));
    }
    let paired = median_round_ratio(&decode, &engine);
    let paired_each = median_round_ratio(&decode, &each);
    let (decode_fastest, decode_median) = fastest_and_median(decode);
    let (engine_fastest, engine_median) = fastest_and_median(engine);
    let (each_fastest, each_median) = fastest_and_median(each);
    let rate = |time: Duration| events / time.as_secs_f64() / 1e6;
    println!("{} events, {rounds} alternating rounds", lines.len());
    println!(
        "decode_only          fastest {:.3} M events/s, median {:.3} M events/s",
        rate(decode_fastest),
        rate(decode_median)
    );
    println!(
        "decode_judge_record  fastest {:.3} M events/s, median {:.3} M events/s",
        rate(engine_fastest),
        rate(engine_median)
    );
    println!(
        "ratio                fastest {:.1} %, median {:.1} %",
        100.0 * decode_fastest.as_secs_f64() / engine_fastest.as_secs_f64(),
        100.0 * decode_median.as_secs_f64() / engine_median.as_secs_f64()
    );
    println!(
        "ratio round by round median {:.1} % (settling each call {:.1} %)",
        100.0 * paired,
        100.0 * paired_each
    );
    println!(
        "settling each call   fastest {:.3} M events/s, median {:.3} M events/s, ratio fastest {:.1} %, median {:.1} %",
        rate(each_fastest),
        rate(each_median),
        100.0 * decode_fastest.as_secs_f64() / each_fastest.as_secs_f64(),
        100.0 * decode_median.as_secs_f64() / each_median.as_secs_f64()
    );
}
