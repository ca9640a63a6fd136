//! Interned names (tenants, queues, topics): repeated strings stored once, compared as ints.

use rustc_hash::FxHashMap;

/// A handle to an interned name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

impl Sym {
    /// The handle as an index (handles are dense, from 0).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The interning table. Names are never removed: they are few (tenants, queues, topics).
#[derive(Debug, Default, Clone)]
pub struct Symbols {
    index: FxHashMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
}

impl Symbols {
    /// The handle of `name`, adding it on first sight.
    pub fn intern(&mut self, name: &str) -> Sym {
        if let Some(&sym) = self.index.get(name) {
            return sym;
        }
        let sym = Sym(self.names.len() as u32);
        self.names.push(name.into());
        self.index.insert(name.into(), sym);
        sym
    }

    /// The name behind a handle.
    pub fn name(&self, sym: Sym) -> &str {
        &self.names[sym.0 as usize]
    }
}
