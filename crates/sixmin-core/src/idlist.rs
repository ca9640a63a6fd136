//! Event ids packed one after another in a string, each preceded by its length: how a
//! call keeps its ids, how a closed call is remembered (a copy of that same buffer, so
//! closing a call reads none of its event records) and what a breached call keeps of its
//! evidence ([`Evidence`], most often a copy of that buffer too).
//!
//! A length is written as two ASCII bytes of seven bits each, high first, so the packed
//! form stays valid UTF-8 and needs no decoding to compare ids. Ids are at most 128
//! characters (512 bytes) once decoded; a longer one is cut at [`MAX_PACKED_ID`] bytes,
//! on a character boundary.

/// The longest id, in bytes, that a two-byte length holds.
pub(crate) const MAX_PACKED_ID: usize = (1 << 14) - 1;

/// Appends `id` with its length to `packed`; returns where its bytes start and their
/// length.
#[inline]
pub(crate) fn push_packed(packed: &mut String, id: &str) -> (usize, u16) {
    let id = if id.len() <= MAX_PACKED_ID {
        id
    } else {
        &id[..id.floor_char_boundary(MAX_PACKED_ID)]
    };
    let length = id.len();
    packed.reserve(2 + length);
    packed.push(char::from(((length >> 7) & 0x7f) as u8));
    packed.push(char::from((length & 0x7f) as u8));
    let at = packed.len();
    packed.push_str(id);
    (at, length as u16)
}

/// A call id followed by its event ids packed: how a call, a closed call and a breached
/// call's evidence keep them.
pub(crate) fn pack_with_call_id<'a>(call_id: &str, ids: impl Iterator<Item = &'a str>) -> String {
    let mut packed = String::with_capacity(call_id.len() + 64);
    packed.push_str(call_id);
    for id in ids {
        push_packed(&mut packed, id);
    }
    packed
}

/// The ids of a packed string, in order (stops at the first malformed entry).
pub(crate) fn unpack(packed: &str) -> impl Iterator<Item = &str> {
    let mut rest = packed;
    std::iter::from_fn(move || {
        let &[high, low] = rest.as_bytes().first_chunk::<2>()?;
        let length = (usize::from(high) << 7) | usize::from(low);
        // The text is UTF-8 already: slicing it (on character boundaries) is enough.
        let id = rest.get(2..2 + length)?;
        rest = rest.get(2 + length..)?;
        Some(id)
    })
}

/// A breached call's id and the ids of the events it was judged from, in one small
/// allocation: the call id, then the event ids packed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Evidence {
    text: Box<str>,
    call_id_len: u32,
}

impl Evidence {
    /// The call id and its event ids, in the order given.
    pub fn new<'a>(call_id: &str, ids: impl Iterator<Item = &'a str>) -> Self {
        Evidence {
            text: pack_with_call_id(call_id, ids).into_boxed_str(),
            call_id_len: call_id.len() as u32,
        }
    }

    /// Evidence already in this form: a call id of `call_id_len` bytes, then its event
    /// ids packed (as a call keeps them).
    pub fn from_packed(text: &str, call_id_len: usize) -> Self {
        Evidence {
            text: text.into(),
            call_id_len: call_id_len.min(text.len()) as u32,
        }
    }

    /// The call id.
    pub fn call_id(&self) -> &str {
        self.text
            .get(..self.call_id_len as usize)
            .unwrap_or_default()
    }

    /// The event ids, in their order.
    pub fn event_ids(&self) -> impl Iterator<Item = &str> {
        unpack(
            self.text
                .get(self.call_id_len as usize..)
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_keeps_the_call_id_and_the_ids_in_order() {
        let ids = ["e-1", "", "événement-2", "e-1"];
        let evidence = Evidence::new("call-7", ids.iter().copied());
        assert_eq!(evidence.call_id(), "call-7");
        assert_eq!(evidence.event_ids().collect::<Vec<_>>(), ids);
        let empty = Evidence::new("call-8", std::iter::empty());
        assert_eq!((empty.call_id(), empty.event_ids().count()), ("call-8", 0));

        let mut packed = String::from("call-7");
        for id in ids {
            push_packed(&mut packed, id);
        }
        assert_eq!(Evidence::from_packed(&packed, "call-7".len()), evidence);
    }

    #[test]
    fn lengths_of_every_size_round_trip() {
        let long = "é".repeat(300);
        let ids = ["x".repeat(127), "y".repeat(128), "z".repeat(512), long];
        let mut packed = String::new();
        for id in &ids {
            let (at, length) = push_packed(&mut packed, id);
            assert_eq!(&packed[at..at + usize::from(length)], id.as_str());
        }
        assert_eq!(unpack(&packed).collect::<Vec<_>>(), ids);
    }

    #[test]
    fn an_overlong_id_is_cut_on_a_character_boundary() {
        let id = "é".repeat(MAX_PACKED_ID);
        let mut packed = String::new();
        let (_, length) = push_packed(&mut packed, &id);
        assert!(usize::from(length) <= MAX_PACKED_ID);
        let back: Vec<&str> = unpack(&packed).collect();
        assert_eq!(back.len(), 1);
        assert!(id.starts_with(back[0]));
        assert_eq!(back[0].len(), usize::from(length));
    }

    #[test]
    fn a_malformed_buffer_ends_the_list_without_panicking() {
        assert_eq!(unpack("\u{0}").count(), 0);
        assert_eq!(unpack("\u{0}\u{9}short").count(), 0);
        assert_eq!(unpack("\u{0}\u{1}ab").collect::<Vec<_>>(), ["a"]);
        // Not lengths at all: a three-byte character where the two length bytes belong.
        assert_eq!(unpack("€€").count(), 0);
    }
}
