//! `mprotect` and `mremap`, as Linux 2.6.14 has them (mm/mprotect.c,
//! mm/mremap.c; read in torvalds/linux at v2.6.12-rc2 and the 2.6.13/2.6.14
//! mremap.c, which agree on what is modelled here), reaching the cache and
//! TLB only through the arch's `flush_cache_range`, `flush_tlb_range` and
//! pte hooks.
//!
//! - `mprotect`: `mmap_sem` for writing around every vma of the range;
//!   `mprotect_fixup` splits the vma to the range (`split_vma`) and sets
//!   `vm_flags` (and with them `vm_page_prot`); `change_protection` calls
//!   `flush_cache_range` before any lock, then under `page_table_lock`
//!   rewrites each present pte (`ptep_get_and_clear`, then `set_pte_at` of
//!   `pte_modify` with the new protection; swap and file ptes are left) and
//!   calls `flush_tlb_range` before unlocking.
//! - `mremap` (a move of the whole range to a new address, the case that
//!   changes a page's colour): `mmap_sem` for writing; the new address from
//!   `get_unmapped_area` with the vma's own `vm_pgoff` (`MAP_SHARED` for a
//!   `VM_MAYSHARE` vma), or as given with `MREMAP_FIXED` (which 2.6.14 does
//!   not check against the colour); `copy_vma` links the new vma;
//!   `move_page_tables` calls `flush_cache_range` over the old range once,
//!   then moves each pte under the file's `i_mmap_lock` and
//!   `page_table_lock` (`ptep_clear_flush` — `ptep_get_and_clear` then
//!   `flush_tlb_page` on parisc — then `set_pte_at` at the new address);
//!   then the old range is unmapped as `do_munmap` does.
//!
//! Simplified, and said so: with split pte locks (the 2.6.15, 3.x and 6.10
//! profiles) both take each page table's own lock around its ptes, as
//! 2.6.15 does (`mremap` nests the new table's lock inside the old one's),
//! and `mprotect` calls `flush_tlb_range` after the walk; later changes are
//! not modelled (6.10's `mmu_gather` in `change_protection`, `mremap`'s
//! batched `flush_tlb_range`). `vma_merge` is not modelled (no vma is ever
//! merged back); `mremap` that grows or shrinks is refused, as are an
//! `MREMAP_FIXED` target over an existing mapping (Linux unmaps it first)
//! and a range not inside one vma.

use std::sync::Arc;

use vipt_pte::{pte_modify, pte_none, pte_present, PAGE_SIZE};

use crate::cpu::Cpu;
use crate::error::{invalid, MmError};
use crate::mm_struct::MmStruct;
use crate::mmap::{
    check_range, get_unmapped_area, new_vma, split_out, unmap_vma_range, vm_page_prot, vma_link,
    vmas_in, walk_pte_tables, MapFlags, Prot,
};
use crate::sched::Object;
use crate::vma::{VmFlags, Vma};

/// `sys_mprotect(addr, len, prot)` on the current mm.
pub fn sys_mprotect(cpu: &mut Cpu, addr: u64, len: u64, prot: Prot) -> Result<(), MmError> {
    let mm = cpu.current_mm()?;
    let len = check_range(cpu, addr, len)?;
    let end = addr + len;
    cpu.down_write(&mm.mmap_sem, "sys_mprotect");
    let r = (|| {
        // The vmas of the range, which must leave no hole (ENOMEM).
        let vmas = vmas_in(&mm, addr, end);
        let mut at = addr;
        for v in &vmas {
            if v.vm_start > at {
                return Err(MmError::NoMemory(format!(
                    "mprotect: no vma at {at:#x} (ENOMEM)"
                )));
            }
            if prot.contains(Prot::PROT_WRITE) && !v.vm_flags().contains(VmFlags::VM_MAYWRITE) {
                return invalid("mprotect(PROT_WRITE) of a vma that may not be written (EACCES)");
            }
            at = v.vm_end;
        }
        if at < end {
            return Err(MmError::NoMemory(format!(
                "mprotect: no vma at {at:#x} (ENOMEM)"
            )));
        }
        for v in vmas {
            let mut flags =
                v.vm_flags() - (VmFlags::VM_READ | VmFlags::VM_WRITE | VmFlags::VM_EXEC);
            for (p, f) in [
                (Prot::PROT_READ, VmFlags::VM_READ),
                (Prot::PROT_WRITE, VmFlags::VM_WRITE),
                (Prot::PROT_EXEC, VmFlags::VM_EXEC),
            ] {
                if prot.contains(p) {
                    flags |= f;
                }
            }
            mprotect_fixup(cpu, &mm, &v, addr, end, flags)?;
        }
        Ok(())
    })();
    cpu.spin_unlock(&mm.mmap_sem, "sys_mprotect")?;
    r
}

