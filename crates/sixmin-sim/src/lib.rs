//! A deterministic, discrete-event call-centre simulator that emits v1 call events: the
//! same settings give the same events, byte for byte.
//!
//! # The model
//!
//! Time runs in the call centre's local time zone (`SimConfig::timezone`), day by day from
//! `first_day`, for `days` days or without end (`run_forever`, for a live demo).
//!
//! - **Arrivals** are a Poisson process whose rate is constant within each local hour:
//!   `calls_per_day × weekday_volume[weekday] × hourly[weekday][hour] / Σ hourly[weekday]`
//!   calls an hour ([`ArrivalProfile`]). The default profile is an Israeli week: Sunday to
//!   Thursday open 08:00–20:00 (Sunday busier), Friday 08:00–13:00 with about a third of
//!   the calls, Saturday closed.
//! - **IVR**: a caller spends 8–45 s in the IVR (queue `ivr`), chooses a topic from a
//!   weighted mix ([`TopicSpec`]: `fault` with its adapter aliases `repair` and `תקלה`,
//!   `billing`, `cancellation`, `general`, and custom topics `sales`, `moving`) and is
//!   queued in the topic's queue (`tech`, `billing`, `retention`, `service`, `sales`).
//!   A few callers choose no topic (3 %) or leave it to the agent, who classifies the call
//!   within 2 minutes of answering (4 %); both wait in the `general` topic's queue.
//! - **Agents** work in pools per queue, in shifts ([`AgentPool`], [`Shift`]). Each queue
//!   is first in, first out; the agent idle longest takes the next caller. When
//!   `pools` is empty the pools are sized automatically ([`SimConfig::auto_pools`]): a
//!   morning and an evening shift per open day (one on a short day), each staffed by the
//!   Erlang C model for its busiest hour (80 % of callers answered within 60 s), times
//!   `staffing_factor`. The last shift of a day ends 15 minutes after closing time, so
//!   that the queue drains; an agent at the end of a shift finishes the call in hand.
//! - **Service** (the conversation, `answered` to `ended`) is lognormal per topic (a
//!   median and a shape), between 20 s and 24 min, followed by an after-call wrap-up of
//!   about `wrap_up_s` during which the agent takes no call.
//! - **Patience**: each caller hangs up after a lognormal time from dialing (median
//!   `patience_median_s`, shape 0.7, between 5 s and 45 min), unless answered first
//!   (`abandoned`, then `ended`).
//! - **Announcements**: a long-wait message is played at `announcement_after_s` plus up to
//!   45 s from dialing to a caller still waiting; for `announcement_late_share` of the
//!   calls it is late (125–200 s) and for `announcement_missing_share` it never plays.
//! - **Callbacks**: the announcement offers a callback; a caller facing a long estimated
//!   wait (callers waiting × mean handling time ÷ agents on duty, 2 minutes or more) takes it
//!   with probability `callback_share` (a fifth of that otherwise), a few seconds later
//!   (`callback_requested`, then `ended`: the caller leaves the queue). From 15 minutes
//!   after the request an idle agent of the queue with nobody waiting calls back, oldest
//!   request first; a callback nobody took is made by the queue's callback desk (agent
//!   `{queue}-callbacks`) 2 h 20 min
//!   to 2 h 58 min after the request; `callback_late_share` of them are forgotten and made
//!   3 h 0 min 30 s to 3 h 20 min after it (late). The attempt reaches the caller with
//!   probability `callback_reached_share`; after a `no_answer` an SMS is sent within
//!   9 minutes, or late (10–12 minutes, `sms_late_share`), or not at all
//!   (`sms_missing_share`).
//! - **Transfers**: `transfer_share` of the callers are routed to a wrong queue and moved
//!   to the right one 20–100 s after queueing if still waiting (`transferred` and
//!   `queued`, at the tail of the new queue; the wait goes on).
//! - **Overload** (`overload`): every open day a spike hits late in the morning: from a
//!   start between 10:00 and 11:00 for 60–120 minutes, arrivals rise by about
//!   `overload_share` (0.67 to 1.33 times it, drawn per day) and `overload_absent_share`
//!   of the agents on duty are away. The queues grow, waits pass 3 and 6 minutes, callers
//!   abandon or take callbacks, and the backlog takes a while to drain.
//! - **Data-quality faults** that real feeds have: each event is delayed with probability
//!   `jitter_share` (arrival = time + a delay under `max_jitter_ms`) and sent twice with
//!   probability `duplicate_share` (the copy delayed the same way). With `faults`: a lost
//!   `ended` (1 %), a lost stop (`answered` or `abandoned`, 0.3 %; a `callback_requested`
//!   is never lost), a call whose `call_started` is lost (0.3 %), and an answer stamped 2 s
//!   before its start by a skewed clock (0.2 % of the calls, when answered within 5
//!   minutes). 3 % of the `call_started` events carry no tenant.
//!
//! With the defaults (400 calls a weekday, overload on: +20 to +40 % arrivals and half
//! of the agents away for 1–2 hours a day) about one call in ten breaks a wait limit, nearly
//! all of them in and just after the spike; without the overload about one in a hundred
//! or fewer does (small teams have a tail).
//!
//! Every event of a call is stamped at most 30 minutes after the call's close (its stop or
//! `ended`; for a callback, 3 h 10 min after the request or the in-time reached attempt):
//! with delays under 30 minutes (`max_jitter_ms`, 20 minutes by default), a consumer that
//! allows one hour of lateness gets no late event and no event after its call's verdict.
//!
//! # Output
//!
//! [`Simulator`] produces the events lazily in *arrival* order (by arrival time, then by
//! emission order); [`generate`] collects a bounded run. Lines follow the v1 contract:
//! `v`, `event_id` (`{call_id}:{n}`, unique but for deliberate duplicates), `call_id`
//! (`c-YYYYMMDD-nnnnn`, numbered per local day), `type`, `ts` (RFC 3339, UTC,
//! milliseconds), and `tenant`, `queue`, `topic`, `agent`, `outcome` where they apply.
//! The only randomness is [`Rng`] seeded with `seed`; nothing depends on hash order or the
//! clock. The memory used is that of the calls in progress and of the events not yet
//! released, so an endless run stays small.
//!
//! The `simulate` example writes a stream to standard output:
//! `cargo run --release -p sixmin-sim --example simulate -- --days 30 --calls-per-day 4000`.

