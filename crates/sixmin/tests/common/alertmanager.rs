//! The real Alertmanager (Debian's `prometheus-alertmanager`) on loopback, and a webhook
//! receiver that records what it delivers.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use super::http;

/// The Debian package's binary.
const ALERTMANAGER: &str = "prometheus-alertmanager";

/// A running Alertmanager; killed when dropped.
pub struct Alertmanager {
    child: Child,
    /// `host:port` of its HTTP API.
    pub address: String,
    _data: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Alertmanager {
    /// Starts Alertmanager with the repository's example configuration, every webhook
    /// URL pointed at `webhook` (`http://host:port`) instead of the placeholder gateway.
    pub fn with_example_config(webhook: &str) -> Alertmanager {
        let example = super::repo_root().join("deploy/alertmanager/alertmanager.yml");
        let text = std::fs::read_to_string(example).unwrap();
        let placeholder = "http://alert-gateway.example.internal";
        assert!(
            text.contains(placeholder),
            "the example's receivers changed"
        );
        Alertmanager::start(&text.replace(placeholder, webhook))
    }

    /// Starts Alertmanager with `config`, clustering off, and waits until it is ready.
    pub fn start(config: &str) -> Alertmanager {
        let data = tempfile::tempdir().unwrap();
        let config_path = data.path().join("alertmanager.yml");
        std::fs::write(&config_path, config).unwrap();
        let address = format!("127.0.0.1:{}", http::free_port());
        let child = Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.path={}", data.path().display()))
            .arg(format!("--web.listen-address={address}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Debian's `prometheus-alertmanager` is installed (scripts/test installs it)");
        let alertmanager = Alertmanager {
            child,
            address,
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http::get(&alertmanager.address, "/-/ready") {
                return alertmanager;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("Alertmanager did not become ready");
    }

    /// Posts alerts (a JSON array of `{labels, annotations, startsAt}`) to its API.
    pub fn post_alerts(&self, alerts: &serde_json::Value) {
        let status = http::post_json(&self.address, "/api/v2/alerts", alerts).unwrap();
        assert_eq!(status, 200, "Alertmanager refused the alerts");
    }

    /// The alerts it holds, with their state (`active`, `suppressed`) and inhibitors.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        let (status, body) = http::get(&self.address, "/api/v2/alerts").unwrap();
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Vec<serde_json::Value>>(&body).unwrap()
    }
}

/// One notification a receiver got: the URL path it was sent to and the payload.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub path: String,
    pub payload: serde_json::Value,
}

impl Delivery {
    /// The notification's alerts with the given name.
    pub fn alerts_named(&self, name: &str) -> Vec<&serde_json::Value> {
        self.payload["alerts"]
            .as_array()
            .map(|alerts| {
                alerts
                    .iter()
                    .filter(|alert| alert["labels"]["alertname"] == name)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An HTTP server on loopback that answers every POST with 200 and records its body.
pub struct Webhook {
    /// `http://host:port`, the base URL to give Alertmanager.
    pub url: String,
    deliveries: Receiver<Delivery>,
    /// Everything received so far, in order.
    pub received: Vec<Delivery>,
}

impl Webhook {
    /// Starts the receiver on a free port.
    pub fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (sender, deliveries) = channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                if let Some(delivery) = read_delivery(stream) {
                    if sender.send(delivery).is_err() {
                        break;
                    }
                }
            }
        });
        Webhook {
            url,
            deliveries,
            received: Vec::new(),
        }
    }

    /// Waits until a delivery satisfies `wanted`; returns it. Every delivery seen on the
    /// way is kept in `received`.
    pub fn wait_for(
        &mut self,
        within: Duration,
        mut wanted: impl FnMut(&Delivery) -> bool,
    ) -> Option<Delivery> {
        if let Some(found) = self.received.iter().find(|delivery| wanted(delivery)) {
            return Some(found.clone());
        }
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(delivery) = self.deliveries.recv_timeout(left) else {
                break;
            };
            self.received.push(delivery.clone());
            if wanted(&delivery) {
                return Some(delivery);
            }
        }
        None
    }
}

/// Reads one HTTP request (headers, then `Content-Length` bytes) and answers 200.
fn read_delivery(stream: TcpStream) -> Option<Delivery> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let path = request_line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let mut stream = reader.into_inner();
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    let payload = serde_json::from_slice(&body).ok()?;
    Some(Delivery { path, payload })
}
