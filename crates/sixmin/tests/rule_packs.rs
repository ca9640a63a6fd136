//! Rule packs from the command line: `rules check` and `rules show`, a custom pack judging
//! calls by its own limits and rule ids, and a state directory bound to its pack.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::json;

/// A pack for another jurisdiction: no announcement, callback or SMS duty, one listed
/// topic with an alias, and rule ids of its own.
const CUSTOM_PACK: &str = r#"# A pack for tests: another jurisdiction's limits.
name = "example-jurisdiction"
version = "2026-01"
timezone = "Europe/Madrid"
default_limit = "3m"
default_rule = "EX-3MIN"

[[topic]]
id = "sales"
limit = "90s"
aliases = ["ventas"]
rule = "EX-SALES"
"#;

/// A pack with two problems: an unknown time zone (line 3, column 12) and a duration
/// with no unit (line 4, column 17).
const BAD_PACK: &str = r#"name = "acme-internal"
version = "2024-01"
timezone = "Asia/Jerusalam"
default_limit = "3 minutes"
"#;

fn builtin_pack_file() -> PathBuf {
    repo_root().join("crates/sixmin-config/packs/il-consumer-protection.toml")
}

/// The SHA-256 that `rules show` gives a pack (`None`: the built-in one).
fn sha256_shown(pack: Option<&Path>) -> String {
    let mut args = vec!["rules", "show"];
    if let Some(pack) = pack {
        args.push(path_str(pack));
    }
    let shown = sixmin_ok(&args);
    let first = shown.lines().next().unwrap();
    let sha256 = first.rsplit_once("sha256 ").unwrap().1;
    assert_eq!(sha256.len(), 64, "{first}");
    sha256.to_owned()
}

#[test]
fn rules_check_accepts_the_builtin_pack() {
    let output = sixmin(&["rules", "check"]);
    assert_eq!(exit_code(&output), 0);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout
            .starts_with("ok: built-in is rule pack il-consumer-protection@2019-07 with 3 topics"),
        "{stdout}"
    );
    // The built-in pack is the committed file, byte for byte.
    let output = sixmin(&["rules", "check", path_str(&builtin_pack_file())]);
    assert_eq!(exit_code(&output), 0);
    assert_eq!(sha256_shown(Some(&builtin_pack_file())), sha256_shown(None));
}