use chrono::NaiveDate;
use chrono_tz::Tz;

mod sim;
mod staffing;

pub use sim::Simulator;

/// Settings of a simulated call centre.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of the pseudo-random generator.
    pub seed: u64,
    /// First local day (in `timezone`).
    pub first_day: NaiveDate,
    /// Number of days with arrivals (calls in progress at the end still finish).
    pub days: u32,
    /// Whether arrivals go on without end (`days` is then ignored); for a live demo with
    /// [`Simulator`]. [`generate`] ignores it and stops after `days`.
    pub run_forever: bool,
    /// Expected calls on an average full weekday (Sunday to Thursday); Friday gets less,
    /// Saturday none (see [`ArrivalProfile`]).
    pub calls_per_day: u32,
    /// Tenants and their share of calls.
    pub tenants: Vec<(String, u32)>,
    /// The local time zone of the call centre.
    pub timezone: Tz,
    /// Arrival rates by weekday and local hour.
    pub profile: ArrivalProfile,
    /// The topic mix and where each topic is queued.
    pub topics: Vec<TopicSpec>,
    /// Agent pools per queue; empty: sized from the expected load
    /// ([`SimConfig::auto_pools`]).
    pub pools: Vec<AgentPool>,
    /// Factor on the automatically sized headcounts (1.0 = sized for the load).
    pub staffing_factor: f64,
    /// Mean after-call wrap-up of an agent, in seconds (drawn from 0.5 to 1.5 times it).
    pub wrap_up_s: f64,
    /// Median patience of a caller, in seconds from dialing (lognormal, shape 0.7).
    pub patience_median_s: f64,
    /// When the long-wait announcement plays, in seconds after dialing (plus 0–45 s).
    pub announcement_after_s: f64,
    /// Share of calls whose announcement plays late (125–200 s after dialing).
    pub announcement_late_share: f64,
    /// Share of calls whose announcement never plays.
    pub announcement_missing_share: f64,
    /// Chance that a caller offered a callback, with a long wait ahead, takes it.
    pub callback_share: f64,
    /// Share of callbacks made after the 3-hour limit (up to 3 h 20 min).
    pub callback_late_share: f64,
    /// Chance that a callback reaches the caller (otherwise `no_answer`).
    pub callback_reached_share: f64,
    /// Share of `no_answer` callbacks never followed by an SMS.
    pub sms_missing_share: f64,
    /// Share of `no_answer` callbacks whose SMS is late (10–12 minutes after).
    pub sms_late_share: f64,
    /// Share of callers routed to a wrong queue and transferred.
    pub transfer_share: f64,
    /// Whether a late-morning spike overloads every open day.
    pub overload: bool,
    /// Extra arrivals during the spike, as a share of the normal rate (0.3 = +30 %).
    pub overload_share: f64,
    /// Share of the agents on duty who are away during the spike.
    pub overload_absent_share: f64,
    /// Largest delay of an event behind its time, in milliseconds (keep it under half the
    /// allowed lateness so that no event is late).
    pub max_jitter_ms: i64,
    /// Share of events delayed (0 to 1).
    pub jitter_share: f64,
    /// Share of events sent twice (0 to 1).
    pub duplicate_share: f64,
    /// Whether to inject data-quality faults (lost events, clock skew).
    pub faults: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            first_day: NaiveDate::from_ymd_opt(2026, 10, 4).unwrap_or_default(),
            days: 1,
            run_forever: false,
            calls_per_day: 400,
            tenants: vec![("acme".to_owned(), 3), ("globex".to_owned(), 1)],
            timezone: chrono_tz::Asia::Jerusalem,
            profile: ArrivalProfile::default(),
            topics: TopicSpec::defaults(),
            pools: Vec::new(),
            staffing_factor: 1.0,
            wrap_up_s: 20.0,
            patience_median_s: 480.0,
            announcement_after_s: 60.0,
            announcement_late_share: 0.05,
            announcement_missing_share: 0.04,
            callback_share: 0.15,
            callback_late_share: 0.04,
            callback_reached_share: 0.7,
            sms_missing_share: 0.06,
            sms_late_share: 0.03,
            transfer_share: 0.03,
            overload: true,
            overload_share: 0.3,
            overload_absent_share: 0.5,
            max_jitter_ms: 20 * 60 * 1000,
            jitter_share: 0.05,
            duplicate_share: 0.01,
            faults: true,
        }
    }
}

