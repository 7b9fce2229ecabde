/*
 * ref/pgtable.c - the 2.6.14 parisc pte macros, written again from
 * spec/01-pte.md the way the kernel writes them, as the reference the library is
 * compared with. It does not call libvipt.
 *
 * Compiled twice: -DREF_BITS=32 gives a 32-bit unsigned long (so values wrap
 * exactly as on the 32-bit kernel), -DREF_BITS=64 the 64-bit one. Each build
 * exports the macros as functions named ref32_* or ref64_* (see ref.h).
 */
#include <stdint.h>

#include "ref.h"

#if REF_BITS == 32
typedef uint32_t ulong_t;
#define PT_NLEVELS	2
#define REF(name)	ref32_##name
#elif REF_BITS == 64
typedef uint64_t ulong_t;
#define PT_NLEVELS	3
#define REF(name)	ref64_##name
#else
#error "REF_BITS must be 32 or 64"
#endif

/* PA-RISC numbers bits from the most significant end of a 32-bit word. */
#define xlate_pabit(x)		(31 - (x))

#define _PAGE_READ_BIT		31
#define _PAGE_WRITE_BIT		30
#define _PAGE_EXEC_BIT		29
#define _PAGE_GATEWAY_BIT	28
#define _PAGE_DMB_BIT		27
#define _PAGE_DIRTY_BIT		26
#define _PAGE_FILE_BIT		_PAGE_DIRTY_BIT
#define _PAGE_REFTRAP_BIT	25
#define _PAGE_NO_CACHE_BIT	24
#define _PAGE_ACCESSED_BIT	23
#define _PAGE_PRESENT_BIT	22
#define _PAGE_FLUSH_BIT		21
#define _PAGE_USER_BIT		20

#define _PAGE_READ	(1 << xlate_pabit(_PAGE_READ_BIT))
#define _PAGE_WRITE	(1 << xlate_pabit(_PAGE_WRITE_BIT))
#define _PAGE_RW	(_PAGE_READ | _PAGE_WRITE)
#define _PAGE_EXEC	(1 << xlate_pabit(_PAGE_EXEC_BIT))
#define _PAGE_GATEWAY	(1 << xlate_pabit(_PAGE_GATEWAY_BIT))
#define _PAGE_DMB	(1 << xlate_pabit(_PAGE_DMB_BIT))
#define _PAGE_DIRTY	(1 << xlate_pabit(_PAGE_DIRTY_BIT))
#define _PAGE_FILE	(1 << xlate_pabit(_PAGE_FILE_BIT))
#define _PAGE_REFTRAP	(1 << xlate_pabit(_PAGE_REFTRAP_BIT))
#define _PAGE_NO_CACHE	(1 << xlate_pabit(_PAGE_NO_CACHE_BIT))
#define _PAGE_ACCESSED	(1 << xlate_pabit(_PAGE_ACCESSED_BIT))
#define _PAGE_PRESENT	(1 << xlate_pabit(_PAGE_PRESENT_BIT))
#define _PAGE_FLUSH	(1 << xlate_pabit(_PAGE_FLUSH_BIT))
#define _PAGE_USER	(1 << xlate_pabit(_PAGE_USER_BIT))

#define PAGE_SHIFT	12
#define PAGE_MASK	(~((ulong_t)(1 << PAGE_SHIFT) - 1))
#define _PAGE_CHG_MASK	(PAGE_MASK | _PAGE_ACCESSED | _PAGE_DIRTY)

typedef struct { ulong_t pte; } pte_t;
typedef struct { ulong_t val; } swp_entry_t;

#define pte_val(x)	((x).pte)
#define __pte(x)	((pte_t) { (x) })

/* A pte with _PAGE_FLUSH is "none" to generic code. */
#define pte_none(x)	((pte_val(x) == 0) || (pte_val(x) & _PAGE_FLUSH))
#define pte_present(x)	(pte_val(x) & _PAGE_PRESENT)
#define pte_file(x)	(pte_val(x) & _PAGE_FILE)
#define pte_pfn(x)	(pte_val(x) >> PAGE_SHIFT)
#define pfn_pte(pfn, prot)	__pte(((ulong_t)(pfn) << PAGE_SHIFT) | (prot))
#define pte_modify(x, prot)	__pte((pte_val(x) & _PAGE_CHG_MASK) | (prot))

#define __swp_type(x)		((x).val & 0x1f)
#define __swp_offset(x)		((((x).val >> 6) & 0x7) | \
				 (((x).val >> 8) & ~(ulong_t)0x7))
#define __swp_entry(type, offset)	((swp_entry_t) { (type) | \
				 (((offset) & 0x7) << 6) | \
				 (((offset) & ~(ulong_t)0x7) << 8) })
#define __pte_to_swp_entry(pte)	((swp_entry_t) { pte_val(pte) })
#define __swp_entry_to_pte(x)	((pte_t) { (x).val })

/* File ptes shift past USER so that PRESENT and USER read as zero. */
#define PTE_SHIFT		xlate_pabit(_PAGE_USER_BIT)
#define pte_to_pgoff(pte)	(pte_val(pte) >> PTE_SHIFT)
#define pgoff_to_pte(off)	((pte_t) { ((off) << PTE_SHIFT) | _PAGE_FILE })

