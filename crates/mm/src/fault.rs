//! Page faults and user accesses (`mm/memory.c`, parisc `update_mmu_cache`):
//! `handle_mm_fault` with `do_no_page`, `do_anonymous_page`, `do_swap_page`
//! and `do_wp_page`; user loads and stores that take faults; and
//! `access_process_vm` with `copy_to_user_page` / `copy_from_user_page`.

use std::sync::Arc;

use vipt_cache::CacheError;
use vipt_pte::{
    classify, pfn_pte, pte_mkdirty, pte_mkwrite, pte_mkyoung, pte_none, pte_pfn, pte_present,
    pte_same, pte_write, pte_wrprotect, swp_offset, Pte, PteKind, PAGE_SHIFT, PAGE_SIZE,
};

use crate::cpu::Cpu;
use crate::error::MmError;
use crate::filemap::find_or_read_page;
use crate::mm_struct::MmStruct;
use crate::mmap::vm_page_prot;
use crate::page::pg;
use crate::rmap::{
    flush_cache_page, page_add_anon_rmap, page_add_file_rmap, page_remove_rmap, put_page, swap_free,
};
use crate::vma::{VmFlags, Vma};
use crate::world::ZERO_PFN;

/// parisc `update_mmu_cache(vma, addr, pte)`: a page-cache page with
/// `PG_dcache_dirty` gets its kernel alias flushed, and the bit cleared.
pub fn update_mmu_cache(cpu: &mut Cpu, pte: Pte) -> Result<(), MmError> {
    let pfn = pte_pfn(pte);
    let w = cpu.world().clone();
    let Ok(page) = w.page(pfn) else { return Ok(()) };
    cpu.page_op(pfn, false, "update_mmu_cache");
    if crate::strategy::page_mapping(cpu, pfn)?.is_some() && page.test_bit(pg::PG_DCACHE_DIRTY) {
        cpu.flush_kernel_dcache_page(pfn, "update_mmu_cache")?;
        page.clear_bit(pg::PG_DCACHE_DIRTY);
    }
    Ok(())
}

fn mk_pte(cpu: &Cpu, pfn: u64, vma: &Vma) -> Result<Pte, MmError> {
    Ok(pfn_pte(
        cpu.world().config.layout,
        pfn,
        vm_page_prot(vma.vm_flags),
    )?)
}

/// `maybe_mkwrite`: writable only if the vma is.
fn maybe_mkwrite(pte: Pte, vma: &Vma) -> Pte {
    if vma.vm_flags.contains(VmFlags::VM_WRITE) {
        pte_mkwrite(pte)
    } else {
        pte
    }
}

/// A fresh anonymous page: cleared through the kernel alias, which is then
/// flushed (`clear_user_highpage`).
fn new_zeroed_page(cpu: &mut Cpu) -> Result<u64, MmError> {
    let pfn = cpu.world().alloc_frame()?;
    cpu.clear_page_kernel(pfn, "clear_user_page")?;
    cpu.flush_kernel_dcache_page(pfn, "clear_user_page")?;
    Ok(pfn)
}

/// `copy_user_highpage(new, old, addr)` (2005): a copy through the kernel
/// aliases — the old page's user-alias lines are *not* flushed first — then the
/// new page's kernel alias is flushed.
fn copy_user_page(cpu: &mut Cpu, old: u64) -> Result<u64, MmError> {
    let pfn = cpu.world().alloc_frame()?;
    cpu.copy_page_kernel(pfn, old, "copy_user_page")?;
    cpu.flush_kernel_dcache_page(pfn, "copy_user_page")?;
    Ok(pfn)
}

