//! Every statutory rule of the Israeli pack, at its boundaries, through the engine.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use sixmin_core::{CallbackOutcome::*, Engine, Flag, Outcome};

fn billing_answered_after(wait: i64) -> sixmin_core::Verdict {
    let start = at("09:00:00");
    judge(
        call("c")
            .started(start)
            .topic(start + 20 * SECOND, "billing")
            .announced(start + 60 * SECOND)
            .answered(start + wait)
            .ended(start + wait + 60 * SECOND),
    )
}

#[test]
fn six_minute_limit_is_inclusive_to_the_millisecond() {
    let under = billing_answered_after(359_999 * MILLI);
    assert!(under.breaches.is_empty());
    assert_eq!(under.wait_ms, Some(359_999));
    let exact = billing_answered_after(360_000 * MILLI);
    assert!(exact.breaches.is_empty(), "exactly 360.000 s is compliant");
    assert_eq!(exact.wait_ms, Some(360_000));
    let over = billing_answered_after(360_001 * MILLI);
    assert_eq!(over.breaches, vec!["IL-6MIN"]);
    assert_eq!(over.limit_ms, 360_000);
    // Sub-millisecond excess is still over; the reported wait rounds up so it shows.
    let barely = billing_answered_after(360_000 * MILLI + 1);
    assert_eq!(barely.breaches, vec!["IL-6MIN"]);
    assert_eq!(barely.wait_ms, Some(360_001));
}

#[test]
fn other_topics_have_three_minutes() {
    let start = at("09:00:00");
    let judged = |wait| {
        judge(
            call("c")
                .started(start)
                .topic(start, "general")
                .announced(start)
                .answered(start + wait),
        )
    };
    assert!(judged(180 * SECOND).breaches.is_empty());
    let over = judged(180 * SECOND + MILLI);
    assert_eq!(over.breaches, vec!["IL-3MIN"]);
    assert_eq!(over.limit_ms, 180_000);
}

#[test]
fn a_call_without_a_topic_is_general_with_the_stricter_limit() {
    let start = at("09:00:00");
    let verdict = judge(
        call("c")
            .started(start)
            .announced(start)
            .answered(start + 200 * SECOND),
    );
    assert_eq!(verdict.topic, "general");
    assert_eq!(verdict.breaches, vec!["IL-3MIN"]);
}

#[test]
fn unknown_topics_keep_their_name_and_get_the_default_limit() {
    let start = at("09:00:00");
    let verdict = judge(
        call("c")
            .started(start)
            .topic(start, "sales")
            .answered(start + 100 * SECOND),
    );
    assert_eq!(
        (verdict.topic.as_str(), verdict.limit_ms),
        ("sales", 180_000)
    );
}

#[test]
fn aliases_map_to_their_topic() {
    let start = at("09:00:00");
    for alias in ["repair", "תקלה", "fault"] {
        let verdict = judge(
            call("c")
                .started(start)
                .topic(start, alias)
                .answered(start + 300 * SECOND),
        );
        assert_eq!(verdict.topic, "fault");
        assert_eq!(verdict.limit_ms, 360_000);
        assert!(verdict.breaches.is_empty());
    }
}

#[test]
fn the_topic_at_the_stop_decides_even_after_a_change() {
    let start = at("09:00:00");
    // Classified general first, then billing before the answer: the 6-minute limit applies.
    let verdict = judge(
        call("c")
            .started(start)
            .topic(start + 10 * SECOND, "general")
            .topic(start + 200 * SECOND, "billing")
            .answered(start + 300 * SECOND),
    );
    assert_eq!(verdict.topic, "billing");
    assert!(verdict.breaches.is_empty());
    // A change after the answer does not count while one before it exists.
    let verdict = judge(
        call("c")
            .started(start)
            .topic(start + 10 * SECOND, "general")
            .answered(start + 300 * SECOND)
            .topic(start + 400 * SECOND, "billing"),
    );
    assert_eq!(verdict.topic, "general");
    assert_eq!(verdict.breaches, vec!["IL-3MIN", "IL-ANNOUNCE"]);
}

#[test]
fn a_topic_classified_after_the_answer_counts_when_none_came_before() {
    let start = at("09:00:00");
    let verdict = judge(
        call("c")
            .started(start)
            .answered(start + 300 * SECOND)
            .topic(start + 320 * SECOND, "cancellation")
            .topic(start + 500 * SECOND, "general")
            .ended(start + 600 * SECOND),
    );
    assert_eq!(verdict.topic, "cancellation");
    assert!(verdict.breaches.is_empty());
}

