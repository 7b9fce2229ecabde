/*
 * Strategies that do not return when told to. The README tells patch authors
 * that errors need no checks, so a kernel-style loop reads -ECANCELED as
 * "no": `while (!translation_exists(...)) ;` spins once the execution is
 * over. The explorer must not wait for it: the callback's C frames are
 * dropped after a bounded number of cancelled calls, the execution is
 * reported (step limit or kernel BUG), and the search goes on to its budget.
 * Also a loop that the step limit does not end first, the same loop in
 * native mode, and a strategy that breaks a kernel rule the compiler cannot
 * see: walking i_mmap without flush_dcache_mmap_lock or i_mmap_lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vipt_kernel.h"

static int checks, failures;

#define CHECK(cond)								\
	do {									\
		checks++;							\
		if (!(cond)) {							\
			failures++;						\
			fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__,	\
				__LINE__, #cond, vipt_last_error());		\
		}								\
	} while (0)

static unsigned long spins;

/* Waits for a translation of the page at every vma's address, kernel style:
 * no return value is looked at. Once A's pte is gone it never comes back. */
VIPT_FLUSH_DCACHE_PAGE(spin_on_translation)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset, addr, pfn = page_to_pfn(page);
	unsigned long pgoff;

	if (!mapping)
		return;
	pgoff = page_index(page);
	flush_dcache_mmap_lock(mapping);
	vma_prio_tree_foreach(mpnt, &iter, mapping, pgoff, pgoff) {
		offset = (pgoff - mpnt->vm_pgoff) << PAGE_SHIFT;
		addr = mpnt->vm_start + offset;
		while (!translation_exists(mpnt, addr, pfn))
			__atomic_add_fetch(&spins, 1, __ATOMIC_RELAXED);
		__flush_cache_page(mpnt, addr);
	}
	flush_dcache_mmap_unlock(mapping);
}

/* Spins on page_index() for ever: with a step limit above the call limit,
 * the call limit ends it (as it ends a loop over calls that schedule nothing,
 * and a loop in native mode, which has no step limit). */
VIPT_FLUSH_DCACHE_PAGE(spin_on_index)
{
	while (page_index(page) != (unsigned long)-2)
		__atomic_add_fetch(&spins, 1, __ATOMIC_RELAXED);
}

/* patched-2005's walk, without flush_dcache_mmap_lock. */
VIPT_FLUSH_DCACHE_PAGE(unlocked_walk)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *mpnt;
	struct prio_tree_iter iter;
	unsigned long offset, addr, pfn = page_to_pfn(page);
	unsigned long pgoff;

	if (!mapping || !mapping_mapped(mapping))
		return;
	flush_kernel_dcache_page(page_address(page));
	pgoff = page_index(page);
	vma_prio_tree_foreach(mpnt, &iter, mapping, pgoff, pgoff) {
		offset = (pgoff - mpnt->vm_pgoff) << PAGE_SHIFT;
		addr = mpnt->vm_start + offset;
		if (translation_exists(mpnt, addr, pfn)) {
			__flush_cache_page(mpnt, addr);
			break;
		}
	}
}

/* A body that uses neither `page` nor the CPU must compile warning-free
 * under -Wall -Wextra -Werror (the macro marks both parameters unused). */
VIPT_FLUSH_DCACHE_PAGE(does_nothing)
{
}

static void explore(const char *scenario, struct vipt_strategy *s, uint32_t mode,
		    uint64_t budget, uint64_t max_steps, uint64_t *executions, uint64_t *failing, char *msg,
		    size_t len)
{
	struct vipt_explore_config cfg;
	struct vipt_result_counts counts;
	struct vipt_scenario *sc;
	struct vipt_result *r;

	*executions = *failing = 0;
	msg[0] = 0;
	CHECK(vipt_explore_config_default(&cfg) == 0);
	cfg.mode = mode;
	cfg.budget = budget;
	cfg.bound = 1;
	cfg.threads = 2;
	cfg.max_steps = max_steps;
	CHECK(vipt_scenario_new(scenario, NULL, s, &sc) == 0);
	CHECK(vipt_explore(sc, &cfg, &r) == 0);
	CHECK(vipt_result_counts(r, &counts) == 0);
	*executions = counts.executions;
	*failing = counts.failing;
	if (counts.failing)
		CHECK(vipt_result_failure(r, 0, msg, len) > 0);
	vipt_result_free(r);
	vipt_scenario_free(sc);
}

