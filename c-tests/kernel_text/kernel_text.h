/*
 * flush_dcache_page, flush_dcache_folio and 6.10's hooks as the kernels write
 * them (the files of kernel_text/), for test_strategies.c to compare with the
 * built-in strategies and profiles that follow those kernels.
 */
#ifndef KERNEL_TEXT_H
#define KERNEL_TEXT_H

#include "../strategies/strategies.h"

extern const struct c_strategy c_text_2614;	/* 2.6.14: legacy-2005 */
extern const struct c_strategy c_text_2615;	/* 2.6.15: patched-2005 */
extern const struct c_strategy c_text_610;	/* 6.10: modern */

/* 6.10's ptep_clear_flush, __flush_cache_page and flush_cache_page. */
extern const struct c_hook c_text_hooks[];
extern const int c_text_hook_count;

#endif /* KERNEL_TEXT_H */
