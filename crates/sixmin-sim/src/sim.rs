//! The discrete-event simulation: an agenda of timed actions (arrivals, IVR, queues,
//! agents, shifts, callbacks) that emits v1 events into an arrival-ordered buffer.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Range;

use chrono::{Datelike, Days, NaiveDate, TimeDelta, TimeZone};
use chrono_tz::Tz;

use crate::staffing::{
    default_queue, queue_loads, queue_names, NO_TOPIC_SHARE, SERVICE_MAX_S, SERVICE_MIN_S,
    TOPIC_AFTER_ANSWER_SHARE,
};
use crate::{format_ts, Rng, SimConfig, SimEvent};

const MILLI: i64 = 1_000_000;
const SECOND: i64 = 1_000 * MILLI;
const MINUTE: i64 = 60 * SECOND;

/// A skewed answer is stamped this long before its call's start …
const SKEW: i64 = 2 * SECOND;
/// … and only when the call was answered within this long of its start.
const SKEW_MAX_WAIT: i64 = 5 * MINUTE;
/// No event emitted later arrives more than this before the simulation clock, so an event
/// whose arrival is this far behind the clock can be released in order.
const RELEASE_LAG: i64 = SKEW_MAX_WAIT + SKEW;

const MISSING_TENANT_SHARE: f64 = 0.03;
const ORPHAN_SHARE: f64 = 0.003;
const LOST_STOP_SHARE: f64 = 0.003;
const LOST_ENDED_SHARE: f64 = 0.01;
const SKEW_SHARE: f64 = 0.002;

const PATIENCE_SIGMA: f64 = 0.7;
const PATIENCE_MIN_S: f64 = 5.0;
const PATIENCE_MAX_S: f64 = 45.0 * 60.0;
/// An estimated wait at least this long (seconds) makes a callback attractive.
const LONG_WAIT_S: f64 = 120.0;
/// Agents call back from this long after the request.
const CALLBACK_READY_AFTER: i64 = 15 * MINUTE;

/// Durations in milliseconds, drawn uniformly.
const IVR_MS: Range<i64> = 8_000..45_000;
const ANNOUNCEMENT_JITTER_MS: Range<i64> = 0..45_000;
const ANNOUNCEMENT_LATE_MS: Range<i64> = 125_000..200_000;
const CALLBACK_DECISION_MS: Range<i64> = 3_000..25_000;
const TRANSFER_AFTER_MS: Range<i64> = 20_000..100_000;
const TOPIC_AFTER_ANSWER_MS: Range<i64> = 20_000..120_000;
const CALLBACK_DESK_MS: Range<i64> = 8_400_000..10_680_000; // 2 h 20 min .. 2 h 58 min
const CALLBACK_LATE_MS: Range<i64> = 10_830_000..12_000_000; // 3 h 0 min 30 s .. 3 h 20 min
const NO_ANSWER_RING_MS: Range<i64> = 20_000..45_000;
const SMS_MS: Range<i64> = 15_000..540_000;
const SMS_LATE_MS: Range<i64> = 600_500..720_000;
/// The overload spike starts this many minutes after local midnight …
const SPIKE_START_MIN: Range<i64> = 600..661;
/// … and lasts this many minutes.
const SPIKE_LENGTH_MIN: Range<i64> = 60..121;

/// A simulated call centre producing v1 events lazily, in arrival order.
///
/// ```
/// use sixmin_sim::{SimConfig, Simulator};
///
/// let config = SimConfig { run_forever: true, ..SimConfig::default() };
/// let first_hour: Vec<_> = Simulator::new(config).take(100).collect();
/// assert_eq!(first_hour.len(), 100);
/// ```
#[derive(Debug)]
pub struct Simulator {
    config: SimConfig,
    rng: Rng,
    /// The simulation clock: the time of the action being run.
    now: i64,
    agenda: BinaryHeap<Scheduled>,
    agenda_seq: u64,
    /// Emitted events not yet released, by arrival.
    outbox: BinaryHeap<Pending>,
    outbox_seq: u64,
    queues: Vec<Queue>,
    topics: Vec<Topic>,
    topic_weights: Vec<u32>,
    tenant_weights: Vec<u32>,
    /// Where calls without an IVR topic wait.
    default_queue: Option<usize>,
    calls: Vec<Option<Call>>,
    free_slots: Vec<u32>,
    call_serial: u64,
    queue_ticket: u64,
    arrivals: Arrivals,
}

/// The arrival process of the current day: piecewise-constant rates.
#[derive(Debug, Default)]
struct Arrivals {
    segments: Vec<Segment>,
    segment: usize,
    clock: i64,
    day_label: String,
    day_calls: u32,
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    start: i64,
    end: i64,
    /// Calls per millisecond.
    rate: f64,
}

#[derive(Debug)]
struct Topic {
    name: String,
    home: usize,
    median_s: f64,
    sigma: f64,
}

