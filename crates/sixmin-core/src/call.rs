//! One call's recorded events and what the rule pack makes of them.
//!
//! Everything here is a pure function of the call's events (never of their arrival order):
//! ties between events stamped at the same instant are broken by the event content, as
//! `docs/semantics.md` lists. A small summary (start, stop, last topic…) is kept up to
//! date as events arrive, so the per-event path never rescans a call.

use crate::event::{CallbackOutcome, EventKind};
use crate::rulebook::{Resolved, RuleIdx, Rulebook};
use crate::symbols::Sym;
use crate::time::Nanos;
use crate::verdict::{Flag, Outcome};

/// An accepted event, as a call keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub ts: Nanos,
    pub kind: EventKind,
    pub outcome: Option<CallbackOutcome>,
    /// Where the `event_id` sits in its call's id buffer (set by [`Call::push`]).
    pub id_at: u32,
    /// Its length in bytes (ids are at most 128 characters, 512 bytes, once decoded).
    pub id_len: u16,
    /// Its [`id_fingerprint`] (set by [`Call::push`]): most ids differ here, so
    /// de-duplication rarely compares bytes.
    pub id_fingerprint: u32,
    pub tenant: Option<Sym>,
    pub queue: Option<Sym>,
    pub topic: Option<Sym>,
}

// A call's events are read on every event of it: half a cache line each.
const _: () = assert!(std::mem::size_of::<Recorded>() <= 32);

impl Recorded {
    fn is_topic_selection(&self) -> bool {
        self.kind == EventKind::TopicSelected && self.topic.is_some()
    }
}

/// A 32-bit hash of an event id, to rule out most unequal ids without comparing bytes.
pub(crate) fn id_fingerprint(event_id: &str) -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = rustc_hash::FxBuildHasher.build_hasher();
    hasher.write(event_id.as_bytes());
    (hasher.finish() >> 32) as u32
}

/// Which live alarms a call has already raised (each is raised once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LiveFired {
    pub wait: bool,
    pub callback: bool,
    pub sms: bool,
}

/// Indices of the events that decide the call, kept up to date on every push.
#[derive(Debug, Clone, Copy, Default)]
struct Summary {
    start: Option<u32>,
    stop: Option<u32>,
    ended: Option<Nanos>,
    first_seen: Option<Nanos>,
    last_topic: Option<u32>,
    last_queue: Option<u32>,
    attempts: u32,
    /// Copies of what the timers and the judgement read (the start's time and tenant, the
    /// stop's time and kind, the last topic and queue with their times), so re-arming or
    /// judging a call reads none of its events in the common case.
    start_ts: Nanos,
    start_tenant: Option<Sym>,
    stop_ts: Nanos,
    stop_kind: Option<EventKind>,
    topic: Option<Sym>,
    topic_ts: Nanos,
    queue: Option<Sym>,
    queue_ts: Nanos,
}

/// The longest call id a call also keeps inside itself (a UUID is 36 bytes).
const SHORT_ID: usize = 40;

/// How many event fingerprints a call keeps inside itself (most calls have fewer events).
const INLINE_FINGERPRINTS: usize = 8;

// The inline fingerprints that match an event are kept as bits of a `u32`.
const _: () = assert!(INLINE_FINGERPRINTS < 32);

/// An open call: its events so far and its bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    events: Vec<Recorded>,
    /// The call id, then every `event_id` of the call, packed one after the other with
    /// its length ([`crate::idlist`]): one allocation, reused by later calls, and what
    /// the closed call remembers as it is.
    ids: String,
    /// The call id's [`crate::known::hash_call_id`], found again when the call closes.
    pub hash: u64,
    /// The call id's length at the front of `ids`.
    call_id_len: u32,
    /// The call id again, when it is short enough, so that finding the call by its id
    /// reads only the call itself (its id buffer is another allocation).
    short_id: [u8; SHORT_ID],
    /// The [`id_fingerprint`] of the first [`INLINE_FINGERPRINTS`] events, so that
    /// de-duplicating an event reads the call itself, not its event records.
    fingerprints: [u32; INLINE_FINGERPRINTS],
    /// The `attrs` of the events that carry some, by the event's place in `ids`
    /// ([`Recorded::id_at`]): few events do, so records stay small without them.
    attrs: Vec<(u32, Box<str>)>,
    summary: Summary,
    pub late_events: bool,
    pub live_fired: LiveFired,
    /// Whether the call's stop was announced to the live view.
    pub stop_announced: bool,
}

/// A live alarm that is due at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LiveKind {
    Wait,
    Callback,
    Sms,
}

/// Rules a verdict breaks, as a set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Breaches(u8);

