//! `sixmin report`: the period report of a state directory or of the service's
//! checkpoints, as JSON (`outputs.md` §2) and in the formats people read.
//!
//! One JSON format writes to a file or standard output, as it always has. Several
//! formats, or an `--out` that is a directory, write one file per format into that
//! directory and a manifest of their SHA-256 sums (`sha256sum -c` checks it).

mod csv;
mod data;
mod formats;
mod html;
mod labels;
mod manifest;
mod pdf;
mod people;
mod xlsx;

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use data::ReportData;
use sixmin_core::{Engine, EngineConfig, Period, PeriodReport};

pub use formats::Format;

use crate::cli::ReportArgs;
use crate::exit::{fail, Code, CommandResult, WithCode};

/// The judged state a report is made from: one engine per state (a state directory, or
/// each partition's checkpoint) and a description of each input.
struct Judged {
    engines: Vec<Engine>,
    sources: Vec<String>,
}

impl Judged {
    /// The report of `period` over every engine.
    fn report(&self, period: Period, generated_at: &str) -> CommandResult<PeriodReport> {
        let refs: Vec<&Engine> = self.engines.iter().collect();
        data::merged_report(&refs, period, generated_at, &self.sources)
    }
}

/// Runs `sixmin report`.
pub fn run(args: ReportArgs) -> CommandResult {
    let formats =
        formats::parse_list(&args.format).map_err(|message| fail(Code::Usage, message))?;
    let langs = args
        .lang
        .split(',')
        .map(|code| {
            labels::Lang::parse(code.trim()).ok_or_else(|| {
                fail(
                    Code::Usage,
                    format!("language `{code}` is not supported; use en, he or en,he"),
                )
            })
        })
        .collect::<CommandResult<Vec<_>>>()?;
    let period = match (&args.month, &args.day) {
        (Some(month), _) => Period::parse_month(month).ok_or_else(|| {
            fail(
                Code::Usage,
                format!("`--month {month}` is not a month; write `YYYY-MM`"),
            )
        })?,
        (None, Some(day)) => Period::parse_day(day).ok_or_else(|| {
            fail(
                Code::Usage,
                format!("`--day {day}` is not a day; write `YYYY-MM-DD`"),
            )
        })?,
        (None, None) => {
            return Err(fail(
                Code::Usage,
                "give `--month YYYY-MM` or `--day YYYY-MM-DD`",
            ))
        }
    };
    let generated_at = match args.generated_at {
        Some(text) => {
            sixmin_core::time::parse_rfc3339(&text).ok_or_else(|| {
                fail(
                    Code::Usage,
                    format!("`--generated-at {text}` is not an RFC 3339 time"),
                )
            })?;
            text
        }
        None => crate::clock::now_rfc3339(),
    };
    let to_directory = formats != [Format::Json] || args.out.is_dir();
    if to_directory && args.out.as_os_str() == "-" {
        return Err(fail(
            Code::Usage,
            format!(
                "`--format {}` writes several files: give `--out DIR`",
                args.format
            ),
        ));
    }
    let judged = match (&args.state, &args.config) {
        (Some(state), _) => judged_state_dir(state)?,
        (None, Some(config)) => judged_checkpoints(config)?,
        (None, None) => return Err(fail(Code::Usage, "give `--state DIR` or `--config FILE`")),
    };
    if to_directory {
        let refs: Vec<&Engine> = judged.engines.iter().collect();
        let data = ReportData::gather(&refs, period, &generated_at, &judged.sources)?;
        return write_directory(&args.out, &formats, &langs, &data);
    }
    let report = judged.report(period, &generated_at)?;
    let json = report.to_json();
    if args.out.as_os_str() == "-" {
        std::io::stdout()
            .write_all(json.as_bytes())
            .context("writing the report to standard output")
            .code(Code::Output)
    } else {
        std::fs::write(&args.out, json)
            .with_context(|| format!("writing `{}`", args.out.display()))
            .code(Code::Output)
    }
}

