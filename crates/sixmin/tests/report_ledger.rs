//! The auditor's files beyond the summary: the ledger of breached calls (CSV, and its own
//! XLSX sheet: exactly one row per breached call, the same calls and evidence as the
//! verdict ledger), the workbook opened by a real reader (openpyxl) against the JSON
//! report, input gaps, and edge months (one call, every call breached, no calls, DST).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// Writes `lines` as an event file, replays it into a state (declaring it complete, with
/// the verdict ledger beside it) and returns the state directory.
fn replayed(dir: &Path, lines: &[String]) -> PathBuf {
    let events = dir.join("events.jsonl");
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let state = dir.join("state");
    sixmin_ok(&[
        "replay",
        path_str(&events),
        "--state",
        path_str(&state),
        "--ledger",
        path_str(&dir.join("ledger.jsonl")),
        "--complete",
        "--quiet",
    ]);
    state
}

/// Simulated October (the clocks go back on the 25th), `calls` a day, keeping the event
/// lines for which `keep` holds.
fn october(dir: &Path, calls: u32, keep: impl Fn(&str) -> bool) -> PathBuf {
    let all = dir.join("all.jsonl");
    simulate_october(&all, calls);
    let lines: Vec<String> = std::fs::read_to_string(&all)
        .unwrap()
        .lines()
        .filter(|line| keep(line))
        .map(str::to_owned)
        .collect();
    replayed(dir, &lines)
}

/// Every format of `month` (the PDF in both languages) into `dir/out`; the JSON report.
fn all_formats(state: &Path, month: &str) -> (PathBuf, Value) {
    let out = state.parent().unwrap().join(format!("out-{month}"));
    sixmin_ok(&[
        "report",
        "--state",
        path_str(state),
        "--month",
        month,
        "--format",
        "json,csv,xlsx,pdf",
        "--lang",
        "en,he",
        "--out",
        path_str(&out),
        "--generated-at",
        GENERATED_AT,
    ]);
    for lang in ["en", "he"] {
        let pdf = std::fs::read(out.join(format!("report-{month}-{lang}.pdf"))).unwrap();
        assert!(pdf.starts_with(b"%PDF-"), "a PDF in {lang}");
    }
    let text = std::fs::read_to_string(out.join(format!("report-{month}.json"))).unwrap();
    (out, serde_json::from_str(&text).unwrap())
}

