//! The period report of `outputs.md` §2: per tenant and topic, over a calendar month or day
//! in the pack's time zone, for the calls that started in it.
//!
//! Built from the per-day tallies of final verdicts plus the pending calls judged on what
//! has arrived so far (and counted as such), so that a report and the verdict counters
//! agree to the call.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::engine::Engine;
use crate::tally::{Tally, TallyEntry, WaitQuantiles};
use crate::time::{format_in_zone, start_of_local_day};
use crate::traffic::HourlyTraffic;

/// Tallies of one period per (tenant, topic).
pub type TalliesByRow = BTreeMap<(String, String), Tally>;

/// Today's and this month's tallies per (tenant, topic), for live views.
#[derive(Debug, Clone, Default)]
pub struct CalendarTallies {
    /// The engine clock's day in the pack's time zone.
    pub today: NaiveDate,
    /// Today, per (tenant, topic).
    pub day: TalliesByRow,
    /// This month, per (tenant, topic).
    pub month: TalliesByRow,
}

impl CalendarTallies {
    /// Adds another engine's tallies of the same day and month.
    pub fn merge(&mut self, other: &CalendarTallies) {
        for (mine, theirs) in [(&mut self.day, &other.day), (&mut self.month, &other.month)] {
            for (key, tally) in theirs {
                mine.entry(key.clone()).or_default().merge(tally);
            }
        }
    }
}

/// The schema id of the JSON report.
pub const REPORT_SCHEMA: &str = "sixmin.period-report/v1";

/// A calendar period in the pack's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// A calendar month.
    Month {
        /// The year.
        year: i32,
        /// The month, 1 to 12.
        month: u32,
    },
    /// A calendar day.
    Day(NaiveDate),
}

impl Period {
    /// Parses `YYYY-MM` as a month.
    pub fn parse_month(text: &str) -> Option<Period> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let month: u32 = month.parse().ok()?;
        NaiveDate::from_ymd_opt(year, month, 1)?;
        Some(Period::Month { year, month })
    }

    /// Parses `YYYY-MM-DD` as a day.
    pub fn parse_day(text: &str) -> Option<Period> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(Period::Day)
    }

    /// Each day of the period, as a period of its own, in order.
    pub fn days(self) -> impl Iterator<Item = Period> {
        let end = self.end_day();
        self.first_day()
            .iter_days()
            .take_while(move |day| *day < end)
            .map(Period::Day)
    }

    /// `month` or `day`.
    pub fn kind(&self) -> &'static str {
        match self {
            Period::Month { .. } => "month",
            Period::Day(_) => "day",
        }
    }

    /// `2026-10` or `2026-10-04`.
    pub fn label(&self) -> String {
        match self {
            Period::Month { year, month } => format!("{year:04}-{month:02}"),
            Period::Day(day) => day.format("%Y-%m-%d").to_string(),
        }
    }

    /// The first day of the period.
    pub fn first_day(&self) -> NaiveDate {
        match self {
            Period::Month { year, month } => {
                NaiveDate::from_ymd_opt(*year, *month, 1).unwrap_or_default()
            }
            Period::Day(day) => *day,
        }
    }

    /// The first day after the period.
    pub fn end_day(&self) -> NaiveDate {
        match self {
            Period::Month { year, month } => {
                let (year, month) = if *month == 12 {
                    (year + 1, 1)
                } else {
                    (*year, month + 1)
                };
                NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
            }
            Period::Day(day) => day.succ_opt().unwrap_or(*day),
        }
    }

    /// Whether `day` falls in the period.
    pub fn contains(&self, day: NaiveDate) -> bool {
        day >= self.first_day() && day < self.end_day()
    }
}

/// `period` of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodInfo {
    /// `month` or `day`.
    pub kind: String,
    /// `2026-10` or `2026-10-04`.
    pub label: String,
    /// The pack's time zone.
    pub timezone: String,
    /// Local midnight at the start, with its offset.
    pub start: String,
    /// Local midnight at the end (exclusive), with its offset.
    pub end: String,
}

