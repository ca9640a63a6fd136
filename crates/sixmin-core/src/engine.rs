//! The streaming engine: events in, live breaches and final verdicts out.
//!
//! # Contract
//! - **Event time.** The engine clock is the newest event time seen, or later if the
//!   caller moves it with [`Engine::advance_to`] (live mode, wall clock). The watermark is
//!   the clock minus the allowed lateness. An event stamped before the watermark is *late*:
//!   it is not applied, and the caller dead-letters it.
//! - **De-duplication.** An `event_id` seen before in the same call (the Kafka key, where
//!   an at-least-once resend lands) counts once; later copies are
//!   [`Disposition::Duplicate`]. Ids are remembered while their call is open and for the
//!   orphan timeout after its verdict.
//! - **Finality.** A call's verdict is final when the watermark passes its close (its stop,
//!   its `ended` if later, and for callbacks the settling of the callback and SMS duties).
//!   An event for a call whose verdict is already final is late too.
//! - **Order.** Verdicts come out ordered by (close, call id), which does not depend on
//!   arrival order; so the ledger is the same for any arrival order in which no event is
//!   late. Live breaches are alarms and follow the clock as it moves.
//! - **Settling.** A call that becomes final takes no more events from that moment, but
//!   its bookkeeping (its tally, its ledger record, its verdict) is done in batches of
//!   final calls, by [`Engine::settle`]: so verdicts come out a few calls late, in the
//!   same order. [`Engine::advance_to`] and [`Engine::finish`] settle; a caller settles
//!   before reading tallies or reports and before [`Engine::snapshot`], which refuses an
//!   unsettled engine. Settling more or less often changes no output (property-tested).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::breached::BreachLedger;
use crate::call::{id_fingerprint, Call, Judgement, LiveKind, Recorded};
use crate::event::Event;
use crate::known::{hash_call_id, KnownCalls, Place};
use crate::pack::RulePack;
use crate::rulebook::Rulebook;
use crate::symbols::{Sym, Symbols};
use crate::tally::{DayTallies, Tally, TallyEntry};
use crate::time::{
    ceil_millis, format_utc, local_date, local_week_hour, start_of_local_day, Nanos, WeekHourCache,
    NANOS_PER_MILLI,
};
use crate::timers::{Timer, Timers};
use crate::traffic::HourlyTraffic;
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
    /// Whether to announce each call's stop ([`Output::Stopped`], for live windows).
    pub emit_stops: bool,
    /// How many final calls wait for their bookkeeping before it is done for all of them
    /// at once ([`Engine::settle`]); 1 does each as its call becomes final. Changes no
    /// output, only when verdicts come out and how fast.
    pub settle_batch: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            allowed_lateness_ms: DEFAULT_ALLOWED_LATENESS_MS,
            emit_verdicts: true,
            emit_stops: false,
            settle_batch: DEFAULT_SETTLE_BATCH,
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
    /// When the timer of that rule started (dialing, the callback request, the attempt);
    /// written as RFC 3339 UTC.
    #[serde(serialize_with = "serialize_instant")]
    pub since: Nanos,
    /// The moment the limit passed.
    #[serde(serialize_with = "serialize_instant")]
    pub due_at: Nanos,
    /// The engine clock when the engine noticed (equal to or after `due_at`).
    #[serde(serialize_with = "serialize_instant")]
    pub detected_at: Nanos,
}

/// Writes an instant as RFC 3339 UTC (formatting only when a breach is written out).
fn serialize_instant<S: serde::Serializer>(
    instant: &Nanos,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_utc(*instant))
}

/// Something the engine produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A live alarm.
    LiveBreach(LiveBreach),
    /// A call stopped waiting (first seen with both its start and its stop): what the
    /// live windows (last 5 minutes, last hour) are built from. Provisional: the verdict
    /// decides the record.
    Stopped(StopNotice),
    /// A final verdict (only when [`EngineConfig::emit_verdicts`] is set).
    Verdict(Box<Verdict>),
}

