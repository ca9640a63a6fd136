//! Where a partition's reading stands: the next offset its state expects, what to do
//! with a message that is not that offset, and whether the partition is caught up.
//!
//! A broker may answer a fetch from the middle of a batch with the next batch (or, at the
//! end, with nothing), so a message can arrive past the offset expected although nothing
//! was deleted. The partition is then rewound and read forward again, what the state
//! already holds being skipped as it arrives; each further rewind goes twice as far back,
//! and a gap still there after rewinding to the beginning is taken as real (retention or
//! compaction deleted the events). Pure: time is a parameter.

use std::time::{Duration, Instant};

use rdkafka::Offset;

/// How long messages after a rewind are taken as fetched before it.
pub const REWIND_SETTLE: Duration = Duration::from_millis(500);

/// The first rewind step, in offsets; each further one doubles it.
pub const REWIND_FIRST_STEP: i64 = 1024;

/// How long a partition must stay at its end to count as caught up: a broker may
/// announce the end of a partition (its high watermark) before all of its last batch is
/// readable.
pub const CAUGHT_UP_QUIET: Duration = Duration::from_secs(2);

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Apply it: it is the offset expected (or the first one read).
    Apply,
    /// Apply it, although offsets before it were never read: they are gone (deleted by
    /// retention or compaction), as a rewind to the beginning showed.
    ApplyAfterGap {
        /// The first offset missing.
        from: i64,
    },
    /// Skip it: the state already holds it (delivered again after a restart or rewind).
    Skip,
    /// Skip it: fetched before the last rewind took effect.
    Wait,
    /// Seek the partition back to this offset and read forward again.
    Rewind(Offset),
}

/// What to do when the broker says the partition's end is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtEnd {
    /// Nothing: the partition is read to its end (caught up once quiet long enough).
    Reached,
    /// The fetch stopped short of the high watermark: seek back to this offset.
    Rewind(Offset),
    /// The fetch stopped short, and a rewind was just made: wait for it.
    Wait,
    /// The fetch stopped short, but a rewind to the beginning did not help: the end is
    /// taken as reached.
    Unreadable,
}

/// The reading position of one partition.
#[derive(Debug, Clone)]
pub struct PartitionOffsets {
    next_offset: i64,
    rewind: Option<(i64, Instant)>,
    caught_up_since: Option<Instant>,
}

impl PartitionOffsets {
    /// Resumes at `next_offset` (a checkpoint's), or at an unknown offset (`-1`: reading
    /// from the end, where the first message sets it).
    pub fn new(next_offset: i64) -> PartitionOffsets {
        PartitionOffsets {
            next_offset,
            rewind: None,
            caught_up_since: None,
        }
    }

    /// The offset of the next message to apply (events before it are in the state), or
    /// `-1` if not known yet.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Whether the next offset is known.
    pub fn is_known(&self) -> bool {
        self.next_offset >= 0
    }

    /// Decides about the message at `offset`, arriving at `now`. After [`Step::Apply`]
    /// and [`Step::ApplyAfterGap`] the next offset expected is `offset + 1`.
    pub fn on_message(&mut self, offset: i64, now: Instant) -> Step {
        if offset < self.next_offset {
            return Step::Skip;
        }
        let mut step = Step::Apply;
        if self.is_known() && offset > self.next_offset {
            match self.gap(now) {
                Gap::Wait => return Step::Wait,
                Gap::Rewind(to) => return Step::Rewind(to),
                Gap::Accept => {
                    step = Step::ApplyAfterGap {
                        from: self.next_offset,
                    }
                }
            }
        }
        self.rewind = None;
        self.next_offset = offset + 1;
        self.caught_up_since = None;
        step
    }

    /// Decides at the broker's "end of partition", arriving at `now`. `high` is the
    /// partition's high watermark as the broker lists it now: past the next offset
    /// expected, the fetch stopped short and the partition is rewound as for a gap.
    pub fn on_end(&mut self, high: Option<i64>, now: Instant) -> AtEnd {
        let short = high.is_some_and(|high| self.is_known() && high > self.next_offset);
        let at_end = if short {
            match self.gap(now) {
                Gap::Rewind(to) => return AtEnd::Rewind(to),
                Gap::Wait => return AtEnd::Wait,
                Gap::Accept => AtEnd::Unreadable,
            }
        } else {
            AtEnd::Reached
        };
        self.caught_up_since.get_or_insert(now);
        at_end
    }

    /// Whether it was read to its end and nothing new came for [`CAUGHT_UP_QUIET`].
    pub fn is_caught_up(&self, now: Instant) -> bool {
        self.caught_up_since
            .is_some_and(|since| now.saturating_duration_since(since) >= CAUGHT_UP_QUIET)
    }

    /// Whether the broker said the end is reached since the last message.
    pub fn reached_end(&self) -> bool {
        self.caught_up_since.is_some()
    }

