//! `flush_dcache_page` strategies (spec/04-strategies.md) and the kernel helpers
//! they are written with.
//!
//! Every strategy implements [`FlushStrategy`]; user code can implement it too.
//! Each follows one kernel's text whole, its own era's helpers included (the
//! 2.6.14 ones flush through user addresses whatever the world's arch), so a
//! strategy can be run on any profile and is still the text it names:
//! `legacy-2005` (2.6.14), `patched-2005` (2.6.15), `recheck` (Hugh's
//! suggestion on 2.6.15), `tmpalias` (≈2.6.39–3.6), `modern` (6.10). The
//! first three share 2.6.14's prologue ([`flush_dcache_page_prologue`]):
//! defer with `PG_dcache_dirty` when the page's mapping is not mapped, else
//! flush the kernel alias.
//!
//! The caller of `flush_dcache_page` (the `write()` path) declares the oracle's
//! coherence point after it returns, so a strategy cannot declare itself right.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use vipt_cache::SHM_COLOUR;
use vipt_pte::{legacy_2005_reads, patched_2005, Pte, PAGE_SIZE};

use crate::cpu::Cpu;
use crate::error::MmError;
use crate::mapping::AddressSpace;
use crate::page::{pg, PageMapping};
use crate::sched::Object;
use crate::vma::{VmFlags, Vma};
use crate::world::AliasReport;

/// A `flush_dcache_page` implementation.
pub trait FlushStrategy: Send + Sync {
    /// The strategy's name (`legacy-2005`, …).
    fn name(&self) -> &str;

    /// Makes every user mapping of page `pfn` see the data the kernel wrote
    /// through its alias.
    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError>;
}

/// Every built-in strategy's name.
pub const STRATEGIES: [&str; 5] = [
    "legacy-2005",
    "patched-2005",
    "recheck",
    "tmpalias",
    "modern",
];

/// A built-in strategy by name (the five of [`STRATEGIES`], and `patched-ptl`,
/// the "take the pte lock inside translation_exists" variant of question 6).
pub fn by_name(name: &str) -> Option<Arc<dyn FlushStrategy>> {
    Some(match name {
        "legacy-2005" => Arc::new(Legacy2005),
        "patched-2005" => Arc::new(Patched2005),
        "recheck" => Arc::new(Recheck),
        "tmpalias" => Arc::new(Tmpalias),
        "modern" => Arc::new(Modern),
        "patched-ptl" => Arc::new(PatchedPteLock),
        _ => return None,
    })
}

// ---- kernel helpers ------------------------------------------------------------

/// `page_mapping(page)`: the file's address space, the swapper space for a
/// swap-cache page, `None` for other anonymous pages.
pub fn page_mapping(cpu: &Cpu, pfn: u64) -> Result<Option<Arc<AddressSpace>>, MmError> {
    let w = cpu.world();
    let page = w.page(pfn)?;
    cpu.page_op(pfn, false, "page_mapping");
    if page.test_bit(pg::PG_SWAPCACHE) {
        return Ok(Some(w.swapper_space.clone()));
    }
    Ok(match page.mapping() {
        PageMapping::File(m) => Some(m),
        _ => None,
    })
}

/// Steps 1 and 2 of 2.6.14's `flush_dcache_page`: if the page's mapping is not
/// mapped, set `PG_dcache_dirty` and return `None` (deferred to
/// `update_mmu_cache`); otherwise flush the kernel alias and return the mapping
/// whose user aliases still need flushing (`None` for an anonymous page).
pub fn flush_dcache_page_prologue(
    cpu: &mut Cpu,
    pfn: u64,
) -> Result<Option<Arc<AddressSpace>>, MmError> {
    let mapping = page_mapping(cpu, pfn)?;
    if deferred(cpu, pfn, mapping.as_deref())? {
        return Ok(None);
    }
    cpu.flush_kernel_dcache_page(pfn, "flush_kernel_dcache_page")?;
    Ok(mapping)
}

