//! The driver's contract: nothing refused is dropped, a dead letter is the same whatever
//! the source, outputs are handed on as they are made, and a checkpoint settles and
//! flushes before it snapshots.
#![allow(clippy::unwrap_used)]

use sixmin_core::{Engine, EngineConfig, Output};
use sixmin_pipeline::{
    Collect, DeadLetter, Driver, Fed, Origin, Record, Sink, SinkError, DEAD_LETTER_MAX_BYTES,
};

fn engine() -> Engine {
    Engine::new(
        sixmin_config::builtin_pack(),
        EngineConfig {
            emit_verdicts: true,
            ..EngineConfig::default()
        },
    )
}

fn event(id: &str, call: &str, kind: &str, ts: &str, extra: &str) -> String {
    format!(r#"{{"v":1,"event_id":"{id}","call_id":"{call}","type":"{kind}","ts":"{ts}"{extra}}}"#)
}

/// A billing call answered after 30 s, then ended.
fn answered_call(call: &str, start: &str, answer: &str, end: &str) -> Vec<String> {
    vec![
        event(
            &format!("{call}-s"),
            call,
            "call_started",
            start,
            r#","tenant":"acme""#,
        ),
        event(
            &format!("{call}-t"),
            call,
            "topic_selected",
            start,
            r#","topic":"billing""#,
        ),
        event(&format!("{call}-a"), call, "answered", answer, ""),
        event(&format!("{call}-e"), call, "ended", end, ""),
    ]
}

fn line(number: u64) -> Origin<'static> {
    Origin::Line {
        source: "day.jsonl",
        line: number,
    }
}

fn feed_all(driver: &mut Driver, lines: &[String], sink: &mut impl Sink) -> Vec<Fed> {
    lines
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let record = Record::whole(line(index as u64 + 1), text.as_bytes());
            driver.feed(record, sink).unwrap()
        })
        .collect()
}

#[test]
fn an_event_over_the_size_limit_is_dead_lettered_with_its_whole_length() {
    let mut driver = Driver::new(engine(), 100);
    let mut sink = Collect::default();
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(DEAD_LETTER_MAX_BYTES));
    // A line reader that stopped at the limit hands over a prefix and the length.
    let record = Record {
        origin: line(3),
        bytes: &big.as_bytes()[..DEAD_LETTER_MAX_BYTES],
        length: big.len(),
    };
    assert_eq!(driver.feed(record, &mut sink).unwrap(), Fed::DeadLettered);
    let letter = &sink.dead_letters[0];
    assert_eq!(letter["reason"], "too_large");
    assert_eq!(letter["line"], 3);
    assert_eq!(letter["bytes"], big.len());
    assert_eq!(letter["truncated"], true);
    assert!(letter["detail"]
        .as_str()
        .unwrap()
        .contains(&big.len().to_string()));
    assert_eq!(driver.counters().invalid["too_large"], 1);
}

#[test]
fn a_late_event_is_dead_lettered_as_late_and_counted() {
    let mut driver = Driver::new(engine(), 1 << 20);
    let mut sink = Collect::default();
    let mut lines = answered_call(
        "c-1",
        "2026-10-04T09:00:00Z",
        "2026-10-04T09:00:30Z",
        "2026-10-04T09:03:00Z",
    );
    lines.extend(answered_call(
        "c-2",
        "2026-10-04T12:00:00Z",
        "2026-10-04T12:00:30Z",
        "2026-10-04T12:03:00Z",
    ));
    // Stamped more than the allowed hour behind the newest event.
    lines.push(event(
        "c-3-s",
        "c-3",
        "call_started",
        "2026-10-04T10:00:00Z",
        "",
    ));
    let fed = feed_all(&mut driver, &lines, &mut sink);
    assert_eq!(fed.last(), Some(&Fed::DeadLettered));
    assert_eq!(sink.dead_letters.len(), 1);
    let letter = &sink.dead_letters[0];
    assert_eq!(letter["reason"], "late");
    assert_eq!(letter["line"], lines.len());
    assert_eq!(letter["raw"], lines[lines.len() - 1]);
    assert_eq!(driver.counters().late, 1);
}

