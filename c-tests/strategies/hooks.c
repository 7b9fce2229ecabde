/*
 * Built-in parisc arch hooks re-written in kernel-style C, for
 * test_strategies.c to register over the profile they mirror (so the patched
 * profile must behave exactly as the built-in one) and compare with
 * crates/mm/src/arch/parisc.rs.
 */
#include "vipt_kernel.h"
#include "strategies.h"

/* asm-generic/pgtable.h (2.6.14 to 3.x): clear, then purge. */
VIPT_ARCH_HOOK(ptep_clear_flush_generic)
{
	pte_t old = ptep_get_and_clear(vma->vm_mm, addr, ptep);

	flush_tlb_page(vma, addr);
	return pte_val(old);
}

/* 3.x flush_cache_page: purge the user entry, then flush the pfn at the user
 * colour through tmpalias. */
VIPT_ARCH_HOOK(flush_cache_page_3x)
{
	flush_tlb_page(vma, addr);
	flush_dcache_page_asm(page_to_phys(page), addr);
	return 0;
}

/* 6.10 ptep_clear_flush (Anglin 2024): clear, then __flush_cache_page on the
 * old pfn (purge, tmpalias flush) while it is known; for a pfn that is not
 * valid, the purge alone (pte_accessible is the generic 1 on parisc). */
VIPT_ARCH_HOOK(ptep_clear_flush_610)
{
	pte_t old = ptep_get_and_clear(vma->vm_mm, addr, ptep);
	unsigned long pfn = pte_pfn(old);

	if (pfn_valid(pfn)) {
		flush_tlb_page(vma, addr);
		flush_dcache_page_asm(PFN_PHYS(pfn), addr);
	} else {
		flush_tlb_page(vma, addr);
	}
	return pte_val(old);
}

const struct c_hook c_hooks[] = {
	{ VIPT_KERNEL_2_6_14, "ptep_clear_flush", ptep_clear_flush_generic },
	{ VIPT_KERNEL_2_6_15, "ptep_clear_flush", ptep_clear_flush_generic },
	{ VIPT_KERNEL_3X, "ptep_clear_flush", ptep_clear_flush_generic },
	{ VIPT_KERNEL_3X, "flush_cache_page", flush_cache_page_3x },
	{ VIPT_KERNEL_6_10, "ptep_clear_flush", ptep_clear_flush_610 },
};
const int c_hook_count = sizeof(c_hooks) / sizeof(c_hooks[0]);
