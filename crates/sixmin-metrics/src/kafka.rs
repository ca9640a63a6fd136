//! Metrics of the Kafka service (`sixmin run`): consumer lag and checkpoint age per
//! partition, assignment, rebalances, broker reachability and output deliveries.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

use crate::snapshot_gauges::SeriesBuilder;
use crate::{names, MetricsError, SnapshotGauges};

/// One assigned partition, as the refresh sees it.
#[derive(Debug, Clone)]
pub struct PartitionGauge {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// High watermark minus next offset, when the watermark is known.
    pub lag: Option<i64>,
    /// Seconds since the last checkpoint (or since the partition was assigned).
    pub checkpoint_age_seconds: f64,
    /// Whether it was read to its end.
    pub caught_up: bool,
}

/// The service's Kafka metrics.
pub struct KafkaMetrics {
    lag: SnapshotGauges,
    checkpoint_age: SnapshotGauges,
    assigned: IntGauge,
    caught_up: IntGauge,
    broker_up: IntGauge,
    /// Checkpoints by result.
    pub checkpoints_total: IntCounterVec,
    /// Rebalances by kind.
    pub rebalances_total: IntCounterVec,
    /// Output records by topic role and result.
    pub output_records_total: IntCounterVec,
}

impl KafkaMetrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &Registry) -> Result<KafkaMetrics, MetricsError> {
        let gauges = |name: &str, help: &str| -> Result<SnapshotGauges, MetricsError> {
            let metric = SnapshotGauges::new(name, help, &["topic", "partition"])?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let gauge = |name: &str, help: &str| -> Result<IntGauge, MetricsError> {
            let metric = IntGauge::with_opts(Opts::new(name, help))?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(metric.clone()))?;
            Ok::<_, MetricsError>(metric)
        };
        let metrics = KafkaMetrics {
            lag: gauges(
                names::KAFKA_CONSUMER_LAG,
                "Events not yet consumed: the partition's high watermark minus the next offset to read.",
            )?,
            checkpoint_age: gauges(
                names::CHECKPOINT_AGE_SECONDS,
                "Seconds since the partition's state and offset were last checkpointed.",
            )?,
            assigned: gauge(
                names::KAFKA_ASSIGNED_PARTITIONS,
                "Partitions of the events topic assigned to this instance.",
            )?,
            caught_up: gauge(
                names::KAFKA_PARTITIONS_CAUGHT_UP,
                "Assigned partitions read to their end.",
            )?,
            broker_up: gauge(
                names::KAFKA_BROKER_UP,
                "1 when a broker of the cluster is reachable, else 0.",
            )?,
            checkpoints_total: counter(
                names::CHECKPOINTS_TOTAL,
                "Partition checkpoints written, by result (ok, failed).",
                &["result"],
            )?,
            rebalances_total: counter(
                names::KAFKA_REBALANCES_TOTAL,
                "Consumer-group rebalances seen, by kind (assign, revoke).",
                &["kind"],
            )?,
            output_records_total: counter(
                names::KAFKA_OUTPUT_RECORDS_TOTAL,
                "Output records by role (verdicts, breaches, dead_letters) and result (queued, failed).",
                &["role", "result"],
            )?,
        };
        // Every series a dashboard or alert reads exists from the start, at zero: a rate
        // over a counter that appears only with its first increase would show no data.
        for result in ["ok", "failed"] {
            metrics.checkpoints_total.with_label_values(&[result]);
        }
        for kind in ["assign", "revoke"] {
            metrics.rebalances_total.with_label_values(&[kind]);
        }
        for role in ["verdicts", "breaches", "dead_letters"] {
            for result in ["queued", "failed"] {
                metrics
                    .output_records_total
                    .with_label_values(&[role, result]);
            }
        }
        Ok(metrics)
    }

    /// Publishes the per-partition gauges and the assignment counts.
    pub fn refresh(&self, partitions: &[PartitionGauge], broker_up: bool) {
        let mut lag = SeriesBuilder::default();
        let mut age = SeriesBuilder::default();
        for partition in partitions {
            let number = partition.partition.to_string();
            let labels = [partition.topic.as_str(), number.as_str()];
            if let Some(value) = partition.lag {
                lag.set(&labels, value.max(0) as f64);
            }
            age.set(&labels, partition.checkpoint_age_seconds);
        }
        self.lag.publish(lag.finish());
        self.checkpoint_age.publish(age.finish());
        self.assigned.set(partitions.len() as i64);
        self.caught_up
            .set(partitions.iter().filter(|p| p.caught_up).count() as i64);
        self.broker_up.set(i64::from(broker_up));
    }
}
