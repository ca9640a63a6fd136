//! `sixmin report`: the period report of a state directory or of the service's
//! checkpoints (`sixmin-report`), as JSON to a file or standard output, or in several
//! formats into a directory with a manifest of their SHA-256 sums.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use sixmin_core::Period;
use sixmin_report::{Format, Judged};

use crate::cli::ReportArgs;
use crate::exit::{fail, Code, CommandResult, Failure, WithCode};

/// Runs `sixmin report`.
pub fn run(args: ReportArgs) -> CommandResult {
    let mut formats: Vec<Format> = Vec::new();
    for format in args.format {
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    let period = match (args.month, args.day) {
        (Some(month), _) => month,
        (None, Some(day)) => day,
        (None, None) => {
            return Err(fail(
                Code::Usage,
                "give `--month YYYY-MM` or `--day YYYY-MM-DD`",
            ))
        }
    };
    let generated_at = args
        .generated_at
        .unwrap_or_else(sixmin_pipeline::clock::now_rfc3339);
    let to_directory = formats != [Format::Json] || args.out.is_dir();
    if to_directory && args.out.as_os_str() == "-" {
        let names: Vec<&str> = formats.iter().map(|format| format.name()).collect();
        return Err(fail(
            Code::Usage,
            format!(
                "`--format {}` writes several files: give `--out DIR`",
                names.join(",")
            ),
        ));
    }
    let judged = match (&args.state, &args.config) {
        (Some(state), _) => judged_state_dir(state)?,
        (None, Some(config)) => judged_checkpoints(config)?,
        (None, None) => return Err(fail(Code::Usage, "give `--state DIR` or `--config FILE`")),
    };
    if to_directory {
        let data = judged
            .gather(period, &generated_at)
            .map_err(Failure::from)?;
        return sixmin_report::write_directory(&args.out, &formats, &args.lang, &data)
            .map_err(Failure::from);
    }
    let json = judged
        .report(period, &generated_at)
        .map_err(Failure::from)?
        .to_json();
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

/// The state of a directory written by `sixmin replay`.
fn judged_state_dir(dir: &Path) -> CommandResult<Judged> {
    let (engine, _, state) = sixmin_pipeline::state::saved_state(dir, None)?;
    Ok(Judged::from_state(engine, &state))
}

/// The states of every partition checkpointed by `sixmin run` with this configuration, to
/// be added up.
fn judged_checkpoints(config_path: &Path) -> CommandResult<Judged> {
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
    Judged::from_checkpoints(checkpoints.values()).map_err(Failure::from)
}

/// Parses `--month YYYY-MM`.
pub fn parse_month(text: &str) -> Result<Period, String> {
    Period::parse_month(text).ok_or_else(|| format!("`{text}` is not a month; write `YYYY-MM`"))
}

/// Parses `--day YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Result<Period, String> {
    Period::parse_day(text).ok_or_else(|| format!("`{text}` is not a day; write `YYYY-MM-DD`"))
}

/// Checks `--generated-at` is RFC 3339.
pub fn parse_generated_at(text: &str) -> Result<String, String> {
    sixmin_core::time::parse_rfc3339(text)
        .map(|_| text.to_owned())
        .ok_or_else(|| format!("`{text}` is not an RFC 3339 time"))
}
