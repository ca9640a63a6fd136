//! What the consumer loop and the rebalance callbacks share: one engine per assigned
//! partition, the checkpoint store, the output producer and the watch.
//!
//! Each partition of the events topic has an engine of its own (every event of a call is
//! in one partition, by key), checkpointed together with the offset it covers. A
//! partition can then move to another instance with its state, and a report adds the
//! partitions up.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use sixmin_config::{ClockMode, LoadedPack, ServiceConfig, StartAt};
use sixmin_core::{Engine, EngineConfig, InputCounters};
use sixmin_metrics::{KafkaMetrics, PartitionGauge};
use sixmin_pipeline::{clock, CheckpointError, Driver, Origin, Record, Settled, SinkError};
use sixmin_server::Watch;
use sixmin_store::{
    CheckpointStore, PartitionCheckpoint, PartitionKey, StoreError, CHECKPOINT_FORMAT,
};
use tracing::{info, warn};

use super::outputs::KafkaOutputs;
use crate::offsets::{AtEnd, PartitionOffsets, Step};
use crate::OutputProducer;

/// One assigned partition.
pub struct Partition {
    /// Its engine, driven.
    pub driver: Driver,
    /// Where its reading stands.
    pub offsets: PartitionOffsets,
    /// Changed since the last checkpoint.
    pub dirty: bool,
    /// When it was last checkpointed (or assigned).
    pub checkpointed_at: Instant,
    /// The engine's input counts already added to the process's counts.
    counted: InputCounters,
}

/// Why a partition could not be checkpointed (it resumes from its last checkpoint).
#[derive(Debug, thiserror::Error)]
pub enum PartitionCheckpointError {
    /// Its outputs were not delivered in time; the next interval tries again.
    #[error("checkpoint of {key} postponed: {source}")]
    Postponed {
        /// The partition.
        key: PartitionKey,
        /// Why.
        #[source]
        source: Box<CheckpointError>,
    },
    /// Its outputs could not be handed on or its engine not snapshotted.
    #[error("checkpoint of {key}: {source}")]
    Snapshot {
        /// The partition.
        key: PartitionKey,
        /// Why.
        #[source]
        source: Box<CheckpointError>,
    },
    /// The store refused it.
    #[error("checkpoint of {key} failed: {source}")]
    Store {
        /// The partition.
        key: PartitionKey,
        /// Why.
        #[source]
        source: Box<StoreError>,
    },
}

impl PartitionCheckpointError {
    /// Whether the next interval can succeed where this one failed (outputs delayed, a
    /// store unreachable for now).
    pub fn is_retriable(&self) -> bool {
        match self {
            PartitionCheckpointError::Postponed { .. } | PartitionCheckpointError::Store { .. } => {
                true
            }
            PartitionCheckpointError::Snapshot { .. } => false,
        }
    }
}

/// Why partitions could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    /// Trying again cannot help (a checkpoint of another rule pack): stop.
    #[error("{0}")]
    Fatal(String),
    /// Perhaps passing (the store unreachable): try again, a few times.
    #[error("{0}")]
    Retry(String),
}

impl AssignError {
    /// Whether trying again can help.
    pub fn is_retriable(&self) -> bool {
        matches!(self, AssignError::Retry(_))
    }
}

/// The shared state of a running service: what the consumer loop and the rebalance
/// callbacks share.
pub struct ConsumerState {
    /// The configuration.
    pub config: ServiceConfig,
    pack: LoadedPack,
    engine_config: EngineConfig,
    /// Assigned partitions by number.
    pub partitions: BTreeMap<i32, Partition>,
    store: Box<dyn CheckpointStore>,
    /// The producer of verdicts, breaches and dead letters.
    pub producer: OutputProducer,
    /// Metrics and status page.
    pub watch: Watch,
    /// Kafka metrics.
    pub kafka_metrics: KafkaMetrics,
    /// Events taken in by this process (all partitions, ever assigned).
    consumed: InputCounters,
    /// A reason to stop that no retry can fix (a checkpoint of another rule pack).
    pub fatal: Option<String>,
    /// `host:pid`, written into checkpoints.
    writer: String,
    /// Messages applied by this process, with the instants of the first and last.
    pub messages: u64,
    /// When the first message of this process was applied.
    pub first_message_at: Option<Instant>,
    /// When the last one was.
    pub last_message_at: Option<Instant>,
    /// Output deliveries already counted in the metrics (delivered, failed).
    delivery_counted: (u64, u64),
}