impl SimConfig {
    /// The agent pools sized for the expected load: per queue, a shift per open weekday
    /// (split into morning and evening when the day is open more than 7 hours), ending 15
    /// minutes after closing, with the Erlang C headcount of its busiest hour (80 % of
    /// callers answered within 60 s, abandonment and overload ignored) times
    /// `staffing_factor`, at least one agent. Shifts equal on several weekdays are merged.
    pub fn auto_pools(&self) -> Vec<AgentPool> {
        staffing::auto_pools(self)
    }
}

/// Arrival rates by weekday (index 0 = Sunday … 6 = Saturday) and local hour.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalProfile {
    /// Calls of each weekday relative to `calls_per_day` (0 = closed).
    pub weekday_volume: [f64; 7],
    /// Relative weight of each local hour, per weekday (the hours with a weight are the
    /// opening hours).
    pub hourly: [[f64; 24]; 7],
}

impl Default for ArrivalProfile {
    fn default() -> Self {
        const FULL: [f64; 24] = [
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 6.0, 10.0, 12.0, 12.0, 9.0, 8.0, 9.0, 11.0,
            12.0, 10.0, 7.0, 5.0, 0.0, 0.0, 0.0, 0.0,
        ];
        const SHORT: [f64; 24] = [
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 8.0, 12.0, 12.0, 10.0, 6.0, 0.0, 0.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ];
        ArrivalProfile {
            weekday_volume: [1.15, 1.0, 0.95, 0.95, 0.95, 0.35, 0.0],
            hourly: [FULL, FULL, FULL, FULL, FULL, SHORT, [0.0; 24]],
        }
    }
}