#[test]
fn equal_timestamps_are_broken_by_the_greater_event_id() {
    let start = at("09:00:00");
    // Both selections at the same instant: ids c-e2 (general) < c-e3 (billing).
    let verdict = judge(
        call("c")
            .started(start)
            .topic(start + 5 * SECOND, "general")
            .topic(start + 5 * SECOND, "billing")
            .answered(start + 300 * SECOND),
    );
    assert_eq!(verdict.topic, "billing");
}

#[test]
fn transfers_and_queues_never_reset_the_timer() {
    let start = at("09:00:00");
    let verdict = judge(
        call("c")
            .started(start)
            .queued(start + 5 * SECOND, "ivr")
            .topic(start + 30 * SECOND, "fault")
            .queued(start + 30 * SECOND, "tech")
            .announced(start + 90 * SECOND)
            .transferred(start + 300 * SECOND, "tech-tier2")
            .queued(start + 301 * SECOND, "tech-tier2")
            .answered(start + 400 * SECOND)
            .ended(start + 900 * SECOND),
    );
    assert_eq!(verdict.wait_ms, Some(400_000));
    assert_eq!(verdict.breaches, vec!["IL-6MIN"]);
    assert_eq!(verdict.queue.as_deref(), Some("tech-tier2"));
}

#[test]
fn abandoning_before_the_limit_is_not_a_breach_and_after_it_is() {
    let start = at("09:00:00");
    let before = judge(
        call("c")
            .started(start)
            .topic(start, "billing")
            .abandoned(start + 359 * SECOND),
    );
    assert_eq!(before.outcome, Outcome::Abandoned);
    assert!(before.breaches.is_empty());
    assert_eq!(before.wait_ms, Some(359_000));
    let after = judge(
        call("c")
            .started(start)
            .topic(start, "billing")
            .announced(start)
            .abandoned(start + 361 * SECOND),
    );
    assert_eq!(after.breaches, vec!["IL-6MIN"]);
}

#[test]
fn announcement_must_come_within_two_minutes_when_the_wait_is_longer() {
    let start = at("09:00:00");
    let answered_late = |announced_after| {
        judge(
            call("c")
                .started(start)
                .topic(start, "billing")
                .announced(start + announced_after)
                .answered(start + 400 * SECOND),
        )
    };
    assert_eq!(answered_late(120 * SECOND).breaches, vec!["IL-6MIN"]);
    assert_eq!(
        answered_late(120 * SECOND + MILLI).breaches,
        vec!["IL-6MIN", "IL-ANNOUNCE"]
    );
    // No announcement owed when the wait was within the limit.
    let quick = judge(
        call("c")
            .started(start)
            .topic(start, "billing")
            .answered(start + 200 * SECOND),
    );
    assert!(quick.breaches.is_empty());
}

fn callback_call(request_after: i64) -> CallBuilder {
    let start = at("09:00:00");
    call("c")
        .started(start)
        .topic(start + 10 * SECOND, "billing")
        .announced(start + 60 * SECOND)
        .callback_requested(start + request_after)
        .ended(start + request_after + SECOND)
}

#[test]
fn a_callback_chosen_in_time_and_made_within_three_hours_is_compliant() {
    let request = at("09:00:00") + 100 * SECOND;
    let verdict = judge(callback_call(100 * SECOND).attempt(request + 3 * 3600 * SECOND, Reached));
    assert_eq!(verdict.outcome, Outcome::Callback);
    assert!(verdict.breaches.is_empty(), "{verdict:?}");
    assert_eq!(verdict.wait_ms, Some(100_000));
}

#[test]
fn a_late_callback_breaks_the_callback_rule() {
    let request = at("09:00:00") + 100 * SECOND;
    let verdict =
        judge(callback_call(100 * SECOND).attempt(request + 3 * 3600 * SECOND + MILLI, Reached));
    assert_eq!(verdict.breaches, vec!["IL-CALLBACK"]);
}

