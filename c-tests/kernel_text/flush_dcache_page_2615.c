/*
 * A flush_dcache_page written as 2.6.15's arch/parisc/kernel/cache.c writes it
 * (after Hugh Dickins's translation_exists(vma, addr, pfn) of October 2005),
 * compiled unchanged but for the wrapper's header line. Our own text, not
 * the kernel's: test_strategies.c runs it against patched-2005.
 */
#include "vipt_kernel.h"
#include "kernel_text.h"

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_text_2615)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset;
	unsigned long addr;
	pgoff_t pgoff;
	unsigned long pfn = page_to_pfn(page);

	if (mapping && !mapping_mapped(mapping)) {
		set_bit(PG_dcache_dirty, &page->flags);
		return;
	}

	flush_kernel_dcache_page(page_address(page));

	if (!mapping)
		return;

	pgoff = page->index << (PAGE_CACHE_SHIFT - PAGE_SHIFT);

	flush_dcache_mmap_lock(mapping);
	vma_prio_tree_foreach(mpnt, &iter, &mapping->i_mmap, pgoff, pgoff) {
		offset = (pgoff - mpnt->vm_pgoff) << PAGE_SHIFT;
		addr = mpnt->vm_start + offset;

		/* Present (or flush-only) and this very page, in one look. */
		if (!translation_exists(mpnt, addr, pfn))
			continue;

		__flush_cache_page(mpnt, addr);

		break;
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_text_2615 = {
	.name = "patched-2005",
	.text = "2.6.15",
	.fn = flush_dcache_page_text_2615,
};
