//! Interned names (tenants, queues, topics): repeated strings stored once, compared as ints.

use std::num::NonZeroU32;

use rustc_hash::FxHashMap;

/// A handle to an interned name. Never zero, so an `Option<Sym>` takes four bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(NonZeroU32);

impl Sym {
    /// The handle as an index (handles are dense, from 0).
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }

    /// The handle of the name at `index`.
    fn at(index: usize) -> Sym {
        let value = u32::try_from(index + 1).unwrap_or(u32::MAX);
        Sym(NonZeroU32::new(value).unwrap_or(NonZeroU32::MAX))
    }
}

/// Entries of the recent-names cache (a power of two, well above the names a call centre
/// uses, so that they rarely share a place).
const RECENT: usize = 256;

/// The interning table. Names are never removed: they are few (tenants, queues, topics).
#[derive(Debug, Clone)]
pub struct Symbols {
    index: FxHashMap<Box<str>, Sym>,
    /// Every name, back to back: the names compared on every event sit in a few cache
    /// lines rather than one allocation each.
    text: String,
    /// Where each name sits in `text` (start, length), by handle.
    spans: Vec<(u32, u32)>,
    /// Handles of recently interned names, placed by [`recent_index`]: a hit costs one
    /// short comparison instead of hashing the name.
    recent: Box<[Option<Sym>; RECENT]>,
}

impl Default for Symbols {
    fn default() -> Self {
        Symbols {
            index: FxHashMap::default(),
            text: String::new(),
            spans: Vec::new(),
            recent: Box::new([None; RECENT]),
        }
    }
}

/// Where a name sits in the recent-names cache: its length and its first, second and last
/// bytes, mixed by one multiplication (cheaper than hashing the name, and these tell
/// most names of a call centre apart).
fn recent_index(name: &str) -> usize {
    let bytes = name.as_bytes();
    let byte = |at: Option<&u8>| u32::from(at.copied().unwrap_or(0));
    let key = (bytes.len() as u32 & 0xff)
        | byte(bytes.first()) << 8
        | byte(bytes.get(1)) << 16
        | byte(bytes.last()) << 24;
    (key.wrapping_mul(0x9E37_79B1) >> (32 - RECENT.trailing_zeros())) as usize
}

impl Symbols {
    /// The handle of `name`, adding it on first sight.
    #[inline]
    pub fn intern(&mut self, name: &str) -> Sym {
        let at = recent_index(name);
        if let Some(sym) = self.recent[at] {
            if crate::bytes::same(self.bytes(sym), name.as_bytes()) {
                return sym;
            }
        }
        self.intern_missed(name, at)
    }

    /// [`Symbols::intern`] when the recent-names cache does not hold `name` (out of line:
    /// the names of a call centre are few, so nearly every name hits).
    #[inline(never)]
    fn intern_missed(&mut self, name: &str, at: usize) -> Sym {
        let sym = match self.index.get(name) {
            Some(&sym) => sym,
            None => {
                let sym = Sym::at(self.spans.len());
                let start = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
                let len = u32::try_from(name.len()).unwrap_or(u32::MAX);
                self.text.push_str(name);
                self.spans.push((start, len));
                self.index.insert(name.into(), sym);
                sym
            }
        };
        self.recent[at] = Some(sym);
        sym
    }

    /// The name behind a handle.
    pub fn name(&self, sym: Sym) -> &str {
        let (start, len) = self.spans[sym.index()];
        let start = start as usize;
        self.text
            .get(start..start + len as usize)
            .unwrap_or_default()
    }

    /// The bytes of the name behind a handle (comparing them needs no UTF-8 boundary
    /// checks).
    fn bytes(&self, sym: Sym) -> &[u8] {
        let (start, len) = self.spans[sym.index()];
        let start = start as usize;
        self.text
            .as_bytes()
            .get(start..start + len as usize)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_share_a_cache_place_keep_their_own_handles() {
        // Two names that land on the same place of the recent-names cache.
        let first = "queue-0".to_string();
        let second = (1..10_000)
            .map(|n| format!("queue-{n}"))
            .find(|name| recent_index(name) == recent_index(&first))
            .expect("some name shares the place");
        let mut symbols = Symbols::default();
        let names = [
            first.as_str(),
            second.as_str(),
            first.as_str(),
            "",
            second.as_str(),
            "a",
            first.as_str(),
        ];
        let handles: Vec<Sym> = names.iter().map(|name| symbols.intern(name)).collect();
        for (name, sym) in names.iter().zip(&handles) {
            assert_eq!(symbols.name(*sym), *name);
        }
        assert_eq!(handles[0], handles[2]);
        assert_eq!(handles[0], handles[6]);
        assert_eq!(handles[1], handles[4]);
        assert_ne!(handles[0], handles[1]);
        assert_eq!(symbols.spans.len(), 4);
    }
}