/// Every era's first step: if the page has a mapping no vma maps, set
/// `PG_dcache_dirty` (the flush is deferred to `update_mmu_cache`) and say
/// so.
pub fn deferred(cpu: &Cpu, pfn: u64, mapping: Option<&AddressSpace>) -> Result<bool, MmError> {
    match mapping {
        Some(m) if !mapping_mapped(cpu, m) => {
            set_page_dcache_dirty(cpu, pfn)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// `mapping_mapped(mapping)`: whether any vma maps the file (a read of the
/// mapping's index roots).
pub fn mapping_mapped(cpu: &Cpu, mapping: &AddressSpace) -> bool {
    cpu.structure_op(Object::Mapping(mapping.id), false, "mapping_mapped");
    mapping.mapping_mapped()
}

/// `set_bit(PG_dcache_dirty, &page->flags)`: the flush is deferred to
/// `update_mmu_cache`.
pub fn set_page_dcache_dirty(cpu: &Cpu, pfn: u64) -> Result<(), MmError> {
    page_set_bit(cpu, pfn, pg::PG_DCACHE_DIRTY, "flush_dcache_page")
}

/// The page flags `set_bit` and `test_bit` may name (`PG_locked` …
/// `PG_swapcache`); the others are not modelled.
const PAGE_FLAG_BITS: u32 = 32;

fn check_page_bit(bit: u32) -> Result<(), MmError> {
    if bit < PAGE_FLAG_BITS {
        Ok(())
    } else {
        Err(MmError::Invalid(format!(
            "page flag bit {bit} is not below {PAGE_FLAG_BITS}"
        )))
    }
}

/// `set_bit(bit, &page->flags)`, one write of the page's flags.
pub fn page_set_bit(cpu: &Cpu, pfn: u64, bit: u32, what: &'static str) -> Result<(), MmError> {
    check_page_bit(bit)?;
    let page = cpu.world().page(pfn)?;
    cpu.page_op(pfn, true, what);
    page.set_bit(bit);
    Ok(())
}

/// `test_bit(bit, &page->flags)`, one read of the page's flags.
pub fn page_test_bit(cpu: &Cpu, pfn: u64, bit: u32, what: &'static str) -> Result<bool, MmError> {
    check_page_bit(bit)?;
    let page = cpu.world().page(pfn)?;
    cpu.page_op(pfn, false, what);
    Ok(page.test_bit(bit))
}

/// `page->index`: the page's offset in its file, in pages.
pub fn page_index(cpu: &Cpu, pfn: u64) -> Result<u64, MmError> {
    cpu.page_op(pfn, false, "flush_dcache_page");
    Ok(cpu.world().page(pfn)?.index())
}

/// `printk("INEQUIVALENT ALIASES …")`: records that the shared vma of `vma`
/// maps the page at `second`, not congruent with `first`.
pub fn report_inequivalent_aliases(cpu: &Cpu, vma: &Vma, first: u64, second: u64) {
    cpu.world().alias_reports.lock().push(AliasReport {
        first,
        second,
        file: vma.vm_file.as_ref().map_or(0, |f| f.id),
    });
}

/// `flush_dcache_mmap_lock(mapping)`: parisc's `write_lock_irq(&mapping->tree_lock)`.
pub fn flush_dcache_mmap_lock(cpu: &mut Cpu, mapping: &AddressSpace) {
    cpu.write_lock_irq(&mapping.tree_lock, "flush_dcache_mmap_lock");
}

/// `flush_dcache_mmap_unlock(mapping)`.
pub fn flush_dcache_mmap_unlock(cpu: &mut Cpu, mapping: &AddressSpace) -> Result<(), MmError> {
    cpu.unlock_irq(&mapping.tree_lock, "flush_dcache_mmap_unlock")
}

/// `lockdep_assert_held` for a walk of `mapping`'s `i_mmap`: this CPU must
/// hold `i_mmap_lock` or `flush_dcache_mmap_lock` (`tree_lock`), or a
/// concurrent `vma_link`/`unlink` could change the tree under the walk. A
/// walk without either is a kernel BUG naming `what` and the locks.
pub fn assert_i_mmap_held(cpu: &Cpu, mapping: &AddressSpace, what: &str) -> Result<(), MmError> {
    let (a, b) = (mapping.i_mmap_lock.id(), mapping.tree_lock.id());
    if cpu.held().iter().any(|h| h.id == a || h.id == b) {
        return Ok(());
    }
    Err(MmError::Bug(format!(
        "{what}: file {}'s i_mmap walked without i_mmap_lock or flush_dcache_mmap_lock \
         (tree_lock) held (lockdep_assert_held)",
        mapping.id
    )))
}

/// `vma_prio_tree_foreach(vma, &iter, &mapping->i_mmap, pgoff, pgoff)`: the vmas
/// mapping file page `pgoff`, in the index's order; counts the index nodes read
/// in the world's statistics. Needs `i_mmap_lock` or `flush_dcache_mmap_lock`
/// held ([`assert_i_mmap_held`]).
pub fn vmas_mapping(
    cpu: &Cpu,
    mapping: &AddressSpace,
    pgoff: u64,
) -> Result<Vec<Arc<Vma>>, MmError> {
    vmas_overlapping(cpu, mapping, pgoff, pgoff)
}

/// `vma_prio_tree_foreach(vma, &iter, &mapping->i_mmap, first, last)`: the
/// vmas mapping any file page of `[first, last]`; see [`vmas_mapping`].
pub fn vmas_overlapping(
    cpu: &Cpu,
    mapping: &AddressSpace,
    first: u64,
    last: u64,
) -> Result<Vec<Arc<Vma>>, MmError> {
    assert_i_mmap_held(cpu, mapping, "vma_prio_tree_foreach")?;
    cpu.structure_op(Object::Mapping(mapping.id), false, "vma_prio_tree_foreach");
    let (v, visited) = mapping.vmas_stabbing(first, last);
    let s = &cpu.world().stats;
    s.tree_nodes_visited.fetch_add(visited, Ordering::Relaxed);
    s.vmas_walked.fetch_add(v.len() as u64, Ordering::Relaxed);
    Ok(v)
}

/// The pre-patch `translation_exists(vma, addr)` and its caller's pfn check:
/// "yes" for any non-zero pte, then a second read of the pte compared by pfn.
pub fn translation_exists_legacy(
    cpu: &Cpu,
    vma: &Vma,
    addr: u64,
    pfn: u64,
) -> Result<bool, MmError> {
    let Some(check) = translation_exists_ptep(cpu, vma, addr)? else {
        return Ok(false);
    };
    if check.raw() == 0 {
        return Ok(false);
    }
    let compare = translation_exists_reread(cpu, vma, addr)?;
    Ok(legacy_2005_reads(check, compare, pfn))
}

/// The first half of [`translation_exists_legacy`], as 2.6.14's
/// `translation_exists(vma, addr)` itself: the pte it read, or `None` when
/// the vma has no mm left (a NULL return). The caller judges the pte (its
/// `pte_none` and `_PAGE_FLUSH` test) and reads it again through the pointer
/// ([`translation_exists_reread`]).
pub fn translation_exists_ptep(cpu: &Cpu, vma: &Vma, addr: u64) -> Result<Option<Pte>, MmError> {
    cpu.world()
        .stats
        .translation_checks
        .fetch_add(1, Ordering::Relaxed);
    let Some(mm) = vma.mm() else { return Ok(None) };
    Ok(Some(cpu.pte_read(&mm, addr, "translation_exists")?))
}

/// The second half of [`translation_exists_legacy`]: 2.6.14's caller reading
/// the pte again through the pointer `translation_exists` returned
/// (`pte_pfn(*pte)`); 0 when the vma has no mm left.
pub fn translation_exists_reread(cpu: &Cpu, vma: &Vma, addr: u64) -> Result<Pte, MmError> {
    let Some(mm) = vma.mm() else {
        return Ok(Pte::from_raw(0));
    };
    cpu.pte_read(&mm, addr, "flush_dcache_page")
}

/// The pre-patch `translation_exists(vma, addr)` as 2.6.14's
/// `flush_cache_page` uses it: one read, "yes" for any non-zero pte (its
/// callers hold the pte lock and have just seen the pte present).
pub fn translation_exists_2614(cpu: &Cpu, vma: &Vma, addr: u64) -> Result<bool, MmError> {
    cpu.world()
        .stats
        .translation_checks
        .fetch_add(1, Ordering::Relaxed);
    let Some(mm) = vma.mm() else { return Ok(false) };
    Ok(cpu.pte_read(&mm, addr, "translation_exists")?.raw() != 0)
}

/// Hugh's `translation_exists(vma, addr, pfn)`: one read; PRESENT or FLUSH
/// required and the pfn equal.
pub fn translation_exists(cpu: &Cpu, vma: &Vma, addr: u64, pfn: u64) -> Result<bool, MmError> {
    cpu.world()
        .stats
        .translation_checks
        .fetch_add(1, Ordering::Relaxed);
    let Some(mm) = vma.mm() else { return Ok(false) };
    let pte = cpu.pte_read(&mm, addr, "translation_exists")?;
    Ok(patched_2005(pte, pfn))
}

/// `__flush_cache_page(vma, addr)`: flush the page through the user address, in
/// the vma's space (loaded into `%sr3` if it is not the current one).
pub fn __flush_cache_page(cpu: &Cpu, vma: &Vma, addr: u64) -> Result<(), MmError> {
    cpu.world()
        .stats
        .user_flushes
        .fetch_add(1, Ordering::Relaxed);
    cpu.flush_page_lines(vma.space, addr, "__flush_cache_page")?;
    Ok(())
}

/// The walk of the 2.6.14-shaped strategies: the 2.6.14 prologue (which may
/// finish the job), then [`walk_mapping`].
fn walk_vmas(
    cpu: &mut Cpu,
    pfn: u64,
    body: impl FnMut(&mut Cpu, &Arc<Vma>, u64) -> Result<bool, MmError>,
) -> Result<(), MmError> {
    let Some(mapping) = flush_dcache_page_prologue(cpu, pfn)? else {
        return Ok(());
    };
    walk_mapping(cpu, &mapping, pfn, body)
}

/// `body(cpu, vma, addr)` for each vma of `mapping` mapping page `pfn` (at
/// `page->index`), inside `flush_dcache_mmap_lock`, until `body` says stop.
pub fn walk_mapping(
    cpu: &mut Cpu,
    mapping: &AddressSpace,
    pfn: u64,
    mut body: impl FnMut(&mut Cpu, &Arc<Vma>, u64) -> Result<bool, MmError>,
) -> Result<(), MmError> {
    let pgoff = page_index(cpu, pfn)?;
    flush_dcache_mmap_lock(cpu, mapping);
    let r = (|| {
        for vma in vmas_mapping(cpu, mapping, pgoff)? {
            let Some(addr) = vma.address_of(pgoff) else {
                continue;
            };
            if body(cpu, &vma, addr)? {
                break;
            }
        }
        Ok(())
    })();
    flush_dcache_mmap_unlock(cpu, mapping)?;
    r
}

/// `flush_dcache_page_asm(page_to_phys(page), addr)`: the page flushed at
/// `addr`'s colour through this CPU's tmpalias window, counted in the stats.
pub fn flush_dcache_page_asm(cpu: &Cpu, pfn: u64, addr: u64) -> Result<(), MmError> {
    cpu.world()
        .stats
        .tmpalias_flushes
        .fetch_add(1, Ordering::Relaxed);
    cpu.tmpalias_flush(pfn, addr, "flush_dcache_page_asm")?;
    Ok(())
}

// ---- the strategies --------------------------------------------------------------

/// 2.6.14 as shipped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Legacy2005;

impl FlushStrategy for Legacy2005 {
    fn name(&self) -> &str {
        "legacy-2005"
    }

    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        walk_vmas(cpu, pfn, |cpu, vma, addr| {
            if !translation_exists_legacy(cpu, vma, addr, pfn)? {
                return Ok(false);
            }
            __flush_cache_page(cpu, vma, addr)?;
            Ok(true)
        })
    }
}

/// The seed patch (2.6.15).
#[derive(Debug, Clone, Copy, Default)]
pub struct Patched2005;

impl FlushStrategy for Patched2005 {
    fn name(&self) -> &str {
        "patched-2005"
    }

    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        walk_vmas(cpu, pfn, |cpu, vma, addr| {
            if !translation_exists(cpu, vma, addr, pfn)? {
                return Ok(false);
            }
            __flush_cache_page(cpu, vma, addr)?;
            Ok(true)
        })
    }
}

/// Hugh's second suggestion: re-read the pte after the flush and go on to the
/// next vma if it no longer maps the page.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recheck;

impl FlushStrategy for Recheck {
    fn name(&self) -> &str {
        "recheck"
    }

    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        walk_vmas(cpu, pfn, |cpu, vma, addr| {
            if !translation_exists(cpu, vma, addr, pfn)? {
                return Ok(false);
            }
            __flush_cache_page(cpu, vma, addr)?;
            // Still mapped after the flush: the flush went through.
            translation_exists(cpu, vma, addr, pfn)
        })
    }
}

