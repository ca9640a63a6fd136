//! `sixmin run` against a real Kafka-protocol broker: crashes, a second instance, a broker
//! outage and poison messages; each time the monthly report must equal the one of a
//! clean `sixmin replay` of the same events, field for field (the sources aside, which
//! name offsets instead of files).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::broker::{unique_topic, Broker};
use common::service::{checkpoint_report, replay_report, write_config, Service};
use common::*;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

/// Produces a simulated period to `topic` and writes the same events to a file.
fn produce_simulation(bootstrap: &str, topic: &str, dir: &Path, args: &[&str]) -> PathBuf {
    let events = dir.join(format!("{topic}.jsonl"));
    let mut to_file = vec!["simulate", "--out", path_str(&events)];
    to_file.extend(args);
    sixmin_ok(&to_file);
    let mut to_kafka = vec!["simulate", "--kafka", bootstrap, "--topic", topic];
    to_kafka.extend(args);
    sixmin_ok(&to_kafka);
    events
}

const OCTOBER: [&str; 8] = [
    "--date",
    "2026-10-01",
    "--days",
    "31",
    "--calls-per-day",
    "120",
    "--seed",
    "11",
];

fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

/// A record read back: key, payload, headers.
type Record = (Option<Vec<u8>>, Vec<u8>, BTreeMap<String, String>);

/// Every record of `topic` (all partitions, from the beginning to the end).
fn read_topic(bootstrap: &str, topic: &str) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique_topic("reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    let mut remaining = BTreeMap::new();
    for partition in metadata.topics()[0].partitions() {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition.id(), Duration::from_secs(10))
            .unwrap();
        if high > low {
            remaining.insert(partition.id(), high);
            assignment
                .add_partition_offset(topic, partition.id(), Offset::Beginning)
                .unwrap();
        }
    }
    let mut records = Vec::new();
    if remaining.is_empty() {
        return records;
    }
    consumer.assign(&assignment).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Past the high watermarks, read on until the topic is quiet for a second (a broker
    // may report the watermark of a batch before all of its records).
    let mut quiet_since: Option<Instant> = None;
    loop {
        assert!(Instant::now() < deadline, "reading `{topic}` timed out");
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            if remaining.is_empty() {
                let since = *quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(1) {
                    break;
                }
            }
            continue;
        };
        quiet_since = None;
        let message = message.unwrap();
        if remaining
            .get(&message.partition())
            .is_some_and(|end| message.offset() + 1 >= *end)
        {
            remaining.remove(&message.partition());
        }
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| {
                        let value = header
                            .value
                            .map(String::from_utf8_lossy)
                            .unwrap_or_default();
                        (header.key.to_owned(), value.into_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        records.push((
            message.key().map(<[u8]>::to_vec),
            message.payload().unwrap_or(&[]).to_vec(),
            headers,
        ));
    }
    records
}

/// The high watermark of every partition of `topic`.
fn partition_ends(bootstrap: &str, topic: &str) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    (0..6)
        .map(|partition| {
            consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(10))
                .map_or(-1, |(_, high)| high)
        })
        .collect()
}

/// The call ids of the verdicts in a topic, and how many records it holds.
fn verdict_calls(bootstrap: &str, topic: &str) -> (BTreeSet<String>, usize) {
    let records = read_topic(bootstrap, topic);
    let calls = records
        .iter()
        .map(|(key, payload, _)| {
            let verdict: serde_json::Value = serde_json::from_slice(payload).unwrap();
            let call = verdict["call_id"].as_str().unwrap().to_owned();
            assert_eq!(
                key.as_deref(),
                Some(call.as_bytes()),
                "verdicts are keyed by call"
            );
            call
        })
        .collect();
    (calls, records.len())
}

