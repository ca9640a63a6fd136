//! Exact counters and wait histograms of final verdicts, per day, tenant and topic.
//!
//! A month is the merge of its days (histograms are added, never averaged), so every
//! period the report covers is built from the same per-day tallies.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::verdict::{Flag, Outcome};

/// Significant digits of every wait histogram.
pub const HISTOGRAM_SIGFIG: u8 = 3;

/// A wait distribution in milliseconds: an HdrHistogram plus the exact maximum.
#[derive(Debug, Clone)]
pub struct WaitHistogram {
    histogram: Histogram<u64>,
    max_ms: Option<u64>,
}

impl Default for WaitHistogram {
    fn default() -> Self {
        WaitHistogram::new()
    }
}

impl PartialEq for WaitHistogram {
    fn eq(&self, other: &Self) -> bool {
        self.max_ms == other.max_ms && self.histogram == other.histogram
    }
}

/// Quantiles of a wait distribution, in milliseconds; all `None` when it is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WaitQuantiles {
    /// Median.
    pub p50: Option<u64>,
    /// 90th percentile.
    pub p90: Option<u64>,
    /// 95th percentile.
    pub p95: Option<u64>,
    /// 99th percentile.
    pub p99: Option<u64>,
    /// The exact maximum.
    pub max: Option<u64>,
}

impl WaitHistogram {
    /// An empty distribution (auto-resizing, 3 significant digits).
    pub fn new() -> Self {
        WaitHistogram {
            histogram: new_histogram(),
            max_ms: None,
        }
    }

    /// Rebuilds a distribution from its parts (snapshots).
    pub fn from_parts(histogram: Histogram<u64>, max_ms: Option<u64>) -> Self {
        WaitHistogram { histogram, max_ms }
    }