#[test]
fn a_callback_never_made_is_a_breach_raised_live_at_three_hours() {
    let builder = callback_call(100 * SECOND);
    let request = at("09:00:00") + 100 * SECOND;
    let mut engine = sixmin_core::Engine::new(israeli_pack(), Default::default());
    let mut outputs = Vec::new();
    for event in &builder.events {
        engine.ingest(event, &mut outputs);
    }
    engine.advance_to(request + 3 * 3600 * SECOND, &mut outputs);
    let (_, breaches) = split(std::mem::take(&mut outputs));
    assert!(breaches.is_empty(), "exactly 3 h is still in time");
    engine.advance_to(request + 3 * 3600 * SECOND + 1, &mut outputs);
    let (_, breaches) = split(std::mem::take(&mut outputs));
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0].rule, "IL-CALLBACK");
    assert_eq!(
        sixmin_core::time::format_utc(breaches[0].due_at),
        "2026-10-04T12:01:40Z"
    );
    engine.finish(&mut outputs);
    let (verdicts, _) = split(outputs);
    assert_eq!(verdicts[0].breaches, vec!["IL-CALLBACK"]);
}

#[test]
fn a_callback_chosen_after_the_limit_does_not_undo_the_wait_breach() {
    let request = at("09:00:00") + 400 * SECOND;
    let verdict = judge(callback_call(400 * SECOND).attempt(request + 600 * SECOND, Reached));
    assert_eq!(verdict.breaches, vec!["IL-6MIN"]);
}

#[test]
fn a_missed_callback_needs_an_sms_within_ten_minutes() {
    let request = at("09:00:00") + 100 * SECOND;
    let attempt = request + 3600 * SECOND;
    let with_sms = judge(
        callback_call(100 * SECOND)
            .attempt(attempt, NoAnswer)
            .sms(attempt + 600 * SECOND),
    );
    assert!(with_sms.breaches.is_empty(), "{with_sms:?}");
    let late_sms = judge(
        callback_call(100 * SECOND)
            .attempt(attempt, NoAnswer)
            .sms(attempt + 600 * SECOND + MILLI),
    );
    assert_eq!(late_sms.breaches, vec!["IL-SMS"]);
    let no_sms = judge(callback_call(100 * SECOND).attempt(attempt, NoAnswer));
    assert_eq!(no_sms.breaches, vec!["IL-SMS"]);
}

#[test]
fn live_breach_fires_once_when_a_waiting_caller_passes_the_limit() {
    let start = at("09:00:00");
    let builder = call("c")
        .started(start)
        .topic(start + 10 * SECOND, "billing");
    let mut engine = sixmin_core::Engine::new(israeli_pack(), Default::default());
    let mut outputs = Vec::new();
    for event in &builder.events {
        engine.ingest(event, &mut outputs);
    }
    engine.advance_to(start + 360 * SECOND, &mut outputs);
    assert!(
        outputs.is_empty(),
        "at exactly 360 s the caller is not over yet"
    );
    engine.advance_to(start + 360 * SECOND + 1, &mut outputs);
    let (_, breaches) = split(std::mem::take(&mut outputs));
    assert_eq!(breaches.len(), 1);
    assert_eq!(
        (breaches[0].rule.as_str(), breaches[0].topic.as_str()),
        ("IL-6MIN", "billing")
    );
    engine.advance_to(start + 3600 * SECOND, &mut outputs);
    assert!(split(outputs).1.is_empty(), "announced once");
}

#[test]
fn live_breach_follows_the_topic_known_so_far() {
    let start = at("09:00:00");
    let mut engine = sixmin_core::Engine::new(israeli_pack(), Default::default());
    let mut outputs = Vec::new();
    for event in &call("c").started(start).events {
        engine.ingest(event, &mut outputs);
    }
    // No topic yet: the 3-minute limit of `general`.
    engine.advance_to(start + 181 * SECOND, &mut outputs);
    let (_, breaches) = split(outputs);
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0].rule, "IL-3MIN");
}

#[test]
fn incomplete_calls_are_never_breaches() {
    let start = at("09:00:00");
    let verdict = judge(
        call("c")
            .started(start)
            .topic(start, "billing")
            .queued(start, "billing"),
    );
    assert_eq!(verdict.outcome, Outcome::Incomplete);
    assert_eq!(verdict.wait_ms, None);
    assert!(verdict.breaches.is_empty());
    assert!(verdict.flags.contains(&Flag::NoEnded));
}

#[test]
fn a_stop_before_the_start_counts_as_zero_and_is_flagged() {
    let start = at("09:00:00");
    let verdict = judge(
        call("c")
            .started(start)
            .answered(start - 2 * SECOND)
            .ended(start + SECOND),
    );
    assert_eq!(verdict.wait_ms, Some(0));
    assert!(verdict.breaches.is_empty());
    assert_eq!(verdict.flags, vec![Flag::StopBeforeStart]);
}

