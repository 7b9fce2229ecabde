//! The pte API for C: the 2.6.14 parisc pte encoding, `translation_exists`, and pte
//! cells with the SMP pte operations.
//!
//! Conventions: a `layout` argument is `VIPT_LAYOUT_32` or `VIPT_LAYOUT_64`; pure
//! predicates return `bool` and cannot fail; everything that can fail returns 0 or
//! a negative errno (`-EINVAL` bad layout or flags, `-ERANGE` a value that does not
//! fit, `-EFAULT` a NULL out-pointer, `-EBADF` a NULL, freed or forged handle) and
//! writes its out-parameters only on success.
//!
//! Ranges: a `pte` argument of a predicate, a modifier or a pte cell is any
//! 64-bit value; `vipt_pte_classify` needs one that fits the layout's pte word
//! (below 2^32 for `VIPT_LAYOUT_32`). A `pfn`, swap `offset` or `pgoff` fits the
//! layout's field (`pfn_bits`, `swap_offset_bits`, `pte_file_max_bits` of
//! `vipt_layout_info`), a swap type is below 32, a `prot` has no bit above 0xfff:
//! `-ERANGE` for a value too wide, `-EINVAL` for bad flags.

use std::ffi::c_int;

use vipt_pte as p;
use vipt_pte::{AtomicPte, Layout, PaDbitLock, Pte, PteKind};

use crate::error::{errno, guard, need_out, write_out, Error, Result};
use crate::handle::{from_ptr, to_ptr, HandleKind, HandleTable};

/// `VIPT_LAYOUT_32`: the 32-bit kernel (2 levels, 32-bit pte values).
pub const VIPT_LAYOUT_32: u32 = 32;
/// `VIPT_LAYOUT_64`: the 64-bit kernel with 4 KiB pages (3 levels).
pub const VIPT_LAYOUT_64: u32 = 64;

/// `_PAGE_READ`.
pub const VIPT_PAGE_READ: u64 = 0x001;
/// `_PAGE_WRITE`.
pub const VIPT_PAGE_WRITE: u64 = 0x002;
/// `_PAGE_EXEC`.
pub const VIPT_PAGE_EXEC: u64 = 0x004;
/// `_PAGE_GATEWAY`.
pub const VIPT_PAGE_GATEWAY: u64 = 0x008;
/// `_PAGE_DMB`.
pub const VIPT_PAGE_DMB: u64 = 0x010;
/// `_PAGE_DIRTY`.
pub const VIPT_PAGE_DIRTY: u64 = 0x020;
/// `_PAGE_FILE` (the same bit as `_PAGE_DIRTY`).
pub const VIPT_PAGE_FILE: u64 = 0x020;
/// `_PAGE_REFTRAP`.
pub const VIPT_PAGE_REFTRAP: u64 = 0x040;
/// `_PAGE_NO_CACHE`.
pub const VIPT_PAGE_NO_CACHE: u64 = 0x080;
/// `_PAGE_ACCESSED`.
pub const VIPT_PAGE_ACCESSED: u64 = 0x100;
/// `_PAGE_PRESENT`.
pub const VIPT_PAGE_PRESENT: u64 = 0x200;
/// `_PAGE_FLUSH`: valid for cache flushing only.
pub const VIPT_PAGE_FLUSH: u64 = 0x400;
/// `_PAGE_USER`.
pub const VIPT_PAGE_USER: u64 = 0x800;
/// `_PAGE_RW`.
pub const VIPT_PAGE_RW: u64 = 0x003;
/// `_PAGE_TABLE`.
pub const VIPT_PAGE_TABLE: u64 = 0x323;
/// `_PAGE_KERNEL`.
pub const VIPT_PAGE_KERNEL: u64 = 0x327;
/// `PAGE_NONE`.
pub const VIPT_PAGE_NONE: u64 = 0xb00;
/// `PAGE_SHARED`.
pub const VIPT_PAGE_SHARED: u64 = 0xb03;
/// `PAGE_READONLY`.
pub const VIPT_PAGE_READONLY: u64 = 0xb01;
/// `PAGE_COPY`.
pub const VIPT_PAGE_COPY: u64 = 0xb05;
/// `PAGE_RWX`.
pub const VIPT_PAGE_RWX: u64 = 0xb07;

