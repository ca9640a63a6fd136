//! Exact counters and wait histograms of final verdicts, per day, tenant and topic.
//!
//! A month is the merge of its days (histograms are added, never averaged), so every
//! period the report covers is built from the same per-day tallies.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hdrhistogram::Histogram;
use rustc_hash::FxHashMap;

use crate::symbols::Sym;

use crate::verdict::{Flag, Outcome};

/// Significant digits of every wait histogram.
pub const HISTOGRAM_SIGFIG: u8 = 3;

/// A wait distribution in milliseconds: an HdrHistogram (3 significant digits) plus the
/// exact maximum.
///
/// A day of one topic often has a few hundred calls, and a histogram of that precision
/// over hours of range is ~100 KB of counters. So the waits are kept as a plain list until
/// there are [`SPARSE_LIMIT`] of them, and only then moved into a histogram. Quantiles are
/// always read from an HdrHistogram built from the same values, so the representation
/// never changes a number.
#[derive(Debug, Clone)]
pub struct WaitHistogram {
    storage: Storage,
    max_ms: Option<u64>,
    /// The exact sum of the waits (for averages and Prometheus summaries).
    sum_ms: u128,
}

#[derive(Debug, Clone)]
enum Storage {
    Sparse(Vec<u64>),
    Dense(Box<Histogram<u64>>),
}

/// How many waits a distribution keeps as a list before it becomes a histogram.
pub const SPARSE_LIMIT: usize = 4096;

impl Default for WaitHistogram {
    fn default() -> Self {
        WaitHistogram::new()
    }
}

impl PartialEq for WaitHistogram {
    fn eq(&self, other: &Self) -> bool {
        self.max_ms == other.max_ms
            && self.sum_ms == other.sum_ms
            && *self.histogram() == *other.histogram()
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
    /// An empty distribution.
    pub fn new() -> Self {
        WaitHistogram {
            storage: Storage::Sparse(Vec::new()),
            max_ms: None,
            sum_ms: 0,
        }
    }

    /// Rebuilds a distribution from a histogram (snapshots). Small ones go back to the
    /// list form: each bucket's value is recorded as many times as it was counted, which
    /// rebuilds exactly the same histogram.
    pub fn from_parts(histogram: Histogram<u64>, max_ms: Option<u64>, sum_ms: u128) -> Self {
        let storage = if histogram.len() as usize <= SPARSE_LIMIT {
            let mut waits = Vec::with_capacity(histogram.len() as usize);
            for bucket in histogram.iter_recorded() {
                for _ in 0..bucket.count_at_value() {
                    waits.push(bucket.value_iterated_to());
                }
            }
            Storage::Sparse(waits)
        } else {
            Storage::Dense(Box::new(histogram))
        };
        WaitHistogram {
            storage,
            max_ms,
            sum_ms,
        }
    }

    /// The distribution as an HdrHistogram (built on demand from the list form).
    pub fn histogram(&self) -> std::borrow::Cow<'_, Histogram<u64>> {
        match &self.storage {
            Storage::Dense(histogram) => std::borrow::Cow::Borrowed(histogram),
            Storage::Sparse(waits) => {
                let mut histogram = new_histogram();
                for wait in waits {
                    record_into(&mut histogram, *wait, 1);
                }
                std::borrow::Cow::Owned(histogram)
            }
        }
    }

    /// The exact largest wait recorded.
    pub fn max_ms(&self) -> Option<u64> {
        self.max_ms
    }

    /// The exact sum of the waits recorded, in milliseconds.
    pub fn sum_ms(&self) -> u128 {
        self.sum_ms
    }

    /// Records one wait.
    pub fn record(&mut self, wait_ms: u64) {
        self.sum_ms += u128::from(wait_ms);
        self.max_ms = Some(self.max_ms.map_or(wait_ms, |max| max.max(wait_ms)));
        match &mut self.storage {
            Storage::Dense(histogram) => record_into(histogram, wait_ms, 1),
            Storage::Sparse(waits) => {
                waits.push(wait_ms);
                if waits.len() > SPARSE_LIMIT {
                    self.densify();
                }
            }
        }
    }

    fn densify(&mut self) {
        if let Storage::Sparse(_) = self.storage {
            let histogram = self.histogram().into_owned();
            self.storage = Storage::Dense(Box::new(histogram));
        }
    }

