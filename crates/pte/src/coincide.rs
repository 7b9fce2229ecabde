//! Question 1 of the seed: for a target pfn, how many swap and file entries does the
//! pre-patch `translation_exists` take for a translation of it?
//!
//! Since `legacy_2005` accepts exactly the non-zero ptes whose `pte_pfn` is the
//! target, the candidates are the 4096 values `pfn << 12 | low` — one per setting
//! of the flag bits. [`coincidences`] walks those, keeps the ones that are canonical
//! swap or file encodings in the layout, and asks both tests about each.
//! [`closed_form`] states the answer from the bit layout alone; the tests check
//! the two against each other and against a brute-force walk of every swap entry.

use crate::error::PteError;
use crate::layout::{Layout, PAGE_SHIFT};
use crate::pte::{classify, pgoff_to_pte, swp_entry, Pte, PteKind};
use crate::translation::{legacy_2005, patched_2005};

/// The answer to question 1 for one pfn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coincidences {
    /// The layout counted.
    pub layout: Layout,
    /// The target pfn.
    pub pfn: u64,
    /// Swap entries `legacy_2005` accepts for `pfn`.
    pub swap: u64,
    /// File entries `legacy_2005` accepts for `pfn`.
    pub file: u64,
    /// Swap plus file entries `patched_2005` accepts (0 if the patch is right).
    pub patched_2005: u64,
    /// The first few accepted swap ptes, in value order.
    pub swap_examples: Vec<Pte>,
    /// The first few accepted file ptes, in value order.
    pub file_examples: Vec<Pte>,
}

/// Counts the coincidental swap and file entries for `pfn`, keeping up to
/// `examples` of each kind.
pub fn coincidences(layout: Layout, pfn: u64, examples: usize) -> Result<Coincidences, PteError> {
    if pfn >> layout.pfn_bits() != 0 {
        return Err(PteError::PfnTooLarge {
            pfn,
            bits: layout.pfn_bits(),
        });
    }
    let mut c = Coincidences {
        layout,
        pfn,
        swap: 0,
        file: 0,
        patched_2005: 0,
        swap_examples: Vec::new(),
        file_examples: Vec::new(),
    };
    for low in 0..(1u64 << PAGE_SHIFT) {
        let pte = Pte::from_raw((pfn << PAGE_SHIFT) | low);
        let canonical = match classify(pte) {
            PteKind::Swap { ty, offset } => swp_entry(layout, ty, offset) == Ok(pte),
            PteKind::File { pgoff } => pgoff_to_pte(layout, pgoff) == Ok(pte),
            _ => false,
        };
        if !canonical {
            continue;
        }
        if patched_2005(pte, pfn) {
            c.patched_2005 += 1;
        }
        if !legacy_2005(pte, pfn) {
            continue;
        }
        let (count, list) = match classify(pte) {
            PteKind::Swap { .. } => (&mut c.swap, &mut c.swap_examples),
            _ => (&mut c.file, &mut c.file_examples),
        };
        *count += 1;
        if list.len() < examples {
            list.push(pte);
        }
    }
    Ok(c)
}

/// The same counts from the bit layout: `(swap, file)`.
///
/// A swap pte's pfn is its offset shifted right by 4 (offset bits 0–2 sit below
/// bit 12 at 6–8, bit 3 at bit 11), so each pfn has 32 types × 16 low offsets =
/// 512 swap entries, less the (0, 0) entry that is the none pte. A file pte's pfn
/// is its pgoff shifted right by 1, so each pfn has 2. Both hold for every pfn the
/// layout can express, in both layouts.
pub fn closed_form(layout: Layout, pfn: u64) -> Result<(u64, u64), PteError> {
    if pfn >> layout.pfn_bits() != 0 {
        return Err(PteError::PfnTooLarge {
            pfn,
            bits: layout.pfn_bits(),
        });
    }
    Ok((512 - u64::from(pfn == 0), 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumeration_matches_closed_form_at_edges() {
        for layout in [Layout::Bits32, Layout::Bits64] {
            let max = (1u64 << layout.pfn_bits()) - 1;
            for pfn in [0, 1, 2, 0x123, 0x8000, max - 1, max] {
                let c = coincidences(layout, pfn, 3).unwrap();
                assert_eq!(
                    (c.swap, c.file),
                    closed_form(layout, pfn).unwrap(),
                    "{pfn:#x}"
                );
                assert_eq!(c.patched_2005, 0);
                assert_eq!(c.swap_examples.len(), 3);
                assert_eq!(c.file_examples.len(), 2);
            }
            assert!(coincidences(layout, max + 1, 0).is_err());
        }
    }
}