fn layout(l: u32) -> Result<Layout> {
    Ok(Layout::from_bits(u64::from(l))?)
}

fn pte_in(l: Layout, raw: u64) -> Result<Pte> {
    Ok(l.pte(raw)?)
}

/// What a pte value is.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vipt_pte_kind {
    /// The zero pte.
    VIPT_PTE_NONE = 0,
    /// `_PAGE_PRESENT` set.
    VIPT_PTE_PRESENT = 1,
    /// `_PAGE_FLUSH` without `_PAGE_PRESENT`: valid for flushing only.
    VIPT_PTE_FLUSH = 2,
    /// A swap entry.
    VIPT_PTE_SWAP = 3,
    /// A nonlinear file pte.
    VIPT_PTE_FILE = 4,
}

/// A classified pte. Fields that do not apply to `kind` are 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_pte_class {
    /// What the pte is.
    pub kind: vipt_pte_kind,
    /// `pte_pfn` for present and flush-only ptes.
    pub pfn: u64,
    /// The flag bits for present and flush-only ptes.
    pub flags: u64,
    /// `__swp_type` for swap ptes.
    pub swap_type: u64,
    /// `__swp_offset` for swap ptes.
    pub swap_offset: u64,
    /// `pte_to_pgoff` for file ptes.
    pub pgoff: u64,
}

/// The geometry of a page-table layout.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_layout_info {
    /// `BITS_PER_LONG`.
    pub bits_per_long: u32,
    /// `PT_NLEVELS`.
    pub levels: u32,
    /// `PAGE_SHIFT`.
    pub page_shift: u32,
    /// `PMD_SHIFT`.
    pub pmd_shift: u32,
    /// `PGDIR_SHIFT`.
    pub pgdir_shift: u32,
    /// User address bits translated.
    pub address_bits: u32,
    /// `PTRS_PER_PTE`.
    pub ptrs_per_pte: u64,
    /// `PTRS_PER_PMD` (1 when folded).
    pub ptrs_per_pmd: u64,
    /// `PTRS_PER_PGD`.
    pub ptrs_per_pgd: u64,
    /// `PTE_FILE_MAX_BITS`.
    pub pte_file_max_bits: u32,
    /// Bits of swap offset a swap pte holds.
    pub swap_offset_bits: u32,
    /// Bits of pfn a pte holds.
    pub pfn_bits: u32,
}

/// Question 1's counts for one pfn.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_coincidences {
    /// Swap entries the pre-patch test accepts.
    pub swap: u64,
    /// File entries the pre-patch test accepts.
    pub file: u64,
    /// Swap and file entries the patched test accepts (0).
    pub patched_2005: u64,
}

/// `pte_none`: zero or `_PAGE_FLUSH` set (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_none(pte: u64) -> bool {
    p::pte_none(Pte::from_raw(pte))
}

/// `pte_present` (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_present(pte: u64) -> bool {
    p::pte_present(Pte::from_raw(pte))
}

/// `pte_file` (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_file(pte: u64) -> bool {
    p::pte_file(Pte::from_raw(pte))
}

/// `pte_pfn`: `pte >> PAGE_SHIFT` (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_pfn(pte: u64) -> u64 {
    p::pte_pfn(Pte::from_raw(pte))
}

/// `pte_young` (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_young(pte: u64) -> bool {
    p::pte_young(Pte::from_raw(pte))
}

/// `pte_dirty` (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_dirty(pte: u64) -> bool {
    p::pte_dirty(Pte::from_raw(pte))
}

/// `pte_write` (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_write(pte: u64) -> bool {
    p::pte_write(Pte::from_raw(pte))
}

/// `pte_read` (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_read(pte: u64) -> bool {
    p::pte_read(Pte::from_raw(pte))
}