    /// Adds another distribution into this one.
    pub fn merge(&mut self, other: &WaitHistogram) {
        self.sum_ms += other.sum_ms;
        self.max_ms = match (self.max_ms, other.max_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        match (&mut self.storage, &other.storage) {
            (Storage::Sparse(mine), Storage::Sparse(theirs))
                if mine.len() + theirs.len() <= SPARSE_LIMIT =>
            {
                mine.extend_from_slice(theirs);
                return;
            }
            _ => {}
        }
        self.densify();
        let Storage::Dense(histogram) = &mut self.storage else {
            return;
        };
        match &other.storage {
            Storage::Sparse(waits) => {
                for wait in waits {
                    record_into(histogram, *wait, 1);
                }
            }
            Storage::Dense(theirs) => {
                // Both auto-resize, so adding cannot run out of range; if it ever did,
                // the values are recorded one bucket at a time instead.
                if histogram.add(&**theirs).is_err() {
                    for bucket in theirs.iter_recorded() {
                        let (wait, count) = (bucket.value_iterated_to(), bucket.count_at_value());
                        record_into(histogram, wait, count);
                    }
                }
            }
        }
    }

    /// Number of waits recorded.
    pub fn len(&self) -> u64 {
        match &self.storage {
            Storage::Sparse(waits) => waits.len() as u64,
            Storage::Dense(histogram) => histogram.len(),
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// p50, p90, p95, p99 from the histogram, and the exact maximum.
    ///
    /// HdrHistogram answers with the highest value equivalent to the quantile (within 3
    /// significant digits); that is capped at the exact maximum, so no percentile is ever
    /// reported above the longest wait actually seen.
    pub fn quantiles(&self) -> WaitQuantiles {
        if self.is_empty() {
            return WaitQuantiles::default();
        }
        let histogram = self.histogram();
        let cap = self.max_ms.unwrap_or(u64::MAX);
        let at = |quantile: f64| Some(histogram.value_at_quantile(quantile).min(cap));
        WaitQuantiles {
            p50: at(0.50),
            p90: at(0.90),
            p95: at(0.95),
            p99: at(0.99),
            max: self.max_ms,
        }
    }
}

/// Records into an auto-resizing histogram; saturates only if it cannot grow.
fn record_into(histogram: &mut Histogram<u64>, wait_ms: u64, count: u64) {
    if histogram.record_n(wait_ms, count).is_err() {
        histogram.saturating_record_n(wait_ms, count);
    }
}

/// The range a wait histogram starts with: two hours in milliseconds. Longer waits still
/// count (the histogram grows), but the usual ones never make it reallocate.
const INITIAL_HIGHEST_MS: u64 = 2 * 3_600_000;

fn new_histogram() -> Histogram<u64> {
    // Valid bounds and precision, so construction cannot fail.
    let mut histogram = Histogram::new_with_bounds(1, INITIAL_HIGHEST_MS, HISTOGRAM_SIGFIG)
        .unwrap_or_else(|_| unreachable!());
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
    /// Breached calls by the local weekday and hour of the instant they are attributed to
    /// (their start): the hour × weekday heat map of the dashboards and reports.
    pub breached_by_hour: BTreeMap<WeekHour, u64>,
    /// Breached calls by the queue they were last in (`none` when never queued): the
    /// worst queues of the dashboards and reports.
    pub breached_by_queue: BTreeMap<String, u64>,
}

/// A local weekday and hour of the day, in the pack's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WeekHour {
    /// Days since Sunday (0 = Sunday … 6 = Saturday), the Israeli week.
    pub weekday: u8,
    /// Hour of the day, 0–23. On the day clocks go back, both local 01:00 hours are 1.
    pub hour: u8,
}

impl WeekHour {
    /// Short English names of the weekdays, Sunday first.
    pub const WEEKDAY_NAMES: [&'static str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    /// The weekday's short English name (`sun` … `sat`).
    pub fn weekday_name(self) -> &'static str {
        Self::WEEKDAY_NAMES
            .get(usize::from(self.weekday))
            .copied()
            .unwrap_or("?")
    }
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
    pub breaches: &'v [&'v str],
    /// Data-quality marks.
    pub flags: &'v [Flag],
    /// Local weekday and hour of the call's start; needed only when it breached.
    pub week_hour: Option<WeekHour>,
    /// The queue the call was last in (`none` when never queued).
    pub queue: &'v str,
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
        if !entry.breaches.is_empty() {
            self.record_breaches(&entry);
        }
        if !entry.flags.is_empty() {
            self.record_flags(entry.flags);
        }
    }

    /// The counts of a breached call (out of line: most calls have none).
    #[inline(never)]
    fn record_breaches(&mut self, entry: &TallyEntry<'_>) {
        for rule in entry.breaches {
            match self.breaches.get_mut(*rule) {
                Some(count) => *count += 1,
                None => {
                    self.breaches.insert((*rule).to_owned(), 1);
                }
            }
        }
        self.breached_calls += 1;
        if let Some(week_hour) = entry.week_hour {
            *self.breached_by_hour.entry(week_hour).or_default() += 1;
        }
        match self.breached_by_queue.get_mut(entry.queue) {
            Some(calls) => *calls += 1,
            None => {
                self.breached_by_queue.insert(entry.queue.to_owned(), 1);
            }
        }
    }

