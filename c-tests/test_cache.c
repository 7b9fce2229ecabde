/*
 * test_cache.c - the VIPT cache driven from C, written the way arch/parisc
 * code would drive it: demonstration (1), a kernel write stale through a
 * non-equivalent user alias until both aliases are flushed, and demonstration
 * (3), a flush through a user address with no translation nullified while the
 * stale line survives, and made to work by a flush-only (_PAGE_FLUSH) pte.
 */
#include <errno.h>
#include <string.h>

#include "vipt.h"
#include "ref.h"

#define USER_SPACE	1
#define UVA		0x40003000UL	/* colour 3 */
#define PFN		5UL		/* kernel alias colour 5 */
#define KVA		(VIPT_PAGE_OFFSET + (PFN << 12))
#define OLD		0x1111111111111111ULL
#define NEW		0x2222222222222222ULL

static struct vipt_hw *machine(void)
{
	struct vipt_hw_config cfg;
	struct vipt_hw *hw = NULL;
	uint64_t pte;

	CHECK(vipt_hw_config_default(&cfg) == 0, "%s", vipt_last_error());
	CHECK(cfg.geometry.line_size == 32 && cfg.geometry.alias_boundary == VIPT_SHM_COLOUR,
	      "line %llu", (unsigned long long)cfg.geometry.line_size);
	CHECK(vipt_hw_new(&cfg, &hw) == 0, "%s", vipt_last_error());
	CHECK(vipt_hw_fill_page(hw, PFN, 0x11) == 0, "%s", vipt_last_error());
	CHECK(vipt_pfn_pte(VIPT_LAYOUT_32, PFN, VIPT_PAGE_SHARED, &pte) == 0, "%s", "pfn_pte");
	CHECK(vipt_hw_set_pte(hw, USER_SPACE, UVA, pte) == 0, "%s", vipt_last_error());
	return hw;
}

/* The user has read the page; write() then fills it through the kernel alias. */
static void user_reads_then_kernel_writes(struct vipt_hw *hw)
{
	uint64_t v = 0, off;

	CHECK(vipt_hw_load(hw, 1, VIPT_AGENT_USER, USER_SPACE, UVA, 8, &v) == 0 && v == OLD,
	      "v %#llx", (unsigned long long)v);
	for (off = 0; off < 4096; off += 8)
		CHECK(vipt_hw_store(hw, 0, VIPT_AGENT_KERNEL, VIPT_KERNEL_SPACE, KVA + off, 8,
				    NEW) == 0, "%s", vipt_last_error());
}

static uint64_t user_load(struct vipt_hw *hw)
{
	uint64_t v = 0;

	CHECK(vipt_hw_load(hw, 1, VIPT_AGENT_USER, USER_SPACE, UVA, 8, &v) == 0, "%s",
	      vipt_last_error());
	return v;
}

static void demo1(void)
{
	struct vipt_hw *hw = machine();
	struct vipt_flush_summary s;
	struct vipt_oracle_counts o;
	struct vipt_report r;
	char text[256];

	user_reads_then_kernel_writes(hw);
	CHECK(user_load(hw) == OLD, "%s", "stale before any flush");
	CHECK(vipt_hw_oracle(hw, &o) == 0 && o.stale_reads == 1 && o.violations == 0,
	      "stale %llu", (unsigned long long)o.stale_reads);
	CHECK(vipt_hw_report(hw, 0, &r) == 0 && r.kind == VIPT_REPORT_STALE_READ &&
	      r.expected == NEW && r.got == OLD && !r.violation && r.pa == PFN << 12,
	      "kind %u", r.kind);
	CHECK(vipt_hw_report_text(hw, 0, text, sizeof(text)) > 0 && strstr(text, "returned"),
	      "%s", text);

	/* flush_kernel_dcache_page, then the user alias. */
	CHECK(vipt_hw_flush_page(hw, 0, VIPT_KERNEL_SPACE, KVA, &s) == 0 &&
	      s.issued == 128 && s.written_back == 128, "wb %llu", (unsigned long long)s.written_back);
	CHECK(vipt_hw_flush_page(hw, 0, USER_SPACE, UVA, &s) == 0 && s.nullified == 0 &&
	      s.hit == 1, "hit %llu", (unsigned long long)s.hit);
	CHECK(vipt_hw_coherence_point(hw, 0, PFN) == 0, "%s", vipt_last_error());
	CHECK(user_load(hw) == NEW, "%s", "fresh after both flushes");
	CHECK(vipt_hw_oracle(hw, &o) == 0 && o.violations == 0, "%llu",
	      (unsigned long long)o.violations);
	CHECK(vipt_hw_free(hw) == 0, "%s", "free");
}

