//! Kernel profiles: which kernel's generic mm and parisc arch code a world
//! runs. A profile is chosen once, when the world is made; the generic paths
//! never test for it. What differs in generic mm between the versions is
//! carried as named behaviours ([`MmShape`]), what differs in the arch code
//! lives in the profile's [`crate::arch::Parisc`] hooks.
//!
//! The kernels (texts read: see `docs/kernels.md`):
//!
//! - `2.6.14` — `mm/memory.c`, `mm/mmap.c`, `mm/rmap.c` of 2.6.14 with
//!   `arch/parisc/kernel/cache.c` and `include/asm-parisc/*.h` as shipped:
//!   `mm->page_table_lock` for every pte, the zap done entirely under it,
//!   `_PAGE_FLUSH` flush-only ptes, the pre-patch `translation_exists`.
//! - `2.6.15` — split pte locks (`pte_offset_map_lock`), the zap takes the
//!   pte lock per page-table page, Hugh's `translation_exists(vma, addr, pfn)`.
//! - `3.x` — the ≈2.6.39–3.6 tmpalias era: `flush_cache_page` purges the TLB
//!   entry and flushes by pfn through the tmpalias window, `ptep_get_and_clear`
//!   stores zero under `pa_dbit_lock` (its callers purge); no flush-only ptes.
//! - `6.10` — Anglin's 2024 fixes: `__flush_cache_page` purges, then flushes
//!   through tmpalias; `ptep_clear_flush` clears, then flushes the old pfn;
//!   `flush_cache_range` per present pte below the threshold; the i_mmap
//!   interval tree.

use std::fmt;
use std::str::FromStr;

use crate::any_tree::TreeKind;

/// A kernel profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Kernel {
    /// Linux 2.6.14 as shipped.
    #[default]
    V2_6_14,
    /// Linux 2.6.15 (split pte locks, the seed patch).
    V2_6_15,
    /// The ≈2.6.39–3.6 tmpalias era.
    V3x,
    /// Linux 6.10 (Anglin 2024).
    V6_10,
}

/// How a zap (`zap_page_range`, `unmap_region`) holds the page-table lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZapLock {
    /// 2.6.14: `mm->page_table_lock` from before `tlb_start_vma` through
    /// `tlb_finish_mmu` and the page frees.
    WholeZap,
    /// 2.6.15 on: the pte lock of each page-table page around its clears;
    /// the cache flush, the TLB flush and the frees run unlocked.
    PerTable,
}

/// How `do_wp_page` switches the pte from the old page to its copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CowSwitch {
    /// 2.6.14/2.6.15: `page_remove_rmap(old)`, `flush_cache_page`, then
    /// `break_cow`: `ptep_establish` (store, `flush_tlb_page`) and
    /// `update_mmu_cache`; then `page_add_anon_rmap(new)`.
    Establish,
    /// 3.x, 6.10: `flush_cache_page`, `ptep_clear_flush`,
    /// `page_add_new_anon_rmap(new)`, `set_pte_at`, `update_mmu_cache`,
    /// then `page_remove_rmap(old)`.
    ClearFlushSet,
}

/// The generic mm behaviours that differ between the profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmShape {
    /// Split pte locks (`USE_SPLIT_PTLOCKS`): 2.6.15 on.
    pub split_ptlock: bool,
    /// How the zap paths lock.
    pub zap_lock: ZapLock,
    /// The `i_mmap` index.
    pub tree: TreeKind,
    /// `do_wp_page`'s pte switch.
    pub cow: CowSwitch,
    /// `write()` calls `flush_dcache_page` before its copy into the page
    /// when `mapping_writably_mapped`, so the copy lands on the user's
    /// stores (`generic_perform_write`, 2.6.24 on: 3.x and 6.10); 2.6.14's
    /// `generic_file_buffered_write` flushes only after the copy.
    pub write_flushes_first: bool,
}

impl Kernel {
    /// Every profile, oldest first.
    pub const ALL: [Kernel; 4] = [Kernel::V2_6_14, Kernel::V2_6_15, Kernel::V3x, Kernel::V6_10];

    /// The names on the command line and in C.
    pub const NAMES: [&'static str; 4] = ["2.6.14", "2.6.15", "3.x", "6.10"];

    /// The profile's name.
    pub const fn name(self) -> &'static str {
        Kernel::NAMES[self as usize]
    }

    /// Parses a name of [`Kernel::NAMES`].
    pub fn parse(s: &str) -> Result<Kernel, String> {
        Kernel::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown kernel {s:?}; one of {}", Kernel::NAMES.join(", ")))
    }

    /// The generic mm behaviours of this kernel.
    pub const fn mm_shape(self) -> MmShape {
        match self {
            Kernel::V2_6_14 => MmShape {
                split_ptlock: false,
                zap_lock: ZapLock::WholeZap,
                tree: TreeKind::Prio,
                cow: CowSwitch::Establish,
                write_flushes_first: false,
            },
            Kernel::V2_6_15 => MmShape {
                split_ptlock: true,
                zap_lock: ZapLock::PerTable,
                tree: TreeKind::Prio,
                cow: CowSwitch::Establish,
                write_flushes_first: false,
            },
            Kernel::V3x => MmShape {
                split_ptlock: true,
                zap_lock: ZapLock::PerTable,
                tree: TreeKind::Prio,
                cow: CowSwitch::ClearFlushSet,
                write_flushes_first: true,
            },
            Kernel::V6_10 => MmShape {
                split_ptlock: true,
                zap_lock: ZapLock::PerTable,
                tree: TreeKind::Interval,
                cow: CowSwitch::ClearFlushSet,
                write_flushes_first: true,
            },
        }
    }

    /// Whether the kernel has flush-only ptes: `ptep_get_and_clear` keeps the
    /// pfn with `_PAGE_FLUSH`, and the non-access TLB miss handler lets an
    /// `fdc` through such a pte (2.6.14, 2.6.15).
    pub const fn flush_only_ptes(self) -> bool {
        matches!(self, Kernel::V2_6_14 | Kernel::V2_6_15)
    }

    /// The `flush_dcache_page` this kernel shipped, by strategy name.
    pub const fn flush_dcache_page(self) -> &'static str {
        match self {
            Kernel::V2_6_14 => "legacy-2005",
            Kernel::V2_6_15 => "patched-2005",
            Kernel::V3x => "tmpalias",
            Kernel::V6_10 => "modern",
        }
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kernel {
    type Err = String;

    fn from_str(s: &str) -> Result<Kernel, String> {
        Kernel::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_valid_ones() {
        for k in Kernel::ALL {
            assert_eq!(Kernel::parse(k.name()), Ok(k));
            assert_eq!(k.to_string(), k.name());
        }
        let e = Kernel::parse("2.6.16").unwrap_err();
        assert!(e.contains("2.6.14, 2.6.15, 3.x, 6.10"), "{e}");
    }

    #[test]
    fn only_2_6_14_zaps_under_page_table_lock() {
        for k in Kernel::ALL {
            let s = k.mm_shape();
            assert_eq!(s.zap_lock == ZapLock::WholeZap, k == Kernel::V2_6_14);
            assert_eq!(s.split_ptlock, k != Kernel::V2_6_14);
        }
    }
}
