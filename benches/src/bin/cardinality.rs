//! Memory and cardinality at scale: 100 000 callers waiting at once in 1 000 queues.
//!
//! Builds the events of 100 000 calls as JSON lines in memory, decodes each with
//! `sixmin_core::decode_event` and feeds it to an engine judging by the built-in pack,
//! handing its outputs to the metrics as `sixmin demo` does. No call is ever answered, so
//! at the end every call is open and waiting. Then it refreshes the metrics (with empty
//! live windows, as nothing has stopped) and encodes the exposition, and prints what that
//! cost: resident memory at each step (`VmRSS`, and the peak `VmHWM`, from
//! `/proc/self/status`), the time of each step, and the number of series per family.
//!
//! The layout is the worst case for labels: call `i` is in tenant `i % 10`, topic
//! `(i / 10) % 5` and queue `(i / 50) % 1000`, so each of the 10 × 5 × 1 000 = 50 000
//! (tenant, topic, queue) combinations holds two callers. Calls start 3 ms apart over
//! five minutes of event time and select their topic and queue 15 s after starting.
//! Ids and times are fixed, so every run feeds the same bytes.
//!
//! Run with `cargo run --release -p sixmin-benches --bin cardinality`. Without an argument
//! it measures two label limits, each in a fresh child process so that the memory figures
//! of one do not include the other: `default` (the product's [`LabelLimits`]) and
//! `all-queues` (limits raised to admit every queue). Either name as the argument runs that
//! measurement alone, in this process.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use prometheus::Registry;
use sixmin_core::time::{format_utc, parse_rfc3339, Nanos, NANOS_PER_MILLI};
use sixmin_core::{decode_event, Engine, EngineConfig, Output};
use sixmin_metrics::{encode_text, LabelLimits, LiveWindows, Metrics};

/// Calls fed, all left waiting.
const CALLS: usize = 100_000;
/// Distinct tenants.
const TENANTS: usize = 10;
/// Topics selected: the pack's three six-minute topics, its fallback, and one it does not
/// list (judged by the default three-minute limit).
const TOPICS: [&str; 5] = ["fault", "billing", "cancellation", "general", "sales"];
/// Distinct queues.
const QUEUES: usize = 1_000;
/// Time between the starts of consecutive calls.
const START_STEP_MS: i64 = 3;
/// Time from a call's start to its topic selection and queueing.
const QUEUED_AFTER_MS: i64 = 15_000;
/// Event time of the first call's start.
const FIRST_START: &str = "2026-10-05T09:00:00Z";

/// The two label-limit settings measured.
const SETTINGS: [&str; 2] = ["default", "all-queues"];

fn limits_of(setting: &str) -> Option<LabelLimits> {
    match setting {
        "default" => Some(LabelLimits::default()),
        "all-queues" => Some(LabelLimits {
            tenants: 50,
            topics: 50,
            queues: QUEUES,
        }),
        _ => None,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => run_all(),
        [setting] => match limits_of(setting) {
            Some(limits) => match measure(setting, limits) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("cardinality: {error}");
                    ExitCode::FAILURE
                }
            },
            None => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: cardinality [{}]", SETTINGS.join("|"));
    ExitCode::from(2)
}

