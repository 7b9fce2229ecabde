/*
 * test_limits.c - every numeric parameter has a documented range: a value
 * outside it gets the exact negative errno and a message naming the parameter,
 * and leaves the model as it was. Values at the edges of the address space and
 * of the integer types, handles of the wrong kind, the string calls' length
 * query, the panic boundary (-ENOTRECOVERABLE, and nothing on stderr) and a C
 * strategy under a built-in name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vipt.h"
#include "ref.h"

#define USER_SPACE	1
#define UVA		0x40003000ULL
#define PFN		5ULL
#define KVA		(VIPT_PAGE_OFFSET + (PFN << 12))
#define LAST_PAGE	0xfffffffffffff000ULL

static int has_message(const char *word)
{
	const char *m = vipt_last_error();

	return m && strstr(m, word) != NULL;
}

/* `call` returns exactly `err` (< 0) with a message that contains `word`. */
#define EXPECT(call, err, word)						\
	do {								\
		int rc_ = (call);					\
		CHECK(rc_ == (err) && *vipt_last_error() && has_message(word), \
		      "= %d, want %d with \"%s\" (%s)", rc_, (err), (word), \
		      vipt_last_error());				\
	} while (0)

#define MUST(call)							\
	do {								\
		int rc_ = (call);					\
		CHECK(rc_ >= 0, "= %d (%s)", rc_, vipt_last_error());	\
	} while (0)

/* ---- the explorer's configuration ---- */

static void explore_config(void)
{
	struct vipt_explore_config d, c;
	struct vipt_strategy *s;
	struct vipt_scenario *sc;
	struct vipt_result *r = (struct vipt_result *)(uintptr_t)0x5a5a, *keep = r;
	struct vipt_result_counts counts;

	/* The C defaults are `vipt explore`'s. */
	MUST(vipt_explore_config_default(&d));
	CHECK(d.mode == VIPT_MODE_EXHAUSTIVE && d.bound == 2 && !d.reduction && d.depth == 3 &&
	      d.budget == 50000 && d.seed == 0 && d.threads == 0 && d.max_steps == 20000,
	      "defaults bound %d budget %llu depth %u", d.bound, (unsigned long long)d.budget,
	      d.depth);

	MUST(vipt_strategy_builtin("patched-2005", &s));
	MUST(vipt_scenario_new("reclaim", NULL, s, &sc));

	c = d;
	c.mode = VIPT_MODE_PCT;
	c.depth = 0x7fffffff;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "depth 2147483647");
	c.depth = 0xffffffff;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "depth 4294967295");
	c.depth = VIPT_PCT_MAX_DEPTH + 1;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "1 to 16");
	c.depth = 0;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "depth");
	c = d;
	c.budget = 0;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "budget 0");
	c = d;
	c.mode = VIPT_MODE_RANDOM;
	c.threads = VIPT_MAX_THREADS + 1;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "threads 65");
	c.threads = 0xffffffff;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "threads");
	c = d;
	c.max_steps = 0;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "max_steps 0");
	c.max_steps = VIPT_MAX_STEPS + 1;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "max_steps");
	c = d;
	c.bound = -2;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "bound -2");
	c.bound = -2147483647 - 1;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "bound");
	c = d;
	c.mode = 3;
	EXPECT(vipt_explore(sc, &c, &r), -EINVAL, "mode 3");
	CHECK(r == keep, "%s", "a refused run wrote its result");

	/* The edges inside the ranges run. */
	c = d;
	c.mode = VIPT_MODE_PCT;
	c.depth = VIPT_PCT_MAX_DEPTH;
	c.budget = 1;
	c.threads = 1;
	MUST(vipt_explore(sc, &c, &r));
	MUST(vipt_result_counts(r, &counts));
	CHECK(counts.executions == 1, "%llu executions", (unsigned long long)counts.executions);
	MUST(vipt_result_free(r));

	/* A schedule too long to build is refused before it is built. */
	{
		char huge[100 * 10 + 1];
		int i;

		huge[0] = 0;
		for (i = 0; i < 100; i++)
			strcat(huge, i % 2 ? "b16777216" : "a16777216");
		r = keep;
		EXPECT(vipt_replay(sc, huge, &r), -EINVAL, "VIPT_MAX_STEPS");
		EXPECT(vipt_replay(sc, "a99999999999999999999999", &r), -EINVAL, "schedule");
		CHECK(r == keep, "%s", "a refused replay wrote its result");
	}

	MUST(vipt_scenario_free(sc));
	MUST(vipt_strategy_free(s));
}

