/*
 * patched-2005, with translation_exists written out as 2.6.15 has it: the
 * lockless pgd_offset / pmd_offset / pte_offset_map walk, one read of the pte,
 * PRESENT or FLUSH and the pfn required. It must behave exactly as the
 * library's translation_exists (only the translation_checks counter, which
 * the library's helper keeps, counts fewer: the racers' checks alone).
 */
#include "vipt_kernel.h"
#include "strategies.h"

static int translation_exists_walk(struct vipt_kcpu *vipt_cpu, struct vm_area_struct *vma,
				   unsigned long addr, unsigned long pfn)
{
	pgd_t *pgd = pgd_offset(vma->vm_mm, addr);
	pmd_t *pmd;
	pte_t pte;

	if (pgd_none(*pgd))
		return 0;

	pmd = pmd_offset(pgd, addr);
	if (pmd_none(*pmd) || pmd_bad(*pmd))
		return 0;

	pte = *pte_offset_map(pmd, addr);
	pte_unmap(pte);

	/* Filter out coincidental file entries and swap entries. */
	if (!(pte_val(pte) & (_PAGE_FLUSH | _PAGE_PRESENT)))
		return 0;

	return pte_pfn(pte) == pfn;
}

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_patched_2005_walk)
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

		if (!translation_exists_walk(vipt_cpu, mpnt, addr, page_to_pfn(page)))
			continue;

		__flush_cache_page(mpnt, addr);
		break;
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_strategy_patched_2005_walk = {
	.name = "patched-2005",
	.fn = flush_dcache_page_patched_2005_walk,
	.own_walk = 1,
};
