//! Every call the engine knows, by call id: an open call's slot, or what is remembered of
//! a closed call (its event ids, to recognise resends and late events) until the watermark
//! passes its retention.
//!
//! One hash table of small entries (the id's 64-bit hash and where the call is), and the
//! closed calls' ids packed one after another in a single buffer that is forgotten from
//! the front, in the order the calls closed. So knowing a call costs no allocation of its
//! own, and finding an event's call hashes its id once and compares its bytes once.
//!
//! A closed call's bytes are its open call's id buffer, copied in one piece: the call id,
//! then its event ids packed with their lengths ([`crate::idlist`]).

use std::collections::VecDeque;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::time::Nanos;

/// Where a known call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Open, in this slot.
    Open(u32),
    /// Final, remembered under this sequence number.
    Closed(u64),
}

/// The hash a call id is known by.
pub(crate) fn hash_call_id(call_id: &str) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(call_id)
}

/// A table entry: the call id's hash and where the call is, in 16 bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: u64,
    /// An open call's slot with [`OPEN`] set, or a closed call's sequence number.
    place: u64,
}

/// Marks an open call's entry (sequence numbers stay far below it).
const OPEN: u64 = 1 << 63;

impl Entry {
    fn new(hash: u64, place: Place) -> Self {
        Entry {
            hash,
            place: packed(place),
        }
    }

    fn place(&self) -> Place {
        if self.place & OPEN != 0 {
            Place::Open(self.place as u32)
        } else {
            Place::Closed(self.place)
        }
    }
}

/// A place as an entry stores it.
fn packed(place: Place) -> u64 {
    match place {
        Place::Open(slot) => OPEN | u64::from(slot),
        Place::Closed(seq) => seq & !OPEN,
    }
}

/// A closed call's memory; its call id and packed event ids sit in the shared buffer.
#[derive(Debug, Clone, Copy)]
struct ClosedRecord {
    close_at: Nanos,
    forget_at: Nanos,
    /// Where its bytes start, counted from the first byte ever stored.
    at: u64,
    /// All its bytes: call id, then the packed event ids.
    len: u32,
    call_id_len: u32,
}

/// What is remembered of a closed call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClosedCall<'a> {
    /// Its call id.
    pub call_id: &'a str,
    /// When its verdict closed.
    pub close_at: Nanos,
    /// When the watermark passing it lets it be forgotten.
    pub forget_at: Nanos,
    /// Its event ids, packed with their lengths.
    ids: &'a str,
}

impl<'a> ClosedCall<'a> {
    /// Its event ids, in the order they were applied.
    pub fn event_ids(&self) -> impl Iterator<Item = &'a str> {
        crate::idlist::unpack(self.ids)
    }

    /// Whether an event with this id was applied to the call.
    pub fn has_event(&self, event_id: &str) -> bool {
        self.event_ids().any(|known| known == event_id)
    }
}

/// How many forgotten bytes the buffer may keep at its front before they are dropped.
const SLACK_BYTES: usize = 64 * 1024;

/// The index of known calls. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct KnownCalls {
    table: HashTable<Entry>,
    /// Closed calls, the next to forget at the front.
    closed: VecDeque<ClosedRecord>,
    /// When the front of `closed` may be forgotten, kept here so that the check made on
    /// every event reads this structure, not the (cold) front record.
    front_forget_at: Option<Nanos>,
    /// The sequence number of `closed[0]`.
    first_seq: u64,
    /// Call ids and event ids of the closed calls, back to back.
    bytes: Vec<u8>,
    /// The position of `bytes[0]`, counted from the first byte ever stored.
    bytes_base: u64,
    /// Table entries of forgotten calls not yet swept (they match no call id).
    stale: usize,
}

/// Stale entries are swept, all at once, when there are this many and they are half
/// the table: one pass over the table instead of one lookup per forgotten call.
const SWEEP_AT_LEAST: usize = 1024;

