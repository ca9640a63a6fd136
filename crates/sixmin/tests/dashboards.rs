//! Every query of every Grafana dashboard (`dashboards/*.json`) runs against the real
//! Prometheus (Debian's `prometheus`) scraping both faces of the product: `sixmin demo`
//! through its overload episode (callers waiting, at risk, past the limit, breaches) and
//! `sixmin run` consuming simulated calls from a real Kafka-protocol broker (lag,
//! checkpoints, partitions, dead letters). Template variables are substituted as Grafana
//! would; each panel query must succeed and return data, each variable query must list
//! values, and every metric a dashboard names must be one the exporter (or the recording
//! rules of `deploy/prometheus/alerts.yml`) publishes.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::broker::{unique_topic, Broker};
use common::demo::Demo;
use common::prometheus::{has_finite_sample, Prometheus, PrometheusSetup};
use common::service::{write_config, Service};
use common::*;
use serde_json::Value;

/// One query of a dashboard, with where it comes from.
#[derive(Debug, Clone)]
struct Query {
    /// `file › panel title › refId`, for failure messages.
    origin: String,
    /// The PromQL (or Grafana `label_values(…)`) text, variables still in.
    text: String,
    /// Whether it must return data (annotations of alerts need not: none may fire).
    needs_data: bool,
    /// A template variable's query (`label_values`), not PromQL.
    variable: bool,
}

/// Panels, with the panels of rows (collapsed or not) included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, into: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            into.push(panel);
            walk(&panel["panels"], into);
        }
    }
    let mut all = Vec::new();
    walk(&dashboard["panels"], &mut all);
    all
}

fn queries(name: &str, dashboard: &Value) -> Vec<Query> {
    let mut found = Vec::new();
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let Some(expr) = target["expr"].as_str() else {
                continue;
            };
            found.push(Query {
                origin: format!("{name} › {} › {}", panel["title"], target["refId"]),
                text: expr.to_owned(),
                needs_data: true,
                variable: false,
            });
        }
    }
    for annotation in dashboard["annotations"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(expr) = annotation["expr"].as_str() {
            found.push(Query {
                origin: format!("{name} › annotation {}", annotation["name"]),
                text: expr.to_owned(),
                needs_data: false,
                variable: false,
            });
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if variable["type"] != "query" {
            continue;
        }
        let text = variable["query"]["query"]
            .as_str()
            .or(variable["query"].as_str())
            .unwrap_or_else(|| panic!("{name}: variable {} has no query", variable["name"]));
        found.push(Query {
            origin: format!("{name} › variable {}", variable["name"]),
            text: text.to_owned(),
            needs_data: true,
            variable: true,
        });
    }
    found
}

/// The query as Grafana sends it: every tenant and topic selected (`All` is `.*`), the
/// intervals of a one-hour view scraped every second.
fn substitute(query: &str) -> String {
    query
        .replace("${tenant}", ".*")
        .replace("$tenant", ".*")
        .replace("${topic}", ".*")
        .replace("$topic", ".*")
        .replace("$__rate_interval", "30s")
        .replace("$__interval", "15s")
        .replace("$__range", "1h")
}

