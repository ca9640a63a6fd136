//! The service's outputs as a sink of the pipeline: verdicts, live breaches and dead
//! letters produced to their topics, each counted by outcome. A dead letter is the
//! pipeline's one record: its payload is the event's kept bytes, its key the event's key,
//! every other field a header.

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use sixmin_config::ServiceConfig;
use sixmin_core::Output;
use sixmin_metrics::KafkaMetrics;
use sixmin_pipeline::{DeadLetter, Sink, SinkError};
use tracing::warn;

use super::state::warn_output;
use crate::OutputProducer;

/// The service's outputs as a sink: verdicts, live breaches and dead letters produced to
/// their topics (each one off when its topic is not configured), each counted by
/// outcome.
pub struct KafkaOutputs<'a> {
    /// The producer.
    pub producer: &'a OutputProducer,
    /// Where deliveries are counted.
    pub metrics: &'a KafkaMetrics,
    /// The output topics.
    pub config: &'a ServiceConfig,
    /// The key of the message being applied: a dead letter keeps it.
    pub key: &'a [u8],
    /// How long a flush waits for deliveries.
    pub flush_timeout: Duration,
}

impl<'a> KafkaOutputs<'a> {
    /// Outputs of `producer` to the topics of `config`, counted in `metrics`.
    pub fn new(
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
                warn!("{error}");
                "failed"
            }
        };
        self.count(role, result);
    }

    /// A record that could not be encoded is counted as not delivered, like a failed
    /// send, and said; the outputs after it still go out.
    fn encode_failed(&self, role: &str, what: &'static str, source: serde_json::Error) {
        warn_output(&SinkError::Encode { what, source });
        self.count(role, "failed");
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
                    match verdict.to_json_line() {
                        Ok(line) => self.send(
                            "verdicts",
                            topic,
                            verdict.call_id.as_bytes(),
                            line.as_bytes(),
                            None,
                        ),
                        Err(source) => self.encode_failed("verdicts", "verdict", source),
                    }
                }
            }
            Output::LiveBreach(breach) => {
                if let Some(topic) = &self.config.breaches_topic {
                    match serde_json::to_vec(breach) {
                        Ok(json) => {
                            self.send("breaches", topic, breach.call_id.as_bytes(), &json, None)
                        }
                        Err(source) => self.encode_failed("breaches", "live breach", source),
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
