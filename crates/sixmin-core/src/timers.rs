//! Per-call triggers on event time: a min-heap with lazy invalidation.
//!
//! Each open call (by slot) has at most one *armed* trigger per queue. Re-arming a call
//! pushes a new heap entry only when its trigger moves earlier; an entry that is too early
//! pops, the caller looks at the call and re-arms it. Entries of calls re-armed since, or
//! closed, are recognised by their sequence number and skipped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::Nanos;

/// One queue of triggers.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<(Nanos, usize, u64)>>,
    armed: Vec<Option<(Nanos, u64)>>,
    next_seq: u64,
}

impl TimerQueue {
    /// Arms `slot` at `trigger` unless it is already armed at or before it.
    pub fn schedule(&mut self, slot: usize, trigger: Option<Nanos>) {
        let Some(trigger) = trigger else {
            return;
        };
        if self.armed(slot).is_some_and(|armed| armed <= trigger) {
            return;
        }
        self.arm(slot, trigger);
    }

    /// Arms `slot` at exactly `trigger`.
    pub fn arm(&mut self, slot: usize, trigger: Nanos) {
        if self.armed.len() <= slot {
            self.armed.resize(slot + 1, None);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.armed[slot] = Some((trigger, seq));
        self.heap.push(Reverse((trigger, slot, seq)));
    }

    fn armed(&self, slot: usize) -> Option<Nanos> {
        self.armed
            .get(slot)
            .copied()
            .flatten()
            .map(|(trigger, _)| trigger)
    }

    /// Disarms `slot` (its heap entries become stale).
    pub fn disarm(&mut self, slot: usize) {
        if let Some(armed) = self.armed.get_mut(slot) {
            *armed = None;
        }
    }

    /// Takes the earliest armed trigger before `instant` and returns its slot, disarmed.
    pub fn pop_before(&mut self, instant: Nanos) -> Option<usize> {
        while let Some(&Reverse((trigger, slot, seq))) = self.heap.peek() {
            if trigger >= instant {
                return None;
            }
            self.heap.pop();
            if self.armed.get(slot).copied().flatten() == Some((trigger, seq)) {
                self.armed[slot] = None;
                return Some(slot);
            }
        }
        None
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.armed.clear();
    }
}
