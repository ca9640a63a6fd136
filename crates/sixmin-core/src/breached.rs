//! The ledger of breached calls kept in the state: a record of every call with at least one
//! breach, by the local day it is attributed to, so a period report can list exactly the
//! calls behind its `breached_calls` count, with their evidence.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::call::Judgement;
use crate::engine::Engine;
use crate::idlist::Evidence;
use crate::report::Period;
use crate::rulebook::RuleIdx;
use crate::symbols::Sym;
use crate::time::{ceil_millis, local_date, Nanos};
use crate::verdict::{Flag, Outcome};

/// One breached call, as a report lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachedCall {
    /// The call.
    pub call_id: String,
    /// Its tenant.
    pub tenant: String,
    /// The topic judged (after aliases).
    pub topic: String,
    /// The queue it was last in, if any.
    pub queue: Option<String>,
    /// `call_started.ts`, if seen.
    pub started_at: Option<Nanos>,
    /// The instant that places it in a period: its start, or its first event.
    pub attributed_to: Nanos,
    /// How it left the wait.
    pub outcome: Outcome,
    /// Its wait in milliseconds (rounded up), if it stopped.
    pub wait_ms: Option<i64>,
    /// The limit of its topic.
    pub limit_ms: i64,
    /// The rules it broke, in the order wait, announcement, callback, SMS.
    pub breaches: Vec<String>,
    /// The event ids it was judged from, in time order (the evidence).
    pub events: Vec<String>,
    /// Data-quality marks.
    pub flags: Vec<Flag>,
    /// Not final yet: judged on what has arrived so far.
    pub pending: bool,
}

impl BreachedCall {
    /// The ledger order: by the instant the call is attributed to, then by call id.
    pub fn order_key(&self) -> (Nanos, &str) {
        (self.attributed_to, &self.call_id)
    }
}

/// What the engine keeps of a final breached call (names as symbols, ids packed).
#[derive(Debug, Clone)]
pub(crate) struct BreachRecord {
    pub start_ts: Option<Nanos>,
    pub attributed_to: Nanos,
    pub tenant: Sym,
    pub topic: Sym,
    pub queue: Option<Sym>,
    pub outcome: Outcome,
    pub wait_ms: Option<i64>,
    pub limit_ms: i64,
    pub rules: RuleList,
    /// The call id and the event ids it was judged from, in time order.
    pub evidence: Evidence,
    pub flags: Vec<Flag>,
}

/// The rules a call broke (at most one per duty: four), without allocating.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RuleList {
    rules: [RuleIdx; 4],
    len: u8,
}

impl RuleList {
    /// The rules, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &RuleIdx> {
        self.rules.iter().take(usize::from(self.len))
    }
}

impl FromIterator<RuleIdx> for RuleList {
    fn from_iter<I: IntoIterator<Item = RuleIdx>>(rules: I) -> Self {
        let mut list = RuleList::default();
        for rule in rules {
            if let Some(slot) = list.rules.get_mut(usize::from(list.len)) {
                *slot = rule;
                list.len += 1;
            }
        }
        list
    }
}

/// Final breached calls by the local day they are attributed to.
pub(crate) type BreachLedger = BTreeMap<NaiveDate, Vec<BreachRecord>>;

impl Engine {
    /// Keeps the record of a call judged final with at least one breach.
    #[inline(never)]
    pub(crate) fn keep_breach(
        &mut self,
        day: NaiveDate,
        call: &crate::call::Call,
        judgement: &Judgement,
    ) {
        let mut order = std::mem::take(&mut self.scratch_order);
        let record = self.breach_record(call, judgement, &mut order);
        self.scratch_order = order;
        self.breach_ledger.entry(day).or_default().push(record);
    }