/// `rule_pack` of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackInfo {
    /// The pack's name.
    pub name: String,
    /// The pack's version.
    pub version: String,
    /// SHA-256 of the pack's source.
    pub sha256: String,
}

/// `inputs` of the report: what the state was built from (all of it, not only this period).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputsInfo {
    /// Every event received (accepted, duplicate, late and invalid).
    pub events: u64,
    /// Events applied to their call.
    pub accepted_events: u64,
    /// Invalid events.
    pub invalid_events: u64,
    /// Invalid events by reason.
    pub invalid_by_reason: BTreeMap<String, u64>,
    /// Copies of events already seen.
    pub duplicates: u64,
    /// Events later than the allowed lateness.
    pub late_events: u64,
    /// The inputs: file SHA-256s (or offsets).
    pub sources: Vec<String>,
}

/// `data_quality` of the report, for the calls of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataQuality {
    /// Calls whose stop was stamped before their start.
    pub stop_before_start: u64,
    /// Calls with no stop ever seen (including orphans).
    pub incomplete: u64,
    /// Calls that never started.
    pub orphans: u64,
    /// Calls not yet final, judged on what has arrived so far.
    pub pending: u64,
    /// Hours of the period with no events at all while the same weekday and hour usually
    /// has traffic (see [`HourlyTraffic::gaps`]), consecutive hours joined.
    pub input_gaps: Vec<InputGapInfo>,
}

/// Consecutive hours without input, in the pack's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputGapInfo {
    /// The first silent hour's start, local time with offset.
    pub from: String,
    /// The end of the last silent hour, local time with offset.
    pub until: String,
    /// How many hours.
    pub hours: u32,
}

/// Quantiles of a wait distribution in milliseconds (`null` when there are no calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaitSummary {
    /// Median.
    pub p50: Option<u64>,
    /// 90th percentile.
    pub p90: Option<u64>,
    /// 95th percentile.
    pub p95: Option<u64>,
    /// 99th percentile.
    pub p99: Option<u64>,
    /// Maximum.
    pub max: Option<u64>,
}

impl From<WaitQuantiles> for WaitSummary {
    fn from(quantiles: WaitQuantiles) -> Self {
        WaitSummary {
            p50: quantiles.p50,
            p90: quantiles.p90,
            p95: quantiles.p95,
            p99: quantiles.p99,
            max: quantiles.max,
        }
    }
}

/// One row: a tenant and topic (or `*` for totals).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// The tenant, or `*`.
    pub tenant: String,
    /// The topic, or `*`.
    pub topic: String,
    /// The topic's limit; `null` in totals.
    pub limit_ms: Option<i64>,
    /// Calls started in the period.
    pub offered: u64,
    /// Answered by a human.
    pub answered: u64,
    /// Abandoned by the caller.
    pub abandoned: u64,
    /// Chose a callback.
    pub callback: u64,
    /// No stop ever seen.
    pub incomplete: u64,
    /// Answered within the limit.
    pub answered_within_limit: u64,
    /// Abandoned after the limit.
    pub abandoned_after_limit: u64,
    /// Breaches per rule id.
    pub breaches: BTreeMap<String, u64>,
    /// Calls with at least one breach.
    pub breached_calls: u64,
    /// `1 − breached_calls / (offered − incomplete)`.
    pub compliance_ratio: Option<f64>,
    /// Waits of answered calls.
    pub answer_wait_ms: WaitSummary,
    /// Waits of abandoned calls.
    pub abandon_wait_ms: WaitSummary,
}

impl ReportRow {
    fn from_tally(tenant: &str, topic: &str, limit_ms: Option<i64>, tally: &Tally) -> Self {
        ReportRow {
            tenant: tenant.to_owned(),
            topic: topic.to_owned(),
            limit_ms,
            offered: tally.offered,
            answered: tally.answered,
            abandoned: tally.abandoned,
            callback: tally.callback,
            incomplete: tally.incomplete,
            answered_within_limit: tally.answered_within_limit,
            abandoned_after_limit: tally.abandoned_after_limit,
            breaches: tally.breaches.clone(),
            breached_calls: tally.breached_calls,
            compliance_ratio: tally.compliance_ratio(),
            answer_wait_ms: tally.answer_wait.quantiles().into(),
            abandon_wait_ms: tally.abandon_wait.quantiles().into(),
        }
    }
}