/// `mprotect_fixup`: split to the range, new `vm_flags`, then
/// `change_protection`.
fn mprotect_fixup(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    start: u64,
    end: u64,
    flags: VmFlags,
) -> Result<(), MmError> {
    if flags == vma.vm_flags() {
        return Ok(());
    }
    let mid = split_out(cpu, mm, vma, start, end)?;
    cpu.structure_op(Object::Vmas(mm.context.0), true, "mprotect_fixup");
    mid.set_vm_flags(flags);
    change_protection(cpu, mm, &mid, flags)
}

/// `change_protection` of a whole vma to `flags`' `vm_page_prot`.
fn change_protection(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    flags: VmFlags,
) -> Result<(), MmError> {
    let (start, end) = (vma.vm_start, vma.vm_end);
    let newprot = vm_page_prot(flags);
    let arch = cpu.arch();
    arch.flush_cache_range(cpu, vma, start, end)?;
    let one = |cpu: &mut Cpu, a: u64| -> Result<(), MmError> {
        let cur = cpu.pte_read(mm, a, "change_pte_range")?;
        if pte_none(cur) || !pte_present(cur) {
            return Ok(());
        }
        let arch = cpu.arch();
        let old = arch.ptep_get_and_clear(cpu, mm, a)?;
        arch.set_pte_at(cpu, mm, a, pte_modify(old, newprot))
    };
    if !mm.split_ptlock {
        // 2.6.14: the whole walk and the TLB flush under page_table_lock.
        return cpu.locked(&mm.page_table_lock, "change_protection", |cpu| {
            walk_pte_tables(cpu, mm, start, end, None, one)?;
            cpu.arch().flush_tlb_range(cpu, vma, start, end)
        });
    }
    // 2.6.15's change_pte_range: each table's lock around its ptes.
    walk_pte_tables(cpu, mm, start, end, Some("change_pte_range"), one)?;
    arch.flush_tlb_range(cpu, vma, start, end)
}

