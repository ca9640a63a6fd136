//! The sixmin compliance engine: pure, deterministic, no IO and no clock reads.
//!
//! Call events go in ([`Engine::ingest`]); final verdicts, live breaches and period
//! tallies come out. The engine clock is event time: the newest event time seen, moved on
//! by the caller in live mode ([`Engine::advance_to`]). Given the same events, the same
//! outputs come out whatever the arrival order, as long as no event arrives later than
//! the allowed lateness (see `docs/semantics.md`).

pub mod pack;
pub mod time;
mod timers;

pub use pack::{Duty, RulePack, TopicJudgement, TopicRule};
pub mod breached;
mod bytes;
pub mod call;
pub mod decode;
pub mod engine;
pub mod event;
pub mod explain;
mod idlist;
mod known;
pub mod report;
mod rulebook;
pub mod snapshot;
pub mod symbols;
pub mod tally;
pub mod traffic;
pub mod verdict;

pub use breached::BreachedCall;
pub use decode::{decode_event, decode_event_with_limit, Invalid, InvalidReason};
pub use engine::{
    Disposition, Engine, EngineConfig, InputCounters, Lateness, LiveBreach, Output, StopNotice,
    WaitingGroup,
};
pub use event::{CallbackOutcome, Event, EventKind};
pub use explain::{explain, Explanation};
pub use report::{CalendarTallies, Period, PeriodReport};
pub use snapshot::{Snapshot, SnapshotError, SNAPSHOT_FORMAT};
pub use tally::{Tally, WaitHistogram};
pub use traffic::{HourlyTraffic, InputGap};
pub use verdict::{Flag, Outcome, PackRef, Verdict};
