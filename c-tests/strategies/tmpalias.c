/*
 * tmpalias: the mainline parisc flush_dcache_page of the ≈2.6.39–3.6 era
 * (arch/parisc/kernel/cache.c, read at v3.4), James's proposal as it shipped.
 *
 * The kernel alias is flushed, then its TLB entry purged
 * (flush_kernel_dcache_page_addr). No user pte is consulted: every vma's TLB
 * entry is purged ("the TLB is the engine of coherence on parisc"), and the
 * page is flushed through this CPU's tmpalias window whenever the vma's
 * colour differs from the last address flushed; each such colour after the
 * first is reported as INEQUIVALENT ALIASES. No break.
 */
#include "vipt_kernel.h"
#include "strategies.h"

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_tmpalias)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset, addr, pgoff, old_addr = 0;

	if (mapping && !mapping_mapped(mapping)) {
		set_bit(PG_dcache_dirty, &page->flags);
		return;
	}

	flush_kernel_dcache_page(page_address(page));
	pdtlb_kernel(page_address(page));

	if (!mapping)
		return;

	pgoff = page_index(page);

	flush_dcache_mmap_lock(mapping);
	vma_prio_tree_foreach(mpnt, &iter, mapping, pgoff, pgoff) {
		offset = (pgoff - mpnt->vm_pgoff) << PAGE_SHIFT;
		addr = mpnt->vm_start + offset;

		flush_tlb_page(mpnt, addr);
		if (old_addr == 0 || (old_addr & (SHMLBA - 1)) != (addr & (SHMLBA - 1))) {
			flush_dcache_page_asm(page_to_phys(page), addr);
			if (old_addr)
				report_inequivalent_aliases(mpnt, old_addr, addr);
			old_addr = addr;
		}
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_strategy_tmpalias = {
	.name = "tmpalias",
	.fn = flush_dcache_page_tmpalias,
};