fn ledger_calls(events: &Path) -> BTreeSet<String> {
    let ledger = events.with_extension("ledger.jsonl");
    let state = events.with_extension("ledger-state");
    sixmin_ok(&[
        "replay",
        path_str(events),
        "--state",
        path_str(&state),
        "--ledger",
        path_str(&ledger),
        "--complete",
        "--quiet",
    ]);
    read_jsonl(&ledger)
        .iter()
        .map(|verdict| verdict["call_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn killed_at_random_points_the_service_still_reports_exactly_what_a_clean_replay_does() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let topic = unique_topic("crash");
    broker.create_topic(&topic, 3);
    let events = produce_simulation(&broker.bootstrap, &topic, dir.path(), &OCTOBER);
    let total = line_count(&events) as f64;
    let config = write_config(
        dir.path(),
        "crash",
        &broker.bootstrap,
        &topic,
        "directory",
        &[],
    );

    // Kill points: after a share of the month has been consumed by that run. They are
    // drawn from the clock so each run of the test kills at other points.
    let seed = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .subsec_nanos() as u64;
    let mut kills = Vec::new();
    for round in 0..3u64 {
        let share = 0.1 + ((seed >> (round * 8)) % 25) as f64 / 100.0;
        let target = (total * share / 2.0).floor();
        let mut service = Service::start(&config, &[]);
        service.wait_until(
            "events to be consumed",
            Duration::from_secs(120),
            |service| {
                service
                    .metric("sixmin_events_total")
                    .is_some_and(|consumed| consumed >= target)
            },
        );
        kills.push(service.metric("sixmin_events_total").unwrap());
        service.kill_9();
    }
    let mut last = Service::start(&config, &["--exit-when-caught-up"]);
    let status = last.wait(Duration::from_secs(180));
    assert!(status.success(), "{}", last.stderr());
    assert!(
        last.stderr().contains("assigned") && last.stderr().contains("@"),
        "restored from checkpoints: {}",
        last.stderr()
    );

    assert_eq!(
        checkpoint_report(&config, "2026-10"),
        replay_report(&events, "2026-10"),
        "killed after {kills:?} events"
    );
    // Every verdict reached the verdicts topic; some more than once (those produced
    // after the last checkpoint before a kill), identical and keyed by call.
    let (calls, records) = verdict_calls(&broker.bootstrap, &format!("{topic}.verdicts"));
    assert_eq!(calls, ledger_calls(&events));
    assert!(records >= calls.len());
}

#[test]
fn poison_messages_go_to_the_dead_letter_topic_with_their_reason_and_consumption_continues() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let topic = unique_topic("poison");
    broker.create_topic(&topic, 1);
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .set("message.max.bytes", "20000000")
        .create()
        .unwrap();
    let huge = format!("{{\"schema\":\"{}\"}}", "x".repeat(10 << 20));
    let poison: [(&str, &[u8]); 3] = [
        ("not-json", b"this is not JSON"),
        (
            "wrong-schema",
            br#"{"schema":"sixmin.call-event/v1","event_id":17}"#,
        ),
        ("huge", huge.as_bytes()),
    ];
    for (key, payload) in poison {
        producer
            .send(BaseRecord::to(&topic).key(key).payload(payload))
            .unwrap();
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    let day = [
        "--date",
        "2026-10-05",
        "--calls-per-day",
        "200",
        "--seed",
        "3",
    ];
    let events = produce_simulation(&broker.bootstrap, &topic, dir.path(), &day);
    let config = write_config(
        dir.path(),
        "poison",
        &broker.bootstrap,
        &topic,
        "directory",
        &[],
    );

    let mut service = Service::start(&config, &["--exit-when-caught-up"]);
    let status = service.wait(Duration::from_secs(120));
    assert!(status.success(), "{}", service.stderr());

    let dead = read_topic(&broker.bootstrap, &format!("{topic}.dead-letters"));

    let reasons: BTreeMap<String, String> = dead
        .iter()
        .map(|(key, _, headers)| {
            (
                String::from_utf8(key.clone().unwrap()).unwrap(),
                headers["sixmin.reason"].clone(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}\n{}", service.stderr());
    assert_eq!(reasons["not-json"], "not_json");
    assert_eq!(reasons["huge"], "too_large");
    assert_eq!(reasons["wrong-schema"], "missing_field");
    // The same bytes replayed from a file are dead-lettered with the same record: reason,
    // detail and length.
    let poison_file = dir.path().join("poison.jsonl");
    let mut lines = Vec::new();
    for (_, payload) in poison {
        lines.extend_from_slice(payload);
        lines.push(b'\n');
    }
    std::fs::write(&poison_file, lines).unwrap();
    let replayed_dead = dir.path().join("poison-dead-letter.jsonl");
    sixmin_ok(&[
        "replay",
        path_str(&poison_file),
        "--state",
        path_str(&dir.path().join("poison-state")),
        "--dead-letter",
        path_str(&replayed_dead),
    ]);
    let replayed = read_jsonl(&replayed_dead);
    assert_eq!(replayed.len(), poison.len());
    for ((key, _), letter) in poison.iter().zip(&replayed) {
        let (_, _, headers) = dead
            .iter()
            .find(|(dead_key, _, _)| dead_key.as_deref() == Some(key.as_bytes()))
            .unwrap();
        assert_eq!(letter["reason"].as_str().unwrap(), headers["sixmin.reason"]);
        assert_eq!(letter["detail"].as_str().unwrap(), headers["sixmin.detail"]);
        assert_eq!(letter["bytes"].to_string(), headers["sixmin.bytes"]);
    }
    for (key, payload, headers) in &dead {
        assert!(headers["sixmin.source"].starts_with(&format!("{topic}[0]@")));
        if key.as_deref() == Some(b"huge") {
            assert_eq!(
                headers["sixmin.truncated-from-bytes"],
                huge.len().to_string()
            );
            assert!(payload.len() < huge.len());
        } else if key.as_deref() == Some(b"not-json") {
            assert_eq!(payload, b"this is not JSON");
        }
    }
    // The valid events after them were all judged: the report is the replay's, plus the
    // three invalid events.
    let mut expected = replay_report(&events, "2026-10");
    let inputs = &mut expected["inputs"];
    for field in ["events", "invalid_events"] {
        inputs[field] = (inputs[field].as_u64().unwrap() + 3).into();
    }
    let reported = checkpoint_report(&config, "2026-10");
    assert_eq!(reported["rows"], expected["rows"]);
    assert_eq!(reported["inputs"]["events"], expected["inputs"]["events"]);
    assert_eq!(
        reported["inputs"]["invalid_events"],
        expected["inputs"]["invalid_events"]
    );
}

/// How the first of two instances goes away halfway.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Departure {
    /// `kill -9`: it leaves the group when its session times out.
    Killed,
    /// SIGTERM: it checkpoints and leaves the group at once.
    Stopped,
}

/// Two instances share a 6-partition topic (checkpoints in a Kafka topic); the first goes
/// away halfway; the second takes every partition, the first one's from its checkpoints;
/// the report over all partitions equals a clean replay's.
fn two_instances_one_leaving_halfway(bootstrap: &str, create_topic: impl Fn(&str), how: Departure) {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique_topic("pair");
    create_topic(&topic);
    let month = [
        "--date",
        "2026-10-01",
        "--days",
        "31",
        "--calls-per-day",
        "600",
        "--seed",
        "5",
    ];
    let events = produce_simulation(bootstrap, &topic, dir.path(), &month);
    let total = line_count(&events) as f64;
    let config_a = write_config(dir.path(), "a", bootstrap, &topic, "kafka", &[]);
    let config_b = write_config(dir.path(), "b", bootstrap, &topic, "kafka", &[]);
    let a = Service::start(&config_a, &[]);
    let mut b = Service::start(&config_b, &[]);
    let assigned = |service: &Service| {
        service
            .metric("sixmin_kafka_assigned_partitions")
            .unwrap_or(0.0)
    };
    let caught_up = |service: &Service| {
        service
            .metric("sixmin_kafka_partitions_caught_up")
            .unwrap_or(0.0)
    };
    // A goes once the two share the partitions and A still has events to read.
    b.wait_until(
        "the two to share the partitions, A with work left",
        Duration::from_secs(120),
        |b| assigned(b) >= 1.0 && assigned(&a) >= 1.0 && caught_up(&a) < assigned(&a),
    );
    let a_consumed = a.metric("sixmin_events_total").unwrap_or(0.0);
    let a_partitions = assigned(&a);
    match how {
        Departure::Killed => a.kill_9(),
        Departure::Stopped => {
            let (status, log) = a.terminate();
            assert!(status.success(), "{log}");
        }
    }
    b.wait_until(
        "B to take every partition and read them to the end",
        Duration::from_secs(180),
        |b| assigned(b) == 6.0 && caught_up(b) == 6.0,
    );
    let (status, log) = b.terminate();
    assert!(status.success(), "{log}");
    // Rebalances are logged: B was assigned a share, revoked, assigned everything.
    assert!(log.matches("sixmin run: assigned").count() >= 2, "{log}");
    assert!(log.contains("sixmin run: revoked"), "{log}");

    let sources = sixmin_ok(&[
        "report",
        "--config",
        path_str(&config_b),
        "--month",
        "2026-10",
    ]);
    let sources: serde_json::Value = serde_json::from_str(&sources).unwrap();
    let ends = partition_ends(bootstrap, &topic);
    assert_eq!(
        checkpoint_report(&config_b, "2026-10"),
        replay_report(&events, "2026-10"),
        "A ({how:?}) after {a_consumed} of {total} events, holding {a_partitions} partitions; \
         checkpoints {}; partition ends {ends:?}; B's log:\n{log}",
        sources["inputs"]["sources"]
    );
    // The ledger of breached calls, added up from six partitions' checkpoints, is the clean
    // replay's, line for line.
    let ledger_of = |source: &[&str], out: &Path| {
        let mut args = vec!["report"];
        args.extend_from_slice(source);
        args.extend([
            "--month",
            "2026-10",
            "--format",
            "json,csv",
            "--out",
            path_str(out),
        ]);
        args.extend(["--generated-at", GENERATED_AT]);
        sixmin_ok(&args);
        std::fs::read_to_string(out.join("breached-calls-2026-10.csv")).unwrap()
    };
    let work = config_b.parent().unwrap();
    let from_checkpoints = ledger_of(&["--config", path_str(&config_b)], &work.join("ledger-b"));
    let replay_state = events.with_extension("replay-state");
    let from_replay = ledger_of(
        &["--state", path_str(&replay_state)],
        &work.join("ledger-replay"),
    );
    assert!(
        from_replay.lines().count() > 10,
        "a month with breached calls"
    );
    assert_eq!(
        from_checkpoints, from_replay,
        "A ({how:?}): the ledgers differ"
    );
}

#[test]
fn two_instances_share_six_partitions_and_one_stopped_halfway_leaves_the_report_exact() {
    let broker = Broker::start();
    two_instances_one_leaving_halfway(
        &broker.bootstrap,
        |topic| broker.create_topic(topic, 6),
        Departure::Stopped,
    );
}

/// tansu 0.6 never drops a member whose session timed out (its partitions stay with the
/// dead process however long one waits), so the `kill -9` case runs on librdkafka's own
/// mock cluster, which implements the group protocol's session timeouts, or on the broker
/// named by `KAFKA_BOOTSTRAP`.
#[test]
fn two_instances_share_six_partitions_and_one_killed_halfway_leaves_the_report_exact() {
    if std::env::var("KAFKA_BOOTSTRAP").is_ok() {
        let broker = Broker::start();
        return two_instances_one_leaving_halfway(
            &broker.bootstrap,
            |topic| broker.create_topic(topic, 6),
            Departure::Killed,
        );
    }
    let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
    // The mock cluster does not serve CreateTopics: every topic is made beforehand.
    let create = |topic: &str| {
        cluster.create_topic(topic, 6, 1).unwrap();
        for output in ["verdicts", "breaches", "dead-letters", "checkpoints"] {
            cluster
                .create_topic(&format!("{topic}.{output}"), 1, 1)
                .unwrap();
        }
    };
    two_instances_one_leaving_halfway(&cluster.bootstrap_servers(), create, Departure::Killed);
}

#[test]
fn a_broker_stopped_for_thirty_seconds_loses_nothing_and_readyz_says_so() {
    let mut broker = Broker::start_durable();
    let dir = tempfile::tempdir().unwrap();
    let topic = unique_topic("outage");
    broker.create_topic(&topic, 1);
    let first = produce_simulation(
        &broker.bootstrap,
        &topic,
        dir.path(),
        &[
            "--date",
            "2026-10-01",
            "--days",
            "15",
            "--calls-per-day",
            "150",
            "--seed",
            "1",
        ],
    );
    let config = write_config(
        dir.path(),
        "outage",
        &broker.bootstrap,
        &topic,
        "directory",
        &[],
    );
    // Event time only, so that the second half, produced after the outage, is not late
    // against a clock moved to now while the service waited (one partition: the same
    // watermark as a replay of the same events).
    let mut service =
        Service::start_with_env(&config, &[], &[("SIXMIN_ENGINE_CLOCK", "event-time")]);
    let first_count = line_count(&first) as f64;
    service.wait_until("the first half, ready", Duration::from_secs(120), |s| {
        s.metric("sixmin_events_total") == Some(first_count) && s.ready_status() == 200
    });

    let stopped_at = Instant::now();
    broker.stop();
    service.wait_until(
        "/readyz to report the outage",
        Duration::from_secs(30),
        |s| s.ready_status() == 503 && s.metric("sixmin_kafka_broker_up") == Some(0.0),
    );
    std::thread::sleep(Duration::from_secs(30).saturating_sub(stopped_at.elapsed()));
    broker.restart();

    let second_dir = dir.path().join("second");
    std::fs::create_dir_all(&second_dir).unwrap();
    let second = produce_simulation(
        &broker.bootstrap,
        &topic,
        &second_dir,
        &[
            "--date",
            "2026-10-16",
            "--days",
            "16",
            "--calls-per-day",
            "150",
            "--seed",
            "2",
        ],
    );
    let total = first_count + line_count(&second) as f64;
    service.wait_until(
        "everything after the outage, ready",
        Duration::from_secs(180),
        |s| s.metric("sixmin_events_total") == Some(total) && s.ready_status() == 200,
    );
    // Lag and checkpoint age are published per partition.
    service.wait_until(
        "lag 0 and a recent checkpoint",
        Duration::from_secs(30),
        |s| {
            s.metric("sixmin_kafka_consumer_lag") == Some(0.0)
                && s.metric("sixmin_checkpoint_age_seconds")
                    .is_some_and(|age| age < 10.0)
                && s.metric("sixmin_kafka_broker_up") == Some(1.0)
        },
    );
    let (status, log) = service.terminate();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("unreachable") && log.contains("reachable again"),
        "{log}"
    );

    let state = dir.path().join("replay-both");
    sixmin_ok(&[
        "replay",
        path_str(&first),
        path_str(&second),
        "--state",
        path_str(&state),
        "--quiet",
    ]);
    assert_eq!(
        checkpoint_report(&config, "2026-10"),
        without_sources(report_json(&state, "2026-10"))
    );
}

/// `SIXMIN_LOG_FORMAT=json`: every log line is a JSON object a log collector can read,
/// with its level and message; the messages name partitions, never event contents.
#[test]
fn logs_are_json_lines_when_asked() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let topic = unique_topic("json-logs");
    broker.create_topic(&topic, 2);
    let day = [
        "--date",
        "2026-10-05",
        "--calls-per-day",
        "50",
        "--seed",
        "5",
    ];
    let events = produce_simulation(&broker.bootstrap, &topic, dir.path(), &day);
    let config = write_config(
        dir.path(),
        "json-logs",
        &broker.bootstrap,
        &topic,
        "directory",
        &[],
    );
    let mut service = Service::start_with_env(
        &config,
        &["--exit-when-caught-up"],
        &[("SIXMIN_LOG_FORMAT", "json")],
    );
    let status = service.wait(Duration::from_secs(120));
    assert!(status.success(), "{}", service.stderr());
    let log = service.stderr();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not a JSON log line ({error}): {line}"))
        })
        .collect();
    let messages: Vec<&str> = lines
        .iter()
        .map(|line| {
            assert!(line["level"].is_string(), "{line}");
            line["fields"]["message"].as_str().unwrap()
        })
        .collect();
    assert!(
        messages
            .iter()
            .any(|message| message.starts_with("assigned") && message.contains(&topic)),
        "{log}"
    );
    // No event contents: no call id of the input appears in any log line.
    let text = std::fs::read_to_string(events).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(!log.contains(first["call_id"].as_str().unwrap()), "{log}");
}
