/*
 * Native mode from C: five pthreads run kernel paths on their own simulated
 * CPUs against one world, as the mm stress test does in Rust: two readers of
 * shared mappings, a copy-on-write writer, write() into the page cache, and
 * kswapd reclaiming. Once with the built-in modern strategy (split pte locks),
 * once with patched-2005 written in C (strategies/), called on real threads.
 * Every call must succeed, and afterwards the model must have found no BUG,
 * no lock-order inversion and its invariants intact (stale reads are counted:
 * real threads race for real, and vipt_explore is what finds races), and a
 * random search with a C strategy on the explorer's own threads. Built twice by
 * the Makefile: with ASan/UBSan, and as test_native_tsan with ThreadSanitizer
 * (c_tests.rs checks that binary really is TSan's).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "vipt_kernel.h"
#include "strategies.h"

#define ROUNDS	150
#define PAGES	4

static int failures;

#define CHECK(cond)								\
	do {									\
		if (!(cond)) {							\
			__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);	\
			fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__,	\
				__LINE__, #cond, vipt_last_error());		\
		}								\
	} while (0)

struct job {
	struct vipt_world *world;
	struct vipt_file *file;
	int id;			/* CPU number and role */
	unsigned long calls;
};

static void *run(void *arg)
{
	struct job *j = arg;
	struct vipt_cpu *cpu;
	struct vipt_mm_struct *mm = NULL;
	uint64_t va = 0, v;
	int i, rc;

	if (vipt_cpu_new(j->world, j->id, &cpu)) {
		CHECK(0);
		return NULL;
	}
	if (j->id < 3) {
		CHECK(vipt_mm_new(j->world, &mm) == 0);
		CHECK(vipt_cpu_use_mm(cpu, mm) == 0);
		CHECK(vipt_mmap(cpu, j->file, 0, PAGES * PAGE_SIZE,
				VIPT_PROT_READ | VIPT_PROT_WRITE,
				j->id < 2 ? VIPT_MAP_SHARED : VIPT_MAP_PRIVATE, 0, &va) == 0);
	}
	for (i = 0; i < ROUNDS * (j->id < 2 ? PAGES : 1); i++) {
		uint64_t page = va + (uint64_t)(i % PAGES) * PAGE_SIZE;

		switch (j->id) {
		case 0:
		case 1:		/* readers */
			rc = vipt_user_load(cpu, page, 8, &v);
			break;
		case 2:		/* copy-on-write */
			rc = vipt_user_load(cpu, page, 8, &v);
			if (!rc)
				rc = vipt_user_store(cpu, page, 8, (uint64_t)i);
			break;
		case 3:		/* write() */
			rc = vipt_sys_write(cpu, j->file, i % PAGES, (uint64_t)i);
			break;
		default:	/* kswapd */
			rc = vipt_shrink_page(cpu, j->file, i % PAGES, i % 3 == 0);
			if (rc == VIPT_RECLAIM_FREED || rc == VIPT_RECLAIM_KEPT ||
			    rc == VIPT_RECLAIM_NOT_CACHED)
				rc = 0;
			break;
		}
		CHECK(rc == 0);
		if (rc)
			break;
		j->calls++;
	}
	CHECK(vipt_cpu_free(cpu) == 0);
	if (mm)
		CHECK(vipt_mm_free(mm) == 0);
	return NULL;
}

static void stress(struct vipt_strategy *s, int split_ptlock)
{
	struct vipt_world_params p;
	struct vipt_world_status st;
	struct vipt_world *w;
	struct vipt_file *f;
	struct job jobs[5];
	pthread_t t[5];
	unsigned long calls = 0;
	int i;

	CHECK(vipt_world_params_default(&p) == 0);
	p.frames = 128;
	p.cpus = 5;
	p.split_ptlock = split_ptlock;
	CHECK(vipt_world_new(&p, s, &w) == 0);
	CHECK(vipt_file_new(w, PAGES, &f) == 0);
	for (i = 0; i < 5; i++) {
		jobs[i] = (struct job){ .world = w, .file = f, .id = i };
		CHECK(pthread_create(&t[i], NULL, run, &jobs[i]) == 0);
	}
	for (i = 0; i < 5; i++) {
		pthread_join(t[i], NULL);
		calls += jobs[i].calls;
	}
	CHECK(calls == ROUNDS * (2 * PAGES + 3));
	CHECK(vipt_world_status(w, &st) == 0);
	CHECK(st.bugs == 0);
	CHECK(st.inversions == 0);
	CHECK(st.invariants_ok);
	/* Real threads race for real: violations are counted, not excluded
	 * (vipt_explore is the tool that finds and replays them). */
	printf("test_native: %lu calls on 5 threads, %lu stale loads, %lu violations\n",
	       calls, (unsigned long)st.stale_loads, (unsigned long)st.violations);
	CHECK(vipt_file_free(f) == 0);
	CHECK(vipt_world_free(w) == 0);
}