/// `pte_exec` (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_exec(pte: u64) -> bool {
    p::pte_exec(Pte::from_raw(pte))
}

/// `pte_user` (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_user(pte: u64) -> bool {
    p::pte_user(Pte::from_raw(pte))
}

/// A pte modifier (`pte_mkdirty` and friends), for [`vipt_pte_mk`].
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vipt_pte_op {
    /// `pte_mkclean`.
    VIPT_PTE_MKCLEAN = 0,
    /// `pte_mkdirty`.
    VIPT_PTE_MKDIRTY = 1,
    /// `pte_mkold`.
    VIPT_PTE_MKOLD = 2,
    /// `pte_mkyoung`.
    VIPT_PTE_MKYOUNG = 3,
    /// `pte_wrprotect`.
    VIPT_PTE_WRPROTECT = 4,
    /// `pte_mkwrite`.
    VIPT_PTE_MKWRITE = 5,
    /// `pte_rdprotect`.
    VIPT_PTE_RDPROTECT = 6,
    /// `pte_mkread`.
    VIPT_PTE_MKREAD = 7,
    /// `pte_exprotect`.
    VIPT_PTE_EXPROTECT = 8,
    /// `pte_mkexec`.
    VIPT_PTE_MKEXEC = 9,
}

/// Applies the modifier numbered `op` (a `vipt_pte_op`, 0 to 9) to `pte` (any
/// value); `-EINVAL` for an unknown `op`.
#[no_mangle]
pub extern "C" fn vipt_pte_mk(pte: u64, op: u32, out: *mut u64) -> c_int {
    guard("vipt_pte_mk", || {
        let f: fn(Pte) -> Pte = match op {
            0 => p::pte_mkclean,
            1 => p::pte_mkdirty,
            2 => p::pte_mkold,
            3 => p::pte_mkyoung,
            4 => p::pte_wrprotect,
            5 => p::pte_mkwrite,
            6 => p::pte_rdprotect,
            7 => p::pte_mkread,
            8 => p::pte_exprotect,
            9 => p::pte_mkexec,
            _ => return Err(Error::new(errno::EINVAL, format!("unknown pte op {op}"))),
        };
        write_out(out, "out", f(Pte::from_raw(pte)).raw())?;
        Ok(0)
    })
}

/// `pte_modify(pte, prot)` (`pte`: any value); `-EINVAL` if `prot` has bits
/// outside 0xfff.
#[no_mangle]
pub extern "C" fn vipt_pte_modify(pte: u64, prot: u64, out: *mut u64) -> c_int {
    guard("vipt_pte_modify", || {
        let prot = p::pgprot(prot)?;
        write_out(out, "out", p::pte_modify(Pte::from_raw(pte), prot).raw())?;
        Ok(0)
    })
}

/// `pfn_pte(pfn, prot)` in `layout` (`VIPT_LAYOUT_32` or `VIPT_LAYOUT_64`,
/// `-EINVAL` otherwise, as for every `layout_bits`); `-ERANGE` if the pfn does
/// not fit the layout's `pfn_bits`, `-EINVAL` if `prot` has bits outside 0xfff.
#[no_mangle]
pub extern "C" fn vipt_pfn_pte(layout_bits: u32, pfn: u64, prot: u64, out: *mut u64) -> c_int {
    guard("vipt_pfn_pte", || {
        let l = layout(layout_bits)?;
        let pte = p::pfn_pte(l, pfn, p::pgprot(prot)?)?;
        write_out(out, "out", pte.raw())?;
        Ok(0)
    })
}

/// `__swp_entry(type, offset)` as a pte in `layout`; `-ERANGE` for a type ≥ 32 or an
/// offset that does not fit the layout's `swap_offset_bits`, `-EINVAL` for (0,
/// 0), which is the none pte.
#[no_mangle]
pub extern "C" fn vipt_swp_entry(layout_bits: u32, ty: u64, offset: u64, out: *mut u64) -> c_int {
    guard("vipt_swp_entry", || {
        let pte = p::swp_entry(layout(layout_bits)?, ty, offset)?;
        write_out(out, "out", pte.raw())?;
        Ok(0)
    })
}

