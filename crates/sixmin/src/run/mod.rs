//! `sixmin run --config sixmin.toml`: the production service. Consumes the events topic
//! in a consumer group, judges each partition with its own engine, checkpoints each
//! partition's state with the offset it covers, produces verdicts, live breaches and
//! dead letters, and serves `/metrics`, `/readyz` and the status page.
//!
//! Exactly-once results over at-least-once delivery: a partition resumes at its
//! checkpoint's offset, and a message below it is skipped, so an event is in the state
//! once however often the process dies. Outputs are delivered before the checkpoint that
//! covers them, so none is lost; after a crash, the ones since the last checkpoint are
//! produced again (identical records with the same key; see `docs/configuration.md`).

mod context;
mod core;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::Message;
use sixmin_config::{CheckpointStoreKind, ServiceConfig};
use sixmin_kafka::{ensure_topics, OutputProducer, TopicCheckpointStore, TopicSpec};
use sixmin_metrics::KafkaMetrics;
use sixmin_store::{CheckpointStore, DirCheckpointStore};

pub use self::context::RunContext;
use self::core::Core;
use crate::cli::RunArgs;
use crate::exit::{fail, Code, CommandResult, WithCode};
use sixmin_server::{BackgroundServer, Watch};

/// How long one poll waits for a message.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// Reads the configuration named by `path`, with the process environment applied.
pub fn load_config(path: &std::path::Path) -> CommandResult<ServiceConfig> {
    sixmin_config::load_service_config(path, std::env::vars()).code(Code::Usage)
}

/// The librdkafka settings of every client: bootstrap plus pass-through properties.
pub fn client_config(config: &ServiceConfig) -> ClientConfig {
    sixmin_kafka::client_config_with(&config.bootstrap, &config.client)
}

/// Opens the configured checkpoint store; `writing` locks a directory store.
pub fn open_store(
    config: &ServiceConfig,
    writing: bool,
) -> CommandResult<Box<dyn CheckpointStore>> {
    Ok(match &config.checkpoint_store {
        CheckpointStoreKind::Directory(path) if writing => {
            Box::new(DirCheckpointStore::open(path).code(Code::State)?)
        }
        CheckpointStoreKind::Directory(path) => Box::new(DirCheckpointStore::open_read_only(path)),
        CheckpointStoreKind::Kafka { topic } => Box::new(
            TopicCheckpointStore::new(
                &client_config(config),
                topic,
                Duration::from_millis(config.shutdown_deadline_ms as u64),
            )
            .code(Code::State)?,
        ),
    })
}

/// Runs `sixmin run`.
pub fn run(args: RunArgs) -> CommandResult {
    let config = load_config(&args.config)?;
    if args.print_config {
        println!("{}", config.describe());
        return Ok(());
    }
    let pack = crate::state::load_pack(config.rules.as_deref())?;
    println!(
        "sixmin run: consuming `{}` from {} as group `{}` (rule pack {})",
        config.events_topic,
        config.bootstrap,
        config.group_id,
        pack.pack.label()
    );
    let shared = sixmin_server::Shared::new(prometheus::Registry::new());
    let watch = Watch::for_pack(&pack.pack, shared.clone()).code(Code::Internal)?;
    let kafka_metrics = KafkaMetrics::register(&shared.registry).code(Code::Internal)?;
    let server = BackgroundServer::start(config.listen, shared.clone()).code(Code::Output)?;
    println!("{}", sixmin_server::urls(server.address));
    let stop = Arc::new(AtomicBool::new(false));
    server.on_stop_signal(stop.clone());

    let kafka = client_config(&config);
    create_output_topics(&config, &kafka, &stop);
    let store = open_store(&config, true)?;
    let producer = OutputProducer::new(&kafka).code(Code::Usage)?;
    let core = Core::new(config.clone(), pack, store, producer, watch, kafka_metrics);
    println!("  checkpoints   {}", core.store_name());
    let context = RunContext {
        core: Arc::new(Mutex::new(core)),
        broker_up: AtomicBool::new(false),
        restoring: AtomicBool::new(false),
        high_watermarks: Mutex::new(BTreeMap::new()),
        topic: config.events_topic.clone(),
    };
    let consumer: BaseConsumer<RunContext> = kafka
        .clone()
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .set("statistics.interval.ms", "1000")
        .create_with_context(context)
        .context("creating the Kafka consumer")
        .code(Code::Usage)?;
    consumer
        .subscribe(&[&config.events_topic])
        .context("subscribing to the events topic")
        .code(Code::Input)?;
    let outcome = consume(&consumer, &config, &shared, &stop, args.exit_when_caught_up);
    shared.set_ready(false);
    let summary = {
        let core = consumer.context().lock();
        let seconds = match (core.first_message_at, core.last_message_at) {
            (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
            _ => 0.0,
        };
        let rate = if seconds > 0.0 {
            core.messages as f64 / seconds
        } else {
            0.0
        };
        format!(
            "sixmin run: stopped; {} events consumed in {seconds:.3} s ({rate:.0} events/s)",
            core.messages
        )
    };
    // Leaving the group revokes the partitions, which checkpoints any still changed.
    consumer.unsubscribe();
    drop(consumer);
    println!("{summary}");
    outcome
}

/// Creates the output topics and a compacted checkpoint topic when missing; a broker
/// that is not there yet is retried until it is, or until stopped.
fn create_output_topics(config: &ServiceConfig, kafka: &ClientConfig, stop: &AtomicBool) {
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
                eprintln!(
                    "sixmin run: warning: {error}; retrying in {} s",
                    delay.as_secs_f32()
                );
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Seeks a partition back so that it is read forward again from `offset` (what the state
/// already holds is skipped as it arrives).
fn rewind_partition(
    consumer: &BaseConsumer<RunContext>,
    topic: &str,
    partition: i32,
    offset: rdkafka::Offset,
) {
    if let Err(error) = consumer.seek(topic, partition, offset, Duration::from_secs(5)) {
        eprintln!("sixmin run: warning: rewinding {topic}[{partition}]: {error}");
    }
}

/// The consumer loop: apply messages, move idle clocks, refresh, checkpoint; on stop,
/// checkpoint everything within the deadline.
fn consume(
    consumer: &BaseConsumer<RunContext>,
    config: &ServiceConfig,
    shared: &sixmin_server::Shared,
    stop: &AtomicBool,
    exit_when_caught_up: bool,
) -> CommandResult {
    let context = consumer.context();
    let refresh_every = Duration::from_millis(config.refresh_ms as u64);
    let checkpoint_every = Duration::from_millis(config.checkpoint_interval_ms as u64);
    let deadline = Duration::from_millis(config.shutdown_deadline_ms as u64);
    let mut last_refresh = Instant::now();
    let mut last_tick = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            println!("sixmin run: stop requested; checkpointing");
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
            Some(Err(error)) => eprintln!("sixmin run: kafka: {error}"),
        }
        if last_tick.elapsed() < POLL_TIMEOUT {
            continue;
        }
        last_tick = Instant::now();
        let mut core = context.lock();
        if let Some(reason) = core.fatal.clone() {
            return Err(fail(Code::State, reason));
        }
        core.advance_idle(crate::clock::now_nanos());
        for error in core.checkpoint_due(consumer, checkpoint_every, false, deadline) {
            eprintln!("sixmin run: warning: {error}");
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
            println!("sixmin run: every assigned partition is caught up; stopping");
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
        Err(fail(
            Code::Output,
            format!(
                "stopped without checkpointing every partition (they resume from their last \
                 checkpoint): {}",
                errors.join("; ")
            ),
        ))
    }
}