/* Bad input to the native calls: an errno, a message, nothing changed. */
static void errors(void)
{
	struct vipt_world_params p;
	struct vipt_world *w, *keep;
	struct vipt_strategy *s;
	struct vipt_cpu *cpu;
	struct vipt_file *f;
	uint64_t v = 9;

	CHECK(vipt_strategy_builtin("patched-2005", &s) == 0);
	CHECK(vipt_world_params_default(&p) == 0);
	p.cpus = 0;
	keep = w = (struct vipt_world *)(uintptr_t)0x42;
	CHECK(vipt_world_new(&p, s, &w) == -EINVAL && w == keep);
	p.cpus = 2;
	p.colour = VIPT_COLOUR_MAP_FIXED;
	CHECK(vipt_world_new(&p, s, &w) == -EINVAL && w == keep);
	CHECK(vipt_world_new(NULL, NULL, &w) == -EBADF && w == keep);
	CHECK(vipt_world_new(NULL, s, NULL) == -EFAULT);
	CHECK(vipt_world_new(NULL, s, &w) == 0);
	CHECK(vipt_file_new(w, 0, &f) == -EINVAL);
	CHECK(vipt_file_new(w, 2, &f) == 0);
	CHECK(vipt_cpu_new(w, 99, &cpu) < 0);
	CHECK(vipt_cpu_new(w, 0, &cpu) == 0);
	/* No process: a user access has no mm. */
	CHECK(vipt_user_load(cpu, 0x1000, 8, &v) < 0 && v == 9);
	CHECK(vipt_user_load(cpu, 0x1000, 3, &v) == -EINVAL);
	CHECK(vipt_mmap(cpu, f, 0, PAGE_SIZE, 0x80, VIPT_MAP_SHARED, 0, &v) == -EINVAL);
	CHECK(vipt_mmap(cpu, f, 0, PAGE_SIZE, VIPT_PROT_READ, 0x400, 0, &v) == -EINVAL);
	CHECK(vipt_sys_write(cpu, NULL, 0, 1) == -EBADF);
	CHECK(vipt_sys_write(NULL, f, 0, 1) == -EBADF);
	CHECK(vipt_shrink_page(cpu, f, 1, true) == VIPT_RECLAIM_NOT_CACHED);
	CHECK(vipt_sys_write(cpu, f, 1, 5) == 0);
	CHECK(vipt_cpu_free(cpu) == 0);
	CHECK(vipt_cpu_free(cpu) == -EBADF);
	CHECK(vipt_sys_write(cpu, f, 1, 5) == -EBADF);
	CHECK(vipt_file_free(f) == 0);
	CHECK(vipt_world_free(w) == 0);
	CHECK(vipt_world_status(w, NULL) == -EBADF);
	CHECK(vipt_strategy_free(s) == 0);
}

/* The kernel paths by hand on one CPU: a kernel store into a page-cache page
 * that a process maps, flush_dcache_page, the coherence point, the user's
 * load; then the pte operations on that mapping. */
