//! The one driver: decode → ingest → dead letters → outputs → settle → checkpoint.
//!
//! Every command that judges events (`replay`, `run` for each partition, `demo`) hands
//! each record it reads to [`Driver::feed`] with the sink its results go to. The driver
//! owns the engine, so what must happen in order happens here once:
//!
//! - an event over the size limit, an invalid event and a late event each become a
//!   [`DeadLetter`] (and are counted by the engine); nothing is dropped;
//! - every output the engine makes is handed to the sink before the next record;
//! - the engine is read only through a [`Settled`] view, which only [`Driver::settle`]
//!   gives: tallies, reports and the status view never see a final call whose
//!   bookkeeping is still queued (ADR 0005);
//! - [`Driver::checkpoint`] settles, hands the outputs over, flushes the sink and only
//!   then takes the snapshot, so a saved state never covers a result its sink could still
//!   lose.

use std::ops::Deref;

use sixmin_core::{
    decode_event_with_limit, Disposition, Engine, InputCounters, Invalid, Output, RulePack,
    Snapshot, SnapshotError,
};

use crate::dead_letter::{DeadLetter, Origin};
use crate::sink::{Sink, SinkError};

/// One record of a source: an event's bytes as read, and where.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Where it was read.
    pub origin: Origin<'a>,
    /// Its bytes as read: all of it, or (a line over the size limit) its first part.
    pub bytes: &'a [u8],
    /// Its whole length in bytes (more than `bytes.len()` when the reader stopped early).
    pub length: usize,
}

impl<'a> Record<'a> {
    /// A record read whole (a Kafka message, a simulated line).
    pub fn whole(origin: Origin<'a>, bytes: &'a [u8]) -> Record<'a> {
        Record {
            origin,
            bytes,
            length: bytes.len(),
        }
    }
}

/// What the driver did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// Applied to its call.
    Accepted,
    /// A duplicate of an event already applied; counted once.
    Duplicate,
    /// Refused (invalid or late) and handed to the sink as a dead letter.
    DeadLettered,
}

/// Why a checkpoint could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The sink could not take or flush the results the checkpoint would cover.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The engine could not be turned into a snapshot.
    #[error("taking the engine's snapshot: {0}")]
    Snapshot(#[from] SnapshotError),
}

impl CheckpointError {
    /// Whether trying again later can help (outputs not delivered yet).
    pub fn is_retriable(&self) -> bool {
        match self {
            CheckpointError::Sink(error) => error.is_retriable(),
            CheckpointError::Snapshot(_) => false,
        }
    }
}

/// An engine with nothing left to settle: what readers of tallies, reports, the ledger
/// and the status view are given. Only [`Driver::settle`] makes one.
#[derive(Clone, Copy)]
pub struct Settled<'a> {
    engine: &'a Engine,
}

impl<'a> Settled<'a> {
    /// The view of an engine that was never fed since it was restored or made (a state
    /// read for a report): `None` if it has final calls still to settle.
    pub fn of(engine: &'a Engine) -> Option<Settled<'a>> {
        engine.is_settled().then_some(Settled { engine })
    }

    /// The engine, settled.
    pub fn engine(self) -> &'a Engine {
        self.engine
    }
}

impl Deref for Settled<'_> {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        self.engine
    }
}

/// Drives one engine: the only code that feeds an engine and hands on what it makes.
pub struct Driver {
    engine: Engine,
    outputs: Vec<Output>,
    max_event_bytes: usize,
}

impl Driver {
    /// Drives `engine`, refusing events larger than `max_event_bytes` as `too_large`.
    pub fn new(engine: Engine, max_event_bytes: usize) -> Driver {
        Driver {
            engine,
            outputs: Vec::with_capacity(64),
            max_event_bytes,
        }
    }

