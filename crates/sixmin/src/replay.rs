//! `sixmin replay`: feeds event files into a state directory (`sixmin-pipeline`'s
//! `Replay`), serving the metrics and status page meanwhile when asked.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use sixmin_core::engine::DEFAULT_ALLOWED_LATENESS_MS;
use sixmin_core::EngineConfig;
use sixmin_pipeline::input::Source;
use sixmin_pipeline::state::engine_for_state;
use sixmin_pipeline::{Driver, FileSinks, JsonLinesFile, LiveView, Replay, ReplayOptions};
use sixmin_server::{BackgroundServer, Watch};
use sixmin_store::StateDir;

use crate::cli::ReplayArgs;
use crate::exit::{Code, CommandResult, WithCode};

/// The dead-letter file in the state directory, when `--dead-letter` names none.
const DEFAULT_DEAD_LETTER: &str = "dead-letter.jsonl";

/// Runs `sixmin replay`.
pub fn run(args: ReplayArgs) -> CommandResult {
    let started = Instant::now();
    let dir = StateDir::open(&args.state).code(Code::State)?;
    let previous = dir.load().code(Code::State)?;
    let allowed_lateness_ms = args
        .judging
        .allowed_lateness
        .or(previous
            .as_ref()
            .map(|state| state.engine.allowed_lateness_ms))
        .unwrap_or(DEFAULT_ALLOWED_LATENESS_MS);
    let config = EngineConfig {
        allowed_lateness_ms,
        emit_verdicts: args.ledger.is_some() || args.listen.is_some(),
        emit_stops: args.listen.is_some(),
        ..EngineConfig::default()
    };
    let (engine, pack) = engine_for_state(
        previous.as_ref(),
        args.rules.as_deref(),
        config,
        &args.state,
    )?;
    let checkpointed = previous.as_ref().map(|state| &state.sinks);
    let open = |path: &Option<PathBuf>, role: &str| -> CommandResult<Option<JsonLinesFile>> {
        let Some(path) = path else {
            return Ok(None);
        };
        let position = checkpointed.and_then(|sinks| sinks.get(role));
        JsonLinesFile::open(path, position)
            .with_context(|| format!("opening {role} file `{}`", path.display()))
            .map(Some)
            .code(Code::Output)
    };
    // Invalid and late events are never thrown away: without `--dead-letter` they go to
    // the state directory.
    let dead_letter = Some(
        args.dead_letter
            .clone()
            .unwrap_or_else(|| args.state.join(DEFAULT_DEAD_LETTER)),
    );
    let files = FileSinks::new(
        open(&args.ledger, "ledger")?,
        open(&dead_letter, "dead_letter")?,
        open(&args.breaches, "breaches")?,
    );
    let (mut watch, server) = match args.listen {
        None => (None, None),
        Some(listen) => {
            let shared = sixmin_server::Shared::new(prometheus::Registry::new());
            let watch = Watch::new(engine.pack(), engine.counters(), shared.clone())
                .code(Code::Internal)?;
            let server = BackgroundServer::start(listen, shared).code(Code::Output)?;
            println!("sixmin replay: serving while it replays");
            println!("{}", sixmin_server::urls(server.address));
            watch.set_ready(true);
            (Some(watch), Some(server))
        }
    };
    let options = ReplayOptions {
        checkpoint_every: args.checkpoint_every,
    };
    let view = watch.as_mut().map(|watch| watch as &mut dyn LiveView);
    let sources = previous.map(|state| state.sources).unwrap_or_default();
    let driver = Driver::new(engine, args.judging.max_event_bytes);
    let mut replay = Replay::start(dir, driver, pack, sources, files, view, options)?;
    for path in &args.inputs {
        replay.feed(&Source::from_arg(path))?;
    }
    if args.complete {
        replay.finish()?;
    }
    replay.checkpoint()?;
    if !args.quiet {
        print!("{}", replay.summary(started.elapsed().as_secs_f64())?);
    }
    if let (true, Some(server)) = (args.hold, &server) {
        println!("sixmin replay: input done; serving until stopped");
        server.wait_for_stop_signal();
    }
    Ok(())
}
