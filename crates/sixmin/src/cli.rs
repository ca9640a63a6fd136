//! Command-line interface: `replay`, `report`, `rules`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::CommandResult;

/// Proves, call by call, whether phone queues obey the statutory limits on waiting.
#[derive(Debug, Parser)]
#[command(name = "sixmin", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How logs are written to standard error: `text` for people, `json` for log
    /// collectors. `SIXMIN_LOG` sets the level (`warn`, `info`, `debug`…).
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        env = "SIXMIN_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: crate::logging::LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Feed call events (JSON Lines, plain or .gz, files or stdin) into a state directory.
    Replay(ReplayArgs),
    /// Consume call events from Kafka and judge them live (the production service).
    Run(RunArgs),
    /// Print the period report of a state directory or of the service's checkpoints
    /// (outputs.md §2).
    Report(ReportArgs),
    /// Explain one call: its events, the topic and limit applied, each rule's arithmetic.
    Explain(crate::explain::ExplainArgs),
    /// Run a simulated call centre judged live: status page, metrics, live breaches.
    Demo(DemoArgs),
    /// Write a simulated call centre's events (contract v1, JSON Lines).
    Simulate(SimulateArgs),
    /// Show or check a rule pack.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

/// Arguments of `sixmin replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Event files (JSON Lines, `.gz` allowed); `-` (the default) reads standard input,
    /// plain or gzip.
    #[arg(value_name = "FILE", default_value = "-")]
    pub inputs: Vec<PathBuf>,
    /// Rule pack file (TOML); default: the built-in Israeli pack, or the state's pack.
    #[arg(long, value_name = "PACK")]
    pub rules: Option<PathBuf>,
    /// State directory; created if missing, continued if it exists.
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// Append one verdict per closed call (JSON Lines).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// Write invalid and late events here, with reason and position (JSON Lines);
    /// default: `dead-letter.jsonl` in the state directory.
    #[arg(long, value_name = "FILE")]
    pub dead_letter: Option<PathBuf>,
    /// Append live breaches (callers over the limit while waiting) here (JSON Lines).
    #[arg(long, value_name = "FILE")]
    pub breaches: Option<PathBuf>,
    /// Declare the input complete: every pending call becomes final at the end.
    #[arg(long)]
    pub complete: bool,
    /// How events are judged.
    #[command(flatten)]
    pub judging: JudgingArgs,
    /// Save the state every this many input records (it is always saved at the end).
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub checkpoint_every: u64,
    /// Print no summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Serve `/metrics`, the status page and health checks here while replaying.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// With `--listen`: keep serving after the input is done, until stopped.
    #[arg(long, requires = "listen")]
    pub hold: bool,
}

/// How events are taken in, for every command that judges a stream of them.
#[derive(Debug, Args)]
pub struct JudgingArgs {
    /// How far behind the newest event an event may be stamped, e.g. `1h`, `90m`
    /// (default: a state's own, or 1 hour).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_ms)]
    pub allowed_lateness: Option<i64>,
    /// Largest event accepted, in bytes; larger ones are dead-lettered as `too_large`.
    #[arg(long, value_name = "BYTES", default_value_t = sixmin_core::decode::DEFAULT_MAX_EVENT_BYTES)]
    pub max_event_bytes: usize,
}

/// Arguments of `sixmin run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The service configuration (TOML; see docs/configuration.md). Every field can also
    /// be set by a `SIXMIN_…` environment variable.
    #[arg(long, value_name = "FILE", env = "SIXMIN_CONFIG")]
    pub config: PathBuf,
    /// Print the effective configuration (secrets masked) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Stop (checkpointing) once every assigned partition has been read to its end: for
    /// backfills and tests.
    #[arg(long)]
    pub exit_when_caught_up: bool,
}

/// Arguments of `sixmin demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of the status page and `/metrics`.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:9464",
        env = "SIXMIN_LISTEN"
    )]
    pub listen: std::net::SocketAddr,
    /// How many times faster than real time the simulated day runs.
    #[arg(long, value_name = "FACTOR", default_value_t = 60.0)]
    pub speed: f64,
    /// Local time of day the simulation starts at (the overload episode is at 11:00).
    #[arg(long, value_name = "HH:MM", default_value = "10:30", value_parser = crate::demo::parse_time_of_day)]
    pub start_at: chrono::NaiveTime,
    /// The simulated day (default: today in the pack's time zone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,
    /// Days to simulate (default: endless).
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// Calls per (working) day.
    #[arg(long, value_name = "N", default_value_t = 4000)]
    pub calls_per_day: u32,
    /// Seed of the simulator (the same seed gives the same calls).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Leave out the overload episode.
    #[arg(long)]
    pub no_overload: bool,
    /// Rule pack file; default: the built-in Israeli pack.
    #[arg(long, value_name = "PACK")]
    pub rules: Option<PathBuf>,
    /// Stop after this many seconds of wall time (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// After `--duration`, freeze the clock and keep serving until stopped (the numbers
    /// then hold still, for inspection and tests).
    #[arg(long, requires = "duration")]
    pub hold: bool,
    /// How often the gauges and the status page are recomputed, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub refresh_ms: u64,
    /// How events are judged.
    #[command(flatten)]
    pub judging: JudgingArgs,
    /// Write refused events (invalid, too large, late) here, with reason and position
    /// (JSON Lines, started afresh); default: `sixmin-demo-PID-dead-letter.jsonl` in the
    /// system's temporary directory.
    #[arg(long, value_name = "FILE")]
    pub dead_letter: Option<PathBuf>,
}

