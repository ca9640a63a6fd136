//! The streaming engine: events in, live breaches and final verdicts out.
//!
//! # Contract
//! - **Event time.** The engine clock is the newest event time seen, or later if the
//!   caller moves it with [`Engine::advance_to`] (live mode, wall clock). The watermark is
//!   the clock minus the allowed lateness. An event stamped before the watermark is *late*:
//!   it is not applied, and the caller dead-letters it.
//! - **De-duplication.** An `event_id` seen before counts once; later copies are
//!   [`Disposition::Duplicate`]. Ids are remembered while their call is open and for the
//!   orphan timeout after its verdict.
//! - **Finality.** A call's verdict is final when the watermark passes its close (its stop,
//!   its `ended` if later, and for callbacks the settling of the callback and SMS duties).
//!   An event for a call whose verdict is already final is late too.
//! - **Order.** Verdicts come out ordered by (close, call id), which does not depend on
//!   arrival order; so the ledger is the same for any arrival order in which no event is
//!   late. Live breaches are alarms and follow the clock as it moves.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use chrono::NaiveDate;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_128;

use crate::call::{Call, LiveKind, Recorded};
use crate::event::Event;
use crate::pack::RulePack;
use crate::symbols::{Sym, Symbols};
use crate::tally::{Tally, TallyEntry};
use crate::time::{ceil_millis, format_utc, local_date, Nanos, NANOS_PER_MILLI};
use crate::verdict::{PackRef, Verdict};

/// The default allowed lateness: one hour of event time.
pub const DEFAULT_ALLOWED_LATENESS_MS: i64 = 3_600_000;

/// How the engine is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// How far behind the newest event time an event may be stamped and still be applied.
    pub allowed_lateness_ms: i64,
    /// Whether to build [`Verdict`] records (the ledger) in addition to the tallies.
    pub emit_verdicts: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            allowed_lateness_ms: DEFAULT_ALLOWED_LATENESS_MS,
            emit_verdicts: true,
        }
    }
}

/// Why an event was not applied although it is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lateness {
    /// Stamped before the watermark.
    BehindWatermark,
    /// Its call's verdict was already final.
    AfterVerdict,
}

impl Lateness {
    /// A sentence for the dead-letter record.
    pub fn detail(self) -> &'static str {
        match self {
            Lateness::BehindWatermark => {
                "stamped earlier than the allowed lateness behind the newest event"
            }
            Lateness::AfterVerdict => "arrived after its call's verdict was final",
        }
    }
}

/// What the engine did with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Applied to its call.
    Accepted,
    /// Its `event_id` was seen before; counted once.
    Duplicate,
    /// Too late to be applied; the caller dead-letters it.
    Late(Lateness),
}

/// A caller over the limit right now (or a callback or SMS overdue): the alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveBreach {
    /// The call.
    pub call_id: String,
    /// Its tenant.
    pub tenant: String,
    /// The topic known so far (after aliases).
    pub topic: String,
    /// The queue the call is in now, if known.
    pub queue: Option<String>,
    /// The rule whose limit passed.
    pub rule: String,
    /// The limit or allowance, in milliseconds.
    pub limit_ms: i64,
    /// When the timer of that rule started (dialing, the callback request, the attempt).
    pub since: String,
    /// The moment the limit passed.
    pub due_at: String,
    /// The engine clock when the engine noticed (equal to or after `due_at`).
    pub detected_at: String,
}

/// Something the engine produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A live alarm.
    LiveBreach(LiveBreach),
    /// A final verdict (only when [`EngineConfig::emit_verdicts`] is set).
    Verdict(Box<Verdict>),
}

/// Counts of the events offered to the engine, exact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputCounters {
    /// Applied to their call.
    pub accepted: u64,
    /// Seen before (same `event_id`).
    pub duplicates: u64,
    /// Later than the allowed lateness (or after their call's verdict).
    pub late: u64,
    /// Invalid, by reason name (counted by the caller through [`Engine::note_invalid`]).
    pub invalid: BTreeMap<String, u64>,
}

impl InputCounters {
    /// Every event received: accepted, duplicate, late or invalid.
    pub fn received(&self) -> u64 {
        self.accepted + self.duplicates + self.late + self.invalid_total()
    }

    /// Invalid events of every reason.
    pub fn invalid_total(&self) -> u64 {
        self.invalid.values().sum()
    }
}

/// A call whose verdict is final, remembered so its late events and resends are known.
#[derive(Debug, Clone)]
pub(crate) struct ClosedCall {
    pub close_at: Nanos,
    pub event_hashes: Vec<u128>,
}

