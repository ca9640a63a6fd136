//! The path every event takes, written once: a source's record is decoded, judged by the
//! engine, refused into a dead letter or applied; what the engine makes is handed to a
//! sink; final calls are settled; and a checkpoint covers only what its sink made
//! durable.
//!
//! ```text
//! source (file, stdin, simulator, Kafka partition)
//!   └─▶ Record ─▶ Driver::feed ─▶ decode ─▶ Engine::ingest
//!                    │                          └─▶ outputs ─▶ Sink::output
//!                    └─▶ invalid, too large, late ─▶ Sink::dead_letter
//!       Driver::settle ─▶ Settled (the only way to read the engine)
//!       Driver::checkpoint = settle ─▶ hand over ─▶ Sink::flush ─▶ snapshot
//! ```
//!
//! Contract:
//! - nothing a source reads is dropped: every record is applied, counted as a duplicate,
//!   or handed to the sink as a [`DeadLetter`] with its reason;
//! - a dead letter has one shape whatever the source ([`dead_letter`]);
//! - a line source never holds more than the larger of the event size limit and
//!   [`DEAD_LETTER_MAX_BYTES`] of one line ([`input::LineReader`]);
//! - the engine is read only through [`Settled`], which only [`Driver::settle`] gives.

pub mod clock;
pub mod dead_letter;
pub mod driver;
pub mod files;
pub mod input;
pub mod replay;
pub mod sink;
pub mod state;

pub use dead_letter::{DeadLetter, Origin, DEAD_LETTER_MAX_BYTES};
pub use driver::{CheckpointError, Driver, Fed, Record, Settled};
pub use files::{FileSinks, JsonLinesFile};
pub use replay::{Replay, ReplayError, ReplayOptions};
pub use sink::{Collect, LiveView, Sink, SinkError};
pub use state::StateError;
