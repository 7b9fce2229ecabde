/*
 * modern: the 6.10-era parisc flush_dcache_page (Anglin 2024).
 *
 * For every vma mapping the page: purge the user TLB entry first (PA8800/PA8900
 * move lines in speculatively through any TLB entry), flush through tmpalias
 * once per colour, and report a shared mapping at a second colour as
 * "INEQUIVALENT ALIASES".
 */
#include "vipt_kernel.h"
#include "strategies.h"

#define colour_of(addr)	((addr) & (SHMLBA - 1) & PAGE_MASK)

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_modern)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset, addr, pgoff;
	unsigned long old_addr = 0, seen[MAX_COLOURS];
	int nseen = 0, have_shared = 0;

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

		/* No TLB entry, no move-in behind the flush's back. */
		flush_tlb_page(mpnt, addr);
		if (!colour_seen(seen, &nseen, colour_of(addr)))
			flush_dcache_page_asm(page_to_phys(page), addr);

		if (mpnt->vm_flags & VM_SHARED) {
			if (!have_shared) {
				old_addr = addr;
				have_shared = 1;
			} else if (colour_of(old_addr) != colour_of(addr)) {
				report_inequivalent_aliases(mpnt, old_addr, addr);
			}
		}
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_strategy_modern = {
	.name = "modern",
	.fn = flush_dcache_page_modern,
};
