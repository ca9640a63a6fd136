//! The engine state as data: everything needed to continue exactly where it stopped.
//!
//! Open calls (with all their events), the memory of closed calls (for de-duplication and
//! lateness), per-day tallies (histograms in the HdrHistogram V2 + deflate encoding,
//! base64), input counters, live-breach counts and the clock. The format is versioned by
//! [`SNAPSHOT_FORMAT`]; a snapshot of another format, or taken under another rule pack,
//! is refused rather than misread.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use crate::breached::BreachRecord;
use crate::call::{Call, LiveFired, Recorded};
use crate::engine::{Engine, EngineConfig, InputCounters};
use crate::event::{CallbackOutcome, EventKind};
use crate::idlist::Evidence;
use crate::pack::RulePack;
use crate::tally::{Tally, WaitHistogram};
use crate::time::{format_utc, parse_rfc3339, Nanos, NANOS_PER_HOUR};
use crate::traffic::HourlyTraffic;

/// The version tag of the snapshot format.
pub const SNAPSHOT_FORMAT: &str = "sixmin.state/v1";

/// Why a snapshot cannot be restored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SnapshotError {
    /// Written by another version of the format.
    #[error("state format `{found}` is not supported (this version reads `{SNAPSHOT_FORMAT}`)")]
    Format {
        /// The format found.
        found: String,
    },
    /// Taken under another rule pack.
    #[error(
        "state was built with rule pack `{found}` (sha256 {found_sha256}), not `{expected}` \
         (sha256 {expected_sha256}); use the same pack, or a new state directory"
    )]
    PackMismatch {
        /// The pack of the state.
        found: String,
        /// Its hash.
        found_sha256: String,
        /// The pack given now.
        expected: String,
        /// Its hash.
        expected_sha256: String,
    },
    /// A field could not be read back.
    #[error("state is damaged: {0}")]
    Damaged(String),
    /// Taken while final calls still wait for their bookkeeping: the snapshot would
    /// lose their verdicts (settle the engine, and handle its outputs, first).
    #[error("{0} final calls are not settled yet; settle the engine before a snapshot")]
    Unsettled(usize),
}

/// The whole engine state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`SNAPSHOT_FORMAT`].
    pub format: String,
    /// Name of the pack the state was built with.
    pub pack_name: String,
    /// Version of that pack.
    pub pack_version: String,
    /// SHA-256 of that pack.
    pub pack_sha256: String,
    /// The allowed lateness in force, in milliseconds.
    pub allowed_lateness_ms: i64,
    /// The engine clock (RFC 3339), if any event was seen.
    pub clock: Option<String>,
    /// Input counters.
    pub counters: CountersSnapshot,
    /// Open calls, sorted by call id.
    pub open_calls: Vec<CallSnapshot>,
    /// Closed calls still remembered, in the order they will be forgotten.
    pub closed_calls: Vec<ClosedSnapshot>,
    /// Per-day tallies, sorted by (day, tenant, topic).
    pub tallies: Vec<TallySnapshot>,
    /// Live breaches raised, by tenant, topic and rule.
    pub live_breaches: Vec<LiveBreachCount>,
    /// Final breached calls (the report's ledger), by day and then in the order they
    /// became final. States written before the ledger existed have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breached_calls: Vec<BreachedCallSnapshot>,
    /// Valid events per hour of event time (the report's input-gap check).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events_by_hour: Vec<HourTraffic>,
}

/// A final breached call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreachedCallSnapshot {
    /// Local day it is attributed to (`YYYY-MM-DD`).
    pub day: String,
    /// The call id.
    pub call_id: String,
    /// Tenant.
    pub tenant: String,
    /// Judged topic.
    pub topic: String,
    /// The queue it was last in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// `call_started.ts` (RFC 3339), if seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// The instant that places it in a period (RFC 3339).
    pub attributed_to: String,
    /// Outcome.
    pub outcome: crate::verdict::Outcome,
    /// Wait in milliseconds, if it stopped.
    pub wait_ms: Option<i64>,
    /// The limit applied.
    pub limit_ms: i64,
    /// Rules broken.
    pub breaches: Vec<String>,
    /// Evidence event ids, in time order.
    pub events: Vec<String>,
    /// Data-quality marks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<crate::verdict::Flag>,
}

