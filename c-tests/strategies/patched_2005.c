/*
 * patched-2005: the October 2005 patch (2.6.15).
 *
 * As 2.6.14, but translation_exists(vma, addr, pfn) reads the pte once and
 * wants _PAGE_PRESENT or _PAGE_FLUSH as well as the page's pfn, so coincidental
 * swap and file ptes no longer stop the walk.
 */
#include "vipt_kernel.h"
#include "strategies.h"

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_patched_2005)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset, addr, pgoff;

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

		if (!translation_exists(mpnt, addr, page_to_pfn(page)))
			continue;

		__flush_cache_page(mpnt, addr);
		break;
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_strategy_patched_2005 = {
	.name = "patched-2005",
	.fn = flush_dcache_page_patched_2005,
};
