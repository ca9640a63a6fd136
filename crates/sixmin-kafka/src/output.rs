//! An idempotent producer for the service's outputs (verdicts, live breaches, dead
//! letters, checkpoints) that counts what it failed to deliver.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;

use crate::KafkaIoError;

/// Largest record the output producer sends (checkpoints of a long month can be big).
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// Delivery outcomes of a producer.
#[derive(Debug, Default)]
pub struct DeliveryCounts {
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl DeliveryCounts {
    /// Records delivered.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Records that could not be delivered (after the client's own retries).
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// The producer's callbacks: counts deliveries.
pub struct CountingContext {
    counts: Arc<DeliveryCounts>,
}

impl ClientContext for CountingContext {}

impl ProducerContext for CountingContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let counter = match result {
            Ok(_) => &self.counts.delivered,
            Err(_) => &self.counts.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Produces records to any topic, idempotently (`enable.idempotence=true`, `acks=all`).
pub struct OutputProducer {
    producer: BaseProducer<CountingContext>,
    counts: Arc<DeliveryCounts>,
    bootstrap: String,
}

impl OutputProducer {
    /// A producer for the cluster of `config` (bootstrap and pass-through properties).
    pub fn new(config: &ClientConfig) -> Result<OutputProducer, KafkaIoError> {
        let bootstrap = config.get("bootstrap.servers").unwrap_or("").to_owned();
        let counts = Arc::new(DeliveryCounts::default());
        let producer = config
            .clone()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            // Kept until delivered: an unreachable broker delays outputs, never drops them.
            .set("message.timeout.ms", "0")
            .set("message.max.bytes", MAX_RECORD_BYTES.to_string())
            .create_with_context(CountingContext {
                counts: counts.clone(),
            })
            .map_err(|source| KafkaIoError::Create {
                bootstrap: bootstrap.clone(),
                source,
            })?;
        Ok(OutputProducer {
            producer,
            counts,
            bootstrap,
        })
    }

    /// Delivery counts so far.
    pub fn counts(&self) -> &DeliveryCounts {
        &self.counts
    }

    /// Queues one record. Waits while the local queue is full (back-pressure).
    pub fn send(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<(), KafkaIoError> {
        let mut headers = headers;
        loop {
            let mut record = BaseRecord::<[u8], [u8]>::to(topic)
                .key(key)
                .payload(payload);
            if let Some(headers) = headers.take() {
                record = record.headers(headers);
            }
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), record)) => {
                    headers = record.headers;
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((source, _)) => {
                    return Err(KafkaIoError::Send {
                        topic: topic.to_owned(),
                        source,
                    })
                }
            }
        }
    }

    /// Serves delivery reports without waiting.
    pub fn poll(&self) {
        self.producer.poll(Duration::ZERO);
    }

    /// Records queued and not yet delivered.
    pub fn in_flight(&self) -> i32 {
        self.producer.in_flight_count()
    }

    /// Waits until every queued record is delivered, or `timeout` passes.
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
