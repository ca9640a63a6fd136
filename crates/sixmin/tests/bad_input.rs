//! Malformed input: every kind of invalid line the v1 contract names is dead-lettered with
//! its reason and position, counted in the report, and stops nothing; the valid events
//! around them are judged as usual.
//!
//! The corpus is `tests/fixtures/malformed.jsonl`, written by [`corpus`] (run with
//! `SIXMIN_BLESS=1` to rewrite it). It is bytes, not text: one line is not UTF-8.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use common::*;

/// `--max-event-bytes` of the run: the oversized line of the corpus is over it, every other
/// line is under it.
const MAX_EVENT_BYTES: usize = 4096;

/// Values placed in bad fields that must never be repeated in a dead letter's `detail`
/// (a detail names the field, never its value: values can be personal data).
const SECRET_VALUES: [&str; 6] = [
    "+972-50-1234567",
    "0501234567",
    "secret-event-id",
    "secret-tenant",
    "secret-attrs",
    "secret-outcome",
];

/// One line of the corpus and the dead-letter reason it must get (`None`: a valid event,
/// or a blank line, which is not an event).
struct Line {
    bytes: Vec<u8>,
    reason: Option<&'static str>,
}

fn valid(line: String) -> Line {
    Line {
        bytes: line.into_bytes(),
        reason: None,
    }
}

fn bad(bytes: impl Into<Vec<u8>>, reason: &'static str) -> Line {
    Line {
        bytes: bytes.into(),
        reason: Some(reason),
    }
}

