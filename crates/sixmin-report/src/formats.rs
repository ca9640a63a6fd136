//! The output formats of `sixmin report` and the `--format` list.

/// One output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The period report, `outputs.md` §2.
    Json,
    /// The summary, the day-by-day figures, the breached calls and the data quality, as
    /// CSV files.
    Csv,
    /// One XLSX workbook with a sheet per part of the report.
    Xlsx,
    /// A PDF for signing and filing, per language.
    Pdf,
    /// One self-contained HTML page, per language.
    Html,
}

impl Format {
    /// Every format, by its `--format` name.
    const ALL: [(&'static str, Format); 5] = [
        ("json", Format::Json),
        ("csv", Format::Csv),
        ("xlsx", Format::Xlsx),
        ("pdf", Format::Pdf),
        ("html", Format::Html),
    ];
}

impl Format {
    /// The `--format` name.
    pub fn name(self) -> &'static str {
        Format::ALL
            .iter()
            .find(|(_, format)| *format == self)
            .map_or("json", |(name, _)| *name)
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    /// Parses one name (`json`, `CSV`, ` pdf `).
    fn from_str(text: &str) -> Result<Format, String> {
        let name = text.trim();
        Format::ALL
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, format)| *format)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|(name, _)| *name).collect();
                format!(
                    "format `{name}` is not supported; use one or more of {}, separated by commas",
                    names.join(", ")
                )
            })
    }
}

/// Parses `json`, `csv` or a comma-separated list of them (`json,csv`), without repeats.
pub fn parse_list(text: &str) -> Result<Vec<Format>, String> {
    let mut formats = Vec::new();
    for name in text.split(',') {
        let format: Format = name.parse()?;
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    Ok(formats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_parsed_in_order_without_repeats() {
        assert_eq!(parse_list("json"), Ok(vec![Format::Json]));
        assert_eq!(
            parse_list("csv, JSON,csv"),
            Ok(vec![Format::Csv, Format::Json])
        );
        let error = parse_list("json,pdfx").unwrap_err();
        assert!(
            error.contains("`pdfx`") && error.contains("json, csv, xlsx, pdf, html"),
            "{error}"
        );
    }
}
