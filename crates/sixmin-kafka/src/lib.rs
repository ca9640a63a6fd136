//! Kafka plumbing: producing call events to a topic, keyed by `call_id` so every event of
//! a call lands in one partition, in order (the input contract).
//!
//! The producer is idempotent (`enable.idempotence=true`, `acks=all`): a retried send is
//! written once. Delivery is confirmed by [`EventProducer::flush`]; a send that cannot be
//! queued because the local queue is full waits for deliveries and tries again.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

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

/// Produces call events to one topic.
pub struct EventProducer {
    producer: BaseProducer,
    topic: String,
    bootstrap: String,
}

impl EventProducer {
    /// A producer for `topic` on the cluster at `bootstrap` (`host:port[,host:port…]`).
    pub fn new(bootstrap: &str, topic: &str) -> Result<EventProducer, KafkaIoError> {
        let producer = client_config(bootstrap)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "60000")
            .create()
            .map_err(|source| KafkaIoError::Create {
                bootstrap: bootstrap.to_owned(),
                source,
            })?;
        Ok(EventProducer {
            producer,
            topic: topic.to_owned(),
            bootstrap: bootstrap.to_owned(),
        })
    }

    /// Queues one event, keyed by its call id. Waits while the local queue is full.
    pub fn send(&self, call_id: &str, payload: &[u8]) -> Result<(), KafkaIoError> {
        loop {
            let record = BaseRecord::<str, [u8]>::to(&self.topic)
                .key(call_id)
                .payload(payload);
            match self.producer.send(record) {
                Ok(()) => {
                    self.producer.poll(Duration::ZERO);
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((source, _)) => {
                    return Err(KafkaIoError::Send {
                        topic: self.topic.clone(),
                        source,
                    })
                }
            }
        }
    }

    /// Waits until every queued event is delivered, or `timeout` passes.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaIoError> {
        self.producer
            .flush(timeout)
            .map_err(|source| KafkaIoError::Flush {
                bootstrap: self.bootstrap.clone(),
                seconds: timeout.as_secs(),
                source,
            })
    }
}