impl ConsumerState {
    /// A state with nothing assigned yet.
    pub fn new(
        config: ServiceConfig,
        pack: LoadedPack,
        store: Box<dyn CheckpointStore>,
        producer: OutputProducer,
        watch: Watch,
        kafka_metrics: KafkaMetrics,
    ) -> ConsumerState {
        let engine_config = EngineConfig {
            allowed_lateness_ms: config.allowed_lateness_ms,
            emit_verdicts: true,
            emit_stops: true,
            ..EngineConfig::default()
        };
        ConsumerState {
            config,
            pack,
            engine_config,
            partitions: BTreeMap::new(),
            store,
            producer,
            watch,
            kafka_metrics,
            consumed: InputCounters::default(),
            fatal: None,
            writer: format!("{}:{}", hostname(), std::process::id()),
            messages: 0,
            first_message_at: None,
            last_message_at: None,
            delivery_counted: (0, 0),
        }
    }

    /// Describes the checkpoint store, for logs.
    pub fn store_name(&self) -> String {
        self.store.describe()
    }

    /// Restores (or starts) the engines of newly assigned `partitions` and sets in
    /// `assignment` the offset each resumes at.
    pub fn assign(
        &mut self,
        partitions: &[i32],
        assignment: &mut TopicPartitionList,
    ) -> Result<(), AssignError> {
        let topic = self.config.events_topic.clone();
        let group = self.config.group_id.clone();
        let mut checkpoints = self
            .store
            .load(&group, &topic, partitions)
            .map_err(|error| AssignError::Retry(error.to_string()))?;
        let mut resumed = Vec::new();
        for partition in partitions {
            let (engine, offset) = match checkpoints.remove(partition) {
                Some(checkpoint) => {
                    let engine = self.restore(&checkpoint)?;
                    resumed.push(format!("{partition}@{}", checkpoint.next_offset));
                    (engine, Offset::Offset(checkpoint.next_offset))
                }
                None => {
                    resumed.push(format!("{partition}@new"));
                    let start = match self.config.start_at {
                        StartAt::Earliest => Offset::Beginning,
                        StartAt::Latest => Offset::End,
                    };
                    (
                        Engine::new(self.pack.pack.clone(), self.engine_config),
                        start,
                    )
                }
            };
            // From the beginning, the first offset is 0 (or the oldest kept, which a
            // rewind finds); from the end, it is not known.
            let next_offset = match offset {
                Offset::Offset(next) => next,
                Offset::Beginning => 0,
                _ => -1,
            };
            let offsets = PartitionOffsets::new(next_offset);
            assignment
                .set_partition_offset(&topic, *partition, offset)
                .map_err(|error| AssignError::Retry(error.to_string()))?;
            let counted = engine.counters().clone();
            self.partitions.insert(
                *partition,
                Partition {
                    driver: Driver::new(engine, self.config.max_event_bytes),
                    offsets,
                    dirty: false,
                    checkpointed_at: Instant::now(),
                    counted,
                },
            );
        }
        info!(
            "assigned {topic} partitions {} (from {})",
            resumed.join(", "),
            self.store.describe()
        );
        Ok(())
    }

    fn restore(&self, checkpoint: &PartitionCheckpoint) -> Result<Engine, AssignError> {
        let snapshot = &checkpoint.engine;
        if snapshot.pack_sha256 != self.pack.pack.sha256 {
            return Err(AssignError::Fatal(format!(
                "the checkpoint of {} was written with rule pack `{}@{}` (sha256 {}), not `{}`; \
                 a consumer group keeps one pack: use a new `group_id` for another",
                checkpoint.key,
                snapshot.pack_name,
                snapshot.pack_version,
                snapshot.pack_sha256,
                self.pack.pack.label()
            )));
        }
        Engine::restore(self.pack.pack.clone(), self.engine_config, snapshot)
            .map_err(|error| AssignError::Retry(format!("restoring {}: {error}", checkpoint.key)))
    }

    /// Checkpoints and drops revoked partitions.
    pub fn revoke(&mut self, partitions: &[i32], consumer: &impl Consumer<super::ServiceContext>) {
        for partition in partitions {
            if let Err(error) = self.checkpoint(*partition, consumer, Duration::from_secs(10)) {
                // The next owner resumes from the previous checkpoint: nothing is lost,
                // the events since are read again.
                warn!("{error}");
            }
            self.partitions.remove(partition);
        }
        info!(
            "revoked {} partitions {:?}",
            self.config.events_topic, partitions
        );
    }

