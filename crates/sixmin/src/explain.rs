//! `sixmin explain CALL_ID`: an auditor's drill-down into one call. From the input events
//! (`--events`): the call's events in time order, the topic and limit applied and the
//! arithmetic of each rule. From a state directory (`--state`): the call's line in the
//! ledger of breached calls, with its evidence. Rendered by `sixmin-report`.

use std::path::PathBuf;

use anyhow::Context;
use sixmin_core::decode::DEFAULT_MAX_EVENT_BYTES;
use sixmin_pipeline::input::events_of_call;
use sixmin_pipeline::state::{load_pack, saved_state};
use sixmin_report::explain::CallExplanation;

use crate::exit::{fail, Code, CommandResult, WithCode};

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
            let (engine, pack, _) = saved_state(dir, args.rules.as_deref())?;
            (pack.pack, Some(engine.breached_call_by_id(&args.call_id)))
        }
        None => (load_pack(args.rules.as_deref())?.pack, None),
    };
    let events =
        events_of_call(&args.events, &args.call_id, args.max_event_bytes).code(Code::Input)?;
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
    let call = CallExplanation {
        call_id: &args.call_id,
        pack: &pack,
        explanation: explanation.as_ref(),
        ledger: ledger.as_ref().map(Option::as_ref),
    };
    match args.format {
        ExplainFormat::Json => {
            let text = call
                .json()
                .context("encoding the explanation as JSON")
                .code(Code::Internal)?;
            println!("{text}");
        }
        ExplainFormat::Text => print!("{}", call.text()),
    }
    Ok(())
}
