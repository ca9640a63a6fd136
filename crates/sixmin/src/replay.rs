//! `sixmin replay`: feeds event files into a state directory, checkpointing as it goes.
//!
//! Exactly-once across crashes: the state file records, atomically, the engine state, how
//! many records of each input it covers, and how long each output file was at that
//! moment. A re-run skips the records already covered and cuts the output files back to
//! their checkpointed length before writing, so no verdict is lost or written twice.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use base64::Engine as _;
use serde::Serialize;
use sixmin_core::decode::decode_event_with_limit;
use sixmin_core::engine::DEFAULT_ALLOWED_LATENESS_MS;
use sixmin_core::{Disposition, Engine, EngineConfig, Output, Tally};
use sixmin_store::{SourceRecord, StateDir, StateFile, STATE_FILE_FORMAT};

use crate::cli::ReplayArgs;
use crate::exit::{Code, CommandResult, WithCode};
use crate::input::{self, HashingReader, Source};
use crate::live::{BackgroundServer, Watch};
use crate::sinks::Sink;
use crate::state::{engine_for_state, LoadedPack};

/// One dead-letter record: the raw event, why it was refused and where it was.
#[derive(Debug, Serialize)]
struct DeadLetter<'a> {
    source: &'a str,
    line: u64,
    reason: &'a str,
    detail: &'a str,
    raw: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
}

/// The dead-letter file in the state directory, when `--dead-letter` names none.
const DEFAULT_DEAD_LETTER: &str = "dead-letter.jsonl";

/// The outputs of a run.
struct Sinks {
    ledger: Option<Sink>,
    dead_letter: Option<Sink>,
    breaches: Option<Sink>,
}

/// What this run did, for the summary.
#[derive(Default)]
struct RunCounts {
    records_read: u64,
    inputs_read: u64,
    inputs_skipped: Vec<String>,
    live_breaches: u64,
    verdicts: u64,
}

