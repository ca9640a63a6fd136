//! A deterministic call-centre generator: the same seed and settings give the same events,
//! byte for byte.
//!
//! It models what the law cares about: arrivals with an intraday profile, a topic mix
//! (with adapter aliases, Hebrew included), IVR time, queue waits that grow in an overload
//! hour, caller patience, long-wait announcements (some late or missing), callbacks with
//! their attempts and SMS, transfers, and the data-quality faults real feeds have
//! (duplicates, events out of order, lost `ended`/stop/`call_started`, clock skew).
//! Events come out in *arrival* order: by time, with some delayed by a bounded jitter.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

/// Settings of a generated stream.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of the pseudo-random generator.
    pub seed: u64,
    /// First local day (in `timezone`).
    pub first_day: NaiveDate,
    /// Number of days.
    pub days: u32,
    /// Calls per day (on average; weekends less).
    pub calls_per_day: u32,
    /// Tenants and their share of calls.
    pub tenants: Vec<(String, u32)>,
    /// The local time zone of the call centre.
    pub timezone: Tz,
    /// Whether 11:00–12:00 is overloaded (waits several times longer).
    pub overload: bool,
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
            calls_per_day: 400,
            tenants: vec![("acme".to_owned(), 3), ("globex".to_owned(), 1)],
            timezone: chrono_tz::Asia::Jerusalem,
            overload: true,
            max_jitter_ms: 20 * 60 * 1000,
            jitter_share: 0.05,
            duplicate_share: 0.01,
            faults: true,
        }
    }
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

const SECOND: i64 = 1_000_000_000;
const MILLI: i64 = 1_000_000;

/// Calls per hour of the day, relative (a Sunday-to-Thursday centre open 08:00–20:00).
const HOURLY_PROFILE: [u32; 24] = [
    0, 0, 0, 0, 0, 0, 0, 0, 6, 10, 12, 12, 9, 8, 9, 11, 12, 10, 7, 5, 0, 0, 0, 0,
];

/// Topics as adapters name them, with their share and their queue.
const TOPICS: [(&str, u32, &str); 8] = [
    ("fault", 18, "tech"),
    ("repair", 4, "tech"),
    ("תקלה", 3, "tech"),
    ("billing", 25, "billing"),
    ("cancellation", 10, "retention"),
    ("general", 28, "service"),
    ("sales", 10, "sales"),
    ("moving", 2, "service"),
];

struct Emitter {
    call_id: String,
    tenant: Option<String>,
    next: u32,
    events: Vec<SimEvent>,
}

impl Emitter {
    fn emit(&mut self, kind: &str, ts: i64, extra: &[(&str, Value)]) {
        self.next += 1;
        let mut object = Map::new();
        object.insert("v".into(), json!(1));
        object.insert(
            "event_id".into(),
            json!(format!("{}:{}", self.call_id, self.next)),
        );
        object.insert("call_id".into(), json!(self.call_id));
        object.insert("type".into(), json!(kind));
        object.insert("ts".into(), json!(format_ts(ts)));
        if kind == "call_started" {
            if let Some(tenant) = &self.tenant {
                object.insert("tenant".into(), json!(tenant));
            }
        }
        for (key, value) in extra {
            object.insert((*key).into(), value.clone());
        }
        self.events.push(SimEvent {
            ts,
            line: Value::Object(object).to_string(),
        });
    }
}

/// RFC 3339 in UTC with milliseconds, as most adapters send it.
pub fn format_ts(ts: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ts)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Generates the events of every call, in arrival order.
pub fn generate(config: &SimConfig) -> Vec<SimEvent> {
    let mut rng = Rng::new(config.seed);
    let mut events: Vec<(i64, u64, SimEvent)> = Vec::new();
    let mut sequence = 0u64;
    for day_index in 0..config.days {
        let day = config.first_day + chrono::Days::new(u64::from(day_index));
        let weekday = chrono::Datelike::weekday(&day).num_days_from_sunday();
        // Friday is short, Saturday closed: an Israeli week.
        let calls = match weekday {
            5 => config.calls_per_day / 3,
            6 => 0,
            _ => config.calls_per_day,
        };
        for number in 0..calls {
            let call_id = format!("c-{}-{:05}", day.format("%Y%m%d"), number + 1);
            for event in generate_call(&mut rng, config, day, weekday, &call_id) {
                let delayed = rng.chance(config.jitter_share);
                let jitter = if delayed {
                    rng.range(0, config.max_jitter_ms.max(1)) * MILLI
                } else {
                    0
                };
                sequence += 1;
                if rng.chance(config.duplicate_share) {
                    let resend_delay = rng.range(0, config.max_jitter_ms.max(1)) * MILLI;
                    events.push((event.ts + resend_delay, sequence, event.clone()));
                    sequence += 1;
                }
                events.push((event.ts + jitter, sequence, event));
            }
        }
    }
    events.sort_by_key(|(arrival, sequence, _)| (*arrival, *sequence));
    events.into_iter().map(|(_, _, event)| event).collect()
}

fn local_instant(zone: Tz, day: NaiveDate, seconds_of_day: i64) -> i64 {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    let start = zone
        .from_local_datetime(&midnight)
        .earliest()
        .map(|instant| instant.timestamp_nanos_opt().unwrap_or(0))
        .unwrap_or(0);
    start + seconds_of_day * SECOND
}

