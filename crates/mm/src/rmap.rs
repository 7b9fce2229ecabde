//! Reverse mapping and reclaim (`mm/rmap.c`, `mm/vmscan.c`, `mm/swap_state.c`):
//! `page_add_*_rmap`, `page_remove_rmap`, `set_page_dirty`, `page_referenced`,
//! `try_to_unmap_one` with the exact order of the racer's flush, the pte change
//! and the TLB purge, and a one-page `shrink_list`.

use std::sync::Arc;

use vipt_pte::{pte_dirty, pte_pfn, pte_present, swp_offset, swp_type, Pte};

use crate::cpu::Cpu;
use crate::error::MmError;
use crate::page::{pg, PageMapping};
use crate::sched::Object;
use crate::strategy::page_mapping;
use crate::vma::{VmFlags, Vma};

/// `page_add_file_rmap`.
pub fn page_add_file_rmap(cpu: &Cpu, pfn: u64) -> Result<(), MmError> {
    cpu.page_op(pfn, true, "page_add_file_rmap");
    cpu.world().page(pfn)?.inc_mapcount();
    Ok(())
}

/// `page_add_anon_rmap(page, vma, address)`.
pub fn page_add_anon_rmap(cpu: &Cpu, pfn: u64, vma: &Vma, addr: u64) -> Result<(), MmError> {
    cpu.page_op(pfn, true, "page_add_anon_rmap");
    let p = cpu.world().page(pfn)?;
    if p.inc_mapcount() {
        if let Some(av) = &vma.anon_vma {
            p.set_mapping(PageMapping::Anon(av.clone()));
        }
        p.set_index(vma.pgoff_of(addr));
    }
    Ok(())
}

/// `page_remove_rmap`.
pub fn page_remove_rmap(cpu: &Cpu, pfn: u64) -> Result<(), MmError> {
    cpu.page_op(pfn, true, "page_remove_rmap");
    let p = cpu.world().page(pfn)?;
    if p.mapcount() <= 0 {
        return Err(cpu
            .world()
            .bug(format!("page_remove_rmap: page {pfn:#x} is not mapped")));
    }
    p.dec_mapcount();
    Ok(())
}

/// `page_cache_release`: drops a reference, freeing the frame with the last.
pub fn put_page(cpu: &Cpu, pfn: u64) -> Result<(), MmError> {
    cpu.page_op(pfn, true, "put_page");
    let w = cpu.world();
    if w.page(pfn)?.put() {
        w.free_frame(pfn);
    }
    Ok(())
}

/// `set_page_dirty` (`__set_page_dirty_nobuffers`): sets `PG_dirty` and, the
/// first time, tags the page under its mapping's `tree_lock` — which is why
/// `try_to_unmap_one` takes `tree_lock` inside the pte lock.
pub fn set_page_dirty(cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
    cpu.page_op(pfn, true, "set_page_dirty");
    let w = cpu.world().clone();
    if w.page(pfn)?.set_bit(pg::PG_DIRTY) {
        return Ok(());
    }
    if let Some(m) = page_mapping(cpu, pfn)? {
        cpu.write_locked_irq(&m.tree_lock, "__set_page_dirty_nobuffers", |cpu| {
            cpu.structure_op(Object::Mapping(m.id), true, "radix_tree_tag_set");
            Ok(())
        })?;
    }
    Ok(())
}

/// `swap_duplicate`: one more user of a swap entry, under `swap_lock`.
pub fn swap_duplicate(cpu: &mut Cpu, entry: Pte) -> Result<(), MmError> {
    let w = cpu.world().clone();
    cpu.locked(&w.swap_lock, "swap_duplicate", |cpu| {
        cpu.structure_op(Object::Mapping(0), true, "swap_duplicate");
        let mut s = w.swap.lock();
        match s.slots.get_mut(&swp_offset(entry)) {
            Some(slot) => {
                slot.0 += 1;
                Ok(())
            }
            None => Err(w.bug(format!("swap_duplicate: bad entry {:#x}", entry.raw()))),
        }
    })
}

