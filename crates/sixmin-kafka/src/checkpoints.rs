//! The checkpoint store of several instances: a compacted Kafka topic, one record per
//! partition of the events topic (key `group/topic/partition`), so a partition that
//! moves to another instance finds its state there.
//!
//! A record's header `sixmin.next-offset` repeats the offset its state covers. A reader
//! keeps, per key, the record with the greatest offset (the latest of equals): a state
//! that covers more events is never replaced by an older one, even if a stale writer
//! (an instance that lost its partition without noticing) writes after the new owner.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::{Offset, TopicPartitionList};
use sixmin_store::checkpoint::{decode, encode};
use sixmin_store::{CheckpointStore, PartitionCheckpoint, StoreError};

use crate::output::OutputProducer;

/// The header that carries a checkpoint's offset.
pub const NEXT_OFFSET_HEADER: &str = "sixmin.next-offset";

/// How long the checkpoint topic must stay quiet past its high watermarks.
const QUIET: Duration = Duration::from_millis(500);

/// How long reading the checkpoint topic to its end may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Checkpoints in a compacted topic.
pub struct TopicCheckpointStore {
    config: ClientConfig,
    topic: String,
    producer: OutputProducer,
    /// How long a save waits for the broker to confirm.
    save_timeout: Duration,
}

impl TopicCheckpointStore {
    /// A store in `topic` of the cluster of `config`.
    pub fn new(
        config: &ClientConfig,
        topic: &str,
        save_timeout: Duration,
    ) -> Result<TopicCheckpointStore, StoreError> {
        let producer = OutputProducer::new(config).map_err(|error| StoreError::Remote {
            store: format!("topic {topic}"),
            reason: error.to_string(),
        })?;
        Ok(TopicCheckpointStore {
            config: config.clone(),
            topic: topic.to_owned(),
            producer,
            save_timeout,
        })
    }

    fn remote(&self, reason: impl std::fmt::Display) -> StoreError {
        StoreError::Remote {
            store: self.describe(),
            reason: reason.to_string(),
        }
    }

    /// Reads the topic to its end and keeps, for every key that `wanted` accepts, the
    /// record with the greatest offset.
    fn read_newest(
        &self,
        wanted: impl Fn(&str) -> Option<i32>,
    ) -> Result<BTreeMap<i32, PartitionCheckpoint>, StoreError> {
        let consumer: BaseConsumer = self
            .config
            .clone()
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("group.id", "sixmin-checkpoint-reader")
            .create()
            .map_err(|error| self.remote(error))?;
        let metadata = consumer
            .fetch_metadata(Some(&self.topic), Duration::from_secs(10))
            .map_err(|error| self.remote(error))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|topic| topic.partitions().iter().map(|p| p.id()))
            .collect();
        let mut ends = BTreeMap::new();
        let mut assignment = TopicPartitionList::new();
        for partition in &partitions {
            let (low, high) = consumer
                .fetch_watermarks(&self.topic, *partition, Duration::from_secs(10))
                .map_err(|error| self.remote(error))?;
            if high > low {
                ends.insert(*partition, high);
                assignment
                    .add_partition_offset(&self.topic, *partition, Offset::Beginning)
                    .map_err(|error| self.remote(error))?;
            }
        }
        let mut newest: BTreeMap<i32, Candidate> = BTreeMap::new();
        if ends.is_empty() {
            return Ok(BTreeMap::new());
        }
        consumer
            .assign(&assignment)
            .map_err(|error| self.remote(error))?;
        let started = Instant::now();
        // Past the high watermarks, read on until the topic is quiet for a moment: a
        // broker may announce a watermark before the records below it are readable.
        let mut quiet_since: Option<Instant> = None;
        loop {
            if started.elapsed() > READ_TIMEOUT {
                return Err(self.remote(format!(
                    "reading to the end took longer than {} s",
                    READ_TIMEOUT.as_secs()
                )));
            }
            let Some(result) = consumer.poll(Duration::from_millis(100)) else {
                if ends.is_empty() {
                    let since = *quiet_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= QUIET {
                        break;
                    }
                }
                continue;
            };
            quiet_since = None;
            let message = result.map_err(|error| self.remote(error))?;
            let here = (message.partition(), message.offset());
            if ends
                .get(&here.0)
                .is_some_and(|end| message.offset() + 1 >= *end)
            {
                ends.remove(&here.0);
            }
            let Some(partition) = message
                .key()
                .and_then(|key| std::str::from_utf8(key).ok())
                .and_then(&wanted)
            else {
                continue;
            };
            let Some(covered) = header_offset(&message) else {
                continue;
            };
            let Some(payload) = message.payload() else {
                continue;
            };
            let newer = newest
                .get(&partition)
                .is_none_or(|(best, at, _)| (covered, here) >= (*best, *at));
            if newer {
                newest.insert(partition, (covered, here, payload.to_vec()));
            }
        }
        newest
            .into_iter()
            .map(|(partition, (_, (at_partition, at_offset), bytes))| {
                let origin = format!("{}[{at_partition}]@{at_offset}", self.topic);
                decode(&bytes, &origin).map(|checkpoint| (partition, checkpoint))
            })
            .collect()
    }
}