/// The metric names a query mentions: `sixmin_…`, `sixmin:…` (recording rules) and
/// `process_…`.
fn metric_names(query: &str) -> BTreeSet<String> {
    let bytes = query.as_bytes();
    let mut names = BTreeSet::new();
    let mut start = 0;
    while start < bytes.len() {
        let rest = &query[start..];
        let at_word_start =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if at_word_start
            && (rest.starts_with("sixmin_")
                || rest.starts_with("sixmin:")
                || rest.starts_with("process_"))
        {
            let length = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            names.insert(rest[..length].to_owned());
            start += length;
        } else {
            start += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    names
}

/// `sixmin run` judging a simulated day from a real broker, read to its end.
fn kafka_service(work: &Path, broker: &Broker) -> Service {
    let topic = unique_topic("sixmin-dashboards");
    broker.create_topic(&topic, 2);
    sixmin_ok(&[
        "simulate",
        "--date",
        "2026-10-05",
        "--calls-per-day",
        "400",
        "--kafka",
        &broker.bootstrap,
        "--topic",
        &topic,
    ]);
    let config = write_config(work, "service", &broker.bootstrap, &topic, "directory", &[]);
    let mut service = Service::start(&config, &[]);
    service.wait_until(
        "every partition read",
        Duration::from_secs(120),
        |service| service.metric("sixmin_kafka_partitions_caught_up") == Some(2.0),
    );
    service
}

#[test]
fn every_dashboard_query_returns_data_from_the_real_prometheus() {
    let work = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let service = kafka_service(work.path(), &broker);
    let demo = Demo::overload("2026-10-05", "250", &[]);
    let rules = repo_root().join("deploy/prometheus/alerts.yml");
    let prometheus = Prometheus::start(&PrometheusSetup {
        jobs: vec![
            ("sixmin", demo.address.clone()),
            ("sixmin", service.address.clone()),
        ],
        rule_files: vec![&rules],
        alertmanager: None,
    });

    let all: Vec<Query> = dashboard_files()
        .iter()
        .flat_map(|(name, dashboard)| queries(name, dashboard))
        .collect();
    assert!(all.len() >= 60, "the dashboards hold {} queries", all.len());

    // Poll until every query has data; an error fails at once.
    let deadline = Instant::now() + Duration::from_secs(360);
    let mut waiting: Vec<&Query> = all.iter().collect();
    while !waiting.is_empty() {
        waiting.retain(|query| {
            let text = substitute(&query.text);
            if query.variable {
                return prometheus.label_values(&text).is_empty();
            }
            let answer = prometheus.query(&text);
            assert_eq!(
                answer["status"], "success",
                "{}: `{text}` fails: {answer}",
                query.origin
            );
            query.needs_data && !has_finite_sample(&answer)
        });
        if waiting.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no data within 360 s for: {:#?}",
            waiting
                .iter()
                .map(|query| format!("{}: {}", query.origin, substitute(&query.text)))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_secs(2));
    }

    // Every metric a dashboard names is one that is published.
    let known = prometheus.known_names();
    let mut named = BTreeSet::new();
    for query in &all {
        for name in metric_names(&query.text) {
            assert!(
                known.contains(&name),
                "{} names `{name}`, which neither sixmin nor the recording rules publish",
                query.origin
            );
            named.insert(name);
        }
    }
    eprintln!(
        "{} dashboard queries returned data; {} metric names checked",
        all.len(),
        named.len()
    );
    // The check above can fail: a name the exporter never had is caught.
    let made_up = metric_names("sum(rate(sixmin_calls_answered_total[5m])) / sixmin:ratio");
    assert!(
        made_up.iter().all(|name| !known.contains(name)),
        "{made_up:?}"
    );
    assert_eq!(made_up.len(), 2);
    drop(service);
}

#[test]
fn the_dashboards_are_well_formed_for_grafana() {
    let found = dashboard_files();
    assert_eq!(
        found
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        [
            "compliance.json",
            "live-operations.json",
            "service-health.json"
        ]
    );
    let mut uids = BTreeSet::new();
    for (name, dashboard) in &found {
        let uid = dashboard["uid"].as_str().unwrap();
        assert!(
            uids.insert(uid.to_owned()),
            "{name}: uid {uid} is used twice"
        );
        let hebrew = |text: &str| text.chars().any(|c| ('\u{05d0}'..='\u{05ea}').contains(&c));
        assert!(
            hebrew(dashboard["title"].as_str().unwrap()),
            "{name}: title"
        );
        let variables: Vec<&str> = dashboard["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|variable| variable["name"].as_str().unwrap())
            .collect();
        assert!(variables.contains(&"datasource"), "{name}: {variables:?}");
        let mut ids = BTreeSet::new();
        for panel in panels(dashboard) {
            let title = panel["title"].as_str().unwrap();
            assert!(
                ids.insert(panel["id"].as_i64().unwrap()),
                "{name}: id of {title}"
            );
            if panel["type"] == "row" {
                continue;
            }
            assert!(hebrew(title), "{name}: `{title}` has no Hebrew term");
            assert!(
                !panel["description"].as_str().unwrap_or("").is_empty(),
                "{name}: `{title}` has no description"
            );
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "{name}: {title}"
            );
            for target in panel["targets"].as_array().unwrap() {
                assert!(
                    target["expr"].as_str().is_some_and(|e| !e.is_empty()),
                    "{name}: {title}"
                );
            }
        }
        for variable in ["tenant", "topic"] {
            if name != "service-health.json" {
                assert!(variables.contains(&variable), "{name}: {variable}");
            }
        }
    }
}