impl KnownCalls {
    /// Where the call `call_id` (whose [`hash_call_id`] is `hash`) is, if known.
    /// `open_is(slot, call_id)` tells whether the call open in `slot` has that id.
    ///
    /// The table is probed for the 64-bit hash alone (a comparison small enough to sit in
    /// the probe loop), and the one entry found is then checked against the id; only if
    /// it is another call (two ids with the same hash, or a forgotten call's entry not
    /// yet swept) are all the entries with that hash checked, out of line.
    #[inline]
    pub fn find(
        &self,
        hash: u64,
        call_id: &str,
        open_is: impl Fn(u32, &str) -> bool,
    ) -> Option<Place> {
        let place = self.table.find(hash, |entry| entry.hash == hash)?.place();
        if self.is_at(place, call_id, &open_is) {
            return Some(place);
        }
        self.find_among_equal_hashes(hash, call_id, &open_is)
    }

    /// Whether the call at `place` is `call_id`.
    #[inline]
    fn is_at(&self, place: Place, call_id: &str, open_is: &impl Fn(u32, &str) -> bool) -> bool {
        match place {
            Place::Open(slot) => open_is(slot, call_id),
            Place::Closed(seq) => self.is_closed_call(seq, call_id),
        }
    }

    /// [`KnownCalls::find`] when the first entry with the hash was another call.
    #[inline(never)]
    fn find_among_equal_hashes(
        &self,
        hash: u64,
        call_id: &str,
        open_is: &impl Fn(u32, &str) -> bool,
    ) -> Option<Place> {
        self.table
            .iter_hash(hash)
            .filter(|entry| entry.hash == hash)
            .map(Entry::place)
            .find(|&place| self.is_at(place, call_id, open_is))
    }

    /// Whether the closed call `seq` is `call_id` (out of line: most events are for open
    /// calls).
    #[inline(never)]
    fn is_closed_call(&self, seq: u64, call_id: &str) -> bool {
        self.closed_call(seq).map(|closed| closed.call_id) == Some(call_id)
    }

    /// Adds an open call, not known before.
    pub fn insert_open(&mut self, hash: u64, slot: u32) {
        self.table
            .insert_unique(hash, Entry::new(hash, Place::Open(slot)), |entry| {
                entry.hash
            });
    }

    /// Turns the open call in `slot` into a closed one, remembered until the watermark
    /// passes `forget_at`. `ids` is the call id (its first `call_id_len` bytes) followed
    /// by its packed event ids, as the call keeps them.
    pub fn close(
        &mut self,
        hash: u64,
        slot: u32,
        ids: &str,
        call_id_len: usize,
        close_at: Nanos,
        forget_at: Nanos,
    ) {
        let seq = self.remember(ids, call_id_len, close_at, forget_at);
        let open = packed(Place::Open(slot));
        match self.table.find_mut(hash, |entry| entry.place == open) {
            Some(entry) => entry.place = packed(Place::Closed(seq)),
            None => self.insert_closed(hash, seq),
        }
    }

