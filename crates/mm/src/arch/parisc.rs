//! parisc's cache, TLB and pte hooks, one profile per kernel, restated from
//! the kernels' texts (`docs/kernels.md` has each hook's call order and the
//! file and version it was read from):
//!
//! - 2.6.14 and 2.6.15: `arch/parisc/kernel/cache.c`,
//!   `include/asm-parisc/{cacheflush,pgtable,tlbflush,tlb,page}.h`. Pages are
//!   flushed through user addresses (space registers), which needs a
//!   translation: `flush_cache_page` tests `translation_exists` first (the
//!   pre-patch one in 2.6.14, Hugh's in 2.6.15). `ptep_get_and_clear` leaves a
//!   flush-only pte under `pa_dbit_lock`.
//! - 3.x (≈2.6.39–3.6): `arch/parisc/kernel/cache.c`,
//!   `arch/parisc/include/asm/*.h`. "The TLB is the engine of coherence on
//!   parisc": `flush_cache_page` purges the user entry, then flushes the pfn
//!   at the user colour through the tmpalias window; `ptep_get_and_clear`
//!   stores zero under `pa_dbit_lock` (no purge: its callers purge);
//!   `flush_kernel_dcache_page` flushes the kernel alias, then purges its
//!   TLB entry.
//! - 6.10: `__flush_cache_page` purges and flushes through tmpalias, and
//!   every hook that changes a user translation is built on it
//!   (`ptep_clear_flush` flushes the old pfn after clearing, Anglin 2024);
//!   kernel pages are flushed by purging the kernel entry, then through
//!   tmpalias (`flush_kernel_dcache_page_addr`); `set_pte_at` purges the
//!   entry it replaces; on PA8800/PA8900 `flush_cache_range` and
//!   `flush_cache_mm` flush per present pte below the threshold.
//!
//! `parisc_requires_coherency()` (PA8800/PA8900, the CPUs that move lines in
//! speculatively) is the hardware's `speculative_move_in` switch.
//!
//! Hooks call other hooks through `cpu.arch()`, so an override of one is seen
//! by the others.
//!
//! Simplifications, each the same in every profile: the instruction cache is
//! flushed only where a hook names it for a page the kernel filled
//! (`flush_icache_page`), not for `VM_EXEC` user flushes (no scenario
//! executes from a page it races on); `flush_tlb_page` is the SMP broadcast
//! purge on every CPU; `pa_dbit_lock` is held by one model step;
//! `flush_cache_page_if_present` tests the pte where 6.10 asks the CPU
//! (`lpa_user`), which agrees for every pte the model makes.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use vipt_cache::KERNEL_SPACE;
use vipt_pte::{pte_none, pte_pfn, pte_present, Pte, PAGE_SHIFT, PAGE_SIZE};

use crate::arch::Arch;
use crate::cpu::Cpu;
use crate::error::MmError;
use crate::kernel::Kernel;
use crate::mm_struct::MmStruct;
use crate::page::pg;
use crate::strategy::{
    flush_dcache_page_asm, page_mapping, translation_exists, translation_exists_2614,
};
use crate::vma::Vma;

/// `flush_tlb_range` purges page by page below this many pages, else the
/// whole TLB (`__flush_tlb_range`'s 512).
const TLB_RANGE_PAGES: u64 = 512;

/// parisc, as one kernel shipped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parisc {
    kernel: Kernel,
}

impl Parisc {
    /// The parisc hooks of `kernel`.
    pub const fn new(kernel: Kernel) -> Parisc {
        Parisc { kernel }
    }

    fn tmpalias_era(&self) -> bool {
        matches!(self.kernel, Kernel::V3x | Kernel::V6_10)
    }
}

/// `parisc_requires_coherency()`: a PA8800/PA8900, which may move lines in
/// through any TLB entry.
fn requires_coherency(cpu: &Cpu) -> bool {
    cpu.world().config.hw.speculative_move_in
}

/// `flush_user_dcache_page(vmaddr)` in the vma's space: a flush through the
/// user address, nullified where no translation exists.
fn user_flush(cpu: &Cpu, vma: &Arc<Vma>, addr: u64) -> Result<(), MmError> {
    cpu.world()
        .stats
        .user_flushes
        .fetch_add(1, Ordering::Relaxed);
    cpu.flush_page_lines(vma.space, addr, "flush_user_dcache_page")?;
    Ok(())
}

