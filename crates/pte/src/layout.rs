//! The two page-table layouts of the 2.6.14 parisc kernel, and directory entries.
//!
//! - 32-bit kernel: 2 levels (the pmd is folded into the pgd), 512 ptes per table,
//!   `PMD_SHIFT = PGDIR_SHIFT = 21`, 2048 pgd entries, 32 address bits.
//! - 64-bit kernel with 4 KiB pages: 3 levels, `PMD_SHIFT = 21` with 2048 pmd entries
//!   a table (an order-1 page of 4-byte entries), `PGDIR_SHIFT = 32` with 2048 pgd
//!   entries, 43 address bits.
//!
//! A pte is 8 bytes in both (`BITS_PER_PTE_ENTRY = 3`; the 32-bit kernel keeps one
//! 32-bit value word and a spare word); pgd and pmd entries are 32-bit words holding
//! `PxD` flags in the low nibble and the table's physical address shifted right by
//! `PxD_VALUE_SHIFT`.

use crate::error::PteError;
use crate::pte::Pte;

/// `PAGE_SHIFT`: 4 KiB pages.
pub const PAGE_SHIFT: u32 = 12;
/// `PAGE_SIZE`.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// `__PAGE_OFFSET`: the kernel's direct map starts here; `__pa(x) = x - PAGE_OFFSET`.
pub const PAGE_OFFSET: u64 = 0x1000_0000;
/// `BITS_PER_PTE_ENTRY`: log2 of a pte's size in bytes.
pub const BITS_PER_PTE_ENTRY: u32 = 3;
/// `BITS_PER_PMD_ENTRY`: log2 of a pmd entry's size in bytes.
pub const BITS_PER_PMD_ENTRY: u32 = 2;
/// `BITS_PER_PGD_ENTRY`: log2 of a pgd entry's size in bytes.
pub const BITS_PER_PGD_ENTRY: u32 = 2;
/// `PMD_SHIFT`, the same in both layouts.
pub const PMD_SHIFT: u32 = 21;
/// `PTRS_PER_PTE`, the same in both layouts.
pub const PTRS_PER_PTE: u64 = 1 << (PAGE_SHIFT - BITS_PER_PTE_ENTRY);
/// `PTE_SHIFT` of the file-pte encoding: `31 - _PAGE_USER_BIT`.
pub const FILE_PTE_SHIFT: u32 = 11;
/// `MAX_SWAPFILES`: swap types are 5 bits.
pub const MAX_SWAPFILES: u64 = 32;

/// Which parisc kernel's page tables: `CONFIG_64BIT` off or on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// The 32-bit kernel (2 levels). The default, as on most 2005 parisc boxes.
    #[default]
    Bits32,
    /// The 64-bit kernel with 4 KiB pages (3 levels).
    Bits64,
}

impl Layout {
    /// The layout named by its word size, 32 or 64.
    pub fn from_bits(bits: u64) -> Result<Layout, PteError> {
        match bits {
            32 => Ok(Layout::Bits32),
            64 => Ok(Layout::Bits64),
            other => Err(PteError::BadLayout(other)),
        }
    }

    /// `BITS_PER_LONG`: the width of a pte value.
    pub const fn bits_per_long(self) -> u32 {
        match self {
            Layout::Bits32 => 32,
            Layout::Bits64 => 64,
        }
    }

    /// `PT_NLEVELS`.
    pub const fn levels(self) -> u32 {
        match self {
            Layout::Bits32 => 2,
            Layout::Bits64 => 3,
        }
    }

    /// `PGDIR_SHIFT`.
    pub const fn pgdir_shift(self) -> u32 {
        match self {
            Layout::Bits32 => PMD_SHIFT,
            Layout::Bits64 => 32,
        }
    }

    /// `PTRS_PER_PMD` (1 where the pmd is folded into the pgd).
    pub const fn ptrs_per_pmd(self) -> u64 {
        match self {
            Layout::Bits32 => 1,
            Layout::Bits64 => 1 << (self.pgdir_shift() - PMD_SHIFT),
        }
    }

    /// `PTRS_PER_PGD`.
    pub const fn ptrs_per_pgd(self) -> u64 {
        1 << (self.address_bits() - self.pgdir_shift())
    }

    /// How many bits of user virtual address the page tables translate.
    pub const fn address_bits(self) -> u32 {
        match self {
            Layout::Bits32 => 32,
            Layout::Bits64 => 43,
        }
    }