impl Breaches {
    pub const WAIT: u8 = 1;
    pub const ANNOUNCEMENT: u8 = 2;
    pub const CALLBACK: u8 = 4;
    pub const SMS: u8 = 8;

    fn add(&mut self, bit: u8) {
        self.0 |= bit;
    }

    /// The rule ids, in the fixed order wait, announcement, callback, SMS.
    pub fn names<'r>(self, topic: Resolved, rulebook: &'r Rulebook) -> RuleNames<'r> {
        let mut names = RuleNames::default();
        if self.0 == 0 {
            return names;
        }
        for rule in self.rules(topic, rulebook) {
            names.push(rulebook.rule_name(rule));
        }
        names
    }

    /// The rules broken, as the rulebook's indexes, in the order of [`Breaches::names`].
    pub fn rules(self, topic: Resolved, rulebook: &Rulebook) -> impl Iterator<Item = RuleIdx> {
        let duties = [
            (Breaches::WAIT, Some(topic.rule)),
            (
                Breaches::ANNOUNCEMENT,
                rulebook.announcement.map(|duty| duty.rule),
            ),
            (Breaches::CALLBACK, rulebook.callback.map(|duty| duty.rule)),
            (Breaches::SMS, rulebook.sms.map(|duty| duty.rule)),
        ];
        duties
            .into_iter()
            .filter_map(move |(bit, rule)| rule.filter(|_| self.0 & bit != 0))
    }
}

/// Up to four rule ids, without allocating.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RuleNames<'r> {
    names: [&'r str; 4],
    len: usize,
}

impl<'r> RuleNames<'r> {
    fn push(&mut self, name: &'r str) {
        if self.len < self.names.len() {
            self.names[self.len] = name;
            self.len += 1;
        }
    }

    pub fn as_slice(&self) -> &[&'r str] {
        &self.names[..self.len]
    }

    /// The names as owned strings (for a verdict or a report).
    pub fn to_strings(self) -> Vec<String> {
        self.as_slice()
            .iter()
            .map(|name| (*name).to_owned())
            .collect()
    }
}

/// The judged state of a call: final when its close has passed, provisional before.
#[derive(Debug, Clone)]
pub(crate) struct Judgement {
    pub start_ts: Option<Nanos>,
    pub first_seen: Nanos,
    pub tenant: Option<Sym>,
    pub queue: Option<Sym>,
    pub topic: Resolved,
    pub outcome: Outcome,
    pub wait_nanos: Option<Nanos>,
    pub breaches: Breaches,
    pub flags: Vec<Flag>,
}

impl Judgement {
    /// The day (and so month) the call belongs to: its start, or for an orphan its
    /// earliest event.
    pub fn attributed_to(&self) -> Nanos {
        self.start_ts.unwrap_or(self.first_seen)
    }
}

/// The first callback attempt, if it came by the deadline.
fn first_attempt_by<'a>(attempts: &[&'a Recorded], deadline: Nanos) -> Option<&'a Recorded> {
    attempts
        .first()
        .copied()
        .filter(|first| first.ts <= deadline)
}

/// Among stops stamped at the same instant, an answer wins over a callback request, which
/// wins over an abandon: the caller was served.
fn stop_rank(kind: EventKind) -> u8 {
    match kind {
        EventKind::Answered => 0,
        EventKind::CallbackRequested => 1,
        _ => 2,
    }
}

impl Call {
    pub fn new(call_id: &str) -> Self {
        let mut call = Call::empty();
        call.reset(call_id, crate::known::hash_call_id(call_id));
        call
    }

    /// A call with no id and no events yet, to be given one by [`Call::reset`].
    pub fn empty() -> Self {
        Call {
            events: Vec::new(),
            ids: String::new(),
            hash: 0,
            call_id_len: 0,
            short_id: [0; SHORT_ID],
            fingerprints: [0; INLINE_FINGERPRINTS],
            attrs: Vec::new(),
            summary: Summary::default(),
            late_events: false,
            live_fired: LiveFired::default(),
            stop_announced: false,
        }
    }

    /// Makes this (forgotten) call a new one, `call_id` (whose id hashes to `hash`),
    /// keeping its buffers.
    pub fn reset(&mut self, call_id: &str, hash: u64) {
        self.events.clear();
        self.events.reserve(8);
        self.ids.clear();
        self.ids.reserve(128);
        self.ids.push_str(call_id);
        self.attrs.clear();
        self.hash = hash;
        self.call_id_len = call_id.len() as u32;
        if let Some(short) = self.short_id.get_mut(..call_id.len()) {
            short.copy_from_slice(call_id.as_bytes());
        }
        self.summary = Summary::default();
        self.late_events = false;
        self.live_fired = LiveFired::default();
        self.stop_announced = false;
    }

