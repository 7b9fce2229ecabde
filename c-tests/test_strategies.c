/*
 * Each built-in flush_dcache_page strategy, re-written in kernel-style C
 * (strategies/), is registered with vipt_strategy_register and explored on
 * every built-in scenario under every kernel profile, exhaustively within a
 * preemption bound and with random and PCT samples: the executions, the
 * failing and distinct failing counts, completeness, the first failing
 * schedule and its messages, and every cost counter must equal the Rust
 * strategy's exactly. Two more mirrors write the pte walk and the pte lock in
 * the kernel's own words (pgd_offset ... pte_offset_map, spin_lock on
 * pte_lockptr): they differ only in what they cannot share, the library's
 * translation_checks counter (which sees only the library's translation_exists)
 * and their function names in failure messages. Three more are the kernels'
 * own texts (kernel_text/: 2.6.14's and 2.6.15's flush_dcache_page, 6.10's
 * flush_dcache_folio), compiled unchanged inside the wrapper, against the
 * built-ins that follow them: legacy-2005, patched-2005 and modern.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vipt_kernel.h"
#include "strategies.h"
#include "kernel_text.h"

static const struct c_strategy *const mirrors[] = {
	&c_strategy_legacy_2005, &c_strategy_patched_2005, &c_strategy_recheck,
	&c_strategy_tmpalias, &c_strategy_modern, &c_strategy_patched_ptl,
	&c_strategy_patched_2005_walk, &c_strategy_patched_ptl_walk,
	&c_text_2614, &c_text_2615, &c_text_610,
};

static int checks, failures;

static const int nmirrors = (int)(sizeof(mirrors) / sizeof(mirrors[0]));

/* The first mirror of the built-in mirror k mirrors. */
static int first_of(int k)
{
	int j;

	for (j = 0; j < k; j++)
		if (!strcmp(mirrors[j]->name, mirrors[k]->name))
			return j;
	return k;
}

#define CHECK(cond, ...)							\
	do {									\
		checks++;							\
		if (!(cond)) {							\
			failures++;						\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);	\
			fprintf(stderr, __VA_ARGS__);				\
			fprintf(stderr, " (%s)\n", vipt_last_error());		\
		}								\
	} while (0)