static void test_cancelled_loop(void)
{
	struct vipt_strategy *s;
	uint64_t n, failing;
	char msg[512];

	CHECK(vipt_strategy_register("spin-on-translation", spin_on_translation, NULL, &s) == 0);
	/* Reclaim takes A's pte away: the loop waits for ever on the step
	 * limit, then keeps calling with -ECANCELED. */
	explore("reclaim", s, VIPT_MODE_RANDOM, 50, 2000, &n, &failing, msg, sizeof(msg));
	CHECK(n == 50);
	CHECK(failing > 0);
	printf("test_runaway: spin-on-translation, reclaim random: %llu/%llu failing: %s\n",
	       (unsigned long long)failing, (unsigned long long)n, msg);
	explore("reclaim", s, VIPT_MODE_EXHAUSTIVE, 200, 2000, &n, &failing, msg, sizeof(msg));
	CHECK(n > 0 && failing > 0);
	vipt_strategy_free(s);
}

static void test_runaway_loop(void)
{
	struct vipt_strategy *s;
	uint64_t n, failing;
	char msg[512];

	CHECK(vipt_strategy_register("spin-on-index", spin_on_index, NULL, &s) == 0);
	explore("reclaim", s, VIPT_MODE_RANDOM, 4, 1 << 20, &n, &failing, msg, sizeof(msg));
	CHECK(n == 4 && failing == n);
	CHECK(strstr(msg, "runaway loop") != NULL);
	CHECK(strstr(msg, "stopped") != NULL);
	printf("test_runaway: spin-on-index: %llu/%llu failing: %s\n",
	       (unsigned long long)failing, (unsigned long long)n, msg);
	vipt_strategy_free(s);
}

static void test_does_nothing(void)
{
	struct vipt_strategy *s;
	uint64_t n, failing;
	char msg[512];

	CHECK(vipt_strategy_register("does-nothing", does_nothing, NULL, &s) == 0);
	explore("reclaim", s, VIPT_MODE_RANDOM, 20, 2000, &n, &failing, msg, sizeof(msg));
	CHECK(n == 20);
	vipt_strategy_free(s);
}

static void test_unlocked_walk(void)
{
	struct vipt_strategy *s;
	uint64_t n, failing;
	char msg[512];

	CHECK(vipt_strategy_register("unlocked-walk", unlocked_walk, NULL, &s) == 0);
	explore("reclaim", s, VIPT_MODE_RANDOM, 20, 2000, &n, &failing, msg, sizeof(msg));
	CHECK(n == 20 && failing == n);
	CHECK(strstr(msg, "vma_prio_tree_foreach") && strstr(msg, "i_mmap_lock") &&
	      strstr(msg, "flush_dcache_mmap_lock"));
	printf("test_runaway: unlocked-walk: %llu/%llu failing: %s\n",
	       (unsigned long long)failing, (unsigned long long)n, msg);
	vipt_strategy_free(s);
}

/* Native mode: the same runaway loop on the caller's own thread ends too,
 * as a kernel BUG the world counts. */
static void test_native(void)
{
	struct vipt_world_params p;
	struct vipt_world_status st;
	struct vipt_strategy *s;
	struct vipt_world *w;
	struct vipt_file *f;
	struct vipt_cpu *cpu;
	int rc;

	CHECK(vipt_strategy_register("spin-on-index", spin_on_index, NULL, &s) == 0);
	CHECK(vipt_world_params_default(&p) == 0);
	CHECK(vipt_world_new(&p, s, &w) == 0);
	CHECK(vipt_file_new(w, 2, &f) == 0);
	CHECK(vipt_cpu_new(w, 0, &cpu) == 0);
	rc = vipt_sys_write(cpu, f, 1, 0xc0ffee);
	CHECK(rc < 0);
	CHECK(vipt_world_status(w, &st) == 0);
	CHECK(st.bugs == 1);
	vipt_cpu_free(cpu);
	vipt_file_free(f);
	vipt_world_free(w);
	vipt_strategy_free(s);
}

int main(void)
{
	test_cancelled_loop();
	test_runaway_loop();
	test_unlocked_walk();
	test_does_nothing();
	test_native();
	printf("test_runaway: %d checks, %d failed (%lu spins)\n", checks, failures, spins);
	return failures != 0;
}
