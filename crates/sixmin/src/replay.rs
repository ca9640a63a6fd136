//! `sixmin replay`: feeds event files into a state directory, checkpointing as it goes.
//!
//! Exactly-once across crashes: the state file records, atomically, the engine state, how
//! many records of each input it covers, and how long each output file was at that
//! moment. A re-run skips the records already covered and cuts the output files back to
//! their checkpointed length before writing, so no verdict is lost or written twice.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use sixmin_core::engine::DEFAULT_ALLOWED_LATENESS_MS;
use sixmin_core::{EngineConfig, Tally};
use sixmin_pipeline::input::{self, HashingReader, LineReader, Source};
use sixmin_pipeline::{CheckpointError, Driver, FileSinks, JsonLinesFile, Settled};
use sixmin_server::{BackgroundServer, Watch};
use sixmin_store::{SourceRecord, StateDir, StateFile, STATE_FILE_FORMAT};

use crate::cli::ReplayArgs;
use crate::exit::{Code, CommandResult, WithCode};
use crate::state::{engine_for_state, LoadedPack};

/// The dead-letter file in the state directory, when `--dead-letter` names none.
const DEFAULT_DEAD_LETTER: &str = "dead-letter.jsonl";

/// What this run did, for the summary.
#[derive(Default)]
struct RunCounts {
    records_read: u64,
    inputs_read: u64,
    inputs_skipped: Vec<String>,
}

