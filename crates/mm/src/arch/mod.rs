//! The arch layer: the hooks of `asm/cacheflush.h`, `asm/pgtable.h`,
//! `asm/tlbflush.h`, `asm/tlb.h` and `asm/page.h` that the generic mm paths
//! call, as one trait, [`Arch`]. The generic paths (`fault`, `rmap`, `mmap`,
//! `filemap`) call only these for cache, TLB and pte changes, in the order
//! and under the locks of their kernel version
//! (`Documentation/cachetlb.txt`: flush the cache, change the page tables,
//! flush the TLB); an architecture is an implementation of the trait.
//!
//! [`Parisc`] is parisc's, one per kernel profile ([`crate::Kernel`]). A
//! patch to one hook is a type that implements [`Arch`] with
//! [`Arch::base`] naming the profile it derives from and overrides just
//! that hook: every hook it leaves alone runs the base's. Hooks call each
//! other through the world's arch ([`crate::Cpu::arch`]), never directly, so
//! an override is seen from inside the base's hooks too (a patched
//! `__flush_cache_page` is what the base's `ptep_clear_flush` calls).
//!
//! Another architecture goes beside `parisc` as another implementation: ARM's
//! `PG_dcache_clean` deferral lives in its `set_pte_at` and
//! `flush_dcache_page`, MIPS's `kmap_coherent` colour slots in its
//! `copy_user_page`, xtensa's TLBTEMP window in its `flush_cache_page`. What
//! is parisc's alone (`pa_dbit_lock`, flush-only ptes, the tmpalias window,
//! space registers) is inside [`Parisc`].

pub mod parisc;

use std::sync::Arc;

use vipt_pte::Pte;

use crate::cpu::Cpu;
use crate::error::MmError;
use crate::kernel::Kernel;
use crate::mm_struct::MmStruct;
use crate::vma::Vma;

pub use parisc::Parisc;

/// The arch hooks the generic mm calls. Every hook has a default that runs
/// [`Arch::base`]'s, so an implementation overrides only what it changes.
/// `cpu` is the CPU running the hook; hooks reach other hooks through
/// `cpu.arch()`.
pub trait Arch: Send + Sync {
    /// The profile's name (`2.6.14`, or a patch's own name).
    fn name(&self) -> &str;

    /// The arch this one derives from: hooks not overridden run its. The
    /// built-in profiles return themselves and override every hook.
    fn base(&self) -> &dyn Arch;

    /// The kernel whose generic mm runs with these hooks.
    fn kernel(&self) -> Kernel {
        self.base().kernel()
    }

    // ---- asm/cacheflush.h ---------------------------------------------------

    /// `flush_cache_mm(mm)`: before the whole mm's mappings change (fork,
    /// exit).
    fn flush_cache_mm(&self, cpu: &mut Cpu, mm: &MmStruct) -> Result<(), MmError> {
        self.base().flush_cache_mm(cpu, mm)
    }

    /// `flush_cache_range(vma, start, end)`: before the ptes of
    /// `[start, end)` of `vma` change.
    fn flush_cache_range(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        start: u64,
        end: u64,
    ) -> Result<(), MmError> {
        self.base().flush_cache_range(cpu, vma, start, end)
    }