    /// Adds a closed call restored from a snapshot (in the order they will be forgotten).
    pub fn restore_closed<'a>(
        &mut self,
        call_id: &str,
        close_at: Nanos,
        forget_at: Nanos,
        event_ids: impl Iterator<Item = &'a str>,
    ) {
        let hash = hash_call_id(call_id);
        let ids = crate::idlist::pack_with_call_id(call_id, event_ids);
        let seq = self.remember(&ids, call_id.len(), close_at, forget_at);
        self.insert_closed(hash, seq);
    }

    fn insert_closed(&mut self, hash: u64, seq: u64) {
        self.table
            .insert_unique(hash, Entry::new(hash, Place::Closed(seq)), |entry| {
                entry.hash
            });
    }

    /// Stores a closed call's bytes and record; returns its sequence number.
    fn remember(
        &mut self,
        ids: &str,
        call_id_len: usize,
        close_at: Nanos,
        forget_at: Nanos,
    ) -> u64 {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(ids.as_bytes());
        let seq = self.first_seq + self.closed.len() as u64;
        if self.closed.is_empty() {
            self.front_forget_at = Some(forget_at);
        }
        self.closed.push_back(ClosedRecord {
            close_at,
            forget_at,
            at: self.bytes_base + start as u64,
            len: ids.len() as u32,
            call_id_len: call_id_len.min(ids.len()) as u32,
        });
        seq
    }

    /// The closed call under a sequence number, if still remembered.
    pub fn closed_call(&self, seq: u64) -> Option<ClosedCall<'_>> {
        let record = self
            .closed
            .get(usize::try_from(seq.checked_sub(self.first_seq)?).ok()?)?;
        Some(self.view(record))
    }

    fn view(&self, record: &ClosedRecord) -> ClosedCall<'_> {
        let from = (record.at - self.bytes_base) as usize;
        let bytes = self
            .bytes
            .get(from..from + record.len as usize)
            .unwrap_or_default();
        let (call_id, ids) = bytes
            .split_at_checked(record.call_id_len as usize)
            .unwrap_or_default();
        ClosedCall {
            call_id: std::str::from_utf8(call_id).unwrap_or_default(),
            close_at: record.close_at,
            forget_at: record.forget_at,
            ids: std::str::from_utf8(ids).unwrap_or_default(),
        }
    }

    /// The closed calls still remembered, in the order they will be forgotten.
    pub fn closed_calls(&self) -> impl Iterator<Item = ClosedCall<'_>> {
        self.closed.iter().map(|record| self.view(record))
    }

    /// Whether some closed call's retention ends before `watermark`.
    #[inline]
    pub fn forgets_before(&self, watermark: Nanos) -> bool {
        self.front_forget_at.is_some_and(|at| at < watermark)
    }

    /// Forgets the closed calls at the front whose retention ends before `watermark`.
    /// Their table entries are left behind, matching nothing, and swept later in bulk.
    #[inline]
    pub fn forget_before(&mut self, watermark: Nanos) {
        if self.forgets_before(watermark) {
            self.forget_due(watermark);
        }
    }

    /// [`KnownCalls::forget_before`] once some call is due (out of line: most events
    /// forget none).
    #[inline(never)]
    fn forget_due(&mut self, watermark: Nanos) {
        let mut forgotten = 0;
        while self
            .closed
            .front()
            .is_some_and(|record| record.forget_at < watermark)
        {
            self.closed.pop_front();
            forgotten += 1;
        }
        self.front_forget_at = self.closed.front().map(|record| record.forget_at);
        if forgotten == 0 {
            return;
        }
        self.first_seq += forgotten as u64;
        self.stale += forgotten;
        if self.stale >= SWEEP_AT_LEAST && self.stale * 2 >= self.table.len() {
            let first_seq = self.first_seq;
            self.table.retain(|entry| match entry.place() {
                Place::Open(_) => true,
                Place::Closed(seq) => seq >= first_seq,
            });
            self.stale = 0;
        }
        self.drop_forgotten_bytes();
    }

    /// Drops the bytes of forgotten calls once they are a good part of the buffer.
    fn drop_forgotten_bytes(&mut self) {
        let kept_from = self.closed.front().map_or(self.bytes.len(), |record| {
            (record.at - self.bytes_base) as usize
        });
        if kept_from > SLACK_BYTES && kept_from * 2 > self.bytes.len() {
            self.bytes.drain(..kept_from);
            self.bytes_base += kept_from as u64;
        }
    }

    /// How many calls are known, open and closed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.len() - self.stale
    }
}

// Entries stay small: the table is read on every event.
const _: () = assert!(std::mem::size_of::<Entry>() == 16);

#[cfg(test)]
mod tests {
    use super::*;

    /// Closes the call in `slot` as the engine does: its packed id buffer.
    fn close(
        known: &mut KnownCalls,
        hash: u64,
        slot: u32,
        call_id: &str,
        close_at: Nanos,
        event_ids: &[&str],
    ) {
        let ids = crate::idlist::pack_with_call_id(call_id, event_ids.iter().copied());
        known.close(hash, slot, &ids, call_id.len(), close_at, close_at * 10);
    }