    /// The record of a judged call (its breaches as rule indexes, its evidence packed).
    fn breach_record(
        &self,
        call: &crate::call::Call,
        judgement: &Judgement,
        order: &mut Vec<usize>,
    ) -> BreachRecord {
        let rules = judgement
            .breaches
            .rules(judgement.topic, &self.rulebook)
            .collect();
        BreachRecord {
            start_ts: judgement.start_ts,
            attributed_to: judgement.attributed_to(),
            tenant: judgement.tenant.unwrap_or(self.default_tenant),
            topic: judgement.topic.topic,
            queue: judgement.queue,
            outcome: judgement.outcome,
            wait_ms: judgement.wait_nanos.map(ceil_millis),
            limit_ms: judgement.topic.limit_ms,
            rules,
            evidence: call.evidence(order),
            flags: judgement.flags.clone(),
        }
    }

    /// A kept record, names resolved.
    pub(crate) fn breached_call(&self, record: &BreachRecord) -> BreachedCall {
        let name = |sym: Sym| self.symbols.name(sym).to_owned();
        BreachedCall {
            call_id: record.evidence.call_id().to_owned(),
            tenant: name(record.tenant),
            topic: name(record.topic),
            queue: record.queue.map(name),
            started_at: record.start_ts,
            attributed_to: record.attributed_to,
            outcome: record.outcome,
            wait_ms: record.wait_ms,
            limit_ms: record.limit_ms,
            breaches: record
                .rules
                .iter()
                .map(|rule| self.rulebook.rule_name(*rule).to_owned())
                .collect(),
            events: record.evidence.event_ids().map(str::to_owned).collect(),
            flags: record.flags.clone(),
            pending: false,
        }
    }

    /// The breached calls of `period`, in ledger order: the final ones kept in the state,
    /// and the pending calls that have breached on what has arrived so far (marked
    /// `pending`). Exactly the calls counted in the period report's `breached_calls`.
    pub fn breached_calls(&self, period: Period) -> Vec<BreachedCall> {
        debug_assert!(
            self.is_settled(),
            "breached calls read from an unsettled engine"
        );
        let mut calls: Vec<BreachedCall> = self
            .breach_ledger
            .range(period.first_day()..period.end_day())
            .flat_map(|(_, records)| records.iter().map(|record| self.breached_call(record)))
            .collect();
        let zone = self.pack.timezone;
        calls.extend(self.pending_breached_calls(|_, judgement| {
            period.contains(local_date(judgement.attributed_to(), zone))
        }));
        calls.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        calls
    }

    /// The breached call `call_id`, final or pending, if it is one.
    pub fn breached_call_by_id(&self, call_id: &str) -> Option<BreachedCall> {
        debug_assert!(
            self.is_settled(),
            "a breached call read from an unsettled engine"
        );
        let kept = self
            .breach_ledger
            .values()
            .flatten()
            .find(|record| record.evidence.call_id() == call_id);
        match kept {
            Some(record) => Some(self.breached_call(record)),
            None => self
                .pending_breached_calls(|call, _| call.call_id() == call_id)
                .pop(),
        }
    }

    /// Pending calls that have breached on what has arrived so far, of those `wanted`.
    fn pending_breached_calls(
        &self,
        wanted: impl Fn(&crate::call::Call, &Judgement) -> bool,
    ) -> Vec<BreachedCall> {
        let now = self.clock.unwrap_or(i64::MIN);
        let mut calls = Vec::new();
        for call in self.slots.iter().flatten() {
            let judgement = call.judge(&self.rulebook, Some(now));
            let breached = judgement
                .breaches
                .rules(judgement.topic, &self.rulebook)
                .next()
                .is_some();
            if !breached || !wanted(call, &judgement) {
                continue;
            }
            let record = self.breach_record(call, &judgement, &mut Vec::new());
            calls.push(BreachedCall {
                pending: true,
                ..self.breached_call(&record)
            });
        }
        calls
    }

    /// The breached calls of `period` over several engines (the partitions of a topic),
    /// in ledger order.
    pub fn merged_breached_calls(engines: &[&Engine], period: Period) -> Vec<BreachedCall> {
        let mut calls: Vec<BreachedCall> = engines
            .iter()
            .flat_map(|engine| engine.breached_calls(period))
            .collect();
        calls.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        calls
    }
}