struct Replay {
    args: ReplayArgs,
    dir: StateDir,
    engine: Engine,
    pack: LoadedPack,
    sources: Vec<SourceRecord>,
    sinks: Sinks,
    outputs: Vec<Output>,
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
    let open = |path: &Option<std::path::PathBuf>, role: &str| -> CommandResult<Option<Sink>> {
        let Some(path) = path else {
            return Ok(None);
        };
        let position = checkpointed.and_then(|sinks| sinks.get(role));
        Sink::open(path, position)
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
    let sinks = Sinks {
        ledger: open(&args.ledger, "ledger")?,
        dead_letter: open(&dead_letter, "dead_letter")?,
        breaches: open(&args.breaches, "breaches")?,
    };
    let (watch, server) = match args.listen {
        None => (None, None),
        Some(listen) => {
            let shared = sixmin_server::Shared::new(prometheus::Registry::new());
            let watch = Watch::new(&engine, shared.clone()).code(Code::Internal)?;
            let server = BackgroundServer::start(listen, shared).code(Code::Output)?;
            println!("sixmin replay: serving while it replays");
            crate::live::print_urls(server.address);
            watch.set_ready(true);
            (Some(watch), Some(server))
        }
    };
    let mut replay = Replay {
        watch,
        server,
        sources: previous.map(|state| state.sources).unwrap_or_default(),
        args,
        dir,
        engine,
        pack,
        sinks,
        outputs: Vec::new(),
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
        replay.engine.finish(&mut replay.outputs);
        replay.drain_outputs()?;
    }
    replay.checkpoint()?;
    if !replay.args.quiet {
        replay.print_summary(started.elapsed().as_secs_f64());
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
                let mut reader = input::open_lines(path)
                    .with_context(|| format!("opening `{}`", path.display()))
                    .code(Code::Input)?;
                let name = source.name();
                self.read_lines(&mut *reader, &name, skip, Some(index))
                    .with_context(|| format!("reading `{}`", path.display()))
                    .code(Code::Input)??;
            }
            Source::Stdin => {
                let stdin = std::io::stdin().lock();
                let mut hashing = HashingReader::new(stdin);
                let mut reader = input::lines_of(&mut hashing)
                    .context("reading standard input")
                    .code(Code::Input)?;
                let records = self
                    .read_lines(&mut *reader, "stdin", 0, None)
                    .context("reading standard input")
                    .code(Code::Input)??;
                drop(reader);
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
        reader: &mut dyn std::io::BufRead,
        name: &str,
        skip: u64,
        record_index: Option<usize>,
    ) -> std::io::Result<CommandResult<u64>> {
        let mut line = Vec::with_capacity(512);
        let mut position = 0u64;
        while input::next_line(reader, &mut line)? {
            position += 1;
            if position <= skip {
                continue;
            }
            self.counts.records_read += 1;
            if let Err(failure) = self.process(&line, name, position) {
                return Ok(Err(failure));
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
        if let Some(index) = record_index {
            self.sources[index].records = position;
            self.sources[index].complete = true;
        }
        Ok(Ok(position))
    }

    fn process(&mut self, line: &[u8], source: &str, position: u64) -> CommandResult {
        if input::is_blank(line) {
            return Ok(());
        }
        match decode_event_with_limit(line, self.args.max_event_bytes) {
            Ok(ref event) => {
                if let Disposition::Late(lateness) = self.engine.ingest(event, &mut self.outputs) {
                    self.dead_letter(line, source, position, "late", lateness.detail())?;
                }
            }
            Err(invalid) => {
                self.engine.note_invalid(invalid.reason.as_str());
                self.dead_letter(
                    line,
                    source,
                    position,
                    invalid.reason.as_str(),
                    &invalid.detail,
                )?;
            }
        }
        self.drain_outputs()
    }

    fn dead_letter(
        &mut self,
        line: &[u8],
        source: &str,
        position: u64,
        reason: &str,
        detail: &str,
    ) -> CommandResult {
        let Some(sink) = self.sinks.dead_letter.as_mut() else {
            return Ok(());
        };
        let is_utf8 = std::str::from_utf8(line).is_ok();
        let record = DeadLetter {
            source,
            line: position,
            reason,
            detail,
            raw: String::from_utf8_lossy(line),
            raw_base64: (!is_utf8).then(|| base64::engine::general_purpose::STANDARD.encode(line)),
        };
        sink.write(&record)
            .with_context(|| format!("writing `{}`", sink.path().display()))
            .code(Code::Output)
    }

    fn drain_outputs(&mut self) -> CommandResult {
        for output in self.outputs.drain(..) {
            if let Some(watch) = self.watch.as_mut() {
                watch.observe(&output);
            }
            match output {
                Output::Verdict(verdict) => {
                    self.counts.verdicts += 1;
                    if let Some(sink) = self.sinks.ledger.as_mut() {
                        sink.write(&*verdict)
                            .with_context(|| format!("writing `{}`", sink.path().display()))
                            .code(Code::Output)?;
                    }
                }
                Output::Stopped(_) => {}
                Output::LiveBreach(breach) => {
                    self.counts.live_breaches += 1;
                    if let Some(sink) = self.sinks.breaches.as_mut() {
                        sink.write(&breach)
                            .with_context(|| format!("writing `{}`", sink.path().display()))
                            .code(Code::Output)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Flushes the outputs and saves the state with their positions, atomically.
    fn checkpoint(&mut self) -> CommandResult {
        // Final calls' verdicts are written before the positions and the state they go with.
        self.engine.settle(&mut self.outputs);
        self.drain_outputs()?;
        if let Some(watch) = self.watch.as_mut() {
            watch.refresh(&self.engine);
        }
        let mut positions = BTreeMap::new();
        for (role, sink) in [
            ("ledger", &mut self.sinks.ledger),
            ("dead_letter", &mut self.sinks.dead_letter),
            ("breaches", &mut self.sinks.breaches),
        ] {
            if let Some(sink) = sink {
                let position = sink
                    .checkpoint()
                    .with_context(|| format!("syncing `{}`", sink.path().display()))
                    .code(Code::Output)?;
                positions.insert(role.to_owned(), position);
            }
        }
        let snapshot = self.engine.snapshot().code(Code::Internal)?;
        let state = StateFile {
            format: STATE_FILE_FORMAT.to_owned(),
            pack_source: self.pack.source.clone(),
            pack_origin: self.pack.origin.clone(),
            engine: snapshot,
            sources: self.sources.clone(),
            sinks: positions,
        };
        self.dir.save(&state).code(Code::State)
    }

    fn print_summary(&self, seconds: f64) {
        let counters = self.engine.counters();
        let mut totals = Tally::default();
        for (_, _, _, tally) in self.engine.tallies() {
            totals.merge(tally);
        }
        let mut live_by_rule: BTreeMap<&str, u64> = BTreeMap::new();
        let live_counts = self.engine.live_breach_counts();
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
        let rule_order = self.engine.pack().rule_ids();
        let ordered = |counts: &dyn Fn(&str) -> u64| {
            rule_order
                .iter()
                .map(|rule| (rule.to_string(), counts(rule)))
                .filter(|(_, count)| *count > 0)
                .collect::<Vec<_>>()
        };
        let pack = self.engine.pack();
        println!(
            "sixmin replay: {} records from {} input(s) in {seconds:.2} s (rule pack {}, sha256 {:.12}…)",
            self.counts.records_read,
            self.counts.inputs_read,
            pack.label(),
            pack.sha256
        );
        for skipped in &self.counts.inputs_skipped {
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
            self.engine.open_calls()
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
        for (label, sink) in [
            ("ledger", &self.sinks.ledger),
            ("dead letter", &self.sinks.dead_letter),
            ("breaches", &self.sinks.breaches),
        ] {
            if let Some(sink) = sink {
                println!(
                    "  {label:<11} {} (+{} lines)",
                    sink.path().display(),
                    sink.lines_written()
                );
            }
        }
        println!("  state       {}", self.dir.path().display());
    }
}
