//! Kafka: the service's consumer ([`consumer`]: one driven engine per assigned partition,
//! the rebalance callbacks, the poll loop, outputs to their topics) and where each
//! partition's reading stands ([`offsets`]); producing call events to a topic, keyed by
//! `call_id` so every event of a call lands in one partition, in order (the input
//! contract); the producer of the service's outputs ([`output`]); the checkpoint topic
//! ([`checkpoints`]); creating missing topics ([`admin`]).
//!
//! The producer is idempotent (`enable.idempotence=true`, `acks=all`): a retried send is
//! written once. Delivery is confirmed by [`EventProducer::flush`]; a send that cannot be
//! queued because the local queue is full waits for deliveries and tries again.

use std::time::Duration;

pub mod admin;
pub mod checkpoints;
pub mod consumer;
pub mod offsets;
pub mod output;

pub use admin::{ensure_topics, TopicSpec};
pub use checkpoints::TopicCheckpointStore;
pub use output::OutputProducer;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;

/// What can go wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaIoError {
    /// The client could not be created (bad settings).
    #[error("creating the Kafka producer for `{bootstrap}`: {source}")]
    Create {
        /// The bootstrap servers.
        bootstrap: String,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
    /// A message could not be queued.
    #[error("queueing an event for topic `{topic}`: {source}")]
    Send {
        /// The topic.
        topic: String,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
    /// The broker refused records.
    #[error("{failed} records could not be delivered to `{bootstrap}`")]
    Undelivered {
        /// The bootstrap servers.
        bootstrap: String,
        /// How many.
        failed: u64,
    },
    /// Creating topics failed.
    #[error("setting up topics: {reason}")]
    Admin {
        /// What went wrong.
        reason: String,
    },
    /// Messages were not delivered in time.
    #[error("delivering events to `{bootstrap}` did not finish within {seconds} s: {source}")]
    Flush {
        /// The bootstrap servers.
        bootstrap: String,
        /// The deadline.
        seconds: u64,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
}

impl KafkaIoError {
    /// Whether trying again later can help (the broker is unreachable or slow).
    pub fn is_retriable(&self) -> bool {
        matches!(self, KafkaIoError::Flush { .. })
    }
}

/// The settings shared by every client of a cluster.
pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    config
}

/// The settings shared by every client of a cluster, with properties passed through
/// (TLS, SASL, timeouts; `docs/configuration.md`).
pub fn client_config_with<'a>(
    bootstrap: &str,
    properties: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> ClientConfig {
    let mut config = client_config(bootstrap);
    for (name, value) in properties {
        config.set(name, value);
    }
    config
}

/// Produces call events to one topic.
pub struct EventProducer {
    producer: OutputProducer,
    topic: String,
    bootstrap: String,
}

impl EventProducer {
    /// A producer for `topic` on the cluster at `bootstrap` (`host:port[,host:port…]`).
    pub fn new(bootstrap: &str, topic: &str) -> Result<EventProducer, KafkaIoError> {
        Ok(EventProducer {
            producer: OutputProducer::new(&client_config(bootstrap))?,
            topic: topic.to_owned(),
            bootstrap: bootstrap.to_owned(),
        })
    }

    /// Queues one event, keyed by its call id. Waits while the local queue is full.
    pub fn send(&self, call_id: &str, payload: &[u8]) -> Result<(), KafkaIoError> {
        self.producer
            .send(&self.topic, call_id.as_bytes(), payload, None)?;
        self.producer.poll();
        Ok(())
    }

    /// Waits until every queued event is delivered, or `timeout` passes; fails if any
    /// event could not be delivered.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaIoError> {
        self.producer.flush(timeout)?;
        match self.producer.counts().failed() {
            0 => Ok(()),
            failed => Err(KafkaIoError::Undelivered {
                bootstrap: self.bootstrap.clone(),
                failed,
            }),
        }
    }
}
