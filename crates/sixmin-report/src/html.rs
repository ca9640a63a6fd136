//! The report as one self-contained HTML page (no script, no external file, no web font),
//! in English or Hebrew (`dir="rtl"`): the same content as the PDF, from the same
//! document, with the daily figures as CSS bars and the heat map as a coloured table.

use serde_json::Value;

use super::data::{Provenance, ReportData};
use super::labels::Lang;
use super::people::content;

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A JSON text (or number) as escaped cell text.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => escape(text),
        Value::Null => String::new(),
        other => escape(&other.to_string()),
    }
}

fn rows(value: &Value) -> impl Iterator<Item = &Vec<Value>> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
}

/// A table: an optional header row, body rows, an optional bold last row.
fn table(out: &mut String, header: Option<&Value>, body: &Value, total: Option<&Value>) {
    out.push_str("<table>");
    if let Some(header) = header.and_then(Value::as_array) {
        out.push_str("<thead><tr>");
        for cell in header {
            out.push_str(&format!("<th>{}</th>", text(cell)));
        }
        out.push_str("</tr></thead>");
    }
    out.push_str("<tbody>");
    for row in rows(body) {
        out.push_str("<tr>");
        for cell in row {
            out.push_str(&format!("<td>{}</td>", text(cell)));
        }
        out.push_str("</tr>");
    }
    if let Some(total) = total.and_then(Value::as_array) {
        out.push_str("<tr class=\"total\">");
        for cell in total {
            out.push_str(&format!("<td>{}</td>", text(cell)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

const STYLE: &str = "body{font-family:'Noto Sans','Noto Sans Hebrew','Segoe UI',Arial,sans-serif;\
font-size:14px;margin:2em;color:#1b1b1b}h1{font-size:1.6em}h2{margin-top:1.6em}\
table{border-collapse:collapse;margin:.4em 0}th,td{border:1px solid #bbb;padding:3px 6px;\
text-align:start}th{background:#e4e4e4}tr.total td{font-weight:bold}\
.bars{display:flex;align-items:flex-end;gap:2px;height:140px;direction:ltr;position:relative;\
border-bottom:1px solid #888}.bar{flex:1;display:flex;flex-direction:column;\
justify-content:flex-end;align-items:center;font-size:10px;height:100%}\
.bar div{width:100%}.days{display:flex;gap:2px;direction:ltr;font-size:10px}\
.days span{flex:1;text-align:center}.note{font-style:italic}.heat td{text-align:center;\
min-width:1.6em}code{font-size:12px}.limit{position:absolute;left:0;right:0;\
border-top:2px solid #b3261e}.limit span{position:absolute;right:0;top:-1.3em;\
color:#b3261e;font-size:10px;font-weight:bold}";

/// Daily bars: heights as percentages of `top`, each bar with its value; `limits` drawn
/// as labelled horizontal lines.
fn bars(
    out: &mut String,
    days: &[Value],
    (value, label): (&str, &str),
    top: f64,
    color: &str,
    limits: &[f64],
) {
    out.push_str("<div class=\"bars\">");
    for limit in limits.iter().filter(|limit| top > 0.0 && **limit <= top) {
        out.push_str(&format!(
            "<div class=\"limit\" style=\"bottom:{:.1}%\"><span>{limit} s</span></div>",
            limit / top * 100.0
        ));
    }
    for day in days {
        let height = day[value]
            .as_f64()
            .filter(|_| top > 0.0)
            .map_or(0.0, |v| (v / top * 100.0).clamp(0.0, 100.0));
        out.push_str(&format!(
            "<div class=\"bar\"><span>{}</span><div style=\"height:{height:.1}%;background:{color}\"></div></div>",
            text(&day[label])
        ));
    }
    out.push_str("</div><div class=\"days\">");
    for day in days {
        out.push_str(&format!("<span>{}</span>", text(&day["label"])));
    }
    out.push_str("</div>\n");
}

/// The page's bytes (UTF-8).
pub fn render(data: &ReportData, lang: Lang, provenance: &Provenance<'_>) -> Vec<u8> {
    let content = content(data, lang, provenance);
    let label = |key: &str| text(&content["labels"][key]);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\" dir=\"{}\">\n<head><meta charset=\"utf-8\">\
         <title>{} · {}</title><style>{STYLE}</style></head>\n<body>\n<h1>{}</h1>\n<p>{}</p>\n",
        lang.code(),
        lang.dir(),
        label("title"),
        text(&content["subtitle"]),
        label("title"),
        text(&content["subtitle"]),
    );
    table(&mut out, None, &content["cover"], None);
    out.push_str(&format!("<h2>{}</h2>\n", label("summary")));
    let summary = &content["summary"];
    table(
        &mut out,
        Some(&summary["header"]),
        &summary["rows"],
        Some(&summary["total"]),
    );
    out.push_str(&format!("<h2>{}</h2>\n", label("by_rule")));
    let by_rule = &content["by_rule"];
    table(
        &mut out,
        Some(&by_rule["header"]),
        &by_rule["rows"],
        Some(&by_rule["total"]),
    );
    let days: &[Value] = content["days"].as_array().map_or(&[], Vec::as_slice);
    out.push_str(&format!("<h2>{}</h2>\n", label("daily")));
    bars(&mut out, days, ("ratio", "ratio_text"), 1.0, "#2e7d32", &[]);
    out.push_str(&format!("<h2>{}</h2>\n", label("daily_wait")));
    let limits: Vec<f64> = content["limits_s"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect();
    let top = days
        .iter()
        .filter_map(|day| day["p95_s"].as_f64())
        .chain(limits.iter().copied())
        .fold(1.0_f64, f64::max)
        * 1.1;
    bars(
        &mut out,
        days,
        ("p95_s", "p95_text"),
        top,
        "#1565c0",
        &limits,
    );
    out.push_str(&format!(
        "<h2>{}</h2>\n<table class=\"heat\"><thead><tr><th></th>",
        label("heat")
    ));
    for hour in content["heat"]["hours"].as_array().into_iter().flatten() {
        out.push_str(&format!("<th>{}</th>", text(hour)));
    }
    out.push_str("</tr></thead><tbody>");
    for row in content["heat"]["rows"].as_array().into_iter().flatten() {
        out.push_str(&format!("<tr><th>{}</th>", text(&row["weekday"])));
        for cell in row["cells"].as_array().into_iter().flatten() {
            let calls = cell["calls"].as_u64().unwrap_or(0);
            let shown = if calls > 0 {
                calls.to_string()
            } else {
                String::new()
            };
            out.push_str(&format!(
                "<td style=\"background:{}\">{shown}</td>",
                text(&cell["fill"])
            ));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
    let labels = &content["labels"];
    out.push_str(&format!("<h2>{}</h2>\n", label("worst_days")));
    let header = Value::from(vec![
        labels["day"].clone(),
        labels["offered"].clone(),
        labels["breached"].clone(),
        labels["compliance"].clone(),
    ]);
    table(&mut out, Some(&header), &content["worst_days"], None);
    out.push_str(&format!("<h2>{}</h2>\n", label("worst_queues")));
    let header = Value::from(vec![labels["queue"].clone(), labels["breached"].clone()]);
    table(&mut out, Some(&header), &content["worst_queues"], None);
    out.push_str(&format!(
        "<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
        label("ledger"),
        text(&content["ledger"]["note"])
    ));
    let header = Value::from(
        [
            "call",
            "start",
            "topic",
            "queue",
            "wait",
            "limit",
            "rules_broken",
        ]
        .iter()
        .map(|key| labels[*key].clone())
        .collect::<Vec<_>>(),
    );
    table(&mut out, Some(&header), &content["ledger"]["rows"], None);
    out.push_str(&format!("<h2>{}</h2>\n", label("quality")));
    table(&mut out, None, &content["quality"], None);
    out.push_str(&format!("<h2>{}</h2>\n", label("gaps")));
    let gaps: Vec<String> = content["gaps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    if gaps.is_empty() {
        out.push_str(&format!("<p>{}</p>\n", label("none")));
    } else {
        out.push_str(&format!("<ul><li>{}</li></ul>\n", gaps.join("</li><li>")));
    }
    out.push_str(&format!("<h2>{}</h2>\n", label("integrity")));
    table(&mut out, None, &content["integrity"], None);
    out.push_str(&format!("<h2>{}</h2>\n<ul>", label("inputs")));
    for source in content["sources"].as_array().into_iter().flatten() {
        out.push_str(&format!("<li><code>{}</code></li>", text(source)));
    }
    out.push_str("</ul>\n</body>\n</html>\n");
    out.into_bytes()
}
