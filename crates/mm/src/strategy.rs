//! `flush_dcache_page` strategies (spec/04-strategies.md) and the kernel helpers
//! they are written with.
//!
//! Every strategy implements [`FlushStrategy`]; user code can implement it too.
//! All share 2.6.14's prologue ([`flush_dcache_page_prologue`]): defer with
//! `PG_dcache_dirty` when the page's mapping is not mapped, else flush the
//! kernel alias. They differ in how they reach the user aliases.
//!
//! The caller of `flush_dcache_page` (the `write()` path) declares the oracle's
//! coherence point after it returns, so a strategy cannot declare itself right.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use vipt_cache::SHM_COLOUR;
use vipt_pte::{legacy_2005_reads, patched_2005, PAGE_SIZE};

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
    if let Some(m) = &mapping {
        if !mapping_mapped(cpu, m) {
            set_page_dcache_dirty(cpu, pfn)?;
            return Ok(None);
        }
    }
    cpu.flush_kernel_dcache_page(pfn, "flush_kernel_dcache_page")?;
    Ok(mapping)
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
    cpu.world()
        .stats
        .translation_checks
        .fetch_add(1, Ordering::Relaxed);
    let Some(mm) = vma.mm() else { return Ok(false) };
    let check = cpu.pte_read(&mm, addr, "translation_exists")?;
    if check.raw() == 0 {
        return Ok(false);
    }
    let compare = cpu.pte_read(&mm, addr, "flush_dcache_page")?;
    Ok(legacy_2005_reads(check, compare, pfn))
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

/// The walk every strategy makes: the 2.6.14 prologue (which may finish the
/// job), then `body(cpu, vma, addr)` for each vma mapping the page, inside
/// `flush_dcache_mmap_lock`, until `body` says stop.
fn walk_vmas(
    cpu: &mut Cpu,
    pfn: u64,
    mut body: impl FnMut(&mut Cpu, &Arc<Vma>, u64) -> Result<bool, MmError>,
) -> Result<(), MmError> {
    let Some(mapping) = flush_dcache_page_prologue(cpu, pfn)? else {
        return Ok(());
    };
    let pgoff = page_index(cpu, pfn)?;
    flush_dcache_mmap_lock(cpu, &mapping);
    let r = (|| {
        for vma in vmas_mapping(cpu, &mapping, pgoff)? {
            let Some(addr) = vma.address_of(pgoff) else {
                continue;
            };
            if body(cpu, &vma, addr)? {
                break;
            }
        }
        Ok(())
    })();
    flush_dcache_mmap_unlock(cpu, &mapping)?;
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

/// James's proposal: flush through the tmpalias window at each distinct colour,
/// no user pte needed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tmpalias;

impl FlushStrategy for Tmpalias {
    fn name(&self) -> &str {
        "tmpalias"
    }

    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        let mut done = BTreeSet::new();
        walk_vmas(cpu, pfn, |cpu, _, addr| {
            if done.insert(colour(addr)) {
                flush_dcache_page_asm(cpu, pfn, addr)?;
            }
            Ok(false)
        })
    }
}

/// The 6.10-era code (Anglin 2024): purge every user TLB entry, flush through
/// tmpalias once per colour, report inequivalent aliases among shared vmas.
#[derive(Debug, Clone, Copy, Default)]
pub struct Modern;

impl FlushStrategy for Modern {
    fn name(&self) -> &str {
        "modern"
    }

    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
        let mut done = BTreeSet::new();
        let mut first_shared: Option<u64> = None;
        walk_vmas(cpu, pfn, |cpu, vma, addr| {
            // The TLB is the engine of coherence: no entry, no move-in.
            cpu.flush_tlb_page(vma.space, addr, "flush_tlb_page");
            if done.insert(colour(addr)) {
                flush_dcache_page_asm(cpu, pfn, addr)?;
            }
            if vma.vm_flags.contains(VmFlags::VM_SHARED) {
                match first_shared {
                    None => first_shared = Some(addr),
                    Some(old) if colour(old) != colour(addr) => {
                        report_inequivalent_aliases(cpu, vma, old, addr);
                    }
                    Some(_) => {}
                }
            }
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