/// `swap_free` / `free_swap_and_cache`: one user less, under `swap_lock`;
/// the slot goes with the last.
pub fn swap_free(cpu: &mut Cpu, entry: Pte) -> Result<(), MmError> {
    let w = cpu.world().clone();
    cpu.locked(&w.swap_lock, "swap_free", |cpu| {
        cpu.structure_op(Object::Mapping(0), true, "swap_free");
        let mut s = w.swap.lock();
        let off = swp_offset(entry);
        match s.slots.get_mut(&off) {
            Some(slot) => {
                slot.0 -= 1;
                if slot.0 == 0 {
                    s.slots.remove(&off);
                }
                Ok(())
            }
            None => Err(w.bug(format!("swap_free: bad entry {:#x}", entry.raw()))),
        }
    })
}

/// `add_to_swap`: a swap slot for an anonymous page, and the page into the swap
/// cache (`PG_swapcache`, `private` = the entry, indexed in the swapper space).
pub fn add_to_swap(cpu: &mut Cpu, pfn: u64) -> Result<Pte, MmError> {
    let w = cpu.world().clone();
    let layout = w.config.layout;
    let entry = cpu.locked(&w.swap_lock, "get_swap_page", |cpu| {
        cpu.structure_op(Object::Mapping(0), true, "get_swap_page");
        let mut s = w.swap.lock();
        let wanted = s.next.take().filter(|o| !s.slots.contains_key(o));
        let off = wanted
            .or_else(|| (1..=w.config.swap_slots).find(|o| !s.slots.contains_key(o)))
            .ok_or_else(|| MmError::NoMemory("swap is full".into()))?;
        s.slots.insert(off, (1, None));
        Ok(vipt_pte::swp_entry(layout, 0, off)?)
    })?;
    let sw = w.swapper_space.clone();
    cpu.write_locked_irq(&sw.tree_lock, "add_to_swap_cache", |cpu| {
        cpu.structure_op(Object::Mapping(0), true, "add_to_swap_cache");
        let p = w.page(pfn)?;
        p.set_private(entry.raw());
        p.set_bit(pg::PG_SWAPCACHE);
        p.get();
        sw.pages_lock(true).insert(entry.raw(), pfn);
        Ok(())
    })?;
    Ok(entry)
}

/// `delete_from_swap_cache`.
pub fn delete_from_swap_cache(cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
    let w = cpu.world().clone();
    let sw = w.swapper_space.clone();
    let entry = Pte::from_raw(w.page(pfn)?.private());
    cpu.write_locked_irq(&sw.tree_lock, "delete_from_swap_cache", |cpu| {
        cpu.structure_op(Object::Mapping(0), true, "delete_from_swap_cache");
        sw.pages_lock(true).remove(&entry.raw());
        let p = w.page(pfn)?;
        p.clear_bit(pg::PG_SWAPCACHE);
        p.set_private(0);
        Ok(())
    })?;
    swap_free(cpu, entry)?;
    put_page(cpu, pfn)
}

/// `vma_address(page, vma)`.
pub fn vma_address(cpu: &Cpu, pfn: u64, vma: &Vma) -> Result<Option<u64>, MmError> {
    Ok(vma.address_of(cpu.world().page(pfn)?.index()))
}

/// What `try_to_unmap` achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapResult {
    /// Every pte is gone.
    Success,
    /// Some ptes remain (not found, or raced).
    Again,
    /// A vma refused (locked, or the page was young).
    Fail,
}

/// `ptep_clear_flush_young`: test and clear the accessed bit, purging the TLB
/// entry if it was set.
pub fn ptep_clear_flush_young(cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64) -> Result<bool, MmError> {
    let Some(mm) = vma.mm() else { return Ok(false) };
    let young = cpu.ptep_test_and_clear_young(&mm, addr, "ptep_clear_flush_young")?;
    if young {
        cpu.arch().flush_tlb_page(cpu, vma, addr)?;
    }
    Ok(young)
}

