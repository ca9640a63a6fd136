//! `sixmin report`: the period report of a state directory.

use std::io::Write;

use anyhow::Context;
use std::path::Path;

use sixmin_core::{Engine, EngineConfig, Period, PeriodReport};

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
    let report = match (&args.state, &args.config) {
        (Some(state), _) => report_of_state_dir(state, period, generated_at)?,
        (None, Some(config)) => report_of_checkpoints(config, period, generated_at)?,
        (None, None) => return Err(fail(Code::Usage, "give `--state DIR` or `--config FILE`")),
    };
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

fn report_of_state_dir(
    dir: &Path,
    period: Period,
    generated_at: String,
) -> CommandResult<PeriodReport> {
    let state = sixmin_store::read_state(dir)
        .code(Code::State)?
        .ok_or_else(|| {
            fail(
                Code::State,
                format!(
                    "`{}` holds no state; run `sixmin replay --state {}` first",
                    dir.display(),
                    dir.display()
                ),
            )
        })?;
    let config = EngineConfig {
        allowed_lateness_ms: state.engine.allowed_lateness_ms,
        emit_verdicts: false,
        emit_stops: false,
    };
    let (engine, _) = engine_for_state(Some(&state), None, config, dir)?;
    let sources = state
        .sources
        .iter()
        .map(|source| source.describe())
        .collect();
    Ok(engine.period_report(period, generated_at, sources))
}

/// The report of every partition checkpointed by `sixmin run` with this configuration,
/// added up. Each partition is named in `inputs.sources` with the offset its state covers.
fn report_of_checkpoints(
    config_path: &Path,
    period: Period,
    generated_at: String,
) -> CommandResult<PeriodReport> {
    let config = crate::run::load_config(config_path)?;
    let mut store = crate::run::open_store(&config, false)?;
    let checkpoints = store
        .load_all(&config.group_id, &config.events_topic)
        .code(Code::State)?;
    if checkpoints.is_empty() {
        return Err(fail(
            Code::State,
            format!(
                "{} holds no checkpoint of group `{}` on topic `{}`; run `sixmin run` first",
                store.describe(),
                config.group_id,
                config.events_topic
            ),
        ));
    }
    let mut engines = Vec::new();
    let mut sources = Vec::new();
    for checkpoint in checkpoints.values() {
        let pack = sixmin_config::parse_pack(&checkpoint.pack_source, &checkpoint.pack_origin)
            .with_context(|| {
                format!(
                    "reading the rule pack kept in the checkpoint of {}",
                    checkpoint.key
                )
            })
            .code(Code::State)?;
        let engine_config = EngineConfig {
            allowed_lateness_ms: checkpoint.engine.allowed_lateness_ms,
            emit_verdicts: false,
            emit_stops: false,
        };
        let engine = Engine::restore(pack, engine_config, &checkpoint.engine)
            .with_context(|| format!("restoring the checkpoint of {}", checkpoint.key))
            .code(Code::State)?;
        sources.push(format!(
            "kafka:{}/{} next_offset {} (checkpoint {}, group {})",
            checkpoint.key.topic,
            checkpoint.key.partition,
            checkpoint.next_offset,
            checkpoint.written_at,
            checkpoint.key.group
        ));
        engines.push(engine);
    }
    let refs: Vec<&Engine> = engines.iter().collect();
    Engine::merged_period_report(&refs, period, generated_at, sources).ok_or_else(|| {
        fail(
            Code::State,
            "the partitions' checkpoints were written with different rule packs",
        )
    })
}