    /// The histogram itself.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.histogram
    }

    /// The exact largest wait recorded.
    pub fn max_ms(&self) -> Option<u64> {
        self.max_ms
    }

    /// Records one wait.
    pub fn record(&mut self, wait_ms: u64) {
        // Auto-resizing grows the range as needed; saturating only if it cannot grow.
        if self.histogram.record(wait_ms).is_err() {
            self.histogram.saturating_record(wait_ms);
        }
        self.max_ms = Some(self.max_ms.map_or(wait_ms, |max| max.max(wait_ms)));
    }

    /// Adds another distribution into this one.
    pub fn merge(&mut self, other: &WaitHistogram) {
        // Both auto-resize, so adding cannot run out of range.
        if self.histogram.add(&other.histogram).is_err() {
            for value in other.histogram.iter_recorded() {
                let (wait, count) = (value.value_iterated_to(), value.count_at_value());
                if self.histogram.record_n(wait, count).is_err() {
                    self.histogram.saturating_record_n(wait, count);
                }
            }
        }
        self.max_ms = match (self.max_ms, other.max_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// Number of waits recorded.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// p50, p90, p95, p99 from the histogram, and the exact maximum.
    ///
    /// HdrHistogram answers with the highest value equivalent to the quantile (within 3
    /// significant digits); that is capped at the exact maximum, so no percentile is ever
    /// reported above the longest wait actually seen.
    pub fn quantiles(&self) -> WaitQuantiles {
        if self.histogram.is_empty() {
            return WaitQuantiles::default();
        }
        let cap = self.max_ms.unwrap_or(u64::MAX);
        let at = |quantile: f64| Some(self.histogram.value_at_quantile(quantile).min(cap));
        WaitQuantiles {
            p50: at(0.50),
            p90: at(0.90),
            p95: at(0.95),
            p99: at(0.99),
            max: self.max_ms,
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // Three significant digits is a valid precision, so construction cannot fail.
    let mut histogram = Histogram::new(HISTOGRAM_SIGFIG).unwrap_or_else(|_| unreachable!());
    histogram.auto(true);
    histogram
}

/// Exact counts and wait distributions of a set of final verdicts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Calls started (after de-duplication).
    pub offered: u64,
    /// Calls answered by a human.
    pub answered: u64,
    /// Calls abandoned by the caller.
    pub abandoned: u64,
    /// Calls that chose a callback.
    pub callback: u64,
    /// Calls with no stop ever seen, or never started.
    pub incomplete: u64,
    /// Answered calls whose wait was within the limit.
    pub answered_within_limit: u64,
    /// Abandoned calls whose wait was over the limit.
    pub abandoned_after_limit: u64,
    /// Breaches per rule id.
    pub breaches: BTreeMap<String, u64>,
    /// Calls with at least one breach.
    pub breached_calls: u64,
    /// Calls flagged `stop_before_start`.
    pub stop_before_start: u64,
    /// Calls that never started (a subset of `incomplete`).
    pub orphans: u64,
    /// Waits of answered calls.
    pub answer_wait: WaitHistogram,
    /// Waits of abandoned calls.
    pub abandon_wait: WaitHistogram,
}

/// What a tally needs of one verdict.
#[derive(Debug, Clone, Copy)]
pub struct TallyEntry<'v> {
    /// How the call left the wait.
    pub outcome: Outcome,
    /// The wait in milliseconds (rounded up), if it stopped.
    pub wait_ms: Option<i64>,
    /// The limit applied.
    pub limit_ms: i64,
    /// Rule ids broken.
    pub breaches: &'v [String],
    /// Data-quality marks.
    pub flags: &'v [Flag],
}

impl Tally {
    /// Counts one verdict.
    pub fn record(&mut self, entry: TallyEntry<'_>) {
        self.offered += 1;
        let wait_ms = entry.wait_ms.map(|wait| wait.max(0) as u64);
        match entry.outcome {
            Outcome::Answered => {
                self.answered += 1;
                if let Some(wait) = wait_ms {
                    self.answer_wait.record(wait);
                    if wait as i64 <= entry.limit_ms {
                        self.answered_within_limit += 1;
                    }
                }
            }
            Outcome::Abandoned => {
                self.abandoned += 1;
                if let Some(wait) = wait_ms {
                    self.abandon_wait.record(wait);
                    if wait as i64 > entry.limit_ms {
                        self.abandoned_after_limit += 1;
                    }
                }
            }
            Outcome::Callback => self.callback += 1,
            Outcome::Incomplete => self.incomplete += 1,
        }
        for rule in entry.breaches {
            *self.breaches.entry(rule.clone()).or_default() += 1;
        }
        if !entry.breaches.is_empty() {
            self.breached_calls += 1;
        }
        if entry.flags.contains(&Flag::StopBeforeStart) {
            self.stop_before_start += 1;
        }
        if entry.flags.contains(&Flag::Orphan) {
            self.orphans += 1;
        }
    }

    /// Adds another tally into this one.
    pub fn merge(&mut self, other: &Tally) {
        self.offered += other.offered;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.callback += other.callback;
        self.incomplete += other.incomplete;
        self.answered_within_limit += other.answered_within_limit;
        self.abandoned_after_limit += other.abandoned_after_limit;
        for (rule, count) in &other.breaches {
            *self.breaches.entry(rule.clone()).or_default() += count;
        }
        self.breached_calls += other.breached_calls;
        self.stop_before_start += other.stop_before_start;
        self.orphans += other.orphans;
        self.answer_wait.merge(&other.answer_wait);
        self.abandon_wait.merge(&other.abandon_wait);
    }

    /// `1 − breached_calls / (offered − incomplete)`; `None` when nothing was judged.
    pub fn compliance_ratio(&self) -> Option<f64> {
        let judged = self.offered - self.incomplete;
        if judged == 0 {
            return None;
        }
        Some(1.0 - (self.breached_calls as f64) / (judged as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_histograms_equal_one_histogram() {
        let waits: Vec<u64> = (0..5000).map(|i| (i * 7919) % 900_000).collect();
        let mut whole = WaitHistogram::new();
        let mut left = WaitHistogram::new();
        let mut right = WaitHistogram::new();
        for (index, wait) in waits.iter().enumerate() {
            whole.record(*wait);
            if index % 3 == 0 {
                left.record(*wait)
            } else {
                right.record(*wait)
            }
        }
        left.merge(&right);
        assert_eq!(left.quantiles(), whole.quantiles());
        assert_eq!(left.len(), 5000);
    }

    #[test]
    fn quantiles_have_three_significant_digits() {
        let mut histogram = WaitHistogram::new();
        for wait in 1..=100_000u64 {
            histogram.record(wait * 10);
        }
        let quantiles = histogram.quantiles();
        let p95 = quantiles.p95.unwrap() as f64;
        assert!((p95 - 950_000.0).abs() / 950_000.0 < 0.001, "{p95}");
        assert_eq!(quantiles.max, Some(1_000_000));
    }

    #[test]
    fn percentiles_never_exceed_the_exact_maximum() {
        let mut histogram = WaitHistogram::new();
        histogram.record(400_000);
        let quantiles = histogram.quantiles();
        assert_eq!(quantiles.p50, Some(400_000));
        assert_eq!(quantiles.p99, Some(400_000));
        assert_eq!(quantiles.max, Some(400_000));
    }

    #[test]
    fn empty_tally_has_no_ratio_and_no_quantiles() {
        let tally = Tally::default();
        assert_eq!(tally.compliance_ratio(), None);
        assert_eq!(tally.answer_wait.quantiles(), WaitQuantiles::default());
    }
}