#[derive(Debug)]
struct Queue {
    name: String,
    /// Agent id of the callback desk.
    desk: String,
    /// Mean handling time, seconds.
    handle_s: f64,
    agents: Vec<Agent>,
    shifts: Vec<(crate::Shift, Range<usize>)>,
    /// Idle agents, longest idle first, with their idle token (stale entries are skipped).
    idle: VecDeque<(usize, u64)>,
    /// Waiting callers, first come first served, with their ticket (stale entries skipped).
    fifo: VecDeque<(CallRef, u64)>,
    waiting: usize,
    /// Callback requests in order, with the time from which agents may call back.
    callbacks: VecDeque<(CallRef, i64)>,
    on_duty: usize,
    absent: Vec<usize>,
}

#[derive(Debug)]
struct Agent {
    id: String,
    shift_on: bool,
    away: bool,
    busy: bool,
    token: u64,
}

impl Agent {
    fn available(&self) -> bool {
        self.shift_on && !self.away
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CallRef {
    slot: u32,
    serial: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ivr,
    Waiting,
    Transit,
    Talking,
    Callback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopicMode {
    Ivr,
    AfterAnswer,
    Never,
}

#[derive(Debug)]
struct Call {
    serial: u64,
    id: String,
    events: u32,
    start: i64,
    topic: usize,
    mode: TopicMode,
    /// The queue the call is in (or routed to).
    queue: usize,
    /// The right queue for it.
    home: usize,
    state: State,
    ticket: u64,
    skew: bool,
    lose_stop: bool,
    lose_ended: bool,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    DayStart(u32),
    Arrival,
    IvrDone(CallRef),
    Announce(CallRef),
    CallbackChoice(CallRef),
    Patience(CallRef),
    Transfer(CallRef),
    Requeue(CallRef),
    ServiceEnd {
        queue: usize,
        agent: usize,
        call: Option<CallRef>,
    },
    AgentFree {
        queue: usize,
        agent: usize,
    },
    ShiftStart {
        queue: usize,
        shift: usize,
    },
    ShiftEnd {
        queue: usize,
        shift: usize,
    },
    AbsenceStart(usize),
    AbsenceEnd(usize),
    CallbackReady(usize),
    CallbackDue(CallRef),
}

/// An action on the agenda; the heap pops the earliest (then the first scheduled).
#[derive(Debug)]
struct Scheduled {
    at: i64,
    seq: u64,
    action: Action,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// An emitted event waiting in the outbox; the heap pops the earliest arrival (then the
/// first emitted).
#[derive(Debug)]
struct Pending {
    arrival: i64,
    seq: u64,
    ts: i64,
    line: String,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.arrival, self.seq) == (other.arrival, other.seq)
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.arrival, other.seq).cmp(&(self.arrival, self.seq))
    }
}

impl Simulator {
    /// A simulator at local midnight of `config.first_day`.
    pub fn new(config: SimConfig) -> Self {
        let names = queue_names(&config);
        let loads = queue_loads(&config, &names);
        let pools = if config.pools.is_empty() {
            config.auto_pools()
        } else {
            config.pools.clone()
        };
        let mut queues: Vec<Queue> = names
            .iter()
            .zip(&loads)
            .map(|(name, &(_, handle_s))| Queue {
                name: name.clone(),
                desk: agent_id(name, "callbacks"),
                handle_s,
                agents: Vec::new(),
                shifts: Vec::new(),
                idle: VecDeque::new(),
                fifo: VecDeque::new(),
                waiting: 0,
                callbacks: VecDeque::new(),
                on_duty: 0,
                absent: Vec::new(),
            })
            .collect();
        for pool in &pools {
            let Some(queue) = queues.iter_mut().find(|queue| queue.name == pool.queue) else {
                continue;
            };
            for shift in &pool.shifts {
                if shift.agents == 0 || shift.days == 0 || shift.end_minute <= shift.start_minute {
                    continue;
                }
                let first = queue.agents.len();
                for number in first..first + shift.agents as usize {
                    queue.agents.push(Agent {
                        id: agent_id(&queue.name, &format!("{:02}", number + 1)),
                        shift_on: false,
                        away: false,
                        busy: false,
                        token: 0,
                    });
                }
                queue
                    .shifts
                    .push((shift.clone(), first..queue.agents.len()));
            }
        }
        let topics = config
            .topics
            .iter()
            .map(|topic| Topic {
                name: topic.name.clone(),
                home: names
                    .iter()
                    .position(|name| *name == topic.queue)
                    .unwrap_or(0),
                median_s: topic.service_median_s,
                sigma: topic.service_sigma,
            })
            .collect();
        let topic_weights = config.topics.iter().map(|topic| topic.weight).collect();
        let tenant_weights = config.tenants.iter().map(|(_, weight)| *weight).collect();
        let default_queue = default_queue(&config, &names);
        let mut simulator = Simulator {
            rng: Rng::new(config.seed),
            now: i64::MIN,
            agenda: BinaryHeap::new(),
            agenda_seq: 0,
            outbox: BinaryHeap::new(),
            outbox_seq: 0,
            queues,
            topics,
            topic_weights,
            tenant_weights,
            default_queue,
            calls: Vec::new(),
            free_slots: Vec::new(),
            call_serial: 0,
            queue_ticket: 0,
            arrivals: Arrivals::default(),
            config,
        };
        let has_calls = simulator.topic_weights.iter().any(|weight| *weight > 0);
        if has_calls && (simulator.config.days > 0 || simulator.config.run_forever) {
            let zone = simulator.config.timezone;
            if let Some(midnight) = local_instant(zone, simulator.config.first_day, 0) {
                simulator.now = midnight;
                simulator.schedule(midnight, Action::DayStart(0));
            }
        }
        simulator
    }