    fn find(known: &KnownCalls, call_id: &str, open: &[&'static str]) -> Option<Place> {
        known.find(hash_call_id(call_id), call_id, |slot, id| {
            open.get(slot as usize) == Some(&id)
        })
    }

    #[test]
    fn open_calls_close_and_are_forgotten_in_order() {
        let open = ["c-1", "c-2"];
        let mut known = KnownCalls::default();
        known.insert_open(hash_call_id("c-1"), 0);
        known.insert_open(hash_call_id("c-2"), 1);
        assert_eq!(find(&known, "c-1", &open), Some(Place::Open(0)));
        assert_eq!(find(&known, "c-3", &open), None);

        close(&mut known, hash_call_id("c-1"), 0, "c-1", 10, &["e1", "e2"]);
        let Some(Place::Closed(seq)) = find(&known, "c-1", &open) else {
            panic!("c-1 is not closed");
        };
        let closed = known.closed_call(seq).expect("remembered");
        assert_eq!(
            (closed.call_id, closed.close_at, closed.forget_at),
            ("c-1", 10, 100)
        );
        assert_eq!(closed.event_ids().collect::<Vec<_>>(), ["e1", "e2"]);
        assert!(closed.has_event("e2"));
        assert!(!closed.has_event("e3"));
        assert!(!closed.has_event("e1e2"));

        close(
            &mut known,
            hash_call_id("c-2"),
            1,
            "c-2",
            20,
            &["e9", "", "e10"],
        );
        let Some(Place::Closed(seq)) = find(&known, "c-2", &open) else {
            panic!("c-2 is not closed");
        };
        let ids: Vec<&str> = known
            .closed_call(seq)
            .expect("remembered")
            .event_ids()
            .collect();
        assert_eq!(ids, ["e9", "", "e10"]);
        known.forget_before(100);
        assert_eq!(known.len(), 2, "retention ends at 100, not before");
        known.forget_before(101);
        assert_eq!(find(&known, "c-1", &open), None);
        assert!(matches!(find(&known, "c-2", &open), Some(Place::Closed(_))));
        let remembered: Vec<&str> = known.closed_calls().map(|call| call.call_id).collect();
        assert_eq!(remembered, ["c-2"]);
    }

    #[test]
    fn places_survive_packing_into_an_entry() {
        for place in [
            Place::Open(0),
            Place::Open(7),
            Place::Open(u32::MAX),
            Place::Closed(0),
            Place::Closed(7),
            Place::Closed(u64::from(u32::MAX) + 1),
        ] {
            assert_eq!(Entry::new(1, place).place(), place);
        }
        assert_ne!(packed(Place::Open(7)), packed(Place::Closed(7)));
    }

    #[test]
    fn ids_with_equal_hashes_are_told_apart_by_their_bytes() {
        // Forced to one hash: the table must still compare the ids themselves.
        let open = ["a", "b"];
        let mut known = KnownCalls::default();
        known.insert_open(7, 0);
        known.insert_open(7, 1);
        let find_forced = |known: &KnownCalls, id: &str| {
            known.find(7, id, |slot, id| open.get(slot as usize) == Some(&id))
        };
        assert_eq!(find_forced(&known, "a"), Some(Place::Open(0)));
        assert_eq!(find_forced(&known, "b"), Some(Place::Open(1)));
        assert_eq!(find_forced(&known, "c"), None);
        close(&mut known, 7, 1, "b", 1, &[]);
        assert_eq!(find_forced(&known, "a"), Some(Place::Open(0)));
        assert!(matches!(find_forced(&known, "b"), Some(Place::Closed(_))));
        // "b" forgotten (its entry left behind, matching nothing), then open again.
        known.forget_before(100);
        assert_eq!(find_forced(&known, "b"), None);
        known.insert_open(7, 1);
        assert_eq!(find_forced(&known, "b"), Some(Place::Open(1)));
        assert_eq!(find_forced(&known, "a"), Some(Place::Open(0)));
    }

    #[test]
    fn many_forgotten_calls_leave_no_bytes_behind() {
        let mut known = KnownCalls::default();
        for n in 0..20_000u32 {
            let call_id = format!("call-{n}");
            let event_id = format!("{call_id}:1");
            let at = i64::from(n);
            known.restore_closed(&call_id, at, at, std::iter::once(event_id.as_str()));
            known.forget_before(at - 100);
        }
        assert_eq!(known.len(), 101);
        assert!(
            known.table.len() <= 101 + 2 * SWEEP_AT_LEAST,
            "forgotten entries are swept: {}",
            known.table.len()
        );
        // A forgotten call is unknown; seen again, it opens afresh.
        assert_eq!(find(&known, "call-0", &[]), None);
        known.insert_open(hash_call_id("call-0"), 0);
        assert_eq!(find(&known, "call-0", &["call-0"]), Some(Place::Open(0)));
        assert!(
            known.bytes.len() < 2 * SLACK_BYTES + 4096,
            "{}",
            known.bytes.len()
        );
        let last = known
            .closed_calls()
            .last()
            .expect("the newest is remembered");
        assert_eq!(last.call_id, "call-19999");
        assert_eq!(last.event_ids().collect::<Vec<_>>(), ["call-19999:1"]);
    }
}
