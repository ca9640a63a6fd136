//! Replaying event files into a state directory, checkpointing as it goes.
//!
//! Each event counts once across crashes: the state file records, atomically, the engine
//! state, how many records of each input it covers (inputs known by their SHA-256), and
//! how long each output file was at that moment. A re-run skips the records already
//! covered and cuts the output files back to their checkpointed length before writing,
//! so no verdict is lost or written twice.

use std::collections::BTreeMap;

use sixmin_config::LoadedPack;
use sixmin_core::{SnapshotError, Tally};
use sixmin_store::{SourceRecord, StateDir, StateFile, StoreError, STATE_FILE_FORMAT};

use crate::driver::{CheckpointError, Driver, Settled};
use crate::files::FileSinks;
use crate::input::{self, HashingReader, LineReader, Source};
use crate::sink::{LiveView, SinkError};

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An input could not be read.
    #[error("{what}: {source}")]
    Input {
        /// What was being read (`reading `day.jsonl``).
        what: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// An output could not be written.
    #[error(transparent)]
    Output(#[from] SinkError),
    /// The engine could not be snapshotted.
    #[error("taking the engine's snapshot: {0}")]
    Snapshot(#[from] SnapshotError),
    /// The state could not be saved.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CheckpointError> for ReplayError {
    fn from(error: CheckpointError) -> ReplayError {
        match error {
            CheckpointError::Sink(error) => ReplayError::Output(error),
            CheckpointError::Snapshot(error) => ReplayError::Snapshot(error),
        }
    }
}

/// How a replay reads.
#[derive(Debug, Clone, Copy)]
pub struct ReplayOptions {
    /// Save the state every this many input records (and always at the end).
    pub checkpoint_every: u64,
}

/// What this run did, for the summary.
#[derive(Debug, Default)]
struct ReplayCounts {
    records_read: u64,
    inputs_read: u64,
    inputs_skipped: Vec<String>,
}

/// A replay into one state directory.
pub struct Replay<'v> {
    dir: StateDir,
    driver: Driver,
    pack: LoadedPack,
    sources: Vec<SourceRecord>,
    files: FileSinks,
    view: Option<&'v mut dyn LiveView>,
    options: ReplayOptions,
    counts: ReplayCounts,
}

impl<'v> Replay<'v> {
    /// Replays into `dir` with `driver` (restored from the state, or new) judging by
    /// `pack`; `sources` are the inputs the state already covers. Results go to `files`,
    /// and to `view` when serving. Saves the state at once, recording where the outputs
    /// start before anything is written to them.
    pub fn start(
        dir: StateDir,
        driver: Driver,
        pack: LoadedPack,
        sources: Vec<SourceRecord>,
        files: FileSinks,
        view: Option<&'v mut dyn LiveView>,
        options: ReplayOptions,
    ) -> Result<Replay<'v>, ReplayError> {
        let mut replay = Replay {
            dir,
            driver,
            pack,
            sources,
            files,
            view,
            options,
            counts: ReplayCounts::default(),
        };
        replay.checkpoint()?;
        Ok(replay)
    }

    /// Reads one input whole (what the state already covers of it is skipped; an input
    /// already read whole is skipped altogether).
    pub fn feed(&mut self, source: &Source) -> Result<(), ReplayError> {
        match source {
            Source::File(path) => {
                let what = format!("reading `{}`", path.display());
                let input_error = |source| ReplayError::Input {
                    what: what.clone(),
                    source,
                };
                let sha256 = input::sha256_of_file(path).map_err(input_error)?;
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
                let reader = input::open_lines(path).map_err(|source| ReplayError::Input {
                    what: format!("opening `{}`", path.display()),
                    source,
                })?;
                let lines = LineReader::new(reader, &source.name(), self.driver.max_event_bytes());
                self.read_lines(lines, &what, skip, Some(index))?;
            }
            Source::Stdin => {
                let what = "reading standard input";
                let stdin = std::io::stdin().lock();
                let mut hashing = HashingReader::new(stdin);
                let reader =
                    input::lines_of(&mut hashing).map_err(|source| ReplayError::Input {
                        what: what.to_owned(),
                        source,
                    })?;
                let lines = LineReader::new(reader, "stdin", self.driver.max_event_bytes());
                let records = self.read_lines(lines, what, 0, None)?;
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
    /// number of records in the input.
    fn read_lines(
        &mut self,
        mut lines: LineReader<impl std::io::BufRead>,
        what: &str,
        skip: u64,
        record_index: Option<usize>,
    ) -> Result<u64, ReplayError> {
        let input_error = |source| ReplayError::Input {
            what: what.to_owned(),
            source,
        };
        while lines.advance().map_err(input_error)? {
            let position = lines.number();
            if position <= skip {
                continue;
            }
            self.counts.records_read += 1;
            if !input::is_blank(lines.line()) {
                let mut sinks = (&mut self.files, &mut self.view);
                self.driver.feed(lines.record(), &mut sinks)?;
            }
            if position.is_multiple_of(self.options.checkpoint_every.max(1)) {
                if let Some(index) = record_index {
                    self.sources[index].records = position;
                }
                self.checkpoint()?;
            }
        }
        let position = lines.number();
        if let Some(index) = record_index {
            self.sources[index].records = position;
            self.sources[index].complete = true;
        }
        Ok(position)
    }

    /// Declares the input complete: every pending call becomes final, its verdict handed
    /// on.
    pub fn finish(&mut self) -> Result<(), ReplayError> {
        let mut sinks = (&mut self.files, &mut self.view);
        Ok(self.driver.finish(&mut sinks)?)
    }

    /// Hands every output on, syncs the files and saves the state with their positions,
    /// atomically; then refreshes the view.
    pub fn checkpoint(&mut self) -> Result<(), ReplayError> {
        let mut sinks = (&mut self.files, &mut self.view);
        let (snapshot, settled) = self.driver.checkpoint(&mut sinks)?;
        if let Some(view) = self.view.as_mut() {
            view.refresh(settled);
        }
        let state = StateFile {
            format: STATE_FILE_FORMAT.to_owned(),
            pack_source: self.pack.source.clone(),
            pack_origin: self.pack.origin.clone(),
            engine: snapshot,
            sources: self.sources.clone(),
            sinks: self.files.positions().clone(),
        };
        Ok(self.dir.save(&state)?)
    }

    /// What the run did and what the state now holds, as lines for people; `seconds` is
    /// how long it took.
    pub fn summary(&mut self, seconds: f64) -> Result<String, ReplayError> {
        let mut sinks = (&mut self.files, &mut self.view);
        let settled = self.driver.settle(&mut sinks)?;
        Ok(summary_text(
            &self.counts,
            &self.files,
            &self.dir,
            settled,
            seconds,
        ))
    }
}

/// What the run did and what the state now holds, as the lines `sixmin replay` prints.
fn summary_text(
    counts: &ReplayCounts,
    files: &FileSinks,
    dir: &StateDir,
    engine: Settled<'_>,
    seconds: f64,
) -> String {
    let mut out = String::new();
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
    out.push_str(&format!(
        "sixmin replay: {} records from {} input(s) in {seconds:.2} s (rule pack {}, sha256 {:.12}…)",
        counts.records_read,
        counts.inputs_read,
        pack.label(),
        pack.sha256
    ));
    out.push('\n');
    for skipped in &counts.inputs_skipped {
        out.push_str(&format!("  skipped     {skipped}: already in the state"));
        out.push('\n');
    }
    out.push_str(&format!(
        "  events      {} received: {} accepted, {} duplicate, {} late, {} invalid",
        counters.received(),
        counters.accepted,
        counters.duplicates,
        counters.late,
        counters.invalid_total()
    ));
    out.push('\n');
    let invalid = counters
        .invalid
        .iter()
        .map(|(reason, count)| (reason.clone(), *count));
    out.push_str(&format!("  invalid     {}", join(invalid.collect())));
    out.push('\n');
    out.push_str(&format!(
        "  calls       {} final: {} answered, {} abandoned, {} callback, {} incomplete; {} pending",
        totals.offered,
        totals.answered,
        totals.abandoned,
        totals.callback,
        totals.incomplete,
        engine.open_calls()
    ));
    out.push('\n');
    let compliance = totals
        .compliance_ratio()
        .map_or("n/a".to_owned(), |ratio| format!("{:.2} %", ratio * 100.0));
    out.push_str(&format!(
        "  breaches    {} calls breached ({compliance} compliant): {}",
        totals.breached_calls,
        join(ordered(&|rule| totals
            .breaches
            .get(rule)
            .copied()
            .unwrap_or(0)))
    ));
    out.push('\n');
    out.push_str(&format!(
        "  live alarms {}",
        join(ordered(&|rule| live_by_rule
            .get(rule)
            .copied()
            .unwrap_or(0)))
    ));
    out.push('\n');
    for (role, file) in files.files() {
        let label = role.replace('_', " ");
        if let Some(sink) = file {
            out.push_str(&format!(
                "  {label:<11} {} (+{} lines)",
                sink.path().display(),
                sink.lines_written()
            ));
            out.push('\n');
        }
    }
    out.push_str(&format!("  state       {}", dir.path().display()));
    out.push('\n');
    out
}