    /// `flush_cache_page(vma, vmaddr, pfn)`: before the pte of `addr`, which
    /// maps `pfn`, changes (called with the pte lock held).
    fn flush_cache_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        addr: u64,
        pfn: u64,
    ) -> Result<(), MmError> {
        self.base().flush_cache_page(cpu, vma, addr, pfn)
    }

    /// parisc's `__flush_cache_page(vma, vmaddr, physaddr)`: the per-page
    /// flush `flush_cache_page`, `ptep_clear_flush` and `flush_dcache_page`
    /// are built on (how it reaches the page differs by kernel).
    fn __flush_cache_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        addr: u64,
        pfn: u64,
    ) -> Result<(), MmError> {
        self.base().__flush_cache_page(cpu, vma, addr, pfn)
    }

    /// `flush_dcache_page(page)` (6.10: `flush_dcache_folio`): runs the
    /// world's strategy ([`crate::FlushStrategy`]) in every built-in profile.
    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        self.base().flush_dcache_page(cpu, pfn)
    }

    /// `flush_kernel_dcache_page(page)` (6.10: `flush_kernel_dcache_page_addr`).
    fn flush_kernel_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        self.base().flush_kernel_dcache_page(cpu, pfn)
    }

    /// `flush_icache_page(vma, page)`: before a page is mapped into user
    /// space by a fault (6.10: `flush_icache_pages`).
    fn flush_icache_page(&self, cpu: &mut Cpu, vma: &Arc<Vma>, pfn: u64) -> Result<(), MmError> {
        self.base().flush_icache_page(cpu, vma, pfn)
    }

    /// `flush_anon_page(vma, page, vmaddr)`: before the kernel reads an
    /// anonymous page a user may have written (`get_user_pages`).
    fn flush_anon_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        pfn: u64,
        addr: u64,
    ) -> Result<(), MmError> {
        self.base().flush_anon_page(cpu, vma, pfn, addr)
    }

    /// `copy_user_highpage(to, from, vaddr, vma)`: the COW copy of page
    /// `src` into the new page `dst`, which will be mapped at `vaddr`.
    fn copy_user_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        dst: u64,
        src: u64,
        vaddr: u64,
    ) -> Result<(), MmError> {
        self.base().copy_user_page(cpu, vma, dst, src, vaddr)
    }

    /// `clear_user_highpage(page, vaddr)`: zeroes a new anonymous page that
    /// will be mapped at `vaddr`.
    fn clear_user_page(&self, cpu: &mut Cpu, pfn: u64, vaddr: u64) -> Result<(), MmError> {
        self.base().clear_user_page(cpu, pfn, vaddr)
    }

    /// `copy_to_user_page(vma, page, vaddr, dst, src, 8)`: the kernel stores
    /// `value` into a user page (`access_process_vm`, ptrace).
    fn copy_to_user_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        pfn: u64,
        vaddr: u64,
        value: u64,
    ) -> Result<(), MmError> {
        self.base().copy_to_user_page(cpu, vma, pfn, vaddr, value)
    }

    /// `copy_from_user_page(vma, page, vaddr, dst, src, 8)`: the kernel
    /// loads a word of a user page.
    fn copy_from_user_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        pfn: u64,
        vaddr: u64,
    ) -> Result<u64, MmError> {
        self.base().copy_from_user_page(cpu, vma, pfn, vaddr)
    }

    // ---- asm/pgtable.h ------------------------------------------------------

    /// `set_pte_at(mm, addr, ptep, pte)`.
    fn set_pte_at(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64, pte: Pte) -> Result<(), MmError> {
        self.base().set_pte_at(cpu, mm, addr, pte)
    }

    /// `pte_clear(mm, addr, ptep)`.
    fn pte_clear(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64) -> Result<(), MmError> {
        self.base().pte_clear(cpu, mm, addr)
    }

    /// `ptep_get_and_clear(mm, addr, ptep)`: returns the old pte.
    fn ptep_get_and_clear(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64) -> Result<Pte, MmError> {
        self.base().ptep_get_and_clear(cpu, mm, addr)
    }

    /// `ptep_clear_flush(vma, addr, ptep)`: clears a present pte and makes
    /// sure no TLB (and, from 6.10, no cache line) keeps the old translation.
    fn ptep_clear_flush(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64) -> Result<Pte, MmError> {
        self.base().ptep_clear_flush(cpu, vma, addr)
    }

    /// `ptep_set_wrprotect(mm, addr, ptep)`.
    fn ptep_set_wrprotect(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64) -> Result<(), MmError> {
        self.base().ptep_set_wrprotect(cpu, mm, addr)
    }

    /// `ptep_set_access_flags(vma, addr, ptep, entry, dirty)`: the fault
    /// path's update of a present pte (young, dirty, write).
    fn ptep_set_access_flags(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        addr: u64,
        pte: Pte,
    ) -> Result<(), MmError> {
        self.base().ptep_set_access_flags(cpu, vma, addr, pte)
    }

    /// `ptep_establish(vma, addr, ptep, entry)`: a present pte replaced by
    /// another (`do_wp_page`'s switch to the copy).
    fn ptep_establish(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        addr: u64,
        pte: Pte,
    ) -> Result<(), MmError> {
        self.base().ptep_establish(cpu, vma, addr, pte)
    }

    /// `update_mmu_cache(vma, addr, pte)`: after a pte was made present.
    fn update_mmu_cache(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        addr: u64,
        pte: Pte,
    ) -> Result<(), MmError> {
        self.base().update_mmu_cache(cpu, vma, addr, pte)
    }

    // ---- asm/tlbflush.h -----------------------------------------------------

    /// `flush_tlb_page(vma, addr)`.
    fn flush_tlb_page(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64) -> Result<(), MmError> {
        self.base().flush_tlb_page(cpu, vma, addr)
    }

    /// `flush_tlb_range(vma, start, end)`.
    fn flush_tlb_range(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        start: u64,
        end: u64,
    ) -> Result<(), MmError> {
        self.base().flush_tlb_range(cpu, vma, start, end)
    }

    /// `flush_tlb_mm(mm)`.
    fn flush_tlb_mm(&self, cpu: &mut Cpu, mm: &MmStruct) -> Result<(), MmError> {
        self.base().flush_tlb_mm(cpu, mm)
    }

    // ---- asm/tlb.h ----------------------------------------------------------

    /// `tlb_start_vma(tlb, vma)` of a zap that is not the whole mm's.
    fn tlb_start_vma(&self, cpu: &mut Cpu, vma: &Arc<Vma>) -> Result<(), MmError> {
        self.base().tlb_start_vma(cpu, vma)
    }

    /// `tlb_end_vma(tlb, vma)` of a zap of `[start, end)` that is not the
    /// whole mm's.
    fn tlb_end_vma(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        start: u64,
        end: u64,
    ) -> Result<(), MmError> {
        self.base().tlb_end_vma(cpu, vma, start, end)
    }

    /// `tlb_finish_mmu(tlb, start, end)`'s TLB flush (`tlb_flush`), before
    /// the gathered pages are freed; `fullmm` for `exit_mmap`'s.
    fn tlb_finish_mmu(&self, cpu: &mut Cpu, mm: &MmStruct, fullmm: bool) -> Result<(), MmError> {
        self.base().tlb_finish_mmu(cpu, mm, fullmm)
    }
}

