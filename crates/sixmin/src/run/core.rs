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
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::{Offset, TopicPartitionList};
use sixmin_config::{ClockMode, ServiceConfig, StartAt};
use sixmin_core::{Engine, EngineConfig, InputCounters, Output};
use sixmin_kafka::OutputProducer;
use sixmin_metrics::{KafkaMetrics, PartitionGauge};
use sixmin_pipeline::{DeadLetter, Driver, Origin, Record, Settled, Sink, SinkError};
use sixmin_server::Watch;
use sixmin_store::{CheckpointStore, PartitionCheckpoint, PartitionKey, CHECKPOINT_FORMAT};

use crate::state::LoadedPack;

/// One assigned partition.
pub struct Partition {
    /// Its engine, driven.
    pub driver: Driver,
    /// The offset of the next event to apply (events before it are in the state).
    pub next_offset: i64,
    /// Since when it has been read to its end with nothing new.
    pub caught_up_since: Option<Instant>,
    /// Changed since the last checkpoint.
    pub dirty: bool,
    /// When it was last checkpointed (or assigned).
    pub checkpointed_at: Instant,
    /// The engine's input counts already added to the process's counts.
    counted: InputCounters,
    /// A rewind in progress after a gap: how far back it sought, and when.
    rewind: Option<(i64, Instant)>,
}

/// Why partitions could not be restored.
#[derive(Debug)]
pub enum AssignError {
    /// Trying again cannot help (a checkpoint of another rule pack): stop.
    Fatal(String),
    /// Perhaps passing (the store unreachable): try again, a few times.
    Retry(String),
}

impl std::fmt::Display for AssignError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AssignError::Fatal(reason) | AssignError::Retry(reason) => formatter.write_str(reason),
        }
    }
}

/// What to do about a message past the expected offset.
enum Gap {
    /// A message fetched before the last rewind took effect: ignore it.
    Wait,
    /// Seek back to this offset and read forward again (skipping what is in the state).
    Rewind(Offset),
    /// Rewound to the beginning and still a gap: the events are gone; go on.
    Accept,
}

/// How long messages after a rewind are taken as fetched before it.
const REWIND_SETTLE: Duration = Duration::from_millis(500);

/// The first rewind step, in offsets; each further one doubles it.
const REWIND_FIRST_STEP: i64 = 1024;

/// How long a partition must stay at its end to count as caught up: a broker may
/// announce the end of a partition (its high watermark) before all of its last batch is
/// readable.
const CAUGHT_UP_QUIET: Duration = Duration::from_secs(2);

impl Partition {
    /// Decides about a message past the next offset expected.
    fn gap(&mut self) -> Gap {
        let step = match self.rewind {
            Some((_, sought_at)) if sought_at.elapsed() < REWIND_SETTLE => return Gap::Wait,
            Some((step, _)) if step == i64::MAX => return Gap::Accept,
            Some((step, _)) => step.saturating_mul(2),
            None => REWIND_FIRST_STEP,
        };
        let target = self.next_offset.saturating_sub(step);
        let (step, to) = if target <= 0 {
            (i64::MAX, Offset::Beginning)
        } else {
            (step, Offset::Offset(target))
        };
        self.rewind = Some((step, Instant::now()));
        Gap::Rewind(to)
    }

    /// Read to its end, and nothing new for a while.
    pub fn is_caught_up(&self) -> bool {
        self.caught_up_since
            .is_some_and(|since| since.elapsed() >= CAUGHT_UP_QUIET)
    }
}

