//! Per-call triggers on event time: two indexed 4-ary min-heaps (each open call's next
//! live alarm, and its close passing the watermark) sharing one table of positions.
//!
//! Each open call (by slot) has at most one trigger per queue, kept *exact*: re-arming a
//! call moves its one heap entry up or down in place, so a heap never holds stale entries
//! and a pop is always a trigger that is really due. Ties between triggers at the same
//! instant pop in slot order. A slot's places in both heaps sit side by side, so re-arming
//! a call's two triggers, or disarming both as it closes, reads one table entry.

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

/// Which of a call's two triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Its next live alarm.
    Alarm = 0,
    /// Its close passing the watermark.
    Close = 1,
}

/// The two queues of triggers.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// A min-heap of (trigger, slot) keys per [`Timer`].
    heaps: [Vec<Key>; 2],
    /// Where each slot's entries sit in the two heaps, or [`UNARMED`].
    position: Vec<[u32; 2]>,
}

impl Timers {
    /// Sets `slot`'s `timer` to exactly `trigger`, or removes it for `None`.
    pub fn set(&mut self, timer: Timer, slot: usize, trigger: Option<Nanos>) {
        let Some(trigger) = trigger else {
            self.disarm(timer, slot);
            return;
        };
        let Ok(slot_key) = u32::try_from(slot) else {
            return;
        };
        if self.position.len() <= slot {
            self.position.resize(slot + 1, [UNARMED; 2]);
        }
        let entry = key(trigger, slot_key);
        let mut heap = self.heap(timer);
        let at = heap.position[slot][heap.which];
        if at == UNARMED {
            heap.keys.push(entry);
            heap.sift_up(heap.keys.len() - 1, entry);
            return;
        }
        let at = at as usize;
        let previous = heap.keys[at];
        if entry < previous {
            heap.sift_up(at, entry);
        } else if entry > previous {
            heap.sift_down(at, entry);
        }
    }

    /// Removes `slot`'s `timer`, if armed.
    pub fn disarm(&mut self, timer: Timer, slot: usize) {
        let Some(at) = self.position.get(slot).map(|at| at[timer as usize]) else {
            return;
        };
        if at == UNARMED {
            return;
        }
        self.heap(timer).remove_at(at as usize);
    }

    /// Removes both of `slot`'s triggers.
    pub fn disarm_both(&mut self, slot: usize) {
        self.disarm(Timer::Alarm, slot);
        self.disarm(Timer::Close, slot);
    }

    /// Whether some `timer` trigger is before `instant`.
    #[inline]
    pub fn any_before(&self, timer: Timer, instant: Nanos) -> bool {
        self.heaps[timer as usize]
            .first()
            .is_some_and(|&first| trigger_of(first) < instant)
    }

    /// Takes the earliest `timer` trigger before `instant` and returns its slot, now
    /// unarmed for that timer.
    pub fn pop_before(&mut self, timer: Timer, instant: Nanos) -> Option<usize> {
        if !self.any_before(timer, instant) {
            return None;
        }
        let &first = self.heaps[timer as usize].first()?;
        self.heap(timer).remove_at(0);
        Some(slot_of(first))
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.heaps.iter_mut().for_each(Vec::clear);
        self.position.clear();
    }

    fn heap(&mut self, timer: Timer) -> Heap<'_> {
        Heap {
            keys: &mut self.heaps[timer as usize],
            position: &mut self.position,
            which: timer as usize,
        }
    }
}

/// One heap, with its column of the shared position table.
struct Heap<'a> {
    keys: &'a mut Vec<Key>,
    position: &'a mut [[u32; 2]],
    which: usize,
}

