//! `sixmin simulate`: writes a simulated call centre's events (contract v1, JSON Lines) to
//! standard output or a file, as fast as possible or paced in (accelerated) real time.

use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use anyhow::Context;
use flate2::write::GzEncoder;
use sixmin_sim::{SimConfig, Simulator};

use crate::cli::SimulateArgs;
use crate::exit::{Code, CommandResult, WithCode};

/// Produces the simulated events to Kafka, keyed by call id, paced like a file.
fn produce_to_kafka(
    simulator: &mut Simulator,
    bootstrap: &str,
    args: &SimulateArgs,
) -> CommandResult {
    let producer = sixmin_kafka::EventProducer::new(bootstrap, &args.topic).code(Code::Usage)?;
    let paced = args.speed.filter(|speed| *speed > 0.0);
    let wall_start = Instant::now();
    let mut first_arrival: Option<i64> = None;
    let mut produced = 0u64;
    while let Some((arrival, event)) = simulator.next_with_arrival() {
        if let Some(speed) = paced {
            let first = *first_arrival.get_or_insert(arrival);
            let due = Duration::from_secs_f64((arrival - first) as f64 / 1e9 / speed);
            if let Some(wait) = due.checked_sub(wall_start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        // The simulator writes valid events; its call id is the message key.
        let decoded = sixmin_core::decode_event(event.line.as_bytes())
            .map_err(|invalid| anyhow::anyhow!("the simulator wrote an invalid event: {invalid}"))
            .code(Code::Internal)?;
        producer
            .send(&decoded.call_id, event.line.as_bytes())
            .code(Code::Output)?;
        produced += 1;
    }
    producer
        .flush(Duration::from_secs(120))
        .context("waiting for the broker to acknowledge every event")
        .code(Code::Output)?;
    eprintln!(
        "sixmin simulate: {produced} events produced to topic `{}` at {bootstrap}",
        args.topic
    );
    Ok(())
}

/// Runs `sixmin simulate`.
pub fn run(args: SimulateArgs) -> CommandResult {
    let pack = sixmin_pipeline::state::load_pack(args.rules.as_deref())?.pack;
    let first_day = args
        .date
        .unwrap_or_else(|| sixmin_pipeline::clock::today_in(pack.timezone));
    let mut simulator = Simulator::new(SimConfig {
        seed: args.seed,
        first_day,
        days: args.days,
        run_forever: args.forever,
        calls_per_day: args.calls_per_day,
        timezone: pack.timezone,
        overload: !args.no_overload,
        faults: !args.no_faults,
        ..SimConfig::default()
    });
    if let Some(bootstrap) = &args.kafka {
        return produce_to_kafka(&mut simulator, bootstrap, &args);
    }
    let to_stdout = args.out.as_os_str() == "-";
    let sink: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        let file = std::fs::File::create(&args.out)
            .with_context(|| format!("creating `{}`", args.out.display()))
            .code(Code::Output)?;
        if args
            .out
            .extension()
            .is_some_and(|extension| extension == "gz")
        {
            Box::new(GzEncoder::new(file, flate2::Compression::default()))
        } else {
            Box::new(file)
        }
    };
    let mut writer = BufWriter::with_capacity(1 << 16, sink);
    let paced = args.speed.filter(|speed| *speed > 0.0);
    let wall_start = Instant::now();
    let mut first_arrival: Option<i64> = None;
    let mut written = 0u64;
    while let Some((arrival, event)) = simulator.next_with_arrival() {
        if let Some(speed) = paced {
            let first = *first_arrival.get_or_insert(arrival);
            let due = Duration::from_secs_f64((arrival - first) as f64 / 1e9 / speed);
            if let Some(wait) = due.checked_sub(wall_start.elapsed()) {
                if writer.flush().is_err() {
                    return Ok(()); // the reader went away (a closed pipe): done
                }
                std::thread::sleep(wait);
            }
        }
        let result = writer
            .write_all(event.line.as_bytes())
            .and_then(|()| writer.write_all(b"\n"));
        if let Err(error) = result {
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(error)
                .with_context(|| format!("writing `{}`", args.out.display()))
                .code(Code::Output);
        }
        written += 1;
    }
    writer
        .flush()
        .with_context(|| format!("writing `{}`", args.out.display()))
        .code(Code::Output)?;
    drop(writer);
    if !to_stdout {
        eprintln!(
            "sixmin simulate: {written} events written to {}",
            args.out.display()
        );
    }
    Ok(())
}
