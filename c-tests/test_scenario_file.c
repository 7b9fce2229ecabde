/*
 * Scenario files from C: vipt_scenario_load takes a file's text (or a
 * path), explores like the built-in scenario it was written from, and
 * refuses a bad file with a negative errno and a file:line:column message,
 * making nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vipt.h"

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

/* The built-in reclaim scenario, written as a file that names its strategy. */
static const char reclaim[] =
	"scenario c-reclaim \"try_to_unmap_one(A) against write()\";\n"
	"defaults { strategy = legacy-2005; }\n"
	"setup {\n"
	"    f = new_file(2);\n"
	"    A = new_process(1);\n"
	"    on A { a = mmap(f, 0, 2, MAP_SHARED); t = a + PAGE_SIZE; load_page(t); }\n"
	"    p = page(f, 1);\n"
	"    B = new_process(2);\n"
	"    on B { b = mmap(f, 0, 2, MAP_SHARED) + PAGE_SIZE; load_page(b); }\n"
	"    vma_a = vma(A, t);\n"
	"}\n"
	"cpu 0 \"writer: write()\" { write(f, 1, 0xc0ffee); }\n"
	"cpu 1 \"racer: try_to_unmap_one(A)\" { try_to_unmap_one(p, vma_a); }\n"
	"cpu 2 as B \"user: reads B\" { load_page(b); load_page(b); }\n"
	"final { on B { load_page(b); } }\n";

static int explore_counts(struct vipt_scenario *sc, struct vipt_result_counts *c)
{
	struct vipt_explore_config cfg;
	struct vipt_result *r = NULL;
	int rc;

	vipt_explore_config_default(&cfg);
	cfg.bound = 1;
	cfg.threads = 1;
	rc = vipt_explore(sc, &cfg, &r);
	if (rc)
		return rc;
	rc = vipt_result_counts(r, c);
	vipt_result_free(r);
	return rc;
}

int main(void)
{
	struct vipt_scenario *file = NULL, *builtin = NULL, *untouched;
	struct vipt_strategy *legacy = NULL;
	struct vipt_result_counts a, b;

	/* The file, with its own strategy, against the built-in. */
	CHECK(vipt_scenario_load(reclaim, NULL, NULL, &file) == 0);
	CHECK(vipt_strategy_builtin("legacy-2005", &legacy) == 0);
	CHECK(vipt_scenario_new("reclaim", NULL, legacy, &builtin) == 0);
	CHECK(explore_counts(file, &a) == 0);
	CHECK(explore_counts(builtin, &b) == 0);
	CHECK(a.executions == b.executions && a.executions > 0);
	CHECK(a.failing == b.failing);
	CHECK(a.verdict == b.verdict);
	CHECK(a.coverage == VIPT_COVERAGE_COMPLETE_WITHIN_BOUND && a.coverage_bound == 1);

	/* With arch hooks (none patched): the same search; an arch of another
	 * kernel is refused. */
	{
		struct vipt_arch *arch = NULL, *other = NULL;
		struct vipt_scenario *patched = NULL;
		struct vipt_result_counts c;

		CHECK(vipt_arch_new(VIPT_KERNEL_2_6_14, "unpatched", &arch) == 0);
		CHECK(vipt_scenario_load_arch(reclaim, NULL, NULL, arch, &patched) == 0);
		CHECK(explore_counts(patched, &c) == 0);
		CHECK(c.executions == a.executions && c.failing == a.failing);
		CHECK(vipt_arch_new(VIPT_KERNEL_6_10, "other", &other) == 0);
		untouched = (struct vipt_scenario *)&checks;
		CHECK(vipt_scenario_load_arch(reclaim, NULL, NULL, other, &untouched) == -EINVAL);
		CHECK(strstr(vipt_last_error(), "is for kernel 6.10") != NULL);
		CHECK(untouched == (struct vipt_scenario *)&checks);
		CHECK(vipt_scenario_free(patched) == 0);
		CHECK(vipt_arch_free(arch) == 0);
		CHECK(vipt_arch_free(other) == 0);
	}

	/* A syntax error: -EINVAL, the place in the message, nothing made. */
	untouched = (struct vipt_scenario *)&checks;
	CHECK(vipt_scenario_load("scenario x;\nsetup { a = ; }\n", NULL, legacy, &untouched)
	      == -EINVAL);
	CHECK(strstr(vipt_last_error(), "<text>:2:13: expected") != NULL);
	CHECK(untouched == (struct vipt_scenario *)&checks);

	/* A file that parses but cannot run: refused before any search. */
	CHECK(vipt_scenario_load("scenario x;\nsetup { A = new_process(0); on A { load(0x1000); } }\n",
				 NULL, legacy, &untouched) == -EINVAL);
	CHECK(strstr(vipt_last_error(), ":2:36: segmentation fault") != NULL);

	/* No strategy anywhere; a path that does not exist; NULL. */
	CHECK(vipt_scenario_load("scenario x;\n", NULL, NULL, &untouched) == -EINVAL);
	CHECK(strstr(vipt_last_error(), "names no strategy") != NULL);
	CHECK(vipt_scenario_load("/nonexistent/x.vipt", NULL, legacy, &untouched) == -EINVAL);
	CHECK(strstr(vipt_last_error(), "/nonexistent/x.vipt") != NULL);
	CHECK(vipt_scenario_load(NULL, NULL, legacy, &untouched) < 0);
	CHECK(untouched == (struct vipt_scenario *)&checks);

	/* A file scenario has no native world. */
	{
		struct vipt_scenario_world w;
		CHECK(vipt_scenario_world(file, &w) == -EINVAL);
		CHECK(strstr(vipt_last_error(), "only under the explorer") != NULL);
	}

	CHECK(vipt_scenario_free(file) == 0);
	CHECK(vipt_scenario_free(builtin) == 0);
	CHECK(vipt_strategy_free(legacy) == 0);
	printf("test_scenario_file: %d checks, %d failures\n", checks, failures);
	return failures != 0;
}
