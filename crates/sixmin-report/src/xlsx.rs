//! The report as an XLSX workbook (rust_xlsxwriter), for the auditor's own analysis: one
//! sheet per part of the report, numbers as numbers, each table with a header row, frozen
//! and filterable.
//!
//! Sheets: `Report` (cover), `Summary` (the JSON report's rows and totals), `Daily`,
//! `Breached calls` (a header row, then exactly one row per breached call), `Heat map`
//! (local weekday × hour), `Queues` and `Worst days` (most breached calls first),
//! `Data quality`, `Integrity`.

use rust_xlsxwriter::{DocProperties, Format, Workbook, Worksheet, XlsxError};
use sixmin_core::report::ReportRow;
use sixmin_core::tally::WeekHour;

use super::csv::{
    data_quality_lines, ledger_record, summary_header, DAILY_COLUMNS, LEDGER_COLUMNS,
};
use super::data::{Provenance, ReportData};

/// A cell: a number, a text or nothing (JSON's `null`).
enum Cell {
    Number(f64),
    Ratio(f64),
    Text(String),
    Empty,
}

impl Cell {
    fn count(value: u64) -> Cell {
        // Counts of calls stay far below 2^53, where f64 is exact.
        Cell::Number(value as f64)
    }

    fn optional(value: Option<u64>) -> Cell {
        value.map_or(Cell::Empty, Cell::count)
    }
}

/// Formats shared by the sheets.
struct Styles {
    header: Format,
    ratio: Format,
}

