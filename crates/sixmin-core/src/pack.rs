//! The rule pack as the engine uses it: topics, limits, rule ids and duties.
//!
//! A pack is parsed and validated elsewhere (`sixmin-config` reads the TOML format); this
//! module holds the checked, ready-to-use form and the lookups the engine needs per call.

use chrono_tz::Tz;
use rustc_hash::FxHashMap;

use crate::time::NANOS_PER_MILLI;

/// The topic a call has when no `topic_selected` names one.
pub const FALLBACK_TOPIC: &str = "general";

/// Default id of the rule judging the wait of a topic listed with its own limit.
pub const DEFAULT_TOPIC_RULE: &str = "IL-6MIN";
/// Default id of the rule judging the wait of every other topic.
pub const DEFAULT_DEFAULT_RULE: &str = "IL-3MIN";
/// Default id of the recorded-announcement rule.
pub const DEFAULT_ANNOUNCEMENT_RULE: &str = "IL-ANNOUNCE";
/// Default id of the callback rule.
pub const DEFAULT_CALLBACK_RULE: &str = "IL-CALLBACK";
/// Default id of the missed-callback SMS rule.
pub const DEFAULT_SMS_RULE: &str = "IL-SMS";

/// A topic the pack lists with its own limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRule {
    /// The topic id (case-sensitive), as it appears in verdicts and reports.
    pub id: String,
    /// The wait limit for this topic, in milliseconds (inclusive).
    pub limit_ms: i64,
    /// The rule id reported when the limit is broken.
    pub rule: String,
    /// Other names adapters use for this topic.
    pub aliases: Vec<String>,
}

/// A duty judged after the wait: its time allowance and the rule id that reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duty {
    /// The allowance in milliseconds (inclusive).
    pub within_ms: i64,
    /// The rule id reported when the duty is broken.
    pub rule: String,
}

impl Duty {
    /// The allowance in nanoseconds.
    pub fn within_nanos(&self) -> i64 {
        self.within_ms.saturating_mul(NANOS_PER_MILLI)
    }
}

/// A validated rule pack.
#[derive(Debug, Clone)]
pub struct RulePack {
    /// The pack's name, e.g. `il-consumer-protection`.
    pub name: String,
    /// The pack's version, e.g. `2019-07`.
    pub version: String,
    /// SHA-256 (hex) of the pack's source text, so a report can name exactly what judged it.
    pub sha256: String,
    /// Time zone for days and months.
    pub timezone: Tz,
    /// Limit for topics not listed, and for calls with no topic, in milliseconds.
    pub default_limit_ms: i64,
    /// Rule id for topics not listed.
    pub default_rule: String,
    /// The recorded-announcement duty (IL-ANNOUNCE), if enabled.
    pub announcement: Option<Duty>,
    /// The callback duty (IL-CALLBACK), if enabled.
    pub callback: Option<Duty>,
    /// The missed-callback SMS duty (IL-SMS), if enabled.
    pub sms: Option<Duty>,
    /// How long events of a call that never starts (or never stops) are kept before the
    /// call is closed as incomplete, in milliseconds.
    pub orphan_timeout_ms: i64,
    /// Internal alerting target for the compliance ratio (not a legal limit).
    pub target_ratio: f64,
    /// Topics with their own limit, in the pack's order.
    pub topics: Vec<TopicRule>,
    /// Topic id or alias → index into `topics`.
    lookup: FxHashMap<String, usize>,
}

/// What the pack says about one topic name as a call carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicJudgement<'p> {
    /// The topic after aliases (the name itself when the pack does not list it).
    pub topic: &'p str,
    /// The wait limit in milliseconds.
    pub limit_ms: i64,
    /// The rule id of that limit.
    pub rule: &'p str,
}

