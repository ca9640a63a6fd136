//! The consumer's callbacks: rebalances (restore on assign, checkpoint on revoke),
//! statistics (high watermarks, broker reachability) and client errors.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, TopicPartitionList};

use tracing::{error, info, warn};

use super::state::{AssignError, ConsumerState};

/// How many times an assignment's checkpoints are read before giving up the partitions.
const RESTORE_ATTEMPTS: u32 = 6;

/// The consumer's context.
pub struct ServiceContext {
    /// The shared state.
    pub state: Arc<Mutex<ConsumerState>>,
    /// Whether a broker is reachable (from statistics and errors).
    pub broker_up: AtomicBool,
    /// Whether an assignment is being restored.
    pub restoring: AtomicBool,
    /// High watermark of each partition of the events topic (from statistics).
    pub high_watermarks: Mutex<BTreeMap<i32, i64>>,
    /// The events topic.
    pub topic: String,
}

impl ServiceContext {
    /// Locks the core (a poisoned lock is taken as is: the core has no invariant a
    /// panic elsewhere could break half-way that a restart would not also face).
    pub fn lock(&self) -> MutexGuard<'_, ConsumerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn partitions_of(&self, list: &TopicPartitionList) -> Vec<i32> {
        list.elements_for_topic(&self.topic)
            .iter()
            .map(|element| element.partition())
            .collect()
    }

    fn set_broker_up(&self, up: bool) {
        let was = self.broker_up.swap(up, Ordering::Relaxed);
        if was != up {
            let state = if up { "reachable again" } else { "unreachable" };
            info!("Kafka brokers {state}");
        }
    }
}

impl ClientContext for ServiceContext {
    fn stats(&self, statistics: Statistics) {
        let up = statistics
            .brokers
            .values()
            .any(|broker| broker.nodeid >= 0 && broker.state == "UP");
        self.set_broker_up(up);
        if let Some(topic) = statistics.topics.get(&self.topic) {
            let mut marks = self
                .high_watermarks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for partition in topic.partitions.values() {
                if partition.partition >= 0 && partition.hi_offset >= 0 {
                    marks.insert(partition.partition, partition.hi_offset);
                }
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(error, KafkaError::Global(RDKafkaErrorCode::PartitionEOF)) {
            // Also delivered to the poll loop, which marks the partition caught up.
            return;
        }
        if matches!(
            error,
            KafkaError::Global(RDKafkaErrorCode::AllBrokersDown)
                | KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure)
        ) {
            self.set_broker_up(false);
            return;
        }
        // Client errors name brokers and topics, never event contents.
        warn!("kafka: {error}: {reason}");
    }
}

impl ConsumerContext for ServiceContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.restoring.store(true, Ordering::Relaxed);
                let partitions = self.partitions_of(tpl);
                let mut attempt = 0;
                let restored = loop {
                    attempt += 1;
                    let mut core = self.lock();
                    match core.assign(&partitions, tpl) {
                        Ok(()) => break true,
                        Err(AssignError::Fatal(reason)) => {
                            error!("{reason}");
                            core.fatal.get_or_insert(reason);
                            break false;
                        }
                        Err(AssignError::Retry(reason)) if attempt >= RESTORE_ATTEMPTS => {
                            error!("{reason}");
                            core.fatal.get_or_insert(reason);
                            break false;
                        }
                        Err(AssignError::Retry(error)) => {
                            drop(core);
                            warn!("restoring partitions {partitions:?}: {error}; retrying");
                            std::thread::sleep(Duration::from_millis(500 << attempt.min(5)));
                        }
                    }
                };
                self.lock()
                    .kafka_metrics
                    .rebalances_total
                    .with_label_values(&["assign"])
                    .inc();
                if restored {
                    let assigned = if cooperative {
                        consumer.incremental_assign(tpl)
                    } else {
                        consumer.assign(tpl)
                    };
                    if let Err(error) = assigned {
                        error!("assigning partitions: {error}");
                    }
                }
                self.restoring.store(false, Ordering::Relaxed);
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let partitions = self.partitions_of(tpl);
                {
                    let mut core = self.lock();
                    core.revoke(&partitions, consumer);
                    core.kafka_metrics
                        .rebalances_total
                        .with_label_values(&["revoke"])
                        .inc();
                }
                let unassigned = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(error) = unassigned {
                    error!("releasing partitions: {error}");
                }
            }
            other => {
                let code: RDKafkaErrorCode = other.into();
                error!("rebalance error: {code}");
                // As librdkafka advises: drop the assignment and let the group recover.
                consumer.unassign().ok();
            }
        }
    }
}