/// The workbook's bytes. The document's creation time is the report's `generated_at`, so
/// the same state and time give the same bytes.
pub fn workbook(data: &ReportData, provenance: &Provenance<'_>) -> Result<Vec<u8>, XlsxError> {
    let report = &data.report;
    let mut workbook = Workbook::new();
    let mut properties = DocProperties::new()
        .set_title(format!("sixmin compliance report {}", report.period.label))
        .set_author("sixmin")
        .set_comment(format!("generated at {}", report.generated_at));
    if let Some(at) = sixmin_core::time::parse_rfc3339(&report.generated_at).and_then(|nanos| {
        rust_xlsxwriter::ExcelDateTime::from_timestamp(nanos / 1_000_000_000).ok()
    }) {
        properties = properties.set_creation_datetime(&at);
    }
    workbook.set_properties(&properties);
    let styles = Styles {
        header: Format::new().set_bold(),
        ratio: Format::new().set_num_format("0.00%"),
    };

    let cover = named_sheet(&mut workbook, "Report")?;
    let lines = cover_lines(data, provenance);
    write_table(cover, &styles, &["item", "value"], lines.into_iter())?;

    let (rules, header) = summary_header(report);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let summary = named_sheet(&mut workbook, "Summary")?;
    let rows = report.rows.iter().chain([&report.totals]);
    write_table(
        summary,
        &styles,
        &header,
        rows.map(|row| row_cells(row, &rules)),
    )?;

    let daily = named_sheet(&mut workbook, "Daily")?;
    let days = data.days.iter().flat_map(|day| {
        [&day.totals].into_iter().chain(&day.rows).map(|row| {
            vec![
                Cell::Text(day.period.label.clone()),
                Cell::Text(row.tenant.clone()),
                Cell::Text(row.topic.clone()),
                Cell::count(row.offered),
                Cell::count(row.answered),
                Cell::count(row.incomplete),
                Cell::count(row.answered_within_limit),
                Cell::count(row.breached_calls),
                row.compliance_ratio.map_or(Cell::Empty, Cell::Ratio),
                Cell::optional(row.answer_wait_ms.p50),
                Cell::optional(row.answer_wait_ms.p95),
                Cell::optional(row.answer_wait_ms.max),
            ]
        })
    });
    write_table(daily, &styles, &DAILY_COLUMNS, days)?;

    let ledger = named_sheet(&mut workbook, "Breached calls")?;
    let calls = data.breached.iter().map(|call| {
        let cells = ledger_record(call, data.zone);
        cells
            .into_iter()
            .enumerate()
            .map(
                |(column, text)| match (LEDGER_COLUMNS[column], text.parse::<i64>()) {
                    ("wait_ms" | "limit_ms" | "over_limit_ms", Ok(number)) => {
                        Cell::Number(number as f64)
                    }
                    _ if text.is_empty() => Cell::Empty,
                    _ => Cell::Text(text),
                },
            )
            .collect()
    });
    write_table(ledger, &styles, &LEDGER_COLUMNS, calls)?;

    let heat = named_sheet(&mut workbook, "Heat map")?;
    let mut header = vec!["weekday".to_owned()];
    header.extend((0..24).map(|hour| format!("{hour:02}")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let grid = (0..7u8).map(|weekday| {
        let name = WeekHour { weekday, hour: 0 }.weekday_name().to_owned();
        let mut cells = vec![Cell::Text(name)];
        cells.extend((0..24u8).map(|hour| {
            let calls = data.heat_map().get(&WeekHour { weekday, hour });
            Cell::count(calls.copied().unwrap_or(0))
        }));
        cells
    });
    write_table(heat, &styles, &header, grid)?;

    let queues = named_sheet(&mut workbook, "Queues")?;
    let worst = data
        .worst_queues()
        .into_iter()
        .map(|(queue, calls)| vec![Cell::Text(queue.to_owned()), Cell::count(calls)]);
    write_table(queues, &styles, &["queue", "breached_calls"], worst)?;

    let worst_days = named_sheet(&mut workbook, "Worst days")?;
    let days = data.worst_days().into_iter().map(|day| {
        vec![
            Cell::Text(day.period.label.clone()),
            Cell::count(day.totals.offered),
            Cell::count(day.totals.breached_calls),
            day.totals.compliance_ratio.map_or(Cell::Empty, Cell::Ratio),
            Cell::optional(day.totals.answer_wait_ms.p95),
        ]
    });
    let header = [
        "day",
        "offered",
        "breached_calls",
        "compliance_ratio",
        "answer_wait_p95_ms",
    ];
    write_table(worst_days, &styles, &header, days)?;

    let quality = named_sheet(&mut workbook, "Data quality")?;
    let lines = data_quality_lines(report)
        .into_iter()
        .map(|[section, item, value]| {
            let value = value.parse::<u64>().map_or(Cell::Text(value), Cell::count);
            vec![Cell::Text(section), Cell::Text(item), value]
        });
    write_table(quality, &styles, &["section", "item", "value"], lines)?;

    let integrity = named_sheet(&mut workbook, "Integrity")?;
    let mut lines = vec![
        text_pair("report_sha256", provenance.report_sha256),
        text_pair("rule_pack_sha256", &report.rule_pack.sha256),
    ];
    lines.extend(
        report
            .inputs
            .sources
            .iter()
            .map(|source| text_pair("input", source)),
    );
    write_table(integrity, &styles, &["item", "value"], lines.into_iter())?;

    workbook.save_to_buffer()
}

fn text_pair(item: &str, value: &str) -> Vec<Cell> {
    vec![Cell::Text(item.to_owned()), Cell::Text(value.to_owned())]
}

fn cover_lines(data: &ReportData, provenance: &Provenance<'_>) -> Vec<Vec<Cell>> {
    let report = &data.report;
    let mut lines = vec![
        text_pair("business", &data.tenants()),
        text_pair("period", &report.period.label),
        text_pair("period_start", &report.period.start),
        text_pair("period_end", &report.period.end),
        text_pair("timezone", &report.period.timezone),
        text_pair("rule_pack", &report.rule_pack.name),
        text_pair("rule_pack_version", &report.rule_pack.version),
        text_pair("rule_pack_sha256", &report.rule_pack.sha256),
        vec![
            Cell::Text("target_ratio".to_owned()),
            Cell::Ratio(data.target_ratio),
        ],
        text_pair("generated_at", &report.generated_at),
        text_pair("product", &format!("sixmin {}", provenance.product_version)),
    ];
    if !data.ledger_is_complete() {
        lines.push(text_pair(
            "note",
            "the state was written before breached calls were kept one by one: the ledger \
             lists fewer calls than breached_calls counts",
        ));
    }
    lines
}

fn row_cells(row: &ReportRow, rules: &[String]) -> Vec<Cell> {
    let mut cells = vec![
        Cell::Text(row.tenant.clone()),
        Cell::Text(row.topic.clone()),
        row.limit_ms
            .map_or(Cell::Empty, |limit| Cell::Number(limit as f64)),
        Cell::count(row.offered),
        Cell::count(row.answered),
        Cell::count(row.abandoned),
        Cell::count(row.callback),
        Cell::count(row.incomplete),
        Cell::count(row.answered_within_limit),
        Cell::count(row.abandoned_after_limit),
        Cell::count(row.breached_calls),
    ];
    cells.extend(
        rules
            .iter()
            .map(|rule| Cell::count(row.breaches.get(rule).copied().unwrap_or(0))),
    );
    cells.push(row.compliance_ratio.map_or(Cell::Empty, Cell::Ratio));
    for wait in [&row.answer_wait_ms, &row.abandon_wait_ms] {
        cells.extend(
            [wait.p50, wait.p90, wait.p95, wait.p99, wait.max]
                .into_iter()
                .map(Cell::optional),
        );
    }
    cells
}

fn named_sheet<'w>(workbook: &'w mut Workbook, name: &str) -> Result<&'w mut Worksheet, XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name(name)?;
    Ok(sheet)
}

/// Writes a header row and then the rows; freezes the header and adds a filter.
fn write_table(
    sheet: &mut Worksheet,
    styles: &Styles,
    header: &[&str],
    rows: impl Iterator<Item = Vec<Cell>>,
) -> Result<(), XlsxError> {
    for (column, name) in header.iter().enumerate() {
        let column = column as u16;
        sheet.write_string_with_format(0, column, *name, &styles.header)?;
        sheet.set_column_width(column, (name.len() as f64 + 2.0).max(12.0))?;
    }
    let mut last_row = 0u32;
    for (index, cells) in rows.enumerate() {
        let row = index as u32 + 1;
        last_row = row;
        for (column, cell) in cells.into_iter().enumerate() {
            let column = column as u16;
            match cell {
                Cell::Number(number) => {
                    sheet.write_number(row, column, number)?;
                }
                Cell::Ratio(ratio) => {
                    sheet.write_number_with_format(row, column, ratio, &styles.ratio)?;
                }
                Cell::Text(text) => {
                    sheet.write_string(row, column, text)?;
                }
                Cell::Empty => {}
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    if !header.is_empty() {
        sheet.autofilter(0, 0, last_row, header.len() as u16 - 1)?;
    }
    Ok(())
}