    /// The next event in arrival order, or `None` when a bounded run is over.
    pub fn next_event(&mut self) -> Option<SimEvent> {
        self.next_with_arrival().map(|(_, event)| event)
    }

    /// The next event in arrival order with its arrival time (nanoseconds since the epoch:
    /// its `ts` plus its delay, if it was delayed), for pacing a live stream; `None` when a
    /// bounded run is over.
    pub fn next_with_arrival(&mut self) -> Option<(i64, SimEvent)> {
        loop {
            if let Some(pending) = self.outbox.peek() {
                let releasable = match self.agenda.peek() {
                    None => true,
                    Some(next) => pending.arrival.saturating_add(RELEASE_LAG) <= next.at,
                };
                if releasable {
                    let pending = self.outbox.pop()?;
                    let event = SimEvent {
                        ts: pending.ts,
                        line: pending.line,
                    };
                    return Some((pending.arrival, event));
                }
            }
            let scheduled = self.agenda.pop()?;
            self.now = scheduled.at;
            self.run(scheduled.action);
        }
    }

    /// The simulation clock, nanoseconds since the epoch: the time of the last action run
    /// (at first, local midnight of the first day). Released events may be stamped after it
    /// (the simulation runs ahead by less than the longest gap between actions); pace a live
    /// stream by the arrival times of [`Simulator::next_with_arrival`].
    pub fn clock(&self) -> i64 {
        self.now
    }

    fn schedule(&mut self, at: i64, action: Action) {
        self.agenda_seq += 1;
        self.agenda.push(Scheduled {
            at: at.max(self.now),
            seq: self.agenda_seq,
            action,
        });
    }

    fn after(&mut self, delay: i64, action: Action) {
        self.schedule(self.now.saturating_add(delay), action);
    }

    fn draw_ms(&mut self, range: Range<i64>) -> i64 {
        self.rng.range(range.start, range.end).saturating_mul(MILLI)
    }

    fn run(&mut self, action: Action) {
        match action {
            Action::DayStart(index) => self.day_start(index),
            Action::Arrival => self.arrival(),
            Action::IvrDone(call) => self.ivr_done(call),
            Action::Announce(call) => self.announce(call),
            Action::CallbackChoice(call) => self.callback_choice(call),
            Action::Patience(call) => self.patience(call),
            Action::Transfer(call) => self.transfer(call),
            Action::Requeue(call) => self.requeue(call),
            Action::ServiceEnd { queue, agent, call } => self.service_end(queue, agent, call),
            Action::AgentFree { queue, agent } => self.agent_free(queue, agent),
            Action::ShiftStart { queue, shift } => self.shift_change(queue, shift, true),
            Action::ShiftEnd { queue, shift } => self.shift_change(queue, shift, false),
            Action::AbsenceStart(queue) => self.absence_start(queue),
            Action::AbsenceEnd(queue) => self.absence_end(queue),
            Action::CallbackReady(queue) => self.dispatch(queue),
            Action::CallbackDue(call) => {
                if self
                    .call(call)
                    .is_some_and(|call| call.state == State::Callback)
                {
                    self.attempt(call, None);
                }
            }
        }
    }

    // ----- days, arrivals, shifts ---------------------------------------------------------