static void by_hand(void)
{
	struct vipt_world_status st;
	struct vipt_strategy *s;
	struct vipt_world *w;
	struct vipt_file *f;
	struct vipt_cpu *cpu;
	struct vipt_mm_struct *mm;
	uint64_t va, pfn, v, pte, old;

	CHECK(vipt_strategy_builtin("patched-2005", &s) == 0);
	CHECK(vipt_world_new(NULL, s, &w) == 0);
	CHECK(vipt_file_new(w, 2, &f) == 0);
	CHECK(vipt_mm_new(w, &mm) == 0);
	CHECK(vipt_cpu_new(w, 0, &cpu) == 0);
	CHECK(vipt_mm_ptep_get(cpu, 0, &v) == -EINVAL);	/* no process yet */
	CHECK(vipt_cpu_use_mm(cpu, mm) == 0);
	CHECK(vipt_file_page(f, 1, &pfn) == -ENOENT);
	CHECK(vipt_mmap(cpu, f, 0, 2 * PAGE_SIZE, VIPT_PROT_READ | VIPT_PROT_WRITE,
			VIPT_MAP_SHARED, 0, &va) == 0);
	CHECK(vipt_user_load(cpu, va + PAGE_SIZE + 64, 8, &v) == 0);	/* fault it in */
	CHECK(vipt_file_page(f, 1, &pfn) == 0);

	CHECK(vipt_kernel_store(cpu, pfn, 64, 8, 0xfeedULL) == 0);
	CHECK(vipt_kernel_store(cpu, pfn, 4093, 8, 1) == -EINVAL);
	CHECK(vipt_kernel_load(cpu, pfn, 64, 8, &v) == 0 && v == 0xfeed);
	CHECK(vipt_flush_dcache_page(cpu, pfn) == 0);
	CHECK(vipt_coherence_point(cpu, pfn) == 0);
	CHECK(vipt_user_load(cpu, va + PAGE_SIZE + 64, 8, &v) == 0 && v == 0xfeed);
	CHECK(vipt_world_status(w, &st) == 0 && st.violations == 0 && st.invariants_ok);

	CHECK(vipt_mm_ptep_get(cpu, va + PAGE_SIZE, &pte) == 0);
	CHECK((pte & VIPT_PAGE_PRESENT) && pte >> PAGE_SHIFT == pfn);
	CHECK(vipt_mm_ptep_test_and_clear_young(cpu, va + PAGE_SIZE) == 1);
	CHECK(vipt_mm_ptep_test_and_clear_young(cpu, va + PAGE_SIZE) == 0);
	CHECK(vipt_mm_ptep_set_wrprotect(cpu, va + PAGE_SIZE) == 0);
	CHECK(vipt_mm_ptep_get(cpu, va + PAGE_SIZE, &v) == 0 && !(v & VIPT_PAGE_WRITE));
	CHECK(vipt_mm_ptep_get_and_clear(cpu, va + PAGE_SIZE, &old) == 0 && old == v);
	/* 2.6.14: the cleared pte keeps its pfn for flushing. */
	CHECK(vipt_mm_ptep_get(cpu, va + PAGE_SIZE, &v) == 0 &&
	      v == ((old & ~(uint64_t)VIPT_PAGE_PRESENT) | VIPT_PAGE_FLUSH));
	/* Put it back: present again, and the page's mapcount still counts it. */
	CHECK(vipt_mm_set_pte_at(cpu, va + PAGE_SIZE, old) == 0);
	CHECK(vipt_mm_ptep_get(cpu, va + PAGE_SIZE, &v) == 0 && v == old);
	CHECK(vipt_world_status(w, &st) == 0 && st.invariants_ok);

	CHECK(vipt_cpu_free(cpu) == 0);
	CHECK(vipt_mm_free(mm) == 0);
	CHECK(vipt_file_free(f) == 0);
	CHECK(vipt_world_free(w) == 0);
	CHECK(vipt_strategy_free(s) == 0);
}

/* A strategy callback that calls back into the native API on the CPU that
 * called it: refused with -EDEADLK, not a hang. */
static struct vipt_cpu *reentry_cpu;
static int reentry_rc = 1;

static int reentering(struct vipt_kcpu *cpu, struct vipt_page *page, void *arg)
{
	uint64_t v;

	(void)cpu;
	(void)page;
	(void)arg;
	reentry_rc = vipt_user_load(reentry_cpu, 0x10000000, 8, &v);
	return 0;
}

static void reentry(void)
{
	struct vipt_strategy *s;
	struct vipt_world *w;
	struct vipt_file *f;
	struct vipt_mm_struct *mm;
	uint64_t va, v;

	CHECK(vipt_strategy_register("reentering", reentering, NULL, &s) == 0);
	CHECK(vipt_world_new(NULL, s, &w) == 0);
	CHECK(vipt_file_new(w, 1, &f) == 0);
	CHECK(vipt_mm_new(w, &mm) == 0);
	CHECK(vipt_cpu_new(w, 0, &reentry_cpu) == 0);
	CHECK(vipt_cpu_use_mm(reentry_cpu, mm) == 0);
	CHECK(vipt_mmap(reentry_cpu, f, 0, PAGE_SIZE, VIPT_PROT_READ, VIPT_MAP_SHARED, 0, &va) == 0);
	CHECK(vipt_user_load(reentry_cpu, va, 8, &v) == 0);	/* mapped: flush_dcache_page walks */
	CHECK(vipt_sys_write(reentry_cpu, f, 0, 7) == 0);
	CHECK(reentry_rc == -EDEADLK);
	/* The CPU is free again afterwards. */
	CHECK(vipt_user_load(reentry_cpu, va, 8, &v) == 0);
	CHECK(vipt_cpu_free(reentry_cpu) == 0 && vipt_mm_free(mm) == 0);
	CHECK(vipt_file_free(f) == 0 && vipt_world_free(w) == 0 && vipt_strategy_free(s) == 0);
}