/// Prints what is fed, then runs each setting in a child process of its own.
fn run_all() -> ExitCode {
    print_header();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => {
            eprintln!("cardinality: cannot find this executable: {error}");
            return ExitCode::FAILURE;
        }
    };
    for setting in SETTINGS {
        println!();
        match Command::new(&exe).arg(setting).status() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("cardinality: measurement `{setting}` failed: {status}");
                return ExitCode::FAILURE;
            }
            Err(error) => {
                eprintln!("cardinality: cannot run measurement `{setting}`: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn print_header() {
    println!("sixmin cardinality: {CALLS} callers waiting at once, {QUEUES} queues");
    println!(
        "input: {TENANTS} tenants x {} topics ({}) x {QUEUES} queues; call i is in tenant i%{TENANTS},",
        TOPICS.len(),
        TOPICS.join(", ")
    );
    println!(
        "  topic (i/{TENANTS})%{}, queue (i/{})%{QUEUES}: each of the {} (tenant, topic, queue)",
        TOPICS.len(),
        TENANTS * TOPICS.len(),
        TENANTS * TOPICS.len() * QUEUES
    );
    println!(
        "  combinations holds {} callers (the worst case for labels)",
        CALLS / (TENANTS * TOPICS.len() * QUEUES)
    );
    println!(
        "events: call_started, then topic_selected and queued {} s later; starts {START_STEP_MS} ms apart",
        QUEUED_AFTER_MS / 1000
    );
    println!(
        "  from {FIRST_START} (over {} s of event time), time-ordered; none answered",
        CALLS as i64 * START_STEP_MS / 1000
    );
    println!(
        "path: JSON lines in memory -> sixmin_core::decode_event -> Engine::ingest (built-in pack)"
    );
    println!("  -> outputs to Metrics (fresh registry, no process_* collector)");
    println!("  -> Metrics::refresh with empty LiveWindows -> encode_text");
    println!("each setting runs in a fresh process; times are wall clock (std::time::Instant)");
}

/// The three events of call `index`, by kind: 1 start, 2 topic, 3 queue.
fn push_line(input: &mut String, index: usize, kind: u8, first_start: Nanos) {
    let start = first_start + index as i64 * START_STEP_MS * NANOS_PER_MILLI;
    let call = format!("c{index:06}");
    let line = match kind {
        1 => format!(
            r#"{{"v":1,"event_id":"{call}:1","call_id":"{call}","type":"call_started","ts":"{}","tenant":"tenant-{:02}"}}"#,
            format_utc(start),
            index % TENANTS
        ),
        2 => format!(
            r#"{{"v":1,"event_id":"{call}:2","call_id":"{call}","type":"topic_selected","ts":"{}","topic":"{}"}}"#,
            format_utc(start + QUEUED_AFTER_MS * NANOS_PER_MILLI),
            TOPICS[(index / TENANTS) % TOPICS.len()]
        ),
        _ => format!(
            r#"{{"v":1,"event_id":"{call}:3","call_id":"{call}","type":"queued","ts":"{}","queue":"q-{:04}"}}"#,
            format_utc(start + QUEUED_AFTER_MS * NANOS_PER_MILLI),
            (index / (TENANTS * TOPICS.len())) % QUEUES
        ),
    };
    input.push_str(&line);
    input.push('\n');
}

/// Every event in time order, one JSON line each, in one buffer (one large allocation,
/// given back to the system when dropped, so its memory can be told from the engine's).
fn build_input(first_start: Nanos) -> String {
    let mut input = String::with_capacity(CALLS * 3 * 160);
    // Call `i` is queued at the start time of call `i + lag`: merge the two streams.
    let lag = (QUEUED_AFTER_MS / START_STEP_MS) as usize;
    for step in 0..CALLS + lag {
        if let Some(queued) = step.checked_sub(lag) {
            push_line(&mut input, queued, 2, first_start);
            push_line(&mut input, queued, 3, first_start);
        }
        if step < CALLS {
            push_line(&mut input, step, 1, first_start);
        }
    }
    input
}

/// `VmRSS` and `VmHWM` of this process, in KiB, when the system tells them.
#[derive(Debug, Clone, Copy)]
struct Memory {
    rss_kib: Option<u64>,
    peak_kib: Option<u64>,
}

fn memory() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    Memory {
        rss_kib: field("VmRSS"),
        peak_kib: field("VmHWM"),
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
    )
}

fn delta(after: Option<u64>, before: Option<u64>) -> String {
    match (after, before) {
        (Some(after), Some(before)) => {
            format!("{:+.1} MiB", (after as f64 - before as f64) / 1024.0)
        }
        _ => "n/a".to_owned(),
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// Sample lines per family, in exposition order (a family is named by its `# TYPE` line,
/// so a histogram's or summary's `_bucket`, `_sum` and `_count` lines count under it).
fn series_per_family(text: &str) -> Vec<(String, usize)> {
    let mut families: Vec<(String, usize)> = Vec::new();
    for line in text.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let name = declared.split(' ').next().unwrap_or_default();
            families.push((name.to_owned(), 0));
        } else if !line.is_empty() && !line.starts_with('#') {
            match families.last_mut() {
                Some((_, count)) => *count += 1,
                None => families.push((String::new(), 1)),
            }
        }
    }
    families
}

/// Distinct values of label `name` among the samples of `family`.
fn label_values(text: &str, family: &str, name: &str) -> usize {
    let prefix = format!("{family}{{");
    let key = format!("{name}=\"");
    let mut values: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .filter_map(|labels| {
            let (_, rest) = labels.split_once(key.as_str())?;
            rest.split('"').next()
        })
        .collect();
    values.sort_unstable();
    values.dedup();
    values.len()
}

