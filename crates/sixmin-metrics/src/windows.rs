//! Sliding windows (last 5 minutes, last hour) of calls as they stop: per-minute buckets
//! of answer waits and of wait-limit breaches, per tenant and topic.

use std::collections::{BTreeMap, VecDeque};

use sixmin_core::time::Nanos;
use sixmin_core::{Outcome, StopNotice, WaitHistogram};

const MINUTE: Nanos = 60_000_000_000;

#[derive(Debug, Default, Clone)]
struct Bucket {
    answer_waits: WaitHistogram,
    stopped: u64,
    over_limit: u64,
}

/// One window's numbers for one tenant and topic.
#[derive(Debug, Clone)]
pub struct WindowSummary {
    /// Tenant.
    pub tenant: String,
    /// Topic.
    pub topic: String,
    /// Answer waits.
    pub answer_waits: WaitHistogram,
    /// 1 − over-limit / stopped, if anything stopped.
    pub compliance: Option<f64>,
}

/// One minute's buckets, by (tenant, topic).
type Minute = BTreeMap<(String, String), Bucket>;

/// The last hour of stops, by minute.
#[derive(Debug, Default)]
pub struct LiveWindows {
    minutes: VecDeque<(i64, Minute)>,
}

impl LiveWindows {
    /// Records a stop in its minute.
    pub fn record(&mut self, stop: &StopNotice) {
        let minute = stop.at.div_euclid(MINUTE);
        let position = self.minutes.iter().position(|(at, _)| *at == minute);
        let index = match position {
            Some(index) => index,
            None => {
                let insert_at = self.minutes.partition_point(|(at, _)| *at < minute);
                self.minutes.insert(insert_at, (minute, BTreeMap::new()));
                insert_at
            }
        };
        let bucket = self.minutes[index]
            .1
            .entry((stop.tenant.clone(), stop.topic.clone()))
            .or_default();
        bucket.stopped += 1;
        if stop.wait_ms > stop.limit_ms {
            bucket.over_limit += 1;
        }
        if stop.outcome == Outcome::Answered {
            bucket.answer_waits.record(stop.wait_ms.max(0) as u64);
        }
        // Keep a little more than an hour.
        while self.minutes.len() > 62 {
            self.minutes.pop_front();
        }
    }

    /// The `5m` and `1h` summaries as of `now`.
    pub fn summaries(&self, now: Nanos) -> Vec<(&'static str, WindowSummary)> {
        let current = now.div_euclid(MINUTE);
        let mut out = Vec::new();
        for (window, minutes) in [("5m", 5), ("1h", 60)] {
            let mut merged: BTreeMap<(String, String), Bucket> = BTreeMap::new();
            for (minute, buckets) in &self.minutes {
                if *minute <= current - minutes || *minute > current {
                    continue;
                }
                for (key, bucket) in buckets {
                    let into = merged.entry(key.clone()).or_default();
                    into.answer_waits.merge(&bucket.answer_waits);
                    into.stopped += bucket.stopped;
                    into.over_limit += bucket.over_limit;
                }
            }
            for ((tenant, topic), bucket) in merged {
                let compliance = (bucket.stopped > 0)
                    .then(|| 1.0 - bucket.over_limit as f64 / bucket.stopped as f64);
                out.push((
                    window,
                    WindowSummary {
                        tenant,
                        topic,
                        answer_waits: bucket.answer_waits,
                        compliance,
                    },
                ));
            }
        }
        out
    }
}
