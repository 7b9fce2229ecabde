//! `pte_t` and its accessors, as the 2.6.14 parisc kernel defines them.
//!
//! The functions keep their kernel names so that a kernel developer can grep for
//! them. They are pure functions of the pte value; the layout matters only where a
//! value is *built* (a pfn, swap offset or pgoff must fit), never where one is read.

use std::fmt;

use crate::error::PteError;
use crate::flags::{flag_names, PteFlags, PAGE_CHG_FLAGS, PTE_FLAG_MASK};
use crate::layout::{Layout, FILE_PTE_SHIFT, MAX_SWAPFILES, PAGE_SHIFT};

/// A pte value (`pte_t`; `pte_val` is [`Pte::raw`], `__pte` is [`Pte::from_raw`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Pte(u64);

impl Pte {
    /// The zero pte (`pte_clear` stores it).
    pub const NONE: Pte = Pte(0);

    /// `__pte(raw)`. Any value is a pte; use [`Layout::pte`] to check that it fits
    /// a 32-bit kernel's word.
    pub const fn from_raw(raw: u64) -> Pte {
        Pte(raw)
    }

    /// `pte_val(pte)`.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// The flag bits (the low 12 bits of the value).
    pub const fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0 & PTE_FLAG_MASK)
    }

    const fn has(self, f: PteFlags) -> bool {
        self.0 & f.bits() != 0
    }

    const fn with(self, f: PteFlags) -> Pte {
        Pte(self.0 | f.bits())
    }

    const fn without(self, f: PteFlags) -> Pte {
        Pte(self.0 & !f.bits())
    }
}

impl fmt::Debug for Pte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pte({:#x} {})", self.0, classify(*self))
    }
}

impl fmt::LowerHex for Pte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

/// `pte_none`: the zero pte **or any pte with `_PAGE_FLUSH`** — generic code must
/// not see a flush-only pte as a translation (the seed's "unintuitive pte_none").
pub const fn pte_none(pte: Pte) -> bool {
    pte.0 == 0 || pte.has(PteFlags::FLUSH)
}

/// `pte_present`.
pub const fn pte_present(pte: Pte) -> bool {
    pte.has(PteFlags::PRESENT)
}

/// `pte_file`: meaningful only when the pte is not present.
pub const fn pte_file(pte: Pte) -> bool {
    pte.has(PteFlags::FILE)
}

/// `pte_pfn`: `val >> PAGE_SHIFT`. Every pte has one, swap and file ptes included,
/// which is how they can match a target pfn by coincidence.
pub const fn pte_pfn(pte: Pte) -> u64 {
    pte.0 >> PAGE_SHIFT
}

/// `pfn_pte(pfn, prot)` (and `mk_pte(page, prot)` once `page_to_pfn` is applied).
pub fn pfn_pte(layout: Layout, pfn: u64, prot: PteFlags) -> Result<Pte, PteError> {
    if pfn >> layout.pfn_bits() != 0 {
        return Err(PteError::PfnTooLarge {
            pfn,
            bits: layout.pfn_bits(),
        });
    }
    Ok(Pte((pfn << PAGE_SHIFT) | prot.bits()))
}

/// Checks that a raw protection value holds only flag bits (`__pgprot`).
pub fn pgprot(raw: u64) -> Result<PteFlags, PteError> {
    PteFlags::from_bits(raw).ok_or(PteError::ProtNotFlags(raw))
}

/// `pte_read`.
pub const fn pte_read(pte: Pte) -> bool {
    pte.has(PteFlags::READ)
}
/// `pte_write`.
pub const fn pte_write(pte: Pte) -> bool {
    pte.has(PteFlags::WRITE)
}
/// `pte_exec`.
pub const fn pte_exec(pte: Pte) -> bool {
    pte.has(PteFlags::EXEC)
}
/// `pte_dirty`.
pub const fn pte_dirty(pte: Pte) -> bool {
    pte.has(PteFlags::DIRTY)
}
/// `pte_young`.
pub const fn pte_young(pte: Pte) -> bool {
    pte.has(PteFlags::ACCESSED)
}
/// `pte_user`.
pub const fn pte_user(pte: Pte) -> bool {
    pte.has(PteFlags::USER)
}

