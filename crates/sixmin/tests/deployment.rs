//! The production deployment in `deploy/` and the `Dockerfile` are well-formed, pinned
//! and self-consistent. No container engine runs here, so nothing is started: these
//! checks parse every file, follow every reference, and feed every `sixmin` configuration
//! and command line the deployment holds to the real binary.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;
use serde_yaml_ng::Value;

fn deploy() -> PathBuf {
    repo_root().join("deploy")
}

/// Parses one YAML document, merge keys (`<<: *anchor`) applied.
fn yaml(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut value: Value = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", path.display()));
    value.apply_merge().unwrap();
    value
}

fn str_of<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
}

/// An image reference pinned to a version: `name:tag`, the tag not `latest` and holding
/// a digit (or a digest).
fn assert_pinned(image: &str, origin: &str) {
    if image.contains("@sha256:") {
        return;
    }
    let (_, tag) = image
        .rsplit_once(':')
        .filter(|(name, _)| !name.is_empty())
        .unwrap_or_else(|| panic!("{origin}: image `{image}` has no tag"));
    assert!(
        tag != "latest" && tag.chars().any(|c| c.is_ascii_digit()) && !tag.contains('/'),
        "{origin}: image `{image}` is not pinned to a version"
    );
}

/// The product's own image tag: the crate's version.
fn product_image() -> String {
    format!("sixmin:{}", env!("CARGO_PKG_VERSION"))
}

/// Checks a `sixmin.toml` with `sixmin run --print-config` (which loads and validates it
/// exactly as the service does, and exits).
fn assert_service_config_loads(text: &str, origin: &str) {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("sixmin.toml");
    std::fs::write(&path, text).unwrap();
    let output = sixmin_command(&["run", "--config", path_str(&path), "--print-config"])
        .env_remove("SIXMIN_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{origin} is not a valid service configuration:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("kafka.bootstrap"), "{printed}");
}

/// Every `--flag` of a `sixmin` command line is one its subcommand knows.
fn assert_flags_known(args: &[String], origin: &str) {
    let subcommand = args
        .first()
        .unwrap_or_else(|| panic!("{origin}: no subcommand"));
    let help = sixmin_ok(&[subcommand.as_str(), "--help"]);
    for flag in args.iter().filter(|arg| arg.starts_with("--")) {
        let flag = flag.split('=').next().unwrap();
        assert!(
            help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
            "{origin}: `sixmin {subcommand}` has no flag {flag}"
        );
    }
}

fn string_list(value: &Value, what: &str) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("{what} is not a list"))
        .iter()
        .map(|item| str_of(item, what).to_owned())
        .collect()
}

#[test]
fn compose_services_are_pinned_and_every_file_they_mount_exists() {
    let dir = deploy();
    let compose = yaml(&dir.join("docker-compose.yml"));
    let services = compose["services"].as_mapping().unwrap();
    let names: BTreeSet<&str> = services.keys().map(|key| str_of(key, "service")).collect();
    for wanted in [
        "kafka",
        "sixmin",
        "simulator",
        "prometheus",
        "alertmanager",
        "grafana",
    ] {
        assert!(names.contains(wanted), "compose has no `{wanted}` service");
    }
    let named_volumes: BTreeSet<&str> = compose["volumes"]
        .as_mapping()
        .map(|volumes| volumes.keys().map(|key| str_of(key, "volume")).collect())
        .unwrap_or_default();
    for (name, service) in services {
        let name = str_of(name, "service");
        let origin = format!("docker-compose.yml › {name}");
        let image = str_of(&service["image"], &origin);
        assert_pinned(image, &origin);
        if service.get("build").is_some() {
            assert_eq!(image, product_image(), "{origin}: the built image's tag");
            let context = dir.join(str_of(&service["build"]["context"], &origin));
            let dockerfile = context.join(str_of(&service["build"]["dockerfile"], &origin));
            assert!(
                dockerfile.is_file(),
                "{origin}: {} missing",
                dockerfile.display()
            );
        }
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            let volume = str_of(volume, &origin);
            let source = volume.split(':').next().unwrap();
            if source.starts_with('.') || source.starts_with('/') {
                let path = dir.join(source);
                assert!(
                    path.exists(),
                    "{origin}: mounts {source}, which does not exist"
                );
            } else {
                assert!(
                    named_volumes.contains(source),
                    "{origin}: volume {source} undeclared"
                );
            }
        }
        if let Some(depends) = service["depends_on"].as_mapping() {
            for other in depends.keys() {
                assert!(
                    names.contains(str_of(other, &origin)),
                    "{origin}: {other:?}"
                );
            }
        } else if let Some(depends) = service["depends_on"].as_sequence() {
            for other in depends {
                assert!(
                    names.contains(str_of(other, &origin)),
                    "{origin}: {other:?}"
                );
            }
        }
    }
    // The product's own command lines are ones the binary accepts.
    for name in ["sixmin", "simulator"] {
        let args = string_list(&compose["services"][name]["command"], name);
        assert_flags_known(&args, &format!("docker-compose.yml › {name}"));
    }
    let mounted_config = string_list(&compose["services"]["sixmin"]["volumes"], "volumes")
        .into_iter()
        .find(|volume| volume.contains("sixmin.toml"))
        .unwrap();
    let source = mounted_config.split(':').next().unwrap();
    assert_service_config_loads(
        &std::fs::read_to_string(dir.join(source)).unwrap(),
        "deploy/sixmin/sixmin.toml",
    );
}