/// `handle_mm_fault(mm, vma, addr, write)` (`mmap_sem` held for reading by the
/// caller).
pub fn handle_mm_fault(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    addr: u64,
    write: bool,
) -> Result<(), MmError> {
    let addr = addr & !(PAGE_SIZE - 1);
    let ptl = cpu.pte_lockptr(mm, addr)?;
    cpu.spin_lock(ptl, "handle_pte_fault");
    let entry = match cpu.pte_read(mm, addr, "handle_pte_fault") {
        Ok(e) => e,
        Err(e) => {
            cpu.spin_unlock(ptl, "handle_pte_fault")?;
            return Err(e);
        }
    };
    if !pte_present(entry) {
        // The handlers drop the lock themselves.
        if pte_none(entry) {
            return match &vma.vm_file {
                Some(_) => do_no_page(cpu, mm, vma, addr, write, ptl),
                None => do_anonymous_page(cpu, mm, vma, addr, write, ptl),
            };
        }
        if let PteKind::Swap { .. } = classify(entry) {
            return do_swap_page(cpu, mm, vma, addr, write, entry, ptl);
        }
        cpu.spin_unlock(ptl, "handle_pte_fault")?;
        return Err(MmError::Invalid(format!(
            "nonlinear file pte at {addr:#x}: remap_file_pages is not modelled"
        )));
    }
    let r = (|| {
        if write && !pte_write(entry) {
            return do_wp_page(cpu, mm, vma, addr, entry, ptl);
        }
        let mut e = pte_mkyoung(entry);
        if write {
            e = pte_mkdirty(e);
        }
        if e != entry {
            cpu.set_pte_at(mm, addr, e, "handle_pte_fault")?;
            cpu.flush_tlb_page(vma.space, addr, "ptep_set_access_flags");
        }
        update_mmu_cache(cpu, e)
    })();
    cpu.spin_unlock(ptl, "handle_pte_fault")?;
    r
}

/// `do_no_page` for a file vma: drop the pte lock, `filemap_nopage` (page cache
/// lookup or read), a private write copies the page, then under the pte lock
/// again: if the pte is still none, `set_pte_at` and `update_mmu_cache`.
fn do_no_page(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    addr: u64,
    write: bool,
    ptl: &crate::lock::KLock,
) -> Result<(), MmError> {
    cpu.spin_unlock(ptl, "do_no_page")?;
    let f = vma.vm_file.clone().expect("file vma");
    let pgoff = vma.pgoff_of(addr);
    let mut pfn = find_or_read_page(cpu, &f, pgoff).map_err(|e| match e {
        MmError::Segv { .. } => MmError::Segv { va: addr, write },
        e => e,
    })?;
    let mut anon = false;
    if write && !vma.vm_flags.contains(VmFlags::VM_SHARED) {
        let copy = copy_user_page(cpu, pfn)?;
        put_page(cpu, pfn)?;
        (pfn, anon) = (copy, true);
    }
    cpu.locked(ptl, "do_no_page", |cpu| {
        let now = cpu.pte_read(mm, addr, "do_no_page")?;
        if !pte_none(now) {
            // Someone else faulted it in.
            return put_page(cpu, pfn);
        }
        let mut e = mk_pte(cpu, pfn, vma)?;
        if write {
            e = maybe_mkwrite(pte_mkdirty(e), vma);
        }
        cpu.set_pte_at(mm, addr, e, "do_no_page")?;
        if anon {
            page_add_anon_rmap(cpu, pfn, vma, addr)?;
        } else {
            page_add_file_rmap(cpu, pfn)?;
        }
        update_mmu_cache(cpu, e)
    })
}

/// `do_anonymous_page`: a read maps the zero page read-only; a write maps a new
/// cleared page.
fn do_anonymous_page(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    addr: u64,
    write: bool,
    ptl: &crate::lock::KLock,
) -> Result<(), MmError> {
    cpu.spin_unlock(ptl, "do_anonymous_page")?;
    let pfn = if write {
        new_zeroed_page(cpu)?
    } else {
        ZERO_PFN
    };
    cpu.locked(ptl, "do_anonymous_page", |cpu| {
        let now = cpu.pte_read(mm, addr, "do_anonymous_page")?;
        if !pte_none(now) {
            return if write { put_page(cpu, pfn) } else { Ok(()) };
        }
        let mut e = mk_pte(cpu, pfn, vma)?;
        if write {
            e = maybe_mkwrite(pte_mkdirty(e), vma);
            page_add_anon_rmap(cpu, pfn, vma, addr)?;
        } else {
            e = pte_wrprotect(e);
        }
        cpu.set_pte_at(mm, addr, e, "do_anonymous_page")?;
        update_mmu_cache(cpu, e)
    })
}

