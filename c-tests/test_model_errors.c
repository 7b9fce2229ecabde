/*
 * The model's C API under bad input: NULL, freed, forged and out-of-range
 * arguments give a negative errno and a message, out-parameters stay as they
 * were, and the model is unchanged. Inside a strategy callback: handles live
 * only as long as the callback, a bad handle is refused without ending the
 * callback, a model error cancels the rest of it and becomes a kernel BUG of
 * the execution.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* This file's own `index` variables: without the macro behind page->index. */
#define VIPT_KERNEL_NO_INDEX
#include "vipt_kernel.h"

static int checks, failures;

#define EXPECT(call, err)							\
	do {									\
		int rc_ = (call);						\
		checks++;							\
		if (rc_ != (err)) {						\
			failures++;						\
			fprintf(stderr, "FAIL %s:%d: %s = %d, want %d (%s)\n",	\
				__FILE__, __LINE__, #call, rc_, (err),		\
				vipt_last_error());				\
		} else if ((err) < 0 && !*vipt_last_error()) {			\
			failures++;						\
			fprintf(stderr, "FAIL %s:%d: %s: no message\n",		\
				__FILE__, __LINE__, #call);			\
		}								\
	} while (0)

#define CHECK(cond)								\
	do {									\
		checks++;							\
		if (!(cond)) {							\
			failures++;						\
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}								\
	} while (0)

#define FORGED(type)	((type *)(uintptr_t)0x123456789abcULL)

/* ---- a strategy that probes its callback context ---- */

static struct vipt_kcpu *saved_cpu;
static struct vipt_mapping *saved_mapping;
static int probe_calls, probe_bad_handles, probe_cancelled, probe_bad_locks, probe_nested;
static struct vipt_scenario *nested_sc;
static struct vipt_explore_config nested_cfg;
static struct vipt_result *nested_r;

/* Runs as patched-2005 would, with bad calls mixed in. `arg` != NULL: also make
 * a model error (a page flag the model does not have) at the end. */
static int probe(struct vipt_kcpu *cpu, struct vipt_page *page, void *arg)
{
	struct vipt_mapping *mapping = FORGED(struct vipt_mapping);
	struct vipt_prio_tree_iter iter;
	uint64_t pfn = 0, index = 0;
	int rc;

	__atomic_add_fetch(&probe_calls, 1, __ATOMIC_RELAXED);
	saved_cpu = cpu;
	if (vipt_page_pfn(page, &pfn) || vipt_page_mapping(cpu, page, &mapping))
		return -1;
	saved_mapping = mapping;
	/* Bad handles are refused and the callback goes on. */
	if (vipt_mapping_mapped(cpu, FORGED(struct vipt_mapping)) == -EBADF &&
	    vipt_translation_exists(cpu, FORGED(struct vipt_vma), 0, pfn) == -EBADF &&
	    vipt_mapping_mapped(FORGED(struct vipt_kcpu), mapping) == -EBADF &&
	    vipt_page_mapping(cpu, page, NULL) == -EFAULT)
		__atomic_add_fetch(&probe_bad_handles, 1, __ATOMIC_RELAXED);
	if (!mapping || vipt_mapping_mapped(cpu, mapping) != 1)
		return 0;
	if (vipt_flush_kernel_dcache_page(cpu, page) || vipt_page_index(cpu, page, &index))
		return -1;
	if (vipt_flush_dcache_mmap_lock(cpu, mapping))
		return -1;
	vipt_prio_tree_iter_init(&iter, mapping, index, index);
	while ((rc = vipt_vma_prio_tree_next(cpu, &iter)) > 0) {
		uint64_t addr = iter.vma.vm_start + ((index - iter.vma.vm_pgoff) << PAGE_SHIFT);

		if (vipt_translation_exists(cpu, iter.vma.vma, addr, pfn) > 0) {
			vipt___flush_cache_page(cpu, iter.vma.vma, addr);
			break;
		}
	}
	{
		struct vipt_lock_ref bad = { .kind = 7, .obj = mapping, .addr = 0 };
		struct vipt_lock_ref immap = { .kind = VIPT_LOCK_I_MMAP, .obj = mapping, .addr = 0 };

		/* Bad lock references are refused and change nothing. */
		if (vipt_spin_lock(cpu, NULL, NULL) == -EFAULT &&
		    vipt_spin_lock(cpu, &bad, NULL) == -EINVAL &&
		    vipt_pgd_present(cpu, FORGED(struct vipt_mm_struct), 0) == -EBADF &&
		    vipt_spin_lock(cpu, &immap, "") == -EINVAL)
			__atomic_add_fetch(&probe_bad_locks, 1, __ATOMIC_RELAXED);
	}
	/* No explorer run inside an execution. */
	if (vipt_explore(nested_sc, &nested_cfg, &nested_r) == -EBUSY &&
	    vipt_replay(nested_sc, "a", &nested_r) == -EBUSY)
		__atomic_add_fetch(&probe_nested, 1, __ATOMIC_RELAXED);
	if (arg && vipt_page_set_bit(cpu, page, 99) == -EINVAL &&
	    vipt_flush_dcache_mmap_unlock(cpu, mapping) == -ECANCELED) {
		__atomic_add_fetch(&probe_cancelled, 1, __ATOMIC_RELAXED);
		return -EINVAL;
	}
	return vipt_flush_dcache_mmap_unlock(cpu, mapping);
}

static void test_handles(void)
{
	struct vipt_strategy *s = FORGED(struct vipt_strategy), *keep = s;
	struct vipt_scenario *sc = FORGED(struct vipt_scenario), *keep_sc = sc;
	struct vipt_result *r = FORGED(struct vipt_result);
	struct vipt_scenario_params p, p0;
	struct vipt_explore_config cfg, bad;
	struct vipt_result_counts counts;
	char buf[64];
	uint64_t v = 77;

	EXPECT(vipt_strategy_builtin(NULL, &s), -EFAULT);
	EXPECT(vipt_strategy_builtin("no-such-strategy", &s), -ENOENT);
	EXPECT(vipt_strategy_builtin("patched-2005", NULL), -EFAULT);
	CHECK(s == keep);
	EXPECT(vipt_strategy_register(NULL, probe, NULL, &s), -EFAULT);
	EXPECT(vipt_strategy_register("", probe, NULL, &s), -EINVAL);
	EXPECT(vipt_strategy_register("probe", NULL, NULL, &s), -EFAULT);
	EXPECT(vipt_strategy_register("probe", probe, NULL, NULL), -EFAULT);
	CHECK(s == keep);
	EXPECT(vipt_strategy_free(NULL), -EBADF);
	EXPECT(vipt_strategy_free(FORGED(struct vipt_strategy)), -EBADF);

	EXPECT(vipt_scenario_count(), 9);
	EXPECT(vipt_scenario_count_all(), 14);
	EXPECT(vipt_scenario_name(9, buf, sizeof(buf)), 12);	/* "unmap-window" */
	EXPECT(vipt_scenario_name(14, buf, sizeof(buf)), -ERANGE);
	EXPECT(vipt_scenario_name(0, NULL, sizeof(buf)), -EFAULT);
	EXPECT(vipt_scenario_name(0, NULL, 0), 8);	/* "swap-pte": the length query */
	EXPECT(vipt_scenario_name(0, buf, 0), 8);	/* len 0 writes nothing */
	EXPECT(vipt_scenario_name(1, buf, 4), 7);	/* "reclaim", cut to "rec" */
	CHECK(!strcmp(buf, "rec"));
	EXPECT(vipt_scenario_defaults("nope", &p), -EINVAL);
	EXPECT(vipt_scenario_defaults(NULL, &p), -EFAULT);
	EXPECT(vipt_scenario_defaults("reclaim", NULL), -EFAULT);
	EXPECT(vipt_scenario_defaults("reclaim", &p), 0);
	CHECK(p.vmas == 2 && p.kernel == VIPT_KERNEL_2_6_14 &&
	      p.page_flush == VIPT_PAGE_FLUSH_KERNEL && !p.move_in);

	EXPECT(vipt_strategy_builtin("patched-2005", &s), 0);
	p0 = p;
	p.vmas = 1;
	EXPECT(vipt_scenario_new("reclaim", &p, s, &sc), -EINVAL);
	p = p0;
	p.lines = 3;
	EXPECT(vipt_scenario_new("reclaim", &p, s, &sc), -EINVAL);
	p = p0;
	p.colour = 7;
	EXPECT(vipt_scenario_new("reclaim", &p, s, &sc), -EINVAL);
	EXPECT(vipt_scenario_new("nope", NULL, s, &sc), -EINVAL);
	EXPECT(vipt_scenario_new("reclaim", NULL, FORGED(struct vipt_strategy), &sc), -EBADF);
	EXPECT(vipt_scenario_new("reclaim", NULL, s, NULL), -EFAULT);
	CHECK(sc == keep_sc);
	EXPECT(vipt_scenario_new("reclaim", NULL, s, &sc), 0);
	/* A scenario keeps its strategy after the strategy handle is freed. */
	EXPECT(vipt_strategy_free(s), 0);
	EXPECT(vipt_strategy_free(s), -EBADF);
	EXPECT(vipt_scenario_new("reclaim", NULL, s, &keep_sc), -EBADF);

	EXPECT(vipt_explore_config_default(NULL), -EFAULT);
	EXPECT(vipt_explore_config_default(&cfg), 0);
	cfg.budget = 50;
	bad = cfg;
	bad.mode = 9;
	EXPECT(vipt_explore(sc, &bad, &r), -EINVAL);
	bad = cfg;
	bad.mode = VIPT_MODE_PCT;
	bad.depth = 0;
	EXPECT(vipt_explore(sc, &bad, &r), -EINVAL);
	bad = cfg;
	bad.bound = -2;
	EXPECT(vipt_explore(sc, &bad, &r), -EINVAL);
	bad = cfg;
	bad.max_steps = 0;
	EXPECT(vipt_explore(sc, &bad, &r), -EINVAL);
	EXPECT(vipt_explore(sc, NULL, &r), -EFAULT);
	EXPECT(vipt_explore(sc, &cfg, NULL), -EFAULT);
	EXPECT(vipt_explore(FORGED(struct vipt_scenario), &cfg, &r), -EBADF);
	CHECK(r == FORGED(struct vipt_result));

	/* reclaim with _PAGE_FLUSH passes for patched-2005: no failing schedule. */
	EXPECT(vipt_explore(sc, &cfg, &r), 0);
	EXPECT(vipt_result_counts(r, &counts), 0);
	CHECK(counts.executions > 0 && counts.failing == 0);
	EXPECT(vipt_result_schedule(r, buf, sizeof(buf)), -ENOENT);
	EXPECT(vipt_result_failure(r, 0, buf, sizeof(buf)), -ENOENT);
	EXPECT(vipt_result_timeline(r, buf, sizeof(buf)), -ENOENT);
	EXPECT(vipt_result_counter(r, "no such counter", &v), -ENOENT);
	EXPECT(vipt_result_counter(r, NULL, &v), -EFAULT);
	EXPECT(vipt_result_counter(r, "fdc_issued", NULL), -EFAULT);
	CHECK(v == 77);
	EXPECT(vipt_result_counter(r, "fdc_issued", &v), 0);
	CHECK(v > 0 && v != 77);
	EXPECT(vipt_result_counter_name(r, 1000, buf, sizeof(buf)), -ENOENT);
	EXPECT(vipt_result_counts(r, NULL), -EFAULT);
	EXPECT(vipt_result_free(r), 0);
	EXPECT(vipt_result_free(r), -EBADF);
	EXPECT(vipt_result_counts(r, &counts), -EBADF);

	EXPECT(vipt_replay(sc, "a3!b", &r), -EINVAL);
	EXPECT(vipt_replay(sc, NULL, &r), -EFAULT);
	EXPECT(vipt_scenario_free(sc), 0);
	EXPECT(vipt_scenario_free(sc), -EBADF);
	EXPECT(vipt_replay(sc, "a", &r), -EBADF);
}

/* Kernel operations outside any callback, and with bad pages. */
static void test_outside_callback(void)
{
	struct vipt_mapping *m = FORGED(struct vipt_mapping);
	struct vipt_prio_tree_iter iter;
	uint64_t v = 5;

	EXPECT(vipt_page_mapping(NULL, vipt_pfn_to_page(1), &m), -EBADF);
	EXPECT(vipt_page_mapping(FORGED(struct vipt_kcpu), vipt_pfn_to_page(1), &m), -EBADF);
	CHECK(m == FORGED(struct vipt_mapping));
	EXPECT(vipt_translation_exists(NULL, NULL, 0, 0), -EBADF);
	EXPECT(vipt_flush_dcache_mmap_lock(NULL, NULL), -EBADF);
	EXPECT(vipt_pte_lock(NULL, NULL, 0), -EBADF);
	EXPECT(vipt_vma_prio_tree_next(NULL, &iter), -EBADF);
	EXPECT(vipt_page_pfn(NULL, &v), -EBADF);
	EXPECT(vipt_page_pfn(vipt_pfn_to_page(3), NULL), -EFAULT);
	CHECK(v == 5);
	EXPECT(vipt_page_pfn(vipt_pfn_to_page(3), &v), 0);
	CHECK(v == 3);
	EXPECT(vipt_prio_tree_iter_init(&iter, NULL, 2, 1), -EINVAL);
	EXPECT(vipt_prio_tree_iter_init(NULL, NULL, 1, 1), -EFAULT);
}

/* The probe strategy, explored on the reclaim race. */
static void test_callbacks(void)
{
	struct vipt_explore_config cfg;
	struct vipt_strategy *s;
	struct vipt_scenario *sc;
	struct vipt_result *r;
	struct vipt_result_counts counts;
	char msg[256];

	vipt_explore_config_default(&cfg);
	cfg.budget = 40;
	/* The probe counts in plain globals: one worker. */
	cfg.threads = 1;

	EXPECT(vipt_strategy_register("probe", probe, NULL, &s), 0);
	EXPECT(vipt_scenario_new("reclaim", NULL, s, &sc), 0);
	nested_sc = sc;
	nested_cfg = cfg;
	EXPECT(vipt_explore(sc, &cfg, &r), 0);
	EXPECT(vipt_result_counts(r, &counts), 0);
	CHECK(counts.executions > 0 && counts.failing == 0);
	CHECK(probe_calls >= (int)counts.executions && probe_bad_handles == probe_calls);
	CHECK(probe_bad_locks == probe_calls);
	CHECK(probe_nested == probe_calls);
	/* The callback is over: its cpu and mapping handles are dead. */
	EXPECT(vipt_mapping_mapped(saved_cpu, saved_mapping), -EBADF);
	EXPECT(vipt_flush_dcache_mmap_unlock(saved_cpu, saved_mapping), -EBADF);
	vipt_result_free(r);
	vipt_scenario_free(sc);
	vipt_strategy_free(s);

	/* A model error inside the callback: the rest is cancelled and every
	 * execution fails with the strategy's BUG. */
	probe_calls = 0;
	EXPECT(vipt_strategy_register("probe-error", probe, (void *)1, &s), 0);
	EXPECT(vipt_scenario_new("reclaim", NULL, s, &sc), 0);
	EXPECT(vipt_explore(sc, &cfg, &r), 0);
	EXPECT(vipt_result_counts(r, &counts), 0);
	CHECK(counts.executions > 0 && counts.failing == counts.executions);
	CHECK(probe_cancelled == probe_calls && probe_calls > 0);
	CHECK(vipt_result_failure(r, 0, msg, sizeof(msg)) > 0 &&
	      strstr(msg, "BUG: strategy probe-error") && strstr(msg, "bit 99"));
	vipt_result_free(r);
	vipt_scenario_free(sc);
	vipt_strategy_free(s);
}

/* The defaults are the sound search, and every result says what it covers:
 * the two false passes of sleep sets under a bound (issue 19) fail under
 * vipt_explore_config_default, the reduced search is only "partial", and a
 * budget that runs out is "incomplete", never a pass. */
static void test_sound_defaults(void)
{
	struct vipt_explore_config cfg;
	struct vipt_scenario_params p;
	struct vipt_result_counts c;
	struct vipt_strategy *patched;
	struct vipt_scenario *cow, *cow15;
	struct vipt_result *r;

	EXPECT(vipt_strategy_builtin("patched-2005", &patched), 0);
	EXPECT(vipt_scenario_new("cow", NULL, patched, &cow), 0);
	/* cow on 2.6.15: a failure at bound 2 that sleep sets miss. */
	EXPECT(vipt_scenario_defaults("cow", &p), 0);
	p.kernel = VIPT_KERNEL_2_6_15;
	EXPECT(vipt_scenario_new("cow", &p, patched, &cow15), 0);
	EXPECT(vipt_explore_config_default(&cfg), 0);
	CHECK(cfg.mode == VIPT_MODE_EXHAUSTIVE && cfg.bound == 2 && !cfg.reduction);

	EXPECT(vipt_explore(cow, &cfg, &r), 0);
	EXPECT(vipt_result_counts(r, &c), 0);
	CHECK(c.failing > 0 && c.verdict == VIPT_VERDICT_FAIL);
	CHECK(c.coverage == VIPT_COVERAGE_COMPLETE_WITHIN_BOUND && c.coverage_bound == 2);
	vipt_result_free(r);
	EXPECT(vipt_explore(cow15, &cfg, &r), 0);
	EXPECT(vipt_result_counts(r, &c), 0);
	CHECK(c.failing > 0 && c.verdict == VIPT_VERDICT_FAIL);
	vipt_result_free(r);

	cfg.reduction = true;	/* sleep sets with a bound: no proof */
	EXPECT(vipt_explore(cow, &cfg, &r), 0);
	EXPECT(vipt_result_counts(r, &c), 0);
	CHECK(c.coverage == VIPT_COVERAGE_PARTIAL_WITHIN_BOUND && c.coverage_bound == 2);
	CHECK(c.verdict != VIPT_VERDICT_PASS);
	vipt_result_free(r);

	/* Sleep sets without a bound over a built-in scenario: the conflicts
	 * include what each step touched outside its announced footprint, so
	 * the finished search is complete and its pass a pass. */
	{
		struct vipt_strategy *tmpalias;
		struct vipt_scenario *swap;

		EXPECT(vipt_strategy_builtin("tmpalias", &tmpalias), 0);
		EXPECT(vipt_scenario_new("swap-pte", NULL, tmpalias, &swap), 0);
		cfg.bound = -1;
		EXPECT(vipt_explore(swap, &cfg, &r), 0);
		EXPECT(vipt_result_counts(r, &c), 0);
		CHECK(c.failing == 0);
		CHECK(c.coverage == VIPT_COVERAGE_COMPLETE && c.coverage_bound == -1);
		CHECK(c.verdict == VIPT_VERDICT_PASS);
		vipt_result_free(r);
		vipt_scenario_free(swap);
		vipt_strategy_free(tmpalias);
		cfg.bound = 2;
	}

	cfg.reduction = false;
	cfg.budget = 5;
	EXPECT(vipt_explore(cow, &cfg, &r), 0);
	EXPECT(vipt_result_counts(r, &c), 0);
	CHECK(c.coverage == VIPT_COVERAGE_INCOMPLETE && c.coverage_executions == 5);
	CHECK(c.failing > 0 || c.verdict == VIPT_VERDICT_INCONCLUSIVE);
	vipt_result_free(r);

	cfg.mode = VIPT_MODE_RANDOM;
	cfg.budget = 20;
	cfg.threads = 1;
	EXPECT(vipt_explore(cow, &cfg, &r), 0);
	EXPECT(vipt_result_counts(r, &c), 0);
	CHECK(c.coverage == VIPT_COVERAGE_SAMPLED && c.coverage_executions == 20);
	CHECK(c.verdict != VIPT_VERDICT_PASS);
	vipt_result_free(r);

	vipt_scenario_free(cow);
	vipt_scenario_free(cow15);
	vipt_strategy_free(patched);
}

int main(void)
{
	test_handles();
	test_outside_callback();
	test_callbacks();
	test_sound_defaults();
	printf("test_model_errors: %d checks, %d failed\n", checks, failures);
	return failures != 0;
}
