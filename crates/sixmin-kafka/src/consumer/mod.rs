//! The Kafka service's consumer: the events topic read in a consumer group, one driven
//! engine per assigned partition ([`state`]), restored from its checkpoint on assign and
//! checkpointed on revoke ([`context`], the rebalance callbacks), outputs produced to
//! their topics ([`outputs`]), and the poll loop ([`run`]).
//!
//! Each event counts once in the state over at-least-once delivery: a partition resumes
//! at its checkpoint's offset, and a message below it is skipped ([`crate::offsets`]).
//! Outputs are delivered before the checkpoint that covers them, so none is lost; after a
//! crash, the ones since the last checkpoint are produced again (identical records with
//! the same key).

pub mod context;
pub mod outputs;
pub mod state;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::Message;
use sixmin_config::{CheckpointStoreKind, LoadedPack, ServiceConfig};
use sixmin_metrics::KafkaMetrics;
use sixmin_pipeline::clock;
use sixmin_server::{Shared, Watch};
use sixmin_store::CheckpointStore;
use tracing::{info, warn};

pub use self::context::ServiceContext;
pub use self::state::{ConsumerState, PartitionCheckpointError};
use crate::{ensure_topics, KafkaIoError, OutputProducer, TopicSpec};

/// How long one poll waits for a message.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The output producer could not be created (bad client settings).
    #[error(transparent)]
    Producer(#[from] KafkaIoError),
    /// The consumer could not be created (bad client settings).
    #[error("creating the Kafka consumer: {0}")]
    Consumer(#[source] KafkaError),
    /// The events topic could not be subscribed to.
    #[error("subscribing to the events topic: {0}")]
    Subscribe(#[source] KafkaError),
    /// Assigned partitions could not be restored (a checkpoint of another rule pack, or
    /// a store that stayed unreachable).
    #[error("{reason}")]
    Restore {
        /// Why.
        reason: String,
    },
    /// Stopped without checkpointing every partition.
    #[error(
        "stopped without checkpointing every partition (they resume from their last \
         checkpoint): {}",
        joined(errors)
    )]
    Unfinished {
        /// Each partition's failure.
        errors: Vec<PartitionCheckpointError>,
    },
}

fn joined(errors: &[PartitionCheckpointError]) -> String {
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

/// What a finished run did.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Messages applied.
    pub messages: u64,
    /// Seconds from the first message applied to the last.
    pub seconds: f64,
}

/// Everything the service runs with.
pub struct Service {
    /// The configuration.
    pub config: ServiceConfig,
    /// The rule pack, with its source (written into checkpoints).
    pub pack: LoadedPack,
    /// Where partitions are checkpointed.
    pub store: Box<dyn CheckpointStore>,
    /// The served metrics, status page and readiness.
    pub shared: Arc<Shared>,
    /// The watch registered in `shared`.
    pub watch: Watch,
    /// The Kafka metrics registered in `shared`.
    pub kafka_metrics: KafkaMetrics,
    /// Set to stop (a signal).
    pub stop: Arc<AtomicBool>,
    /// Stop once every assigned partition is read to its end.
    pub exit_when_caught_up: bool,
}

/// The librdkafka settings of every client: bootstrap plus pass-through properties.
pub fn client_config(config: &ServiceConfig) -> ClientConfig {
    crate::client_config_with(&config.bootstrap, &config.client)
}

