/*
 * An arch patch, written, registered and checked end to end: John David
 * Anglin's 2024 ptep_clear_flush ("parisc: Try to fix random segmentation
 * faults in package builds"), applied to older kernels.
 *
 * The patch: clear the pte, then, while the old pfn is still known, purge
 * the TLB entry and flush the page through the tmpalias window at the user
 * colour ("After a PTE is cleared, we have no way to flush the cache for the
 * physical page"). Written here against the 2.6.14 and 3.x profiles, whose
 * own ptep_clear_flush only clears and purges.
 *
 * The driver explores every racer scenario with patched-2005 (with "all":
 * legacy-2005, patched-2005 and recheck) on each profile, unpatched and patched,
 * exhaustively within preemption bound 2 (a pass is a proof for the bound),
 * and prints the verdicts side by side with the fdc each execution issues
 * on average. It exits non-zero if the patch makes any cell fail that passed,
 * or does not close 3.x's reclaim race, or on an API error.
 *
 *	make -C c-tests example && c-tests/build/example_anglin_ptep_clear_flush [all]
 */
#include <stdio.h>
#include <string.h>

#include "vipt_kernel.h"

/* In the kernel's own words and signature (VIPT_HOOK): only the header line
 * differs from a kernel text. __flush_cache_page is 6.10's: purge the user
 * TLB entry (no move-in behind the flush), then flush through tmpalias. */
VIPT_HOOK(ptep_clear_flush, anglin_ptep_clear_flush)(struct vm_area_struct *vma,
		unsigned long addr, pte_t *ptep)
{
	struct mm_struct *mm = (vma)->vm_mm;
	pte_t pte = ptep_get_and_clear(mm, addr, ptep);
	unsigned long pfn = pte_pfn(pte);

	if (pfn_valid(pfn))
		__flush_cache_page(vma, addr, PFN_PHYS(pfn));
	else if (pte_accessible(mm, pte))
		flush_tlb_page(vma, addr);

	return pte;
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
	uint32_t verdict;	/* VIPT_VERDICT_* */
	uint64_t fdc;		/* fdc issued, summed over the executions */
};

static void judge(const char *scenario, uint32_t kernel, struct vipt_strategy *s,
		  struct vipt_arch *patch, struct verdict *v)
{
	struct vipt_scenario_params p;
	struct vipt_explore_config cfg;
	struct vipt_scenario *sc;
	struct vipt_result_counts c;
	struct vipt_result *r;
	uint64_t fdc = 0;

	memset(v, 0, sizeof(*v));
	TRY(vipt_scenario_defaults(scenario, &p));
	p.kernel = kernel;
	if (patch)
		TRY(vipt_scenario_new_arch(scenario, &p, s, patch, &sc));
	else
		TRY(vipt_scenario_new(scenario, &p, s, &sc));
	TRY(vipt_explore_config_default(&cfg));
	TRY(vipt_explore(sc, &cfg, &r));
	TRY(vipt_result_counts(r, &c));
	TRY(vipt_result_counter(r, "fdc_issued", &fdc));
	v->failing = c.failing;
	v->executions = c.executions;
	v->verdict = c.verdict;
	v->fdc = fdc;
	TRY(vipt_result_free(r));
	TRY(vipt_scenario_free(sc));
}

static void cell(const struct verdict *v)
{
	char text[48];

	if (v->verdict == VIPT_VERDICT_FAIL)
		snprintf(text, sizeof(text), "FAIL %lu/%lu", v->failing, v->executions);
	else if (v->verdict == VIPT_VERDICT_PASS)
		snprintf(text, sizeof(text), "pass");
	else
		snprintf(text, sizeof(text), "inconclusive");
	printf(" %-13s %4.1f", text, v->executions ? (double)v->fdc / v->executions : 0.0);
}

int main(int argc, char **argv)
{
	const char *races[6] = { "reclaim", "cow", "munmap", "truncate", "zap-refault", "pte-lock" };
	const char *strategies[3] = { "legacy-2005", "patched-2005", "recheck" };
	const uint32_t kernels[2] = { VIPT_KERNEL_2_6_14, VIPT_KERNEL_3X };
	const char *kernel_names[2] = { "2.6.14", "3.x" };
	struct vipt_arch *patch[2];
	struct vipt_strategy *s[3];
	int worse = 0, closed_3x_reclaim = 1, i, j, k;
	int first = 1, last = 1;	/* patched-2005 */

	if (argc > 1 && !strcmp(argv[1], "all"))
		first = 0, last = 2;
	for (k = 0; k < 3; k++)
		TRY(vipt_strategy_builtin(strategies[k], &s[k]));
	for (j = 0; j < 2; j++) {
		TRY(vipt_arch_new(kernels[j], "anglin-ptep_clear_flush", &patch[j]));
		TRY(vipt_arch_set_hook(patch[j], "ptep_clear_flush", anglin_ptep_clear_flush, NULL));
	}

	printf("exhaustive, preemption bound 2; each cell: verdict, fdc per execution\n\n");
	printf("%-12s %-7s %-14s %-18s %-18s\n", "scenario", "kernel", "strategy", "unpatched",
	       "+ anglin ptep_clear_flush");
	for (i = 0; i < 6; i++) {
		for (j = 0; j < 2; j++) {
			for (k = first; k <= last; k++) {
				struct verdict before, after;

				judge(races[i], kernels[j], s[k], NULL, &before);
				judge(races[i], kernels[j], s[k], patch[j], &after);
				printf("%-12s %-7s %-14s", races[i], kernel_names[j], strategies[k]);
				cell(&before);
				cell(&after);
				printf("\n");
				if (after.verdict == VIPT_VERDICT_FAIL && before.verdict != VIPT_VERDICT_FAIL)
					worse++;
				if (!strcmp(races[i], "reclaim") && kernels[j] == VIPT_KERNEL_3X &&
				    after.verdict != VIPT_VERDICT_PASS)
					closed_3x_reclaim = 0;
			}
		}
	}
	for (k = 0; k < 3; k++)
		TRY(vipt_strategy_free(s[k]));
	for (j = 0; j < 2; j++)
		TRY(vipt_arch_free(patch[j]));
	if (worse) {
		printf("\nthe patch fails %d cell(s) that passed without it\n", worse);
		return 1;
	}
	if (!closed_3x_reclaim) {
		printf("\nthe patch does not close 3.x's reclaim race\n");
		return 1;
	}
	printf("\nthe patch makes nothing worse and closes 3.x's reclaim race\n");
	return 0;
}