/// Every hook's kernel name, in the trait's order: what `--hook` and
/// `VIPT_ARCH_HOOK` may name.
pub const HOOKS: [&str; 26] = [
    "flush_cache_mm",
    "flush_cache_range",
    "flush_cache_page",
    "__flush_cache_page",
    "flush_dcache_page",
    "flush_kernel_dcache_page",
    "flush_icache_page",
    "flush_anon_page",
    "copy_user_page",
    "clear_user_page",
    "copy_to_user_page",
    "copy_from_user_page",
    "set_pte_at",
    "pte_clear",
    "ptep_get_and_clear",
    "ptep_clear_flush",
    "ptep_set_wrprotect",
    "ptep_set_access_flags",
    "ptep_establish",
    "update_mmu_cache",
    "flush_tlb_page",
    "flush_tlb_range",
    "flush_tlb_mm",
    "tlb_start_vma",
    "tlb_end_vma",
    "tlb_finish_mmu",
];

/// The built-in profile of `kernel`.
pub fn profile(kernel: Kernel) -> Arc<dyn Arch> {
    Arc::new(Parisc::new(kernel))
}

/// A built-in profile by name ([`Kernel::NAMES`]), or an error naming them.
pub fn by_name(name: &str) -> Result<Arc<dyn Arch>, String> {
    Kernel::parse(name).map(profile)
}