#[test]
fn the_same_bad_bytes_give_the_same_reason_and_detail_from_a_file_and_from_kafka() {
    let bad: [&[u8]; 4] = [
        b"this is not JSON",
        br#"{"v":1,"event_id":17}"#,
        br#"{"v":1,"event_id":"e","call_id":"c","type":"hung_up","ts":"2026-10-04T09:00:00Z"}"#,
        &[b'{', 0xff, b'}'],
    ];
    for bytes in bad {
        let mut from_file = Collect::default();
        let mut from_topic = Collect::default();
        Driver::new(engine(), 1 << 20)
            .feed(Record::whole(line(9), bytes), &mut from_file)
            .unwrap();
        let message = Origin::Message {
            topic: "events",
            partition: 2,
            offset: 41,
        };
        Driver::new(engine(), 1 << 20)
            .feed(Record::whole(message, bytes), &mut from_topic)
            .unwrap();
        let (file, topic) = (&from_file.dead_letters[0], &from_topic.dead_letters[0]);
        for field in ["reason", "detail", "bytes", "raw", "raw_base64"] {
            assert_eq!(file.get(field), topic.get(field), "{field} of {file}");
        }
        assert_eq!(file["source"], "day.jsonl");
        assert_eq!(topic["source"], "events[2]@41");
    }
}

/// Records the order in which a sink is called.
#[derive(Default)]
struct Journal {
    calls: Vec<&'static str>,
}

impl Sink for Journal {
    fn output(&mut self, output: &Output) -> Result<(), SinkError> {
        if let Output::Verdict(_) = output {
            self.calls.push("verdict");
        }
        Ok(())
    }

    fn dead_letter(&mut self, _letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        self.calls.push("dead letter");
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.calls.push("flush");
        Ok(())
    }
}

#[test]
fn a_checkpoint_hands_on_every_verdict_and_flushes_before_it_snapshots() {
    let mut driver = Driver::new(engine(), 1 << 20);
    let mut journal = Journal::default();
    let mut lines = Vec::new();
    for (index, hour) in ["09", "10", "11"].iter().enumerate() {
        lines.extend(answered_call(
            &format!("c-{index}"),
            &format!("2026-10-04T{hour}:00:00Z"),
            &format!("2026-10-04T{hour}:00:30Z"),
            &format!("2026-10-04T{hour}:03:00Z"),
        ));
    }
    // Moves the watermark past the first calls: final, their bookkeeping queued.
    lines.extend(answered_call(
        "c-late-day",
        "2026-10-04T18:00:00Z",
        "2026-10-04T18:00:30Z",
        "2026-10-04T18:03:00Z",
    ));
    feed_all(&mut driver, &lines, &mut journal);
    assert!(
        !journal.calls.contains(&"verdict"),
        "final calls wait to be settled in a batch: {:?}",
        journal.calls
    );
    let (snapshot, _) = driver.checkpoint(&mut journal).unwrap();
    assert_eq!(journal.calls, ["verdict", "verdict", "verdict", "flush"]);
    // The snapshot is of a settled engine: restored, it reports the three calls.
    let restored = Engine::restore(
        sixmin_config::builtin_pack(),
        EngineConfig::default(),
        &snapshot,
    )
    .unwrap();
    let settled = sixmin_pipeline::Settled::of(&restored).unwrap();
    let offered: u64 = settled
        .tallies()
        .map(|(_, _, _, tally)| tally.offered)
        .sum();
    assert_eq!(offered, 3);
}

#[test]
fn a_sink_that_fails_fails_the_feed_rather_than_losing_the_result() {
    struct Full;
    impl Sink for Full {
        fn output(&mut self, _output: &Output) -> Result<(), SinkError> {
            Ok(())
        }
        fn dead_letter(&mut self, _letter: &DeadLetter<'_>) -> Result<(), SinkError> {
            Err(SinkError::Write {
                path: "dead.jsonl".into(),
                source: std::io::Error::other("disk full"),
            })
        }
    }
    let mut driver = Driver::new(engine(), 1 << 20);
    let error = driver
        .feed(Record::whole(line(1), b"nope"), &mut Full)
        .unwrap_err();
    assert!(error.to_string().contains("dead.jsonl"), "{error}");
    assert!(!error.is_retriable());
}
