/*
 * test_encoding.c - the library's pte encodings against the reference macros, in
 * both layouts: exhaustive over the 32-bit value sets up to 2^24, random beyond.
 */
#include <errno.h>

#include "vipt.h"
#include "ref.h"

static void swap_32(void)
{
	uint64_t off, v;
	int ret;

	/* Every offset the layout holds, each with one type; every type at a few offsets. */
	for (off = 0; off < (1ULL << 24); off++) {
		uint64_t type = off % 32;

		if (type == 0 && off == 0)
			continue;
		ret = vipt_swp_entry(VIPT_LAYOUT_32, type, off, &v);
		CHECK(ret == 0, "ret %d off %#llx", ret, (unsigned long long)off);
		CHECK(v == ref32_swp_entry_pte(type, off), "off %#llx", (unsigned long long)off);
		CHECK(vipt_swp_type(v) == ref32_swp_type(v) && ref32_swp_type(v) == type,
		      "v %#llx", (unsigned long long)v);
		CHECK(vipt_swp_offset(v) == ref32_swp_offset(v) && ref32_swp_offset(v) == off,
		      "v %#llx", (unsigned long long)v);
	}
	/* Past 24 bits the 32-bit kernel's macro silently drops bits; the library refuses. */
	for (off = 1ULL << 24; off < (1ULL << 24) + 4096; off++) {
		v = 0;
		ret = vipt_swp_entry(VIPT_LAYOUT_32, 1, off, &v);
		CHECK(ret == -ERANGE && v == 0, "ret %d", ret);
		CHECK(ref32_swp_offset(ref32_swp_entry_pte(1, off)) != off, "off %#llx",
		      (unsigned long long)off);
	}
	CHECK(vipt_swp_entry(VIPT_LAYOUT_32, 32, 1, &v) == -ERANGE, "%s", "type 32");
	CHECK(vipt_swp_entry(VIPT_LAYOUT_32, 0, 0, &v) == -EINVAL, "%s", "(0,0)");
}

static void file_32(void)
{
	uint64_t pgoff, v;

	for (pgoff = 0; pgoff < (1ULL << 21); pgoff++) {
		CHECK(vipt_pgoff_to_pte(VIPT_LAYOUT_32, pgoff, &v) == 0, "pgoff %#llx",
		      (unsigned long long)pgoff);
		CHECK(v == ref32_pgoff_to_pte(pgoff), "pgoff %#llx", (unsigned long long)pgoff);
		CHECK(vipt_pte_to_pgoff(v) == ref32_pte_to_pgoff(v), "v %#llx",
		      (unsigned long long)v);
		CHECK(vipt_pte_file(v) && ref32_pte_file(v), "v %#llx", (unsigned long long)v);
	}
	CHECK(vipt_pgoff_to_pte(VIPT_LAYOUT_32, 1ULL << 21, &v) == -ERANGE, "%s", "pgoff 2^21");
}

static void accessors_32(void)
{
	uint64_t v, out;
	struct vipt_pte_class c;

	/* Every value below 2^24: all flag combinations with 4096 pfns. */
	for (v = 0; v < (1ULL << 24); v++) {
		CHECK(vipt_pte_none(v) == ref32_pte_none(v), "v %#llx", (unsigned long long)v);
		CHECK(vipt_pte_present(v) == ref32_pte_present(v), "v %#llx", (unsigned long long)v);
		CHECK(vipt_pte_file(v) == ref32_pte_file(v), "v %#llx", (unsigned long long)v);
		CHECK(vipt_pte_pfn(v) == ref32_pte_pfn(v), "v %#llx", (unsigned long long)v);
		CHECK(vipt_pte_modify(v, v & 0xfff, &out) == 0 &&
		      out == ref32_pte_modify(v, v & 0xfff), "v %#llx", (unsigned long long)v);
		CHECK(vipt_pte_classify(VIPT_LAYOUT_32, v, &c) == 0, "v %#llx",
		      (unsigned long long)v);
		if (c.kind == VIPT_PTE_SWAP)
			CHECK(!ref32_pte_none(v) && !ref32_pte_present(v) && !ref32_pte_file(v) &&
			      c.swap_offset == ref32_swp_offset(v), "v %#llx", (unsigned long long)v);
		if (c.kind == VIPT_PTE_FILE)
			CHECK(ref32_pte_file(v) && !ref32_pte_present(v) &&
			      c.pgoff == ref32_pte_to_pgoff(v), "v %#llx", (unsigned long long)v);
		if (c.kind == VIPT_PTE_PRESENT || c.kind == VIPT_PTE_FLUSH)
			CHECK(c.pfn == ref32_pte_pfn(v) && c.flags == (v & 0xfff), "v %#llx",
			      (unsigned long long)v);
	}
	for (v = 0; v < (1ULL << 20); v++) {
		uint64_t prot = (v * 2654435761u) & 0xfff;

		CHECK(vipt_pfn_pte(VIPT_LAYOUT_32, v, prot, &out) == 0 &&
		      out == ref32_pfn_pte(v, prot), "pfn %#llx", (unsigned long long)v);
	}
	CHECK(vipt_pfn_pte(VIPT_LAYOUT_32, 1ULL << 20, 0, &out) == -ERANGE, "%s", "pfn 2^20");
	CHECK(vipt_pte_classify(VIPT_LAYOUT_32, 1ULL << 32, &c) == -ERANGE, "%s", "wide");
}