    /// The counts of a call's data-quality marks (out of line: most calls have none).
    #[inline(never)]
    fn record_flags(&mut self, flags: &[Flag]) {
        if flags.contains(&Flag::StopBeforeStart) {
            self.stop_before_start += 1;
        }
        if flags.contains(&Flag::Orphan) {
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
        for (week_hour, calls) in &other.breached_by_hour {
            *self.breached_by_hour.entry(*week_hour).or_default() += calls;
        }
        for (queue, calls) in &other.breached_by_queue {
            *self.breached_by_queue.entry(queue.clone()).or_default() += calls;
        }
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
    fn day_tallies_are_found_again_and_listed_in_key_order() {
        let mut symbols = crate::symbols::Symbols::default();
        let (acme, globex) = (symbols.intern("acme"), symbols.intern("globex"));
        let topic = symbols.intern("billing");
        let day = |d| NaiveDate::from_ymd_opt(2026, 10, d).expect("a day");
        let mut tallies = DayTallies::default();
        for key in [
            (day(2), globex, topic),
            (day(1), acme, topic),
            (day(2), acme, topic),
        ] {
            tallies.entry(key).offered += 1;
        }
        tallies.entry((day(2), globex, topic)).offered += 1;
        tallies.insert(
            (day(1), acme, topic),
            Tally {
                answered: 5,
                ..Tally::default()
            },
        );
        let listed: Vec<(TallyKey, u64, u64)> = tallies
            .in_order()
            .into_iter()
            .map(|(key, tally)| (*key, tally.offered, tally.answered))
            .collect();
        assert_eq!(
            listed,
            [
                ((day(1), acme, topic), 0, 5),
                ((day(2), acme, topic), 1, 0),
                ((day(2), globex, topic), 2, 0),
            ]
        );
        assert_eq!(tallies.len(), 3);
    }

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
    fn list_and_histogram_forms_give_the_same_quantiles() {
        let waits: Vec<u64> = (0..(SPARSE_LIMIT as u64 * 3))
            .map(|i| (i * 104_729) % 1_500_000)
            .collect();
        let mut direct = new_histogram();
        let mut distribution = WaitHistogram::new();
        for (index, wait) in waits.iter().enumerate() {
            record_into(&mut direct, *wait, 1);
            distribution.record(*wait);
            if index % 997 == 0 {
                assert_eq!(*distribution.histogram(), direct, "after {index} waits");
            }
        }
        assert!(matches!(distribution.storage, Storage::Dense(_)));
        let rebuilt =
            WaitHistogram::from_parts(direct.clone(), distribution.max_ms(), distribution.sum_ms());
        assert_eq!(rebuilt, distribution);
        let small = WaitHistogram::from_parts(
            WaitHistogram::from_iter_for_test(&waits[..100])
                .histogram()
                .into_owned(),
            Some(1),
            0,
        );
        assert!(matches!(small.storage, Storage::Sparse(_)));
        assert_eq!(
            *small.histogram(),
            *WaitHistogram::from_iter_for_test(&waits[..100]).histogram()
        );
    }

    impl WaitHistogram {
        fn from_iter_for_test(waits: &[u64]) -> Self {
            let mut distribution = WaitHistogram::new();
            for wait in waits {
                distribution.record(*wait);
            }
            distribution
        }
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

/// Key of a per-day tally: local day of the call's start, tenant, judged topic.
pub(crate) type TallyKey = (NaiveDate, Sym, Sym);

/// The per-day tallies: found by hashing their key when a call is judged (once per call),
/// listed in key order when read.
#[derive(Debug, Clone, Default)]
pub(crate) struct DayTallies {
    index: FxHashMap<TallyKey, usize>,
    entries: Vec<(TallyKey, Tally)>,
}

impl DayTallies {
    /// The tally of `key`, empty on first use.
    pub fn entry(&mut self, key: TallyKey) -> &mut Tally {
        let entries = &mut self.entries;
        let at = *self.index.entry(key).or_insert_with(|| {
            entries.push((key, Tally::default()));
            entries.len() - 1
        });
        &mut self.entries[at].1
    }

    /// Sets the tally of `key` (restoring a snapshot).
    pub fn insert(&mut self, key: TallyKey, tally: Tally) {
        *self.entry(key) = tally;
    }

    /// How many tallies there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every tally, in key order.
    pub fn in_order(&self) -> Vec<&(TallyKey, Tally)> {
        let mut entries: Vec<&(TallyKey, Tally)> = self.entries.iter().collect();
        entries.sort_by_key(|(key, _)| *key);
        entries
    }
}