/// Writes each format's files into `dir`, then the manifest of everything written.
fn write_directory(
    dir: &Path,
    formats: &[Format],
    langs: &[labels::Lang],
    data: &ReportData,
) -> CommandResult {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating `{}`", dir.display()))
        .code(Code::Output)?;
    let report = &data.report;
    let json = report.to_json();
    let report_sha256 = manifest::sha256_hex(json.as_bytes());
    let label = &report.period.label;
    let provenance = data::Provenance {
        product_version: env!("CARGO_PKG_VERSION"),
        report_sha256: &report_sha256,
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for format in formats {
        match format {
            Format::Json => files.push((format!("report-{label}.json"), json.clone().into_bytes())),
            Format::Csv => {
                files.push((format!("summary-{label}.csv"), csv::summary(report)));
                files.push((format!("daily-{label}.csv"), csv::daily(&data.days)));
                files.push((
                    format!("breached-calls-{label}.csv"),
                    csv::ledger(&data.breached, data.zone),
                ));
                files.push((
                    format!("data-quality-{label}.csv"),
                    csv::data_quality(report),
                ));
            }
            Format::Xlsx => {
                let bytes = xlsx::workbook(data, &provenance)
                    .context("writing the XLSX workbook")
                    .code(Code::Output)?;
                files.push((format!("report-{label}.xlsx"), bytes));
            }
            Format::Pdf => {
                for lang in langs {
                    let bytes = pdf::render(data, *lang, &provenance).map_err(|error| {
                        fail(Code::Internal, format!("laying out the PDF: {error}"))
                    })?;
                    files.push((format!("report-{label}-{}.pdf", lang.code()), bytes));
                }
            }
            Format::Html => {
                for lang in langs {
                    let bytes = html::render(data, *lang, &provenance);
                    files.push((format!("report-{label}-{}.html", lang.code()), bytes));
                }
            }
        }
    }
    let manifest = manifest::Manifest::of(&json, &files);
    files.push((
        format!("manifest-{label}.sha256"),
        manifest.to_text().into_bytes(),
    ));
    for (name, bytes) in &files {
        let path = dir.join(name);
        std::fs::write(&path, bytes)
            .with_context(|| format!("writing `{}`", path.display()))
            .code(Code::Output)?;
    }
    Ok(())
}

/// The state of a directory written by `sixmin replay`.
fn judged_state_dir(dir: &Path) -> CommandResult<Judged> {
    let (engine, _, state) = crate::state::saved_state(dir, None)?;
    let sources = state
        .sources
        .iter()
        .map(|source| source.describe())
        .collect();
    Ok(Judged {
        engines: vec![engine],
        sources,
    })
}

/// The states of every partition checkpointed by `sixmin run` with this configuration, to
/// be added up. Each partition is named in the sources with the offset its state covers.
fn judged_checkpoints(config_path: &Path) -> CommandResult<Judged> {
    let config = crate::run::load_config(config_path)?;
    let mut store = crate::run::open_store(&config, false)?;
    let checkpoints = store
        .load_all(&config.group_id, &config.events_topic)
        .code(Code::State)?;
    if checkpoints.is_empty() {
        return Err(fail(
            Code::State,
            format!(
                "{} holds no checkpoint of group `{}` on topic `{}`; run `sixmin run` first",
                store.describe(),
                config.group_id,
                config.events_topic
            ),
        ));
    }
    let mut engines = Vec::new();
    let mut sources = Vec::new();
    for checkpoint in checkpoints.values() {
        let pack = sixmin_config::parse_pack(&checkpoint.pack_source, &checkpoint.pack_origin)
            .with_context(|| {
                format!(
                    "reading the rule pack kept in the checkpoint of {}",
                    checkpoint.key
                )
            })
            .code(Code::State)?;
        let engine_config = EngineConfig {
            allowed_lateness_ms: checkpoint.engine.allowed_lateness_ms,
            emit_verdicts: false,
            emit_stops: false,
            ..EngineConfig::default()
        };
        let engine = Engine::restore(pack, engine_config, &checkpoint.engine)
            .with_context(|| format!("restoring the checkpoint of {}", checkpoint.key))
            .code(Code::State)?;
        sources.push(format!(
            "kafka:{}/{} next_offset {} (checkpoint {}, group {})",
            checkpoint.key.topic,
            checkpoint.key.partition,
            checkpoint.next_offset,
            checkpoint.written_at,
            checkpoint.key.group
        ));
        engines.push(engine);
    }
    Ok(Judged { engines, sources })
}