/// One measurement: feed, refresh, encode, and print what it cost.
fn measure(setting: &str, limits: LabelLimits) -> Result<(), String> {
    let at_start = memory();
    let first_start =
        parse_rfc3339(FIRST_START).ok_or_else(|| format!("bad start time {FIRST_START}"))?;
    let input = build_input(first_start);
    let input_bytes = input.len();
    let input_lines = input.lines().count();
    let input_built = memory();

    let registry = Registry::new();
    let pack = sixmin_config::builtin_pack();
    let limits_text = format!(
        "tenants {}, topics {}, queues {}",
        limits.tenants, limits.topics, limits.queues
    );
    let mut metrics = Metrics::register(&registry, &pack, limits).map_err(|e| e.to_string())?;
    let mut engine = Engine::new(pack, EngineConfig::default());
    let windows = LiveWindows::default();

    // The per-event path of the live service: decode, ingest, hand the outputs on.
    let (mut live_breaches, mut verdicts, mut stops) = (0u64, 0u64, 0u64);
    let mut outputs = Vec::new();
    let started = Instant::now();
    let lines = input.lines().map(Some).chain(std::iter::once(None));
    for line in lines {
        match line.map(|line| decode_event(line.as_bytes())) {
            Some(Ok(ref event)) => {
                engine.ingest(event, &mut outputs);
            }
            Some(Err(invalid)) => engine.note_invalid(invalid.reason.as_str()),
            // The end of the input: final calls' bookkeeping is done before the refresh.
            None => engine.settle(&mut outputs),
        }
        for output in outputs.drain(..) {
            match output {
                Output::Verdict(verdict) => {
                    verdicts += 1;
                    metrics.observe_verdict(&verdict);
                }
                Output::LiveBreach(breach) => {
                    live_breaches += 1;
                    metrics.observe_live_breach(&breach);
                }
                // Nothing stops, so the live windows stay empty.
                Output::Stopped(_) => stops += 1,
            }
        }
    }
    let ingest_time = started.elapsed();
    let ingested = memory();
    drop(input);
    let input_dropped = memory();

    let started = Instant::now();
    metrics.refresh(
        &engine,
        &windows,
        &engine.waiting_now(),
        engine.calendar_tallies().as_ref(),
    );
    let refresh_first = started.elapsed();
    let refreshed = memory();
    let started = Instant::now();
    metrics.refresh(
        &engine,
        &windows,
        &engine.waiting_now(),
        engine.calendar_tallies().as_ref(),
    );
    let refresh_again = started.elapsed();

    let started = Instant::now();
    let text = encode_text(&registry);
    let encode_time = started.elapsed();
    let encoded = memory();

    let families = series_per_family(&text);
    let series: usize = families.iter().map(|(_, count)| count).sum();
    let queue_values = label_values(&text, sixmin_metrics::names::CALLS_WAITING, "queue");

    // The engine's share of a refresh, measured after the memory figures above.
    let started = Instant::now();
    let groups = engine.waiting_now().len();
    let waiting_now_time = started.elapsed();

    let counters = engine.counters();
    let open = engine.open_calls();
    let events_per_second = input_lines as f64 / ingest_time.as_secs_f64();
    let engine_bytes = match (ingested.rss_kib, input_built.rss_kib) {
        (Some(after), Some(before)) if open > 0 => {
            format!(
                "{:.0} bytes per open call",
                (after as f64 - before as f64) * 1024.0 / open as f64
            )
        }
        _ => "n/a".to_owned(),
    };

    println!("== label limits: {setting} ({limits_text}) ==");
    println!(
        "input                  {input_lines} lines, {:.1} MiB",
        input_bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "ingest                 {} ({events_per_second:.0} events/s; decode + engine + metrics of outputs)",
        ms(ingest_time)
    );
    println!(
        "  events               accepted {}, duplicate {}, late {}, invalid {}",
        counters.accepted,
        counters.duplicates,
        counters.late,
        counters.invalid_total()
    );
    println!(
        "  outputs              live breaches {live_breaches}, verdicts {verdicts}, stops {stops}"
    );
    println!("open calls             {open}");
    println!(
        "waiting groups         {groups} (tenant, topic, queue); engine.waiting_now() alone {}",
        ms(waiting_now_time)
    );
    println!("refresh, first         {}", ms(refresh_first));
    println!("refresh, again         {}", ms(refresh_again));
    println!("encode_text            {}", ms(encode_time));
    println!("exposition             {} bytes", text.len());
    println!("series                 {series}");
    println!("queue label values     {queue_values} in sixmin_calls_waiting");
    println!("series per family:");
    for (family, count) in &families {
        println!("  {family:<40} {count:>7}");
    }
    println!("memory (VmRSS):");
    println!("  at start             {}", mib(at_start.rss_kib));
    println!(
        "  input built          {} ({})",
        mib(input_built.rss_kib),
        delta(input_built.rss_kib, at_start.rss_kib)
    );
    println!(
        "  calls ingested       {} ({}; {engine_bytes})",
        mib(ingested.rss_kib),
        delta(ingested.rss_kib, input_built.rss_kib)
    );
    println!(
        "  input dropped        {} ({})",
        mib(input_dropped.rss_kib),
        delta(input_dropped.rss_kib, ingested.rss_kib)
    );
    println!(
        "  refreshed            {} ({})",
        mib(refreshed.rss_kib),
        delta(refreshed.rss_kib, input_dropped.rss_kib)
    );
    println!(
        "  encoded              {} ({})",
        mib(encoded.rss_kib),
        delta(encoded.rss_kib, refreshed.rss_kib)
    );
    println!("  peak (VmHWM)         {}", mib(encoded.peak_kib));
    Ok(())
}