/// Arguments of `sixmin simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Where to write the events (`.gz` compresses); `-` is standard output.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "-",
        conflicts_with = "kafka"
    )]
    pub out: PathBuf,
    /// Produce the events to Kafka instead (bootstrap servers, `host:port[,…]`), keyed by
    /// `call_id`.
    #[arg(long, value_name = "BOOTSTRAP", env = "SIXMIN_KAFKA_BOOTSTRAP")]
    pub kafka: Option<String>,
    /// The topic to produce to, with `--kafka`.
    #[arg(long, value_name = "NAME", default_value = "sixmin.events")]
    pub topic: String,
    /// First simulated day (default: today in the pack's time zone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,
    /// Days to simulate.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub days: u32,
    /// Never stop (for live feeds; use with `--speed`).
    #[arg(long)]
    pub forever: bool,
    /// Calls per (working) day.
    #[arg(long, value_name = "N", default_value_t = 4000)]
    pub calls_per_day: u32,
    /// Seed (the same seed and settings give the same bytes).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Pace events in real time multiplied by FACTOR (1 is real time); default: as fast
    /// as possible.
    #[arg(long, value_name = "FACTOR")]
    pub speed: Option<f64>,
    /// Leave out the daily overload episode.
    #[arg(long)]
    pub no_overload: bool,
    /// Leave out data-quality faults (duplicates, delays, lost events, clock skew).
    #[arg(long)]
    pub no_faults: bool,
    /// Rule pack whose time zone the simulated centre lives in; default: the built-in pack.
    #[arg(long, value_name = "PACK")]
    pub rules: Option<PathBuf>,
}

/// Arguments of `sixmin report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// State directory written by `sixmin replay`.
    #[arg(long, value_name = "DIR", required_unless_present = "config")]
    pub state: Option<PathBuf>,
    /// Instead of `--state`: the configuration of `sixmin run`, whose checkpoint store
    /// (directory or Kafka topic) holds one state per partition; they are added up.
    #[arg(long, value_name = "FILE", conflicts_with = "state")]
    pub config: Option<PathBuf>,
    /// The calendar month, `YYYY-MM`, in the pack's time zone.
    #[arg(
        long,
        value_name = "YYYY-MM",
        conflicts_with = "day",
        required_unless_present = "day",
        value_parser = crate::report::parse_month
    )]
    pub month: Option<sixmin_core::Period>,
    /// The calendar day, `YYYY-MM-DD`, in the pack's time zone.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::report::parse_day)]
    pub day: Option<sixmin_core::Period>,
    /// Output formats, separated by commas: `json` (the default), `csv`, `xlsx`, `pdf`,
    /// `html`.
    #[arg(
        long,
        value_name = "FORMAT",
        default_value = "json",
        value_delimiter = ','
    )]
    pub format: Vec<sixmin_report::Format>,
    /// Where to write the report; `-` is standard output.
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub out: PathBuf,
    /// Language of the PDF and HTML: `en` (default), `he` (right to left), or both
    /// (`en,he`).
    #[arg(long, value_name = "LANG", default_value = "en", value_delimiter = ',')]
    pub lang: Vec<sixmin_report::Lang>,
    /// The report's `generated_at` (RFC 3339); default: now. For reproducible reports.
    #[arg(
        long,
        value_name = "RFC3339",
        env = "SIXMIN_GENERATED_AT",
        value_parser = crate::report::parse_generated_at
    )]
    pub generated_at: Option<String>,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Print the effective pack: the built-in one, or FILE.
    Show {
        /// A pack file; default: the built-in Israeli pack.
        file: Option<PathBuf>,
    },
    /// Validate a pack file; exits 2 and lists every problem if it is invalid.
    Check {
        /// A pack file; default: the built-in Israeli pack.
        file: Option<PathBuf>,
    },
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> CommandResult {
        let level = std::env::var("SIXMIN_LOG").ok();
        crate::logging::init(self.log_format, level.as_deref(), self.command.name());
        match self.command {
            Command::Replay(args) => crate::replay::run(args),
            Command::Run(args) => crate::run::run(args),
            Command::Report(args) => crate::report::run(args),
            Command::Explain(args) => crate::explain::run(args),
            Command::Demo(args) => crate::demo::run(args),
            Command::Simulate(args) => crate::simulate::run(args),
            Command::Rules { command } => match command {
                RulesCommand::Show { file } => crate::rules::show(file.as_deref()),
                RulesCommand::Check { file } => crate::rules::check(file.as_deref()),
            },
        }
    }
}

impl Command {
    /// The command's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Replay(_) => "replay",
            Command::Run(_) => "run",
            Command::Report(_) => "report",
            Command::Explain(_) => "explain",
            Command::Demo(_) => "demo",
            Command::Simulate(_) => "simulate",
            Command::Rules { .. } => "rules",
        }
    }
}

/// Parses a duration such as `1h`, `90m`, `30s`, `1h30m` into milliseconds.
fn parse_duration_ms(text: &str) -> Result<i64, String> {
    sixmin_config::parse_duration_ms(text)
}
