/*
 * test_kernel_names.c - code written with the kernel's names through
 * vipt_kernel.h, compared with the reference macros. Built twice: as for the
 * 32-bit kernel, and with CONFIG_64BIT.
 */
#include "vipt_kernel.h"
#include "ref.h"

#ifdef CONFIG_64BIT
#define REF(name)	ref64_##name
#else
#define REF(name)	ref32_##name
#endif

/* The seed's question, asked with kernel names: does a swap pte pass? */
static int legacy_says_translation(pte_t pte, unsigned long pfn)
{
	return translation_exists_legacy_2005(pte, pfn);
}

int main(void)
{
	uint64_t seed = 2005, i;

	for (i = 0; i < (1u << 20); i++) {
		uint64_t r = next_random(&seed);
		unsigned long type = r % 32;
		unsigned long offset = (r >> 5) & ((1ULL << (BITS_PER_LONG - 8)) - 1);
		unsigned long pgoff = (r >> 3) & ((1ULL << PTE_FILE_MAX_BITS) - 1);
		unsigned long pfn = (r >> 7) & ((1ULL << (BITS_PER_LONG - PAGE_SHIFT)) - 1);
		pte_t pte, swp, file;
		swp_entry_t e;

		pte = pfn_pte(pfn, PAGE_SHARED);
		CHECK(pte_val(pte) == REF(pfn_pte)(pfn, VIPT_PAGE_SHARED), "pfn %#lx", pfn);
		CHECK(pte_present(pte) && !pte_none(pte) && pte_pfn(pte) == pfn, "pfn %#lx", pfn);
		CHECK(pte_val(pte_mkdirty(pte)) == (pte_val(pte) | _PAGE_DIRTY), "pfn %#lx", pfn);
		CHECK(!pte_write(pte_wrprotect(pte)) && pte_young(pte_mkyoung(pte_mkold(pte))),
		      "pfn %#lx", pfn);
		CHECK(pte_val(pte_modify(pte, PAGE_READONLY)) ==
		      REF(pte_modify)(pte_val(pte), VIPT_PAGE_READONLY), "pfn %#lx", pfn);

		if (type == 0 && offset == 0)
			offset = 1;
		e = __swp_entry(type, offset);
		swp = __swp_entry_to_pte(e);
		CHECK(pte_val(swp) == REF(swp_entry_pte)(type, offset), "off %#lx", offset);
		CHECK(__swp_type(__pte_to_swp_entry(swp)) == type &&
		      __swp_offset(__pte_to_swp_entry(swp)) == offset, "off %#lx", offset);
		CHECK(!pte_none(swp) && !pte_present(swp) && !pte_file(swp), "off %#lx", offset);
		CHECK(legacy_says_translation(swp, pte_pfn(swp)) &&
		      !translation_exists_patched_2005(swp, pte_pfn(swp)), "off %#lx", offset);

		file = pgoff_to_pte(pgoff);
		CHECK(pte_val(file) == REF(pgoff_to_pte)(pgoff) && pte_to_pgoff(file) == pgoff,
		      "pgoff %#lx", pgoff);
		CHECK(pte_file(file) && !pte_present(file), "pgoff %#lx", pgoff);
	}
#ifdef CONFIG_64BIT
	return report("test_kernel_names (CONFIG_64BIT)");
#else
	return report("test_kernel_names (32-bit)");
#endif
}
