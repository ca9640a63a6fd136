//! Breach alerts end to end, with the real Prometheus and the real Alertmanager (Debian's
//! `prometheus` and `prometheus-alertmanager`) on loopback: `sixmin demo` runs through its
//! overload episode, Prometheus evaluates `deploy/prometheus/alerts.yml`, and Alertmanager,
//! configured by `deploy/alertmanager/alertmanager.yml`, delivers "a caller is waiting
//! past the limit" to the ops pager (a webhook receiver in this test) with its routing
//! labels, then its resolution once the queue has drained. A second test checks the
//! example's inhibitions on the real Alertmanager.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::alertmanager::{Alertmanager, Delivery, Webhook};
use common::demo::Demo;
use common::prometheus::{Prometheus, PrometheusSetup};

/// The alert that pages ops while a caller is still waiting.
const WAITING_PAST_LIMIT: &str = "SixminCallerWaitingPastLimit";

/// Topics of the built-in pack under the six-minute rule.
const SIX_MINUTE_TOPICS: [&str; 3] = ["fault", "billing", "cancellation"];

#[test]
fn a_caller_waiting_past_the_limit_pages_ops_and_the_page_resolves_when_the_queue_drains() {
    let mut webhook = Webhook::start();
    let alertmanager = Alertmanager::with_example_config(&webhook.url);
    // 600x real time from 10:50: the late-morning overload comes within seconds, and the
    // queues drain within a minute or two of real time after it.
    let demo = Demo::overload("2026-10-05", "250", &[]);
    let rules = common::repo_root().join("deploy/prometheus/alerts.yml");
    let _prometheus = Prometheus::start(&PrometheusSetup {
        jobs: vec![("sixmin", demo.address.clone())],
        rule_files: vec![&rules],
        alertmanager: Some(alertmanager.address.clone()),
    });

    let is_page = |delivery: &Delivery, status: &str| {
        delivery.path == "/ops/page"
            && delivery
                .alerts_named(WAITING_PAST_LIMIT)
                .iter()
                .any(|alert| alert["status"] == status)
    };
    let firing = webhook
        .wait_for(Duration::from_secs(180), |delivery| {
            is_page(delivery, "firing")
        })
        .unwrap_or_else(|| {
            panic!(
                "no page for a caller waiting past the limit; deliveries: {:#?}",
                webhook.received
            )
        });
    assert_eq!(firing.payload["receiver"], "ops-pager");
    let alert = firing
        .alerts_named(WAITING_PAST_LIMIT)
        .into_iter()
        .find(|alert| alert["status"] == "firing")
        .unwrap()
        .clone();
    let labels = &alert["labels"];
    assert_eq!(labels["severity"], "page", "{alert:#}");
    assert_eq!(labels["team"], "ops", "{alert:#}");
    let topic = labels["topic"].as_str().unwrap().to_owned();
    let tenant = labels["tenant"].as_str().unwrap().to_owned();
    assert!(!tenant.is_empty(), "{alert:#}");
    assert!(
        SIX_MINUTE_TOPICS.contains(&topic.as_str())
            || ["general", "sales", "other"].contains(&topic.as_str()),
        "a topic of the pack: {alert:#}"
    );
    let summary = alert["annotations"]["summary"].as_str().unwrap();
    assert!(
        summary.contains(&topic) && summary.contains(&tenant),
        "the summary names the queue: {summary}"
    );
    assert!(
        alert["annotations"]["runbook_url"]
            .as_str()
            .unwrap()
            .ends_with("#sixmincallerwaitingpastlimit"),
        "{alert:#}"
    );
    // The group is one tenant and topic: the page says which queue to staff.
    assert_eq!(firing.payload["groupLabels"]["topic"], topic.as_str());
    assert_eq!(firing.payload["groupLabels"]["tenant"], tenant.as_str());

    eprintln!(
        "paged for {tenant}/{topic}: {}",
        alert["annotations"]["summary"]
    );

    // Once the callers of that queue are answered (or hang up), the page resolves.
    let resolved = webhook.wait_for(Duration::from_secs(300), |delivery| {
        delivery.path == "/ops/page"
            && delivery.payload["status"] == "resolved"
            && delivery
                .alerts_named(WAITING_PAST_LIMIT)
                .iter()
                .any(|alert| {
                    alert["status"] == "resolved"
                        && alert["labels"]["topic"] == topic.as_str()
                        && alert["labels"]["tenant"] == tenant.as_str()
                })
    });
    if let Some(resolved) = &resolved {
        eprintln!("resolved: {}", resolved.payload["alerts"]);
    }
    assert!(
        resolved.is_some(),
        "the page for {tenant}/{topic} never resolved; deliveries: {:#?}",
        webhook.received
    );
}