#define PxD_FLAG_PRESENT	0x1
#define PxD_FLAG_ATTACHED	0x2
#define PxD_FLAG_VALID		0x4
#define PxD_FLAG_MASK		0xf
#define pxd_flag(x)		((x) & PxD_FLAG_MASK)

#if PT_NLEVELS == 3
#define pgd_none(x)	(!(x))
#define pgd_bad(x)	(!(pxd_flag(x) & PxD_FLAG_VALID))
#define pmd_none(x)	(!(x) || pxd_flag(x) == PxD_FLAG_ATTACHED)
#else
#define pgd_none(x)	0
#define pgd_bad(x)	0
#define pmd_none(x)	(!(x))
#endif
#define pmd_bad(x)	(!(pxd_flag(x) & PxD_FLAG_VALID))

int REF(pte_none)(uint64_t v) { return !!pte_none(__pte(v)); }
int REF(pte_present)(uint64_t v) { return !!pte_present(__pte(v)); }
int REF(pte_file)(uint64_t v) { return !!pte_file(__pte(v)); }
uint64_t REF(pte_pfn)(uint64_t v) { return pte_pfn(__pte(v)); }
uint64_t REF(pfn_pte)(uint64_t pfn, uint64_t prot)
{
	return pte_val(pfn_pte(pfn, prot));
}
uint64_t REF(pte_modify)(uint64_t v, uint64_t prot)
{
	return pte_val(pte_modify(__pte(v), prot));
}
uint64_t REF(swp_type)(uint64_t v) { return __swp_type(__pte_to_swp_entry(__pte(v))); }
uint64_t REF(swp_offset)(uint64_t v) { return __swp_offset(__pte_to_swp_entry(__pte(v))); }
uint64_t REF(swp_entry_pte)(uint64_t type, uint64_t offset)
{
	ulong_t t = type, o = offset;

	return pte_val(__swp_entry_to_pte(__swp_entry(t, o)));
}
uint64_t REF(pte_to_pgoff)(uint64_t v) { return pte_to_pgoff(__pte(v)); }
uint64_t REF(pgoff_to_pte)(uint64_t off)
{
	ulong_t o = off;

	return pte_val(pgoff_to_pte(o));
}
int REF(pgd_none)(uint32_t e) { (void)e; return !!pgd_none(e); }
int REF(pgd_bad)(uint32_t e) { (void)e; return !!pgd_bad(e); }
int REF(pmd_none)(uint32_t e) { return !!pmd_none(e); }
int REF(pmd_bad)(uint32_t e) { return !!pmd_bad(e); }

/*
 * The pre-patch translation_exists, from the point where the walk has found the
 * pte: it answers with the pte pointer, or NULL where it sees no translation, and
 * only a zero pte is that. The caller then reads the pte again for its pfn.
 */
static pte_t *translation_exists_legacy(pte_t *ptep)
{
	if (pte_none(*ptep) && ((pte_val(*ptep) & _PAGE_FLUSH) == 0))
		return NULL;
	return ptep;
}

int REF(translation_exists_legacy)(uint64_t v, uint64_t pfn)
{
	pte_t pte = __pte(v);
	pte_t *ptep = translation_exists_legacy(&pte);

	return ptep && pte_pfn(*ptep) == pfn;
}

/*
 * The patched test: one read of the pte; neither present nor flush-only means a
 * swap or file entry (or nothing), which is never a translation.
 */
static int translation_exists_patched(pte_t *ptep, unsigned long pfn)
{
	pte_t pte = *ptep;

	if (!(pte_val(pte) & (_PAGE_FLUSH | _PAGE_PRESENT)))
		return 0;
	return pte_pfn(pte) == pfn;
}

int REF(translation_exists_patched)(uint64_t v, uint64_t pfn)
{
	pte_t pte = __pte(v);

	return translation_exists_patched(&pte, pfn);
}

/* The SMP pte operations, single-threaded: what each does to the value. */
uint64_t REF(ptep_get_and_clear)(uint64_t *ptep)
{
	pte_t old = __pte(*ptep), pte = old;

	pte_val(pte) &= ~_PAGE_PRESENT;
	pte_val(pte) |= _PAGE_FLUSH;
	*ptep = pte_val(pte);
	return pte_val(old);
}

static int test_and_clear(uint64_t *ptep, ulong_t bit)
{
	if (!(*ptep & bit))
		return 0;
	*ptep &= ~(uint64_t)bit;
	return 1;
}

int REF(ptep_test_and_clear_young)(uint64_t *ptep)
{
	return test_and_clear(ptep, _PAGE_ACCESSED);
}

int REF(ptep_test_and_clear_dirty)(uint64_t *ptep)
{
	return test_and_clear(ptep, _PAGE_DIRTY);
}

void REF(ptep_set_wrprotect)(uint64_t *ptep)
{
	*ptep &= ~(uint64_t)_PAGE_WRITE;
}

int REF(dirty_trap)(uint64_t *ptep)
{
	if (!pte_present(__pte(*ptep)))
		return -1;
	*ptep |= _PAGE_ACCESSED | _PAGE_DIRTY;
	return 0;
}
