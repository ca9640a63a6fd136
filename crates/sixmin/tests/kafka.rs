//! `sixmin simulate --kafka` produces to a real Kafka-protocol broker: every event once,
//! keyed by its call id, every event of a call in one partition.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use common::broker::{unique_topic, Broker};
use common::*;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

#[test]
fn simulate_produces_every_event_keyed_by_call_to_the_broker() {
    let broker = Broker::start();
    let topic = unique_topic("sixmin-events");
    broker.create_topic(&topic, 3);
    let simulation = [
        "simulate",
        "--date",
        "2026-10-04",
        "--calls-per-day",
        "150",
        "--seed",
        "7",
    ];
    let mut produce = simulation.to_vec();
    produce.extend(["--kafka", &broker.bootstrap, "--topic", &topic]);
    sixmin_ok(&produce);
    let expected: Vec<String> = sixmin_ok(&simulation).lines().map(str::to_owned).collect();
    assert!(expected.len() > 500);

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .set("group.id", unique_topic("sixmin-test"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..3 {
        assignment
            .add_partition_offset(&topic, partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut received: Vec<String> = Vec::new();
    let mut partition_of_call: HashMap<String, i32> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while received.len() < expected.len() && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = message.unwrap();
        let payload = std::str::from_utf8(message.payload().unwrap())
            .unwrap()
            .to_owned();
        let key = std::str::from_utf8(message.key().unwrap())
            .unwrap()
            .to_owned();
        let event: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(event["call_id"], key.as_str(), "the key is the call id");
        let partition = *partition_of_call.entry(key).or_insert(message.partition());
        assert_eq!(
            partition,
            message.partition(),
            "every event of a call in one partition"
        );
        received.push(payload);
    }
    let count = |lines: &[String]| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for line in lines {
            *counts.entry(line.clone()).or_default() += 1;
        }
        counts
    };
    assert_eq!(received.len(), expected.len(), "every event once");
    assert_eq!(count(&received), count(&expected));
    let partitions: std::collections::BTreeSet<i32> = partition_of_call.values().copied().collect();
    assert!(
        partitions.len() > 1,
        "calls spread over partitions: {partitions:?}"
    );
}