/// Runs the service until stopped (or caught up, if asked): joins the group, applies messages, checkpoints, and on stop checkpoints everything
/// within the shutdown deadline. Returns what it did, also when it stopped with an error.
pub fn run(service: Service) -> (Summary, Result<(), ServiceError>) {
    let Service {
        config,
        pack,
        store,
        shared,
        watch,
        kafka_metrics,
        stop,
        exit_when_caught_up,
    } = service;
    let nothing = Summary {
        messages: 0,
        seconds: 0.0,
    };
    let kafka = client_config(&config);
    let producer = match OutputProducer::new(&kafka) {
        Ok(producer) => producer,
        Err(error) => return (nothing, Err(error.into())),
    };
    let state = ConsumerState::new(config.clone(), pack, store, producer, watch, kafka_metrics);
    let context = ServiceContext {
        state: Arc::new(Mutex::new(state)),
        broker_up: AtomicBool::new(false),
        restoring: AtomicBool::new(false),
        high_watermarks: Mutex::new(BTreeMap::new()),
        topic: config.events_topic.clone(),
    };
    let consumer: BaseConsumer<ServiceContext> = match kafka
        .clone()
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .set("statistics.interval.ms", "1000")
        .create_with_context(context)
    {
        Ok(consumer) => consumer,
        Err(error) => return (nothing, Err(ServiceError::Consumer(error))),
    };
    if let Err(error) = consumer.subscribe(&[&config.events_topic]) {
        return (nothing, Err(ServiceError::Subscribe(error)));
    }
    let outcome = consume(&consumer, &config, &shared, &stop, exit_when_caught_up);
    shared.set_ready(false);
    let summary = {
        let state = consumer.context().lock();
        let seconds = match (state.first_message_at, state.last_message_at) {
            (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
            _ => 0.0,
        };
        Summary {
            messages: state.messages,
            seconds,
        }
    };
    // Leaving the group revokes the partitions, which checkpoints any still changed.
    consumer.unsubscribe();
    drop(consumer);
    (summary, outcome)
}

/// Creates the output topics and a compacted checkpoint topic when missing; a broker
/// that is not there yet is retried until it is, or until stopped.
pub fn create_output_topics(config: &ServiceConfig, stop: &AtomicBool) {
    let kafka = &client_config(config);
    let mut topics: Vec<TopicSpec> = [
        &config.verdicts_topic,
        &config.breaches_topic,
        &config.dead_letter_topic,
    ]
    .into_iter()
    .flatten()
    .map(|name| TopicSpec {
        name: name.clone(),
        partitions: 1,
        compacted: false,
    })
    .collect();
    if let CheckpointStoreKind::Kafka { topic } = &config.checkpoint_store {
        topics.push(TopicSpec {
            name: topic.clone(),
            partitions: 1,
            compacted: true,
        });
    }
    let mut delay = Duration::from_millis(500);
    while !stop.load(Ordering::Relaxed) {
        match ensure_topics(kafka, &topics) {
            Ok(()) => return,
            Err(error) => {
                warn!("{error}; retrying in {} s", delay.as_secs_f32());
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Seeks a partition back so that it is read forward again from `offset` (what the state
/// already holds is skipped as it arrives).
fn rewind_partition(
    consumer: &BaseConsumer<ServiceContext>,
    topic: &str,
    partition: i32,
    offset: rdkafka::Offset,
) {
    if let Err(error) = consumer.seek(topic, partition, offset, Duration::from_secs(5)) {
        warn!("rewinding {topic}[{partition}]: {error}");
    }
}

/// The consumer loop: apply messages, move idle clocks, refresh, checkpoint; on stop,
/// checkpoint everything within the deadline.
fn consume(
    consumer: &BaseConsumer<ServiceContext>,
    config: &ServiceConfig,
    shared: &Shared,
    stop: &AtomicBool,
    exit_when_caught_up: bool,
) -> Result<(), ServiceError> {
    let context = consumer.context();
    let refresh_every = Duration::from_millis(config.refresh_ms as u64);
    let checkpoint_every = Duration::from_millis(config.checkpoint_interval_ms as u64);
    let deadline = Duration::from_millis(config.shutdown_deadline_ms as u64);
    let mut last_refresh = Instant::now();
    let mut last_tick = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            info!("stop requested; checkpointing");
            break;
        }
        match consumer.poll(POLL_TIMEOUT) {
            None => {}
            Some(Ok(message)) => {
                let partition = message.partition();
                let rewind = context.lock().apply(&message);
                drop(message);
                if let Some(offset) = rewind {
                    rewind_partition(consumer, &config.events_topic, partition, offset);
                }
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                let topic = &config.events_topic;
                let expected = context.lock().next_offset(partition);
                // Asked of the broker only when the end is reached, not per message.
                let high = expected.and_then(|_| {
                    consumer
                        .fetch_watermarks(topic, partition, Duration::from_secs(2))
                        .ok()
                        .map(|(_, high)| high)
                });
                let rewind = context.lock().reached_end(partition, high);
                if let Some(offset) = rewind {
                    rewind_partition(consumer, topic, partition, offset);
                }
            }
            Some(Err(error)) => warn!("kafka: {error}"),
        }
        if last_tick.elapsed() < POLL_TIMEOUT {
            continue;
        }
        last_tick = Instant::now();
        let mut core = context.lock();
        if let Some(reason) = core.fatal.clone() {
            return Err(ServiceError::Restore { reason });
        }
        core.advance_idle(clock::now_nanos());
        for error in core.checkpoint_due(consumer, checkpoint_every, false, deadline) {
            warn!("{error}");
        }
        if last_refresh.elapsed() >= refresh_every {
            last_refresh = Instant::now();
            let marks = context
                .high_watermarks
                .lock()
                .map(|marks| marks.clone())
                .unwrap_or_default();
            let broker_up = context.broker_up.load(Ordering::Relaxed);
            core.refresh(&marks, broker_up);
            shared.set_ready(broker_up && !context.restoring.load(Ordering::Relaxed));
        }
        if exit_when_caught_up && core.all_caught_up() {
            info!("every assigned partition is caught up; stopping");
            break;
        }
    }
    let started = Instant::now();
    let mut core = context.lock();
    let errors = core.checkpoint_due(consumer, Duration::ZERO, true, deadline);
    core.producer
        .flush(deadline.saturating_sub(started.elapsed()))
        .ok();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Unfinished { errors })
    }
}
