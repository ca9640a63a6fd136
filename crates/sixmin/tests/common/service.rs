//! `sixmin run` as a child process of a test: its configuration, its metrics and
//! readiness, `kill -9` and SIGTERM.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::http::{free_port, get};
use super::metrics::series;
use super::{path_str, sixmin_command, sixmin_ok, without_sources, GENERATED_AT};

/// Writes a configuration for a test service and returns its path.
pub fn write_config(
    dir: &Path,
    name: &str,
    bootstrap: &str,
    topic: &str,
    checkpoints: &str,
    extra_client: &[(&str, &str)],
) -> PathBuf {
    let store = if checkpoints == "kafka" {
        format!("store = \"kafka\"\ntopic = \"{topic}.checkpoints\"\n")
    } else {
        format!(
            "store = \"directory\"\ndirectory = \"{}\"\n",
            dir.join(format!("{name}-checkpoints")).display()
        )
    };
    // A killed instance leaves the group after the session timeout: short in tests.
    let mut client =
        String::from("\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"1000\"\n");
    for (key, value) in extra_client {
        client.push_str(&format!("\"{key}\" = \"{value}\"\n"));
    }
    let text = format!(
        "[kafka]\nbootstrap = \"{bootstrap}\"\ngroup_id = \"{topic}.group\"\nevents_topic = \"{topic}\"\n\
         verdicts_topic = \"{topic}.verdicts\"\nbreaches_topic = \"{topic}.breaches\"\n\
         dead_letter_topic = \"{topic}.dead-letters\"\n\n\
         [checkpoint]\n{store}interval = \"3s\"\n\n\
         [server]\nlisten = \"127.0.0.1:{}\"\nrefresh = \"100ms\"\nshutdown_deadline = \"20s\"\n\n\
         [kafka.client]\n{client}",
        free_port()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `sixmin run`.
pub struct Service {
    child: Child,
    /// `host:port` of its HTTP server.
    pub address: String,
    /// Where its standard error goes.
    pub log: PathBuf,
}

impl Service {
    /// Starts `sixmin run --config CONFIG [extra…]`; its output goes to files beside the
    /// configuration.
    pub fn start(config: &Path, extra: &[&str]) -> Service {
        Service::start_with_env(config, extra, &[])
    }

    /// [`Service::start`] with environment variables (`SIXMIN_…` overrides).
    pub fn start_with_env(config: &Path, extra: &[&str], env: &[(&str, &str)]) -> Service {
        let text = std::fs::read_to_string(config).unwrap();
        let address = text
            .lines()
            .find_map(|line| line.strip_prefix("listen = "))
            .unwrap()
            .trim_matches('"')
            .to_owned();
        let stem = config.with_extension("");
        let log = PathBuf::from(format!("{}.{}.log", stem.display(), free_port()));
        let mut args = vec!["run", "--config", path_str(config)];
        args.extend(extra);
        let child = sixmin_command(&args)
            .envs(env.iter().copied())
            .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        Service {
            child,
            address,
            log,
        }
    }

    /// The sum of a metric's series, or `None` when not served (yet).
    pub fn metric(&self, name: &str) -> Option<f64> {
        let (status, body) = get(&self.address, "/metrics").ok()?;
        if status != 200 {
            return None;
        }
        let found = series(&body, name);
        (!found.is_empty()).then(|| found.iter().map(|(_, value)| value).sum())
    }

    /// `/readyz`'s status code (0 when not answering).
    pub fn ready_status(&self) -> u16 {
        get(&self.address, "/readyz").map_or(0, |(status, _)| status)
    }

    /// Waits until `condition` holds, failing the test after `within`.
    pub fn wait_until(
        &mut self,
        what: &str,
        within: Duration,
        condition: impl Fn(&Service) -> bool,
    ) {
        let deadline = Instant::now() + within;
        loop {
            if condition(self) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "sixmin run exited ({status}) while waiting for {what}:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process at once, as a crash would (`kill -9`).
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self.wait(Duration::from_secs(60));
        (status, self.stderr())
    }

    /// Waits for the process to exit by itself.
    pub fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                self.child.kill().ok();
                panic!("sixmin run did not exit in time:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything it wrote to standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// `sixmin report --config … --month` without `inputs.sources`.
pub fn checkpoint_report(config: &Path, month: &str) -> serde_json::Value {
    let text = sixmin_ok(&[
        "report",
        "--config",
        path_str(config),
        "--month",
        month,
        "--generated-at",
        GENERATED_AT,
    ]);
    without_sources(serde_json::from_str(&text).unwrap())
}

/// The report of a clean `sixmin replay --complete` of `events`, without sources.
pub fn replay_report(events: &Path, month: &str) -> serde_json::Value {
    let state = events.with_extension("replay-state");
    sixmin_ok(&[
        "replay",
        path_str(events),
        "--state",
        path_str(&state),
        "--complete",
        "--quiet",
    ]);
    without_sources(super::report_json(&state, month))
}