/// The colour of a user address: its offset within the alias boundary, page
/// aligned (addresses of one colour are equivalent aliases).
pub fn colour(addr: u64) -> u64 {
    addr & (SHM_COLOUR - 1) & !(PAGE_SIZE - 1)
}

/// The mainline tmpalias `flush_dcache_page` of the ≈2.6.39–3.6 era
/// (`arch/parisc/kernel/cache.c`, read at v3.4), James's proposal as it
/// shipped: the 2.6.14 deferral, the kernel alias flushed and its TLB entry
/// purged (`flush_kernel_dcache_page_addr`), then for every vma mapping the
/// page `flush_tlb_page` ("the TLB is the engine of coherence on parisc")
/// and, when its colour differs from the last address flushed, a flush
/// through the tmpalias window at that colour, reporting `INEQUIVALENT
/// ALIASES` for each colour after the first; no pte read, no break.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tmpalias;

impl FlushStrategy for Tmpalias {
    fn name(&self) -> &str {
        "tmpalias"
    }

    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        let mapping = page_mapping(cpu, pfn)?;
        if deferred(cpu, pfn, mapping.as_deref())? {
            return Ok(());
        }
        cpu.flush_kernel_dcache_page(pfn, "flush_kernel_dcache_page_addr")?;
        let kva = vipt_cache::Machine::kernel_va(pfn << vipt_pte::PAGE_SHIFT);
        cpu.flush_tlb_page(vipt_cache::KERNEL_SPACE, kva, "pdtlb_kernel");
        let Some(mapping) = mapping else {
            return Ok(());
        };
        let mut old_addr: Option<u64> = None;
        walk_mapping(cpu, &mapping, pfn, |cpu, vma, addr| {
            cpu.flush_tlb_page(vma.space, addr, "flush_tlb_page");
            if old_addr.is_none_or(|old| colour(old) != colour(addr)) {
                flush_dcache_page_asm(cpu, pfn, addr)?;
                if let Some(old) = old_addr {
                    report_inequivalent_aliases(cpu, vma, old, addr);
                }
                old_addr = Some(addr);
            }
            Ok(false)
        })
    }
}

