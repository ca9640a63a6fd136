//! Watching an engine while it runs: metrics, sliding windows, recent live breaches and
//! the published status view; and the HTTP server that shows them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use sixmin_core::{Engine, InputCounters, LiveBreach, Output, RulePack};
use sixmin_metrics::{LiveWindows, Metrics};
use sixmin_server::{Shared, StatusView};

/// What watches an engine: fed every output, refreshed now and then.
pub struct Watch {
    pack: RulePack,
    metrics: Metrics,
    windows: LiveWindows,
    recent: VecDeque<LiveBreach>,
    live_total: u64,
    shared: Arc<Shared>,
}

impl Watch {
    /// Registers the metrics of `engine` into the shared registry.
    pub fn new(engine: &Engine, shared: Arc<Shared>) -> anyhow::Result<Watch> {
        let mut watch = Watch::for_pack(engine.pack(), shared)?;
        // A restored state's counts are history: this process counts from here.
        watch.metrics.count_inputs_from(engine.counters());
        Ok(watch)
    }

    /// Registers the metrics of engines judging by `pack` into the shared registry,
    /// counting inputs from zero.
    pub fn for_pack(pack: &RulePack, shared: Arc<Shared>) -> anyhow::Result<Watch> {
        let metrics = Metrics::register(&shared.registry, pack, Default::default())?;
        // CPU, memory and file descriptors of this process (`process_*`).
        shared.registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Watch {
            pack: pack.clone(),
            metrics,
            windows: LiveWindows::default(),
            recent: VecDeque::new(),
            live_total: 0,
            shared,
        })
    }

    /// Takes in one engine output.
    pub fn observe(&mut self, output: &Output) {
        match output {
            Output::Verdict(verdict) => self.metrics.observe_verdict(verdict),
            Output::LiveBreach(breach) => {
                self.metrics.observe_live_breach(breach);
                self.live_total += 1;
                self.recent.push_back(breach.clone());
                while self.recent.len() > sixmin_server::status::RECENT_BREACHES {
                    self.recent.pop_front();
                }
            }
            Output::Stopped(stop) => self.windows.record(stop),
        }
    }

    /// Recomputes the gauges and publishes a fresh status view.
    pub fn refresh(&mut self, engine: &Engine) {
        // Computed once, for both the gauges and the page.
        let waiting = engine.waiting_now();
        let calendar = engine.calendar_tallies();
        self.metrics
            .refresh(engine, &self.windows, &waiting, calendar.as_ref());
        let view = StatusView::build(
            engine,
            &waiting,
            calendar.as_ref(),
            &self.recent,
            self.live_total,
        );
        self.shared.publish(view);
    }

    /// Recomputes the gauges and the status view of several engines shown as one (the
    /// partitions of a topic): `counters` are the events they took in since this process
    /// started.
    pub fn refresh_many(&mut self, engines: &[&Engine], counters: &InputCounters) {
        let clock = engines.iter().filter_map(|engine| engine.clock()).max();
        let mut waiting = Vec::new();
        let mut calendar: Option<sixmin_core::CalendarTallies> = None;
        if let Some(now) = clock {
            let today = sixmin_core::time::local_date(now, self.pack.timezone);
            for engine in engines {
                waiting.extend(engine.waiting_now());
                if let Some(tallies) = engine.calendar_tallies_on(today) {
                    match calendar.as_mut() {
                        Some(merged) => merged.merge(&tallies),
                        None => calendar = Some(tallies),
                    }
                }
            }
        }
        self.metrics
            .refresh_parts(counters, clock, &self.windows, &waiting, calendar.as_ref());
        let view = StatusView::build_parts(
            &self.pack,
            clock,
            &waiting,
            calendar.as_ref(),
            &self.recent,
            self.live_total,
        );
        self.shared.publish(view);
    }

    /// Marks the service ready or not.
    pub fn set_ready(&self, ready: bool) {
        self.shared.set_ready(ready);
    }
}

/// An engine with its watch, as the demo runs it.
pub struct LiveEngine {
    /// The engine.
    pub engine: Engine,
    /// Its watch.
    pub watch: Watch,
    outputs: Vec<Output>,
}

impl LiveEngine {
    /// Wraps an engine; metrics register into the shared registry.
    pub fn new(engine: Engine, shared: Arc<Shared>) -> anyhow::Result<LiveEngine> {
        let watch = Watch::new(&engine, shared)?;
        Ok(LiveEngine {
            engine,
            watch,
            outputs: Vec::new(),
        })
    }

    /// Decodes and applies one input line (invalid ones are counted).
    pub fn ingest_line(&mut self, line: &[u8]) {
        match sixmin_core::decode_event(line) {
            Ok(ref event) => {
                self.engine.ingest(event, &mut self.outputs);
            }
            Err(invalid) => self.engine.note_invalid(invalid.reason.as_str()),
        }
        self.handle_outputs();
    }

    /// Moves the engine clock to `now` (live mode) and handles what becomes due.
    pub fn advance_to(&mut self, now: i64) {
        self.engine.advance_to(now, &mut self.outputs);
        self.handle_outputs();
    }

    fn handle_outputs(&mut self) {
        for output in self.outputs.drain(..) {
            self.watch.observe(&output);
        }
    }

    /// Settles the engine, then recomputes the gauges and publishes a fresh status view.
    pub fn refresh(&mut self) {
        self.engine.settle(&mut self.outputs);
        self.handle_outputs();
        self.watch.refresh(&self.engine);
    }
}

/// An HTTP server running on its own thread (for the synchronous commands).
pub struct BackgroundServer {
    /// The bound address.
    pub address: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl BackgroundServer {
    /// Binds `listen` and serves `shared`.
    pub fn start(listen: SocketAddr, shared: Arc<Shared>) -> anyhow::Result<BackgroundServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting the HTTP runtime")?;
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = runtime.spawn(sixmin_server::serve(listen, shared, bound_tx, async {
            // Either a stop request or the sender dropped: both mean stop.
            stop_rx.await.ok();
        }));
        let address = runtime
            .block_on(bound_rx)
            .with_context(|| format!("binding `{listen}`"))?;
        Ok(BackgroundServer {
            address,
            runtime,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }

    /// Sets `stop` when Ctrl-C or SIGTERM arrives.
    pub fn on_stop_signal(&self, stop: Arc<std::sync::atomic::AtomicBool>) {
        self.runtime.spawn(async move {
            wait_for_stop_signal().await;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub fn wait_for_stop_signal(&self) {
        self.runtime.block_on(wait_for_stop_signal());
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The server may already have stopped on its own.
            stop.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            self.runtime.block_on(task).ok();
        }
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn wait_for_stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// Prints where the server can be reached.
pub fn print_urls(address: SocketAddr) {
    println!("  status page   http://{address}/   (Hebrew: http://{address}/?lang=he)");
    println!("  metrics       http://{address}/metrics");
    println!("  health        http://{address}/healthz  http://{address}/readyz");
}
