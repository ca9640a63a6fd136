//! The real Prometheus server (Debian's `prometheus` package) scrapes `sixmin demo` on
//! loopback; its HTTP API must return the breach counter, the compliance ratio and a 95th
//! percentile from the wait histogram. `promtool check metrics` must find the exposition
//! clean.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::demo::Demo;
use common::http;

struct Prometheus {
    child: Child,
    address: String,
    _data: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn start_prometheus(target: &str) -> Prometheus {
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: sixmin\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = http::free_port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            data.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={address}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Debian's `prometheus` is installed (scripts/test installs it)");
    Prometheus {
        child,
        address,
        _data: data,
    }
}

/// Polls a PromQL query until it returns at least one sample with a finite value.
fn query_until_data(prometheus: &str, query: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = String::new();
    while Instant::now() < deadline {
        let path = format!("/api/v1/query?query={}", http::encode(query));
        if let Ok((200, body)) = http::get(prometheus, &path) {
            let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(parsed["status"], "success", "{query}: {body}");
            let results = parsed["data"]["result"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let finite = results.iter().any(|sample| {
                sample["value"][1]
                    .as_str()
                    .and_then(|value| value.parse::<f64>().ok())
                    .is_some_and(f64::is_finite)
            });
            if finite {
                return parsed;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("no data for `{query}` within the deadline; last answer: {last}");
}

#[test]
fn prometheus_scrapes_the_demo_and_answers_compliance_queries() {
    // 600x real time from 10:50: the overload episode at 11:00 comes within a minute.
    let demo = Demo::start(&[
        "--speed",
        "600",
        "--date",
        "2026-10-04",
        "--start-at",
        "10:50",
        "--refresh-ms",
        "250",
    ]);
    let prometheus = start_prometheus(&demo.address);

    let breaches = query_until_data(&prometheus.address, "sum by (rule) (sixmin_breaches_total)");
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
    query_until_data(
        &prometheus.address,
        r#"sixmin_compliance_ratio{window="day"}"#,
    );
    let p95 = query_until_data(
        &prometheus.address,
        "histogram_quantile(0.95, sum by (le, topic) (sixmin_answer_wait_seconds_bucket))",
    );
    assert!(!p95["data"]["result"].as_array().unwrap().is_empty());
    query_until_data(&prometheus.address, "sum(sixmin_live_breaches_total)");

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
