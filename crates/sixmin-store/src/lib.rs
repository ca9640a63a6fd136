//! The state directory: where `sixmin replay` keeps the engine state between runs.
//!
//! One file, `state.json.gz`, holds the engine [`Snapshot`] together with the progress
//! through each input and the length of each output file the state covers. It is
//! replaced atomically (write a temporary file, fsync, rename, fsync the directory), so
//! after a crash the directory holds either the previous state or the new one, never a
//! mix. A lock file keeps two processes from writing one directory at once.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sixmin_core::Snapshot;

/// The version tag of the state file.
pub const STATE_FILE_FORMAT: &str = "sixmin.state-dir/v1";
const STATE_FILE: &str = "state.json.gz";
pub(crate) const LOCK_FILE: &str = "LOCK";

pub mod checkpoint;

pub use checkpoint::{
    CheckpointStore, DirCheckpointStore, PartitionCheckpoint, PartitionKey, CHECKPOINT_FORMAT,
};

/// What can go wrong with a state directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory could not be created or read.
    #[error("state directory `{path}`: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the directory.
    #[error("state directory `{path}` is in use by another sixmin process")]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// A remote store (a Kafka topic) failed.
    #[error("checkpoint store {store}: {reason}")]
    Remote {
        /// The store.
        store: String,
        /// What went wrong.
        reason: String,
    },
    /// The state file is not one this version can read.
    #[error("state file `{path}` cannot be read: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Progress through one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// A name for people (the file name, `stdin`).
    pub name: String,
    /// SHA-256 of the input's bytes as stored (compressed files: of the compressed bytes).
    pub sha256: String,
    /// Records (lines) of it that the state covers.
    pub records: u64,
    /// Whether the state covers all of it.
    pub complete: bool,
}

impl SourceRecord {
    /// How a report names this input.
    pub fn describe(&self) -> String {
        let coverage = if self.complete { "complete" } else { "partial" };
        format!(
            "sha256:{} {} ({} records, {coverage})",
            self.sha256, self.name, self.records
        )
    }
}

/// How much of an output file the state covers (bytes past this were written after the
/// last checkpoint and are cut on the next run, because their events will be read again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkPosition {
    /// The file, as given.
    pub path: String,
    /// Its length at the checkpoint.
    pub bytes: u64,
}

/// Everything in a state directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    /// Always [`STATE_FILE_FORMAT`].
    pub format: String,
    /// The rule pack's source text (TOML), so the state can be read without the file.
    pub pack_source: String,
    /// Where that pack came from (a file name, or `built-in`).
    pub pack_origin: String,
    /// The engine state.
    pub engine: Snapshot,
    /// Inputs read, in the order they were first read.
    pub sources: Vec<SourceRecord>,
    /// Output files by role (`ledger`, `dead_letter`, `breaches`).
    pub sinks: BTreeMap<String, SinkPosition>,
}

/// An open, locked state directory.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    _lock: File,
}

impl StateDir {
    /// Opens (creating it if needed) and locks a state directory.
    pub fn open(path: &Path) -> Result<StateDir, StoreError> {
        Ok(StateDir {
            path: path.to_path_buf(),
            _lock: lock_directory(path)?,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the state, or `None` for a new directory.
    pub fn load(&self) -> Result<Option<StateFile>, StoreError> {
        read_state(&self.path)
    }

    /// Replaces the state atomically.
    pub fn save(&self, state: &StateFile) -> Result<(), StoreError> {
        let json = serde_json::to_vec(state).map_err(|error| StoreError::Unreadable {
            path: self.path.join(STATE_FILE),
            reason: error.to_string(),
        })?;
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::fast());
        encoder.write_all(&json).map_err(io)?;
        let bytes = encoder.finish().map_err(io)?;
        write_atomically(&self.path, STATE_FILE, &bytes)
    }
}

/// Creates `path` if needed and takes its lock file, so no second process writes there.
pub(crate) fn lock_directory(path: &Path) -> Result<File, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    fs::create_dir_all(path).map_err(io)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.join(LOCK_FILE))
        .map_err(io)?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: path.to_path_buf(),
        }),
        Err(fs::TryLockError::Error(source)) => Err(io(source)),
    }
}

/// Replaces `dir/name` with `bytes` atomically: a temporary file written and fsync'd,
/// renamed over it, then the directory fsync'd. After a crash the file is whole, old or
/// new.
pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let temporary = dir.join(format!("{name}.tmp"));
    let mut file = File::create(&temporary).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&temporary, dir.join(name)).map_err(io)?;
    File::open(dir).and_then(|dir| dir.sync_all()).map_err(io)
}

/// Reads a state directory without locking it (for reports, which only read).
pub fn read_state(path: &Path) -> Result<Option<StateFile>, StoreError> {
    let file_path = path.join(STATE_FILE);
    let file = match File::open(&file_path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Io {
                path: file_path,
                source,
            })
        }
    };
    let mut json = Vec::new();
    GzDecoder::new(file)
        .read_to_end(&mut json)
        .map_err(|error| StoreError::Unreadable {
            path: file_path.clone(),
            reason: error.to_string(),
        })?;
    let state: StateFile =
        serde_json::from_slice(&json).map_err(|error| StoreError::Unreadable {
            path: file_path.clone(),
            reason: error.to_string(),
        })?;
    if state.format != STATE_FILE_FORMAT {
        return Err(StoreError::Unreadable {
            path: file_path,
            reason: format!(
                "format `{}` is not supported (this version reads `{STATE_FILE_FORMAT}`)",
                state.format
            ),
        });
    }
    Ok(Some(state))
}
