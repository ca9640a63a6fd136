//! Call events of the wire contract v1, as the engine receives them after decoding.

use std::borrow::Cow;

use serde::Deserialize;

use crate::time::Nanos;

/// The `type` of a call event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The moment of dialing: starts the wait timer.
    CallStarted,
    /// The IVR or an agent classified the call.
    TopicSelected,
    /// The call entered a queue.
    Queued,
    /// A recorded message about a long wait, offering a callback, was played.
    AnnouncementPlayed,
    /// The caller chose to be called back and left the line.
    CallbackRequested,
    /// Moved between queues before a human answered.
    Transferred,
    /// A human agent answered.
    Answered,
    /// The caller hung up before a human answered.
    Abandoned,
    /// The business called back.
    CallbackAttempted,
    /// An SMS about a missed callback was sent.
    SmsSent,
    /// The call is over.
    Ended,
}

impl EventKind {
    /// Every kind, in contract order.
    pub const ALL: [EventKind; 11] = [
        EventKind::CallStarted,
        EventKind::TopicSelected,
        EventKind::Queued,
        EventKind::AnnouncementPlayed,
        EventKind::CallbackRequested,
        EventKind::Transferred,
        EventKind::Answered,
        EventKind::Abandoned,
        EventKind::CallbackAttempted,
        EventKind::SmsSent,
        EventKind::Ended,
    ];

    /// The wire name, e.g. `call_started`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CallStarted => "call_started",
            EventKind::TopicSelected => "topic_selected",
            EventKind::Queued => "queued",
            EventKind::AnnouncementPlayed => "announcement_played",
            EventKind::CallbackRequested => "callback_requested",
            EventKind::Transferred => "transferred",
            EventKind::Answered => "answered",
            EventKind::Abandoned => "abandoned",
            EventKind::CallbackAttempted => "callback_attempted",
            EventKind::SmsSent => "sms_sent",
            EventKind::Ended => "ended",
        }
    }

    /// Parses a wire name.
    pub fn from_wire(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// Whether an event of this kind can move a started call's next live alarm. Only
    /// the start, the stop, the topic (its limit), callback attempts and SMS can: not a
    /// queue, a transfer, an announcement or `ended`.
    pub fn moves_alarm(self) -> bool {
        !matches!(
            self,
            EventKind::Queued
                | EventKind::Transferred
                | EventKind::AnnouncementPlayed
                | EventKind::Ended
        )
    }

    /// Whether an event of this kind can move a started call's close. Only the start,
    /// the stop, `ended` and callback attempts can: not a queue, a transfer, an
    /// announcement, a topic or an SMS (the SMS duty of a missed callback closes at its
    /// allowance after the callback deadline, whenever the SMS was sent).
    pub fn moves_close(self) -> bool {
        !matches!(
            self,
            EventKind::Queued
                | EventKind::Transferred
                | EventKind::AnnouncementPlayed
                | EventKind::TopicSelected
                | EventKind::SmsSent
        )
    }

    /// Whether this kind stops the wait (`answered`, `abandoned`, `callback_requested`).
    pub fn stops_wait(self) -> bool {
        matches!(
            self,
            EventKind::Answered | EventKind::Abandoned | EventKind::CallbackRequested
        )
    }
}

/// The `outcome` of a `callback_attempted` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallbackOutcome {
    /// The caller was reached.
    Reached,
    /// Nobody answered: an SMS is owed.
    NoAnswer,
}

impl CallbackOutcome {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackOutcome::Reached => "reached",
            CallbackOutcome::NoAnswer => "no_answer",
        }
    }

    /// Parses a wire name.
    pub fn from_wire(name: &str) -> Option<CallbackOutcome> {
        match name {
            "reached" => Some(CallbackOutcome::Reached),
            "no_answer" => Some(CallbackOutcome::NoAnswer),
            _ => None,
        }
    }
}

/// A valid call event. Strings borrow from the input line where they can.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<'a> {
    /// Unique per event; the de-duplication key.
    pub event_id: Cow<'a, str>,
    /// Stable for the whole call.
    pub call_id: Cow<'a, str>,
    /// What happened.
    pub kind: EventKind,
    /// When it happened.
    pub ts: Nanos,
    /// The business or site (absent: `default`).
    pub tenant: Option<Cow<'a, str>>,
    /// The queue the call is in now.
    pub queue: Option<Cow<'a, str>>,
    /// The subject of the call, as the adapter names it (aliases not yet applied).
    pub topic: Option<Cow<'a, str>>,
    /// Who answered.
    pub agent: Option<Cow<'a, str>>,
    /// On `callback_attempted`: whether the caller was reached.
    pub outcome: Option<CallbackOutcome>,
    /// Free-form JSON object, carried to the ledger, never to metrics or logs.
    pub attrs: Option<Cow<'a, str>>,
}

impl<'a> Event<'a> {
    /// A minimal event; set the optional fields afterwards.
    pub fn new(
        event_id: impl Into<Cow<'a, str>>,
        call_id: impl Into<Cow<'a, str>>,
        kind: EventKind,
        ts: Nanos,
    ) -> Self {
        Event {
            event_id: event_id.into(),
            call_id: call_id.into(),
            kind,
            ts,
            tenant: None,
            queue: None,
            topic: None,
            agent: None,
            outcome: None,
            attrs: None,
        }
    }

    /// Copies every borrowed string, so the event outlives its input line.
    pub fn into_owned(self) -> Event<'static> {
        let own = |text: Option<Cow<'a, str>>| text.map(|text| Cow::Owned(text.into_owned()));
        Event {
            event_id: Cow::Owned(self.event_id.into_owned()),
            call_id: Cow::Owned(self.call_id.into_owned()),
            kind: self.kind,
            ts: self.ts,
            tenant: own(self.tenant),
            queue: own(self.queue),
            topic: own(self.topic),
            agent: own(self.agent),
            outcome: self.outcome,
            attrs: own(self.attrs),
        }
    }
}