#[test]
fn the_earliest_stop_counts() {
    let start = at("09:00:00");
    let verdict = judge(
        call("c")
            .started(start)
            .topic(start, "billing")
            .answered(start + 500 * SECOND)
            .answered(start + 100 * SECOND),
    );
    assert_eq!(verdict.wait_ms, Some(100_000));
    assert_eq!(verdict.outcome, Outcome::Answered);
}

#[test]
fn events_of_a_call_that_never_starts_become_an_orphan_after_the_timeout() {
    let start = at("09:00:00");
    let mut engine = sixmin_core::Engine::new(israeli_pack(), Default::default());
    let mut outputs = Vec::new();
    for event in &call("lost")
        .answered(start)
        .ended(start + 60 * SECOND)
        .events
    {
        engine.ingest(event, &mut outputs);
    }
    // Another call moves the clock past the orphan timeout plus the lateness.
    let later = call("other").started(start + 7 * 3600 * SECOND + SECOND);
    for event in &later.events {
        engine.ingest(event, &mut outputs);
    }
    // The call is final now, its verdict out on the next settle: a new event for it is
    // late.
    let mut resent = call("lost")
        .ended(start + 7 * 3600 * SECOND + 2 * SECOND)
        .events;
    resent[0].event_id = "lost-resent".into();
    assert_eq!(
        engine.ingest(&resent[0], &mut outputs),
        sixmin_core::Disposition::Late(sixmin_core::Lateness::AfterVerdict)
    );
    // A snapshot would lose the verdict not yet out: it is refused until the engine is
    // settled.
    assert!(!engine.is_settled());
    assert!(matches!(
        engine.snapshot(),
        Err(sixmin_core::snapshot::SnapshotError::Unsettled(1))
    ));
    engine.settle(&mut outputs);
    assert!(engine.snapshot().is_ok());
    let (verdicts, _) = split(outputs);
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].call_id, "lost");
    assert_eq!(verdicts[0].outcome, Outcome::Incomplete);
    assert!(verdicts[0].flags.contains(&Flag::Orphan));
    assert_eq!(verdicts[0].started_at, None);
}

#[test]
fn tenant_comes_from_the_start_and_defaults() {
    let start = at("09:00:00");
    let verdict = judge(
        call("c")
            .started_for(start, "acme")
            .answered(start + SECOND),
    );
    assert_eq!(verdict.tenant, "acme");
    let verdict = judge(call("c").started(start).answered(start + SECOND));
    assert_eq!(verdict.tenant, "default");
}

#[test]
fn verdicts_name_their_evidence_in_time_order() {
    let start = at("09:00:00");
    let verdict = judge(
        call("c")
            .started(start)
            .answered(start + 10 * SECOND)
            .topic(start + 5 * SECOND, "billing"),
    );
    assert_eq!(verdict.events, vec!["c-e1", "c-e3", "c-e2"]);
    assert_eq!(verdict.rule_pack.name, "il-consumer-protection");
}

#[test]
fn a_resend_counts_once_and_an_id_reused_by_another_call_is_kept() {
    let start = at("09:00:00");
    let first = call("a").started(start).answered(start + 10 * SECOND);
    let mut events = first.events.clone();
    // An at-least-once producer resends the answer (same id, same call).
    events.push(first.events[1].clone());
    // A faulty producer reuses the id `a-e2` for another call's answer.
    let mut other = call("b")
        .started(start)
        .answered(start + 20 * SECOND)
        .events;
    other[1].event_id = "a-e2".into();
    events.extend(other);
    let (engine, verdicts, _) = run_all(&events);
    assert_eq!(engine.counters().duplicates, 1);
    assert_eq!(engine.counters().accepted, 4);
    assert_eq!(verdicts.len(), 2);
    assert_eq!(
        verdicts[1].wait_ms,
        Some(20_000),
        "the other call keeps its answer"
    );
}