/// The kernel's direct-map address of `pfn`.
fn kernel_va(pfn: u64) -> u64 {
    vipt_cache::Machine::kernel_va(pfn << PAGE_SHIFT)
}

impl Arch for Parisc {
    fn name(&self) -> &str {
        self.kernel.name()
    }

    fn base(&self) -> &dyn Arch {
        self
    }

    fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// 2.6.14–3.x: the whole cache. 6.10: on a PA8800/PA8900 with the mm
    /// below the flush threshold, each vma's present ptes through
    /// `__flush_cache_page`; else `flush_tlb_all` and the whole cache.
    fn flush_cache_mm(&self, cpu: &mut Cpu, mm: &MmStruct) -> Result<(), MmError> {
        if self.kernel != Kernel::V6_10 {
            return cpu.flush_cache_all("flush_cache_mm");
        }
        let vmas = mm.vmas();
        let size: u64 = vmas.iter().map(|v| v.vm_end - v.vm_start).sum();
        if !requires_coherency(cpu) || size >= cpu.world().config.hw.flush_threshold {
            cpu.flush_tlb_all("flush_tlb_all")?;
            return cpu.flush_cache_all("flush_cache_mm");
        }
        for v in vmas {
            flush_cache_pages(cpu, &v, v.vm_start, v.vm_end)?;
        }
        Ok(())
    }

    /// 2.6.14–3.x: through the user addresses when the vma's mm is the
    /// current one (`flush_user_dcache_range`, the whole cache above the
    /// threshold), else the whole cache. 6.10: on a PA8800/PA8900 below
    /// the threshold, each present pte through `__flush_cache_page`; else
    /// `flush_tlb_range` and the whole cache.
    fn flush_cache_range(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        start: u64,
        end: u64,
    ) -> Result<(), MmError> {
        let too_big = end - start >= cpu.world().config.hw.flush_threshold;
        if self.kernel == Kernel::V6_10 {
            if too_big || !requires_coherency(cpu) {
                cpu.arch().flush_tlb_range(cpu, vma, start, end)?;
                return cpu.flush_cache_all("flush_cache_range");
            }
            return flush_cache_pages(cpu, vma, start, end);
        }
        let current = cpu.mm().is_some_and(|m| m.context == vma.space);
        if !current || too_big {
            return cpu.flush_cache_all("flush_cache_range");
        }
        let mut a = start;
        while a < end {
            cpu.flush_page_lines(vma.space, a, "flush_user_dcache_range")?;
            a += PAGE_SIZE;
        }
        Ok(())
    }

