//! The checks that turn a parsed document into a [`RulePack`].
//!
//! Every check reports into one list and carries on, so a user sees all problems of a pack
//! in one run. A pack is built only when that list stays empty; the helpers below return
//! `None` for a value they rejected (and reported) or that is missing.

use std::collections::HashMap;
use std::str::FromStr;

use chrono_tz::{Tz, TZ_VARIANTS};
use sixmin_core::pack::{
    DEFAULT_ANNOUNCEMENT_RULE, DEFAULT_CALLBACK_RULE, DEFAULT_DEFAULT_RULE, DEFAULT_SMS_RULE,
    DEFAULT_TOPIC_RULE,
};
use sixmin_core::{Duty, RulePack, TopicRule};

use crate::duration::{parse_duration, DurationError};
use crate::error::{line_and_column, RawProblem};
use crate::tree::{Entry, Node, Value};

/// The keys a pack may have at its top level, in the order the docs present them.
pub(crate) const PACK_KEYS: [&str; 14] = [
    "name",
    "version",
    "timezone",
    "default_limit",
    "default_rule",
    "announcement_within",
    "announcement_rule",
    "callback_within",
    "callback_rule",
    "sms_within",
    "sms_rule",
    "orphan_timeout",
    "target_ratio",
    "topic",
];

/// The keys of a `[[topic]]` table.
pub(crate) const TOPIC_KEYS: [&str; 4] = ["id", "limit", "aliases", "rule"];

/// Keys that later versions will read (business hours, closed dates, period targets, timers
/// that start at another event). A pack using them asks for behaviour this version cannot
/// give, so it is rejected rather than half-honoured.
pub(crate) const RESERVED_KEYS: [&str; 4] = ["hours", "closed", "target", "timer_starts_at"];

/// `orphan_timeout` when the pack does not set it.
pub(crate) const DEFAULT_ORPHAN_TIMEOUT_MS: i64 = 6 * 3_600_000;

/// `target_ratio` when the pack does not set it.
pub(crate) const DEFAULT_TARGET_RATIO: f64 = 0.99;

const DURATION_HELP: &str = "write a number and a unit (`ms`, `s`, `m`, `h` or `d`), \
     for example \"3m\", \"90s\" or \"1h30m\"";
const LIMIT_ZERO_HELP: &str = "a limit must be longer than zero, for example \"3m\"";
const DOCS: &str = "docs/rule-packs.md";

/// Checks a parsed document and builds the pack, or returns every problem found.
pub(crate) fn check_pack(
    source: &str,
    root: &[Entry],
    sha256: String,
) -> Result<RulePack, Vec<RawProblem>> {
    let mut checker = Checker {
        source,
        root_keys: root.iter().map(|entry| entry.key.clone()).collect(),
        problems: Vec::new(),
    };
    let pack = checker.pack(root, sha256);
    match pack {
        Some(pack) if checker.problems.is_empty() => Ok(pack),
        _ => {
            debug_assert!(
                !checker.problems.is_empty(),
                "a pack was refused without a reason"
            );
            Err(checker.problems)
        }
    }
}

/// Which table a key belongs to, for messages about unknown keys.
#[derive(Clone, Copy)]
enum Place {
    Pack,
    Topic,
}

impl Place {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Place::Pack => &PACK_KEYS,
            Place::Topic => &TOPIC_KEYS,
        }
    }

    fn unknown_key_message(self, key: &str) -> String {
        match self {
            Place::Pack => format!("`{key}` is not a key of a rule pack"),
            Place::Topic => format!("`{key}` is not a key of a `[[topic]]`"),
        }
    }

    fn key_list(self) -> String {
        let names: Vec<String> = self
            .keys()
            .iter()
            .map(|key| match (self, *key) {
                (Place::Pack, "topic") => "`[[topic]]` tables".to_string(),
                _ => format!("`{key}`"),
            })
            .collect();
        let listed = english_list(&names);
        match self {
            Place::Pack => format!("the keys of a rule pack are {listed}"),
            Place::Topic => format!("the keys of a `[[topic]]` are {listed}"),
        }
    }
}

/// The known entries of one table, after unknown and reserved keys were reported.
struct Fields<'t>(Vec<&'t Entry>);

impl<'t> Fields<'t> {
    fn get(&self, key: &str) -> Option<&'t Entry> {
        self.0.iter().copied().find(|entry| entry.key == key)
    }
}

