//! Shared helpers of the engine tests: the Israeli pack and call builders.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use sixmin_core::time::{parse_rfc3339, Nanos};
use sixmin_core::{
    CallbackOutcome, Engine, EngineConfig, Event, EventKind, LiveBreach, Output, RulePack, Verdict,
};

/// The built-in Israeli pack.
pub fn israeli_pack() -> RulePack {
    sixmin_config::builtin_pack()
}

/// An instant: `at("09:00:00")` is 2026-10-04T09:00:00Z; a full RFC 3339 text works too.
pub fn at(text: &str) -> Nanos {
    if text.len() > 12 {
        return parse_rfc3339(text).unwrap();
    }
    parse_rfc3339(&format!("2026-10-04T{text}Z")).unwrap()
}

pub const SECOND: Nanos = 1_000_000_000;
pub const MILLI: Nanos = 1_000_000;

/// Builds the events of one call.
pub struct CallBuilder {
    pub call_id: String,
    pub events: Vec<Event<'static>>,
}

pub fn call(call_id: &str) -> CallBuilder {
    CallBuilder {
        call_id: call_id.to_string(),
        events: Vec::new(),
    }
}

impl CallBuilder {
    fn push(mut self, kind: EventKind, ts: Nanos, edit: impl FnOnce(&mut Event<'static>)) -> Self {
        let id = format!("{}-e{}", self.call_id, self.events.len() + 1);
        let mut event = Event::new(id, self.call_id.clone(), kind, ts);
        edit(&mut event);
        self.events.push(event);
        self
    }
    pub fn started(self, ts: Nanos) -> Self {
        self.push(EventKind::CallStarted, ts, |_| {})
    }
    pub fn started_for(self, ts: Nanos, tenant: &str) -> Self {
        self.push(EventKind::CallStarted, ts, |e| {
            e.tenant = Some(tenant.to_string().into())
        })
    }
    pub fn topic(self, ts: Nanos, topic: &str) -> Self {
        self.push(EventKind::TopicSelected, ts, |e| {
            e.topic = Some(topic.to_string().into())
        })
    }
    pub fn queued(self, ts: Nanos, queue: &str) -> Self {
        self.push(EventKind::Queued, ts, |e| {
            e.queue = Some(queue.to_string().into())
        })
    }
    pub fn transferred(self, ts: Nanos, queue: &str) -> Self {
        self.push(EventKind::Transferred, ts, |e| {
            e.queue = Some(queue.to_string().into())
        })
    }
    pub fn announced(self, ts: Nanos) -> Self {
        self.push(EventKind::AnnouncementPlayed, ts, |_| {})
    }
    pub fn answered(self, ts: Nanos) -> Self {
        self.push(EventKind::Answered, ts, |e| e.agent = Some("a-1".into()))
    }
    pub fn abandoned(self, ts: Nanos) -> Self {
        self.push(EventKind::Abandoned, ts, |_| {})
    }
    pub fn callback_requested(self, ts: Nanos) -> Self {
        self.push(EventKind::CallbackRequested, ts, |_| {})
    }
    pub fn attempt(self, ts: Nanos, outcome: CallbackOutcome) -> Self {
        self.push(EventKind::CallbackAttempted, ts, |e| {
            e.outcome = Some(outcome)
        })
    }
    pub fn sms(self, ts: Nanos) -> Self {
        self.push(EventKind::SmsSent, ts, |_| {})
    }
    pub fn ended(self, ts: Nanos) -> Self {
        self.push(EventKind::Ended, ts, |_| {})
    }
}

/// Feeds events in the given order, declares the input complete, returns every output.
pub fn run_all(events: &[Event<'static>]) -> (Engine, Vec<Verdict>, Vec<LiveBreach>) {
    let mut engine = Engine::new(israeli_pack(), EngineConfig::default());
    let mut outputs = Vec::new();
    for event in events {
        engine.ingest(event, &mut outputs);
    }
    engine.finish(&mut outputs);
    let (verdicts, breaches) = split(outputs);
    (engine, verdicts, breaches)
}

pub fn split(outputs: Vec<Output>) -> (Vec<Verdict>, Vec<LiveBreach>) {
    let mut verdicts = Vec::new();
    let mut breaches = Vec::new();
    for output in outputs {
        match output {
            Output::Verdict(verdict) => verdicts.push(*verdict),
            Output::LiveBreach(breach) => breaches.push(breach),
            Output::Stopped(_) => {}
        }
    }
    (verdicts, breaches)
}

/// The single verdict of a one-call run.
pub fn judge(builder: CallBuilder) -> Verdict {
    let (_, verdicts, _) = run_all(&builder.events);
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    verdicts.into_iter().next().unwrap()
}