    fn day_start(&mut self, index: u32) {
        let zone = self.config.timezone;
        let Some(day) = self
            .config
            .first_day
            .checked_add_days(Days::new(u64::from(index)))
        else {
            return;
        };
        let more = self.config.run_forever || index.saturating_add(1) < self.config.days;
        let next_midnight = day.succ_opt().and_then(|next| local_instant(zone, next, 0));
        if more {
            if let Some(next_midnight) = next_midnight {
                self.schedule(next_midnight, Action::DayStart(index.saturating_add(1)));
            }
        }
        let weekday = day.weekday().num_days_from_sunday() as usize;
        let bit = 1u8 << weekday;
        for queue in 0..self.queues.len() {
            for shift in 0..self.queues[queue].shifts.len() {
                let (spec, _) = &self.queues[queue].shifts[shift];
                if spec.days & bit == 0 {
                    continue;
                }
                let start = local_instant(zone, day, spec.start_minute);
                let end = local_instant(zone, day, spec.end_minute);
                if let (Some(start), Some(end)) = (start, end) {
                    self.schedule(start, Action::ShiftStart { queue, shift });
                    self.schedule(end, Action::ShiftEnd { queue, shift });
                }
            }
        }
        let hourly = self.config.profile.hourly[weekday];
        let volume = self.config.profile.weekday_volume[weekday];
        let total: f64 = hourly.iter().filter(|weight| **weight > 0.0).sum();
        let open = total > 0.0 && volume > 0.0;
        let spike = if self.config.overload && open {
            let from = self.rng.range(SPIKE_START_MIN.start, SPIKE_START_MIN.end);
            let length = self.rng.range(SPIKE_LENGTH_MIN.start, SPIKE_LENGTH_MIN.end);
            let extra = self.config.overload_share * (0.67 + 0.66 * self.rng.unit());
            let from_at = local_instant(zone, day, from as u32);
            let to_at = local_instant(zone, day, (from + length) as u32);
            match (from_at, to_at) {
                (Some(from), Some(to)) if to > from => Some((from, to, 1.0 + extra.max(0.0))),
                _ => None,
            }
        } else {
            None
        };
        if let Some((from, to, _)) = spike {
            if self.config.overload_absent_share > 0.0 {
                for queue in 0..self.queues.len() {
                    self.schedule(from, Action::AbsenceStart(queue));
                    self.schedule(to, Action::AbsenceEnd(queue));
                }
            }
        }
        let mut segments = Vec::new();
        if open {
            let day_calls = f64::from(self.config.calls_per_day) * volume;
            for (hour, &weight) in hourly.iter().enumerate() {
                if weight.is_nan() || weight <= 0.0 {
                    continue;
                }
                let hour = hour as u32;
                let (Some(start), Some(end)) = (
                    local_instant(zone, day, hour * 60),
                    local_instant(zone, day, (hour + 1) * 60),
                ) else {
                    continue;
                };
                if end <= start {
                    continue;
                }
                let rate = day_calls * weight / total / 3_600_000.0;
                let mut cuts = vec![start, end];
                if let Some((from, to, _)) = spike {
                    cuts.extend(
                        [from, to]
                            .into_iter()
                            .filter(|cut| start < *cut && *cut < end),
                    );
                }
                cuts.sort_unstable();
                for piece in cuts.windows(2) {
                    let factor = match spike {
                        Some((from, to, factor)) if from <= piece[0] && piece[0] < to => factor,
                        _ => 1.0,
                    };
                    segments.push(Segment {
                        start: piece[0],
                        end: piece[1],
                        rate: rate * factor,
                    });
                }
            }
        }
        self.arrivals = Arrivals {
            segments,
            segment: 0,
            clock: self.now,
            day_label: day.format("%Y%m%d").to_string(),
            day_calls: 0,
        };
        if let Some(at) = self.next_arrival() {
            self.schedule(at, Action::Arrival);
        }
    }

    /// The next arrival of the day: exponential gaps at the rate of the current segment,
    /// starting afresh at each segment boundary (the process is memoryless).
    fn next_arrival(&mut self) -> Option<i64> {
        while let Some(segment) = self.arrivals.segments.get(self.arrivals.segment).copied() {
            let from = self.arrivals.clock.max(segment.start);
            if segment.rate > 0.0 {
                let gap = self.rng.exponential(1.0 / segment.rate);
                let gap = if gap.is_finite() {
                    (gap.floor() as i64).saturating_mul(MILLI)
                } else {
                    i64::MAX
                };
                let at = from.saturating_add(gap);
                if at < segment.end {
                    self.arrivals.clock = at;
                    return Some(at);
                }
            }
            self.arrivals.segment += 1;
            self.arrivals.clock = segment.end;
        }
        None
    }

    fn shift_change(&mut self, queue: usize, shift: usize, on: bool) {
        let Some((_, agents)) = self.queues[queue].shifts.get(shift).cloned() else {
            return;
        };
        for agent in agents {
            self.queues[queue].agents[agent].shift_on = on;
            if on {
                self.make_idle(queue, agent);
            }
        }
        self.recount(queue);
        if on {
            self.dispatch(queue);
        }
    }

    fn absence_start(&mut self, queue: usize) {
        let pool = &mut self.queues[queue];
        let away = (pool.on_duty as f64 * self.config.overload_absent_share).round() as usize;
        let idle =
            (0..pool.agents.len()).filter(|&a| pool.agents[a].available() && !pool.agents[a].busy);
        let busy =
            (0..pool.agents.len()).filter(|&a| pool.agents[a].available() && pool.agents[a].busy);
        let chosen: Vec<usize> = idle.chain(busy).take(away).collect();
        for agent in chosen {
            pool.agents[agent].away = true;
            pool.absent.push(agent);
        }
        self.recount(queue);
    }

    fn absence_end(&mut self, queue: usize) {
        let absent = std::mem::take(&mut self.queues[queue].absent);
        for agent in absent {
            self.queues[queue].agents[agent].away = false;
            self.make_idle(queue, agent);
        }
        self.recount(queue);
        self.dispatch(queue);
    }

    fn recount(&mut self, queue: usize) {
        let pool = &mut self.queues[queue];
        pool.on_duty = pool.agents.iter().filter(|agent| agent.available()).count();
    }

