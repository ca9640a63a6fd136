//! The report as CSV, for the auditor's own analysis: the summary per tenant and topic
//! (the JSON report's rows and totals, column for column), and the figures of each day.
//!
//! Numbers are written exactly as in the JSON report (the same integers; ratios in the
//! same shortest round-trip form); an empty cell is JSON's `null`.

use std::collections::BTreeSet;

use chrono_tz::Tz;
use sixmin_core::report::{ReportRow, WaitSummary};
use sixmin_core::time::format_in_zone;
use sixmin_core::{BreachedCall, PeriodReport};

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
    let (rules, header) = summary_header(report);
    let mut out = writer();
    // Writing into memory cannot fail; errors would only be IO errors.
    out.write_record(&header).ok();
    for row in report.rows.iter().chain([&report.totals]) {
        out.write_record(summary_record(row, &rules)).ok();
    }
    finish(out)
}

/// The rules broken in the period, in order, and the summary's header: the count
/// columns, one `breaches:RULE` column per rule, the ratio and the wait quantiles.
pub fn summary_header(report: &PeriodReport) -> (Vec<String>, Vec<String>) {
    let rules: BTreeSet<&String> = report
        .rows
        .iter()
        .chain([&report.totals])
        .flat_map(|row| row.breaches.keys())
        .collect();
    let rules: Vec<String> = rules.into_iter().cloned().collect();
    let mut header: Vec<String> = COUNT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    header.extend(rules.iter().map(|rule| format!("breaches:{rule}")));
    header.push("compliance_ratio".to_owned());
    for wait in ["answer_wait", "abandon_wait"] {
        header.extend(QUANTILES.iter().map(|q| format!("{wait}_{q}_ms")));
    }
    (rules, header)
}

fn summary_record(row: &ReportRow, rules: &[String]) -> Vec<String> {
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
            .map(|rule| row.breaches.get(rule).copied().unwrap_or(0).to_string()),
    );
    record.push(ratio(row.compliance_ratio));
    for wait in [&row.answer_wait_ms, &row.abandon_wait_ms] {
        record.extend(quantiles(wait).into_iter().map(cell));
    }
    record
}

/// Columns of the day-by-day figures.
pub const DAILY_COLUMNS: [&str; 12] = [
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
];

/// `daily-PERIOD.csv`: for each day of the period (every day, with or without calls),
/// its totals (tenant and topic `*`) and then its rows: the day-by-day trend.
pub fn daily(days: &[PeriodReport]) -> Vec<u8> {
    let mut out = writer();
    out.write_record(DAILY_COLUMNS).ok();
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

/// Columns of the ledger of breached calls.
pub const LEDGER_COLUMNS: [&str; 13] = [
    "call_id",
    "started_at",
    "tenant",
    "topic",
    "queue",
    "outcome",
    "wait_ms",
    "limit_ms",
    "over_limit_ms",
    "breaches",
    "events",
    "flags",
    "pending",
];

/// One breached call as the ledger's cells: the start in the pack's local time with its
/// offset, rules separated by `;`, the evidence event ids as a JSON array (ids may hold
/// any character), flags separated by `;`, `pending` true for a call not yet final.
pub fn ledger_record(call: &BreachedCall, zone: Tz) -> [String; 13] {
    [
        call.call_id.clone(),
        call.started_at
            .map(|at| format_in_zone(at, zone))
            .unwrap_or_default(),
        call.tenant.clone(),
        call.topic.clone(),
        call.queue.clone().unwrap_or_default(),
        call.outcome.as_str().to_owned(),
        cell(call.wait_ms),
        call.limit_ms.to_string(),
        cell(call.wait_ms.map(|wait| wait - call.limit_ms)),
        call.breaches.join(";"),
        serde_json::to_string(&call.events).unwrap_or_default(),
        call.flags
            .iter()
            .map(|flag| flag.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        call.pending.to_string(),
    ]
}

/// `breached-calls-PERIOD.csv`: a header, then exactly one line per breached call of the
/// period, in ledger order (start, then call id).
pub fn ledger(calls: &[BreachedCall], zone: Tz) -> Vec<u8> {
    let mut out = writer();
    out.write_record(LEDGER_COLUMNS).ok();
    for call in calls {
        out.write_record(ledger_record(call, zone)).ok();
    }
    finish(out)
}

/// The data-quality figures as (section, item, value) lines: the inputs, the calls of the
/// period, and each input gap.
pub fn data_quality_lines(report: &PeriodReport) -> Vec<[String; 3]> {
    let inputs = &report.inputs;
    let quality = &report.data_quality;
    let mut lines: Vec<[String; 3]> = Vec::new();
    let mut line = |section: &str, item: &str, value: String| {
        lines.push([section.to_owned(), item.to_owned(), value]);
    };
    line("inputs", "events", inputs.events.to_string());
    line(
        "inputs",
        "accepted_events",
        inputs.accepted_events.to_string(),
    );
    line(
        "inputs",
        "invalid_events",
        inputs.invalid_events.to_string(),
    );
    for (reason, count) in &inputs.invalid_by_reason {
        line("invalid_by_reason", reason, count.to_string());
    }
    line("inputs", "duplicates", inputs.duplicates.to_string());
    line("inputs", "late_events", inputs.late_events.to_string());
    line(
        "calls",
        "stop_before_start",
        quality.stop_before_start.to_string(),
    );
    line("calls", "incomplete", quality.incomplete.to_string());
    line("calls", "orphans", quality.orphans.to_string());
    line("calls", "pending", quality.pending.to_string());
    line("input_gaps", "count", quality.input_gaps.len().to_string());
    for gap in &quality.input_gaps {
        line(
            "input_gap",
            &format!("{} – {}", gap.from, gap.until),
            gap.hours.to_string(),
        );
    }
    lines
}

/// `data-quality-PERIOD.csv`: `section,item,value` lines of [`data_quality_lines`].
pub fn data_quality(report: &PeriodReport) -> Vec<u8> {
    let mut out = writer();
    out.write_record(["section", "item", "value"]).ok();
    for record in data_quality_lines(report) {
        out.write_record(record).ok();
    }
    finish(out)
}
