//! Partition checkpoints: the engine state of one partition of the events topic together
//! with the offset it covers, written as one record so the two can never disagree.
//!
//! A checkpoint at offset `n` holds the state after every event of the partition before
//! `n` and nothing after. Consumption resumes at `n`, so an event is in the state exactly
//! once however often the process dies. Two stores keep them: [`DirCheckpointStore`] (one
//! instance, a local directory) and a compacted Kafka topic (several instances; in the
//! `sixmin-kafka` crate). Both keep the same bytes: [`encode`] and [`decode`].

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sixmin_core::Snapshot;

use crate::StoreError;

/// The version tag of a partition checkpoint.
pub const CHECKPOINT_FORMAT: &str = "sixmin.partition-checkpoint/v1";

/// The largest checkpoint accepted when reading (decompressed), against a corrupt record
/// claiming an absurd size.
const MAX_CHECKPOINT_BYTES: u64 = 4 << 30;

/// Which partition a checkpoint belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PartitionKey {
    /// The consumer group (two groups reading one topic keep separate states).
    pub group: String,
    /// The events topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

impl PartitionKey {
    /// `group/topic/partition`: the record key in the Kafka store.
    pub fn record_key(&self) -> String {
        format!("{}/{}/{}", self.group, self.topic, self.partition)
    }
}

impl std::fmt::Display for PartitionKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}[{}]", self.topic, self.partition)
    }
}

/// The state of one partition at one offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionCheckpoint {
    /// Always [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// The partition.
    pub key: PartitionKey,
    /// The offset of the first event *not* in the state: consumption resumes here.
    pub next_offset: i64,
    /// When it was written (RFC 3339, UTC), for people and the checkpoint-age metric.
    pub written_at: String,
    /// Who wrote it (`host:pid`), for people reading a rebalance.
    pub writer: String,
    /// The rule pack's source text (TOML), so the state can be read without the file.
    pub pack_source: String,
    /// Where that pack came from (a file name, or `built-in`).
    pub pack_origin: String,
    /// The engine state.
    pub engine: Snapshot,
}

/// Gzip'd JSON of a checkpoint.
pub fn encode(checkpoint: &PartitionCheckpoint) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(checkpoint).map_err(|error| StoreError::Unreadable {
        path: PathBuf::from(checkpoint.key.record_key()),
        reason: error.to_string(),
    })?;
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::fast());
    let io = |source| StoreError::Io {
        path: PathBuf::from(checkpoint.key.record_key()),
        source,
    };
    encoder.write_all(&json).map_err(io)?;
    encoder.finish().map_err(io)
}

/// Reads a checkpoint written by [`encode`]; `origin` names it in errors.
pub fn decode(bytes: &[u8], origin: &str) -> Result<PartitionCheckpoint, StoreError> {
    let unreadable = |reason: String| StoreError::Unreadable {
        path: PathBuf::from(origin),
        reason,
    };
    let mut json = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_CHECKPOINT_BYTES)
        .read_to_end(&mut json)
        .map_err(|error| unreadable(error.to_string()))?;
    let checkpoint: PartitionCheckpoint =
        serde_json::from_slice(&json).map_err(|error| unreadable(error.to_string()))?;
    if checkpoint.format != CHECKPOINT_FORMAT {
        return Err(unreadable(format!(
            "format `{}` is not supported (this version reads `{CHECKPOINT_FORMAT}`)",
            checkpoint.format
        )));
    }
    Ok(checkpoint)
}

/// Where partition checkpoints are kept.
pub trait CheckpointStore: Send {
    /// A name for messages (`directory /var/lib/sixmin`, `topic sixmin.checkpoints`).
    fn describe(&self) -> String;

    /// The newest checkpoint of each of `partitions` of `group`'s `topic` that has one.
    fn load(
        &mut self,
        group: &str,
        topic: &str,
        partitions: &[i32],
    ) -> Result<BTreeMap<i32, PartitionCheckpoint>, StoreError>;

    /// Every partition of `group`'s `topic` that has a checkpoint (for reports).
    fn load_all(
        &mut self,
        group: &str,
        topic: &str,
    ) -> Result<BTreeMap<i32, PartitionCheckpoint>, StoreError>;

    /// Saves a checkpoint durably; when this returns `Ok`, a restart resumes from it.
    fn save(&mut self, checkpoint: &PartitionCheckpoint) -> Result<(), StoreError>;
}

/// Checkpoints as files in a local, locked directory:
/// `DIR/partitions/GROUP/TOPIC/PARTITION.json.gz`, each replaced atomically.
#[derive(Debug)]
pub struct DirCheckpointStore {
    path: PathBuf,
    _lock: Option<File>,
}

impl DirCheckpointStore {
    /// Opens (creating it if needed) and locks a checkpoint directory for writing.
    pub fn open(path: &Path) -> Result<DirCheckpointStore, StoreError> {
        Ok(DirCheckpointStore {
            path: path.to_path_buf(),
            _lock: Some(crate::lock_directory(path)?),
        })
    }

    /// Opens a checkpoint directory for reading only, without the lock (for reports,
    /// while the service runs).
    pub fn open_read_only(path: &Path) -> DirCheckpointStore {
        DirCheckpointStore {
            path: path.to_path_buf(),
            _lock: None,
        }
    }

