//! The report as PDF, for signing and filing, in English or Hebrew: laid out by Typst
//! (used as a library, with the fonts the product ships) from a template and the report's
//! content as JSON. Every number is the JSON report's, written by this module; the
//! template only places it.

mod world;

use typst::foundations::Smart;
use typst_layout::PagedDocument;

use super::data::{Provenance, ReportData};
use super::labels::Lang;
use super::people::content;

/// The Typst template of the report.
const TEMPLATE: &str = include_str!("report.typ");

/// The PDF's bytes. With the same data and `generated_at`, the same bytes.
pub fn render(
    data: &ReportData,
    lang: Lang,
    provenance: &Provenance<'_>,
) -> Result<Vec<u8>, String> {
    let content = content(data, lang, provenance);
    let world = world::ReportWorld::new(TEMPLATE, content.to_string().into_bytes());
    let document = typst::compile::<PagedDocument>(&world)
        .output
        .map_err(|errors| describe(&errors))?;
    let mut options = typst_pdf::PdfOptions {
        ident: Smart::Custom(format!(
            "sixmin-{}-{}-{}",
            data.report.period.label,
            lang.code(),
            provenance.report_sha256
        )),
        ..typst_pdf::PdfOptions::default()
    };
    if let Some(at) = chrono::DateTime::parse_from_rfc3339(&data.report.generated_at)
        .ok()
        .and_then(|at| {
            use chrono::{Datelike, Timelike};
            let at = at.with_timezone(&chrono::Utc);
            typst::foundations::Datetime::from_ymd_hms(
                at.year(),
                at.month() as u8,
                at.day() as u8,
                at.hour() as u8,
                at.minute() as u8,
                at.second() as u8,
            )
        })
    {
        options.timestamp = Some(typst_pdf::Timestamp::new_utc(at));
    }
    typst_pdf::pdf(&document, &options).map_err(|errors| describe(&errors))
}

fn describe(errors: &[typst::diag::SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|error| error.message.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
