//! The explanation of one call for people (text) and tools (JSON): its events in time
//! order, the topic and limit applied, each rule's arithmetic, the verdict, and the call's
//! line in a state's ledger of breached calls.

use chrono_tz::Tz;
use sixmin_core::explain::{duration_text, CheckResult, Explanation};
use sixmin_core::time::format_in_zone;
use sixmin_core::{BreachedCall, RulePack};

/// What is known of one call.
pub struct CallExplanation<'a> {
    /// The call.
    pub call_id: &'a str,
    /// The pack it is judged by.
    pub pack: &'a RulePack,
    /// The judgement from its events, when events were given.
    pub explanation: Option<&'a Explanation>,
    /// Its line in a state's ledger of breached calls: `None` when no state was given,
    /// `Some(None)` when the state has no such breached call.
    pub ledger: Option<Option<&'a BreachedCall>>,
}

impl CallExplanation<'_> {
    /// The text for people.
    pub fn text(&self) -> String {
        let pack = self.pack;
        let mut text = format!(
            "call {}   rule pack {} {} ({})\n",
            self.call_id,
            pack.name,
            pack.version,
            pack.timezone.name()
        );
        if let Some(explanation) = self.explanation {
            text.push_str(&explanation_text(explanation, pack.timezone));
        }
        match self.ledger {
            Some(Some(call)) => text.push_str(&ledger_text(call, pack.timezone)),
            Some(None) => text.push_str("\nledger: not a breached call in this state\n"),
            None => {}
        }
        text
    }

    /// The JSON for tools (pretty-printed).
    pub fn json(&self) -> serde_json::Result<String> {
        let pack = self.pack;
        let json = serde_json::json!({
            "call_id": self.call_id,
            "rule_pack": {"name": pack.name, "version": pack.version, "sha256": pack.sha256},
            "explanation": self.explanation,
            "ledger": self
                .ledger
                .map(|entry| entry.map(|call| ledger_json(call, pack.timezone))),
        });
        serde_json::to_string_pretty(&json)
    }
}

/// Local time as an auditor reads it: `2026-10-05 10:00:00.000 +03:00`.
fn local(at: i64, zone: Tz) -> String {
    let text = format_in_zone(at, zone);
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|time| time.format("%Y-%m-%d %H:%M:%S%.3f %:z").to_string())
        .unwrap_or(text)
}

fn explanation_text(explanation: &Explanation, zone: Tz) -> String {
    let mut text = format!(
        "  topic {}, limit {} ({}), outcome {}\n\nevents (local time; time after dialing)\n",
        explanation.topic,
        duration_text(explanation.limit_ms * 1_000_000),
        explanation.wait_rule,
        explanation.outcome.as_str()
    );
    for event in &explanation.events {
        let after = event
            .after_dialing_ms
            .map(|ms| format!("+{}", duration_text(ms * 1_000_000)))
            .unwrap_or_default();
        text.push_str(&format!(
            "  {}  {:>12}  {:<20} {}  {}\n",
            local(event.ts, zone),
            after,
            event.kind,
            event.event_id,
            event.detail
        ));
    }
    text.push_str("\nrules\n");
    for check in &explanation.checks {
        let result = match check.result {
            CheckResult::Broken => "BROKEN",
            CheckResult::Met => "met",
            CheckResult::NotOwed => "not owed",
            CheckResult::NotJudged => "not judged",
        };
        text.push_str(&format!(
            "  {:<12} {:<10} {}\n",
            check.rule, result, check.reason
        ));
    }
    let verdict = if explanation.breaches.is_empty() {
        "compliant".to_owned()
    } else {
        format!("breached {}", explanation.breaches.join(", "))
    };
    text.push_str(&format!("\nverdict: {verdict}"));
    if !explanation.flags.is_empty() {
        let flags: Vec<&str> = explanation.flags.iter().map(|flag| flag.as_str()).collect();
        text.push_str(&format!(" (flags: {})", flags.join(", ")));
    }
    text.push('\n');
    text
}

fn ledger_text(call: &BreachedCall, zone: Tz) -> String {
    format!(
        "\nledger of breached calls: {} {}\n  started {}, topic {}, queue {}, wait {}, limit {}\n  evidence: {}\n",
        call.breaches.join(", "),
        if call.pending { "(pending: not final yet)" } else { "(final)" },
        call.started_at.map_or("unknown".to_owned(), |at| local(at, zone)),
        call.topic,
        call.queue.as_deref().unwrap_or("none"),
        call.wait_ms.map_or("none".to_owned(), |ms| format!("{ms} ms")),
        format_args!("{} ms", call.limit_ms),
        call.events.join(" "),
    )
}

fn ledger_json(call: &BreachedCall, zone: Tz) -> serde_json::Value {
    serde_json::json!({
        "started_at": call.started_at.map(|at| format_in_zone(at, zone)),
        "tenant": call.tenant,
        "topic": call.topic,
        "queue": call.queue,
        "outcome": call.outcome,
        "wait_ms": call.wait_ms,
        "limit_ms": call.limit_ms,
        "breaches": call.breaches,
        "events": call.events,
        "pending": call.pending,
    })
}
