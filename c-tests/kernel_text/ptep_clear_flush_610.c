/*
 * 6.10's arch hooks of Anglin's 2024 fix ("parisc: Try to fix random
 * segmentation faults in package builds", arch/parisc/kernel/cache.c),
 * written in the kernel's style with the kernel's signatures inside
 * VIPT_HOOK, compiled unchanged but for the header line: ptep_clear_flush
 * (clear, then flush the old pfn while it is known), flush_cache_page and
 * __flush_cache_page (purge the user TLB entry, then flush through tmpalias).
 * Our own texts, not the kernel's: test_strategies.c sets each over the 6.10
 * profile and checks every scenario explores exactly as with the built-in.
 */
#include "vipt_kernel.h"
#include "kernel_text.h"

VIPT_HOOK(ptep_clear_flush, ptep_clear_flush_text_610)(struct vm_area_struct *vma,
		unsigned long addr, pte_t *ptep)
{
	struct mm_struct *mm = (vma)->vm_mm;
	pte_t pte = ptep_get_and_clear(mm, addr, ptep);
	unsigned long pfn = pte_pfn(pte);

	/* Once the pte is gone nothing finds the page to flush it: now. */
	if (pfn_valid(pfn))
		__flush_cache_page(vma, addr, PFN_PHYS(pfn));
	else if (pte_accessible(mm, pte))
		flush_tlb_page(vma, addr);

	return pte;
}

VIPT_HOOK(__flush_cache_page, __flush_cache_page_text_610)(struct vm_area_struct *vma,
		unsigned long vmaddr, unsigned long physaddr)
{
	if (!static_branch_likely(&parisc_has_cache))
		return;

	/* No translation left to move the lines back in behind the flush. */
	flush_tlb_page(vma, vmaddr);

	preempt_disable();
	flush_dcache_page_asm(physaddr, vmaddr);
	if (vma->vm_flags & VM_EXEC)
		flush_icache_page_asm(physaddr, vmaddr);
	preempt_enable();
}

VIPT_HOOK(flush_cache_page, flush_cache_page_text_610)(struct vm_area_struct *vma,
		unsigned long vmaddr, unsigned long pfn)
{
	__flush_cache_page(vma, vmaddr, PFN_PHYS(pfn));
}

const struct c_hook c_text_hooks[] = {
	{ VIPT_KERNEL_6_10, "ptep_clear_flush", ptep_clear_flush_text_610 },
	{ VIPT_KERNEL_6_10, "__flush_cache_page", __flush_cache_page_text_610 },
	{ VIPT_KERNEL_6_10, "flush_cache_page", flush_cache_page_text_610 },
};
const int c_text_hook_count = sizeof(c_text_hooks) / sizeof(c_text_hooks[0]);