    /// Applies one message of the events topic. When the message is past the next
    /// offset the state expects (a broker that answered a fetch from the middle of a
    /// batch with the next batch), nothing is applied and the partition must be rewound:
    /// the message's partition is to be sought to the returned offset.
    pub fn apply(&mut self, message: &BorrowedMessage<'_>) -> Option<Offset> {
        let partition = self.partitions.get_mut(&message.partition())?;
        let offset = message.offset();
        match partition.offsets.on_message(offset, Instant::now()) {
            Step::Skip | Step::Wait => return None,
            Step::Rewind(to) => return Some(to),
            Step::Apply => {}
            Step::ApplyAfterGap { from } => warn!(
                "{}[{}] has no events between offsets {from} and {offset} (deleted by \
                 retention or compaction); continuing",
                message.topic(),
                message.partition(),
            ),
        }
        partition.dirty = true;
        let payload = message.payload().unwrap_or(&[]);
        let origin = Origin::Message {
            topic: message.topic(),
            partition: message.partition(),
            offset,
        };
        let mut sink = (
            KafkaOutputs {
                producer: &self.producer,
                metrics: &self.kafka_metrics,
                config: &self.config,
                key: message.key().unwrap_or(&[]),
                flush_timeout: Duration::ZERO,
            },
            &mut self.watch,
        );
        if let Err(error) = partition
            .driver
            .feed(Record::whole(origin, payload), &mut sink)
        {
            warn_output(&error);
        }
        self.producer.poll();
        self.messages += 1;
        let now = Instant::now();
        self.first_message_at.get_or_insert(now);
        self.last_message_at = Some(now);
        None
    }

    /// The next offset a partition expects, if assigned and known.
    pub fn next_offset(&self, partition: i32) -> Option<i64> {
        self.partitions
            .get(&partition)
            .map(|state| state.offsets.next_offset())
            .filter(|offset| *offset >= 0)
    }

    /// Handles the broker's "end of partition". `high` is the partition's high watermark
    /// as the broker lists it now: when it is past the next offset expected, the fetch
    /// stopped short (a broker that answered a fetch from the middle of its last batch
    /// with nothing) and the partition must be rewound, as for a gap.
    pub fn reached_end(&mut self, partition: i32, high: Option<i64>) -> Option<Offset> {
        let state = self.partitions.get_mut(&partition)?;
        match state.offsets.on_end(high, Instant::now()) {
            AtEnd::Rewind(to) => Some(to),
            AtEnd::Reached | AtEnd::Wait => None,
            AtEnd::Unreadable => {
                warn!(
                    "partition {partition} ends at {} by its high watermark but nothing past \
                     {} can be read",
                    high.unwrap_or_default(),
                    state.offsets.next_offset()
                );
                None
            }
        }
    }

    /// Moves the clock of caught-up partitions to `now` (wall-when-idle mode), so a caller
    /// left waiting becomes a live breach on time.
    pub fn advance_idle(&mut self, now: i64) {
        if self.config.clock != ClockMode::WallWhenIdle {
            return;
        }
        for partition in self.partitions.values_mut() {
            let behind = partition.driver.clock().is_none_or(|clock| clock < now);
            if partition.offsets.reached_end() && behind {
                let mut sink = (
                    KafkaOutputs::new(&self.producer, &self.kafka_metrics, &self.config),
                    &mut self.watch,
                );
                if let Err(error) = partition.driver.advance_to(now, &mut sink) {
                    warn_output(&error);
                }
                partition.dirty = true;
            }
        }
        self.producer.poll();
    }