/// `pte_mkclean`.
pub const fn pte_mkclean(pte: Pte) -> Pte {
    pte.without(PteFlags::DIRTY)
}
/// `pte_mkdirty`.
pub const fn pte_mkdirty(pte: Pte) -> Pte {
    pte.with(PteFlags::DIRTY)
}
/// `pte_mkold`.
pub const fn pte_mkold(pte: Pte) -> Pte {
    pte.without(PteFlags::ACCESSED)
}
/// `pte_mkyoung`.
pub const fn pte_mkyoung(pte: Pte) -> Pte {
    pte.with(PteFlags::ACCESSED)
}
/// `pte_wrprotect`.
pub const fn pte_wrprotect(pte: Pte) -> Pte {
    pte.without(PteFlags::WRITE)
}
/// `pte_mkwrite`.
pub const fn pte_mkwrite(pte: Pte) -> Pte {
    pte.with(PteFlags::WRITE)
}
/// `pte_rdprotect`.
pub const fn pte_rdprotect(pte: Pte) -> Pte {
    pte.without(PteFlags::READ)
}
/// `pte_mkread`.
pub const fn pte_mkread(pte: Pte) -> Pte {
    pte.with(PteFlags::READ)
}
/// `pte_exprotect`.
pub const fn pte_exprotect(pte: Pte) -> Pte {
    pte.without(PteFlags::EXEC)
}
/// `pte_mkexec`.
pub const fn pte_mkexec(pte: Pte) -> Pte {
    pte.with(PteFlags::EXEC)
}

/// `pte_modify(pte, newprot)`: keep the page frame and `_PAGE_CHG_MASK` bits
/// (accessed, dirty), take every other flag from `newprot`.
pub const fn pte_modify(pte: Pte, newprot: PteFlags) -> Pte {
    let keep = !PTE_FLAG_MASK | PAGE_CHG_FLAGS.bits();
    Pte((pte.0 & keep) | newprot.bits())
}

/// `pte_same`: the values are equal.
pub const fn pte_same(a: Pte, b: Pte) -> bool {
    a.0 == b.0
}

/// Swap-pte bits that hold swap offset bits 0–2 (`0x40`, `0x80`, `0x100`).
const SWP_OFFSET_LOW_SHIFT: u32 = 6;
/// Offset bit 3 upward sits at pte bit 11 upward.
const SWP_OFFSET_HIGH_SHIFT: u32 = 8;
/// `__swp_type` mask.
const SWP_TYPE_MASK: u64 = 0x1f;

/// `__swp_entry(type, offset)` seen as a pte (`__swp_entry_to_pte`).
///
/// Errors if the type is not below `MAX_SWAPFILES`, the offset does not fit the
/// layout, or the entry is (0, 0), which would encode as the none pte.
pub fn swp_entry(layout: Layout, ty: u64, offset: u64) -> Result<Pte, PteError> {
    if ty >= MAX_SWAPFILES {
        return Err(PteError::SwapTypeTooLarge(ty));
    }
    if offset >> layout.swap_offset_bits() != 0 {
        return Err(PteError::SwapOffsetTooLarge {
            offset,
            bits: layout.swap_offset_bits(),
        });
    }
    if ty == 0 && offset == 0 {
        return Err(PteError::SwapEntryIsNone);
    }
    Ok(Pte(ty
        | ((offset & 0x7) << SWP_OFFSET_LOW_SHIFT)
        | ((offset & !0x7) << SWP_OFFSET_HIGH_SHIFT)))
}

/// `__swp_type(__pte_to_swp_entry(pte))`.
pub const fn swp_type(pte: Pte) -> u64 {
    pte.0 & SWP_TYPE_MASK
}

