//! Rule packs: the TOML format that turns a law into checkable limits, the built-in Israeli
//! pack, and errors precise enough to fix a pack without reading code.
//!
//! # Contract
//!
//! - [`parse_pack`] returns either a [`RulePack`] the engine can rely on, or a
//!   [`PackError`] that lists *every* problem found, so a user fixes a pack in one pass. A
//!   TOML syntax error stops the reading and is reported alone; everything else (unknown
//!   keys, wrong types, bad durations, unknown time zones, clashing topic names, missing
//!   fields) is collected.
//! - An accepted pack has: a non-empty name and version; a time zone from the IANA
//!   database; limits and duty allowances longer than zero, in whole milliseconds;
//!   `target_ratio` in (0, 1]; topic ids and aliases that are non-empty and each name exactly
//!   one topic; non-empty rule ids, each duty's id its own. These are the preconditions
//!   of [`RulePack::new`].
//! - Unknown keys are errors, not warnings: a misspelt `sms_witin` would otherwise turn a
//!   duty off silently. Keys that later versions will read (`hours`, `closed`, `target`,
//!   `timer_starts_at`) are refused by name, because a pack that asks for them cannot be
//!   honoured by this version.
//! - Each [`Problem`] has a 1-based line and column (columns count characters, so Hebrew
//!   text does not shift them), a message and a help line. A [`PackError`] displays as
//!   `{origin}:{line}:{column}: {message}` followed by `  help: {help}`, per problem, in
//!   source order.
//! - [`RulePack::sha256`] is the SHA-256 of the exact source text, comments included, so a
//!   report names the bytes that judged it.
//! - Only [`load_pack`] does IO; everything else is a pure function of its input.
//!
//! The built-in pack, [`BUILTIN_PACK_SOURCE`], is the file `packs/il-consumer-protection.toml`
//! compiled in. Its comments make it the annotated reference of the format; the user guide
//! is `docs/rule-packs.md`.

mod check;
mod duration;
mod error;
pub mod service;
mod tree;

use std::path::Path;

use sha2::{Digest, Sha256};
pub use sixmin_core::RulePack;

pub use crate::error::{PackError, Problem};
pub use crate::service::{
    load_service_config, parse_service_config, CheckpointStoreKind, ClockMode, ConfigError,
    ServiceConfig, StartAt,
};

/// The source of the built-in pack `il-consumer-protection` (Israel's consumer protection
/// law and telephone service regulations), as shipped in `packs/il-consumer-protection.toml`.
pub const BUILTIN_PACK_SOURCE: &str = include_str!("../packs/il-consumer-protection.toml");

/// The file name the built-in pack uses in messages and reports.
pub const BUILTIN_PACK_ORIGIN: &str = "il-consumer-protection.toml";

/// The built-in Israeli pack, parsed.
///
/// The source is compiled in and a unit test parses it, so this cannot fail at run time.
pub fn builtin_pack() -> RulePack {
    match parse_pack(BUILTIN_PACK_SOURCE, BUILTIN_PACK_ORIGIN) {
        Ok(pack) => pack,
        Err(error) => panic!("the built-in rule pack is invalid:\n{error}"),
    }
}

/// Parses and checks a pack from its TOML source.
///
/// `origin` names the source in messages, usually its file name as the user gave it.
pub fn parse_pack(source: &str, origin: &str) -> Result<RulePack, PackError> {
    let root = match tree::parse_document(source) {
        Ok(root) => root,
        Err(syntax_error) => {
            let problem = syntax_problem(source, &syntax_error);
            return Err(error::invalid(origin, source, vec![problem]));
        }
    };
    check::check_pack(source, &root, sha256_hex(source))
        .map_err(|problems| error::invalid(origin, source, problems))
}

