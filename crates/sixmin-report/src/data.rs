//! Everything the files of one report are written from, gathered once: the period
//! report, the report of each of its days, the breached calls and the breach heat map.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use sixmin_core::tally::WeekHour;
use sixmin_core::{BreachedCall, Engine, Period, PeriodReport, Tally};

use crate::ReportError;

/// The period report over several engines (a state, or each partition's checkpoint).
pub fn merged_report(
    engines: &[&Engine],
    period: Period,
    generated_at: &str,
    sources: &[String],
) -> Result<PeriodReport, ReportError> {
    Engine::merged_period_report(engines, period, generated_at.to_owned(), sources.to_vec())
        .ok_or(ReportError::MixedPacks)
}

/// What the human formats say beyond the report itself.
pub struct Provenance<'a> {
    /// The product version that wrote the file.
    pub product_version: &'a str,
    /// SHA-256 of the JSON report of the same call.
    pub report_sha256: &'a str,
}

/// The content of a report, in every format.
pub struct ReportData {
    /// The period report (`outputs.md` §2): the source of every number.
    pub report: PeriodReport,
    /// The period report of each day of the period, in order.
    pub days: Vec<PeriodReport>,
    /// The period's breached calls, in ledger order (start, then call id).
    pub breached: Vec<BreachedCall>,
    /// The period's tallies of all tenants and topics together (heat map, queues).
    pub totals: Tally,
    /// The pack's time zone.
    pub zone: Tz,
    /// The pack's compliance target (an internal alerting target, not a legal limit).
    pub target_ratio: f64,
}

impl ReportData {
    /// Gathers the report of `period` over `engines` (one per state or partition).
    pub fn gather(
        engines: &[&Engine],
        period: Period,
        generated_at: &str,
        sources: &[String],
    ) -> Result<ReportData, ReportError> {
        let report_of = |period| merged_report(engines, period, generated_at, sources);
        let report = report_of(period)?;
        let days = period.days().map(report_of).collect::<Result<_, _>>()?;
        let mut totals = Tally::default();
        for engine in engines {
            for tally in engine.period_tallies(period).0.values() {
                totals.merge(tally);
            }
        }
        let zone = engines
            .first()
            .map_or(chrono_tz::UTC, |engine| engine.pack().timezone);
        let target_ratio = engines
            .first()
            .map_or(1.0, |engine| engine.pack().target_ratio);
        Ok(ReportData {
            report,
            days,
            breached: Engine::merged_breached_calls(engines, period),
            totals,
            zone,
            target_ratio,
        })
    }

    /// Breached calls per local weekday and hour of their start.
    pub fn heat_map(&self) -> &BTreeMap<WeekHour, u64> {
        &self.totals.breached_by_hour
    }

    /// Queues by breached calls, most first (ties by name).
    pub fn worst_queues(&self) -> Vec<(&str, u64)> {
        let mut queues: Vec<(&str, u64)> = self
            .totals
            .breached_by_queue
            .iter()
            .map(|(queue, calls)| (queue.as_str(), *calls))
            .collect();
        queues.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        queues
    }

    /// Days by breached calls, most first (ties by date); days without breaches left out.
    pub fn worst_days(&self) -> Vec<&PeriodReport> {
        let mut days: Vec<&PeriodReport> = self
            .days
            .iter()
            .filter(|day| day.totals.breached_calls > 0)
            .collect();
        days.sort_by(|a, b| {
            b.totals
                .breached_calls
                .cmp(&a.totals.breached_calls)
                .then(a.period.label.cmp(&b.period.label))
        });
        days
    }

    /// The businesses (tenants) of the period's rows, in order, comma-separated.
    pub fn tenants(&self) -> String {
        let mut names: Vec<&str> = self
            .report
            .rows
            .iter()
            .map(|row| row.tenant.as_str())
            .collect();
        names.dedup();
        names.join(", ")
    }

    /// Whether every breached call counted has its record (states written before the
    /// ledger was kept have counts but no records).
    pub fn ledger_is_complete(&self) -> bool {
        self.breached.len() as u64 == self.report.totals.breached_calls
    }
}
