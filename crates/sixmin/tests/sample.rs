//! The bundled sample: generated reproducibly, and replayed to a committed report and
//! ledger (the golden test).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use sixmin_sim::{generate, SimConfig};

/// Malformed lines mixed into the sample, to show that they are dead-lettered, counted,
/// and stop nothing.
const MALFORMED: [&str; 6] = [
    r#"{"v":1,"event_id":"bad-1","call_id":"c-x","type":"answered","ts":"2026-10-04T10:"#,
    r#"{"v":"1","event_id":"bad-2","call_id":"c-x","type":"answered","ts":"2026-10-04T10:00:00Z"}"#,
    r#"{"v":1,"event_id":"bad-3","call_id":"c-x","type":"hung_up","ts":"2026-10-04T10:00:00Z"}"#,
    r#"{"v":1,"event_id":"bad-4","call_id":"c-x","type":"answered","ts":"04/10/2026 10:00"}"#,
    r#"["not","an","object"]"#,
    r#"{"v":2,"event_id":"bad-6","call_id":"c-x","type":"answered","ts":"2026-10-04T10:00:00Z"}"#,
];

fn sample_text() -> String {
    let config = SimConfig {
        seed: 20_261_004,
        days: 1,
        calls_per_day: 300,
        ..SimConfig::default()
    };
    let mut lines: Vec<String> = generate(&config)
        .into_iter()
        .map(|event| event.line)
        .collect();
    for (index, bad) in MALFORMED.iter().enumerate() {
        let at = (index + 1) * lines.len() / (MALFORMED.len() + 1);
        lines.insert(at, (*bad).to_owned());
    }
    // One answer that reaches the engine two hours of event time too late.
    let answered = lines
        .iter()
        .position(|line| line.contains(r#""type":"answered""#))
        .unwrap();
    let late = lines.remove(answered);
    let two_hours_on = lines.len() * 2 / 5;
    lines.insert(two_hours_on, late);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[test]
fn sample_file_is_the_generator_output() {
    let path = repo_root().join("examples/sample-events.jsonl");
    assert_golden(&path, &sample_text());
}

#[test]
fn sample_replays_to_the_committed_report_and_ledger() {
    let root = repo_root();
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    let ledger = work.path().join("ledger.jsonl");
    let dead = work.path().join("dead-letter.jsonl");
    let sample = root.join("examples/sample-events.jsonl");
    let summary = sixmin_ok(&[
        "replay",
        path_str(&sample),
        "--state",
        path_str(&state),
        "--ledger",
        path_str(&ledger),
        "--dead-letter",
        path_str(&dead),
        "--complete",
    ]);
    assert!(summary.contains("invalid     "), "{summary}");
    let report = sixmin_ok(&[
        "report",
        "--state",
        path_str(&state),
        "--month",
        "2026-10",
        "--generated-at",
        "2026-11-01T00:05:00Z",
    ]);
    assert_golden(&root.join("examples/sample-report-2026-10.json"), &report);
    assert_golden(
        &root.join("examples/sample-ledger.jsonl"),
        &std::fs::read_to_string(&ledger).unwrap(),
    );

    // Every malformed line and the late answer are in the dead-letter file, with reasons.
    let dead_letters: Vec<serde_json::Value> = std::fs::read_to_string(&dead)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(dead_letters.len(), MALFORMED.len() + 1);
    let reasons: Vec<&str> = dead_letters
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    for expected in [
        "not_json",
        "wrong_type",
        "unknown_type",
        "bad_timestamp",
        "not_an_object",
        "unsupported_version",
        "late",
    ] {
        assert!(reasons.contains(&expected), "{reasons:?} lacks {expected}");
    }
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["inputs"]["invalid_events"], MALFORMED.len());
    assert_eq!(report["inputs"]["late_events"], 1);
    // The ledger has one verdict per offered call, and the report counts them all.
    let verdicts = std::fs::read_to_string(&ledger).unwrap().lines().count();
    assert_eq!(report["totals"]["offered"], verdicts);
}
