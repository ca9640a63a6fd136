//! `sixmin`: proves, call by call, whether a business obeys the statutory limits on how
//! long a caller waits for a human. This binary is glue: the engine is `sixmin-core`,
//! rule packs are `sixmin-config`, the state directory is `sixmin-store`.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod demo;
mod exit;
mod explain;
mod logging;
mod replay;
mod report;
mod rules;
mod run;
mod simulate;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code as u8)
        }
    }
}
