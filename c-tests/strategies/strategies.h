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
	const char *text;		/* the kernel whose own text it is, or NULL */
};

extern const struct c_strategy c_strategy_legacy_2005;
extern const struct c_strategy c_strategy_patched_2005;
extern const struct c_strategy c_strategy_recheck;
extern const struct c_strategy c_strategy_tmpalias;
extern const struct c_strategy c_strategy_modern;
extern const struct c_strategy c_strategy_patched_ptl;
extern const struct c_strategy c_strategy_patched_2005_walk;
extern const struct c_strategy c_strategy_patched_ptl_walk;

/* A built-in arch hook of one kernel profile, re-written in C (hooks.c). */
struct c_hook {
	uint32_t kernel;		/* VIPT_KERNEL_* */
	const char *hook;		/* the hook it replaces */
	vipt_arch_hook_fn fn;
};

extern const struct c_hook c_hooks[];
extern const int c_hook_count;

/*
 * The colours already flushed in one call (tmpalias, modern): returns 1 if
 * `colour` was seen, else records it and returns 0. Past MAX_COLOURS colours
 * are not remembered, so a colour may be flushed twice; never missed.
 */
#define MAX_COLOURS	64

static inline int colour_seen(unsigned long *seen, int *n, unsigned long colour)
{
	int i;

	for (i = 0; i < *n; i++)
		if (seen[i] == colour)
			return 1;
	if (*n < MAX_COLOURS)
		seen[(*n)++] = colour;
	return 0;
}

#endif /* STRATEGIES_H */
