//! Packs as users write them: the built-in one, custom ones, and the errors of broken ones.
//!
//! Each `tests/fixtures/invalid/*.toml` has its exact error text in a sibling `.expected`
//! file. After changing a message on purpose, run with `SIXMIN_BLESS=1` to rewrite them and
//! review the diff.

use std::fs;
use std::path::{Path, PathBuf};

use sixmin_config::{builtin_pack, load_pack, parse_pack, PackError, BUILTIN_PACK_SOURCE};
use sixmin_core::Duty;

fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind)
}

/// The `*.toml` files of a fixture directory, sorted, each with its file name.
fn fixtures(kind: &str) -> Vec<(String, PathBuf)> {
    let dir = fixture_dir(kind);
    let mut files: Vec<(String, PathBuf)> = fs::read_dir(&dir)
        .expect("the fixture directory is readable")
        .map(|entry| entry.expect("the fixture directory is readable").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .filter_map(|path| {
            let name = path.file_name()?.to_string_lossy().into_owned();
            Some((name, path))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn duty(within_ms: i64, rule: &str) -> Option<Duty> {
    Some(Duty {
        within_ms,
        rule: rule.to_string(),
    })
}

#[test]
fn the_builtin_pack_has_the_israeli_limits() {
    let pack = builtin_pack();
    assert_eq!(pack.name, "il-consumer-protection");
    assert_eq!(pack.version, "2019-07");
    assert_eq!(pack.timezone, chrono_tz::Asia::Jerusalem);
    assert_eq!(pack.default_limit_ms, 180_000);
    assert_eq!(pack.default_rule, "IL-3MIN");
    assert_eq!(pack.announcement, duty(120_000, "IL-ANNOUNCE"));
    assert_eq!(pack.callback, duty(10_800_000, "IL-CALLBACK"));
    assert_eq!(pack.sms, duty(600_000, "IL-SMS"));
    assert_eq!(pack.orphan_timeout_ms, 6 * 3_600_000);
    assert_eq!(pack.target_ratio, 0.99);

    let topics: Vec<(&str, i64, &str, Vec<&str>)> = pack
        .topics
        .iter()
        .map(|topic| {
            let aliases = topic.aliases.iter().map(String::as_str).collect();
            (
                topic.id.as_str(),
                topic.limit_ms,
                topic.rule.as_str(),
                aliases,
            )
        })
        .collect();
    assert_eq!(
        topics,
        vec![
            ("fault", 360_000, "IL-6MIN", vec!["repair", "תקלה"]),
            ("billing", 360_000, "IL-6MIN", vec![]),
            ("cancellation", 360_000, "IL-6MIN", vec![]),
        ]
    );
    let judged = pack.judge_topic(Some("תקלה"));
    assert_eq!(
        (judged.topic, judged.limit_ms, judged.rule),
        ("fault", 360_000, "IL-6MIN")
    );
    let other = pack.judge_topic(Some("sales"));
    assert_eq!((other.limit_ms, other.rule), (180_000, "IL-3MIN"));
    assert_eq!(
        pack.rule_ids(),
        vec!["IL-6MIN", "IL-3MIN", "IL-ANNOUNCE", "IL-CALLBACK", "IL-SMS"]
    );
}

#[test]
fn the_builtin_pack_hash_names_its_source() {
    let pack = builtin_pack();
    let reparsed = parse_pack(BUILTIN_PACK_SOURCE, "copy.toml").unwrap();
    assert_eq!(pack.sha256, reparsed.sha256);
    let edited = BUILTIN_PACK_SOURCE.replace("# Required.", "# Mandatory.");
    assert_ne!(
        parse_pack(&edited, "edited.toml").unwrap().sha256,
        pack.sha256
    );
}

#[test]
fn a_custom_pack_parses() {
    let source = r#"
name = "es-customer-service"
version = "2026-12"
timezone = "Europe/Madrid"
default_limit = "3m"
default_rule = "ES-3MIN"
callback_within = "1d"
callback_rule = "ES-CALLBACK"
target_ratio = 0.95

[[topic]]
id = "sales"
limit = "2m"
aliases = ["ventas", "comercial"]
rule = "ES-SALES"
"#;
    let pack = parse_pack(source, "es.toml").unwrap();
    assert_eq!(pack.label(), "es-customer-service@2026-12");
    assert_eq!(pack.timezone, chrono_tz::Europe::Madrid);
    assert_eq!(pack.announcement, None);
    assert_eq!(pack.callback, duty(86_400_000, "ES-CALLBACK"));
    assert_eq!(pack.sms, None);
    assert_eq!(pack.orphan_timeout_ms, 6 * 3_600_000, "the default");
    assert_eq!(pack.target_ratio, 0.95);
    let judged = pack.judge_topic(Some("ventas"));
    assert_eq!(
        (judged.topic, judged.limit_ms, judged.rule),
        ("sales", 120_000, "ES-SALES")
    );
    let other = pack.judge_topic(None);
    assert_eq!((other.limit_ms, other.rule), (180_000, "ES-3MIN"));
    assert_eq!(pack.rule_ids(), vec!["ES-SALES", "ES-3MIN", "ES-CALLBACK"]);
}

#[test]
fn valid_fixtures_parse() {
    for (name, path) in fixtures("valid") {
        let source = fs::read_to_string(&path).unwrap();
        if let Err(error) = parse_pack(&source, &name) {
            panic!("{name} should parse:\n{error}");
        }
    }
}

#[test]
fn invalid_fixtures_fail_with_the_expected_text() {
    let bless = std::env::var_os("SIXMIN_BLESS").is_some_and(|value| value == "1");
    let mut mismatches = Vec::new();
    for (name, path) in fixtures("invalid") {
        let source = fs::read_to_string(&path).unwrap();
        let actual = match parse_pack(&source, &name) {
            Ok(_) => format!("{name} parsed, but it should not\n"),
            Err(error) => format!("{error}\n"),
        };
        let expected_path = path.with_extension("expected");
        if bless {
            fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            mismatches.push(format!(
                "--- {name}: expected\n{expected}--- actual\n{actual}"
            ));
        }
    }
    for entry in fs::read_dir(fixture_dir("invalid")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|extension| extension == "expected")
        {
            let fixture = path.with_extension("toml");
            assert!(fixture.exists(), "{} has no fixture", path.display());
        }
    }
    assert!(
        mismatches.is_empty(),
        "error texts differ (run with SIXMIN_BLESS=1 to accept):\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn every_problem_is_reported_with_its_position() {
    let path = fixture_dir("invalid").join("several_problems.toml");
    let source = fs::read_to_string(path).unwrap();
    let error = parse_pack(&source, "several_problems.toml").unwrap_err();
    let positions: Vec<(usize, usize)> = error
        .problems()
        .iter()
        .map(|problem| (problem.line, problem.column))
        .collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted, "problems come in source order");
    assert!(positions.len() >= 10, "{error}");
    for problem in error.problems() {
        let first = problem.message.chars().next().unwrap();
        assert!(!first.is_uppercase(), "lowercase: {}", problem.message);
        assert!(
            !problem.message.ends_with('.'),
            "no trailing period: {}",
            problem.message
        );
        assert!(!problem.help.is_empty());
    }
    let timezone = error
        .problems()
        .iter()
        .find(|problem| problem.message.contains("`timezone`"))
        .unwrap();
    assert_eq!((timezone.line, timezone.column), (4, 12));
    assert!(
        timezone.help.contains("\"Asia/Jerusalem\""),
        "{}",
        timezone.help
    );
}

#[test]
fn a_clash_names_both_places() {
    let source = "name = \"x\"\nversion = \"1\"\ntimezone = \"UTC\"\ndefault_limit = \"3m\"\n\
                  [[topic]]\nid = \"billing\"\nlimit = \"6m\"\n\
                  [[topic]]\nid = \"fault\"\nlimit = \"6m\"\naliases = [\"billing\"]\n";
    let error = parse_pack(source, "p.toml").unwrap_err();
    let [problem] = error.problems() else {
        panic!("one problem expected:\n{error}");
    };
    assert_eq!((problem.line, problem.column), (11, 12));
    assert_eq!(
        problem.message,
        "`billing` already names topic `billing` on line 6"
    );
}

#[test]
fn a_pack_key_below_the_topics_is_called_misplaced_only_when_missing_above() {
    let head = "name = \"x\"\nversion = \"1\"\ntimezone = \"UTC\"\ndefault_limit = \"3m\"\n";
    let misplaced = format!("{head}[[topic]]\nid = \"a\"\nlimit = \"6m\"\nsms_within = \"10m\"\n");
    let error = parse_pack(&misplaced, "p.toml").unwrap_err();
    assert!(
        error.problems()[0]
            .help
            .contains("move it above the first `[[topic]]`"),
        "{error}"
    );

    let not_an_id = format!("{head}[[topic]]\nname = \"a\"\nlimit = \"6m\"\n");
    let error = parse_pack(&not_an_id, "p.toml").unwrap_err();
    let unknown = error
        .problems()
        .iter()
        .find(|p| p.message.contains("`name`"))
        .unwrap();
    assert_eq!(
        unknown.help,
        "the keys of a `[[topic]]` are `id`, `limit`, `aliases` and `rule`"
    );
}

#[test]
fn load_pack_reads_a_file_and_names_it_in_errors() {
    let path = fixture_dir("valid").join("minimal.toml");
    let pack = load_pack(&path).unwrap();
    assert_eq!(pack.name, "minimal");

    let invalid = fixture_dir("invalid").join("zero_limit.toml");
    let error = load_pack(&invalid).unwrap_err();
    let expected_origin = format!("{}:8:9: ", invalid.display());
    assert!(error.to_string().starts_with(&expected_origin), "{error}");
}

#[test]
fn load_pack_reports_an_unreadable_file() {
    let path = fixture_dir("valid").join("does-not-exist.toml");
    let error = load_pack(&path).unwrap_err();
    assert!(matches!(error, PackError::Read { .. }));
    assert_eq!(
        error.to_string(),
        format!("cannot read rule pack `{}`", path.display())
    );
    assert!(std::error::Error::source(&error).is_some());
    assert!(error.problems().is_empty());
}