/// `__swp_type` of a swap pte (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_swp_type(pte: u64) -> u64 {
    p::swp_type(Pte::from_raw(pte))
}

/// `__swp_offset` of a swap pte (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_swp_offset(pte: u64) -> u64 {
    p::swp_offset(Pte::from_raw(pte))
}

/// `pgoff_to_pte(pgoff)` in `layout`; `-ERANGE` for a `pgoff` of
/// `PTE_FILE_MAX_BITS` bits or more (`pte_file_max_bits` of `vipt_layout_info`).
#[no_mangle]
pub extern "C" fn vipt_pgoff_to_pte(layout_bits: u32, pgoff: u64, out: *mut u64) -> c_int {
    guard("vipt_pgoff_to_pte", || {
        let pte = p::pgoff_to_pte(layout(layout_bits)?, pgoff)?;
        write_out(out, "out", pte.raw())?;
        Ok(0)
    })
}

/// `pte_to_pgoff` of a file pte (`pte`: any value).
#[no_mangle]
pub extern "C" fn vipt_pte_to_pgoff(pte: u64) -> u64 {
    p::pte_to_pgoff(Pte::from_raw(pte))
}

/// Classifies `pte`; `-ERANGE` if the value does not fit the layout's pte word
/// (32 or 64 bits).
#[no_mangle]
pub extern "C" fn vipt_pte_classify(layout_bits: u32, pte: u64, out: *mut vipt_pte_class) -> c_int {
    guard("vipt_pte_classify", || {
        let pte = pte_in(layout(layout_bits)?, pte)?;
        let mut c = vipt_pte_class {
            kind: vipt_pte_kind::VIPT_PTE_NONE,
            pfn: 0,
            flags: 0,
            swap_type: 0,
            swap_offset: 0,
            pgoff: 0,
        };
        match p::classify(pte) {
            PteKind::None => {}
            PteKind::Present { pfn, flags } => {
                (c.kind, c.pfn, c.flags) = (vipt_pte_kind::VIPT_PTE_PRESENT, pfn, flags.bits())
            }
            PteKind::FlushOnly { pfn, flags } => {
                (c.kind, c.pfn, c.flags) = (vipt_pte_kind::VIPT_PTE_FLUSH, pfn, flags.bits())
            }
            PteKind::Swap { ty, offset } => {
                (c.kind, c.swap_type, c.swap_offset) = (vipt_pte_kind::VIPT_PTE_SWAP, ty, offset)
            }
            PteKind::File { pgoff } => (c.kind, c.pgoff) = (vipt_pte_kind::VIPT_PTE_FILE, pgoff),
        }
        write_out(out, "out", c)?;
        Ok(0)
    })
}

/// The geometry of `layout` (`VIPT_LAYOUT_32` or `VIPT_LAYOUT_64`).
#[no_mangle]
pub extern "C" fn vipt_layout_info(layout_bits: u32, out: *mut vipt_layout_info) -> c_int {
    guard("vipt_layout_info", || {
        let l = layout(layout_bits)?;
        let info = vipt_layout_info {
            bits_per_long: l.bits_per_long(),
            levels: l.levels(),
            page_shift: p::PAGE_SHIFT,
            pmd_shift: p::layout::PMD_SHIFT,
            pgdir_shift: l.pgdir_shift(),
            address_bits: l.address_bits(),
            ptrs_per_pte: p::layout::PTRS_PER_PTE,
            ptrs_per_pmd: l.ptrs_per_pmd(),
            ptrs_per_pgd: l.ptrs_per_pgd(),
            pte_file_max_bits: l.pte_file_max_bits(),
            swap_offset_bits: l.swap_offset_bits(),
            pfn_bits: l.pfn_bits(),
        };
        write_out(out, "out", info)?;
        Ok(0)
    })
}