/// A record read: the offset its state covers, where it is in the checkpoint topic
/// (partition, offset), and its bytes.
type Candidate = (i64, (i32, i64), Vec<u8>);

fn header_offset(message: &impl Message) -> Option<i64> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|header| header.key == NEXT_OFFSET_HEADER)
        .and_then(|header| header.value)
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|text| text.parse().ok())
}

/// Parses `group/topic/partition`, accepting it when group and topic match.
fn partition_of(key: &str, group: &str, topic: &str) -> Option<i32> {
    let (prefix, partition) = key.rsplit_once('/')?;
    (prefix == format!("{group}/{topic}"))
        .then(|| partition.parse().ok())
        .flatten()
}

impl CheckpointStore for TopicCheckpointStore {
    fn describe(&self) -> String {
        format!("topic {}", self.topic)
    }

    fn load(
        &mut self,
        group: &str,
        topic: &str,
        partitions: &[i32],
    ) -> Result<BTreeMap<i32, PartitionCheckpoint>, StoreError> {
        self.read_newest(|key| {
            partition_of(key, group, topic).filter(|partition| partitions.contains(partition))
        })
    }

    fn load_all(
        &mut self,
        group: &str,
        topic: &str,
    ) -> Result<BTreeMap<i32, PartitionCheckpoint>, StoreError> {
        self.read_newest(|key| partition_of(key, group, topic))
    }

    fn save(&mut self, checkpoint: &PartitionCheckpoint) -> Result<(), StoreError> {
        let bytes = encode(checkpoint)?;
        let offset = checkpoint.next_offset.to_string();
        let headers = OwnedHeaders::new().insert(Header {
            key: NEXT_OFFSET_HEADER,
            value: Some(offset.as_bytes()),
        });
        let failed_before = self.producer.counts().failed();
        self.producer
            .send(
                &self.topic,
                checkpoint.key.record_key().as_bytes(),
                &bytes,
                Some(headers),
            )
            .map_err(|error| self.remote(error))?;
        self.producer
            .flush(self.save_timeout)
            .map_err(|error| self.remote(error))?;
        if self.producer.counts().failed() > failed_before {
            return Err(self.remote("the broker refused the checkpoint"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_other_groups_and_topics_are_not_taken() {
        assert_eq!(
            partition_of("g/sixmin.events/3", "g", "sixmin.events"),
            Some(3)
        );
        assert_eq!(
            partition_of("h/sixmin.events/3", "g", "sixmin.events"),
            None
        );
        assert_eq!(partition_of("g/other/3", "g", "sixmin.events"), None);
        assert_eq!(
            partition_of("g/sixmin.events/x", "g", "sixmin.events"),
            None
        );
    }
}
