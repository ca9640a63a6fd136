//! A compact, read-only list of event ids: what a closed call or a breached call keeps of
//! its events, packed one after another (a 2-byte little-endian length, then the bytes).

/// Event ids packed in one small allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IdList(Box<[u8]>);

/// Appends `ids`, in the order given, to `packed`.
pub(crate) fn pack_into<'a>(packed: &mut Vec<u8>, ids: impl Iterator<Item = &'a str>) {
    for id in ids {
        // Ids are at most 128 characters (512 bytes), so two bytes hold any length.
        let length = u16::try_from(id.len()).unwrap_or(u16::MAX);
        packed.extend_from_slice(&length.to_le_bytes());
        packed.extend_from_slice(&id.as_bytes()[..usize::from(length)]);
    }
}

/// The ids packed in `packed` by [`pack_into`], in their order.
pub(crate) fn unpack(packed: &[u8]) -> impl Iterator<Item = &str> {
    let mut rest = packed;
    std::iter::from_fn(move || {
        let (length, tail) = rest.split_first_chunk::<2>()?;
        let length = usize::from(u16::from_le_bytes(*length));
        let (id, tail) = tail.split_at_checked(length)?;
        rest = tail;
        std::str::from_utf8(id).ok()
    })
}

impl IdList {
    /// Packs the ids, in the order given.
    pub fn new<'a>(ids: impl Iterator<Item = &'a str> + Clone) -> Self {
        let size: usize = ids.clone().map(|id| id.len() + 2).sum();
        let mut packed = Vec::with_capacity(size);
        pack_into(&mut packed, ids);
        IdList(packed.into_boxed_slice())
    }

    /// The ids, in their order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        unpack(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_back_in_order() {
        let ids = ["e-1", "", "événement-2", "e-1"];
        let list = IdList::new(ids.iter().copied());
        assert_eq!(list.iter().collect::<Vec<_>>(), ids);
        assert_eq!(IdList::new(std::iter::empty()).iter().count(), 0);
    }

    #[test]
    fn lists_packed_one_after_another_stay_apart() {
        let mut packed = Vec::new();
        pack_into(&mut packed, ["a", "bc"].into_iter());
        let first = packed.len();
        pack_into(&mut packed, ["d"].into_iter());
        assert_eq!(unpack(&packed[..first]).collect::<Vec<_>>(), ["a", "bc"]);
        assert_eq!(unpack(&packed[first..]).collect::<Vec<_>>(), ["d"]);
    }
}