    /// The largest pte value plus one bit: values must be below `1 << bits_per_long`.
    pub const fn value_mask(self) -> u64 {
        match self {
            Layout::Bits32 => u32::MAX as u64,
            Layout::Bits64 => u64::MAX,
        }
    }

    /// How many pfn bits a pte holds above `PAGE_SHIFT`.
    pub const fn pfn_bits(self) -> u32 {
        self.bits_per_long() - PAGE_SHIFT
    }

    /// `PTE_FILE_MAX_BITS`: `BITS_PER_LONG - PTE_SHIFT` (21 or 53).
    pub const fn pte_file_max_bits(self) -> u32 {
        self.bits_per_long() - FILE_PTE_SHIFT
    }

    /// How many bits of swap offset a swap pte holds: offset bits 0–2 sit at pte
    /// bits 6–8 and bit 3 upward at pte bit 11 upward, so `BITS_PER_LONG - 8`.
    pub const fn swap_offset_bits(self) -> u32 {
        self.bits_per_long() - 8
    }

    /// Checks that a raw value fits this layout's pte.
    pub fn pte(self, raw: u64) -> Result<Pte, PteError> {
        if raw & !self.value_mask() != 0 {
            return Err(PteError::ValueTooWide {
                value: raw,
                bits: self.bits_per_long(),
            });
        }
        Ok(Pte::from_raw(raw))
    }

    fn check_addr(self, addr: u64) -> Result<u64, PteError> {
        if self.address_bits() < 64 && addr >> self.address_bits() != 0 {
            return Err(PteError::AddressTooLarge {
                addr,
                bits: self.address_bits(),
            });
        }
        Ok(addr)
    }

    /// `pgd_index(addr)`.
    pub fn pgd_index(self, addr: u64) -> Result<usize, PteError> {
        Ok((self.check_addr(addr)? >> self.pgdir_shift()) as usize)
    }

    /// `pmd_index(addr)` (always 0 in the folded 2-level layout).
    pub fn pmd_index(self, addr: u64) -> Result<usize, PteError> {
        Ok(((self.check_addr(addr)? >> PMD_SHIFT) & (self.ptrs_per_pmd() - 1)) as usize)
    }

    /// `pte_index(addr)`.
    pub fn pte_index(self, addr: u64) -> Result<usize, PteError> {
        Ok(((self.check_addr(addr)? >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)) as usize)
    }

    /// `pgd_none`: an empty entry (never, in the folded 2-level layout, whose pgd
    /// entry is checked as a pmd instead).
    pub const fn pgd_none(self, e: PxdEntry) -> bool {
        match self {
            Layout::Bits32 => false,
            Layout::Bits64 => e.0 == 0,
        }
    }

    /// `pgd_bad`: the VALID flag is clear (never, in the folded layout).
    pub const fn pgd_bad(self, e: PxdEntry) -> bool {
        match self {
            Layout::Bits32 => false,
            Layout::Bits64 => e.0 & PXD_FLAG_VALID == 0,
        }
    }

    /// `pmd_none`: value 0, or in the 3-level layout a flag nibble of exactly
    /// `ATTACHED` (the gateway page's permanently attached pmd).
    pub const fn pmd_none(self, e: PxdEntry) -> bool {
        match self {
            Layout::Bits32 => e.0 == 0,
            Layout::Bits64 => e.0 == 0 || e.flags() == PXD_FLAG_ATTACHED,
        }
    }

    /// `pmd_bad`: the VALID flag is clear.
    pub const fn pmd_bad(self, e: PxdEntry) -> bool {
        e.0 & PXD_FLAG_VALID == 0
    }
}

/// `PxD_FLAG_PRESENT`.
pub const PXD_FLAG_PRESENT: u32 = 0x1;
/// `PxD_FLAG_ATTACHED`.
pub const PXD_FLAG_ATTACHED: u32 = 0x2;
/// `PxD_FLAG_VALID`.
pub const PXD_FLAG_VALID: u32 = 0x4;
/// `PxD_FLAG_MASK`.
pub const PXD_FLAG_MASK: u32 = 0xf;
/// `PxD_VALUE_SHIFT`.
pub const PXD_VALUE_SHIFT: u32 = 8;

/// A pgd or pmd entry: a 32-bit word, flags in the low nibble, the next table's
/// physical address `>> PxD_VALUE_SHIFT` above them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PxdEntry(pub u32);

