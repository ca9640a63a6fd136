//! The per-call verdict: the audit ledger line of `outputs.md` §1.

use serde::{Deserialize, Serialize};

/// How a call left the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A human answered.
    Answered,
    /// The caller hung up.
    Abandoned,
    /// The caller chose a callback.
    Callback,
    /// No answer, abandon or callback was ever seen (lost events), or the call never started.
    Incomplete,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Outcome; 4] = [
        Outcome::Answered,
        Outcome::Abandoned,
        Outcome::Callback,
        Outcome::Incomplete,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Abandoned => "abandoned",
            Outcome::Callback => "callback",
            Outcome::Incomplete => "incomplete",
        }
    }
}

/// A data-quality mark on a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The stop was stamped before the start (clock skew); the wait counts as 0.
    StopBeforeStart,
    /// No `ended` event was seen.
    NoEnded,
    /// An event of this call arrived later than the allowed lateness and was dead-lettered.
    LateEvents,
    /// No `call_started` was seen within the orphan timeout.
    Orphan,
}

impl Flag {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::StopBeforeStart => "stop_before_start",
            Flag::NoEnded => "no_ended",
            Flag::LateEvents => "late_events",
            Flag::Orphan => "orphan",
        }
    }
}

/// The pack a verdict was judged by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRef {
    /// The pack's name.
    pub name: String,
    /// The pack's version.
    pub version: String,
}

/// One call's final verdict, as written to the ledger (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The call.
    pub call_id: String,
    /// The tenant of its `call_started` (`default` when absent).
    pub tenant: String,
    /// The last queue seen at or before the stop.
    pub queue: Option<String>,
    /// The judged topic, after aliases (`general` if none).
    pub topic: String,
    /// `call_started.ts` (RFC 3339, UTC); null for an orphan.
    pub started_at: Option<String>,
    /// How the call left the wait.
    pub outcome: Outcome,
    /// Stop minus start in milliseconds, rounded up; null for `incomplete`.
    pub wait_ms: Option<i64>,
    /// The wait limit applied, in milliseconds.
    pub limit_ms: i64,
    /// Rule ids broken, in the pack's rule order; empty if compliant.
    pub breaches: Vec<String>,
    /// The pack applied.
    pub rule_pack: PackRef,
    /// The `event_id`s that produced the verdict, in event-time order.
    pub events: Vec<String>,
    /// Data-quality marks.
    pub flags: Vec<Flag>,
    /// The call's `attrs`, merged over its events in time order (later keys win).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attrs: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Verdict {
    /// The ledger line (JSON, no trailing newline).
    pub fn to_json_line(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }
}