#[test]
fn the_dockerfile_builds_from_pinned_images_and_runs_as_an_unprivileged_user() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let from: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("FROM "))
        .collect();
    assert!(from.len() >= 2, "a multi-stage build: {from:?}");
    for stage in &from {
        let image = stage.split_whitespace().next().unwrap();
        assert_pinned(image, "Dockerfile");
    }
    let user = text
        .lines()
        .filter_map(|line| line.strip_prefix("USER "))
        .next_back()
        .expect("the Dockerfile sets a USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "runs as {user}"
    );
    assert!(text.contains("--locked"), "the build uses Cargo.lock");
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    assert!(ignore
        .lines()
        .any(|line| line.trim_matches('/') == "target"));
}

#[test]
fn prometheus_and_grafana_configurations_point_at_files_that_exist() {
    let dir = deploy();
    let prometheus = yaml(&dir.join("prometheus/prometheus.yml"));
    for file in string_list(&prometheus["rule_files"], "rule_files") {
        assert!(
            dir.join("prometheus").join(&file).is_file(),
            "rule file {file}"
        );
    }
    let jobs: Vec<&str> = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|job| str_of(&job["job_name"], "job_name"))
        .collect();
    // The alert rules select job="sixmin".
    assert!(jobs.contains(&"sixmin"), "{jobs:?}");
    let alerts = std::fs::read_to_string(dir.join("prometheus/alerts.yml")).unwrap();
    assert!(alerts.contains(r#"job="sixmin""#));

    let datasources = yaml(&dir.join("grafana/provisioning/datasources/prometheus.yml"));
    let datasource = &datasources["datasources"][0];
    assert_eq!(datasource["type"], "prometheus");
    let uid = str_of(&datasource["uid"], "datasource uid");
    for (name, dashboard) in dashboard_files() {
        let variable = dashboard["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|variable| variable["name"] == "datasource")
            .unwrap_or_else(|| panic!("{name}: no datasource variable"))
            .clone();
        assert_eq!(variable["query"], "prometheus", "{name}");
        let current = &variable["current"]["value"];
        assert!(
            current.is_null() || current == uid,
            "{name}: default data source {current} is not the provisioned `{uid}`"
        );
    }
    let providers = yaml(&dir.join("grafana/provisioning/dashboards/sixmin.yml"));
    let path = str_of(
        &providers["providers"][0]["options"]["path"],
        "provider path",
    );
    let compose = yaml(&dir.join("docker-compose.yml"));
    let mounts = string_list(
        &compose["services"]["grafana"]["volumes"],
        "grafana volumes",
    );
    assert!(
        mounts
            .iter()
            .any(|mount| mount.starts_with("../dashboards:")
                && mount.split(':').nth(1) == Some(path)),
        "the dashboards directory is mounted at {path}: {mounts:?}"
    );
}

/// Every document of every file under `deploy/kubernetes`, by kind.
fn kubernetes() -> Vec<(String, Value)> {
    let dir = deploy().join("kubernetes");
    let kustomization = yaml(&dir.join("kustomization.yaml"));
    let resources = string_list(&kustomization["resources"], "resources");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "kustomization.yaml")
        .collect();
    on_disk.sort();
    let mut listed = resources.clone();
    listed.sort();
    assert_eq!(listed, on_disk, "kustomization.yaml lists every manifest");
    let mut documents = Vec::new();
    for file in resources {
        let text = std::fs::read_to_string(dir.join(&file)).unwrap();
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = Value::deserialize(document)
                .unwrap_or_else(|error| panic!("{file} is not valid YAML: {error}"));
            let kind = str_of(&value["kind"], &file).to_owned();
            assert!(value["apiVersion"].is_string(), "{file}: apiVersion");
            assert!(
                value["metadata"]["name"].is_string(),
                "{file}: metadata.name"
            );
            documents.push((kind, value));
        }
    }
    documents
}

