//! The live engine: the engine plus everything that watches it while it runs (metrics,
//! sliding windows, recent live breaches, the published status view).

use std::collections::VecDeque;
use std::sync::Arc;

use sixmin_core::decode::decode_event_with_limit;
use sixmin_core::{Disposition, Engine, LiveBreach, Output};
use sixmin_metrics::{LiveWindows, Metrics};
use sixmin_server::{Shared, StatusView};

/// An engine being watched.
pub struct LiveEngine {
    /// The engine.
    pub engine: Engine,
    metrics: Metrics,
    windows: LiveWindows,
    recent: VecDeque<LiveBreach>,
    live_total: u64,
    shared: Arc<Shared>,
    outputs: Vec<Output>,
    max_event_bytes: usize,
}

impl LiveEngine {
    /// Wraps an engine; metrics register into the shared registry.
    pub fn new(engine: Engine, shared: Arc<Shared>) -> anyhow::Result<LiveEngine> {
        let mut metrics = Metrics::register(&shared.registry, engine.pack(), Default::default())?;
        // CPU, memory and file descriptors of this process (`process_*`).
        shared.registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        metrics.count_inputs_from(engine.counters());
        Ok(LiveEngine {
            engine,
            metrics,
            windows: LiveWindows::default(),
            recent: VecDeque::new(),
            live_total: 0,
            shared,
            outputs: Vec::new(),
            max_event_bytes: sixmin_core::decode::DEFAULT_MAX_EVENT_BYTES,
        })
    }

    /// Decodes and applies one input line (invalid ones are counted).
    pub fn ingest_line(&mut self, line: &[u8]) -> Option<Disposition> {
        let disposition = match decode_event_with_limit(line, self.max_event_bytes) {
            Ok(event) => Some(self.engine.ingest(&event, &mut self.outputs)),
            Err(invalid) => {
                self.engine.note_invalid(invalid.reason.as_str());
                None
            }
        };
        self.handle_outputs();
        disposition
    }

    /// Moves the engine clock to `now` (live mode) and handles what becomes due.
    pub fn advance_to(&mut self, now: i64) {
        self.engine.advance_to(now, &mut self.outputs);
        self.handle_outputs();
    }

    fn handle_outputs(&mut self) {
        for output in self.outputs.drain(..) {
            match output {
                Output::Verdict(verdict) => self.metrics.observe_verdict(&verdict),
                Output::LiveBreach(breach) => {
                    self.metrics.observe_live_breach(&breach);
                    self.live_total += 1;
                    self.recent.push_back(breach);
                    while self.recent.len() > sixmin_server::status::RECENT_BREACHES {
                        self.recent.pop_front();
                    }
                }
                Output::Stopped(stop) => self.windows.record(&stop),
            }
        }
    }

    /// Recomputes the gauges and publishes a fresh status view.
    pub fn refresh(&mut self) {
        self.metrics.refresh(&self.engine, &self.windows);
        let view = StatusView::build(&self.engine, &self.recent, self.live_total);
        self.shared.publish(view);
    }
}