static void scenario_params(void)
{
	struct vipt_scenario_params p0, p;
	struct vipt_strategy *s;
	struct vipt_scenario *sc = NULL;

	MUST(vipt_strategy_builtin("patched-2005", &s));
	MUST(vipt_scenario_defaults("reclaim", &p0));
	p = p0;
	p.lines = 1024;
	EXPECT(vipt_scenario_new("reclaim", &p, s, &sc), -EINVAL, "lines 1024");
	p.lines = 0;
	EXPECT(vipt_scenario_new("reclaim", &p, s, &sc), -EINVAL, "lines 0");
	p.lines = 1ULL << 63;
	EXPECT(vipt_scenario_new("reclaim", &p, s, &sc), -EINVAL, "lines");
	p = p0;
	p.vmas = 0xffffffff;
	EXPECT(vipt_scenario_new("reclaim", &p, s, &sc), -EINVAL, "vmas 4294967295");
	p = p0;
	p.colour = 3;
	EXPECT(vipt_scenario_new("reclaim", &p, s, &sc), -EINVAL, "colour 3");
	CHECK(sc == NULL, "%s", "a refused scenario was made");
	/* 512 lines a page (8-byte lines) is the documented top and works. */
	p = p0;
	p.lines = VIPT_MAX_LINES_PER_PAGE;
	MUST(vipt_scenario_new("reclaim", &p, s, &sc));
	MUST(vipt_scenario_free(sc));
	MUST(vipt_strategy_free(s));
}

/* ---- the hardware ---- */

static struct vipt_hw *machine(void)
{
	struct vipt_hw_config cfg;
	struct vipt_hw *hw = NULL;
	uint64_t pte;

	MUST(vipt_hw_config_default(&cfg));
	MUST(vipt_hw_new(&cfg, &hw));
	MUST(vipt_hw_fill_page(hw, PFN, 0x11));
	MUST(vipt_pfn_pte(VIPT_LAYOUT_32, PFN, VIPT_PAGE_SHARED, &pte));
	MUST(vipt_hw_set_pte(hw, USER_SPACE, UVA, pte));
	return hw;
}

static void hw_config(void)
{
	struct vipt_hw_config d, c;
	struct vipt_hw *hw = NULL;

	MUST(vipt_hw_config_default(&d));
	c = d;
	c.frames = 0;
	EXPECT(vipt_hw_new(&c, &hw), -EINVAL, "frames 0");
	c.frames = VIPT_MAX_FRAMES + 1;
	EXPECT(vipt_hw_new(&c, &hw), -EINVAL, "frames 1048577");
	c = d;
	c.cpus = 0;
	EXPECT(vipt_hw_new(&c, &hw), -EINVAL, "cpus 0");
	c.cpus = 0xffffffff;
	EXPECT(vipt_hw_new(&c, &hw), -EINVAL, "cpus 4294967295");
	c = d;
	c.tlb_entries = 0;
	EXPECT(vipt_hw_new(&c, &hw), -EINVAL, "tlb_entries 0");
	c.tlb_entries = VIPT_TLB_MAX_ENTRIES + 1;
	EXPECT(vipt_hw_new(&c, &hw), -EINVAL, "tlb_entries 4097");
	c = d;
	c.geometry.size = 1ULL << 30;
	c.geometry.ways = 256;
	EXPECT(vipt_hw_new(&c, &hw), -EINVAL, "geometry.size");
	c = d;
	c.icache.line_size = UINT64_MAX;
	EXPECT(vipt_hw_new(&c, &hw), -EINVAL, "icache.line_size");
	c = d;
	c.geometry.ways = 0;
	EXPECT(vipt_hw_new(&c, &hw), -EINVAL, "geometry.ways");
	c = d;
	c.geometry.alias_boundary = 8 << 20;
	EXPECT(vipt_hw_new(&c, &hw), -EINVAL, "geometry.alias_boundary");
	CHECK(hw == NULL, "%s", "a refused machine was built");

	EXPECT(vipt_hw_config_explore(0, &c), -EINVAL, "lines_per_page 0");
	EXPECT(vipt_hw_config_explore(1024, &c), -EINVAL, "lines_per_page 1024");
	EXPECT(vipt_hw_config_explore(0xffffffff, &c), -EINVAL, "lines_per_page");
	MUST(vipt_hw_config_explore(VIPT_MAX_LINES_PER_PAGE, &c));
	CHECK(c.geometry.line_size == 8, "line %llu", (unsigned long long)c.geometry.line_size);
}

