//! Reading the Prometheus text format in tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;

/// One sample of the Prometheus text format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// Parses `name{label="value",…} value` lines; comments are skipped.
pub fn parse_metrics(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .unwrap_or_else(|| panic!("a metrics line without a value: `{line}`"));
        let name = line[..name_end].to_owned();
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(inside) = rest.strip_prefix('{') {
            let mut chars = inside.char_indices();
            let mut key = String::new();
            let mut end = None;
            while let Some((index, character)) = chars.next() {
                match character {
                    '}' => {
                        end = Some(index + 1);
                        break;
                    }
                    ',' | ' ' => {}
                    '=' => {
                        // A quoted value with `\\`, `\"` and `\n` escapes.
                        assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "`{line}`");
                        let mut value = String::new();
                        while let Some((_, character)) = chars.next() {
                            match character {
                                '"' => break,
                                '\\' => match chars.next().map(|(_, c)| c) {
                                    Some('n') => value.push('\n'),
                                    Some(other) => value.push(other),
                                    None => {}
                                },
                                other => value.push(other),
                            }
                        }
                        labels.insert(std::mem::take(&mut key), value);
                    }
                    other => key.push(other),
                }
            }
            let end = end.unwrap_or_else(|| panic!("unclosed labels: `{line}`"));
            rest = &inside[end..];
        }
        let value = rest
            .split_whitespace()
            .next()
            .unwrap_or_else(|| panic!("a metrics line without a value: `{line}`"));
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("not a number in `{line}`")),
        };
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

/// The samples of one metric name, as label maps and values.
pub fn series(text: &str, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    parse_metrics(text)
        .into_iter()
        .filter(|sample| sample.name == name)
        .map(|sample| (sample.labels, sample.value))
        .collect()
}