/// The workbook as openpyxl reads it: sheet name → rows of cells.
fn read_xlsx(path: &Path) -> BTreeMap<String, Vec<Vec<Value>>> {
    let script = repo_root().join("crates/sixmin/tests/fixtures/read_xlsx.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "openpyxl could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value = serde_json::from_slice(&output.stdout).unwrap();
    serde_json::from_value(parsed["sheets"].clone()).unwrap()
}

/// A sheet's rows as maps from its header row's names to cells.
fn table(sheets: &BTreeMap<String, Vec<Vec<Value>>>, name: &str) -> Vec<BTreeMap<String, Value>> {
    let rows = &sheets[name];
    let header: Vec<String> = rows[0]
        .iter()
        .map(|cell| cell.as_str().unwrap().to_owned())
        .collect();
    rows[1..]
        .iter()
        .map(|row| header.iter().cloned().zip(row.iter().cloned()).collect())
        .collect()
}

/// The verdicts with at least one breach, by call id.
fn breached_verdicts(dir: &Path) -> BTreeMap<String, Value> {
    std::fs::read_to_string(dir.join("ledger.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|verdict| !verdict["breaches"].as_array().unwrap().is_empty())
        .map(|verdict| (verdict["call_id"].as_str().unwrap().to_owned(), verdict))
        .collect()
}

#[test]
fn the_breached_call_ledger_has_exactly_the_breached_verdicts_with_their_evidence() {
    let work = tempfile::tempdir().unwrap();
    let state = october(work.path(), 300, |_| true);
    let (out, report) = all_formats(&state, "2026-10");
    let ledger = read_csv(&out.join("breached-calls-2026-10.csv"));
    let breached = report["totals"]["breached_calls"].as_u64().unwrap();
    assert!(breached > 100, "a month with breaches to list: {breached}");
    assert_eq!(ledger.len() as u64, breached, "one line per breached call");
    let verdicts = breached_verdicts(work.path());
    assert_eq!(verdicts.len(), ledger.len());
    for line in &ledger {
        let verdict = &verdicts[&line["call_id"]];
        let rules: Vec<&str> = verdict["breaches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(line["breaches"], rules.join(";"));
        let events: Value = serde_json::from_str(&line["events"]).unwrap();
        assert_eq!(events, verdict["events"], "evidence of {}", line["call_id"]);
        assert_eq!(line["wait_ms"], as_cell(&verdict["wait_ms"]));
        assert_eq!(line["limit_ms"], as_cell(&verdict["limit_ms"]));
        assert_eq!(line["topic"], verdict["topic"].as_str().unwrap());
        assert_eq!(line["pending"], "false");
    }
    // Local start times with the offset of the day: summer time before the 25th, winter after.
    assert!(ledger
        .iter()
        .any(|line| line["started_at"].starts_with("2026-10-0")
            && line["started_at"].ends_with("+03:00")));
    assert!(ledger
        .iter()
        .any(|line| line["started_at"].starts_with("2026-10-3")
            && line["started_at"].ends_with("+02:00")));
    let days = read_csv(&out.join("daily-2026-10.csv"));
    let day_lines = days.iter().filter(|line| line["tenant"] == "*").count();
    assert_eq!(
        day_lines, 31,
        "every day, the 25-hour day of the DST change included"
    );
}

#[test]
fn the_workbook_opens_in_openpyxl_and_its_numbers_are_the_json_reports() {
    let work = tempfile::tempdir().unwrap();
    let state = october(work.path(), 300, |_| true);
    let (out, report) = all_formats(&state, "2026-10");
    let sheets = read_xlsx(&out.join("report-2026-10.xlsx"));
    let totals = &report["totals"];
    let breached = totals["breached_calls"].as_u64().unwrap();

    let summary = table(&sheets, "Summary");
    let mut rows: Vec<&Value> = report["rows"].as_array().unwrap().iter().collect();
    rows.push(totals);
    assert_eq!(summary.len(), rows.len());
    for (line, row) in summary.iter().zip(&rows) {
        for field in [
            "offered",
            "answered",
            "abandoned",
            "callback",
            "incomplete",
            "answered_within_limit",
            "abandoned_after_limit",
            "breached_calls",
            "compliance_ratio",
        ] {
            assert_eq!(
                number(&line[field]),
                row[field].as_f64(),
                "{field} of {}/{}",
                row["tenant"],
                row["topic"]
            );
        }
        for (rule, count) in row["breaches"].as_object().unwrap() {
            assert_eq!(number(&line[&format!("breaches:{rule}")]), count.as_f64());
        }
        for quantile in ["p50", "p90", "p95", "p99", "max"] {
            assert_eq!(
                number(&line[&format!("answer_wait_{quantile}_ms")]),
                row["answer_wait_ms"][quantile].as_f64()
            );
        }
    }
    let row_sum: f64 = summary[..summary.len() - 1]
        .iter()
        .map(|line| number(&line["offered"]).unwrap())
        .sum();
    assert_eq!(
        Some(row_sum),
        totals["offered"].as_f64(),
        "the rows add up to the totals"
    );

    let ledger = table(&sheets, "Breached calls");
    assert_eq!(
        ledger.len() as u64,
        breached,
        "a header row, then one row per breached call"
    );
    let csv_ledger = read_csv(&out.join("breached-calls-2026-10.csv"));
    for (cell_row, csv_row) in ledger.iter().zip(&csv_ledger) {
        assert_eq!(cell_row["call_id"], json!(csv_row["call_id"]));
        assert_eq!(
            number(&cell_row["wait_ms"]),
            csv_row["wait_ms"].parse::<f64>().ok()
        );
    }
    let daily = table(&sheets, "Daily");
    let day_offered: f64 = daily
        .iter()
        .filter(|line| line["tenant"] == json!("*"))
        .map(|line| number(&line["offered"]).unwrap())
        .sum();
    assert_eq!(
        Some(day_offered),
        totals["offered"].as_f64(),
        "the days add up to the month"
    );
    let heat: f64 = sheets["Heat map"][1..]
        .iter()
        .flat_map(|row| row[1..].iter())
        .map(|cell| cell.as_f64().unwrap())
        .sum();
    assert_eq!(
        heat as u64, breached,
        "the heat map places every breached call"
    );
    assert_eq!(sheets["Heat map"].len(), 8, "a header and seven weekdays");
    let queues: f64 = table(&sheets, "Queues")
        .iter()
        .map(|line| number(&line["breached_calls"]).unwrap())
        .sum();
    assert_eq!(queues as u64, breached, "every breached call has its queue");
    let integrity = table(&sheets, "Integrity");
    let manifest = std::fs::read_to_string(out.join("manifest-2026-10.sha256")).unwrap();
    let report_hash = integrity
        .iter()
        .find(|line| line["item"] == json!("report_sha256"))
        .unwrap();
    assert!(manifest.contains(report_hash["value"].as_str().unwrap()));
}

/// A cell as a number (`None` when empty).
fn number(cell: &Value) -> Option<f64> {
    cell.as_f64()
}

#[test]
fn hours_without_any_event_in_working_time_are_reported_as_input_gaps() {
    let work = tempfile::tempdir().unwrap();
    // The feed is down on Wednesday 14 October from 10:00 to 12:00 local time (07–09 UTC).
    let state = october(work.path(), 2000, |line| {
        !line.contains("\"ts\":\"2026-10-14T07:") && !line.contains("\"ts\":\"2026-10-14T08:")
    });
    let (out, report) = all_formats(&state, "2026-10");
    assert_eq!(
        report["data_quality"]["input_gaps"],
        json!([{"from": "2026-10-14T10:00:00+03:00", "until": "2026-10-14T12:00:00+03:00", "hours": 2}])
    );
    let quality = read_csv(&out.join("data-quality-2026-10.csv"));
    assert!(quality
        .iter()
        .any(|line| line["section"] == "input_gap" && line["value"] == "2"));
}

/// The events of one call: started at `start` (RFC 3339, UTC), topic `fault`, answered
/// `wait_s` seconds later.
fn fault_call(id: &str, start: &str, wait_s: i64) -> Vec<String> {
    let at = chrono::DateTime::parse_from_rfc3339(start).unwrap();
    let later = |seconds: i64| {
        (at + chrono::Duration::seconds(seconds))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    vec![
        json!({"v":1,"event_id":format!("{id}:1"),"call_id":id,"type":"call_started","ts":start,"tenant":"acme","queue":"ivr"}).to_string(),
        json!({"v":1,"event_id":format!("{id}:2"),"call_id":id,"type":"topic_selected","ts":later(20),"topic":"fault"}).to_string(),
        json!({"v":1,"event_id":format!("{id}:3"),"call_id":id,"type":"answered","ts":later(wait_s)}).to_string(),
        json!({"v":1,"event_id":format!("{id}:4"),"call_id":id,"type":"ended","ts":later(wait_s + 60)}).to_string(),
    ]
}

#[test]
fn a_month_of_one_call_and_a_month_where_every_call_breaches_give_sensible_files() {
    let work = tempfile::tempdir().unwrap();
    let one = work.path().join("one");
    std::fs::create_dir_all(&one).unwrap();
    let state = replayed(&one, &fault_call("only", "2026-10-05T07:00:00.000Z", 400));
    let (out, report) = all_formats(&state, "2026-10");
    assert_eq!(report["totals"]["offered"], 1);
    assert_eq!(report["totals"]["compliance_ratio"], 0.0);
    let ledger = read_csv(&out.join("breached-calls-2026-10.csv"));
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        ledger[0]["over_limit_ms"], "40000",
        "answered 400 s after dialing, limit 360 s"
    );
    assert_eq!(ledger[0]["started_at"], "2026-10-05T10:00:00+03:00");
    let sheets = read_xlsx(&out.join("report-2026-10.xlsx"));
    assert_eq!(table(&sheets, "Breached calls").len(), 1);

    let all = work.path().join("all");
    std::fs::create_dir_all(&all).unwrap();
    // Two calls a day on the first 20 days, in time order, each answered after the limit.
    let calls: Vec<String> = (0..40)
        .flat_map(|index| {
            let start = format!(
                "2026-11-{:02}T08:{:02}:00.000Z",
                1 + index / 2,
                index % 2 * 30
            );
            fault_call(&format!("late-{index:02}"), &start, 361 + index)
        })
        .collect();
    let state = replayed(&all, &calls);
    let (out, report) = all_formats(&state, "2026-11");
    assert_eq!(report["totals"]["offered"], 40);
    assert_eq!(report["totals"]["breached_calls"], 40);
    assert_eq!(report["totals"]["compliance_ratio"], 0.0);
    assert_eq!(read_csv(&out.join("breached-calls-2026-11.csv")).len(), 40);
    let sheets = read_xlsx(&out.join("report-2026-11.xlsx"));
    let worst = table(&sheets, "Worst days");
    assert_eq!(worst.len(), 20, "every day with a breach, most first");
    assert_eq!(number(&worst[0]["breached_calls"]), Some(2.0));

    // No calls at all in the month: every file is written, the tables are empty.
    let (out, report) = all_formats(&state, "2026-09");
    assert_eq!(report["totals"]["offered"], 0);
    assert!(report["totals"]["compliance_ratio"].is_null());
    assert!(read_csv(&out.join("breached-calls-2026-09.csv")).is_empty());
    let sheets = read_xlsx(&out.join("report-2026-09.xlsx"));
    assert!(table(&sheets, "Breached calls").is_empty());
    assert_eq!(table(&sheets, "Daily").len(), 30);
}

#[test]
fn explain_shows_a_breached_calls_events_arithmetic_and_ledger_line() {
    let work = tempfile::tempdir().unwrap();
    let state = replayed(
        work.path(),
        &fault_call("c-late", "2026-10-05T07:00:00.000Z", 400),
    );
    let events = work.path().join("events.jsonl");
    let text = sixmin_ok(&[
        "explain",
        "c-late",
        "--events",
        path_str(&events),
        "--state",
        path_str(&state),
    ]);
    assert!(
        text.contains("topic fault, limit 360 s (IL-6MIN), outcome answered"),
        "{text}"
    );
    assert!(
        text.contains("2026-10-05 10:00:00.000 +03:00"),
        "local time: {text}"
    );
    assert!(
        text.contains("IL-6MIN      BROKEN     answered 400 s after dialing > 360 s"),
        "{text}"
    );
    assert!(
        text.contains("verdict: breached IL-6MIN, IL-ANNOUNCE"),
        "{text}"
    );
    assert!(
        text.contains("ledger of breached calls: IL-6MIN, IL-ANNOUNCE (final)"),
        "{text}"
    );
    assert!(
        text.contains("evidence: c-late:1 c-late:2 c-late:3 c-late:4"),
        "{text}"
    );

    let json: Value = serde_json::from_str(&sixmin_ok(&[
        "explain",
        "c-late",
        "--state",
        path_str(&state),
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["ledger"]["wait_ms"], 400_000);
    assert!(json["explanation"].is_null(), "no events given");

    let unknown = sixmin(&["explain", "c-none", "--events", path_str(&events)]);
    assert_eq!(exit_code(&unknown), 3);
    assert!(String::from_utf8_lossy(&unknown.stderr)
        .contains("call `c-none` is not in the given events"));
}