static void hw_calls(void)
{
	struct vipt_hw *hw = machine();
	struct vipt_counters before, after;
	struct vipt_flush_summary sum = { .issued = 77 };
	struct vipt_cost_model m;
	struct vipt_report rep;
	uint64_t v = 77, cycles = 77, base;
	char text[256];
	int n, off;

	/* A stale read makes report 0, for the text call below. */
	MUST(vipt_hw_load(hw, 1, VIPT_AGENT_USER, USER_SPACE, UVA, 8, &v));
	for (off = 0; off < 4096; off += 8)
		MUST(vipt_hw_store(hw, 0, VIPT_AGENT_KERNEL, VIPT_KERNEL_SPACE, KVA + off, 8, 2));
	MUST(vipt_hw_load(hw, 1, VIPT_AGENT_USER, USER_SPACE, UVA, 8, &v));

	MUST(vipt_hw_counters(hw, &before));
	/* The last page of the address space has no end: refused, nothing issued. */
	EXPECT(vipt_hw_flush_page(hw, 0, USER_SPACE, LAST_PAGE, &sum), -EINVAL, "va");
	EXPECT(vipt_hw_flush_page(hw, 0, USER_SPACE, UINT64_MAX, &sum), -EINVAL,
	       "0xffffffffffffffff");
	EXPECT(vipt_hw_flush_page(hw, 99, USER_SPACE, UVA, &sum), -ERANGE, "cpu 99");
	EXPECT(vipt_hw_fdc(hw, 2, USER_SPACE, UVA, NULL), -ERANGE, "cpu 2");
	EXPECT(vipt_hw_load(hw, 0xffffffff, VIPT_AGENT_USER, USER_SPACE, UVA, 8, &v), -ERANGE,
	       "cpu 4294967295");
	EXPECT(vipt_hw_load(hw, 1, VIPT_AGENT_USER, USER_SPACE, UVA, 16, &v), -EINVAL, "size 16");
	EXPECT(vipt_hw_store(hw, 1, 2, USER_SPACE, UVA, 8, 1), -EINVAL, "agent 2");
	EXPECT(vipt_hw_fill_page(hw, UINT64_MAX, 0), -ERANGE, "pfn");
	EXPECT(vipt_hw_tmpalias_flush_page(hw, 0, 1ULL << 52, UVA, &sum), -ERANGE, "pfn");
	EXPECT(vipt_hw_coherence_point(hw, 0, UINT64_MAX), -ERANGE, "pfn");
	EXPECT(vipt_hw_coherence_point(hw, 5, PFN), -ERANGE, "cpu 5");
	EXPECT(vipt_hw_flush_cache_all(hw, 64), -ERANGE, "cpu 64");
	EXPECT(vipt_hw_move_in(hw, 0xffffffff, USER_SPACE, UVA), -ERANGE, "cpu");
	EXPECT(vipt_hw_report(hw, UINT64_MAX, &rep), -ERANGE, "index");
	EXPECT(vipt_hw_report_text(hw, 1ULL << 40, text, sizeof(text)), -ERANGE, "index");

	/* Weights past VIPT_COST_MAX_WEIGHT are refused, named. */
	MUST(vipt_cost_model_default(&m));
	m.cache_hit = UINT64_MAX;
	EXPECT(vipt_hw_cycles(hw, &m, &cycles), -EINVAL, "cache_hit 18446744073709551615");
	MUST(vipt_cost_model_default(&m));
	m.whole_flush_per_line = VIPT_COST_MAX_WEIGHT + 1;
	EXPECT(vipt_hw_cycles(hw, &m, &cycles), -EINVAL, "whole_flush_per_line");
	CHECK(cycles == 77, "cycles changed to %llu", (unsigned long long)cycles);
	CHECK(sum.issued == 77, "%s", "a refused flush wrote its summary");
	MUST(vipt_hw_counters(hw, &after));
	CHECK(!memcmp(&before, &after, sizeof(before)), "%s", "refused calls changed counters");

	/* At the top of every weight's range, cycles are counted exactly. */
	MUST(vipt_hw_cycles(hw, NULL, &base));
	m.cache_hit = m.cache_miss = m.write_back = m.flush_insn = m.nullified = 0;
	m.tlb_miss = m.tlb_insert = m.tlb_purge = m.tmpalias_insert = 0;
	m.whole_flush_per_line = 0;
	m.cache_hit = VIPT_COST_MAX_WEIGHT;
	MUST(vipt_hw_cycles(hw, &m, &cycles));
	CHECK(cycles == after.cache_hits * VIPT_COST_MAX_WEIGHT, "cycles %llu",
	      (unsigned long long)cycles);
	CHECK(base > 0, "%s", "default cycles");

	/* The page below the last one is flushed: one fdc per line, nullified
	 * without a translation. */
	MUST(vipt_hw_flush_page(hw, 0, USER_SPACE, VIPT_FLUSH_PAGE_MAX_VA, &sum));
	CHECK(sum.issued == 128 && sum.nullified == 128, "issued %llu",
	      (unsigned long long)sum.issued);

	/* (NULL, 0) asks for the length; the text written is that long. */
	n = vipt_hw_report_text(hw, 0, NULL, 0);
	CHECK(n > 0, "= %d (%s)", n, vipt_last_error());
	CHECK(vipt_hw_report_text(hw, 0, text, sizeof(text)) == n && (int)strlen(text) == n,
	      "%s", text);
	EXPECT(vipt_hw_report_text(hw, 0, NULL, 8), -EFAULT, "buf is NULL");
	MUST(vipt_hw_free(hw));
}