    fn gap(&mut self, now: Instant) -> Gap {
        let step = match self.rewind {
            Some((_, sought_at)) if now.saturating_duration_since(sought_at) < REWIND_SETTLE => {
                return Gap::Wait
            }
            Some((step, _)) if step == i64::MAX => return Gap::Accept,
            Some((step, _)) => step.saturating_mul(2),
            None => REWIND_FIRST_STEP,
        };
        let target = self.next_offset.saturating_sub(step);
        let (step, to) = if target <= 0 {
            (i64::MAX, Offset::Beginning)
        } else {
            (step, Offset::Offset(target))
        };
        self.rewind = Some((step, now));
        Gap::Rewind(to)
    }
}

/// What to do about a message past the expected offset.
enum Gap {
    /// A message fetched before the last rewind took effect: ignore it.
    Wait,
    /// Seek back to this offset and read forward again.
    Rewind(Offset),
    /// Rewound to the beginning and still a gap: the events are gone; go on.
    Accept,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    #[test]
    fn the_expected_offset_is_applied_and_an_older_one_skipped() {
        let start = Instant::now();
        let mut offsets = PartitionOffsets::new(10);
        assert_eq!(offsets.on_message(9, start), Step::Skip);
        assert_eq!(offsets.on_message(10, start), Step::Apply);
        assert_eq!(offsets.next_offset(), 11);
        assert_eq!(offsets.on_message(10, start), Step::Skip);
    }

    #[test]
    fn reading_from_the_end_takes_the_first_offset_it_gets() {
        let start = Instant::now();
        let mut offsets = PartitionOffsets::new(-1);
        assert_eq!(offsets.on_message(5000, start), Step::Apply);
        assert_eq!(offsets.next_offset(), 5001);
    }

    #[test]
    fn a_gap_rewinds_further_each_time_then_to_the_beginning_then_goes_on() {
        let start = Instant::now();
        let mut offsets = PartitionOffsets::new(5000);
        // First rewind: 1024 back.
        assert_eq!(
            offsets.on_message(6000, start),
            Step::Rewind(Offset::Offset(5000 - 1024))
        );
        // Messages fetched before the seek took effect are ignored for a while.
        assert_eq!(offsets.on_message(6001, after(start, 100)), Step::Wait);
        // Still a gap after the settle time: twice as far back.
        assert_eq!(
            offsets.on_message(6002, after(start, 600)),
            Step::Rewind(Offset::Offset(5000 - 2048))
        );
        assert_eq!(
            offsets.on_message(6003, after(start, 1200)),
            Step::Rewind(Offset::Offset(5000 - 4096))
        );
        // 8192 back is before offset 0: the beginning.
        assert_eq!(
            offsets.on_message(6004, after(start, 1800)),
            Step::Rewind(Offset::Beginning)
        );
        // From the beginning and still a gap: the events are gone.
        assert_eq!(
            offsets.on_message(6005, after(start, 2400)),
            Step::ApplyAfterGap { from: 5000 }
        );
        assert_eq!(offsets.next_offset(), 6006);
    }

    #[test]
    fn a_rewind_that_finds_the_expected_offset_ends_the_rewind() {
        let start = Instant::now();
        let mut offsets = PartitionOffsets::new(100);
        assert_eq!(
            offsets.on_message(150, start),
            Step::Rewind(Offset::Beginning)
        );
        // Read forward again: the state's offsets are skipped, the expected one applied.
        assert_eq!(offsets.on_message(0, after(start, 10)), Step::Skip);
        assert_eq!(offsets.on_message(100, after(start, 20)), Step::Apply);
        // A later gap starts again at the first step.
        assert_eq!(
            offsets.on_message(5000, after(start, 30)),
            Step::Rewind(Offset::Beginning)
        );
    }

    #[test]
    fn an_end_short_of_the_high_watermark_rewinds_and_one_at_it_is_caught_up_when_quiet() {
        let start = Instant::now();
        let mut offsets = PartitionOffsets::new(3000);
        assert_eq!(
            offsets.on_end(Some(3010), start),
            AtEnd::Rewind(Offset::Offset(3000 - 1024))
        );
        assert!(!offsets.reached_end());
        assert_eq!(offsets.on_message(3000, after(start, 700)), Step::Apply);
        assert_eq!(
            offsets.on_end(Some(3001), after(start, 800)),
            AtEnd::Reached
        );
        assert!(offsets.reached_end());
        assert!(!offsets.is_caught_up(after(start, 1000)));
        assert!(offsets.is_caught_up(after(start, 2800)));
        // A new message ends it.
        assert_eq!(offsets.on_message(3001, after(start, 2900)), Step::Apply);
        assert!(!offsets.is_caught_up(after(start, 9000)));
    }

    #[test]
    fn an_end_that_stays_short_after_rewinding_to_the_beginning_is_unreadable() {
        let start = Instant::now();
        let mut offsets = PartitionOffsets::new(10);
        assert_eq!(
            offsets.on_end(Some(20), start),
            AtEnd::Rewind(Offset::Beginning)
        );
        // Within the settle time: the rewind is under way.
        assert_eq!(offsets.on_end(Some(20), after(start, 100)), AtEnd::Wait);
        assert!(!offsets.reached_end());
        assert_eq!(
            offsets.on_end(Some(20), after(start, 700)),
            AtEnd::Unreadable
        );
        assert!(offsets.is_caught_up(after(start, 2800)));
    }
}
