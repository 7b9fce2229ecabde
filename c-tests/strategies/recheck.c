/*
 * recheck: Hugh's second suggestion in the seed thread.
 *
 * As patched-2005, then look at the pte again after the flush: if it no longer
 * maps the page, the flush may have been nullified, so go on to the next vma
 * instead of stopping.
 */
#include "vipt_kernel.h"
#include "strategies.h"

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_recheck)
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

		/* Still mapped after the flush: it went through. */
		if (translation_exists(mpnt, addr, page_to_pfn(page)))
			break;
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_strategy_recheck = {
	.name = "recheck",
	.fn = flush_dcache_page_recheck,
};
