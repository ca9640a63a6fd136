//! Every metric name the product publishes (the registry adds no prefix: names are
//! complete here, so a search for a dashboard query finds its definition).

/// Closed calls by outcome (from final verdicts).
pub const CALLS_TOTAL: &str = "sixmin_calls_total";
/// Breaches in final verdicts, by rule.
pub const BREACHES_TOTAL: &str = "sixmin_breaches_total";
/// Callers who crossed a limit while still waiting (or a callback/SMS overdue): the alarm.
pub const LIVE_BREACHES_TOTAL: &str = "sixmin_live_breaches_total";
/// Answer waits of final verdicts, as a Prometheus histogram.
pub const ANSWER_WAIT_SECONDS: &str = "sixmin_answer_wait_seconds";
/// Wait quantiles from HdrHistogram, per window.
pub const WAIT_QUANTILE_SECONDS: &str = "sixmin_wait_quantile_seconds";
/// Compliance ratio per window, as in the period report.
pub const COMPLIANCE_RATIO: &str = "sixmin_compliance_ratio";
/// Breached calls of today and this month by local weekday and hour of their start.
pub const BREACHED_CALLS_BY_HOUR: &str = "sixmin_breached_calls_by_hour";
/// Breached calls of today and this month by the queue they were last in.
pub const BREACHED_CALLS_BY_QUEUE: &str = "sixmin_breached_calls_by_queue";
/// Callers waiting now.
pub const CALLS_WAITING: &str = "sixmin_calls_waiting";
/// The longest current wait.
pub const OLDEST_WAIT_SECONDS: &str = "sixmin_oldest_wait_seconds";
/// Callers waiting past their limit now.
pub const CALLS_WAITING_OVER_LIMIT: &str = "sixmin_calls_waiting_over_limit";
/// Callers who have waited at least 80 % of their limit.
pub const CALLS_AT_RISK: &str = "sixmin_calls_at_risk";
/// Events by result: accepted, duplicate, invalid, late.
pub const EVENTS_TOTAL: &str = "sixmin_events_total";
/// Invalid events by reason.
pub const INVALID_EVENTS_TOTAL: &str = "sixmin_invalid_events_total";
/// The compliance target of the rule pack (for alert rules and dashboards).
pub const TARGET_RATIO: &str = "sixmin_target_ratio";
/// The limit of each topic, in seconds (for dashboards: wait against limit).
pub const TOPIC_LIMIT_SECONDS: &str = "sixmin_topic_limit_seconds";
/// The engine clock, as Unix seconds.
pub const ENGINE_CLOCK_SECONDS: &str = "sixmin_engine_clock_seconds";
/// Build information (always 1).
pub const BUILD_INFO: &str = "sixmin_build_info";

/// Windows of the quantile and compliance gauges.
pub const WINDOWS: [&str; 4] = ["5m", "1h", "day", "month"];
/// Quantiles of the quantile gauge.
pub const QUANTILES: [(f64, &str); 5] = [
    (0.5, "0.5"),
    (0.9, "0.9"),
    (0.95, "0.95"),
    (0.99, "0.99"),
    (1.0, "1"),
];

/// Buckets of the answer-wait histogram, seconds; the pack's limits are added to them.
pub const ANSWER_WAIT_BUCKETS: [f64; 17] = [
    10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 150.0, 180.0, 240.0, 300.0, 360.0, 480.0, 600.0,
    900.0, 1800.0, 3600.0,
];

/// Events not yet consumed per partition: the high watermark minus the next offset.
pub const KAFKA_CONSUMER_LAG: &str = "sixmin_kafka_consumer_lag";
/// Seconds since each partition's state was last checkpointed.
pub const CHECKPOINT_AGE_SECONDS: &str = "sixmin_checkpoint_age_seconds";
/// Checkpoints written, by result (`ok`, `failed`).
pub const CHECKPOINTS_TOTAL: &str = "sixmin_checkpoints_total";
/// Partitions of the events topic assigned to this instance.
pub const KAFKA_ASSIGNED_PARTITIONS: &str = "sixmin_kafka_assigned_partitions";
/// Assigned partitions read to their end (nothing left to consume).
pub const KAFKA_PARTITIONS_CAUGHT_UP: &str = "sixmin_kafka_partitions_caught_up";
/// Rebalances seen, by kind (`assign`, `revoke`).
pub const KAFKA_REBALANCES_TOTAL: &str = "sixmin_kafka_rebalances_total";
/// Whether a broker of the cluster is reachable (1) or not (0).
pub const KAFKA_BROKER_UP: &str = "sixmin_kafka_broker_up";
/// Output records (verdicts, breaches, dead letters) by topic role and delivery result.
pub const KAFKA_OUTPUT_RECORDS_TOTAL: &str = "sixmin_kafka_output_records_total";