/// The keys of one optional duty.
struct DutyKeys {
    within_key: &'static str,
    rule_key: &'static str,
    /// The duty as messages name it, e.g. "the SMS duty".
    role: &'static str,
    default_rule: &'static str,
}

/// One use of a rule id, for the check that duties do not share ids.
struct RuleUse {
    id: String,
    /// What uses the id, e.g. "the SMS duty".
    role: String,
    /// The key that sets the id, e.g. `sms_rule`.
    key: &'static str,
    /// Where the id is written, or `None` when it is a default.
    written_at: Option<usize>,
    /// Where a clash involving this use is reported.
    report_at: usize,
    is_duty: bool,
}

/// The first place a topic id or alias was seen, for the uniqueness check.
struct NameUse {
    line: usize,
    /// The id of the topic it names, when that id is valid.
    topic: Option<String>,
}

struct Checker<'s> {
    source: &'s str,
    /// The keys of the pack's top level, to tell a misplaced pack key from a misspelt one.
    root_keys: Vec<String>,
    problems: Vec<RawProblem>,
}

impl Checker<'_> {
    fn report(&mut self, offset: usize, message: String, help: String) {
        self.problems.push(RawProblem {
            offset,
            message,
            help,
        });
    }

    fn line(&self, offset: usize) -> usize {
        line_and_column(self.source, offset).0
    }

    /// The source text of a value, cut at the end of its first line.
    fn snippet(&self, node: &Node) -> &str {
        let text = self.source.get(node.span.clone()).unwrap_or_default();
        text.lines().next().unwrap_or_default().trim_end()
    }

    /// A value as a message names it: "the number `3`", "a list".
    fn describe(&self, node: Option<&Node>) -> String {
        let Some(node) = node else {
            return "a table".to_string();
        };
        match &node.value {
            Value::String(text) => format!("the string `\"{text}\"`"),
            Value::Integer(_) | Value::Float(_) => format!("the number `{}`", self.snippet(node)),
            Value::Boolean(value) => format!("`{value}`"),
            Value::Datetime => format!("the date `{}`", self.snippet(node)),
            Value::Array(_) => "a list".to_string(),
            Value::Table(_) => "a table".to_string(),
        }
    }

    fn pack(&mut self, root: &[Entry], sha256: String) -> Option<RulePack> {
        let fields = self.fields(root, Place::Pack);

        let name = match fields.get("name") {
            Some(entry) => self.label(entry, "`name`", "`name = \"acme-internal\"`"),
            None => self.missing_at_top(
                "name",
                "add a line such as `name = \"acme-internal\"`; reports name the pack by it",
            ),
        };
        let version = match fields.get("version") {
            Some(entry) => self.label(entry, "`version`", "`version = \"2019-07\"`"),
            None => self.missing_at_top(
                "version",
                "add a line such as `version = \"2019-07\"`; reports show it next to the name",
            ),
        };
        let timezone = match fields.get("timezone") {
            Some(entry) => self.timezone(entry),
            None => self.missing_at_top(
                "timezone",
                "add a line such as `timezone = \"Asia/Jerusalem\"`; days and months are \
                 counted in this zone",
            ),
        };
        let default_limit_ms = match fields.get("default_limit") {
            Some(entry) => self.duration(entry, LIMIT_ZERO_HELP),
            None => self.missing_at_top(
                "default_limit",
                "add a line such as `default_limit = \"3m\"`; it is the wait limit of every \
                 topic not listed under `[[topic]]`",
            ),
        };
        let default_rule = self.rule_id(fields.get("default_rule"), DEFAULT_DEFAULT_RULE);
        let orphan_timeout_ms = match fields.get("orphan_timeout") {
            Some(entry) => self.duration(
                entry,
                "write a duration longer than zero, for example \"6h\"",
            ),
            None => Some(DEFAULT_ORPHAN_TIMEOUT_MS),
        };
        let target_ratio = match fields.get("target_ratio") {
            Some(entry) => self.target_ratio(entry),
            None => Some(DEFAULT_TARGET_RATIO),
        };
        let (topics, mut rule_uses) = self.topics(fields.get("topic"));

        if let Some(rule) = &default_rule {
            rule_uses.insert(
                0,
                RuleUse {
                    id: rule.clone(),
                    role: "the default wait rule".to_string(),
                    key: "default_rule",
                    written_at: fields.get("default_rule").map(Entry::value_offset),
                    report_at: 0,
                    is_duty: false,
                },
            );
        }
        let duties = [
            DutyKeys {
                within_key: "announcement_within",
                rule_key: "announcement_rule",
                role: "the announcement duty",
                default_rule: DEFAULT_ANNOUNCEMENT_RULE,
            },
            DutyKeys {
                within_key: "callback_within",
                rule_key: "callback_rule",
                role: "the callback duty",
                default_rule: DEFAULT_CALLBACK_RULE,
            },
            DutyKeys {
                within_key: "sms_within",
                rule_key: "sms_rule",
                role: "the SMS duty",
                default_rule: DEFAULT_SMS_RULE,
            },
        ];
        let [announcement, callback, sms] =
            duties.map(|keys| self.duty(&fields, &keys, &mut rule_uses));
        self.check_rule_ids(&rule_uses);

        let (Some(name), Some(version), Some(timezone), Some(default_limit_ms)) =
            (name, version, timezone, default_limit_ms)
        else {
            return None;
        };
        let (Some(default_rule), Some(orphan_timeout_ms), Some(target_ratio), Some(topics)) =
            (default_rule, orphan_timeout_ms, target_ratio, topics)
        else {
            return None;
        };
        if !self.problems.is_empty() {
            return None;
        }
        Some(RulePack::new(
            name,
            version,
            sha256,
            timezone,
            default_limit_ms,
            default_rule,
            announcement,
            callback,
            sms,
            orphan_timeout_ms,
            target_ratio,
            topics,
        ))
    }

    /// Splits a table into its known entries, reporting reserved and unknown keys.
    fn fields<'t>(&mut self, entries: &'t [Entry], place: Place) -> Fields<'t> {
        let mut known = Vec::new();
        for entry in entries {
            let key = entry.key.as_str();
            if place.keys().contains(&key) {
                known.push(entry);
            } else if RESERVED_KEYS.contains(&key) {
                self.report(
                    entry.key_span.start,
                    format!("`{key}` is not supported by this version of sixmin"),
                    format!("remove `{key}`; {DOCS} lists the keys this version reads"),
                );
            } else {
                let misplaced =
                    PACK_KEYS.contains(&key) && !self.root_keys.iter().any(|k| k == key);
                let help = match (place, closest_key(key, place.keys())) {
                    // Every key after a `[[topic]]` header belongs to that topic, so a pack
                    // key written below the topics lands here.
                    (Place::Topic, _) if misplaced => format!(
                        "`{key}` is a key of the pack: move it above the first `[[topic]]`, \
                         as every key below a `[[topic]]` header belongs to that topic"
                    ),
                    (_, Some(close)) => format!("did you mean `{close}`? {}", place.key_list()),
                    (_, None) => place.key_list(),
                };
                self.report(entry.key_span.start, place.unknown_key_message(key), help);
            }
        }
        Fields(known)
    }

    fn missing_at_top<T>(&mut self, key: &str, help: &str) -> Option<T> {
        self.report(0, format!("`{key}` is missing"), help.to_string());
        None
    }

    /// A string value; `what` names it in messages ("`name`", "an alias"). `key` is the key
    /// it is written under, or `None` for an element of a list.
    fn string<'t>(
        &mut self,
        what: &str,
        key: Option<&str>,
        node: Option<&'t Node>,
        at: usize,
    ) -> Option<&'t str> {
        if let Some(Node {
            value: Value::String(text),
            ..
        }) = node
        {
            return Some(text);
        }
        let help = match node {
            Some(
                node @ Node {
                    value: Value::Integer(_) | Value::Float(_) | Value::Boolean(_) | Value::Datetime,
                    ..
                },
            ) => match key {
                Some(key) => format!("quote it: `{key} = \"{}\"`", self.snippet(node)),
                None => format!("quote it: `\"{}\"`", self.snippet(node)),
            },
            _ => match key {
                Some(key) => format!("write a quoted string, for example `{key} = \"...\"`"),
                None => "write a quoted string".to_string(),
            },
        };
        let message = format!("{what} is {}, not a string", self.describe(node));
        self.report(at, message, help);
        None
    }

    /// A non-empty string without spaces around it: a name, a version, an id or an alias.
    fn label(&mut self, entry: &Entry, what: &str, example: &str) -> Option<String> {
        let text = self.string(
            what,
            Some(&entry.key),
            entry.value.as_ref(),
            entry.value_offset(),
        )?;
        self.check_label(text, what, example, entry.value_offset())
    }

    fn check_label(&mut self, text: &str, what: &str, example: &str, at: usize) -> Option<String> {
        if text.trim().is_empty() {
            self.report(
                at,
                format!("{what} is empty"),
                format!("write a value, for example {example}"),
            );
            return None;
        }
        if text.trim() != text {
            self.report(
                at,
                format!("{what} `\"{text}\"` starts or ends with a space"),
                "remove the spaces inside the quotes; names are compared exactly".to_string(),
            );
            return None;
        }
        Some(text.to_string())
    }

    /// A rule id, or `default` when the key is absent.
    fn rule_id(&mut self, entry: Option<&Entry>, default: &str) -> Option<String> {
        match entry {
            Some(entry) => {
                let what = format!("`{}`", entry.key);
                let example = format!("`{} = \"{default}\"`", entry.key);
                self.label(entry, &what, &example)
            }
            None => Some(default.to_string()),
        }
    }

    fn timezone(&mut self, entry: &Entry) -> Option<Tz> {
        let at = entry.value_offset();
        let text = self.label(entry, "`timezone`", "`timezone = \"Asia/Jerusalem\"`")?;
        if let Ok(timezone) = Tz::from_str(&text) {
            return Some(timezone);
        }
        let help = match suggest_timezone(&text) {
            Some(name) => format!("did you mean \"{name}\"? time zones are IANA names"),
            None => "write an IANA time zone name, for example \"Asia/Jerusalem\"".to_string(),
        };
        self.report(
            at,
            format!("`timezone` is `{text}`, not a known time zone"),
            help,
        );
        None
    }

    /// A duration in milliseconds, longer than zero.
    fn duration(&mut self, entry: &Entry, zero_help: &str) -> Option<i64> {
        let key = entry.key.as_str();
        let at = entry.value_offset();
        let text = match entry.value.as_ref() {
            Some(Node {
                value: Value::String(text),
                ..
            }) => text,
            Some(
                node @ Node {
                    value: Value::Integer(number),
                    ..
                },
            ) => {
                let message = format!("`{key}` is {}, not a duration", self.describe(Some(node)));
                let help = format!(
                    "add a unit and quotes, for example `{key} = \"{number}s\"` for {number} \
                     seconds"
                );
                self.report(at, message, help);
                return None;
            }
            node => {
                let message = format!("`{key}` is {}, not a duration", self.describe(node));
                self.report(at, message, DURATION_HELP.to_string());
                return None;
            }
        };
        let (message, help) = match parse_duration(text) {
            Ok(0) => (
                format!("`{key}` is `{text}`, which is zero"),
                zero_help.to_string(),
            ),
            Ok(millis) => return Some(millis),
            Err(DurationError::Empty) => (format!("`{key}` is empty"), DURATION_HELP.to_string()),
            Err(DurationError::Negative) => (
                format!("`{key}` is `{text}`, a negative duration"),
                "durations count forward from an event; write one longer than zero, \
                 for example \"3m\""
                    .to_string(),
            ),
            Err(DurationError::NoUnit) => (
                format!("`{key}` is `{text}`, a number without a unit"),
                format!(
                    "add a unit, for example \"{text}s\" for seconds or \"{text}m\" for minutes"
                ),
            ),
            Err(DurationError::MissingUnit { number }) => (
                format!("`{key}` is `{text}`, and `{number}` has no unit"),
                format!("add a unit after `{number}`, for example \"1h30m\""),
            ),
            Err(DurationError::Spaces) => (
                format!("`{key}` is `{text}`, a duration with spaces"),
                "write the parts without spaces, for example \"1h30m\"".to_string(),
            ),
            Err(DurationError::UnknownUnit { .. } | DurationError::Malformed) => (
                format!("`{key}` is `{text}`, not a duration"),
                DURATION_HELP.to_string(),
            ),
            Err(DurationError::FinerThanMillisecond) => (
                format!("`{key}` is `{text}`, not a whole number of milliseconds"),
                "durations are counted in whole milliseconds; round it, for example \
                 \"1500ms\" rather than \"1.5005s\""
                    .to_string(),
            ),
            Err(DurationError::TooLong) => (
                format!("`{key}` is `{text}`, longer than the longest duration"),
                "write a duration of at most \"36500d\" (about 100 years)".to_string(),
            ),
        };
        self.report(at, message, help);
        None
    }

    fn target_ratio(&mut self, entry: &Entry) -> Option<f64> {
        let at = entry.value_offset();
        let ratio = match entry.value.as_ref() {
            Some(Node {
                value: Value::Float(ratio),
                ..
            }) => *ratio,
            Some(Node {
                value: Value::Integer(ratio),
                ..
            }) => *ratio as f64,
            node => {
                let help = match node {
                    Some(Node {
                        value: Value::String(text),
                        ..
                    }) => format!("remove the quotes: `target_ratio = {text}`"),
                    _ => "write a share above 0 and at most 1, for example `target_ratio = 0.99`"
                        .to_string(),
                };
                let message = format!("`target_ratio` is {}, not a number", self.describe(node));
                self.report(at, message, help);
                return None;
            }
        };
        if ratio > 0.0 && ratio <= 1.0 {
            return Some(ratio);
        }
        let text = entry
            .value
            .as_ref()
            .map(|node| self.snippet(node))
            .unwrap_or_default();
        let help = if ratio > 1.0 && ratio <= 100.0 {
            format!(
                "write the share as a fraction: `{}` for {ratio} %",
                ratio / 100.0
            )
        } else {
            "write a share above 0 and at most 1, for example `0.99` for 99 %".to_string()
        };
        self.report(
            at,
            format!("`target_ratio` is `{text}`, not above 0 and at most 1"),
            help,
        );
        None
    }

    /// One optional duty: its `_within` key turns it on, its `_rule` key names it.
    fn duty(
        &mut self,
        fields: &Fields<'_>,
        keys: &DutyKeys,
        rule_uses: &mut Vec<RuleUse>,
    ) -> Option<Duty> {
        let DutyKeys {
            within_key,
            rule_key,
            role,
            default_rule,
        } = *keys;
        let rule_entry = fields.get(rule_key);
        let rule = self.rule_id(rule_entry, default_rule);
        let Some(within_entry) = fields.get(within_key) else {
            if let Some(rule_entry) = rule_entry {
                self.report(
                    rule_entry.key_span.start,
                    format!("`{rule_key}` is set, but `{within_key}` is missing, so the rule is never checked"),
                    format!("add `{within_key}` to check the rule, or remove `{rule_key}`"),
                );
            }
            return None;
        };
        let zero_help = format!(
            "write a duration longer than zero, or remove `{within_key}` to turn the rule off"
        );
        let within_ms = self.duration(within_entry, &zero_help);
        let rule = rule?;
        rule_uses.push(RuleUse {
            id: rule.clone(),
            role: role.to_string(),
            key: rule_key,
            written_at: rule_entry.map(Entry::value_offset),
            report_at: rule_entry.map_or(within_entry.key_span.start, Entry::value_offset),
            is_duty: true,
        });
        Some(Duty {
            within_ms: within_ms?,
            rule,
        })
    }

    /// Wait rules may share an id (every listed topic is judged by `IL-6MIN`), but a duty's
    /// id must be its own, or a report could not tell a missed callback from a slow answer.
    fn check_rule_ids(&mut self, uses: &[RuleUse]) {
        for (index, this) in uses.iter().enumerate() {
            if !this.is_duty {
                continue;
            }
            let Some(other) = uses[..index].iter().find(|other| other.id == this.id) else {
                continue;
            };
            let subject = match this.written_at {
                Some(_) => format!("`{}` is `{}`", this.key, this.id),
                None => format!("the default id of {} is `{}`", this.role, this.id),
            };
            let place = match other.written_at {
                Some(offset) => format!("on line {}", self.line(offset)),
                None => "by default".to_string(),
            };
            self.report(
                this.report_at,
                format!("{subject}, which {} uses {place}", other.role),
                "give each duty a rule id of its own, so reports tell its breaches apart"
                    .to_string(),
            );
        }
    }

    /// The `[[topic]]` tables, and the wait rule ids they use. `None` when any topic is
    /// invalid.
    fn topics(&mut self, entry: Option<&Entry>) -> (Option<Vec<TopicRule>>, Vec<RuleUse>) {
        let mut rule_uses = Vec::new();
        let Some(entry) = entry else {
            return (Some(Vec::new()), rule_uses);
        };
        const TOPIC_HELP: &str =
            "write each topic under its own `[[topic]]` header, with double brackets";
        let elements = match entry.value.as_ref() {
            Some(Node {
                value: Value::Array(elements),
                ..
            }) => elements,
            Some(Node {
                value: Value::Table(_),
                ..
            })
            | None => {
                self.report(
                    entry.key_span.start,
                    "`topic` is a single table, not a list of topics".to_string(),
                    TOPIC_HELP.to_string(),
                );
                return (None, rule_uses);
            }
            node => {
                let message = format!("`topic` is {}, not a list of topics", self.describe(node));
                self.report(entry.value_offset(), message, TOPIC_HELP.to_string());
                return (None, rule_uses);
            }
        };
        let mut names: HashMap<String, NameUse> = HashMap::new();
        let mut topics = Some(Vec::new());
        for element in elements {
            let topic = match element {
                Some(
                    node @ Node {
                        value: Value::Table(fields),
                        ..
                    },
                ) => self.topic(node, fields, &mut names, &mut rule_uses),
                other => {
                    let at = other
                        .as_ref()
                        .map_or(entry.value_offset(), |node| node.span.start);
                    let message = format!(
                        "a `topic` item is {}, not a table",
                        self.describe(other.as_ref())
                    );
                    self.report(at, message, TOPIC_HELP.to_string());
                    None
                }
            };
            match (topic, topics.as_mut()) {
                (Some(topic), Some(topics)) => topics.push(topic),
                _ => topics = None,
            }
        }
        (topics, rule_uses)
    }

    fn topic(
        &mut self,
        node: &Node,
        entries: &[Entry],
        names: &mut HashMap<String, NameUse>,
        rule_uses: &mut Vec<RuleUse>,
    ) -> Option<TopicRule> {
        let header = node.span.start;
        let fields = self.fields(entries, Place::Topic);
        let id = match fields.get("id") {
            Some(entry) => self
                .label(entry, "`id`", "`id = \"sales\"`")
                .map(|id| (id, entry.value_offset())),
            None => {
                self.report(
                    header,
                    "`[[topic]]` has no `id`".to_string(),
                    "add a line such as `id = \"sales\"` under this `[[topic]]`; calls name \
                     their topic by it"
                        .to_string(),
                );
                None
            }
        };
        let topic_name = id.as_ref().map(|(id, _)| id.clone());
        let limit_ms = match fields.get("limit") {
            Some(entry) => self.duration(entry, LIMIT_ZERO_HELP),
            None => {
                let message = match &topic_name {
                    Some(id) => format!("topic `{id}` has no `limit`"),
                    None => "`[[topic]]` has no `limit`".to_string(),
                };
                self.report(
                    header,
                    message,
                    "add a line such as `limit = \"6m\"` under this `[[topic]]`".to_string(),
                );
                None
            }
        };
        let aliases = match fields.get("aliases") {
            Some(entry) => self.aliases(entry),
            None => Some(Vec::new()),
        };
        let rule_entry = fields.get("rule");
        let rule = self.rule_id(rule_entry, DEFAULT_TOPIC_RULE);
        if let Some(rule) = &rule {
            rule_uses.push(RuleUse {
                id: rule.clone(),
                role: match &topic_name {
                    Some(id) => format!("the wait rule of topic `{id}`"),
                    None => "a topic's wait rule".to_string(),
                },
                key: "rule",
                written_at: rule_entry.map(Entry::value_offset),
                report_at: header,
                is_duty: false,
            });
        }

        // Uniqueness across all topics: every id and alias names exactly one topic.
        let mut topic_names: Vec<(&str, usize)> = Vec::new();
        if let Some((id, at)) = &id {
            topic_names.push((id, *at));
        }
        for (alias, at) in aliases.iter().flatten() {
            topic_names.push((alias, *at));
        }
        for (name, at) in topic_names {
            if let Some(first) = names.get(name) {
                let named = match &first.topic {
                    Some(topic) => format!("topic `{topic}`"),
                    None => "a topic".to_string(),
                };
                self.report(
                    at,
                    format!("`{name}` already names {named} on line {}", first.line),
                    "a topic id or alias may name one topic only; remove or rename one of the two"
                        .to_string(),
                );
            } else {
                let line = self.line(at);
                names.insert(
                    name.to_string(),
                    NameUse {
                        line,
                        topic: topic_name.clone(),
                    },
                );
            }
        }

        let (Some((id, _)), Some(limit_ms), Some(aliases), Some(rule)) =
            (id, limit_ms, aliases, rule)
        else {
            return None;
        };
        Some(TopicRule {
            id,
            limit_ms,
            rule,
            aliases: aliases.into_iter().map(|(alias, _)| alias).collect(),
        })
    }

    /// The aliases of a topic, each with its offset. `None` when any is invalid.
    fn aliases(&mut self, entry: &Entry) -> Option<Vec<(String, usize)>> {
        let elements = match entry.value.as_ref() {
            Some(Node {
                value: Value::Array(elements),
                ..
            }) => elements,
            node => {
                let help = match node {
                    Some(Node {
                        value: Value::String(text),
                        ..
                    }) => format!("write a list, even of one alias: `aliases = [\"{text}\"]`"),
                    _ => {
                        "write a list of strings, for example `aliases = [\"repair\"]`".to_string()
                    }
                };
                let message = format!(
                    "`aliases` is {}, not a list of strings",
                    self.describe(node)
                );
                self.report(entry.value_offset(), message, help);
                return None;
            }
        };
        let mut aliases = Some(Vec::new());
        for element in elements {
            let at = element
                .as_ref()
                .map_or(entry.value_offset(), |node| node.span.start);
            let alias = self
                .string("an alias", None, element.as_ref(), at)
                .and_then(|text| {
                    self.check_label(text, "an alias", "`aliases = [\"repair\"]`", at)
                });
            match (alias, aliases.as_mut()) {
                (Some(alias), Some(aliases)) => aliases.push((alias, at)),
                _ => aliases = None,
            }
        }
        aliases
    }
}

