//! `sixmin report --format pdf,html --lang en,he`: the PDF of a simulated month, read back
//! with poppler (`pdftotext`, `pdftoppm`): every summary row, and the totals, carry the
//! JSON report's numbers in English and in Hebrew; the Hebrew text layer holds real
//! Hebrew words; every page renders; two runs give the same bytes. The HTML page carries
//! the same rows, right to left in Hebrew.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// Replays a simulated October (300 calls a day) and writes its JSON and PDF reports in
/// both languages into `out`.
fn october_pdfs(work: &Path, out: &Path) -> Value {
    let events = work.join("october.jsonl");
    simulate_october(&events, 300);
    let state = work.join("state");
    sixmin_ok(&[
        "replay",
        path_str(&events),
        "--state",
        path_str(&state),
        "--complete",
        "--quiet",
    ]);
    pdfs(&state, out);
    serde_json::from_str(&std::fs::read_to_string(out.join("report-2026-10.json")).unwrap())
        .unwrap()
}

fn pdfs(state: &Path, out: &Path) {
    sixmin_ok(&[
        "report",
        "--state",
        path_str(state),
        "--month",
        "2026-10",
        "--format",
        "json,pdf,html",
        "--lang",
        "en,he",
        "--out",
        path_str(out),
        "--generated-at",
        GENERATED_AT,
    ]);
}

