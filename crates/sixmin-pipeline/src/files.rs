//! Output files (ledger, dead letters, live breaches): appended JSON Lines whose length
//! is checkpointed with the state, so that a re-run after a crash first cuts what was
//! written after the last checkpoint and then writes it again exactly once.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sixmin_core::Output;
use sixmin_store::SinkPosition;

use crate::dead_letter::DeadLetter;
use crate::sink::{Sink, SinkError};

/// An appended JSON Lines file.
pub struct JsonLinesFile {
    path: PathBuf,
    /// The file's absolute, canonical path: what the checkpoint records, so that the same
    /// file is recognised however it is spelled, and no other file is ever cut.
    canonical: PathBuf,
    writer: BufWriter<File>,
    bytes: u64,
    lines_written: u64,
}

impl JsonLinesFile {
    /// Opens `path` for appending. When `checkpointed` names the same file, anything past
    /// the checkpointed length is cut first (it belongs to events that will be read again).
    pub fn open(
        path: &Path,
        checkpointed: Option<&SinkPosition>,
    ) -> std::io::Result<JsonLinesFile> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let canonical = std::fs::canonicalize(path)?;
        let mut bytes = file.metadata()?.len();
        let same_file = checkpointed.filter(|position| {
            std::fs::canonicalize(&position.path).is_ok_and(|recorded| recorded == canonical)
        });
        if let Some(position) = same_file {
            if bytes > position.bytes {
                file.set_len(position.bytes)?;
                bytes = position.bytes;
            }
        }
        Ok(JsonLinesFile {
            path: path.to_path_buf(),
            canonical,
            writer: BufWriter::with_capacity(1 << 16, file),
            bytes,
            lines_written: 0,
        })
    }

    /// Appends one line (its newline added here).
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), SinkError> {
        self.writer
            .write_all(line)
            .and_then(|()| self.writer.write_all(b"\n"))
            .map_err(|source| self.error(source))?;
        self.bytes += line.len() as u64 + 1;
        self.lines_written += 1;
        Ok(())
    }

    /// Flushes and syncs, returning the position to checkpoint.
    pub fn checkpoint(&mut self) -> Result<SinkPosition, SinkError> {
        self.writer
            .flush()
            .and_then(|()| self.writer.get_ref().sync_data())
            .map_err(|source| self.error(source))?;
        Ok(SinkPosition {
            path: self.canonical.display().to_string(),
            bytes: self.bytes,
        })
    }

    fn error(&self, source: std::io::Error) -> SinkError {
        SinkError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lines written by this run.
    pub fn lines_written(&self) -> u64 {
        self.lines_written
    }
}

/// The output files of a run, each optional: verdicts to the ledger, live breaches, dead
/// letters. Their positions are what a state file records at each checkpoint.
pub struct FileSinks {
    ledger: Option<JsonLinesFile>,
    dead_letter: Option<JsonLinesFile>,
    breaches: Option<JsonLinesFile>,
    dead_letters: u64,
    positions: BTreeMap<String, SinkPosition>,
}

impl FileSinks {
    /// Writes verdicts to `ledger`, refused events to `dead_letter` and live breaches to
    /// `breaches`, each when given.
    pub fn new(
        ledger: Option<JsonLinesFile>,
        dead_letter: Option<JsonLinesFile>,
        breaches: Option<JsonLinesFile>,
    ) -> FileSinks {
        FileSinks {
            ledger,
            dead_letter,
            breaches,
            dead_letters: 0,
            positions: BTreeMap::new(),
        }
    }

    /// The files by role (`ledger`, `dead_letter`, `breaches`), for summaries.
    pub fn files(&self) -> [(&'static str, Option<&JsonLinesFile>); 3] {
        [
            ("ledger", self.ledger.as_ref()),
            ("dead_letter", self.dead_letter.as_ref()),
            ("breaches", self.breaches.as_ref()),
        ]
    }

    /// Each file's length as of the last flush, by role: what a checkpoint records.
    pub fn positions(&self) -> &BTreeMap<String, SinkPosition> {
        &self.positions
    }

    /// Dead letters handed over in this run (written or not).
    pub fn dead_letters(&self) -> u64 {
        self.dead_letters
    }
}

impl Sink for FileSinks {
    fn output(&mut self, output: &Output) -> Result<(), SinkError> {
        match output {
            Output::Verdict(verdict) => {
                if let Some(file) = self.ledger.as_mut() {
                    let line =
                        serde_json::to_vec(&**verdict).map_err(|source| SinkError::Encode {
                            what: "verdict",
                            source,
                        })?;
                    file.write_line(&line)?;
                }
            }
            Output::LiveBreach(breach) => {
                if let Some(file) = self.breaches.as_mut() {
                    let line = serde_json::to_vec(breach).map_err(|source| SinkError::Encode {
                        what: "live breach",
                        source,
                    })?;
                    file.write_line(&line)?;
                }
            }
            Output::Stopped(_) => {}
        }
        Ok(())
    }

    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        self.dead_letters += 1;
        if let Some(file) = self.dead_letter.as_mut() {
            let line = letter.to_json_line().map_err(|source| SinkError::Encode {
                what: "dead letter",
                source,
            })?;
            file.write_line(&line)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        for (role, file) in [
            ("ledger", &mut self.ledger),
            ("dead_letter", &mut self.dead_letter),
            ("breaches", &mut self.breaches),
        ] {
            if let Some(file) = file {
                let position = file.checkpoint()?;
                self.positions.insert(role.to_owned(), position);
            }
        }
        Ok(())
    }
}
