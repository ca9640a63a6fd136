//! Inputs of `sixmin replay`: gzip files, standard input and several files give what one
//! plain file gives; a file already read is skipped; unreadable inputs, unwritable outputs
//! and a state directory in use fail with their documented exit codes.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;
use sixmin_sim::SimConfig;

/// A day of a call centre (Sunday 2026-10-04), as JSON Lines.
fn day_of_events() -> String {
    jsonl(&sim_lines(&SimConfig {
        seed: 7,
        days: 1,
        calls_per_day: 300,
        ..SimConfig::default()
    }))
}

/// Replays `inputs` into `work/<name>` with a ledger `work/<name>.ledger.jsonl` and
/// `--complete`; returns the state directory and the ledger.
fn replay_into(work: &Path, name: &str, inputs: &[&Path]) -> (PathBuf, PathBuf) {
    let state = work.join(name);
    let ledger = work.join(format!("{name}.ledger.jsonl"));
    let mut args = vec!["replay"];
    args.extend(inputs.iter().map(|input| path_str(input)));
    args.extend([
        "--state",
        path_str(&state),
        "--ledger",
        path_str(&ledger),
        "--complete",
    ]);
    sixmin_ok(&args);
    (state, ledger)
}

/// The one entry of `inputs.sources`, split into (sha256, the rest).
fn only_source(report: &serde_json::Value) -> (String, String) {
    let sources = report["inputs"]["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{sources:?}");
    let text = sources[0].as_str().unwrap();
    let (hash, rest) = text
        .strip_prefix("sha256:")
        .unwrap()
        .split_once(' ')
        .unwrap();
    (hash.to_owned(), rest.to_owned())
}

