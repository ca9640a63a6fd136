//! Loading the rule pack and the engine for a state directory.

use std::path::Path;

use anyhow::Context;
use sixmin_core::{Engine, EngineConfig, RulePack};
use sixmin_store::StateFile;

use crate::exit::{fail, Code, CommandResult, WithCode};

/// A pack together with its source text and origin, as a state file keeps it.
pub struct LoadedPack {
    /// The validated pack.
    pub pack: RulePack,
    /// Its TOML source.
    pub source: String,
    /// A file name, or `built-in`.
    pub origin: String,
}

/// Loads the pack from `--rules`, or the built-in one.
pub fn load_pack(rules: Option<&Path>) -> CommandResult<LoadedPack> {
    match rules {
        Some(path) => {
            let pack = sixmin_config::load_pack(path).code(Code::Usage)?;
            let source = std::fs::read_to_string(path)
                .with_context(|| format!("reading rule pack `{}`", path.display()))
                .code(Code::Usage)?;
            Ok(LoadedPack {
                pack,
                source,
                origin: path.display().to_string(),
            })
        }
        None => Ok(LoadedPack {
            pack: sixmin_config::builtin_pack(),
            source: sixmin_config::BUILTIN_PACK_SOURCE.to_owned(),
            origin: "built-in".to_owned(),
        }),
    }
}

/// The engine of a state directory. Without `--rules` the state's own pack is used (or the
/// built-in pack for a new state); with it, the pack must be the state's.
pub fn engine_for_state(
    state: Option<&StateFile>,
    rules: Option<&Path>,
    config: EngineConfig,
    state_dir: &Path,
) -> CommandResult<(Engine, LoadedPack)> {
    let Some(state) = state else {
        let loaded = load_pack(rules)?;
        return Ok((Engine::new(loaded.pack.clone(), config), loaded));
    };
    let loaded = match rules {
        Some(_) => load_pack(rules)?,
        None => {
            let pack = sixmin_config::parse_pack(&state.pack_source, &state.pack_origin)
                .with_context(|| format!("reading the rule pack kept in `{}`", state_dir.display()))
                .code(Code::State)?;
            LoadedPack {
                pack,
                source: state.pack_source.clone(),
                origin: state.pack_origin.clone(),
            }
        }
    };
    if state.engine.pack_sha256 != loaded.pack.sha256 {
        return Err(fail(
            Code::State,
            format!(
                "state directory `{}` was built with rule pack `{}@{}` (sha256 {}), not `{}` \
                 from `{}`; use a new state directory for another pack",
                state_dir.display(),
                state.engine.pack_name,
                state.engine.pack_version,
                state.engine.pack_sha256,
                loaded.pack.label(),
                loaded.origin
            ),
        ));
    }
    let engine = Engine::restore(loaded.pack.clone(), config, &state.engine)
        .with_context(|| format!("restoring state directory `{}`", state_dir.display()))
        .code(Code::State)?;
    Ok((engine, loaded))
}

/// The engine of an existing state directory, for reading it (no verdicts, no live
/// notices; the state's own allowed lateness), with its pack and the state file. Fails if
/// the directory holds no state.
pub fn saved_state(
    dir: &Path,
    rules: Option<&Path>,
) -> CommandResult<(Engine, LoadedPack, StateFile)> {
    let state = sixmin_store::read_state(dir)
        .code(Code::State)?
        .ok_or_else(|| {
            fail(
                Code::State,
                format!(
                    "`{}` holds no state; run `sixmin replay --state {}` first",
                    dir.display(),
                    dir.display()
                ),
            )
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
