//! Writes a simulated call centre's events to standard output as JSON Lines, in arrival
//! order.
//!
//! ```text
//! cargo run --release -p sixmin-sim --example simulate -- [--days N] [--calls-per-day N]
//!     [--seed N] [--no-overload] [--no-faults] [--forever] [--count]
//! ```
//!
//! `--forever` streams without end (stop it with Ctrl-C); `--count` prints only the number
//! of events and the time it took to generate them (to standard error).

use std::io::{BufWriter, Write};
use std::time::Instant;

use sixmin_sim::{SimConfig, Simulator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = SimConfig::default();
    let mut count_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--days" => config.days = args.next().ok_or("--days needs a value")?.parse()?,
            "--calls-per-day" => {
                config.calls_per_day = args
                    .next()
                    .ok_or("--calls-per-day needs a value")?
                    .parse()?;
            }
            "--seed" => config.seed = args.next().ok_or("--seed needs a value")?.parse()?,
            "--no-overload" => config.overload = false,
            "--no-faults" => config.faults = false,
            "--forever" => config.run_forever = true,
            "--count" => count_only = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let started = Instant::now();
    let mut events: u64 = 0;
    let mut bytes: u64 = 0;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for event in Simulator::new(config) {
        events += 1;
        bytes += event.line.len() as u64 + 1;
        if !count_only {
            out.write_all(event.line.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    eprintln!(
        "{events} events, {bytes} bytes in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