/// Key of a per-day tally: local day of the call's start, tenant, judged topic.
pub(crate) type TallyKey = (NaiveDate, Sym, Sym);

/// The engine. See the module docs for its contract.
#[derive(Debug)]
pub struct Engine {
    pub(crate) pack: RulePack,
    pub(crate) config: EngineConfig,
    pub(crate) symbols: Symbols,
    pub(crate) clock: Option<Nanos>,
    pub(crate) slots: Vec<Option<Call>>,
    free_slots: Vec<usize>,
    pub(crate) index: FxHashMap<Box<str>, usize>,
    /// Pending triggers: (clock instant after which to look at the call, slot, sequence).
    timers: BinaryHeap<Reverse<(Nanos, usize, u64)>>,
    /// The live trigger of each slot, to tell current heap entries from stale ones.
    timer_of_slot: Vec<Option<(Nanos, u64)>>,
    next_timer_seq: u64,
    pub(crate) seen: FxHashSet<u128>,
    pub(crate) closed: FxHashMap<Box<str>, ClosedCall>,
    /// Closed calls in the order they are forgotten: (forget when watermark passes, id).
    pub(crate) closed_order: VecDeque<(Nanos, Box<str>)>,
    pub(crate) tallies: BTreeMap<TallyKey, Tally>,
    pub(crate) counters: InputCounters,
    /// Live breaches raised, by (tenant, topic, rule).
    pub(crate) live_breaches: BTreeMap<(String, String, String), u64>,
    default_tenant: Sym,
}

impl Engine {
    /// A new, empty engine judging by `pack`.
    pub fn new(pack: RulePack, config: EngineConfig) -> Self {
        let mut symbols = Symbols::default();
        let default_tenant = symbols.intern("default");
        Engine {
            pack,
            config,
            symbols,
            clock: None,
            slots: Vec::new(),
            free_slots: Vec::new(),
            index: FxHashMap::default(),
            timers: BinaryHeap::new(),
            timer_of_slot: Vec::new(),
            next_timer_seq: 0,
            seen: FxHashSet::default(),
            closed: FxHashMap::default(),
            closed_order: VecDeque::new(),
            tallies: BTreeMap::new(),
            counters: InputCounters::default(),
            live_breaches: BTreeMap::new(),
            default_tenant,
        }
    }

    /// The pack this engine judges by.
    pub fn pack(&self) -> &RulePack {
        &self.pack
    }

    /// How the engine is run.
    pub fn config(&self) -> EngineConfig {
        self.config
    }

    /// The engine clock: the newest event time seen (or set by [`Engine::advance_to`]).
    pub fn clock(&self) -> Option<Nanos> {
        self.clock
    }

    /// The clock minus the allowed lateness: events stamped before it are late.
    pub fn watermark(&self) -> Option<Nanos> {
        self.clock
            .map(|clock| clock.saturating_sub(self.lateness_nanos()))
    }

    /// Counts of the events offered so far.
    pub fn counters(&self) -> &InputCounters {
        &self.counters
    }

    /// Calls still open (pending a final verdict).
    pub fn open_calls(&self) -> usize {
        self.index.len()
    }

    /// Live breaches raised so far, by (tenant, topic, rule).
    pub fn live_breach_counts(&self) -> &BTreeMap<(String, String, String), u64> {
        &self.live_breaches
    }

    /// Per-day tallies of final verdicts, by (day, tenant, topic), names resolved.
    pub fn tallies(&self) -> impl Iterator<Item = (NaiveDate, &str, &str, &Tally)> {
        self.tallies.iter().map(|((day, tenant, topic), tally)| {
            (
                *day,
                self.symbols.name(*tenant),
                self.symbols.name(*topic),
                tally,
            )
        })
    }

    /// Counts an invalid event (decoding happens before the engine).
    pub fn note_invalid(&mut self, reason: &str) {
        *self.counters.invalid.entry(reason.to_owned()).or_default() += 1;
    }

    fn lateness_nanos(&self) -> Nanos {
        self.config
            .allowed_lateness_ms
            .saturating_mul(NANOS_PER_MILLI)
    }