/// `try_to_unmap_one(page, vma)`. Under the pte lock: the young check, the
/// racer's own `flush_cache_page`, then `ptep_clear_flush` (the arch's: in
/// 2.6.14 keep the pfn, clear PRESENT, set FLUSH, purge the TLB; in 6.10
/// clear, then flush the old pfn), `set_page_dirty` for a dirty pte (taking
/// `tree_lock`), and for an anonymous page the swap pte (losing FLUSH); then
/// the rmap goes.
pub fn try_to_unmap_one(
    cpu: &mut Cpu,
    pfn: u64,
    vma: &Arc<Vma>,
    ignore_young: bool,
) -> Result<SwapResult, MmError> {
    let Some(addr) = vma_address(cpu, pfn, vma)? else {
        return Ok(SwapResult::Again);
    };
    let Some(mm) = vma.mm() else {
        return Ok(SwapResult::Again);
    };
    if mm.pgd.pte_offset(addr)?.is_none() {
        return Ok(SwapResult::Again);
    }
    let ptl = cpu.pte_lockptr(&mm, addr)?;
    let w = cpu.world().clone();
    cpu.locked(ptl, "try_to_unmap_one", |cpu| {
        let pte = cpu.pte_read(&mm, addr, "page_check_address")?;
        if !pte_present(pte) || pte_pfn(pte) != pfn {
            return Ok(SwapResult::Again);
        }
        if vma
            .vm_flags()
            .intersects(VmFlags::VM_LOCKED | VmFlags::VM_RESERVED)
        {
            return Ok(SwapResult::Fail);
        }
        if ptep_clear_flush_young(cpu, vma, addr)? && !ignore_young {
            return Ok(SwapResult::Fail);
        }
        let arch = cpu.arch();
        // The racer's flush.
        arch.flush_cache_page(cpu, vma, addr, pfn)?;
        let pteval = arch.ptep_clear_flush(cpu, vma, addr)?;
        if pte_dirty(pteval) {
            set_page_dirty(cpu, pfn)?;
        }
        let page = w.page(pfn)?;
        if page.is_anon() {
            let entry = Pte::from_raw(page.private());
            if !page.test_bit(pg::PG_SWAPCACHE) || swp_type(entry) != 0 {
                return Err(w.bug(format!(
                    "try_to_unmap_one: anon page {pfn:#x} not in swap cache"
                )));
            }
            swap_duplicate(cpu, entry)?;
            arch.set_pte_at(cpu, &mm, addr, entry)?;
        }
        page_remove_rmap(cpu, pfn)?;
        put_page(cpu, pfn)?;
        Ok(SwapResult::Success)
    })
}

/// `try_to_unmap(page)`: every vma that may map the page — the file's `i_mmap`
/// under `i_mmap_lock`, or the `anon_vma` list under its lock. The caller holds
/// `PG_locked`.
pub fn try_to_unmap(cpu: &mut Cpu, pfn: u64, ignore_young: bool) -> Result<SwapResult, MmError> {
    let w = cpu.world().clone();
    let page = w.page(pfn)?;
    let mut ret = SwapResult::Again;
    let mut one = |cpu: &mut Cpu, vma: &Arc<Vma>| -> Result<bool, MmError> {
        let r = try_to_unmap_one(cpu, pfn, vma, ignore_young)?;
        if r == SwapResult::Fail {
            ret = SwapResult::Fail;
        }
        Ok(r == SwapResult::Fail || !w.page(pfn)?.mapped())
    };
    match page.mapping() {
        PageMapping::File(m) => {
            let idx = page.index();
            cpu.locked(&m.i_mmap_lock, "try_to_unmap_file", |cpu| {
                cpu.structure_op(Object::Mapping(m.id), false, "vma_prio_tree_foreach");
                let (vmas, _) = m.vmas_stabbing(idx, idx);
                for v in vmas {
                    if one(cpu, &v)? {
                        break;
                    }
                }
                Ok(())
            })?;
        }
        PageMapping::Anon(av) => {
            cpu.locked(&av.lock, "try_to_unmap_anon", |cpu| {
                for v in av.vmas() {
                    if one(cpu, &v)? {
                        break;
                    }
                }
                Ok(())
            })?;
        }
        PageMapping::None => {}
    }
    if ret != SwapResult::Fail && !page.mapped() {
        ret = SwapResult::Success;
    }
    Ok(ret)
}

