//! `mmap`, `munmap`, `fork`, `truncate`, `exit`: vma creation and removal,
//! 2.6.14's placement of shared mappings, and the zap paths (`zap_pte_range`
//! via `unmap_region`, `zap_page_range`, `unmap_mapping_range` and
//! `exit_mmap`), which lock as their kernel does ([`ZapLock`]) and reach the
//! cache and TLB only through the arch's `tlb_start_vma`, `tlb_end_vma`,
//! `tlb_finish_mmu`, `flush_cache_mm` and pte hooks.
//!
//! Placement (`arch_get_unmapped_area`, parisc 2.6.14): file mappings and
//! anonymous shared ones go through `get_shared_area`, which puts `vm_start` at
//! `((mapping << 4) & 0x3FF000)` modulo 4 MiB — `pgoff` ignored — and
//! `MAP_FIXED` takes the address as given. The pgoff-aware option adds
//! `pgoff << PAGE_SHIFT` to that offset, so every page of every mapping of a
//! file is congruent.
//!
//! Bad arguments are refused before anything changes. Unlike Linux, a
//! `MAP_FIXED` mapping over an existing one is refused rather than replacing it,
//! so a scenario can never lose a mapping silently.

use std::sync::Arc;

use bitflags::bitflags;
use parking_lot::Mutex;
use vipt_cache::SHM_COLOUR;
use vipt_pte::{classify, pte_dirty, pte_none, pte_present, Layout, PteFlags, PteKind, PAGE_SIZE};

use crate::cpu::Cpu;
use crate::error::{invalid, MmError};
use crate::interval::{Interval, IntervalIndex};
use crate::kernel::ZapLock;
use crate::mapping::AddressSpace;
use crate::mm_struct::MmStruct;
use crate::rmap::{page_remove_rmap, put_page, set_page_dirty, swap_free};
use crate::sched::Object;
use crate::vma::{AnonVma, VmFlags, Vma};
use crate::world::Colouring;

bitflags! {
    /// `PROT_*`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Prot: u32 {
        /// Readable.
        const PROT_READ = 1;
        /// Writable.
        const PROT_WRITE = 2;
        /// Executable.
        const PROT_EXEC = 4;
    }

    /// `MAP_*` (parisc values).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct MapFlags: u32 {
        /// Shared.
        const MAP_SHARED = 0x01;
        /// Private (copy on write).
        const MAP_PRIVATE = 0x02;
        /// At exactly this address.
        const MAP_FIXED = 0x04;
        /// No file.
        const MAP_ANONYMOUS = 0x10;
    }
}

/// Where mmap starts looking (`TASK_UNMAPPED_BASE`).
pub const TASK_UNMAPPED_BASE: u64 = 0x4000_0000;

/// The top of user space for a layout (`TASK_SIZE`).
pub fn task_size(layout: Layout) -> u64 {
    match layout {
        Layout::Bits32 => 0xF000_0000,
        Layout::Bits64 => 1 << (layout.address_bits() - 1),
    }
}

/// 2.6.14's `get_offset(mapping)`: bits of the `address_space` pointer.
pub fn get_offset(kaddr: u64) -> u64 {
    (kaddr << 4) & 0x3F_F000
}

fn dcache_align(x: u64) -> u64 {
    (x + SHM_COLOUR - 1) & !(SHM_COLOUR - 1)
}

/// `get_shared_area` / `get_unshared_area`: the first free range at or above
/// `addr` (or `TASK_UNMAPPED_BASE`) congruent with `offset` modulo the colour
/// (`offset` `None`: page alignment only).
fn find_area(
    mm: &MmStruct,
    layout: Layout,
    addr: u64,
    len: u64,
    offset: Option<u64>,
) -> Result<u64, MmError> {
    let top = task_size(layout);
    let align = |a: u64| match offset {
        Some(off) => dcache_align(a.saturating_sub(off)) + off,
        None => (a + PAGE_SIZE - 1) & !(PAGE_SIZE - 1),
    };
    let mut a = align(if addr == 0 { TASK_UNMAPPED_BASE } else { addr });
    for vma in mm.vmas() {
        if vma.vm_end <= a {
            continue;
        }
        if a + len <= vma.vm_start {
            break;
        }
        a = align(vma.vm_end);
    }
    if a.checked_add(len).is_none_or(|e| e > top) {
        return Err(MmError::NoMemory(format!("no room for {len:#x} bytes")));
    }
    Ok(a)
}

