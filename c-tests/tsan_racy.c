/*
 * The negative control of test_native_tsan: a strategy whose C code races
 * (an unlocked counter bumped by the explorer's two worker threads). Built
 * with ThreadSanitizer, it must be reported, or the TSan build would be blind
 * inside callbacks. c_tests.rs runs it and expects the report.
 */
#include <stdio.h>

#include "vipt_kernel.h"

static unsigned long calls;

VIPT_FLUSH_DCACHE_PAGE(racy_flush_dcache_page)
{
	calls++;		/* the race */
	(void)page_mapping(page);
}

int main(void)
{
	struct vipt_explore_config cfg;
	struct vipt_strategy *s;
	struct vipt_scenario *sc;
	struct vipt_result *r;

	if (vipt_strategy_register("racy", racy_flush_dcache_page, NULL, &s) ||
	    vipt_scenario_new("reclaim", NULL, s, &sc) || vipt_explore_config_default(&cfg))
		return 1;
	cfg.mode = VIPT_MODE_RANDOM;
	cfg.budget = 2000;
	cfg.threads = 2;
	if (vipt_explore(sc, &cfg, &r))
		return 1;
	printf("tsan_racy: %lu calls\n", calls);
	vipt_result_free(r);
	vipt_scenario_free(sc);
	vipt_strategy_free(s);
	return 0;
}
