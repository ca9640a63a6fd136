//! Watching engines while they run: metrics, sliding windows, recent live breaches and
//! the published status view. A [`Watch`] is a sink: it is handed every output, and
//! refreshed now and then from settled engines.

use std::collections::VecDeque;
use std::sync::Arc;

use sixmin_core::{InputCounters, LiveBreach, Output, RulePack};
use sixmin_metrics::{LiveWindows, Metrics, MetricsError};
use sixmin_pipeline::{DeadLetter, LiveView, Settled, Sink, SinkError};

use crate::{Shared, StatusView};

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
    /// Registers the metrics of engines judging by `pack` into the shared registry,
    /// counting inputs from `already` (a restored state's counts are history: this
    /// process counts from there).
    pub fn new(
        pack: &RulePack,
        already: &InputCounters,
        shared: Arc<Shared>,
    ) -> Result<Watch, MetricsError> {
        let mut watch = Watch::for_pack(pack, shared)?;
        watch.metrics.count_inputs_from(already);
        Ok(watch)
    }

    /// Registers the metrics of engines judging by `pack` into the shared registry,
    /// counting inputs from zero.
    pub fn for_pack(pack: &RulePack, shared: Arc<Shared>) -> Result<Watch, MetricsError> {
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
                while self.recent.len() > crate::status::RECENT_BREACHES {
                    self.recent.pop_front();
                }
            }
            Output::Stopped(stop) => self.windows.record(stop),
        }
    }

    /// Recomputes the gauges and publishes a fresh status view of one engine.
    pub fn refresh(&mut self, engine: Settled<'_>) {
        // Computed once, for both the gauges and the page.
        let waiting = engine.waiting_now();
        let calendar = engine.calendar_tallies();
        self.metrics
            .refresh(&engine, &self.windows, &waiting, calendar.as_ref());
        let view = StatusView::build(
            &engine,
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
    pub fn refresh_many(&mut self, engines: &[Settled<'_>], counters: &InputCounters) {
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

impl LiveView for Watch {
    fn refresh(&mut self, engine: Settled<'_>) {
        Watch::refresh(self, engine);
    }
}

impl Sink for Watch {
    fn output(&mut self, output: &Output) -> Result<(), SinkError> {
        self.observe(output);
        Ok(())
    }

    /// Dead letters are counted by the engine and shown from its counters.
    fn dead_letter(&mut self, _letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        Ok(())
    }
}
