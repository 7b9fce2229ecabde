//! Page faults and user accesses (`mm/memory.c`, parisc `update_mmu_cache`):
//! `handle_mm_fault` with `do_no_page`, `do_anonymous_page`, `do_swap_page`
//! and `do_wp_page`; user loads and stores that take faults; and
//! `access_process_vm` with `copy_to_user_page` / `copy_from_user_page`.
//! Cache, TLB and pte changes go through the world's arch hooks
//! ([`crate::arch::Arch`]) in 2.6.14's order; `do_wp_page`'s switch follows
//! the profile's [`CowSwitch`].

use std::sync::Arc;

use vipt_cache::{CacheError, Owner};
use vipt_pte::{
    classify, pfn_pte, pte_mkdirty, pte_mkwrite, pte_mkyoung, pte_none, pte_pfn, pte_present,
    pte_same, pte_write, pte_wrprotect, swp_offset, Pte, PteKind, PAGE_SIZE,
};

use crate::cpu::Cpu;
use crate::error::MmError;
use crate::filemap::find_or_read_page;
use crate::kernel::CowSwitch;
use crate::mm_struct::MmStruct;
use crate::mmap::vm_page_prot;
use crate::page::pg;
use crate::rmap::{page_add_anon_rmap, page_add_file_rmap, page_remove_rmap, put_page, swap_free};
use crate::vma::{VmFlags, Vma};
use crate::world::ZERO_PFN;

fn mk_pte(cpu: &Cpu, pfn: u64, vma: &Vma) -> Result<Pte, MmError> {
    Ok(pfn_pte(
        cpu.world().config.layout,
        pfn,
        vm_page_prot(vma.vm_flags()),
    )?)
}

/// `maybe_mkwrite`: writable only if the vma is.
fn maybe_mkwrite(pte: Pte, vma: &Vma) -> Pte {
    if vma.vm_flags().contains(VmFlags::VM_WRITE) {
        pte_mkwrite(pte)
    } else {
        pte
    }
}

/// `alloc_zeroed_user_highpage(vma, vaddr)`: a new frame zeroed by the
/// arch's `clear_user_page` for the user address it will be mapped at.
fn new_zeroed_page(cpu: &mut Cpu, vaddr: u64) -> Result<u64, MmError> {
    let pfn = cpu.world().alloc_frame(Owner::Zeroed)?;
    cpu.arch().clear_user_page(cpu, pfn, vaddr)?;
    Ok(pfn)
}

/// A new frame with the COW copy of `old` for `vaddr` in `vma`
/// (`copy_user_highpage`, the arch's `copy_user_page`).
fn new_copied_page(cpu: &mut Cpu, vma: &Arc<Vma>, old: u64, vaddr: u64) -> Result<u64, MmError> {
    let pfn = cpu.world().alloc_frame(Owner::CowCopy { from: old })?;
    cpu.arch().copy_user_page(cpu, vma, pfn, old, vaddr)?;
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
        let arch = cpu.arch();
        if e != entry {
            arch.ptep_set_access_flags(cpu, vma, addr, e)?;
        }
        arch.update_mmu_cache(cpu, vma, addr, e)
    })();
    cpu.spin_unlock(ptl, "handle_pte_fault")?;
    r
}

/// `do_no_page` for a file vma: read `truncate_count`, drop the pte lock,
/// `filemap_nopage` (page cache lookup or read), a private write copies the
/// page, then under the pte lock again: if `unmap_mapping_range` ran
/// meanwhile (`truncate_count` moved), drop the page and retry; if the pte
/// is still none, `flush_icache_page`, `set_pte_at`, the rmap and
/// `update_mmu_cache`.
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
    let mut sequence = truncate_count(cpu, &f);
    let arch = cpu.arch();
    for _ in 0..FAULT_RETRIES {
        let mut pfn = find_or_read_page(cpu, &f, pgoff).map_err(|e| match e {
            MmError::Segv { .. } => MmError::Segv { va: addr, write },
            e => e,
        })?;
        let mut anon = false;
        if write && !vma.vm_flags().contains(VmFlags::VM_SHARED) {
            let copy = new_copied_page(cpu, vma, pfn, addr)?;
            put_page(cpu, pfn)?;
            (pfn, anon) = (copy, true);
        }
        let done = cpu.locked(ptl, "do_no_page", |cpu| {
            let now = truncate_count(cpu, &f);
            if now != sequence {
                // The page may have been truncated: get it again.
                sequence = now;
                put_page(cpu, pfn)?;
                return Ok(false);
            }
            let cur = cpu.pte_read(mm, addr, "do_no_page")?;
            if !pte_none(cur) {
                // Someone else faulted it in.
                put_page(cpu, pfn)?;
                return Ok(true);
            }
            arch.flush_icache_page(cpu, vma, pfn)?;
            let mut e = mk_pte(cpu, pfn, vma)?;
            if write {
                e = maybe_mkwrite(pte_mkdirty(e), vma);
            }
            arch.set_pte_at(cpu, mm, addr, e)?;
            if anon {
                page_add_anon_rmap(cpu, pfn, vma, addr)?;
            } else {
                page_add_file_rmap(cpu, pfn)?;
            }
            arch.update_mmu_cache(cpu, vma, addr, e)?;
            Ok(true)
        })?;
        if done {
            return Ok(());
        }
    }
    Err(MmError::Invalid(format!(
        "do_no_page at {addr:#x}: truncated under the fault {FAULT_RETRIES} times"
    )))
}

