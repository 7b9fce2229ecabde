/*
 * legacy-2005: parisc flush_dcache_page as 2.6.14 shipped it.
 *
 * Walk i_mmap for the vmas mapping the page; the first whose pte is non-zero
 * (the pre-patch translation_exists, which lets swap and file ptes through)
 * and whose pte_pfn, read a second time, is the page's gets the flush, and the
 * walk stops: one congruent flush is taken to serve every user mapping.
 */
#include "vipt_kernel.h"
#include "strategies.h"

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_legacy_2005)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset, addr, pgoff;

	/* Not mapped into user space yet: update_mmu_cache will flush. */
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

		if (!translation_exists_2614(mpnt, addr, page_to_pfn(page)))
			continue;

		__flush_cache_page(mpnt, addr);
		break;
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_strategy_legacy_2005 = {
	.name = "legacy-2005",
	.fn = flush_dcache_page_legacy_2005,
};
