//! `sixmin_wait_quantile_seconds` as a Prometheus *summary*: HdrHistogram quantiles with
//! the exact count and sum of the waits they come from, per tenant, topic and window.
//!
//! A summary is the metric type that may carry a `quantile` label (`promtool` rejects it
//! on a gauge); the client library has no summary whose quantiles are set from outside, so
//! this collector builds the family itself from what [`QuantileSummaries::publish`] last
//! received.

use std::sync::{Arc, Mutex};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType, Quantile, Summary};

/// One summary series.
#[derive(Debug, Clone, PartialEq)]
pub struct SummarySample {
    /// Tenant label.
    pub tenant: String,
    /// Topic label.
    pub topic: String,
    /// Window label.
    pub window: String,
    /// (quantile, seconds) pairs.
    pub quantiles: Vec<(f64, f64)>,
    /// How many waits.
    pub count: u64,
    /// Their sum, seconds.
    pub sum_seconds: f64,
}

/// The collector.
#[derive(Clone)]
pub struct QuantileSummaries {
    desc: Desc,
    samples: Arc<Mutex<Vec<SummarySample>>>,
}

impl QuantileSummaries {
    /// A collector for `name` with `help`.
    pub fn new(name: &str, help: &str) -> Result<Self, prometheus::Error> {
        let desc = Desc::new(
            name.to_owned(),
            help.to_owned(),
            vec!["tenant".into(), "topic".into(), "window".into()],
            Default::default(),
        )?;
        Ok(QuantileSummaries {
            desc,
            samples: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Replaces every series.
    pub fn publish(&self, samples: Vec<SummarySample>) {
        if let Ok(mut current) = self.samples.lock() {
            *current = samples;
        }
    }
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut pair = LabelPair::default();
    pair.set_name(name.to_owned());
    pair.set_value(value.to_owned());
    pair
}

impl Collector for QuantileSummaries {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let samples = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        let mut family = MetricFamily::default();
        family.set_name(self.desc.fq_name.clone());
        family.set_help(self.desc.help.clone());
        family.set_field_type(MetricType::SUMMARY);
        for sample in samples {
            let mut summary = Summary::default();
            summary.set_sample_count(sample.count);
            summary.set_sample_sum(sample.sum_seconds);
            summary.set_quantile(
                sample
                    .quantiles
                    .iter()
                    .map(|(quantile, value)| {
                        let mut entry = Quantile::default();
                        entry.set_quantile(*quantile);
                        entry.set_value(*value);
                        entry
                    })
                    .collect(),
            );
            let mut metric = Metric::default();
            metric.set_label(vec![
                label("tenant", &sample.tenant),
                label("topic", &sample.topic),
                label("window", &sample.window),
            ]);
            metric.set_summary(summary);
            family.mut_metric().push(metric);
        }
        if family.get_metric().is_empty() {
            return Vec::new();
        }
        vec![family]
    }
}
