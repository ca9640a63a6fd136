//! The service configuration of `sixmin run` (`sixmin.toml`): the Kafka cluster and
//! topics, the checkpoint store, the engine and the HTTP server.
//!
//! Every field can be overridden by an environment variable `SIXMIN_<SECTION>_<FIELD>`
//! (upper case; `SIXMIN_KAFKA_GROUP_ID` sets `kafka.group_id`). Client properties passed
//! through to librdkafka live in `[kafka.client]` and are overridden by
//! `SIXMIN_KAFKA_CLIENT_<PROPERTY>` with the dots written as underscores
//! (`SIXMIN_KAFKA_CLIENT_SASL_PASSWORD` sets `sasl.password`). Secrets belong in the
//! environment or the file, never on the command line; [`ServiceConfig::describe`]
//! masks them.
//!
//! Like packs, the file is read whole and every problem is reported at once, each with
//! its `file:line:column` (or the environment variable) and what to write instead.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::error::{self, RawProblem};

/// Why a service configuration was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration `{}`", path.display())]
    Read {
        /// The file as given.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// Values are missing or wrong: every problem, each with where it is and a `help:`.
    #[error("{text}")]
    Invalid {
        /// The problems, one per line pair.
        text: String,
    },
}
use crate::tree::{self, Entry, Node, Value};

/// Where checkpoints are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointStoreKind {
    /// A local directory: one instance.
    Directory(PathBuf),
    /// A compacted Kafka topic: several instances in one group.
    Kafka {
        /// The topic.
        topic: String,
    },
}

/// How the engine clock moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Event time, and the wall clock while a partition is caught up and idle (so a
    /// caller left waiting becomes a live breach on time). The default.
    WallWhenIdle,
    /// Event time only (backfills of old events, reproducible tests).
    EventTime,
}

impl ClockMode {
    /// The value as the config file spells it.
    pub fn name(self) -> &'static str {
        match self {
            ClockMode::WallWhenIdle => "wall-when-idle",
            ClockMode::EventTime => "event-time",
        }
    }
}

/// Where a partition without a checkpoint starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The oldest event kept by the broker (the default: reports count every call).
    Earliest,
    /// Only events produced from now on.
    Latest,
}

impl StartAt {
    /// The value as the config file spells it.
    pub fn name(self) -> &'static str {
        match self {
            StartAt::Earliest => "earliest",
            StartAt::Latest => "latest",
        }
    }
}

/// The validated service configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// Kafka bootstrap servers, `host:port[,host:port…]`.
    pub bootstrap: String,
    /// The consumer group.
    pub group_id: String,
    /// The topic of call events (contract v1, key = `call_id`).
    pub events_topic: String,
    /// Where verdicts go (`outputs.md` §1); `None` when disabled (empty name).
    pub verdicts_topic: Option<String>,
    /// Where live breaches go; `None` when disabled.
    pub breaches_topic: Option<String>,
    /// Where invalid and late events go, the reason in headers; `None` when disabled.
    pub dead_letter_topic: Option<String>,
    /// librdkafka properties passed through to every client (TLS, SASL, timeouts).
    pub client: BTreeMap<String, String>,
    /// Where a partition without a checkpoint starts.
    pub start_at: StartAt,
    /// The checkpoint store.
    pub checkpoint_store: CheckpointStoreKind,
    /// How often each partition is checkpointed, milliseconds.
    pub checkpoint_interval_ms: i64,
    /// A rule pack file; `None` for the built-in pack.
    pub rules: Option<PathBuf>,
    /// The allowed lateness, milliseconds.
    pub allowed_lateness_ms: i64,
    /// The largest event accepted, bytes.
    pub max_event_bytes: usize,
    /// How the engine clock moves.
    pub clock: ClockMode,
    /// The address of `/metrics`, `/readyz` and the status page.
    pub listen: SocketAddr,
    /// How often gauges and the status page are recomputed, milliseconds.
    pub refresh_ms: i64,
    /// How long a graceful stop (SIGTERM) may take, milliseconds.
    pub shutdown_deadline_ms: i64,
}

