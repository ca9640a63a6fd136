//! Where a driver's results go: every engine output and every dead letter, in the order
//! they happen, and a flush before each checkpoint.
//!
//! A sink is a small adapter: files (`replay`), Kafka topics (`run`), the metrics and
//! status page (every command that serves them). Several sinks are one sink as a pair,
//! `(&mut a, &mut b)`, each given everything in turn.

use std::path::PathBuf;

use sixmin_core::Output;

use crate::dead_letter::DeadLetter;
use crate::driver::Settled;

/// Why a sink could not take a result.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// An output file could not be written or synced.
    #[error("writing `{path}`: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be turned into JSON.
    #[error("encoding a {what} as JSON: {source}")]
    Encode {
        /// What was encoded (`verdict`, `live breach`, `dead letter`).
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// Outputs could not be delivered in time (a broker unreachable or slow).
    #[error("outputs not delivered: {reason}")]
    Undelivered {
        /// What the client said.
        reason: String,
    },
}

impl SinkError {
    /// Whether trying again later can help: a delivery that timed out can; a file that
    /// cannot be written or a record that cannot be encoded cannot.
    pub fn is_retriable(&self) -> bool {
        matches!(self, SinkError::Undelivered { .. })
    }
}

/// Takes a driver's results.
pub trait Sink {
    /// One engine output (a verdict, a live breach, a stop notice).
    fn output(&mut self, output: &Output) -> Result<(), SinkError>;

    /// One refused event.
    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError>;

    /// Makes everything taken so far durable, before a checkpoint records it as done.
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A sink that also shows the engine live (the metrics and the status page): refreshed
/// from the settled engine at each checkpoint.
pub trait LiveView: Sink {
    /// Recomputes what is shown from `engine`.
    fn refresh(&mut self, engine: Settled<'_>);
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn output(&mut self, output: &Output) -> Result<(), SinkError> {
        (**self).output(output)
    }

    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        (**self).dead_letter(letter)
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        (**self).flush()
    }
}

impl<A: Sink, B: Sink> Sink for (A, B) {
    fn output(&mut self, output: &Output) -> Result<(), SinkError> {
        self.0.output(output)?;
        self.1.output(output)
    }

    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        self.0.dead_letter(letter)?;
        self.1.dead_letter(letter)
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.0.flush()?;
        self.1.flush()
    }
}

impl<S: Sink> Sink for Option<S> {
    fn output(&mut self, output: &Output) -> Result<(), SinkError> {
        self.as_mut().map_or(Ok(()), |sink| sink.output(output))
    }

    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        self.as_mut()
            .map_or(Ok(()), |sink| sink.dead_letter(letter))
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.as_mut().map_or(Ok(()), |sink| sink.flush())
    }
}

/// Keeps every result in memory: for tests and for callers that look at results one by
/// one.
#[derive(Debug, Default)]
pub struct Collect {
    /// The outputs, in order.
    pub outputs: Vec<Output>,
    /// The dead letters, each as its JSON line.
    pub dead_letters: Vec<serde_json::Value>,
    /// How many flushes.
    pub flushes: u64,
}

impl Sink for Collect {
    fn output(&mut self, output: &Output) -> Result<(), SinkError> {
        self.outputs.push(output.clone());
        Ok(())
    }

    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        let encode = |source| SinkError::Encode {
            what: "dead letter",
            source,
        };
        let line = letter.to_json_line().map_err(encode)?;
        self.dead_letters
            .push(serde_json::from_slice(&line).map_err(encode)?);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.flushes += 1;
        Ok(())
    }
}
