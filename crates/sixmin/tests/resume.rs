//! Continuing a state: a stream replayed in several runs, or by a run killed and started
//! again, gives the ledger and report of one clean run, byte for byte: no verdict is lost
//! or written twice.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use sixmin_sim::SimConfig;

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, jsonl(lines)).unwrap();
}

#[test]
fn three_runs_over_three_files_equal_one_run_over_their_concatenation() {
    let work = tempfile::tempdir().unwrap();
    let lines = sim_lines(&SimConfig {
        seed: 11,
        days: 3,
        calls_per_day: 300,
        ..SimConfig::default()
    });
    // Cut in arrival order at places that fall inside calls, not between days.
    let cuts = [0, lines.len() * 2 / 7, lines.len() * 3 / 5, lines.len()];
    let mut parts = Vec::new();
    for (index, window) in cuts.windows(2).enumerate() {
        let part = work.path().join(format!("part-{index}.jsonl"));
        write_lines(&part, &lines[window[0]..window[1]]);
        parts.push(part);
    }
    let whole = work.path().join("whole.jsonl");
    write_lines(&whole, &lines);

    let split_state = work.path().join("split");
    let split_ledger = work.path().join("split-ledger.jsonl");
    let mut pending_between_runs = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let mut args = vec![
            "replay",
            path_str(part),
            "--state",
            path_str(&split_state),
            "--ledger",
            path_str(&split_ledger),
        ];
        let last = index == parts.len() - 1;
        if last {
            args.push("--complete");
        }
        sixmin_ok(&args);
        if !last {
            let report = report_json(&split_state, "2026-10");
            pending_between_runs.push(report["data_quality"]["pending"].as_u64().unwrap());
        }
    }
    // The cuts leave calls open, to be judged by a later run with all their events.
    assert!(
        pending_between_runs.iter().all(|pending| *pending > 0),
        "{pending_between_runs:?}"
    );

    let whole_state = work.path().join("whole");
    let whole_ledger = work.path().join("whole-ledger.jsonl");
    sixmin_ok(&[
        "replay",
        path_str(&whole),
        "--state",
        path_str(&whole_state),
        "--ledger",
        path_str(&whole_ledger),
        "--complete",
    ]);

    let split_ledger = std::fs::read(&split_ledger).unwrap();
    assert!(!split_ledger.is_empty());
    assert_eq!(split_ledger, std::fs::read(&whole_ledger).unwrap());
    for period in ["2026-10", "2026-10-04", "2026-10-05", "2026-10-06"] {
        let split_report = report_json(&split_state, period);
        let whole_report = report_json(&whole_state, period);
        assert_eq!(split_report["data_quality"]["pending"], 0);
        assert_eq!(
            without_sources(split_report),
            without_sources(whole_report),
            "{period}"
        );
    }
}

/// Lines of a stream long enough that a run can be killed well before its end: ten days
/// of a busy centre, with a few invalid lines so the dead-letter file has content too.
fn big_stream() -> String {
    let mut lines = sim_lines(&SimConfig {
        seed: 2026,
        days: 10,
        calls_per_day: 2000,
        ..SimConfig::default()
    });
    let count = lines.len();
    for index in 1..=20 {
        lines.insert(index * count / 21, format!("not json {index}"));
    }
    jsonl(&lines)
}

struct Paths {
    state: std::path::PathBuf,
    ledger: std::path::PathBuf,
    dead_letter: std::path::PathBuf,
}

impl Paths {
    fn under(dir: &Path) -> Paths {
        Paths {
            state: dir.join("state"),
            ledger: dir.join("ledger.jsonl"),
            dead_letter: dir.join("dead-letter.jsonl"),
        }
    }
}

