//! Gauge families recomputed from scratch on every refresh and published as a whole.
//!
//! A `GaugeVec` that is reset and then filled series by series can be scraped half-way
//! (a total of 0 callers waiting for an instant, and an alert that flaps). These families
//! are built aside and swapped in under one lock, so a scrape sees either the previous
//! refresh or the new one, never a mix.

use std::sync::{Arc, Mutex};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};

/// One series: label values (in the order of the label names) and the value.
pub type Series = (Vec<String>, f64);

/// One gauge family whose series are replaced together.
#[derive(Clone)]
pub struct SnapshotGauges {
    desc: Desc,
    label_names: Vec<String>,
    series: Arc<Mutex<Vec<Series>>>,
}

impl SnapshotGauges {
    /// A family `name` with `help` and these label names.
    pub fn new(name: &str, help: &str, label_names: &[&str]) -> Result<Self, prometheus::Error> {
        let label_names: Vec<String> = label_names.iter().map(|name| (*name).to_owned()).collect();
        let desc = Desc::new(
            name.to_owned(),
            help.to_owned(),
            label_names.clone(),
            Default::default(),
        )?;
        Ok(SnapshotGauges {
            desc,
            label_names,
            series: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Replaces every series at once. Label values are in the order of the label names.
    pub fn publish(&self, series: Vec<Series>) {
        if let Ok(mut current) = self.series.lock() {
            *current = series;
        }
    }
}

impl Collector for SnapshotGauges {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let series = self.series.lock().map(|s| s.clone()).unwrap_or_default();
        if series.is_empty() {
            return Vec::new();
        }
        let mut family = MetricFamily::default();
        family.set_name(self.desc.fq_name.clone());
        family.set_help(self.desc.help.clone());
        family.set_field_type(MetricType::GAUGE);
        for (values, value) in series {
            let labels = self
                .label_names
                .iter()
                .zip(values)
                .map(|(name, value)| {
                    let mut pair = LabelPair::default();
                    pair.set_name(name.clone());
                    pair.set_value(value);
                    pair
                })
                .collect();
            let mut gauge = Gauge::default();
            gauge.set_value(value);
            let mut metric = Metric::default();
            metric.set_label(labels);
            metric.set_gauge(gauge);
            family.mut_metric().push(metric);
        }
        vec![family]
    }
}

/// Accumulates series by labels before publishing (adding, or keeping the maximum).
#[derive(Default)]
pub(crate) struct SeriesBuilder {
    series: std::collections::BTreeMap<Vec<String>, f64>,
}

impl SeriesBuilder {
    pub fn add(&mut self, labels: &[&str], value: f64) {
        let key = labels.iter().map(|label| (*label).to_owned()).collect();
        *self.series.entry(key).or_insert(0.0) += value;
    }

    pub fn max(&mut self, labels: &[&str], value: f64) {
        let key = labels.iter().map(|label| (*label).to_owned()).collect();
        let entry = self.series.entry(key).or_insert(value);
        *entry = entry.max(value);
    }

    pub fn set(&mut self, labels: &[&str], value: f64) {
        let key = labels.iter().map(|label| (*label).to_owned()).collect();
        self.series.insert(key, value);
    }

    pub fn finish(self) -> Vec<Series> {
        self.series.into_iter().collect()
    }
}
