//! One call explained for an auditor: its events in time order, the topic and limit
//! applied, and the arithmetic of each rule ("answered 400.2 s after dialing > 360 s:
//! IL-6MIN broken"). Built from the same call state and judgement as the verdict, and
//! checked against it: the rules shown broken are exactly the verdict's breaches.

use crate::call::{Call, Judgement, Recorded};
use crate::engine::{Engine, EngineConfig};
use crate::event::{CallbackOutcome, Event, EventKind};
use crate::pack::RulePack;
use crate::time::{ceil_millis, Nanos};
use crate::verdict::{Flag, Outcome};

/// What a rule check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    /// The rule was broken.
    Broken,
    /// The rule was met.
    Met,
    /// Nothing was owed under this rule (e.g. no recorded message is owed when the wait
    /// stayed within the limit).
    NotOwed,
    /// The call lacks the events to judge it (incomplete or never started).
    NotJudged,
}

/// One rule applied to the call, with its arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleCheck {
    /// The rule id.
    pub rule: String,
    /// The conclusion.
    pub result: CheckResult,
    /// The arithmetic, in words.
    pub reason: String,
}

/// One accepted event of the call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExplainedEvent {
    /// `event_id`.
    pub event_id: String,
    /// The wire type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its `ts`.
    #[serde(skip)]
    pub ts: Nanos,
    /// Milliseconds after dialing (the `call_started`), when the call started.
    pub after_dialing_ms: Option<i64>,
    /// Topic, queue or callback outcome it carries, as `name=value` words.
    pub detail: String,
}

/// A call explained.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// The call.
    pub call_id: String,
    /// The topic judged (after aliases).
    pub topic: String,
    /// The rule of that topic's wait limit.
    pub wait_rule: String,
    /// The limit applied, milliseconds.
    pub limit_ms: i64,
    /// How the call left the wait.
    pub outcome: Outcome,
    /// Events in (ts, event id) order; repeated event ids counted once.
    pub events: Vec<ExplainedEvent>,
    /// Each rule of the pack that concerns the call.
    pub checks: Vec<RuleCheck>,
    /// The verdict's breaches (equal to the checks found broken).
    pub breaches: Vec<String>,
    /// The verdict's data-quality marks.
    pub flags: Vec<Flag>,
}

