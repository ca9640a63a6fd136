//! Equality of short byte strings (ids and names, mostly under 64 bytes) in a few wide
//! comparisons, inline: the general slice comparison calls the C library's `memcmp`,
//! whose call and size dispatch cost more than the comparison itself at these sizes.

/// Whether `a` and `b` hold the same bytes.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    match len {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        // Two overlapping words cover the string.
        4..=7 => {
            let word = |bytes: &[u8], at| u32::from_ne_bytes(word::<4>(bytes, at));
            word(a, 0) == word(b, 0) && word(a, len - 4) == word(b, len - 4)
        }
        8..=15 => {
            let word = |bytes: &[u8], at| u64::from_ne_bytes(word::<8>(bytes, at));
            word(a, 0) == word(b, 0) && word(a, len - 8) == word(b, len - 8)
        }
        _ => {
            // Whole 16-byte blocks, then the last 16 bytes (overlapping the last block).
            let word = |bytes: &[u8], at| u128::from_ne_bytes(word::<16>(bytes, at));
            let mut at = 0;
            while at + 16 <= len {
                if word(a, at) != word(b, at) {
                    return false;
                }
                at += 16;
            }
            at == len || word(a, len - 16) == word(b, len - 16)
        }
    }
}

/// `N` bytes of `bytes` from `at` (within bounds by the callers' length checks; a miss
/// reads as zeros).
#[inline(always)]
fn word<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes
        .get(at..at + N)
        .and_then(|chunk| <[u8; N]>::try_from(chunk).ok())
        .unwrap_or([0; N])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_slice_equality(
            a in proptest::collection::vec(0u8..4, 0..80),
            flip in any::<proptest::sample::Index>(),
        ) {
            // Equal, then different in one byte anywhere, then different in length.
            prop_assert!(same(&a, &a.clone()));
            if !a.is_empty() {
                let mut b = a.clone();
                let at = flip.index(b.len());
                b[at] = b[at].wrapping_add(1);
                prop_assert!(!same(&a, &b));
            }
            let mut longer = a.clone();
            longer.push(0);
            prop_assert!(!same(&a, &longer));
        }
    }
}