    /// Whether this is the call `call_id`.
    #[inline]
    pub fn is(&self, call_id: &str) -> bool {
        call_id.len() == self.call_id_len as usize
            && match self.short_id.get(..call_id.len()) {
                Some(short) => crate::bytes::same(short, call_id.as_bytes()),
                None => crate::bytes::same(self.call_id().as_bytes(), call_id.as_bytes()),
            }
    }

    /// The call id.
    pub fn call_id(&self) -> &str {
        self.ids
            .get(..self.call_id_len as usize)
            .unwrap_or_default()
    }

    /// The call id followed by the `event_id` of each accepted event, in arrival order,
    /// packed with their lengths ([`crate::idlist::unpack`] reads them back).
    pub fn ids(&self) -> &str {
        &self.ids
    }

    /// The accepted events, in arrival order.
    pub fn events(&self) -> &[Recorded] {
        &self.events
    }

    /// The call id and its event ids in (ts, event id) order; `order` is scratch space
    /// (its contents are replaced), so the hot path allocates only the evidence itself.
    /// Events that arrived in that order already are copied as the call keeps them.
    pub(crate) fn evidence(&self, order: &mut Vec<usize>) -> crate::idlist::Evidence {
        let in_order = self
            .events
            .windows(2)
            .all(|pair| self.key(&pair[0]) <= self.key(&pair[1]));
        if in_order {
            return crate::idlist::Evidence::from_packed(&self.ids, self.call_id_len as usize);
        }
        order.clear();
        order.extend(0..self.events.len());
        order.sort_by(|a, b| self.key(&self.events[*a]).cmp(&self.key(&self.events[*b])));
        crate::idlist::Evidence::new(
            self.call_id(),
            order.iter().map(|at| self.event_id(&self.events[*at])),
        )
    }

    /// The accepted events in (ts, event id) order.
    pub fn events_in_time_order(&self) -> Vec<&Recorded> {
        let mut ordered: Vec<&Recorded> = self.events.iter().collect();
        ordered.sort_by(|a, b| self.key(a).cmp(&self.key(b)));
        ordered
    }