    /// Checkpoints `partition` if it changed: first every output so far is delivered,
    /// then the state and its offset are saved, then the offset is committed to the
    /// group (for lag tools; the checkpoint is what a restart resumes from).
    pub fn checkpoint(
        &mut self,
        partition: i32,
        consumer: &impl Consumer<super::ServiceContext>,
        timeout: Duration,
    ) -> Result<(), PartitionCheckpointError> {
        let Some(state) = self.partitions.get_mut(&partition) else {
            return Ok(());
        };
        if !state.dirty || !state.offsets.is_known() {
            return Ok(());
        }
        let key = PartitionKey {
            group: self.config.group_id.clone(),
            topic: self.config.events_topic.clone(),
            partition,
        };
        // Final calls' verdicts go out and are delivered before the state they go with
        // is saved.
        let mut sink = (
            KafkaOutputs {
                flush_timeout: timeout,
                ..KafkaOutputs::new(&self.producer, &self.kafka_metrics, &self.config)
            },
            &mut self.watch,
        );
        let next_offset = state.offsets.next_offset();
        let result = state
            .driver
            .checkpoint(&mut sink)
            .map_err(|source| {
                let key = key.clone();
                let retriable = source.is_retriable();
                let source = Box::new(source);
                if retriable {
                    PartitionCheckpointError::Postponed { key, source }
                } else {
                    PartitionCheckpointError::Snapshot { key, source }
                }
            })
            .and_then(|(engine, _)| {
                let checkpoint = PartitionCheckpoint {
                    format: CHECKPOINT_FORMAT.to_owned(),
                    key: key.clone(),
                    next_offset,
                    written_at: clock::now_rfc3339(),
                    writer: self.writer.clone(),
                    pack_source: self.pack.source.clone(),
                    pack_origin: self.pack.origin.clone(),
                    engine,
                };
                self.store
                    .save(&checkpoint)
                    .map_err(|source| PartitionCheckpointError::Store {
                        key: key.clone(),
                        source: Box::new(source),
                    })
            });
        let outcome = if result.is_ok() { "ok" } else { "failed" };
        self.kafka_metrics
            .checkpoints_total
            .with_label_values(&[outcome])
            .inc();
        result?;
        if let Some(state) = self.partitions.get_mut(&partition) {
            state.dirty = false;
            state.checkpointed_at = Instant::now();
        }
        let mut offsets = TopicPartitionList::new();
        if offsets
            .add_partition_offset(&key.topic, partition, Offset::Offset(next_offset))
            .is_ok()
        {
            // Informational; a failed commit only makes external lag tools lag behind.
            consumer.commit(&offsets, CommitMode::Async).ok();
        }
        Ok(())
    }

    /// Checkpoints every partition due (`interval` since the last), or all with `force`.
    /// Returns the errors.
    pub fn checkpoint_due(
        &mut self,
        consumer: &impl Consumer<super::ServiceContext>,
        interval: Duration,
        force: bool,
        timeout: Duration,
    ) -> Vec<PartitionCheckpointError> {
        let due: Vec<i32> = self
            .partitions
            .iter()
            .filter(|(_, state)| force || state.checkpointed_at.elapsed() >= interval)
            .map(|(partition, _)| *partition)
            .collect();
        due.into_iter()
            .filter_map(|partition| self.checkpoint(partition, consumer, timeout).err())
            .collect()
    }

    /// Recomputes the gauges and the status page.
    pub fn refresh(&mut self, high_watermarks: &BTreeMap<i32, i64>, broker_up: bool) {
        let mut engines: Vec<Settled<'_>> = Vec::with_capacity(self.partitions.len());
        for state in self.partitions.values_mut() {
            let now = state.driver.counters().clone();
            self.consumed.add(&now.since(&state.counted));
            state.counted = now;
            let mut sink = (
                KafkaOutputs::new(&self.producer, &self.kafka_metrics, &self.config),
                &mut self.watch,
            );
            match state.driver.settle(&mut sink) {
                Ok(settled) => engines.push(settled),
                Err(error) => warn_output(&error),
            }
        }
        self.producer.poll();
        self.watch.refresh_many(&engines, &self.consumed);
        let now = Instant::now();
        let gauges: Vec<PartitionGauge> = self
            .partitions
            .iter()
            .map(|(partition, state)| PartitionGauge {
                topic: self.config.events_topic.clone(),
                partition: *partition,
                lag: high_watermarks
                    .get(partition)
                    .filter(|_| state.offsets.is_known())
                    .map(|high| high - state.offsets.next_offset()),
                checkpoint_age_seconds: state.checkpointed_at.elapsed().as_secs_f64(),
                caught_up: state.offsets.is_caught_up(now),
            })
            .collect();
        self.kafka_metrics.refresh(&gauges, broker_up);
        let counts = self.producer.counts();
        let (delivered, failed) = (counts.delivered(), counts.failed());
        let failed_new = failed.saturating_sub(self.delivery_counted.1);
        if failed_new > 0 {
            warn!("{failed_new} output records could not be delivered");
        }
        self.delivery_counted = (delivered, failed);
    }

    /// Whether every assigned partition was read to its end (and there is at least one).
    pub fn all_caught_up(&self) -> bool {
        let now = Instant::now();
        !self.partitions.is_empty()
            && self
                .partitions
                .values()
                .all(|state| state.offsets.is_caught_up(now))
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".to_owned())
}

/// Says that an output could not be handed on (it is counted as failed).
pub(super) fn warn_output(error: &SinkError) {
    warn!("{error}");
}