    /// Applies one valid event, then raises what its time makes due.
    pub fn ingest(&mut self, event: &Event<'_>, out: &mut Vec<Output>) -> Disposition {
        let hash = xxh3_128(event.event_id.as_bytes());
        if self.seen.contains(&hash) {
            self.counters.duplicates += 1;
            return Disposition::Duplicate;
        }
        if self
            .watermark()
            .is_some_and(|watermark| event.ts < watermark)
        {
            if let Some(&slot) = self.index.get(event.call_id.as_ref()) {
                if let Some(call) = self.slots[slot].as_mut() {
                    call.late_events = true;
                }
            }
            self.counters.late += 1;
            return Disposition::Late(Lateness::BehindWatermark);
        }
        if self.closed.contains_key(event.call_id.as_ref()) {
            self.counters.late += 1;
            return Disposition::Late(Lateness::AfterVerdict);
        }
        self.seen.insert(hash);
        self.counters.accepted += 1;
        let recorded = Recorded {
            ts: event.ts,
            kind: event.kind,
            outcome: event.outcome,
            event_id: event.event_id.as_ref().into(),
            tenant: event
                .tenant
                .as_deref()
                .map(|name| self.symbols.intern(name)),
            queue: event.queue.as_deref().map(|name| self.symbols.intern(name)),
            topic: event.topic.as_deref().map(|name| self.symbols.intern(name)),
            attrs: event.attrs.as_deref().map(Into::into),
        };
        let slot = self.slot_for(&event.call_id);
        if let Some(call) = self.slots[slot].as_mut() {
            call.events.push(recorded);
        }
        self.clock = Some(self.clock.map_or(event.ts, |clock| clock.max(event.ts)));
        self.schedule(slot);
        self.run_due(out);
        Disposition::Accepted
    }

    /// Moves the clock forward to `now` (never back) and raises what becomes due. Live
    /// mode calls this with the wall clock while input is idle.
    pub fn advance_to(&mut self, now: Nanos, out: &mut Vec<Output>) {
        if self.clock.is_some_and(|clock| clock >= now) {
            return;
        }
        self.clock = Some(now);
        self.run_due(out);
    }

    /// Declares the input complete: every pending call becomes final now, in (close,
    /// call id) order.
    pub fn finish(&mut self, out: &mut Vec<Output>) {
        let mut pending: Vec<(Nanos, usize)> = Vec::with_capacity(self.index.len());
        for &slot in self.index.values() {
            if let Some(call) = self.slots[slot].as_ref() {
                pending.push((call.judge(&self.pack, &self.symbols, None).close_at, slot));
            }
        }
        self.finalize_in_order(pending, out);
    }