/// 6.10's `flush_dcache_folio` for a one-page folio (Anglin 2024,
/// `arch/parisc/kernel/cache.c`): `folio_flush_mapping` (none for a
/// swap-cache page); defer if the mapping is not mapped; flush the kernel
/// alias by purging its TLB entry, then through tmpalias
/// (`flush_kernel_dcache_page_addr`); then walk `i_mmap` and, for each vma
/// whose colour differs from the last *shared* address flushed (or while
/// none was), `__flush_cache_page`: purge that vma's TLB entry, then flush
/// through tmpalias. A vma of the last shared colour is skipped, TLB entry
/// and all; a private vma never becomes the last address; a second colour
/// among shared vmas is reported as `INEQUIVALENT ALIASES`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Modern;

impl FlushStrategy for Modern {
    fn name(&self) -> &str {
        "modern"
    }

    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        // folio_flush_mapping: NULL for a swap-cache folio.
        let mapping = if page_test_bit(cpu, pfn, pg::PG_SWAPCACHE, "folio_flush_mapping")? {
            None
        } else {
            page_mapping(cpu, pfn)?
        };
        if deferred(cpu, pfn, mapping.as_deref())? {
            return Ok(());
        }
        let kva = vipt_cache::Machine::kernel_va(pfn << vipt_pte::PAGE_SHIFT);
        cpu.flush_tlb_page(vipt_cache::KERNEL_SPACE, kva, "pdtlb_kernel");
        flush_dcache_page_asm(cpu, pfn, kva)?;
        let Some(mapping) = mapping else {
            return Ok(());
        };
        let mut old_addr: Option<u64> = None;
        walk_mapping(cpu, &mapping, pfn, |cpu, vma, addr| {
            if old_addr.is_some_and(|old| colour(old) == colour(addr)) {
                return Ok(false);
            }
            // __flush_cache_page: the TLB entry first, then tmpalias.
            cpu.flush_tlb_page(vma.space, addr, "__flush_cache_page");
            flush_dcache_page_asm(cpu, pfn, addr)?;
            if !vma.vm_flags().contains(VmFlags::VM_SHARED) {
                return Ok(false);
            }
            if let Some(old) = old_addr {
                report_inequivalent_aliases(cpu, vma, old, addr);
            }
            old_addr = Some(addr);
            Ok(false)
        })
    }
}

/// Question 6's "obvious fix": `patched-2005` taking the pte lock inside
/// `translation_exists`. It inverts the lock order (the pte lock is above
/// `tree_lock`), which the checker reports against `try_to_unmap_one`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PatchedPteLock;

impl FlushStrategy for PatchedPteLock {
    fn name(&self) -> &str {
        "patched-ptl"
    }

    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        walk_vmas(cpu, pfn, |cpu, vma, addr| {
            let Some(mm) = vma.mm() else { return Ok(false) };
            let ptl = cpu.pte_lockptr(&mm, addr)?;
            let exists = cpu.locked(ptl, "translation_exists", |cpu| {
                let ok = translation_exists(cpu, vma, addr, pfn)?;
                if ok {
                    __flush_cache_page(cpu, vma, addr)?;
                }
                Ok(ok)
            })?;
            Ok(exists)
        })
    }
}