/// Explains the call of `events` (all of one call; other calls' events are ignored) as
/// judged by `pack` once final. `None` when there are no events.
pub fn explain(pack: &RulePack, events: &[Event<'_>]) -> Option<Explanation> {
    let call_id = events.first()?.call_id.to_string();
    let mut engine = Engine::new(pack.clone(), EngineConfig::default());
    let mut call = Call::new(&call_id);
    for event in events.iter().filter(|event| event.call_id == call_id) {
        if !call.has_event(
            &event.event_id,
            crate::call::id_fingerprint(&event.event_id),
        ) {
            let recorded = engine.recorded(event);
            call.push(&event.event_id, recorded, event.attrs.as_deref());
        }
    }
    let judgement = call.judge(&engine.rulebook, None);
    let start = judgement.start_ts;
    let name = |sym| engine.symbols.name(sym);
    let explained = call
        .events_in_time_order()
        .into_iter()
        .map(|event| ExplainedEvent {
            event_id: call.event_id(event).to_owned(),
            kind: event.kind.as_str(),
            ts: event.ts,
            after_dialing_ms: start.map(|start| ceil_millis(event.ts.saturating_sub(start))),
            detail: [
                event.topic.map(|sym| format!("topic={}", name(sym))),
                event.queue.map(|sym| format!("queue={}", name(sym))),
                event
                    .outcome
                    .map(|outcome| format!("outcome={}", outcome.as_str())),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        })
        .collect();
    let checks = checks(&engine, &call, &judgement);
    Some(Explanation {
        call_id,
        topic: name(judgement.topic.topic).to_owned(),
        wait_rule: engine.rulebook.rule_name(judgement.topic.rule).to_owned(),
        limit_ms: judgement.topic.limit_ms,
        outcome: judgement.outcome,
        events: explained,
        checks,
        breaches: judgement
            .breaches
            .names(judgement.topic, &engine.rulebook)
            .to_strings(),
        flags: judgement.flags.clone(),
    })
}

/// A duration as an auditor reads it: `400.2 s`, `360 s`, `3 h`.
pub fn duration_text(nanos: Nanos) -> String {
    let millis = ceil_millis(nanos);
    if millis != 0 && millis % 3_600_000 == 0 {
        return format!("{} h", millis / 3_600_000);
    }
    let text = format!("{:.3}", millis as f64 / 1000.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} s")
}

fn verb(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Answered => "answered",
        EventKind::CallbackRequested => "callback requested",
        _ => "abandoned",
    }
}

fn check(rule: &str, result: CheckResult, reason: String) -> RuleCheck {
    RuleCheck {
        rule: rule.to_owned(),
        result,
        reason,
    }
}

/// The arithmetic of each rule, mirroring `Call::judge`.
fn checks(engine: &Engine, call: &Call, judgement: &Judgement) -> Vec<RuleCheck> {
    let rulebook = &engine.rulebook;
    let topic = judgement.topic;
    let wait_rule = rulebook.rule_name(topic.rule);
    let limit = duration_text(topic.limit_nanos);
    let mut checks = Vec::new();
    let (Some(start), Some(stop), Some(wait)) = (call.start(), call.stop(), judgement.wait_nanos)
    else {
        let why = if call.start().is_none() {
            "no call_started seen (orphan): the wait cannot be measured"
        } else {
            "no answer, abandon or callback seen (incomplete): the wait cannot be measured"
        };
        checks.push(check(wait_rule, CheckResult::NotJudged, why.to_owned()));
        return checks;
    };
    let over = wait > topic.limit_nanos;
    let clamped = if judgement.flags.contains(&Flag::StopBeforeStart) {
        " (stop stamped before the start: counted as 0)"
    } else {
        ""
    };
    let (sign, result) = if over {
        (">", CheckResult::Broken)
    } else {
        ("≤", CheckResult::Met)
    };
    checks.push(check(
        wait_rule,
        result,
        format!(
            "{} {} after dialing{clamped} {sign} {limit}",
            verb(stop.kind),
            duration_text(wait)
        ),
    ));
    if let Some(duty) = rulebook.announcement {
        let rule = rulebook.rule_name(duty.rule);
        let within = duration_text(duty.within_nanos);
        let first = call
            .events()
            .iter()
            .filter(|event| event.kind == EventKind::AnnouncementPlayed)
            .map(|event| event.ts.saturating_sub(start.ts))
            .filter(|after| *after >= 0)
            .min();
        let in_time = call.events().iter().any(|event| {
            event.kind == EventKind::AnnouncementPlayed
                && event.ts.saturating_sub(start.ts) <= duty.within_nanos
        });
        let (result, reason) = match (over, in_time, first) {
            (false, _, _) => (
                CheckResult::NotOwed,
                format!("owed only when the wait passes {limit}"),
            ),
            (true, true, Some(first)) => (
                CheckResult::Met,
                format!(
                    "recorded message {} after dialing ≤ {within}",
                    duration_text(first)
                ),
            ),
            (true, true, None) => (
                CheckResult::Met,
                format!("recorded message within {within} of dialing"),
            ),
            (true, false, Some(first)) => (
                CheckResult::Broken,
                format!(
                    "first recorded message {} after dialing > {within}",
                    duration_text(first)
                ),
            ),
            (true, false, None) => (
                CheckResult::Broken,
                format!("no recorded message; one was owed within {within} of dialing"),
            ),
        };
        checks.push(check(rule, result, reason));
    }
    if judgement.outcome != Outcome::Callback {
        return checks;
    }
    let request = stop.ts;
    let attempts = call.attempts();
    let deadline = rulebook
        .callback
        .map(|duty| request.saturating_add(duty.within_nanos));
    if let Some(duty) = rulebook.callback {
        let rule = rulebook.rule_name(duty.rule);
        let within = duration_text(duty.within_nanos);
        let (result, reason) = match attempts.first() {
            Some(first) if deadline.is_some_and(|deadline| first.ts <= deadline) => (
                CheckResult::Met,
                format!(
                    "first callback attempt {} after the request ≤ {within}",
                    duration_text(first.ts.saturating_sub(request))
                ),
            ),
            Some(first) => (
                CheckResult::Broken,
                format!(
                    "first callback attempt {} after the request > {within}",
                    duration_text(first.ts.saturating_sub(request))
                ),
            ),
            None => (
                CheckResult::Broken,
                format!("no callback attempt; one was owed within {within} of the request"),
            ),
        };
        checks.push(check(rule, result, reason));
    }
    if let Some(duty) = rulebook.sms {
        let rule = rulebook.rule_name(duty.rule);
        let within = duration_text(duty.within_nanos);
        let missed: Vec<&&Recorded> = attempts
            .iter()
            .filter(|attempt| {
                attempt.outcome == Some(CallbackOutcome::NoAnswer)
                    && deadline.is_none_or(|deadline| attempt.ts <= deadline)
            })
            .collect();
        let unsent = missed
            .iter()
            .find(|attempt| !call.has_sms_within(attempt.ts, duty.within_nanos));
        let (result, reason) = match (missed.first(), unsent) {
            (None, _) => (
                CheckResult::NotOwed,
                "no unanswered callback attempt within the callback deadline".to_owned(),
            ),
            (Some(_), Some(attempt)) => (
                CheckResult::Broken,
                format!(
                    "callback attempt {} after the request went unanswered and no SMS \
                     followed within {within}",
                    duration_text(attempt.ts.saturating_sub(request))
                ),
            ),
            (Some(_), None) => (
                CheckResult::Met,
                format!(
                    "an SMS followed each of {} unanswered attempt(s) within {within}",
                    missed.len()
                ),
            ),
        };
        checks.push(check(rule, result, reason));
    }
    checks
}
