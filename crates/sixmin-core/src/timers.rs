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

/// A heap entry: the trigger and the slot in one integer whose order is (trigger, slot),
/// so comparing two entries is one comparison with no branch on a tie.
type Key = u128;

/// The entry of `slot` triggering at `trigger`.
fn key(trigger: Nanos, slot: u32) -> Key {
    // Flipping the sign bit orders negative instants before positive ones as unsigned.
    let trigger = (trigger as u64) ^ (1 << 63);
    (u128::from(trigger) << 32) | u128::from(slot)
}

fn trigger_of(key: Key) -> Nanos {
    (((key >> 32) as u64) ^ (1 << 63)) as Nanos
}

fn slot_of(key: Key) -> usize {
    (key as u32) as usize
}

/// One queue of triggers.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    /// A min-heap of (trigger, slot) keys.
    heap: Vec<Key>,
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
        let entry = key(trigger, slot_key);
        let at = self.position[slot];
        if at == UNARMED {
            self.heap.push(entry);
            self.sift_up(self.heap.len() - 1, entry);
            return;
        }
        let at = at as usize;
        let previous = self.heap[at];
        if entry < previous {
            self.sift_up(at, entry);
        } else if entry > previous {
            self.sift_down(at, entry);
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
        let &first = self.heap.first()?;
        if trigger_of(first) >= instant {
            return None;
        }
        self.remove_at(0);
        Some(slot_of(first))
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.position.clear();
    }

    /// Removes the entry at heap index `at`.
    fn remove_at(&mut self, at: usize) {
        let removed = self.heap[at];
        self.position[slot_of(removed)] = UNARMED;
        let Some(moved) = self.heap.pop() else {
            return;
        };
        if at == self.heap.len() {
            return;
        }
        if moved < removed {
            self.sift_up(at, moved);
        } else {
            self.sift_down(at, moved);
        }
    }

    /// Places `entry` at `at` or above it.
    fn sift_up(&mut self, mut at: usize, entry: Key) {
        while at > 0 {
            let parent = (at - 1) / ARITY;
            let above = self.heap[parent];
            if above <= entry {
                break;
            }
            self.place(at, above);
            at = parent;
        }
        self.place(at, entry);
    }

    /// Places `entry` at `at` or below it.
    fn sift_down(&mut self, mut at: usize, entry: Key) {
        let len = self.heap.len();
        loop {
            let first_child = at * ARITY + 1;
            let smallest = if first_child + ARITY <= len {
                // A full set of children: the smallest in two rounds of pairs.
                let children = &self.heap[first_child..first_child + ARITY];
                let low = if children[1] < children[0] { 1 } else { 0 };
                let high = if children[3] < children[2] { 3 } else { 2 };
                first_child
                    + if children[high] < children[low] {
                        high
                    } else {
                        low
                    }
            } else if first_child < len {
                (first_child..len)
                    .min_by_key(|&child| self.heap[child])
                    .unwrap_or(first_child)
            } else {
                break;
            };
            let below = self.heap[smallest];
            if entry <= below {
                break;
            }
            self.place(at, below);
            at = smallest;
        }
        self.place(at, entry);
    }

    fn place(&mut self, at: usize, entry: Key) {
        self.heap[at] = entry;
        self.position[slot_of(entry)] = at as u32;
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
    fn extreme_instants_keep_their_order() {
        let instants = [i64::MIN, -1, 0, 1, i64::MAX - 1, i64::MAX];
        for (slot, instant) in instants.iter().enumerate().rev() {
            assert_eq!(trigger_of(key(*instant, slot as u32)), *instant);
            assert_eq!(slot_of(key(*instant, slot as u32)), slot);
        }
        let mut queue = TimerQueue::default();
        for (slot, instant) in instants.iter().enumerate().rev() {
            queue.set(slot, Some(*instant));
        }
        assert_eq!(drain(&mut queue, i64::MAX), vec![0, 1, 2, 3, 4]);
        assert_eq!(
            queue.pop_before(i64::MAX),
            None,
            "due at i64::MAX: never before it"
        );
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
            operations in proptest::collection::vec((0usize..200, proptest::option::of(-50i64..50)), 0..600),
            cut in -60i64..60,
        ) {
            let mut queue = TimerQueue::default();
            let mut model: Vec<Option<Nanos>> = vec![None; 200];
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