/// `sys_mremap(addr, len, len, MREMAP_MAYMOVE [| MREMAP_FIXED], new)` on the
/// current mm: moves `[addr, addr + len)` to `fixed`, or where
/// `get_unmapped_area` puts it; returns the new address.
pub fn sys_mremap(cpu: &mut Cpu, addr: u64, len: u64, fixed: Option<u64>) -> Result<u64, MmError> {
    let mm = cpu.current_mm()?;
    let len = check_range(cpu, addr, len)?;
    if let Some(n) = fixed {
        check_range(cpu, n, len)?;
        if n < addr + len && addr < n + len {
            return invalid("MREMAP_FIXED onto the range itself (EINVAL)");
        }
    }
    cpu.down_write(&mm.mmap_sem, "sys_mremap");
    let r = (|| {
        let vma = mm
            .find_vma(addr)
            .ok_or_else(|| MmError::Invalid(format!("mremap: no vma at {addr:#x} (EFAULT)")))?;
        if addr + len > vma.vm_end {
            return invalid("mremap: the range is not inside one vma (EFAULT)");
        }
        let new_pgoff = vma.vm_pgoff + (addr - vma.vm_start) / PAGE_SIZE;
        let new_addr = match fixed {
            Some(n) => n,
            None => {
                let flags = if vma.vm_flags().contains(VmFlags::VM_MAYSHARE) {
                    MapFlags::MAP_SHARED
                } else {
                    MapFlags::empty()
                };
                // 2.6.14 passes the vma's own pgoff, not the moved part's.
                get_unmapped_area(
                    cpu,
                    &mm,
                    vma.vm_file.as_deref(),
                    0,
                    len,
                    vma.vm_pgoff,
                    flags,
                )?
            }
        };
        if let Some(v) = vmas_in(&mm, new_addr, new_addr + len).first() {
            return invalid(format!(
                "mremap: {new_addr:#x}+{len:#x} overlaps the vma {:#x}-{:#x} (the model refuses what Linux would unmap)",
                v.vm_start, v.vm_end
            ));
        }
        // copy_vma.
        let new = new_vma(
            &mm,
            new_addr,
            new_addr + len,
            new_pgoff,
            vma.vm_flags(),
            vma.vm_file.clone(),
            vma.anon_vma.clone(),
        );
        vma_link(cpu, &mm, &new, None)?;
        move_page_tables(cpu, &mm, &vma, addr, new_addr, len)?;
        // do_munmap of the old range (mmap_sem is held).
        unmap_vma_range(cpu, &mm, &vma, addr, addr + len)?;
        Ok(new_addr)
    })();
    cpu.spin_unlock(&mm.mmap_sem, "sys_mremap")?;
    r
}

/// `move_page_tables`: `flush_cache_range` over the old range, then each
/// pte moved.
fn move_page_tables(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    old: u64,
    new: u64,
    len: u64,
) -> Result<(), MmError> {
    let arch = cpu.arch();
    arch.flush_cache_range(cpu, vma, old, old + len)?;
    let mut off = 0;
    while off < len {
        if mm.pgd.pte_offset(old + off)?.is_some() {
            move_one_page(cpu, mm, vma, old + off, new + off)?;
        }
        off += PAGE_SIZE;
    }
    Ok(())
}

/// One pte moved from `old` to `new` under the file's `i_mmap_lock` and the
/// pte locks: `ptep_clear_flush`, then `set_pte_at`.
fn move_one_page(
    cpu: &mut Cpu,
    mm: &Arc<MmStruct>,
    vma: &Arc<Vma>,
    old: u64,
    new: u64,
) -> Result<(), MmError> {
    let moved = |cpu: &mut Cpu| -> Result<(), MmError> {
        let cur = cpu.pte_read(mm, old, "move_one_page")?;
        if pte_none(cur) {
            return Ok(());
        }
        let arch = cpu.arch();
        let pte = arch.ptep_clear_flush(cpu, vma, old)?;
        arch.set_pte_at(cpu, mm, new, pte)
    };
    let locked = |cpu: &mut Cpu| -> Result<(), MmError> {
        if !mm.split_ptlock {
            return cpu.locked(&mm.page_table_lock, "move_one_page", moved);
        }
        // 2.6.15's move_ptes: the old table's lock, the new one's nested.
        let old_ptl = cpu.pte_lockptr(mm, old)?;
        let new_ptl = cpu.pte_lockptr(mm, new)?;
        cpu.locked(old_ptl, "move_ptes", |cpu| {
            if std::ptr::eq(old_ptl, new_ptl) {
                return moved(cpu);
            }
            cpu.spin_lock_nested(new_ptl, 1, "move_ptes");
            let r = moved(cpu);
            cpu.spin_unlock(new_ptl, "move_ptes")?;
            r
        })
    };
    match vma.vm_file.clone() {
        Some(f) => cpu.locked(&f.i_mmap_lock, "move_one_page", locked),
        None => locked(cpu),
    }
}