/// "`a`", "`a` and `b`", "`a`, `b` and `c`".
fn english_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The allowed key closest to a misspelt one, if it is close enough to be a likely typo.
fn closest_key(key: &str, allowed: &[&'static str]) -> Option<&'static str> {
    let lowered = key.to_lowercase();
    let max_distance = if key.chars().count() <= 3 { 1 } else { 2 };
    allowed
        .iter()
        .map(|candidate| (edit_distance(&lowered, candidate), *candidate))
        .filter(|(distance, _)| *distance <= max_distance)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// A known zone for a near miss: the same name in other case (`asia/jerusalem`), the only
/// zone whose last part matches (`Jerusalem`), or the nearest zone within two typos
/// (`Asia/Jerusalam`).
fn suggest_timezone(text: &str) -> Option<&'static str> {
    let lowered = text.to_lowercase().replace(' ', "_");
    let names = || TZ_VARIANTS.iter().map(|zone| zone.name());
    if let Some(zone) = names().find(|name| name.to_lowercase() == lowered) {
        return Some(zone);
    }
    let suffix = format!("/{lowered}");
    let mut by_city = names().filter(|name| name.to_lowercase().ends_with(&suffix));
    if let (Some(zone), None) = (by_city.next(), by_city.next()) {
        return Some(zone);
    }
    names()
        .map(|name| (edit_distance(&lowered, &name.to_lowercase()), name))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(
            closest_key("default_limt", &PACK_KEYS),
            Some("default_limit")
        );
        assert_eq!(closest_key("topics", &PACK_KEYS), Some("topic"));
        assert_eq!(closest_key("Name", &PACK_KEYS), Some("name"));
        assert_eq!(closest_key("alias", &TOPIC_KEYS), Some("aliases"));
        assert_eq!(closest_key("colour", &PACK_KEYS), None);
        assert_eq!(closest_key("x", &TOPIC_KEYS), None);
    }

    #[test]
    fn suggests_timezones_for_near_misses() {
        assert_eq!(suggest_timezone("asia/jerusalem"), Some("Asia/Jerusalem"));
        assert_eq!(suggest_timezone("Jerusalem"), Some("Asia/Jerusalem"));
        assert_eq!(suggest_timezone("new york"), Some("America/New_York"));
        assert_eq!(suggest_timezone("Asia/Jerusalam"), Some("Asia/Jerusalem"));
        assert_eq!(suggest_timezone("Mars/Olympus"), None);
        // The guide names these as rejected: abbreviations are not IANA names.
        assert!(Tz::from_str("IST").is_err());
        assert!(Tz::from_str("asia/jerusalem").is_err());
    }

    #[test]
    fn lists_read_like_english() {
        let items = |names: &[&str]| {
            names
                .iter()
                .map(|name| name.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(english_list(&items(&["a"])), "a");
        assert_eq!(english_list(&items(&["a", "b", "c"])), "a, b and c");
    }
}
