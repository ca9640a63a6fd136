//! The period report of judged states (a state directory, or the checkpoint of each
//! partition of `sixmin run`), as JSON (`outputs.md` §2) and in the formats people read:
//! CSV, XLSX, HTML and PDF (laid out by Typst with the shipped fonts), in English and
//! Hebrew, with a manifest of the files' SHA-256 sums (`sha256sum -c` checks it).
//!
//! Every number of every format comes from one [`ReportData`], gathered once from the
//! engines' tallies and ledgers; the JSON report is its source of truth, and the other
//! formats carry its SHA-256. States are read through `sixmin-store`'s types: this crate
//! opens no store and reads no clock.

mod csv;
mod data;
pub mod explain;
mod formats;
mod html;
mod labels;
mod manifest;
mod pdf;
mod people;
mod xlsx;

use std::path::{Path, PathBuf};

use sixmin_config::{LoadedPack, PackError};
use sixmin_core::{Engine, EngineConfig, Period, PeriodReport, SnapshotError};
use sixmin_store::{PartitionCheckpoint, StateFile};

pub use data::ReportData;
pub use formats::{parse_list, Format};
pub use labels::Lang;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The states were judged by different rule packs and cannot be added up.
    #[error("the partitions' checkpoints were written with different rule packs")]
    MixedPacks,
    /// A checkpoint's rule pack could not be read.
    #[error("reading the rule pack kept in the checkpoint of {key}: {source}")]
    Pack {
        /// The checkpoint.
        key: String,
        /// The pack's problems.
        #[source]
        source: PackError,
    },
    /// A checkpoint's engine could not be restored.
    #[error("restoring the checkpoint of {key}: {source}")]
    Restore {
        /// The checkpoint.
        key: String,
        /// Why.
        #[source]
        source: SnapshotError,
    },
    /// The XLSX workbook could not be written.
    #[error("writing the XLSX workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// The PDF could not be laid out.
    #[error("laying out the PDF: {0}")]
    Pdf(String),
    /// A file could not be written.
    #[error("writing `{path}`: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

impl ReportError {
    /// Whether trying again can help (a file that could not be written, perhaps for
    /// lack of room); a state that cannot be read or laid out stays so.
    pub fn is_retriable(&self) -> bool {
        matches!(self, ReportError::Write { .. })
    }
}

/// The judged state a report is made from: one engine per state (a state directory, or
/// each partition's checkpoint) and a description of each input.
pub struct Judged {
    engines: Vec<Engine>,
    sources: Vec<String>,
}

impl Judged {
    /// The state of a directory written by `sixmin replay`, restored as `engine`.
    pub fn from_state(engine: Engine, state: &StateFile) -> Judged {
        let sources = state
            .sources
            .iter()
            .map(|source| source.describe())
            .collect();
        Judged {
            engines: vec![engine],
            sources,
        }
    }

    /// The states of partitions checkpointed by `sixmin run`, to be added up. Each
    /// partition is named in the sources with the offset its state covers.
    pub fn from_checkpoints<'a>(
        checkpoints: impl IntoIterator<Item = &'a PartitionCheckpoint>,
    ) -> Result<Judged, ReportError> {
        let mut engines = Vec::new();
        let mut sources = Vec::new();
        for checkpoint in checkpoints {
            let key = checkpoint.key.to_string();
            let pack = LoadedPack::parse(&checkpoint.pack_source, &checkpoint.pack_origin)
                .map_err(|source| ReportError::Pack {
                    key: key.clone(),
                    source,
                })?;
            let engine_config = EngineConfig {
                allowed_lateness_ms: checkpoint.engine.allowed_lateness_ms,
                emit_verdicts: false,
                emit_stops: false,
                ..EngineConfig::default()
            };
            let engine = Engine::restore(pack.pack, engine_config, &checkpoint.engine)
                .map_err(|source| ReportError::Restore { key, source })?;
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

    fn engines(&self) -> Vec<&Engine> {
        self.engines.iter().collect()
    }

    /// The period report of `period` over every engine (`outputs.md` §2).
    pub fn report(&self, period: Period, generated_at: &str) -> Result<PeriodReport, ReportError> {
        data::merged_report(&self.engines(), period, generated_at, &self.sources)
    }

    /// Gathers everything the files of the report of `period` are written from.
    pub fn gather(&self, period: Period, generated_at: &str) -> Result<ReportData, ReportError> {
        ReportData::gather(&self.engines(), period, generated_at, &self.sources)
    }
}

/// Writes each format's files into `dir`, then the manifest of everything written.
pub fn write_directory(
    dir: &Path,
    formats: &[Format],
    langs: &[Lang],
    data: &ReportData,
) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
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
                let bytes = xlsx::workbook(data, &provenance)?;
                files.push((format!("report-{label}.xlsx"), bytes));
            }
            Format::Pdf => {
                for lang in langs {
                    let bytes = pdf::render(data, *lang, &provenance).map_err(ReportError::Pdf)?;
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
        std::fs::write(&path, bytes).map_err(|source| ReportError::Write { path, source })?;
    }
    Ok(())
}