    /// Puts an agent at the back of the idle line, if on duty and free.
    fn make_idle(&mut self, queue: usize, agent: usize) {
        let pool = &mut self.queues[queue];
        let state = &mut pool.agents[agent];
        if state.available() && !state.busy {
            state.token += 1;
            pool.idle.push_back((agent, state.token));
        }
    }

    // ----- calls --------------------------------------------------------------------------

    fn arrival(&mut self) {
        let start = self.now;
        self.arrivals.day_calls += 1;
        let id = format!(
            "c-{}-{:05}",
            self.arrivals.day_label, self.arrivals.day_calls
        );
        let tenant = if self.tenant_weights.is_empty() {
            None
        } else {
            let index = self.rng.weighted(&self.tenant_weights);
            let missing = self.rng.chance(MISSING_TENANT_SHARE);
            let tenant = self.config.tenants.get(index).map(|(name, _)| name.clone());
            tenant.filter(|_| !missing)
        };
        let topic = self.rng.weighted(&self.topic_weights);
        let faults = self.config.faults;
        let orphan = faults && self.rng.chance(ORPHAN_SHARE);
        let ivr = self.draw_ms(IVR_MS);
        let roll = self.rng.unit();
        let mode = if roll < TOPIC_AFTER_ANSWER_SHARE {
            TopicMode::AfterAnswer
        } else if roll < TOPIC_AFTER_ANSWER_SHARE + NO_TOPIC_SHARE {
            TopicMode::Never
        } else {
            TopicMode::Ivr
        };
        let own = self.topics.get(topic).map_or(0, |topic| topic.home);
        let home = match mode {
            TopicMode::Ivr => own,
            _ => self.default_queue.unwrap_or(own),
        };
        let queues = self.queues.len();
        let mut first = home;
        if queues > 1 && self.rng.chance(self.config.transfer_share) {
            let other = self.rng.range(0, queues as i64 - 1) as usize;
            first = if other >= home { other + 1 } else { other };
        }
        let patience = self
            .rng
            .lognormal(self.config.patience_median_s, PATIENCE_SIGMA)
            .clamp(PATIENCE_MIN_S, PATIENCE_MAX_S);
        let skew = faults && self.rng.chance(SKEW_SHARE);
        let lose_stop = faults && self.rng.chance(LOST_STOP_SHARE);
        let lose_ended = faults && self.rng.chance(LOST_ENDED_SHARE);
        let roll = self.rng.unit();
        let missing = self.config.announcement_missing_share;
        let announce = if roll < missing {
            None
        } else if roll < missing + self.config.announcement_late_share {
            Some(self.draw_ms(ANNOUNCEMENT_LATE_MS))
        } else {
            Some(seconds(self.config.announcement_after_s) + self.draw_ms(ANNOUNCEMENT_JITTER_MS))
        };
        let call = self.insert(Call {
            serial: 0,
            id,
            events: 0,
            start,
            topic,
            mode,
            queue: first,
            home,
            state: State::Ivr,
            ticket: 0,
            skew,
            lose_stop,
            lose_ended,
        });
        if !orphan {
            let mut fields = Vec::with_capacity(2);
            if let Some(tenant) = &tenant {
                fields.push(("tenant", tenant.as_str()));
            }
            fields.push(("queue", "ivr"));
            self.emit(call, "call_started", start, &fields);
        }
        self.after(ivr, Action::IvrDone(call));
        self.after(seconds(patience), Action::Patience(call));
        if let Some(announce) = announce {
            self.after(announce, Action::Announce(call));
        }
        if let Some(at) = self.next_arrival() {
            self.schedule(at, Action::Arrival);
        }
    }

    fn ivr_done(&mut self, call: CallRef) {
        let Some(state) = self.call(call) else {
            return;
        };
        if state.state != State::Ivr {
            return;
        }
        let (topic, mode, first, home) = (state.topic, state.mode, state.queue, state.home);
        if mode == TopicMode::Ivr {
            let name = self.topic_name(topic);
            self.emit(
                call,
                "topic_selected",
                self.now,
                &[("topic", name.as_str())],
            );
        }
        let queue = self.queues[first].name.clone();
        self.emit(call, "queued", self.now, &[("queue", queue.as_str())]);
        self.enqueue(call, first);
        if first != home {
            let delay = self.draw_ms(TRANSFER_AFTER_MS);
            self.after(delay, Action::Transfer(call));
        }
        self.dispatch(first);
    }

    fn transfer(&mut self, call: CallRef) {
        let Some(home) = self
            .call(call)
            .filter(|call| call.state == State::Waiting)
            .map(|call| call.home)
        else {
            return;
        };
        self.leave_queue(call, State::Transit);
        if let Some(state) = self.call_mut(call) {
            state.queue = home;
        }
        let queue = self.queues[home].name.clone();
        self.emit(call, "transferred", self.now, &[("queue", queue.as_str())]);
        self.after(SECOND, Action::Requeue(call));
    }

    fn requeue(&mut self, call: CallRef) {
        let Some(home) = self
            .call(call)
            .filter(|call| call.state == State::Transit)
            .map(|call| call.home)
        else {
            return;
        };
        let queue = self.queues[home].name.clone();
        self.emit(call, "queued", self.now, &[("queue", queue.as_str())]);
        self.enqueue(call, home);
        self.dispatch(home);
    }