#define MUST(call)								\
	do {									\
		int rc_ = (call);						\
		if (rc_ < 0) {							\
			fprintf(stderr, "%s:%d: %s = %d: %s\n", __FILE__,	\
				__LINE__, #call, rc_, vipt_last_error());	\
			return -1;						\
		}								\
	} while (0)

static int explore(const char *scenario, const struct vipt_scenario_params *p,
		   struct vipt_strategy *s, const struct vipt_explore_config *cfg,
		   struct vipt_result **out)
{
	struct vipt_scenario *sc;

	MUST(vipt_scenario_new(scenario, p, s, &sc));
	MUST(vipt_explore(sc, cfg, out));
	MUST(vipt_scenario_free(sc));
	return 0;
}

/* The two results agree in every count, schedule and counter. */
static void compare(const char *what, const struct c_strategy *m, struct vipt_result *rs,
		    struct vipt_result *cs)
{
	struct vipt_result_counts r, c;
	char rn[64], cn[64], rsched[1024], csched[1024];
	uint64_t rv, cv;
	size_t i;
	int rl, cl;

	if (vipt_result_counts(rs, &r) || vipt_result_counts(cs, &c)) {
		CHECK(0, "%s: counts", what);
		return;
	}
	CHECK(r.executions == c.executions, "%s: executions %lu vs %lu", what,
	      (unsigned long)r.executions, (unsigned long)c.executions);
	CHECK(r.pruned == c.pruned, "%s: pruned", what);
	CHECK(r.failing == c.failing, "%s: failing %lu vs %lu", what,
	      (unsigned long)r.failing, (unsigned long)c.failing);
	CHECK(r.distinct_failing == c.distinct_failing, "%s: distinct failing", what);
	CHECK(r.complete == c.complete, "%s: complete", what);
	CHECK(r.coverage == c.coverage && r.coverage_bound == c.coverage_bound &&
	      r.coverage_executions == c.coverage_executions && r.verdict == c.verdict,
	      "%s: coverage and verdict", what);
	CHECK(r.max_steps == c.max_steps, "%s: max steps", what);
	CHECK(r.first_preemptions == c.first_preemptions, "%s: first preemptions", what);

	rl = vipt_result_schedule(rs, rsched, sizeof(rsched));
	cl = vipt_result_schedule(cs, csched, sizeof(csched));
	CHECK(rl == cl && (rl < 0 || !strcmp(rsched, csched)),
	      "%s: first failing schedule %s vs %s", what, rl < 0 ? "-" : rsched,
	      cl < 0 ? "-" : csched);

	for (i = 0; vipt_result_failure(rs, i, rsched, sizeof(rsched)) >= 0; i++)
		CHECK(vipt_result_failure(cs, i, csched, sizeof(csched)) >= 0 &&
		      (m->own_names || !strcmp(rsched, csched)),
		      "%s: failure message %zu: %s vs %s", what, i, rsched, csched);
	CHECK(vipt_result_failure(cs, i, csched, sizeof(csched)) == -ENOENT,
	      "%s: the C run has more failure messages", what);

	for (i = 0; vipt_result_counter_name(rs, i, rn, sizeof(rn)) >= 0; i++) {
		CHECK(vipt_result_counter_name(cs, i, cn, sizeof(cn)) >= 0 && !strcmp(rn, cn),
		      "%s: counter %zu named %s", what, i, rn);
		CHECK(!vipt_result_counter(rs, rn, &rv) && !vipt_result_counter(cs, rn, &cv),
		      "%s: counter %s", what, rn);
		/* The library counts its translation_exists, also called by the
		 * racers' flush_cache_page: a walk of one's own counts fewer. */
		if (m->own_walk && !strcmp(rn, "translation_checks"))
			CHECK(cv <= rv, "%s: translation checks %lu > %lu", what,
			      (unsigned long)cv, (unsigned long)rv);
		else
			CHECK(rv == cv, "%s: counter %s %lu vs %lu", what, rn, (unsigned long)rv,
			      (unsigned long)cv);
	}
	CHECK(i > 5, "%s: only %zu counters", what, i);
	CHECK(vipt_result_counter_name(cs, i, cn, sizeof(cn)) == -ENOENT,
	      "%s: the C run has more counters", what);
}

static int run_all(void)
{
	struct vipt_explore_config cfg[3];
	const char *mode_name[3] = { "exhaustive bound 2", "random", "pct 2" };
	char scenario[32], what[160];
	unsigned long fails_rust = 0, cells = 0;
	const char *kernel_name[4] = { "2.6.14", "2.6.15", "3.x", "6.10" };
	int n = vipt_scenario_count(), i, m, k, kern;

	for (m = 0; m < 3; m++)
		MUST(vipt_explore_config_default(&cfg[m]));
	cfg[0].bound = 2;
	cfg[0].budget = 1000;
	/* Sleep sets on (not the default): the reduction reads the operations'
	 * footprints, so equal pruned counts check the C ones too. */
	cfg[0].reduction = true;
	cfg[1].mode = VIPT_MODE_RANDOM;
	cfg[1].budget = 100;
	cfg[1].seed = 2005;
	cfg[1].threads = 2;
	cfg[2] = cfg[1];
	cfg[2].mode = VIPT_MODE_PCT;
	cfg[2].depth = 2;

	for (i = 0; i < n; i++) {
		MUST(vipt_scenario_name(i, scenario, sizeof(scenario)));
		for (kern = VIPT_KERNEL_2_6_14; kern <= VIPT_KERNEL_6_10; kern++) {
			struct vipt_scenario_params p;

			MUST(vipt_scenario_defaults(scenario, &p));
			p.kernel = kern;
			/* Each built-in explored once per mode, against every mirror
			 * of it (the C mirror, the walk, the kernel's own text). */
			for (k = 0; k < nmirrors; k++) {
				struct vipt_strategy *rust, *c[8];
				char cnames[8][64];
				int j, nc = 0, of[8];

				if (first_of(k) != k)
					continue;
				MUST(vipt_strategy_builtin(mirrors[k]->name, &rust));
				for (j = k; j < nmirrors && nc < 8; j++) {
					char *cname = cnames[nc];

					if (strcmp(mirrors[j]->name, mirrors[k]->name))
						continue;
					if (mirrors[j]->text)
						snprintf(cname, 64, "text-%s", mirrors[j]->text);
					else
						snprintf(cname, 64, "c-%s%s", mirrors[j]->name,
							 mirrors[j]->own_walk ? "-walk" : "");
					MUST(vipt_strategy_register(cname, mirrors[j]->fn, NULL, &c[nc]));
					of[nc++] = j;
				}
				for (m = 0; m < 3; m++) {
					struct vipt_result *rr, *cr;
					struct vipt_result_counts rc;

					MUST(explore(scenario, &p, rust, &cfg[m], &rr));
					MUST(vipt_result_counts(rr, &rc));
					for (j = 0; j < nc; j++) {
						snprintf(what, sizeof(what), "%s kernel=%s %s %s",
							 scenario, kernel_name[kern], cnames[j],
							 mode_name[m]);
						MUST(explore(scenario, &p, c[j], &cfg[m], &cr));
						compare(what, mirrors[of[j]], rr, cr);
						fails_rust += rc.failing > 0;
						cells++;
						MUST(vipt_result_free(cr));
					}
					MUST(vipt_result_free(rr));
				}
				MUST(vipt_strategy_free(rust));
				for (j = 0; j < nc; j++)
					MUST(vipt_strategy_free(c[j]));
			}
		}
	}
	/* The comparison means something only if some cells fail and some pass. */
	CHECK(fails_rust > 0 && fails_rust < cells, "%lu of %lu cells fail", fails_rust, cells);
	printf("test_strategies: %lu cells, %lu failing, C and Rust equal in each\n",
	       cells, fails_rust);
	return 0;
}

/* Each C mirror of a built-in arch hook, set over the profile it mirrors,
 * must leave every scenario's exploration exactly as the built-in profile's,
 * with the kernel's own flush_dcache_page and with patched-2005. */
static int run_hooks(void)
{
	static const struct c_strategy hook_view = { "hooks", NULL, 0, 0, NULL };
	const char *kernel_name[4] = { "2.6.14", "2.6.15", "3.x", "6.10" };
	const char *own[4] = { "legacy-2005", "patched-2005", "tmpalias", "modern" };
	struct vipt_explore_config cfg;
	char scenario[32], what[200];
	unsigned long cells = 0;
	int n = vipt_scenario_count(), h, i, j;

	MUST(vipt_explore_config_default(&cfg));
	cfg.budget = 800;
	/* The mirrors, then 6.10's own hook texts. */
	for (h = 0; h < c_hook_count + c_text_hook_count; h++) {
		const struct c_hook *ch = h < c_hook_count ? &c_hooks[h] :
						&c_text_hooks[h - c_hook_count];
		struct vipt_arch *a;

		MUST(vipt_arch_new(ch->kernel, "c-mirror", &a));
		MUST(vipt_arch_set_hook(a, ch->hook, ch->fn, NULL));
		for (i = 0; i < n; i++) {
			MUST(vipt_scenario_name(i, scenario, sizeof(scenario)));
			for (j = 0; j < 2; j++) {
				const char *sname = j ? "patched-2005" : own[ch->kernel];
				struct vipt_scenario_params p;
				struct vipt_scenario *sr, *sc;
				struct vipt_result *rr, *cr;
				struct vipt_strategy *s;

				MUST(vipt_scenario_defaults(scenario, &p));
				p.kernel = ch->kernel;
				MUST(vipt_strategy_builtin(sname, &s));
				MUST(vipt_scenario_new(scenario, &p, s, &sr));
				MUST(vipt_scenario_new_arch(scenario, &p, s, a, &sc));
				MUST(vipt_explore(sr, &cfg, &rr));
				MUST(vipt_explore(sc, &cfg, &cr));
				snprintf(what, sizeof(what), "%s kernel=%s %s with C %s", scenario,
					 kernel_name[ch->kernel], sname, ch->hook);
				compare(what, &hook_view, rr, cr);
				cells++;
				MUST(vipt_result_free(rr));
				MUST(vipt_result_free(cr));
				MUST(vipt_scenario_free(sr));
				MUST(vipt_scenario_free(sc));
				MUST(vipt_strategy_free(s));
			}
		}
		MUST(vipt_arch_free(a));
	}
	printf("test_strategies: %lu hook cells, C and Rust equal in each\n", cells);
	return 0;
}

/* The arch calls refuse what they must. */
static int arch_errors(void)
{
	struct vipt_scenario_params p;
	struct vipt_strategy *s;
	struct vipt_scenario *sc;
	struct vipt_arch *a;
	char name[64];

	CHECK(vipt_arch_new(4, "x", &a) == -EINVAL, "kernel 4");
	CHECK(vipt_arch_new(0, "", &a) == -EINVAL, "empty name");
	CHECK(vipt_arch_new(0, "x", NULL) == -EFAULT, "NULL out");
	MUST(vipt_arch_new(VIPT_KERNEL_3X, "x", &a));
	CHECK(vipt_arch_set_hook(a, "flush_dcache_folio_typo", c_hooks[0].fn, NULL) == -EINVAL,
	      "unknown hook");
	CHECK(strstr(vipt_last_error(), "ptep_clear_flush") != NULL,
	      "the message lists the hooks: %s", vipt_last_error());
	CHECK(vipt_arch_set_hook(NULL, "pte_clear", c_hooks[0].fn, NULL) == -EBADF, "NULL arch");
	CHECK(vipt_arch_hook_count() == 26, "26 hooks");
	CHECK(vipt_arch_hook_name(0, name, sizeof(name)) > 0 && !strcmp(name, "flush_cache_mm"),
	      "hook 0");
	CHECK(vipt_arch_hook_name(26, name, sizeof(name)) == -ERANGE, "hook 26");
	/* A 3.x arch on a 2.6.14 scenario is refused. */
	MUST(vipt_strategy_builtin("patched-2005", &s));
	MUST(vipt_scenario_defaults("reclaim", &p));
	CHECK(vipt_scenario_new_arch("reclaim", &p, s, a, &sc) == -EINVAL, "kernel mismatch");
	p.kernel = VIPT_KERNEL_3X;
	MUST(vipt_scenario_new_arch("reclaim", &p, s, a, &sc));
	MUST(vipt_scenario_free(sc));
	MUST(vipt_strategy_free(s));
	MUST(vipt_arch_free(a));
	CHECK(vipt_arch_free(a) == -EBADF, "double free");
	return 0;
}

int main(void)
{
	if (arch_errors() < 0 || run_hooks() < 0)
		return 1;
	if (run_all() < 0)
		return 1;
	printf("test_strategies: %d checks, %d failed\n", checks, failures);
	return failures != 0;
}