/// `arch_get_unmapped_area` for `mm` with the world's colouring.
pub fn get_unmapped_area(
    cpu: &Cpu,
    mm: &MmStruct,
    file: Option<&AddressSpace>,
    addr: u64,
    len: u64,
    pgoff: u64,
    flags: MapFlags,
) -> Result<u64, MmError> {
    let cfg = &cpu.world().config;
    if flags.contains(MapFlags::MAP_FIXED) {
        return Ok(addr);
    }
    let shared = file.is_some() || flags.contains(MapFlags::MAP_SHARED);
    let offset = shared.then(|| {
        let base = file.map_or(0, |f| get_offset(f.kaddr));
        match cfg.colouring {
            Colouring::Linux2614 => base,
            Colouring::PgoffAware => (base + (pgoff << vipt_pte::PAGE_SHIFT)) & (SHM_COLOUR - 1),
        }
    });
    find_area(mm, cfg.layout, addr, len, offset)
}

pub(crate) fn check_range(cpu: &Cpu, addr: u64, len: u64) -> Result<u64, MmError> {
    if len == 0 {
        return invalid("zero length");
    }
    if addr % PAGE_SIZE != 0 {
        return invalid(format!("address {addr:#x} is not page aligned"));
    }
    let len = len
        .checked_add(PAGE_SIZE - 1)
        .map(|l| l & !(PAGE_SIZE - 1))
        .ok_or_else(|| MmError::Invalid("length overflows".into()))?;
    let top = task_size(cpu.world().config.layout);
    if addr.checked_add(len).is_none_or(|e| e > top) {
        return invalid(format!(
            "{addr:#x}+{len:#x} is beyond the {}-bit user address space ({top:#x})",
            cpu.world().config.layout.bits_per_long()
        ));
    }
    Ok(len)
}

/// The pte protection of a new vma (`vm_page_prot`).
pub fn vm_page_prot(flags: VmFlags) -> PteFlags {
    let w = flags.contains(VmFlags::VM_WRITE);
    let s = flags.contains(VmFlags::VM_SHARED);
    let mut p = match (w, s) {
        (true, true) => PteFlags::PAGE_SHARED,
        (true, false) => PteFlags::PAGE_COPY,
        (false, _) => PteFlags::PAGE_READONLY,
    };
    if flags.contains(VmFlags::VM_EXEC) {
        p |= PteFlags::EXEC;
    }
    p
}

/// Links a vma into its file's `i_mmap` under `i_mmap_lock` and
/// `flush_dcache_mmap_lock` (`__vma_link_file`), or after `after` on its
/// `vm_set` list (`vma_prio_tree_add`, for fork).
fn link_file(cpu: &mut Cpu, vma: &Arc<Vma>, after: Option<&Arc<Vma>>) -> Result<(), MmError> {
    let Some(f) = vma.vm_file.clone() else {
        return Ok(());
    };
    cpu.locked(&f.i_mmap_lock, "vma_link", |cpu| {
        cpu.write_locked_irq(&f.tree_lock, "flush_dcache_mmap_lock", |cpu| {
            cpu.structure_op(Object::Mapping(f.id), true, "vma_prio_tree_insert");
            if vma.vm_flags().contains(VmFlags::VM_NONLINEAR) {
                f.nonlinear_lock(true).push(vma.clone());
                return Ok(());
            }
            let mut t = f.i_mmap_lock(true);
            let at = after.and_then(|a| *a.tree_id.lock());
            let id = match at {
                Some(at) => t.insert_after(at, vma.clone())?,
                None => {
                    let iv = Interval::new(vma.vm_pgoff, vma.vm_pgoff + vma.pages() - 1)?;
                    t.insert(iv, vma.clone())?
                }
            };
            *vma.tree_id.lock() = Some(id);
            Ok(())
        })
    })
}

/// Unlinks a vma from its file's `i_mmap` (`__remove_shared_vm_struct`).
fn unlink_file(cpu: &mut Cpu, vma: &Arc<Vma>) -> Result<(), MmError> {
    let Some(f) = vma.vm_file.clone() else {
        return Ok(());
    };
    cpu.locked(&f.i_mmap_lock, "remove_shared_vm_struct", |cpu| {
        cpu.write_locked_irq(&f.tree_lock, "flush_dcache_mmap_lock", |cpu| {
            cpu.structure_op(Object::Mapping(f.id), true, "vma_prio_tree_remove");
            if let Some(id) = vma.tree_id.lock().take() {
                f.i_mmap_lock(true).remove(id)?;
            }
            f.nonlinear_lock(true).retain(|v| !Arc::ptr_eq(v, vma));
            Ok(())
        })
    })
}

