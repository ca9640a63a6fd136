//! The real Prometheus server (Debian's `prometheus` package) on loopback, for tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::http;

/// A running Prometheus; killed when dropped.
pub struct Prometheus {
    child: Child,
    /// `host:port` of its HTTP API.
    pub address: String,
    _data: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// What a test Prometheus scrapes, evaluates and notifies.
#[derive(Default)]
pub struct PrometheusSetup<'a> {
    /// Scrape targets: (job name, `host:port`); targets of one job name share its job.
    pub jobs: Vec<(&'a str, String)>,
    /// Rule files to load.
    pub rule_files: Vec<&'a Path>,
    /// `host:port` of an Alertmanager to send alerts to.
    pub alertmanager: Option<String>,
}

impl Prometheus {
    /// Starts Prometheus scraping one `sixmin` target every second.
    pub fn scraping(target: &str) -> Prometheus {
        Prometheus::start(&PrometheusSetup {
            jobs: vec![("sixmin", target.to_owned())],
            ..PrometheusSetup::default()
        })
    }

    /// Starts Prometheus with a 1 s scrape and evaluation interval.
    pub fn start(setup: &PrometheusSetup<'_>) -> Prometheus {
        let data = tempfile::tempdir().unwrap();
        let mut config =
            String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n");
        if !setup.rule_files.is_empty() {
            config.push_str("rule_files:\n");
            for file in &setup.rule_files {
                config.push_str(&format!("  - '{}'\n", file.display()));
            }
        }
        if let Some(alertmanager) = &setup.alertmanager {
            config.push_str(&format!(
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{alertmanager}']\n"
            ));
        }
        config.push_str("scrape_configs:\n");
        let mut jobs: Vec<(&str, Vec<&str>)> = Vec::new();
        for (job, target) in &setup.jobs {
            match jobs.iter_mut().find(|(name, _)| name == job) {
                Some((_, targets)) => targets.push(target),
                None => jobs.push((job, vec![target])),
            }
        }
        for (job, targets) in jobs {
            let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ));
        }
        let config_path = data.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let address = format!("127.0.0.1:{}", http::free_port());
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(data.path().join("prometheus.log")).unwrap())
            .spawn()
            .expect("Debian's `prometheus` is installed (scripts/test installs it)");
        let mut prometheus = Prometheus {
            child,
            address,
            _data: data,
        };
        prometheus.wait_until_ready();
        prometheus
    }

    /// Waits for `/-/ready`; fails with Prometheus's log if it exits or never gets there.
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if matches!(http::get(&self.address, "/-/ready"), Ok((200, _))) {
                return;
            }
            let log = || {
                std::fs::read_to_string(self._data.path().join("prometheus.log"))
                    .unwrap_or_default()
            };
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited ({status}):\n{}", log());
            }
            assert!(
                Instant::now() < deadline,
                "prometheus is not ready:\n{}",
                log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs an instant query; returns the parsed answer (any status).
    pub fn query(&self, query: &str) -> serde_json::Value {
        let path = format!("/api/v1/query?query={}", http::encode(query));
        let (_, body) = http::get(&self.address, &path).unwrap();
        serde_json::from_str(&body)
            .unwrap_or_else(|_| serde_json::json!({ "status": "unreadable", "body": body }))
    }

    /// Polls a PromQL query until it returns at least one sample with a finite value.
    pub fn query_until_data(&self, query: &str, within: Duration) -> serde_json::Value {
        let deadline = Instant::now() + within;
        let mut last = String::new();
        while Instant::now() < deadline {
            let path = format!("/api/v1/query?query={}", http::encode(query));
            if let Ok((200, body)) = http::get(&self.address, &path) {
                let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(parsed["status"], "success", "{query}: {body}");
                if has_finite_sample(&parsed) {
                    return parsed;
                }
                last = body;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("no data for `{query}` within {within:?}; last answer: {last}");
    }

    /// Grafana's `label_values(SELECTOR, LABEL)` → the values Prometheus lists for it.
    pub fn label_values(&self, query: &str) -> Vec<String> {
        let inner = query
            .trim()
            .strip_prefix("label_values(")
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("not a label_values query: {query}"));
        let (selector, label) = inner.rsplit_once(',').unwrap();
        let path = format!(
            "/api/v1/label/{}/values?match[]={}",
            label.trim(),
            http::encode(selector.trim())
        );
        self.strings_at(&path)
    }

    /// Every metric name Prometheus holds.
    pub fn known_names(&self) -> std::collections::BTreeSet<String> {
        self.strings_at("/api/v1/label/__name__/values")
            .into_iter()
            .collect()
    }

    /// The `data` list of strings of a label-values API answer.
    fn strings_at(&self, path: &str) -> Vec<String> {
        let (status, body) = http::get(&self.address, path).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        answer["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| value.as_str().unwrap().to_owned())
            .collect()
    }
}

/// Whether a query answer holds a sample (vector or scalar) with a finite value.
pub fn has_finite_sample(answer: &serde_json::Value) -> bool {
    let finite = |value: &serde_json::Value| {
        value[1]
            .as_str()
            .and_then(|value| value.parse::<f64>().ok())
            .is_some_and(f64::is_finite)
    };
    let result = &answer["data"]["result"];
    match answer["data"]["resultType"].as_str() {
        Some("scalar") => finite(result),
        _ => result
            .as_array()
            .is_some_and(|samples| samples.iter().any(|sample| finite(&sample["value"]))),
    }
}
