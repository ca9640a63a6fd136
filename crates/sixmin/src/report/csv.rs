//! The report as CSV, for the auditor's own analysis: the summary per tenant and topic
//! (the JSON report's rows and totals, column for column), and the figures of each day.
//!
//! Numbers are written exactly as in the JSON report (the same integers; ratios in the
//! same shortest round-trip form); an empty cell is JSON's `null`.

use std::collections::BTreeSet;

use sixmin_core::report::{ReportRow, WaitSummary};
use sixmin_core::PeriodReport;

/// Columns of the summary before the per-rule breach counts.
const COUNT_COLUMNS: [&str; 11] = [
    "tenant",
    "topic",
    "limit_ms",
    "offered",
    "answered",
    "abandoned",
    "callback",
    "incomplete",
    "answered_within_limit",
    "abandoned_after_limit",
    "breached_calls",
];

/// Quantile names of a wait summary, in column order.
const QUANTILES: [&str; 5] = ["p50", "p90", "p95", "p99", "max"];

fn quantiles(wait: &WaitSummary) -> [Option<u64>; 5] {
    [wait.p50, wait.p90, wait.p95, wait.p99, wait.max]
}

fn cell<T: ToString>(value: Option<T>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// A ratio exactly as the JSON report writes it.
fn ratio(value: Option<f64>) -> String {
    value
        .and_then(|value| serde_json::to_string(&value).ok())
        .unwrap_or_default()
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

fn finish(writer: csv::Writer<Vec<u8>>) -> Vec<u8> {
    // Writing into memory cannot fail.
    writer.into_inner().unwrap_or_default()
}

/// `summary-PERIOD.csv`: a header, one line per row of the report, then the totals
/// (tenant and topic `*`). One `breaches:RULE` column per rule broken in the period.
pub fn summary(report: &PeriodReport) -> Vec<u8> {
    let rules: BTreeSet<&String> = report
        .rows
        .iter()
        .chain([&report.totals])
        .flat_map(|row| row.breaches.keys())
        .collect();
    let mut header: Vec<String> = COUNT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    header.extend(rules.iter().map(|rule| format!("breaches:{rule}")));
    header.push("compliance_ratio".to_owned());
    for wait in ["answer_wait", "abandon_wait"] {
        header.extend(QUANTILES.iter().map(|q| format!("{wait}_{q}_ms")));
    }
    let mut out = writer();
    // Writing into memory cannot fail; errors would only be IO errors.
    out.write_record(&header).ok();
    for row in report.rows.iter().chain([&report.totals]) {
        out.write_record(summary_record(row, &rules)).ok();
    }
    finish(out)
}

fn summary_record(row: &ReportRow, rules: &BTreeSet<&String>) -> Vec<String> {
    let mut record = vec![
        row.tenant.clone(),
        row.topic.clone(),
        cell(row.limit_ms),
        row.offered.to_string(),
        row.answered.to_string(),
        row.abandoned.to_string(),
        row.callback.to_string(),
        row.incomplete.to_string(),
        row.answered_within_limit.to_string(),
        row.abandoned_after_limit.to_string(),
        row.breached_calls.to_string(),
    ];
    record.extend(
        rules
            .iter()
            .map(|rule| row.breaches.get(*rule).copied().unwrap_or(0).to_string()),
    );
    record.push(ratio(row.compliance_ratio));
    for wait in [&row.answer_wait_ms, &row.abandon_wait_ms] {
        record.extend(quantiles(wait).into_iter().map(cell));
    }
    record
}

/// `daily-PERIOD.csv`: for each day of the period (every day, with or without calls),
/// its totals (tenant and topic `*`) and then its rows: the day-by-day trend.
pub fn daily(days: &[PeriodReport]) -> Vec<u8> {
    let mut out = writer();
    out.write_record([
        "day",
        "tenant",
        "topic",
        "offered",
        "answered",
        "incomplete",
        "answered_within_limit",
        "breached_calls",
        "compliance_ratio",
        "answer_wait_p50_ms",
        "answer_wait_p95_ms",
        "answer_wait_max_ms",
    ])
    .ok();
    for day in days {
        for row in [&day.totals].into_iter().chain(&day.rows) {
            out.write_record([
                day.period.label.clone(),
                row.tenant.clone(),
                row.topic.clone(),
                row.offered.to_string(),
                row.answered.to_string(),
                row.incomplete.to_string(),
                row.answered_within_limit.to_string(),
                row.breached_calls.to_string(),
                ratio(row.compliance_ratio),
                cell(row.answer_wait_ms.p50),
                cell(row.answer_wait_ms.p95),
                cell(row.answer_wait_ms.max),
            ])
            .ok();
        }
    }
    finish(out)
}