/// `translation_exists` before the 2005 patch, its two reads seeing `pte`: any
/// non-zero pte whose `pte_pfn` is `pfn`, swap and file entries included
/// (`pte`, `pfn`: any values).
#[no_mangle]
pub extern "C" fn vipt_translation_exists_legacy_2005(pte: u64, pfn: u64) -> bool {
    p::legacy_2005(Pte::from_raw(pte), pfn)
}

/// The pre-patch test with its two reads made separately: `check` judged by
/// `translation_exists`, `compare` by the caller's `pte_pfn` (all three: any
/// values).
#[no_mangle]
pub extern "C" fn vipt_translation_exists_legacy_2005_reads(
    check: u64,
    compare: u64,
    pfn: u64,
) -> bool {
    p::legacy_2005_reads(Pte::from_raw(check), Pte::from_raw(compare), pfn)
}

/// Hugh's `translation_exists(vma, addr, pfn)` on one read of the pte: `PRESENT`
/// or `FLUSH` set and `pte_pfn == pfn` (`pte`, `pfn`: any values).
#[no_mangle]
pub extern "C" fn vipt_translation_exists_patched_2005(pte: u64, pfn: u64) -> bool {
    p::patched_2005(Pte::from_raw(pte), pfn)
}

/// Question 1: how many swap and file entries the pre-patch test accepts for
/// `pfn` (`-ERANGE` if it does not fit the layout's `pfn_bits`).
#[no_mangle]
pub extern "C" fn vipt_coincidences(
    layout_bits: u32,
    pfn: u64,
    out: *mut vipt_coincidences,
) -> c_int {
    guard("vipt_coincidences", || {
        let c = p::coincidences(layout(layout_bits)?, pfn, 0)?;
        let v = vipt_coincidences {
            swap: c.swap,
            file: c.file,
            patched_2005: c.patched_2005,
        };
        write_out(out, "out", v)?;
        Ok(0)
    })
}

/// `pgd_none`, `pgd_bad`, `pmd_none` or `pmd_bad` of a directory entry.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vipt_pxd_check {
    /// `pgd_none`.
    VIPT_PGD_NONE = 0,
    /// `pgd_bad`.
    VIPT_PGD_BAD = 1,
    /// `pmd_none`.
    VIPT_PMD_NONE = 2,
    /// `pmd_bad`.
    VIPT_PMD_BAD = 3,
}

/// Applies the directory-entry test numbered `test` (a `vipt_pxd_check`, 0 to
/// 3) to `entry` (any value) in `layout`: 1 or 0, or a negative errno.
#[no_mangle]
pub extern "C" fn vipt_pxd_test(layout_bits: u32, test: u32, entry: u32) -> c_int {
    guard("vipt_pxd_test", || {
        let l = layout(layout_bits)?;
        let e = p::PxdEntry(entry);
        let r = match test {
            0 => l.pgd_none(e),
            1 => l.pgd_bad(e),
            2 => l.pmd_none(e),
            3 => l.pmd_bad(e),
            _ => {
                return Err(Error::new(
                    errno::EINVAL,
                    format!("unknown pxd test {test}"),
                ))
            }
        };
        Ok(c_int::from(r))
    })
}

/// A pte slot in a page table, shared between threads. Opaque: a handle, never
/// a pointer to memory.
pub struct vipt_pte_cell {
    _private: [u8; 0],
}

/// The one `pa_dbit_lock` of the C API's pte cells, global as in the kernel.
static PA_DBIT_LOCK: PaDbitLock = PaDbitLock::new();
static CELLS: HandleTable<AtomicPte> = HandleTable::new(HandleKind::PteCell);

fn cell(c: *const vipt_pte_cell) -> Result<std::sync::Arc<AtomicPte>> {
    CELLS.get(from_ptr(c))
}