fn start_replay(input: &Path, paths: &Paths) -> Child {
    sixmin_command(&[
        "replay",
        path_str(input),
        "--checkpoint-every",
        "500",
        "--ledger",
        path_str(&paths.ledger),
        "--dead-letter",
        path_str(&paths.dead_letter),
        "--state",
        path_str(&paths.state),
        "--complete",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap()
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |metadata| metadata.len())
}

/// Kills the run with SIGKILL once the ledger is longer than `bytes`. Panics if the run
/// ends first (the stream is then too short for this test).
fn kill_when_ledger_passes(mut child: Child, ledger: &Path, bytes: u64) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the replay ended ({status}) before its ledger passed {bytes} bytes; make the \
                 stream longer"
            );
        }
        if file_len(ledger) > bytes {
            child.kill().unwrap();
            child.wait().unwrap();
            return;
        }
        assert!(Instant::now() < deadline, "the replay made no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How far the state has read `big.jsonl`: (records, whole file read). A state saved
/// before the first checkpoint inside the file does not list it yet.
fn progress_of(state: &Path) -> (u64, bool) {
    let report = report_json(state, "2026-10");
    let Some(source) = report["inputs"]["sources"][0].as_str() else {
        return (0, false);
    };
    // `sha256:<hex> big.jsonl (<records> records, complete|partial)`
    let progress = source.split_once(" big.jsonl (").unwrap().1;
    let (records, rest) = progress.split_once(" records, ").unwrap();
    (records.parse().unwrap(), rest == "complete)")
}

/// Kills a replay at several points and runs it again each time; the final ledger, dead
/// letters and report are those of a clean run.
///
/// Where each kill lands is not deterministic (it depends on how fast the machine runs the
/// replay: before or after a checkpoint, in the middle of writing a ledger line, during a
/// state save), but the assertions hold for every kill point: that is what is tested. The
/// thresholds only spread the kills over the run.
#[test]
fn a_replay_killed_several_times_resumes_to_the_clean_result() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("big.jsonl");
    std::fs::write(&input, big_stream()).unwrap();

    let clean_dir = work.path().join("clean");
    std::fs::create_dir(&clean_dir).unwrap();
    let clean = Paths::under(&clean_dir);
    sixmin_ok(&[
        "replay",
        path_str(&input),
        "--ledger",
        path_str(&clean.ledger),
        "--dead-letter",
        path_str(&clean.dead_letter),
        "--state",
        path_str(&clean.state),
        "--complete",
    ]);
    let clean_ledger = std::fs::read(&clean.ledger).unwrap();
    let clean_dead_letters = std::fs::read(&clean.dead_letter).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&clean_dead_letters).lines().count(),
        20
    );
    let total = clean_ledger.len() as u64;

    let crash_dir = work.path().join("crash");
    std::fs::create_dir(&crash_dir).unwrap();
    let crash = Paths::under(&crash_dir);
    let mut previous_records = 0u64;
    for share in [0.0, 0.35, 0.7] {
        // Each threshold is past what the last run left, so every run gets further.
        let threshold = ((total as f64 * share) as u64).max(file_len(&crash.ledger));
        kill_when_ledger_passes(start_replay(&input, &crash), &crash.ledger, threshold);
        let (records, complete) = progress_of(&crash.state);
        assert!(!complete, "a killed run leaves the input partly read");
        assert!(
            records >= previous_records,
            "{records} < {previous_records}"
        );
        assert_eq!(records % 500, 0, "progress is saved at checkpoints");
        previous_records = records;
    }
    let status = start_replay(&input, &crash).wait().unwrap();
    assert!(status.success(), "{status}");

    let crash_ledger = std::fs::read(&crash.ledger).unwrap();
    assert_eq!(
        crash_ledger.len(),
        clean_ledger.len(),
        "the resumed ledger has lost or doubled verdicts"
    );
    assert!(crash_ledger == clean_ledger, "the resumed ledger differs");
    assert_eq!(
        std::fs::read(&crash.dead_letter).unwrap(),
        clean_dead_letters
    );
    for period in ["2026-10", "2026-10-04", "2026-10-08", "2026-10-13"] {
        assert_eq!(
            report_text(&crash.state, period),
            report_text(&clean.state, period),
            "{period}"
        );
    }
}

/// Two runs over a day cut in two, the second with `--complete`, writing the ledger to
/// `ledger_path(run)` from the work directory; before the second run the ledger gets what
/// a run killed in the middle of a write leaves behind it: bytes past the checkpoint.
/// Returns the final ledger and the ledger of one clean run.
fn ledger_after_leftovers(ledger_path: impl Fn(&Path, usize) -> String) -> (Vec<u8>, Vec<u8>) {
    let work = tempfile::tempdir().unwrap();
    let lines = sim_lines(&SimConfig {
        seed: 5,
        days: 1,
        calls_per_day: 200,
        ..SimConfig::default()
    });
    let half = lines.len() / 2;
    write_lines(&work.path().join("first.jsonl"), &lines[..half]);
    write_lines(&work.path().join("second.jsonl"), &lines[half..]);
    write_lines(&work.path().join("whole.jsonl"), &lines);
    sixmin_ok(&[
        "replay",
        path_str(&work.path().join("whole.jsonl")),
        "--state",
        path_str(&work.path().join("clean")),
        "--ledger",
        path_str(&work.path().join("clean-ledger.jsonl")),
        "--complete",
    ]);
    let clean = std::fs::read(work.path().join("clean-ledger.jsonl")).unwrap();

    for (run, input) in ["first.jsonl", "second.jsonl"].into_iter().enumerate() {
        let ledger = ledger_path(work.path(), run);
        let mut args = vec!["replay", input, "--state", "state", "--ledger", &ledger];
        if run == 1 {
            args.push("--complete");
        }
        let output = sixmin_command(&args)
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        if run == 0 {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(work.path().join("ledger.jsonl"))
                .unwrap();
            std::io::Write::write_all(&mut file, br#"{"call_id":"c-half-writ"#).unwrap();
        }
    }
    let resumed = std::fs::read(work.path().join("ledger.jsonl")).unwrap();
    assert!(!clean.is_empty());
    (resumed, clean)
}

/// The deterministic half of the crash test: what follows the checkpointed length of the
/// ledger is cut before the next run writes.
#[test]
fn ledger_bytes_past_the_checkpoint_are_cut_by_the_next_run() {
    let (resumed, clean) = ledger_after_leftovers(|_, _| "ledger.jsonl".to_owned());
    assert!(resumed == clean, "the leftover bytes were not cut");
}

/// The same file named once relative to the working directory and once absolutely is the
/// same output: operations.md promises the cut after any crash, however the path is
/// spelled.
#[test]
fn ledger_bytes_past_the_checkpoint_are_cut_when_the_path_is_spelled_differently() {
    let (resumed, clean) = ledger_after_leftovers(|work, run| {
        if run == 0 {
            "ledger.jsonl".to_owned()
        } else {
            work.join("ledger.jsonl").display().to_string()
        }
    });
    assert!(
        resumed == clean,
        "the leftover bytes were not cut: the ledger holds {} bytes, a clean run {}",
        resumed.len(),
        clean.len()
    );
}