/// `do_swap_page`: the page from the swap cache or read back from the slot,
/// mapped again if the pte is unchanged; the swap entry is freed.
#[allow(clippy::too_many_arguments)]
fn do_swap_page(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    addr: u64,
    write: bool,
    orig: Pte,
    ptl: &crate::lock::KLock,
) -> Result<(), MmError> {
    cpu.spin_unlock(ptl, "do_swap_page")?;
    let w = cpu.world().clone();
    let sw = w.swapper_space.clone();
    let cached = cpu.read_locked(&sw.tree_lock, "lookup_swap_cache", |_| {
        Ok(sw.cached_pfn(orig.raw()))
    })?;
    let (pfn, from_cache) = match cached {
        Some(p) => {
            w.page(p)?.get();
            (p, true)
        }
        None => {
            let data = w
                .swap
                .lock()
                .slots
                .get(&swp_offset(orig))
                .and_then(|s| s.1.clone());
            let Some(data) = data else {
                return Err(w.bug(format!(
                    "do_swap_page: swap slot {} holds nothing",
                    swp_offset(orig)
                )));
            };
            let p = w.alloc_frame()?;
            cpu.init_page(p, &data, "swap_readpage")?;
            (p, false)
        }
    };
    let page = w.page(pfn)?;
    cpu.spin_lock(&page.lock, "lock_page");
    let r = cpu.locked(ptl, "do_swap_page", |cpu| {
        let now = cpu.pte_read(mm, addr, "do_swap_page")?;
        if !pte_same(now, orig) {
            return put_page(cpu, pfn);
        }
        swap_free(cpu, orig)?;
        let mut e = mk_pte(cpu, pfn, vma)?;
        if write {
            e = maybe_mkwrite(pte_mkdirty(e), vma);
        } else {
            e = pte_wrprotect(e);
        }
        cpu.set_pte_at(mm, addr, e, "do_swap_page")?;
        page_add_anon_rmap(cpu, pfn, vma, addr)?;
        update_mmu_cache(cpu, e)
    });
    cpu.spin_unlock(&page.lock, "unlock_page")?;
    r?;
    if from_cache && page.test_bit(pg::PG_SWAPCACHE) {
        // remove_exclusive_swap_page: the slot goes if nobody else uses it.
        let users = w
            .swap
            .lock()
            .slots
            .get(&swp_offset(Pte::from_raw(page.private())))
            .map_or(0, |s| s.0);
        if users == 1 {
            crate::rmap::delete_from_swap_cache(cpu, pfn)?;
        }
    }
    Ok(())
}

/// `do_wp_page` (entered with the pte lock held; leaves it held): reuse an
/// anonymous page nobody else maps (`flush_cache_page`, then make the pte
/// writable), else copy: drop the lock, copy through the kernel aliases, retake
/// the lock, and if `pte_same`: `flush_cache_page` on the old pfn, install the
/// new pte (`ptep_establish`: store and TLB purge), drop the old rmap.
pub fn do_wp_page(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    addr: u64,
    orig: Pte,
    ptl: &crate::lock::KLock,
) -> Result<(), MmError> {
    let w = cpu.world().clone();
    let old = pte_pfn(orig);
    let page = w.page(old)?;
    cpu.page_op(old, false, "do_wp_page");
    let reuse = old != ZERO_PFN
        && page.is_anon()
        && !page.lock.is_locked()
        && page.mapcount() == 1
        && !page.test_bit(pg::PG_SWAPCACHE);
    if reuse {
        flush_cache_page(cpu, vma, addr, old)?;
        let e = maybe_mkwrite(pte_mkdirty(pte_mkyoung(orig)), vma);
        cpu.set_pte_at(mm, addr, e, "ptep_set_access_flags")?;
        cpu.flush_tlb_page(vma.space, addr, "ptep_set_access_flags");
        return update_mmu_cache(cpu, e);
    }
    page.get();
    cpu.spin_unlock(ptl, "do_wp_page")?;
    let copied = if old == ZERO_PFN {
        new_zeroed_page(cpu)
    } else {
        copy_user_page(cpu, old)
    };
    cpu.spin_lock(ptl, "do_wp_page");
    let new = match copied {
        Ok(n) => n,
        Err(e) => {
            put_page(cpu, old)?;
            return Err(e);
        }
    };
    let now = cpu.pte_read(mm, addr, "do_wp_page")?;
    if pte_same(now, orig) {
        flush_cache_page(cpu, vma, addr, old)?;
        let e = maybe_mkwrite(pte_mkdirty(mk_pte(cpu, new, vma)?), vma);
        cpu.set_pte_at(mm, addr, e, "ptep_establish")?;
        cpu.flush_tlb_page(vma.space, addr, "ptep_establish");
        page_add_anon_rmap(cpu, new, vma, addr)?;
        if old != ZERO_PFN {
            page_remove_rmap(cpu, old)?;
            put_page(cpu, old)?;
        }
        update_mmu_cache(cpu, e)?;
    } else {
        put_page(cpu, new)?;
    }
    put_page(cpu, old)
}