use serde::Deserialize;

fn one_of_kind<'a>(documents: &'a [(String, Value)], kind: &str) -> &'a Value {
    let found: Vec<&Value> = documents
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, value)| value)
        .collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0]
}

#[test]
fn kubernetes_manifests_are_complete_and_consistent() {
    let documents = kubernetes();
    let deployment = one_of_kind(&documents, "Deployment");
    let service = one_of_kind(&documents, "Service");
    let config_map = one_of_kind(&documents, "ConfigMap");
    let pod_monitor = one_of_kind(&documents, "PodMonitor");
    let rule = one_of_kind(&documents, "PrometheusRule");

    let spec = &deployment["spec"];
    assert!(spec["replicas"].as_u64().unwrap() >= 2, "several instances");
    let pod_labels = spec["template"]["metadata"]["labels"].as_mapping().unwrap();
    for (key, value) in spec["selector"]["matchLabels"].as_mapping().unwrap() {
        assert_eq!(
            pod_labels.get(key),
            Some(value),
            "the selector matches the pods"
        );
    }
    for (key, value) in service["spec"]["selector"].as_mapping().unwrap() {
        assert_eq!(
            pod_labels.get(key),
            Some(value),
            "the Service selects the pods"
        );
    }
    for (key, value) in pod_monitor["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .unwrap()
    {
        assert_eq!(
            pod_labels.get(key),
            Some(value),
            "the PodMonitor selects the pods"
        );
    }
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let containers = pod["containers"].as_sequence().unwrap();
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    let image = str_of(&container["image"], "image");
    assert_pinned(image, "deployment.yaml");
    assert_eq!(image, product_image());
    for probe in ["livenessProbe", "readinessProbe"] {
        assert!(container[probe]["httpGet"]["path"].is_string(), "{probe}");
    }
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                !container["resources"][kind][resource].is_null(),
                "resources.{kind}.{resource}"
            );
        }
    }
    let ports: Vec<&str> = container["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|port| str_of(&port["name"], "port name"))
        .collect();
    let scraped = str_of(
        &pod_monitor["spec"]["podMetricsEndpoints"][0]["port"],
        "port",
    );
    assert!(
        ports.contains(&scraped),
        "the PodMonitor scrapes port {scraped}"
    );
    assert_eq!(
        pod_monitor["spec"]["podMetricsEndpoints"][0]["relabelings"][0]["replacement"], "sixmin",
        "the alert rules select job=\"sixmin\""
    );
    let args = string_list(&container["args"], "args");
    assert_flags_known(&args, "deployment.yaml");
    let config_path = &args[args.iter().position(|arg| arg == "--config").unwrap() + 1];
    let mount = container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|mount| config_path.starts_with(str_of(&mount["mountPath"], "mountPath")))
        .expect("the configuration file is mounted");
    let volume = pod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|volume| volume["name"] == mount["name"])
        .unwrap();
    assert_eq!(
        volume["configMap"]["name"], config_map["metadata"]["name"],
        "the mounted ConfigMap is the one shipped"
    );
    let file_name = Path::new(config_path)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    assert_service_config_loads(
        str_of(&config_map["data"][file_name], "sixmin.toml"),
        "configmap.yaml › sixmin.toml",
    );

    // The PrometheusRule carries exactly the groups of alerts.yml (which promtool tests).
    let alerts = yaml(&deploy().join("prometheus/alerts.yml"));
    assert_eq!(
        rule["spec"]["groups"], alerts["groups"],
        "prometheusrule.yaml's spec.groups differ from deploy/prometheus/alerts.yml"
    );
}