static void demo3(void)
{
	struct vipt_hw *hw = machine();
	struct vipt_flush_summary s;
	struct vipt_counters before, after;
	struct vipt_oracle_counts o;
	struct vipt_flush f;
	uint64_t pte, old;
	struct vipt_pte_cell *cell;

	user_reads_then_kernel_writes(hw);
	CHECK(vipt_hw_flush_page(hw, 0, VIPT_KERNEL_SPACE, KVA, NULL) == 0, "%s", "kernel");

	/* The pte is zapped to nothing and its TLB entry purged: the flush is nullified. */
	CHECK(vipt_hw_set_pte(hw, USER_SPACE, UVA, 0) == 0, "%s", "zap");
	CHECK(vipt_hw_tlb_purge(hw, USER_SPACE, UVA) >= 1, "%s", "purge");
	CHECK(vipt_hw_counters(hw, &before) == 0, "%s", "counters");
	CHECK(vipt_hw_flush_page(hw, 0, USER_SPACE, UVA, &s) == 0 && s.issued == 128 &&
	      s.nullified == 128 && s.hit == 0, "nullified %llu", (unsigned long long)s.nullified);
	CHECK(vipt_hw_counters(hw, &after) == 0 &&
	      after.fdc_nullified - before.fdc_nullified == 128 &&
	      after.fdc_effective == before.fdc_effective, "%llu",
	      (unsigned long long)after.fdc_nullified);

	/* ptep_get_and_clear leaves a flush-only pte: now the same flush works. */
	CHECK(vipt_pfn_pte(VIPT_LAYOUT_32, PFN, VIPT_PAGE_SHARED, &pte) == 0, "%s", "pte");
	CHECK(vipt_pte_cell_new(pte, &cell) == 0, "%s", "cell");
	CHECK(vipt_ptep_get_and_clear(cell, &old) == 0, "%s", "gac");
	CHECK(vipt_pte_cell_load(cell, &pte) == 0 && !vipt_pte_present(pte) &&
	      (pte & VIPT_PAGE_FLUSH), "pte %#llx", (unsigned long long)pte);
	vipt_pte_cell_free(cell);
	CHECK(vipt_hw_set_pte(hw, USER_SPACE, UVA, pte) == 0, "%s", "flush-only pte");
	CHECK(vipt_hw_fdc(hw, 0, USER_SPACE, UVA, &f) == 0 && !f.nullified && f.hit, "%d",
	      f.nullified);

	/* The line is gone; with a present pte again the user reads the new data. */
	CHECK(vipt_pfn_pte(VIPT_LAYOUT_32, PFN, VIPT_PAGE_SHARED, &pte) == 0, "%s", "pte");
	CHECK(vipt_hw_set_pte(hw, USER_SPACE, UVA, pte) == 0, "%s", "refault");
	CHECK(vipt_hw_tlb_purge(hw, USER_SPACE, UVA) >= 0, "%s", "purge");
	CHECK(vipt_hw_coherence_point(hw, 0, PFN) == 0, "%s", "point");
	CHECK(user_load(hw) == NEW, "%s", "fresh");
	CHECK(vipt_hw_oracle(hw, &o) == 0 && o.violations == 0, "%llu",
	      (unsigned long long)o.violations);
	CHECK(vipt_hw_free(hw) == 0, "%s", "free");
}

static void errors(void)
{
	struct vipt_hw_config cfg;
	struct vipt_hw *hw = machine(), *bad = NULL;
	struct vipt_counters c1, c2;
	uint64_t v = 77, cycles;

	CHECK(vipt_hw_counters(hw, &c1) == 0, "%s", "counters");
	CHECK(vipt_hw_load(hw, 9, VIPT_AGENT_USER, USER_SPACE, UVA, 8, &v) == -ERANGE, "%s",
	      vipt_last_error());
	CHECK(vipt_hw_load(hw, 1, 7, USER_SPACE, UVA, 8, &v) == -EINVAL, "%s", "agent");
	CHECK(vipt_hw_load(hw, 1, VIPT_AGENT_USER, USER_SPACE, UVA + 1, 8, &v) == -EINVAL,
	      "%s", "unaligned");
	CHECK(vipt_hw_load(hw, 1, VIPT_AGENT_USER, USER_SPACE, UVA, 8, NULL) == -EFAULT, "%s",
	      "NULL");
	CHECK(vipt_hw_load(hw, 1, VIPT_AGENT_USER, USER_SPACE, 0x60000000, 8, &v) == -ENXIO,
	      "%s", "page fault");
	CHECK(vipt_hw_store(hw, 1, VIPT_AGENT_USER, 2, UVA, 8, 1) == -ENXIO, "%s", "no mm");
	CHECK(v == 77, "v changed to %llu", (unsigned long long)v);
	CHECK(vipt_hw_move_in(hw, 0, USER_SPACE, UVA) == -EINVAL, "%s", "move-in off");
	CHECK(vipt_hw_rollback(hw) == -EINVAL, "%s", "no checkpoint");
	CHECK(vipt_hw_counters(hw, &c2) == 0 && c2.loads == c1.loads && c2.stores == c1.stores,
	      "%s", "bad calls changed counters");
	CHECK(vipt_hw_cycles(hw, NULL, &cycles) == 0, "%s", "cycles");

	CHECK(vipt_hw_config_default(&cfg) == 0, "%s", "cfg");
	cfg.geometry.line_size = 24;
	CHECK(vipt_hw_new(&cfg, &bad) == -EINVAL && bad == NULL, "%s", vipt_last_error());
	CHECK(vipt_hw_config_explore(3, &cfg) == -EINVAL, "%s", "explore 3");
	CHECK(vipt_hw_free(hw) == 0, "%s", "free");
	CHECK(vipt_hw_free(hw) == -EBADF, "%s", "double free");
	CHECK(vipt_hw_store(hw, 0, VIPT_AGENT_KERNEL, 0, KVA, 8, 1) == -EBADF, "%s", "freed");
}

int main(void)
{
	demo1();
	demo3();
	errors();
	return report("test_cache");
}