    fn patience(&mut self, call: CallRef) {
        let Some(state) = self.call(call).map(|call| call.state) else {
            return;
        };
        match state {
            State::Ivr | State::Transit | State::Waiting => {
                self.leave_queue(call, State::Talking);
                let (lose_stop, lose_ended) = self
                    .call(call)
                    .map_or((false, false), |call| (call.lose_stop, call.lose_ended));
                if !lose_stop {
                    self.emit(call, "abandoned", self.now, &[]);
                }
                if !lose_ended {
                    self.emit(call, "ended", self.now + SECOND, &[]);
                }
                self.remove(call);
            }
            State::Talking | State::Callback => {}
        }
    }

    fn announce(&mut self, call: CallRef) {
        let Some(state) = self.call(call) else {
            return;
        };
        let (queue, waiting) = match state.state {
            State::Waiting => (state.queue, true),
            State::Transit => (state.queue, false),
            _ => return,
        };
        self.emit(call, "announcement_played", self.now, &[]);
        if waiting {
            let pool = &self.queues[queue];
            let estimate = pool.waiting as f64 * pool.handle_s / pool.on_duty.max(1) as f64;
            let share = self.config.callback_share;
            let chance = if estimate >= LONG_WAIT_S {
                share
            } else {
                share / 5.0
            };
            if self.rng.chance(chance) {
                let delay = self.draw_ms(CALLBACK_DECISION_MS);
                self.after(delay, Action::CallbackChoice(call));
            }
        }
    }

    fn callback_choice(&mut self, call: CallRef) {
        let Some((queue, lose_ended)) = self
            .call(call)
            .filter(|call| call.state == State::Waiting)
            .map(|call| (call.queue, call.lose_ended))
        else {
            return;
        };
        self.leave_queue(call, State::Callback);
        // Never lost: a callback call without its request would close at its `ended`,
        // and its attempt hours later would be late.
        self.emit(call, "callback_requested", self.now, &[]);
        if !lose_ended {
            self.emit(call, "ended", self.now + SECOND, &[]);
        }
        if self.rng.chance(self.config.callback_late_share) {
            let delay = self.draw_ms(CALLBACK_LATE_MS);
            self.after(delay, Action::CallbackDue(call));
        } else {
            let ready = self.now + CALLBACK_READY_AFTER;
            self.queues[queue].callbacks.push_back((call, ready));
            self.schedule(ready, Action::CallbackReady(queue));
            let delay = self.draw_ms(CALLBACK_DESK_MS);
            self.after(delay, Action::CallbackDue(call));
        }
    }

    /// A callback attempt, by an agent of the queue or by its callback desk.
    fn attempt(&mut self, call: CallRef, agent: Option<usize>) {
        let Some((queue, topic)) = self.call(call).map(|call| (call.queue, call.topic)) else {
            return;
        };
        let reached = self.rng.chance(self.config.callback_reached_share);
        let caller = match agent {
            Some(agent) => self.queues[queue].agents[agent].id.clone(),
            None => self.queues[queue].desk.clone(),
        };
        let outcome = if reached { "reached" } else { "no_answer" };
        self.emit(
            call,
            "callback_attempted",
            self.now,
            &[("agent", caller.as_str()), ("outcome", outcome)],
        );
        if !reached {
            let roll = self.rng.unit();
            let missing = self.config.sms_missing_share;
            if roll >= missing {
                let delay = if roll < missing + self.config.sms_late_share {
                    self.draw_ms(SMS_LATE_MS)
                } else {
                    self.draw_ms(SMS_MS)
                };
                self.emit(call, "sms_sent", self.now + delay, &[]);
            }
        }
        self.remove(call);
        if let Some(agent) = agent {
            let busy = if reached {
                self.conversation(topic)
            } else {
                self.draw_ms(NO_ANSWER_RING_MS)
            };
            self.after(
                busy,
                Action::ServiceEnd {
                    queue,
                    agent,
                    call: None,
                },
            );
        }
    }

    /// Matches idle agents with waiting callers, then with callbacks due.
    fn dispatch(&mut self, queue: usize) {
        while let Some(agent) = self.first_idle(queue) {
            if let Some(call) = self.next_waiting(queue) {
                self.take_agent(queue, agent);
                self.answer(call, queue, agent);
            } else if let Some(call) = self.next_callback(queue) {
                self.take_agent(queue, agent);
                self.attempt(call, Some(agent));
            } else {
                break;
            }
        }
    }

    fn first_idle(&mut self, queue: usize) -> Option<usize> {
        let pool = &mut self.queues[queue];
        while let Some(&(agent, token)) = pool.idle.front() {
            let state = &pool.agents[agent];
            if state.token == token && state.available() && !state.busy {
                return Some(agent);
            }
            pool.idle.pop_front();
        }
        None
    }