impl RulePack {
    /// Builds a pack from its parts, indexing topic ids and aliases.
    ///
    /// The caller validates first (unique ids and aliases, positive limits); on a clash the
    /// first topic listed keeps the name.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        version: String,
        sha256: String,
        timezone: Tz,
        default_limit_ms: i64,
        default_rule: String,
        announcement: Option<Duty>,
        callback: Option<Duty>,
        sms: Option<Duty>,
        orphan_timeout_ms: i64,
        target_ratio: f64,
        topics: Vec<TopicRule>,
    ) -> Self {
        let mut lookup = FxHashMap::default();
        for (index, topic) in topics.iter().enumerate() {
            lookup.entry(topic.id.clone()).or_insert(index);
        }
        for (index, topic) in topics.iter().enumerate() {
            for alias in &topic.aliases {
                lookup.entry(alias.clone()).or_insert(index);
            }
        }
        RulePack {
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
            lookup,
        }
    }

    /// `name` and `version` as one label, e.g. `il-consumer-protection@2019-07`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Resolves a topic as a call carries it (or `None`: no topic) to its judged topic,
    /// limit and rule. Aliases map to their topic; unknown topics keep their name and get
    /// the default limit.
    pub fn judge_topic<'p>(&'p self, topic: Option<&'p str>) -> TopicJudgement<'p> {
        let name = topic.unwrap_or(FALLBACK_TOPIC);
        match self.lookup.get(name) {
            Some(&index) => {
                let listed = &self.topics[index];
                TopicJudgement {
                    topic: &listed.id,
                    limit_ms: listed.limit_ms,
                    rule: &listed.rule,
                }
            }
            None => TopicJudgement {
                topic: name,
                limit_ms: self.default_limit_ms,
                rule: &self.default_rule,
            },
        }
    }

    /// Every rule id the pack can report, in a fixed order (wait rules first).
    pub fn rule_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        let duties = [&self.announcement, &self.callback, &self.sms];
        let wait_rules = self.topics.iter().map(|topic| topic.rule.as_str());
        for id in wait_rules.chain(std::iter::once(self.default_rule.as_str())) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        for duty in duties.into_iter().flatten() {
            if !ids.contains(&duty.rule.as_str()) {
                ids.push(&duty.rule);
            }
        }
        ids
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The Israeli pack as the built-in TOML describes it, for engine tests.
    pub(crate) fn israeli_pack() -> RulePack {
        let topic = |id: &str, aliases: &[&str]| TopicRule {
            id: id.to_string(),
            limit_ms: 360_000,
            rule: DEFAULT_TOPIC_RULE.to_string(),
            aliases: aliases.iter().map(|alias| alias.to_string()).collect(),
        };
        let duty = |within_ms: i64, rule: &str| {
            Some(Duty {
                within_ms,
                rule: rule.to_string(),
            })
        };
        RulePack::new(
            "il-consumer-protection".into(),
            "2019-07".into(),
            "0".repeat(64),
            "Asia/Jerusalem".parse().unwrap(),
            180_000,
            DEFAULT_DEFAULT_RULE.into(),
            duty(120_000, DEFAULT_ANNOUNCEMENT_RULE),
            duty(10_800_000, DEFAULT_CALLBACK_RULE),
            duty(600_000, DEFAULT_SMS_RULE),
            6 * 3_600_000,
            0.99,
            vec![
                topic("fault", &["repair", "תקלה"]),
                topic("billing", &[]),
                topic("cancellation", &[]),
            ],
        )
    }

    #[test]
    fn aliases_resolve_to_their_topic() {
        let pack = israeli_pack();
        let judged = pack.judge_topic(Some("תקלה"));
        assert_eq!(judged.topic, "fault");
        assert_eq!(judged.limit_ms, 360_000);
        assert_eq!(judged.rule, "IL-6MIN");
        assert_eq!(pack.judge_topic(Some("repair")).topic, "fault");
    }

    #[test]
    fn unknown_and_missing_topics_get_the_default_limit() {
        let pack = israeli_pack();
        let unknown = pack.judge_topic(Some("sales"));
        assert_eq!(
            (unknown.topic, unknown.limit_ms, unknown.rule),
            ("sales", 180_000, "IL-3MIN")
        );
        let missing = pack.judge_topic(None);
        assert_eq!((missing.topic, missing.limit_ms), ("general", 180_000));
        // Topics are case-sensitive identifiers.
        assert_eq!(pack.judge_topic(Some("Billing")).limit_ms, 180_000);
    }

    #[test]
    fn rule_ids_list_each_rule_once() {
        let pack = israeli_pack();
        assert_eq!(
            pack.rule_ids(),
            vec!["IL-6MIN", "IL-3MIN", "IL-ANNOUNCE", "IL-CALLBACK", "IL-SMS"]
        );
    }
}
