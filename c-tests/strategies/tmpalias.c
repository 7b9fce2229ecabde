/*
 * tmpalias: James's proposal in the seed thread (later mainline).
 *
 * No user pte is consulted: the page is flushed through this CPU's tmpalias
 * window, once at the colour of every distinct user address mapping it.
 */
#include "vipt_kernel.h"
#include "strategies.h"

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_tmpalias)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset, addr, pgoff;
	unsigned long seen[MAX_COLOURS];
	int nseen = 0;

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

		if (!colour_seen(seen, &nseen, addr & (SHMLBA - 1) & PAGE_MASK))
			flush_dcache_page_asm(page_to_phys(page), addr);
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_strategy_tmpalias = {
	.name = "tmpalias",
	.fn = flush_dcache_page_tmpalias,
};
