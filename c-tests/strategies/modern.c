/*
 * modern: 6.10's parisc flush_dcache_folio for a one-page folio (Anglin
 * 2024, arch/parisc/kernel/cache.c).
 *
 * folio_flush_mapping is NULL for a swap-cache folio. The kernel alias is
 * flushed by purging its TLB entry, then through tmpalias
 * (flush_kernel_dcache_page_addr). Each vma whose colour differs from the
 * last shared address flushed (or every vma while none was) gets
 * __flush_cache_page: its TLB entry purged, then the tmpalias flush. Private
 * vmas never become the last address; a second colour among shared ones is
 * reported as INEQUIVALENT ALIASES.
 */
#include "vipt_kernel.h"
#include "strategies.h"

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_modern)
{
	struct address_space *mapping;
	struct vm_area_struct *vma;
	struct prio_tree_iter iter;
	unsigned long offset, addr, pgoff, old_addr = 0;

	/* folio_flush_mapping */
	mapping = test_bit(PG_swapcache, &page->flags) ? NULL : page_mapping(page);

	if (mapping && !mapping_mapped(mapping)) {
		set_bit(PG_dcache_dirty, &page->flags);
		return;
	}

	pdtlb_kernel(page_address(page));
	flush_dcache_page_asm_kernel(page_address(page));

	if (!mapping)
		return;

	pgoff = page_index(page);

	flush_dcache_mmap_lock(mapping);
	vma_prio_tree_foreach(vma, &iter, mapping, pgoff, pgoff) {
		offset = (pgoff - vma->vm_pgoff) << PAGE_SHIFT;
		addr = vma->vm_start + offset;

		if (old_addr == 0 || (old_addr & (SHM_COLOUR - 1)) != (addr & (SHM_COLOUR - 1))) {
			/* __flush_cache_page */
			flush_tlb_page(vma, addr);
			flush_dcache_page_asm(page_to_phys(page), addr);
			if (!(vma->vm_flags & VM_SHARED))
				continue;
			if (old_addr)
				report_inequivalent_aliases(vma, old_addr, addr);
			old_addr = addr;
		}
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_strategy_modern = {
	.name = "modern",
	.fn = flush_dcache_page_modern,
};
