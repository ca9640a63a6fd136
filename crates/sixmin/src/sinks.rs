//! Output files (ledger, dead letters, live breaches): appended JSON Lines whose length
//! is checkpointed with the state, so that a re-run after a crash first cuts what was
//! written after the last checkpoint and then writes it again exactly once.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sixmin_store::SinkPosition;

/// An appended JSON Lines file.
pub struct Sink {
    path: PathBuf,
    /// The file's absolute, canonical path: what the checkpoint records, so that the same
    /// file is recognised however it is spelled, and no other file is ever cut.
    canonical: PathBuf,
    writer: BufWriter<File>,
    bytes: u64,
    lines_written: u64,
}

impl Sink {
    /// Opens `path` for appending. When `checkpointed` names the same file, anything past
    /// the checkpointed length is cut first (it belongs to events that will be read again).
    pub fn open(path: &Path, checkpointed: Option<&SinkPosition>) -> std::io::Result<Sink> {
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
        Ok(Sink {
            path: path.to_path_buf(),
            canonical,
            writer: BufWriter::with_capacity(1 << 16, file),
            bytes,
            lines_written: 0,
        })
    }

    /// Appends one JSON value as a line.
    pub fn write<T: Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(value)?;
        line.push(b'\n');
        self.writer.write_all(&line)?;
        self.bytes += line.len() as u64;
        self.lines_written += 1;
        Ok(())
    }

    /// Flushes and syncs, returning the position to checkpoint.
    pub fn checkpoint(&mut self) -> std::io::Result<SinkPosition> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()?;
        Ok(SinkPosition {
            path: self.canonical.display().to_string(),
            bytes: self.bytes,
        })
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