/// The fields of the file, by section, with their defaults (`None`: required) and what
/// they hold, for messages and `docs/configuration.md`.
const FIELDS: &[(&str, &str, Option<&str>)] = &[
    ("kafka", "bootstrap", None),
    ("kafka", "group_id", Some("sixmin")),
    ("kafka", "events_topic", Some("sixmin.events")),
    ("kafka", "verdicts_topic", Some("sixmin.verdicts")),
    ("kafka", "breaches_topic", Some("sixmin.breaches")),
    ("kafka", "dead_letter_topic", Some("sixmin.dead-letters")),
    ("kafka", "start_at", Some("earliest")),
    ("checkpoint", "store", Some("directory")),
    ("checkpoint", "directory", Some("sixmin-state")),
    ("checkpoint", "topic", Some("sixmin.checkpoints")),
    ("checkpoint", "interval", Some("10s")),
    ("engine", "rules", Some("")),
    ("engine", "allowed_lateness", Some("1h")),
    ("engine", "max_event_bytes", Some("1048576")),
    ("engine", "clock", Some("wall-when-idle")),
    ("server", "listen", Some("0.0.0.0:9464")),
    ("server", "refresh", Some("1s")),
    ("server", "shutdown_deadline", Some("30s")),
];

/// Property names whose values are masked in [`ServiceConfig::describe`].
const SECRET_WORDS: &[&str] = &["password", "secret", "token", "key.pem", "jaas"];

/// Whether a client property holds a secret.
pub fn is_secret_property(name: &str) -> bool {
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// Where a value came from, for messages.
#[derive(Debug, Clone)]
enum Origin {
    /// The file, at this byte offset.
    File(usize),
    /// This environment variable.
    Env(String),
}

/// A scalar setting and its origin.
#[derive(Debug, Clone)]
struct Setting {
    text: String,
    origin: Origin,
}

/// Collects problems while reading.
struct Problems<'s> {
    origin: &'s str,
    file: Vec<RawProblem>,
    env: Vec<String>,
}

impl Problems<'_> {
    fn at(&mut self, origin: &Origin, message: String, help: String) {
        match origin {
            Origin::File(offset) => self.file.push(RawProblem {
                offset: *offset,
                message,
                help,
            }),
            Origin::Env(name) => self.env.push(format!(
                "environment variable {name}: {message}\n  help: {help}"
            )),
        }
    }
}

/// Reads `path` and applies the `SIXMIN_…` variables of `environment`.
pub fn load_service_config(
    path: &Path,
    environment: impl IntoIterator<Item = (String, String)>,
) -> Result<ServiceConfig, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_service_config(&source, &path.display().to_string(), environment)
}

/// Parses a configuration from its TOML source; `origin` names it in messages.
pub fn parse_service_config(
    source: &str,
    origin: &str,
    environment: impl IntoIterator<Item = (String, String)>,
) -> Result<ServiceConfig, ConfigError> {
    let root = tree::parse_document(source).map_err(|syntax| ConfigError::Invalid {
        text: error::invalid(origin, source, vec![crate::syntax_problem(source, &syntax)])
            .to_string(),
    })?;
    let mut problems = Problems {
        origin,
        file: Vec::new(),
        env: Vec::new(),
    };
    let mut settings: BTreeMap<(String, String), Setting> = BTreeMap::new();
    let mut client: BTreeMap<String, Setting> = BTreeMap::new();
    read_file(&root, &mut settings, &mut client, &mut problems);
    read_environment(environment, &mut settings, &mut client, &mut problems);
    let config = resolve(&settings, &client, &mut problems);
    if problems.file.is_empty() && problems.env.is_empty() {
        if let Some(config) = config {
            return Ok(config);
        }
    }
    let mut lines = Vec::new();
    if !problems.file.is_empty() {
        lines.push(error::invalid(problems.origin, source, problems.file).to_string());
    }
    lines.extend(problems.env);
    Err(ConfigError::Invalid {
        text: lines.join("\n"),
    })
}

fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::String(text) => Some(text.clone()),
        Value::Integer(number) => Some(number.to_string()),
        Value::Boolean(flag) => Some(flag.to_string()),
        Value::Float(number) => Some(number.to_string()),
        _ => None,
    }
}

