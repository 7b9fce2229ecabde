/*
 * patched-ptl in the kernel's words: the walk of patched_2005_walk.c under
 * spin_lock(pte_lockptr(vma->vm_mm, pmd)). Behaves as the library's
 * patched-ptl: the same inversions and deadlocks, found in the same
 * schedules; the lock is reported under this file's function names.
 */
#include "vipt_kernel.h"
#include "strategies.h"

static int translation_exists_locked(struct vipt_kcpu *vipt_cpu, struct vm_area_struct *vma,
				     unsigned long addr, unsigned long pfn, int flush)
{
	pgd_t *pgd = pgd_offset(vma->vm_mm, addr);
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t pte;
	int ok;

	if (pgd_none(*pgd))
		return 0;
	pmd = pmd_offset(pgd, addr);
	if (pmd_none(*pmd) || pmd_bad(*pmd))
		return 0;

	ptl = pte_lockptr(vma->vm_mm, pmd);
	spin_lock(ptl);
	pte = *pte_offset_map(pmd, addr);
	ok = (pte_val(pte) & (_PAGE_FLUSH | _PAGE_PRESENT)) && pte_pfn(pte) == pfn;
	if (ok && flush)
		__flush_cache_page(vma, addr);
	pte_unmap(pte);
	spin_unlock(ptl);
	return ok;
}

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_patched_ptl_walk)
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

		if (translation_exists_locked(vipt_cpu, mpnt, addr, page_to_pfn(page), 1))
			break;
	}
	flush_dcache_mmap_unlock(mapping);
}

const struct c_strategy c_strategy_patched_ptl_walk = {
	.name = "patched-ptl",
	.fn = flush_dcache_page_patched_ptl_walk,
	.own_walk = 1,
	.own_names = 1,
};
