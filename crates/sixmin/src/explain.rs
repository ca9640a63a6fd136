//! `sixmin explain CALL_ID`: an auditor's drill-down into one call. From the input events
//! (`--events`): the call's events in time order, the topic and limit applied and the
//! arithmetic of each rule. From a state directory (`--state`): the call's line in the
//! ledger of breached calls, with its evidence.

use std::path::PathBuf;

use anyhow::Context;
use chrono_tz::Tz;
use sixmin_core::explain::{duration_text, CheckResult, Explanation};
use sixmin_core::time::format_in_zone;
use sixmin_core::{decode_event_with_limit, BreachedCall, Event};

use crate::exit::{fail, Code, CommandResult, WithCode};
use sixmin_core::decode::DEFAULT_MAX_EVENT_BYTES;
use sixmin_pipeline::input::{is_blank, open_lines, LineReader};

/// Arguments of `sixmin explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The call to explain.
    #[arg(value_name = "CALL_ID")]
    pub call_id: String,
    /// Event files (JSON Lines, `.gz` allowed) holding the call's events.
    #[arg(long = "events", value_name = "FILE")]
    pub events: Vec<PathBuf>,
    /// State directory written by `sixmin replay`: its ledger of breached calls.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Rule pack file; default: the state's pack, or the built-in Israeli pack.
    #[arg(long, value_name = "PACK")]
    pub rules: Option<PathBuf>,
    /// `text` (default) or `json`.
    #[arg(long, value_name = "FORMAT", value_enum, default_value = "text")]
    pub format: ExplainFormat,
    /// Largest event read, in bytes (as `replay --max-event-bytes`): longer lines are not
    /// events.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_EVENT_BYTES)]
    pub max_event_bytes: usize,
}

/// How an explanation is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    /// For people.
    Text,
    /// For tools.
    Json,
}

/// Runs `sixmin explain`.
pub fn run(args: ExplainArgs) -> CommandResult {
    if args.events.is_empty() && args.state.is_none() {
        return Err(fail(
            Code::Usage,
            "give the input events (`--events FILE`) or a state directory (`--state DIR`)",
        ));
    }
    let (pack, ledger) = match &args.state {
        Some(dir) => {
            let (engine, pack, _) =
                sixmin_pipeline::state::saved_state(dir, args.rules.as_deref())?;
            (pack.pack, Some(engine.breached_call_by_id(&args.call_id)))
        }
        None => (
            sixmin_pipeline::state::load_pack(args.rules.as_deref())?.pack,
            None,
        ),
    };
    let events = call_events(&args.events, &args.call_id, args.max_event_bytes)?;
    let explanation = sixmin_core::explain(&pack, &events);
    if explanation.is_none() && !matches!(ledger, Some(Some(_))) {
        let mut looked = Vec::new();
        if !args.events.is_empty() {
            looked.push("the given events".to_owned());
        }
        if let Some(dir) = &args.state {
            looked.push(format!("the breached calls of `{}`", dir.display()));
        }
        return Err(fail(
            Code::Input,
            format!(
                "call `{}` is not in {}",
                args.call_id,
                looked.join(" nor in ")
            ),
        ));
    }
    if args.format == ExplainFormat::Json {
        let json = serde_json::json!({
            "call_id": args.call_id,
            "rule_pack": {"name": pack.name, "version": pack.version, "sha256": pack.sha256},
            "explanation": explanation,
            "ledger": ledger.map(|entry| entry.map(|call| ledger_json(&call, pack.timezone))),
        });
        let text = serde_json::to_string_pretty(&json)
            .context("encoding the explanation as JSON")
            .code(Code::Internal)?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "call {}   rule pack {} {} ({})",
        args.call_id,
        pack.name,
        pack.version,
        pack.timezone.name()
    );
    if let Some(explanation) = &explanation {
        print!("{}", explanation_text(explanation, pack.timezone));
    }
    match ledger {
        Some(Some(call)) => print!("{}", ledger_text(&call, pack.timezone)),
        Some(None) => println!("\nledger: not a breached call in this state"),
        None => {}
    }
    Ok(())
}

/// Every valid event of `call_id` in `files` (invalid lines are skipped: `replay` reports
/// them).
fn call_events(
    files: &[PathBuf],
    call_id: &str,
    max_event_bytes: usize,
) -> CommandResult<Vec<Event<'static>>> {
    let mut events = Vec::new();
    let needle = call_id.as_bytes();
    for path in files {
        let reader = open_lines(path)
            .with_context(|| format!("opening `{}`", path.display()))
            .code(Code::Input)?;
        let mut lines = LineReader::new(reader, "", max_event_bytes);
        while lines
            .advance()
            .with_context(|| format!("reading `{}`", path.display()))
            .code(Code::Input)?
        {
            let record = lines.record();
            let line = record.bytes;
            // Only lines that mention the id are decoded; a line over the limit is no event.
            if record.length > max_event_bytes
                || is_blank(line)
                || !line.windows(needle.len()).any(|window| window == needle)
            {
                continue;
            }
            if let Ok(event) = decode_event_with_limit(line, max_event_bytes) {
                if event.call_id == call_id {
                    events.push(event.into_owned());
                }
            }
        }
    }
    Ok(events)
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
