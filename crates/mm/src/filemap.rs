//! The page cache (`mm/filemap.c`): finding or reading a file page, `write()`
//! into it through the kernel alias followed by `flush_dcache_page`, removal
//! and truncation.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use vipt_cache::Owner;
use vipt_pte::PAGE_SHIFT;

use crate::cpu::Cpu;
use crate::error::{invalid, MmError};
use crate::mapping::AddressSpace;
use crate::page::{pg, PageMapping};
use crate::rmap::put_page;
use crate::sched::Object;
use crate::world::file_contents;

/// `find_get_page` under `read_lock_irq(tree_lock)`, else `page_cache_read`: a
/// new frame filled from the file and added under `write_lock_irq(tree_lock)`.
/// Returns the pfn with a reference taken for the caller.
pub fn find_or_read_page(
    cpu: &mut Cpu,
    mapping: &Arc<AddressSpace>,
    index: u64,
) -> Result<u64, MmError> {
    let w = cpu.world().clone();
    if index >= mapping.size_pages() {
        return Err(MmError::Segv {
            va: index << PAGE_SHIFT,
            write: false,
        });
    }
    let found = cpu.read_locked(&mapping.tree_lock, "find_get_page", |cpu| {
        cpu.structure_op(Object::Mapping(mapping.id), false, "radix_tree_lookup");
        let pfn = mapping.cached_pfn(index);
        if let Some(pfn) = pfn {
            w.page(pfn)?.get();
        }
        Ok(pfn)
    })?;
    if let Some(pfn) = found {
        return Ok(pfn);
    }
    let pfn = w.alloc_frame(Owner::PageCache {
        file: mapping.id,
        index,
    })?;
    let data = mapping
        .backing
        .lock()
        .get(&index)
        .cloned()
        .unwrap_or_else(|| file_contents(mapping.id, index));
    cpu.init_page(pfn, &data, "readpage")?;
    let page = w.page(pfn)?;
    page.set_mapping(PageMapping::File(mapping.clone()));
    page.set_index(index);
    page.set_bit(pg::PG_UPTODATE);
    let raced = cpu.write_locked_irq(&mapping.tree_lock, "add_to_page_cache", |cpu| {
        cpu.structure_op(Object::Mapping(mapping.id), true, "radix_tree_insert");
        let mut pages = mapping.pages_lock(true);
        if let Some(&other) = pages.get(&index) {
            w.page(other)?.get();
            return Ok(Some(other));
        }
        pages.insert(index, pfn);
        Ok(None)
    })?;
    match raced {
        // Someone else read it first: use theirs.
        Some(other) => {
            put_page(cpu, pfn)?;
            Ok(other)
        }
        None => {
            // The page cache's reference is the allocation's; one more for the caller.
            page.get();
            Ok(pfn)
        }
    }
}

