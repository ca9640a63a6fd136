//! Queues, their expected load, and the automatic sizing of agent pools (Erlang C).

use crate::{AgentPool, Shift, SimConfig};

/// Share of callers who choose no topic in the IVR and leave it to the agent.
pub(crate) const TOPIC_AFTER_ANSWER_SHARE: f64 = 0.04;
/// Share of callers whose call never gets a topic.
pub(crate) const NO_TOPIC_SHARE: f64 = 0.03;
/// Shortest conversation, in seconds.
pub(crate) const SERVICE_MIN_S: f64 = 20.0;
/// Longest conversation, in seconds.
pub(crate) const SERVICE_MAX_S: f64 = 24.0 * 60.0;

/// Service level the automatic sizing aims at: this share of callers answered …
const TARGET_SERVICE_LEVEL: f64 = 0.8;
/// … within this many seconds of queueing.
const TARGET_ANSWER_S: f64 = 60.0;
/// How long a closing shift stays after the last hour with arrivals, in minutes.
const DRAIN_MINUTES: u32 = 15;
/// A day open longer than this (hours) gets a morning and an evening shift.
const ONE_SHIFT_HOURS: usize = 7;

/// The queues: those of the topics in order of first appearance, then those of the pools.
pub(crate) fn queue_names(config: &SimConfig) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let topics = config.topics.iter().map(|topic| &topic.queue);
    let pools = config.pools.iter().map(|pool| &pool.queue);
    for name in topics.chain(pools) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// Where a call without an IVR topic waits: the queue of the `general` topic, else that
/// of the call's own topic.
pub(crate) fn default_queue(config: &SimConfig, names: &[String]) -> Option<usize> {
    let general = config.topics.iter().find(|topic| topic.name == "general")?;
    names.iter().position(|name| *name == general.queue)
}

/// Mean conversation of a topic, in seconds (the lognormal mean, within the bounds).
fn service_mean_s(median: f64, sigma: f64) -> f64 {
    (median * (sigma * sigma / 2.0).exp()).clamp(SERVICE_MIN_S, SERVICE_MAX_S)
}

/// Per queue: the share of all calls it receives, and its mean handling time in seconds
/// (conversation and wrap-up).
pub(crate) fn queue_loads(config: &SimConfig, names: &[String]) -> Vec<(f64, f64)> {
    let total: f64 = config
        .topics
        .iter()
        .map(|topic| f64::from(topic.weight))
        .sum();
    let mut share = vec![0.0; names.len()];
    let mut service = vec![0.0; names.len()];
    if total <= 0.0 {
        return vec![(0.0, config.wrap_up_s.max(0.0)); names.len()];
    }
    let unrouted = TOPIC_AFTER_ANSWER_SHARE + NO_TOPIC_SHARE;
    let default = default_queue(config, names);
    for topic in &config.topics {
        let weight = f64::from(topic.weight) / total;
        let mean = service_mean_s(topic.service_median_s, topic.service_sigma);
        let Some(home) = names.iter().position(|name| *name == topic.queue) else {
            continue;
        };
        let (routed, rest) = match default {
            Some(default) => (
                weight * (1.0 - unrouted),
                Some((default, weight * unrouted)),
            ),
            None => (weight, None),
        };
        share[home] += routed;
        service[home] += routed * mean;
        if let Some((default, weight)) = rest {
            share[default] += weight;
            service[default] += weight * mean;
        }
    }
    share
        .iter()
        .zip(&service)
        .map(|(&share, &service)| {
            let conversation = if share > 0.0 { service / share } else { 0.0 };
            (share, conversation + config.wrap_up_s.max(0.0))
        })
        .collect()
}

