//! The rule pack compiled for the hot path: topics resolved per interned name, rule ids as
//! small indices, allowances in nanoseconds.

use crate::pack::{RulePack, FALLBACK_TOPIC};
use crate::symbols::{Sym, Symbols};
use crate::time::NANOS_PER_MILLI;

/// Index of a rule id in [`Rulebook::rule_name`].
pub(crate) type RuleIdx = u8;

/// What a topic name (as a call carries it) is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The judged topic (after aliases).
    pub topic: Sym,
    /// The wait limit.
    pub limit_ms: i64,
    /// The wait limit in nanoseconds.
    pub limit_nanos: i64,
    /// The wait rule.
    pub rule: RuleIdx,
}

/// A duty (announcement, callback, SMS) ready for the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DutyRef {
    pub within_ms: i64,
    pub within_nanos: i64,
    pub rule: RuleIdx,
}

/// The compiled pack.
#[derive(Debug, Clone)]
pub(crate) struct Rulebook {
    rule_names: Vec<String>,
    by_sym: Vec<Option<Resolved>>,
    pub no_topic: Resolved,
    pub announcement: Option<DutyRef>,
    pub callback: Option<DutyRef>,
    pub sms: Option<DutyRef>,
    pub orphan_timeout_nanos: i64,
}

fn nanos(millis: i64) -> i64 {
    millis.saturating_mul(NANOS_PER_MILLI)
}

impl Rulebook {
    pub fn new(pack: &RulePack, symbols: &mut Symbols) -> Self {
        let rule_names: Vec<String> = pack.rule_ids().into_iter().map(str::to_owned).collect();
        let index_of = |name: &str| {
            rule_names
                .iter()
                .position(|known| known == name)
                .unwrap_or_default() as RuleIdx
        };
        let duty = |duty: &Option<crate::pack::Duty>| {
            duty.as_ref().map(|duty| DutyRef {
                within_ms: duty.within_ms,
                within_nanos: nanos(duty.within_ms),
                rule: index_of(&duty.rule),
            })
        };
        let fallback = pack.judge_topic(None);
        let no_topic = Resolved {
            topic: symbols.intern(fallback.topic),
            limit_ms: fallback.limit_ms,
            limit_nanos: nanos(fallback.limit_ms),
            rule: index_of(fallback.rule),
        };
        let mut rulebook = Rulebook {
            announcement: duty(&pack.announcement),
            callback: duty(&pack.callback),
            sms: duty(&pack.sms),
            orphan_timeout_nanos: nanos(pack.orphan_timeout_ms),
            rule_names,
            by_sym: Vec::new(),
            no_topic,
        };
        let fallback_sym = symbols.intern(FALLBACK_TOPIC);
        rulebook.learn(fallback_sym, pack, symbols);
        rulebook
    }

    /// Resolves a newly interned topic name once, so later lookups are an index.
    pub fn learn(&mut self, sym: Sym, pack: &RulePack, symbols: &mut Symbols) {
        if self.by_sym.get(sym.index()).is_some_and(Option::is_some) {
            return;
        }
        let judged = pack.judge_topic(Some(symbols.name(sym)));
        let (topic_name, limit_ms, rule_name) = (
            judged.topic.to_owned(),
            judged.limit_ms,
            judged.rule.to_owned(),
        );
        let rule = self
            .rule_names
            .iter()
            .position(|known| *known == rule_name)
            .unwrap_or_default() as RuleIdx;
        let resolved = Resolved {
            topic: symbols.intern(&topic_name),
            limit_ms,
            limit_nanos: nanos(limit_ms),
            rule,
        };
        if self.by_sym.len() <= sym.index() {
            self.by_sym.resize(sym.index() + 1, None);
        }
        self.by_sym[sym.index()] = Some(resolved);
    }

    /// What a call carrying `raw` (or no topic) is judged by.
    pub fn resolve(&self, raw: Option<Sym>) -> Resolved {
        match raw {
            None => self.no_topic,
            Some(sym) => self
                .by_sym
                .get(sym.index())
                .copied()
                .flatten()
                .unwrap_or(self.no_topic),
        }
    }

    /// The rule id behind an index.
    pub fn rule_index(&self, name: &str) -> Option<RuleIdx> {
        let index = self.rule_names.iter().position(|known| known == name)?;
        RuleIdx::try_from(index).ok()
    }

    /// The name of a rule index (empty if unknown).
    pub fn rule_name(&self, rule: RuleIdx) -> &str {
        self.rule_names
            .get(usize::from(rule))
            .map_or("", String::as_str)
    }
}