/// `flush_dcache_page(page)`: the arch's hook (the world's strategy in every
/// built-in profile), counted in the world's statistics.
pub fn flush_dcache_page(cpu: &mut Cpu, pfn: u64) -> Result<(), MmError> {
    cpu.world()
        .stats
        .flush_dcache_page_calls
        .fetch_add(1, Ordering::Relaxed);
    let before = cpu.world().page(pfn)?.test_bit(pg::PG_DCACHE_DIRTY);
    cpu.arch().flush_dcache_page(cpu, pfn)?;
    if !before && cpu.world().page(pfn)?.test_bit(pg::PG_DCACHE_DIRTY) {
        cpu.world().stats.deferred.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// `write(fd, buf, PAGE_SIZE)` at file page `index` (`generic_file_write`):
/// under the inode's `i_sem` (so never beside a truncate), the page is found
/// or read and locked, (from 2.6.24, [`crate::MmShape::write_flushes_first`]:
/// `flush_dcache_page` if a shared writable mapping maps the file,) `value`
/// is stored at the start of every cache line of it through the kernel
/// alias, then `flush_dcache_page`, then the
/// oracle's coherence point (the write and its flush have completed), then
/// `set_page_dirty` and `unlock_page`.
pub fn sys_write(
    cpu: &mut Cpu,
    mapping: &Arc<AddressSpace>,
    index: u64,
    value: u64,
) -> Result<u64, MmError> {
    if mapping.swapper {
        return invalid("the swapper space cannot be written");
    }
    cpu.down(&mapping.i_sem, "generic_file_write");
    let r = generic_file_buffered_write(cpu, mapping, index, value);
    cpu.spin_unlock(&mapping.i_sem, "generic_file_write")?;
    r
}

/// `generic_file_buffered_write` of one page (`i_sem` held).
fn generic_file_buffered_write(
    cpu: &mut Cpu,
    mapping: &Arc<AddressSpace>,
    index: u64,
    value: u64,
) -> Result<u64, MmError> {
    let w = cpu.world().clone();
    if index >= mapping.size_pages() {
        // Extend the file, as a write past the end does.
        mapping.audit(true);
        mapping.size.store(index + 1, Ordering::SeqCst);
    }
    let pfn = find_or_read_page(cpu, mapping, index)?;
    let page = w.page(pfn)?;
    cpu.spin_lock(&page.lock, "lock_page");
    page.set_bit(pg::PG_LOCKED);
    let r = (|| {
        if w.config.kernel.mm_shape().write_flushes_first {
            // generic_perform_write: the user's stores through a shared
            // mapping must be in memory before the copy lands on them.
            cpu.structure_op(
                Object::Mapping(mapping.id),
                false,
                "mapping_writably_mapped",
            );
            if mapping.mapping_writably_mapped() {
                flush_dcache_page(cpu, pfn)?;
            }
        }
        let line = w.config.hw.geometry.line_size;
        let mut off = 0;
        while off < vipt_pte::PAGE_SIZE {
            cpu.kernel_store(
                (pfn << PAGE_SHIFT) + off,
                8,
                value,
                "filemap_copy_from_user",
            )?;
            off += line;
        }
        flush_dcache_page(cpu, pfn)?;
        cpu.coherence_point(pfn, "generic_file_buffered_write")?;
        crate::rmap::set_page_dirty(cpu, pfn)
    })();
    page.clear_bit(pg::PG_LOCKED);
    cpu.spin_unlock(&page.lock, "unlock_page")?;
    put_page(cpu, pfn)?;
    r.map(|_| pfn)
}

/// `remove_from_page_cache` under `write_lock_irq(tree_lock)`, dropping the
/// page cache's reference.
pub fn remove_from_page_cache(
    cpu: &mut Cpu,
    mapping: &Arc<AddressSpace>,
    pfn: u64,
) -> Result<(), MmError> {
    let w = cpu.world().clone();
    let idx = w.page(pfn)?.index();
    cpu.write_locked_irq(&mapping.tree_lock, "remove_from_page_cache", |cpu| {
        cpu.structure_op(Object::Mapping(mapping.id), true, "radix_tree_delete");
        mapping.pages_lock(true).remove(&idx);
        Ok(())
    })?;
    put_page(cpu, pfn)
}

/// `truncate_inode_pages(mapping, pages << PAGE_SHIFT)`: every cached page from
/// `pages` on is locked, cleaned and removed (`truncate_complete_page`; a
/// page a racing fault mapped meanwhile is not checked for, as in 2.6.14:
/// `do_no_page`'s `truncate_count` retry keeps faults from mapping it).
pub fn truncate_inode_pages(
    cpu: &mut Cpu,
    mapping: &Arc<AddressSpace>,
    pages: u64,
) -> Result<(), MmError> {
    let w = cpu.world().clone();
    let victims: Vec<(u64, u64)> = mapping
        .pages
        .lock()
        .range(pages..)
        .map(|(&i, &p)| (i, p))
        .collect();
    for (index, pfn) in victims {
        let page = w.page(pfn)?;
        cpu.spin_lock(&page.lock, "truncate_inode_pages");
        page.set_bit(pg::PG_LOCKED);
        page.clear_bit(pg::PG_DIRTY);
        mapping.backing.lock().remove(&index);
        let r = remove_from_page_cache(cpu, mapping, pfn);
        page.clear_bit(pg::PG_LOCKED);
        cpu.spin_unlock(&page.lock, "unlock_page")?;
        r?;
    }
    Ok(())
}