/// A complete, valid `ended` event of call `c-x` with one field replaced by raw JSON
/// (`None` removes it).
fn ended_with(field: &str, raw_value: Option<&str>) -> String {
    let fields = [
        ("v", "1"),
        ("event_id", r#""bad-event""#),
        ("call_id", r#""c-x""#),
        ("type", r#""ended""#),
        ("ts", r#""2026-10-04T07:30:00Z""#),
    ];
    let mut parts: Vec<String> = Vec::new();
    let mut replaced = false;
    for (name, value) in fields {
        if name == field {
            replaced = true;
            if let Some(raw) = raw_value {
                parts.push(format!(r#""{name}":{raw}"#));
            }
        } else {
            parts.push(format!(r#""{name}":{value}"#));
        }
    }
    if !replaced {
        if let Some(raw) = raw_value {
            parts.push(format!(r#""{field}":{raw}"#));
        }
    }
    format!("{{{}}}", parts.join(","))
}

/// The corpus, in file order.
fn corpus() -> Vec<Line> {
    let hebrew_64 = "ת".repeat(64);
    let hebrew_65 = "ת".repeat(65);
    let id_128 = "i".repeat(128);
    let id_129 = "i".repeat(129);
    // An `ended` of c-ok-1 that would be valid but for its size: if it were accepted the
    // call's evidence would list `ok-1-big`.
    let oversized = {
        let head = r#"{"v":1,"event_id":"ok-1-big","call_id":"c-ok-1","type":"ended","ts":"2026-10-04T07:10:00Z","attrs":{"pad":""#;
        let tail = r#""}}"#;
        let pad = "p".repeat(10_000 - head.len() - tail.len());
        let line = format!("{head}{pad}{tail}");
        assert_eq!(line.len(), 10_000);
        line
    };
    vec![
        // Call c-ok-1: a billing call answered after 100 s (under its 6-minute limit).
        valid(event(
            "ok-1-start",
            "c-ok-1",
            "call_started",
            "2026-10-04T07:00:00Z",
            &[("tenant", "acme"), ("queue", "ivr")],
        )),
        // Truncated JSON.
        bad(
            r#"{"v":1,"event_id":"secret-event-id","call_id":"c-x","type":"answered","ts":"2026-10-04T07:"#,
            "not_json",
        ),
        // Not JSON at all.
        bad("caller 0501234567 answered at 10:00", "not_json"),
        // JSON, but not an object.
        bad(r#"["v",1,"event_id","secret-event-id"]"#, "not_an_object"),
        bad("null", "not_an_object"),
        valid(event(
            "ok-1-topic",
            "c-ok-1",
            "topic_selected",
            "2026-10-04T07:00:20Z",
            &[("topic", "billing")],
        )),
        // Not UTF-8: two raw bytes that begin no UTF-8 sequence, inside a string.
        bad(
            [
                &br#"{"v":1,"event_id":"bad-"#[..],
                &[0xff, 0xfe],
                &br#"","call_id":"c-x","type":"ended","ts":"2026-10-04T07:30:00Z"}"#[..],
            ]
            .concat(),
            "not_utf8",
        ),
        // Wrong types.
        bad(ended_with("v", Some(r#""1""#)), "wrong_type"),
        bad(ended_with("v", Some("1.0")), "wrong_type"),
        bad(ended_with("event_id", Some("5012345")), "wrong_type"),
        // A blank line is not an event: skipped, not dead-lettered, but it has a number.
        Line {
            bytes: b"   ".to_vec(),
            reason: None,
        },
        bad(ended_with("tenant", Some("972501234")), "wrong_type"),
        bad(
            ended_with("attrs", Some(r#"["secret-attrs"]"#)),
            "wrong_type",
        ),
        // Missing required fields.
        bad(ended_with("v", None), "missing_field"),
        bad(ended_with("event_id", None), "missing_field"),
        bad(ended_with("call_id", None), "missing_field"),
        bad(ended_with("type", None), "missing_field"),
        bad(ended_with("ts", None), "missing_field"),
        valid(event(
            "ok-1-answer",
            "c-ok-1",
            "answered",
            "2026-10-04T07:01:40Z",
            &[("agent", "a-1")],
        )),
        // Empty strings.
        bad(ended_with("event_id", Some(r#""""#)), "empty_field"),
        bad(ended_with("call_id", Some(r#""""#)), "empty_field"),
        bad(ended_with("tenant", Some(r#""""#)), "empty_field"),
        bad(ended_with("queue", Some(r#""""#)), "empty_field"),
        // Too long: 129 characters of id, 65 Hebrew letters of topic (130 bytes).
        bad(
            ended_with("event_id", Some(&format!(r#""{id_129}""#))),
            "field_too_long",
        ),
        bad(
            ended_with("topic", Some(&format!(r#""{hebrew_65}""#))),
            "field_too_long",
        ),
        // Call c-ok-2: the longest id and topic allowed (128 characters; 64 Hebrew letters,
        // 128 bytes), answered after 60 s.
        valid(event(
            &id_128,
            "c-ok-2",
            "call_started",
            "2026-10-04T07:05:00Z",
            &[("tenant", "globex")],
        )),
        valid(event(
            "ok-2-topic",
            "c-ok-2",
            "topic_selected",
            "2026-10-04T07:05:10Z",
            &[("topic", &hebrew_64)],
        )),
        // Bad timestamps.
        bad(
            ended_with("ts", Some(r#""2026-10-04T07:30:00""#)),
            "bad_timestamp",
        ),
        bad(
            ended_with("ts", Some(r#""+972-50-1234567""#)),
            "bad_timestamp",
        ),
        bad(
            ended_with("ts", Some(r#""2026-13-04T07:30:00Z""#)),
            "bad_timestamp",
        ),
        // Unknown type, unsupported version, bad outcome.
        bad(ended_with("type", Some(r#""hung_up""#)), "unknown_type"),
        bad(ended_with("v", Some("2")), "unsupported_version"),
        bad(
            event(
                "bad-outcome",
                "c-x",
                "callback_attempted",
                "2026-10-04T07:30:00Z",
                &[("outcome", "secret-outcome")],
            ),
            "bad_outcome",
        ),
        // Over --max-event-bytes (10 000 bytes against 4 096).
        bad(oversized, "too_large"),
        valid(event(
            "ok-2-answer",
            "c-ok-2",
            "answered",
            "2026-10-04T07:06:00Z",
            &[],
        )),
        valid(event(
            "ok-2-end",
            "c-ok-2",
            "ended",
            "2026-10-04T07:09:00Z",
            &[],
        )),
        valid(event(
            "ok-1-end",
            "c-ok-1",
            "ended",
            "2026-10-04T07:09:30Z",
            &[],
        )),
        // `v` as an object: a wrong type whose contents must not reach the detail.
        bad(
            ended_with("v", Some(r#"{"tenant":"secret-tenant"}"#)),
            "wrong_type",
        ),
    ]
}

fn corpus_bytes() -> Vec<u8> {
    let mut bytes = Vec::new();
    for line in corpus() {
        bytes.extend_from_slice(&line.bytes);
        bytes.push(b'\n');
    }
    bytes
}

fn fixture() -> std::path::PathBuf {
    repo_root().join("crates/sixmin/tests/fixtures/malformed.jsonl")
}

/// (line number, reason) of every line that must be dead-lettered, in file order.
fn expected_dead_letters() -> Vec<(u64, String)> {
    corpus()
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            line.reason
                .map(|reason| (index as u64 + 1, reason.to_owned()))
        })
        .collect()
}

#[test]
fn malformed_fixture_is_the_corpus() {
    assert_golden_bytes(&fixture(), &corpus_bytes());
}

#[test]
fn the_corpus_covers_every_invalid_reason() {
    let reasons: std::collections::BTreeSet<String> = expected_dead_letters()
        .into_iter()
        .map(|(_, reason)| reason)
        .collect();
    for reason in [
        "not_utf8",
        "not_json",
        "not_an_object",
        "missing_field",
        "wrong_type",
        "empty_field",
        "field_too_long",
        "bad_timestamp",
        "unknown_type",
        "unsupported_version",
        "bad_outcome",
        "too_large",
    ] {
        assert!(reasons.contains(reason), "the corpus lacks {reason}");
    }
}

/// Replays the committed fixture; returns the work directory.
fn replay_fixture() -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    let path = |name: &str| work.path().join(name);
    let max = MAX_EVENT_BYTES.to_string();
    let output = sixmin(&[
        "replay",
        path_str(&fixture()),
        "--state",
        path_str(&path("state")),
        "--ledger",
        path_str(&path("ledger.jsonl")),
        "--dead-letter",
        path_str(&path("dead-letter.jsonl")),
        "--max-event-bytes",
        &max,
        "--complete",
    ]);
    assert_eq!(
        exit_code(&output),
        0,
        "invalid events must not fail a run: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    work
}

/// The (line, reason) of each dead letter, in file order.
fn lines_and_reasons(dead: &[serde_json::Value]) -> Vec<(u64, String)> {
    dead.iter()
        .map(|letter| {
            (
                letter["line"].as_u64().unwrap(),
                letter["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn without_a_dead_letter_file_invalid_events_go_to_the_state_directory() {
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    let max = MAX_EVENT_BYTES.to_string();
    let output = sixmin(&[
        "replay",
        path_str(&fixture()),
        "--state",
        path_str(&state),
        "--max-event-bytes",
        &max,
    ]);
    assert_eq!(
        exit_code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dead = read_jsonl(&state.join("dead-letter.jsonl"));
    assert_eq!(lines_and_reasons(&dead), expected_dead_letters());
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(
        summary.contains("dead-letter.jsonl"),
        "the summary names the file: {summary}"
    );
}

#[test]
fn every_bad_line_is_dead_lettered_once_with_its_reason_and_line_number() {
    let work = replay_fixture();
    let dead = read_jsonl(&work.path().join("dead-letter.jsonl"));
    assert_eq!(lines_and_reasons(&dead), expected_dead_letters());
    for letter in &dead {
        assert_eq!(letter["source"], "malformed.jsonl", "{letter}");
        assert!(
            !letter["detail"].as_str().unwrap().is_empty(),
            "{letter} has no detail"
        );
    }
}

#[test]
fn dead_letters_carry_the_raw_line_and_base64_only_when_it_is_not_utf8() {
    let work = replay_fixture();
    let dead = read_jsonl(&work.path().join("dead-letter.jsonl"));
    let corpus = corpus();
    for letter in &dead {
        let line = &corpus[letter["line"].as_u64().unwrap() as usize - 1];
        let raw = letter["raw"].as_str().unwrap();
        assert_eq!(raw, String::from_utf8_lossy(&line.bytes), "{letter}");
        match std::str::from_utf8(&line.bytes) {
            Ok(_) => assert!(letter.get("raw_base64").is_none(), "{letter}"),
            Err(_) => {
                let encoded = letter["raw_base64"].as_str().unwrap();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap();
                assert_eq!(
                    decoded, line.bytes,
                    "raw_base64 must give back the exact bytes"
                );
            }
        }
    }
    let with_base64 = dead
        .iter()
        .filter(|letter| letter.get("raw_base64").is_some())
        .count();
    assert_eq!(with_base64, 1);
}

#[test]
fn dead_letter_details_never_repeat_field_values() {
    let work = replay_fixture();
    let dead = read_jsonl(&work.path().join("dead-letter.jsonl"));
    for letter in &dead {
        let detail = letter["detail"].as_str().unwrap();
        for secret in SECRET_VALUES {
            assert!(
                !detail.contains(secret),
                "line {}: the detail `{detail}` repeats a value",
                letter["line"]
            );
        }
        for fragment in ["972", "50123", "hung_up", "2026-13", "ת"] {
            assert!(
                !detail.contains(fragment),
                "line {}: the detail `{detail}` repeats a value",
                letter["line"]
            );
        }
    }
}

#[test]
fn valid_events_among_bad_lines_are_judged() {
    let work = replay_fixture();
    let ledger = read_jsonl(&work.path().join("ledger.jsonl"));
    let by_call: BTreeMap<&str, &serde_json::Value> = ledger
        .iter()
        .map(|verdict| (verdict["call_id"].as_str().unwrap(), verdict))
        .collect();
    assert_eq!(
        by_call.keys().copied().collect::<Vec<_>>(),
        ["c-ok-1", "c-ok-2"],
        "only the valid calls have verdicts"
    );

    let first = by_call["c-ok-1"];
    assert_eq!(first["tenant"], "acme");
    assert_eq!(first["topic"], "billing");
    assert_eq!(first["outcome"], "answered");
    assert_eq!(first["wait_ms"], 100_000);
    assert_eq!(first["limit_ms"], 360_000);
    assert_eq!(first["breaches"], serde_json::json!([]));
    assert_eq!(
        first["events"],
        serde_json::json!(["ok-1-start", "ok-1-topic", "ok-1-answer", "ok-1-end"]),
        "the oversized `ended` must not be applied"
    );

    let second = by_call["c-ok-2"];
    assert_eq!(second["topic"], "ת".repeat(64));
    assert_eq!(second["outcome"], "answered");
    assert_eq!(second["wait_ms"], 60_000);
    assert_eq!(second["limit_ms"], 180_000);
    assert_eq!(second["events"][0], "i".repeat(128));
}

#[test]
fn report_counts_invalid_events_by_reason() {
    let work = replay_fixture();
    let report = report_json(&work.path().join("state"), "2026-10");
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (_, reason) in expected_dead_letters() {
        *expected.entry(reason).or_default() += 1;
    }
    let actual: BTreeMap<String, u64> =
        serde_json::from_value(report["inputs"]["invalid_by_reason"].clone()).unwrap();
    assert_eq!(actual, expected);
    let invalid: u64 = expected.values().sum();
    assert_eq!(report["inputs"]["invalid_events"], invalid);
    // Eight valid events; the blank line is not an event.
    assert_eq!(report["inputs"]["accepted_events"], 8);
    assert_eq!(report["inputs"]["events"], invalid + 8);
    assert_eq!(report["totals"]["offered"], 2);
    assert_eq!(report["totals"]["answered"], 2);
}

/// docs/semantics.md: "An event with several problems gets the first in this order of
/// checks: size, UTF-8, JSON, object, `v`, required fields (presence and type, in the order
/// `event_id`, `call_id`, `type`, `ts`), emptiness and length of ids, `type`, `ts`,
/// optional fields, `outcome`, `attrs`."
#[test]
fn an_event_with_several_problems_gets_the_first_reason_in_the_documented_order() {
    let cases: [(&str, &str); 10] = [
        // Over the size limit and not JSON: size first.
        (&format!("{{{}", "x".repeat(5000)), "too_large"),
        // `v` missing and `event_id` of the wrong type: `v` first.
        (
            r#"{"event_id":5,"call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}"#,
            "missing_field",
        ),
        // `call_id` missing and `type` unknown: required fields before `type`.
        (
            r#"{"v":1,"event_id":"e","type":"hung_up","ts":"2026-10-04T09:00:00Z"}"#,
            "missing_field",
        ),
        // Unknown `type` and a bad `ts`: `type` first.
        (
            r#"{"v":1,"event_id":"e","call_id":"c","type":"hung_up","ts":"x"}"#,
            "unknown_type",
        ),
        // `v` is 2 and `tenant` is a number: `v` before optional fields.
        (
            r#"{"v":2,"event_id":"e","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z","tenant":5}"#,
            "unsupported_version",
        ),
        // An empty `event_id` and a numeric `tenant`: ids before optional fields.
        (
            r#"{"v":1,"event_id":"","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z","tenant":5}"#,
            "empty_field",
        ),
        // A bad `ts` and a numeric `queue`: `ts` before optional fields.
        (
            r#"{"v":1,"event_id":"e","call_id":"c","type":"ended","ts":"x","queue":7}"#,
            "bad_timestamp",
        ),
        // Unknown `type` and `attrs` an array: `type` before `attrs`.
        (
            r#"{"v":1,"event_id":"e","call_id":"c","type":"hung_up","ts":"2026-10-04T09:00:00Z","attrs":[1]}"#,
            "unknown_type",
        ),
        // `v` is 2 and `attrs` an array: `v` before `attrs`.
        (
            r#"{"v":2,"event_id":"e","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z","attrs":[1]}"#,
            "unsupported_version",
        ),
        // A bad `outcome` and `attrs` an array: `outcome` before `attrs`.
        (
            r#"{"v":1,"event_id":"e","call_id":"c","type":"callback_attempted","ts":"2026-10-04T09:00:00Z","outcome":"busy","attrs":[1]}"#,
            "bad_outcome",
        ),
    ];
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("several-problems.jsonl");
    let lines: Vec<&str> = cases.iter().map(|(line, _)| *line).collect();
    std::fs::write(&input, jsonl(&lines)).unwrap();
    let dead = work.path().join("dead-letter.jsonl");
    let max = MAX_EVENT_BYTES.to_string();
    sixmin_ok(&[
        "replay",
        path_str(&input),
        "--state",
        path_str(&work.path().join("state")),
        "--dead-letter",
        path_str(&dead),
        "--max-event-bytes",
        &max,
    ]);
    let actual: Vec<(u64, String)> = read_jsonl(&dead)
        .iter()
        .map(|letter| {
            (
                letter["line"].as_u64().unwrap(),
                format!(
                    "{} ({})",
                    letter["reason"].as_str().unwrap(),
                    letter["detail"].as_str().unwrap()
                ),
            )
        })
        .collect();
    let mismatches: Vec<String> = cases
        .iter()
        .zip(&actual)
        .filter(|((_, expected), (_, got))| !got.starts_with(&format!("{expected} (")))
        .map(|((line, expected), (number, got))| {
            format!("line {number}: expected {expected}, got {got}: {line}")
        })
        .collect();
    assert_eq!(actual.len(), cases.len());
    assert!(
        mismatches.is_empty(),
        "reasons out of the documented order:\n{}",
        mismatches.join("\n")
    );
}

/// The demo drives the same pipeline as `replay`: an event over `--max-event-bytes` and an
/// event later than `--allowed-lateness` are dead-lettered with their reason and the
/// simulator's line number, not dropped.
#[test]
fn the_demo_dead_letters_oversized_and_late_events() {
    let work = tempfile::tempdir().unwrap();
    let dead = work.path().join("demo-dead-letter.jsonl");
    // Simulated events are 130 to 175 bytes; the simulator delays some by up to 20
    // minutes, so with one minute of lateness some arrive late.
    let output = sixmin(&[
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--date",
        "2026-10-05",
        "--start-at",
        "10:00",
        "--speed",
        "3600",
        "--duration",
        "3",
        "--calls-per-day",
        "2000",
        "--max-event-bytes",
        "160",
        "--allowed-lateness",
        "1m",
        "--dead-letter",
        path_str(&dead),
    ]);
    assert!(output.status.success(), "{output:?}");
    let letters = read_jsonl(&dead);
    let count = |reason: &str| {
        letters
            .iter()
            .filter(|letter| letter["reason"] == reason)
            .count()
    };
    assert!(count("too_large") > 0, "no oversized event dead-lettered");
    assert!(count("late") > 0, "no late event dead-lettered");
    for letter in &letters {
        assert_eq!(letter["source"], "simulator", "{letter}");
        assert!(letter["line"].as_u64().unwrap() > 0, "{letter}");
        if letter["reason"] == "too_large" {
            assert!(letter["bytes"].as_u64().unwrap() > 160, "{letter}");
        }
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("{} dead letters", letters.len())),
        "{stdout}"
    );
}