    /// 2.6.14: if the pre-patch `translation_exists(vma, vmaddr)` finds a
    /// non-zero pte, `__flush_cache_page` through the user address. 2.6.15:
    /// Hugh's `translation_exists(vma, vmaddr, pfn)`. 3.x: `flush_tlb_page`,
    /// then `__flush_cache_page` through tmpalias. 6.10: `__flush_cache_page`
    /// (which purges first).
    fn flush_cache_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        addr: u64,
        pfn: u64,
    ) -> Result<(), MmError> {
        let arch = cpu.arch();
        match self.kernel {
            Kernel::V2_6_14 => {
                if translation_exists_2614(cpu, vma, addr)? {
                    arch.__flush_cache_page(cpu, vma, addr, pfn)?;
                }
                Ok(())
            }
            Kernel::V2_6_15 => {
                if translation_exists(cpu, vma, addr, pfn)? {
                    arch.__flush_cache_page(cpu, vma, addr, pfn)?;
                }
                Ok(())
            }
            Kernel::V3x => {
                arch.flush_tlb_page(cpu, vma, addr)?;
                arch.__flush_cache_page(cpu, vma, addr, pfn)
            }
            Kernel::V6_10 => arch.__flush_cache_page(cpu, vma, addr, pfn),
        }
    }

    /// 2.6.14/2.6.15: `flush_user_dcache_page(vmaddr)` in the vma's space.
    /// 3.x: `flush_dcache_page_asm(physaddr, vmaddr)` (tmpalias). 6.10:
    /// `flush_tlb_page(vma, vmaddr)`, then the tmpalias flush.
    fn __flush_cache_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        addr: u64,
        pfn: u64,
    ) -> Result<(), MmError> {
        match self.kernel {
            Kernel::V2_6_14 | Kernel::V2_6_15 => user_flush(cpu, vma, addr),
            Kernel::V3x => flush_dcache_page_asm(cpu, pfn, addr),
            Kernel::V6_10 => {
                cpu.arch().flush_tlb_page(cpu, vma, addr)?;
                flush_dcache_page_asm(cpu, pfn, addr)
            }
        }
    }

    /// The world's strategy ([`crate::World::strategy`]).
    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        let s = cpu.world().strategy();
        s.flush_dcache_page(cpu, pfn)
    }

    /// 2.6.14/2.6.15: `fdc` over the kernel alias. 3.x
    /// (`flush_kernel_dcache_page_addr`): the same, then the kernel TLB entry
    /// purged. 6.10: purge the kernel TLB entry first, then flush through
    /// tmpalias at the kernel address's colour, so nothing can move the lines
    /// back in through the kernel mapping meanwhile.
    fn flush_kernel_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        if self.kernel != Kernel::V6_10 {
            cpu.flush_kernel_dcache_page(pfn, "flush_kernel_dcache_page")?;
            if self.kernel == Kernel::V3x {
                cpu.flush_tlb_page(KERNEL_SPACE, kernel_va(pfn), "pdtlb_kernel");
            }
            return Ok(());
        }
        cpu.flush_tlb_page(KERNEL_SPACE, kernel_va(pfn), "pdtlb_kernel");
        flush_dcache_page_asm(cpu, pfn, kernel_va(pfn))
    }

    /// `flush_kernel_dcache_page(page)`, then `flush_kernel_icache_page` (6.10:
    /// `flush_icache_pages`, the same per page).
    fn flush_icache_page(&self, cpu: &mut Cpu, _vma: &Arc<Vma>, pfn: u64) -> Result<(), MmError> {
        cpu.arch().flush_kernel_dcache_page(cpu, pfn)?;
        cpu.flush_kernel_icache_page(pfn, "flush_kernel_icache_page")
    }

    /// 2.6.14/2.6.15: none (the hook came later). 3.x: for an anonymous
    /// page, `flush_tlb_page`, then the tmpalias flush at `vmaddr`. 6.10:
    /// for an anonymous page, `__flush_cache_page`.
    fn flush_anon_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        pfn: u64,
        addr: u64,
    ) -> Result<(), MmError> {
        if !self.tmpalias_era() || !cpu.world().page(pfn)?.is_anon() {
            return Ok(());
        }
        let arch = cpu.arch();
        if self.kernel == Kernel::V3x {
            arch.flush_tlb_page(cpu, vma, addr)?;
            return flush_dcache_page_asm(cpu, pfn, addr);
        }
        arch.__flush_cache_page(cpu, vma, addr, pfn)
    }

    /// 2.6.14–3.x: `copy_user_page_asm` through the kernel aliases — the
    /// source's user-alias lines are not flushed first (the 2013 "minifail")
    /// — then the new page's kernel alias flushed (3.x: by
    /// `flush_kernel_dcache_page_asm`, no purge; on a PA8800/PA8900 by
    /// `kunmap`'s `flush_kernel_dcache_page_addr` of both pages instead). 6.10
    /// (`copy_user_highpage`): `__flush_cache_page` on the source at
    /// `vaddr` first, the copy through the kernel aliases, and
    /// `kunmap_local`'s `flush_kernel_dcache_page_addr` of both pages.
    fn copy_user_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        dst: u64,
        src: u64,
        vaddr: u64,
    ) -> Result<(), MmError> {
        let arch = cpu.arch();
        if self.kernel == Kernel::V6_10 {
            arch.__flush_cache_page(cpu, vma, vaddr, src)?;
            cpu.copy_page_kernel(dst, src, "copy_page_asm")?;
            arch.flush_kernel_dcache_page(cpu, dst)?;
            return arch.flush_kernel_dcache_page(cpu, src);
        }
        cpu.copy_page_kernel(dst, src, "copy_user_page_asm")?;
        if self.kernel != Kernel::V3x {
            return arch.flush_kernel_dcache_page(cpu, dst);
        }
        if requires_coherency(cpu) {
            arch.flush_kernel_dcache_page(cpu, dst)?;
            return arch.flush_kernel_dcache_page(cpu, src);
        }
        // flush_kernel_dcache_page_asm(vto): the flush alone, no purge.
        cpu.flush_kernel_dcache_page(dst, "flush_kernel_dcache_page_asm")?;
        Ok(())
    }

    /// 2.6.14/2.6.15: purge the page's kernel-alias lines
    /// (`purge_kernel_dcache_page`), then `clear_user_page_asm`: zero through
    /// tmpalias at the user colour. 3.x: the same with the kernel TLB entry
    /// purged between the two. 6.10: `clear_page_asm` through the kernel alias, then
    /// `kunmap_local`'s `flush_kernel_dcache_page_addr`.
    fn clear_user_page(&self, cpu: &mut Cpu, pfn: u64, vaddr: u64) -> Result<(), MmError> {
        if self.kernel == Kernel::V6_10 {
            cpu.clear_page_kernel(pfn, "clear_page_asm")?;
            return cpu.arch().flush_kernel_dcache_page(cpu, pfn);
        }
        cpu.purge_kernel_dcache_page(pfn, "purge_kernel_dcache_page")?;
        if self.kernel == Kernel::V3x {
            cpu.flush_tlb_page(KERNEL_SPACE, kernel_va(pfn), "pdtlb_kernel");
        }
        cpu.tmpalias_clear(pfn, vaddr, "clear_user_page_asm")
    }

    /// `flush_cache_page(vma, vaddr, pfn)` (6.10: `__flush_cache_page`), the
    /// store through the kernel alias, then the kernel range flushed (6.10:
    /// `flush_kernel_dcache_page_addr`).
    fn copy_to_user_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        pfn: u64,
        vaddr: u64,
        value: u64,
    ) -> Result<(), MmError> {
        let arch = cpu.arch();
        let page = vaddr & !(PAGE_SIZE - 1);
        if self.kernel == Kernel::V6_10 {
            arch.__flush_cache_page(cpu, vma, page, pfn)?;
        } else {
            arch.flush_cache_page(cpu, vma, page, pfn)?;
        }
        let pa = (pfn << PAGE_SHIFT) | (vaddr & (PAGE_SIZE - 1));
        cpu.kernel_store(pa, 8, value, "copy_to_user_page")?;
        if self.kernel == Kernel::V6_10 {
            return arch.flush_kernel_dcache_page(cpu, pfn);
        }
        cpu.fdc(
            KERNEL_SPACE,
            vipt_cache::Machine::kernel_va(pa),
            "flush_kernel_dcache_range",
        )?;
        Ok(())
    }

    /// `flush_cache_page` (6.10: `__flush_cache_page`), then the load
    /// through the kernel alias (6.10: then `flush_kernel_dcache_page_addr`).
    fn copy_from_user_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        pfn: u64,
        vaddr: u64,
    ) -> Result<u64, MmError> {
        let arch = cpu.arch();
        let page = vaddr & !(PAGE_SIZE - 1);
        if self.kernel == Kernel::V6_10 {
            arch.__flush_cache_page(cpu, vma, page, pfn)?;
        } else {
            arch.flush_cache_page(cpu, vma, page, pfn)?;
        }
        let pa = (pfn << PAGE_SHIFT) | (vaddr & (PAGE_SIZE - 1));
        let v = cpu.kernel_load(pa, 8, "copy_from_user_page")?;
        if self.kernel == Kernel::V6_10 {
            arch.flush_kernel_dcache_page(cpu, pfn)?;
        }
        Ok(v)
    }

    /// 2.6.14–3.x: a plain store. 6.10 (`set_ptes`): `__update_cache` for a
    /// present pte first, the store, then `purge_tlb_entries`.
    fn set_pte_at(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64, pte: Pte) -> Result<(), MmError> {
        if self.kernel != Kernel::V6_10 {
            return cpu.set_pte_at(mm, addr, pte, "set_pte_at");
        }
        if pte_present(pte) {
            update_cache(self, cpu, pte)?;
        }
        cpu.set_pte_at(mm, addr, pte, "set_ptes")?;
        cpu.flush_tlb_page(mm.context, addr, "purge_tlb_entries");
        Ok(())
    }

    /// `set_pte_at(mm, addr, ptep, __pte(0))`.
    fn pte_clear(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64) -> Result<(), MmError> {
        cpu.set_pte_at(mm, addr, Pte::NONE, "pte_clear")
    }

    /// 2.6.14/2.6.15: under `pa_dbit_lock`, keep the pfn, clear
    /// `_PAGE_PRESENT`, set `_PAGE_FLUSH`. 3.x: under `pa_dbit_lock`, store
    /// zero. 6.10: the old pte exchanged for zero, no lock. None purges: the
    /// callers do.
    fn ptep_get_and_clear(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64) -> Result<Pte, MmError> {
        match self.kernel {
            Kernel::V2_6_14 | Kernel::V2_6_15 => {
                cpu.ptep_get_and_clear_flush_only(mm, addr, "ptep_get_and_clear")
            }
            Kernel::V3x => cpu.ptep_get_and_zero(mm, addr, true, "ptep_get_and_clear"),
            Kernel::V6_10 => cpu.ptep_get_and_zero(mm, addr, false, "ptep_get_and_clear"),
        }
    }

    /// 2.6.14–3.x (`asm-generic/pgtable.h`): `ptep_get_and_clear`, then
    /// `flush_tlb_page`. 6.10: `ptep_get_and_clear`, then, while the old pfn
    /// is known, `__flush_cache_page` on it ("after a PTE is cleared, we have
    /// no way to flush the cache for the physical page") if `pfn_valid`,
    /// else `flush_tlb_page` if `pte_accessible(mm, pte)`, which is always
    /// true on parisc: it defines none, and the generic one in
    /// `include/linux/pgtable.h` is 1.
    fn ptep_clear_flush(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64) -> Result<Pte, MmError> {
        let Some(mm) = vma.mm() else {
            return Ok(Pte::NONE);
        };
        let arch = cpu.arch();
        let old = arch.ptep_get_and_clear(cpu, &mm, addr)?;
        if self.kernel == Kernel::V6_10 && cpu.world().page(pte_pfn(old)).is_ok() {
            arch.__flush_cache_page(cpu, vma, addr, pte_pfn(old))?;
        } else {
            arch.flush_tlb_page(cpu, vma, addr)?;
        }
        Ok(old)
    }

    /// 2.6.14–3.x (SMP): a compare-and-swap loop clearing `_PAGE_WRITE`; no
    /// purge (the callers flush the TLB). 6.10's `set_pte` of the
    /// write-protected value is modelled by the same atomic update.
    fn ptep_set_wrprotect(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64) -> Result<(), MmError> {
        cpu.ptep_set_wrprotect(mm, addr, "ptep_set_wrprotect")
    }

    /// `set_pte_at`, then `flush_tlb_page` (`asm-generic/pgtable.h`).
    fn ptep_set_access_flags(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        addr: u64,
        pte: Pte,
    ) -> Result<(), MmError> {
        set_pte_and_flush_tlb(cpu, vma, addr, pte)
    }

    /// `set_pte_at`, then `flush_tlb_page` (`asm-generic/pgtable.h`: the
    /// same text as `ptep_set_access_flags`).
    fn ptep_establish(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        addr: u64,
        pte: Pte,
    ) -> Result<(), MmError> {
        set_pte_and_flush_tlb(cpu, vma, addr, pte)
    }

    /// The deferred half of `flush_dcache_page`: a page with a mapping and
    /// `PG_dcache_dirty` gets its kernel alias flushed and the bit cleared
    /// (6.10 `__update_cache`: `folio_flush_mapping`, not a swap-cache page).
    /// 3.x and 6.10 on a PA8800/PA8900 flush every other page too.
    fn update_mmu_cache(
        &self,
        cpu: &mut Cpu,
        _vma: &Arc<Vma>,
        _addr: u64,
        pte: Pte,
    ) -> Result<(), MmError> {
        update_cache(self, cpu, pte)
    }

    /// The page purged from every CPU's TLB (`pdtlb` broadcast).
    fn flush_tlb_page(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64) -> Result<(), MmError> {
        cpu.flush_tlb_page(vma.space, addr, "flush_tlb_page");
        Ok(())
    }

    /// `__flush_tlb_range`: page by page below 512 pages, else `flush_tlb_all`.
    fn flush_tlb_range(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        start: u64,
        end: u64,
    ) -> Result<(), MmError> {
        if (end - start) / PAGE_SIZE >= TLB_RANGE_PAGES {
            return cpu.flush_tlb_all("flush_tlb_all");
        }
        let mut a = start;
        while a < end {
            cpu.flush_tlb_page(vma.space, a, "flush_tlb_range");
            a += PAGE_SIZE;
        }
        Ok(())
    }

    /// SMP: `flush_tlb_all` (every kernel here).
    fn flush_tlb_mm(&self, cpu: &mut Cpu, _mm: &MmStruct) -> Result<(), MmError> {
        cpu.flush_tlb_all("flush_tlb_mm")
    }

    /// `flush_cache_range(vma, vma->vm_start, vma->vm_end)`: the whole vma,
    /// whatever part is being zapped.
    fn tlb_start_vma(&self, cpu: &mut Cpu, vma: &Arc<Vma>) -> Result<(), MmError> {
        cpu.arch()
            .flush_cache_range(cpu, vma, vma.vm_start, vma.vm_end)
    }

    /// 2.6.14–3.x (parisc `asm/tlb.h`): `flush_tlb_range` over the whole
    /// vma. 6.10 (`asm-generic/tlb.h`, `tlb_flush_mmu_tlbonly`):
    /// `flush_tlb_range` over the range the zap gathered.
    fn tlb_end_vma(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        start: u64,
        end: u64,
    ) -> Result<(), MmError> {
        let (s, e) = if self.kernel == Kernel::V6_10 {
            (start, end)
        } else {
            (vma.vm_start, vma.vm_end)
        };
        cpu.arch().flush_tlb_range(cpu, vma, s, e)
    }

    /// `tlb_flush` before the gathered pages are freed: `flush_tlb_mm` for
    /// the whole mm's zap (`exit_mmap`), nothing for a partial one, whose
    /// TLB `tlb_end_vma` flushed (parisc `asm/tlb.h`; 6.10's generic one has
    /// nothing left to flush after `tlb_end_vma` either).
    fn tlb_finish_mmu(&self, cpu: &mut Cpu, mm: &MmStruct, fullmm: bool) -> Result<(), MmError> {
        if !fullmm {
            return Ok(());
        }
        cpu.arch().flush_tlb_mm(cpu, mm)
    }
}