/// `__swp_offset(__pte_to_swp_entry(pte))`.
pub const fn swp_offset(pte: Pte) -> u64 {
    ((pte.0 >> SWP_OFFSET_LOW_SHIFT) & 0x7) | ((pte.0 >> SWP_OFFSET_HIGH_SHIFT) & !0x7)
}

/// `pgoff_to_pte(pgoff)`: a nonlinear file pte. Errors beyond `PTE_FILE_MAX_BITS`.
pub fn pgoff_to_pte(layout: Layout, pgoff: u64) -> Result<Pte, PteError> {
    if pgoff >> layout.pte_file_max_bits() != 0 {
        return Err(PteError::PgoffTooLarge {
            pgoff,
            bits: layout.pte_file_max_bits(),
        });
    }
    Ok(Pte((pgoff << FILE_PTE_SHIFT) | PteFlags::FILE.bits()))
}

/// `pte_to_pgoff(pte)`.
pub const fn pte_to_pgoff(pte: Pte) -> u64 {
    pte.0 >> FILE_PTE_SHIFT
}

/// What a pte value means to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PteKind {
    /// The zero pte.
    None,
    /// `_PAGE_PRESENT`: a translation the TLB miss handlers insert.
    Present {
        /// `pte_pfn`.
        pfn: u64,
        /// The flag bits.
        flags: PteFlags,
    },
    /// `_PAGE_FLUSH` without `_PAGE_PRESENT`: left by `ptep_get_and_clear`;
    /// `pte_none` to generic code, but the non-access miss handler still inserts
    /// it so a cache flush through the address works.
    FlushOnly {
        /// `pte_pfn`, kept by `ptep_get_and_clear`.
        pfn: u64,
        /// The flag bits.
        flags: PteFlags,
    },
    /// A swap entry.
    Swap {
        /// `swp_type`.
        ty: u64,
        /// `swp_offset`.
        offset: u64,
    },
    /// A nonlinear file pte.
    File {
        /// `pte_to_pgoff`.
        pgoff: u64,
    },
}

impl PteKind {
    /// The short name used by the command line and JSON output.
    pub const fn name(&self) -> &'static str {
        match self {
            PteKind::None => "none",
            PteKind::Present { .. } => "present",
            PteKind::FlushOnly { .. } => "flush",
            PteKind::Swap { .. } => "swap",
            PteKind::File { .. } => "file",
        }
    }
}

impl fmt::Display for PteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PteKind::None => write!(f, "none"),
            PteKind::Present { pfn, flags } | PteKind::FlushOnly { pfn, flags } => write!(
                f,
                "{} pfn={pfn:#x} [{}]",
                self.name(),
                flag_names(flags, false).join("|")
            ),
            PteKind::Swap { ty, offset } => write!(f, "swap type={ty} offset={offset:#x}"),
            PteKind::File { pgoff } => write!(f, "file pgoff={pgoff:#x}"),
        }
    }
}

