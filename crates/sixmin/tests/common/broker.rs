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
    _data: tempfile::TempDir,
}

impl Broker {
    /// Starts `tansu` (in-memory storage), or uses `KAFKA_BOOTSTRAP`.
    pub fn start() -> Broker {
        let data = tempfile::tempdir().unwrap();
        if let Ok(bootstrap) = std::env::var("KAFKA_BOOTSTRAP") {
            return Broker {
                child: None,
                bootstrap,
                _data: data,
            };
        }
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        #[allow(clippy::zombie_processes)] // killed and waited for on drop
        let child = Command::new("tansu")
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("`tansu` is installed (scripts/install-prerequisites installs it), or set KAFKA_BOOTSTRAP");
        let bootstrap = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(&bootstrap).is_err() {
            assert!(
                Instant::now() < deadline,
                "the broker did not listen on {bootstrap}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Broker {
            child: Some(child),
            bootstrap,
            _data: data,
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
        if let Some(child) = self.child.as_mut() {
            child.kill().ok();
            child.wait().ok();
        }
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