#[test]
fn gzip_input_gives_the_same_report_and_ledger_as_the_plain_file() {
    let work = tempfile::tempdir().unwrap();
    let text = day_of_events();
    let records = text.lines().count();
    let plain = work.path().join("events.jsonl");
    std::fs::write(&plain, &text).unwrap();
    let gzipped = work.path().join("events.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    std::fs::write(&gzipped, encoder.finish().unwrap()).unwrap();

    let (plain_state, plain_ledger) = replay_into(work.path(), "plain", &[&plain]);
    let (gzip_state, gzip_ledger) = replay_into(work.path(), "gzip", &[&gzipped]);

    let plain_report = report_json(&plain_state, "2026-10");
    let gzip_report = report_json(&gzip_state, "2026-10");
    assert!(plain_report["totals"]["offered"].as_u64().unwrap() > 0);
    assert_eq!(
        without_sources(gzip_report.clone()),
        without_sources(plain_report.clone())
    );
    assert_eq!(
        std::fs::read(&gzip_ledger).unwrap(),
        std::fs::read(&plain_ledger).unwrap()
    );
    // Each file is named as it is, and counted in records of its decompressed lines.
    let (_, plain_rest) = only_source(&plain_report);
    let (_, gzip_rest) = only_source(&gzip_report);
    assert_eq!(
        plain_rest,
        format!("events.jsonl ({records} records, complete)")
    );
    assert_eq!(
        gzip_rest,
        format!("events.jsonl.gz ({records} records, complete)")
    );
}

#[test]
fn standard_input_gives_the_same_report_and_ledger_as_the_file() {
    let work = tempfile::tempdir().unwrap();
    let text = day_of_events();
    let records = text.lines().count();
    let plain = work.path().join("events.jsonl");
    std::fs::write(&plain, &text).unwrap();
    let (plain_state, plain_ledger) = replay_into(work.path(), "plain", &[&plain]);

    let stdin_state = work.path().join("stdin");
    let stdin_ledger = work.path().join("stdin.ledger.jsonl");
    let output = sixmin_with_stdin(
        &[
            "replay",
            "-",
            "--state",
            path_str(&stdin_state),
            "--ledger",
            path_str(&stdin_ledger),
            "--complete",
        ],
        text.as_bytes(),
    );
    assert_eq!(
        exit_code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Gzip on standard input, which is also read when no input is named.
    let gzip_state = work.path().join("stdin-gzip");
    let gzip_ledger = work.path().join("stdin-gzip.ledger.jsonl");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    let output = sixmin_with_stdin(
        &[
            "replay",
            "--state",
            path_str(&gzip_state),
            "--ledger",
            path_str(&gzip_ledger),
            "--complete",
        ],
        &encoder.finish().unwrap(),
    );
    assert_eq!(
        exit_code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read(&gzip_ledger).unwrap(),
        std::fs::read(&plain_ledger).unwrap()
    );

    let plain_report = report_json(&plain_state, "2026-10");
    let stdin_report = report_json(&stdin_state, "2026-10");
    let gzip_report = report_json(&gzip_state, "2026-10");
    assert_eq!(
        without_sources(gzip_report.clone()),
        without_sources(plain_report.clone())
    );
    assert_eq!(
        only_source(&gzip_report).1,
        format!("stdin ({records} records, complete)")
    );
    assert_eq!(
        without_sources(stdin_report.clone()),
        without_sources(plain_report.clone())
    );
    assert_eq!(
        std::fs::read(&stdin_ledger).unwrap(),
        std::fs::read(&plain_ledger).unwrap()
    );
    // Standard input is fingerprinted by the same bytes as the file.
    let (plain_hash, _) = only_source(&plain_report);
    let (stdin_hash, stdin_rest) = only_source(&stdin_report);
    assert_eq!(stdin_hash, plain_hash);
    assert_eq!(stdin_rest, format!("stdin ({records} records, complete)"));
}

#[test]
fn several_files_in_one_run_equal_one_concatenated_file() {
    let work = tempfile::tempdir().unwrap();
    let text = day_of_events();
    let lines: Vec<&str> = text.lines().collect();
    let whole = work.path().join("whole.jsonl");
    std::fs::write(&whole, &text).unwrap();
    // Cut at arbitrary places: calls straddle the files.
    let cuts = [0, lines.len() / 5, lines.len() * 3 / 4, lines.len()];
    let mut parts = Vec::new();
    for (index, window) in cuts.windows(2).enumerate() {
        let part = work.path().join(format!("part-{index}.jsonl"));
        std::fs::write(&part, jsonl(&lines[window[0]..window[1]])).unwrap();
        parts.push(part);
    }
    let part_refs: Vec<&Path> = parts.iter().map(PathBuf::as_path).collect();

    let (whole_state, whole_ledger) = replay_into(work.path(), "whole", &[&whole]);
    let (parts_state, parts_ledger) = replay_into(work.path(), "parts", &part_refs);

    let whole_report = report_json(&whole_state, "2026-10");
    let parts_report = report_json(&parts_state, "2026-10");
    assert_eq!(
        without_sources(parts_report.clone()),
        without_sources(whole_report)
    );
    assert_eq!(
        std::fs::read(&parts_ledger).unwrap(),
        std::fs::read(&whole_ledger).unwrap()
    );
    assert_eq!(
        parts_report["inputs"]["sources"].as_array().unwrap().len(),
        3
    );
}

#[test]
fn a_file_already_read_whole_is_skipped_on_a_second_run() {
    let work = tempfile::tempdir().unwrap();
    let events = work.path().join("events.jsonl");
    std::fs::write(&events, day_of_events()).unwrap();
    let (state, ledger) = replay_into(work.path(), "state", &[&events]);
    let report_before = report_text(&state, "2026-10");
    let ledger_before = std::fs::read(&ledger).unwrap();
    assert!(!ledger_before.is_empty());

    // The same bytes under another name are the same input.
    let copy = work.path().join("copy-of-events.jsonl");
    std::fs::copy(&events, &copy).unwrap();
    for input in [&events, &copy] {
        let summary = sixmin_ok(&[
            "replay",
            path_str(input),
            "--state",
            path_str(&state),
            "--ledger",
            path_str(&ledger),
            "--complete",
        ]);
        let name = input.file_name().unwrap().to_str().unwrap();
        assert!(
            summary.contains(&format!("skipped     {name}: already in the state")),
            "{summary}"
        );
        assert!(
            summary.starts_with("sixmin replay: 0 records from 0 input(s)"),
            "{summary}"
        );
        assert_eq!(report_text(&state, "2026-10"), report_before);
        assert_eq!(std::fs::read(&ledger).unwrap(), ledger_before);
    }
}

#[test]
fn a_missing_input_file_exits_3() {
    let work = tempfile::tempdir().unwrap();
    let present = work.path().join("present.jsonl");
    std::fs::write(&present, day_of_events()).unwrap();
    let missing = work.path().join("missing.jsonl");
    let output = sixmin(&[
        "replay",
        path_str(&present),
        path_str(&missing),
        "--state",
        path_str(&work.path().join("state")),
    ]);
    assert_eq!(exit_code(&output), 3);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.jsonl"), "{stderr}");
}

#[test]
fn an_unwritable_output_exits_5() {
    let work = tempfile::tempdir().unwrap();
    let events = work.path().join("events.jsonl");
    std::fs::write(&events, day_of_events()).unwrap();
    // A path below a regular file cannot be created, whoever runs the test.
    let not_a_directory = work.path().join("not-a-directory");
    std::fs::write(&not_a_directory, "").unwrap();
    let state = work.path().join("state");
    for role in ["--ledger", "--dead-letter", "--breaches"] {
        let output = sixmin(&[
            "replay",
            path_str(&events),
            "--state",
            path_str(&state),
            role,
            path_str(&not_a_directory.join("out.jsonl")),
        ]);
        assert_eq!(
            exit_code(&output),
            5,
            "{role}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    sixmin_ok(&["replay", path_str(&events), "--state", path_str(&state)]);
    let output = sixmin(&[
        "report",
        "--state",
        path_str(&state),
        "--month",
        "2026-10",
        "--out",
        path_str(&not_a_directory.join("report.json")),
    ]);
    assert_eq!(
        exit_code(&output),
        5,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_state_of_another_format_version_is_refused_with_exit_4() {
    use std::io::Read;
    let work = tempfile::tempdir().unwrap();
    let events = work.path().join("events.jsonl");
    std::fs::write(&events, day_of_events()).unwrap();
    let (state, _) = replay_into(work.path(), "state", &[&events]);
    let state_file = state.join("state.json.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&state_file).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let current = "\"sixmin.state-dir/v1\"";
    assert!(text.contains(current), "the state names its format");
    let future = text.replacen(current, "\"sixmin.state-dir/v99\"", 1);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(future.as_bytes()).unwrap();
    std::fs::write(&state_file, encoder.finish().unwrap()).unwrap();

    let replay = sixmin(&["replay", path_str(&events), "--state", path_str(&state)]);
    let report = sixmin(&["report", "--state", path_str(&state), "--month", "2026-10"]);
    for output in [replay, report] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(exit_code(&output), 4, "{stderr}");
        assert!(stderr.contains("sixmin.state-dir/v99"), "{stderr}");
    }
    // Nothing was written over the state it could not read.
    let mut after = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&state_file).unwrap())
        .read_to_string(&mut after)
        .unwrap();
    assert_eq!(after, future);
}

#[test]
fn a_second_replay_on_a_state_in_use_exits_4() {
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    let text = day_of_events();
    let events = work.path().join("events.jsonl");
    std::fs::write(&events, &text).unwrap();

    // The first replay reads standard input from a pipe kept open, so it holds the lock
    // until the pipe is closed.
    let mut first = sixmin_command(&["replay", "-", "--state", path_str(&state), "--complete"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = first.stdin.take().unwrap();
    // It saves a first state right after taking the lock, before reading any input.
    let state_file = state.join("state.json.gz");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !state_file.exists() {
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the first replay ended early: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first replay never saved its state"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    let second = sixmin(&["replay", path_str(&events), "--state", path_str(&state)]);
    assert_eq!(
        exit_code(&second),
        4,
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    // Reports only read the state: they do not need the lock.
    let report = report_json(&state, "2026-10");
    assert_eq!(report["totals"]["offered"], 0);

    pipe.write_all(text.as_bytes()).unwrap();
    drop(pipe);
    let output = first.wait_with_output().unwrap();
    assert_eq!(
        exit_code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The lock is released: a replay may run again, and the first run's events are there.
    sixmin_ok(&["replay", path_str(&events), "--state", path_str(&state)]);
    let report = report_json(&state, "2026-10");
    assert!(report["totals"]["offered"].as_u64().unwrap() > 0);
}