fn generate_call(
    rng: &mut Rng,
    config: &SimConfig,
    day: NaiveDate,
    weekday: u32,
    call_id: &str,
) -> Vec<SimEvent> {
    let hour = rng.weighted(&HOURLY_PROFILE) as i64;
    let hour = if weekday == 5 { 8 + hour % 5 } else { hour };
    let start = local_instant(config.timezone, day, hour * 3600 + rng.range(0, 3600))
        + rng.range(0, 1000) * MILLI;
    let tenant_weights: Vec<u32> = config.tenants.iter().map(|(_, weight)| *weight).collect();
    let tenant = config
        .tenants
        .get(rng.weighted(&tenant_weights))
        .map(|(name, _)| name.clone());
    let topic_weights: Vec<u32> = TOPICS.iter().map(|(_, weight, _)| *weight).collect();
    let (topic, _, queue) = TOPICS[rng.weighted(&topic_weights)];
    let mut call = Emitter {
        call_id: call_id.to_owned(),
        tenant: if rng.chance(0.03) { None } else { tenant },
        next: 0,
        events: Vec::new(),
    };
    let faults = config.faults;
    let orphan = faults && rng.chance(0.003);
    if !orphan {
        call.emit("call_started", start, &[("queue", json!("ivr"))]);
    }
    let ivr = rng.range(8, 45) * SECOND + rng.range(0, 1000) * MILLI;
    let topic_after_answer = rng.chance(0.04);
    let no_topic = !topic_after_answer && rng.chance(0.03);
    if !topic_after_answer && !no_topic {
        call.emit("topic_selected", start + ivr, &[("topic", json!(topic))]);
    }
    call.emit("queued", start + ivr, &[("queue", json!(queue))]);
    let overloaded = config.overload && hour == 11;
    let mean_wait = if overloaded { 420.0 } else { 75.0 };
    let queue_wait = (rng.exponential(mean_wait) * 1000.0) as i64 * MILLI;
    let patience =
        (rng.exponential(if overloaded { 500.0 } else { 400.0 }) * 1000.0) as i64 * MILLI;
    let mut cursor = start + ivr;
    if queue_wait > 40 * SECOND && rng.chance(0.08) {
        let transfer_at = cursor + queue_wait / 2;
        call.emit(
            "transferred",
            transfer_at,
            &[("queue", json!("escalations"))],
        );
        call.emit(
            "queued",
            transfer_at + SECOND,
            &[("queue", json!("escalations"))],
        );
    }
    let long_wait = ivr + queue_wait.min(patience) > 100 * SECOND;
    let mut announced_at = None;
    if long_wait {
        let roll = rng.unit();
        let after = if roll < 0.06 {
            None
        } else if roll < 0.12 {
            Some(rng.range(125, 200) * SECOND)
        } else {
            Some(rng.range(45, 115) * SECOND)
        };
        if let Some(after) = after {
            if after < ivr + queue_wait.min(patience) {
                call.emit("announcement_played", start + after, &[]);
                announced_at = Some(start + after);
            }
        }
    }
    cursor += queue_wait.min(patience);
    let lose_stop = faults && rng.chance(0.003);
    let stop_at;
    if let (Some(announced), true) = (announced_at, queue_wait > 200 * SECOND && rng.chance(0.3)) {
        // The caller takes the callback offered by the announcement.
        // The request is never lost here: a callback call without its request closes at
        // its `ended`, and its attempts hours later would all be late.
        stop_at = announced + rng.range(5, 40) * SECOND;
        call.emit("callback_requested", stop_at, &[]);
        call.emit("ended", stop_at + SECOND, &[]);
        let hours = if rng.chance(0.05) {
            rng.range(181, 200)
        } else {
            rng.range(5, 170)
        };
        let attempt = stop_at + hours * 60 * SECOND + rng.range(0, 60) * SECOND;
        if !rng.chance(0.02) {
            let reached = rng.chance(0.75);
            let outcome = if reached { "reached" } else { "no_answer" };
            call.emit(
                "callback_attempted",
                attempt,
                &[
                    ("outcome", json!(outcome)),
                    ("agent", json!(format!("a-{}", rng.range(1, 40)))),
                ],
            );
            if !reached && !rng.chance(0.08) {
                call.emit("sms_sent", attempt + rng.range(30, 700) * SECOND, &[]);
            }
        }
        return call.events;
    }
    if queue_wait <= patience {
        stop_at = cursor;
        let skew = if faults && rng.chance(0.002) {
            start - stop_at - 2 * SECOND
        } else {
            0
        };
        if !lose_stop {
            call.emit(
                "answered",
                stop_at + skew,
                &[("agent", json!(format!("a-{}", rng.range(1, 40))))],
            );
        }
        if topic_after_answer {
            call.emit(
                "topic_selected",
                stop_at + rng.range(20, 120) * SECOND,
                &[("topic", json!(topic))],
            );
        }
        let talk = rng.range(60, 900) * SECOND;
        if !(faults && rng.chance(0.01)) {
            call.emit("ended", stop_at + talk, &[]);
        }
    } else {
        stop_at = cursor;
        if !lose_stop {
            call.emit("abandoned", stop_at, &[]);
        }
        if !(faults && rng.chance(0.01)) {
            call.emit("ended", stop_at + SECOND, &[]);
        }
    }
    call.events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_events() {
        let config = SimConfig {
            calls_per_day: 50,
            ..SimConfig::default()
        };
        assert_eq!(generate(&config), generate(&config));
        let other = SimConfig {
            seed: 2,
            ..config.clone()
        };
        assert_ne!(generate(&config), generate(&other));
    }

    #[test]
    fn events_arrive_no_later_than_the_jitter() {
        let config = SimConfig {
            calls_per_day: 200,
            ..SimConfig::default()
        };
        let mut newest = i64::MIN;
        for event in generate(&config) {
            assert!(event.ts + config.max_jitter_ms * MILLI >= newest);
            newest = newest.max(event.ts);
        }
    }
}
