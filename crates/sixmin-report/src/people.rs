//! The report's content for people, in one language: every number, date and word of the
//! PDF and HTML reports as final text, taken from the gathered report data. Both formats
//! lay out this one document, so they cannot disagree with each other or with the JSON.

use chrono::TimeZone;
use serde_json::{json, Value};
use sixmin_core::report::ReportRow;
use sixmin_core::tally::WeekHour;

use super::csv::summary_header;
use super::data::{Provenance, ReportData};
use super::labels::Lang;

/// How many breached calls the PDF and HTML list; the complete ledger is in the CSV and
/// XLSX.
pub const LEDGER_ROWS: usize = 200;

/// A count as the reports write it: plain digits, so a reader's search finds the JSON's.
fn count(value: u64) -> String {
    value.to_string()
}

/// A ratio as a percentage with two decimals; `–` when there is none.
pub fn percent(ratio: Option<f64>) -> String {
    ratio.map_or("–".to_owned(), |ratio| format!("{:.2}%", ratio * 100.0))
}

/// Milliseconds as seconds with one decimal; `–` when there are none.
pub fn seconds(ms: Option<u64>) -> String {
    ms.map_or("–".to_owned(), |ms| format!("{:.1}", ms as f64 / 1000.0))
}

/// The summary columns of the PDF, in order: (label key, cell of a row).
type Column = (&'static str, fn(&ReportRow) -> String);

const SUMMARY_COLUMNS: [Column; 15] = [
    ("topic", |row| row.topic.clone()),
    ("limit", |row| {
        row.limit_ms
            .map_or("–".to_owned(), |ms| seconds(Some(ms as u64)))
    }),
    ("offered", |row| count(row.offered)),
    ("answered", |row| count(row.answered)),
    ("abandoned", |row| count(row.abandoned)),
    ("callback", |row| count(row.callback)),
    ("incomplete", |row| count(row.incomplete)),
    ("within", |row| count(row.answered_within_limit)),
    ("breached", |row| count(row.breached_calls)),
    ("compliance", |row| percent(row.compliance_ratio)),
    ("wait_p50", |row| seconds(row.answer_wait_ms.p50)),
    ("wait_p90", |row| seconds(row.answer_wait_ms.p90)),
    ("wait_p95", |row| seconds(row.answer_wait_ms.p95)),
    ("wait_p99", |row| seconds(row.answer_wait_ms.p99)),
    ("wait_max", |row| seconds(row.answer_wait_ms.max)),
];

/// The content of the report in `lang`.
pub fn content(data: &ReportData, lang: Lang, provenance: &Provenance<'_>) -> Value {
    let report = &data.report;
    let zone = data.zone;
    let label = |key| lang.label(key);
    let local = |nanos: i64| lang.date_time(&zone.timestamp_nanos(nanos));
    let several_tenants = report
        .rows
        .windows(2)
        .any(|pair| pair[0].tenant != pair[1].tenant);
    let mut header: Vec<&str> = Vec::new();
    if several_tenants {
        header.push(label("tenant"));
    }
    // The target column follows the compliance column.
    let target_at = SUMMARY_COLUMNS
        .iter()
        .position(|(key, _)| *key == "compliance")
        .map_or(0, |at| at + 1);
    let target_header = format!("{} {}", label("target"), percent(Some(data.target_ratio)));
    for (at, (key, _)) in SUMMARY_COLUMNS.iter().enumerate() {
        if at == target_at {
            header.push(&target_header);
        }
        header.push(label(key));
    }
    let cells = |row: &ReportRow| -> Vec<String> {
        let mut cells = Vec::new();
        if several_tenants {
            cells.push(row.tenant.clone());
        }
        for (at, (_, cell)) in SUMMARY_COLUMNS.iter().enumerate() {
            if at == target_at {
                let verdict = match row.compliance_ratio {
                    Some(ratio) if ratio >= data.target_ratio => label("target_met"),
                    Some(_) => label("target_missed"),
                    None => "–",
                };
                cells.push(verdict.to_owned());
            }
            cells.push(cell(row));
        }
        cells
    };
    let mut total = cells(&report.totals);
    total[usize::from(several_tenants)] = label("total").to_owned();
    if several_tenants {
        total[0] = String::new();
    }
    // Breaches per rule: a line per tenant and topic, a column per rule, then the totals.
    let (rules, _) = summary_header(report);
    let mut by_rule_header: Vec<String> = Vec::new();
    if several_tenants {
        by_rule_header.push(label("tenant").to_owned());
    }
    by_rule_header.push(label("topic").to_owned());
    by_rule_header.extend(rules.iter().cloned());
    let rule_cells = |row: &ReportRow, first: Vec<String>| -> Vec<String> {
        let mut cells = first;
        cells.extend(
            rules
                .iter()
                .map(|rule| count(row.breaches.get(rule).copied().unwrap_or(0))),
        );
        cells
    };
    let by_rule: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|row| {
            let mut first = Vec::new();
            if several_tenants {
                first.push(row.tenant.clone());
            }
            first.push(row.topic.clone());
            rule_cells(row, first)
        })
        .collect();
    let mut by_rule_total_first = vec![label("total").to_owned()];
    if several_tenants {
        by_rule_total_first.insert(0, String::new());
    }
    let by_rule_total = rule_cells(&report.totals, by_rule_total_first);
    let mut limits: Vec<i64> = report.rows.iter().filter_map(|row| row.limit_ms).collect();
    limits.sort_unstable();
    limits.dedup();
    let days: Vec<Value> = data
        .days
        .iter()
        .map(|day| {
            json!({
                "label": day.period.label.get(8..10).unwrap_or(""),
                "ratio": day.totals.compliance_ratio,
                "ratio_text": day.totals.compliance_ratio.map_or(String::new(), |ratio| format!("{:.0}", ratio * 100.0)),
                "p95_s": day.totals.answer_wait_ms.p95.map(|ms| ms as f64 / 1000.0),
                "p95_text": day.totals.answer_wait_ms.p95.map_or(String::new(), |ms| format!("{:.0}", ms as f64 / 1000.0)),
            })
        })
        .collect();
    let heat_max = data.heat_map().values().copied().max().unwrap_or(0);
    let heat_rows: Vec<Value> = (0..7u8)
        .map(|weekday| {
            let cells: Vec<Value> = (0..24u8)
                .map(|hour| {
                    let calls = data
                        .heat_map()
                        .get(&WeekHour { weekday, hour })
                        .copied()
                        .unwrap_or(0);
                    json!({"calls": calls, "fill": heat_fill(calls, heat_max)})
                })
                .collect();
            json!({"weekday": lang.weekdays()[usize::from(weekday)], "cells": cells})
        })
        .collect();
    let worst_days: Vec<Vec<String>> = data
        .worst_days()
        .into_iter()
        .take(10)
        .map(|day| {
            let date = chrono::NaiveDate::parse_from_str(&day.period.label, "%Y-%m-%d")
                .map_or(day.period.label.clone(), |date| lang.date(date));
            vec![
                date,
                count(day.totals.offered),
                count(day.totals.breached_calls),
                percent(day.totals.compliance_ratio),
            ]
        })
        .collect();
    let worst_queues: Vec<Vec<String>> = data
        .worst_queues()
        .into_iter()
        .take(10)
        .map(|(queue, calls)| vec![queue.to_owned(), count(calls)])
        .collect();
    let ledger: Vec<Vec<String>> = data
        .breached
        .iter()
        .take(LEDGER_ROWS)
        .map(|call| {
            vec![
                call.call_id.clone(),
                call.started_at.map_or("–".to_owned(), local),
                call.topic.clone(),
                call.queue.clone().unwrap_or_else(|| "–".to_owned()),
                seconds(call.wait_ms.map(|ms| ms.max(0) as u64)),
                seconds(Some(call.limit_ms.max(0) as u64)),
                call.breaches.join(", "),
            ]
        })
        .collect();
    let ledger_file = format!("breached-calls-{}.csv", report.period.label);
    let ledger_note = label("ledger_note")
        .replace("{shown}", &ledger.len().to_string())
        .replace("{total}", &data.breached.len().to_string())
        .replace("{file}", &ledger_file);
    let inputs = &report.inputs;
    let quality = &report.data_quality;
    let mut quality_lines = vec![
        vec![label("events").to_owned(), count(inputs.events)],
        vec![label("accepted").to_owned(), count(inputs.accepted_events)],
        vec![label("invalid").to_owned(), count(inputs.invalid_events)],
    ];
    for (reason, events) in &inputs.invalid_by_reason {
        quality_lines.push(vec![format!("  {reason}"), count(*events)]);
    }
    quality_lines.extend([
        vec![label("duplicates").to_owned(), count(inputs.duplicates)],
        vec![label("late").to_owned(), count(inputs.late_events)],
        vec![
            label("stop_before_start").to_owned(),
            count(quality.stop_before_start),
        ],
        vec![
            label("incomplete_calls").to_owned(),
            count(quality.incomplete),
        ],
        vec![label("orphans").to_owned(), count(quality.orphans)],
        vec![label("pending").to_owned(), count(quality.pending)],
    ]);
    let gaps: Vec<String> = quality
        .input_gaps
        .iter()
        .map(|gap| {
            let at = |text: &str| {
                chrono::DateTime::parse_from_rfc3339(text)
                    .map(|time| lang.date_time(&time.with_timezone(&zone)))
                    .unwrap_or_else(|_| text.to_owned())
            };
            format!("{} – {} ({} h)", at(&gap.from), at(&gap.until), gap.hours)
        })
        .collect();
    let tenants = data.tenants();
    let period_start = chrono::DateTime::parse_from_rfc3339(&report.period.start)
        .map(|at| at.date_naive())
        .ok();
    let period_end = chrono::DateTime::parse_from_rfc3339(&report.period.end)
        .ok()
        .and_then(|at| at.date_naive().pred_opt());
    let period = match (period_start, period_end) {
        (Some(start), Some(end)) => format!(
            "{} ({} – {})",
            report.period.label,
            lang.date(start),
            lang.date(end)
        ),
        _ => report.period.label.clone(),
    };
    let generated = chrono::DateTime::parse_from_rfc3339(&report.generated_at)
        .map(|at| format!("{} UTC", lang.date_time(&at.with_timezone(&chrono_tz::UTC))))
        .unwrap_or_else(|_| report.generated_at.clone());
    let labels: serde_json::Map<String, Value> = [
        "summary",
        "by_rule",
        "rule",
        "breaches",
        "daily",
        "daily_wait",
        "heat",
        "worst_days",
        "worst_queues",
        "day",
        "queue",
        "offered",
        "breached",
        "compliance",
        "ledger",
        "call",
        "start",
        "topic",
        "wait",
        "limit",
        "rules_broken",
        "quality",
        "gaps",
        "none",
        "integrity",
        "inputs",
        "page",
        "of",
        "title",
    ]
    .into_iter()
    .map(|key| (key.to_owned(), Value::from(label(key))))
    .collect();
    json!({
        "lang": lang.code(),
        "dir": lang.dir(),
        "labels": labels,
        "subtitle": if tenants.is_empty() {
            report.period.label.clone()
        } else {
            format!("{tenants} · {}", report.period.label)
        },
        "cover": [
            [label("business"), tenants],
            [label("period"), period],
            [label("timezone"), report.period.timezone],
            [label("rule_pack"), format!("{} {}", report.rule_pack.name, report.rule_pack.version)],
            [label("pack_sha256"), report.rule_pack.sha256],
            [label("target"), percent(Some(data.target_ratio))],
            [label("generated"), generated],
            [label("product"), format!("sixmin {}", provenance.product_version)],
        ],
        "summary": {"header": header, "rows": report.rows.iter().map(cells).collect::<Vec<_>>(), "total": total},
        "by_rule": {"header": by_rule_header, "rows": by_rule, "total": by_rule_total},
        "days": days,
        "limits_s": limits.iter().map(|ms| *ms as f64 / 1000.0).collect::<Vec<_>>(),
        "heat": {"hours": (0..24).map(|hour| format!("{hour:02}")).collect::<Vec<_>>(), "rows": heat_rows},
        "worst_days": worst_days,
        "worst_queues": worst_queues,
        "ledger": {"rows": ledger, "note": ledger_note},
        "quality": quality_lines,
        "gaps": gaps,
        "integrity": [
            [label("report_sha256"), provenance.report_sha256],
            [label("pack_sha256"), report.rule_pack.sha256],
        ],
        "sources": inputs.sources,
    })
}

/// The colour of a heat-map cell: white for none, to deep red for the busiest cell.
fn heat_fill(calls: u64, max: u64) -> String {
    if calls == 0 || max == 0 {
        return "#ffffff".to_owned();
    }
    let share = calls as f64 / max as f64;
    let channel = |from: f64, to: f64| (from + (to - from) * share).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        channel(255.0, 190.0),
        channel(235.0, 30.0),
        channel(230.0, 40.0)
    )
}
