//! Logs: `tracing` events from every crate, written to standard error, as lines for
//! people (`sixmin run: warning: …`, the default) or as JSON lines for log collectors
//! (`--log-format json` or `SIXMIN_LOG_FORMAT=json`). `SIXMIN_LOG` sets the level
//! (`error`, `warn`, `info`, the default, `debug`, `trace`). Logs never carry event
//! contents: messages name partitions, offsets, files and counts.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `sixmin COMMAND: [warning: |error: ]message`, for people.
    Text,
    /// One JSON object a line, with `timestamp`, `level`, `target` and `fields`.
    Json,
}

/// Starts logging for `command`. `level` is `SIXMIN_LOG`'s value, if set.
pub fn init(format: LogFormat, level: Option<&str>, command: &'static str) {
    let level = match level.map(str::trim).map(str::to_ascii_lowercase).as_deref() {
        Some("error") => Level::ERROR,
        Some("warn") | Some("warning") => Level::WARN,
        Some("debug") => Level::DEBUG,
        Some("trace") => Level::TRACE,
        _ => Level::INFO,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr);
    // A second initialisation (none happens) would keep the first: nothing to report.
    let _ignored = match format {
        LogFormat::Text => builder.event_format(Human { command }).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The format for people: the command as prefix, the level only when it matters.
struct Human {
    command: &'static str,
}

impl<S, N> FormatEvent<S, N> for Human
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "sixmin {}: ", self.command)?;
        match *event.metadata().level() {
            Level::ERROR => write!(writer, "error: ")?,
            Level::WARN => write!(writer, "warning: ")?,
            _ => {}
        }
        context
            .field_format()
            .format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