    fn take_agent(&mut self, queue: usize, agent: usize) {
        let pool = &mut self.queues[queue];
        pool.idle.pop_front();
        pool.agents[agent].busy = true;
    }

    fn next_waiting(&mut self, queue: usize) -> Option<CallRef> {
        while let Some((call, ticket)) = self.queues[queue].fifo.pop_front() {
            let current = self.call(call).is_some_and(|call| {
                call.state == State::Waiting && call.ticket == ticket && call.queue == queue
            });
            if current {
                return Some(call);
            }
        }
        None
    }

    fn next_callback(&mut self, queue: usize) -> Option<CallRef> {
        while let Some(&(call, ready)) = self.queues[queue].callbacks.front() {
            let pending = self
                .call(call)
                .is_some_and(|call| call.state == State::Callback);
            if pending && ready > self.now {
                return None;
            }
            self.queues[queue].callbacks.pop_front();
            if pending {
                return Some(call);
            }
        }
        None
    }

    fn answer(&mut self, call: CallRef, queue: usize, agent: usize) {
        self.leave_queue(call, State::Talking);
        let Some(state) = self.call(call) else {
            return;
        };
        let (start, skew, lose_stop, mode, topic) = (
            state.start,
            state.skew,
            state.lose_stop,
            state.mode,
            state.topic,
        );
        let stamp = if skew && self.now - start <= SKEW_MAX_WAIT {
            start - SKEW
        } else {
            self.now
        };
        let agent_id = self.queues[queue].agents[agent].id.clone();
        if !lose_stop {
            self.emit(call, "answered", stamp, &[("agent", agent_id.as_str())]);
        }
        if mode == TopicMode::AfterAnswer {
            let at = self.now + self.draw_ms(TOPIC_AFTER_ANSWER_MS);
            let name = self.topic_name(topic);
            self.emit(call, "topic_selected", at, &[("topic", name.as_str())]);
        }
        let talk = self.conversation(topic);
        self.after(
            talk,
            Action::ServiceEnd {
                queue,
                agent,
                call: Some(call),
            },
        );
    }

    fn service_end(&mut self, queue: usize, agent: usize, call: Option<CallRef>) {
        if let Some(call) = call {
            if self.call(call).is_some_and(|call| !call.lose_ended) {
                self.emit(call, "ended", self.now, &[]);
            }
            self.remove(call);
        }
        let wrap_up = seconds(self.config.wrap_up_s * (0.5 + self.rng.unit()));
        self.after(wrap_up, Action::AgentFree { queue, agent });
    }

    fn agent_free(&mut self, queue: usize, agent: usize) {
        self.queues[queue].agents[agent].busy = false;
        self.make_idle(queue, agent);
        self.dispatch(queue);
    }

    fn conversation(&mut self, topic: usize) -> i64 {
        let (median, sigma) = self
            .topics
            .get(topic)
            .map_or((SERVICE_MIN_S, 0.0), |topic| (topic.median_s, topic.sigma));
        let talk = self.rng.lognormal(median, sigma);
        seconds(talk.clamp(SERVICE_MIN_S, SERVICE_MAX_S))
    }

    fn topic_name(&self, topic: usize) -> String {
        self.topics
            .get(topic)
            .map_or_else(String::new, |topic| topic.name.clone())
    }

    fn enqueue(&mut self, call: CallRef, queue: usize) {
        self.queue_ticket += 1;
        let ticket = self.queue_ticket;
        if let Some(state) = self.call_mut(call) {
            state.state = State::Waiting;
            state.queue = queue;
            state.ticket = ticket;
        }
        let pool = &mut self.queues[queue];
        pool.fifo.push_back((call, ticket));
        pool.waiting += 1;
    }

    /// Moves a call to `next`, out of its queue's waiting count if it was waiting.
    fn leave_queue(&mut self, call: CallRef, next: State) {
        let Some(state) = self.call_mut(call) else {
            return;
        };
        let was_waiting = state.state == State::Waiting;
        state.state = next;
        let queue = state.queue;
        if was_waiting {
            let pool = &mut self.queues[queue];
            pool.waiting = pool.waiting.saturating_sub(1);
        }
    }

    // ----- call slots and output ------------------------------------------------------------