/// The shared state of a running service.
pub struct Core {
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

impl Core {
    /// A core with nothing assigned yet.
    pub fn new(
        config: ServiceConfig,
        pack: LoadedPack,
        store: Box<dyn CheckpointStore>,
        producer: OutputProducer,
        watch: Watch,
        kafka_metrics: KafkaMetrics,
    ) -> Core {
        let engine_config = EngineConfig {
            allowed_lateness_ms: config.allowed_lateness_ms,
            emit_verdicts: true,
            emit_stops: true,
            ..EngineConfig::default()
        };
        Core {
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
            assignment
                .set_partition_offset(&topic, *partition, offset)
                .map_err(|error| AssignError::Retry(error.to_string()))?;
            let counted = engine.counters().clone();
            self.partitions.insert(
                *partition,
                Partition {
                    driver: Driver::new(engine, self.config.max_event_bytes),
                    next_offset,
                    caught_up_since: None,
                    dirty: false,
                    checkpointed_at: Instant::now(),
                    counted,
                    rewind: None,
                },
            );
        }
        eprintln!(
            "sixmin run: assigned {topic} partitions {} (from {})",
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
    pub fn revoke(&mut self, partitions: &[i32], consumer: &impl Consumer<super::RunContext>) {
        for partition in partitions {
            if let Err(error) = self.checkpoint(*partition, consumer, Duration::from_secs(10)) {
                // The next owner resumes from the previous checkpoint: nothing is lost,
                // the events since are read again.
                eprintln!("sixmin run: warning: {error}");
            }
            self.partitions.remove(partition);
        }
        eprintln!(
            "sixmin run: revoked {} partitions {:?}",
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
        if offset < partition.next_offset {
            // Already in the checkpointed state (delivered again after a restart).
            return None;
        }
        if partition.next_offset >= 0 && offset > partition.next_offset {
            match partition.gap() {
                Gap::Wait => return None,
                Gap::Rewind(to) => return Some(to),
                Gap::Accept => {
                    eprintln!(
                        "sixmin run: warning: {}[{}] has no events between offsets {} and {offset} \
                         (deleted by retention or compaction); continuing",
                        message.topic(),
                        message.partition(),
                        partition.next_offset
                    );
                }
            }
        }
        partition.rewind = None;
        partition.next_offset = offset + 1;
        partition.caught_up_since = None;
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
            .map(|state| state.next_offset)
            .filter(|offset| *offset >= 0)
    }

    /// Handles the broker's "end of partition". `high` is the partition's high watermark
    /// as the broker lists it now: when it is past the next offset expected, the fetch
    /// stopped short (a broker that answered a fetch from the middle of its last batch
    /// with nothing) and the partition must be rewound, as for a gap.
    pub fn reached_end(&mut self, partition: i32, high: Option<i64>) -> Option<Offset> {
        let state = self.partitions.get_mut(&partition)?;
        let short = high.is_some_and(|high| state.next_offset >= 0 && high > state.next_offset);
        if short {
            match state.gap() {
                Gap::Rewind(to) => return Some(to),
                Gap::Wait => return None,
                Gap::Accept => eprintln!(
                    "sixmin run: warning: partition {partition} ends at {} by its high \
                     watermark but nothing past {} can be read",
                    high.unwrap_or_default(),
                    state.next_offset
                ),
            }
        }
        state.caught_up_since.get_or_insert_with(Instant::now);
        None
    }

    /// Moves the clock of caught-up partitions to `now` (wall-when-idle mode), so a caller
    /// left waiting becomes a live breach on time.
    pub fn advance_idle(&mut self, now: i64) {
        if self.config.clock != ClockMode::WallWhenIdle {
            return;
        }
        for partition in self.partitions.values_mut() {
            let behind = partition.driver.clock().is_none_or(|clock| clock < now);
            if partition.caught_up_since.is_some() && behind {
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
        consumer: &impl Consumer<super::RunContext>,
        timeout: Duration,
    ) -> Result<(), String> {
        let Some(state) = self.partitions.get_mut(&partition) else {
            return Ok(());
        };
        if !state.dirty || state.next_offset < 0 {
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
        let next_offset = state.next_offset;
        let result = state
            .driver
            .checkpoint(&mut sink)
            .map_err(|error| {
                if error.is_retriable() {
                    format!("checkpoint of {key} postponed: {error}")
                } else {
                    format!("checkpoint of {key}: {error}")
                }
            })
            .and_then(|(engine, _)| {
                let checkpoint = PartitionCheckpoint {
                    format: CHECKPOINT_FORMAT.to_owned(),
                    key: key.clone(),
                    next_offset,
                    written_at: crate::clock::now_rfc3339(),
                    writer: self.writer.clone(),
                    pack_source: self.pack.source.clone(),
                    pack_origin: self.pack.origin.clone(),
                    engine,
                };
                self.store
                    .save(&checkpoint)
                    .map_err(|error| format!("checkpoint of {key} failed: {error}"))
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
        consumer: &impl Consumer<super::RunContext>,
        interval: Duration,
        force: bool,
        timeout: Duration,
    ) -> Vec<String> {
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
        let gauges: Vec<PartitionGauge> = self
            .partitions
            .iter()
            .map(|(partition, state)| PartitionGauge {
                topic: self.config.events_topic.clone(),
                partition: *partition,
                lag: high_watermarks
                    .get(partition)
                    .filter(|_| state.next_offset >= 0)
                    .map(|high| high - state.next_offset),
                checkpoint_age_seconds: state.checkpointed_at.elapsed().as_secs_f64(),
                caught_up: state.is_caught_up(),
            })
            .collect();
        self.kafka_metrics.refresh(&gauges, broker_up);
        let counts = self.producer.counts();
        let (delivered, failed) = (counts.delivered(), counts.failed());
        let failed_new = failed.saturating_sub(self.delivery_counted.1);
        if failed_new > 0 {
            eprintln!("sixmin run: warning: {failed_new} output records could not be delivered");
        }
        self.delivery_counted = (delivered, failed);
    }

    /// Whether every assigned partition was read to its end (and there is at least one).
    pub fn all_caught_up(&self) -> bool {
        !self.partitions.is_empty() && self.partitions.values().all(Partition::is_caught_up)
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".to_owned())
}

/// Says that an output could not be handed on (it is counted as failed).
fn warn_output(error: &SinkError) {
    eprintln!("sixmin run: warning: {error}");
}

/// The service's outputs as a sink: verdicts, live breaches and dead letters produced to
/// their topics (each one off when its topic is not configured), each counted by
/// outcome.
struct KafkaOutputs<'a> {
    producer: &'a OutputProducer,
    metrics: &'a KafkaMetrics,
    config: &'a ServiceConfig,
    /// The key of the message being applied: a dead letter keeps it.
    key: &'a [u8],
    /// How long a flush waits for deliveries.
    flush_timeout: Duration,
}

impl<'a> KafkaOutputs<'a> {
    fn new(
        producer: &'a OutputProducer,
        metrics: &'a KafkaMetrics,
        config: &'a ServiceConfig,
    ) -> KafkaOutputs<'a> {
        KafkaOutputs {
            producer,
            metrics,
            config,
            key: &[],
            flush_timeout: Duration::ZERO,
        }
    }

    fn send(
        &self,
        role: &str,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) {
        let result = match self.producer.send(topic, key, payload, headers) {
            Ok(()) => "queued",
            Err(error) => {
                eprintln!("sixmin run: warning: {error}");
                "failed"
            }
        };
        self.count(role, result);
    }

    fn count(&self, role: &str, result: &str) {
        self.metrics
            .output_records_total
            .with_label_values(&[role, result])
            .inc();
    }
}

impl Sink for KafkaOutputs<'_> {
    fn output(&mut self, output: &Output) -> Result<(), SinkError> {
        match output {
            Output::Verdict(verdict) => {
                if let Some(topic) = &self.config.verdicts_topic {
                    let line = verdict.to_json_line();
                    let line = line.trim_end().as_bytes();
                    self.send("verdicts", topic, verdict.call_id.as_bytes(), line, None);
                }
            }
            Output::LiveBreach(breach) => {
                if let Some(topic) = &self.config.breaches_topic {
                    match serde_json::to_vec(breach) {
                        Ok(json) => {
                            self.send("breaches", topic, breach.call_id.as_bytes(), &json, None)
                        }
                        // Counted as not delivered, like a failed send; the outputs after
                        // it still go out.
                        Err(source) => {
                            warn_output(&SinkError::Encode {
                                what: "live breach",
                                source,
                            });
                            self.count("breaches", "failed");
                        }
                    }
                }
            }
            Output::Stopped(_) => {}
        }
        Ok(())
    }

    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        let Some(topic) = &self.config.dead_letter_topic else {
            return Ok(());
        };
        let mut headers = OwnedHeaders::new();
        for (name, value) in letter.headers() {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_str()),
            });
        }
        self.send("dead_letters", topic, self.key, letter.kept, Some(headers));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.producer
            .flush(self.flush_timeout)
            .map_err(|error| SinkError::Undelivered {
                reason: error.to_string(),
            })
    }
}