/// Takes a vma off its `anon_vma`'s list (`anon_vma_unlink`, 2.6.14
/// mm/rmap.c, under `anon_vma->lock`; audited as that lock's state, as the
/// link in [`new_vma`] is). The list holds weak references, so a vma would
/// also leave it when its last reference went; the unlink makes the change
/// happen, and be seen, in the step of the kernel's unlink.
fn unlink_anon(vma: &Arc<Vma>) {
    if let Some(av) = &vma.anon_vma {
        crate::sched::audit(crate::sched::Object::Lock(av.lock.id()), true);
        av.vmas
            .lock()
            .retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(vma)));
    }
}

pub(crate) fn new_vma(
    mm: &Arc<MmStruct>,
    start: u64,
    end: u64,
    pgoff: u64,
    flags: VmFlags,
    file: Option<Arc<AddressSpace>>,
    anon: Option<Arc<AnonVma>>,
) -> Arc<Vma> {
    let vma = Arc::new(Vma {
        vm_mm: Arc::downgrade(mm),
        space: mm.context,
        vm_start: start,
        vm_end: end,
        vm_pgoff: pgoff,
        flags: std::sync::atomic::AtomicU64::new(flags.bits()),
        vm_file: file,
        anon_vma: anon,
        tree_id: Mutex::new(None),
    });
    if let Some(av) = &vma.anon_vma {
        // The list is anon_vma->lock's: audited as that lock's state.
        crate::sched::audit(crate::sched::Object::Lock(av.lock.id()), true);
        av.vmas.lock().push(Arc::downgrade(&vma));
    }
    vma
}

/// Inserts a vma into the mm's list and its file's index.
pub(crate) fn vma_link(
    cpu: &mut Cpu,
    mm: &MmStruct,
    vma: &Arc<Vma>,
    after: Option<&Arc<Vma>>,
) -> Result<(), MmError> {
    cpu.structure_op(Object::Vmas(mm.context.0), true, "vma_link");
    mm.vmas_lock(true).insert(vma.vm_start, vma.clone());
    link_file(cpu, vma, after)
}

/// `do_mmap_pgoff` for the current mm; returns the address.
pub fn do_mmap(
    cpu: &mut Cpu,
    file: Option<&Arc<AddressSpace>>,
    addr: u64,
    len: u64,
    prot: Prot,
    flags: MapFlags,
    pgoff: u64,
) -> Result<u64, MmError> {
    let mm = cpu.current_mm()?;
    let shared = flags.contains(MapFlags::MAP_SHARED);
    if shared == flags.contains(MapFlags::MAP_PRIVATE) {
        return invalid("exactly one of MAP_SHARED and MAP_PRIVATE");
    }
    if file.is_some() == flags.contains(MapFlags::MAP_ANONYMOUS) {
        return invalid("a file mapping needs a file, MAP_ANONYMOUS none");
    }
    if file.is_some_and(|f| f.swapper) {
        return invalid("the swapper space cannot be mapped");
    }
    let fixed = flags.contains(MapFlags::MAP_FIXED);
    let len = check_range(cpu, if fixed { addr } else { 0 }, len)?;
    if fixed && addr % PAGE_SIZE != 0 {
        return invalid(format!("MAP_FIXED address {addr:#x} is not page aligned"));
    }
    let npages = len / PAGE_SIZE;
    let max = 1u64 << (cpu.world().config.layout.bits_per_long() - vipt_pte::PAGE_SHIFT);
    if pgoff.checked_add(npages).is_none_or(|e| e > max) {
        return invalid(format!(
            "pgoff {pgoff:#x} + {npages} pages overflows the file offset"
        ));
    }
    cpu.down_write(&mm.mmap_sem, "do_mmap");
    let r = (|| {
        let start = get_unmapped_area(cpu, &mm, file.map(|f| &**f), addr, len, pgoff, flags)?;
        if let Some(v) = vmas_in(&mm, start, start + len).first() {
            return invalid(format!(
                "{start:#x}+{len:#x} overlaps the vma {:#x}-{:#x}",
                v.vm_start, v.vm_end
            ));
        }
        let mut vf = VmFlags::VM_MAYREAD | VmFlags::VM_MAYWRITE | VmFlags::VM_MAYEXEC;
        for (p, f) in [
            (Prot::PROT_READ, VmFlags::VM_READ),
            (Prot::PROT_WRITE, VmFlags::VM_WRITE),
            (Prot::PROT_EXEC, VmFlags::VM_EXEC),
        ] {
            if prot.contains(p) {
                vf |= f;
            }
        }
        if shared {
            vf |= VmFlags::VM_SHARED | VmFlags::VM_MAYSHARE;
        }
        // Anonymous shared memory would be shmem; the model keeps anonymous
        // mappings private-backed and files file-backed.
        let anon =
            (!shared || file.is_none()).then(|| AnonVma::new(&format!("mm {}", mm.context.0)));
        let vma = new_vma(&mm, start, start + len, pgoff, vf, file.cloned(), anon);
        vma_link(cpu, &mm, &vma, None)?;
        Ok(start)
    })();
    cpu.spin_unlock(&mm.mmap_sem, "do_mmap")?;
    r
}