    /// Decodes and applies one record; refused records go to `sink` as dead letters, and
    /// every output made goes to `sink` before this returns.
    pub fn feed(&mut self, record: Record<'_>, sink: &mut impl Sink) -> Result<Fed, SinkError> {
        let fed = if record.length > self.max_event_bytes {
            let invalid = Invalid::too_large(record.length, self.max_event_bytes);
            self.refuse_invalid(&record, &invalid, sink)?
        } else {
            match decode_event_with_limit(record.bytes, self.max_event_bytes) {
                Ok(ref event) => match self.engine.ingest(event, &mut self.outputs) {
                    Disposition::Accepted => Fed::Accepted,
                    Disposition::Duplicate => Fed::Duplicate,
                    Disposition::Late(lateness) => {
                        Self::dead_letter(&record, "late", lateness.detail(), sink)?;
                        Fed::DeadLettered
                    }
                },
                Err(invalid) => self.refuse_invalid(&record, &invalid, sink)?,
            }
        };
        self.hand_over(sink)?;
        Ok(fed)
    }

    fn refuse_invalid(
        &mut self,
        record: &Record<'_>,
        invalid: &Invalid,
        sink: &mut impl Sink,
    ) -> Result<Fed, SinkError> {
        let reason = invalid.reason.as_str();
        self.engine.note_invalid(reason);
        Self::dead_letter(record, reason, &invalid.detail, sink)?;
        Ok(Fed::DeadLettered)
    }

    fn dead_letter(
        record: &Record<'_>,
        reason: &str,
        detail: &str,
        sink: &mut impl Sink,
    ) -> Result<(), SinkError> {
        let letter = DeadLetter::new(record.origin, reason, detail, record.bytes, record.length);
        sink.dead_letter(&letter)
    }

    /// Moves the clock to `now` (live mode, input idle) and hands on what becomes due.
    pub fn advance_to(&mut self, now: i64, sink: &mut impl Sink) -> Result<(), SinkError> {
        self.engine.advance_to(now, &mut self.outputs);
        self.hand_over(sink)
    }

    /// Declares the input complete: every pending call becomes final, and its verdict is
    /// handed on.
    pub fn finish(&mut self, sink: &mut impl Sink) -> Result<(), SinkError> {
        self.engine.finish(&mut self.outputs);
        self.hand_over(sink)
    }

    /// Settles every final call, hands its verdict on, and returns the settled engine to
    /// read.
    pub fn settle(&mut self, sink: &mut impl Sink) -> Result<Settled<'_>, SinkError> {
        self.engine.settle(&mut self.outputs);
        self.hand_over(sink)?;
        Ok(Settled {
            engine: &self.engine,
        })
    }

    /// Settles, hands every output on, flushes the sink, then snapshots the engine: in
    /// that order, so the snapshot covers only results the sink has made durable. Also
    /// returns the settled engine, for a refresh that goes with the checkpoint.
    pub fn checkpoint(
        &mut self,
        sink: &mut impl Sink,
    ) -> Result<(Snapshot, Settled<'_>), CheckpointError> {
        self.settle(sink)?;
        sink.flush()?;
        let snapshot = self.engine.snapshot()?;
        Ok((
            snapshot,
            Settled {
                engine: &self.engine,
            },
        ))
    }

    fn hand_over(&mut self, sink: &mut impl Sink) -> Result<(), SinkError> {
        // On an error the rest are dropped with the run: it fails, and a re-run resumes
        // from the last checkpoint, which covers none of them.
        for output in self.outputs.drain(..) {
            sink.output(&output)?;
        }
        Ok(())
    }

    /// Events taken in so far, by disposition and invalid reason.
    pub fn counters(&self) -> &InputCounters {
        self.engine.counters()
    }

    /// The engine clock: the newest event time seen, or the time advanced to.
    pub fn clock(&self) -> Option<i64> {
        self.engine.clock()
    }

    /// Calls still open.
    pub fn open_calls(&self) -> usize {
        self.engine.open_calls()
    }

    /// The rule pack the engine judges by.
    pub fn pack(&self) -> &RulePack {
        self.engine.pack()
    }

    /// The largest event accepted.
    pub fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }
}