#[test]
fn rules_check_rejects_a_bad_pack_with_positions_and_help() {
    let work = tempfile::tempdir().unwrap();
    let pack = work.path().join("acme.toml");
    std::fs::write(&pack, BAD_PACK).unwrap();
    let output = sixmin(&["rules", "check", path_str(&pack)]);
    assert_eq!(exit_code(&output), 2);
    let stderr = String::from_utf8(output.stderr).unwrap();
    let file = pack.display().to_string();
    assert!(stderr.contains(&format!("{file}:3:12: ")), "{stderr}");
    assert!(stderr.contains(&format!("{file}:4:17: ")), "{stderr}");
    assert_eq!(stderr.matches("  help: ").count(), 2, "{stderr}");
    assert!(
        stderr.contains("did you mean \"Asia/Jerusalem\"?"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn rules_show_prints_the_pack_name_sha256_and_source() {
    let shown = sixmin_ok(&["rules", "show"]);
    assert!(
        shown.starts_with("# rule pack il-consumer-protection@2019-07 (built-in), sha256 "),
        "{shown}"
    );
    assert!(shown.contains("# topic fault: 360000 ms (IL-6MIN), aliases repair, תקלה"));
    assert!(shown.ends_with(&std::fs::read_to_string(builtin_pack_file()).unwrap()));

    let work = tempfile::tempdir().unwrap();
    let pack = work.path().join("example.toml");
    std::fs::write(&pack, CUSTOM_PACK).unwrap();
    let shown = sixmin_ok(&["rules", "show", path_str(&pack)]);
    assert!(
        shown.starts_with(&format!(
            "# rule pack example-jurisdiction@2026-01 ({}), sha256 ",
            pack.display()
        )),
        "{shown}"
    );
    assert!(shown.contains("# time zone Europe/Madrid; default limit 180000 ms (EX-3MIN)"));
    assert!(shown.contains("# topic sales: 90000 ms (EX-SALES), aliases ventas"));
    assert!(shown.contains("# announcement within: disabled"));
    assert!(shown.contains("# callback within: disabled"));
    assert!(shown.contains("# sms within: disabled"));
    assert!(shown.ends_with(CUSTOM_PACK));
    assert_ne!(sha256_shown(Some(&pack)), sha256_shown(None));
}

/// Calls of 5 October 2026 (Madrid is at +02:00), each judged differently by the custom
/// pack than by the Israeli one.
fn custom_pack_events() -> String {
    let mut lines = Vec::new();
    let mut call = |id: &str, start: &str, topic: Option<&str>, stop: (&str, &str)| {
        lines.push(event(
            &format!("{id}:1"),
            id,
            "call_started",
            start,
            &[("tenant", "shop")],
        ));
        if let Some(topic) = topic {
            let at = start.replace(":00Z", ":10Z");
            lines.push(event(
                &format!("{id}:2"),
                id,
                "topic_selected",
                &at,
                &[("topic", topic)],
            ));
        }
        lines.push(event(&format!("{id}:3"), id, stop.0, stop.1, &[]));
    };
    // `ventas` is `sales`: answered after 100 s, over its 90 s limit.
    call(
        "c-1",
        "2026-10-05T08:00:00Z",
        Some("ventas"),
        ("answered", "2026-10-05T08:01:40Z"),
    );
    // Exactly at the 90 s limit: compliant.
    call(
        "c-2",
        "2026-10-05T08:10:00Z",
        Some("sales"),
        ("answered", "2026-10-05T08:11:30Z"),
    );
    // No topic: the default limit of 3 minutes, broken after 200 s; no announcement duty.
    call(
        "c-3",
        "2026-10-05T08:20:00Z",
        None,
        ("answered", "2026-10-05T08:23:20Z"),
    );
    // `billing` is not listed in this pack (6 minutes in the Israeli one): 3 minutes.
    call(
        "c-4",
        "2026-10-05T08:30:00Z",
        Some("billing"),
        ("answered", "2026-10-05T08:33:20Z"),
    );
    // A callback request and no attempt ever: no callback duty in this pack.
    call(
        "c-5",
        "2026-10-05T08:40:00Z",
        Some("sales"),
        ("callback_requested", "2026-10-05T08:40:30Z"),
    );
    jsonl(&lines)
}

#[test]
fn a_custom_pack_judges_calls_by_its_limits_and_rule_ids() {
    let work = tempfile::tempdir().unwrap();
    let pack = work.path().join("example.toml");
    std::fs::write(&pack, CUSTOM_PACK).unwrap();
    let events = work.path().join("events.jsonl");
    std::fs::write(&events, custom_pack_events()).unwrap();
    let state = work.path().join("state");
    let ledger = work.path().join("ledger.jsonl");
    let summary = sixmin_ok(&[
        "replay",
        path_str(&events),
        "--rules",
        path_str(&pack),
        "--state",
        path_str(&state),
        "--ledger",
        path_str(&ledger),
        "--complete",
    ]);
    assert!(
        summary.contains("rule pack example-jurisdiction@2026-01"),
        "{summary}"
    );

    let verdicts = read_jsonl(&ledger);
    let judged: Vec<(String, String, u64, serde_json::Value)> = verdicts
        .iter()
        .map(|verdict| {
            assert_eq!(
                verdict["rule_pack"],
                json!({"name": "example-jurisdiction", "version": "2026-01"})
            );
            (
                verdict["call_id"].as_str().unwrap().to_owned(),
                verdict["topic"].as_str().unwrap().to_owned(),
                verdict["limit_ms"].as_u64().unwrap(),
                verdict["breaches"].clone(),
            )
        })
        .collect();
    let expected = |call: &str, topic: &str, limit: u64, breaches: serde_json::Value| {
        (call.to_owned(), topic.to_owned(), limit, breaches)
    };
    assert_eq!(
        judged,
        [
            expected("c-1", "sales", 90_000, json!(["EX-SALES"])),
            expected("c-2", "sales", 90_000, json!([])),
            expected("c-3", "general", 180_000, json!(["EX-3MIN"])),
            expected("c-4", "billing", 180_000, json!(["EX-3MIN"])),
            expected("c-5", "sales", 90_000, json!([])),
        ]
    );
    assert_eq!(verdicts[0]["wait_ms"], 100_000);
    assert_eq!(verdicts[4]["outcome"], "callback");

    // The report names the custom pack and its time zone; the state keeps the pack, so
    // `report` needs no `--rules`.
    let report = report_json(&state, "2026-10");
    assert_eq!(report["rule_pack"]["name"], "example-jurisdiction");
    assert_eq!(report["rule_pack"]["version"], "2026-01");
    assert_eq!(report["rule_pack"]["sha256"], sha256_shown(Some(&pack)));
    assert_eq!(report["period"]["timezone"], "Europe/Madrid");
    assert_eq!(report["period"]["start"], "2026-10-01T00:00:00+02:00");
    assert_eq!(report["period"]["end"], "2026-11-01T00:00:00+01:00");
    assert_eq!(
        report["totals"]["breaches"],
        json!({"EX-3MIN": 2, "EX-SALES": 1})
    );
    assert_eq!(report["totals"]["breached_calls"], 3);
    assert_eq!(report["totals"]["offered"], 5);
}

#[test]
fn a_state_keeps_its_pack_and_refuses_another() {
    let work = tempfile::tempdir().unwrap();
    let pack = work.path().join("example.toml");
    std::fs::write(&pack, CUSTOM_PACK).unwrap();
    let events = work.path().join("events.jsonl");
    std::fs::write(&events, custom_pack_events()).unwrap();
    let state = work.path().join("state");
    let ledger = work.path().join("ledger.jsonl");
    sixmin_ok(&[
        "replay",
        path_str(&events),
        "--rules",
        path_str(&pack),
        "--state",
        path_str(&state),
        "--ledger",
        path_str(&ledger),
    ]);

    // Later runs without `--rules` use the state's pack: a `ventas` call answered after
    // 100 s breaks EX-SALES.
    let more = work.path().join("more.jsonl");
    std::fs::write(
        &more,
        jsonl(&[
            event("c-6:1", "c-6", "call_started", "2026-10-06T08:00:00Z", &[]),
            event(
                "c-6:2",
                "c-6",
                "topic_selected",
                "2026-10-06T08:00:10Z",
                &[("topic", "ventas")],
            ),
            event("c-6:3", "c-6", "answered", "2026-10-06T08:01:40Z", &[]),
        ]),
    )
    .unwrap();
    sixmin_ok(&[
        "replay",
        path_str(&more),
        "--state",
        path_str(&state),
        "--ledger",
        path_str(&ledger),
        "--complete",
    ]);
    let verdicts = read_jsonl(&ledger);
    let last = verdicts.last().unwrap();
    assert_eq!(last["call_id"], "c-6");
    assert_eq!(last["breaches"], json!(["EX-SALES"]));
    let report = report_json(&state, "2026-10");
    assert_eq!(report["rule_pack"]["name"], "example-jurisdiction");
    assert_eq!(report["totals"]["breaches"]["EX-SALES"], 2);

    // The built-in pack, or the same pack with one byte changed, is another pack.
    let edited = work.path().join("edited.toml");
    std::fs::write(&edited, format!("{CUSTOM_PACK}# edited\n")).unwrap();
    let state_before = std::fs::read(state.join("state.json.gz")).unwrap();
    for other in [builtin_pack_file(), edited] {
        let output = sixmin(&[
            "replay",
            path_str(&more),
            "--rules",
            path_str(&other),
            "--state",
            path_str(&state),
        ]);
        assert_eq!(
            exit_code(&output),
            4,
            "{}: {}",
            other.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("example-jurisdiction@2026-01"), "{stderr}");
    }
    assert_eq!(
        std::fs::read(state.join("state.json.gz")).unwrap(),
        state_before,
        "a refused run leaves the state as it was"
    );
}