    fn slot_for(&mut self, call_id: &str) -> usize {
        if let Some(&slot) = self.index.get(call_id) {
            return slot;
        }
        let call = Call::new(call_id);
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.slots[slot] = Some(call);
                slot
            }
            None => {
                self.slots.push(Some(call));
                self.timer_of_slot.push(None);
                self.slots.len() - 1
            }
        };
        self.index.insert(call_id.into(), slot);
        slot
    }

    /// (Re)arms the call's trigger: the earlier of its close passing the watermark and
    /// its next live alarm.
    fn schedule(&mut self, slot: usize) {
        let Some(call) = self.slots[slot].as_ref() else {
            return;
        };
        let close_trigger = call
            .judge_close_at(&self.pack)
            .saturating_add(self.lateness_nanos());
        let live_trigger = call
            .next_live_alarm(&self.pack, &self.symbols)
            .map(|(due, _)| due);
        let trigger = live_trigger.map_or(close_trigger, |live| live.min(close_trigger));
        if self.timer_of_slot[slot].is_some_and(|(current, _)| current == trigger) {
            return;
        }
        let seq = self.next_timer_seq;
        self.next_timer_seq += 1;
        self.timer_of_slot[slot] = Some((trigger, seq));
        self.timers.push(Reverse((trigger, slot, seq)));
    }

    /// Raises live alarms and finalizes calls whose trigger the clock has passed.
    fn run_due(&mut self, out: &mut Vec<Output>) {
        let Some(clock) = self.clock else {
            return;
        };
        let watermark = clock.saturating_sub(self.lateness_nanos());
        let mut finals: Vec<(Nanos, usize)> = Vec::new();
        while let Some(&Reverse((trigger, slot, seq))) = self.timers.peek() {
            if trigger >= clock {
                break;
            }
            self.timers.pop();
            if self.timer_of_slot[slot] != Some((trigger, seq)) {
                continue;
            }
            self.timer_of_slot[slot] = None;
            self.raise_live_alarms(slot, clock, out);
            let Some(call) = self.slots[slot].as_ref() else {
                continue;
            };
            let close_at = call.judge_close_at(&self.pack);
            if watermark > close_at {
                finals.push((close_at, slot));
            } else {
                self.schedule(slot);
            }
        }
        self.finalize_in_order(finals, out);
        self.forget_closed(watermark);
    }

    fn raise_live_alarms(&mut self, slot: usize, clock: Nanos, out: &mut Vec<Output>) {
        loop {
            let Some(call) = self.slots[slot].as_ref() else {
                return;
            };
            let Some((due, kind)) = call.next_live_alarm(&self.pack, &self.symbols) else {
                return;
            };
            if due >= clock {
                return;
            }
            let breach = self.describe_live_breach(call, due, kind, clock);
            let key = (
                breach.tenant.clone(),
                breach.topic.clone(),
                breach.rule.clone(),
            );
            *self.live_breaches.entry(key).or_default() += 1;
            out.push(Output::LiveBreach(breach));
            if let Some(call) = self.slots[slot].as_mut() {
                match kind {
                    LiveKind::Wait => call.live_fired.wait = true,
                    LiveKind::Callback => call.live_fired.callback = true,
                    LiveKind::Sms => call.live_fired.sms = true,
                }
            }
        }
    }

    fn describe_live_breach(
        &self,
        call: &Call,
        due: Nanos,
        kind: LiveKind,
        clock: Nanos,
    ) -> LiveBreach {
        let topic_name = call.current_topic().map(|sym| self.symbols.name(sym));
        let topic = self.pack.judge_topic(topic_name);
        let tenant = call
            .start()
            .and_then(|start| start.tenant)
            .unwrap_or(self.default_tenant);
        let (rule, limit_ms) = match kind {
            LiveKind::Wait => (topic.rule.to_owned(), topic.limit_ms),
            LiveKind::Callback => self
                .pack
                .callback
                .as_ref()
                .map(|duty| (duty.rule.clone(), duty.within_ms))
                .unwrap_or_default(),
            LiveKind::Sms => self
                .pack
                .sms
                .as_ref()
                .map(|duty| (duty.rule.clone(), duty.within_ms))
                .unwrap_or_default(),
        };
        LiveBreach {
            call_id: call.call_id.to_string(),
            tenant: self.symbols.name(tenant).to_owned(),
            topic: topic.topic.to_owned(),
            queue: call
                .current_queue()
                .map(|sym| self.symbols.name(sym).to_owned()),
            rule,
            limit_ms,
            since: format_utc(due.saturating_sub(limit_ms.saturating_mul(NANOS_PER_MILLI))),
            due_at: format_utc(due),
            detected_at: format_utc(clock),
        }
    }

    fn finalize_in_order(&mut self, mut finals: Vec<(Nanos, usize)>, out: &mut Vec<Output>) {
        finals.sort_by(|(close_a, slot_a), (close_b, slot_b)| {
            let id = |slot: &usize| self.slots[*slot].as_ref().map(|call| call.call_id.clone());
            (close_a, id(slot_a)).cmp(&(close_b, id(slot_b)))
        });
        for (close_at, slot) in finals {
            self.finalize(slot, close_at, out);
        }
    }

    /// Judges a call for good: tally, verdict, then remember it as closed.
    fn finalize(&mut self, slot: usize, close_at: Nanos, out: &mut Vec<Output>) {
        let Some(call) = self.slots[slot].take() else {
            return;
        };
        self.timer_of_slot[slot] = None;
        self.free_slots.push(slot);
        self.index.remove(call.call_id.as_ref());
        let judgement = call.judge(&self.pack, &self.symbols, None);
        let judged_topic = self
            .pack
            .judge_topic(judgement.raw_topic.map(|sym| self.symbols.name(sym)))
            .topic
            .to_owned();
        let topic_sym = self.symbols.intern(&judged_topic);
        let tenant_sym = judgement.tenant.unwrap_or(self.default_tenant);
        let attributed_to = judgement
            .start
            .map_or(judgement.first_seen, |start| start.ts);
        let day = local_date(attributed_to, self.pack.timezone);
        let wait_ms = judgement.wait_nanos.map(ceil_millis);
        self.tallies
            .entry((day, tenant_sym, topic_sym))
            .or_default()
            .record(TallyEntry {
                outcome: judgement.outcome,
                wait_ms,
                limit_ms: judgement.limit_ms,
                breaches: &judgement.breaches,
                flags: &judgement.flags,
            });
        if self.config.emit_verdicts {
            let verdict = self.verdict_of(&call, &judgement, judged_topic, wait_ms);
            out.push(Output::Verdict(Box::new(verdict)));
        }
        let event_hashes = call
            .events
            .iter()
            .map(|event| xxh3_128(event.event_id.as_bytes()))
            .collect();
        let forget_at =
            close_at.saturating_add(self.pack.orphan_timeout_ms.saturating_mul(NANOS_PER_MILLI));
        self.closed_order
            .push_back((forget_at, call.call_id.clone()));
        self.closed.insert(
            call.call_id,
            ClosedCall {
                close_at,
                event_hashes,
            },
        );
    }

    fn verdict_of(
        &self,
        call: &Call,
        judgement: &crate::call::Judgement<'_>,
        topic: String,
        wait_ms: Option<i64>,
    ) -> Verdict {
        let mut ordered: Vec<&Recorded> = call.events.iter().collect();
        ordered.sort_by(|a, b| (a.ts, &a.event_id).cmp(&(b.ts, &b.event_id)));
        let mut attrs: Option<serde_json::Map<String, serde_json::Value>> = None;
        for event in ordered.iter().filter(|event| event.attrs.is_some()) {
            let parsed = event
                .attrs
                .as_deref()
                .and_then(|text| serde_json::from_str::<serde_json::Map<_, _>>(text).ok());
            if let Some(parsed) = parsed {
                attrs.get_or_insert_with(Default::default).extend(parsed);
            }
        }
        Verdict {
            call_id: call.call_id.to_string(),
            tenant: self
                .symbols
                .name(judgement.tenant.unwrap_or(self.default_tenant))
                .to_owned(),
            queue: judgement.queue.map(|sym| self.symbols.name(sym).to_owned()),
            topic,
            started_at: judgement.start.map(|start| format_utc(start.ts)),
            outcome: judgement.outcome,
            wait_ms,
            limit_ms: judgement.limit_ms,
            breaches: judgement.breaches.clone(),
            rule_pack: PackRef {
                name: self.pack.name.clone(),
                version: self.pack.version.clone(),
            },
            events: ordered
                .iter()
                .map(|event| event.event_id.to_string())
                .collect(),
            flags: judgement.flags.clone(),
            attrs,
        }
    }

    /// Drops the memory of closed calls once the watermark is past their retention.
    fn forget_closed(&mut self, watermark: Nanos) {
        while let Some((forget_at, _)) = self.closed_order.front() {
            if *forget_at >= watermark {
                break;
            }
            let Some((_, call_id)) = self.closed_order.pop_front() else {
                break;
            };
            if let Some(closed) = self.closed.remove(&call_id) {
                for hash in closed.event_hashes {
                    self.seen.remove(&hash);
                }
            }
        }
    }

    /// Pending calls judged on what has arrived so far, as of the engine clock, with the
    /// day each is attributed to. For reports.
    pub(crate) fn pending_entries(&self) -> Vec<(NaiveDate, String, String, PendingEntry)> {
        let now = self.clock;
        let mut entries = Vec::with_capacity(self.index.len());
        for call in self.slots.iter().flatten() {
            let judgement = call.judge(&self.pack, &self.symbols, Some(now.unwrap_or(i64::MIN)));
            let topic = self
                .pack
                .judge_topic(judgement.raw_topic.map(|sym| self.symbols.name(sym)))
                .topic
                .to_owned();
            let tenant = self
                .symbols
                .name(judgement.tenant.unwrap_or(self.default_tenant))
                .to_owned();
            let attributed_to = judgement
                .start
                .map_or(judgement.first_seen, |start| start.ts);
            let day = local_date(attributed_to, self.pack.timezone);
            entries.push((
                day,
                tenant,
                topic,
                PendingEntry {
                    outcome: judgement.outcome,
                    wait_ms: judgement.wait_nanos.map(ceil_millis),
                    limit_ms: judgement.limit_ms,
                    breaches: judgement.breaches,
                    flags: judgement.flags,
                },
            ));
        }
        entries
    }

    /// Re-arms every open call's trigger (after a restore).
    pub(crate) fn rebuild_timers(&mut self) {
        self.timers.clear();
        self.timer_of_slot = vec![None; self.slots.len()];
        for slot in 0..self.slots.len() {
            self.schedule(slot);
        }
    }

    /// Re-adds a restored open call.
    pub(crate) fn restore_call(&mut self, call: Call) {
        for event in &call.events {
            self.seen.insert(xxh3_128(event.event_id.as_bytes()));
        }
        let call_id = call.call_id.clone();
        self.slots.push(Some(call));
        self.timer_of_slot.push(None);
        self.index.insert(call_id, self.slots.len() - 1);
    }
}

/// A pending call judged so far, for a report.
#[derive(Debug, Clone)]
pub(crate) struct PendingEntry {
    pub outcome: crate::verdict::Outcome,
    pub wait_ms: Option<i64>,
    pub limit_ms: i64,
    pub breaches: Vec<String>,
    pub flags: Vec<crate::verdict::Flag>,
}
