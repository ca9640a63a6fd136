//! Helpers of the command-line tests: run the real binary, compare with golden files.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

pub mod alertmanager;
pub mod broker;
pub mod demo;
pub mod http;
pub mod metrics;
pub mod prometheus;
pub mod service;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `sixmin` with arguments; returns its output.
pub fn sixmin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sixmin"))
        .args(args)
        .env_remove("SIXMIN_GENERATED_AT")
        .output()
        .expect("the sixmin binary runs")
}

/// Runs `sixmin` and insists on success.
pub fn sixmin_ok(args: &[&str]) -> String {
    let output = sixmin(args);
    assert!(
        output.status.success(),
        "sixmin {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Compares `actual` with a committed file; `SIXMIN_BLESS=1` rewrites the file instead.
pub fn assert_golden(path: &Path, actual: &str) {
    assert_golden_bytes(path, actual.as_bytes());
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The `sixmin` command with arguments, not yet run (for children the test drives).
pub fn sixmin_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sixmin"));
    command.args(args).env_remove("SIXMIN_GENERATED_AT");
    command
}

/// Runs `sixmin` with `input` on its standard input; returns its output.
pub fn sixmin_with_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = sixmin_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sixmin binary runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    output
}

/// The exit code of a finished `sixmin` (panics if it was killed by a signal).
pub fn exit_code(output: &Output) -> i32 {
    output
        .status
        .code()
        .unwrap_or_else(|| panic!("sixmin ended without an exit code: {:?}", output.status))
}

/// Like [`assert_golden`], for a file that need not be UTF-8.
pub fn assert_golden_bytes(path: &Path, actual: &[u8]) {
    if std::env::var_os("SIXMIN_BLESS").is_some() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(path)
        .unwrap_or_else(|_| panic!("{} is missing; run with SIXMIN_BLESS=1", path.display()));
    assert!(
        expected == actual,
        "{} differs from what the code produces now; if the change is intended, run with \
         SIXMIN_BLESS=1 and review the diff",
        path.display()
    );
}

/// One v1 event as a JSON line: the required fields, then `extra` string fields.
pub fn event(
    event_id: &str,
    call_id: &str,
    kind: &str,
    ts: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut object = serde_json::Map::new();
    object.insert("v".into(), 1.into());
    object.insert("event_id".into(), event_id.into());
    object.insert("call_id".into(), call_id.into());
    object.insert("type".into(), kind.into());
    object.insert("ts".into(), ts.into());
    for (key, value) in extra {
        object.insert((*key).into(), (*value).into());
    }
    serde_json::Value::Object(object).to_string()
}

/// Lines joined with `\n`, each ended by one.
pub fn jsonl<S: AsRef<str>>(lines: &[S]) -> String {
    let mut text = String::new();
    for line in lines {
        text.push_str(line.as_ref());
        text.push('\n');
    }
    text
}

/// The lines of a generated stream, in arrival order.
pub fn sim_lines(config: &sixmin_sim::SimConfig) -> Vec<String> {
    sixmin_sim::generate(config)
        .into_iter()
        .map(|event| event.line)
        .collect()
}

/// The generated-at time every test report uses, so that reports compare byte for byte.
pub const GENERATED_AT: &str = "2026-12-01T00:00:00Z";

/// `sixmin report` of a state for `--month` or `--day` (`period` is `YYYY-MM` or
/// `YYYY-MM-DD`), as text, with a fixed `generated_at`.
pub fn report_text(state: &Path, period: &str) -> String {
    let flag = if period.len() == 7 {
        "--month"
    } else {
        "--day"
    };
    sixmin_ok(&[
        "report",
        "--state",
        path_str(state),
        flag,
        period,
        "--generated-at",
        GENERATED_AT,
    ])
}

/// [`report_text`], parsed.
pub fn report_json(state: &Path, period: &str) -> serde_json::Value {
    serde_json::from_str(&report_text(state, period)).unwrap()
}

/// A report without `inputs.sources`, the one part that names the files read (their
/// names, hashes and record counts) rather than what was in them.
pub fn without_sources(mut report: serde_json::Value) -> serde_json::Value {
    let removed = report["inputs"].as_object_mut().unwrap().remove("sources");
    assert!(removed.is_some(), "the report has inputs.sources");
    report
}

/// The lines of a JSON Lines file, parsed.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The repository's Grafana dashboards (`dashboards/*.json`), parsed, by file name.
pub fn dashboard_files() -> Vec<(String, serde_json::Value)> {
    let dir = repo_root().join("dashboards");
    let mut found: Vec<(String, serde_json::Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{name} is not JSON: {error}"));
            (name, json)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// A CSV file as maps from header to cell.
pub fn read_csv(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|record| {
            header
                .iter()
                .cloned()
                .zip(record.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// A JSON number or null as the CSV files write it (null is an empty cell).
pub fn as_cell(value: &serde_json::Value) -> String {
    if value.is_null() {
        String::new()
    } else {
        value.to_string()
    }
}

/// Writes a simulated October 2026 (the clocks go back on the 25th), `calls` a day, as
/// JSON Lines to `path`.
pub fn simulate_october(path: &Path, calls: u32) {
    sixmin_ok(&[
        "simulate",
        "--date",
        "2026-10-01",
        "--days",
        "31",
        "--calls-per-day",
        &calls.to_string(),
        "--out",
        path_str(path),
    ]);
}