impl PxdEntry {
    /// An entry pointing at a page-table page (`pmd_populate`: PRESENT | VALID).
    pub fn table(pa: u64) -> Result<PxdEntry, PteError> {
        if pa % PAGE_SIZE != 0 || pa >> (32 + PXD_VALUE_SHIFT) != 0 {
            return Err(PteError::BadTableAddress(pa));
        }
        Ok(PxdEntry(
            (pa >> PXD_VALUE_SHIFT) as u32 | PXD_FLAG_PRESENT | PXD_FLAG_VALID,
        ))
    }

    /// The flag nibble (`pmd_flag`).
    pub const fn flags(self) -> u32 {
        self.0 & PXD_FLAG_MASK
    }

    /// `pmd_present`.
    pub const fn present(self) -> bool {
        self.0 & PXD_FLAG_PRESENT != 0
    }

    /// `pmd_address`: the physical address of the table it points at.
    pub const fn address(self) -> u64 {
        ((self.0 & !PXD_FLAG_MASK) as u64) << PXD_VALUE_SHIFT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_32() {
        let l = Layout::Bits32;
        assert_eq!(l.levels(), 2);
        assert_eq!(PTRS_PER_PTE, 512);
        assert_eq!(l.pgdir_shift(), 21);
        assert_eq!(l.ptrs_per_pgd(), 2048);
        assert_eq!(l.ptrs_per_pmd(), 1);
        assert_eq!(l.pte_file_max_bits(), 21);
        assert_eq!(l.swap_offset_bits(), 24);
        assert_eq!(l.pfn_bits(), 20);
    }

    #[test]
    fn geometry_64() {
        let l = Layout::Bits64;
        assert_eq!(l.levels(), 3);
        assert_eq!(l.pgdir_shift(), 32);
        assert_eq!(l.ptrs_per_pmd(), 2048);
        assert_eq!(l.ptrs_per_pgd(), 2048);
        // A pmd page covers 4 GiB, a process 8 TiB.
        assert_eq!(l.ptrs_per_pmd() << PMD_SHIFT, 4 << 30);
        assert_eq!(l.ptrs_per_pgd() << l.pgdir_shift(), 8 << 40);
        assert_eq!(l.pte_file_max_bits(), 53);
    }

    #[test]
    fn indices_cover_the_address_space_exactly() {
        for l in [Layout::Bits32, Layout::Bits64] {
            let top = (1u64 << l.address_bits()) - 1;
            assert_eq!(l.pgd_index(top).unwrap() as u64, l.ptrs_per_pgd() - 1);
            assert_eq!(l.pmd_index(top).unwrap() as u64, l.ptrs_per_pmd() - 1);
            assert_eq!(l.pte_index(top).unwrap() as u64, PTRS_PER_PTE - 1);
            assert!(l.pgd_index(top + 1).is_err());
        }
        let a = 0x1234_5678u64;
        let l = Layout::Bits32;
        let rebuilt = ((l.pgd_index(a).unwrap() as u64) << 21)
            | ((l.pte_index(a).unwrap() as u64) << 12)
            | (a & 0xfff);
        assert_eq!(rebuilt, a);
    }

    #[test]
    fn directory_entries() {
        let e = PxdEntry::table(0x0123_4000).unwrap();
        assert_eq!(e.address(), 0x0123_4000);
        assert!(e.present());
        for l in [Layout::Bits32, Layout::Bits64] {
            assert!(!l.pmd_none(e) && !l.pmd_bad(e));
            assert!(l.pmd_none(PxdEntry(0)));
            assert!(l.pmd_bad(PxdEntry(PXD_FLAG_PRESENT)));
        }
        // Only the 3-level layout reads an ATTACHED-only nibble as none.
        let attached = PxdEntry(0x1000 | PXD_FLAG_ATTACHED);
        assert!(Layout::Bits64.pmd_none(attached));
        assert!(!Layout::Bits32.pmd_none(attached));
        assert!(!Layout::Bits32.pgd_none(PxdEntry(0)));
        assert!(Layout::Bits64.pgd_none(PxdEntry(0)));
        assert!(PxdEntry::table(0x1001).is_err());
        assert!(PxdEntry::table(1 << 40).is_err());
    }

    #[test]
    fn value_width() {
        assert!(Layout::Bits32.pte(u32::MAX as u64).is_ok());
        assert_eq!(
            Layout::Bits32.pte(1 << 32),
            Err(PteError::ValueTooWide {
                value: 1 << 32,
                bits: 32
            })
        );
        assert!(Layout::Bits64.pte(u64::MAX).is_ok());
        assert!(Layout::from_bits(48).is_err());
    }
}
