//! After a finite simulated run has drained, the verdict counters on `/metrics` equal the
//! period report of the same events, call for call: both are built from final verdicts.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::metrics::series;
use common::*;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

#[test]
fn verdict_counters_on_metrics_equal_the_period_report() {
    let work = tempfile::tempdir().unwrap();
    let events = work.path().join("events.jsonl");
    let state = work.path().join("state");
    sixmin_ok(&[
        "simulate",
        "--date",
        "2026-10-04",
        "--days",
        "3",
        "--calls-per-day",
        "400",
        "--out",
        path_str(&events),
    ]);
    #[allow(clippy::zombie_processes)] // killed and waited for by `Killed`
    let child = Command::new(env!("CARGO_BIN_EXE_sixmin"))
        .args([
            "replay",
            path_str(&events),
            "--state",
            path_str(&state),
            "--complete",
        ])
        .args(["--listen", "127.0.0.1:0", "--hold"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut replay = Killed(child);
    let stdout = replay.0.stdout.take().unwrap();
    let mut address = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(rest) = line.trim().strip_prefix("metrics") {
            let url = rest.split_whitespace().next().unwrap();
            address = Some(
                url.trim_start_matches("http://")
                    .trim_end_matches("/metrics")
                    .to_owned(),
            );
        }
        if line.contains("serving until stopped") {
            break;
        }
        assert!(Instant::now() < deadline, "the replay did not finish");
    }
    let address = address.expect("the replay prints its metrics address");
    let (status, text) = http::get(&address, "/metrics").unwrap();
    assert_eq!(status, 200);
    let report = report_json_of(&state, "2026-10");

    let calls = series(&text, "sixmin_calls_total");
    let breaches = series(&text, "sixmin_breaches_total");
    let rows = report["rows"].as_array().unwrap();
    assert!(rows.len() >= 8, "a few tenants and topics: {}", rows.len());
    let mut compared_breaches = 0;
    for row in rows {
        let (tenant, topic) = (
            row["tenant"].as_str().unwrap(),
            row["topic"].as_str().unwrap(),
        );
        let count = |outcome: &str| {
            calls
                .iter()
                .filter(|(labels, _)| {
                    labels["tenant"] == tenant
                        && labels["topic"] == topic
                        && labels["outcome"] == outcome
                })
                .map(|(_, value)| *value as u64)
                .sum::<u64>()
        };
        for outcome in ["answered", "abandoned", "callback", "incomplete"] {
            assert_eq!(
                count(outcome),
                row[outcome].as_u64().unwrap(),
                "{tenant}/{topic} {outcome}"
            );
        }
        for (rule, expected) in row["breaches"].as_object().unwrap() {
            let on_metrics: f64 = breaches
                .iter()
                .filter(|(labels, _)| {
                    labels["tenant"] == tenant
                        && labels["topic"] == topic
                        && labels["rule"] == *rule
                })
                .map(|(_, value)| value)
                .sum();
            assert_eq!(
                on_metrics as u64,
                expected.as_u64().unwrap(),
                "{tenant}/{topic} {rule}"
            );
            compared_breaches += 1;
        }
    }
    assert!(
        compared_breaches > 0,
        "the overload produces breaches to compare"
    );
    let total_calls: f64 = calls.iter().map(|(_, value)| value).sum();
    assert_eq!(
        total_calls as u64,
        report["totals"]["offered"].as_u64().unwrap()
    );
    let total_breaches: f64 = breaches.iter().map(|(_, value)| value).sum();
    let report_breaches: u64 = report["totals"]["breaches"]
        .as_object()
        .unwrap()
        .values()
        .map(|count| count.as_u64().unwrap())
        .sum();
    assert_eq!(total_breaches as u64, report_breaches);
}

fn report_json_of(state: &std::path::Path, month: &str) -> serde_json::Value {
    let text = sixmin_ok(&[
        "report",
        "--state",
        path_str(state),
        "--month",
        month,
        "--generated-at",
        "2026-11-01T00:00:00Z",
    ]);
    serde_json::from_str(&text).unwrap()
}
