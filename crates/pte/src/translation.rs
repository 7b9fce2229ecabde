//! The two `translation_exists` tests of parisc `cache.c`, as pure functions.
//!
//! Both walk pgd → pmd first (the mm crate does that walk); what differs is how they
//! judge the pte they find:
//!
//! - **2005, before the patch**: "no translation" iff `pte_none(*pte) && !(*pte &
//!   _PAGE_FLUSH)`, which reduces to `val == 0`. Every other pte — swap and file
//!   entries included — is taken as a translation, and the caller then compares
//!   `pte_pfn(*pte)` with the target, *reading the pte a second time*.
//! - **Hugh's patch** (2.6.15): read the pte once; "no" unless it has `_PAGE_FLUSH`
//!   or `_PAGE_PRESENT`; then "yes" iff `pte_pfn` equals the target.
//!
//! Neither can take the pte lock: `flush_cache_page` callers already hold it, and
//! `flush_dcache_mmap_lock` (`tree_lock`) is below it in the lock order.

use crate::flags::PteFlags;
use crate::pte::{pte_none, pte_pfn, Pte};

/// The pre-patch test, when both of its reads see the same value.
pub const fn legacy_2005(pte: Pte, pfn: u64) -> bool {
    legacy_2005_reads(pte, pte, pfn)
}

/// The pre-patch test with its two reads of the pte made separately: `check` is
/// what `translation_exists` saw, `compare` what the caller's `pte_pfn` saw. A
/// racer can change the pte between them.
pub const fn legacy_2005_reads(check: Pte, compare: Pte, pfn: u64) -> bool {
    let no_translation = pte_none(check) && check.raw() & PteFlags::FLUSH.bits() == 0;
    !no_translation && pte_pfn(compare) == pfn
}

/// Hugh's `translation_exists(vma, addr, pfn)`: one read, `PRESENT` or `FLUSH`
/// required ("filter out coincidental file entries and swap entries"), pfn equal.
pub const fn patched_2005(pte: Pte, pfn: u64) -> bool {
    let valid = PteFlags::FLUSH.bits() | PteFlags::PRESENT.bits();
    pte.raw() & valid != 0 && pte_pfn(pte) == pfn
}

/// Which `translation_exists` a caller uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TranslationTest {
    /// [`legacy_2005`].
    Legacy2005,
    /// [`patched_2005`].
    Patched2005,
}

impl TranslationTest {
    /// Whether this test takes `pte` as a translation of `pfn`.
    pub const fn accepts(self, pte: Pte, pfn: u64) -> bool {
        match self {
            TranslationTest::Legacy2005 => legacy_2005(pte, pfn),
            TranslationTest::Patched2005 => patched_2005(pte, pfn),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;
    use crate::pte::{pfn_pte, pgoff_to_pte, swp_entry};

    #[test]
    fn legacy_reduces_to_nonzero_and_pfn() {
        for raw in 0..0x4000u64 {
            let p = Pte::from_raw(raw);
            assert_eq!(legacy_2005(p, raw >> 12), raw != 0, "{raw:#x}");
        }
    }

    #[test]
    fn the_seed_example() {
        // Swap entry whose offset bits 4.. equal the target pfn: legacy says yes.
        let pfn = 0x123;
        let swap = swp_entry(Layout::Bits32, 2, (pfn << 4) | 5).unwrap();
        assert!(legacy_2005(swap, pfn));
        assert!(!patched_2005(swap, pfn));
        let file = pgoff_to_pte(Layout::Bits32, pfn << 1).unwrap();
        assert!(legacy_2005(file, pfn) && !patched_2005(file, pfn));
        let present = pfn_pte(Layout::Bits32, pfn, PteFlags::PAGE_SHARED).unwrap();
        assert!(legacy_2005(present, pfn) && patched_2005(present, pfn));
        assert!(!patched_2005(present, pfn + 1));
        let flush = Pte::from_raw((present.raw() & !0x200) | 0x400);
        assert!(patched_2005(flush, pfn));
    }

    #[test]
    fn two_reads_can_disagree() {
        let a = pfn_pte(Layout::Bits32, 7, PteFlags::PAGE_SHARED).unwrap();
        let b = pfn_pte(Layout::Bits32, 8, PteFlags::PAGE_SHARED).unwrap();
        assert!(legacy_2005_reads(a, b, 8));
        assert!(!legacy_2005_reads(Pte::NONE, b, 8));
    }
}