/* A built-in scenario's world, run by hand: the writer's write(), the user's
 * reads through B, kswapd on the racer's CPU, with no explorer. */
static void scenario_world(void)
{
	struct vipt_scenario_world sw;
	struct vipt_world_status st;
	struct vipt_strategy *s;
	struct vipt_scenario *sc;
	uint64_t v = 0, pfn = 0;
	int r;

	CHECK(vipt_strategy_builtin("patched-2005", &s) == 0);
	CHECK(vipt_scenario_new("reclaim", NULL, s, &sc) == 0);
	CHECK(vipt_scenario_world(sc, NULL) == -EFAULT);
	CHECK(vipt_scenario_world(NULL, &sw) == -EBADF);
	CHECK(vipt_scenario_world(sc, &sw) == 0);
	CHECK(vipt_file_page(sw.file, 1, &pfn) == 0 && pfn == sw.pfn);
	/* reclaim maps A and B congruently (the 2.6.14 colouring, pgoff 0). */
	CHECK((sw.racer_va & (VIPT_SHM_COLOUR - 1)) == (sw.user_va & (VIPT_SHM_COLOUR - 1)));

	CHECK(vipt_sys_write(sw.writer, sw.file, 1, 0xabcdULL) == 0);
	CHECK(vipt_user_load(sw.user, sw.user_va, 8, &v) == 0 && v == 0xabcd);
	CHECK(vipt_user_load(sw.racer, sw.racer_va, 8, &v) == 0 && v == 0xabcd);
	r = vipt_shrink_page(sw.racer, sw.file, 1, true);
	CHECK(r == VIPT_RECLAIM_FREED || r == VIPT_RECLAIM_KEPT);
	CHECK(vipt_user_load(sw.user, sw.user_va, 8, &v) == 0 && v == 0xabcd);
	CHECK(vipt_world_status(sw.world, &st) == 0 && st.violations == 0 && st.bugs == 0 &&
	      st.invariants_ok);

	CHECK(vipt_cpu_free(sw.writer) == 0 && vipt_cpu_free(sw.racer) == 0 &&
	      vipt_cpu_free(sw.user) == 0);
	CHECK(vipt_file_free(sw.file) == 0 && vipt_world_free(sw.world) == 0);
	CHECK(vipt_scenario_free(sc) == 0 && vipt_strategy_free(s) == 0);
}

/* The explorer's random search on two of its own threads, with a strategy
 * written in C: under ThreadSanitizer, the callbacks' C code runs on the
 * library's worker threads and must show no race either. */
static void explore_on_threads(void)
{
	struct vipt_explore_config cfg;
	struct vipt_result_counts counts;
	struct vipt_strategy *s;
	struct vipt_scenario *sc;
	struct vipt_result *r;

	CHECK(vipt_strategy_register("c-patched-2005", c_strategy_patched_2005.fn, NULL, &s) == 0);
	CHECK(vipt_scenario_new("reclaim", NULL, s, &sc) == 0);
	CHECK(vipt_explore_config_default(&cfg) == 0);
	cfg.mode = VIPT_MODE_RANDOM;
	cfg.budget = 400;
	cfg.threads = 2;
	CHECK(vipt_explore(sc, &cfg, &r) == 0);
	CHECK(vipt_result_counts(r, &counts) == 0 && counts.executions == 400);
	CHECK(vipt_result_free(r) == 0 && vipt_scenario_free(sc) == 0);
	CHECK(vipt_strategy_free(s) == 0);
}

int main(void)
{
	struct vipt_strategy *s;

	errors();
	by_hand();
	scenario_world();
	reentry();
	explore_on_threads();
	CHECK(vipt_strategy_builtin("modern", &s) == 0);
	stress(s, 1);
	CHECK(vipt_strategy_free(s) == 0);
	CHECK(vipt_strategy_register("c-patched-2005", c_strategy_patched_2005.fn, NULL, &s) == 0);
	stress(s, 0);
	CHECK(vipt_strategy_free(s) == 0);
	printf("test_native: %d failed\n", failures);
	return failures != 0;
}
