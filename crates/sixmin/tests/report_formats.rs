//! `sixmin report --format json,csv,xlsx --out DIR`: the CSV files carry the JSON report's
//! numbers, every day of the period is there, the manifest hashes every file, and two runs
//! from the same state write the same bytes (the XLSX workbook included).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The sample replayed into a state directory.
fn sample_state(dir: &Path) -> std::path::PathBuf {
    let state = dir.join("state");
    let sample = repo_root().join("examples/sample-events.jsonl");
    sixmin_ok(&[
        "replay",
        path_str(&sample),
        "--state",
        path_str(&state),
        "--complete",
        "--quiet",
    ]);
    state
}

fn report_dir(state: &Path, month: &str, out: &Path) {
    sixmin_ok(&[
        "report",
        "--state",
        path_str(state),
        "--month",
        month,
        "--format",
        "json,csv,xlsx",
        "--out",
        path_str(out),
        "--generated-at",
        GENERATED_AT,
    ]);
}

#[test]
fn the_csv_summary_carries_the_json_reports_numbers_column_for_column() {
    let work = tempfile::tempdir().unwrap();
    let state = sample_state(work.path());
    let out = work.path().join("out");
    report_dir(&state, "2026-10", &out);
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report-2026-10.json")).unwrap())
            .unwrap();
    // The JSON in the directory is the JSON report of the same state.
    assert_eq!(
        json,
        report_json(&state, "2026-10"),
        "report-2026-10.json differs from `--format json`"
    );
    let summary = read_csv(&out.join("summary-2026-10.csv"));
    let mut rows: Vec<&Value> = json["rows"].as_array().unwrap().iter().collect();
    rows.push(&json["totals"]);
    assert_eq!(
        summary.len(),
        rows.len(),
        "one line per row, then the totals"
    );
    let mut compared = 0;
    for (line, row) in summary.iter().zip(rows) {
        for (field, value) in row.as_object().unwrap() {
            match field.as_str() {
                "tenant" | "topic" => assert_eq!(line[field], value.as_str().unwrap()),
                "breaches" => {
                    for (rule, count) in value.as_object().unwrap() {
                        assert_eq!(line[&format!("breaches:{rule}")], count.to_string());
                        compared += 1;
                    }
                }
                "answer_wait_ms" | "abandon_wait_ms" => {
                    let prefix = field.trim_end_matches("_ms");
                    for (quantile, wait) in value.as_object().unwrap() {
                        assert_eq!(line[&format!("{prefix}_{quantile}_ms")], as_cell(wait));
                        compared += 1;
                    }
                }
                _ => {
                    assert_eq!(line[field], as_cell(value), "{field} of {line:?}");
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 200, "{compared} cells compared");
    assert_eq!(summary.last().unwrap()["tenant"], "*");
}

#[test]
fn the_daily_csv_has_every_day_and_its_totals_add_up_to_the_month() {
    let work = tempfile::tempdir().unwrap();
    let state = sample_state(work.path());
    let out = work.path().join("out");
    report_dir(&state, "2026-10", &out);
    let json = report_json(&state, "2026-10");
    let daily = read_csv(&out.join("daily-2026-10.csv"));
    let totals: Vec<&BTreeMap<String, String>> =
        daily.iter().filter(|line| line["tenant"] == "*").collect();
    assert_eq!(totals.len(), 31, "one totals line per day of October");
    assert_eq!(totals[0]["day"], "2026-10-01");
    assert_eq!(totals[30]["day"], "2026-10-31");
    for field in ["offered", "answered", "incomplete", "breached_calls"] {
        let sum: u64 = totals
            .iter()
            .map(|line| line[field].parse::<u64>().unwrap())
            .sum();
        assert_eq!(sum, json["totals"][field].as_u64().unwrap(), "{field}");
    }
    // A day without calls has no ratio and no quantiles, rather than a zero.
    let empty = totals.iter().find(|line| line["offered"] == "0").unwrap();
    assert_eq!(empty["compliance_ratio"], "");
    assert_eq!(empty["answer_wait_p95_ms"], "");
}

#[test]
fn the_manifest_hashes_every_file_and_two_runs_write_the_same_bytes() {
    let work = tempfile::tempdir().unwrap();
    let state = sample_state(work.path());
    let first = work.path().join("first");
    let second = work.path().join("second");
    report_dir(&state, "2026-10", &first);
    report_dir(&state, "2026-10", &second);
    let manifest = std::fs::read_to_string(first.join("manifest-2026-10.sha256")).unwrap();
    let mut listed = Vec::new();
    for line in manifest.lines().filter(|line| !line.starts_with('#')) {
        let (hash, name) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(first.join(name)).unwrap();
        assert_eq!(hash, format!("{:x}", Sha256::digest(&bytes)), "{name}");
        listed.push(name.to_owned());
    }
    listed.sort();
    assert_eq!(
        listed,
        [
            "breached-calls-2026-10.csv",
            "daily-2026-10.csv",
            "data-quality-2026-10.csv",
            "report-2026-10.json",
            "report-2026-10.xlsx",
            "summary-2026-10.csv"
        ]
    );
    let report = std::fs::read(first.join("report-2026-10.json")).unwrap();
    assert!(manifest.starts_with(&format!(
        "# sixmin report manifest; SHA-256 of the JSON period report: {:x}\n",
        Sha256::digest(&report)
    )));
    for name in listed
        .iter()
        .map(String::as_str)
        .chain(["manifest-2026-10.sha256"])
    {
        assert_eq!(
            std::fs::read(first.join(name)).unwrap(),
            std::fs::read(second.join(name)).unwrap(),
            "{name} differs between two runs"
        );
    }
}

#[test]
fn a_month_without_calls_gives_zeros_and_empty_ratios() {
    let work = tempfile::tempdir().unwrap();
    let state = sample_state(work.path());
    let out = work.path().join("out");
    report_dir(&state, "2026-02", &out);
    let summary = read_csv(&out.join("summary-2026-02.csv"));
    assert_eq!(summary.len(), 1, "the totals line only");
    assert_eq!(summary[0]["offered"], "0");
    assert_eq!(summary[0]["compliance_ratio"], "");
    let daily = read_csv(&out.join("daily-2026-02.csv"));
    assert_eq!(daily.len(), 28);
}

#[test]
fn several_formats_need_a_directory_and_unknown_formats_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let state = sample_state(work.path());
    let to_stdout = sixmin(&[
        "report",
        "--state",
        path_str(&state),
        "--month",
        "2026-10",
        "--format",
        "json,csv",
    ]);
    assert_eq!(exit_code(&to_stdout), 2);
    assert!(String::from_utf8_lossy(&to_stdout.stderr).contains("give `--out DIR`"));
    let unknown = sixmin(&[
        "report",
        "--state",
        path_str(&state),
        "--month",
        "2026-10",
        "--format",
        "json,docx",
        "--out",
        path_str(&work.path().join("out")),
    ]);
    assert_eq!(exit_code(&unknown), 2);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("format `docx` is not supported"));
    assert!(
        !work.path().join("out").exists(),
        "nothing written on a usage error"
    );
}