/* ---- native mode ---- */

struct world {
	struct vipt_strategy *s;
	struct vipt_world *w;
	struct vipt_file *f;
	struct vipt_mm_struct *mm;
	struct vipt_cpu *cpu;
	uint64_t va;
};

static void world_up(struct world *x)
{
	MUST(vipt_strategy_builtin("patched-2005", &x->s));
	MUST(vipt_world_new(NULL, x->s, &x->w));
	MUST(vipt_file_new(x->w, 4, &x->f));
	MUST(vipt_mm_new(x->w, &x->mm));
	MUST(vipt_cpu_new(x->w, 0, &x->cpu));
	MUST(vipt_cpu_use_mm(x->cpu, x->mm));
	MUST(vipt_mmap(x->cpu, x->f, 0, 4 * 4096, VIPT_PROT_READ | VIPT_PROT_WRITE,
		       VIPT_MAP_SHARED, 0, &x->va));
}

static void world_down(struct world *x)
{
	MUST(vipt_cpu_free(x->cpu));
	MUST(vipt_mm_free(x->mm));
	MUST(vipt_file_free(x->f));
	MUST(vipt_world_free(x->w));
	MUST(vipt_strategy_free(x->s));
}

static void world_params(void)
{
	struct vipt_world_params d, p;
	struct vipt_strategy *s;
	struct vipt_world *w = NULL;

	MUST(vipt_strategy_builtin("patched-2005", &s));
	MUST(vipt_world_params_default(&d));
	p = d;
	p.frames = VIPT_MAX_FRAMES + 1;
	EXPECT(vipt_world_new(&p, s, &w), -EINVAL, "frames 1048577");
	p.frames = 7;
	EXPECT(vipt_world_new(&p, s, &w), -EINVAL, "frames 7");
	p = d;
	p.cpus = VIPT_WORLD_MAX_CPUS + 1;
	EXPECT(vipt_world_new(&p, s, &w), -EINVAL, "cpus 33");
	p = d;
	p.colour = VIPT_COLOUR_MAP_FIXED;
	EXPECT(vipt_world_new(&p, s, &w), -EINVAL, "colour 2");
	CHECK(w == NULL, "%s", "a refused world was made");
	MUST(vipt_strategy_free(s));
}

