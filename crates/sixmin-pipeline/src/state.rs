//! The engine of a state directory: the rule pack it keeps (or the one asked for, which
//! must be the same), restored with the engine's snapshot.

use std::path::{Path, PathBuf};

use sixmin_config::{LoadedPack, PackError};
use sixmin_core::{Engine, EngineConfig, SnapshotError};
use sixmin_store::{StateFile, StoreError};

/// Why a state directory's engine could not be had.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The rule pack asked for (`--rules`) could not be read.
    #[error(transparent)]
    Pack(PackError),
    /// The rule pack kept in the state could not be read.
    #[error("reading the rule pack kept in `{dir}`: {source}")]
    KeptPack {
        /// The state directory.
        dir: PathBuf,
        /// Its problems.
        #[source]
        source: PackError,
    },
    /// The state was built with another pack.
    #[error(
        "state directory `{dir}` was built with rule pack `{kept}` (sha256 {kept_sha256}), not \
         `{asked}` from `{origin}`; use a new state directory for another pack"
    )]
    OtherPack {
        /// The state directory.
        dir: PathBuf,
        /// The pack the state was built with, `name@version`.
        kept: String,
        /// Its SHA-256.
        kept_sha256: String,
        /// The pack asked for.
        asked: String,
        /// Where that pack came from.
        origin: String,
    },
    /// The engine could not be restored from the snapshot.
    #[error("restoring state directory `{dir}`: {source}")]
    Restore {
        /// The state directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: SnapshotError,
    },
    /// The directory holds no state.
    #[error("`{dir}` holds no state; run `sixmin replay --state {dir}` first")]
    Empty {
        /// The state directory.
        dir: String,
    },
    /// The state file could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StateError {
    /// Whether the problem is in what was asked (a pack file), not in the state.
    pub fn is_usage(&self) -> bool {
        matches!(self, StateError::Pack(_))
    }
}

/// Loads the pack from `rules`, or the built-in one.
pub fn load_pack(rules: Option<&Path>) -> Result<LoadedPack, StateError> {
    match rules {
        Some(path) => LoadedPack::load(path).map_err(StateError::Pack),
        None => Ok(LoadedPack::builtin()),
    }
}

/// The engine of a state directory. Without `rules` the state's own pack is used (or the
/// built-in pack for a new state); with it, the pack must be the state's.
pub fn engine_for_state(
    state: Option<&StateFile>,
    rules: Option<&Path>,
    config: EngineConfig,
    state_dir: &Path,
) -> Result<(Engine, LoadedPack), StateError> {
    let Some(state) = state else {
        let loaded = load_pack(rules)?;
        return Ok((Engine::new(loaded.pack.clone(), config), loaded));
    };
    let loaded = match rules {
        Some(_) => load_pack(rules)?,
        None => LoadedPack::parse(&state.pack_source, &state.pack_origin).map_err(|source| {
            StateError::KeptPack {
                dir: state_dir.to_path_buf(),
                source,
            }
        })?,
    };
    if state.engine.pack_sha256 != loaded.pack.sha256 {
        return Err(StateError::OtherPack {
            dir: state_dir.to_path_buf(),
            kept: format!("{}@{}", state.engine.pack_name, state.engine.pack_version),
            kept_sha256: state.engine.pack_sha256.clone(),
            asked: loaded.pack.label(),
            origin: loaded.origin.clone(),
        });
    }
    let engine = Engine::restore(loaded.pack.clone(), config, &state.engine).map_err(|source| {
        StateError::Restore {
            dir: state_dir.to_path_buf(),
            source,
        }
    })?;
    Ok((engine, loaded))
}

/// The engine of an existing state directory, for reading it (no verdicts, no live
/// notices; the state's own allowed lateness), with its pack and the state file. Fails if
/// the directory holds no state.
pub fn saved_state(
    dir: &Path,
    rules: Option<&Path>,
) -> Result<(Engine, LoadedPack, StateFile), StateError> {
    let state = sixmin_store::read_state(dir)?.ok_or_else(|| StateError::Empty {
        dir: dir.display().to_string(),
    })?;
    let config = EngineConfig {
        allowed_lateness_ms: state.engine.allowed_lateness_ms,
        emit_verdicts: false,
        emit_stops: false,
        ..EngineConfig::default()
    };
    let (engine, pack) = engine_for_state(Some(&state), rules, config, dir)?;
    Ok((engine, pack, state))
}
