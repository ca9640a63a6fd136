//! One call's recorded events and what the rule pack makes of them.
//!
//! Everything here is a pure function of the call's events (never of their arrival order):
//! ties between events stamped at the same instant are broken by the event content, as
//! `docs/semantics.md` lists.

use std::cmp::Ordering;

use crate::event::{CallbackOutcome, EventKind};
use crate::pack::RulePack;
use crate::symbols::{Sym, Symbols};
use crate::time::{Nanos, NANOS_PER_MILLI};
use crate::verdict::{Flag, Outcome};

/// An accepted event, as a call keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub ts: Nanos,
    pub kind: EventKind,
    pub outcome: Option<CallbackOutcome>,
    pub event_id: Box<str>,
    pub tenant: Option<Sym>,
    pub queue: Option<Sym>,
    pub topic: Option<Sym>,
    pub attrs: Option<Box<str>>,
}

/// Which live alarms a call has already raised (each is raised once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LiveFired {
    pub wait: bool,
    pub callback: bool,
    pub sms: bool,
}

/// An open call: its events so far and its bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub call_id: Box<str>,
    pub events: Vec<Recorded>,
    pub late_events: bool,
    pub live_fired: LiveFired,
}

/// A live alarm that is due at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LiveKind {
    Wait,
    Callback,
    Sms,
}

/// The judged state of a call: final when its close has passed, provisional before.
#[derive(Debug, Clone)]
pub(crate) struct Judgement<'c> {
    pub start: Option<&'c Recorded>,
    pub first_seen: Nanos,
    pub tenant: Option<Sym>,
    pub queue: Option<Sym>,
    pub raw_topic: Option<Sym>,
    pub outcome: Outcome,
    pub wait_nanos: Option<Nanos>,
    pub limit_ms: i64,
    /// Rule ids broken, in a fixed order: wait rule, announcement, callback, SMS.
    pub breaches: Vec<String>,
    pub flags: Vec<Flag>,
    /// When nothing can change the verdict any more, in event time.
    pub close_at: Nanos,
}

/// Earliest by (ts, then event id): the deterministic "first" of equal instants.
fn earlier(a: &Recorded, b: &Recorded) -> bool {
    (a.ts, &a.event_id) < (b.ts, &b.event_id)
}