/// An alert as Prometheus posts it to Alertmanager.
fn alert(labels: &[(&str, &str)]) -> serde_json::Value {
    let labels: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(name, value)| ((*name).to_owned(), serde_json::json!(value)))
        .collect();
    serde_json::json!({ "labels": labels, "annotations": { "summary": "test" } })
}

/// The state (`active`, `suppressed`) of the held alert with these name and label.
fn state_of(alertmanager: &Alertmanager, name: &str, label: (&str, &str)) -> String {
    let alerts = alertmanager.alerts();
    let found = alerts
        .iter()
        .find(|alert| alert["labels"]["alertname"] == name && alert["labels"][label.0] == label.1)
        .unwrap_or_else(|| panic!("{name} {label:?} is not held: {alerts:#?}"));
    found["status"]["state"].as_str().unwrap().to_owned()
}

#[test]
fn the_example_inhibits_at_risk_while_the_same_queue_pages_and_symptoms_of_a_lost_broker() {
    let mut webhook = Webhook::start();
    let alertmanager = Alertmanager::with_example_config(&webhook.url);
    alertmanager.post_alerts(&serde_json::json!([
        alert(&[
            ("alertname", WAITING_PAST_LIMIT),
            ("severity", "page"),
            ("team", "ops"),
            ("tenant", "acme"),
            ("topic", "billing")
        ]),
        alert(&[
            ("alertname", "SixminCallersAtRisk"),
            ("severity", "warning"),
            ("team", "ops"),
            ("tenant", "acme"),
            ("topic", "billing")
        ]),
        alert(&[
            ("alertname", "SixminCallersAtRisk"),
            ("severity", "warning"),
            ("team", "ops"),
            ("tenant", "acme"),
            ("topic", "fault")
        ]),
        alert(&[
            ("alertname", "SixminBrokerUnreachable"),
            ("severity", "page"),
            ("team", "platform"),
            ("instance", "a:9464")
        ]),
        alert(&[
            ("alertname", "SixminIngestionStalled"),
            ("severity", "warning"),
            ("team", "platform"),
            ("instance", "a:9464")
        ]),
        alert(&[
            ("alertname", "SixminIngestionStalled"),
            ("severity", "warning"),
            ("team", "platform"),
            ("instance", "b:9464")
        ]),
    ]));

    // At risk on billing is held back by the page on billing, not on fault.
    assert_eq!(
        state_of(&alertmanager, "SixminCallersAtRisk", ("topic", "billing")),
        "suppressed"
    );
    assert_eq!(
        state_of(&alertmanager, "SixminCallersAtRisk", ("topic", "fault")),
        "active"
    );
    // Stalled ingestion is explained by the broker on the same instance only.
    assert_eq!(
        state_of(
            &alertmanager,
            "SixminIngestionStalled",
            ("instance", "a:9464")
        ),
        "suppressed"
    );
    assert_eq!(
        state_of(
            &alertmanager,
            "SixminIngestionStalled",
            ("instance", "b:9464")
        ),
        "active"
    );

    // And what is delivered agrees: ops chat hears of fault at risk (after its 10 s group
    // wait), and never of billing at risk.
    let at_risk = |delivery: &Delivery, topic: &str| {
        delivery
            .alerts_named("SixminCallersAtRisk")
            .iter()
            .any(|alert| alert["labels"]["topic"] == topic)
    };
    let fault = webhook
        .wait_for(Duration::from_secs(60), |delivery| {
            at_risk(delivery, "fault")
        })
        .unwrap_or_else(|| panic!("no at-risk notice for fault: {:#?}", webhook.received));
    assert_eq!(fault.path, "/ops/chat");
    // Give the billing group the same time again to (wrongly) flush.
    let billing = webhook.wait_for(Duration::from_secs(15), |delivery| {
        at_risk(delivery, "billing")
    });
    assert!(
        billing.is_none(),
        "at risk on billing was delivered: {billing:#?}"
    );
    assert!(
        webhook
            .received
            .iter()
            .any(|delivery| delivery.path == "/ops/page"),
        "the page itself was delivered: {:#?}",
        webhook.received
    );
}