/// The period report (`sixmin.period-report/v1`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodReport {
    /// Always [`REPORT_SCHEMA`].
    pub report: String,
    /// The period covered.
    pub period: PeriodInfo,
    /// The pack that judged the calls.
    pub rule_pack: PackInfo,
    /// When the report was made (RFC 3339, UTC).
    pub generated_at: String,
    /// The inputs of the state.
    pub inputs: InputsInfo,
    /// Data-quality counts of the period's calls.
    pub data_quality: DataQuality,
    /// Per tenant and topic, sorted by tenant then topic.
    pub rows: Vec<ReportRow>,
    /// Over all rows, from merged histograms.
    pub totals: ReportRow,
}

impl PeriodReport {
    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

impl Engine {
    /// The report of `period`: final verdicts plus pending calls judged so far.
    pub fn period_report(
        &self,
        period: Period,
        generated_at: String,
        sources: Vec<String>,
    ) -> PeriodReport {
        let (per_row, pending) = self.period_tallies(period);
        self.report_from_tallies(
            period,
            generated_at,
            sources,
            (&per_row, pending),
            &self.counters,
            &self.traffic,
        )
    }

    /// One report over several engines judging by the same pack (the partitions of a
    /// topic, each with its own engine): their tallies, pending calls and input counts
    /// added together. `None` when `engines` is empty or their packs differ.
    pub fn merged_period_report(
        engines: &[&Engine],
        period: Period,
        generated_at: String,
        sources: Vec<String>,
    ) -> Option<PeriodReport> {
        let first = engines.first()?;
        if engines
            .iter()
            .any(|engine| engine.pack.sha256 != first.pack.sha256)
        {
            return None;
        }
        let mut per_row = TalliesByRow::new();
        let mut pending = 0;
        let mut counters = crate::engine::InputCounters::default();
        let mut traffic = HourlyTraffic::default();
        for engine in engines {
            traffic.merge(&engine.traffic);
            let (rows, engine_pending) = engine.period_tallies(period);
            for (key, tally) in rows {
                per_row.entry(key).or_default().merge(&tally);
            }
            pending += engine_pending;
            counters.add(&engine.counters);
        }
        Some(first.report_from_tallies(
            period,
            generated_at,
            sources,
            (&per_row, pending),
            &counters,
            &traffic,
        ))
    }

    /// The tallies of `period` per (tenant, topic): final verdicts plus pending calls
    /// judged so far, and how many calls were pending.
    pub fn period_tallies(&self, period: Period) -> (TalliesByRow, u64) {
        self.tallies_of_periods(&[period]).pop().unwrap_or_default()
    }

    /// The tallies of today and of this month (the engine clock's day and month in the
    /// pack's time zone), judging the pending calls once for both. `None` before any
    /// event.
    pub fn calendar_tallies(&self) -> Option<CalendarTallies> {
        let today = crate::time::local_date(self.clock?, self.pack.timezone);
        self.calendar_tallies_on(today)
    }

    /// The tallies of `today` and of its month, judging the pending calls once for both
    /// (for several engines shown together, which share one "today").
    pub fn calendar_tallies_on(&self, today: NaiveDate) -> Option<CalendarTallies> {
        let month = Period::Month {
            year: today.year(),
            month: today.month(),
        };
        let mut both = self.tallies_of_periods(&[Period::Day(today), month]);
        let (month, _) = both.pop()?;
        let (day, _) = both.pop()?;
        Some(CalendarTallies { today, day, month })
    }