/// Classifies a pte the way the kernel reads it: zero is none; `PRESENT` wins
/// over everything; then `FLUSH` (flush-only); then, among non-present ptes,
/// `FILE` marks a nonlinear file pte and anything else is a swap entry.
pub const fn classify(pte: Pte) -> PteKind {
    if pte.0 == 0 {
        PteKind::None
    } else if pte_present(pte) {
        PteKind::Present {
            pfn: pte_pfn(pte),
            flags: pte.flags(),
        }
    } else if pte.has(PteFlags::FLUSH) {
        PteKind::FlushOnly {
            pfn: pte_pfn(pte),
            flags: pte.flags(),
        }
    } else if pte_file(pte) {
        PteKind::File {
            pgoff: pte_to_pgoff(pte),
        }
    } else {
        PteKind::Swap {
            ty: swp_type(pte),
            offset: swp_offset(pte),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pte_none_counts_flush_only_as_none() {
        assert!(pte_none(Pte::NONE));
        assert!(pte_none(Pte::from_raw(0x1234_5000 | 0x400)));
        assert!(!pte_none(Pte::from_raw(0x1234_5000 | 0x200)));
        // A swap pte is not none.
        assert!(!pte_none(swp_entry(Layout::Bits32, 1, 7).unwrap()));
    }

    #[test]
    fn pfn_pte_round_trip_and_limits() {
        let p = pfn_pte(Layout::Bits32, 0xfffff, PteFlags::PAGE_SHARED).unwrap();
        assert_eq!(pte_pfn(p), 0xfffff);
        assert_eq!(p.flags(), PteFlags::PAGE_SHARED);
        assert!(pfn_pte(Layout::Bits32, 0x100000, PteFlags::empty()).is_err());
        assert!(pfn_pte(Layout::Bits64, (1 << 52) - 1, PteFlags::empty()).is_ok());
        assert!(pfn_pte(Layout::Bits64, 1 << 52, PteFlags::empty()).is_err());
        assert_eq!(pgprot(0x1000), Err(PteError::ProtNotFlags(0x1000)));
    }

    #[test]
    fn modifiers() {
        let p = pfn_pte(Layout::Bits32, 5, PteFlags::PAGE_SHARED).unwrap();
        assert!(pte_write(p) && !pte_write(pte_wrprotect(p)));
        assert!(pte_dirty(pte_mkdirty(p)) && !pte_dirty(pte_mkclean(pte_mkdirty(p))));
        assert!(!pte_young(pte_mkold(p)) && pte_young(pte_mkyoung(pte_mkold(p))));
        assert!(pte_exec(pte_mkexec(p)) && !pte_exec(pte_exprotect(pte_mkexec(p))));
        assert!(!pte_read(pte_rdprotect(p)) && pte_read(pte_mkread(pte_rdprotect(p))));
        assert!(pte_user(p));
        let m = pte_modify(pte_mkdirty(p), PteFlags::PAGE_READONLY);
        assert_eq!(pte_pfn(m), 5);
        assert!(pte_dirty(m) && pte_young(m) && !pte_write(m));
    }

    #[test]
    fn swap_layout_bits() {
        // Offset bits 0-2 at 0x40/0x80/0x100, bit 3 upward at 0x800 upward.
        assert_eq!(swp_entry(Layout::Bits32, 0, 1).unwrap().raw(), 0x40);
        assert_eq!(swp_entry(Layout::Bits32, 0, 4).unwrap().raw(), 0x100);
        assert_eq!(swp_entry(Layout::Bits32, 0, 8).unwrap().raw(), 0x800);
        assert_eq!(swp_entry(Layout::Bits32, 31, 0).unwrap().raw(), 0x1f);
        assert!(swp_entry(Layout::Bits32, 32, 1).is_err());
        assert!(swp_entry(Layout::Bits32, 0, 1 << 24).is_err());
        assert!(swp_entry(Layout::Bits64, 0, (1 << 56) - 1).is_ok());
        assert_eq!(
            swp_entry(Layout::Bits32, 0, 0),
            Err(PteError::SwapEntryIsNone)
        );
    }

    #[test]
    fn classify_each_kind() {
        assert_eq!(classify(Pte::NONE), PteKind::None);
        let p = pfn_pte(Layout::Bits32, 9, PteFlags::PAGE_SHARED).unwrap();
        assert!(matches!(classify(p), PteKind::Present { pfn: 9, .. }));
        let f = Pte::from_raw((p.raw() & !0x200) | 0x400);
        assert!(matches!(classify(f), PteKind::FlushOnly { pfn: 9, .. }));
        let s = swp_entry(Layout::Bits32, 3, 0x1234).unwrap();
        assert_eq!(
            classify(s),
            PteKind::Swap {
                ty: 3,
                offset: 0x1234
            }
        );
        let g = pgoff_to_pte(Layout::Bits32, 77).unwrap();
        assert_eq!(classify(g), PteKind::File { pgoff: 77 });
        assert!(pgoff_to_pte(Layout::Bits32, 1 << 21).is_err());
    }
}
