//! The real Prometheus server (Debian's `prometheus` package) scrapes `sixmin demo` on
//! loopback; its HTTP API must return the breach counter, the compliance ratio and a 95th
//! percentile from the wait histogram. `promtool check metrics` must find the exposition
//! clean.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::demo::Demo;
use common::http;
use common::prometheus::Prometheus;

/// How long a query may take to show the demo's data.
const WITHIN: Duration = Duration::from_secs(120);

#[test]
fn prometheus_scrapes_the_demo_and_answers_compliance_queries() {
    // 600x real time from 10:50: the overload episode at 11:00 comes within a minute.
    let demo = Demo::overload("2026-10-04", "250", &[]);
    let prometheus = Prometheus::scraping(&demo.address);

    let breaches = prometheus.query_until_data("sum by (rule) (sixmin_breaches_total)", WITHIN);
    let rules: Vec<&str> = breaches["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|sample| sample["metric"]["rule"].as_str())
        .collect();
    assert!(
        rules.iter().any(|rule| rule.starts_with("IL-")),
        "{rules:?}"
    );
    prometheus.query_until_data(r#"sixmin_compliance_ratio{window="day"}"#, WITHIN);
    let p95 = prometheus.query_until_data(
        "histogram_quantile(0.95, sum by (le, topic) (sixmin_answer_wait_seconds_bucket))",
        WITHIN,
    );
    assert!(!p95["data"]["result"].as_array().unwrap().is_empty());
    prometheus.query_until_data("sum(sixmin_live_breaches_total)", WITHIN);

    // promtool lints the exposition as scraped.
    let (status, text) = http::get(&demo.address, "/metrics").unwrap();
    assert_eq!(status, 200);
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Debian's `prometheus` package ships `promtool`");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = promtool.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