#[test]
fn waiting_callers_are_grouped_with_their_risk() {
    let start = at("09:00:00");
    let config = sixmin_core::EngineConfig {
        emit_stops: true,
        ..Default::default()
    };
    let mut engine = sixmin_core::Engine::new(israeli_pack(), config);
    let mut outputs = Vec::new();
    let calls = [
        call("w1")
            .started(start)
            .topic(start, "billing")
            .queued(start, "billing"),
        call("w2")
            .started(start + 100 * SECOND)
            .topic(start, "billing")
            .queued(start, "billing"),
        call("w3")
            .started(start + 300 * SECOND)
            .queued(start, "billing"),
        call("done").started(start).answered(start + 50 * SECOND),
    ];
    for builder in &calls {
        for event in &builder.events {
            engine.ingest(event, &mut outputs);
        }
    }
    engine.advance_to(start + 400 * SECOND, &mut outputs);
    let groups = engine.waiting_now();
    assert_eq!(groups.len(), 2, "{groups:?}");
    let billing = groups
        .iter()
        .find(|group| group.topic == "billing")
        .unwrap();
    // w1 waited 400 s (over 360), w2 300 s (≥ 80 % of 360 = 288: at risk).
    assert_eq!(
        (billing.waiting, billing.over_limit, billing.at_risk),
        (2, 1, 2)
    );
    assert_eq!(billing.oldest_wait_ms, 400_000);
    let general = groups
        .iter()
        .find(|group| group.topic == "general")
        .unwrap();
    // w3 waited 100 s of 180: below 144 s, not at risk.
    assert_eq!(
        (general.waiting, general.over_limit, general.at_risk),
        (1, 0, 0)
    );
    let stops: Vec<_> = outputs
        .iter()
        .filter_map(|output| match output {
            sixmin_core::Output::Stopped(stop) => Some(stop),
            _ => None,
        })
        .collect();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].wait_ms, 50_000);
}

#[test]
fn instants_centuries_apart_do_not_overflow() {
    // Both are valid RFC 3339 instants; their difference is beyond i64 nanoseconds. The
    // answer arrives right after the start, so both are in the call when it is judged.
    let start = at("1700-01-01T00:00:00Z");
    let stop = at("2200-01-01T00:00:00Z");
    let verdict = judge(
        call("c")
            .started(start)
            .answered(stop)
            .announced(stop)
            .ended(stop),
    );
    assert_eq!(verdict.outcome, sixmin_core::Outcome::Answered);
    assert_eq!(
        verdict.breaches,
        vec!["IL-3MIN", "IL-ANNOUNCE"],
        "{verdict:?}"
    );
    assert!(verdict.wait_ms.unwrap() > 9_000_000_000_000);
}

#[test]
fn breached_calls_are_placed_by_the_local_weekday_and_hour_of_their_start() {
    // 2026-10-25 is a Sunday on which Israel's clocks go back at 02:00 (+03:00 → +02:00):
    // 22:30Z and 23:30Z of the 24th are both 01:30 local. 09:00Z on the 4th is Sunday
    // 12:00 local; the compliant call there is not on the map.
    let billing_after =
        |id: &str, start: sixmin_core::time::Nanos, wait: sixmin_core::time::Nanos| {
            call(id)
                .started(start)
                .topic(start, "billing")
                .answered(start + wait)
                .events
        };
    let mut events = Vec::new();
    events.extend(billing_after("noon", at("09:00:00"), 361 * SECOND));
    events.extend(billing_after("noon-ok", at("09:10:00"), 60 * SECOND));
    events.extend(billing_after(
        "first-0130",
        at("2026-10-24T22:30:00Z"),
        400 * SECOND,
    ));
    events.extend(billing_after(
        "second-0130",
        at("2026-10-24T23:30:00Z"),
        500 * SECOND,
    ));
    let (engine, _, _) = run_all(&events);

    let mut month = sixmin_core::tally::Tally::default();
    for (_, _, _, tally) in engine.tallies() {
        month.merge(tally);
    }
    let cells: Vec<(&str, u8, u64)> = month
        .breached_by_hour
        .iter()
        .map(|(cell, calls)| (cell.weekday_name(), cell.hour, *calls))
        .collect();
    assert_eq!(cells, vec![("sun", 1, 2), ("sun", 12, 1)]);
    assert_eq!(month.breached_calls, 3);
    // None of these calls was queued.
    assert_eq!(
        month.breached_by_queue.into_iter().collect::<Vec<_>>(),
        vec![("none".to_owned(), 3)]
    );

    // The map survives a snapshot and restore.
    let json = serde_json::to_string(&engine.snapshot().unwrap()).unwrap();
    let snapshot: sixmin_core::snapshot::Snapshot = serde_json::from_str(&json).unwrap();
    let restored = Engine::restore(
        israeli_pack(),
        sixmin_core::EngineConfig::default(),
        &snapshot,
    )
    .unwrap();
    let maps = |engine: &Engine| {
        engine
            .tallies()
            .map(|(day, _, _, tally)| {
                let queues = tally.breached_by_queue.clone();
                (day, tally.breached_by_hour.clone(), queues)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(maps(&restored), maps(&engine));
}
