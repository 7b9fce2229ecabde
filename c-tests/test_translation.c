/*
 * test_translation.c - both translation_exists versions against the reference,
 * and question 1's coincidence counts against a brute-force walk of every 32-bit
 * swap and file entry done here with the reference macros alone.
 */
#include <stdlib.h>

#include "vipt.h"
#include "ref.h"

static void predicates(void)
{
	uint64_t v, seed = 42, i;

	for (v = 0; v < (1ULL << 24); v++) {
		uint64_t pfn = v >> 12;

		CHECK(vipt_translation_exists_legacy_2005(v, pfn) ==
		      ref32_translation_exists_legacy(v, pfn), "v %#llx", (unsigned long long)v);
		CHECK(vipt_translation_exists_patched_2005(v, pfn) ==
		      ref32_translation_exists_patched(v, pfn), "v %#llx", (unsigned long long)v);
		CHECK(vipt_translation_exists_patched_2005(v, pfn + 1) ==
		      ref32_translation_exists_patched(v, pfn + 1), "v %#llx", (unsigned long long)v);
	}
	for (i = 0; i < (1ULL << 20); i++) {
		uint64_t r = next_random(&seed), pfn = r >> 12;

		if (i & 1)
			pfn ^= next_random(&seed) & 0xff;
		CHECK(vipt_translation_exists_legacy_2005(r, pfn) ==
		      ref64_translation_exists_legacy(r, pfn), "r %#llx", (unsigned long long)r);
		CHECK(vipt_translation_exists_patched_2005(r, pfn) ==
		      ref64_translation_exists_patched(r, pfn), "r %#llx", (unsigned long long)r);
		/* The two-read form: the pfn is taken from the second read. */
		CHECK(vipt_translation_exists_legacy_2005_reads(r | 1, r ^ (1ULL << 12), pfn) ==
		      (((r ^ (1ULL << 12)) >> 12) == pfn), "r %#llx", (unsigned long long)r);
	}
}

static void coincidences_32(void)
{
	const uint64_t pfns = 1ULL << 20;
	uint16_t *swap = calloc(pfns, sizeof(*swap));
	uint16_t *file = calloc(pfns, sizeof(*file));
	uint64_t type, off, pgoff, pfn, patched = 0;
	struct vipt_coincidences c;

	if (!swap || !file) {
		CHECK(0, "%s", "out of memory");
		free(swap);
		free(file);
		return;
	}
	for (type = 0; type < 32; type++) {
		for (off = 0; off < (1ULL << 24); off++) {
			uint64_t v = ref32_swp_entry_pte(type, off);

			swap[v >> 12] += ref32_translation_exists_legacy(v, v >> 12);
			patched += ref32_translation_exists_patched(v, v >> 12);
		}
	}
	for (pgoff = 0; pgoff < (1ULL << 21); pgoff++) {
		uint64_t v = ref32_pgoff_to_pte(pgoff);

		file[v >> 12] += ref32_translation_exists_legacy(v, v >> 12);
		patched += ref32_translation_exists_patched(v, v >> 12);
	}
	CHECK(patched == 0, "patched accepted %llu", (unsigned long long)patched);
	for (pfn = 0; pfn < pfns; pfn += 257) {
		CHECK(vipt_coincidences(VIPT_LAYOUT_32, pfn, &c) == 0, "pfn %#llx",
		      (unsigned long long)pfn);
		CHECK(c.swap == swap[pfn] && c.file == file[pfn] && c.patched_2005 == 0,
		      "pfn %#llx: lib %llu/%llu, brute force %u/%u", (unsigned long long)pfn,
		      (unsigned long long)c.swap, (unsigned long long)c.file, swap[pfn], file[pfn]);
	}
	CHECK(vipt_coincidences(VIPT_LAYOUT_32, 0, &c) == 0 && c.swap == swap[0], "%s", "pfn 0");
	CHECK(vipt_coincidences(VIPT_LAYOUT_32, pfns - 1, &c) == 0 && c.swap == swap[pfns - 1],
	      "%s", "last pfn");
	free(swap);
	free(file);
}

int main(void)
{
	predicates();
	coincidences_32();
	return report("test_translation");
}