/// Whether this world's zaps run under `mm->page_table_lock` throughout
/// (2.6.14's [`ZapLock::WholeZap`]; with split pte locks forced on, a mixed
/// model, they lock per table).
fn whole_zap(cpu: &Cpu, mm: &MmStruct) -> bool {
    cpu.world().config.kernel.mm_shape().zap_lock == ZapLock::WholeZap && !mm.split_ptlock
}

/// `unmap_page_range` of `[start, end)` of `vma` inside `unmap_vmas`:
/// `tlb_start_vma` (`flush_cache_range` over the whole vma) unless the
/// whole mm goes, `zap_pte_range` over each page-table page — under its pte
/// lock, or under the caller's `page_table_lock` in 2.6.14 — then
/// `tlb_end_vma`. Pages unmapped are gathered for `tlb_finish_mmu`.
/// `details`: `unmap_mapping_range`'s zap, which leaves swap ptes.
#[allow(clippy::too_many_arguments)]
fn unmap_page_range(
    cpu: &mut Cpu,
    mm: &MmStruct,
    vma: &Arc<Vma>,
    start: u64,
    end: u64,
    fullmm: bool,
    details: bool,
    gather: &mut Vec<u64>,
) -> Result<(), MmError> {
    let arch = cpu.arch();
    if !fullmm {
        arch.tlb_start_vma(cpu, vma)?;
    }
    let lock = (!whole_zap(cpu, mm)).then_some("zap_pte_range");
    walk_pte_tables(cpu, mm, start, end, lock, |cpu, x| {
        zap_pte(cpu, mm, x, details, gather)
    })?;
    if !fullmm {
        arch.tlb_end_vma(cpu, vma, start, end)?;
    }
    Ok(())
}

/// Runs `f` on the address of every page of `[start, end)` whose page
/// table exists, a table at a time; with `lock` (the function's name for
/// the lock-order checker) each table's pte lock is held around its pages,
/// without it the caller holds what it needs (2.6.14's `page_table_lock`).
pub(crate) fn walk_pte_tables(
    cpu: &mut Cpu,
    mm: &MmStruct,
    start: u64,
    end: u64,
    lock: Option<&'static str>,
    mut f: impl FnMut(&mut Cpu, u64) -> Result<(), MmError>,
) -> Result<(), MmError> {
    let span = vipt_pte::layout::PTRS_PER_PTE * PAGE_SIZE;
    let mut a = start;
    while a < end {
        let stop = end.min((a / span + 1) * span);
        if mm.pgd.pte_offset(a)?.is_some() {
            let from = a;
            let mut table = |cpu: &mut Cpu| -> Result<(), MmError> {
                let mut x = from;
                while x < stop {
                    f(cpu, x)?;
                    x += PAGE_SIZE;
                }
                Ok(())
            };
            match lock {
                None => table(cpu)?,
                Some(what) => {
                    let ptl = cpu.pte_lockptr(mm, a)?;
                    cpu.locked(ptl, what, table)?;
                }
            }
        }
        a = stop;
    }
    Ok(())
}

