/*
 * patched-ptl: question 6's "obvious fix" - patched-2005 taking the pte lock
 * around translation_exists and the flush, so the pte cannot change under it.
 *
 * The pte lock is above mapping->tree_lock (flush_dcache_mmap_lock) in the
 * lock order, and try_to_unmap_one takes tree_lock (set_page_dirty) under the
 * pte lock: the lock-order checker reports the inversion, and some schedules
 * deadlock.
 */
#include "vipt_kernel.h"
#include "strategies.h"

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_patched_ptl)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset, addr, pgoff;
	int found;

	if (mapping && !mapping_mapped(mapping)) {
		set_bit(PG_dcache_dirty, &page->flags);
		return;
	}

	flush_kernel_dcache_page(page_address(page));

	if (!mapping)
		return;

	pgoff = page_index(page);

	flush_dcache_mmap_lock(mapping);
	vma_prio_tree_foreach(mpnt, &iter, mapping, pgoff, pgoff) {
		offset = (pgoff - mpnt->vm_pgoff) << PAGE_SHIFT;
		addr = mpnt->vm_start + offset;

		pte_lock(mpnt, addr);
		found = translation_exists(mpnt, addr, page_to_pfn(page));
		if (found)
			__flush_cache_page(mpnt, addr);
		pte_unlock(mpnt, addr);
		if (found)
			break;
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_strategy_patched_ptl = {
	.name = "patched-ptl",
	.fn = flush_dcache_page_patched_ptl,
};