static void world_calls(void)
{
	struct vipt_world_status before, after;
	struct vipt_file *f2 = NULL;
	struct vipt_cpu *c2 = NULL;
	struct world x;
	uint64_t v = 77;

	world_up(&x);
	MUST(vipt_user_store(x.cpu, x.va, 8, 1));
	MUST(vipt_world_status(x.w, &before));

	/* write() at page ~0, 2^52 and 2^20: beyond any file. */
	EXPECT(vipt_sys_write(x.cpu, x.f, UINT64_MAX, 1), -EINVAL, "index 18446744073709551615");
	EXPECT(vipt_sys_write(x.cpu, x.f, 1ULL << 52, 1), -EINVAL, "index 4503599627370496");
	EXPECT(vipt_sys_write(x.cpu, x.f, VIPT_FILE_MAX_PAGES, 1), -EINVAL, "index 1048576");
	EXPECT(vipt_shrink_page(x.cpu, x.f, UINT64_MAX, true), -EINVAL, "index");
	EXPECT(vipt_file_page(x.f, VIPT_FILE_MAX_PAGES, &v), -EINVAL, "index");
	EXPECT(vipt_truncate(x.cpu, x.f, VIPT_FILE_MAX_PAGES + 1), -EINVAL, "pages 1048577");
	EXPECT(vipt_file_new(x.w, VIPT_FILE_MAX_PAGES + 1, &f2), -EINVAL, "pages 1048577");
	EXPECT(vipt_file_new(x.w, 0, &f2), -EINVAL, "pages 0");
	CHECK(f2 == NULL, "%s", "a refused file was made");
	/* The file did not grow: page 3 (its last) is still not cached. */
	CHECK(vipt_file_page(x.f, 3, &v) == -ENOENT && v == 77, "%s", vipt_last_error());

	EXPECT(vipt_kernel_load(x.cpu, UINT64_MAX, 0, 8, &v), -ERANGE, "pfn");
	EXPECT(vipt_kernel_load(x.cpu, 1, UINT64_MAX - 7, 8, &v), -EINVAL, "offset");
	EXPECT(vipt_kernel_store(x.cpu, 1ULL << 52, 0, 8, 1), -ERANGE, "pfn");
	EXPECT(vipt_kernel_store(x.cpu, 1, 4096, 8, 1), -EINVAL, "offset");
	EXPECT(vipt_flush_dcache_page(x.cpu, 1ULL << 40), -ERANGE, "pfn");
	EXPECT(vipt_coherence_point(x.cpu, UINT64_MAX), -ERANGE, "pfn");
	EXPECT(vipt_cpu_new(x.w, 4, &c2), -ERANGE, "id 4");
	EXPECT(vipt_cpu_new(x.w, 0xffffffff, &c2), -ERANGE, "id 4294967295");
	CHECK(c2 == NULL, "%s", "a refused CPU was made");
	EXPECT(vipt_mmap(x.cpu, x.f, LAST_PAGE, 4096, VIPT_PROT_READ, VIPT_MAP_SHARED, 0, &v),
	       -EINVAL, "addr");
	EXPECT(vipt_mmap(x.cpu, x.f, 0, 0, VIPT_PROT_READ, VIPT_MAP_SHARED, 0, &v), -EINVAL,
	       "len 0");
	EXPECT(vipt_mmap(x.cpu, x.f, 0, UINT64_MAX, VIPT_PROT_READ, VIPT_MAP_SHARED, 0, &v),
	       -EINVAL, "length");
	EXPECT(vipt_munmap(x.cpu, LAST_PAGE, UINT64_MAX), -EINVAL, "length");
	EXPECT(vipt_user_load(x.cpu, x.va + 1, 8, &v), -EINVAL, "multiple of size");
	EXPECT(vipt_mm_set_pte_at(x.cpu, x.va, 1ULL << 40), -ERANGE, "pte");
	EXPECT(vipt_mm_ptep_get(x.cpu, 1ULL << 40, &v), -EINVAL, "0x10000000000");
	CHECK(v == 77, "v changed to %llu", (unsigned long long)v);

	/* SIGSEGV: its own errno, and the message says so with the address. */
	EXPECT(vipt_user_load(x.cpu, 0x1000, 8, &v), -EADDRNOTAVAIL, "SIGSEGV");
	CHECK(has_message("0x1000"), "%s", vipt_last_error());
	EXPECT(vipt_user_store(x.cpu, 0xeffff000, 4, 1), -EADDRNOTAVAIL, "0xeffff000");

	MUST(vipt_world_status(x.w, &after));
	/* Field by field: the struct's padding after invariants_ok is not a
	 * value, and the library's copy need not preserve it. */
	CHECK(before.stale_loads == after.stale_loads && before.violations == after.violations &&
	      before.bugs == after.bugs && before.inversions == after.inversions &&
	      before.invariants_ok == after.invariants_ok,
	      "%s", "refused calls changed the world");
	MUST(vipt_user_load(x.cpu, x.va, 8, &v));
	CHECK(v == 1, "v %llu", (unsigned long long)v);
	world_down(&x);
}