    /// Tallies per (tenant, topic) of several periods, with their pending counts, in one
    /// pass over the final tallies and one judgement of the pending calls.
    fn tallies_of_periods(&self, periods: &[Period]) -> Vec<(TalliesByRow, u64)> {
        let mut results: Vec<(TalliesByRow, u64)> =
            periods.iter().map(|_| Default::default()).collect();
        for (day, tenant, topic, tally) in self.tallies() {
            for (period, (per_row, _)) in periods.iter().zip(results.iter_mut()) {
                if period.contains(day) {
                    per_row
                        .entry((tenant.to_owned(), topic.to_owned()))
                        .or_default()
                        .merge(tally);
                }
            }
        }
        for (day, tenant, topic, entry) in self.pending_entries() {
            let breaches: Vec<&str> = entry.breaches.iter().map(String::as_str).collect();
            for (period, (per_row, pending)) in periods.iter().zip(results.iter_mut()) {
                if !period.contains(day) {
                    continue;
                }
                *pending += 1;
                per_row
                    .entry((tenant.clone(), topic.clone()))
                    .or_default()
                    .record(TallyEntry {
                        outcome: entry.outcome,
                        wait_ms: entry.wait_ms,
                        limit_ms: entry.limit_ms,
                        breaches: &breaches,
                        flags: &entry.flags,
                        week_hour: Some(entry.week_hour),
                        queue: &entry.queue,
                    });
            }
        }
        results
    }

    fn report_from_tallies(
        &self,
        period: Period,
        generated_at: String,
        sources: Vec<String>,
        (per_row, pending): (&TalliesByRow, u64),
        counters: &crate::engine::InputCounters,
        traffic: &HourlyTraffic,
    ) -> PeriodReport {
        let mut totals = Tally::default();
        let mut rows = Vec::with_capacity(per_row.len());
        for ((tenant, topic), tally) in per_row {
            totals.merge(tally);
            let limit_ms = self.pack.judge_topic(Some(topic)).limit_ms;
            rows.push(ReportRow::from_tally(tenant, topic, Some(limit_ms), tally));
        }
        let zone = self.pack.timezone;
        let (from, until) = (
            start_of_local_day(period.first_day(), zone),
            start_of_local_day(period.end_day(), zone),
        );
        let input_gaps = traffic
            .gaps(zone, from, until)
            .into_iter()
            .map(|gap| InputGapInfo {
                from: format_in_zone(gap.from, zone),
                until: format_in_zone(gap.until, zone),
                hours: gap.hours,
            })
            .collect();
        PeriodReport {
            report: REPORT_SCHEMA.to_owned(),
            period: PeriodInfo {
                kind: period.kind().to_owned(),
                label: period.label(),
                timezone: zone.name().to_owned(),
                start: format_in_zone(from, zone),
                end: format_in_zone(until, zone),
            },
            rule_pack: PackInfo {
                name: self.pack.name.clone(),
                version: self.pack.version.clone(),
                sha256: self.pack.sha256.clone(),
            },
            generated_at,
            inputs: InputsInfo {
                events: counters.received(),
                accepted_events: counters.accepted,
                invalid_events: counters.invalid_total(),
                invalid_by_reason: counters.invalid.clone(),
                duplicates: counters.duplicates,
                late_events: counters.late,
                sources,
            },
            data_quality: DataQuality {
                stop_before_start: totals.stop_before_start,
                incomplete: totals.incomplete,
                orphans: totals.orphans,
                pending,
                input_gaps,
            },
            rows,
            totals: ReportRow::from_tally("*", "*", None, &totals),
        }
    }

    /// Months (`YYYY-MM`) that have calls, final or pending, in order.
    pub fn months_with_calls(&self) -> Vec<String> {
        let mut months: Vec<String> = self
            .tallies()
            .map(|(day, ..)| format!("{:04}-{:02}", day.year(), day.month()))
            .chain(
                self.pending_entries()
                    .into_iter()
                    .map(|(day, ..)| format!("{:04}-{:02}", day.year(), day.month())),
            )
            .collect();
        months.sort();
        months.dedup();
        months
    }
}
