//! Starting `sixmin demo` as a child process for tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running demo; killed when dropped.
pub struct Demo {
    pub child: Child,
    /// `host:port` of its HTTP server.
    pub address: String,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Demo {
    /// Starts `sixmin demo --listen 127.0.0.1:0` with extra arguments and waits for its
    /// address.
    // The child is killed and waited for when the `Demo` is dropped.
    #[allow(clippy::zombie_processes)]
    pub fn start(extra: &[&str]) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sixmin"))
            .arg("demo")
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the demo prints its address");
            if let Some(rest) = line.trim().strip_prefix("status page") {
                let url = rest.split_whitespace().next().unwrap();
                let address = url
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .to_owned();
                return Demo {
                    child,
                    address,
                    lines,
                };
            }
        }
    }

    /// Starts the demo on `date` at 600x real time from 10:50, refreshing every
    /// `refresh_ms`: the late-morning overload episode (queues fill, callers pass the
    /// limit, live breaches) comes within seconds of real time. `extra` adds arguments.
    pub fn overload(date: &str, refresh_ms: &str, extra: &[&str]) -> Demo {
        let mut args = vec![
            "--speed",
            "600",
            "--date",
            date,
            "--start-at",
            "10:50",
            "--refresh-ms",
            refresh_ms,
        ];
        args.extend_from_slice(extra);
        Demo::start(&args)
    }

    /// Waits until the demo prints a line containing `text`.
    pub fn wait_for_line(&self, text: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if line.contains(text) {
                return true;
            }
        }
        false
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