/// Valid events of one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourTraffic {
    /// The hour's first instant (RFC 3339 UTC).
    pub hour: String,
    /// Events stamped in it.
    pub events: u64,
}

/// Input counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountersSnapshot {
    /// Accepted events.
    pub accepted: u64,
    /// Duplicates.
    pub duplicates: u64,
    /// Late events.
    pub late: u64,
    /// Invalid events by reason.
    pub invalid: BTreeMap<String, u64>,
}

/// One open call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSnapshot {
    /// The call id.
    pub call_id: String,
    /// Its events, in arrival order.
    pub events: Vec<EventSnapshot>,
    /// Whether a late event of it was dead-lettered.
    pub late_events: bool,
    /// Live notices already given: alarms `wait`, `callback`, `sms`, and `stop`.
    pub live_fired: Vec<String>,
}

/// One recorded event of an open call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSnapshot {
    /// `event_id`.
    pub id: String,
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ts`, RFC 3339 UTC with nanoseconds as needed.
    pub ts: String,
    /// `tenant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// `queue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// `topic`, as the event carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// `outcome`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// `attrs`, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attrs: Option<String>,
}

/// A closed call still remembered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedSnapshot {
    /// The call id.
    pub call_id: String,
    /// When its verdict closed (RFC 3339).
    pub close_at: String,
    /// When it will be forgotten (RFC 3339, against the watermark).
    pub forget_at: String,
    /// Its event ids (to recognise resends).
    pub event_ids: Vec<String>,
}

/// One per-day tally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TallySnapshot {
    /// Local day (`YYYY-MM-DD`).
    pub day: String,
    /// Tenant.
    pub tenant: String,
    /// Judged topic.
    pub topic: String,
    /// Counters, as in the report.
    pub offered: u64,
    /// Answered.
    pub answered: u64,
    /// Abandoned.
    pub abandoned: u64,
    /// Callback.
    pub callback: u64,
    /// Incomplete.
    pub incomplete: u64,
    /// Answered within the limit.
    pub answered_within_limit: u64,
    /// Abandoned after the limit.
    pub abandoned_after_limit: u64,
    /// Breaches per rule.
    pub breaches: BTreeMap<String, u64>,
    /// Breached calls.
    pub breached_calls: u64,
    /// Stops before starts.
    pub stop_before_start: u64,
    /// Orphans.
    pub orphans: u64,
    /// Answer waits: base64 of the V2 + deflate histogram encoding.
    pub answer_wait: String,
    /// Exact maximum answer wait.
    pub answer_wait_max_ms: Option<u64>,
    /// Exact sum of answer waits (decimal text: it can exceed 64 bits).
    #[serde(default)]
    pub answer_wait_sum_ms: String,
    /// Abandon waits: base64 of the V2 + deflate histogram encoding.
    pub abandon_wait: String,
    /// Exact maximum abandon wait.
    pub abandon_wait_max_ms: Option<u64>,
    /// Exact sum of abandon waits (decimal text).
    #[serde(default)]
    pub abandon_wait_sum_ms: String,
    /// Breached calls by local weekday and hour of their start (cells with calls only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breached_by_hour: Vec<HourCount>,
    /// Breached calls by the queue they were last in.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub breached_by_queue: BTreeMap<String, u64>,
}

/// Breached calls of one local weekday and hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    /// Days since Sunday (0 = Sunday).
    pub weekday: u8,
    /// Hour of the day, 0–23.
    pub hour: u8,
    /// Breached calls.
    pub calls: u64,
}

/// Live breaches raised for one tenant, topic and rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveBreachCount {
    /// Tenant.
    pub tenant: String,
    /// Topic.
    pub topic: String,
    /// Rule id.
    pub rule: String,
    /// How many.
    pub count: u64,
}

fn encode_histogram(histogram: &WaitHistogram) -> Result<String, SnapshotError> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(&*histogram.histogram(), &mut bytes)
        .map_err(|error| SnapshotError::Damaged(format!("encoding a histogram: {error:?}")))?;
    Ok(BASE64.encode(bytes))
}