/// A call that stopped waiting, as the live view sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopNotice {
    /// Its tenant.
    pub tenant: String,
    /// The topic known at the stop (after aliases).
    pub topic: String,
    /// The queue it was in.
    pub queue: Option<String>,
    /// How it stopped: answered, abandoned or callback.
    pub outcome: crate::verdict::Outcome,
    /// When it stopped.
    pub at: Nanos,
    /// Stop minus start, milliseconds rounded up (0 when stamped before the start).
    pub wait_ms: i64,
    /// The limit of its topic.
    pub limit_ms: i64,
}

/// Callers waiting now in one tenant, topic and queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingGroup {
    /// Tenant.
    pub tenant: String,
    /// Topic known so far (after aliases; `general` when none yet).
    pub topic: String,
    /// The queue they are in now (`none` before any queue is known).
    pub queue: String,
    /// The topic's limit.
    pub limit_ms: i64,
    /// How many are waiting.
    pub waiting: u64,
    /// Of those, how many are past the limit now.
    pub over_limit: u64,
    /// Of those, how many have waited at least 80 % of the limit (over-limit included).
    pub at_risk: u64,
    /// The longest current wait.
    pub oldest_wait_ms: i64,
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

    /// What was counted after `before` (an earlier reading of the same counts): each
    /// count's increase, never negative.
    pub fn since(&self, before: &InputCounters) -> InputCounters {
        InputCounters {
            accepted: self.accepted.saturating_sub(before.accepted),
            duplicates: self.duplicates.saturating_sub(before.duplicates),
            late: self.late.saturating_sub(before.late),
            invalid: self
                .invalid
                .iter()
                .map(|(reason, count)| {
                    let seen = before.invalid.get(reason).copied().unwrap_or(0);
                    (reason.clone(), count.saturating_sub(seen))
                })
                .filter(|(_, count)| *count > 0)
                .collect(),
        }
    }

    /// Adds `other`'s counts to these (the counts of several engines together).
    pub fn add(&mut self, other: &InputCounters) {
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.late += other.late;
        for (reason, count) in &other.invalid {
            *self.invalid.entry(reason.clone()).or_default() += count;
        }
    }
}

/// The queue name of a call that was never queued (waiting groups, per-queue breaches).
pub const NO_QUEUE: &str = "none";

/// How many forgotten calls (with their buffers) to keep for reuse by new calls.
const SPARE_BUFFERS: usize = 4096;

/// How many final calls wait for their bookkeeping, by default, before it is done for
/// all of them at once (see [`Engine::settle`]).
pub const DEFAULT_SETTLE_BATCH: usize = 64;

/// The engine. See the module docs for its contract.
#[derive(Debug)]
pub struct Engine {
    pub(crate) pack: RulePack,
    pub(crate) rulebook: Rulebook,
    pub(crate) config: EngineConfig,
    pub(crate) symbols: Symbols,
    /// The local day last attributed to, with its bounds: most calls of a stream fall on
    /// the same day, so the time-zone lookup is done once per day, not once per call.
    day_cache: Option<(Nanos, Nanos, NaiveDate)>,
    week_hours: WeekHourCache,
    pub(crate) clock: Option<Nanos>,
    /// Open calls, boxed so that opening, closing and reusing one moves a pointer.
    pub(crate) slots: Vec<Option<Box<Call>>>,
    free_slots: Vec<usize>,
    /// Every call the engine knows: open (its slot) or closed (its memory). One index,
    /// so an event costs one lookup and a call changes state in place.
    pub(crate) known: KnownCalls,
    open_count: usize,
    /// Forgotten calls, with their buffers, reused by new ones (boxed on purpose: a call
    /// moves between `slots` and here as a pointer).
    #[allow(clippy::vec_box)]
    spare_calls: Vec<Box<Call>>,
    /// When each open call's next live alarm is due, and when its close passes the
    /// watermark (clock instant).
    timers: Timers,
    /// Calls found final by the last clock move, reused between moves.
    scratch_finals: Vec<(Nanos, usize)>,
    /// Calls already final (closed in `known`, out of their slots) whose tallies,
    /// ledger records and verdicts are not yet made, in finalization order. See
    /// [`Engine::settle`]. (Boxed on purpose: a call moves through here as a pointer.)
    #[allow(clippy::vec_box)]
    unsettled: Vec<Box<Call>>,
    /// Event positions being put in time order (breached calls' evidence), reused.
    pub(crate) scratch_order: Vec<usize>,
    pub(crate) tallies: DayTallies,
    pub(crate) counters: InputCounters,
    /// Live breaches raised, by (tenant, topic, rule), names interned: raising one
    /// copies no string.
    pub(crate) live_breaches: FxHashMap<(Sym, Sym, Sym), u64>,
    /// Final breached calls by local day: the report's ledger.
    pub(crate) breach_ledger: BreachLedger,
    /// Valid events per hour of event time: the report's input-gap check.
    pub(crate) traffic: HourlyTraffic,
    pub(crate) default_tenant: Sym,
}