/// The fault path of a user access: `do_page_fault` takes `mmap_sem` for
/// reading, finds the vma, checks the access right and calls `handle_mm_fault`.
pub fn do_page_fault(cpu: &mut Cpu, addr: u64, write: bool) -> Result<(), MmError> {
    let mm = cpu.current_mm()?;
    cpu.read_locked(&mm.mmap_sem, "do_page_fault", |cpu| {
        let vma = mm.find_vma(addr).ok_or(MmError::Segv { va: addr, write })?;
        let need = if write {
            VmFlags::VM_WRITE
        } else {
            VmFlags::VM_READ
        };
        if !vma.vm_flags.contains(need) {
            return Err(MmError::Segv { va: addr, write });
        }
        handle_mm_fault(cpu, &mm, &vma, addr, write)
    })
}

const FAULT_RETRIES: u32 = 8;

impl Cpu {
    fn user_op(&mut self, va: u64, size: u32, store: Option<u64>) -> Result<u64, MmError> {
        let space = self.current_mm()?.context;
        let what = if store.is_some() {
            "user store"
        } else {
            "user load"
        };
        for _ in 0..FAULT_RETRIES {
            match self.user_access(space, va, size, store, what) {
                Ok(v) => return Ok(v),
                Err(CacheError::PageFault { write, .. })
                | Err(CacheError::Protection { write, .. }) => {
                    do_page_fault(self, va, write)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(self.world().bug(format!(
            "user access at {va:#x} still faults after {FAULT_RETRIES} faults"
        )))
    }

    /// A user load of `size` bytes at `va` in the current mm, taking faults.
    pub fn user_load(&mut self, va: u64, size: u32) -> Result<u64, MmError> {
        self.user_op(va, size, None)
    }

    /// A user store, taking faults (including COW).
    pub fn user_store(&mut self, va: u64, size: u32, value: u64) -> Result<(), MmError> {
        self.user_op(va, size, Some(value)).map(|_| ())
    }
}

/// `copy_to_user_page(vma, page, vaddr, dst, src, len)`: flush the user alias,
/// store through the kernel alias, flush the kernel range.
pub fn copy_to_user_page(
    cpu: &mut Cpu,
    vma: &Vma,
    pfn: u64,
    vaddr: u64,
    value: u64,
) -> Result<(), MmError> {
    flush_cache_page(cpu, vma, vaddr & !(PAGE_SIZE - 1), pfn)?;
    let pa = (pfn << PAGE_SHIFT) | (vaddr & (PAGE_SIZE - 1));
    cpu.kernel_store(pa, 8, value, "copy_to_user_page")?;
    cpu.fdc(
        vipt_cache::KERNEL_SPACE,
        vipt_cache::Machine::kernel_va(pa),
        "flush_kernel_dcache_range",
    )?;
    Ok(())
}

/// `copy_from_user_page`: flush the user alias, load through the kernel alias.
pub fn copy_from_user_page(cpu: &mut Cpu, vma: &Vma, pfn: u64, vaddr: u64) -> Result<u64, MmError> {
    flush_cache_page(cpu, vma, vaddr & !(PAGE_SIZE - 1), pfn)?;
    let pa = (pfn << PAGE_SHIFT) | (vaddr & (PAGE_SIZE - 1));
    cpu.kernel_load(pa, 8, "copy_from_user_page")
}

/// `access_process_vm(tsk, addr, buf, 8, write)` on `mm` (ptrace): under its
/// `mmap_sem`, `get_user_pages` faults the page in (breaking COW for a write),
/// then the word is copied through the kernel alias between user-alias flushes.
/// Returns the word read, or the word written.
pub fn access_process_vm(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    addr: u64,
    write: Option<u64>,
) -> Result<u64, MmError> {
    if addr % 8 != 0 {
        return Err(MmError::Invalid(format!("{addr:#x} is not 8-byte aligned")));
    }
    cpu.read_locked(&mm.mmap_sem, "access_process_vm", |cpu| {
        let vma = mm.find_vma(addr).ok_or(MmError::Segv {
            va: addr,
            write: write.is_some(),
        })?;
        let page_addr = addr & !(PAGE_SIZE - 1);
        // get_user_pages: fault until the pte is present (and writable for a write).
        let mut pte = Pte::NONE;
        for _ in 0..FAULT_RETRIES {
            pte = cpu.pte_read(mm, page_addr, "follow_page")?;
            if pte_present(pte) && (write.is_none() || pte_write(pte)) {
                break;
            }
            handle_mm_fault(cpu, mm, &vma, page_addr, write.is_some())?;
        }
        let pfn = pte_pfn(pte);
        match write {
            Some(v) => copy_to_user_page(cpu, &vma, pfn, addr, v).map(|_| v),
            None => copy_from_user_page(cpu, &vma, pfn, addr),
        }
    })
}