fn read_file(
    sections: &[Entry],
    settings: &mut BTreeMap<(String, String), Setting>,
    client: &mut BTreeMap<String, Setting>,
    problems: &mut Problems<'_>,
) {
    let known_sections = ["kafka", "checkpoint", "engine", "server"];
    for section in sections {
        if !known_sections.contains(&section.key.as_str()) {
            problems.at(
                &Origin::File(section.key_span.start),
                format!("unknown section `{}`", section.key),
                format!("the sections are {}", backticked(&known_sections)),
            );
            continue;
        }
        let Some(Node {
            value: Value::Table(entries),
            ..
        }) = &section.value
        else {
            problems.at(
                &Origin::File(section.value_offset()),
                format!("`{}` must be a table", section.key),
                format!(
                    "write `[{}]` on a line of its own, then its fields",
                    section.key
                ),
            );
            continue;
        };
        for entry in entries {
            read_entry(&section.key, entry, settings, client, problems);
        }
    }
}

fn read_entry(
    section: &str,
    entry: &Entry,
    settings: &mut BTreeMap<(String, String), Setting>,
    client: &mut BTreeMap<String, Setting>,
    problems: &mut Problems<'_>,
) {
    if section == "kafka" && entry.key == "client" {
        read_client_table(entry, client, problems);
        return;
    }
    let known: Vec<&str> = FIELDS
        .iter()
        .filter(|(s, ..)| *s == section)
        .map(|(_, field, _)| *field)
        .collect();
    if !known.contains(&entry.key.as_str()) {
        let mut all = known.clone();
        if section == "kafka" {
            all.push("client");
        }
        problems.at(
            &Origin::File(entry.key_span.start),
            format!("unknown field `{}` in `[{section}]`", entry.key),
            format!("the fields of `[{section}]` are {}", backticked(&all)),
        );
        return;
    }
    match entry.value.as_ref().and_then(scalar_text) {
        Some(text) => {
            settings.insert(
                (section.to_owned(), entry.key.clone()),
                Setting {
                    text,
                    origin: Origin::File(entry.value_offset()),
                },
            );
        }
        None => problems.at(
            &Origin::File(entry.value_offset()),
            format!("`{section}.{}` must be a string or a number", entry.key),
            "write it as `key = \"value\"`".to_owned(),
        ),
    }
}

fn read_client_table(
    entry: &Entry,
    client: &mut BTreeMap<String, Setting>,
    problems: &mut Problems<'_>,
) {
    let Some(Node {
        value: Value::Table(properties),
        ..
    }) = &entry.value
    else {
        problems.at(
            &Origin::File(entry.value_offset()),
            "`kafka.client` must be a table of librdkafka properties".to_owned(),
            "write `[kafka.client]` and then lines like `\"security.protocol\" = \"SASL_SSL\"`"
                .to_owned(),
        );
        return;
    };
    for property in properties {
        match property.value.as_ref().and_then(scalar_text) {
            Some(text) => {
                client.insert(
                    property.key.clone(),
                    Setting {
                        text,
                        origin: Origin::File(property.value_offset()),
                    },
                );
            }
            None => problems.at(
                &Origin::File(property.value_offset()),
                format!("client property `{}` must be a string", property.key),
                "librdkafka properties are strings, e.g. `\"session.timeout.ms\" = \"10000\"`"
                    .to_owned(),
            ),
        }
    }
}

/// Variables the other commands use, which are not configuration fields.
const NOT_FIELDS: &[&str] = &[
    "SIXMIN_GENERATED_AT",
    "SIXMIN_BLESS",
    "SIXMIN_CONFIG",
    "SIXMIN_LOG",
    "SIXMIN_LOG_FORMAT",
];

