//! `sixmin demo`: a simulated call centre judged live, in one process — simulator →
//! engine → exporter and status page — on an accelerated clock, with an overload episode
//! so that every panel has something to show.
//!
//! The simulated clock runs `--speed` times faster than the wall clock. Events are fed
//! when their arrival time comes, and the engine clock follows the simulated clock even
//! when no event arrives, so a caller left waiting becomes a live breach on time.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::TimeZone;
use sixmin_core::engine::DEFAULT_ALLOWED_LATENESS_MS;
use sixmin_core::{Engine, EngineConfig};
use sixmin_pipeline::{Driver, FileSinks, JsonLinesFile, Origin, Record, Sink, SinkError};
use sixmin_server::{wait_for_stop_signal, Shared, Watch};
use sixmin_sim::{SimConfig, Simulator};

use crate::cli::DemoArgs;
use crate::exit::{Code, CommandResult, WithCode};

/// What the demo's dead letters name as their source.
const SIMULATOR_SOURCE: &str = "simulator";

/// Runs `sixmin demo`.
pub fn run(args: DemoArgs) -> CommandResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
        .code(Code::Internal)?;
    runtime.block_on(run_async(args))
}

/// The demo's dead-letter file, emptied: a demo starts afresh every time. By default one
/// file per process in the system's temporary directory, so demos running side by side
/// keep their own.
fn open_dead_letters(args: &DemoArgs) -> CommandResult<JsonLinesFile> {
    let path = args.dead_letter.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "sixmin-demo-{}-dead-letter.jsonl",
            std::process::id()
        ))
    });
    std::fs::File::create(&path)
        .and_then(|_| JsonLinesFile::open(&path, None))
        .with_context(|| format!("opening dead-letter file `{}`", path.display()))
        .code(Code::Output)
}

async fn run_async(args: DemoArgs) -> CommandResult {
    let pack = sixmin_pipeline::state::load_pack(args.rules.as_deref())?.pack;
    let zone = pack.timezone;
    let today = args
        .date
        .unwrap_or_else(|| sixmin_pipeline::clock::today_in(zone));
    let sim_start = zone
        .from_local_datetime(&today.and_time(args.start_at))
        .earliest()
        .and_then(|instant| instant.timestamp_nanos_opt())
        .context("the start time does not exist on that day")
        .code(Code::Usage)?;
    let mut simulator = Simulator::new(SimConfig {
        seed: args.seed,
        first_day: today,
        days: args.days.unwrap_or(1),
        run_forever: args.days.is_none(),
        calls_per_day: args.calls_per_day,
        timezone: zone,
        overload: !args.no_overload,
        ..SimConfig::default()
    });
    let shared = Shared::new(prometheus::Registry::new());
    let engine = Engine::new(
        pack,
        EngineConfig {
            emit_stops: true,
            allowed_lateness_ms: args
                .judging
                .allowed_lateness
                .unwrap_or(DEFAULT_ALLOWED_LATENESS_MS),
            ..EngineConfig::default()
        },
    );
    let mut watch =
        Watch::new(engine.pack(), engine.counters(), shared.clone()).code(Code::Internal)?;
    let dead_letters = open_dead_letters(&args)?;
    let dead_letter_path: PathBuf = dead_letters.path().to_path_buf();
    let mut files = FileSinks::new(None, Some(dead_letters), None);
    let mut driver = Driver::new(engine, args.judging.max_event_bytes);

    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sixmin_server::serve(
        args.listen,
        shared.clone(),
        bound_tx,
        async {
            // Either a stop request or the sender dropped: both mean stop.
            stop_rx.await.ok();
        },
    ));
    let address: SocketAddr = bound_rx
        .await
        .context("starting the HTTP server")
        .code(Code::Output)?;
    println!(
        "sixmin demo: a simulated call centre on {today}, from {} local time, {}x real time",
        args.start_at.format("%H:%M"),
        args.speed
    );
    println!("{}", sixmin_server::urls(address));
    println!("  dead letters  {}", dead_letter_path.display());
    println!("  press Ctrl-C to stop");

    let wall_start = Instant::now();
    let mut pending = simulator.next_with_arrival();
    let mut line_number = 0u64;
    let mut last_refresh: Option<Instant> = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let deadline = args
        .duration
        .map(|seconds| wall_start + Duration::from_secs_f64(seconds));
    let mut interrupted = false;
    let refresh =
        |driver: &mut Driver, watch: &mut Watch, files: &mut FileSinks| -> Result<(), SinkError> {
            let settled = driver.settle(&mut (&mut *watch, &mut *files))?;
            watch.refresh(settled);
            // Dead letters are readable while the demo runs.
            files.flush()
        };
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::signal::ctrl_c() => {
                interrupted = true;
                break;
            }
        }
        let elapsed = wall_start.elapsed().as_secs_f64();
        let sim_now = sim_start + (elapsed * args.speed * 1e9) as i64;
        // Everything before the start time is fed at once (the morning so far).
        while let Some((arrival, event)) = pending.take() {
            if arrival > sim_now {
                pending = Some((arrival, event));
                break;
            }
            line_number += 1;
            let origin = Origin::Line {
                source: SIMULATOR_SOURCE,
                line: line_number,
            };
            let record = Record::whole(origin, event.line.as_bytes());
            driver
                .feed(record, &mut (&mut watch, &mut files))
                .code(Code::Output)?;
            pending = simulator.next_with_arrival();
        }
        driver
            .advance_to(sim_now, &mut (&mut watch, &mut files))
            .code(Code::Output)?;
        watch.set_ready(true);
        if last_refresh.is_none_or(|at| at.elapsed() >= Duration::from_millis(args.refresh_ms)) {
            refresh(&mut driver, &mut watch, &mut files).code(Code::Output)?;
            last_refresh = Some(Instant::now());
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            break;
        }
    }
    refresh(&mut driver, &mut watch, &mut files).code(Code::Output)?;
    if args.hold && !interrupted {
        println!("sixmin demo: clock frozen at the end of the run; serving until stopped");
        wait_for_stop_signal().await;
    }
    // The server may already have stopped on its own; then there is nothing to tell it.
    stop_tx.send(()).ok();
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("warning: the HTTP server stopped with an error: {error}"),
        Err(error) => eprintln!("warning: the HTTP server task failed: {error}"),
    }
    let counters = driver.counters();
    println!(
        "sixmin demo: stopped; {} events judged, {} calls still open, {} dead letters",
        counters.accepted,
        driver.open_calls(),
        files.dead_letters()
    );
    Ok(())
}

/// Parses `HH:MM`.
pub fn parse_time_of_day(text: &str) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| format!("`{text}` is not a time of day; write `HH:MM`, for example `10:30`"))
}