    /// The `event_id` of one of this call's events.
    pub fn event_id<'a>(&'a self, event: &Recorded) -> &'a str {
        let from = event.id_at as usize;
        self.ids
            .get(from..from + event.id_len as usize)
            .unwrap_or("")
    }

    /// Orders events by (ts, event id): "later" means greater.
    fn key<'a>(&'a self, event: &Recorded) -> (Nanos, &'a str) {
        (event.ts, self.event_id(event))
    }

    /// Whether an event with this `event_id` (whose [`id_fingerprint`] is `fingerprint`)
    /// was already applied to the call. Exact: equal fingerprints are confirmed byte for
    /// byte.
    #[inline]
    pub fn has_event(&self, event_id: &str, fingerprint: u32) -> bool {
        // Which of the inline fingerprints match, as bits: compared all at once, without
        // a branch per event.
        let mut matches = 0u32;
        for (at, known) in self.fingerprints.iter().enumerate() {
            matches |= u32::from(*known == fingerprint) << at;
        }
        let inline = self.events.len().min(INLINE_FINGERPRINTS);
        matches &= (1u32 << inline) - 1;
        if matches == 0 && self.events.len() <= INLINE_FINGERPRINTS {
            return false;
        }
        self.has_event_confirmed(event_id, fingerprint, matches)
    }

    /// [`Call::has_event`] past the inline check: confirms the matching fingerprints
    /// (`matches`, by bit) byte for byte, then looks through the events past the inline
    /// ones (out of line: most events of a call are new and none of it runs).
    #[inline(never)]
    fn has_event_confirmed(&self, event_id: &str, fingerprint: u32, matches: u32) -> bool {
        let is_it = |event: &Recorded| {
            crate::bytes::same(self.event_id(event).as_bytes(), event_id.as_bytes())
        };
        let inline_match = self
            .events
            .iter()
            .take(INLINE_FINGERPRINTS)
            .enumerate()
            .any(|(at, event)| matches & (1 << at) != 0 && is_it(event));
        inline_match
            || self.events.get(INLINE_FINGERPRINTS..).is_some_and(|rest| {
                rest.iter()
                    .any(|event| event.id_fingerprint == fingerprint && is_it(event))
            })
    }

    /// The `attrs` an event of this call carried, as JSON text.
    pub fn attrs_of(&self, event: &Recorded) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(id_at, _)| *id_at == event.id_at)
            .map(|(_, attrs)| &**attrs)
    }

    /// Keeps the `attrs` of the event whose id sits at `id_at` (out of line: few events
    /// carry any).
    #[inline(never)]
    fn keep_attrs(&mut self, id_at: u32, attrs: &str) {
        self.attrs.push((id_at, attrs.into()));
    }

    /// Adds an accepted event (with the `attrs` it carried) and updates the summary.
    pub fn push(&mut self, event_id: &str, event: Recorded, attrs: Option<&str>) {
        self.push_fingerprinted(event_id, id_fingerprint(event_id), event, attrs);
    }

    /// [`Call::push`] for a caller that has the id's [`id_fingerprint`] at hand already.
    pub fn push_fingerprinted(
        &mut self,
        event_id: &str,
        fingerprint: u32,
        event: Recorded,
        attrs: Option<&str>,
    ) {
        let (id_at, id_len) = crate::idlist::push_packed(&mut self.ids, event_id);
        let id_at = id_at as u32;
        if let Some(attrs) = attrs {
            self.keep_attrs(id_at, attrs);
        }
        // Built whole, not patched field by field, so it is stored once.
        let event = Recorded {
            id_at,
            id_len,
            id_fingerprint: fingerprint,
            ..event
        };
        let index = self.events.len() as u32;
        if let Some(inline) = self.fingerprints.get_mut(index as usize) {
            *inline = fingerprint;
        }
        let (events, ids, summary) = (&self.events, &self.ids, &mut self.summary);
        let id = |e: &Recorded| {
            let from = e.id_at as usize;
            ids.get(from..from + e.id_len as usize).unwrap_or("")
        };
        let key = |e: &Recorded| (e.ts, id(e));
        let at = |slot: Option<u32>| slot.map(|slot| &events[slot as usize]);
        let is_earlier_stop = |a: &Recorded, b: &Recorded| {
            (a.ts, stop_rank(a.kind), id(a)) < (b.ts, stop_rank(b.kind), id(b))
        };
        match event.kind {
            EventKind::CallStarted
                if at(summary.start).is_none_or(|current| key(&event) < key(current)) =>
            {
                summary.start = Some(index);
                summary.start_ts = event.ts;
                summary.start_tenant = event.tenant;
            }
            kind if kind.stops_wait()
                && at(summary.stop).is_none_or(|current| is_earlier_stop(&event, current)) =>
            {
                summary.stop = Some(index);
                summary.stop_ts = event.ts;
                summary.stop_kind = Some(event.kind);
            }
            EventKind::Ended => {
                summary.ended = Some(summary.ended.map_or(event.ts, |ended| ended.max(event.ts)));
            }
            EventKind::CallbackAttempted => summary.attempts += 1,
            _ => {}
        }
        if event.is_topic_selection()
            && at(summary.last_topic).is_none_or(|current| key(&event) > key(current))
        {
            summary.last_topic = Some(index);
            summary.topic = event.topic;
            summary.topic_ts = event.ts;
        }
        if event.queue.is_some()
            && at(summary.last_queue).is_none_or(|current| key(&event) > key(current))
        {
            summary.last_queue = Some(index);
            summary.queue = event.queue;
            summary.queue_ts = event.ts;
        }
        summary.first_seen = Some(
            summary
                .first_seen
                .map_or(event.ts, |first| first.min(event.ts)),
        );
        self.events.push(event);
    }

    fn event(&self, slot: Option<u32>) -> Option<&Recorded> {
        slot.map(|slot| &self.events[slot as usize])
    }

    pub fn start(&self) -> Option<&Recorded> {
        self.event(self.summary.start)
    }

    pub fn stop(&self) -> Option<&Recorded> {
        self.event(self.summary.stop)
    }

    fn first_seen(&self) -> Nanos {
        self.summary.first_seen.unwrap_or(0)
    }

    /// The last event carrying what `keep` looks for, stamped at or before `until`.
    fn last_until(&self, until: Nanos, keep: impl Fn(&Recorded) -> bool) -> Option<&Recorded> {
        let mut found: Option<&Recorded> = None;
        for event in self
            .events
            .iter()
            .filter(|event| event.ts <= until && keep(event))
        {
            if found.is_none_or(|current| self.key(event) > self.key(current)) {
                found = Some(event);
            }
        }
        found
    }

    /// The topic as the call carries it: the last `topic_selected` at or before the stop,
    /// else the first after it; with no stop, the last one.
    fn raw_topic(&self, stop: Option<Nanos>) -> Option<Sym> {
        let Some(stop) = stop else {
            return self.current_topic();
        };
        // The last selection of all, if at or before the stop, is the last one before it.
        if self.summary.last_topic.is_none() || self.summary.topic_ts <= stop {
            return self.summary.topic;
        }
        self.topic_around_stop(stop)
    }

    /// [`Call::raw_topic`] when the last selection came after the stop (out of line:
    /// it reads the events).
    #[inline(never)]
    fn topic_around_stop(&self, stop: Nanos) -> Option<Sym> {
        if let Some(before) = self.last_until(stop, Recorded::is_topic_selection) {
            return before.topic;
        }
        let mut first_after: Option<&Recorded> = None;
        for event in self
            .events
            .iter()
            .filter(|event| event.is_topic_selection())
        {
            // The earliest after the stop; on equal `ts` the greater `event_id` wins.
            let better = first_after.is_none_or(|current| {
                event.ts < current.ts
                    || (event.ts == current.ts && self.event_id(event) > self.event_id(current))
            });
            if better {
                first_after = Some(event);
            }
        }
        first_after.and_then(|event| event.topic)
    }

    /// The current topic for a live alarm: the last selection seen so far.
    pub fn current_topic(&self) -> Option<Sym> {
        self.summary.topic
    }

    /// The start's time, if started (from the summary: no event is read).
    fn start_ts(&self) -> Option<Nanos> {
        self.summary.start.map(|_| self.summary.start_ts)
    }

    /// The stop's time and kind, if stopped (from the summary).
    fn stop_ts_kind(&self) -> Option<(Nanos, EventKind)> {
        self.summary
            .stop_kind
            .map(|kind| (self.summary.stop_ts, kind))
    }

    /// The current queue: the last one seen so far.
    pub fn current_queue(&self) -> Option<Sym> {
        self.summary.queue
    }

    /// The queue the call was last in at `stop`.
    fn queue_at(&self, stop: Nanos) -> Option<Sym> {
        // The last queue of all, if seen at or before the stop, is the last one before it.
        if self.summary.last_queue.is_none() || self.summary.queue_ts <= stop {
            return self.summary.queue;
        }
        self.queue_before(stop)
    }

    /// [`Call::queue_at`] when the last queue came after the stop (out of line: it reads
    /// the events).
    #[inline(never)]
    fn queue_before(&self, stop: Nanos) -> Option<Sym> {
        self.last_until(stop, |event| event.queue.is_some())
            .and_then(|event| event.queue)
    }

    /// The callback attempts (in order) of a callback requested at `request`, and the
    /// deadline of the first one, if the pack has a callback duty.
    fn callback_attempts(
        &self,
        rulebook: &Rulebook,
        request: Nanos,
    ) -> (Vec<&Recorded>, Option<Nanos>) {
        let deadline = rulebook
            .callback
            .map(|duty| request.saturating_add(duty.within_nanos));
        (self.attempts(), deadline)
    }

    /// Callback attempts in (ts, event id) order; empty for most calls, without allocating.
    pub(crate) fn attempts(&self) -> Vec<&Recorded> {
        if self.summary.attempts == 0 {
            return Vec::new();
        }
        let mut attempts: Vec<&Recorded> = self
            .events
            .iter()
            .filter(|event| event.kind == EventKind::CallbackAttempted)
            .collect();
        attempts.sort_by(|a, b| self.key(a).cmp(&self.key(b)));
        attempts
    }

    pub(crate) fn has_sms_within(&self, from: Nanos, within: Nanos) -> bool {
        self.events.iter().any(|event| {
            event.kind == EventKind::SmsSent
                && event.ts >= from
                && event.ts.saturating_sub(from) <= within
        })
    }

    /// Whether this call is a callback request (its stop is `callback_requested`).
    fn callback_request(&self) -> Option<Nanos> {
        self.stop_ts_kind()
            .filter(|(_, kind)| *kind == EventKind::CallbackRequested)
            .map(|(ts, _)| ts)
    }

    /// Judges the call. `now` is `None` for a final verdict (every duty's deadline has
    /// passed); `Some(clock)` judges a pending call as of that instant, so a duty whose
    /// deadline is still ahead is not yet a breach.
    pub fn judge(&self, rulebook: &Rulebook, now: Option<Nanos>) -> Judgement {
        let start = self.start_ts();
        let stop = self.stop_ts_kind();
        let stop_ts = stop.map(|(ts, _)| ts);
        let topic = rulebook.resolve(self.raw_topic(stop_ts));
        let queue = match stop_ts {
            Some(stop) => self.queue_at(stop),
            None => self.current_queue(),
        };
        let mut flags = Vec::new();
        let mut breaches = Breaches::default();
        let (outcome, wait_nanos) = match (start, stop) {
            (Some(start), Some((stop, kind))) => {
                let outcome = match kind {
                    EventKind::Answered => Outcome::Answered,
                    EventKind::CallbackRequested => Outcome::Callback,
                    _ => Outcome::Abandoned,
                };
                if stop < start {
                    flags.push(Flag::StopBeforeStart);
                }
                (outcome, Some(stop.saturating_sub(start).max(0)))
            }
            _ => (Outcome::Incomplete, None),
        };
        if start.is_none() {
            flags.push(Flag::Orphan);
        }
        if self.summary.ended.is_none() {
            flags.push(Flag::NoEnded);
        }
        if self.late_events {
            flags.push(Flag::LateEvents);
        }
        if let (Some(start), Some(wait)) = (start, wait_nanos) {
            let over_limit = wait > topic.limit_nanos;
            if over_limit {
                breaches.add(Breaches::WAIT);
                if let Some(announcement) = rulebook.announcement {
                    let announced_in_time = self.events.iter().any(|event| {
                        event.kind == EventKind::AnnouncementPlayed
                            && event.ts.saturating_sub(start) <= announcement.within_nanos
                    });
                    if !announced_in_time {
                        breaches.add(Breaches::ANNOUNCEMENT);
                    }
                }
            }
        }
        if let (Outcome::Callback, Some(request)) = (outcome, stop_ts) {
            self.judge_callback(rulebook, request, now, &mut breaches);
        }
        Judgement {
            start_ts: start,
            first_seen: self.first_seen(),
            tenant: start.and(self.summary.start_tenant),
            queue,
            topic,
            outcome,
            wait_nanos,
            breaches,
            flags,
        }
    }

    /// The callback and SMS duties of a callback requested at `request`, judged as of
    /// `now` (`None`: for good). Out of line: most calls are not callbacks.
    #[inline(never)]
    fn judge_callback(
        &self,
        rulebook: &Rulebook,
        request: Nanos,
        now: Option<Nanos>,
        breaches: &mut Breaches,
    ) {
        let due = |deadline: Nanos| now.is_none_or(|now| now > deadline);
        let (attempts, deadline) = self.callback_attempts(rulebook, request);
        if let Some(deadline) = deadline {
            if first_attempt_by(&attempts, deadline).is_none() && due(deadline) {
                breaches.add(Breaches::CALLBACK);
            }
        }
        if let Some(sms) = rulebook.sms {
            let missed = attempts.iter().any(|attempt| {
                attempt.outcome == Some(CallbackOutcome::NoAnswer)
                    && deadline.is_none_or(|deadline| attempt.ts <= deadline)
                    && !self.has_sms_within(attempt.ts, sms.within_nanos)
                    && due(attempt.ts.saturating_add(sms.within_nanos))
            });
            if missed {
                breaches.add(Breaches::SMS);
            }
        }
    }

    /// When the verdict can no longer change, in event time; the call is final once the
    /// watermark has passed it. See `docs/semantics.md` (Finality) for the table.
    pub fn close_at(&self, rulebook: &Rulebook) -> Nanos {
        let orphan_timeout = rulebook.orphan_timeout_nanos;
        let ended = self.summary.ended;
        let (Some(_), Some((stop_ts, stop_kind))) = (self.start_ts(), self.stop_ts_kind()) else {
            return match (self.start_ts(), ended) {
                // Never started: wait the orphan timeout for the `call_started`.
                (None, _) => self.first_seen().saturating_add(orphan_timeout),
                // Over without a stop: the stop was lost.
                (Some(start), Some(ended)) => ended.max(start),
                // Still waiting, or its stop was lost: give up after the orphan timeout.
                (Some(start), None) => start.saturating_add(orphan_timeout),
            };
        };
        let base = stop_ts.max(ended.unwrap_or(stop_ts));
        if stop_kind != EventKind::CallbackRequested {
            return base;
        }
        base.max(self.callback_settled_at(rulebook, stop_ts))
    }

    /// When the callback and SMS duties of a callback requested at `request` are settled
    /// or overdue.
    fn callback_settled_at(&self, rulebook: &Rulebook, request: Nanos) -> Nanos {
        let (attempts, deadline) = self.callback_attempts(rulebook, request);
        let sms_within = rulebook.sms.map(|sms| sms.within_nanos);
        match deadline {
            Some(deadline) => {
                match (first_attempt_by(&attempts, deadline), sms_within) {
                    // Reached at the first attempt: nothing more is owed.
                    (Some(first), _) if first.outcome == Some(CallbackOutcome::Reached) => {
                        first.ts.max(request)
                    }
                    (Some(first), None) => first.ts.max(request),
                    (_, Some(sms_within)) => deadline.saturating_add(sms_within),
                    (None, None) => deadline,
                }
            }
            None => attempts
                .iter()
                .filter(|attempt| attempt.outcome == Some(CallbackOutcome::NoAnswer))
                .filter_map(|attempt| sms_within.map(|within| attempt.ts.saturating_add(within)))
                .max()
                .unwrap_or(request)
                .max(request),
        }
    }

    /// The next live alarm still to raise, with the instant it becomes due: a caller still
    /// waiting past the limit of the topic known so far, a callback not attempted by its
    /// deadline, an SMS not sent after a missed callback.
    pub fn next_live_alarm(&self, rulebook: &Rulebook) -> Option<(Nanos, LiveKind)> {
        if let (Some(start), None) = (self.start_ts(), self.summary.stop) {
            if self.live_fired.wait {
                return None;
            }
            let limit = rulebook.resolve(self.current_topic()).limit_nanos;
            return Some((start.saturating_add(limit), LiveKind::Wait));
        }
        let (Some(_), Some(request)) = (self.start_ts(), self.callback_request()) else {
            return None;
        };
        let mut next: Option<(Nanos, LiveKind)> = None;
        let mut consider = |due: Nanos, kind: LiveKind| {
            if next.is_none_or(|(current, _)| due < current) {
                next = Some((due, kind));
            }
        };
        let (attempts, deadline) = self.callback_attempts(rulebook, request);
        if let Some(deadline) = deadline {
            if first_attempt_by(&attempts, deadline).is_none() && !self.live_fired.callback {
                consider(deadline, LiveKind::Callback);
            }
        }
        if let (Some(sms), false) = (rulebook.sms, self.live_fired.sms) {
            for attempt in attempts {
                let owes_sms = attempt.outcome == Some(CallbackOutcome::NoAnswer)
                    && deadline.is_none_or(|deadline| attempt.ts <= deadline)
                    && !self.has_sms_within(attempt.ts, sms.within_nanos);
                if owes_sms {
                    consider(attempt.ts.saturating_add(sms.within_nanos), LiveKind::Sms);
                }
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbols::Symbols;
    use proptest::prelude::*;

    const KINDS: [EventKind; 11] = EventKind::ALL;

    /// An event as a test saw it applied: ts, event id, kind, topic, queue.
    type Seen = (Nanos, String, EventKind, Option<Sym>, Option<Sym>);

    fn recorded(kind: EventKind, ts: Nanos, topic: Option<Sym>, reached: bool) -> Recorded {
        Recorded {
            ts,
            kind,
            outcome: (kind == EventKind::CallbackAttempted).then_some(if reached {
                CallbackOutcome::Reached
            } else {
                CallbackOutcome::NoAnswer
            }),
            id_at: 0,
            id_len: 0,
            id_fingerprint: 0,
            tenant: None,
            queue: None,
            topic,
        }
    }

    #[test]
    fn a_call_knows_its_id_short_or_long_and_after_reuse() {
        let long = "x".repeat(SHORT_ID) + "-long";
        let mut call = Call::new("c-1");
        assert!(call.is("c-1"));
        assert!(!call.is("c-2") && !call.is("c-") && !call.is("c-10") && !call.is(""));
        call.reset(&long, 1);
        assert!(call.is(&long));
        assert!(!call.is(&("y".repeat(SHORT_ID) + "-long")));
        assert!(!call.is("c-1"));
        call.reset("c-9", 2);
        assert!(call.is("c-9") && !call.is("c-1") && !call.is(&long));
        assert_eq!(call.call_id(), "c-9");
    }

    proptest! {
        /// The engine re-arms a started call's next live alarm only after events whose
        /// kind [`EventKind::moves_alarm`], and its close only after those whose kind
        /// [`EventKind::moves_close`]: any other event must leave that trigger exactly as
        /// it was.
        #[test]
        fn events_that_move_no_trigger_leave_it_as_it_was(
            events in proptest::collection::vec((0usize..11, 0i64..20_000, 0usize..3, any::<bool>()), 1..30),
        ) {
            let mut symbols = Symbols::default();
            let pack = crate::pack::tests::israeli_pack();
            let mut rulebook = Rulebook::new(&pack, &mut symbols);
            let topics: Vec<Sym> = ["billing", "sales", "unknown-topic"]
                .iter()
                .map(|name| {
                    let sym = symbols.intern(name);
                    rulebook.learn(sym, &pack, &mut symbols);
                    sym
                })
                .collect();
            let mut call = Call::new("c-1");
            for (n, (kind, seconds, topic, reached)) in events.into_iter().enumerate() {
                let kind = KINDS[kind];
                let ts = seconds * 1_000_000_000;
                let topic = (kind == EventKind::TopicSelected).then(|| topics[topic]);
                let before = (call.close_at(&rulebook), call.next_live_alarm(&rulebook));
                let started = call.start().is_some();
                call.push(&format!("e-{n}"), recorded(kind, ts, topic, reached), None);
                let after = (call.close_at(&rulebook), call.next_live_alarm(&rulebook));
                if started && !kind.moves_close() {
                    prop_assert_eq!(before.0, after.0, "close after {:?}", kind);
                }
                if started && !kind.moves_alarm() {
                    prop_assert_eq!(before.1, after.1, "alarm after {:?}", kind);
                }
                // The summary's copies agree with the events they were taken from.
                prop_assert_eq!(call.start_ts(), call.start().map(|start| start.ts));
                prop_assert_eq!(call.stop_ts_kind(), call.stop().map(|stop| (stop.ts, stop.kind)));
                let last_topic = call.event(call.summary.last_topic).and_then(|event| event.topic);
                prop_assert_eq!(call.current_topic(), last_topic);
            }
        }

        /// A call is judged from its summary in the common case and from its events only
        /// when the last topic or queue came after the stop: both must agree with a plain
        /// reading of the events (`events.md`: the last topic at or before the stop, else
        /// the first after it; the queue the call was last in at the stop), and so must
        /// de-duplication, whose first fingerprints sit inside the call.
        #[test]
        fn the_summary_judges_as_the_events_do(
            events in proptest::collection::vec(
                (0usize..11, 0i64..12, 0usize..3, proptest::option::of(0usize..3), any::<bool>()),
                1..24,
            ),
        ) {
            let mut symbols = Symbols::default();
            let pack = crate::pack::tests::israeli_pack();
            let mut rulebook = Rulebook::new(&pack, &mut symbols);
            let mut intern = |name: &str| {
                let sym = symbols.intern(name);
                rulebook.learn(sym, &pack, &mut symbols);
                sym
            };
            let topics: Vec<Sym> = ["billing", "sales", "fault"].iter().map(|name| intern(name)).collect();
            let queues: Vec<Sym> = ["q-a", "q-b", "q-c"].iter().map(|name| intern(name)).collect();
            let tenant = intern("tenant-1");
            let mut call = Call::new("c-1");
            // (ts, event id, kind, topic, queue) of each event applied.
            let mut seen: Vec<Seen> = Vec::new();
            for (n, (kind, seconds, topic, queue, reached)) in events.into_iter().enumerate() {
                let kind = KINDS[kind];
                let ts = seconds * 1_000_000_000;
                let topic = (kind == EventKind::TopicSelected).then(|| topics[topic]);
                let queue = queue.map(|queue| queues[queue]);
                let id = format!("e-{}", (n * 7) % 13);
                if call.has_event(&id, id_fingerprint(&id)) {
                    prop_assert!(seen.iter().any(|event| event.1 == id));
                    continue;
                }
                prop_assert!(!seen.iter().any(|event| event.1 == id));
                let event = Recorded {
                    queue,
                    tenant: Some(tenant),
                    ..recorded(kind, ts, topic, reached)
                };
                call.push(&id, event, None);
                seen.push((ts, id, kind, topic, queue));

                let stop = call.stop().map(|stop| stop.ts);
                let key = |event: &&Seen| (event.0, event.1.clone());
                let selections = || seen.iter().filter(|event| event.2 == EventKind::TopicSelected);
                let expected_topic = match stop {
                    None => selections().max_by_key(key).and_then(|event| event.3),
                    Some(stop) => selections()
                        .filter(|event| event.0 <= stop)
                        .max_by_key(key)
                        .or_else(|| {
                            selections().min_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
                        })
                        .and_then(|event| event.3),
                };
                let queued = || seen.iter().filter(|event| event.4.is_some());
                let expected_queue = match stop {
                    None => queued().max_by_key(key),
                    Some(stop) => queued().filter(|event| event.0 <= stop).max_by_key(key),
                }
                .and_then(|event| event.4);
                let judgement = call.judge(&rulebook, None);
                prop_assert_eq!(judgement.topic, rulebook.resolve(expected_topic));
                prop_assert_eq!(judgement.queue, expected_queue);
                let started = seen.iter().any(|event| event.2 == EventKind::CallStarted);
                prop_assert_eq!(judgement.tenant, started.then_some(tenant));
                for event in &seen {
                    prop_assert!(call.has_event(&event.1, id_fingerprint(&event.1)));
                }
                prop_assert!(!call.has_event("e-x", id_fingerprint("e-x")));
            }
        }
    }
}