/* ---- handles of the wrong kind, and freed ones ---- */

static void handles(void)
{
	struct world x;
	struct vipt_file *as_file;
	struct vipt_world *as_world;
	struct vipt_cpu *as_cpu;
	struct vipt_file *f;
	uint64_t v = 77;

	world_up(&x);
	as_file = (struct vipt_file *)x.w;
	as_world = (struct vipt_world *)x.f;
	as_cpu = (struct vipt_cpu *)x.mm;
	EXPECT(vipt_sys_write(x.cpu, as_file, 0, 1), -EBADF, "world handle");
	EXPECT(vipt_file_page(as_file, 0, &v), -EBADF, "world handle");
	EXPECT(vipt_file_free(as_file), -EBADF, "world handle");
	EXPECT(vipt_file_new(as_world, 1, &f), -EBADF, "file handle");
	EXPECT(vipt_user_load(as_cpu, x.va, 8, &v), -EBADF, "mm handle");
	EXPECT(vipt_world_free((struct vipt_world *)x.s), -EBADF, "strategy handle");
	EXPECT(vipt_hw_free((struct vipt_hw *)x.cpu), -EBADF, "cpu handle");
	/* All of them are still alive and work. */
	MUST(vipt_sys_write(x.cpu, x.f, 0, 1));
	MUST(vipt_file_page(x.f, 0, &v));

	/* A freed handle, used and freed again. */
	MUST(vipt_file_new(x.w, 1, &f));
	MUST(vipt_file_free(f));
	EXPECT(vipt_file_page(f, 0, &v), -EBADF, "freed");
	EXPECT(vipt_file_free(f), -EBADF, "freed");
	EXPECT(vipt_sys_write(x.cpu, f, 0, 1), -EBADF, "freed");
	EXPECT(vipt_file_page((struct vipt_file *)(uintptr_t)0x123456789abcULL, 0, &v), -EBADF,
	       "file handle");
	world_down(&x);
}