/// Later by (ts, then event id): on equal `ts` the greater `event_id` wins.
fn later(a: &Recorded, b: &Recorded) -> bool {
    (a.ts, &a.event_id) > (b.ts, &b.event_id)
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

fn compare_stops(a: &Recorded, b: &Recorded) -> Ordering {
    (a.ts, stop_rank(a.kind), &a.event_id).cmp(&(b.ts, stop_rank(b.kind), &b.event_id))
}

fn millis_to_nanos(millis: i64) -> Nanos {
    millis.saturating_mul(NANOS_PER_MILLI)
}

impl Call {
    pub fn new(call_id: &str) -> Self {
        Call {
            call_id: call_id.into(),
            events: Vec::with_capacity(8),
            late_events: false,
            live_fired: LiveFired::default(),
        }
    }

    pub fn start(&self) -> Option<&Recorded> {
        let mut found: Option<&Recorded> = None;
        for event in self
            .events
            .iter()
            .filter(|e| e.kind == EventKind::CallStarted)
        {
            if found.is_none_or(|current| earlier(event, current)) {
                found = Some(event);
            }
        }
        found
    }

    pub fn stop(&self) -> Option<&Recorded> {
        self.events
            .iter()
            .filter(|event| event.kind.stops_wait())
            .min_by(|a, b| compare_stops(a, b))
    }

    fn ended(&self) -> Option<Nanos> {
        self.events
            .iter()
            .filter(|event| event.kind == EventKind::Ended)
            .map(|event| event.ts)
            .max()
    }

    fn first_seen(&self) -> Nanos {
        self.events.iter().map(|event| event.ts).min().unwrap_or(0)
    }

    /// The last event carrying `field` stamped at or before `until` (all events if `None`).
    fn last_with(
        &self,
        until: Option<Nanos>,
        keep: impl Fn(&Recorded) -> bool,
    ) -> Option<&Recorded> {
        let mut found: Option<&Recorded> = None;
        for event in self.events.iter().filter(|event| keep(event)) {
            if until.is_some_and(|until| event.ts > until) {
                continue;
            }
            if found.is_none_or(|current| later(event, current)) {
                found = Some(event);
            }
        }
        found
    }

    /// The topic as the call carries it: the last `topic_selected` at or before the stop,
    /// else the first after it; with no stop, the last one.
    pub fn raw_topic(&self, stop: Option<Nanos>) -> Option<Sym> {
        let is_selection =
            |event: &Recorded| event.kind == EventKind::TopicSelected && event.topic.is_some();
        if let Some(before) = self.last_with(stop, is_selection) {
            return before.topic;
        }
        let stop = stop?;
        let mut first_after: Option<&Recorded> = None;
        for event in self
            .events
            .iter()
            .filter(|event| is_selection(event) && event.ts > stop)
        {
            // The earliest after the stop; on equal `ts` the greater `event_id` wins.
            let better = match first_after {
                None => true,
                Some(current) => {
                    event.ts < current.ts
                        || (event.ts == current.ts && event.event_id > current.event_id)
                }
            };
            if better {
                first_after = Some(event);
            }
        }
        first_after.and_then(|event| event.topic)
    }

    /// Callback attempts in time order.
    fn attempts(&self) -> Vec<&Recorded> {
        let mut attempts: Vec<&Recorded> = self
            .events
            .iter()
            .filter(|event| event.kind == EventKind::CallbackAttempted)
            .collect();
        attempts.sort_by(|a, b| (a.ts, &a.event_id).cmp(&(b.ts, &b.event_id)));
        attempts
    }

    fn has_sms_within(&self, from: Nanos, within: Nanos) -> bool {
        self.events.iter().any(|event| {
            event.kind == EventKind::SmsSent && event.ts >= from && event.ts - from <= within
        })
    }

    /// Judges the call. `now` is `None` for a final verdict (every duty's deadline has
    /// passed); `Some(clock)` judges a pending call as of that instant, so a duty whose
    /// deadline is still ahead is not yet a breach.
    pub fn judge<'c>(
        &'c self,
        pack: &RulePack,
        symbols: &Symbols,
        now: Option<Nanos>,
    ) -> Judgement<'c> {
        let start = self.start();
        let stop = self.stop();
        let ended = self.ended();
        let first_seen = self.first_seen();
        let stop_ts = stop.map(|stop| stop.ts);
        let raw_topic = self.raw_topic(stop_ts);
        let topic = pack.judge_topic(raw_topic.map(|sym| symbols.name(sym)));
        let limit_nanos = millis_to_nanos(topic.limit_ms);
        let tenant = start.and_then(|start| start.tenant);
        let queue = self
            .last_with(stop_ts, |event| event.queue.is_some())
            .and_then(|e| e.queue);

        let mut flags = Vec::new();
        let mut breaches: Vec<&str> = Vec::new();
        let (outcome, wait_nanos) = match (start, stop) {
            (Some(start), Some(stop)) => {
                let outcome = match stop.kind {
                    EventKind::Answered => Outcome::Answered,
                    EventKind::CallbackRequested => Outcome::Callback,
                    _ => Outcome::Abandoned,
                };
                if stop.ts < start.ts {
                    flags.push(Flag::StopBeforeStart);
                }
                (outcome, Some((stop.ts - start.ts).max(0)))
            }
            _ => (Outcome::Incomplete, None),
        };
        if start.is_none() {
            flags.push(Flag::Orphan);
        }
        if ended.is_none() {
            flags.push(Flag::NoEnded);
        }
        if self.late_events {
            flags.push(Flag::LateEvents);
        }

        let due = |deadline: Nanos| now.is_none_or(|now| now > deadline);
        if let (Some(start), Some(wait)) = (start, wait_nanos) {
            let over_limit = wait > limit_nanos;
            if over_limit {
                breaches.push(topic.rule);
            }
            if let Some(announcement) = &pack.announcement {
                let within = announcement.within_nanos();
                let announced_in_time = self.events.iter().any(|event| {
                    event.kind == EventKind::AnnouncementPlayed && event.ts - start.ts <= within
                });
                if over_limit && !announced_in_time {
                    breaches.push(&announcement.rule);
                }
            }
        }
        if let (Outcome::Callback, Some(request)) = (outcome, stop) {
            let attempts = self.attempts();
            let deadline = pack
                .callback
                .as_ref()
                .map(|cb| request.ts + cb.within_nanos());
            if let (Some(callback), Some(deadline)) = (&pack.callback, deadline) {
                let in_time = attempts.first().is_some_and(|first| first.ts <= deadline);
                if !in_time && due(deadline) {
                    breaches.push(&callback.rule);
                }
            }
            if let Some(sms) = &pack.sms {
                let within = sms.within_nanos();
                let missed = attempts.iter().any(|attempt| {
                    attempt.outcome == Some(CallbackOutcome::NoAnswer)
                        && deadline.is_none_or(|deadline| attempt.ts <= deadline)
                        && !self.has_sms_within(attempt.ts, within)
                        && due(attempt.ts + within)
                });
                if missed {
                    breaches.push(&sms.rule);
                }
            }
        }

        let close_at = self.close_at(pack, start, stop, ended, first_seen);
        Judgement {
            start,
            first_seen,
            tenant,
            queue,
            raw_topic,
            outcome,
            wait_nanos,
            limit_ms: topic.limit_ms,
            breaches: breaches.into_iter().map(str::to_owned).collect(),
            flags,
            close_at,
        }
    }

    /// When the verdict can no longer change (see [`Call::close_at`]).
    pub fn judge_close_at(&self, pack: &RulePack) -> Nanos {
        self.close_at(
            pack,
            self.start(),
            self.stop(),
            self.ended(),
            self.first_seen(),
        )
    }

    /// When the verdict can no longer change, in event time; the call is final once the
    /// watermark has passed it.
    fn close_at(
        &self,
        pack: &RulePack,
        start: Option<&Recorded>,
        stop: Option<&Recorded>,
        ended: Option<Nanos>,
        first_seen: Nanos,
    ) -> Nanos {
        let orphan_timeout = millis_to_nanos(pack.orphan_timeout_ms);
        let (Some(_), Some(stop)) = (start, stop) else {
            return match (start, ended) {
                // Never started: wait the orphan timeout for the `call_started`.
                (None, _) => first_seen.saturating_add(orphan_timeout),
                // Over without a stop: the stop was lost.
                (Some(start), Some(ended)) => ended.max(start.ts),
                // Still waiting, or its stop was lost: give up after the orphan timeout.
                (Some(start), None) => start.ts.saturating_add(orphan_timeout),
            };
        };
        let base = stop.ts.max(ended.unwrap_or(stop.ts));
        if stop.kind != EventKind::CallbackRequested {
            return base;
        }
        base.max(self.callback_settled_at(pack, stop.ts))
    }

    /// When the callback and SMS duties of a callback requested at `request` are settled
    /// or overdue.
    fn callback_settled_at(&self, pack: &RulePack, request: Nanos) -> Nanos {
        let attempts = self.attempts();
        let sms_within = pack.sms.as_ref().map(|sms| sms.within_nanos());
        match &pack.callback {
            Some(callback) => {
                let deadline = request.saturating_add(callback.within_nanos());
                let first_in_time = attempts.first().filter(|first| first.ts <= deadline);
                match (first_in_time, sms_within) {
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
    pub fn next_live_alarm(&self, pack: &RulePack, symbols: &Symbols) -> Option<(Nanos, LiveKind)> {
        let mut next: Option<(Nanos, LiveKind)> = None;
        let mut consider = |due: Nanos, kind: LiveKind| {
            if next.is_none_or(|(current, _)| due < current) {
                next = Some((due, kind));
            }
        };
        let stop = self.stop();
        match (self.start(), stop) {
            (Some(start), None) if !self.live_fired.wait => {
                let topic = self.last_with(None, |event| {
                    event.kind == EventKind::TopicSelected && event.topic.is_some()
                });
                let topic_name = topic.and_then(|e| e.topic).map(|sym| symbols.name(sym));
                let limit = pack.judge_topic(topic_name).limit_ms;
                consider(
                    start.ts.saturating_add(millis_to_nanos(limit)),
                    LiveKind::Wait,
                );
            }
            (Some(_), Some(request)) if request.kind == EventKind::CallbackRequested => {
                let attempts = self.attempts();
                let deadline = pack
                    .callback
                    .as_ref()
                    .map(|cb| request.ts + cb.within_nanos());
                if let Some(deadline) = deadline {
                    let attempted = attempts.first().is_some_and(|first| first.ts <= deadline);
                    if !attempted && !self.live_fired.callback {
                        consider(deadline, LiveKind::Callback);
                    }
                }
                if let (Some(sms), false) = (&pack.sms, self.live_fired.sms) {
                    let within = sms.within_nanos();
                    for attempt in attempts {
                        let owes_sms = attempt.outcome == Some(CallbackOutcome::NoAnswer)
                            && deadline.is_none_or(|deadline| attempt.ts <= deadline)
                            && !self.has_sms_within(attempt.ts, within);
                        if owes_sms {
                            consider(attempt.ts.saturating_add(within), LiveKind::Sms);
                        }
                    }
                }
            }
            _ => {}
        }
        next
    }

    /// The current topic for a live alarm: the last selection seen so far.
    pub fn current_topic(&self) -> Option<Sym> {
        self.last_with(None, |event| {
            event.kind == EventKind::TopicSelected && event.topic.is_some()
        })
        .and_then(|event| event.topic)
    }

    /// The current queue: the last one seen so far.
    pub fn current_queue(&self) -> Option<Sym> {
        self.last_with(None, |event| event.queue.is_some())
            .and_then(|event| event.queue)
    }
}