impl Heap<'_> {
    /// Removes the entry at heap index `at`.
    fn remove_at(&mut self, at: usize) {
        let removed = self.keys[at];
        self.position[slot_of(removed)][self.which] = UNARMED;
        let Some(moved) = self.keys.pop() else {
            return;
        };
        if at == self.keys.len() {
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
            let above = self.keys[parent];
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
        let len = self.keys.len();
        loop {
            let first_child = at * ARITY + 1;
            let smallest = if first_child + ARITY <= len {
                // A full set of children: the smallest in two rounds of pairs.
                let children = &self.keys[first_child..first_child + ARITY];
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
                    .min_by_key(|&child| self.keys[child])
                    .unwrap_or(first_child)
            } else {
                break;
            };
            let below = self.keys[smallest];
            if entry <= below {
                break;
            }
            self.place(at, below);
            at = smallest;
        }
        self.place(at, entry);
    }

    fn place(&mut self, at: usize, entry: Key) {
        self.keys[at] = entry;
        self.position[slot_of(entry)][self.which] = at as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One of the two queues, as the tests drive it.
    struct Queue {
        timers: Timers,
        timer: Timer,
    }

    impl Default for Queue {
        fn default() -> Self {
            Queue {
                timers: Timers::default(),
                timer: Timer::Close,
            }
        }
    }

    impl Queue {
        fn set(&mut self, slot: usize, trigger: Option<Nanos>) {
            self.timers.set(self.timer, slot, trigger);
        }

        fn disarm(&mut self, slot: usize) {
            self.timers.disarm(self.timer, slot);
        }

        fn pop_before(&mut self, instant: Nanos) -> Option<usize> {
            self.timers.pop_before(self.timer, instant)
        }
    }

    /// Pops everything before `instant`, in order.
    fn drain(queue: &mut Queue, instant: Nanos) -> Vec<usize> {
        std::iter::from_fn(|| queue.pop_before(instant)).collect()
    }

    #[test]
    fn pops_in_trigger_then_slot_order_and_only_before_the_instant() {
        let mut queue = Queue::default();
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
        let mut queue = Queue::default();
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
        let mut queue = Queue::default();
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
        let mut queue = Queue::default();
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
            let mut queue = Queue::default();
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

        /// Sets, removals and pops interleaved, as the engine drives a queue: each pop
        /// takes exactly the earliest armed trigger before the instant (ties by slot),
        /// whatever runs or heap the triggers went to and however often they moved.
        #[test]
        fn interleaved_sets_and_pops_follow_the_model(
            operations in proptest::collection::vec(
                (0usize..40, proptest::option::of(-200i64..200), proptest::option::of(-220i64..220)),
                0..500,
            ),
        ) {
            let mut queue = Queue::default();
            let mut model: Vec<Option<Nanos>> = vec![None; 40];
            for (slot, trigger, pop_before) in operations {
                match pop_before {
                    None => {
                        queue.set(slot, trigger);
                        model[slot] = trigger;
                    }
                    Some(instant) => {
                        let expected = model
                            .iter()
                            .enumerate()
                            .filter_map(|(slot, trigger)| trigger.map(|trigger| (trigger, slot)))
                            .filter(|(trigger, _)| *trigger < instant)
                            .min()
                            .map(|(_, slot)| slot);
                        prop_assert_eq!(queue.pop_before(instant), expected);
                        if let Some(slot) = expected {
                            model[slot] = None;
                        }
                    }
                }
            }
        }

        /// The two queues share their table of positions but not their triggers: any mix
        /// of sets and disarms on both pops, from each, exactly what a model of that
        /// queue holds, earliest first.
        #[test]
        fn the_two_queues_keep_apart(
            operations in proptest::collection::vec(
                (any::<bool>(), 0usize..60, proptest::option::of(-50i64..50), any::<bool>()),
                0..400,
            ),
        ) {
            let mut timers = Timers::default();
            let mut model: [Vec<Option<Nanos>>; 2] = [vec![None; 60], vec![None; 60]];
            for (alarm, slot, trigger, both) in operations {
                let timer = if alarm { Timer::Alarm } else { Timer::Close };
                if both {
                    timers.set(Timer::Close, slot, trigger.map(|trigger| trigger + 1));
                    timers.set(Timer::Alarm, slot, trigger);
                    model[0][slot] = trigger;
                    model[1][slot] = trigger.map(|trigger| trigger + 1);
                } else if trigger.is_none() && slot % 2 == 0 {
                    timers.disarm_both(slot);
                    model[0][slot] = None;
                    model[1][slot] = None;
                } else {
                    timers.set(timer, slot, trigger);
                    model[timer as usize][slot] = trigger;
                }
            }
            for timer in [Timer::Alarm, Timer::Close] {
                let mut expected: Vec<(Nanos, usize)> = model[timer as usize]
                    .iter()
                    .enumerate()
                    .filter_map(|(slot, trigger)| trigger.map(|trigger| (trigger, slot)))
                    .collect();
                expected.sort();
                let popped: Vec<usize> =
                    std::iter::from_fn(|| timers.pop_before(timer, i64::MAX)).collect();
                let expected: Vec<usize> = expected.into_iter().map(|(_, slot)| slot).collect();
                prop_assert_eq!(popped, expected);
            }
        }
    }
}