/// The PDF's text with its layout kept (one table row per line), bidi marks removed.
fn pdf_text(pdf: &Path) -> String {
    let output = Command::new("pdftotext")
        .arg("-layout")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .chars()
        .filter(|c| !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'))
        .collect()
}

fn percent(ratio: &Value) -> String {
    ratio
        .as_f64()
        .map_or("–".to_owned(), |ratio| format!("{:.2}%", ratio * 100.0))
}

fn seconds(ms: &Value) -> String {
    ms.as_u64()
        .map_or("–".to_owned(), |ms| format!("{:.1}", ms as f64 / 1000.0))
}

/// The built-in pack's compliance target.
const TARGET: f64 = 0.99;

/// A summary row as the PDF and HTML print it, in reading order (`lang` for the words of
/// the target column).
fn expected_cells(row: &Value, first: &[String], lang: &str) -> Vec<String> {
    let mut cells: Vec<String> = first.to_vec();
    cells.push(
        row["limit_ms"]
            .as_u64()
            .map_or("–".to_owned(), |ms| format!("{:.1}", ms as f64 / 1000.0)),
    );
    for field in [
        "offered",
        "answered",
        "abandoned",
        "callback",
        "incomplete",
        "answered_within_limit",
        "breached_calls",
    ] {
        cells.push(row[field].to_string());
    }
    cells.push(percent(&row["compliance_ratio"]));
    let met = row["compliance_ratio"]
        .as_f64()
        .map(|ratio| ratio >= TARGET);
    cells.push(
        match (met, lang) {
            (Some(true), "en") => "met",
            (Some(false), "en") => "below",
            (Some(true), _) => "עומד",
            (Some(false), _) => "מתחת",
            (None, _) => "–",
        }
        .to_owned(),
    );
    for quantile in ["p50", "p90", "p95", "p99", "max"] {
        cells.push(seconds(&row["answer_wait_ms"][quantile]));
    }
    cells
}

/// Whether some line of `text` is exactly these cells (in visual order).
fn has_line(text: &str, cells: &[String]) -> bool {
    text.lines()
        .any(|line| line.split_whitespace().eq(cells.iter().map(String::as_str)))
}

#[test]
fn the_pdf_in_english_and_hebrew_carries_the_json_reports_numbers() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let report = october_pdfs(work.path(), &out);
    for (lang, total_label, words) in [
        (
            "en",
            "Total",
            [
                "Summary by topic",
                "Ledger of breached calls",
                "Data quality",
            ],
        ),
        (
            "he",
            "סה״כ",
            ["סיכום לפי נושא", "יומן השיחות בהפרה", "איכות נתונים"],
        ),
    ] {
        let pdf = out.join(format!("report-2026-10-{lang}.pdf"));
        let text = pdf_text(&pdf);
        for word in words {
            assert!(
                text.contains(word),
                "{lang}: `{word}` is not in the text layer"
            );
        }
        let visual = |mut cells: Vec<String>| {
            if lang == "he" {
                cells.reverse();
            }
            cells
        };
        let mut rows = 0;
        for row in report["rows"].as_array().unwrap() {
            let first = [
                row["tenant"].as_str().unwrap().to_owned(),
                row["topic"].as_str().unwrap().to_owned(),
            ];
            let cells = visual(expected_cells(row, &first, lang));
            assert!(has_line(&text, &cells), "{lang}: no line {cells:?}");
            rows += 1;
        }
        assert!(rows > 10);
        let total = visual(
            expected_cells(
                &report["totals"],
                &[String::new(), total_label.to_owned()],
                lang,
            )[1..]
                .to_vec(),
        );
        assert!(has_line(&text, &total), "{lang}: no totals line {total:?}");
        if lang == "he" {
            assert!(text.contains("01/10/2026"), "Israeli dates (dd/mm/yyyy)");
        }
        // Every page renders to an image.
        let pages = work.path().join(format!("pages-{lang}"));
        std::fs::create_dir_all(&pages).unwrap();
        let status = Command::new("pdftoppm")
            .args(["-r", "40", "-png"])
            .arg(&pdf)
            .arg(pages.join("page"))
            .status()
            .unwrap();
        assert!(status.success());
        let rendered = std::fs::read_dir(&pages).unwrap().count();
        let info = Command::new("pdfinfo").arg(&pdf).output().unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        let count: usize = info
            .lines()
            .find_map(|line| line.strip_prefix("Pages:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(rendered, count);
        assert!(
            count >= 6,
            "cover, summary, charts, heat map, ledger, data quality: {count} pages"
        );
    }
    // The same state and generation time give the same bytes.
    let again = work.path().join("again");
    pdfs(&work.path().join("state"), &again);
    for lang in ["en", "he"] {
        let name = format!("report-2026-10-{lang}.pdf");
        assert!(
            std::fs::read(out.join(&name)).unwrap() == std::fs::read(again.join(&name)).unwrap(),
            "{name} differs between runs"
        );
    }
}

#[test]
fn the_html_page_carries_the_same_rows_and_reads_right_to_left_in_hebrew() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let report = october_pdfs(work.path(), &out);
    for (lang, dir, total_label, heading) in [
        ("en", "ltr", "Total", "Summary by topic"),
        ("he", "rtl", "סה״כ", "סיכום לפי נושא"),
    ] {
        let html =
            std::fs::read_to_string(out.join(format!("report-2026-10-{lang}.html"))).unwrap();
        assert!(html.contains(&format!("<html lang=\"{lang}\" dir=\"{dir}\">")));
        assert!(html.contains(&format!("<h2>{heading}</h2>")));
        assert!(
            !html.contains("<script") && !html.contains("http"),
            "self-contained"
        );
        let row_html =
            |cells: Vec<String>| format!("<tr><td>{}</td></tr>", cells.join("</td><td>"));
        for row in report["rows"].as_array().unwrap() {
            let first = [
                row["tenant"].as_str().unwrap().to_owned(),
                row["topic"].as_str().unwrap().to_owned(),
            ];
            let expected = row_html(expected_cells(row, &first, lang));
            assert!(html.contains(&expected), "{lang}: no row {expected}");
        }
        let total = expected_cells(
            &report["totals"],
            &[String::new(), total_label.to_owned()],
            lang,
        );
        assert!(
            html.contains(&format!(
                "<tr class=\"total\"><td>{}</td></tr>",
                total.join("</td><td>")
            )),
            "{lang}: totals"
        );
        let breached = report["totals"]["breached_calls"].as_u64().unwrap() as usize;
        let ledger_rows = html.matches("<td>c-2026").count();
        assert_eq!(
            ledger_rows,
            breached.min(200),
            "{lang}: the first 200 breached calls"
        );
    }
}