/// The fewest agents that answer `TARGET_SERVICE_LEVEL` of the callers within
/// `TARGET_ANSWER_S`, by Erlang C, for `rate` calls a second of `handle` seconds each.
pub(crate) fn erlang_agents(rate: f64, handle: f64) -> u32 {
    let load = rate * handle;
    if !(load > 0.0 && load.is_finite() && handle > 0.0) {
        return 0;
    }
    // Erlang B by recursion, then Erlang C from it.
    let mut blocking = 1.0;
    let mut agents: u32 = 0;
    loop {
        agents += 1;
        let n = f64::from(agents);
        blocking = load * blocking / (n + load * blocking);
        if n > load {
            let waiting = n * blocking / (n - load * (1.0 - blocking));
            let level = 1.0 - waiting * (-(n - load) * TARGET_ANSWER_S / handle).exp();
            if level >= TARGET_SERVICE_LEVEL {
                return agents;
            }
        }
        if agents >= 100_000 {
            return agents;
        }
    }
}

/// See [`SimConfig::auto_pools`].
pub(crate) fn auto_pools(config: &SimConfig) -> Vec<AgentPool> {
    let names = queue_names(config);
    let loads = queue_loads(config, &names);
    let mut pools: Vec<AgentPool> = names
        .iter()
        .map(|name| AgentPool {
            queue: name.clone(),
            shifts: Vec::new(),
        })
        .collect();
    for weekday in 0..7 {
        let hourly = &config.profile.hourly[weekday];
        let volume = config.profile.weekday_volume[weekday];
        let total: f64 = hourly.iter().filter(|weight| **weight > 0.0).sum();
        if !(total > 0.0 && volume > 0.0) {
            continue;
        }
        let open = hourly.iter().position(|weight| *weight > 0.0).unwrap_or(0);
        let close = hourly.iter().rposition(|weight| *weight > 0.0).unwrap_or(0) + 1;
        let windows = if close - open > ONE_SHIFT_HOURS {
            let middle = open + (close - open) / 2;
            vec![(open, middle, false), (middle, close, true)]
        } else {
            vec![(open, close, true)]
        };
        let day_calls = f64::from(config.calls_per_day) * volume;
        for (pool, &(share, handle)) in pools.iter_mut().zip(&loads) {
            for &(from, to, closing) in &windows {
                let peak = (from..to)
                    .map(|hour| {
                        let per_hour = day_calls * hourly[hour].max(0.0) / total * share;
                        erlang_agents(per_hour / 3600.0, handle)
                    })
                    .max()
                    .unwrap_or(0);
                if peak == 0 {
                    continue;
                }
                let agents = (f64::from(peak) * config.staffing_factor).ceil().max(1.0) as u32;
                let shift = Shift {
                    days: 1 << weekday,
                    start_minute: from as u32 * 60,
                    end_minute: to as u32 * 60 + if closing { DRAIN_MINUTES } else { 0 },
                    agents,
                };
                merge_shift(&mut pool.shifts, shift);
            }
        }
    }
    pools.retain(|pool| !pool.shifts.is_empty());
    pools
}

/// Adds a shift, or its weekday to an equal shift of other weekdays.
fn merge_shift(shifts: &mut Vec<Shift>, shift: Shift) {
    let same = shifts.iter_mut().find(|other| {
        other.start_minute == shift.start_minute
            && other.end_minute == shift.end_minute
            && other.agents == shift.agents
    });
    match same {
        Some(other) => other.days |= shift.days,
        None => shifts.push(shift),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_sizing_grows_with_the_load() {
        assert_eq!(erlang_agents(0.0, 300.0), 0);
        // 10 erlangs: a dozen or so agents answer 80 % within a minute.
        let small = erlang_agents(100.0 / 3600.0, 360.0);
        assert!((11..=16).contains(&small), "{small}");
        assert!(erlang_agents(1000.0 / 3600.0, 360.0) > 5 * small);
    }

    #[test]
    fn default_pools_cover_every_queue_on_open_days_only() {
        let pools = SimConfig::default().auto_pools();
        let names: Vec<&str> = pools.iter().map(|pool| pool.queue.as_str()).collect();
        assert_eq!(names, ["tech", "billing", "retention", "service", "sales"]);
        for pool in &pools {
            let days = pool
                .shifts
                .iter()
                .fold(0u8, |days, shift| days | shift.days);
            assert_eq!(days, 0b0011_1111, "Sunday to Friday, not Saturday");
            assert!(pool.shifts.iter().all(|shift| shift.agents >= 1));
        }
    }
}
