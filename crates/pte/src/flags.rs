//! The pte flag bits of `include/asm-parisc/pgtable.h` (2.6.14).
//!
//! PA-RISC numbers bits big-endian inside a 32-bit word (bit 31 is the least
//! significant), so a flag's value is `1 << (31 - BIT)`. Both kernels, 32-bit and
//! 64-bit, use the same values.

use bitflags::bitflags;

/// The kernel's bit number for each flag (PA-RISC numbering, bit 31 = LSB).
pub mod bit {
    /// `_PAGE_READ_BIT`.
    pub const READ: u32 = 31;
    /// `_PAGE_WRITE_BIT`.
    pub const WRITE: u32 = 30;
    /// `_PAGE_EXEC_BIT`.
    pub const EXEC: u32 = 29;
    /// `_PAGE_GATEWAY_BIT`.
    pub const GATEWAY: u32 = 28;
    /// `_PAGE_DMB_BIT`.
    pub const DMB: u32 = 27;
    /// `_PAGE_DIRTY_BIT`.
    pub const DIRTY: u32 = 26;
    /// `_PAGE_FILE_BIT`: the dirty bit, reused in non-present ptes.
    pub const FILE: u32 = 26;
    /// `_PAGE_REFTRAP_BIT`.
    pub const REFTRAP: u32 = 25;
    /// `_PAGE_NO_CACHE_BIT`.
    pub const NO_CACHE: u32 = 24;
    /// `_PAGE_ACCESSED_BIT`.
    pub const ACCESSED: u32 = 23;
    /// `_PAGE_PRESENT_BIT`.
    pub const PRESENT: u32 = 22;
    /// `_PAGE_FLUSH_BIT`.
    pub const FLUSH: u32 = 21;
    /// `_PAGE_USER_BIT`.
    pub const USER: u32 = 20;

    /// `xlate_pabit`: a PA-RISC bit number as a shift count.
    pub const fn xlate_pabit(bit: u32) -> u32 {
        31 - bit
    }
}

const fn pa(bit: u32) -> u64 {
    1 << bit::xlate_pabit(bit)
}

bitflags! {
    /// The flag bits of a pte (the low 12 bits of its value) and the 2.6.14 protections.
    ///
    /// `DIRTY` and `FILE` are the same bit: a present pte reads it as dirty, a
    /// non-present one as "nonlinear file pte".
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct PteFlags: u64 {
        /// `_PAGE_READ` (0x001): read allowed.
        const READ = pa(bit::READ);
        /// `_PAGE_WRITE` (0x002): write allowed.
        const WRITE = pa(bit::WRITE);
        /// `_PAGE_EXEC` (0x004): execute allowed.
        const EXEC = pa(bit::EXEC);
        /// `_PAGE_GATEWAY` (0x008): privilege promotion.
        const GATEWAY = pa(bit::GATEWAY);
        /// `_PAGE_DMB` (0x010): data memory break.
        const DMB = pa(bit::DMB);
        /// `_PAGE_DIRTY` (0x020): the hardware dirty bit.
        const DIRTY = pa(bit::DIRTY);
        /// `_PAGE_FILE` (0x020): same bit as `DIRTY`, for non-present file ptes.
        const FILE = pa(bit::FILE);
        /// `_PAGE_REFTRAP` (0x040): reference trap.
        const REFTRAP = pa(bit::REFTRAP);
        /// `_PAGE_NO_CACHE` (0x080): uncached.
        const NO_CACHE = pa(bit::NO_CACHE);
        /// `_PAGE_ACCESSED` (0x100): software accessed bit.
        const ACCESSED = pa(bit::ACCESSED);
        /// `_PAGE_PRESENT` (0x200): software, the translation is valid.
        const PRESENT = pa(bit::PRESENT);
        /// `_PAGE_FLUSH` (0x400): software, valid **for cache flushing only**.
        const FLUSH = pa(bit::FLUSH);
        /// `_PAGE_USER` (0x800): software, user accessible.
        const USER = pa(bit::USER);

        /// `_PAGE_RW`.
        const RW = Self::READ.bits() | Self::WRITE.bits();
        /// `_PAGE_TABLE`: the protection of a kernel page-table page.
        const TABLE = Self::PRESENT.bits() | Self::READ.bits() | Self::WRITE.bits()
            | Self::DIRTY.bits() | Self::ACCESSED.bits();
        /// `_PAGE_KERNEL`.
        const KERNEL = Self::PRESENT.bits() | Self::EXEC.bits() | Self::READ.bits()
            | Self::WRITE.bits() | Self::DIRTY.bits() | Self::ACCESSED.bits();
        /// `PAGE_NONE`: `PROT_NONE` ptes are "present".
        const PAGE_NONE = Self::PRESENT.bits() | Self::USER.bits() | Self::ACCESSED.bits();
        /// `PAGE_SHARED`: shared writable user mapping.
        const PAGE_SHARED = Self::PAGE_NONE.bits() | Self::READ.bits() | Self::WRITE.bits();
        /// `PAGE_READONLY`.
        const PAGE_READONLY = Self::PAGE_NONE.bits() | Self::READ.bits();
        /// `PAGE_COPY`: private writable mappings are copy-on-write, so no `WRITE`
        /// until the COW fault (2.6.14 makes it executable, like `PAGE_EXECREAD`).
        const PAGE_COPY = Self::PAGE_NONE.bits() | Self::READ.bits() | Self::EXEC.bits();
        /// `PAGE_RWX`.
        const PAGE_RWX = Self::PAGE_SHARED.bits() | Self::EXEC.bits();
    }
}