/// A new pte cell holding `pte` (any value); free it with `vipt_pte_cell_free`.
#[no_mangle]
pub extern "C" fn vipt_pte_cell_new(pte: u64, out: *mut *mut vipt_pte_cell) -> c_int {
    guard("vipt_pte_cell_new", || {
        need_out(out)?;
        let h = CELLS.insert(AtomicPte::new(Pte::from_raw(pte)))?;
        write_out(out, "out", to_ptr(h))?;
        Ok(0)
    })
}

/// Frees a pte cell; `-EBADF` if it is NULL or already freed.
#[no_mangle]
pub extern "C" fn vipt_pte_cell_free(c: *mut vipt_pte_cell) -> c_int {
    guard("vipt_pte_cell_free", || {
        CELLS.remove(from_ptr(c))?;
        Ok(0)
    })
}

/// Reads the pte (`*ptep`).
#[no_mangle]
pub extern "C" fn vipt_pte_cell_load(c: *const vipt_pte_cell, out: *mut u64) -> c_int {
    guard("vipt_pte_cell_load", || {
        let v = cell(c)?.load();
        write_out(out, "out", v.raw())?;
        Ok(0)
    })
}

/// `set_pte_at`: a plain store of `pte` (any value).
#[no_mangle]
pub extern "C" fn vipt_set_pte_at(c: *mut vipt_pte_cell, pte: u64) -> c_int {
    guard("vipt_set_pte_at", || {
        cell(c)?.set_pte_at(Pte::from_raw(pte));
        Ok(0)
    })
}

/// `ptep_get_and_clear` (SMP 2.6.14): under `pa_dbit_lock`, clear `PRESENT`, set
/// `FLUSH`, keep the pfn; the old value goes to `old`.
#[no_mangle]
pub extern "C" fn vipt_ptep_get_and_clear(c: *mut vipt_pte_cell, old: *mut u64) -> c_int {
    guard("vipt_ptep_get_and_clear", || {
        if old.is_null() {
            return Err(Error::new(errno::EFAULT, "old is NULL"));
        }
        let v = cell(c)?.ptep_get_and_clear(&PA_DBIT_LOCK);
        write_out(old, "old", v.raw())?;
        Ok(0)
    })
}

/// `ptep_test_and_clear_young`: 1 if `ACCESSED` was set (and is now clear), else 0.
#[no_mangle]
pub extern "C" fn vipt_ptep_test_and_clear_young(c: *mut vipt_pte_cell) -> c_int {
    guard("vipt_ptep_test_and_clear_young", || {
        Ok(c_int::from(cell(c)?.ptep_test_and_clear_young()))
    })
}

/// `ptep_test_and_clear_dirty`: 1 if `DIRTY` was set (and is now clear), else 0.
#[no_mangle]
pub extern "C" fn vipt_ptep_test_and_clear_dirty(c: *mut vipt_pte_cell) -> c_int {
    guard("vipt_ptep_test_and_clear_dirty", || {
        Ok(c_int::from(cell(c)?.ptep_test_and_clear_dirty()))
    })
}

/// `ptep_set_wrprotect`: a compare-and-swap loop clearing `WRITE`.
#[no_mangle]
pub extern "C" fn vipt_ptep_set_wrprotect(c: *mut vipt_pte_cell) -> c_int {
    guard("vipt_ptep_set_wrprotect", || {
        cell(c)?.ptep_set_wrprotect();
        Ok(0)
    })
}

/// `cmpxchg` on the pte: stores `new_pte` if the pte is `old_pte` (both any
/// values); the value found goes to `found`. Returns 1 if it swapped, 0 if not.
#[no_mangle]
pub extern "C" fn vipt_ptep_cmpxchg(
    c: *mut vipt_pte_cell,
    old_pte: u64,
    new_pte: u64,
    found: *mut u64,
) -> c_int {
    guard("vipt_ptep_cmpxchg", || {
        if found.is_null() {
            return Err(Error::new(errno::EFAULT, "found is NULL"));
        }
        let r = cell(c)?.cmpxchg(Pte::from_raw(old_pte), Pte::from_raw(new_pte));
        let (swapped, v) = match r {
            Ok(v) => (1, v),
            Err(v) => (0, v),
        };
        write_out(found, "found", v.raw())?;
        Ok(swapped)
    })
}