    fn insert(&mut self, mut call: Call) -> CallRef {
        self.call_serial += 1;
        call.serial = self.call_serial;
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.calls[slot as usize] = Some(call);
                slot
            }
            None => {
                self.calls.push(Some(call));
                (self.calls.len() - 1) as u32
            }
        };
        CallRef {
            slot,
            serial: self.call_serial,
        }
    }

    fn call(&self, call: CallRef) -> Option<&Call> {
        self.calls
            .get(call.slot as usize)
            .and_then(Option::as_ref)
            .filter(|state| state.serial == call.serial)
    }

    fn call_mut(&mut self, call: CallRef) -> Option<&mut Call> {
        self.calls
            .get_mut(call.slot as usize)
            .and_then(Option::as_mut)
            .filter(|state| state.serial == call.serial)
    }

    fn remove(&mut self, call: CallRef) {
        if self.call(call).is_some() {
            self.calls[call.slot as usize] = None;
            self.free_slots.push(call.slot);
        }
    }

    /// Writes an event of a call and puts it in the outbox, delayed or doubled as the
    /// fault settings say.
    fn emit(&mut self, call: CallRef, kind: &str, ts: i64, fields: &[(&str, &str)]) {
        let Some(state) = self.call_mut(call) else {
            return;
        };
        state.events += 1;
        let line = event_line(&state.id, state.events, kind, ts, fields);
        let max_jitter = self.config.max_jitter_ms.max(1);
        let delay = if self.rng.chance(self.config.jitter_share) {
            self.rng.range(0, max_jitter).saturating_mul(MILLI)
        } else {
            0
        };
        if self.rng.chance(self.config.duplicate_share) {
            let resend = self.rng.range(0, max_jitter).saturating_mul(MILLI);
            self.post(ts.saturating_add(resend), ts, line.clone());
        }
        self.post(ts.saturating_add(delay), ts, line);
    }

    fn post(&mut self, arrival: i64, ts: i64, line: String) {
        self.outbox_seq += 1;
        self.outbox.push(Pending {
            arrival,
            seq: self.outbox_seq,
            ts,
            line,
        });
    }
}

impl Iterator for Simulator {
    type Item = SimEvent;

    fn next(&mut self) -> Option<SimEvent> {
        self.next_event()
    }
}

/// An agent id, `{queue}-{suffix}`, within the contract's 64 characters (a long queue
/// name is cut).
fn agent_id(queue: &str, suffix: &str) -> String {
    let room = 64usize.saturating_sub(suffix.chars().count() + 1);
    let queue: String = queue.chars().take(room).collect();
    [queue.as_str(), "-", suffix].concat()
}

/// Seconds as nanoseconds, rounded to the millisecond (negative or not a number: 0).
fn seconds(value: f64) -> i64 {
    if value > 0.0 {
        ((value * 1000.0).round() as i64).saturating_mul(MILLI)
    } else {
        0
    }
}

/// The instant of a local time, `minutes` after midnight of `day` (may pass midnight). A
/// local time that does not exist (a summer-time gap) is taken an hour later; an ambiguous
/// one at its first occurrence.
fn local_instant(zone: Tz, day: NaiveDate, minutes: u32) -> Option<i64> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    let local = midnight.checked_add_signed(TimeDelta::try_minutes(i64::from(minutes))?)?;
    let instant = zone.from_local_datetime(&local).earliest().or_else(|| {
        let later = local.checked_add_signed(TimeDelta::try_hours(1)?)?;
        zone.from_local_datetime(&later).earliest()
    })?;
    instant.timestamp_nanos_opt()
}

/// One v1 event as a JSON line: the envelope, then the optional fields in order.
fn event_line(call_id: &str, number: u32, kind: &str, ts: i64, fields: &[(&str, &str)]) -> String {
    let mut line = String::with_capacity(128 + call_id.len() * 2);
    line.push_str("{\"v\":1,\"event_id\":");
    let event_id = [call_id, ":", &number.to_string()].concat();
    push_json_string(&mut line, &event_id);
    line.push_str(",\"call_id\":");
    push_json_string(&mut line, call_id);
    line.push_str(",\"type\":");
    push_json_string(&mut line, kind);
    line.push_str(",\"ts\":");
    push_json_string(&mut line, &format_ts(ts));
    for (key, value) in fields {
        line.push(',');
        push_json_string(&mut line, key);
        line.push(':');
        push_json_string(&mut line, value);
    }
    line.push('}');
    line
}

/// A JSON string literal: quotes, backslashes and control characters escaped, everything
/// else (Hebrew included) as is.
fn push_json_string(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for character in value.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if (control as u32) < 0x20 => {
                let code = control as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[code >> 4]));
                out.push(char::from(HEX[code & 0xf]));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\u{1}ד");
        assert_eq!(out, r#""a\"b\\c\u0001ד""#);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(parsed, "a\"b\\c\u{1}ד");
    }

    #[test]
    fn a_line_is_the_v1_envelope() {
        let line = event_line("c-1", 3, "answered", 0, &[("agent", "tech-01")]);
        assert_eq!(
            line,
            r#"{"v":1,"event_id":"c-1:3","call_id":"c-1","type":"answered","ts":"1970-01-01T00:00:00.000Z","agent":"tech-01"}"#
        );
    }

    #[test]
    fn agent_ids_fit_the_contract() {
        assert_eq!(agent_id("tech", "07"), "tech-07");
        let long = "ש".repeat(80);
        assert_eq!(agent_id(&long, "callbacks").chars().count(), 64);
    }

    #[test]
    fn local_times_skip_the_summer_time_gap() {
        let zone = chrono_tz::Asia::Jerusalem;
        // 2026-03-27 (Friday) 02:00 jumps to 03:00.
        let day = NaiveDate::from_ymd_opt(2026, 3, 27).unwrap_or_default();
        let two = local_instant(zone, day, 120);
        let three = local_instant(zone, day, 180);
        assert!(two.is_some());
        assert_eq!(two, three);
    }
}