/// `page_referenced`: clears and counts the young bits of every pte mapping the
/// page (kswapd's earlier pass).
pub fn page_referenced(cpu: &mut Cpu, pfn: u64) -> Result<u32, MmError> {
    let w = cpu.world().clone();
    let page = w.page(pfn)?;
    let vmas: Vec<Arc<Vma>> = match page.mapping() {
        PageMapping::File(m) => {
            let idx = page.index();
            cpu.locked(&m.i_mmap_lock, "page_referenced_file", |cpu| {
                cpu.structure_op(Object::Mapping(m.id), false, "vma_prio_tree_foreach");
                Ok(m.vmas_stabbing(idx, idx).0)
            })?
        }
        PageMapping::Anon(av) => av.vmas(),
        PageMapping::None => Vec::new(),
    };
    let mut n = 0;
    for vma in vmas {
        let (Some(addr), Some(mm)) = (vma_address(cpu, pfn, &vma)?, vma.mm()) else {
            continue;
        };
        if mm.pgd.pte_offset(addr)?.is_none() {
            continue;
        }
        let ptl = cpu.pte_lockptr(&mm, addr)?;
        n += cpu.locked(ptl, "page_referenced_one", |cpu| {
            let pte = cpu.pte_read(&mm, addr, "page_check_address")?;
            if !pte_present(pte) || pte_pfn(pte) != pfn {
                return Ok(0);
            }
            Ok(u32::from(ptep_clear_flush_young(cpu, &vma, addr)?))
        })?;
    }
    Ok(n)
}

/// What one pass of reclaim did with a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reclaim {
    /// Unmapped, written out if dirty, and freed.
    Freed,
    /// Unmapped but still referenced elsewhere (page cache kept it, or it is
    /// still mapped somewhere).
    Kept,
    /// Locked by someone else, or a vma refused.
    Busy,
}

/// kswapd's `shrink_list` for one page (the LRU's own reference is not
/// modelled): `TestSetPageLocked`, `add_to_swap` for
/// an anonymous page, `try_to_unmap`, `pageout` if dirty (the kernel alias is
/// flushed and memory written to the backing store), then the page leaves the
/// page or swap cache and is freed.
pub fn shrink_page(cpu: &mut Cpu, pfn: u64, ignore_young: bool) -> Result<Reclaim, MmError> {
    let w = cpu.world().clone();
    let page = w.page(pfn)?;
    if pfn == crate::world::ZERO_PFN || page.count() == 0 {
        return Err(MmError::Invalid(format!("page {pfn:#x} is not in use")));
    }
    cpu.page_op(pfn, true, "TestSetPageLocked");
    if page.lock.is_locked() {
        return Ok(Reclaim::Busy);
    }
    cpu.spin_lock(&page.lock, "shrink_list");
    page.set_bit(pg::PG_LOCKED);
    let r = (|| {
        if page.is_anon() && !page.test_bit(pg::PG_SWAPCACHE) {
            add_to_swap(cpu, pfn)?;
        }
        if page.mapped() && try_to_unmap(cpu, pfn, ignore_young)? != SwapResult::Success {
            return Ok(Reclaim::Busy);
        }
        let mut written = None;
        if page.clear_bit(pg::PG_DIRTY) {
            // pageout → writepage: the device reads memory after the kernel
            // flushed the page's kernel alias.
            cpu.flush_kernel_dcache_page(pfn, "writepage")?;
            let data = cpu.read_memory(pfn, "writepage")?;
            written = Some(data.clone());
            if page.test_bit(pg::PG_SWAPCACHE) {
                let off = swp_offset(Pte::from_raw(page.private()));
                if let Some(slot) = w.swap.lock().slots.get_mut(&off) {
                    slot.1 = Some(data);
                }
            } else if let PageMapping::File(m) = page.mapping() {
                m.backing.lock().insert(page.index(), data);
            }
        }
        if page.mapped() {
            return Ok(Reclaim::Kept);
        }
        // The page goes: what pageout wrote is now its only copy.
        if let Some(data) = &written {
            cpu.check_written(pfn, data)?;
        }
        if page.test_bit(pg::PG_SWAPCACHE) {
            delete_from_swap_cache(cpu, pfn)?;
        } else if let PageMapping::File(m) = page.mapping() {
            crate::filemap::remove_from_page_cache(cpu, &m, pfn)?;
        }
        Ok(Reclaim::Freed)
    })();
    page.clear_bit(pg::PG_LOCKED);
    cpu.spin_unlock(&page.lock, "unlock_page")?;
    r
}