/// One pte of `zap_pte_range`: a present pte goes through
/// `ptep_get_and_clear` (its page dirtied, unmapped and gathered); a swap
/// pte is `pte_clear`ed after `free_swap_and_cache` (left alone with
/// `details`); `pte_none` ptes — flush-only ones included — are skipped.
fn zap_pte(
    cpu: &mut Cpu,
    mm: &MmStruct,
    addr: u64,
    details: bool,
    gather: &mut Vec<u64>,
) -> Result<(), MmError> {
    let cur = cpu.pte_read(mm, addr, "zap_pte_range")?;
    if pte_none(cur) {
        return Ok(());
    }
    let arch = cpu.arch();
    if pte_present(cur) {
        let old = arch.ptep_get_and_clear(cpu, mm, addr)?;
        let pfn = vipt_pte::pte_pfn(old);
        if pfn == crate::world::ZERO_PFN || cpu.world().page(pfn).is_err() {
            return Ok(());
        }
        if pte_dirty(old) {
            set_page_dirty(cpu, pfn)?;
        }
        page_remove_rmap(cpu, pfn)?;
        gather.push(pfn);
        return Ok(());
    }
    if details {
        return Ok(());
    }
    if let PteKind::Swap { .. } = classify(cur) {
        swap_free(cpu, cur)?;
    }
    arch.pte_clear(cpu, mm, addr)
}

/// `tlb_finish_mmu`: the TLB flush (`tlb_flush`), then the gathered pages
/// freed.
fn tlb_finish_mmu(
    cpu: &mut Cpu,
    mm: &MmStruct,
    fullmm: bool,
    gather: Vec<u64>,
) -> Result<(), MmError> {
    cpu.arch().tlb_finish_mmu(cpu, mm, fullmm)?;
    for pfn in gather {
        put_page(cpu, pfn)?;
    }
    Ok(())
}

/// `madvise(addr, len, MADV_DONTNEED)` on the current mm, as 2.6.14's
/// `sys_madvise` does it: `mmap_sem` for writing (2.6.14 takes it for
/// writing for every advice), the range checked against the vmas, then
/// `madvise_dontneed`'s `zap_page_range` over each vma's part of the range.
/// A hole (`-ENOMEM`) or a `VM_LOCKED` vma (`-EINVAL`) is refused before
/// anything is zapped, where Linux zaps the vmas before the hole.
pub fn madvise_dontneed(cpu: &mut Cpu, addr: u64, len: u64) -> Result<(), MmError> {
    let mm = cpu.current_mm()?;
    let len = check_range(cpu, addr, len)?;
    let end = addr + len;
    cpu.down_write(&mm.mmap_sem, "sys_madvise");
    let r = (|| {
        let mut at = addr;
        let mut parts = Vec::new();
        while at < end {
            let vma = mm
                .find_vma(at)
                .ok_or_else(|| MmError::Invalid(format!("madvise: no vma at {at:#x} (ENOMEM)")))?;
            if vma.vm_flags().contains(VmFlags::VM_LOCKED) {
                return invalid("madvise(MADV_DONTNEED) of a VM_LOCKED vma (EINVAL)");
            }
            let stop = end.min(vma.vm_end);
            parts.push((vma, at, stop));
            at = stop;
        }
        for (vma, s, e) in parts {
            zap_page_range(cpu, &vma, s, e)?;
        }
        Ok(())
    })();
    cpu.spin_unlock(&mm.mmap_sem, "sys_madvise")?;
    r
}

/// `zap_page_range(vma, start, end - start, NULL)`.
pub fn zap_page_range(cpu: &mut Cpu, vma: &Arc<Vma>, start: u64, end: u64) -> Result<(), MmError> {
    zap_range(cpu, vma, start, end, false)
}

/// `zap_page_range` with or without `details`: 2.6.14 holds
/// `page_table_lock` from before `tlb_start_vma` to after the frees; later
/// kernels lock per pte table inside.
fn zap_range(
    cpu: &mut Cpu,
    vma: &Arc<Vma>,
    start: u64,
    end: u64,
    details: bool,
) -> Result<(), MmError> {
    let Some(mm) = vma.mm() else { return Ok(()) };
    let zap = |cpu: &mut Cpu| {
        let mut gather = Vec::new();
        unmap_page_range(cpu, &mm, vma, start, end, false, details, &mut gather)?;
        tlb_finish_mmu(cpu, &mm, false, gather)
    };
    if whole_zap(cpu, &mm) {
        cpu.locked(&mm.page_table_lock, "zap_page_range", zap)
    } else {
        zap(cpu)
    }
}