/// The dirty-bit trap for a user address: under `pa_dbit_lock`, a present pte gets
/// `DIRTY | ACCESSED` and the new pte goes to `out`; `-ENXIO` (a page fault: the
/// fault path) if the pte is not present.
#[no_mangle]
pub extern "C" fn vipt_dirty_trap(c: *mut vipt_pte_cell, out: *mut u64) -> c_int {
    guard("vipt_dirty_trap", || {
        need_out(out)?;
        let new = cell(c)?.dirty_trap(&PA_DBIT_LOCK).map_err(|f| {
            Error::new(
                errno::ENXIO,
                format!("pte {:#x} is not present: page fault", f.0.raw()),
            )
        })?;
        write_out(out, "out", new.raw())?;
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipt_pte::PteFlags;

    #[test]
    fn exported_constants_match_the_flags() {
        let pairs = [
            (VIPT_PAGE_READ, PteFlags::READ),
            (VIPT_PAGE_WRITE, PteFlags::WRITE),
            (VIPT_PAGE_EXEC, PteFlags::EXEC),
            (VIPT_PAGE_GATEWAY, PteFlags::GATEWAY),
            (VIPT_PAGE_DMB, PteFlags::DMB),
            (VIPT_PAGE_DIRTY, PteFlags::DIRTY),
            (VIPT_PAGE_FILE, PteFlags::FILE),
            (VIPT_PAGE_REFTRAP, PteFlags::REFTRAP),
            (VIPT_PAGE_NO_CACHE, PteFlags::NO_CACHE),
            (VIPT_PAGE_ACCESSED, PteFlags::ACCESSED),
            (VIPT_PAGE_PRESENT, PteFlags::PRESENT),
            (VIPT_PAGE_FLUSH, PteFlags::FLUSH),
            (VIPT_PAGE_USER, PteFlags::USER),
            (VIPT_PAGE_RW, PteFlags::RW),
            (VIPT_PAGE_TABLE, PteFlags::TABLE),
            (VIPT_PAGE_KERNEL, PteFlags::KERNEL),
            (VIPT_PAGE_NONE, PteFlags::PAGE_NONE),
            (VIPT_PAGE_SHARED, PteFlags::PAGE_SHARED),
            (VIPT_PAGE_READONLY, PteFlags::PAGE_READONLY),
            (VIPT_PAGE_COPY, PteFlags::PAGE_COPY),
            (VIPT_PAGE_RWX, PteFlags::PAGE_RWX),
        ];
        for (c, f) in pairs {
            assert_eq!(c, f.bits(), "{f:?}");
        }
    }

    #[test]
    fn errors_leave_out_untouched() {
        let mut out = 0xdead_u64;
        assert_eq!(vipt_pfn_pte(32, 1 << 20, 0, &mut out), -errno::ERANGE);
        assert_eq!(vipt_pfn_pte(48, 1, 0, &mut out), -errno::EINVAL);
        assert_eq!(vipt_pfn_pte(32, 1, 0x1000, &mut out), -errno::EINVAL);
        assert_eq!(vipt_pfn_pte(32, 1, 0, std::ptr::null_mut()), -errno::EFAULT);
        assert_eq!(out, 0xdead);
        assert_eq!(vipt_pfn_pte(32, 1, 0x200, &mut out), 0);
        assert_eq!(out, 0x1200);
    }

    #[test]
    fn panic_is_caught() {
        use crate::error::vipt_selftest_panic;
        assert_eq!(vipt_selftest_panic(1), -errno::ENOTRECOVERABLE);
        // SAFETY: vipt_last_error returns a valid NUL-terminated thread-local string.
        let msg = unsafe { std::ffi::CStr::from_ptr(crate::error::vipt_last_error()) };
        assert!(msg.to_str().unwrap().contains("panic caught"));
        assert_eq!(vipt_selftest_panic(0), 0);
    }
}
