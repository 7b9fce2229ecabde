/*
 * ref.h - the reference 2.6.14 pte macros as functions, one set per layout
 * (ref32_* from a 32-bit unsigned long, ref64_* from a 64-bit one), and the small
 * test kit the C tests share.
 */
#ifndef VIPT_REF_H
#define VIPT_REF_H

#include <stdint.h>
#include <stdio.h>

#define REF_DECLARE(p)							\
	int p##pte_none(uint64_t v);					\
	int p##pte_present(uint64_t v);					\
	int p##pte_file(uint64_t v);					\
	uint64_t p##pte_pfn(uint64_t v);				\
	uint64_t p##pfn_pte(uint64_t pfn, uint64_t prot);		\
	uint64_t p##pte_modify(uint64_t v, uint64_t prot);		\
	uint64_t p##swp_type(uint64_t v);				\
	uint64_t p##swp_offset(uint64_t v);				\
	uint64_t p##swp_entry_pte(uint64_t type, uint64_t offset);	\
	uint64_t p##pte_to_pgoff(uint64_t v);				\
	uint64_t p##pgoff_to_pte(uint64_t off);				\
	int p##pgd_none(uint32_t e);					\
	int p##pgd_bad(uint32_t e);					\
	int p##pmd_none(uint32_t e);					\
	int p##pmd_bad(uint32_t e);					\
	int p##translation_exists_legacy(uint64_t v, uint64_t pfn);	\
	int p##translation_exists_patched(uint64_t v, uint64_t pfn);	\
	uint64_t p##ptep_get_and_clear(uint64_t *ptep);			\
	int p##ptep_test_and_clear_young(uint64_t *ptep);		\
	int p##ptep_test_and_clear_dirty(uint64_t *ptep);		\
	void p##ptep_set_wrprotect(uint64_t *ptep);			\
	int p##dirty_trap(uint64_t *ptep)

REF_DECLARE(ref32_);
REF_DECLARE(ref64_);

/* The test kit: count checks, report the first few failures, exit status. */
static unsigned long checks, failures;

#define CHECK(cond, fmt, ...)						\
	do {								\
		checks++;						\
		if (!(cond) && failures++ < 10)				\
			fprintf(stderr, "%s:%d: check failed: %s: " fmt "\n", \
				__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

static inline int report(const char *name)
{
	printf("%s: %lu checks, %lu failed\n", name, checks, failures);
	return failures ? 1 : 0;
}

/* xorshift64*: a small deterministic generator for large random value sets. */
static inline uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

#endif /* VIPT_REF_H */
