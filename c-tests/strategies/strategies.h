/*
 * The built-in flush_dcache_page strategies re-written in kernel-style C, one
 * file each (legacy_2005.c ... modern.c, and question 6's patched_ptl.c), for test_strategies.c to register and
 * compare with the Rust ones of crates/mm/src/strategy.rs.
 */
#ifndef STRATEGIES_H
#define STRATEGIES_H

#include "vipt.h"

struct c_strategy {
	const char *name;		/* the Rust strategy it mirrors */
	vipt_flush_dcache_page_fn fn;
	int own_walk;			/* its own pte walk: translation_checks not counted */
	int own_names;			/* its own function names in failure messages */
};

extern const struct c_strategy c_strategy_legacy_2005;
extern const struct c_strategy c_strategy_patched_2005;
extern const struct c_strategy c_strategy_recheck;
extern const struct c_strategy c_strategy_tmpalias;
extern const struct c_strategy c_strategy_modern;
extern const struct c_strategy c_strategy_patched_ptl;
extern const struct c_strategy c_strategy_patched_2005_walk;
extern const struct c_strategy c_strategy_patched_ptl_walk;

#endif /* STRATEGIES_H */