impl Engine {
    /// A new, empty engine judging by `pack`.
    pub fn new(pack: RulePack, config: EngineConfig) -> Self {
        let mut symbols = Symbols::default();
        let default_tenant = symbols.intern("default");
        let rulebook = Rulebook::new(&pack, &mut symbols);
        Engine {
            pack,
            rulebook,
            day_cache: None,
            week_hours: WeekHourCache::default(),
            config,
            symbols,
            clock: None,
            slots: Vec::new(),
            free_slots: Vec::new(),
            known: KnownCalls::default(),
            open_count: 0,
            spare_calls: Vec::new(),
            timers: Timers::default(),
            scratch_finals: Vec::new(),
            unsettled: Vec::new(),
            scratch_order: Vec::new(),
            tallies: DayTallies::default(),
            counters: InputCounters::default(),
            live_breaches: FxHashMap::default(),
            breach_ledger: BreachLedger::new(),
            traffic: HourlyTraffic::default(),
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
        self.open_count
    }

    /// Live breaches raised so far, by (tenant, topic, rule).
    pub fn live_breach_counts(&self) -> BTreeMap<(String, String, String), u64> {
        self.live_breaches
            .iter()
            .map(|((tenant, topic, rule), count)| {
                let name = |sym: &Sym| self.symbols.name(*sym).to_owned();
                ((name(tenant), name(topic), name(rule)), *count)
            })
            .collect()
    }

    /// Adds `count` live breaches of (tenant, topic, rule) (restoring a snapshot).
    pub(crate) fn add_live_breaches(&mut self, tenant: &str, topic: &str, rule: &str, count: u64) {
        let key = (
            self.symbols.intern(tenant),
            self.symbols.intern(topic),
            self.symbols.intern(rule),
        );
        *self.live_breaches.entry(key).or_default() += count;
    }

    /// Per-day tallies of final verdicts, by (day, tenant, topic), names resolved, as of
    /// the last [`Engine::settle`].
    pub fn tallies(&self) -> impl Iterator<Item = (NaiveDate, &str, &str, &Tally)> {
        debug_assert!(self.is_settled(), "tallies read from an unsettled engine");
        self.tallies
            .in_order()
            .into_iter()
            .map(|((day, tenant, topic), tally)| {
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
        self.traffic.count(event.ts);
        let call_id: &str = &event.call_id;
        let hash = hash_call_id(call_id);
        let slots = &self.slots;
        let place = self.known.find(hash, call_id, |slot, call_id| {
            slots
                .get(slot as usize)
                .and_then(Option::as_ref)
                .is_some_and(|call| call.is(call_id))
        });
        let (open_slot, closed_call) = match place {
            Some(Place::Open(slot)) => (Some(slot as usize), None),
            Some(Place::Closed(seq)) => (None, self.known.closed_call(seq)),
            None => (None, None),
        };
        let open_call = open_slot.and_then(|slot| self.slots[slot].as_ref());
        let event_id: &str = &event.event_id;
        let fingerprint = id_fingerprint(event_id);
        let already_applied = open_call.is_some_and(|call| call.has_event(event_id, fingerprint))
            || closed_call.is_some_and(|closed| closed.has_event(event_id));
        if already_applied {
            self.counters.duplicates += 1;
            return Disposition::Duplicate;
        }
        if self
            .watermark()
            .is_some_and(|watermark| event.ts < watermark)
        {
            if let Some(call) = open_slot.and_then(|slot| self.slots[slot].as_mut()) {
                call.late_events = true;
            }
            self.counters.late += 1;
            return Disposition::Late(Lateness::BehindWatermark);
        }
        if closed_call.is_some() {
            self.counters.late += 1;
            return Disposition::Late(Lateness::AfterVerdict);
        }
        self.counters.accepted += 1;
        let recorded = self.recorded(event);
        // Alarms due before this event's time are raised first, as a live clock would
        // have: the answer at 6:40 comes after the alarm at 6:00, however sparse the input.
        if self.clock.is_none_or(|clock| event.ts > clock) {
            self.raise_alarms_before(event.ts, out);
        }
        let slot = match open_slot {
            Some(slot) => slot,
            None => self.open_slot(call_id, hash),
        };
        // What the event can move: anything, for a call not started yet (its close
        // counts from the first event seen).
        let (mut moves_alarm, mut moves_close) = (true, true);
        if let Some(call) = self.slots[slot].as_mut() {
            if call.start().is_some() {
                (moves_alarm, moves_close) = (event.kind.moves_alarm(), event.kind.moves_close());
            }
            call.push_fingerprinted(
                &event.event_id,
                fingerprint,
                recorded,
                event.attrs.as_deref(),
            );
        }
        if self.config.emit_stops {
            self.announce_stop(slot, out);
        }
        self.clock = Some(self.clock.map_or(event.ts, |clock| clock.max(event.ts)));
        if moves_alarm || moves_close {
            self.schedule(slot, moves_alarm, moves_close);
        }
        if self.anything_due() {
            self.run_due(out);
        }
        Disposition::Accepted
    }

    /// Whether the clock has passed some live alarm, close or closed call's retention:
    /// checked inline, as most events make nothing due.
    #[inline]
    fn anything_due(&self) -> bool {
        let Some(clock) = self.clock else {
            return false;
        };
        self.timers.any_before(Timer::Alarm, clock)
            || self.timers.any_before(Timer::Close, clock)
            || self
                .known
                .forgets_before(clock.saturating_sub(self.lateness_nanos()))
    }

    /// An event as a call records it (names interned, the topic resolved once).
    #[inline]
    pub(crate) fn recorded(&mut self, event: &Event<'_>) -> Recorded {
        let topic = event.topic.as_deref().map(|name| self.intern_topic(name));
        Recorded {
            ts: event.ts,
            kind: event.kind,
            outcome: event.outcome,
            id_at: 0,
            id_len: 0,
            id_fingerprint: 0,
            tenant: event
                .tenant
                .as_deref()
                .map(|name| self.symbols.intern(name)),
            queue: event.queue.as_deref().map(|name| self.symbols.intern(name)),
            topic,
        }
    }

    /// Tells the live view, once, that a call has both its start and its stop (when the
    /// engine is configured to).
    #[inline(never)]
    fn announce_stop(&mut self, slot: usize, out: &mut Vec<Output>) {
        let Some(call) = self.slots[slot].as_mut() else {
            return;
        };
        if call.stop_announced {
            return;
        }
        let (Some(start), Some(stop)) = (call.start(), call.stop()) else {
            return;
        };
        let outcome = match stop.kind {
            crate::event::EventKind::Answered => crate::verdict::Outcome::Answered,
            crate::event::EventKind::CallbackRequested => crate::verdict::Outcome::Callback,
            _ => crate::verdict::Outcome::Abandoned,
        };
        let (start_ts, stop_ts, tenant) = (start.ts, stop.ts, start.tenant);
        call.stop_announced = true;
        let topic = self.rulebook.resolve(call.current_topic());
        let queue = call.current_queue();
        out.push(Output::Stopped(StopNotice {
            tenant: self
                .symbols
                .name(tenant.unwrap_or(self.default_tenant))
                .to_owned(),
            topic: self.symbols.name(topic.topic).to_owned(),
            queue: queue.map(|sym| self.symbols.name(sym).to_owned()),
            outcome,
            at: stop_ts,
            wait_ms: ceil_millis(stop_ts.saturating_sub(start_ts)),
            limit_ms: topic.limit_ms,
        }));
    }

    /// Callers waiting now (started, not stopped), grouped by tenant, topic and queue, as
    /// of the engine clock. Sorted by tenant, topic, queue.
    pub fn waiting_now(&self) -> Vec<WaitingGroup> {
        let Some(now) = self.clock else {
            return Vec::new();
        };
        let mut groups: BTreeMap<(Sym, Sym, Option<Sym>), WaitingGroup> = BTreeMap::new();
        for call in self.slots.iter().flatten() {
            let (Some(start), None) = (call.start(), call.stop()) else {
                continue;
            };
            let topic = self.rulebook.resolve(call.current_topic());
            let tenant = start.tenant.unwrap_or(self.default_tenant);
            let queue = call.current_queue();
            let waited = now.saturating_sub(start.ts).max(0);
            let group = groups
                .entry((tenant, topic.topic, queue))
                .or_insert_with(|| WaitingGroup {
                    tenant: self.symbols.name(tenant).to_owned(),
                    topic: self.symbols.name(topic.topic).to_owned(),
                    queue: queue
                        .map_or(NO_QUEUE, |sym| self.symbols.name(sym))
                        .to_owned(),
                    limit_ms: topic.limit_ms,
                    waiting: 0,
                    over_limit: 0,
                    at_risk: 0,
                    oldest_wait_ms: 0,
                });
            group.waiting += 1;
            if waited > topic.limit_nanos {
                group.over_limit += 1;
            }
            // At risk: at least 80 % of the limit (integer arithmetic, no rounding).
            if waited.saturating_mul(5) >= topic.limit_nanos.saturating_mul(4) {
                group.at_risk += 1;
            }
            group.oldest_wait_ms = group.oldest_wait_ms.max(waited / NANOS_PER_MILLI);
        }
        let mut groups: Vec<WaitingGroup> = groups.into_values().collect();
        groups
            .sort_by(|a, b| (&a.tenant, &a.topic, &a.queue).cmp(&(&b.tenant, &b.topic, &b.queue)));
        groups
    }

    /// Interns a topic name as a call carries it, resolving it against the pack once.
    pub(crate) fn intern_topic(&mut self, name: &str) -> Sym {
        let sym = self.symbols.intern(name);
        self.rulebook.learn(sym, &self.pack, &mut self.symbols);
        sym
    }

    /// Moves the clock forward to `now` (never back) and raises what becomes due. Live
    /// mode calls this with the wall clock while input is idle.
    pub fn advance_to(&mut self, now: Nanos, out: &mut Vec<Output>) {
        if self.clock.is_none_or(|clock| clock < now) {
            self.clock = Some(now);
            self.run_due(out);
        }
        self.settle(out);
    }

    /// Does the bookkeeping of every call already final: its tallies, its ledger record
    /// and its verdict (pushed to `out`). Calls become final as the watermark passes
    /// them, and from that moment they take no more events; their bookkeeping is done
    /// in batches, so that the code doing it runs many times in a row rather than
    /// between every few events. [`Engine::advance_to`] and [`Engine::finish`] settle;
    /// a caller settles (and handles `out`) before reading tallies, reports or the
    /// ledger, and before a [`Engine::snapshot`], which refuses an unsettled engine.
    pub fn settle(&mut self, out: &mut Vec<Output>) {
        if self.unsettled.is_empty() {
            return;
        }
        let mut unsettled = std::mem::take(&mut self.unsettled);
        for call in unsettled.drain(..) {
            self.book(call, out);
        }
        self.unsettled = unsettled;
    }

    /// Whether every final call's bookkeeping is done (see [`Engine::settle`]).
    pub fn is_settled(&self) -> bool {
        self.unsettled.is_empty()
    }

    /// How many final calls wait for their bookkeeping.
    pub(crate) fn unsettled_calls(&self) -> usize {
        self.unsettled.len()
    }

    /// Declares the input complete: every pending call becomes final now, in (close,
    /// call id) order.
    pub fn finish(&mut self, out: &mut Vec<Output>) {
        let mut pending: Vec<(Nanos, usize)> = Vec::with_capacity(self.open_count);
        for (slot, call) in self.slots.iter().enumerate() {
            if let Some(call) = call {
                pending.push((call.close_at(&self.rulebook), slot));
            }
        }
        self.finalize_in_order(&mut pending, out);
        self.settle(out);
    }

    /// Opens a new call and returns its slot.
    #[inline(never)]
    fn open_slot(&mut self, call_id: &str, hash: u64) -> usize {
        let mut call = self
            .spare_calls
            .pop()
            .unwrap_or_else(|| Box::new(Call::empty()));
        call.reset(call_id, hash);
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.slots[slot] = Some(call);
                slot
            }
            None => {
                self.slots.push(Some(call));
                self.slots.len() - 1
            }
        };
        self.known.insert_open(hash, slot as u32);
        self.open_count += 1;
        slot
    }

    /// Sets the call's triggers (those asked for) to exactly its next live alarm and its
    /// close passing the watermark (each moves in place as the call progresses).
    fn schedule(&mut self, slot: usize, alarm: bool, close: bool) {
        let lateness = self.lateness_nanos();
        let Some(call) = self.slots[slot].as_ref() else {
            return;
        };
        if close {
            let close = call.close_at(&self.rulebook).saturating_add(lateness);
            self.timers.set(Timer::Close, slot, Some(close));
        }
        if alarm {
            let alarm = call.next_live_alarm(&self.rulebook).map(|(due, _)| due);
            self.timers.set(Timer::Alarm, slot, alarm);
        }
    }

    /// Raises the live alarms due before `until` (finalizing nothing: the event at
    /// `until` is applied before any call closes).
    fn raise_alarms_before(&mut self, until: Nanos, out: &mut Vec<Output>) {
        while let Some(slot) = self.timers.pop_before(Timer::Alarm, until) {
            self.raise_live_alarms(slot, until, out);
            // Everything due before `until` was raised, so this cannot pop again here.
            let next = self.slots[slot]
                .as_ref()
                .and_then(|call| call.next_live_alarm(&self.rulebook))
                .map(|(due, _)| due);
            self.timers.set(Timer::Alarm, slot, next);
        }
    }

    /// Raises live alarms and finalizes calls whose trigger the clock has passed.
    fn run_due(&mut self, out: &mut Vec<Output>) {
        let Some(clock) = self.clock else {
            return;
        };
        self.raise_alarms_before(clock, out);
        let lateness = self.lateness_nanos();
        let watermark = clock.saturating_sub(lateness);
        let mut finals = std::mem::take(&mut self.scratch_finals);
        while let Some(slot) = self.timers.pop_before(Timer::Close, clock) {
            let Some(call) = self.slots[slot].as_mut() else {
                continue;
            };
            let close_at = call.close_at(&self.rulebook);
            if watermark > close_at {
                finals.push((close_at, slot));
            } else {
                self.timers
                    .set(Timer::Close, slot, Some(close_at.saturating_add(lateness)));
            }
        }
        self.finalize_in_order(&mut finals, out);
        finals.clear();
        self.scratch_finals = finals;
        self.known.forget_before(watermark);
    }

    #[inline(never)]
    fn raise_live_alarms(&mut self, slot: usize, clock: Nanos, out: &mut Vec<Output>) {
        loop {
            let Some(call) = self.slots[slot].as_ref() else {
                return;
            };
            let Some((due, kind)) = call.next_live_alarm(&self.rulebook) else {
                return;
            };
            if due >= clock {
                return;
            }
            let (breach, (tenant, topic)) = self.describe_live_breach(call, due, kind, clock);
            let key = (tenant, topic, self.symbols.intern(&breach.rule));
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
    ) -> (LiveBreach, (Sym, Sym)) {
        let topic = self.rulebook.resolve(call.current_topic());
        let tenant = call
            .start()
            .and_then(|start| start.tenant)
            .unwrap_or(self.default_tenant);
        let duty = match kind {
            LiveKind::Wait => None,
            LiveKind::Callback => self.rulebook.callback,
            LiveKind::Sms => self.rulebook.sms,
        };
        let (rule, limit_ms) = match duty {
            Some(duty) => (duty.rule, duty.within_ms),
            None => (topic.rule, topic.limit_ms),
        };
        let breach = LiveBreach {
            call_id: call.call_id().to_owned(),
            tenant: self.symbols.name(tenant).to_owned(),
            topic: self.symbols.name(topic.topic).to_owned(),
            queue: call
                .current_queue()
                .map(|sym| self.symbols.name(sym).to_owned()),
            rule: self.rulebook.rule_name(rule).to_owned(),
            limit_ms,
            since: due.saturating_sub(limit_ms.saturating_mul(NANOS_PER_MILLI)),
            due_at: due,
            detected_at: clock,
        };
        (breach, (tenant, topic.topic))
    }

    fn finalize_in_order(&mut self, finals: &mut [(Nanos, usize)], out: &mut Vec<Output>) {
        if finals.is_empty() {
            return;
        }
        let slots = &self.slots;
        let id_of = |slot: usize| slots[slot].as_ref().map(|call| call.call_id());
        // The closes come out of their queue in order already: call ids (each a read of a
        // call) are compared only between equal closes.
        finals.sort_by(|(close_a, slot_a), (close_b, slot_b)| {
            close_a
                .cmp(close_b)
                .then_with(|| id_of(*slot_a).cmp(&id_of(*slot_b)))
        });
        for &(close_at, slot) in finals.iter() {
            self.finalize(slot, close_at);
        }
        if self.unsettled.len() >= self.config.settle_batch {
            self.settle(out);
        }
    }

    /// The local day of an instant, with a one-day cache.
    fn local_day(&mut self, instant: Nanos) -> NaiveDate {
        if let Some((from, until, day)) = self.day_cache {
            if instant >= from && instant < until {
                return day;
            }
        }
        let zone = self.pack.timezone;
        let day = local_date(instant, zone);
        let from = start_of_local_day(day, zone);
        let until = day
            .succ_opt()
            .map_or(i64::MAX, |next| start_of_local_day(next, zone));
        self.day_cache = Some((from, until, day));
        day
    }

    /// Makes a call final: out of its slot and its timers, remembered as closed (so it
    /// takes no more events), its bookkeeping queued for [`Engine::settle`].
    fn finalize(&mut self, slot: usize, close_at: Nanos) {
        let Some(call) = self.slots[slot].take() else {
            return;
        };
        self.timers.disarm_both(slot);
        self.free_slots.push(slot);
        self.open_count -= 1;
        let retention = self.rulebook.orphan_timeout_nanos;
        self.known.close(
            call.hash,
            slot as u32,
            call.ids(),
            call.call_id().len(),
            close_at,
            close_at.saturating_add(retention),
        );
        self.unsettled.push(call);
    }

    /// The bookkeeping of a final call: its tally, its ledger record, its verdict.
    fn book(&mut self, call: Box<Call>, out: &mut Vec<Output>) {
        let judgement = call.judge(&self.rulebook, None);
        let day = self.local_day(judgement.attributed_to());
        let tenant = judgement.tenant.unwrap_or(self.default_tenant);
        let wait_ms = judgement.wait_nanos.map(ceil_millis);
        let rule_names = judgement.breaches.names(judgement.topic, &self.rulebook);
        let breached = !rule_names.as_slice().is_empty();
        // Only breached calls are placed on the heat map: skip the zone lookup otherwise.
        let zone = self.pack.timezone;
        let week_hour = breached.then(|| self.week_hours.get(judgement.attributed_to(), zone));
        self.tallies
            .entry((day, tenant, judgement.topic.topic))
            .record(TallyEntry {
                outcome: judgement.outcome,
                wait_ms,
                limit_ms: judgement.topic.limit_ms,
                breaches: rule_names.as_slice(),
                flags: &judgement.flags,
                week_hour,
                queue: judgement
                    .queue
                    .map_or(NO_QUEUE, |queue| self.symbols.name(queue)),
            });
        if breached {
            self.keep_breach(day, &call, &judgement);
        }
        if self.config.emit_verdicts {
            let verdict = self.verdict_of(&call, &judgement, wait_ms);
            out.push(Output::Verdict(Box::new(verdict)));
        }
        // The call and its buffers are warm: reuse them for the next new call.
        if self.spare_calls.len() < SPARE_BUFFERS {
            self.spare_calls.push(call);
        }
    }

    #[inline(never)]
    fn verdict_of(&self, call: &Call, judgement: &Judgement, wait_ms: Option<i64>) -> Verdict {
        let ordered: Vec<&Recorded> = call.events_in_time_order();
        let mut attrs: Option<serde_json::Map<String, serde_json::Value>> = None;
        for text in ordered.iter().filter_map(|event| call.attrs_of(event)) {
            let parsed = serde_json::from_str::<serde_json::Map<_, _>>(text).ok();
            if let Some(parsed) = parsed {
                attrs.get_or_insert_with(Default::default).extend(parsed);
            }
        }
        let breaches = judgement.breaches.names(judgement.topic, &self.rulebook);
        Verdict {
            call_id: call.call_id().to_owned(),
            tenant: self
                .symbols
                .name(judgement.tenant.unwrap_or(self.default_tenant))
                .to_owned(),
            queue: judgement.queue.map(|sym| self.symbols.name(sym).to_owned()),
            topic: self.symbols.name(judgement.topic.topic).to_owned(),
            started_at: judgement.start_ts.map(format_utc),
            outcome: judgement.outcome,
            wait_ms,
            limit_ms: judgement.topic.limit_ms,
            breaches: breaches.to_strings(),
            rule_pack: PackRef {
                name: self.pack.name.clone(),
                version: self.pack.version.clone(),
            },
            events: ordered
                .iter()
                .map(|event| call.event_id(event).to_owned())
                .collect(),
            flags: judgement.flags.clone(),
            attrs,
        }
    }

    /// Pending calls judged on what has arrived so far, as of the engine clock, with the
    /// day each is attributed to. For reports.
    pub(crate) fn pending_entries(&self) -> Vec<(NaiveDate, String, String, PendingEntry)> {
        let now = self.clock.unwrap_or(i64::MIN);
        let mut entries = Vec::with_capacity(self.open_count);
        for call in self.slots.iter().flatten() {
            let judgement = call.judge(&self.rulebook, Some(now));
            let tenant = judgement.tenant.unwrap_or(self.default_tenant);
            let day = local_date(judgement.attributed_to(), self.pack.timezone);
            let week_hour = local_week_hour(judgement.attributed_to(), self.pack.timezone);
            let breaches = judgement.breaches.names(judgement.topic, &self.rulebook);
            entries.push((
                day,
                self.symbols.name(tenant).to_owned(),
                self.symbols.name(judgement.topic.topic).to_owned(),
                PendingEntry {
                    outcome: judgement.outcome,
                    wait_ms: judgement.wait_nanos.map(ceil_millis),
                    limit_ms: judgement.topic.limit_ms,
                    breaches: breaches.to_strings(),
                    flags: judgement.flags,
                    week_hour,
                    queue: judgement
                        .queue
                        .map_or(NO_QUEUE, |queue| self.symbols.name(queue))
                        .to_owned(),
                },
            ));
        }
        entries
    }

    /// Re-arms every open call's trigger (after a restore).
    pub(crate) fn rebuild_timers(&mut self) {
        self.timers.clear();
        for slot in 0..self.slots.len() {
            self.schedule(slot, true, true);
        }
    }

    /// Re-adds a restored open call.
    pub(crate) fn restore_call(&mut self, call: Call) {
        let hash = call.hash;
        self.slots.push(Some(Box::new(call)));
        self.known.insert_open(hash, (self.slots.len() - 1) as u32);
        self.open_count += 1;
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
    pub week_hour: crate::tally::WeekHour,
    pub queue: String,
}
