/*
 * test_errors.c - bad input gets a negative errno and a message and changes
 * nothing: bad layouts, values that do not fit, NULL out-pointers, NULL, freed
 * and forged handles, and a panic inside the library.
 */
#include <errno.h>
#include <string.h>

#include "vipt.h"
#include "ref.h"

static int has_message(const char *word)
{
	const char *m = vipt_last_error();

	return m && strstr(m, word) != NULL;
}

static void bad_values(void)
{
	uint64_t out = 0x5a5a;
	struct vipt_pte_class c;
	struct vipt_layout_info info;

	CHECK(vipt_pfn_pte(48, 1, 0, &out) == -EINVAL && has_message("layout"), "%s",
	      vipt_last_error());
	CHECK(vipt_pfn_pte(VIPT_LAYOUT_32, 1, 0x1000, &out) == -EINVAL, "%s", "prot");
	CHECK(vipt_pfn_pte(VIPT_LAYOUT_64, 1ULL << 52, 0, &out) == -ERANGE &&
	      has_message("pfn"), "%s", vipt_last_error());
	CHECK(vipt_swp_entry(VIPT_LAYOUT_64, 1, 1ULL << 56, &out) == -ERANGE, "%s", "offset");
	CHECK(vipt_pgoff_to_pte(VIPT_LAYOUT_64, 1ULL << 53, &out) == -ERANGE, "%s", "pgoff");
	CHECK(vipt_pte_mk(0, 99, &out) == -EINVAL, "%s", "op");
	CHECK(vipt_pxd_test(VIPT_LAYOUT_32, 9, 0) == -EINVAL, "%s", "pxd test");
	CHECK(vipt_coincidences(VIPT_LAYOUT_32, 1ULL << 20, NULL) == -ERANGE, "%s", "pfn");
	CHECK(out == 0x5a5a, "out changed to %#llx", (unsigned long long)out);

	CHECK(vipt_pfn_pte(VIPT_LAYOUT_32, 1, 0, NULL) == -EFAULT, "%s", "NULL out");
	CHECK(vipt_pte_classify(VIPT_LAYOUT_32, 0, NULL) == -EFAULT, "%s", "NULL out");
	CHECK(vipt_layout_info(VIPT_LAYOUT_64, NULL) == -EFAULT, "%s", "NULL out");
	CHECK(vipt_layout_info(VIPT_LAYOUT_64, &info) == 0 && info.levels == 3 &&
	      info.pgdir_shift == 32 && info.ptrs_per_pmd == 2048, "%u", info.levels);
	CHECK(vipt_pte_classify(VIPT_LAYOUT_32, 1ULL << 40, &c) == -ERANGE, "%s", "wide pte");
}

static void bad_handles(void)
{
	struct vipt_pte_cell *cell, *other;
	uint64_t v = 0x77;

	CHECK(vipt_pte_cell_new(0x1200, NULL) == -EFAULT, "%s", "NULL out");
	CHECK(vipt_pte_cell_load(NULL, &v) == -EBADF && has_message("handle"), "%s",
	      vipt_last_error());
	CHECK(vipt_pte_cell_new(0x1200 | VIPT_PAGE_PRESENT, &cell) == 0, "%s", vipt_last_error());
	CHECK(vipt_pte_cell_load(cell, NULL) == -EFAULT, "%s", "NULL out");
	CHECK(vipt_ptep_get_and_clear(cell, NULL) == -EFAULT, "%s", "NULL old");
	/* The failed call changed nothing. */
	CHECK(vipt_pte_cell_load(cell, &v) == 0 && v == (0x1200 | VIPT_PAGE_PRESENT), "v %#llx",
	      (unsigned long long)v);
	CHECK(vipt_pte_cell_free(cell) == 0, "%s", "free");
	CHECK(vipt_pte_cell_free(cell) == -EBADF, "%s", "double free");
	CHECK(vipt_set_pte_at(cell, 0) == -EBADF, "%s", "use after free");
	CHECK(vipt_ptep_test_and_clear_young(cell) == -EBADF, "%s", "use after free");
	/* A new cell in the same slot does not revive the old handle. */
	CHECK(vipt_pte_cell_new(5, &other) == 0, "%s", "new");
	CHECK(vipt_pte_cell_load(cell, &v) == -EBADF, "%s", "stale handle");
	CHECK(vipt_pte_cell_load((struct vipt_pte_cell *)(uintptr_t)0xdeadbeef, &v) == -EBADF,
	      "%s", "forged handle");
	CHECK(vipt_dirty_trap(other, &v) == -ENXIO && has_message("not present"), "%s",
	      vipt_last_error());
	CHECK(vipt_pte_cell_free(other) == 0, "%s", "free");
}

static void panics(void)
{
	CHECK(vipt_selftest_panic(1) == -ENOTRECOVERABLE && has_message("panic"), "%s",
	      vipt_last_error());
	CHECK(vipt_selftest_panic(0) == 0, "%s", "no panic");
}

int main(void)
{
	bad_values();
	bad_handles();
	panics();
	return report("test_errors");
}