fn decode_histogram(
    text: &str,
    max_ms: Option<u64>,
    sum_ms: &str,
) -> Result<WaitHistogram, SnapshotError> {
    let sum_ms: u128 = if sum_ms.is_empty() {
        0
    } else {
        sum_ms
            .parse()
            .map_err(|_| SnapshotError::Damaged(format!("`{sum_ms}` is not a sum")))?
    };
    let bytes = BASE64
        .decode(text)
        .map_err(|error| SnapshotError::Damaged(format!("histogram is not base64: {error}")))?;
    let mut histogram: hdrhistogram::Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|error| SnapshotError::Damaged(format!("decoding a histogram: {error:?}")))?;
    histogram.auto(true);
    Ok(WaitHistogram::from_parts(histogram, max_ms, sum_ms))
}

fn parse_instant(text: &str) -> Result<Nanos, SnapshotError> {
    parse_rfc3339(text).ok_or_else(|| SnapshotError::Damaged(format!("`{text}` is not a time")))
}

impl Engine {
    /// The whole state as data, of a settled engine ([`Engine::settle`]).
    pub fn snapshot(&self) -> Result<Snapshot, SnapshotError> {
        if !self.is_settled() {
            return Err(SnapshotError::Unsettled(self.unsettled_calls()));
        }
        let name = |sym| self.symbols.name(sym).to_owned();
        let mut open_calls: Vec<CallSnapshot> = self
            .slots
            .iter()
            .flatten()
            .map(|call| CallSnapshot {
                call_id: call.call_id().to_owned(),
                events: call
                    .events()
                    .iter()
                    .map(|event| EventSnapshot {
                        id: call.event_id(event).to_owned(),
                        kind: event.kind.as_str().to_owned(),
                        ts: format_utc(event.ts),
                        tenant: event.tenant.map(name),
                        queue: event.queue.map(name),
                        topic: event.topic.map(name),
                        outcome: event.outcome.map(|outcome| outcome.as_str().to_owned()),
                        attrs: call.attrs_of(event).map(str::to_owned),
                    })
                    .collect(),
                late_events: call.late_events,
                live_fired: [
                    (call.live_fired.wait, "wait"),
                    (call.live_fired.callback, "callback"),
                    (call.live_fired.sms, "sms"),
                    (call.stop_announced, "stop"),
                ]
                .into_iter()
                .filter(|(fired, _)| *fired)
                .map(|(_, kind)| kind.to_owned())
                .collect(),
            })
            .collect();
        open_calls.sort_by(|a, b| a.call_id.cmp(&b.call_id));
        let closed_calls = self
            .known
            .closed_calls()
            .map(|closed| ClosedSnapshot {
                call_id: closed.call_id.to_owned(),
                close_at: format_utc(closed.close_at),
                forget_at: format_utc(closed.forget_at),
                event_ids: closed.event_ids().map(str::to_owned).collect(),
            })
            .collect();
        let mut tallies = Vec::with_capacity(self.tallies.len());
        for (day, tenant, topic, tally) in self.tallies() {
            tallies.push(TallySnapshot {
                day: day.format("%Y-%m-%d").to_string(),
                tenant: tenant.to_owned(),
                topic: topic.to_owned(),
                offered: tally.offered,
                answered: tally.answered,
                abandoned: tally.abandoned,
                callback: tally.callback,
                incomplete: tally.incomplete,
                answered_within_limit: tally.answered_within_limit,
                abandoned_after_limit: tally.abandoned_after_limit,
                breaches: tally.breaches.clone(),
                breached_calls: tally.breached_calls,
                stop_before_start: tally.stop_before_start,
                orphans: tally.orphans,
                answer_wait: encode_histogram(&tally.answer_wait)?,
                answer_wait_max_ms: tally.answer_wait.max_ms(),
                answer_wait_sum_ms: tally.answer_wait.sum_ms().to_string(),
                abandon_wait: encode_histogram(&tally.abandon_wait)?,
                abandon_wait_max_ms: tally.abandon_wait.max_ms(),
                abandon_wait_sum_ms: tally.abandon_wait.sum_ms().to_string(),
                breached_by_hour: tally
                    .breached_by_hour
                    .iter()
                    .map(|(cell, calls)| HourCount {
                        weekday: cell.weekday,
                        hour: cell.hour,
                        calls: *calls,
                    })
                    .collect(),
                breached_by_queue: tally.breached_by_queue.clone(),
            });
        }
        tallies.sort_by(|a, b| (&a.day, &a.tenant, &a.topic).cmp(&(&b.day, &b.tenant, &b.topic)));
        Ok(Snapshot {
            format: SNAPSHOT_FORMAT.to_owned(),
            pack_name: self.pack.name.clone(),
            pack_version: self.pack.version.clone(),
            pack_sha256: self.pack.sha256.clone(),
            allowed_lateness_ms: self.config.allowed_lateness_ms,
            clock: self.clock.map(format_utc),
            counters: CountersSnapshot {
                accepted: self.counters.accepted,
                duplicates: self.counters.duplicates,
                late: self.counters.late,
                invalid: self.counters.invalid.clone(),
            },
            open_calls,
            closed_calls,
            tallies,
            live_breaches: self
                .live_breach_counts()
                .into_iter()
                .map(|((tenant, topic, rule), count)| LiveBreachCount {
                    tenant,
                    topic,
                    rule,
                    count,
                })
                .collect(),
            breached_calls: self.breached_call_snapshots(),
            events_by_hour: self
                .traffic
                .counts()
                .into_iter()
                .map(|(hour, events)| HourTraffic {
                    hour: format_utc(hour.saturating_mul(NANOS_PER_HOUR)),
                    events,
                })
                .collect(),
        })
    }