struct Replay {
    args: ReplayArgs,
    dir: StateDir,
    driver: Driver,
    pack: LoadedPack,
    sources: Vec<SourceRecord>,
    files: FileSinks,
    counts: RunCounts,
    /// Metrics and status page, when serving (`--listen`).
    watch: Option<Watch>,
    server: Option<BackgroundServer>,
}

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
    let open =
        |path: &Option<std::path::PathBuf>, role: &str| -> CommandResult<Option<JsonLinesFile>> {
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
    let (watch, server) = match args.listen {
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
    let mut replay = Replay {
        watch,
        server,
        sources: previous.map(|state| state.sources).unwrap_or_default(),
        driver: Driver::new(engine, args.judging.max_event_bytes),
        args,
        dir,
        pack,
        files,
        counts: RunCounts::default(),
    };
    // Record where the outputs start before anything is written to them.
    replay.checkpoint()?;
    let inputs: Vec<Source> = replay
        .args
        .inputs
        .iter()
        .map(|path| Source::from_arg(path))
        .collect();
    for source in inputs {
        replay.feed(&source)?;
    }
    if replay.args.complete {
        let mut sinks = (&mut replay.files, &mut replay.watch);
        replay.driver.finish(&mut sinks).code(Code::Output)?;
    }
    replay.checkpoint()?;
    if !replay.args.quiet {
        let seconds = started.elapsed().as_secs_f64();
        let mut sinks = (&mut replay.files, &mut replay.watch);
        let settled = replay.driver.settle(&mut sinks).code(Code::Output)?;
        print_summary(&replay.counts, &replay.files, &replay.dir, settled, seconds);
    }
    if let (true, Some(server)) = (replay.args.hold, &replay.server) {
        println!("sixmin replay: input done; serving until stopped");
        server.wait_for_stop_signal();
    }
    Ok(())
}

impl Replay {
    fn feed(&mut self, source: &Source) -> CommandResult {
        match source {
            Source::File(path) => {
                let sha256 = input::sha256_of_file(path)
                    .with_context(|| format!("reading `{}`", path.display()))
                    .code(Code::Input)?;
                let known = self
                    .sources
                    .iter()
                    .position(|record| record.sha256 == sha256);
                if let Some(index) = known {
                    if self.sources[index].complete {
                        self.counts.inputs_skipped.push(source.name());
                        return Ok(());
                    }
                }
                let skip = known.map_or(0, |index| self.sources[index].records);
                let index = known.unwrap_or_else(|| {
                    self.sources.push(SourceRecord {
                        name: source.name(),
                        sha256,
                        records: 0,
                        complete: false,
                    });
                    self.sources.len() - 1
                });
                let reader = input::open_lines(path)
                    .with_context(|| format!("opening `{}`", path.display()))
                    .code(Code::Input)?;
                let lines =
                    LineReader::new(reader, &source.name(), self.args.judging.max_event_bytes);
                self.read_lines(lines, skip, Some(index))
                    .with_context(|| format!("reading `{}`", path.display()))
                    .code(Code::Input)??;
            }
            Source::Stdin => {
                let stdin = std::io::stdin().lock();
                let mut hashing = HashingReader::new(stdin);
                let reader = input::lines_of(&mut hashing)
                    .context("reading standard input")
                    .code(Code::Input)?;
                let lines = LineReader::new(reader, "stdin", self.args.judging.max_event_bytes);
                let records = self
                    .read_lines(lines, 0, None)
                    .context("reading standard input")
                    .code(Code::Input)??;
                self.sources.push(SourceRecord {
                    name: "stdin".to_owned(),
                    sha256: hashing.sha256(),
                    records,
                    complete: true,
                });
            }
        }
        self.counts.inputs_read += 1;
        Ok(())
    }

    /// Reads every line of one input, skipping the first `skip` records. Returns the
    /// number of records in the input. IO errors of the input are the outer error.
    fn read_lines(
        &mut self,
        mut lines: LineReader<impl std::io::BufRead>,
        skip: u64,
        record_index: Option<usize>,
    ) -> std::io::Result<CommandResult<u64>> {
        while lines.advance()? {
            let position = lines.number();
            if position <= skip {
                continue;
            }
            self.counts.records_read += 1;
            if !input::is_blank(lines.line()) {
                let mut sinks = (&mut self.files, &mut self.watch);
                if let Err(error) = self.driver.feed(lines.record(), &mut sinks) {
                    return Ok(Err(error).code(Code::Output));
                }
            }
            if position.is_multiple_of(self.args.checkpoint_every.max(1)) {
                if let Some(index) = record_index {
                    self.sources[index].records = position;
                }
                if let Err(failure) = self.checkpoint() {
                    return Ok(Err(failure));
                }
            }
        }
        let position = lines.number();
        if let Some(index) = record_index {
            self.sources[index].records = position;
            self.sources[index].complete = true;
        }
        Ok(Ok(position))
    }

    /// Hands every output on, syncs the files and saves the state with their positions,
    /// atomically.
    fn checkpoint(&mut self) -> CommandResult {
        let mut sinks = (&mut self.files, &mut self.watch);
        let (snapshot, settled) = match self.driver.checkpoint(&mut sinks) {
            Ok(checkpointed) => checkpointed,
            Err(error @ CheckpointError::Snapshot(_)) => return Err(error).code(Code::Internal),
            Err(error) => return Err(error).code(Code::Output),
        };
        if let Some(watch) = self.watch.as_mut() {
            watch.refresh(settled);
        }
        let state = StateFile {
            format: STATE_FILE_FORMAT.to_owned(),
            pack_source: self.pack.source.clone(),
            pack_origin: self.pack.origin.clone(),
            engine: snapshot,
            sources: self.sources.clone(),
            sinks: self.files.positions().clone(),
        };
        self.dir.save(&state).code(Code::State)
    }
}

/// Prints what the run did and what the state now holds.
fn print_summary(
    counts: &RunCounts,
    files: &FileSinks,
    dir: &StateDir,
    engine: Settled<'_>,
    seconds: f64,
) {
    let counters = engine.counters();
    let mut totals = Tally::default();
    for (_, _, _, tally) in engine.tallies() {
        totals.merge(tally);
    }
    let mut live_by_rule: BTreeMap<&str, u64> = BTreeMap::new();
    let live_counts = engine.live_breach_counts();
    for ((_, _, rule), count) in &live_counts {
        *live_by_rule.entry(rule.as_str()).or_default() += count;
    }
    let join = |pairs: Vec<(String, u64)>| {
        if pairs.is_empty() {
            return "none".to_owned();
        }
        pairs
            .into_iter()
            .map(|(name, count)| format!("{name} {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rule_order = engine.pack().rule_ids();
    let ordered = |counts: &dyn Fn(&str) -> u64| {
        rule_order
            .iter()
            .map(|rule| (rule.to_string(), counts(rule)))
            .filter(|(_, count)| *count > 0)
            .collect::<Vec<_>>()
    };
    let pack = engine.pack();
    println!(
        "sixmin replay: {} records from {} input(s) in {seconds:.2} s (rule pack {}, sha256 {:.12}…)",
        counts.records_read,
        counts.inputs_read,
        pack.label(),
        pack.sha256
    );
    for skipped in &counts.inputs_skipped {
        println!("  skipped     {skipped}: already in the state");
    }
    println!(
        "  events      {} received: {} accepted, {} duplicate, {} late, {} invalid",
        counters.received(),
        counters.accepted,
        counters.duplicates,
        counters.late,
        counters.invalid_total()
    );
    let invalid = counters
        .invalid
        .iter()
        .map(|(reason, count)| (reason.clone(), *count));
    println!("  invalid     {}", join(invalid.collect()));
    println!(
        "  calls       {} final: {} answered, {} abandoned, {} callback, {} incomplete; {} pending",
        totals.offered,
        totals.answered,
        totals.abandoned,
        totals.callback,
        totals.incomplete,
        engine.open_calls()
    );
    let compliance = totals
        .compliance_ratio()
        .map_or("n/a".to_owned(), |ratio| format!("{:.2} %", ratio * 100.0));
    println!(
        "  breaches    {} calls breached ({compliance} compliant): {}",
        totals.breached_calls,
        join(ordered(&|rule| totals
            .breaches
            .get(rule)
            .copied()
            .unwrap_or(0)))
    );
    println!(
        "  live alarms {}",
        join(ordered(&|rule| live_by_rule
            .get(rule)
            .copied()
            .unwrap_or(0)))
    );
    for (role, file) in files.files() {
        let label = role.replace('_', " ");
        if let Some(sink) = file {
            println!(
                "  {label:<11} {} (+{} lines)",
                sink.path().display(),
                sink.lines_written()
            );
        }
    }
    println!("  state       {}", dir.path().display());
}
