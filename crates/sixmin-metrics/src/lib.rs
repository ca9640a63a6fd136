//! Prometheus metrics of the engine, on an explicit registry (no globals, so each test and
//! each engine gets its own).
//!
//! # Contract
//! - Counters (`sixmin_calls_total`, `sixmin_breaches_total`) move only with final
//!   verdicts, so Grafana and the monthly report agree to the call.
//! - `sixmin_live_breaches_total` moves with live alarms, at the moment a limit passes.
//! - Gauges are recomputed from the engine on [`Metrics::refresh`]: callers waiting now
//!   (per tenant, topic, queue), and wait quantiles and compliance per window: `5m` and
//!   `1h` sliding (from calls as they stop, provisional), `day` and `month` (calendar, in
//!   the pack's time zone, from verdicts plus pending calls, as the period report).
//! - Label values are bounded: tenants, topics and queues beyond a cap become `other`
//!   ([`LabelLimits`]). No call ids, phone numbers or `attrs` ever become labels.

pub mod kafka;
pub mod names;
mod snapshot_gauges;
mod summary;
mod windows;

use std::collections::BTreeSet;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sixmin_core::{
    CalendarTallies, Engine, InputCounters, LiveBreach, Verdict, WaitHistogram, WaitingGroup,
};

pub use crate::kafka::{KafkaMetrics, PartitionGauge};
use crate::snapshot_gauges::SeriesBuilder;
pub use crate::snapshot_gauges::SnapshotGauges;
pub use crate::summary::{QuantileSummaries, SummarySample};
pub use crate::windows::LiveWindows;

/// A metrics error (registration clashes; never raised by observing).
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A metric could not be created or registered.
    #[error("registering metric: {0}")]
    Register(#[from] prometheus::Error),
}

/// Caps on distinct label values; values past a cap are reported as `other`.
#[derive(Debug, Clone)]
pub struct LabelLimits {
    /// Most distinct tenants.
    pub tenants: usize,
    /// Most distinct topics besides the pack's own.
    pub topics: usize,
    /// Most distinct queues.
    pub queues: usize,
}

impl Default for LabelLimits {
    fn default() -> Self {
        LabelLimits {
            tenants: 50,
            topics: 50,
            queues: 200,
        }
    }
}

/// The label value for everything past a cap.
pub const OTHER: &str = "other";

/// Admits label values up to a cap, first come first served; later ones become `other`.
#[derive(Debug, Clone, Default)]
struct Admission {
    admitted: BTreeSet<String>,
    cap: usize,
}

impl Admission {
    fn new(cap: usize, always: impl IntoIterator<Item = String>) -> Self {
        let admitted: BTreeSet<String> = always.into_iter().collect();
        let cap = cap + admitted.len();
        Admission { admitted, cap }
    }

    fn label<'a>(&mut self, value: &'a str) -> &'a str {
        if self.admitted.contains(value) {
            return value;
        }
        if self.admitted.len() < self.cap {
            self.admitted.insert(value.to_owned());
            return value;
        }
        OTHER
    }
}

/// The engine's metrics.
pub struct Metrics {
    calls_total: IntCounterVec,
    breaches_total: IntCounterVec,
    live_breaches_total: IntCounterVec,
    answer_wait_seconds: HistogramVec,
    wait_quantile_seconds: QuantileSummaries,
    compliance_ratio: SnapshotGauges,
    breached_calls_by_hour: SnapshotGauges,
    breached_calls_by_queue: SnapshotGauges,
    calls_waiting: SnapshotGauges,
    oldest_wait_seconds: SnapshotGauges,
    calls_waiting_over_limit: SnapshotGauges,
    calls_at_risk: SnapshotGauges,
    events_total: IntCounterVec,
    invalid_events_total: IntCounterVec,
    engine_clock_seconds: prometheus::Gauge,
    counted: InputCounters,
    tenants: Admission,
    topics: Admission,
    queues: Admission,
}