    fn breached_call_snapshots(&self) -> Vec<BreachedCallSnapshot> {
        let mut stored = Vec::new();
        for (day, records) in &self.breach_ledger {
            for record in records {
                let call = self.breached_call(record);
                stored.push(BreachedCallSnapshot {
                    day: day.format("%Y-%m-%d").to_string(),
                    call_id: call.call_id,
                    tenant: call.tenant,
                    topic: call.topic,
                    queue: call.queue,
                    started_at: call.started_at.map(format_utc),
                    attributed_to: format_utc(call.attributed_to),
                    outcome: call.outcome,
                    wait_ms: call.wait_ms,
                    limit_ms: call.limit_ms,
                    breaches: call.breaches,
                    events: call.events,
                    flags: call.flags,
                });
            }
        }
        stored
    }

    fn restore_breached_calls(
        &mut self,
        stored: &[BreachedCallSnapshot],
    ) -> Result<(), SnapshotError> {
        for call in stored {
            let day = chrono::NaiveDate::parse_from_str(&call.day, "%Y-%m-%d")
                .map_err(|_| SnapshotError::Damaged(format!("`{}` is not a day", call.day)))?;
            let record = BreachRecord {
                start_ts: call.started_at.as_deref().map(parse_instant).transpose()?,
                attributed_to: parse_instant(&call.attributed_to)?,
                tenant: self.symbols.intern(&call.tenant),
                topic: self.symbols.intern(&call.topic),
                queue: call
                    .queue
                    .as_deref()
                    .map(|queue| self.symbols.intern(queue)),
                outcome: call.outcome,
                wait_ms: call.wait_ms,
                limit_ms: call.limit_ms,
                rules: call
                    .breaches
                    .iter()
                    .map(|rule| {
                        self.rulebook.rule_index(rule).ok_or_else(|| {
                            SnapshotError::Damaged(format!("rule `{rule}` is not in the pack"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                evidence: Evidence::new(&call.call_id, call.events.iter().map(String::as_str)),
                flags: call.flags.clone(),
            };
            self.breach_ledger.entry(day).or_default().push(record);
        }
        Ok(())
    }

    /// Rebuilds an engine from a snapshot taken under the same pack. `config` may change
    /// whether verdicts are emitted; the allowed lateness comes from `config` too, so a
    /// restart can widen it.
    pub fn restore(
        pack: RulePack,
        config: EngineConfig,
        snapshot: &Snapshot,
    ) -> Result<Engine, SnapshotError> {
        if snapshot.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format {
                found: snapshot.format.clone(),
            });
        }
        if snapshot.pack_sha256 != pack.sha256 {
            return Err(SnapshotError::PackMismatch {
                found: format!("{}@{}", snapshot.pack_name, snapshot.pack_version),
                found_sha256: snapshot.pack_sha256.clone(),
                expected: pack.label(),
                expected_sha256: pack.sha256.clone(),
            });
        }
        let mut engine = Engine::new(pack, config);
        engine.clock = snapshot.clock.as_deref().map(parse_instant).transpose()?;
        engine.counters = InputCounters {
            accepted: snapshot.counters.accepted,
            duplicates: snapshot.counters.duplicates,
            late: snapshot.counters.late,
            invalid: snapshot.counters.invalid.clone(),
        };
        for open in &snapshot.open_calls {
            let mut call = Call::new(&open.call_id);
            call.late_events = open.late_events;
            call.live_fired = LiveFired {
                wait: open.live_fired.iter().any(|kind| kind == "wait"),
                callback: open.live_fired.iter().any(|kind| kind == "callback"),
                sms: open.live_fired.iter().any(|kind| kind == "sms"),
            };
            call.stop_announced = open.live_fired.iter().any(|kind| kind == "stop");
            for event in &open.events {
                let kind = EventKind::from_wire(&event.kind).ok_or_else(|| {
                    SnapshotError::Damaged(format!("unknown event type `{}`", event.kind))
                })?;
                let topic = event.topic.as_deref().map(|name| engine.intern_topic(name));
                let mut intern =
                    |name: &Option<String>| name.as_deref().map(|name| engine.symbols.intern(name));
                call.push(
                    &event.id,
                    Recorded {
                        ts: parse_instant(&event.ts)?,
                        kind,
                        outcome: event
                            .outcome
                            .as_deref()
                            .and_then(CallbackOutcome::from_wire),
                        id_at: 0,
                        id_len: 0,
                        id_fingerprint: 0,
                        tenant: intern(&event.tenant),
                        queue: intern(&event.queue),
                        topic,
                    },
                    event.attrs.as_deref(),
                );
            }
            engine.restore_call(call);
        }
        for closed in &snapshot.closed_calls {
            engine.known.restore_closed(
                &closed.call_id,
                parse_instant(&closed.close_at)?,
                parse_instant(&closed.forget_at)?,
                closed.event_ids.iter().map(String::as_str),
            );
        }
        for stored in &snapshot.tallies {
            let day = chrono::NaiveDate::parse_from_str(&stored.day, "%Y-%m-%d")
                .map_err(|_| SnapshotError::Damaged(format!("`{}` is not a day", stored.day)))?;
            let tenant = engine.symbols.intern(&stored.tenant);
            let topic = engine.symbols.intern(&stored.topic);
            let tally = Tally {
                offered: stored.offered,
                answered: stored.answered,
                abandoned: stored.abandoned,
                callback: stored.callback,
                incomplete: stored.incomplete,
                answered_within_limit: stored.answered_within_limit,
                abandoned_after_limit: stored.abandoned_after_limit,
                breaches: stored.breaches.clone(),
                breached_calls: stored.breached_calls,
                stop_before_start: stored.stop_before_start,
                orphans: stored.orphans,
                answer_wait: decode_histogram(
                    &stored.answer_wait,
                    stored.answer_wait_max_ms,
                    &stored.answer_wait_sum_ms,
                )?,
                abandon_wait: decode_histogram(
                    &stored.abandon_wait,
                    stored.abandon_wait_max_ms,
                    &stored.abandon_wait_sum_ms,
                )?,
                breached_by_hour: decode_hours(&stored.breached_by_hour)?,
                breached_by_queue: stored.breached_by_queue.clone(),
            };
            engine.tallies.insert((day, tenant, topic), tally);
        }
        for count in &snapshot.live_breaches {
            engine.add_live_breaches(&count.tenant, &count.topic, &count.rule, count.count);
        }
        engine.restore_breached_calls(&snapshot.breached_calls)?;
        let mut traffic = BTreeMap::new();
        for hour in &snapshot.events_by_hour {
            let at = parse_instant(&hour.hour)?;
            *traffic.entry(at.div_euclid(NANOS_PER_HOUR)).or_default() += hour.events;
        }
        engine.traffic = HourlyTraffic::from_counts(traffic);
        engine.rebuild_timers();
        Ok(engine)
    }
}

/// The heat-map cells of a stored tally, checked.
fn decode_hours(
    cells: &[HourCount],
) -> Result<BTreeMap<crate::tally::WeekHour, u64>, SnapshotError> {
    let mut decoded = BTreeMap::new();
    for cell in cells {
        if cell.weekday > 6 || cell.hour > 23 {
            return Err(SnapshotError::Damaged(format!(
                "weekday {} hour {} is not an hour of the week",
                cell.weekday, cell.hour
            )));
        }
        let key = crate::tally::WeekHour {
            weekday: cell.weekday,
            hour: cell.hour,
        };
        *decoded.entry(key).or_default() += cell.calls;
    }
    Ok(decoded)
}
