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

/// Entries of the recent-names cache (a power of two).
const RECENT: usize = 32;

/// The interning table. Names are never removed: they are few (tenants, queues, topics).
#[derive(Debug, Default, Clone)]
pub struct Symbols {
    index: FxHashMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
    /// Handles of recently interned names, placed by [`recent_index`]: a hit costs one
    /// short comparison instead of hashing the name.
    recent: [Option<Sym>; RECENT],
}

/// Where a name sits in the recent-names cache: from its length and its first and last
/// bytes, which tell most names of a call centre apart.
fn recent_index(name: &str) -> usize {
    let bytes = name.as_bytes();
    let first = usize::from(bytes.first().copied().unwrap_or(0));
    let last = usize::from(bytes.last().copied().unwrap_or(0));
    (bytes.len().wrapping_mul(31) ^ first.wrapping_mul(7) ^ last) % RECENT
}

impl Symbols {
    /// The handle of `name`, adding it on first sight.
    pub fn intern(&mut self, name: &str) -> Sym {
        let at = recent_index(name);
        if let Some(sym) = self.recent[at] {
            if *self.names[sym.index()] == *name {
                return sym;
            }
        }
        let sym = match self.index.get(name) {
            Some(&sym) => sym,
            None => {
                let sym = Sym::at(self.names.len());
                self.names.push(name.into());
                self.index.insert(name.into(), sym);
                sym
            }
        };
        self.recent[at] = Some(sym);
        sym
    }

    /// The name behind a handle.
    pub fn name(&self, sym: Sym) -> &str {
        &self.names[sym.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_share_a_cache_place_keep_their_own_handles() {
        let mut symbols = Symbols::default();
        // Same length, first and last bytes: the same place in the recent cache.
        let names = [
            "sales", "sires", "sales", "sxxxs", "sires", "a", "", "sales",
        ];
        let handles: Vec<Sym> = names.iter().map(|name| symbols.intern(name)).collect();
        for (name, sym) in names.iter().zip(&handles) {
            assert_eq!(symbols.name(*sym), *name);
        }
        assert_eq!(handles[0], handles[2]);
        assert_eq!(handles[0], handles[7]);
        assert_eq!(handles[1], handles[4]);
        assert_ne!(handles[0], handles[1]);
        assert_eq!(symbols.names.len(), 5);
    }
}
