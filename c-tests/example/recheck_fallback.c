/*
 * A new flush_dcache_page patch, written, registered and checked end to end
 * (the README's "Writing a patch in C" walks through this file).
 *
 * The patch: Hugh's recheck, with a second walk. Flush through the first user
 * address whose pte maps the page, and look at the pte again afterwards, as
 * `recheck` does; but when no flush could be confirmed that way (every pte was
 * gone or changed), walk i_mmap a second time and flush the page through the
 * tmpalias window at the colour of every mapping, which needs no user pte.
 *
 * The driver explores the patch beside patched-2005 and recheck on every
 * built-in scenario under the 2.6.15 kernel profile (flush-only ptes, the
 * kernel recheck was proposed for) and the 3.x one (none), prints a
 * verdict table, and replays the first failing schedule of the patch as a
 * per-CPU timeline. It exits non-zero if the patch fails a scenario that
 * recheck passes (the second walk only adds flushes), or on an API error.
 *
 *	make -C c-tests example && c-tests/build/example_recheck_fallback
 */
#include <stdio.h>
#include <string.h>

#include "vipt_kernel.h"

#define MAX_COLOURS	64

static int colour_seen(unsigned long *seen, int *n, unsigned long colour)
{
	int i;

	for (i = 0; i < *n; i++)
		if (seen[i] == colour)
			return 1;
	if (*n < MAX_COLOURS)
		seen[(*n)++] = colour;
	return 0;
}

VIPT_FLUSH_DCACHE_PAGE(flush_dcache_page_recheck_fallback)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset, addr, pgoff, seen[MAX_COLOURS];
	int nseen = 0, flushed = 0;

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

		if (!translation_exists(mpnt, addr, page_to_pfn(page)))
			continue;

		__flush_cache_page(mpnt, addr);
		if (translation_exists(mpnt, addr, page_to_pfn(page))) {
			flushed = 1;
			break;
		}
	}

	/* Nothing confirmed: the second walk, through tmpalias. */
	if (!flushed) {
		vma_prio_tree_foreach(mpnt, &iter, mapping, pgoff, pgoff) {
			offset = (pgoff - mpnt->vm_pgoff) << PAGE_SHIFT;
			addr = mpnt->vm_start + offset;
			if (!colour_seen(seen, &nseen, addr & (SHMLBA - 1) & PAGE_MASK))
				flush_dcache_page_asm(page_to_phys(page), addr);
		}
	}
	flush_dcache_mmap_unlock(mapping);
}

/* ---- the driver: the raw vipt.h API ---- */

#define TRY(call)								\
	do {									\
		int rc_ = (call);						\
		if (rc_ < 0) {							\
			fprintf(stderr, "%s: %d: %s\n", #call, rc_, vipt_last_error()); \
			exit(2);						\
		}								\
	} while (0)

struct verdict {
	unsigned long failing, executions;
	uint32_t coverage;	/* of the exhaustive search: VIPT_COVERAGE_* */
	char schedule[256];
};

/* Exhaustive within preemption bound 2 (the default: no sleep sets, so a pass
 * is a proof for the bound), then 2000 random schedules: failing counts
 * summed, the first failing schedule kept. */
static void judge(const char *scenario, uint32_t kernel, struct vipt_strategy *s,
		  struct verdict *v)
{
	struct vipt_scenario_params p;
	struct vipt_explore_config cfg;
	struct vipt_scenario *sc;
	struct vipt_result_counts c;
	struct vipt_result *r;
	int pass;

	memset(v, 0, sizeof(*v));
	TRY(vipt_scenario_defaults(scenario, &p));
	p.kernel = kernel;
	TRY(vipt_scenario_new(scenario, &p, s, &sc));
	TRY(vipt_explore_config_default(&cfg));
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			cfg.mode = VIPT_MODE_RANDOM;
			cfg.budget = 2000;
			cfg.seed = 2005;
		}
		TRY(vipt_explore(sc, &cfg, &r));
		TRY(vipt_result_counts(r, &c));
		v->failing += c.failing;
		v->executions += c.executions;
		if (pass == 0)
			v->coverage = c.coverage;
		if (!v->schedule[0] && c.failing)
			TRY(vipt_result_schedule(r, v->schedule, sizeof(v->schedule)));
		TRY(vipt_result_free(r));
	}
	TRY(vipt_scenario_free(sc));
}

static void cell(const struct verdict *v)
{
	char text[40];

	if (v->failing)
		snprintf(text, sizeof(text), "FAIL %lu/%lu", v->failing, v->executions);
	else if (v->coverage == VIPT_COVERAGE_COMPLETE_WITHIN_BOUND)
		snprintf(text, sizeof(text), "pass");
	else
		snprintf(text, sizeof(text), "no failure (incomplete)");
	printf(" %-18s", text);
}

int main(void)
{
	const char *names[3] = { "patched-2005", "recheck", "recheck+fallback" };
	struct vipt_strategy *s[3];
	struct verdict v[3];
	char scenario[32], timeline[16384];
	char failed_scenario[32] = "";
	const uint32_t kernels[2] = { VIPT_KERNEL_2_6_15, VIPT_KERNEL_3X };
	const char *kernel_names[2] = { "2.6.15", "3.x" };
	int failed_kernel = 0, worse = 0, i, k, j;
	char failed_schedule[256] = "";

	TRY(vipt_strategy_builtin(names[0], &s[0]));
	TRY(vipt_strategy_builtin(names[1], &s[1]));
	TRY(vipt_strategy_register(names[2], flush_dcache_page_recheck_fallback, NULL, &s[2]));

	printf("%-14s %-10s", "scenario", "kernel");
	for (k = 0; k < 3; k++)
		printf(" %-18s", names[k]);
	printf("\n");
	for (i = 0; i < vipt_scenario_count(); i++) {
		TRY(vipt_scenario_name(i, scenario, sizeof(scenario)));
		for (j = 0; j < 2; j++) {
			printf("%-14s %-10s", scenario, kernel_names[j]);
			for (k = 0; k < 3; k++) {
				judge(scenario, kernels[j], s[k], &v[k]);
				cell(&v[k]);
			}
			printf("\n");
			if (v[2].failing && !v[1].failing)
				worse++;
			if (v[2].failing && !failed_scenario[0]) {
				strcpy(failed_scenario, scenario);
				strcpy(failed_schedule, v[2].schedule);
				failed_kernel = j;
			}
		}
	}

	if (failed_scenario[0]) {
		struct vipt_scenario_params p;
		struct vipt_scenario *sc;
		struct vipt_result *r;
		char msg[512];

		printf("\n%s fails %s (kernel %s); replaying %s:\n\n", names[2],
		       failed_scenario, kernel_names[failed_kernel], failed_schedule);
		TRY(vipt_scenario_defaults(failed_scenario, &p));
		p.kernel = kernels[failed_kernel];
		TRY(vipt_scenario_new(failed_scenario, &p, s[2], &sc));
		TRY(vipt_replay(sc, failed_schedule, &r));
		for (k = 0; vipt_result_failure(r, k, msg, sizeof(msg)) >= 0; k++)
			printf("  %s\n", msg);
		if (vipt_result_timeline(r, timeline, sizeof(timeline)) > 0)
			printf("\n%s", timeline);
		TRY(vipt_result_free(r));
		TRY(vipt_scenario_free(sc));
	}
	for (k = 0; k < 3; k++)
		TRY(vipt_strategy_free(s[k]));
	if (worse) {
		printf("\n%s fails %d cell(s) that recheck passes\n", names[2], worse);
		return 1;
	}
	return 0;
}