/// `mapping->truncate_count`, one read of the mapping.
fn truncate_count(cpu: &Cpu, mapping: &crate::mapping::AddressSpace) -> u64 {
    cpu.structure_op(
        crate::sched::Object::Mapping(mapping.id),
        false,
        "truncate_count",
    );
    mapping.audit(false);
    mapping
        .truncate_count
        .load(std::sync::atomic::Ordering::SeqCst)
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
        new_zeroed_page(cpu, addr)?
    } else {
        ZERO_PFN
    };
    let arch = cpu.arch();
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
        arch.set_pte_at(cpu, mm, addr, e)?;
        arch.update_mmu_cache(cpu, vma, addr, e)
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
            let p = w.alloc_frame(Owner::SwapIn {
                slot: swp_offset(orig),
            })?;
            cpu.init_page(p, &data, "swap_readpage")?;
            (p, false)
        }
    };
    let page = w.page(pfn)?;
    let arch = cpu.arch();
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
        arch.flush_icache_page(cpu, vma, pfn)?;
        arch.set_pte_at(cpu, mm, addr, e)?;
        page_add_anon_rmap(cpu, pfn, vma, addr)?;
        arch.update_mmu_cache(cpu, vma, addr, e)
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
/// anonymous page nobody else maps (`flush_cache_page`, then
/// `ptep_set_access_flags` makes the pte writable), else copy: drop the
/// lock, copy (`copy_user_highpage`) or zero, retake the lock, and if
/// `pte_same`, switch the pte to the copy in the kernel's order
/// ([`CowSwitch`]); the old page's references go under the lock.
pub fn do_wp_page(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    addr: u64,
    orig: Pte,
    ptl: &crate::lock::KLock,
) -> Result<(), MmError> {
    let w = cpu.world().clone();
    let arch = cpu.arch();
    let old = pte_pfn(orig);
    let page = w.page(old)?;
    cpu.page_op(old, false, "do_wp_page");
    let reuse = old != ZERO_PFN
        && page.is_anon()
        && !page.lock.is_locked()
        && page.mapcount() == 1
        && !page.test_bit(pg::PG_SWAPCACHE);
    if reuse {
        arch.flush_cache_page(cpu, vma, addr, old)?;
        let e = maybe_mkwrite(pte_mkdirty(pte_mkyoung(orig)), vma);
        arch.ptep_set_access_flags(cpu, vma, addr, e)?;
        return arch.update_mmu_cache(cpu, vma, addr, e);
    }
    page.get();
    cpu.spin_unlock(ptl, "do_wp_page")?;
    let copied = if old == ZERO_PFN {
        new_zeroed_page(cpu, addr)
    } else {
        new_copied_page(cpu, vma, old, addr)
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
    if !pte_same(now, orig) {
        put_page(cpu, new)?;
        return put_page(cpu, old);
    }
    let e = maybe_mkwrite(pte_mkdirty(mk_pte(cpu, new, vma)?), vma);
    match w.config.kernel.mm_shape().cow {
        CowSwitch::Establish => {
            if old != ZERO_PFN {
                page_remove_rmap(cpu, old)?;
            }
            arch.flush_cache_page(cpu, vma, addr, old)?;
            // break_cow
            arch.ptep_establish(cpu, vma, addr, e)?;
            arch.update_mmu_cache(cpu, vma, addr, e)?;
            page_add_anon_rmap(cpu, new, vma, addr)?;
        }
        CowSwitch::ClearFlushSet => {
            arch.flush_cache_page(cpu, vma, addr, old)?;
            arch.ptep_clear_flush(cpu, vma, addr)?;
            page_add_anon_rmap(cpu, new, vma, addr)?;
            arch.set_pte_at(cpu, mm, addr, e)?;
            arch.update_mmu_cache(cpu, vma, addr, e)?;
            if old != ZERO_PFN {
                page_remove_rmap(cpu, old)?;
            }
        }
    }
    // The old page's pte reference, then the one taken for the copy.
    if old != ZERO_PFN {
        put_page(cpu, old)?;
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
        if !vma.vm_flags().contains(need) {
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
        let arch = cpu.arch();
        // get_user_pages: flush_anon_page (from 2.6.18), flush_dcache_page.
        arch.flush_anon_page(cpu, &vma, pfn, page_addr)?;
        match write {
            Some(v) => arch.copy_to_user_page(cpu, &vma, pfn, addr, v).map(|_| v),
            None => arch.copy_from_user_page(cpu, &vma, pfn, addr),
        }
    })
}