/// Replaces `vma` by the pieces of it outside `start..end` (`split_vma`),
/// returning the piece inside.
pub(crate) fn split_out(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    start: u64,
    end: u64,
) -> Result<Arc<Vma>, MmError> {
    let (s, e) = (start.max(vma.vm_start), end.min(vma.vm_end));
    if s == vma.vm_start && e == vma.vm_end {
        return Ok(vma.clone());
    }
    let piece = |a: u64, b: u64| {
        let pgoff = vma.vm_pgoff + ((a - vma.vm_start) / PAGE_SIZE);
        new_vma(
            mm,
            a,
            b,
            pgoff,
            vma.vm_flags(),
            vma.vm_file.clone(),
            vma.anon_vma.clone(),
        )
    };
    let mid = piece(s, e);
    let mut pieces = vec![mid.clone()];
    if vma.vm_start < s {
        pieces.push(piece(vma.vm_start, s));
    }
    if e < vma.vm_end {
        pieces.push(piece(e, vma.vm_end));
    }
    // vma_adjust: the new pieces go in before the old one leaves, under the
    // file's locks, so a walker sees the page mapped throughout.
    for p in &pieces {
        link_file(cpu, p, None)?;
    }
    unlink_file(cpu, vma)?;
    unlink_anon(vma);
    cpu.structure_op(Object::Vmas(mm.context.0), true, "split_vma");
    let mut v = mm.vmas_lock(true);
    v.remove(&vma.vm_start);
    for p in pieces {
        v.insert(p.vm_start, p);
    }
    Ok(mid)
}

/// The vmas of `mm` that overlap `[start, end)`, in address order.
pub(crate) fn vmas_in(mm: &MmStruct, start: u64, end: u64) -> Vec<Arc<Vma>> {
    mm.vmas()
        .into_iter()
        .filter(|v| v.vm_start < end && start < v.vm_end)
        .collect()
}

/// `do_munmap`'s work on one vma, with `mmap_sem` held: the part of it in
/// `[start, end)` split out, detached, `unmap_region`ed, then
/// `remove_vma_list`.
pub(crate) fn unmap_vma_range(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    start: u64,
    end: u64,
) -> Result<(), MmError> {
    let mid = split_out(cpu, mm, vma, start, end)?;
    cpu.structure_op(
        Object::Vmas(mm.context.0),
        true,
        "detach_vmas_to_be_unmapped",
    );
    mm.vmas_lock(true).remove(&mid.vm_start);
    unmap_region(cpu, mm, &mid)
}

/// `do_munmap(mm, addr, len)` on the current mm.
pub fn do_munmap(cpu: &mut Cpu, addr: u64, len: u64) -> Result<(), MmError> {
    let mm = cpu.current_mm()?;
    let len = check_range(cpu, addr, len)?;
    let end = addr + len;
    cpu.down_write(&mm.mmap_sem, "do_munmap");
    let r = (|| {
        for v in vmas_in(&mm, addr, end) {
            unmap_vma_range(cpu, &mm, &v, addr, end)?;
        }
        Ok(())
    })();
    cpu.spin_unlock(&mm.mmap_sem, "do_munmap")?;
    r
}

/// `unmap_region` of a detached vma, then its unlink from the file's
/// `i_mmap`: 2.6.14 zaps, frees the page tables and finishes the gather
/// (TLB flush, page frees) under `page_table_lock`, and unlinks the vma
/// after (`remove_vma_list`); from 2.6.15 the zap locks per table and
/// `free_pgtables` unlinks the vma before `tlb_finish_mmu` frees the pages.
pub(crate) fn unmap_region(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
) -> Result<(), MmError> {
    let (s, e) = (vma.vm_start, vma.vm_end);
    let mut gather = Vec::new();
    if whole_zap(cpu, mm) {
        cpu.locked(&mm.page_table_lock, "unmap_region", |cpu| {
            unmap_page_range(cpu, mm, vma, s, e, false, false, &mut gather)?;
            tlb_finish_mmu(cpu, mm, false, std::mem::take(&mut gather))
        })?;
        // remove_vm_struct: the file's unlink, then anon_vma_unlink.
        unlink_file(cpu, vma)?;
        unlink_anon(vma);
        return Ok(());
    }
    // 2.6.15's free_pgtables: anon_vma_unlink, then unlink_file_vma.
    unmap_page_range(cpu, mm, vma, s, e, false, false, &mut gather)?;
    unlink_anon(vma);
    unlink_file(cpu, vma)?;
    tlb_finish_mmu(cpu, mm, false, gather)
}