/* ---- the string calls' length query ---- */

static void strings(void)
{
	struct vipt_explore_config c;
	struct vipt_strategy *s;
	struct vipt_scenario *sc;
	struct vipt_result *r;
	struct vipt_result_counts counts;
	char buf[4096];
	int n, i, count = vipt_scenario_count_all();

	for (i = 0; i < count; i++) {
		n = vipt_scenario_name(i, NULL, 0);
		CHECK(n > 0 && vipt_scenario_name(i, buf, sizeof(buf)) == n &&
		      (int)strlen(buf) == n, "scenario %d: %d", i, n);
		/* len 0 with a buffer writes nothing. */
		buf[0] = 'x';
		CHECK(vipt_scenario_name(i, buf, 0) == n && buf[0] == 'x', "scenario %d", i);
	}
	EXPECT(vipt_scenario_name(0, NULL, 1), -EFAULT, "buf is NULL");
	EXPECT(vipt_scenario_name((size_t)count, NULL, 0), -ERANGE, "out of range");

	/* legacy-2005 flushes through a swap pte in swap-pte: it fails. */
	MUST(vipt_strategy_builtin("legacy-2005", &s));
	MUST(vipt_scenario_new("swap-pte", NULL, s, &sc));
	MUST(vipt_explore_config_default(&c));
	c.budget = 50;
	MUST(vipt_explore(sc, &c, &r));
	MUST(vipt_result_counts(r, &counts));
	CHECK(counts.failing > 0, "%llu failing", (unsigned long long)counts.failing);
	n = vipt_result_schedule(r, NULL, 0);
	CHECK(n > 0 && vipt_result_schedule(r, buf, sizeof(buf)) == n && (int)strlen(buf) == n,
	      "schedule %d", n);
	n = vipt_result_failure(r, 0, NULL, 0);
	CHECK(n > 0 && vipt_result_failure(r, 0, buf, sizeof(buf)) == n, "failure %d", n);
	n = vipt_result_counter_name(r, 0, NULL, 0);
	CHECK(n > 0 && vipt_result_counter_name(r, 0, buf, sizeof(buf)) == n, "counter %d", n);
	EXPECT(vipt_result_failure(r, 0, NULL, 2), -EFAULT, "buf is NULL");
	EXPECT(vipt_result_timeline(r, NULL, 0), -ENOENT, "replay");
	MUST(vipt_result_schedule(r, buf, sizeof(buf)));
	MUST(vipt_result_free(r));

	/* A replay's timeline, longer than a small buffer. */
	MUST(vipt_replay(sc, buf, &r));
	n = vipt_result_timeline(r, NULL, 0);
	CHECK(n > 16, "timeline %d (%s)", n, vipt_last_error());
	CHECK(vipt_result_timeline(r, buf, 8) == n && strlen(buf) == 7, "%s", buf);
	MUST(vipt_result_free(r));
	MUST(vipt_scenario_free(sc));
	MUST(vipt_strategy_free(s));
}

/* ---- the search on one thread and on several, and the least failure ---- */