static void random_64(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL, i, v, out;

	for (i = 0; i < (1ULL << 21); i++) {
		uint64_t r = next_random(&seed);
		uint64_t type = r % 32, off = r >> 8;	/* 56 bits */
		uint64_t pgoff = r >> 11;		/* 53 bits */
		uint64_t pfn = r >> 12;			/* 52 bits */

		v = r;
		CHECK(vipt_pte_none(v) == ref64_pte_none(v), "v %#llx", (unsigned long long)v);
		CHECK(vipt_pte_present(v) == ref64_pte_present(v), "v %#llx", (unsigned long long)v);
		CHECK(vipt_pte_pfn(v) == ref64_pte_pfn(v), "v %#llx", (unsigned long long)v);
		CHECK(vipt_swp_offset(v) == ref64_swp_offset(v), "v %#llx", (unsigned long long)v);
		CHECK(vipt_pte_to_pgoff(v) == ref64_pte_to_pgoff(v), "v %#llx",
		      (unsigned long long)v);
		if (type || off) {
			CHECK(vipt_swp_entry(VIPT_LAYOUT_64, type, off, &out) == 0 &&
			      out == ref64_swp_entry_pte(type, off), "r %#llx", (unsigned long long)r);
		}
		CHECK(vipt_pgoff_to_pte(VIPT_LAYOUT_64, pgoff, &out) == 0 &&
		      out == ref64_pgoff_to_pte(pgoff), "r %#llx", (unsigned long long)r);
		CHECK(vipt_pfn_pte(VIPT_LAYOUT_64, pfn, r & 0xfff, &out) == 0 &&
		      out == ref64_pfn_pte(pfn, r & 0xfff), "r %#llx", (unsigned long long)r);
	}
}

static void directories(void)
{
	uint32_t e;

	for (e = 0; e < (1u << 16); e++) {
		CHECK(vipt_pxd_test(VIPT_LAYOUT_32, VIPT_PMD_NONE, e) == ref32_pmd_none(e), "e %#x", e);
		CHECK(vipt_pxd_test(VIPT_LAYOUT_32, VIPT_PMD_BAD, e) == ref32_pmd_bad(e), "e %#x", e);
		CHECK(vipt_pxd_test(VIPT_LAYOUT_32, VIPT_PGD_NONE, e) == ref32_pgd_none(e), "e %#x", e);
		CHECK(vipt_pxd_test(VIPT_LAYOUT_64, VIPT_PMD_NONE, e) == ref64_pmd_none(e), "e %#x", e);
		CHECK(vipt_pxd_test(VIPT_LAYOUT_64, VIPT_PMD_BAD, e) == ref64_pmd_bad(e), "e %#x", e);
		CHECK(vipt_pxd_test(VIPT_LAYOUT_64, VIPT_PGD_NONE, e) == ref64_pgd_none(e), "e %#x", e);
		CHECK(vipt_pxd_test(VIPT_LAYOUT_64, VIPT_PGD_BAD, e) == ref64_pgd_bad(e), "e %#x", e);
	}
}

int main(void)
{
	swap_32();
	file_32();
	accessors_32();
	random_64();
	directories();
	return report("test_encoding");
}