/// `exit_mmap`: `flush_cache_mm`, every vma zapped as the whole mm's
/// (`tlb_start_vma`/`tlb_end_vma` do nothing), `tlb_finish_mmu`'s
/// `flush_tlb_mm` and the page frees — all under `page_table_lock` in
/// 2.6.14, the vmas unlinked after; from 2.6.15 unlocked, the vmas unlinked
/// by `free_pgtables` before the frees. The mm is then forgotten.
pub fn exit_mmap(cpu: &mut Cpu) -> Result<(), MmError> {
    let mm = cpu.current_mm()?;
    let vmas = mm.vmas();
    let arch = cpu.arch();
    let mut gather = Vec::new();
    let whole = whole_zap(cpu, &mm);
    let zap = |cpu: &mut Cpu, gather: &mut Vec<u64>| -> Result<(), MmError> {
        arch.flush_cache_mm(cpu, &mm)?;
        for v in &vmas {
            unmap_page_range(cpu, &mm, v, v.vm_start, v.vm_end, true, false, gather)?;
        }
        Ok(())
    };
    if whole {
        cpu.locked(&mm.page_table_lock, "exit_mmap", |cpu| {
            zap(cpu, &mut gather)?;
            tlb_finish_mmu(cpu, &mm, true, std::mem::take(&mut gather))
        })?;
    } else {
        zap(cpu, &mut gather)?;
    }
    cpu.structure_op(Object::Vmas(mm.context.0), true, "exit_mmap");
    mm.vmas_lock(true).clear();
    for v in &vmas {
        // As in unmap_region: 2.6.14's remove_vm_struct unlinks the file
        // first, 2.6.15's free_pgtables the anon_vma first.
        if whole {
            unlink_file(cpu, v)?;
            unlink_anon(v);
        } else {
            unlink_anon(v);
            unlink_file(cpu, v)?;
        }
    }
    if !whole {
        tlb_finish_mmu(cpu, &mm, true, gather)?;
    }
    cpu.world().drop_mm(mm.context);
    cpu.use_mm(None);
    Ok(())
}

/// `fork`'s `dup_mmap` of the current mm: `flush_cache_mm`, then each vma
/// duplicated (file vmas right after the parent's on its `vm_set` list), and
/// `copy_page_range` under both page-table locks — write-protecting private
/// writable ptes in both for COW. Returns the child mm.
pub fn fork(cpu: &mut Cpu) -> Result<Arc<MmStruct>, MmError> {
    let mm = cpu.current_mm()?;
    let child = cpu.world().new_mm();
    cpu.down_write(&mm.mmap_sem, "dup_mmap");
    let arch = cpu.arch();
    let r = (|| {
        arch.flush_cache_mm(cpu, &mm)?;
        for v in mm.vmas() {
            let anon = v.anon_vma.clone();
            let c = new_vma(
                &child,
                v.vm_start,
                v.vm_end,
                v.vm_pgoff,
                v.vm_flags(),
                v.vm_file.clone(),
                anon,
            );
            vma_link(cpu, &child, &c, Some(&v))?;
            copy_page_range(cpu, &child, &mm, &v)?;
        }
        // flush_tlb_mm(parent): the write-protected ptes must fault.
        arch.flush_tlb_mm(cpu, &mm)
    })();
    cpu.spin_unlock(&mm.mmap_sem, "dup_mmap")?;
    if r.is_err() {
        cpu.world().drop_mm(child.context);
    }
    r.map(|_| child)
}