/// A topic of the mix: its share of calls, its queue and its conversation length.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSpec {
    /// The topic as the adapter names it (an alias of the rule pack, or a custom topic).
    pub name: String,
    /// Relative share of calls.
    pub weight: u32,
    /// The queue that serves it.
    pub queue: String,
    /// Median conversation, in seconds.
    pub service_median_s: f64,
    /// Shape of the lognormal conversation length (the deviation of its logarithm).
    pub service_sigma: f64,
}

impl TopicSpec {
    /// A topic.
    pub fn new(name: &str, weight: u32, queue: &str, service_median_s: f64, sigma: f64) -> Self {
        TopicSpec {
            name: name.to_owned(),
            weight,
            queue: queue.to_owned(),
            service_median_s,
            service_sigma: sigma,
        }
    }

    /// The default mix: faults (with the aliases `repair` and `תקלה`) to `tech`, billing
    /// to `billing`, cancellation to `retention`, general and moving to `service`, sales to
    /// `sales`.
    pub fn defaults() -> Vec<TopicSpec> {
        vec![
            TopicSpec::new("fault", 18, "tech", 420.0, 0.6),
            TopicSpec::new("repair", 4, "tech", 420.0, 0.6),
            TopicSpec::new("תקלה", 3, "tech", 420.0, 0.6),
            TopicSpec::new("billing", 25, "billing", 270.0, 0.5),
            TopicSpec::new("cancellation", 10, "retention", 480.0, 0.6),
            TopicSpec::new("general", 28, "service", 200.0, 0.6),
            TopicSpec::new("sales", 10, "sales", 330.0, 0.5),
            TopicSpec::new("moving", 2, "service", 300.0, 0.5),
        ]
    }
}

/// The agents of one queue.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentPool {
    /// The queue they serve.
    pub queue: String,
    /// Their shifts; each shift has its own agents (ids `{queue}-{n}`).
    pub shifts: Vec<Shift>,
}

/// A shift: a number of agents on duty on some weekdays between two local times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    /// Weekdays, one bit each: bit 0 = Sunday … bit 6 = Saturday.
    pub days: u8,
    /// Start, in minutes after local midnight.
    pub start_minute: u32,
    /// End, in minutes after local midnight (after the start; may pass midnight).
    pub end_minute: u32,
    /// Agents on duty.
    pub agents: u32,
}

/// One generated event: its time and its JSON line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimEvent {
    /// Event time, nanoseconds since the epoch.
    pub ts: i64,
    /// The JSON line (no newline).
    pub line: String,
}

/// SplitMix64: small, fast, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in [low, high).
    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        low + (self.next_u64() % (high - low) as u64) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Standard normal (Box–Muller; two draws).
    pub fn normal(&mut self) -> f64 {
        let radius = (-2.0 * (1.0 - self.unit()).ln()).sqrt();
        radius * (std::f64::consts::TAU * self.unit()).cos()
    }

    /// Lognormal with the given median and shape (the deviation of its logarithm).
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// An index drawn by weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut pick = self.range(0, i64::from(total.max(1))) as u32;
        for (index, weight) in weights.iter().enumerate() {
            if pick < *weight {
                return index;
            }
            pick -= weight;
        }
        weights.len().saturating_sub(1)
    }
}

/// RFC 3339 in UTC with milliseconds, as most adapters send it.
pub fn format_ts(ts: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ts)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Generates the events of `config.days` days (and of the calls still in progress after
/// them), in arrival order. `run_forever` is ignored; use [`Simulator`] for an endless
/// stream.
pub fn generate(config: &SimConfig) -> Vec<SimEvent> {
    let config = SimConfig {
        run_forever: false,
        ..config.clone()
    };
    Simulator::new(config).collect()
}

#[cfg(test)]
mod tests;
