//! A real Kafka-protocol broker for tests: `tansu` started on a free loopback port, or
//! any broker named by `KAFKA_BOOTSTRAP` (Apache Kafka, Redpanda).
#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

use super::http::free_port;

/// A broker for one test; a started one is stopped when dropped.
pub struct Broker {
    child: Option<Child>,
    /// `host:port` for clients.
    pub bootstrap: String,
    port: u16,
    storage: &'static str,
    data: tempfile::TempDir,
}

/// An external broker named by `KAFKA_BOOTSTRAP`, if any.
fn external_bootstrap() -> Option<String> {
    std::env::var("KAFKA_BOOTSTRAP").ok()
}

impl Broker {
    /// Starts `tansu` (in-memory storage), or uses `KAFKA_BOOTSTRAP`.
    pub fn start() -> Broker {
        Broker::start_with("memory://tansu/")
    }

    /// Starts `tansu` with SQLite storage, so that topics and committed offsets survive
    /// [`Broker::stop`] and [`Broker::restart`]. Always a process of the test's own (the
    /// test stops it), whatever `KAFKA_BOOTSTRAP` says.
    pub fn start_durable() -> Broker {
        Broker::start_with("sqlite://tansu.db")
    }

    fn start_with(storage: &'static str) -> Broker {
        let data = tempfile::tempdir().unwrap();
        let external = external_bootstrap().filter(|_| storage.starts_with("memory"));
        if let Some(bootstrap) = external {
            return Broker {
                child: None,
                bootstrap,
                port: 0,
                storage,
                data,
            };
        }
        let port = free_port();
        let mut broker = Broker {
            child: None,
            bootstrap: format!("127.0.0.1:{port}"),
            port,
            storage,
            data,
        };
        broker.restart();
        broker
    }

    /// Stops the broker process (its SQLite data stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts the broker process again on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        let url = format!("tcp://127.0.0.1:{}", self.port);
        #[allow(clippy::zombie_processes)] // killed and waited for on drop
        let child = Command::new("tansu")
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", self.storage])
            .current_dir(self.data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("`tansu` is installed (scripts/install-prerequisites installs it), or set KAFKA_BOOTSTRAP");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(&self.bootstrap).is_err() {
            assert!(
                Instant::now() < deadline,
                "the broker did not listen on {}",
                self.bootstrap
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Creates a topic with `partitions` partitions, retrying while the broker starts.
    pub fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
            let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
            let result = runtime.block_on(admin.create_topics([&topic], &options));
            match result {
                Ok(results) if results.iter().all(Result::is_ok) => return,
                other => {
                    assert!(
                        Instant::now() < deadline,
                        "creating topic `{name}`: {other:?}"
                    );
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A topic name no other test uses.
pub fn unique_topic(prefix: &str) -> String {
    let nanos = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}