fn copy_page_range(
    cpu: &mut Cpu,
    dst: &Arc<MmStruct>,
    src: &Arc<MmStruct>,
    vma: &Vma,
) -> Result<(), MmError> {
    let w = cpu.world().clone();
    let arch = cpu.arch();
    for (addr, _) in src.pgd.scan(vma.vm_start, vma.vm_end) {
        let dptl = cpu.pte_lockptr(dst, addr)?;
        let sptl = cpu.pte_lockptr(src, addr)?;
        cpu.locked(dptl, "copy_pte_range", |cpu| {
            cpu.spin_lock_nested(sptl, 1, "copy_pte_range");
            let r = (|| {
                let mut pte = cpu.pte_read(src, addr, "copy_one_pte")?;
                match classify(pte) {
                    PteKind::Present { pfn, .. } => {
                        if vma.is_cow() && vipt_pte::pte_write(pte) {
                            arch.ptep_set_wrprotect(cpu, src, addr)?;
                            pte = vipt_pte::pte_wrprotect(pte);
                        }
                        if !vma.vm_flags().contains(VmFlags::VM_SHARED) {
                            pte = vipt_pte::pte_mkold(pte);
                        }
                        if pfn != crate::world::ZERO_PFN {
                            cpu.page_op(pfn, true, "page_dup_rmap");
                            let p = w.page(pfn)?;
                            p.get();
                            p.inc_mapcount();
                        }
                        arch.set_pte_at(cpu, dst, addr, pte)
                    }
                    PteKind::Swap { .. } => {
                        crate::rmap::swap_duplicate(cpu, pte)?;
                        arch.set_pte_at(cpu, dst, addr, pte)
                    }
                    PteKind::File { .. } => arch.set_pte_at(cpu, dst, addr, pte),
                    _ => Ok(()),
                }
            })();
            cpu.spin_unlock(sptl, "copy_pte_range")?;
            r
        })?;
    }
    Ok(())
}

/// `unmap_mapping_range(mapping, first_page << PAGE_SHIFT, 0, 1)`: under
/// `i_mmap_lock`, bumps `truncate_count` (so a fault that read the page
/// before retries), then zaps every user pte of file pages from
/// `first_page` on in every vma, COWed copies included, swap ptes left.
pub fn unmap_mapping_range(
    cpu: &mut Cpu,
    mapping: &Arc<AddressSpace>,
    first_page: u64,
) -> Result<(), MmError> {
    cpu.locked(&mapping.i_mmap_lock, "unmap_mapping_range", |cpu| {
        cpu.structure_op(Object::Mapping(mapping.id), true, "truncate_count++");
        mapping.audit(true);
        mapping
            .truncate_count
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        cpu.structure_op(Object::Mapping(mapping.id), false, "vma_prio_tree_foreach");
        let (vmas, _) = mapping.vmas_stabbing(first_page, u64::MAX >> 12);
        for vma in vmas {
            let start = vma
                .address_of(first_page.max(vma.vm_pgoff))
                .unwrap_or(vma.vm_end);
            if start < vma.vm_end {
                zap_range(cpu, &vma, start, vma.vm_end, true)?;
            }
        }
        Ok(())
    })
}

/// `vmtruncate`: the file shrinks to `pages` pages; user ptes beyond go
/// (`unmap_mapping_range`), then the page cache (`truncate_inode_pages`).
/// The caller holds the inode's `i_sem` ([`do_truncate`]); without it this
/// is a kernel BUG.
pub fn vmtruncate(cpu: &mut Cpu, mapping: &Arc<AddressSpace>, pages: u64) -> Result<(), MmError> {
    if mapping.swapper {
        return invalid("the swapper space cannot be truncated");
    }
    if !cpu.held().iter().any(|h| h.id == mapping.i_sem.id()) {
        return Err(cpu.world().bug(format!(
            "vmtruncate: file {} truncated without its i_sem held",
            mapping.id
        )));
    }
    mapping
        .size
        .store(pages, std::sync::atomic::Ordering::SeqCst);
    unmap_mapping_range(cpu, mapping, pages)?;
    crate::filemap::truncate_inode_pages(cpu, mapping, pages)
}

/// `do_truncate`: `truncate(2)`'s path — `down(&inode->i_sem)`,
/// `notify_change` → `vmtruncate`, `up(&inode->i_sem)`.
pub fn do_truncate(cpu: &mut Cpu, mapping: &Arc<AddressSpace>, pages: u64) -> Result<(), MmError> {
    if mapping.swapper {
        return invalid("the swapper space cannot be truncated");
    }
    cpu.down(&mapping.i_sem, "do_truncate");
    let r = vmtruncate(cpu, mapping, pages);
    cpu.spin_unlock(&mapping.i_sem, "do_truncate")?;
    r
}
