//! A compact, read-only list of event ids: what a breached call keeps of its evidence, in
//! one small allocation.

/// Event ids, each stored as a 2-byte little-endian length and then its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IdList(Box<[u8]>);

impl IdList {
    /// Packs the ids, in the order given.
    pub fn new<'a>(ids: impl Iterator<Item = &'a str> + Clone) -> Self {
        let size: usize = ids.clone().map(|id| id.len() + 2).sum();
        let mut packed = Vec::with_capacity(size);
        for id in ids {
            // Ids are at most 128 characters (512 bytes), so two bytes hold any length.
            let length = u16::try_from(id.len()).unwrap_or(u16::MAX);
            packed.extend_from_slice(&length.to_le_bytes());
            packed.extend_from_slice(&id.as_bytes()[..usize::from(length)]);
        }
        IdList(packed.into_boxed_slice())
    }

    /// The ids, in their order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let mut rest: &[u8] = &self.0;
        std::iter::from_fn(move || {
            let (length, tail) = rest.split_first_chunk::<2>()?;
            let length = usize::from(u16::from_le_bytes(*length));
            let (id, tail) = tail.split_at_checked(length)?;
            rest = tail;
            std::str::from_utf8(id).ok()
        })
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
}
