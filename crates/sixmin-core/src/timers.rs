//! Per-call triggers on event time: an indexed 4-ary min-heap.
//!
//! Each open call (by slot) has at most one trigger per queue, kept *exact*: re-arming a
//! call moves its one heap entry up or down in place, so the heap never holds stale
//! entries and a pop is always a trigger that is really due. Ties between triggers at the
//! same instant pop in slot order.

use crate::time::Nanos;

/// Children per heap node: a shallower tree than a binary heap, and a node's children
/// share a cache line.
const ARITY: usize = 4;

/// Marks a slot with no trigger.
const UNARMED: u32 = u32::MAX;

/// One queue of triggers.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    /// (trigger, slot), a min-heap on that pair.
    heap: Vec<(Nanos, u32)>,
    /// Where each slot's entry sits in `heap`, or [`UNARMED`].
    position: Vec<u32>,
}

impl TimerQueue {
    /// Sets `slot`'s trigger to exactly `trigger`, or removes it for `None`.
    pub fn set(&mut self, slot: usize, trigger: Option<Nanos>) {
        let Some(trigger) = trigger else {
            self.disarm(slot);
            return;
        };
        let Ok(slot_key) = u32::try_from(slot) else {
            return;
        };
        if self.position.len() <= slot {
            self.position.resize(slot + 1, UNARMED);
        }
        let at = self.position[slot];
        if at == UNARMED {
            self.heap.push((trigger, slot_key));
            let last = self.heap.len() - 1;
            self.position[slot] = last as u32;
            self.sift_up(last);
            return;
        }
        let at = at as usize;
        let previous = self.heap[at].0;
        if previous == trigger {
            return;
        }
        self.heap[at].0 = trigger;
        if trigger < previous {
            self.sift_up(at);
        } else {
            self.sift_down(at);
        }
    }

    /// Removes `slot`'s trigger, if it has one.
    pub fn disarm(&mut self, slot: usize) {
        let Some(&at) = self.position.get(slot) else {
            return;
        };
        if at == UNARMED {
            return;
        }
        self.remove_at(at as usize);
    }

    /// Takes the earliest trigger before `instant` and returns its slot, now unarmed.
    pub fn pop_before(&mut self, instant: Nanos) -> Option<usize> {
        let &(trigger, slot) = self.heap.first()?;
        if trigger >= instant {
            return None;
        }
        self.remove_at(0);
        Some(slot as usize)
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.position.clear();
    }

    /// Removes the entry at heap index `at`.
    fn remove_at(&mut self, at: usize) {
        let removed_slot = self.heap[at].1 as usize;
        self.position[removed_slot] = UNARMED;
        let last = self.heap.len() - 1;
        if at == last {
            self.heap.pop();
            return;
        }
        let moved = self.heap[last];
        self.heap.pop();
        let removed_key = std::mem::replace(&mut self.heap[at], moved);
        self.position[moved.1 as usize] = at as u32;
        if moved < removed_key {
            self.sift_up(at);
        } else {
            self.sift_down(at);
        }
    }

    fn sift_up(&mut self, mut at: usize) {
        let entry = self.heap[at];
        while at > 0 {
            let parent = (at - 1) / ARITY;
            let above = self.heap[parent];
            if above <= entry {
                break;
            }
            self.heap[at] = above;
            self.position[above.1 as usize] = at as u32;
            at = parent;
        }
        self.heap[at] = entry;
        self.position[entry.1 as usize] = at as u32;
    }

    fn sift_down(&mut self, mut at: usize) {
        let entry = self.heap[at];
        let len = self.heap.len();
        loop {
            let first_child = at * ARITY + 1;
            if first_child >= len {
                break;
            }
            let children = first_child..len.min(first_child + ARITY);
            let mut smallest = first_child;
            for child in children {
                if self.heap[child] < self.heap[smallest] {
                    smallest = child;
                }
            }
            let below = self.heap[smallest];
            if entry <= below {
                break;
            }
            self.heap[at] = below;
            self.position[below.1 as usize] = at as u32;
            at = smallest;
        }
        self.heap[at] = entry;
        self.position[entry.1 as usize] = at as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Pops everything before `instant`, in order.
    fn drain(queue: &mut TimerQueue, instant: Nanos) -> Vec<usize> {
        std::iter::from_fn(|| queue.pop_before(instant)).collect()
    }

    #[test]
    fn pops_in_trigger_then_slot_order_and_only_before_the_instant() {
        let mut queue = TimerQueue::default();
        queue.set(3, Some(50));
        queue.set(1, Some(20));
        queue.set(2, Some(20));
        queue.set(0, Some(90));
        assert_eq!(drain(&mut queue, 50), vec![1, 2]);
        assert_eq!(drain(&mut queue, 100), vec![3, 0]);
        assert_eq!(queue.pop_before(i64::MAX), None);
    }

    #[test]
    fn moving_a_trigger_later_or_earlier_keeps_one_entry() {
        let mut queue = TimerQueue::default();
        queue.set(0, Some(10));
        queue.set(1, Some(30));
        queue.set(0, Some(40));
        assert_eq!(drain(&mut queue, 35), vec![1]);
        queue.set(0, Some(5));
        assert_eq!(drain(&mut queue, 100), vec![0]);
    }

    #[test]
    fn none_and_disarm_remove_the_trigger() {
        let mut queue = TimerQueue::default();
        queue.set(0, Some(10));
        queue.set(1, Some(11));
        queue.set(0, None);
        queue.disarm(1);
        queue.disarm(7);
        assert_eq!(queue.pop_before(i64::MAX), None);
    }

    proptest! {
        /// Against a plain model: any sequence of sets and disarms, then a drain, pops
        /// exactly the armed slots, earliest first.
        #[test]
        fn behaves_like_a_sorted_model(
            operations in proptest::collection::vec((0usize..40, proptest::option::of(-50i64..50)), 0..300),
            cut in -60i64..60,
        ) {
            let mut queue = TimerQueue::default();
            let mut model: Vec<Option<Nanos>> = vec![None; 40];
            for (slot, trigger) in operations {
                queue.set(slot, trigger);
                model[slot] = trigger;
            }
            let mut expected: Vec<(Nanos, usize)> = model
                .iter()
                .enumerate()
                .filter_map(|(slot, trigger)| trigger.map(|trigger| (trigger, slot)))
                .collect();
            expected.sort();
            let before: Vec<usize> = expected.iter().filter(|(t, _)| *t < cut).map(|(_, s)| *s).collect();
            let after: Vec<usize> = expected.iter().filter(|(t, _)| *t >= cut).map(|(_, s)| *s).collect();
            prop_assert_eq!(drain(&mut queue, cut), before);
            prop_assert_eq!(drain(&mut queue, i64::MAX), after);
        }
    }
}