static void threads_and_least(void)
{
	struct vipt_explore_config c;
	struct vipt_strategy *s;
	struct vipt_scenario *sc;
	struct vipt_result *r;
	struct vipt_result_counts one, two;
	char first[256], least[256];
	int n;

	MUST(vipt_strategy_builtin("legacy-2005", &s));
	MUST(vipt_scenario_new("swap-pte", NULL, s, &sc));
	MUST(vipt_explore_config_default(&c));
	c.threads = 1;
	MUST(vipt_explore(sc, &c, &r));
	MUST(vipt_result_counts(r, &one));
	MUST(vipt_result_schedule(r, first, sizeof(first)));
	n = vipt_result_least_schedule(r, least, sizeof(least));
	CHECK(n > 0 && (int)strlen(least) == n, "least schedule %d", n);
	MUST(vipt_result_free(r));
	/* The default search is unreduced and covers its bound: its least
	 * failure is minimal, and no later than the first in preemptions. */
	CHECK(one.failing > 0 && one.verdict == VIPT_VERDICT_FAIL, "%llu failing",
	      (unsigned long long)one.failing);
	CHECK(one.least_minimal, "least_minimal %d", one.least_minimal);
	CHECK(one.least_preemptions <= one.first_preemptions, "%llu > %llu",
	      (unsigned long long)one.least_preemptions,
	      (unsigned long long)one.first_preemptions);
	/* Two workers: the same counts and the same first failure. */
	c.threads = 2;
	MUST(vipt_explore(sc, &c, &r));
	MUST(vipt_result_counts(r, &two));
	CHECK(two.executions == one.executions && two.failing == one.failing &&
	      two.distinct_failing == one.distinct_failing &&
	      two.coverage == one.coverage && two.verdict == one.verdict &&
	      two.least_preemptions == one.least_preemptions,
	      "%llu/%llu on two threads, %llu/%llu on one",
	      (unsigned long long)two.failing, (unsigned long long)two.executions,
	      (unsigned long long)one.failing, (unsigned long long)one.executions);
	n = vipt_result_schedule(r, least, sizeof(least));
	CHECK(n > 0 && strcmp(least, first) == 0, "first %s on two threads, %s on one", least,
	      first);
	MUST(vipt_result_free(r));
	MUST(vipt_scenario_free(sc));
	MUST(vipt_strategy_free(s));
	EXPECT(vipt_result_least_schedule(NULL, least, sizeof(least)), -EBADF, "is NULL");
}

/* ---- the panic boundary ---- */

static void panics(void)
{
	FILE *tmp = tmpfile();
	int saved, rc;
	long size;

	CHECK(tmp != NULL, "%s", "tmpfile");
	if (!tmp)
		return;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	CHECK(saved >= 0 && dup2(fileno(tmp), STDERR_FILENO) >= 0, "%s", "dup2");
	rc = vipt_selftest_panic(1);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fseek(tmp, 0, SEEK_END);
	size = ftell(tmp);
	fclose(tmp);
	CHECK(rc == -ENOTRECOVERABLE && has_message("panic caught"), "= %d (%s)", rc,
	      vipt_last_error());
	CHECK(size == 0, "the caught panic printed %ld bytes on stderr", size);
	CHECK(vipt_selftest_panic(0) == 0, "%s", "no panic");
}

/* ---- a C strategy may not take a built-in strategy's name ---- */

static int noop(struct vipt_kcpu *cpu, struct vipt_page *page, void *arg)
{
	(void)cpu;
	(void)page;
	(void)arg;
	return 0;
}

static void builtin_names(void)
{
	struct vipt_strategy *s = (struct vipt_strategy *)(uintptr_t)0x5a5a, *keep = s;
	const char *names[] = { "legacy-2005", "patched-2005", "recheck", "tmpalias", "modern",
				"patched-ptl" };
	unsigned int i;

	EXPECT(vipt_strategy_register("modern", noop, NULL, &s), -EINVAL, "built-in");
	CHECK(has_message("patched-ptl") && has_message("legacy-2005"), "%s", vipt_last_error());
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		EXPECT(vipt_strategy_register(names[i], noop, NULL, &s), -EINVAL, names[i]);
	CHECK(s == keep, "%s", "a refused strategy was registered");
	MUST(vipt_strategy_register("modern-but-mine", noop, NULL, &s));
	MUST(vipt_strategy_free(s));
}

int main(void)
{
	explore_config();
	scenario_params();
	hw_config();
	hw_calls();
	world_params();
	world_calls();
	handles();
	strings();
	threads_and_least();
	panics();
	builtin_names();
	return report("test_limits");
}
