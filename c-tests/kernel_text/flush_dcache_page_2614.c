/*
 * A flush_dcache_page written as 2.6.14's arch/parisc/kernel/cache.c writes it,
 * with every construct that text uses (pgoff_t, page->index shifted by
 * PAGE_CACHE_SHIFT - PAGE_SHIFT, vma_prio_tree_foreach over &mapping->i_mmap,
 * the two-argument translation_exists returning a pte_t *, pte_pfn(*pte)),
 * compiled unchanged: only the function's header line is the wrapper's. Our
 * own text, not the kernel's: test_strategies.c runs it against legacy-2005.
 */
#include "vipt_kernel.h"
#include "kernel_text.h"

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_text_2614)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset;
	unsigned long addr;
	pgoff_t pgoff;
	pte_t *pte;
	unsigned long pfn = page_to_pfn(page);

	/* No user mapping yet: leave the flush to update_mmu_cache. */
	if (mapping && !mapping_mapped(mapping)) {
		set_bit(PG_dcache_dirty, &page->flags);
		return;
	}

	flush_kernel_dcache_page(page_address(page));

	if (!mapping)
		return;

	pgoff = page->index << (PAGE_CACHE_SHIFT - PAGE_SHIFT);

	/* Every mapping of the file is congruent (arch_get_unmapped_area sees to
	 * it), so one flush through one of them serves them all. */
	flush_dcache_mmap_lock(mapping);
	vma_prio_tree_foreach(mpnt, &iter, &mapping->i_mmap, pgoff, pgoff) {
		offset = (pgoff - mpnt->vm_pgoff) << PAGE_SHIFT;
		addr = mpnt->vm_start + offset;

		/* A flush through an address with no translation is nullified,
		 * so look for one first. */
		if (!(pte = translation_exists(mpnt, addr)))
			continue;

		/* A private mapping may have COWed its own copy of this page. */
		if (pte_pfn(*pte) != pfn)
			continue;

		__flush_cache_page(mpnt, addr);

		break;
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_text_2614 = {
	.name = "legacy-2005",
	.text = "2.6.14",
	.fn = flush_dcache_page_text_2614,
};
