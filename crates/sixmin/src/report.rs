//! `sixmin report`: the period report of a state directory.

use std::io::Write;

use anyhow::Context;
use sixmin_core::{EngineConfig, Period};

use crate::cli::ReportArgs;
use crate::exit::{fail, Code, CommandResult, WithCode};
use crate::state::engine_for_state;

/// Runs `sixmin report`.
pub fn run(args: ReportArgs) -> CommandResult {
    if args.format != "json" {
        return Err(fail(
            Code::Usage,
            format!("format `{}` is not supported; use `json`", args.format),
        ));
    }
    let period = match (&args.month, &args.day) {
        (Some(month), _) => Period::parse_month(month).ok_or_else(|| {
            fail(
                Code::Usage,
                format!("`--month {month}` is not a month; write `YYYY-MM`"),
            )
        })?,
        (None, Some(day)) => Period::parse_day(day).ok_or_else(|| {
            fail(
                Code::Usage,
                format!("`--day {day}` is not a day; write `YYYY-MM-DD`"),
            )
        })?,
        (None, None) => {
            return Err(fail(
                Code::Usage,
                "give `--month YYYY-MM` or `--day YYYY-MM-DD`",
            ))
        }
    };
    let state = sixmin_store::read_state(&args.state)
        .code(Code::State)?
        .ok_or_else(|| {
            fail(
                Code::State,
                format!(
                    "`{}` holds no state; run `sixmin replay --state {}` first",
                    args.state.display(),
                    args.state.display()
                ),
            )
        })?;
    let config = EngineConfig {
        allowed_lateness_ms: state.engine.allowed_lateness_ms,
        emit_verdicts: false,
        emit_stops: false,
    };
    let (engine, _) = engine_for_state(Some(&state), None, config, &args.state)?;
    let generated_at = match args.generated_at {
        Some(text) => {
            sixmin_core::time::parse_rfc3339(&text).ok_or_else(|| {
                fail(
                    Code::Usage,
                    format!("`--generated-at {text}` is not an RFC 3339 time"),
                )
            })?;
            text
        }
        None => crate::clock::now_rfc3339(),
    };
    let sources = state
        .sources
        .iter()
        .map(|source| source.describe())
        .collect();
    let report = engine.period_report(period, generated_at, sources);
    let json = report.to_json();
    if args.out.as_os_str() == "-" {
        std::io::stdout()
            .write_all(json.as_bytes())
            .context("writing the report to standard output")
            .code(Code::Output)
    } else {
        std::fs::write(&args.out, json)
            .with_context(|| format!("writing `{}`", args.out.display()))
            .code(Code::Output)
    }
}