fn read_environment(
    environment: impl IntoIterator<Item = (String, String)>,
    settings: &mut BTreeMap<(String, String), Setting>,
    client: &mut BTreeMap<String, Setting>,
    problems: &mut Problems<'_>,
) {
    for (name, value) in environment {
        let Some(rest) = name.strip_prefix("SIXMIN_") else {
            continue;
        };
        if NOT_FIELDS.contains(&name.as_str()) {
            continue;
        }
        let origin = Origin::Env(name.clone());
        if let Some(property) = rest.strip_prefix("KAFKA_CLIENT_") {
            let property = property.to_ascii_lowercase().replace('_', ".");
            client.insert(
                property,
                Setting {
                    text: value,
                    origin,
                },
            );
            continue;
        }
        let lower = rest.to_ascii_lowercase();
        let field = FIELDS.iter().find(|(section, field, _)| {
            lower
                .strip_prefix(section)
                .and_then(|tail| tail.strip_prefix('_'))
                == Some(field)
        });
        match field {
            Some((section, field, _)) => {
                settings.insert(
                    ((*section).to_owned(), (*field).to_owned()),
                    Setting {
                        text: value,
                        origin,
                    },
                );
            }
            None => problems.at(
                &origin,
                "not a configuration field".to_owned(),
                format!(
                    "the variables are SIXMIN_<SECTION>_<FIELD>, e.g. {}; client properties \
                     are SIXMIN_KAFKA_CLIENT_<PROPERTY>",
                    FIELDS
                        .iter()
                        .take(3)
                        .map(|(s, f, _)| format!("SIXMIN_{}_{}", s, f).to_ascii_uppercase())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
}

/// Reads each field, parsing it and reporting a bad value where it was set.
struct Resolver<'a, 'p, 's> {
    settings: &'a BTreeMap<(String, String), Setting>,
    problems: &'p mut Problems<'s>,
    missing_origin: Origin,
}

impl Resolver<'_, '_, '_> {
    fn text(&mut self, section: &str, field: &str) -> Option<(String, Origin)> {
        if let Some(setting) = self.settings.get(&(section.to_owned(), field.to_owned())) {
            return Some((setting.text.clone(), setting.origin.clone()));
        }
        let default = FIELDS
            .iter()
            .find(|(s, f, _)| *s == section && *f == field)
            .and_then(|(.., default)| *default);
        match default {
            Some(text) => Some((text.to_owned(), self.missing_origin.clone())),
            None => {
                let origin = self.missing_origin.clone();
                self.problems.at(
                    &origin,
                    format!("`{section}.{field}` is required"),
                    format!(
                        "add `{field} = \"…\"` under `[{section}]`, or set SIXMIN_{}_{}",
                        section.to_ascii_uppercase(),
                        field.to_ascii_uppercase()
                    ),
                );
                None
            }
        }
    }

    fn parsed<T>(
        &mut self,
        section: &str,
        field: &str,
        parse: impl Fn(&str) -> Result<T, String>,
        help: &str,
    ) -> Option<T> {
        let (text, origin) = self.text(section, field)?;
        match parse(&text) {
            Ok(value) => Some(value),
            Err(message) => {
                self.problems.at(
                    &origin,
                    format!("`{section}.{field}` = \"{text}\": {message}"),
                    help.to_owned(),
                );
                None
            }
        }
    }

    fn duration(&mut self, section: &str, field: &str) -> Option<i64> {
        self.parsed(
            section,
            field,
            |text| match crate::duration::parse_duration(text) {
                Ok(ms) if ms > 0 => Ok(ms),
                _ => Err("not a positive duration".to_owned()),
            },
            "write a number and a unit (ms, s, m, h), e.g. \"10s\" or \"1h30m\"",
        )
    }

    fn topic(&mut self, section: &str, field: &str, optional: bool) -> Option<Option<String>> {
        self.parsed(
            section,
            field,
            |text| {
                if text.is_empty() && optional {
                    return Ok(None);
                }
                let valid = !text.is_empty()
                    && text.len() <= 249
                    && text
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
                if valid {
                    Ok(Some(text.to_owned()))
                } else {
                    Err("not a Kafka topic name".to_owned())
                }
            },
            if optional {
                "topic names are 1 to 249 of `a-z A-Z 0-9 . _ -`; \"\" turns this output off"
            } else {
                "topic names are 1 to 249 of `a-z A-Z 0-9 . _ -`"
            },
        )
    }
}

fn resolve(
    settings: &BTreeMap<(String, String), Setting>,
    client: &BTreeMap<String, Setting>,
    problems: &mut Problems<'_>,
) -> Option<ServiceConfig> {
    let mut r = Resolver {
        settings,
        problems,
        missing_origin: Origin::File(0),
    };
    let bootstrap = r.parsed(
        "kafka",
        "bootstrap",
        |text| {
            if text.trim().is_empty() {
                Err("empty".to_owned())
            } else {
                Ok(text.to_owned())
            }
        },
        "write the brokers as `host:port`, several separated by commas",
    );
    let group_id = r.parsed(
        "kafka",
        "group_id",
        |text| {
            if text.is_empty() {
                Err("empty".to_owned())
            } else {
                Ok(text.to_owned())
            }
        },
        "name the consumer group, e.g. \"sixmin\"",
    );
    let events_topic = r.topic("kafka", "events_topic", false).flatten();
    let verdicts_topic = r.topic("kafka", "verdicts_topic", true);
    let breaches_topic = r.topic("kafka", "breaches_topic", true);
    let dead_letter_topic = r.topic("kafka", "dead_letter_topic", true);
    let start_at = r.parsed(
        "kafka",
        "start_at",
        |text| match text {
            "earliest" => Ok(StartAt::Earliest),
            "latest" => Ok(StartAt::Latest),
            _ => Err("unknown start".to_owned()),
        },
        "write \"earliest\" (every event the broker keeps) or \"latest\"",
    );
    let store_kind = r.parsed(
        "checkpoint",
        "store",
        |text| match text {
            "directory" | "kafka" => Ok(text.to_owned()),
            _ => Err("unknown store".to_owned()),
        },
        "write \"directory\" (one instance) or \"kafka\" (several instances in one group)",
    );
    let directory = r.text("checkpoint", "directory").map(|(text, _)| text);
    let checkpoint_topic = r.topic("checkpoint", "topic", false).flatten();
    let checkpoint_interval_ms = r.duration("checkpoint", "interval");
    let rules = r
        .text("engine", "rules")
        .map(|(text, _)| (!text.is_empty()).then(|| PathBuf::from(text)));
    let allowed_lateness_ms = r.duration("engine", "allowed_lateness");
    let max_event_bytes = r.parsed(
        "engine",
        "max_event_bytes",
        |text| match text.parse::<usize>() {
            Ok(bytes) if bytes >= 1024 => Ok(bytes),
            _ => Err("not a size of at least 1024 bytes".to_owned()),
        },
        "write a number of bytes, e.g. 1048576",
    );
    let clock = r.parsed(
        "engine",
        "clock",
        |text| match text {
            "wall-when-idle" => Ok(ClockMode::WallWhenIdle),
            "event-time" => Ok(ClockMode::EventTime),
            _ => Err("unknown clock".to_owned()),
        },
        "write \"wall-when-idle\" (live monitoring) or \"event-time\" (backfills)",
    );
    let listen = r.parsed(
        "server",
        "listen",
        |text| {
            text.parse::<SocketAddr>()
                .map_err(|_| "not an address".to_owned())
        },
        "write `IP:port`, e.g. \"0.0.0.0:9464\"",
    );
    let refresh_ms = r.duration("server", "refresh");
    let shutdown_deadline_ms = r.duration("server", "shutdown_deadline");
    let checkpoint_store = match store_kind.as_deref() {
        Some("kafka") => CheckpointStoreKind::Kafka {
            topic: checkpoint_topic?,
        },
        _ => CheckpointStoreKind::Directory(PathBuf::from(directory?)),
    };
    Some(ServiceConfig {
        bootstrap: bootstrap?,
        group_id: group_id?,
        events_topic: events_topic?,
        verdicts_topic: verdicts_topic?,
        breaches_topic: breaches_topic?,
        dead_letter_topic: dead_letter_topic?,
        client: client
            .iter()
            .map(|(name, setting)| (name.clone(), setting.text.clone()))
            .collect(),
        start_at: start_at?,
        checkpoint_store,
        checkpoint_interval_ms: checkpoint_interval_ms?,
        rules: rules?,
        allowed_lateness_ms: allowed_lateness_ms?,
        max_event_bytes: max_event_bytes?,
        clock: clock?,
        listen: listen?,
        refresh_ms: refresh_ms?,
        shutdown_deadline_ms: shutdown_deadline_ms?,
    })
}

fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ServiceConfig {
    /// The effective configuration for logs and `sixmin run --print-config`, secrets
    /// masked.
    pub fn describe(&self) -> String {
        let optional = |topic: &Option<String>| topic.clone().unwrap_or_else(|| "(off)".into());
        let store = match &self.checkpoint_store {
            CheckpointStoreKind::Directory(path) => format!("directory {}", path.display()),
            CheckpointStoreKind::Kafka { topic } => format!("kafka topic {topic}"),
        };
        let mut lines = vec![
            format!("kafka.bootstrap          {}", self.bootstrap),
            format!("kafka.group_id           {}", self.group_id),
            format!("kafka.events_topic       {}", self.events_topic),
            format!(
                "kafka.verdicts_topic     {}",
                optional(&self.verdicts_topic)
            ),
            format!(
                "kafka.breaches_topic     {}",
                optional(&self.breaches_topic)
            ),
            format!(
                "kafka.dead_letter_topic  {}",
                optional(&self.dead_letter_topic)
            ),
            format!("kafka.start_at           {}", self.start_at.name()),
            format!("checkpoint.store         {store}"),
            format!(
                "checkpoint.interval      {} ms",
                self.checkpoint_interval_ms
            ),
            format!(
                "engine.rules             {}",
                self.rules
                    .as_ref()
                    .map_or("built-in".into(), |path| path.display().to_string())
            ),
            format!("engine.allowed_lateness  {} ms", self.allowed_lateness_ms),
            format!("engine.max_event_bytes   {}", self.max_event_bytes),
            format!("engine.clock             {}", self.clock.name()),
            format!("server.listen            {}", self.listen),
            format!("server.refresh           {} ms", self.refresh_ms),
            format!("server.shutdown_deadline {} ms", self.shutdown_deadline_ms),
        ];
        for (name, value) in &self.client {
            let shown = if is_secret_property(name) {
                "********"
            } else {
                value.as_str()
            };
            lines.push(format!("kafka.client.{name} = {shown}"));
        }
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(source: &str, env: &[(&str, &str)]) -> Result<ServiceConfig, ConfigError> {
        parse_service_config(
            source,
            "sixmin.toml",
            env.iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        )
    }

    #[test]
    fn defaults_fill_what_is_not_written() {
        let config = parse("[kafka]\nbootstrap = \"k:9092\"\n", &[]).unwrap();
        assert_eq!(config.group_id, "sixmin");
        assert_eq!(config.verdicts_topic.as_deref(), Some("sixmin.verdicts"));
        assert_eq!(config.checkpoint_interval_ms, 10_000);
        assert_eq!(config.clock, ClockMode::WallWhenIdle);
        assert_eq!(
            config.checkpoint_store,
            CheckpointStoreKind::Directory("sixmin-state".into())
        );
    }

    #[test]
    fn environment_overrides_the_file_and_sets_client_properties() {
        let config = parse(
            "[kafka]\nbootstrap = \"k:9092\"\ngroup_id = \"a\"\n",
            &[
                ("SIXMIN_KAFKA_GROUP_ID", "b"),
                ("SIXMIN_CHECKPOINT_STORE", "kafka"),
                ("SIXMIN_KAFKA_CLIENT_SASL_PASSWORD", "hunter2"),
                ("SIXMIN_KAFKA_VERDICTS_TOPIC", ""),
                ("PATH", "/bin"),
            ],
        )
        .unwrap();
        assert_eq!(config.group_id, "b");
        assert_eq!(config.verdicts_topic, None);
        assert_eq!(
            config.checkpoint_store,
            CheckpointStoreKind::Kafka {
                topic: "sixmin.checkpoints".into()
            }
        );
        assert_eq!(config.client["sasl.password"], "hunter2");
        let described = config.describe();
        assert!(!described.contains("hunter2"), "{described}");
        assert!(described.contains("kafka.client.sasl.password = ********"));
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_a_fix() {
        let error = parse(
            "[kafka]\nbootstrap = \"k:9092\"\ngroupid = \"x\"\n[checkpoint]\ninterval = \"10x\"\n[engine]\nclock = \"sundial\"\n",
            &[("SIXMIN_SERVER_LISTEN", "nowhere")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("sixmin.toml:3:1: unknown field `groupid` in `[kafka]`"),
            "{error}"
        );
        assert!(
            error.contains("sixmin.toml:5:12: `checkpoint.interval` = \"10x\""),
            "{error}"
        );
        assert!(
            error.contains("sixmin.toml:7:9: `engine.clock` = \"sundial\""),
            "{error}"
        );
        assert!(
            error.contains("environment variable SIXMIN_SERVER_LISTEN"),
            "{error}"
        );
        assert_eq!(error.matches("help:").count(), 4, "{error}");
    }

    #[test]
    fn a_missing_bootstrap_is_named() {
        let error = parse("[kafka]\n", &[]).unwrap_err().to_string();
        assert!(error.contains("`kafka.bootstrap` is required"), "{error}");
        assert!(error.contains("SIXMIN_KAFKA_BOOTSTRAP"), "{error}");
    }
}