/// The flag bits of a pte value: everything below `PAGE_SHIFT`.
pub const PTE_FLAG_MASK: u64 = 0xfff;

/// `_PAGE_CHG_MASK` without the page-frame part: the flag bits `pte_modify` keeps.
pub const PAGE_CHG_FLAGS: PteFlags = PteFlags::ACCESSED.union(PteFlags::DIRTY);

/// The single-bit flags in value order, each with its kernel name; `FILE` is left
/// out because it shares its bit with `DIRTY` (see [`flag_names`]).
pub const SINGLE_FLAGS: [(PteFlags, &str); 12] = [
    (PteFlags::READ, "READ"),
    (PteFlags::WRITE, "WRITE"),
    (PteFlags::EXEC, "EXEC"),
    (PteFlags::GATEWAY, "GATEWAY"),
    (PteFlags::DMB, "DMB"),
    (PteFlags::DIRTY, "DIRTY"),
    (PteFlags::REFTRAP, "REFTRAP"),
    (PteFlags::NO_CACHE, "NO_CACHE"),
    (PteFlags::ACCESSED, "ACCESSED"),
    (PteFlags::PRESENT, "PRESENT"),
    (PteFlags::FLUSH, "FLUSH"),
    (PteFlags::USER, "USER"),
];

/// The names of the flags set in `flags`, lowest bit first. Bit 0x020 is named
/// `FILE` when `as_file` (a non-present file pte) and `DIRTY` otherwise.
pub fn flag_names(flags: PteFlags, as_file: bool) -> Vec<&'static str> {
    SINGLE_FLAGS
        .iter()
        .filter(|(f, _)| flags.contains(*f))
        .map(|&(f, name)| {
            if f == PteFlags::DIRTY && as_file {
                "FILE"
            } else {
                name
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_match_the_table() {
        let expected: [(PteFlags, u64); 12] = [
            (PteFlags::READ, 0x001),
            (PteFlags::WRITE, 0x002),
            (PteFlags::EXEC, 0x004),
            (PteFlags::GATEWAY, 0x008),
            (PteFlags::DMB, 0x010),
            (PteFlags::DIRTY, 0x020),
            (PteFlags::REFTRAP, 0x040),
            (PteFlags::NO_CACHE, 0x080),
            (PteFlags::ACCESSED, 0x100),
            (PteFlags::PRESENT, 0x200),
            (PteFlags::FLUSH, 0x400),
            (PteFlags::USER, 0x800),
        ];
        for (f, v) in expected {
            assert_eq!(f.bits(), v, "{f:?}");
        }
        assert_eq!(PteFlags::FILE, PteFlags::DIRTY);
        assert_eq!(PteFlags::all().bits(), PTE_FLAG_MASK);
    }

    #[test]
    fn composites() {
        assert_eq!(
            PteFlags::TABLE.bits(),
            0x200 | 0x001 | 0x002 | 0x020 | 0x100
        );
        assert_eq!(
            PteFlags::KERNEL.bits(),
            0x200 | 0x004 | 0x001 | 0x002 | 0x020 | 0x100
        );
        assert_eq!(PteFlags::PAGE_NONE.bits(), 0x200 | 0x800 | 0x100);
        assert_eq!(
            PteFlags::PAGE_SHARED.bits(),
            0x200 | 0x800 | 0x001 | 0x002 | 0x100
        );
        assert!(!PteFlags::PAGE_COPY.contains(PteFlags::WRITE));
    }

    #[test]
    fn names_depend_on_file_context() {
        let f = PteFlags::DIRTY | PteFlags::READ;
        assert_eq!(flag_names(f, false), ["READ", "DIRTY"]);
        assert_eq!(flag_names(f, true), ["READ", "FILE"]);
        assert!(flag_names(PteFlags::empty(), false).is_empty());
    }
}