/// The generic `ptep_establish` and `ptep_set_access_flags`: the world's
/// `set_pte_at`, then its `flush_tlb_page`.
fn set_pte_and_flush_tlb(
    cpu: &mut Cpu,
    vma: &Arc<Vma>,
    addr: u64,
    pte: Pte,
) -> Result<(), MmError> {
    let Some(mm) = vma.mm() else { return Ok(()) };
    let arch = cpu.arch();
    arch.set_pte_at(cpu, &mm, addr, pte)?;
    arch.flush_tlb_page(cpu, vma, addr)
}

/// `update_mmu_cache` / 6.10 `__update_cache(pte)`.
fn update_cache(p: &Parisc, cpu: &mut Cpu, pte: Pte) -> Result<(), MmError> {
    let pfn = pte_pfn(pte);
    let w = cpu.world().clone();
    let Ok(page) = w.page(pfn) else { return Ok(()) };
    cpu.page_op(pfn, false, "update_mmu_cache");
    let mapped = if p.kernel == Kernel::V6_10 {
        !page.test_bit(pg::PG_SWAPCACHE) && page_mapping(cpu, pfn)?.is_some()
    } else {
        page_mapping(cpu, pfn)?.is_some()
    };
    if mapped && page.test_bit(pg::PG_DCACHE_DIRTY) {
        cpu.arch().flush_kernel_dcache_page(cpu, pfn)?;
        page.clear_bit(pg::PG_DCACHE_DIRTY);
    } else if p.tmpalias_era() && requires_coherency(cpu) {
        cpu.arch().flush_kernel_dcache_page(cpu, pfn)?;
    }
    Ok(())
}

/// 6.10 `flush_cache_pages(vma, start, end)`: `__flush_cache_page` for each
/// present pte of the range.
fn flush_cache_pages(cpu: &mut Cpu, vma: &Arc<Vma>, start: u64, end: u64) -> Result<(), MmError> {
    let Some(mm) = vma.mm() else { return Ok(()) };
    let arch = cpu.arch();
    let mut a = start;
    while a < end {
        let pte = cpu.pte_read(&mm, a, "flush_cache_pages")?;
        if !pte_none(pte) && pte_present(pte) && cpu.world().page(pte_pfn(pte)).is_ok() {
            arch.__flush_cache_page(cpu, vma, a, pte_pfn(pte))?;
        }
        a += PAGE_SIZE;
    }
    Ok(())
}