    fn topic_dir(&self, group: &str, topic: &str) -> PathBuf {
        self.path
            .join("partitions")
            .join(file_name_safe(group))
            .join(file_name_safe(topic))
    }

    fn read(&self, file: &Path) -> Result<Option<PartitionCheckpoint>, StoreError> {
        let bytes = match fs::read(file) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    path: file.to_path_buf(),
                    source,
                })
            }
        };
        decode(&bytes, &file.display().to_string()).map(Some)
    }
}

/// A group or topic name as one path component: Kafka names are `[A-Za-z0-9._-]`, but a
/// group id may be anything, so anything else is escaped.
fn file_name_safe(name: &str) -> String {
    let mut safe = String::with_capacity(name.len());
    for character in name.chars() {
        if character.is_ascii_alphanumeric() || "-_".contains(character) {
            safe.push(character);
        } else if character == '.' && !safe.is_empty() {
            safe.push('.');
        } else {
            safe.push_str(&format!("%{:02X}", u32::from(character)));
        }
    }
    safe
}

impl CheckpointStore for DirCheckpointStore {
    fn describe(&self) -> String {
        format!("directory {}", self.path.display())
    }

    fn load(
        &mut self,
        group: &str,
        topic: &str,
        partitions: &[i32],
    ) -> Result<BTreeMap<i32, PartitionCheckpoint>, StoreError> {
        let dir = self.topic_dir(group, topic);
        let mut found = BTreeMap::new();
        for partition in partitions {
            if let Some(checkpoint) = self.read(&dir.join(format!("{partition}.json.gz")))? {
                found.insert(*partition, checkpoint);
            }
        }
        Ok(found)
    }

    fn load_all(
        &mut self,
        group: &str,
        topic: &str,
    ) -> Result<BTreeMap<i32, PartitionCheckpoint>, StoreError> {
        let dir = self.topic_dir(group, topic);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(BTreeMap::new())
            }
            Err(source) => return Err(StoreError::Io { path: dir, source }),
        };
        let mut partitions = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            let partition = name
                .to_str()
                .and_then(|name| name.strip_suffix(".json.gz"))
                .and_then(|number| number.parse::<i32>().ok());
            partitions.extend(partition);
        }
        self.load(group, topic, &partitions)
    }

    fn save(&mut self, checkpoint: &PartitionCheckpoint) -> Result<(), StoreError> {
        let key = &checkpoint.key;
        let dir = self.topic_dir(&key.group, &key.topic);
        fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        let bytes = encode(checkpoint)?;
        crate::write_atomically(&dir, &format!("{}.json.gz", key.partition), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(partition: i32, next_offset: i64) -> PartitionCheckpoint {
        let engine = sixmin_core::Engine::new(
            sixmin_core_test_pack(),
            sixmin_core::EngineConfig::default(),
        );
        PartitionCheckpoint {
            format: CHECKPOINT_FORMAT.to_owned(),
            key: PartitionKey {
                group: "g/1".into(),
                topic: "sixmin.events".into(),
                partition,
            },
            next_offset,
            written_at: "2026-11-24T00:00:00Z".into(),
            writer: "test:1".into(),
            pack_source: String::new(),
            pack_origin: "test".into(),
            engine: engine.snapshot().unwrap(),
        }
    }

    fn sixmin_core_test_pack() -> sixmin_core::RulePack {
        sixmin_config::builtin_pack()
    }

    #[test]
    fn the_directory_store_keeps_the_newest_checkpoint_of_each_partition() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DirCheckpointStore::open(dir.path()).unwrap();
        assert!(DirCheckpointStore::open(dir.path()).is_err(), "locked");
        store.save(&checkpoint(0, 10)).unwrap();
        store.save(&checkpoint(0, 25)).unwrap();
        store.save(&checkpoint(3, 7)).unwrap();
        let some = store.load("g/1", "sixmin.events", &[0, 1]).unwrap();
        assert_eq!(some.len(), 1);
        assert_eq!(some[&0].next_offset, 25);
        let all = DirCheckpointStore::open_read_only(dir.path())
            .load_all("g/1", "sixmin.events")
            .unwrap();
        assert_eq!(all.keys().copied().collect::<Vec<_>>(), vec![0, 3]);
        assert_eq!(all[&3], checkpoint(3, 7));
        assert!(store.load_all("other", "sixmin.events").unwrap().is_empty());
    }

    #[test]
    fn a_checkpoint_survives_encoding_and_a_corrupt_one_is_refused() {
        let original = checkpoint(2, 99);
        let bytes = encode(&original).unwrap();
        assert_eq!(decode(&bytes, "x").unwrap(), original);
        let error = decode(&bytes[..bytes.len() / 2], "topic[0]@5").unwrap_err();
        assert!(error.to_string().contains("topic[0]@5"), "{error}");
    }

    #[test]
    fn names_that_are_not_path_safe_are_escaped() {
        assert_eq!(file_name_safe("sixmin.events"), "sixmin.events");
        assert_eq!(file_name_safe("../x"), "%2E.%2Fx");
        assert_eq!(file_name_safe("a/b"), "a%2Fb");
    }
}