fn counter(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, MetricsError> {
    let metric = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn register_snapshot_gauges(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<SnapshotGauges, MetricsError> {
    let metric = SnapshotGauges::new(name, help, labels)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl Metrics {
    /// Creates the metrics of an engine judging by `pack` and registers them.
    pub fn register(
        registry: &Registry,
        pack: &sixmin_core::RulePack,
        limits: LabelLimits,
    ) -> Result<Metrics, MetricsError> {
        let mut buckets: Vec<f64> = names::ANSWER_WAIT_BUCKETS.to_vec();
        let pack_limits = pack
            .topics
            .iter()
            .map(|topic| topic.limit_ms)
            .chain([pack.default_limit_ms]);
        for limit_ms in pack_limits {
            let seconds = limit_ms as f64 / 1000.0;
            if !buckets.contains(&seconds) {
                buckets.push(seconds);
            }
        }
        buckets.sort_by(f64::total_cmp);
        let answer_wait_seconds = HistogramVec::new(
            HistogramOpts::new(
                names::ANSWER_WAIT_SECONDS,
                "Answer waits of final verdicts, from dialing, in seconds; buckets include every limit of the rule pack.",
            )
            .buckets(buckets),
            &["tenant", "topic"],
        )?;
        registry.register(Box::new(answer_wait_seconds.clone()))?;
        let target = prometheus::Gauge::with_opts(Opts::new(
            names::TARGET_RATIO,
            "Internal compliance target of the rule pack (not a legal limit).",
        ))?;
        target.set(pack.target_ratio);
        registry.register(Box::new(target))?;
        let topic_limit = GaugeVec::new(
            Opts::new(
                names::TOPIC_LIMIT_SECONDS,
                "Wait limit of each topic of the rule pack, in seconds.",
            ),
            &["topic", "rule"],
        )?;
        for topic in &pack.topics {
            topic_limit
                .with_label_values(&[topic.id.as_str(), topic.rule.as_str()])
                .set(topic.limit_ms as f64 / 1000.0);
        }
        topic_limit
            .with_label_values(&[
                sixmin_core::pack::FALLBACK_TOPIC,
                pack.default_rule.as_str(),
            ])
            .set(pack.default_limit_ms as f64 / 1000.0);
        registry.register(Box::new(topic_limit))?;
        let build_info = IntGaugeVec::new(
            Opts::new(names::BUILD_INFO, "Build information; always 1."),
            &["version", "rule_pack"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), pack.label().as_str()])
            .set(1);
        registry.register(Box::new(build_info))?;
        let engine_clock_seconds = prometheus::Gauge::with_opts(Opts::new(
            names::ENGINE_CLOCK_SECONDS,
            "The engine clock (newest event time, or the wall clock when live and idle), Unix seconds.",
        ))?;
        registry.register(Box::new(engine_clock_seconds.clone()))?;
        let pack_topics = pack
            .topics
            .iter()
            .map(|topic| topic.id.clone())
            .chain([sixmin_core::pack::FALLBACK_TOPIC.to_owned()]);
        let metrics = Metrics {
            calls_total: counter(registry, names::CALLS_TOTAL, "Closed calls by outcome (final verdicts).", &["tenant", "topic", "outcome"])?,
            breaches_total: counter(registry, names::BREACHES_TOTAL, "Breaches in final verdicts, by rule id of the pack.", &["tenant", "topic", "rule"])?,
            live_breaches_total: counter(registry, names::LIVE_BREACHES_TOTAL, "Callers who crossed the limit of their current topic while still waiting, or callbacks and SMS overdue, counted at that moment.", &["tenant", "topic", "rule"])?,
            answer_wait_seconds,
            wait_quantile_seconds: {
                let summaries = QuantileSummaries::new(names::WAIT_QUANTILE_SECONDS, "Answer-wait quantiles from HdrHistogram (3 significant digits; quantile 1 is the exact maximum), with the exact count and sum, per window: 5m and 1h sliding, day and month calendar in the pack's time zone.")?;
                registry.register(Box::new(summaries.clone()))?;
                summaries
            },
            compliance_ratio: register_snapshot_gauges(registry, names::COMPLIANCE_RATIO, "1 - breached calls / (offered - incomplete), per window, as in the period report.", &["tenant", "topic", "window"])?,
            breached_calls_by_hour: register_snapshot_gauges(registry, names::BREACHED_CALLS_BY_HOUR, "Breached calls by the local weekday (sun..sat) and hour (00..23) of their start, in the pack's time zone, per calendar window (day, month); cells with no breached call are absent.", &["tenant", "topic", "window", "weekday", "hour"])?,
            breached_calls_by_queue: register_snapshot_gauges(registry, names::BREACHED_CALLS_BY_QUEUE, "Breached calls by the queue they were last in (none when never queued), per calendar window (day, month); queues with no breached call are absent.", &["tenant", "topic", "window", "queue"])?,
            calls_waiting: register_snapshot_gauges(registry, names::CALLS_WAITING, "Callers waiting for a human now.", &["tenant", "topic", "queue"])?,
            oldest_wait_seconds: register_snapshot_gauges(registry, names::OLDEST_WAIT_SECONDS, "The longest current wait, from dialing, in seconds.", &["tenant", "topic", "queue"])?,
            calls_waiting_over_limit: register_snapshot_gauges(registry, names::CALLS_WAITING_OVER_LIMIT, "Callers waiting past the limit of their topic now.", &["tenant", "topic"])?,
            calls_at_risk: register_snapshot_gauges(registry, names::CALLS_AT_RISK, "Callers who have waited at least 80 % of their limit (over-limit included).", &["tenant", "topic"])?,
            events_total: counter(registry, names::EVENTS_TOTAL, "Events received, by result: accepted, duplicate, invalid, late.", &["result"])?,
            invalid_events_total: counter(registry, names::INVALID_EVENTS_TOTAL, "Invalid events by reason.", &["reason"])?,
            engine_clock_seconds,
            counted: InputCounters::default(),
            tenants: Admission::new(limits.tenants, []),
            topics: Admission::new(limits.topics, pack_topics),
            queues: Admission::new(limits.queues, []),
        };
        // The input counters exist from the start, at zero, for every result and reason:
        // dashboards and alerts take rates of them before the first invalid event.
        for result in ["accepted", "duplicate", "invalid", "late"] {
            metrics.events_total.with_label_values(&[result]);
        }
        for reason in sixmin_core::decode::InvalidReason::ALL {
            metrics
                .invalid_events_total
                .with_label_values(&[reason.as_str()]);
        }
        Ok(metrics)
    }

    fn tenant_topic<'a>(&mut self, tenant: &'a str, topic: &'a str) -> [&'a str; 2] {
        [self.tenants.label(tenant), self.topics.label(topic)]
    }

    /// Counts a final verdict.
    pub fn observe_verdict(&mut self, verdict: &Verdict) {
        let [tenant, topic] = self.tenant_topic(&verdict.tenant, &verdict.topic);
        self.calls_total
            .with_label_values(&[tenant, topic, verdict.outcome.as_str()])
            .inc();
        for rule in &verdict.breaches {
            self.breaches_total
                .with_label_values(&[tenant, topic, rule.as_str()])
                .inc();
        }
        if let (sixmin_core::Outcome::Answered, Some(wait_ms)) = (verdict.outcome, verdict.wait_ms)
        {
            self.answer_wait_seconds
                .with_label_values(&[tenant, topic])
                .observe(wait_ms as f64 / 1000.0);
        }
    }

    /// Counts a live breach.
    pub fn observe_live_breach(&mut self, breach: &LiveBreach) {
        let [tenant, topic] = self.tenant_topic(&breach.tenant, &breach.topic);
        self.live_breaches_total
            .with_label_values(&[tenant, topic, breach.rule.as_str()])
            .inc();
    }

    /// Starts counting events from `counters` (the counts of a restored state), so the
    /// process's counters start at zero as Prometheus expects.
    pub fn count_inputs_from(&mut self, counters: &InputCounters) {
        self.counted = counters.clone();
    }

    /// Brings the event counters up to the engine's, counting what is new since the last
    /// call.
    pub fn observe_inputs(&mut self, counters: &InputCounters) {
        let new = counters.since(&self.counted);
        let results = [
            ("accepted", new.accepted),
            ("duplicate", new.duplicates),
            ("late", new.late),
            ("invalid", new.invalid_total()),
        ];
        for (result, count) in results {
            if count > 0 {
                self.events_total.with_label_values(&[result]).inc_by(count);
            }
        }
        for (reason, count) in &new.invalid {
            self.invalid_events_total
                .with_label_values(&[reason.as_str()])
                .inc_by(*count);
        }
        self.counted = counters.clone();
    }

    /// Recomputes every gauge from the engine, the live windows, the callers waiting now
    /// (`engine.waiting_now()`) and today's and this month's tallies
    /// (`engine.calendar_tallies()`); the last two are computed once by the caller and
    /// shared with the status page. Each family is published whole, so a scrape never
    /// sees half a refresh.
    pub fn refresh(
        &mut self,
        engine: &Engine,
        windows: &LiveWindows,
        waiting: &[WaitingGroup],
        calendar: Option<&CalendarTallies>,
    ) {
        self.refresh_parts(
            engine.counters(),
            engine.clock(),
            windows,
            waiting,
            calendar,
        );
    }

    /// [`Metrics::refresh`] for several engines shown as one (the partitions of a topic):
    /// their input counts added up, and the newest of their clocks.
    pub fn refresh_parts(
        &mut self,
        counters: &InputCounters,
        clock: Option<sixmin_core::time::Nanos>,
        windows: &LiveWindows,
        waiting: &[WaitingGroup],
        calendar: Option<&CalendarTallies>,
    ) {
        self.observe_inputs(counters);
        let Some(now) = clock else {
            return;
        };
        self.engine_clock_seconds.set(now as f64 / 1e9);
        let mut calls_waiting = SeriesBuilder::default();
        let mut oldest = SeriesBuilder::default();
        let mut over_limit = SeriesBuilder::default();
        let mut at_risk = SeriesBuilder::default();
        for group in waiting {
            let [tenant, topic] = self.tenant_topic(&group.tenant, &group.topic);
            let queue = self.queues.label(&group.queue);
            let labels = [tenant, topic, queue];
            calls_waiting.add(&labels, group.waiting as f64);
            oldest.max(&labels, group.oldest_wait_ms as f64 / 1000.0);
            over_limit.add(&[tenant, topic], group.over_limit as f64);
            at_risk.add(&[tenant, topic], group.at_risk as f64);
        }
        self.calls_waiting.publish(calls_waiting.finish());
        self.oldest_wait_seconds.publish(oldest.finish());
        self.calls_waiting_over_limit.publish(over_limit.finish());
        self.calls_at_risk.publish(at_risk.finish());

        let mut summaries = Vec::new();
        let mut compliance = SeriesBuilder::default();
        let mut by_hour = SeriesBuilder::default();
        let mut by_queue = SeriesBuilder::default();
        for (window, summary) in windows.summaries(now) {
            let labels = self.tenant_topic(&summary.tenant, &summary.topic);
            push_window(
                &mut summaries,
                &mut compliance,
                window,
                labels,
                &summary.answer_waits,
                summary.compliance,
            );
        }
        let periods = calendar
            .iter()
            .flat_map(|calendar| [("day", &calendar.day), ("month", &calendar.month)]);
        for (window, tallies) in periods {
            for ((tenant, topic), tally) in tallies {
                let labels = self.tenant_topic(tenant, topic);
                push_window(
                    &mut summaries,
                    &mut compliance,
                    window,
                    labels,
                    &tally.answer_wait,
                    tally.compliance_ratio(),
                );
                for (cell, calls) in &tally.breached_by_hour {
                    let hour = HOUR_LABELS[usize::from(cell.hour) % 24];
                    let labels = [labels[0], labels[1], window, cell.weekday_name(), hour];
                    by_hour.add(&labels, *calls as f64);
                }
                for (queue, calls) in &tally.breached_by_queue {
                    let queue = self.queues.label(queue);
                    by_queue.add(&[labels[0], labels[1], window, queue], *calls as f64);
                }
            }
        }
        self.wait_quantile_seconds.publish(summaries);
        self.compliance_ratio.publish(compliance.finish());
        self.breached_calls_by_hour.publish(by_hour.finish());
        self.breached_calls_by_queue.publish(by_queue.finish());
    }
}

/// The `hour` label values: two digits, so they sort as text.
const HOUR_LABELS: [&str; 24] = [
    "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15",
    "16", "17", "18", "19", "20", "21", "22", "23",
];

/// Adds one window's quantile summary and compliance ratio for one tenant and topic.
fn push_window(
    summaries: &mut Vec<SummarySample>,
    compliance: &mut SeriesBuilder,
    window: &str,
    [tenant, topic]: [&str; 2],
    answer_waits: &WaitHistogram,
    ratio: Option<f64>,
) {
    if !answer_waits.is_empty() {
        let q = answer_waits.quantiles();
        let values = [q.p50, q.p90, q.p95, q.p99, q.max];
        let quantiles = names::QUANTILES
            .iter()
            .zip(values)
            .filter_map(|((quantile, _), value)| value.map(|ms| (*quantile, ms as f64 / 1000.0)))
            .collect();
        summaries.push(SummarySample {
            tenant: tenant.to_owned(),
            topic: topic.to_owned(),
            window: window.to_owned(),
            quantiles,
            count: answer_waits.len(),
            sum_seconds: answer_waits.sum_ms() as f64 / 1000.0,
        });
    }
    if let Some(ratio) = ratio {
        compliance.set(&[tenant, topic, window], ratio);
    }
}

/// The Prometheus text exposition of a registry.
pub fn encode_text(registry: &Registry) -> String {
    let mut buffer = Vec::new();
    let families = registry.gather();
    if TextEncoder::new().encode(&families, &mut buffer).is_err() {
        return String::new();
    }
    String::from_utf8(buffer).unwrap_or_default()
}
