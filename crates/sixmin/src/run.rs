//! `sixmin run --config sixmin.toml`: the production service (`sixmin-kafka`'s consumer),
//! with its configuration, checkpoint store, metrics and HTTP server set up here.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use sixmin_config::{CheckpointStoreKind, ServiceConfig};
use sixmin_kafka::consumer::{self, Service};
use sixmin_kafka::TopicCheckpointStore;
use sixmin_metrics::KafkaMetrics;
use sixmin_server::{BackgroundServer, Watch};
use sixmin_store::{CheckpointStore, DirCheckpointStore};

use crate::cli::RunArgs;
use crate::exit::{Code, CommandResult, WithCode};

/// Reads the configuration named by `path`, with the process environment applied.
pub fn load_config(path: &std::path::Path) -> CommandResult<ServiceConfig> {
    sixmin_config::load_service_config(path, std::env::vars()).code(Code::Usage)
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
                &consumer::client_config(config),
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
    let pack = sixmin_pipeline::state::load_pack(config.rules.as_deref())?;
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
    consumer::create_output_topics(&config, &stop);
    let store = open_store(&config, true)?;
    println!("  checkpoints   {}", store.describe());
    let (summary, outcome) = consumer::run(Service {
        config,
        pack,
        store,
        shared,
        watch,
        kafka_metrics,
        stop,
        exit_when_caught_up: args.exit_when_caught_up,
    });
    let rate = if summary.seconds > 0.0 {
        summary.messages as f64 / summary.seconds
    } else {
        0.0
    };
    println!(
        "sixmin run: stopped; {} events consumed in {:.3} s ({rate:.0} events/s)",
        summary.messages, summary.seconds
    );
    Ok(outcome?)
}
