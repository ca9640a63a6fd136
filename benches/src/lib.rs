//! Shared inputs of the benchmarks: a generated month of call events as JSON lines.

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