/// Reads a pack file and parses it; messages name the file by `path` as given.
pub fn load_pack(path: &Path) -> Result<RulePack, PackError> {
    let source = std::fs::read_to_string(path).map_err(|source| PackError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_pack(&source, &path.display().to_string())
}

/// A pack together with its source text and origin, as a state file or a checkpoint
/// keeps it (so the state can be read again without the file).
#[derive(Debug, Clone)]
pub struct LoadedPack {
    /// The validated pack.
    pub pack: RulePack,
    /// Its TOML source.
    pub source: String,
    /// A file name, or `built-in`.
    pub origin: String,
}

impl LoadedPack {
    /// The built-in Israeli pack.
    pub fn builtin() -> LoadedPack {
        LoadedPack {
            pack: builtin_pack(),
            source: BUILTIN_PACK_SOURCE.to_owned(),
            origin: "built-in".to_owned(),
        }
    }

    /// Reads a pack file once and parses it; messages name the file by `path` as given.
    pub fn load(path: &Path) -> Result<LoadedPack, PackError> {
        let source = std::fs::read_to_string(path).map_err(|source| PackError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = path.display().to_string();
        let pack = parse_pack(&source, &origin)?;
        Ok(LoadedPack {
            pack,
            source,
            origin,
        })
    }

    /// Parses a pack kept with its `origin` (in a state file or a checkpoint).
    pub fn parse(source: &str, origin: &str) -> Result<LoadedPack, PackError> {
        Ok(LoadedPack {
            pack: parse_pack(source, origin)?,
            source: source.to_owned(),
            origin: origin.to_owned(),
        })
    }
}

fn sha256_hex(source: &str) -> String {
    let digest = Sha256::digest(source.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The parser's message, first line as the message and the rest (what it expected) as help.
fn syntax_problem(source: &str, syntax_error: &toml::de::Error) -> error::RawProblem {
    let mut lines = syntax_error.message().lines();
    let first = lines.next().unwrap_or("invalid TOML");
    let rest: Vec<&str> = lines.collect();
    let help = if !rest.is_empty() {
        format!("{}; see https://toml.io for the syntax", rest.join("; "))
    } else if first.starts_with("duplicate key") {
        "a key may appear only once in a table; remove or rename one of them".to_string()
    } else {
        "see https://toml.io for the syntax; strings are quoted, one `key = value` per line"
            .to_string()
    };
    error::RawProblem {
        offset: syntax_error.span().map_or(source.len(), |span| span.start),
        message: format!("syntax error: {first}"),
        help,
    }
}

/// Parses a duration written as in packs (`"1h"`, `"90m"`, `"1h30m"`, `"500ms"`) into
/// whole milliseconds, for command-line flags. The error says what to write instead.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    duration::parse_duration(text).map_err(|_| {
        format!(
            "`{text}` is not a duration; write a number and a unit (ms, s, m, h, d) without \
             spaces, for example \"1h\", \"90m\" or \"1h30m\""
        )
    })
}

#[cfg(test)]
mod tests {
    use sixmin_core::pack::{DEFAULT_DEFAULT_RULE, DEFAULT_TOPIC_RULE};

    use super::*;

    #[test]
    fn the_builtin_pack_parses() {
        let pack = parse_pack(BUILTIN_PACK_SOURCE, BUILTIN_PACK_ORIGIN).unwrap();
        assert_eq!(pack.label(), "il-consumer-protection@2019-07");
        assert_eq!(pack.default_rule, DEFAULT_DEFAULT_RULE);
        assert!(pack
            .topics
            .iter()
            .all(|topic| topic.rule == DEFAULT_TOPIC_RULE));
        assert_eq!(builtin_pack().sha256, pack.sha256);
    }

    /// The user guide, compiled in so its examples are checked without IO.
    const GUIDE: &str = include_str!("../../../docs/rule-packs.md");

    #[test]
    fn every_key_is_documented_in_the_guide_and_the_builtin_pack() {
        let keys = check::PACK_KEYS.iter().chain(&check::TOPIC_KEYS);
        for key in keys.clone().chain(&check::RESERVED_KEYS) {
            let documented =
                GUIDE.contains(&format!("`{key}`")) || GUIDE.contains(&format!("`[[{key}]]`"));
            assert!(documented, "the guide does not document `{key}`");
        }
        for key in keys {
            assert!(
                BUILTIN_PACK_SOURCE.contains(key),
                "the built-in pack does not mention `{key}`"
            );
        }
    }

    #[test]
    fn the_guide_examples_parse() {
        let mut examples = 0;
        for (index, block) in GUIDE.split("```toml\n").enumerate().skip(1) {
            let example = block.split("```").next().unwrap();
            if let Err(error) = parse_pack(example, &format!("example-{index}.toml")) {
                panic!("a `toml` example of the guide does not parse:\n{error}");
            }
            examples += 1;
        }
        assert_eq!(examples, 3);
    }

    #[test]
    fn the_hash_is_of_the_source_text() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let pack = builtin_pack();
        assert_eq!(pack.sha256, sha256_hex(BUILTIN_PACK_SOURCE));
        assert_eq!(pack.sha256.len(), 64);
    }
}
